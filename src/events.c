/*-------------------------------------------------------------------------
 *
 * events.c
 *	  Event stamping: the segext.stamp_event() BEFORE INSERT trigger that a
 *	  user attaches to a table of events, and segext.classify(), which
 *	  classifies one event given as jsonb.
 *
 * An event is assigned the first active segment of its company, by position
 * then number, whose criteria match the event's fields; when none matches,
 * segment 1 (Default).  The row is stamped with that segment's number and
 * its current group id; the stamp is never rewritten afterwards.
 *
 * Trigger arguments: company column, segment column, group column and
 * optionally a jsonb column whose top-level keys are further fields.  The
 * event's fields are the row's columns (except the two stamped ones) and
 * the keys of that jsonb value; a column wins over a key of the same name.
 * SQL NULL (column or JSON null) is a missing field.  Column values are
 * converted to text only when a criterion reads them, once per row.
 *
 * The arguments are resolved once per trigger and relation descriptor; a
 * relcache callback drops the resolution when the relation changes.
 * PostgreSQL cannot check trigger arguments at CREATE TRIGGER; the event
 * trigger segext_check_event_trigger (60_events.sql) calls
 * segext.check_event_trigger() right after CREATE TRIGGER, and the trigger
 * checks again when it first fires on a changed table.
 *
 * The fields of an event are read through event_fields.c.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "tenancy.h"
#include "module_init.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "criteria.h"
#include "evaluate.h"
#include "event_fields.h"
#include "objectid.h"
#include "segment_cache.h"
#include "trigger_check.h"

/* Resolved arguments of one stamp_event trigger (hash entry, by trigger). */
typedef struct StampTrigger
{
	Oid			tgoid;			/* hash key */
	bool		valid;
	Oid			relid;
	TupleDesc	tupdesc;		/* relation descriptor at resolution */
	AttrNumber	company_attnum;
	bool		company_is_text;
	AttrNumber	segment_attnum;
	Oid			segment_type;
	AttrNumber	group_attnum;
	Oid			group_type;
	AttrNumber	keys_attnum;	/* 0 when no jsonb column is named */
	FieldTable *fields;
	/*
	 * the last company seen and its list (valid for memo_generation), and
	 * the statement and user for which access to it was checked
	 */
	bool		have_memo;
	SegextObjectId memo_company;
	uint64		memo_generation;
	LocalTransactionId memo_lxid;
	TimestampTz memo_statement;	/* company access is checked per statement */
	Oid			memo_userid;
	const SegextSegmentList *memo_list;
} StampTrigger;

/* The resolved columns of a stamp_event trigger. */
typedef struct StampColumns
{
	AttrNumber	company_attnum;
	bool		company_is_text;
	AttrNumber	segment_attnum;
	Oid			segment_type;
	AttrNumber	group_attnum;
	Oid			group_type;
	AttrNumber	keys_attnum;
} StampColumns;

static MemoryContext events_context = NULL;
static HTAB *stamp_triggers = NULL;
static StampTrigger *last_trigger = NULL;	/* entry of the last firing */
static FieldTable *classify_fields = NULL;
static uint64 row_stamp = 0;
static Oid	objectid_input_func = InvalidOid;
static Oid	objectid_ioparam = InvalidOid;

static void events_relcache_callback(Datum arg, Oid relid);
static void resolve_columns(Relation rel, int nargs, char **args, StampColumns *cols);
static AttrNumber resolve_one(Relation rel, const char *what, const char *column);
static int32 classify_event(const SegextSegmentList *list, EventRow *row, int32 *group_id);
static StampTrigger *stamp_trigger_get(TriggerData *trigdata);
static void company_from_text(text *txt, SegextObjectId *company);

/* segext_events_init registers the callback that drops resolved triggers. */
void
segext_events_init(void)
{
	segext_register_relcache_callback(events_relcache_callback);
}

/*
 * events_relcache_callback marks the resolved arguments of triggers on a
 * changed relation (or on every relation) invalid; only marks.
 */
static void
events_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	StampTrigger *entry;

	if (stamp_triggers == NULL)
		return;
	hash_seq_init(&status, stamp_triggers);
	while ((entry = (StampTrigger *) hash_seq_search(&status)) != NULL)
	{
		if (relid == InvalidOid || entry->relid == relid)
			entry->valid = false;
	}
}

/*
 * resolve_one finds a named column of the relation, failing with 42703 when
 * it does not exist (system columns included).
 */
