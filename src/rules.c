/*-------------------------------------------------------------------------
 *
 * rules.c
 *	  Business rules of companies, segment groups, segments, channels and
 *	  the channel segment mix, enforced by C trigger functions, and the segment
 *	  reorder function.
 *
 * Columns segext maintains are out of users' hands whatever path a write
 * takes (SQL on the tables, the segext_api views, INSERT ... ON CONFLICT):
 * a written created_at or updated_at is silently replaced
 * by segext's value, so that a client may send back a whole row it read, and
 * the key (company_id, id) of a row never changes.
 *
 * Every rule that counts the rows of a company (limits, last segment, last
 * channel, number and group id assignment) first locks the company row with
 * SELECT ... FOR NO KEY UPDATE, which serializes such changes per company
 * without conflicting with the KEY SHARE locks of foreign key checks, and
 * then counts with a snapshot taken after the lock (GetLatestSnapshot), so
 * that the count includes whatever a concurrent transaction committed while
 * this one waited, at every isolation level.  The segment mix of a channel
 * is checked by a deferred constraint trigger, at commit, after locking the
 * channel row the same way.
 *
 * A channel's segment_mix column is its rows of segext.channel_segments as
 * canonical JSON ([{"segment_id", "distribution"}] ordered by segment_id),
 * kept in step both ways: a statement that changes mix rows sets the column
 * of their channels (after locking them, reading with a snapshot taken after
 * the lock), and a mix written to the column is checked, stored canonical
 * and replaces the channel's rows.  The rows stay the source of truth of
 * the rules (foreign keys, the sum checked at commit, the default mix).
 *
 * Locks follow the lock order written at the top of src/membership.c:
 * segment rows (segment 0 first, then by id), then the company row, then
 * channel rows.  A DELETE or UPDATE of one segment holds that row before
 * its rule locks the company; reorder_segments locks all the company's
 * segments (segext_lock_company_segments) before the company row.
 * Foreign key checks take KEY SHARE locks of referenced segments, which
 * wait only for a segment being deleted (whose delete then waits for the
 * company row): a new channel therefore locks the segments of its mix
 * before the company row, and its default mix passes over a segment being
 * deleted.
 *
 * Criteria that name other segments (in_segment) are checked when a
 * segment row is written, after locking the company row: each named
 * segment must be one of the company's (a number is replaced by its id),
 * never 1 "Default", and the references must not close a cycle; a segment
 * that such criteria name cannot be deleted.
 *
 * The trigger functions query the tables as their owner (like foreign key
 * checks do), with a fixed search_path, so that row level security and the
 * caller's privileges and search_path cannot hide rows from a rule.  A
 * company being deleted no longer has its row: rules that would refuse to
 * delete a built-in or last row let the cascade through when the company row
 * is gone.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "role_switch.h"
#include "kept_plan.h"
#include "objectid.h"
#include "criteria.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "trigger_check.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

/* Built-in segment numbers and the range of user segment numbers. */
#define SEGMENT_ALL			0
#define SEGMENT_DEFAULT		1
#define SEGMENT_NUMBER_MIN	2
#define SEGMENT_NUMBER_MAX	65535
#define POSITION_MAX		65535
#define GROUP_ID_MAX		65535
#define NAME_MAX_CHARS		100

/*
 * The canonical JSON of the mix rows m of one channel; the one expression
 * both directions of the segment_mix sync build the column with.
 */
#define MIX_JSON_OF(m) \
	"COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('segment_id', " m ".segment_id," \
	" 'distribution', " m ".distribution) ORDER BY " m ".segment_id), '[]'::pg_catalog.jsonb)"

/* The queries the rules run; each is prepared once per backend and saved. */
typedef enum RulesQuery
{
	RQ_LOCK_COMPANY,
	RQ_COUNT_USER_SEGMENTS,
	RQ_NEXT_SEGMENT_NUMBER,
	RQ_FREE_SEGMENT_NUMBER,
	RQ_SEGMENT_IN_MIX,
	RQ_COUNT_CHANNELS,
	RQ_NEXT_GROUP_ID,
	RQ_FREE_GROUP_ID,
	RQ_GROUP_SEGMENTS,
	RQ_SEGMENT_BY_ID,
	RQ_CHANNEL_NAME,
	RQ_LOCK_CHANNEL,
	RQ_MIX_SUM,
	RQ_MIX_DEFAULT,
	RQ_BUILTIN_GROUP,
	RQ_BUILTIN_SEGMENTS,
	RQ_REORDER_LOCK,
	RQ_LOCK_MIX_SEGMENTS,
	RQ_REORDER_MISSING,
	RQ_REORDER_UPDATE,
	RQ_MIX_TYPE,
	RQ_MIX_BAD_ELEMENT,
	RQ_MIX_CANONICAL,
	RQ_MIX_STORED,
	RQ_MIX_WRITE,
	RQ_SEGMENT_GRAPH,
	RQ_COMPANY_NAME,
	RQ_COUNT
} RulesQuery;

/* SQL text and argument types of each query (as segext_kept_plan takes them). */
typedef struct RulesQueryDef
{
	const char *sql;
	int			nargs;
	Oid			argtypes[4];
} RulesQueryDef;

