/*-------------------------------------------------------------------------
 *
 * rules.h
 *	  What the rules of companies, segment groups, segments and channels
 *	  share (rules.c): their kept queries, run as the table owner with a
 *	  fixed search_path; the columns of a trigger's row; the row trigger
 *	  skeleton; the company lock and the refusals every kind of row gives.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_RULES_H
#define SEGEXT_RULES_H

#include "postgres.h"

#include "access/htup.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/relcache.h"

#include "kept_plan.h"
#include "role_switch.h"

/* Longest name (and segment ref) of a row of the rules, in characters. */
#define NAME_MAX_CHARS		100

/*
 * A query a rule runs: its SQL text and argument types (as segext_kept_plan
 * takes them), and its plan, prepared once per backend and kept.
 */
typedef struct RulesQuery
{
	const char *sql;
	int			nargs;
	Oid			argtypes[4];
	SegextKeptPlan plan;
} RulesQuery;

/*
 * A key the rules assign per company when a row gives none: the highest
 * plus one, else (past max) the lowest free one from first.
 */
typedef struct RulesKeyAssigner
{
	RulesQuery	next;
	RulesQuery	lowest_free;
	int32		max;
} RulesKeyAssigner;

/*
 * RULES_KEY_ASSIGNER(table, column, first, last) builds the two queries of a
 * key of table numbered from first to last (literals, or macros of literals).
 */
#define RULES_KEY_ASSIGNER(table, column, first, last) { \
	.next = {"SELECT COALESCE(pg_catalog.max(" column "), " CppAsString2(first) \
			 " OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.+) 1 FROM " table \
			 " WHERE company_id OPERATOR(pg_catalog.=) $1", 1, {KEPT_ARG_OBJECTID}}, \
	.lowest_free = {"SELECT g.n FROM pg_catalog.generate_series(" CppAsString2(first) ", " \
					CppAsString2(last) ") AS g(n) WHERE NOT EXISTS (SELECT 1 FROM " table " t" \
					" WHERE t.company_id OPERATOR(pg_catalog.=) $1 AND t." column \
					" OPERATOR(pg_catalog.=) g.n) ORDER BY g.n LIMIT 1", 1, {KEPT_ARG_OBJECTID}}, \
	.max = (last) }

/*
 * The BEFORE INSERT OR UPDATE OR DELETE row trigger of one kind of row
 * (rules_row_trigger): what it is called in messages, the keys a unique
 * violation is reported by (NULL: none) and one step per event.
 */
typedef struct RulesRowTrigger
{
	const char *name;			/* the trigger function, for the call check */
	const char *what;			/* the kind of row, for messages */
	const char *const *keys;	/* remembered after an insert, or NULL */
	int			nkeys;
	HeapTuple	(*before_insert) (Relation rel, HeapTuple tuple);
	HeapTuple	(*before_update) (Relation rel, HeapTuple oldtuple, HeapTuple newtuple);
	void		(*before_delete) (Relation rel, HeapTuple tuple);
} RulesRowTrigger;

/* State saved while a rule runs its queries as the table owner. */
typedef SegextRoleSwitch RulesSpi;

extern SPIPlanPtr rules_plan(RulesQuery *query);
extern void rules_exec_plan(SPIPlanPtr plan, const char *sql, Datum *values, bool latest);
extern void rules_exec(RulesQuery *query, Datum *values, bool latest);
extern void rules_exec_flagged(bool *flag, SPIPlanPtr plan, const char *sql, Datum *values,
							   bool latest);
extern void rules_spi_begin(RulesSpi *spi, Oid owner);
extern void rules_spi_end(RulesSpi *spi);
extern Datum rules_result(int col, bool *isnull);
extern int32 rules_assign_key(RulesKeyAssigner *assigner, Datum company);

extern TriggerData *rules_trigger_data(FunctionCallInfo fcinfo, const char *name,
									   int required);
extern Datum rules_row_trigger(FunctionCallInfo fcinfo, const RulesRowTrigger *trigger);

extern Datum rules_column_value(Relation rel, HeapTuple tuple, const char *column,
								bool *isnull);
extern char *rules_column_text(Relation rel, HeapTuple tuple, const char *column);
extern bool rules_column_changed(Relation rel, HeapTuple oldtuple, HeapTuple newtuple,
								 const char *column);
extern const char *rules_first_changed_column(Relation rel, HeapTuple oldtuple,
											  HeapTuple newtuple);
extern HeapTuple rules_set_column(Relation rel, HeapTuple tuple, const char *column,
								  Datum value);
extern bool rules_objectid_equal(Datum a, Datum b);
extern Datum rules_numeric_const(const char *value);
extern bool rules_numeric_is_special(Datum value);

extern bool rules_lock_company(Datum company, int32 *max_segments, int32 *max_channels,
							   char **name);
extern void rules_refuse_unknown_company(Datum company, const char *what);
extern void rules_refuse_company_move(const char *what, const char *label);
extern void rules_check_name(const char *what, const char *column, const char *value);

/*
 * Give a row a user writes segext's created_at and updated_at and refuse a
 * change of its company_id or id.
 */
extern HeapTuple segext_keep_maintained(Relation rel, HeapTuple oldtuple,
										HeapTuple newtuple, const char *what);

/*
 * Refuse (42501) a row the current user writes for a company it may not
 * change; rows segext writes as the table owner pass.
 */
extern void segext_check_company_of_new_row(Relation rel, HeapTuple tuple);

#endif							/* SEGEXT_RULES_H */
