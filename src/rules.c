/*-------------------------------------------------------------------------
 *
 * rules.c
 *	  What the rules of companies (companies.c), segment groups
 *	  (segment_groups.c), segments (segments.c) and channels (channels.c)
 *	  share: running their kept queries as the table owner, reading and
 *	  setting the columns of a trigger's row, the BEFORE row trigger
 *	  skeleton, the per-company key assignment, the company lock, and the
 *	  refusals and checks every kind of row gives (unknown company, names,
 *	  keys that never change, the company of a new row).
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
 * this one waited, at every isolation level.
 *
 * Locks follow the lock order written at the top of src/segment_locks.c:
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
#include "citus.h"
#include "tenancy.h"
#include "unique_detail.h"
#include "rules.h"
#include "objectid.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "trigger_check.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

/* The company lock every rule that counts a company's rows takes first. */
RulesQuery lock_company_query = {
	"SELECT max_segments, max_channels, name FROM segext.companies"
	" WHERE id OPERATOR(pg_catalog.=) $1 FOR NO KEY UPDATE", 1, {KEPT_ARG_OBJECTID}
};

static void check_key_unchanged(Relation rel, HeapTuple oldtuple,
								HeapTuple newtuple, const char *column,
								const char *what);

/* rules_plan returns the kept plan of a query, preparing it on first use. */
SPIPlanPtr
rules_plan(RulesQuery *query)
{
	return segext_kept_plan(&query->plan, query->sql, query->nargs, query->argtypes, 0);
}

/*
 * rules_exec_plan runs a plan (sql names it in errors); with latest, it reads with
 * a snapshot taken now, which sees every transaction committed before the
 * caller's lock was granted, whatever the isolation level.  Errors a user
 * caused are raised without the CONTEXT line of the plan's statement.
 */
void
rules_exec_plan(SPIPlanPtr plan, const char *sql, Datum *values, bool latest)
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

/* rules_exec runs a saved query (rules_exec_plan). */
void
rules_exec(RulesQuery *query, Datum *values, bool latest)
{
	rules_exec_plan(rules_plan(query), query->sql, values, latest);
}

/*
 * rules_exec_flagged runs a plan (rules_exec_plan) with *flag set, so that the rules it
 * fires know segext is the writer, clearing it again whatever happens.
 */
void
rules_exec_flagged(bool *flag, SPIPlanPtr plan, const char *sql, Datum *values, bool latest)
{
	*flag = true;
	PG_TRY();
	{
		rules_exec_plan(plan, sql, values, latest);
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
void
rules_spi_begin(RulesSpi *spi, Oid owner)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	segext_switch_role(spi, owner);
}

/* rules_spi_end restores the role and search_path and leaves SPI. */
void
rules_spi_end(RulesSpi *spi)
{
	segext_restore_role(spi);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/* rules_result returns column col (from 1) of the first result row. */
Datum
rules_result(int col, bool *isnull)
{
	if (SPI_processed < 1)
		elog(ERROR, "segext rule query returned no row");
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, isnull);
}

/*
 * rules_assign_key returns the key to give a company's new row (the caller
 * holds the company lock): the highest plus one, else the lowest free one;
 * -1 when every key up to the assigner's max is taken.
 */
int32
rules_assign_key(RulesKeyAssigner *assigner, Datum company)
{
	bool		isnull;
	int32		assigned;

	rules_exec(&assigner->next, &company, true);
	assigned = DatumGetInt32(rules_result(1, &isnull));
	if (assigned <= assigner->max)
		return assigned;
	rules_exec(&assigner->lowest_free, &company, true);
	if (SPI_processed == 0)
		return -1;
	return DatumGetInt32(rules_result(1, &isnull));
}

/*
 * rules_trigger_data checks that a rule function was fired as required
 * (segext_check_trigger_call) and returns its trigger data.
 */
TriggerData *
rules_trigger_data(FunctionCallInfo fcinfo, const char *name, int required)
{
	TriggerData *trigdata = segext_check_trigger_call(fcinfo, name, required);

	/* a deferred trigger on a Citus shard plans against its shard group */
	segext_citus_trigger_group(trigdata->tg_relation);
	return trigdata;
}

/*
 * rules_row_trigger runs the BEFORE INSERT OR UPDATE OR DELETE row trigger
 * of one kind of row: the columns segext maintains get its values first,
 * then the step of the event runs; an inserted row's keys are remembered
 * for the DETAIL of a unique violation.
 */
Datum
rules_row_trigger(FunctionCallInfo fcinfo, const RulesRowTrigger *trigger)
{
	TriggerData *trigdata = rules_trigger_data(fcinfo, trigger->name,
											   SEGEXT_TRIGGER_BEFORE | SEGEXT_TRIGGER_ROW | SEGEXT_TRIGGER_INSERT | SEGEXT_TRIGGER_UPDATE | SEGEXT_TRIGGER_DELETE);
	Relation	rel = trigdata->tg_relation;
	HeapTuple	tuple;

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		tuple = segext_keep_maintained(rel, NULL, trigdata->tg_trigtuple, trigger->what);
		tuple = trigger->before_insert(rel, tuple);
		if (trigger->keys != NULL)
			segext_remember_row_keys(rel, tuple, trigger->keys, trigger->nkeys);
		return PointerGetDatum(tuple);
	}
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		tuple = segext_keep_maintained(rel, trigdata->tg_trigtuple,
									   trigdata->tg_newtuple, trigger->what);
		return PointerGetDatum(trigger->before_update(rel, trigdata->tg_trigtuple, tuple));
	}
	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		trigger->before_delete(rel, trigdata->tg_trigtuple);
		return PointerGetDatum(trigdata->tg_trigtuple);
	}
	elog(ERROR, "%s fired for an event it does not handle", trigger->name);
	return (Datum) 0;
}