static const RulesQueryDef rules_queries[RQ_COUNT] = {
	[RQ_LOCK_COMPANY] = {
		"SELECT max_segments, max_channels, name FROM segext.companies"
		" WHERE id OPERATOR(pg_catalog.=) $1 FOR NO KEY UPDATE", 1, {KEPT_ARG_OBJECTID}
	},
	[RQ_COUNT_USER_SEGMENTS] = {
		"SELECT pg_catalog.count(*)::pg_catalog.int4 FROM segext.segments"
		" WHERE company_id OPERATOR(pg_catalog.=) $1 AND number OPERATOR(pg_catalog.>=) 2", 1, {KEPT_ARG_OBJECTID}
	},
	[RQ_NEXT_SEGMENT_NUMBER] = {
		"SELECT COALESCE(pg_catalog.max(number), 1) OPERATOR(pg_catalog.+) 1 FROM segext.segments"
		" WHERE company_id OPERATOR(pg_catalog.=) $1", 1, {KEPT_ARG_OBJECTID}
	},
	[RQ_FREE_SEGMENT_NUMBER] = {
		"SELECT g.n FROM pg_catalog.generate_series(2, 65535) AS g(n)"
		" WHERE NOT EXISTS (SELECT 1 FROM segext.segments s"
		" WHERE s.company_id OPERATOR(pg_catalog.=) $1 AND s.number OPERATOR(pg_catalog.=) g.n)"
		" ORDER BY g.n LIMIT 1", 1, {KEPT_ARG_OBJECTID}
	},
	[RQ_SEGMENT_IN_MIX] = {
		"SELECT c.name, pg_catalog.count(*) OVER ()::pg_catalog.int4 FROM segext.channel_segments cs"
		" JOIN segext.channels c ON c.company_id OPERATOR(pg_catalog.=) cs.company_id"
		" AND c.id OPERATOR(pg_catalog.=) cs.channel_id"
		" WHERE cs.company_id OPERATOR(pg_catalog.=) $1 AND cs.segment_id OPERATOR(pg_catalog.=) $2"
		" ORDER BY c.name LIMIT 1", 2, {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID}
	},
	[RQ_COUNT_CHANNELS] = {
		"SELECT pg_catalog.count(*)::pg_catalog.int4 FROM segext.channels"
		" WHERE company_id OPERATOR(pg_catalog.=) $1", 1, {KEPT_ARG_OBJECTID}
	},
	[RQ_NEXT_GROUP_ID] = {
		"SELECT COALESCE(pg_catalog.max(id), 0) OPERATOR(pg_catalog.+) 1 FROM segext.segment_groups"
		" WHERE company_id OPERATOR(pg_catalog.=) $1", 1, {KEPT_ARG_OBJECTID}
	},
	[RQ_FREE_GROUP_ID] = {
		"SELECT g.n FROM pg_catalog.generate_series(1, 65535) AS g(n)"
		" WHERE NOT EXISTS (SELECT 1 FROM segext.segment_groups sg"
		" WHERE sg.company_id OPERATOR(pg_catalog.=) $1 AND sg.id OPERATOR(pg_catalog.=) g.n)"
		" ORDER BY g.n LIMIT 1", 1, {KEPT_ARG_OBJECTID}
	},
	[RQ_GROUP_SEGMENTS] = {
		"SELECT pg_catalog.count(*)::pg_catalog.int4, pg_catalog.min(name) FROM segext.segments"
		" WHERE company_id OPERATOR(pg_catalog.=) $1 AND group_id OPERATOR(pg_catalog.=) $2", 2, {KEPT_ARG_OBJECTID, INT4OID}
	},
	[RQ_SEGMENT_BY_ID] = {
		"SELECT number, name FROM segext.segments"
		" WHERE company_id OPERATOR(pg_catalog.=) $1 AND id OPERATOR(pg_catalog.=) $2", 2, {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID}
	},
	[RQ_CHANNEL_NAME] = {
		"SELECT name FROM segext.channels"
		" WHERE company_id OPERATOR(pg_catalog.=) $1 AND id OPERATOR(pg_catalog.=) $2", 2, {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID}
	},
	[RQ_LOCK_CHANNEL] = {
		"SELECT name FROM segext.channels"
		" WHERE company_id OPERATOR(pg_catalog.=) $1 AND id OPERATOR(pg_catalog.=) $2"
		" FOR NO KEY UPDATE", 2, {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID}
	},
	[RQ_MIX_SUM] = {
		"SELECT pg_catalog.count(*)::pg_catalog.int4, COALESCE(pg_catalog.sum(distribution), 0)::pg_catalog.text,"
		" COALESCE(pg_catalog.sum(distribution), 0) OPERATOR(pg_catalog.=) 1 FROM segext.channel_segments"
		" WHERE company_id OPERATOR(pg_catalog.=) $1 AND channel_id OPERATOR(pg_catalog.=) $2", 2, {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID}
	},
	/* a segment being deleted (locked FOR UPDATE) is passed over */
	[RQ_MIX_DEFAULT] = {
		"INSERT INTO segext.channel_segments (company_id, channel_id, segment_id, distribution)"
		" SELECT $1, $2, s.id, 1 FROM segext.segments s"
		" WHERE s.company_id OPERATOR(pg_catalog.=) $1 AND s.number OPERATOR(pg_catalog.>=) 1"
		" ORDER BY s.number OPERATOR(pg_catalog.=) 1, s.position, s.number LIMIT 1 FOR KEY SHARE SKIP LOCKED", 2, {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID}
	},
	[RQ_BUILTIN_GROUP] = {
		"INSERT INTO segext.segment_groups (company_id, id, name) VALUES ($1, 0, 'Ungrouped')", 1, {KEPT_ARG_OBJECTID}
	},
	[RQ_BUILTIN_SEGMENTS] = {
		"INSERT INTO segext.segments (company_id, number, name, description, position, group_id)"
		" VALUES ($1, 0, 'All', 'Every active customer', 0, 0),"
		" ($1, 1, 'Default', 'Customers in no other active segment', 0, 0)", 1, {KEPT_ARG_OBJECTID}
	},
	[RQ_REORDER_LOCK] = {
		"SELECT name FROM segext.companies WHERE id OPERATOR(pg_catalog.=) $1 FOR NO KEY UPDATE", 1, {KEPT_ARG_OBJECTID}
	},
	/* the segments named by a mix being written, as its foreign keys lock them */
	[RQ_LOCK_MIX_SEGMENTS] = {
		"SELECT FROM segext.segments s WHERE s.company_id OPERATOR(pg_catalog.=) $1"
		" AND s.id::pg_catalog.text OPERATOR(pg_catalog.=) ANY (SELECT pg_catalog.lower(e.v OPERATOR(pg_catalog.->>) 'segment_id')"
		" FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof($2) OPERATOR(pg_catalog.=) 'array' THEN $2 ELSE '[]'::pg_catalog.jsonb END) AS e(v)"
		" WHERE pg_catalog.jsonb_typeof(e.v) OPERATOR(pg_catalog.=) 'object')"
		" ORDER BY s.number OPERATOR(pg_catalog.<>) 0, s.id FOR KEY SHARE", 2, {KEPT_ARG_OBJECTID, JSONBOID}
	},
	[RQ_REORDER_MISSING] = {
		"SELECT u.n FROM pg_catalog.unnest($2) WITH ORDINALITY AS u(n, i)"
		" WHERE NOT EXISTS (SELECT 1 FROM segext.segments s"
		" WHERE s.company_id OPERATOR(pg_catalog.=) $1 AND s.number OPERATOR(pg_catalog.=) u.n)"
		" ORDER BY u.i LIMIT 1", 2, {KEPT_ARG_OBJECTID, INT4ARRAYOID}
	},
	[RQ_REORDER_UPDATE] = {
		"UPDATE segext.segments AS s SET position = (u.i OPERATOR(pg_catalog.-) 1)::pg_catalog.int4"
		" FROM pg_catalog.unnest($2) WITH ORDINALITY AS u(n, i)"
		" WHERE s.company_id OPERATOR(pg_catalog.=) $1 AND s.number OPERATOR(pg_catalog.=) u.n"
		" AND s.position OPERATOR(pg_catalog.<>) (u.i OPERATOR(pg_catalog.-) 1)", 2, {KEPT_ARG_OBJECTID, INT4ARRAYOID}
	},
	[RQ_MIX_TYPE] = {
		"SELECT pg_catalog.jsonb_typeof($1)", 1, {JSONBOID}
	},
	/* the first bad element: index, problem (NULL: a malformed segment id) */
	[RQ_MIX_BAD_ELEMENT] = {
		"SELECT (e.i OPERATOR(pg_catalog.-) 1)::pg_catalog.int4, CASE"
		" WHEN pg_catalog.jsonb_typeof(e.v) OPERATOR(pg_catalog.<>) 'object' THEN 'is not an object'"
		" WHEN COALESCE(pg_catalog.jsonb_typeof(e.v OPERATOR(pg_catalog.->) 'segment_id'), '')"
		" OPERATOR(pg_catalog.<>) 'string'"
		" THEN 'has no \"segment_id\" string'"
		" WHEN COALESCE(pg_catalog.jsonb_typeof(e.v OPERATOR(pg_catalog.->) 'distribution'), '')"
		" OPERATOR(pg_catalog.<>) 'number'"
		" THEN 'has no \"distribution\" number'"
		" WHEN e.v OPERATOR(pg_catalog.-) 'segment_id'::pg_catalog.text"
		" OPERATOR(pg_catalog.-) 'distribution'::pg_catalog.text OPERATOR(pg_catalog.<>) '{}'"
		" THEN 'has a key other than \"segment_id\" and \"distribution\"'"
		" END,"
		" e.v OPERATOR(pg_catalog.->>) 'segment_id'"
		" FROM pg_catalog.jsonb_array_elements($1) WITH ORDINALITY AS e(v, i)"
		" WHERE pg_catalog.jsonb_typeof(e.v) OPERATOR(pg_catalog.<>) 'object'"
		" OR COALESCE(pg_catalog.jsonb_typeof(e.v OPERATOR(pg_catalog.->) 'segment_id'), '')"
		" OPERATOR(pg_catalog.<>) 'string'"
		" OR COALESCE(pg_catalog.jsonb_typeof(e.v OPERATOR(pg_catalog.->) 'distribution'), '')"
		" OPERATOR(pg_catalog.<>) 'number'"
		" OR e.v OPERATOR(pg_catalog.-) 'segment_id'::pg_catalog.text"
		" OPERATOR(pg_catalog.-) 'distribution'::pg_catalog.text OPERATOR(pg_catalog.<>) '{}'"
		" OR e.v OPERATOR(pg_catalog.->>) 'segment_id' OPERATOR(pg_catalog.!~) '^[0-9a-fA-F]{24}$'"
		" ORDER BY e.i LIMIT 1", 1, {JSONBOID}
	},
	[RQ_MIX_CANONICAL] = {
		"SELECT " MIX_JSON_OF("m") " FROM pg_catalog.jsonb_to_recordset($1)"
		" AS m(segment_id segext.objectid, distribution pg_catalog.numeric)", 1, {JSONBOID}
	},
	[RQ_MIX_STORED] = {
		"SELECT segment_mix FROM segext.channels"
		" WHERE company_id OPERATOR(pg_catalog.=) $1 AND id OPERATOR(pg_catalog.=) $2", 2, {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID}
	},

	/*
	 * One statement, so that the checks of the mix (even when a session has
	 * made them immediate) see the new mix, never the moment in between.  The
	 * sub-select on "old" makes the delete run to completion before the
	 * first row is inserted.
	 */
	[RQ_MIX_WRITE] = {
		"WITH old AS (DELETE FROM segext.channel_segments"
		" WHERE company_id OPERATOR(pg_catalog.=) $1"
		" AND channel_id OPERATOR(pg_catalog.=) $2 RETURNING 1)"
		" INSERT INTO segext.channel_segments"
		" (company_id, channel_id, segment_id, distribution)"
		" SELECT $1, $2, m.segment_id, m.distribution"
		" FROM pg_catalog.jsonb_to_recordset($3)"
		" AS m(segment_id segext.objectid, distribution pg_catalog.numeric)"
		" WHERE (SELECT pg_catalog.count(*) FROM old) OPERATOR(pg_catalog.>=) 0", 3, {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID, JSONBOID}
	},
	/* every segment of a company with its criteria, for the in_segment rules */
	[RQ_SEGMENT_GRAPH] = {
		"SELECT id, number, name, criteria FROM segext.segments"
		" WHERE company_id OPERATOR(pg_catalog.=) $1 ORDER BY number", 1, {KEPT_ARG_OBJECTID}
	},
	[RQ_COMPANY_NAME] = {
		"SELECT name FROM segext.companies WHERE id OPERATOR(pg_catalog.=) $1", 1, {KEPT_ARG_OBJECTID}
	},
};

/* Kept plans of the queries. */
static SegextKeptPlan rules_plans[RQ_COUNT];

/*
 * While a company's built-ins are being created, the id of that company:
 * only then may segments 0 and 1 and group 0 be inserted.
 */
static bool builtins_active = false;
static SegextObjectId builtins_company;

/*
 * Set while segext keeps channels.segment_mix and segext.channel_segments in
 * step: the triggers of the other side then leave the write alone.
 */
static bool syncing_mix = false;

/* State saved while a rule runs its queries as the table owner. */
typedef SegextRoleSwitch RulesSpi;

static SPIPlanPtr rules_plan(RulesQuery query);
static void rules_exec(RulesQuery query, Datum *values, bool latest);
static void rules_spi_begin(RulesSpi *spi, Oid owner);
static void rules_spi_end(RulesSpi *spi);
static Datum rules_result(int col, bool *isnull);
static TriggerData *rules_trigger_data(FunctionCallInfo fcinfo, const char *name,
									   int required);
static Datum column_value(Relation rel, HeapTuple tuple, const char *column,
						  bool *isnull);
static char *column_text(Relation rel, HeapTuple tuple, const char *column);
static bool column_changed(Relation rel, HeapTuple oldtuple, HeapTuple newtuple,
						   const char *column);
static const char *first_changed_column(Relation rel, HeapTuple oldtuple,
										HeapTuple newtuple);
static HeapTuple set_column(Relation rel, HeapTuple tuple, const char *column,
							Datum value);
static bool objectid_equal(Datum a, Datum b);
static bool lock_company(Datum company, int32 *max_segments, int32 *max_channels,
						 char **name);
static void refuse_unknown_company(Datum company, const char *what);
static void check_name(const char *what, const char *column, const char *value);
static void check_key_unchanged(Relation rel, HeapTuple oldtuple,
								HeapTuple newtuple, const char *column,
								const char *what);
static void check_company_of_new_row(Relation rel, Datum company);
static void check_segment_fields(Relation rel, HeapTuple tuple);
static void check_commission(Relation rel, HeapTuple tuple);
static void check_channel_mix(Datum company, Datum channel);

/* The keys a unique violation of a segment or a channel is reported by. */
static const char *const segment_keys[] = {"name", "ref", "number", "id"};
static const char *const channel_keys[] = {"name", "id"};

/* rules_plan returns the kept plan of a query, preparing it on first use. */
static SPIPlanPtr
rules_plan(RulesQuery query)
{
	const RulesQueryDef *def = &rules_queries[query];

	return segext_kept_plan(&rules_plans[query], def->sql, def->nargs, def->argtypes, 0);
}

/*
 * exec_plan runs a plan (sql names it in errors); with latest, it reads with
 * a snapshot taken now, which sees every transaction committed before the
 * caller's lock was granted, whatever the isolation level.  Errors a user
 * caused are raised without the CONTEXT line of the plan's statement.
 */
static void
exec_plan(SPIPlanPtr plan, const char *sql, Datum *values, bool latest)
{
	int			rc = 0;
	MemoryContext caller_context = CurrentMemoryContext;

	PG_TRY();
	{
		if (latest)
			rc = SPI_execute_snapshot(plan, values, NULL, GetLatestSnapshot(),
									  InvalidSnapshot, false, true, 0);
		else
			rc = SPI_execute_plan(plan, values, NULL, false, 0);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/*
		 * A rule's refusal is about the user's row, not segext's statement:
		 * it is raised again without the CONTEXT of that statement.
		 */
		MemoryContextSwitchTo(caller_context);
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_INTERNAL_ERROR)
			PG_RE_THROW();
		FlushErrorState();
		edata->context = NULL;
		ReThrowError(edata);
	}
	PG_END_TRY();
	if (rc < 0)
		elog(ERROR, "segext rule query \"%s\" failed: %s", sql, SPI_result_code_string(rc));
}