static AttrNumber
resolve_one(Relation rel, const char *what, const char *column)
{
	int			attnum = SPI_fnumber(RelationGetDescr(rel), column);

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						column, RelationGetRelationName(rel)),
				 errdetail("Trigger function segext.stamp_event() names \"%s\" as the %s column.",
						   column, what),
				 errhint("Name an existing column of \"%s\" in the trigger arguments: company column, segment column, group column and, optionally, a jsonb column of further fields.",
						 RelationGetRelationName(rel))));
	return (AttrNumber) attnum;
}

/*
 * stamp_column_type returns the type of a column that receives a stamp,
 * raising 42804 unless it is integer or bigint; "what" names what it holds.
 */
static Oid
stamp_column_type(TupleDesc tupdesc, AttrNumber attnum, const char *column,
				  const char *relname, const char *what)
{
	Oid			type = TupleDescAttr(tupdesc, attnum - 1)->atttypid;

	if (type != INT4OID && type != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" must be of type integer or bigint",
						column, relname),
				 errdetail("Column \"%s\" is of type %s; it receives %s up to 65535.",
						   column, format_type_be(type), what),
				 errhint("Change the column type to integer.")));
	return type;
}

/*
 * resolve_columns checks stamp_event's arguments against a relation and
 * returns the columns they name; every misuse is a clear error.
 */
static void
resolve_columns(Relation rel, int nargs, char **args, StampColumns *cols)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	const char *relname = RelationGetRelationName(rel);
	Oid			type;
	Oid			objectid_type;

	if (nargs < 3 || nargs > 4)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trigger function segext.stamp_event() on relation \"%s\" needs 3 or 4 arguments, got %d",
						relname, nargs),
				 errdetail("The arguments are the company column, the segment column, the group column and, optionally, a jsonb column of further fields."),
				 errhint("Recreate the trigger, e.g. EXECUTE FUNCTION segext.stamp_event('company_id', 'segment', 'segment_group').")));

	memset(cols, 0, sizeof(*cols));
	cols->company_attnum = resolve_one(rel, "company", args[0]);
	cols->segment_attnum = resolve_one(rel, "segment", args[1]);
	cols->group_attnum = resolve_one(rel, "group", args[2]);
	if (nargs == 4)
		cols->keys_attnum = resolve_one(rel, "fields", args[3]);

	if (cols->segment_attnum == cols->group_attnum ||
		cols->segment_attnum == cols->company_attnum ||
		cols->group_attnum == cols->company_attnum ||
		(cols->keys_attnum != 0 &&
		 (cols->keys_attnum == cols->company_attnum ||
		  cols->keys_attnum == cols->segment_attnum ||
		  cols->keys_attnum == cols->group_attnum)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trigger function segext.stamp_event() on relation \"%s\" names one column twice",
						relname),
				 errdetail("The company, segment, group and fields columns must be different columns."),
				 errhint("Recreate the trigger with four distinct column names.")));

	objectid_type = segext_objectid_type();
	type = TupleDescAttr(tupdesc, cols->company_attnum - 1)->atttypid;
	if (type == TEXTOID || type == VARCHAROID)
		cols->company_is_text = true;
	else if (type != objectid_type)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" must be of type segext.objectid or text",
						args[0], relname),
				 errdetail("Column \"%s\" is of type %s; it holds the company id of each event.",
						   args[0], format_type_be(type)),
				 errhint("Change the column type to segext.objectid.")));

	cols->segment_type = stamp_column_type(tupdesc, cols->segment_attnum, args[1], relname,
										   "segment numbers");
	cols->group_type = stamp_column_type(tupdesc, cols->group_attnum, args[2], relname,
										 "segment group ids");
	if (cols->keys_attnum != 0)
	{
		type = TupleDescAttr(tupdesc, cols->keys_attnum - 1)->atttypid;
		if (type != JSONBOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of relation \"%s\" must be of type jsonb",
							args[3], relname),
					 errdetail("Column \"%s\" is of type %s; the top-level keys of its value are fields of the event.",
							   args[3], format_type_be(type)),
					 errhint("Change the column type to jsonb, or leave out the fourth trigger argument.")));
	}
}

/*
 * classify_event returns the number of the first segment of the list whose
 * criteria match the event, or 1 (Default), and sets *group_id.  Only the
 * candidates of the list's dispatch index are evaluated, in list order.
 */
