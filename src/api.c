/*-------------------------------------------------------------------------
 *
 * api.c
 *	  Writes through the views of the public schema segext_api: one INSTEAD
 *	  OF row trigger that turns an INSERT, UPDATE or DELETE on an API view
 *	  into the same statement on its private table, for the current company.
 *
 * The trigger is attached with up to three arguments:
 *	  1. the private table, schema-qualified (e.g. 'segext.segments');
 *	  2. the view columns a client may write, comma-separated; they have the
 *		 same names in the table;
 *	  3. optionally, the name of a jsonb view column holding a channel's
 *		 segment mix ([{"segment_id": ..., "distribution": ...}]), written to
 *		 segext.channel_segments in the same statement.
 *
 * Every view has an "id" column that is the table's key within a company.
 * The company is never taken from the client: it is
 * segext.current_company_id().  Inserting leaves out the columns that are
 * NULL, so that the table's defaults and the business-rule triggers fill
 * them; the row handed back (and so RETURNING, and PostgREST's
 * return=representation and Location) is read again from the view, with the
 * generated keys.  The business rules themselves stay on the tables.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "objectid.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/varlena.h"

/* Largest number of columns one write statement binds. */
#define API_MAX_PARAMS	64

/* A statement under construction with its parameters. */
typedef struct ApiStatement
{
	StringInfoData sql;
	int			nargs;
	Oid			argtypes[API_MAX_PARAMS];
	Datum		values[API_MAX_PARAMS];
	char		nulls[API_MAX_PARAMS];
} ApiStatement;

static Datum api_current_company(Relation view, Oid *type);
static int	api_bind(ApiStatement *stmt, Oid type, Datum value, bool isnull);
static List *api_split_columns(const char *list);
static int	api_column(Relation view, const char *name);
static void api_write_mix(const char *column, Oid idtype, Datum company,
						  Datum channel, Datum mix);
static const char *api_eq(Oid type, Oid idtype);
static HeapTuple api_reread(Relation view, Datum key, Oid keytype,
							const char *eq, HeapTuple fallback);

/*
 * api_current_company returns segext.current_company_id(), refusing NULL,
 * and sets *type to its type (segext.objectid).
 */
static Datum
api_current_company(Relation view, Oid *type)
{
	bool		isnull;
	Datum		company;

	if (SPI_execute("SELECT segext.current_company_id()", true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the current company");
	company = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	*type = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("no current company for writing to view \"%s\"",
						RelationGetRelationName(view)),
				 errdetail("Neither the JWT claim \"company_id\" nor the setting \"segext.company_id\" names a company."),
				 errhint("Send a JWT carrying a \"company_id\" claim, or SET segext.company_id to the company's id.")));
	return SPI_datumTransfer(company, false, SEGEXT_OBJECTID_LEN);
}

/* api_bind adds a parameter to stmt and returns its number ($n). */
static int
api_bind(ApiStatement *stmt, Oid type, Datum value, bool isnull)
{
	if (stmt->nargs >= API_MAX_PARAMS)
		elog(ERROR, "too many columns in one API write");
	stmt->argtypes[stmt->nargs] = type;
	stmt->values[stmt->nargs] = value;
	stmt->nulls[stmt->nargs] = isnull ? 'n' : ' ';
	return ++stmt->nargs;
}

/* api_split_columns splits a comma-separated trigger argument into names. */
static List *
api_split_columns(const char *list)
{
	char	   *copy = pstrdup(list);
	List	   *names = NIL;

	if (!SplitIdentifierString(copy, ',', &names))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("invalid column list \"%s\" in API view trigger arguments", list)));
	return names;
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

/* api_eq names the equality operator of a key type, schema-qualified. */
static const char *
api_eq(Oid type, Oid idtype)
{
	return type == idtype ? "OPERATOR(segext.=)" : "OPERATOR(pg_catalog.=)";
}

/*
 * api_reread reads the row of the view whose id is key, as the client sees
 * it after the write; returns a copy in the trigger's memory context.
 */
static HeapTuple
api_reread(Relation view, Datum key, Oid keytype, const char *eq,
		   HeapTuple fallback)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT * FROM %s.%s WHERE id %s $1",
					 quote_identifier(get_namespace_name(RelationGetNamespace(view))),
					 quote_identifier(RelationGetRelationName(view)), eq);
	if (SPI_execute_with_args(sql.data, 1, &keytype, &key, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read back view \"%s\"", RelationGetRelationName(view));
	if (SPI_processed != 1)
		return fallback;
	return SPI_copytuple(SPI_tuptable->vals[0]);
}

PG_FUNCTION_INFO_V1(segext_api_view_write);

/*
 * segext_api_view_write is the INSTEAD OF row trigger of the writable API
 * views: it writes the row to the private table for the current company.
 */