/* rules_exec runs a saved query (exec_plan). */
static void
rules_exec(RulesQuery query, Datum *values, bool latest)
{
	exec_plan(rules_plan(query), rules_queries[query].sql, values, latest);
}

/*
 * exec_flagged runs a plan (exec_plan) with *flag set, so that the rules it
 * fires know segext is the writer, clearing it again whatever happens.
 */
static void
exec_flagged(bool *flag, SPIPlanPtr plan, const char *sql, Datum *values, bool latest)
{
	*flag = true;
	PG_TRY();
	{
		exec_plan(plan, sql, values, latest);
	}
	PG_FINALLY();
	{
		*flag = false;
	}
	PG_END_TRY();
}

/*
 * rules_spi_begin connects to SPI and switches to the given role (the table
 * owner, or the caller for reorder) with search_path pg_catalog, pg_temp.
 */
static void
rules_spi_begin(RulesSpi *spi, Oid owner)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	segext_switch_role(spi, owner);
}

/* rules_spi_end restores the role and search_path and leaves SPI. */
static void
rules_spi_end(RulesSpi *spi)
{
	segext_restore_role(spi);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/* rules_result returns column col (from 1) of the first result row. */
static Datum
rules_result(int col, bool *isnull)
{
	if (SPI_processed < 1)
		elog(ERROR, "segext rule query returned no row");
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, isnull);
}

/*
 * rules_trigger_data checks that a rule function was fired as required
 * (segext_check_trigger_call) and returns its trigger data.
 */
static TriggerData *
rules_trigger_data(FunctionCallInfo fcinfo, const char *name, int required)
{
	TriggerData *trigdata = segext_check_trigger_call(fcinfo, name, required);

	/* a deferred trigger on a Citus shard plans against its shard group */
	segext_citus_trigger_group(trigdata->tg_relation);
	return trigdata;
}

/* column_value returns a column of a row of the trigger's table. */
static Datum
column_value(Relation rel, HeapTuple tuple, const char *column, bool *isnull)
{
	int			attnum = SPI_fnumber(RelationGetDescr(rel), column);

	if (attnum <= 0)
		elog(ERROR, "column \"%s\" of table \"%s\" does not exist",
			 column, RelationGetRelationName(rel));
	return heap_getattr(tuple, attnum, RelationGetDescr(rel), isnull);
}

/* column_text returns a text column as a C string, or NULL. */
static char *
column_text(Relation rel, HeapTuple tuple, const char *column)
{
	bool		isnull;
	Datum		value = column_value(rel, tuple, column, &isnull);

	return isnull ? NULL : TextDatumGetCString(value);
}

/* column_changed says whether an update changes one column. */
static bool
column_changed(Relation rel, HeapTuple oldtuple, HeapTuple newtuple,
			   const char *column)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	int			attnum = SPI_fnumber(tupdesc, column);
	Form_pg_attribute att = TupleDescAttr(tupdesc, attnum - 1);
	bool		oldnull,
				newnull;
	Datum		oldvalue = heap_getattr(oldtuple, attnum, tupdesc, &oldnull);
	Datum		newvalue = heap_getattr(newtuple, attnum, tupdesc, &newnull);

	if (oldnull || newnull)
		return oldnull != newnull;
	return !datumIsEqual(oldvalue, newvalue, att->attbyval, att->attlen);
}

/*
 * first_changed_column returns the name of the first column an update
 * changes, ignoring updated_at, which segext maintains itself, or NULL.
 */
static const char *
first_changed_column(Relation rel, HeapTuple oldtuple, HeapTuple newtuple)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		const char *name = NameStr(att->attname);

		if (att->attisdropped || strcmp(name, "updated_at") == 0)
			continue;
		if (column_changed(rel, oldtuple, newtuple, name))
			return name;
	}
	return NULL;
}

/* set_column returns a copy of tuple with one column replaced. */
static HeapTuple
set_column(Relation rel, HeapTuple tuple, const char *column, Datum value)
{
	int			attnum = SPI_fnumber(RelationGetDescr(rel), column);
	bool		isnull = false;

	return heap_modify_tuple_by_cols(tuple, RelationGetDescr(rel), 1, &attnum,
									 &value, &isnull);
}

/*
 * segext_keep_maintained gives a row that a user writes segext's values of
 * the columns segext maintains, whatever the user wrote there: on insert
 * (oldtuple NULL) created_at and updated_at are the start of the
 * transaction; on update company_id and id must not change, created_at
 * keeps its value and updated_at is the start of the transaction.  A new
 * row without company_id while no company is current is refused with
 * "no current company".  Columns the table lacks are skipped; what names the
 * kind of row in messages.
 */
HeapTuple
segext_keep_maintained(Relation rel, HeapTuple oldtuple, HeapTuple newtuple,
					   const char *what)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	Datum		now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	int			cols[2];
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int			ncols = 0;
	int			attnum;

	if (oldtuple != NULL)
	{
		check_key_unchanged(rel, oldtuple, newtuple, "company_id", what);
		check_key_unchanged(rel, oldtuple, newtuple, "id", what);
	}
	else
	{
		bool		isnull;

		/* a row of no company: say why (no current company), not only RLS */
		attnum = SPI_fnumber(tupdesc, "company_id");
		if (attnum > 0 && GetUserId() != rel->rd_rel->relowner)
		{
			(void) heap_getattr(newtuple, attnum, tupdesc, &isnull);
			if (isnull)
				segext_check_company_access(NULL);
		}
	}
	attnum = SPI_fnumber(tupdesc, "created_at");
	if (attnum > 0)
	{
		cols[ncols] = attnum;
		values[ncols] = oldtuple == NULL ? now :
			heap_getattr(oldtuple, attnum, tupdesc, &nulls[ncols]);
		ncols++;
	}
	attnum = SPI_fnumber(tupdesc, "updated_at");
	if (attnum > 0)
	{
		cols[ncols] = attnum;
		values[ncols++] = now;
	}
	if (ncols == 0)
		return newtuple;
	return heap_modify_tuple_by_cols(newtuple, tupdesc, ncols, cols, values, nulls);
}

/* objectid_equal compares two objectid datums. */
static bool
objectid_equal(Datum a, Datum b)
{
	return segext_objectid_equal(DatumGetSegextObjectIdP(a), DatumGetSegextObjectIdP(b));
}

/*
 * lock_company locks a company row FOR NO KEY UPDATE and returns its limits
 * and name; false when the row does not exist (also when the company is
 * being deleted by this transaction).
 */
static bool
lock_company(Datum company, int32 *max_segments, int32 *max_channels, char **name)
{
	bool		isnull;

	rules_exec(RQ_LOCK_COMPANY, &company, false);
	if (SPI_processed == 0)
		return false;
	if (max_segments)
		*max_segments = DatumGetInt32(rules_result(1, &isnull));
	if (max_channels)
		*max_channels = DatumGetInt32(rules_result(2, &isnull));
	if (name)
		*name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	return true;
}

/*
 * refuse_unknown_company raises 23503 for a new row (what names its kind)
 * of a company that does not exist.
 */
static void
refuse_unknown_company(Datum company, const char *what)
{
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

	segext_objectid_to_hex((SegextObjectId *) DatumGetPointer(company), hex);
	ereport(ERROR,
			(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
			 errmsg("company \"%s\" does not exist", hex),
			 errdetail("No company has id \"%s\", so the %s cannot be created.", hex, what),
			 errhint("Create the company first (segext.create_company), or give the id of an existing company.")));
}

/* check_name refuses a name or reference that is empty or too long. */
static void
check_name(const char *what, const char *column, const char *value)
{
	int			len;

	if (value == NULL)
		return;
	len = pg_mbstrlen(value);
	if (len < 1 || len > NAME_MAX_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s %s must have 1 to %d characters", what, column,
						NAME_MAX_CHARS),
				 errdetail("The %s %s given has %d characters.", what, column, len),
				 errhint("Give the %s a %s of 1 to %d characters.", what, column,
						 NAME_MAX_CHARS)));
}

/*
 * check_key_unchanged refuses an update that changes a key column of a row
 * (company_id or id); the row is named by its name, else by its id.
 */
static void
check_key_unchanged(Relation rel, HeapTuple oldtuple, HeapTuple newtuple,
					const char *column, const char *what)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	int			attnum = SPI_fnumber(tupdesc, column);
	char	   *label;
	char	   *oldvalue;
	char	   *newvalue;

	if (attnum <= 0 || !column_changed(rel, oldtuple, newtuple, column))
		return;
	label = SPI_fnumber(tupdesc, "name") > 0 ? column_text(rel, oldtuple, "name") :
		SPI_getvalue(oldtuple, tupdesc, SPI_fnumber(tupdesc, "id"));
	if (strcmp(column, "company_id") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot move %s \"%s\" to another company", what,
						label ? label : ""),
				 errdetail("The company_id of a %s never changes.", what),
				 errhint("Create the %s in the other company and delete this one.", what)));
	oldvalue = SPI_getvalue(oldtuple, tupdesc, attnum);
	newvalue = SPI_getvalue(newtuple, tupdesc, attnum);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("cannot change the id of %s \"%s\"", what, label ? label : ""),
			 errdetail("The id of a %s is its key within its company and never changes; it is %s, and the update would make it %s.",
					   what, oldvalue ? oldvalue : "null", newvalue ? newvalue : "null"),
			 errhint("Leave \"id\" out of the update, or create a new %s and delete this one.", what)));
}

/*
 * check_company_of_new_row refuses (42501) to write a row for a company the
 * current user may not act for, before a rule reads that company as the
 * table owner.  The current user is whoever is acting, in any security
 * context (a security definer function runs as its owner); only rows that
 * segext writes itself as the table owner pass unchecked.
 */
static void
check_company_of_new_row(Relation rel, Datum company)
{
	if (GetUserId() != rel->rd_rel->relowner)
		segext_check_company_access((SegextObjectId *) DatumGetPointer(company));
}

