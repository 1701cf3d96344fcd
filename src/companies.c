/*-------------------------------------------------------------------------
 *
 * companies.c
 *	  The rules of segext.companies: a company keeps its id and created_at,
 *	  gets segext's updated_at, and is created with its built-ins, segment
 *	  group 0 "Ungrouped" and segments 0 "All" and 1 "Default" (which the
 *	  rules of groups and segments let through only then).
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "companies.h"
#include "objectid.h"
#include "rules.h"
#include "trigger_check.h"

#include "utils/rel.h"

/* The queries that create a company's built-ins. */
typedef enum CompaniesQuery
{
	RQ_BUILTIN_GROUP,
	RQ_BUILTIN_SEGMENTS,
	RQ_COUNT
} CompaniesQuery;

static RulesQuery companies_queries[RQ_COUNT] = {
	[RQ_BUILTIN_GROUP] = {
		"INSERT INTO segext.segment_groups (company_id, id, name) VALUES ($1, 0, 'Ungrouped')", 1, {KEPT_ARG_OBJECTID}
	},
	[RQ_BUILTIN_SEGMENTS] = {
		"INSERT INTO segext.segments (company_id, number, name, description, position, group_id)"
		" VALUES ($1, 0, 'All', 'Every active customer', 0, 0),"
		" ($1, 1, 'Default', 'Customers in no other active segment', 0, 0)", 1, {KEPT_ARG_OBJECTID}
	},
};

/*
 * While a company's built-ins are being created, the id of that company:
 * only then may segments 0 and 1 and group 0 be inserted.
 */
static bool builtins_active = false;
static SegextObjectId builtins_company;

/* companies_builtins creates segment group 0 and segments 0 and 1. */
static void
companies_builtins(Relation rel, HeapTuple tuple)
{
	bool		isnull;
	Datum		company = rules_column_value(rel, tuple, "id", &isnull);
	RulesSpi	spi;

	rules_spi_begin(&spi, rel->rd_rel->relowner);
	memcpy(&builtins_company, DatumGetPointer(company), SEGEXT_OBJECTID_LEN);
	builtins_active = true;
	PG_TRY();
	{
		rules_exec(&companies_queries[RQ_BUILTIN_GROUP], &company, false);
		rules_exec(&companies_queries[RQ_BUILTIN_SEGMENTS], &company, false);
	}
	PG_FINALLY();
	{
		builtins_active = false;
	}
	PG_END_TRY();
	rules_spi_end(&spi);
}

/* segext_creating_builtins_of says whether the built-ins of company are being made. */
bool
segext_creating_builtins_of(Datum company)
{
	return builtins_active &&
		segext_objectid_equal(DatumGetSegextObjectIdP(company), &builtins_company);
}

PG_FUNCTION_INFO_V1(segext_companies_rules);

/*
 * segext_companies_rules keeps the id and created_at of a company and sets
 * updated_at (BEFORE UPDATE), and creates its built-ins when it is inserted
 * (AFTER INSERT).
 */
Datum
segext_companies_rules(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;

	if (CALLED_AS_TRIGGER(fcinfo) &&
		TRIGGER_FIRED_AFTER(((TriggerData *) fcinfo->context)->tg_event))
	{
		trigdata = rules_trigger_data(fcinfo, "companies_rules",
									  SEGEXT_TRIGGER_AFTER | SEGEXT_TRIGGER_ROW | SEGEXT_TRIGGER_INSERT);
		companies_builtins(trigdata->tg_relation, trigdata->tg_trigtuple);
		return PointerGetDatum(NULL);
	}
	trigdata = rules_trigger_data(fcinfo, "companies_rules",
								  SEGEXT_TRIGGER_BEFORE | SEGEXT_TRIGGER_ROW | SEGEXT_TRIGGER_UPDATE);
	return PointerGetDatum(segext_keep_maintained(trigdata->tg_relation,
												  trigdata->tg_trigtuple,
												  trigdata->tg_newtuple, "company"));
}