Datum
segext_api_view_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	view;
	TupleDesc	tupdesc;
	Trigger    *trigger;
	const char *table;
	List	   *writable;
	const char *mixcol = NULL;
	int			mixnum = 0;
	int			keynum;
	Oid			keytype;
	Datum		company;
	Oid			companytype;
	const char *keyeq;
	HeapTuple	result = NULL;
	ApiStatement stmt;
	ListCell   *lc;
	bool		isnull;

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
	if (trigger->tgnargs < 2 || trigger->tgnargs > 3)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("segext.api_view_write: expects two or three arguments")));
	view = trigdata->tg_relation;
	tupdesc = RelationGetDescr(view);
	table = trigger->tgargs[0];
	writable = api_split_columns(trigger->tgargs[1]);
	if (trigger->tgnargs == 3)
	{
		mixcol = trigger->tgargs[2];
		mixnum = api_column(view, mixcol);
	}
	keynum = api_column(view, "id");
	keytype = SPI_gettypeid(tupdesc, keynum);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	company = api_current_company(view, &companytype);
	keyeq = api_eq(keytype, companytype);

	memset(&stmt, 0, sizeof(stmt));
	initStringInfo(&stmt.sql);

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		HeapTuple	newtup = trigdata->tg_trigtuple;
		StringInfoData vals;
		Datum		key;

		initStringInfo(&vals);
		appendStringInfo(&stmt.sql, "INSERT INTO %s (company_id", table);
		appendStringInfo(&vals, "$%d", api_bind(&stmt, companytype, company, false));
		foreach(lc, writable)
		{
			const char *col = (const char *) lfirst(lc);
			int			fnum = api_column(view, col);
			Datum		value = SPI_getbinval(newtup, tupdesc, fnum, &isnull);

			if (isnull)
				continue;
			appendStringInfo(&stmt.sql, ", %s", quote_identifier(col));
			appendStringInfo(&vals, ", $%d",
							 api_bind(&stmt, SPI_gettypeid(tupdesc, fnum), value, false));
		}
		appendStringInfo(&stmt.sql, ") VALUES (%s) RETURNING id", vals.data);
		if (SPI_execute_with_args(stmt.sql.data, stmt.nargs, stmt.argtypes,
								  stmt.values, stmt.nulls, false, 0) != SPI_OK_INSERT_RETURNING ||
			SPI_processed != 1)
			elog(ERROR, "could not insert into %s", table);
		key = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 1, &isnull),
								get_typbyval(keytype), get_typlen(keytype));
		if (mixnum > 0)
		{
			Datum		mix = SPI_getbinval(newtup, tupdesc, mixnum, &isnull);

			if (!isnull)
				api_write_mix(mixcol, companytype, company, key, mix);
		}
		result = api_reread(view, key, keytype, keyeq, newtup);
	}
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		HeapTuple	oldtup = trigdata->tg_trigtuple;
		HeapTuple	newtup = trigdata->tg_newtuple;
		Datum		key = SPI_getbinval(oldtup, tupdesc, keynum, &isnull);
		int			changed = 0;
		int			natt;

		/* Columns outside the writable list (and the mix) must not change. */
		for (natt = 1; natt <= tupdesc->natts; natt++)
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, natt - 1);
			const char *name = NameStr(att->attname);
			bool		oldnull;
			bool		newnull;
			Datum		oldval;
			Datum		newval;
			bool		iswritable = false;

			if (att->attisdropped || natt == mixnum)
				continue;
			foreach(lc, writable)
			{
				if (strcmp((const char *) lfirst(lc), name) == 0)
					iswritable = true;
			}
			oldval = SPI_getbinval(oldtup, tupdesc, natt, &oldnull);
			newval = SPI_getbinval(newtup, tupdesc, natt, &newnull);
			if (oldnull == newnull &&
				(oldnull || datum_image_eq(oldval, newval, att->attbyval, att->attlen)))
				continue;
			if (!iswritable)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot update column \"%s\" of view \"%s\"",
								name, RelationGetRelationName(view)),
						 errdetail("Column \"%s\" is maintained by segext.", name),
						 errhint("Leave \"%s\" out of the update.", name)));
			appendStringInfo(&stmt.sql, "%s %s = $%d", changed == 0 ? "" : ",",
							 quote_identifier(name),
							 api_bind(&stmt, att->atttypid, newval, newnull));
			changed++;
		}
		if (changed == 0 && writable != NIL)
		{
			/* An update that changes nothing still reaches the table's rules. */
			const char *col = (const char *) linitial(writable);
			int			fnum = api_column(view, col);
			Datum		value = SPI_getbinval(newtup, tupdesc, fnum, &isnull);

			appendStringInfo(&stmt.sql, "%s = $%d", quote_identifier(col),
							 api_bind(&stmt, SPI_gettypeid(tupdesc, fnum), value, isnull));
		}
		{
			char	   *set = pstrdup(stmt.sql.data);
			int			c;
			int			k;

			resetStringInfo(&stmt.sql);
			c = api_bind(&stmt, companytype, company, false);
			k = api_bind(&stmt, keytype, key, false);
			appendStringInfo(&stmt.sql, "UPDATE %s SET %s WHERE company_id OPERATOR(segext.=) $%d AND id %s $%d",
							 table, set, c, keyeq, k);
		}
		if (SPI_execute_with_args(stmt.sql.data, stmt.nargs, stmt.argtypes,
								  stmt.values, stmt.nulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not update %s", table);
		if (SPI_processed == 1)
		{
			if (mixnum > 0)
			{
				Datum		oldmix = SPI_getbinval(oldtup, tupdesc, mixnum, &isnull);
				bool		newnull;
				Datum		newmix = SPI_getbinval(newtup, tupdesc, mixnum, &newnull);

				if (!newnull &&
					(isnull || !datum_image_eq(oldmix, newmix, false, -1)))
					api_write_mix(mixcol, companytype, company, key, newmix);
			}
			result = api_reread(view, key, keytype, keyeq, newtup);
		}
	}
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		HeapTuple	oldtup = trigdata->tg_trigtuple;
		Datum		key = SPI_getbinval(oldtup, tupdesc, keynum, &isnull);
		int			c = api_bind(&stmt, companytype, company, false);
		int			k = api_bind(&stmt, keytype, key, false);

		appendStringInfo(&stmt.sql, "DELETE FROM %s WHERE company_id OPERATOR(segext.=) $%d AND id %s $%d",
						 table, c, keyeq, k);
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
