/*-------------------------------------------------------------------------
 *
 * segment_groups.h
 *	  The rules of segment groups (segment_groups.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_SEGMENT_GROUPS_H
#define SEGEXT_SEGMENT_GROUPS_H

#include "postgres.h"

#include "fmgr.h"

/* The BEFORE INSERT OR UPDATE OR DELETE row trigger of segext.segment_groups. */
extern Datum segext_segment_groups_rules(PG_FUNCTION_ARGS);

#endif							/* SEGEXT_SEGMENT_GROUPS_H */