/* check_segment_fields validates the name, ref and position of a segment. */
static void
check_segment_fields(Relation rel, HeapTuple tuple)
{
	bool		isnull;
	Datum		position;

	check_name("segment", "name", column_text(rel, tuple, "name"));
	check_name("segment", "ref", column_text(rel, tuple, "ref"));
	position = column_value(rel, tuple, "position", &isnull);
	if (!isnull && (DatumGetInt32(position) < 0 || DatumGetInt32(position) > POSITION_MAX))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment position %d is out of range", DatumGetInt32(position)),
				 errdetail("The position of segment \"%s\" must be from 0 to %d.",
						   column_text(rel, tuple, "name"), POSITION_MAX),
				 errhint("Give a position from 0 to %d; segments are detected in order of position, then number.",
						 POSITION_MAX)));
}

/* check_segment_number refuses a built-in or out-of-range user number. */
static void
check_segment_number(int32 number, const char *name)
{
	if (number == SEGMENT_ALL || number == SEGMENT_DEFAULT)
		ereport(ERROR,
				(errcode(ERRCODE_SEGEXT_FORBIDDEN),
				 errmsg("segment number %d is reserved for built-in segment \"%s\"",
						number, number == SEGMENT_ALL ? "All" : "Default"),
				 errdetail("Segments 0 \"All\" and 1 \"Default\" are created with their company; segment \"%s\" cannot take their numbers.",
						   name ? name : ""),
				 errhint("Give user segments a number from %d to %d, or leave the number out to have the next one assigned.",
						 SEGMENT_NUMBER_MIN, SEGMENT_NUMBER_MAX)));
	if (number < SEGMENT_NUMBER_MIN || number > SEGMENT_NUMBER_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment number %d is out of range", number),
				 errdetail("User segments are numbered from %d to %d.",
						   SEGMENT_NUMBER_MIN, SEGMENT_NUMBER_MAX),
				 errhint("Give segment \"%s\" a number from %d to %d, or leave the number out to have the next one assigned.",
						 name ? name : "", SEGMENT_NUMBER_MIN, SEGMENT_NUMBER_MAX)));
}

/* numeric_const returns a numeric datum for a decimal literal. */
static Datum
numeric_const(const char *value)
{
	return DirectFunctionCall3(numeric_in, CStringGetDatum(value),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/* numeric_is_special says whether a numeric is NaN or infinite. */
static bool
numeric_is_special(Datum value)
{
	Numeric		num = DatumGetNumeric(value);

	return numeric_is_inf(num) || numeric_is_nan(num);
}

/* check_commission refuses a negative, NaN or infinite commission. */
static void
check_commission(Relation rel, HeapTuple tuple)
{
	bool		isnull;
	Datum		commission = column_value(rel, tuple, "commission", &isnull);

	if (isnull)
		return;
	if (numeric_is_special(commission) ||
		DatumGetBool(DirectFunctionCall2(numeric_lt, commission, numeric_const("0"))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid commission %s for channel \"%s\"",
						DatumGetCString(DirectFunctionCall1(numeric_out, commission)),
						column_text(rel, tuple, "name")),
				 errdetail("A commission is a rate of 0 or more applied to revenue (0.2 = 20%%); it may exceed 1."),
				 errhint("Give channel \"%s\" a commission of 0 or more.",
						 column_text(rel, tuple, "name"))));
}

/* companies_builtins creates segment group 0 and segments 0 and 1. */
static void
companies_builtins(Relation rel, HeapTuple tuple)
{
	bool		isnull;
	Datum		company = column_value(rel, tuple, "id", &isnull);
	RulesSpi	spi;

	rules_spi_begin(&spi, rel->rd_rel->relowner);
	memcpy(&builtins_company, DatumGetPointer(company), SEGEXT_OBJECTID_LEN);
	builtins_active = true;
	PG_TRY();
	{
		rules_exec(RQ_BUILTIN_GROUP, &company, false);
		rules_exec(RQ_BUILTIN_SEGMENTS, &company, false);
	}
	PG_FINALLY();
	{
		builtins_active = false;
	}
	PG_END_TRY();
	rules_spi_end(&spi);
}

/* creating_builtins_of says whether the built-ins of company are being made. */
static bool
creating_builtins_of(Datum company)
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

/*
 * One segment of a company as the in_segment rules see it: its id, number,
 * name and the segments its criteria name (by id).
 */
typedef struct RefNode
{
	SegextObjectId id;
	int32		number;
	char	   *name;
	SegextSegmentRef *refs;
	int			nrefs;
	int			state;			/* cycle search: 0 new, 1 on the path, 2 done */
} RefNode;

/* A company's segments for the in_segment rules. */
typedef struct RefGraph
{
	int			n;
	RefNode    *nodes;
	RefNode    *self;			/* the segment being saved, or NULL */
	char	   *company_name;
} RefGraph;

/*
 * read_ref_graph reads every segment of a company with the segments its
 * criteria name, into cxt; with latest, with a snapshot taken now (after
 * the caller's lock).  The caller is connected to SPI.
 */
static void
read_ref_graph(Datum company, bool latest, MemoryContext cxt, RefGraph *g)
{
	MemoryContext old;

	rules_exec(RQ_SEGMENT_GRAPH, &company, latest);
	old = MemoryContextSwitchTo(cxt);
	g->n = (int) SPI_processed;
	g->nodes = palloc0(sizeof(RefNode) * (g->n + 1));
	for (int i = 0; i < g->n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		crit;
		RefNode    *r = &g->nodes[i];

		memcpy(&r->id, DatumGetPointer(SPI_getbinval(tup, desc, 1, &isnull)), SEGEXT_OBJECTID_LEN);
		r->number = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		r->name = SPI_getvalue(tup, desc, 3);
		crit = SPI_getbinval(tup, desc, 4, &isnull);
		if (!isnull)
			r->refs = segext_criteria_segment_refs((SegextCriteria *) PG_DETOAST_DATUM(crit), &r->nrefs);
	}
	MemoryContextSwitchTo(old);
}

/* ref_node_by_id finds a segment of the graph by id (the saved one too), or NULL. */
static RefNode *
ref_node_by_id(RefGraph *g, const SegextObjectId *id)
{
	if (g->self != NULL && segext_objectid_equal(&g->self->id, id))
		return g->self;
	for (int i = 0; i < g->n; i++)
		if (segext_objectid_equal(&g->nodes[i].id, id))
			return &g->nodes[i];
	return NULL;
}

/* ref_node_by_number finds a segment of the graph by number (the saved one too), or NULL. */
static RefNode *
ref_node_by_number(RefGraph *g, int32 number)
{
	if (g->self != NULL && g->self->number == number)
		return g->self;
	for (int i = 0; i < g->n; i++)
		if (g->nodes[i].number == number && &g->nodes[i] != g->self)
			return &g->nodes[i];
	return NULL;
}

/* What resolve_ref_number needs: the graph and the company's name. */
static void
resolve_ref_number(int32 number, void *arg, SegextObjectId *id)
{
	RefGraph   *g = (RefGraph *) arg;
	RefNode    *r = ref_node_by_number(g, number);

	if (r == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("segment %d named by an in_segment criterion does not exist", number),
				 errdetail("Company \"%s\" has no segment number %d%s%s%s.", g->company_name, number,
						   g->self != NULL ? ", which the criteria of segment \"" : "",
						   g->self != NULL ? g->self->name : "",
						   g->self != NULL ? "\" name" : ""),
				 errhint("Name a segment of the same company in \"segment\", by its number or its id.")));
	*id = r->id;
}

/* ref_label describes a segment of the graph for messages: segment N "name". */
static char *
ref_label(const RefNode *r)
{
	return psprintf("segment %d \"%s\"", r->number, r->name ? r->name : "");
}

/*
 * find_ref_cycle searches the segments reachable from r for a path back to
 * the saved segment, appending the segment numbers of the path to path;
 * true when found.
 */
static bool
find_ref_cycle(RefGraph *g, RefNode *r, StringInfo path)
{
	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	r->state = 1;
	for (int i = 0; i < r->nrefs; i++)
	{
		RefNode    *next = ref_node_by_id(g, &r->refs[i].id);
		int			len = path->len;

		if (next == NULL || next->state == 2)
			continue;
		appendStringInfo(path, " -> segment %d", next->number);
		if (next == g->self)
			return true;
		if (next->state == 0 && find_ref_cycle(g, next, path))
			return true;
		path->len = len;
		path->data[len] = '\0';
	}
	r->state = 2;
	return false;
}

/*
 * check_segment_refs resolves and checks the segments that a criteria value
 * names in in_segment criteria, for a company whose segments are in g (the
 * saved segment is g->self, or none for a preview): numbers become ids
 * (23503 when the company has no such segment), every id must be a segment
 * of the company (23503), segment 1 "Default" cannot be named (23514: it
 * depends on every other segment) and the saved segment must not reach
 * itself (23514, naming the cycle).  Returns the criteria naming ids only.
 */
static SegextCriteria *
check_segment_refs(RefGraph *g, SegextCriteria *criteria)
{
	SegextCriteria *resolved = segext_criteria_resolve_segments(criteria, resolve_ref_number, g);
	SegextSegmentRef *refs;
	int			nrefs;
	const char *self_label = g->self != NULL ? ref_label(g->self) : "the criteria";

	refs = segext_criteria_segment_refs(resolved, &nrefs);
	for (int i = 0; i < nrefs; i++)
	{
		RefNode    *r = ref_node_by_id(g, &refs[i].id);
		char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

		segext_objectid_to_hex(&refs[i].id, hex);
		if (r == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("segment \"%s\" named by an in_segment criterion does not exist", hex),
					 errdetail("Company \"%s\" has no segment with id \"%s\", which %s name%s.",
							   g->company_name, hex, self_label, g->self != NULL ? "s" : ""),
					 errhint("Name a segment of the same company in \"segment\", by its number or its id.")));
		if (r->number == 1)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("in_segment cannot name segment 1 \"Default\""),
					 errdetail("Segment 1 \"Default\" holds the active customers in no other active segment, so it depends on every segment: %s%s -> segment 1 -> %s.",
							   g->self != NULL ? "" : "the criteria",
							   g->self != NULL ? psprintf("segment %d", g->self->number) : "",
							   g->self != NULL ? psprintf("segment %d", g->self->number) : "the criteria"),
					 errhint("Name the segments whose customers are meant, or use \"not\" of in_segment on them.")));
	}
	if (g->self != NULL)
	{
		StringInfoData path;

		g->self->refs = refs;
		g->self->nrefs = nrefs;
		for (int i = 0; i < g->n; i++)
			g->nodes[i].state = 0;
		g->self->state = 0;
		initStringInfo(&path);
		appendStringInfo(&path, "segment %d", g->self->number);
		if (find_ref_cycle(g, g->self, &path))
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("in_segment criteria of %s would make a cycle", self_label),
					 errdetail("The segments refer to each other in a cycle: %s.", path.data),
					 errhint("Remove an in_segment criterion of the cycle: a segment cannot depend on its own members.")));
	}
	return resolved;
}

