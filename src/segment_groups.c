/*-------------------------------------------------------------------------
 *
 * segment_groups.c
 *	  The rules of segext.segment_groups: names and status, the built-in
 *	  group 0 "Ungrouped" (created with its company, never changed or
 *	  deleted), ids assigned per company when none is given, and no delete
 *	  of a group that still contains segments.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "companies.h"
#include "rules.h"
#include "segment_groups.h"

#include "catalog/pg_type.h"
#include "utils/rel.h"

/* The highest segment group id. */
#define GROUP_ID_MAX		65535

/* The queries of the segment group rules. */
typedef enum GroupsQuery
{
	RQ_GROUP_SEGMENTS,
	RQ_COUNT
} GroupsQuery;

static RulesQuery groups_queries[RQ_COUNT] = {
	[RQ_GROUP_SEGMENTS] = {
		"SELECT pg_catalog.count(*)::pg_catalog.int4, pg_catalog.min(name) FROM segext.segments"
		" WHERE company_id OPERATOR(pg_catalog.=) $1 AND group_id OPERATOR(pg_catalog.=) $2", 2, {KEPT_ARG_OBJECTID, INT4OID}
	},
};

/* The id a new group of a company gets when it gives none. */
static RulesKeyAssigner group_ids = RULES_KEY_ASSIGNER("segext.segment_groups", "id", 1, GROUP_ID_MAX);

/* check_group_fields validates the name and status of a segment group. */
static void
check_group_fields(Relation rel, HeapTuple tuple)
{
	bool		isnull;
	Datum		status;

	rules_check_name("segment group", "name", rules_column_text(rel, tuple, "name"));
	status = rules_column_value(rel, tuple, "status", &isnull);
	if (!isnull && DatumGetInt32(status) != 200 && DatumGetInt32(status) != 410)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid status %d for segment group \"%s\"",
						DatumGetInt32(status), rules_column_text(rel, tuple, "name")),
				 errdetail("The status of a segment group is 200 (active) or 410 (deleted)."),
				 errhint("Set the status of segment group \"%s\" to 200 or 410.",
						 rules_column_text(rel, tuple, "name"))));
}

/* check_group_id refuses group 0 and ids outside 1-65535. */
static void
check_group_id(int32 id, const char *name)
{
	if (id == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SEGEXT_FORBIDDEN),
				 errmsg("segment group id 0 is reserved for built-in group \"Ungrouped\""),
				 errdetail("Segment group 0 \"Ungrouped\" is created with its company; group \"%s\" cannot take its id.",
						   name ? name : ""),
				 errhint("Give segment groups an id from 1 to %d, or leave the id out to have the next one assigned.",
						 GROUP_ID_MAX)));
	if (id < 1 || id > GROUP_ID_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment group id %d is out of range", id),
				 errdetail("Segment groups are numbered from 1 to %d.", GROUP_ID_MAX),
				 errhint("Give segment group \"%s\" an id from 1 to %d, or leave the id out to have the next one assigned.",
						 name ? name : "", GROUP_ID_MAX)));
}

/*
 * groups_before_insert refuses group 0 outside company creation and assigns
 * the next free id (highest plus one) when none is given.
 */
static HeapTuple
groups_before_insert(Relation rel, HeapTuple tuple)
{
	bool		isnull,
				id_null;
	Datum		company = rules_column_value(rel, tuple, "company_id", &isnull);
	Datum		id = rules_column_value(rel, tuple, "id", &id_null);
	int32		assigned;
	RulesSpi	spi;

	if (isnull)
		return tuple;
	if (!id_null && DatumGetInt32(id) == 0 && segext_creating_builtins_of(company))
		return tuple;
	segext_check_company_of_new_row(rel, tuple);
	check_group_fields(rel, tuple);
	if (!id_null)
	{
		check_group_id(DatumGetInt32(id), rules_column_text(rel, tuple, "name"));
		return tuple;
	}
	rules_spi_begin(&spi, rel->rd_rel->relowner);
	if (!rules_lock_company(company, NULL, NULL, NULL))
		rules_refuse_unknown_company(company, "segment group");
	assigned = rules_assign_key(&group_ids, company);
	if (assigned < 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("company has no free segment group id left"),
				 errdetail("Segment group ids 1 to %d are all taken.", GROUP_ID_MAX),
				 errhint("Delete unused segment groups first.")));
	rules_spi_end(&spi);
	return rules_set_column(rel, tuple, "id", Int32GetDatum(assigned));
}

