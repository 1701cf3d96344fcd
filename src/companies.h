/*-------------------------------------------------------------------------
 *
 * companies.h
 *	  The rules of companies (companies.c): whether a company's built-in
 *	  segment group and segments are being created.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_COMPANIES_H
#define SEGEXT_COMPANIES_H

#include "postgres.h"

/*
 * Whether the built-ins of this company (an objectid datum) are being
 * created: only then may segments 0 and 1 and segment group 0 be inserted.
 */
extern bool segext_creating_builtins_of(Datum company);

#endif							/* SEGEXT_COMPANIES_H */
