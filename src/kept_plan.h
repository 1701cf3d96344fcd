/*-------------------------------------------------------------------------
 *
 * kept_plan.h
 *	  Statements prepared once per backend (see kept_plan.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_KEPT_PLAN_H
#define SEGEXT_KEPT_PLAN_H

#include "catalog/pg_type.h"
#include "executor/spi.h"

/*
 * Placeholders, in the argument types given to segext_kept_plan, for
 * segext.objectid and segext.objectid[], whose OIDs change when the extension
 * is created again; segext_kept_plan puts the current OIDs in their place
 * (InvalidOid and anyarray are never real argument types of a kept plan).
 */
#define KEPT_ARG_OBJECTID		InvalidOid
#define KEPT_ARG_OBJECTID_ARRAY	ANYARRAYOID

/* A statement kept for the backend's life, with the objectid type it used. */
typedef struct SegextKeptPlan
{
	SPIPlanPtr	plan;
	Oid			idtype;
} SegextKeptPlan;

/* The kept plan of sql, prepared on first use and after re-creation. */
extern SPIPlanPtr segext_kept_plan(SegextKeptPlan *kp, const char *sql, int nargs,
								   const Oid *argtypes, int cursor_options);

#endif							/* SEGEXT_KEPT_PLAN_H */
