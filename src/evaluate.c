/*-------------------------------------------------------------------------
 *
 * evaluate.c
 *	  Pure evaluation of compiled segext.criteria values: the walkers over
 *	  parts and trees of groups that decide a criteria value from the
 *	  decisions of its criteria, and what an explaining evaluation records
 *	  of each node.
 *
 * The criteria themselves are decided elsewhere: field criteria against the
 * fields of a row in evaluate_row.c, customer criteria against facts in
 * evaluate_customer.c, whose slots requirements.c assigns; the SQL entry
 * points criteria_match_event and criteria_match_facts are in
 * criteria_match_sql.c.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "utils/builtins.h"
#include "utils/json.h"

#include "evaluate_internal.h"

/* What an explaining evaluation records (see evaluate.h). */
struct SegextExplain
{
	MemoryContext cxt;			/* where the steps and their texts live */
	List	   *steps;			/* SegextExplainStep, in tree order */
	int			depth;			/* depth of the innermost open step, 0 when none */
	/* per depth d: the open step, its path, its children so far, matched ones */
	SegextExplainStep *open[SEGEXT_CRITERIA_MAX_LEVELS + 2];
	int			children[SEGEXT_CRITERIA_MAX_LEVELS + 2];
	int			matched[SEGEXT_CRITERIA_MAX_LEVELS + 2];
};

/* segext_explain_create makes an empty explanation in the current context. */
SegextExplain *
segext_explain_create(void)
{
	SegextExplain *ex = palloc0(sizeof(SegextExplain));

	ex->cxt = CurrentMemoryContext;
	return ex;
}

/* segext_explain_steps returns the recorded steps in tree order. */
List *
segext_explain_steps(const SegextExplain *explain)
{
	return explain->steps;
}

/*
 * explain_open records a node as the next child of the innermost open step
 * (or as the root) and makes it the innermost open step.
 */
static SegextExplainStep *
explain_open(SegextExplain *ex, const SegextCriteria *criteria, int node_kind,
			 int criterion)
{
	SegextExplainStep *step = palloc0(sizeof(SegextExplainStep));
	int			d = ex->depth + 1;

	if (d >= lengthof(ex->open))
		elog(ERROR, "criteria nested deeper than %d levels", SEGEXT_CRITERIA_MAX_LEVELS);
	ex->children[d - 1]++;
	step->depth = d;
	step->path = d == 1 ? psprintf("%d", ex->children[0]) :
		psprintf("%s.%d", ex->open[d - 1]->path, ex->children[d - 1]);
	step->node_kind = node_kind;
	step->criterion = criterion;
	if (criterion >= 0)
	{
		const SegextCriterion *c = &SEGEXT_CRITERIA_CRIT(criteria)[criterion];

		step->subject = c->kind == SEGEXT_CRIT_FIELD ?
			pnstrdup(SEGEXT_CRIT_STRING(criteria, c->str), c->str.len) :
			pstrdup(segext_criterion_kind_name(c->kind));
	}
	else
		step->subject = pstrdup(node_kind == SEGEXT_NODE_ALL ? "all" :
								node_kind == SEGEXT_NODE_ANY ? "any" : "not");
	ex->open[d] = step;
	ex->children[d] = 0;
	ex->matched[d] = 0;
	ex->depth = d;
	ex->steps = lappend(ex->steps, step);
	return step;
}

/*
 * explain_close records the result of the innermost open step (a group's
 * value counts its children) and closes it.
 */
static void
explain_close(SegextExplain *ex, SegextExplainStep *step, bool matched)
{
	int			d = ex->depth;

	Assert(ex->open[d] == step);
	step->matched = matched;
	if (step->criterion >= 0 && step->value == NULL)
		elog(ERROR, "criterion \"%s\" recorded no value for explain", step->subject);
	if (step->criterion < 0)
	{
		int			n = ex->children[d];

		if (step->node_kind == SEGEXT_NODE_NOT)
		{
			step->value = pstrdup(matched ? "its child did not match" : "its child matched");
			step->requirement = pstrdup("its child not to match");
		}
		else
		{
			step->value = psprintf("%d of %d matched", ex->matched[d], n);
			step->requirement = step->node_kind == SEGEXT_NODE_ALL ?
				psprintf("all %d to match", n) : psprintf("at least 1 of %d to match", n);
		}
	}
	if (d > 1 && matched)
		ex->matched[d - 1]++;
	ex->depth = d - 1;
}

/*
 * eval_explain_note records, for the criterion being decided, the value that
 * decided it and what it needs (both palloc'd text).
 */
void
eval_explain_note(SegextExplain *ex, char *value, char *requirement)
{
	SegextExplainStep *step = ex->open[ex->depth];

	Assert(step->criterion >= 0);
	step->value = value;
	step->requirement = requirement;
}

