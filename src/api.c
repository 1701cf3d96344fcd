/*-------------------------------------------------------------------------
 *
 * api.c
 *	  Writes through segext_api.channels, the one view of the public schema
 *	  that PostgreSQL cannot update by itself: its segment_mix column, a
 *	  jsonb array built from segext.channel_segments, is writable in the same
 *	  request as the channel.  An INSTEAD OF row trigger turns an INSERT,
 *	  UPDATE or DELETE on the view into the same statement on the channel
 *	  table, and writes the mix to the mix table.
 *
 * The trigger is attached with two arguments:
 *	  1. the private table, schema-qualified ('segext.channels'): every other
 *		 column of the view is a column of that table with the same name, and
 *		 (company_id, id) is the key of both;
 *	  2. the name of the jsonb view column holding the segment mix
 *		 ([{"segment_id": ..., "distribution": ...}]), written to
 *		 segext.channel_segments in the same statement.
 *
 * Inserting leaves out the columns that are NULL, so that the view's and the
 * table's defaults and the business-rule triggers fill them (the view's
 * company_id defaults to the current company); updating writes every column
 * of the row, and the table's triggers keep what segext maintains (keys,
 * created_at, updated_at).  Row level security and the rules stay on the
 * tables.  The row handed back (and so RETURNING, and PostgREST's
 * return=representation and Location) is read again from the view, with
 * the generated keys; a row the view does not show (another company's) is
 * refused like the check option of the other API views refuses it.
 *
 * PostgreSQL refuses INSERT ... ON CONFLICT on a view with an INSTEAD OF
 * trigger, so PostgREST's PUT (an upsert) does not work on channels; the
 * other API views are updatable by PostgreSQL itself and take it.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

/* A statement under construction with its parameters. */
typedef struct ApiStatement
{
	StringInfoData sql;
	int			nargs;
	Oid		   *argtypes;
	Datum	   *values;
	char	   *nulls;
} ApiStatement;

static void api_statement_init(ApiStatement *stmt, int maxargs);
static int	api_bind(ApiStatement *stmt, Oid type, Datum value, bool isnull);
static int	api_column(Relation view, const char *name);
static void api_write_mix(const char *column, Oid idtype, Datum company,
						  Datum channel, Datum mix);
static HeapTuple api_reread(Relation view, Oid idtype, Datum company, Datum id);

/* api_statement_init prepares stmt for up to maxargs parameters. */
static void
api_statement_init(ApiStatement *stmt, int maxargs)
{
	initStringInfo(&stmt->sql);
	stmt->nargs = 0;
	stmt->argtypes = palloc(sizeof(Oid) * maxargs);
	stmt->values = palloc(sizeof(Datum) * maxargs);
	stmt->nulls = palloc(sizeof(char) * maxargs);
}

/* api_bind adds a parameter to stmt and returns its number ($n). */
static int
api_bind(ApiStatement *stmt, Oid type, Datum value, bool isnull)
{
	stmt->argtypes[stmt->nargs] = type;
	stmt->values[stmt->nargs] = value;
	stmt->nulls[stmt->nargs] = isnull ? 'n' : ' ';
	return ++stmt->nargs;
}

/* api_column returns the attribute number of a view column, or fails. */
static int
api_column(Relation view, const char *name)
{
	int			fnum = SPI_fnumber(RelationGetDescr(view), name);

	if (fnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("column \"%s\" of view \"%s\" does not exist",
						name, RelationGetRelationName(view))));
	return fnum;
}

/*
 * api_write_mix replaces the segment mix of a channel by the rows of a jsonb
 * array; the mix's own constraints and the deferred sum check judge them.
 */
