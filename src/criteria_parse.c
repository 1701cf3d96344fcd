/*-------------------------------------------------------------------------
 *
 * criteria_parse.c
 *	  The criteria parser's document level: the errors that name where a
 *	  problem is, the shape of the document (a list of parts, a flat list of
 *	  criteria or a tree of groups), the nesting limits, and the assembly of
 *	  the binary value.  Text input is parsed by PostgreSQL's own jsonb_in and
 *	  then walked like a jsonb document; each criterion is read by
 *	  criteria_params.c.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "criteria.h"
#include "criteria_build.h"
#include "criteria_kinds.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

/* Hint shown with every shape error. */
#define SHAPE_HINT "Segment criteria are a JSON array of parts, [{\"criteria\": [c1, c2]}, {\"criteria\": [c3]}] meaning (c1 OR c2) AND c3, a flat array of criteria, [c1, c2] meaning c1 AND c2, or a tree of groups, {\"all\": [c1, {\"any\": [c2, {\"not\": c3}]}]} meaning c1 AND (c2 OR NOT c3)."

/* segext_criteria_shape_error reports a document whose overall shape is wrong (22P02). */
void
segext_criteria_shape_error(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type criteria"),
			 errdetail("%s", detail),
			 errhint("%s", SHAPE_HINT)));
	pg_unreachable();
}

/*
 * segext_criteria_error reports a semantic problem (22023) naming the part, the
 * criterion and its kind, with a hint showing the expected shape.
 */
void
segext_criteria_error(CritBuild *b, const char *fmt,...)
{
	StringInfoData msg;
	StringInfoData where;

	initStringInfo(&msg);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&msg, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&msg, needed);
	}

	initStringInfo(&where);
	if (b->path != NULL)
		appendStringInfoString(&where, b->path);
	else
	{
		appendStringInfo(&where, "part %d", b->part_no);
		if (b->crit_no > 0)
			appendStringInfo(&where, ", criterion %d", b->crit_no);
	}
	if (b->label)
		appendStringInfo(&where, " (%s)", b->label);

	if (b->kind > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid segment criteria: %s: %s", where.data, msg.data),
				 errhint("A %s criterion looks like %s.",
						 b->kind == SEGEXT_CRIT_FIELD ? "field" : segext_criteria_kinds[b->kind].name,
						 segext_criteria_kinds[b->kind].example)));
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid segment criteria: %s: %s", where.data, msg.data),
				 errhint("%s", SHAPE_HINT)));
	pg_unreachable();
}

/*
 * segext_criteria_check_keys rejects any key of obj that is not in allowed (or in ignored,
 * which are accepted and dropped).
 */
void
segext_criteria_check_keys(CritBuild *b, JsonbContainer *obj, const char *const *allowed,
						   int nallowed, const char *ignored, const char *what)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		int			i;
		bool		ok = false;

		if (tok != WJB_KEY)
			continue;
		for (i = 0; i < nallowed && !ok; i++)
			ok = allowed[i] != NULL && key_eq(&v, allowed[i]);
		if (!ok && ignored && key_eq(&v, ignored))
			ok = true;
		if (!ok)
			segext_criteria_error(b, "unrecognized key \"%.*s\"%s", v.val.string.len,
								  v.val.string.val, what);
	}
}

/* segext_criteria_group_kind tells which group an object is (SEGEXT_NODE_*), or 0 for none. */
int
segext_criteria_group_kind(JsonbContainer *obj)
{
	for (int k = SEGEXT_NODE_ALL; k <= SEGEXT_NODE_NOT; k++)
		if (object_get(obj, segext_criteria_group_keys[k]) != NULL)
			return k;
	return 0;
}

