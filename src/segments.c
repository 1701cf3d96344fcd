/*-------------------------------------------------------------------------
 *
 * segments.c
 *	  The rules of segext.segments: names, refs, positions and numbers (the
 *	  built-ins 0 "All" and 1 "Default" are created with their company and
 *	  never changed or deleted; user numbers are assigned when none is
 *	  given), the company's max_segments and last segment, no delete of a
 *	  segment still in a channel's mix; the in_segment references between a
 *	  company's segments; and segext.reorder_segments.
 *
 * Criteria that name other segments (in_segment) are checked when a
 * segment row is written, after locking the company row: each named
 * segment must be one of the company's (a number is replaced by its id),
 * never 1 "Default", and the references must not close a cycle; a segment
 * that such criteria name cannot be deleted.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "unique_detail.h"
#include "segment_locks.h"
#include "companies.h"
#include "criteria.h"
#include "objectid.h"
#include "role_switch.h"
#include "rules.h"
#include "segments.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/rel.h"

/* The highest position of a segment. */
#define POSITION_MAX		65535

/* The queries of the segment rules and of the reorder. */
typedef enum SegmentsQuery
{
	RQ_COUNT_USER_SEGMENTS,
	RQ_SEGMENT_IN_MIX,
	RQ_SEGMENT_BY_ID,
	RQ_REORDER_MISSING,
	RQ_REORDER_UPDATE,
	RQ_SEGMENT_GRAPH,
	RQ_COMPANY_NAME,
	RQ_COUNT
} SegmentsQuery;