static void
api_write_mix(const char *column, Oid idtype, Datum company, Datum channel,
			  Datum mix)
{
	Oid			types[3] = {idtype, idtype, JSONBOID};
	Datum		values[3] = {company, channel, mix};
	bool		isnull;
	Datum		isarray;

	if (SPI_execute_with_args("SELECT pg_catalog.jsonb_typeof($1) OPERATOR(pg_catalog.=) 'array'",
							  1, &types[2], &values[2], NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not inspect the segment mix");
	isarray = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull || !DatumGetBool(isarray))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"%s\": not a JSON array", column),
				 errdetail("The segment mix of a channel is an array of objects with \"segment_id\" and \"distribution\"."),
				 errhint("Send for example [{\"segment_id\": \"...\", \"distribution\": 1}].")));

	/*
	 * One statement, so that the checks of the mix (even when a session has
	 * made them immediate) see the new mix, never the moment in between.  The
	 * sub-select on "old" makes the delete run to completion before the
	 * first row is inserted.
	 */
	if (SPI_execute_with_args("WITH old AS (DELETE FROM segext.channel_segments"
							  " WHERE company_id OPERATOR(segext.=) $1"
							  " AND channel_id OPERATOR(segext.=) $2 RETURNING 1)"
							  " INSERT INTO segext.channel_segments"
							  " (company_id, channel_id, segment_id, distribution)"
							  " SELECT $1, $2, m.segment_id, m.distribution"
							  " FROM pg_catalog.jsonb_to_recordset($3)"
							  " AS m(segment_id segext.objectid, distribution pg_catalog.numeric)"
							  " WHERE (SELECT pg_catalog.count(*) FROM old) OPERATOR(pg_catalog.>=) 0",
							  3, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write the segment mix");
}

/*
 * api_reread reads the row of the view with key (company, id), as the client
 * sees it after the write, and returns a copy in the trigger's memory
 * context; a row the view does not show is refused (44000), as the check
 * option of an updatable view refuses it.
 */
static HeapTuple
api_reread(Relation view, Oid idtype, Datum company, Datum id)
{
	StringInfoData sql;
	Oid			types[2] = {idtype, idtype};
	Datum		values[2] = {company, id};

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT * FROM %s.%s WHERE company_id OPERATOR(segext.=) $1"
					 " AND id OPERATOR(segext.=) $2",
					 quote_identifier(get_namespace_name(RelationGetNamespace(view))),
					 quote_identifier(RelationGetRelationName(view)));
	if (SPI_execute_with_args(sql.data, 2, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read back view \"%s\"", RelationGetRelationName(view));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_WITH_CHECK_OPTION_VIOLATION),
				 errmsg("new row violates check option for view \"%s\"",
						RelationGetRelationName(view)),
				 errdetail("View \"%s\" shows the rows of the current company only, and the row written belongs to another company.",
						   RelationGetRelationName(view)),
				 errhint("Leave \"company_id\" out, or set it to the current company.")));
	return SPI_copytuple(SPI_tuptable->vals[0]);
}

PG_FUNCTION_INFO_V1(segext_api_view_write);

/*
 * segext_api_view_write is the INSTEAD OF row trigger of segext_api.channels:
 * it writes the row to the channel table and the mix to the mix table.
 */
