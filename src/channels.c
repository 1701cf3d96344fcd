/*-------------------------------------------------------------------------
 *
 * channels.c
 *	  The rules of segext.channels and of their segment mix
 *	  (segext.channel_segments): names and commissions, the company's
 *	  max_channels and last channel, the distributions of the mix and their
 *	  sum, checked at commit, and the two forms of the mix kept in step.
 *
 * The segment mix of a channel is checked by a deferred constraint
 * trigger, at commit, after locking the channel row FOR NO KEY UPDATE.
 *
 * A channel's segment_mix column is its rows of segext.channel_segments as
 * canonical JSON ([{"segment_id", "distribution"}] ordered by segment_id),
 * kept in step both ways: a statement that changes mix rows sets the column
 * of their channels (after locking them, reading with a snapshot taken after
 * the lock), and a mix written to the column is checked, stored canonical
 * and replaces the channel's rows.  The rows stay the source of truth of
 * the rules (foreign keys, the sum checked at commit, the default mix).
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "unique_detail.h"
#include "channels.h"
#include "rules.h"
#include "segments.h"
#include "trigger_check.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/rel.h"

/*
 * The canonical JSON of the mix rows m of one channel; the one expression
 * both directions of the segment_mix sync build the column with.
 */
#define MIX_JSON_OF(m) \
	"COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('segment_id', " m ".segment_id," \
	" 'distribution', " m ".distribution) ORDER BY " m ".segment_id), '[]'::pg_catalog.jsonb)"

/* The queries of the channel and segment mix rules. */
typedef enum ChannelsQuery
{
	RQ_COUNT_CHANNELS,
	RQ_CHANNEL_NAME,
	RQ_LOCK_CHANNEL,
	RQ_MIX_SUM,
	RQ_MIX_DEFAULT,
	RQ_LOCK_MIX_SEGMENTS,
	RQ_MIX_TYPE,
	RQ_MIX_BAD_ELEMENT,
	RQ_MIX_CANONICAL,
	RQ_MIX_STORED,
	RQ_MIX_WRITE,
	RQ_COUNT
} ChannelsQuery;