static int32
classify_event(const SegextSegmentList *list, EventRow *row, int32 *group_id)
{
	uint64		local[16];
	uint64	   *bits = local;
	int			w;

	if (list->nwords > lengthof(local))
		bits = palloc(sizeof(uint64) * list->nwords);
	segext_segment_candidates(list, segext_event_field_lookup, row, bits);

	for (w = 0; w < list->nwords; w++)
	{
		uint64		word = bits[w];

		while (word != 0)
		{
			int			i = w * 64 + pg_rightmost_one_pos64(word);
			const SegextCachedSegment *seg = &list->segments[i];

			word &= word - 1;
			if (segext_row_plan_match(seg->plan, segext_event_field_lookup, row))
			{
				*group_id = seg->group_id;
				return seg->number;
			}
		}
	}
	*group_id = list->default_group;
	return 1;
}

/* company_from_text parses a company id held in a text column. */
static void
company_from_text(text *txt, SegextObjectId *company)
{
	char	   *str = text_to_cstring(txt);
	SegextObjectId *id;

	if (!OidIsValid(objectid_input_func))
	{
		getTypeInputInfo(segext_objectid_type(), &objectid_input_func, &objectid_ioparam);
	}
	id = DatumGetSegextObjectIdP(OidInputFunctionCall(objectid_input_func, str,
													  objectid_ioparam, -1));
	*company = *id;
}

/*
 * stamp_trigger_get returns the resolved arguments of the firing trigger,
 * resolving them on first use and after the relation changed.
 */