/* parse_part validates a {"criteria": [...]} part and its criteria. */
static void
parse_part(CritBuild *b, JsonbValue *v)
{
	static const char *const part_keys[] = {"criteria"};
	JsonbContainer *obj = v->val.binary.data;
	JsonbValue *cv = object_get(obj, "criteria");
	JsonbContainer *arr;
	int			n,
				i;

	b->crit_no = 0;
	b->kind = 0;
	b->label = NULL;
	segext_criteria_check_keys(b, obj, part_keys, 1, "segmentPartId", "");
	if (!is_array(cv))
		segext_criteria_shape_error(psprintf("The \"criteria\" of part %d is not a JSON array.", b->part_no));
	arr = cv->val.binary.data;
	n = JsonContainerSize(arr);
	if (n == 0)
		segext_criteria_error(b, "the part has no criteria");
	for (i = 0; i < n; i++)
	{
		b->crit_no = i + 1;
		segext_criteria_parse_criterion(b, getIthJsonbValueFromContainer(arr, i));
	}
}

/* end_part records where the current part ends. */
static void
end_part(CritBuild *b)
{
	if (b->nparts == b->maxparts)
	{
		b->maxparts *= 2;
		b->part_end = repalloc(b->part_end, sizeof(uint32) * b->maxparts);
	}
	b->part_end[b->nparts++] = b->ncrits;
}

/* depth_error reports criteria nested deeper than the documented limit. */
static void
depth_error(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid segment criteria: arrays and objects nested more than %d levels deep",
					SEGEXT_CRITERIA_MAX_DEPTH),
			 errdetail("Parts need at most 6 levels: the list, a part, its criteria, a criterion, its labels and a label. A tree of groups has at most %d levels of groups and criteria, which take two levels for each \"all\" or \"any\" group, one for each \"not\" and three for the criterion.",
					   SEGEXT_CRITERIA_MAX_LEVELS),
			 errhint("%s", SHAPE_HINT)));
}

/* add_node appends a node to the tree being built and returns its index. */
static int
add_node(CritBuild *b, uint8 kind, uint32 arg)
{
	if (b->nnodes >= SEGEXT_CRITERIA_MAX_NODES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid segment criteria: more than %d groups and criteria",
						SEGEXT_CRITERIA_MAX_NODES),
				 errdetail("The tree has more than %d nodes at %s; a tree of groups holds at most %d groups and criteria in all.",
						   SEGEXT_CRITERIA_MAX_NODES, b->path, SEGEXT_CRITERIA_MAX_NODES),
				 errhint("Split the condition into several segments, or list many values in one criterion (e.g. posIds, skuIds, customers, or a field's \"in\").")));
	if (b->nnodes == b->maxnodes)
	{
		b->maxnodes *= 2;
		b->nodes = repalloc(b->nodes, sizeof(SegextNode) * b->maxnodes);
	}
	memset(&b->nodes[b->nnodes], 0, sizeof(SegextNode));
	b->nodes[b->nnodes].kind = kind;
	b->nodes[b->nnodes].arg = arg;
	return b->nnodes++;
}

/*
 * parse_node validates one node of a tree at the given level (the root is
 * level 1) and path (a SQL/JSON path from the root "$", e.g. $.all[1].not,
 * array positions from 0): a group and its children, or a criterion.
 */