static RulesQuery segments_queries[RQ_COUNT] = {
	[RQ_COUNT_USER_SEGMENTS] = {
		"SELECT pg_catalog.count(*)::pg_catalog.int4 FROM segext.segments"
		" WHERE company_id OPERATOR(pg_catalog.=) $1 AND number OPERATOR(pg_catalog.>=) 2", 1, {KEPT_ARG_OBJECTID}
	},
	[RQ_SEGMENT_IN_MIX] = {
		"SELECT c.name, pg_catalog.count(*) OVER ()::pg_catalog.int4 FROM segext.channel_segments cs"
		" JOIN segext.channels c ON c.company_id OPERATOR(pg_catalog.=) cs.company_id"
		" AND c.id OPERATOR(pg_catalog.=) cs.channel_id"
		" WHERE cs.company_id OPERATOR(pg_catalog.=) $1 AND cs.segment_id OPERATOR(pg_catalog.=) $2"
		" ORDER BY c.name LIMIT 1", 2, {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID}
	},
	[RQ_SEGMENT_BY_ID] = {
		"SELECT number, name FROM segext.segments"
		" WHERE company_id OPERATOR(pg_catalog.=) $1 AND id OPERATOR(pg_catalog.=) $2", 2, {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID}
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
	/* every segment of a company with its criteria, for the in_segment rules */
	[RQ_SEGMENT_GRAPH] = {
		"SELECT id, number, name, criteria FROM segext.segments"
		" WHERE company_id OPERATOR(pg_catalog.=) $1 ORDER BY number", 1, {KEPT_ARG_OBJECTID}
	},
	[RQ_COMPANY_NAME] = {
		"SELECT name FROM segext.companies WHERE id OPERATOR(pg_catalog.=) $1", 1, {KEPT_ARG_OBJECTID}
	},
};

/* The number a new user segment of a company gets when it gives none. */
static RulesKeyAssigner segment_numbers = RULES_KEY_ASSIGNER("segext.segments", "number", 2, SEGMENT_NUMBER_MAX);

/* The keys a unique violation of a segment is reported by. */
static const char *const segment_keys[] = {"name", "ref", "number", "id"};

/*
 * rules_segment_number finds the number of the segment of a company with
 * this id (with latest, reading with a snapshot taken now); false when the
 * company has no such segment.  The caller is connected to SPI.
 */
bool
rules_segment_number(Datum company, Datum id, bool latest, int32 *number)
{
	Datum		args[2];
	bool		isnull;

	args[0] = company;
	args[1] = id;
	rules_exec(&segments_queries[RQ_SEGMENT_BY_ID], args, latest);
	if (SPI_processed == 0)
		return false;
	*number = DatumGetInt32(rules_result(1, &isnull));
	return true;
}

/* check_segment_fields validates the name, ref and position of a segment. */
static void
check_segment_fields(Relation rel, HeapTuple tuple)
{
	bool		isnull;
	Datum		position;

	rules_check_name("segment", "name", rules_column_text(rel, tuple, "name"));
	rules_check_name("segment", "ref", rules_column_text(rel, tuple, "ref"));
	position = rules_column_value(rel, tuple, "position", &isnull);
	if (!isnull && (DatumGetInt32(position) < 0 || DatumGetInt32(position) > POSITION_MAX))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment position %d is out of range", DatumGetInt32(position)),
				 errdetail("The position of segment \"%s\" must be from 0 to %d.",
						   rules_column_text(rel, tuple, "name"), POSITION_MAX),
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

	rules_exec(&segments_queries[RQ_SEGMENT_GRAPH], &company, latest);
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

/* ref_label describes a segment of the graph for messages: segment N "name". */
static char *
ref_label(const RefNode *r)
{
	return psprintf("segment %d \"%s\"", r->number, r->name ? r->name : "");
}

/*
 * report_missing_ref raises 23503 for a segment that an in_segment
 * criterion names, by id (id not NULL) or by number, and that the company
 * of graph g does not have; the DETAIL names the segment being saved, or
 * "the criteria" for a preview.
 */
static void report_missing_ref(const RefGraph *g, const SegextObjectId *id, int32 number)
			pg_attribute_noreturn();

static void
report_missing_ref(const RefGraph *g, const SegextObjectId *id, int32 number)
{
	const char *self_label = g->self != NULL ? ref_label(g->self) : "the criteria";
	const char *names = g->self != NULL ? "names" : "name";
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

	if (id != NULL)
	{
		segext_objectid_to_hex(id, hex);
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("segment \"%s\" named by an in_segment criterion does not exist", hex),
				 errdetail("Company \"%s\" has no segment with id \"%s\", which %s %s.",
						   g->company_name, hex, self_label, names),
				 errhint("Name a segment of the same company in \"segment\", by its number or its id.")));
	}
	ereport(ERROR,
			(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
			 errmsg("segment %d named by an in_segment criterion does not exist", number),
			 errdetail("Company \"%s\" has no segment number %d, which %s %s.",
					   g->company_name, number, self_label, names),
			 errhint("Name a segment of the same company in \"segment\", by its number or its id.")));
}