Datum
segext_api_view_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	view;
	TupleDesc	tupdesc;
	Trigger    *trigger;
	const char *table;
	const char *mixcol;
	int			mixnum;
	int			companynum;
	int			keynum;
	Oid			idtype;
	HeapTuple	result = NULL;
	ApiStatement stmt;
	bool		isnull;
	int			natt;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("segext.api_view_write: not called by trigger manager")));
	if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_INSTEAD(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("segext.api_view_write: must be fired INSTEAD OF, for each row")));

	trigger = trigdata->tg_trigger;
	if (trigger->tgnargs != 2)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("segext.api_view_write: expects two arguments")));
	view = trigdata->tg_relation;
	tupdesc = RelationGetDescr(view);
	table = trigger->tgargs[0];
	mixcol = trigger->tgargs[1];
	mixnum = api_column(view, mixcol);
	companynum = api_column(view, "company_id");
	keynum = api_column(view, "id");
	idtype = SPI_gettypeid(tupdesc, keynum);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	api_statement_init(&stmt, tupdesc->natts + 2);

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		HeapTuple	newtup = trigdata->tg_trigtuple;
		StringInfoData cols;
		StringInfoData vals;
		Datum		company;
		Datum		key;
		Datum		mix;

		/* The columns given; NULL ones are left to the defaults and rules. */
		initStringInfo(&cols);
		initStringInfo(&vals);
		for (natt = 1; natt <= tupdesc->natts; natt++)
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, natt - 1);
			Datum		value = SPI_getbinval(newtup, tupdesc, natt, &isnull);

			if (att->attisdropped || natt == mixnum || isnull)
				continue;
			appendStringInfo(&cols, "%s%s", cols.len > 0 ? ", " : "",
							 quote_identifier(NameStr(att->attname)));
			appendStringInfo(&vals, "%s$%d", vals.len > 0 ? ", " : "",
							 api_bind(&stmt, att->atttypid, value, false));
		}
		if (cols.len > 0)
			appendStringInfo(&stmt.sql, "INSERT INTO %s (%s) VALUES (%s)",
							 table, cols.data, vals.data);
		else
			appendStringInfo(&stmt.sql, "INSERT INTO %s DEFAULT VALUES", table);
		appendStringInfoString(&stmt.sql, " RETURNING company_id, id");
		if (SPI_execute_with_args(stmt.sql.data, stmt.nargs, stmt.argtypes,
								  stmt.values, stmt.nulls, false, 0) != SPI_OK_INSERT_RETURNING ||
			SPI_processed != 1)
			elog(ERROR, "could not insert into %s", table);
		company = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull),
									false, get_typlen(idtype));
		key = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull),
								false, get_typlen(idtype));
		mix = SPI_getbinval(newtup, tupdesc, mixnum, &isnull);
		if (!isnull)
			api_write_mix(mixcol, idtype, company, key, mix);
		result = api_reread(view, idtype, company, key);
	}
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		HeapTuple	oldtup = trigdata->tg_trigtuple;
		HeapTuple	newtup = trigdata->tg_newtuple;
		Datum		company = SPI_getbinval(oldtup, tupdesc, companynum, &isnull);
		Datum		key = SPI_getbinval(oldtup, tupdesc, keynum, &isnull);
		int			c;
		int			k;

		/* Every column; the table's triggers keep what segext maintains. */
		appendStringInfo(&stmt.sql, "UPDATE %s SET ", table);
		for (natt = 1; natt <= tupdesc->natts; natt++)
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, natt - 1);
			bool		newnull;
			Datum		value = SPI_getbinval(newtup, tupdesc, natt, &newnull);
			const char *sep = stmt.nargs > 0 ? ", " : "";

			if (att->attisdropped || natt == mixnum)
				continue;
			appendStringInfo(&stmt.sql, "%s%s = $%d", sep,
							 quote_identifier(NameStr(att->attname)),
							 api_bind(&stmt, att->atttypid, value, newnull));
		}
		c = api_bind(&stmt, idtype, company, false);
		k = api_bind(&stmt, idtype, key, false);
		appendStringInfo(&stmt.sql, " WHERE company_id OPERATOR(segext.=) $%d AND id OPERATOR(segext.=) $%d",
						 c, k);
		if (SPI_execute_with_args(stmt.sql.data, stmt.nargs, stmt.argtypes,
								  stmt.values, stmt.nulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update %s", table);
		if (SPI_processed == 1)
		{
			bool		oldnull;
			bool		newnull;
			Datum		oldmix = SPI_getbinval(oldtup, tupdesc, mixnum, &oldnull);
			Datum		newmix = SPI_getbinval(newtup, tupdesc, mixnum, &newnull);

			if (!newnull &&
				(oldnull || !datum_image_eq(oldmix, newmix, false, -1)))
				api_write_mix(mixcol, idtype, company, key, newmix);
			result = api_reread(view, idtype, company, key);
		}
	}
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		HeapTuple	oldtup = trigdata->tg_trigtuple;
		int			c = api_bind(&stmt, idtype, SPI_getbinval(oldtup, tupdesc, companynum, &isnull), false);
		int			k = api_bind(&stmt, idtype, SPI_getbinval(oldtup, tupdesc, keynum, &isnull), false);

		appendStringInfo(&stmt.sql, "DELETE FROM %s WHERE company_id OPERATOR(segext.=) $%d AND id OPERATOR(segext.=) $%d",
						 table, c, k);
		if (SPI_execute_with_args(stmt.sql.data, stmt.nargs, stmt.argtypes,
								  stmt.values, stmt.nulls, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not delete from %s", table);
		if (SPI_processed == 1)
			result = oldtup;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("segext.api_view_write: fired for an unsupported event")));

	SPI_finish();
	return PointerGetDatum(result);
}