static void
parse_node(CritBuild *b, JsonbValue *v, int level, const char *path)
{
	JsonbContainer *obj;
	int			gk;
	int			self;
	JsonbValue *gv;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	b->path = path;
	b->kind = 0;
	b->label = NULL;
	if (!is_object(v))
		segext_criteria_shape_error(psprintf("The node at %s is not a JSON object; a node of a tree is a group or a criterion.", path));
	if (level > SEGEXT_CRITERIA_MAX_LEVELS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid segment criteria: groups nested more than %d levels deep",
						SEGEXT_CRITERIA_MAX_LEVELS),
				 errdetail("The node at %s is at level %d; a tree of groups has at most %d levels, counting its root group and its criteria.",
						   path, level, SEGEXT_CRITERIA_MAX_LEVELS),
				 errhint("Flatten the tree: an \"all\" inside an \"all\" (or an \"any\" inside an \"any\") can take its children, and \"not\" inside \"not\" cancels out.")));
	obj = v->val.binary.data;
	gk = segext_criteria_group_kind(obj);
	if (gk == 0)
	{
		add_node(b, SEGEXT_NODE_CRITERION, b->ncrits);
		segext_criteria_parse_criterion(b, v);
		return;
	}
	self = add_node(b, gk, 0);
	if (JsonContainerSize(obj) != 1)
		segext_criteria_error(b, "a group has exactly one key, \"%s\"", segext_criteria_group_keys[gk]);
	gv = object_get(obj, segext_criteria_group_keys[gk]);
	if (gk == SEGEXT_NODE_NOT)
		parse_node(b, gv, level + 1, psprintf("%s.not", path));
	else
	{
		JsonbContainer *arr;
		int			n;

		if (!is_array(gv))
			segext_criteria_error(b, "\"%s\" must be a JSON array of criteria and groups", segext_criteria_group_keys[gk]);
		arr = gv->val.binary.data;
		n = JsonContainerSize(arr);
		if (n == 0)
			segext_criteria_error(b, "the group \"%s\" is empty; it needs at least one criterion or group", segext_criteria_group_keys[gk]);
		for (int i = 0; i < n; i++)
			parse_node(b, getIthJsonbValueFromContainer(arr, i), level + 1,
					   psprintf("%s.%s[%d]", path, segext_criteria_group_keys[gk], i));
	}
	b->nodes[self].arg = b->nnodes;
	b->path = path;
}

/*
 * check_text_depth refuses JSON text whose arrays and objects nest deeper
 * than SEGEXT_CRITERIA_MAX_DEPTH, before the JSON parser recurses into it.
 */
static void
check_text_depth(const char *json)
{
	int			depth = 0;
	bool		in_string = false;

	for (const char *p = json; *p; p++)
	{
		if (in_string)
		{
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				in_string = false;
		}
		else if (*p == '"')
			in_string = true;
		else if (*p == '[' || *p == '{')
		{
			if (++depth > SEGEXT_CRITERIA_MAX_DEPTH)
				depth_error();
		}
		else if (*p == ']' || *p == '}')
			depth--;
	}
}

/* check_jsonb_depth refuses a jsonb document nested deeper than the limit. */
static void
check_jsonb_depth(Jsonb *jb)
{
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			depth = 0;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_ARRAY || tok == WJB_BEGIN_OBJECT)
		{
			if (++depth > SEGEXT_CRITERIA_MAX_DEPTH)
				depth_error();
		}
		else if (tok == WJB_END_ARRAY || tok == WJB_END_OBJECT)
			depth--;
	}
}

/*
 * criteria_build_from_jsonb is the one parser: it validates a jsonb
 * document in either shape and returns the binary criteria value.
 */