/*
 * check_criteria_refs applies the in_segment rules to a segment row being
 * inserted or updated (its number already assigned) when its criteria name
 * segments: it locks the company row (so that two transactions that each
 * add one reference of a cycle are serialized, and a segment being deleted
 * is seen), reads the company's segments with a snapshot taken after the
 * lock, and stores the criteria with ids in place of numbers.
 */
static HeapTuple
check_criteria_refs(Relation rel, HeapTuple tuple)
{
	bool		isnull;
	Datum		criteria = column_value(rel, tuple, "criteria", &isnull);
	SegextCriteria *c;
	SegextCriteria *resolved;
	int			nrefs;
	RulesSpi	spi;
	RefGraph	g;
	RefNode		self;
	Datum		company;
	Datum		id;
	MemoryContext cxt = CurrentMemoryContext;

	if (isnull)
		return tuple;
	c = (SegextCriteria *) PG_DETOAST_DATUM(criteria);
	if (segext_criteria_segment_refs(c, &nrefs) == NULL)
		return tuple;
	company = column_value(rel, tuple, "company_id", &isnull);
	if (isnull)
		return tuple;			/* the NOT NULL constraint reports it */
	memset(&g, 0, sizeof(g));
	memset(&self, 0, sizeof(self));
	id = column_value(rel, tuple, "id", &isnull);
	if (isnull)
		return tuple;			/* the NOT NULL constraint reports it */
	memcpy(&self.id, DatumGetPointer(id), SEGEXT_OBJECTID_LEN);
	self.number = DatumGetInt32(column_value(rel, tuple, "number", &isnull));
	self.name = column_text(rel, tuple, "name");
	rules_spi_begin(&spi, rel->rd_rel->relowner);
	if (!lock_company(company, NULL, NULL, &g.company_name))
	{
		rules_spi_end(&spi);
		return tuple;			/* no company: its foreign key reports it */
	}
	g.company_name = MemoryContextStrdup(cxt, g.company_name);
	read_ref_graph(company, true, cxt, &g);
	rules_spi_end(&spi);
	/* the saved row stands for its stored version, if any */
	for (int i = 0; i < g.n; i++)
		if (segext_objectid_equal(&g.nodes[i].id, &self.id))
			g.nodes[i].number = -1;
	g.self = &self;
	resolved = check_segment_refs(&g, c);
	if (resolved == c)
		return tuple;
	return set_column(rel, tuple, "criteria", PointerGetDatum(resolved));
}

/*
 * segext_resolve_segment_refs checks and resolves the in_segment criteria
 * of criteria that are not saved (a preview) against the segments of a
 * company, as saving them into a new segment would (without the cycle,
 * which needs a segment): returns the criteria naming ids only.
 */
SegextCriteria *
segext_resolve_segment_refs(const SegextObjectId *company, SegextCriteria *criteria)
{
	RulesSpi	spi;
	RefGraph	g;
	int			nrefs;
	MemoryContext cxt = CurrentMemoryContext;
	Datum		args[1];
	bool		isnull;

	if (segext_criteria_segment_refs(criteria, &nrefs) == NULL)
		return criteria;
	memset(&g, 0, sizeof(g));
	rules_spi_begin(&spi, segext_table_owner("segments"));
	args[0] = PointerGetDatum(company);
	rules_exec(RQ_COMPANY_NAME, args, false);
	g.company_name = SPI_processed > 0 ?
		MemoryContextStrdup(cxt, TextDatumGetCString(rules_result(1, &isnull))) : "";
	read_ref_graph(args[0], false, cxt, &g);
	rules_spi_end(&spi);
	return check_segment_refs(&g, criteria);
}

/*
 * segments_before_insert refuses built-in numbers outside company creation,
 * enforces max_segments and assigns the next free number when none is given.
 * A row whose key already exists is left to the update that INSERT ... ON
 * CONFLICT DO UPDATE turns it into (a plain INSERT fails on the key): it
 * only gets the existing number when it has none, as NOT NULL is checked
 * before the conflict is.
 */
static HeapTuple
segments_before_insert(Relation rel, HeapTuple tuple)
{
	bool		isnull,
				number_null;
	Datum		company = column_value(rel, tuple, "company_id", &isnull);
	Datum		number = column_value(rel, tuple, "number", &number_null);
	char	   *name = column_text(rel, tuple, "name");
	int32		assigned = -1;
	int32		max_segments;
	int32		count;
	char	   *company_name;
	Datum		args[2];
	RulesSpi	spi;

	if (isnull)
		return tuple;			/* the NOT NULL constraint reports it */
	if (!number_null && creating_builtins_of(company) &&
		(DatumGetInt32(number) == SEGMENT_ALL || DatumGetInt32(number) == SEGMENT_DEFAULT))
		return tuple;
	check_company_of_new_row(rel, company);

	rules_spi_begin(&spi, rel->rd_rel->relowner);
	args[0] = company;
	args[1] = column_value(rel, tuple, "id", &isnull);
	if (!isnull)
	{
		rules_exec(RQ_SEGMENT_BY_ID, args, true);
		if (SPI_processed > 0)
		{
			assigned = number_null ? DatumGetInt32(rules_result(1, &isnull)) : -1;
			rules_spi_end(&spi);
			return assigned >= 0 ? set_column(rel, tuple, "number", Int32GetDatum(assigned)) : tuple;
		}
	}
	check_segment_fields(rel, tuple);
	if (!number_null)
		check_segment_number(DatumGetInt32(number), name);
	if (!lock_company(company, &max_segments, NULL, &company_name))
		refuse_unknown_company(company, "segment");
	{
		rules_exec(RQ_COUNT_USER_SEGMENTS, &company, true);
		count = DatumGetInt32(rules_result(1, &isnull));
		if (count >= max_segments)
			ereport(ERROR,
					(errcode(ERRCODE_SEGEXT_FORBIDDEN),
					 errmsg("company \"%s\" already has its maximum of %d segments",
							company_name, max_segments),
					 errdetail("Company \"%s\" has %d user segments and its max_segments is %d, so segment \"%s\" cannot be created.",
							   company_name, count, max_segments, name ? name : ""),
					 errhint("Delete a segment of company \"%s\" first, or have an administrator raise its max_segments.",
							 company_name)));
		if (number_null)
		{
			rules_exec(RQ_NEXT_SEGMENT_NUMBER, &company, true);
			assigned = DatumGetInt32(rules_result(1, &isnull));
			if (assigned > SEGMENT_NUMBER_MAX)
			{
				rules_exec(RQ_FREE_SEGMENT_NUMBER, &company, true);
				if (SPI_processed == 0)
					elog(ERROR, "no free segment number left");
				assigned = DatumGetInt32(rules_result(1, &isnull));
			}
		}
	}
	rules_spi_end(&spi);
	if (assigned >= 0)
		tuple = set_column(rel, tuple, "number", Int32GetDatum(assigned));
	return check_criteria_refs(rel, tuple);
}

/*
 * segments_before_update refuses changes to built-ins (except the count
 * segext maintains) and invalid values.
 */
static HeapTuple
segments_before_update(Relation rel, HeapTuple oldtuple, HeapTuple newtuple)
{
	bool		isnull;
	int32		old_number = DatumGetInt32(column_value(rel, oldtuple, "number", &isnull));
	Datum		new_number;

	if (old_number == SEGMENT_ALL || old_number == SEGMENT_DEFAULT)
	{
		const char *column = first_changed_column(rel, oldtuple, newtuple);

		if (column != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_SEGEXT_FORBIDDEN),
					 errmsg("built-in segment %d \"%s\" cannot be updated", old_number,
							column_text(rel, oldtuple, "name")),
					 errdetail("Column \"%s\" of built-in segment %d \"%s\" cannot change: segments 0 \"All\" and 1 \"Default\" are maintained by segext and always have position 0.",
							   column, old_number, column_text(rel, oldtuple, "name")),
					 errhint("Update user segments only (numbers %d to %d).",
							 SEGMENT_NUMBER_MIN, SEGMENT_NUMBER_MAX)));
		return newtuple;
	}
	new_number = column_value(rel, newtuple, "number", &isnull);
	if (!isnull && column_changed(rel, oldtuple, newtuple, "number"))
		check_segment_number(DatumGetInt32(new_number),
							 column_text(rel, oldtuple, "name"));
	check_segment_fields(rel, newtuple);
	if (column_changed(rel, oldtuple, newtuple, "criteria"))
		newtuple = check_criteria_refs(rel, newtuple);
	segext_remember_row_keys(rel, newtuple, segment_keys, lengthof(segment_keys));
	return newtuple;
}

/*
 * check_not_named refuses (23503) to delete a segment that in_segment
 * criteria of other segments of its company name, listing them; the caller
 * holds the company row lock and is connected to SPI.
 */
static void
check_not_named(Datum company, Datum id, int32 number, const char *name,
				const char *company_name, MemoryContext cxt)
{
	RefGraph	g;
	StringInfoData users;
	int			nusers = 0;
	const char *first = NULL;

	memset(&g, 0, sizeof(g));
	read_ref_graph(company, true, cxt, &g);
	initStringInfo(&users);
	for (int i = 0; i < g.n; i++)
	{
		if (objectid_equal(PointerGetDatum(&g.nodes[i].id), id))
			continue;
		for (int k = 0; k < g.nodes[i].nrefs; k++)
		{
			if (!objectid_equal(PointerGetDatum(&g.nodes[i].refs[k].id), id))
				continue;
			if (nusers++ > 0)
				appendStringInfoString(&users, ", ");
			else
				first = g.nodes[i].name;
			appendStringInfoString(&users, ref_label(&g.nodes[i]));
			break;
		}
	}
	if (nusers > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("segment \"%s\" is still named by the in_segment criteria of segment \"%s\"",
						name, first),
				 errdetail("Segment %d \"%s\" of company \"%s\" is named by the in_segment criteria of %d segment(s): %s.",
						   number, name, company_name, nusers, users.data),
				 errhint("Remove the in_segment criteria naming segment %d from those segments (or delete them first), then delete it.",
						 number)));
}

/*
 * segments_before_delete refuses to delete a built-in, a segment still in a
 * channel mix and the company's last user segment, unless the company itself
 * is being deleted.
 */