static StampTrigger *
stamp_trigger_get(TriggerData *trigdata)
{
	Trigger    *trigger = trigdata->tg_trigger;
	Relation	rel = trigdata->tg_relation;
	StampTrigger *entry;
	StampColumns cols;
	bool		found;

	if (stamp_triggers == NULL)
	{
		HASHCTL		ctl;

		events_context = AllocSetContextCreate(CacheMemoryContext,
											   "segext event triggers",
											   ALLOCSET_SMALL_SIZES);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(StampTrigger);
		ctl.hcxt = events_context;
		stamp_triggers = hash_create("segext event triggers", 16, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	entry = last_trigger;
	if (entry == NULL || entry->tgoid != trigger->tgoid)
		entry = (StampTrigger *) hash_search(stamp_triggers, &trigger->tgoid,
											 HASH_FIND, NULL);
	if (entry != NULL && entry->valid && entry->tupdesc == RelationGetDescr(rel))
	{
		last_trigger = entry;
		return entry;
	}

	/* Resolve first: an error must leave no half-made entry behind. */
	resolve_columns(rel, trigger->tgnargs, trigger->tgargs, &cols);

	entry = (StampTrigger *) hash_search(stamp_triggers, &trigger->tgoid,
										 HASH_ENTER, &found);
	if (found && entry->fields != NULL)
		MemoryContextDelete(entry->fields->context);
	entry->relid = RelationGetRelid(rel);
	entry->tupdesc = RelationGetDescr(rel);
	entry->company_attnum = cols.company_attnum;
	entry->company_is_text = cols.company_is_text;
	entry->segment_attnum = cols.segment_attnum;
	entry->segment_type = cols.segment_type;
	entry->group_attnum = cols.group_attnum;
	entry->group_type = cols.group_type;
	entry->keys_attnum = cols.keys_attnum;
	entry->have_memo = false;
	entry->fields = NULL;
	entry->fields = segext_field_table_create(events_context, entry->tupdesc,
											  cols.segment_attnum, cols.group_attnum,
											  cols.keys_attnum != 0);
	entry->valid = true;
	last_trigger = entry;
	return entry;
}

PG_FUNCTION_INFO_V1(segext_stamp_event);

/*
 * segext_stamp_event is the BEFORE INSERT row trigger that stamps an event
 * with its segment number and the segment's group id.
 */
Datum
segext_stamp_event(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	StampTrigger *st;
	HeapTuple	tuple;
	TupleDesc	tupdesc;
	SegextObjectId company;
	const SegextSegmentList *list;
	EventRow	row;
	Datum		d;
	bool		isnull;
	int32		number;
	int32		group_id;
	FieldTable *fields;
	HeapTuple	stamped;

	/* an event is stamped once, when it is inserted */
	(void) segext_check_trigger_call(fcinfo, "stamp_event",
									 SEGEXT_TRIGGER_BEFORE | SEGEXT_TRIGGER_ROW | SEGEXT_TRIGGER_INSERT);

	st = stamp_trigger_get(trigdata);
	tuple = trigdata->tg_trigtuple;
	tupdesc = RelationGetDescr(trigdata->tg_relation);

	d = heap_getattr(tuple, st->company_attnum, tupdesc, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("null company id in column \"%s\" of relation \"%s\"",
						NameStr(TupleDescAttr(tupdesc, st->company_attnum - 1)->attname),
						RelationGetRelationName(trigdata->tg_relation)),
				 errdetail("An event is classified by the segments of its company."),
				 errhint("Set the company id of every event.")));
	if (st->company_is_text)
		company_from_text(DatumGetTextPP(d), &company);
	else
		company = *DatumGetSegextObjectIdP(d);

	if (st->have_memo && st->memo_generation == segext_segment_cache_generation &&
		st->memo_lxid == MyProc->lxid && st->memo_userid == GetUserId() &&
		st->memo_statement == GetCurrentStatementStartTimestamp() &&
		segext_objectid_equal(&st->memo_company, &company))
		list = st->memo_list;
	else
	{
		uint64		generation = segext_segment_cache_generation;

		segext_check_company_read_access(&company);
		list = segext_segment_cache_lookup(&company);
		st->memo_company = company;
		st->memo_generation = generation;
		st->memo_lxid = MyProc->lxid;
		st->memo_statement = GetCurrentStatementStartTimestamp();
		st->memo_userid = GetUserId();
		st->memo_list = list;
		st->have_memo = true;
	}

	row.table = st->fields;
	row.stamp = ++row_stamp;
	row.tuple = tuple;
	row.keys = NULL;
	if (st->keys_attnum != 0)
	{
		d = heap_getattr(tuple, st->keys_attnum, tupdesc, &isnull);
		if (!isnull)
		{
			Jsonb	   *jb = DatumGetJsonbP(d);

			if (JB_ROOT_IS_OBJECT(jb))
				row.keys = jb;
		}
	}

	number = classify_event(list, &row, &group_id);

	/*
	 * Form the stamped row from the columns deformed for the criteria (the
	 * stamped columns are never fields, so replacing them there is safe),
	 * rather than heap_modify_tuple_by_cols, which deforms the row again.
	 */
	fields = st->fields;
	if (fields->deformed_stamp != row.stamp)
	{
		heap_deform_tuple(tuple, tupdesc, fields->values, fields->isnull);
		fields->deformed_stamp = row.stamp;
	}
	fields->values[st->segment_attnum - 1] =
		st->segment_type == INT8OID ? Int64GetDatum(number) : Int32GetDatum(number);
	fields->isnull[st->segment_attnum - 1] = false;
	fields->values[st->group_attnum - 1] =
		st->group_type == INT8OID ? Int64GetDatum(group_id) : Int32GetDatum(group_id);
	fields->isnull[st->group_attnum - 1] = false;
	stamped = heap_form_tuple(tupdesc, fields->values, fields->isnull);
	stamped->t_data->t_ctid = tuple->t_data->t_ctid;
	stamped->t_self = tuple->t_self;
	stamped->t_tableOid = tuple->t_tableOid;

	return PointerGetDatum(stamped);
}

/*
 * classify_row points row at a jsonb event (its top-level keys are the
 * fields) for classify and explain_classify; raises 22023 unless the event
 * is an object.
 */
static void
classify_row(Jsonb *event, EventRow *row)
{
	if (!JB_ROOT_IS_OBJECT(event))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("event must be a JSON object"),
				 errdetail("The top-level keys of the object are the fields of the event."),
				 errhint("Pass an object such as {\"act\": \"12\", \"href\": \"/home\"}.")));

	if (classify_fields == NULL)
	{
		if (events_context == NULL)
			events_context = AllocSetContextCreate(CacheMemoryContext,
												   "segext event triggers",
												   ALLOCSET_SMALL_SIZES);
		classify_fields = segext_field_table_create(events_context, NULL, 0, 0, true);
	}
	row->table = classify_fields;
	row->stamp = ++row_stamp;
	row->tuple = NULL;
	row->keys = event;
}

PG_FUNCTION_INFO_V1(segext_classify);

/*
 * segext_classify returns the segment number of an event given as a jsonb
 * object, whose top-level keys are its fields.
 */