/* eval_json_quoted returns a string as a quoted JSON string. */
char *
eval_json_quoted(const char *str, int len)
{
	StringInfoData out;

	initStringInfo(&out);
	escape_json(&out, pnstrdup(str, len));
	return out.data;
}

/*
 * match_node evaluates the subtree rooted at node i of a tree of groups,
 * deciding each criterion with leaf: "all" is true when every child is
 * (stopping at the first false one), "any" when one is (stopping at the
 * first true one), "not" negates its child.  With ex, every node is
 * evaluated (no stop: the result is the same) and recorded.
 */
static bool
match_node(const SegextCriteria *criteria, uint32 i, LeafMatch leaf, void *ctx,
		   SegextExplain *ex)
{
	const SegextNode *nodes = SEGEXT_CRITERIA_NODES(criteria);
	SegextExplainStep *step = NULL;
	uint32		child;
	bool		result;

	if (ex != NULL)
		step = explain_open(ex, criteria, nodes[i].kind,
							nodes[i].kind == SEGEXT_NODE_CRITERION ? (int) nodes[i].arg : -1);
	switch (nodes[i].kind)
	{
		case SEGEXT_NODE_CRITERION:
			result = leaf(ctx, nodes[i].arg, ex);
			break;
		case SEGEXT_NODE_NOT:
			result = !match_node(criteria, i + 1, leaf, ctx, ex);
			break;
		case SEGEXT_NODE_ALL:
			result = true;
			for (child = i + 1; child < nodes[i].arg && (result || ex != NULL);
				 child = SEGEXT_NODE_END(nodes, child))
				if (!match_node(criteria, child, leaf, ctx, ex))
					result = false;
			break;
		case SEGEXT_NODE_ANY:
			result = false;
			for (child = i + 1; child < nodes[i].arg && (!result || ex != NULL);
				 child = SEGEXT_NODE_END(nodes, child))
				if (match_node(criteria, child, leaf, ctx, ex))
					result = true;
			break;
		default:
			elog(ERROR, "unrecognized criteria node kind %d", nodes[i].kind);
			result = false;
	}
	if (ex != NULL)
		explain_close(ex, step, result);
	return result;
}

/*
 * match_parts evaluates a list of parts (every part must match; a part
 * matches when any of its criteria does), deciding each criterion with
 * leaf.  With ex, every criterion is evaluated and recorded: the root as an
 * "all" of the parts, each part as an "any" of its criteria.
 */
static bool
match_parts(const SegextCriteria *criteria, LeafMatch leaf, void *ctx, SegextExplain *ex)
{
	const uint32 *part_end = SEGEXT_CRITERIA_PART_END(criteria);
	SegextExplainStep *root = NULL;
	bool		result = true;
	uint32		p,
				i = 0;

	if (ex != NULL)
		root = explain_open(ex, criteria, SEGEXT_NODE_ALL, -1);
	for (p = 0; p < criteria->nparts && (result || ex != NULL); p++)
	{
		SegextExplainStep *part = NULL;
		bool		any = false;

		if (ex != NULL)
			part = explain_open(ex, criteria, SEGEXT_NODE_ANY, -1);
		for (; i < part_end[p]; i++)
		{
			SegextExplainStep *step;
			bool		matched;

			if (ex == NULL)
			{
				if (!any && leaf(ctx, i, NULL))
					any = true;
				continue;
			}
			step = explain_open(ex, criteria, SEGEXT_NODE_CRITERION, i);
			matched = leaf(ctx, i, ex);
			explain_close(ex, step, matched);
			any |= matched;
		}
		if (ex != NULL)
			explain_close(ex, part, any);
		if (!any)
			result = false;
	}
	if (ex != NULL)
		explain_close(ex, root, result);
	return result;
}

/*
 * eval_match_criteria evaluates a criteria value of either shape with leaf,
 * recording into ex (in its memory context) when given.
 */
bool
eval_match_criteria(const SegextCriteria *criteria, LeafMatch leaf, void *ctx, SegextExplain *ex)
{
	MemoryContext old;
	bool		matched;

	if (ex == NULL)
		return criteria->nnodes > 0 ? match_node(criteria, 0, leaf, ctx, NULL) :
			match_parts(criteria, leaf, ctx, NULL);
	/* the steps outlive the caller's per-row context */
	old = MemoryContextSwitchTo(ex->cxt);
	matched = criteria->nnodes > 0 ? match_node(criteria, 0, leaf, ctx, ex) :
		match_parts(criteria, leaf, ctx, ex);
	MemoryContextSwitchTo(old);
	return matched;
}