static void
segments_before_delete(Relation rel, HeapTuple tuple)
{
	bool		isnull;
	Datum		company = column_value(rel, tuple, "company_id", &isnull);
	Datum		id = column_value(rel, tuple, "id", &isnull);
	int32		number = DatumGetInt32(column_value(rel, tuple, "number", &isnull));
	char	   *name = column_text(rel, tuple, "name");
	char	   *company_name;
	Datum		args[2];
	RulesSpi	spi;

	rules_spi_begin(&spi, rel->rd_rel->relowner);
	if (!lock_company(company, NULL, NULL, &company_name))
	{
		rules_spi_end(&spi);
		return;
	}
	if (number == SEGMENT_ALL || number == SEGMENT_DEFAULT)
		ereport(ERROR,
				(errcode(ERRCODE_SEGEXT_FORBIDDEN),
				 errmsg("built-in segment %d \"%s\" cannot be deleted", number, name),
				 errdetail("Segments 0 \"All\" and 1 \"Default\" exist as long as company \"%s\" does.",
						   company_name),
				 errhint("Delete user segments only (numbers %d to %d).",
						 SEGMENT_NUMBER_MIN, SEGMENT_NUMBER_MAX)));
	args[0] = company;
	args[1] = id;
	rules_exec(RQ_SEGMENT_IN_MIX, args, true);
	if (SPI_processed > 0)
	{
		char	   *channel = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		int32		channels = DatumGetInt32(rules_result(2, &isnull));

		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("segment \"%s\" is still used by the segment mix of channel \"%s\"",
						name, channel),
				 errdetail("Segment %d \"%s\" has a share in the segment mix of %d channel(s) of company \"%s\", among them \"%s\".",
						   number, name, channels, company_name, channel),
				 errhint("Remove segment \"%s\" from the mix of channel \"%s\", giving its share to other segments, then delete it.",
						 name, channel)));
	}
	check_not_named(company, id, number, name, company_name, CurrentMemoryContext);
	rules_exec(RQ_COUNT_USER_SEGMENTS, &company, true);
	if (DatumGetInt32(rules_result(1, &isnull)) <= 1)
		ereport(ERROR,
				(errcode(ERRCODE_SEGEXT_FORBIDDEN),
				 errmsg("cannot delete the last segment of company \"%s\"", company_name),
				 errdetail("Segment %d \"%s\" is the only user segment of company \"%s\", and a company keeps at least one.",
						   number, name, company_name),
				 errhint("Create another segment first, or update this one instead of deleting it.")));
	rules_spi_end(&spi);
}

PG_FUNCTION_INFO_V1(segext_segments_rules);

/*
 * segext_segments_rules is the BEFORE INSERT OR UPDATE OR DELETE row trigger
 * of segext.segments; the columns segext maintains get its values first.
 */
Datum
segext_segments_rules(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = rules_trigger_data(fcinfo, "segments_rules",
											   SEGEXT_TRIGGER_BEFORE | SEGEXT_TRIGGER_ROW | SEGEXT_TRIGGER_INSERT | SEGEXT_TRIGGER_UPDATE | SEGEXT_TRIGGER_DELETE);
	Relation	rel = trigdata->tg_relation;
	HeapTuple	tuple;

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		tuple = segext_keep_maintained(rel, NULL, trigdata->tg_trigtuple, "segment");
		tuple = segments_before_insert(rel, tuple);
		segext_remember_row_keys(rel, tuple, segment_keys, lengthof(segment_keys));
		return PointerGetDatum(tuple);
	}
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		tuple = segext_keep_maintained(rel, trigdata->tg_trigtuple,
									   trigdata->tg_newtuple, "segment");
		return PointerGetDatum(segments_before_update(rel, trigdata->tg_trigtuple, tuple));
	}
	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		segments_before_delete(rel, trigdata->tg_trigtuple);
		return PointerGetDatum(trigdata->tg_trigtuple);
	}
	elog(ERROR, "segments_rules fired for an event it does not handle");
	return (Datum) 0;
}

/* check_group_fields validates the name and status of a segment group. */
static void
check_group_fields(Relation rel, HeapTuple tuple)
{
	bool		isnull;
	Datum		status;

	check_name("segment group", "name", column_text(rel, tuple, "name"));
	status = column_value(rel, tuple, "status", &isnull);
	if (!isnull && DatumGetInt32(status) != 200 && DatumGetInt32(status) != 410)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid status %d for segment group \"%s\"",
						DatumGetInt32(status), column_text(rel, tuple, "name")),
				 errdetail("The status of a segment group is 200 (active) or 410 (deleted)."),
				 errhint("Set the status of segment group \"%s\" to 200 or 410.",
						 column_text(rel, tuple, "name"))));
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
	Datum		company = column_value(rel, tuple, "company_id", &isnull);
	Datum		id = column_value(rel, tuple, "id", &id_null);
	int32		assigned = -1;
	RulesSpi	spi;

	if (isnull)
		return tuple;
	if (!id_null && DatumGetInt32(id) == 0 && creating_builtins_of(company))
		return tuple;
	check_company_of_new_row(rel, company);
	check_group_fields(rel, tuple);
	if (!id_null)
	{
		check_group_id(DatumGetInt32(id), column_text(rel, tuple, "name"));
		return tuple;
	}
	rules_spi_begin(&spi, rel->rd_rel->relowner);
	if (!lock_company(company, NULL, NULL, NULL))
		refuse_unknown_company(company, "segment group");
	{
		rules_exec(RQ_NEXT_GROUP_ID, &company, true);
		assigned = DatumGetInt32(rules_result(1, &isnull));
		if (assigned > GROUP_ID_MAX)
		{
			rules_exec(RQ_FREE_GROUP_ID, &company, true);
			if (SPI_processed == 0)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("company has no free segment group id left"),
						 errdetail("Segment group ids 1 to %d are all taken.", GROUP_ID_MAX),
						 errhint("Delete unused segment groups first.")));
			assigned = DatumGetInt32(rules_result(1, &isnull));
		}
	}
	rules_spi_end(&spi);
	if (assigned >= 0)
		tuple = set_column(rel, tuple, "id", Int32GetDatum(assigned));
	return tuple;
}

/* groups_before_update refuses changes to group 0 and invalid values. */
static HeapTuple
groups_before_update(Relation rel, HeapTuple oldtuple, HeapTuple newtuple)
{
	bool		isnull;
	int32		old_id = DatumGetInt32(column_value(rel, oldtuple, "id", &isnull));

	if (old_id == 0)
	{
		const char *column = first_changed_column(rel, oldtuple, newtuple);

		if (column != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_SEGEXT_FORBIDDEN),
					 errmsg("built-in segment group 0 \"%s\" cannot be updated",
							column_text(rel, oldtuple, "name")),
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
	Datum		company = column_value(rel, tuple, "company_id", &isnull);
	Datum		id = column_value(rel, tuple, "id", &isnull);
	char	   *name = column_text(rel, tuple, "name");
	char	   *company_name;
	Datum		args[2];
	int32		count;
	RulesSpi	spi;

	rules_spi_begin(&spi, rel->rd_rel->relowner);
	if (!lock_company(company, NULL, NULL, &company_name))
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
	rules_exec(RQ_GROUP_SEGMENTS, args, true);
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

PG_FUNCTION_INFO_V1(segext_segment_groups_rules);

/*
 * segext_segment_groups_rules is the BEFORE INSERT OR UPDATE OR DELETE row
 * trigger of segext.segment_groups; the columns segext maintains get its
 * values first.
 */
Datum
segext_segment_groups_rules(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = rules_trigger_data(fcinfo, "segment_groups_rules",
											   SEGEXT_TRIGGER_BEFORE | SEGEXT_TRIGGER_ROW | SEGEXT_TRIGGER_INSERT | SEGEXT_TRIGGER_UPDATE | SEGEXT_TRIGGER_DELETE);
	Relation	rel = trigdata->tg_relation;

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		return PointerGetDatum(groups_before_insert(rel,
													segext_keep_maintained(rel, NULL, trigdata->tg_trigtuple,
																		   "segment group")));
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		return PointerGetDatum(groups_before_update(rel, trigdata->tg_trigtuple,
													segext_keep_maintained(rel, trigdata->tg_trigtuple,
																		   trigdata->tg_newtuple,
																		   "segment group")));
	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		groups_before_delete(rel, trigdata->tg_trigtuple);
		return PointerGetDatum(trigdata->tg_trigtuple);
	}
	elog(ERROR, "segment_groups_rules fired for an event it does not handle");
	return (Datum) 0;
}

/*
 * check_mix_shape refuses a segment mix that is not an array of objects with
 * exactly a "segment_id" string and a "distribution" number (22023); runs
 * inside rules_spi_begin.
 */
static void
check_mix_shape(Datum mix, const char *channel)
{
	bool		isnull;
	char	   *type;

	rules_exec(RQ_MIX_TYPE, &mix, false);
	type = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (type == NULL || strcmp(type, "array") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"segment_mix\": not a JSON array"),
				 errdetail("The segment mix of channel \"%s\" is an array of objects with \"segment_id\" and \"distribution\", not a JSON %s.",
						   channel, type ? type : "null"),
				 errhint("Send for example [{\"segment_id\": \"...\", \"distribution\": 1}].")));
	rules_exec(RQ_MIX_BAD_ELEMENT, &mix, false);
	if (SPI_processed > 0)
	{
		int32		index = DatumGetInt32(rules_result(1, &isnull));
		char	   *problem = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		char	   *segment = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);

		/* no problem named: the segment id is not 24 hexadecimal digits */
		if (problem == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid segment id \"%s\" in the segment mix of channel \"%s\"",
							segment, channel),
					 errdetail("Element %d of the segment mix of channel \"%s\" has a \"segment_id\" that is not 24 hexadecimal digits.",
							   index, channel),
					 errhint("Give each element of the mix the ObjectId of a segment of the company, for example \"65a1f0c2e4b0a1b2c3d4e5f6\".")));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"segment_mix\": element %d %s", index, problem),
				 errdetail("Element %d of the segment mix of channel \"%s\" %s; each element is an object with exactly \"segment_id\" (the ObjectId of a segment, as a string) and \"distribution\" (a number).",
						   index, channel, problem),
				 errhint("Send for example [{\"segment_id\": \"...\", \"distribution\": 1}].")));
	}
}

/*
 * prepare_channel_mix gives the segment_mix of a channel row being written
 * its stored value: NULL keeps the old mix (an empty one on insert, the
 * default mix following at commit); a mix equal to the old one keeps the
 * old value; any other is checked and stored canonical, and the
 * channels_mix_write trigger then replaces the rows with it.  oldtuple is
 * NULL on insert.
 */