Datum
segext_classify(PG_FUNCTION_ARGS)
{
	SegextObjectId company = *PG_GETARG_SEGEXT_OBJECTID_P(0);
	Jsonb	   *event = PG_GETARG_JSONB_P(1);
	const SegextSegmentList *list;
	EventRow	row;
	int32		group_id;

	classify_row(event, &row);
	segext_check_company_read_access(&company);
	list = segext_segment_cache_lookup(&company);

	PG_RETURN_INT32(classify_event(list, &row, &group_id));
}

/* explain_classify_put appends one row of explain_classify's result. */
static void
explain_classify_put(ReturnSetInfo *rsinfo, int *ordinal, int32 number,
					 const char *path, int depth, const char *node,
					 const char *subject, const char *value,
					 const char *requirement, bool matched)
{
	Datum		values[9];
	bool		nulls[9] = {false, false, false, false, false, false, false, false, false};

	values[0] = Int32GetDatum(++*ordinal);
	values[1] = Int32GetDatum(number);
	values[2] = CStringGetTextDatum(path);
	values[3] = Int32GetDatum(depth);
	values[4] = CStringGetTextDatum(node);
	values[5] = CStringGetTextDatum(value);
	values[6] = CStringGetTextDatum(requirement);
	values[7] = BoolGetDatum(matched);
	values[8] = CStringGetTextDatum(psprintf("%s: %s (needs %s) -> %s", subject, value,
											 requirement, matched ? "true" : "false"));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

PG_FUNCTION_INFO_V1(segext_explain_classify);

/*
 * segext_explain_classify explains how classify and the stamping trigger
 * classify an event given as a jsonb object: first the active segments
 * that event stamping leaves out (with the reason), then, for each segment
 * tried in order (position, then number) up to the chosen one, every node
 * of its criteria with the event's value that decided it, and a row
 * "segment" saying whether it matched; when none matches, a last row for
 * Default (1).  Every segment is decided by the stamping trigger's
 * evaluation; the answer is checked against classify's.
 */
Datum
segext_explain_classify(PG_FUNCTION_ARGS)
{
	SegextObjectId company = *PG_GETARG_SEGEXT_OBJECTID_P(0);
	Jsonb	   *event = PG_GETARG_JSONB_P(1);
	ReturnSetInfo *rsinfo;
	const SegextSegmentList *list;
	EventRow	row;
	int32		group_id;
	int32		chosen;
	int32		explained = 1;
	int			ordinal = 0;
	Oid			types[1];
	Datum		args[1];

	segext_init_materialized_srf(fcinfo);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	classify_row(event, &row);
	segext_check_company_read_access(&company);

	/* segments left out of event stamping (before the cached list is read) */
	SPI_connect();
	types[0] = segext_objectid_type();
	args[0] = PointerGetDatum(&company);
	if (SPI_execute_with_args("SELECT s.number, s.reason FROM segext.check_event_segments($1) AS s",
							  1, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int32		number = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1, &isnull));
		char	   *node = psprintf("segment %d", number);

		explain_classify_put(rsinfo, &ordinal, number, "segment", 0, node, node,
							 psprintf("left out of event stamping: %s",
									  SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2)),
							 "field criteria only", false);
	}
	SPI_finish();

	list = segext_segment_cache_lookup(&company);
	chosen = classify_event(list, &row, &group_id);
	for (int i = 0; i < list->nsegments && explained == 1; i++)
	{
		const SegextCachedSegment *seg = &list->segments[i];
		SegextExplain *ex = segext_explain_create();
		bool		matched = segext_row_plan_explain(seg->plan, segext_event_field_lookup, &row, ex);
		ListCell   *lc;
		char	   *node;

		foreach(lc, segext_explain_steps(ex))
		{
			SegextExplainStep *step = (SegextExplainStep *) lfirst(lc);

			explain_classify_put(rsinfo, &ordinal, seg->number, step->path, step->depth,
								 step->criterion >= 0 ?
								 segext_criterion_to_cstring(seg->criteria, step->criterion) :
								 step->subject,
								 step->subject, step->value, step->requirement, step->matched);
		}
		node = psprintf("segment %d", seg->number);
		explain_classify_put(rsinfo, &ordinal, seg->number, "segment", 0, node, node,
							 matched ? "criteria matched, the first segment that did" :
							 "criteria did not match",
							 "criteria to match, tried by position then number",
							 matched);
		if (matched)
			explained = seg->number;
	}
	if (explained == 1)
		explain_classify_put(rsinfo, &ordinal, 1, "segment", 0, "segment 1", "segment 1",
							 "no segment matched: the event's segment is Default",
							 "no segment to match", true);
	if (explained != chosen)
		elog(ERROR, "explain_classify found segment %d, classify %d", explained, chosen);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(segext_check_event_triggers_on_create);