/* resolve_ref_number finds the id of a segment that criteria name by number (23503 when none). */
static void
resolve_ref_number(int32 number, void *arg, SegextObjectId *id)
{
	RefGraph   *g = (RefGraph *) arg;
	RefNode    *r = ref_node_by_number(g, number);

	if (r == NULL)
		report_missing_ref(g, NULL, number);
	*id = r->id;
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

		if (r == NULL)
			report_missing_ref(g, &refs[i].id, 0);
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
	Datum		criteria = rules_column_value(rel, tuple, "criteria", &isnull);
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
	company = rules_column_value(rel, tuple, "company_id", &isnull);
	if (isnull)
		return tuple;			/* the NOT NULL constraint reports it */
	memset(&g, 0, sizeof(g));
	memset(&self, 0, sizeof(self));
	id = rules_column_value(rel, tuple, "id", &isnull);
	if (isnull)
		return tuple;			/* the NOT NULL constraint reports it */
	memcpy(&self.id, DatumGetPointer(id), SEGEXT_OBJECTID_LEN);
	self.number = DatumGetInt32(rules_column_value(rel, tuple, "number", &isnull));
	self.name = rules_column_text(rel, tuple, "name");
	rules_spi_begin(&spi, rel->rd_rel->relowner);
	if (!rules_lock_company(company, NULL, NULL, &g.company_name))
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
	return rules_set_column(rel, tuple, "criteria", PointerGetDatum(resolved));
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
	rules_exec(&segments_queries[RQ_COMPANY_NAME], args, false);
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
	Datum		company = rules_column_value(rel, tuple, "company_id", &isnull);
	Datum		number = rules_column_value(rel, tuple, "number", &number_null);
	char	   *name = rules_column_text(rel, tuple, "name");
	int32		assigned = -1;
	int32		max_segments;
	int32		count;
	char	   *company_name;
	Datum		id;
	RulesSpi	spi;

	if (isnull)
		return tuple;			/* the NOT NULL constraint reports it */
	if (!number_null && segext_creating_builtins_of(company) &&
		(DatumGetInt32(number) == SEGMENT_ALL || DatumGetInt32(number) == SEGMENT_DEFAULT))
		return tuple;
	segext_check_company_of_new_row(rel, tuple);

	rules_spi_begin(&spi, rel->rd_rel->relowner);
	id = rules_column_value(rel, tuple, "id", &isnull);
	if (!isnull && rules_segment_number(company, id, true, &assigned))
	{
		rules_spi_end(&spi);
		return number_null ? rules_set_column(rel, tuple, "number", Int32GetDatum(assigned)) : tuple;
	}
	check_segment_fields(rel, tuple);
	if (!number_null)
		check_segment_number(DatumGetInt32(number), name);
	if (!rules_lock_company(company, &max_segments, NULL, &company_name))
		rules_refuse_unknown_company(company, "segment");
	rules_exec(&segments_queries[RQ_COUNT_USER_SEGMENTS], &company, true);
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
		assigned = rules_assign_key(&segment_numbers, company);
		if (assigned < 0)
			elog(ERROR, "no free segment number left");
	}
	rules_spi_end(&spi);
	if (assigned >= 0)
		tuple = rules_set_column(rel, tuple, "number", Int32GetDatum(assigned));
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
	int32		old_number = DatumGetInt32(rules_column_value(rel, oldtuple, "number", &isnull));
	Datum		new_number;

	if (old_number == SEGMENT_ALL || old_number == SEGMENT_DEFAULT)
	{
		const char *column = rules_first_changed_column(rel, oldtuple, newtuple);

		if (column != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_SEGEXT_FORBIDDEN),
					 errmsg("built-in segment %d \"%s\" cannot be updated", old_number,
							rules_column_text(rel, oldtuple, "name")),
					 errdetail("Column \"%s\" of built-in segment %d \"%s\" cannot change: segments 0 \"All\" and 1 \"Default\" are maintained by segext and always have position 0.",
							   column, old_number, rules_column_text(rel, oldtuple, "name")),
					 errhint("Update user segments only (numbers %d to %d).",
							 SEGMENT_NUMBER_MIN, SEGMENT_NUMBER_MAX)));
		return newtuple;
	}
	new_number = rules_column_value(rel, newtuple, "number", &isnull);
	if (!isnull && rules_column_changed(rel, oldtuple, newtuple, "number"))
		check_segment_number(DatumGetInt32(new_number),
							 rules_column_text(rel, oldtuple, "name"));
	check_segment_fields(rel, newtuple);
	if (rules_column_changed(rel, oldtuple, newtuple, "criteria"))
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
		if (rules_objectid_equal(PointerGetDatum(&g.nodes[i].id), id))
			continue;
		for (int k = 0; k < g.nodes[i].nrefs; k++)
		{
			if (!rules_objectid_equal(PointerGetDatum(&g.nodes[i].refs[k].id), id))
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
	Datum		company = rules_column_value(rel, tuple, "company_id", &isnull);
	Datum		id = rules_column_value(rel, tuple, "id", &isnull);
	int32		number = DatumGetInt32(rules_column_value(rel, tuple, "number", &isnull));
	char	   *name = rules_column_text(rel, tuple, "name");
	char	   *company_name;
	Datum		args[2];
	RulesSpi	spi;

	rules_spi_begin(&spi, rel->rd_rel->relowner);
	if (!rules_lock_company(company, NULL, NULL, &company_name))
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
	rules_exec(&segments_queries[RQ_SEGMENT_IN_MIX], args, true);
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
	rules_exec(&segments_queries[RQ_COUNT_USER_SEGMENTS], &company, true);
	if (DatumGetInt32(rules_result(1, &isnull)) <= 1)
		ereport(ERROR,
				(errcode(ERRCODE_SEGEXT_FORBIDDEN),
				 errmsg("cannot delete the last segment of company \"%s\"", company_name),
				 errdetail("Segment %d \"%s\" is the only user segment of company \"%s\", and a company keeps at least one.",
						   number, name, company_name),
				 errhint("Create another segment first, or update this one instead of deleting it.")));
	rules_spi_end(&spi);
}