static HeapTuple
prepare_channel_mix(Relation rel, HeapTuple oldtuple, HeapTuple tuple)
{
	bool		isnull;
	bool		oldnull = true;
	Datum		mix = column_value(rel, tuple, "segment_mix", &isnull);
	Datum		oldmix = (Datum) 0;
	Datum		canonical;
	char	   *name = column_text(rel, tuple, "name");
	RulesSpi	spi;

	if (syncing_mix)
		return tuple;
	if (oldtuple != NULL)
		oldmix = column_value(rel, oldtuple, "segment_mix", &oldnull);
	if (isnull)
		return set_column(rel, tuple, "segment_mix",
						  !oldnull ? oldmix : DirectFunctionCall1(jsonb_in, CStringGetDatum("[]")));
	if (!oldnull && datum_image_eq(mix, oldmix, false, -1))
		return tuple;
	rules_spi_begin(&spi, rel->rd_rel->relowner);
	check_mix_shape(mix, name ? name : "");
	rules_exec(RQ_MIX_CANONICAL, &mix, false);
	canonical = SPI_datumTransfer(rules_result(1, &isnull), false, -1);
	rules_spi_end(&spi);
	if (!oldnull && DatumGetBool(DirectFunctionCall2(jsonb_eq, canonical, oldmix)))
		canonical = oldmix;
	return set_column(rel, tuple, "segment_mix", canonical);
}

/*
 * channels_before_insert validates a channel, enforces max_channels and
 * prepares its segment mix.  A row whose key already exists is left to the
 * update that INSERT ... ON CONFLICT DO UPDATE turns it into (a plain INSERT
 * fails on the key): a NULL mix only gets the stored one, as NOT NULL is
 * checked before the conflict is.
 */
static HeapTuple
channels_before_insert(Relation rel, HeapTuple tuple)
{
	bool		isnull;
	Datum		company = column_value(rel, tuple, "company_id", &isnull);
	char	   *name = column_text(rel, tuple, "name");
	char	   *company_name;
	int32		max_channels;
	int32		count;
	Datum		args[2];
	RulesSpi	spi;

	if (isnull)
		return tuple;			/* the NOT NULL constraint reports it */
	check_company_of_new_row(rel, company);
	rules_spi_begin(&spi, rel->rd_rel->relowner);
	args[0] = company;
	args[1] = column_value(rel, tuple, "id", &isnull);
	if (!isnull)
	{
		rules_exec(RQ_MIX_STORED, args, true);
		if (SPI_processed > 0)
		{
			Datum		stored = SPI_datumTransfer(rules_result(1, &isnull), false, -1);

			rules_spi_end(&spi);
			(void) column_value(rel, tuple, "segment_mix", &isnull);
			return isnull ? set_column(rel, tuple, "segment_mix", stored) : tuple;
		}
	}
	check_name("channel", "name", name);
	check_commission(rel, tuple);
	args[1] = column_value(rel, tuple, "segment_mix", &isnull);
	if (!isnull)
		rules_exec(RQ_LOCK_MIX_SEGMENTS, args, false);
	if (!lock_company(company, NULL, &max_channels, &company_name))
		refuse_unknown_company(company, "channel");
	{
		rules_exec(RQ_COUNT_CHANNELS, &company, true);
		count = DatumGetInt32(rules_result(1, &isnull));
		if (count >= max_channels)
			ereport(ERROR,
					(errcode(ERRCODE_SEGEXT_FORBIDDEN),
					 errmsg("company \"%s\" already has its maximum of %d channels",
							company_name, max_channels),
					 errdetail("Company \"%s\" has %d channels and its max_channels is %d, so channel \"%s\" cannot be created.",
							   company_name, count, max_channels, name ? name : ""),
					 errhint("Delete a channel of company \"%s\" first, or have an administrator raise its max_channels.",
							 company_name)));
	}
	rules_spi_end(&spi);
	return prepare_channel_mix(rel, NULL, tuple);
}

/*
 * channels_before_delete refuses to delete the company's last channel, unless
 * the company itself is being deleted.
 */
static void
channels_before_delete(Relation rel, HeapTuple tuple)
{
	bool		isnull;
	Datum		company = column_value(rel, tuple, "company_id", &isnull);
	char	   *name = column_text(rel, tuple, "name");
	char	   *company_name;
	RulesSpi	spi;

	rules_spi_begin(&spi, rel->rd_rel->relowner);
	if (lock_company(company, NULL, NULL, &company_name))
	{
		rules_exec(RQ_COUNT_CHANNELS, &company, true);
		if (DatumGetInt32(rules_result(1, &isnull)) <= 1)
			ereport(ERROR,
					(errcode(ERRCODE_SEGEXT_FORBIDDEN),
					 errmsg("cannot delete the last channel of company \"%s\"", company_name),
					 errdetail("Channel \"%s\" is the only channel of company \"%s\", and a company keeps at least one.",
							   name, company_name),
					 errhint("Create another channel first, or update this one instead of deleting it.")));
	}
	rules_spi_end(&spi);
}

PG_FUNCTION_INFO_V1(segext_channels_rules);

/*
 * segext_channels_rules is the BEFORE INSERT OR UPDATE OR DELETE row trigger
 * of segext.channels; the columns segext maintains get its values first.
 */
Datum
segext_channels_rules(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = rules_trigger_data(fcinfo, "channels_rules",
											   SEGEXT_TRIGGER_BEFORE | SEGEXT_TRIGGER_ROW | SEGEXT_TRIGGER_INSERT | SEGEXT_TRIGGER_UPDATE | SEGEXT_TRIGGER_DELETE);
	Relation	rel = trigdata->tg_relation;
	HeapTuple	tuple;

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		tuple = segext_keep_maintained(rel, NULL, trigdata->tg_trigtuple, "channel");
		tuple = channels_before_insert(rel, tuple);
		segext_remember_row_keys(rel, tuple, channel_keys, lengthof(channel_keys));
		return PointerGetDatum(tuple);
	}
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		tuple = segext_keep_maintained(rel, trigdata->tg_trigtuple,
									   trigdata->tg_newtuple, "channel");
		check_name("channel", "name", column_text(rel, tuple, "name"));
		check_commission(rel, tuple);
		segext_remember_row_keys(rel, tuple, channel_keys, lengthof(channel_keys));
		return PointerGetDatum(prepare_channel_mix(rel, trigdata->tg_trigtuple, tuple));
	}
	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		channels_before_delete(rel, trigdata->tg_trigtuple);
		return PointerGetDatum(trigdata->tg_trigtuple);
	}
	elog(ERROR, "channels_rules fired for an event it does not handle");
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(segext_channel_segments_rules);

/*
 * segext_channel_segments_rules is the BEFORE INSERT OR UPDATE row trigger
 * of segext.channel_segments: a distribution is greater than 0 and at most
 * 1, and segment 0 "All" takes no share.
 */
Datum
segext_channel_segments_rules(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = rules_trigger_data(fcinfo, "channel_segments_rules",
											   SEGEXT_TRIGGER_BEFORE | SEGEXT_TRIGGER_ROW | SEGEXT_TRIGGER_INSERT | SEGEXT_TRIGGER_UPDATE);
	Relation	rel = trigdata->tg_relation;
	HeapTuple	tuple;
	bool		isnull;
	Datum		args[2];
	Datum		distribution;
	RulesSpi	spi;

	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;

	args[0] = column_value(rel, tuple, "company_id", &isnull);
	if (isnull)
		return PointerGetDatum(tuple);
	check_company_of_new_row(rel, args[0]);
	distribution = column_value(rel, tuple, "distribution", &isnull);
	if (!isnull &&
		(numeric_is_special(distribution) ||
		 DatumGetBool(DirectFunctionCall2(numeric_le, distribution, numeric_const("0"))) ||
		 DatumGetBool(DirectFunctionCall2(numeric_gt, distribution, numeric_const("1")))))
	{
		char	   *channel = NULL;

		args[1] = column_value(rel, tuple, "channel_id", &isnull);
		if (!isnull)
		{
			rules_spi_begin(&spi, rel->rd_rel->relowner);
			rules_exec(RQ_CHANNEL_NAME, args, false);
			if (SPI_processed > 0)
				channel = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid distribution %s in the segment mix of channel \"%s\"",
						DatumGetCString(DirectFunctionCall1(numeric_out, distribution)),
						channel ? channel : ""),
				 errdetail("A distribution is the share of the channel's customers forecast for one segment: greater than 0 and at most 1 (0.4 = 40%%)."),
				 errhint("Give each segment in the mix of channel \"%s\" a share between 0 and 1, so that the shares add up to 1.",
						 channel ? channel : "")));
	}
	args[1] = column_value(rel, tuple, "segment_id", &isnull);
	if (isnull)
		return PointerGetDatum(tuple);
	rules_spi_begin(&spi, rel->rd_rel->relowner);
	rules_exec(RQ_SEGMENT_BY_ID, args, false);
	if (SPI_processed > 0 && DatumGetInt32(rules_result(1, &isnull)) == SEGMENT_ALL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment 0 \"All\" cannot be in a channel segment mix"),
				 errdetail("Segment 0 \"All\" contains every customer, so a share of a channel's customers cannot be forecast for it."),
				 errhint("Forecast the share for a user segment, or for segment 1 \"Default\".")));
	rules_spi_end(&spi);
	return PointerGetDatum(tuple);
}

/*
 * check_channel_mix locks a channel row and checks that its mix sums to 1;
 * an existing channel without mix rows gets the default mix (100% on the
 * first user segment by position then number, else on Default).
 */
static void
check_channel_mix(Datum company, Datum channel)
{
	Datum		args[2];
	bool		isnull;
	char	   *name;
	int32		rows;

	args[0] = company;
	args[1] = channel;
	rules_exec(RQ_LOCK_CHANNEL, args, false);
	if (SPI_processed == 0)
		return;					/* deleted: its mix went with it */
	name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	rules_exec(RQ_MIX_SUM, args, true);
	rows = DatumGetInt32(rules_result(1, &isnull));
	if (rows == 0)
	{
		rules_exec(RQ_MIX_DEFAULT, args, false);
		return;
	}
	if (!DatumGetBool(rules_result(3, &isnull)))
	{
		char	   *sum = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("segment mix of channel \"%s\" sums to %s, not 1", name, sum),
				 errdetail("The %d distribution(s) of channel \"%s\" add up to %s; a channel's segment mix must add up to exactly 1 (100%%) when the transaction commits.",
						   rows, name, sum),
				 errhint("Change the distributions of channel \"%s\" in one transaction so that they sum to 1, or delete all of its mix rows to get the default mix.",
						 name)));
	}
}

PG_FUNCTION_INFO_V1(segext_channel_mix_check);

/*
 * segext_channel_mix_check is the deferred constraint trigger (AFTER INSERT
 * on channels, AFTER INSERT OR UPDATE OR DELETE on channel_segments) that
 * checks at commit that each affected channel's mix sums to exactly 1.
 */