PG_FUNCTION_INFO_V1(segext_check_event_trigger);

/*
 * segext_check_event_triggers_on_create is the ddl_command_end event trigger
 * of CREATE TRIGGER: it checks every segext.stamp_event() trigger the
 * command made (segext_check_event_trigger), raising the error the trigger
 * would raise when fired, without the CONTEXT of a statement of its own.
 */
Datum
segext_check_event_triggers_on_create(PG_FUNCTION_ARGS)
{
	Oid		   *triggers;
	Oid		   *relations;
	uint64		n;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by event trigger manager", "check_event_triggers_on_create")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT t.oid, t.tgrelid FROM pg_catalog.pg_event_trigger_ddl_commands() AS c"
					" JOIN pg_catalog.pg_trigger AS t ON t.oid OPERATOR(pg_catalog.=) c.objid"
					" WHERE c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass"
					" AND t.tgfoid OPERATOR(pg_catalog.=) 'segext.stamp_event()'::pg_catalog.regprocedure",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed");
	n = SPI_processed;
	triggers = palloc(sizeof(Oid) * (n + 1));
	relations = palloc(sizeof(Oid) * (n + 1));
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		triggers[i] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		relations[i] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_finish();
	for (uint64 i = 0; i < n; i++)
		DirectFunctionCall2(segext_check_event_trigger, ObjectIdGetDatum(triggers[i]),
							ObjectIdGetDatum(relations[i]));
	PG_RETURN_VOID();
}

/*
 * segext_check_event_trigger checks the arguments of a stamp_event trigger
 * against its table now, raising the error the trigger would raise when
 * fired; called by the CREATE TRIGGER event trigger.
 */
Datum
segext_check_event_trigger(PG_FUNCTION_ARGS)
{
	Oid			tgoid = PG_GETARG_OID(0);
	Oid			relid = PG_GETARG_OID(1);
	Relation	rel;
	TriggerDesc *trigdesc;
	StampColumns cols;
	int			i;
	bool		checked = false;

	if (pg_class_aclcheck(relid, GetUserId(), ACL_TRIGGER | ACL_SELECT) != ACLCHECK_OK &&
		pg_class_aclcheck(relid, GetUserId(), ACL_TRIGGER) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(get_rel_relkind(relid)),
					   get_rel_name(relid));

	rel = table_open(relid, AccessShareLock);
	trigdesc = rel->trigdesc;
	for (i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
	{
		Trigger    *trigger = &trigdesc->triggers[i];

		if (trigger->tgoid != tgoid)
			continue;
		if (!TRIGGER_FOR_ROW(trigger->tgtype) || !TRIGGER_FOR_BEFORE(trigger->tgtype) ||
			!TRIGGER_FOR_INSERT(trigger->tgtype) || TRIGGER_FOR_UPDATE(trigger->tgtype) ||
			TRIGGER_FOR_DELETE(trigger->tgtype) || TRIGGER_FOR_TRUNCATE(trigger->tgtype))
			ereport(ERROR,
					(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
					 errmsg("trigger \"%s\" on relation \"%s\" must be BEFORE INSERT FOR EACH ROW",
							trigger->tgname, RelationGetRelationName(rel)),
					 errdetail("Trigger function segext.stamp_event() stamps an event once, when it is inserted."),
					 errhint("Recreate the trigger as BEFORE INSERT ON \"%s\" FOR EACH ROW.",
							 RelationGetRelationName(rel))));
		resolve_columns(rel, trigger->tgnargs, trigger->tgargs, &cols);
		checked = true;
	}
	table_close(rel, AccessShareLock);

	PG_RETURN_BOOL(checked);
}

PG_FUNCTION_INFO_V1(segext_event_criteria_usable);

/*
 * segext_event_criteria_usable tells whether events can be matched against
 * a criteria value, i.e. whether all its criteria are field criteria.
 */
Datum
segext_event_criteria_usable(PG_FUNCTION_ARGS)
{
	SegextCriteria *criteria = PG_GETARG_SEGEXT_CRITERIA_P(0);

	PG_RETURN_BOOL(segext_criteria_is_field_only(criteria));
}