/* groups_before_update refuses changes to group 0 and invalid values. */
static HeapTuple
groups_before_update(Relation rel, HeapTuple oldtuple, HeapTuple newtuple)
{
	bool		isnull;
	int32		old_id = DatumGetInt32(rules_column_value(rel, oldtuple, "id", &isnull));

	if (old_id == 0)
	{
		const char *column = rules_first_changed_column(rel, oldtuple, newtuple);

		if (column != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_SEGEXT_FORBIDDEN),
					 errmsg("built-in segment group 0 \"%s\" cannot be updated",
							rules_column_text(rel, oldtuple, "name")),
					 errdetail("Column \"%s\" of built-in segment group 0 cannot change: it is the group of every segment that has no other.",
							   column),
					 errhint("Create a segment group of your own instead.")));
		return newtuple;
	}
	check_group_fields(rel, newtuple);
	return newtuple;
}

/*
 * groups_before_delete refuses to delete group 0 and a group that still
 * contains segments, unless the company itself is being deleted.
 */
static void
groups_before_delete(Relation rel, HeapTuple tuple)
{
	bool		isnull;
	Datum		company = rules_column_value(rel, tuple, "company_id", &isnull);
	Datum		id = rules_column_value(rel, tuple, "id", &isnull);
	char	   *name = rules_column_text(rel, tuple, "name");
	char	   *company_name;
	Datum		args[2];
	int32		count;
	RulesSpi	spi;

	rules_spi_begin(&spi, rel->rd_rel->relowner);
	if (!rules_lock_company(company, NULL, NULL, &company_name))
	{
		rules_spi_end(&spi);
		return;
	}
	if (DatumGetInt32(id) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SEGEXT_FORBIDDEN),
				 errmsg("built-in segment group 0 \"%s\" cannot be deleted", name),
				 errdetail("Segment group 0 exists as long as company \"%s\" does.", company_name),
				 errhint("Delete segment groups of your own only (ids 1 to %d).", GROUP_ID_MAX)));
	args[0] = company;
	args[1] = id;
	rules_exec(&groups_queries[RQ_GROUP_SEGMENTS], args, true);
	count = DatumGetInt32(rules_result(1, &isnull));
	if (count > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("segment group %d \"%s\" still contains segments", DatumGetInt32(id), name),
				 errdetail("Segment group %d \"%s\" of company \"%s\" contains %d segment(s), among them \"%s\".",
						   DatumGetInt32(id), name, company_name, count,
						   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2)),
				 errhint("Move the segments of group \"%s\" to another group (such as 0 \"Ungrouped\") or delete them first.",
						 name)));
	rules_spi_end(&spi);
}

/* The row trigger of segment groups: its name, messages and steps. */
static const RulesRowTrigger groups_trigger = {
	.name = "segment_groups_rules",
	.what = "segment group",
	.keys = NULL,
	.nkeys = 0,
	.before_insert = groups_before_insert,
	.before_update = groups_before_update,
	.before_delete = groups_before_delete,
};

PG_FUNCTION_INFO_V1(segext_segment_groups_rules);

/*
 * segext_segment_groups_rules is the BEFORE INSERT OR UPDATE OR DELETE row
 * trigger of segext.segment_groups; the columns segext maintains get its
 * values first.
 */
Datum
segext_segment_groups_rules(PG_FUNCTION_ARGS)
{
	return rules_row_trigger(fcinfo, &groups_trigger);
}