static SegextCriteria *
criteria_build_from_jsonb(Jsonb *jb)
{
	JsonbContainer *root = &jb->root;
	CritBuild	b;
	int			n,
				i;
	bool		parts_shape = false;
	Size		crit_off,
				data_off,
				total;
	SegextCriteria *result;
	bool		tree;

	tree = !JB_ROOT_IS_SCALAR(jb) && JsonContainerIsObject(root);
	if (JB_ROOT_IS_SCALAR(jb) || !(JsonContainerIsArray(root) || tree))
		segext_criteria_shape_error("Segment criteria must be a JSON array, or a JSON object that is a group.");
	check_jsonb_depth(jb);
	n = tree ? 1 : JsonContainerSize(root);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid segment criteria: the list of criteria is empty"),
				 errdetail("A segment condition needs at least one part with at least one criterion."),
				 errhint("%s", SHAPE_HINT)));
	if (n > PG_UINT16_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("invalid segment criteria: more than %d parts", PG_UINT16_MAX)));

	memset(&b, 0, sizeof(b));
	b.maxcrits = 8;
	b.crits = palloc(sizeof(SegextCriterion) * b.maxcrits);
	b.maxparts = 8;
	b.part_end = palloc(sizeof(uint32) * b.maxparts);
	b.field_only = true;
	b.maxnodes = 8;
	b.nodes = palloc(sizeof(SegextNode) * b.maxnodes);
	initStringInfo(&b.data);

	if (tree)
	{
		JsonbValue	rootv;

		if (segext_criteria_group_kind(root) == 0)
			segext_criteria_shape_error("The JSON object at the root is not a group; a tree's root is {\"all\": [...]}, {\"any\": [...]} or {\"not\": ...}.");
		rootv.type = jbvBinary;
		rootv.val.binary.data = root;
		rootv.val.binary.len = VARSIZE(jb) - VARHDRSZ;
		parse_node(&b, &rootv, 1, "$");
		n = 0;					/* no parts */
	}

	for (i = 0; i < n; i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(root, i);
		bool		is_part;

		b.part_no = i + 1;
		if (!is_object(v))
			segext_criteria_shape_error(psprintf("Item %d of the array is not a JSON object.", i + 1));
		is_part = object_get(v->val.binary.data, "criteria") != NULL;
		if (i == 0)
			parts_shape = is_part;
		else if (is_part != parts_shape)
			segext_criteria_shape_error(psprintf("Item %d is %s, but item 1 is %s; use one shape for the whole array.",
										i + 1, is_part ? "a part" : "a criterion",
										parts_shape ? "a part" : "a criterion"));
		if (is_part)
			parse_part(&b, v);
		else
		{
			b.crit_no = 1;
			segext_criteria_parse_criterion(&b, v);
		}
		end_part(&b);
	}

	crit_off = sizeof(SegextCriteria) + TYPEALIGN(8, sizeof(uint32) * b.nparts) +
		sizeof(SegextNode) * b.nnodes;
	data_off = crit_off + sizeof(SegextCriterion) * b.ncrits;
	total = data_off + b.data.len;
	if (total > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("segment criteria are too large")));
	result = palloc0(total);
	SET_VARSIZE(result, total);
	result->version = tree ? SEGEXT_CRITERIA_VERSION_TREE : SEGEXT_CRITERIA_VERSION_PARTS;
	result->flags = b.field_only ? SEGEXT_CRITERIA_FIELD_ONLY : 0;
	result->nparts = b.nparts;
	result->ncriteria = b.ncrits;
	result->nnodes = b.nnodes;
	memcpy((char *) result + sizeof(SegextCriteria), b.part_end, sizeof(uint32) * b.nparts);
	memcpy((char *) SEGEXT_CRITERIA_NODES(result), b.nodes, sizeof(SegextNode) * b.nnodes);
	memcpy((char *) result + crit_off, b.crits, sizeof(SegextCriterion) * b.ncrits);
	memcpy((char *) result + data_off, b.data.data, b.data.len);
	return result;
}

/* segext_criteria_from_jsonb validates a jsonb document into criteria. */
SegextCriteria *
segext_criteria_from_jsonb(Jsonb *jb)
{
	return criteria_build_from_jsonb(jb);
}

/*
 * segext_catch_data_exception, called in a PG_CATCH block, returns the error
 * being handled, taken off the error state, when it is a data exception
 * (class 22), and raises any other again.
 */
ErrorData *
segext_catch_data_exception(MemoryContext context)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(context);
	edata = CopyErrorData();
	if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
	{
		FreeErrorData(edata);
		PG_RE_THROW();
	}
	FlushErrorState();
	return edata;
}

/* segext_criteria_from_cstring parses JSON text into criteria. */
SegextCriteria *
segext_criteria_from_cstring(const char *json)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	Datum		jb = (Datum) 0;

	/*
	 * jsonb_in reports some bad text with other data-exception codes: a
	 * \u0000 escape (which jsonb cannot store) as an untranslatable
	 * character, a number beyond numeric's range as out of range.  For
	 * criteria, all of them are bad text input (22P02).
	 */
	check_text_depth(json);
	PG_TRY();
	{
		jb = DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
	}
	PG_CATCH();
	{
		ErrorData  *edata = segext_catch_data_exception(oldcontext);

		edata->sqlerrcode = ERRCODE_INVALID_TEXT_REPRESENTATION;
		ReThrowError(edata);
	}
	PG_END_TRY();

	return criteria_build_from_jsonb(DatumGetJsonbP(jb));
}
