/*-------------------------------------------------------------------------
 *
 * unique_detail.h
 *	  The DETAIL of a unique violation on segext's tables under row level
 *	  security (unique_detail.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_UNIQUE_DETAIL_H
#define SEGEXT_UNIQUE_DETAIL_H

#include "postgres.h"

#include "access/htup.h"
#include "utils/relcache.h"

/*
 * Remember company_id and the key columns of a row a BEFORE ROW trigger lets
 * through, for the DETAIL of a unique violation.
 */
extern void segext_remember_row_keys(Relation rel, HeapTuple tuple,
									 const char *const *columns, int ncolumns);

#endif							/* SEGEXT_UNIQUE_DETAIL_H */