/* rules_column_value returns a column of a row of the trigger's table. */
Datum
rules_column_value(Relation rel, HeapTuple tuple, const char *column, bool *isnull)
{
	int			attnum = SPI_fnumber(RelationGetDescr(rel), column);

	if (attnum <= 0)
		elog(ERROR, "column \"%s\" of table \"%s\" does not exist",
			 column, RelationGetRelationName(rel));
	return heap_getattr(tuple, attnum, RelationGetDescr(rel), isnull);
}

/* rules_column_text returns a text column as a C string, or NULL. */
char *
rules_column_text(Relation rel, HeapTuple tuple, const char *column)
{
	bool		isnull;
	Datum		value = rules_column_value(rel, tuple, column, &isnull);

	return isnull ? NULL : TextDatumGetCString(value);
}

/* rules_column_changed says whether an update changes one column. */
bool
rules_column_changed(Relation rel, HeapTuple oldtuple, HeapTuple newtuple,
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
 * rules_first_changed_column returns the name of the first column an update
 * changes, ignoring updated_at, which segext maintains itself, or NULL.
 */
const char *
rules_first_changed_column(Relation rel, HeapTuple oldtuple, HeapTuple newtuple)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		const char *name = NameStr(att->attname);

		if (att->attisdropped || strcmp(name, "updated_at") == 0)
			continue;
		if (rules_column_changed(rel, oldtuple, newtuple, name))
			return name;
	}
	return NULL;
}

/* rules_set_column returns a copy of tuple with one column replaced. */
HeapTuple
rules_set_column(Relation rel, HeapTuple tuple, const char *column, Datum value)
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

/* rules_objectid_equal compares two objectid datums. */
bool
rules_objectid_equal(Datum a, Datum b)
{
	return segext_objectid_equal(DatumGetSegextObjectIdP(a), DatumGetSegextObjectIdP(b));
}

/* rules_numeric_const returns a numeric datum for a decimal literal. */
Datum
rules_numeric_const(const char *value)
{
	return DirectFunctionCall3(numeric_in, CStringGetDatum(value),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/* rules_numeric_is_special says whether a numeric is NaN or infinite. */
bool
rules_numeric_is_special(Datum value)
{
	Numeric		num = DatumGetNumeric(value);

	return numeric_is_inf(num) || numeric_is_nan(num);
}

/*
 * rules_lock_company locks a company row FOR NO KEY UPDATE and returns its limits
 * and name; false when the row does not exist (also when the company is
 * being deleted by this transaction).
 */
bool
rules_lock_company(Datum company, int32 *max_segments, int32 *max_channels, char **name)
{
	bool		isnull;

	rules_exec(&lock_company_query, &company, false);
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
 * rules_refuse_unknown_company raises 23503 for a new row (what names its kind)
 * of a company that does not exist.
 */
void
rules_refuse_unknown_company(Datum company, const char *what)
{
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

	segext_objectid_to_hex((SegextObjectId *) DatumGetPointer(company), hex);
	ereport(ERROR,
			(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
			 errmsg("company \"%s\" does not exist", hex),
			 errdetail("No company has id \"%s\", so the %s cannot be created.", hex, what),
			 errhint("Create the company first (segext.create_company), or give the id of an existing company.")));
}

/* rules_check_name refuses a name or reference that is empty or too long. */
void
rules_check_name(const char *what, const char *column, const char *value)
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
 * rules_refuse_company_move raises the error of an update that moves a row
 * (a what named label) to another company.
 */
void
rules_refuse_company_move(const char *what, const char *label)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("cannot move %s \"%s\" to another company", what, label),
			 errdetail("The company_id of a %s never changes.", what),
			 errhint("Create the %s in the other company and delete this one.", what)));
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

	if (attnum <= 0 || !rules_column_changed(rel, oldtuple, newtuple, column))
		return;
	label = SPI_fnumber(tupdesc, "name") > 0 ? rules_column_text(rel, oldtuple, "name") :
		SPI_getvalue(oldtuple, tupdesc, SPI_fnumber(tupdesc, "id"));
	if (strcmp(column, "company_id") == 0)
		rules_refuse_company_move(what, label ? label : "");
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
 * segext_check_company_of_new_row refuses (42501) to write a row for a
 * company the current user may not act for, before a rule reads that
 * company as the table owner; a row without company_id is left to its NOT
 * NULL constraint.  The current user is whoever is acting, in any security
 * context (a security definer function runs as its owner); only rows that
 * segext writes itself as the table owner pass unchecked.
 */
void
segext_check_company_of_new_row(Relation rel, HeapTuple tuple)
{
	bool		isnull;
	Datum		company;

	if (GetUserId() == rel->rd_rel->relowner)
		return;
	company = rules_column_value(rel, tuple, "company_id", &isnull);
	if (!isnull)
		segext_check_company_access(DatumGetSegextObjectIdP(company));
}