Datum
segext_channel_mix_check(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = rules_trigger_data(fcinfo, "channel_mix_check",
											   SEGEXT_TRIGGER_AFTER | SEGEXT_TRIGGER_ROW);
	Relation	rel = trigdata->tg_relation;
	bool		is_mix = SPI_fnumber(RelationGetDescr(rel), "channel_id") > 0;
	const char *channel_column = is_mix ? "channel_id" : "id";
	bool		isnull;
	Datum		company = column_value(rel, trigdata->tg_trigtuple, "company_id", &isnull);
	Datum		channel = column_value(rel, trigdata->tg_trigtuple, channel_column, &isnull);
	RulesSpi	spi;

	rules_spi_begin(&spi, rel->rd_rel->relowner);
	check_channel_mix(company, channel);
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		Datum		new_company = column_value(rel, trigdata->tg_newtuple, "company_id", &isnull);
		Datum		new_channel = column_value(rel, trigdata->tg_newtuple, channel_column, &isnull);

		if (!objectid_equal(company, new_company) || !objectid_equal(channel, new_channel))
			check_channel_mix(new_company, new_channel);
	}
	rules_spi_end(&spi);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(segext_channel_mix_write);

/*
 * segext_channel_mix_write is the AFTER INSERT OR UPDATE OF segment_mix row
 * trigger of segext.channels: a segment_mix the user wrote (already checked
 * and canonical) replaces the channel's rows of segext.channel_segments, as
 * the user, so that their privileges and row level security apply.
 */
Datum
segext_channel_mix_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = rules_trigger_data(fcinfo, "channel_mix_write",
											   SEGEXT_TRIGGER_AFTER | SEGEXT_TRIGGER_ROW);
	Relation	rel = trigdata->tg_relation;
	HeapTuple	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;
	bool		isnull;
	Datum		args[3];
	RulesSpi	spi;

	if (syncing_mix)
		return PointerGetDatum(NULL);
	args[2] = column_value(rel, tuple, "segment_mix", &isnull);
	if (isnull)
		return PointerGetDatum(NULL);
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		bool		oldnull;
		Datum		oldmix = column_value(rel, trigdata->tg_trigtuple, "segment_mix", &oldnull);

		if (!oldnull && datum_image_eq(args[2], oldmix, false, -1))
			return PointerGetDatum(NULL);
	}
	else if (JB_ROOT_COUNT(DatumGetJsonbP(args[2])) == 0)
		return PointerGetDatum(NULL);	/* the default mix follows at commit */
	args[0] = column_value(rel, tuple, "company_id", &isnull);
	args[1] = column_value(rel, tuple, "id", &isnull);
	rules_spi_begin(&spi, InvalidOid);
	exec_flagged(&syncing_mix, rules_plan(RQ_MIX_WRITE), rules_queries[RQ_MIX_WRITE].sql,
				 args, false);
	rules_spi_end(&spi);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(segext_channel_mix_sync);

/*
 * segext_channel_mix_sync is the AFTER INSERT, UPDATE and DELETE statement
 * trigger of segext.channel_segments (transition tables mix_new and
 * mix_old): it locks the channels whose rows the statement changed and sets
 * their segment_mix from their rows, read with a snapshot taken after the
 * lock, so that the column ends equal to the rows whatever commits
 * meanwhile.  Channels deleted by the same statement are skipped.
 */
Datum
segext_channel_mix_sync(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	StringInfoData keys;
	StringInfoData sql;
	SPIPlanPtr	plan;
	RulesSpi	spi;

	trigdata = segext_check_trigger_call(fcinfo, "channel_mix_sync",
										 SEGEXT_TRIGGER_AFTER | SEGEXT_TRIGGER_STATEMENT);
	if (syncing_mix)
		return PointerGetDatum(NULL);

	initStringInfo(&keys);
	if (trigdata->tg_newtable != NULL)
		appendStringInfoString(&keys, "SELECT company_id, channel_id FROM mix_new");
	if (trigdata->tg_oldtable != NULL)
		appendStringInfo(&keys, "%sSELECT company_id, channel_id FROM mix_old",
						 keys.len > 0 ? " UNION ALL " : "");
	if (keys.len == 0)
		elog(ERROR, "channel_mix_sync: fired without transition tables");

	rules_spi_begin(&spi, trigdata->tg_relation->rd_rel->relowner);
	if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
		elog(ERROR, "could not register the transition tables");

	/* Lock the channels, in key order, as the check at commit does. */
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT 1 FROM segext.channels c WHERE EXISTS (SELECT FROM (%s) k"
					 " WHERE k.company_id OPERATOR(pg_catalog.=) c.company_id"
					 " AND k.channel_id OPERATOR(pg_catalog.=) c.id)"
					 " ORDER BY c.company_id, c.id FOR NO KEY UPDATE", keys.data);
	if (SPI_execute(sql.data, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not lock the channels of a segment mix");
	if (SPI_processed > 0)
	{
		resetStringInfo(&sql);
		appendStringInfo(&sql, "WITH m AS (SELECT c.company_id, c.id,"
						 " (SELECT " MIX_JSON_OF("s") " FROM segext.channel_segments s"
						 " WHERE s.company_id OPERATOR(pg_catalog.=) c.company_id"
						 " AND s.channel_id OPERATOR(pg_catalog.=) c.id) AS mix"
						 " FROM segext.channels c WHERE EXISTS (SELECT FROM (%s) k"
						 " WHERE k.company_id OPERATOR(pg_catalog.=) c.company_id"
						 " AND k.channel_id OPERATOR(pg_catalog.=) c.id))"
						 " UPDATE segext.channels c SET segment_mix = m.mix FROM m"
						 " WHERE c.company_id OPERATOR(pg_catalog.=) m.company_id"
						 " AND c.id OPERATOR(pg_catalog.=) m.id"
						 " AND c.segment_mix::pg_catalog.text OPERATOR(pg_catalog.<>) m.mix::pg_catalog.text",
						 keys.data);
		plan = SPI_prepare(sql.data, 0, NULL);
		if (plan == NULL)
			elog(ERROR, "could not prepare the segment mix sync: %s",
				 SPI_result_code_string(SPI_result));
		exec_flagged(&syncing_mix, plan, sql.data, NULL, true);
	}
	rules_spi_end(&spi);
	return PointerGetDatum(NULL);
}

/* int32_cmp orders int32 values for qsort. */
static int
int32_cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

PG_FUNCTION_INFO_V1(segext_reorder_segments);

/*
 * segext_reorder_segments sets the position of each listed user segment of a
 * company to its index in the array (0-based); segments not listed keep
 * their position.  Runs with the caller's privileges and row level security.
 */
Datum
segext_reorder_segments(PG_FUNCTION_ARGS)
{
	Datum		company = PG_GETARG_DATUM(0);
	ArrayType  *numbers = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *elems;
	bool	   *nulls;
	int			count;
	int			i;
	int32	   *sorted;
	char		company_hex[SEGEXT_OBJECTID_HEX_LEN + 1];
	Datum		args[2];
	RulesSpi	spi;

	segext_objectid_to_hex((SegextObjectId *) DatumGetPointer(company), company_hex);
	if (ARR_NDIM(numbers) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment order must be a one-dimensional array"),
				 errdetail("An array of %d dimensions was given.", ARR_NDIM(numbers)),
				 errhint("Pass the segment numbers in their new order, for example ARRAY[5, 3, 4].")));
	deconstruct_array(numbers, INT4OID, sizeof(int32), true, TYPALIGN_INT,
					  &elems, &nulls, &count);
	if (count > POSITION_MAX + 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment order lists %d segments", count),
				 errdetail("Positions go from 0 to %d, so at most %d segments can be ordered.",
						   POSITION_MAX, POSITION_MAX + 1),
				 errhint("List each user segment of the company at most once.")));
	sorted = (int32 *) palloc(sizeof(int32) * (count + 1));
	for (i = 0; i < count; i++)
	{
		int32		number;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("segment order contains a null at index %d", i),
					 errdetail("Every element of the segment order must be a segment number."),
					 errhint("Remove the null from the array.")));
		number = DatumGetInt32(elems[i]);
		if (number == SEGMENT_ALL || number == SEGMENT_DEFAULT)
			ereport(ERROR,
					(errcode(ERRCODE_SEGEXT_FORBIDDEN),
					 errmsg("built-in segment %d \"%s\" cannot be reordered", number,
							number == SEGMENT_ALL ? "All" : "Default"),
					 errdetail("Segments 0 \"All\" and 1 \"Default\" always have position 0; the segment order lists segment %d at index %d.",
							   number, i),
					 errhint("Remove 0 and 1 from the segment order and list user segments only.")));
		if (number < SEGMENT_NUMBER_MIN || number > SEGMENT_NUMBER_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("segment number %d is out of range", number),
					 errdetail("User segments are numbered from %d to %d; the segment order lists %d at index %d.",
							   SEGMENT_NUMBER_MIN, SEGMENT_NUMBER_MAX, number, i),
					 errhint("List user segment numbers only.")));
		sorted[i] = number;
	}
	qsort(sorted, count, sizeof(int32), int32_cmp);
	for (i = 1; i < count; i++)
		if (sorted[i] == sorted[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("segment %d appears more than once in the segment order", sorted[i]),
					 errdetail("A segment has one position, so each number may be listed once."),
					 errhint("Remove the repeated %d from the segment order.", sorted[i])));

	rules_spi_begin(&spi, InvalidOid);
	args[0] = company;
	args[1] = PointerGetDatum(numbers);
	/* the lock order: every segment of the company, then the company */
	segext_lock_company_segments((SegextObjectId *) DatumGetPointer(company));
	rules_exec(RQ_REORDER_LOCK, args, false);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("company \"%s\" does not exist", company_hex),
				 errdetail("No company with id %s is visible to role \"%s\".",
						   company_hex, GetUserNameFromId(GetUserId(), false)),
				 errhint("Pass the id of your current company (segext.current_company_id()).")));
	if (count > 0)
	{
		rules_exec(RQ_REORDER_MISSING, args, false);
		if (SPI_processed > 0)
		{
			bool		isnull;
			int32		missing = DatumGetInt32(rules_result(1, &isnull));

			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("segment %d does not exist", missing),
					 errdetail("Company %s has no segment numbered %d.", company_hex, missing),
					 errhint("List only numbers of existing user segments of the company.")));
		}
		rules_exec(RQ_REORDER_UPDATE, args, false);
	}
	rules_spi_end(&spi);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(segext_add_customers_count);

/*
 * segext_add_customers_count refuses to run: the released 0.1.0 install
 * script declares segext.add_customers_count, whose counts 0.2.0 keeps in
 * segext.segment_member_counts, so a database still on 0.1.0's schema must
 * be updated before its members change.
 */
Datum
segext_add_customers_count(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("extension \"segext\" must be updated before members change"),
			 errdetail("The installed library is segext %s; this database still has the objects of an older version.",
					   SEGEXT_VERSION),
			 errhint("Run ALTER EXTENSION segext UPDATE in this database.")));
	PG_RETURN_NULL();
}