static RulesQuery channels_queries[RQ_COUNT] = {
	[RQ_COUNT_CHANNELS] = {
		"SELECT pg_catalog.count(*)::pg_catalog.int4 FROM segext.channels"
		" WHERE company_id OPERATOR(pg_catalog.=) $1", 1, {KEPT_ARG_OBJECTID}
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
	/* the segments named by a mix being written, as its foreign keys lock them */
	[RQ_LOCK_MIX_SEGMENTS] = {
		"SELECT FROM segext.segments s WHERE s.company_id OPERATOR(pg_catalog.=) $1"
		" AND s.id::pg_catalog.text OPERATOR(pg_catalog.=) ANY (SELECT pg_catalog.lower(e.v OPERATOR(pg_catalog.->>) 'segment_id')"
		" FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof($2) OPERATOR(pg_catalog.=) 'array' THEN $2 ELSE '[]'::pg_catalog.jsonb END) AS e(v)"
		" WHERE pg_catalog.jsonb_typeof(e.v) OPERATOR(pg_catalog.=) 'object')"
		" ORDER BY s.number OPERATOR(pg_catalog.<>) 0, s.id FOR KEY SHARE", 2, {KEPT_ARG_OBJECTID, JSONBOID}
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
};

/*
 * Set while segext keeps channels.segment_mix and segext.channel_segments in
 * step: the triggers of the other side then leave the write alone.
 */
static bool syncing_mix = false;

/* The keys a unique violation of a channel is reported by. */
static const char *const channel_keys[] = {"name", "id"};

static void check_channel_mix(Datum company, Datum channel);

/* check_commission refuses a negative, NaN or infinite commission. */
static void
check_commission(Relation rel, HeapTuple tuple)
{
	bool		isnull;
	Datum		commission = rules_column_value(rel, tuple, "commission", &isnull);

	if (isnull)
		return;
	if (rules_numeric_is_special(commission) ||
		DatumGetBool(DirectFunctionCall2(numeric_lt, commission, rules_numeric_const("0"))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid commission %s for channel \"%s\"",
						DatumGetCString(DirectFunctionCall1(numeric_out, commission)),
						rules_column_text(rel, tuple, "name")),
				 errdetail("A commission is a rate of 0 or more applied to revenue (0.2 = 20%%); it may exceed 1."),
				 errhint("Give channel \"%s\" a commission of 0 or more.",
						 rules_column_text(rel, tuple, "name"))));
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

	rules_exec(&channels_queries[RQ_MIX_TYPE], &mix, false);
	type = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (type == NULL || strcmp(type, "array") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"segment_mix\": not a JSON array"),
				 errdetail("The segment mix of channel \"%s\" is an array of objects with \"segment_id\" and \"distribution\", not a JSON %s.",
						   channel, type ? type : "null"),
				 errhint("Send for example [{\"segment_id\": \"...\", \"distribution\": 1}].")));
	rules_exec(&channels_queries[RQ_MIX_BAD_ELEMENT], &mix, false);
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
	Datum		mix = rules_column_value(rel, tuple, "segment_mix", &isnull);
	Datum		oldmix = (Datum) 0;
	Datum		canonical;
	char	   *name = rules_column_text(rel, tuple, "name");
	RulesSpi	spi;

	if (syncing_mix)
		return tuple;
	if (oldtuple != NULL)
		oldmix = rules_column_value(rel, oldtuple, "segment_mix", &oldnull);
	if (isnull)
		return rules_set_column(rel, tuple, "segment_mix",
						  !oldnull ? oldmix : DirectFunctionCall1(jsonb_in, CStringGetDatum("[]")));
	if (!oldnull && datum_image_eq(mix, oldmix, false, -1))
		return tuple;
	rules_spi_begin(&spi, rel->rd_rel->relowner);
	check_mix_shape(mix, name ? name : "");
	rules_exec(&channels_queries[RQ_MIX_CANONICAL], &mix, false);
	canonical = SPI_datumTransfer(rules_result(1, &isnull), false, -1);
	rules_spi_end(&spi);
	if (!oldnull && DatumGetBool(DirectFunctionCall2(jsonb_eq, canonical, oldmix)))
		canonical = oldmix;
	return rules_set_column(rel, tuple, "segment_mix", canonical);
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
	Datum		company = rules_column_value(rel, tuple, "company_id", &isnull);
	char	   *name = rules_column_text(rel, tuple, "name");
	char	   *company_name;
	int32		max_channels;
	int32		count;
	Datum		args[2];
	RulesSpi	spi;

	if (isnull)
		return tuple;			/* the NOT NULL constraint reports it */
	segext_check_company_of_new_row(rel, tuple);
	rules_spi_begin(&spi, rel->rd_rel->relowner);
	args[0] = company;
	args[1] = rules_column_value(rel, tuple, "id", &isnull);
	if (!isnull)
	{
		rules_exec(&channels_queries[RQ_MIX_STORED], args, true);
		if (SPI_processed > 0)
		{
			Datum		stored = SPI_datumTransfer(rules_result(1, &isnull), false, -1);

			rules_spi_end(&spi);
			(void) rules_column_value(rel, tuple, "segment_mix", &isnull);
			return isnull ? rules_set_column(rel, tuple, "segment_mix", stored) : tuple;
		}
	}
	rules_check_name("channel", "name", name);
	check_commission(rel, tuple);
	args[1] = rules_column_value(rel, tuple, "segment_mix", &isnull);
	if (!isnull)
		rules_exec(&channels_queries[RQ_LOCK_MIX_SEGMENTS], args, false);
	if (!rules_lock_company(company, NULL, &max_channels, &company_name))
		rules_refuse_unknown_company(company, "channel");
	{
		rules_exec(&channels_queries[RQ_COUNT_CHANNELS], &company, true);
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
 * channels_before_update validates a channel's name and commission and
 * prepares its segment mix.
 */
static HeapTuple
channels_before_update(Relation rel, HeapTuple oldtuple, HeapTuple newtuple)
{
	rules_check_name("channel", "name", rules_column_text(rel, newtuple, "name"));
	check_commission(rel, newtuple);
	segext_remember_row_keys(rel, newtuple, channel_keys, lengthof(channel_keys));
	return prepare_channel_mix(rel, oldtuple, newtuple);
}

/*
 * channels_before_delete refuses to delete the company's last channel, unless
 * the company itself is being deleted.
 */
static void
channels_before_delete(Relation rel, HeapTuple tuple)
{
	bool		isnull;
	Datum		company = rules_column_value(rel, tuple, "company_id", &isnull);
	char	   *name = rules_column_text(rel, tuple, "name");
	char	   *company_name;
	RulesSpi	spi;

	rules_spi_begin(&spi, rel->rd_rel->relowner);
	if (rules_lock_company(company, NULL, NULL, &company_name))
	{
		rules_exec(&channels_queries[RQ_COUNT_CHANNELS], &company, true);
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

/* The row trigger of channels: its name, messages, keys and steps. */
static const RulesRowTrigger channels_trigger = {
	.name = "channels_rules",
	.what = "channel",
	.keys = channel_keys,
	.nkeys = lengthof(channel_keys),
	.before_insert = channels_before_insert,
	.before_update = channels_before_update,
	.before_delete = channels_before_delete,
};

PG_FUNCTION_INFO_V1(segext_channels_rules);

/*
 * segext_channels_rules is the BEFORE INSERT OR UPDATE OR DELETE row trigger
 * of segext.channels; the columns segext maintains get its values first.
 */
Datum
segext_channels_rules(PG_FUNCTION_ARGS)
{
	return rules_row_trigger(fcinfo, &channels_trigger);
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
	int32		number;
	RulesSpi	spi;

	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;

	args[0] = rules_column_value(rel, tuple, "company_id", &isnull);
	if (isnull)
		return PointerGetDatum(tuple);
	segext_check_company_of_new_row(rel, tuple);
	distribution = rules_column_value(rel, tuple, "distribution", &isnull);
	if (!isnull &&
		(rules_numeric_is_special(distribution) ||
		 DatumGetBool(DirectFunctionCall2(numeric_le, distribution, rules_numeric_const("0"))) ||
		 DatumGetBool(DirectFunctionCall2(numeric_gt, distribution, rules_numeric_const("1")))))
	{
		char	   *channel = NULL;

		args[1] = rules_column_value(rel, tuple, "channel_id", &isnull);
		if (!isnull)
		{
			rules_spi_begin(&spi, rel->rd_rel->relowner);
			rules_exec(&channels_queries[RQ_CHANNEL_NAME], args, false);
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
	args[1] = rules_column_value(rel, tuple, "segment_id", &isnull);
	if (isnull)
		return PointerGetDatum(tuple);
	rules_spi_begin(&spi, rel->rd_rel->relowner);
	if (rules_segment_number(args[0], args[1], false, &number) && number == SEGMENT_ALL)
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
	rules_exec(&channels_queries[RQ_LOCK_CHANNEL], args, false);
	if (SPI_processed == 0)
		return;					/* deleted: its mix went with it */
	name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	rules_exec(&channels_queries[RQ_MIX_SUM], args, true);
	rows = DatumGetInt32(rules_result(1, &isnull));
	if (rows == 0)
	{
		rules_exec(&channels_queries[RQ_MIX_DEFAULT], args, false);
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
	Datum		company = rules_column_value(rel, trigdata->tg_trigtuple, "company_id", &isnull);
	Datum		channel = rules_column_value(rel, trigdata->tg_trigtuple, channel_column, &isnull);
	RulesSpi	spi;

	rules_spi_begin(&spi, rel->rd_rel->relowner);
	check_channel_mix(company, channel);
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		Datum		new_company = rules_column_value(rel, trigdata->tg_newtuple, "company_id", &isnull);
		Datum		new_channel = rules_column_value(rel, trigdata->tg_newtuple, channel_column, &isnull);

		if (!rules_objectid_equal(company, new_company) || !rules_objectid_equal(channel, new_channel))
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
	args[2] = rules_column_value(rel, tuple, "segment_mix", &isnull);
	if (isnull)
		return PointerGetDatum(NULL);
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		bool		oldnull;
		Datum		oldmix = rules_column_value(rel, trigdata->tg_trigtuple, "segment_mix", &oldnull);

		if (!oldnull && datum_image_eq(args[2], oldmix, false, -1))
			return PointerGetDatum(NULL);
	}
	else if (JB_ROOT_COUNT(DatumGetJsonbP(args[2])) == 0)
		return PointerGetDatum(NULL);	/* the default mix follows at commit */
	args[0] = rules_column_value(rel, tuple, "company_id", &isnull);
	args[1] = rules_column_value(rel, tuple, "id", &isnull);
	rules_spi_begin(&spi, InvalidOid);
	rules_exec_flagged(&syncing_mix, rules_plan(&channels_queries[RQ_MIX_WRITE]),
					   channels_queries[RQ_MIX_WRITE].sql,
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
		rules_exec_flagged(&syncing_mix, plan, sql.data, NULL, true);
	}
	rules_spi_end(&spi);
	return PointerGetDatum(NULL);
}