/* The row trigger of segments: its name, messages, keys and steps. */
static const RulesRowTrigger segments_trigger = {
	.name = "segments_rules",
	.what = "segment",
	.keys = segment_keys,
	.nkeys = lengthof(segment_keys),
	.before_insert = segments_before_insert,
	.before_update = segments_before_update,
	.before_delete = segments_before_delete,
};

PG_FUNCTION_INFO_V1(segext_segments_rules);

/*
 * segext_segments_rules is the BEFORE INSERT OR UPDATE OR DELETE row trigger
 * of segext.segments; the columns segext maintains get its values first.
 */
Datum
segext_segments_rules(PG_FUNCTION_ARGS)
{
	return rules_row_trigger(fcinfo, &segments_trigger);
}

/* int32_cmp orders int32 values for qsort. */
static int
int32_cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/*
 * check_segment_order refuses a segment order that is not a one-dimensional
 * array of distinct user segment numbers, at most one per position; returns
 * how many numbers it lists.
 */
static int
check_segment_order(ArrayType *numbers)
{
	Datum	   *elems;
	bool	   *nulls;
	int			count;
	int			i;
	int32	   *sorted;

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
	return count;
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
	int			count;
	char		company_hex[SEGEXT_OBJECTID_HEX_LEN + 1];
	Datum		args[2];
	RulesSpi	spi;

	segext_objectid_to_hex((SegextObjectId *) DatumGetPointer(company), company_hex);
	count = check_segment_order(numbers);
	rules_spi_begin(&spi, InvalidOid);
	args[0] = company;
	args[1] = PointerGetDatum(numbers);
	/* the lock order: every segment of the company, then the company */
	segext_lock_company_segments((SegextObjectId *) DatumGetPointer(company));
	if (!rules_lock_company(company, NULL, NULL, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("company \"%s\" does not exist", company_hex),
				 errdetail("No company with id %s is visible to role \"%s\".",
						   company_hex, GetUserNameFromId(GetUserId(), false)),
				 errhint("Pass the id of your current company (segext.current_company_id()).")));
	if (count > 0)
	{
		rules_exec(&segments_queries[RQ_REORDER_MISSING], args, false);
		if (SPI_processed > 0)
		{
			bool		isnull;
			int32		missing = DatumGetInt32(rules_result(1, &isnull));

			segext_report_missing_segment(NULL, missing, company_hex,
										  "List only numbers of existing user segments of the company.");
		}
		rules_exec(&segments_queries[RQ_REORDER_UPDATE], args, false);
	}
	rules_spi_end(&spi);
	PG_RETURN_VOID();
}

/*
 * segext_report_missing_segment raises 22023 for a segment of a company
 * that a caller named by id (id not NULL: among the current company's
 * segments) or by number (of the company whose id company_hex spells), with
 * the caller's hint.
 */
void
segext_report_missing_segment(const SegextObjectId *id, int32 number,
							  const char *company_hex, const char *hint)
{
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

	if (id != NULL)
	{
		segext_objectid_to_hex(id, hex);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment \"%s\" does not exist", hex),
				 errdetail("No segment of the current company has id \"%s\".", hex),
				 errhint("%s", hint)));
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("segment %d does not exist", number),
			 errdetail("Company \"%s\" has no segment numbered %d.", company_hex, number),
			 errhint("%s", hint)));
}
