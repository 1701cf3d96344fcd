/*-------------------------------------------------------------------------
 *
 * evaluate.c
 *	  Pure evaluation of compiled segext.criteria values: field criteria
 *	  against the fields of a row, customer criteria against per-customer
 *	  facts, and the requirements (slots) that let one pass over the
 *	  transactions fill facts for many segments at once.
 *
 * The SQL entry points criteria_match_event and criteria_match_facts at the
 * end of this file wrap the evaluator for users and for tests.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "evaluate.h"

#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "common/hashfn.h"
#include "regex/regex.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

/* A decimal number parsed from text: sign, significant digits, exponent. */
typedef struct Decimal
{
	int			sign;			/* -1, 0 or 1 */
	char	   *digits;			/* significant digits, no leading/trailing 0 */
	int			ndigits;
	int64		exp;			/* value = 0.digits * 10^exp */
} Decimal;

/* The key of the slot hash: a kind and bytes (a pair's bytes hold a NUL). */
typedef struct SlotKey
{
	int			kind;
	int			len;
	const char *str;
} SlotKey;

/* One entry of the slot hash: kind + bytes -> slot. */
typedef struct SlotEntry
{
	SlotKey		key;			/* hash key */
	uint32		hash;
	char		status;			/* simplehash slot status */
	int			slot;
} SlotEntry;

static uint32 slot_hash(int kind, const char *str, int len);

/* slot_key_equal says whether two slot keys are the same kind and bytes. */
static inline bool
slot_key_equal(SlotKey a, SlotKey b)
{
	return a.kind == b.kind && a.len == b.len && memcmp(a.str, b.str, a.len) == 0;
}

/* A simplehash table of slots. */
#define SH_PREFIX slothash
#define SH_ELEMENT_TYPE SlotEntry
#define SH_KEY_TYPE SlotKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) slot_hash((k).kind, (k).str, (k).len)
#define SH_EQUAL(tb, a, b) slot_key_equal(a, b)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* The criteria value behind one handle and the slots of its criteria. */
typedef struct CompiledCriteria
{
	const SegextCriteria *criteria;
	int		   *slot_start;		/* per criterion: index into slots */
	int		   *slots;
} CompiledCriteria;

/* Compiled requirements of a list of criteria values. */
struct SegextRequirements
{
	slothash_hash *table;
	int			nslots[SEGEXT_SLOT_NKINDS];
	SegextPeriod *periods;
	int			maxperiods;
	CompiledCriteria *compiled;
	int			ncompiled;
	int			maxcompiled;
	uint32		needs;
};

/*
 * parse_decimal reads "[+-]digits[.digits][e[+-]digits]" (spaces around);
 * the significant digits go to buf, which holds at least len + 1 bytes.
 */
static bool
parse_decimal(const char *s, int len, Decimal *d, char *buf)
{
	const char *p = s;
	const char *end = s + len;
	int			ndig = 0;
	int64		point = -1;
	int64		e = 0;
	int			lead = 0;
	bool		any = false;

	d->sign = 1;
	d->digits = buf;
	d->ndigits = 0;
	while (p < end && isspace((unsigned char) *p))
		p++;
	while (end > p && isspace((unsigned char) end[-1]))
		end--;
	if (p < end && (*p == '+' || *p == '-'))
	{
		if (*p == '-')
			d->sign = -1;
		p++;
	}
	for (; p < end; p++)
	{
		if (isdigit((unsigned char) *p))
		{
			any = true;
			if (ndig == 0 && *p == '0')
			{
				if (point >= 0)
					lead++;		/* zeros right after the point */
				continue;
			}
			d->digits[ndig++] = *p;
		}
		else if (*p == '.' && point < 0)
			point = ndig;
		else
			break;
	}
	if (!any)
		return false;
	if (p < end && (*p == 'e' || *p == 'E'))
	{
		int			esign = 1;
		bool		edig = false;

		p++;
		if (p < end && (*p == '+' || *p == '-'))
		{
			if (*p == '-')
				esign = -1;
			p++;
		}
		for (; p < end && isdigit((unsigned char) *p); p++)
		{
			edig = true;
			if (e < 1000000000)
				e = e * 10 + (*p - '0');
		}
		if (!edig)
			return false;
		e *= esign;
	}
	if (p != end)
		return false;
	/* integer digits = digits before the point (or all) */
	if (point < 0)
		point = ndig;
	d->exp = point - lead + e;
	while (ndig > 0 && d->digits[ndig - 1] == '0')
		ndig--;
	d->ndigits = ndig;
	if (ndig == 0)
		d->sign = 0;
	return true;
}

/* decimal_cmp compares two parsed decimals: -1, 0 or 1. */
static int
decimal_cmp(const Decimal *a, const Decimal *b)
{
	int			mag;
	int			n;

	if (a->sign != b->sign)
		return a->sign < b->sign ? -1 : 1;
	if (a->sign == 0)
		return 0;
	if (a->exp != b->exp)
		mag = a->exp < b->exp ? -1 : 1;
	else
	{
		n = memcmp(a->digits, b->digits, Min(a->ndigits, b->ndigits));
		if (n != 0)
			mag = n < 0 ? -1 : 1;
		else
			mag = (a->ndigits == b->ndigits) ? 0 : (a->ndigits < b->ndigits ? -1 : 1);
	}
	return a->sign * mag;
}

/* Field values with up to this many bytes are parsed as numbers on the stack. */
#define DECIMAL_STACK 64

/* A criterion value parsed once as a number, for a row plan. */
typedef struct PlanNumber
{
	bool		ok;				/* parse_decimal succeeded */
	Decimal		d;
} PlanNumber;

/* A criteria value prepared for matching many rows (see evaluate.h). */
struct SegextRowPlan
{
	const SegextCriteria *criteria;
	PlanNumber *value;			/* per criterion: its scalar value */
	PlanNumber **items;			/* per in/nin criterion with numbers: its list */
};

/* find_bytes tells whether needle occurs in haystack. */
static bool
find_bytes(const char *hay, int hlen, const char *needle, int nlen)
{
	const char *p = hay;
	const char *last;

	if (nlen == 0)
		return true;
	if (nlen > hlen)
		return false;
	last = hay + hlen - nlen;
	while (p <= last)
	{
		p = memchr(p, (unsigned char) needle[0], last - p + 1);
		if (p == NULL)
			return false;
		if (memcmp(p + 1, needle + 1, nlen - 1) == 0)
			return true;
		p++;
	}
	return false;
}

/*
 * number_cmp compares a field value with a criterion value as numbers,
 * setting *cmp; false when either is not a number.  pn, when not NULL, is
 * the criterion value parsed already.
 */
static bool
number_cmp(const char *v, int vlen, const char *want, int wlen,
		   const PlanNumber *pn, int *cmp)
{
	char		local[DECIMAL_STACK];
	Decimal		a,
				b;

	if (pn != NULL)
	{
		if (!pn->ok)
			return false;
		b = pn->d;
	}
	else if (!parse_decimal(want, wlen, &b, palloc(wlen + 1)))
		return false;
	if (!parse_decimal(v, vlen, &a, vlen < DECIMAL_STACK ? local : palloc(vlen + 1)))
		return false;
	*cmp = decimal_cmp(&a, &b);
	return true;
}

/* value_equals compares a field value with one criterion value. */
static inline bool
value_equals(const char *v, int vlen, const char *want, int wlen, bool number,
			 const PlanNumber *pn)
{
	if (number)
	{
		int			cmp;

		return number_cmp(v, vlen, want, wlen, pn, &cmp) && cmp == 0;
	}
	return vlen == wlen && memcmp(v, want, vlen) == 0;
}

/*
 * field_positive evaluates the positive form of a field operator on a
 * present field value.  value and items, when not NULL, are the criterion's
 * numbers parsed by a row plan.
 */
static bool
field_positive(const SegextCriteria *cr, const SegextCriterion *c, int op,
			   const char *v, int vlen, const PlanNumber *value,
			   const PlanNumber *items_parsed)
{
	const char *want = SEGEXT_CRIT_STRING(cr, c->val);
	int			wlen = c->val.len;

	switch (op)
	{
		case SEGEXT_OP_EQ:
			return value_equals(v, vlen, want, wlen,
								(c->flags & SEGEXT_CF_VALUE_NUMBER) != 0, value);
		case SEGEXT_OP_BEGINS:
			return vlen >= wlen && memcmp(v, want, wlen) == 0;
		case SEGEXT_OP_ENDS:
			return vlen >= wlen && memcmp(v + vlen - wlen, want, wlen) == 0;
		case SEGEXT_OP_CONTAINS:
			return find_bytes(v, vlen, want, wlen);
		case SEGEXT_OP_REGEX:
			return RE_compile_and_execute(cstring_to_text_with_len(want, wlen),
										  unconstify(char *, v), vlen,
										  REG_ADVANCED, DEFAULT_COLLATION_OID,
										  0, NULL);
		case SEGEXT_OP_GT:
		case SEGEXT_OP_GTE:
		case SEGEXT_OP_LT:
		case SEGEXT_OP_LTE:
			{
				int			cmp;

				if (!number_cmp(v, vlen, want, wlen, value, &cmp))
					return false;
				if (op == SEGEXT_OP_GT)
					return cmp > 0;
				if (op == SEGEXT_OP_GTE)
					return cmp >= 0;
				if (op == SEGEXT_OP_LT)
					return cmp < 0;
				return cmp <= 0;
			}
		case SEGEXT_OP_IN:
			{
				const SegextString *items = SEGEXT_CRIT_ITEMS(cr, c);
				const uint8 *flags = (const uint8 *) (items + c->nitems);
				uint32		i;

				for (i = 0; i < c->nitems; i++)
					if (value_equals(v, vlen, SEGEXT_CRIT_STRING(cr, items[i]),
									 items[i].len, flags[i] != 0,
									 items_parsed != NULL ? &items_parsed[i] : NULL))
						return true;
				return false;
			}
	}
	elog(ERROR, "unrecognized field operator %d", op);
	return false;
}

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
 * explain_note records, for the criterion being decided, the value that
 * decided it and what it needs (both palloc'd text).
 */
static void
explain_note(SegextExplain *ex, char *value, char *requirement)
{
	SegextExplainStep *step = ex->open[ex->depth];

	Assert(step->criterion >= 0);
	step->value = value;
	step->requirement = requirement;
}

/* json_quoted returns a string as a quoted JSON string. */
static char *
json_quoted(const char *str, int len)
{
	StringInfoData out;

	initStringInfo(&out);
	escape_json(&out, pnstrdup(str, len));
	return out.data;
}

/* field_requirement describes what a field criterion needs: "eq \"PL\"". */
static char *
field_requirement(const SegextCriteria *cr, const SegextCriterion *c)
{
	StringInfoData out;

	initStringInfo(&out);
	appendStringInfoString(&out, segext_field_op_name(c->op));
	if (c->op == SEGEXT_OP_IN || c->op == SEGEXT_OP_NIN)
	{
		const SegextString *items = SEGEXT_CRIT_ITEMS(cr, c);
		const uint8 *flags = (const uint8 *) (items + c->nitems);

		appendStringInfoString(&out, " [");
		for (uint32 i = 0; i < c->nitems; i++)
		{
			if (i > 0)
				appendStringInfoString(&out, ", ");
			if (flags[i])
				appendBinaryStringInfo(&out, SEGEXT_CRIT_STRING(cr, items[i]), items[i].len);
			else
				appendStringInfoString(&out, json_quoted(SEGEXT_CRIT_STRING(cr, items[i]), items[i].len));
		}
		appendStringInfoChar(&out, ']');
	}
	else if (c->op != SEGEXT_OP_EXISTS && c->op != SEGEXT_OP_NEXISTS)
	{
		appendStringInfoChar(&out, ' ');
		if (c->flags & SEGEXT_CF_VALUE_NUMBER)
			appendBinaryStringInfo(&out, SEGEXT_CRIT_STRING(cr, c->val), c->val.len);
		else
			appendStringInfoString(&out, json_quoted(SEGEXT_CRIT_STRING(cr, c->val), c->val.len));
	}
	return out.data;
}

/*
 * eval_field evaluates field criterion number index: a missing field
 * matches only the negated operators and nexists; a negated operator is
 * exactly the negation of its positive form (so a non-numeric value makes
 * neq on a number true).  plan may be NULL; ex, when not NULL, gets the
 * field's value.
 */
static bool
eval_field(const SegextCriteria *cr, const SegextRowPlan *plan, uint32 index,
		   SegextFieldLookup lookup, void *arg, SegextExplain *ex)
{
	const SegextCriterion *c = &SEGEXT_CRITERIA_CRIT(cr)[index];
	const char *v = NULL;
	int			vlen = 0;
	bool		found;
	int			op = c->op;
	bool		negated = false;

	found = lookup != NULL &&
		lookup(arg, SEGEXT_CRIT_STRING(cr, c->str), c->str.len, &v, &vlen);
	if (ex != NULL)
		explain_note(ex, found ? json_quoted(v, vlen) : pstrdup("missing"),
					 field_requirement(cr, c));
	switch (op)
	{
		case SEGEXT_OP_EXISTS:
			return found;
		case SEGEXT_OP_NEXISTS:
			return !found;
		case SEGEXT_OP_NEQ:
		case SEGEXT_OP_NBEGINS:
		case SEGEXT_OP_NENDS:
		case SEGEXT_OP_NCONTAINS:
		case SEGEXT_OP_NREGEX:
		case SEGEXT_OP_NIN:
			negated = true;
			op = op - 1;		/* each negated operator follows its positive */
			break;
		default:
			break;
	}
	if (!found)
		return negated;
	return field_positive(cr, c, op, v, vlen,
						  plan != NULL ? &plan->value[index] : NULL,
						  plan != NULL ? plan->items[index] : NULL) != negated;
}

/* segext_criteria_is_field_only: is every criterion a field criterion? */
bool
segext_criteria_is_field_only(const SegextCriteria *criteria)
{
	return (criteria->flags & SEGEXT_CRITERIA_FIELD_ONLY) != 0;
}

/*
 * Decides one criterion (by index) for the walkers; ex, when not NULL, gets
 * the value that decided it (explain_note).
 */
typedef bool (*LeafMatch) (void *ctx, uint32 index, SegextExplain *ex);

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
 * match_criteria evaluates a criteria value of either shape with leaf,
 * recording into ex (in its memory context) when given.
 */
static inline bool
match_criteria(const SegextCriteria *criteria, LeafMatch leaf, void *ctx, SegextExplain *ex)
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

/* What a row's criterion needs to be decided. */
typedef struct RowLeaf
{
	const SegextCriteria *criteria;
	const SegextRowPlan *plan;
	SegextFieldLookup lookup;
	void	   *arg;
} RowLeaf;

/* row_leaf decides a criterion of a row: a field one, or false. */
static bool
row_leaf(void *ctx, uint32 index, SegextExplain *ex)
{
	RowLeaf    *rl = (RowLeaf *) ctx;

	if (SEGEXT_CRITERIA_CRIT(rl->criteria)[index].kind != SEGEXT_CRIT_FIELD)
	{
		if (ex != NULL)
			explain_note(ex, pstrdup("not a field of the row"),
						 pstrdup("customer figures, which an event does not have"));
		return false;
	}
	return eval_field(rl->criteria, rl->plan, index, rl->lookup, rl->arg, ex);
}

/* match_row matches the field criteria against a row; plan and ex may be NULL. */
static bool
match_row(const SegextCriteria *criteria, const SegextRowPlan *plan,
		  SegextFieldLookup lookup, void *arg, SegextExplain *ex)
{
	RowLeaf		rl = {criteria, plan, lookup, arg};

	return match_criteria(criteria, row_leaf, &rl, ex);
}

/* segext_criteria_match_row matches the field criteria against a row. */
bool
segext_criteria_match_row(const SegextCriteria *criteria,
						  SegextFieldLookup lookup, void *arg)
{
	return match_row(criteria, NULL, lookup, arg, NULL);
}

/* plan_number parses a criterion value once for a row plan. */
static void
plan_number(const SegextCriteria *cr, SegextString s, PlanNumber *pn)
{
	pn->ok = parse_decimal(SEGEXT_CRIT_STRING(cr, s), s.len, &pn->d, palloc(s.len + 1));
}

/* segext_row_plan_create parses the numbers of a criteria value once. */
SegextRowPlan *
segext_row_plan_create(const SegextCriteria *criteria)
{
	const SegextCriterion *crits = SEGEXT_CRITERIA_CRIT(criteria);
	SegextRowPlan *plan = palloc0(sizeof(SegextRowPlan));
	uint32		i;

	plan->criteria = criteria;
	plan->value = palloc0(sizeof(PlanNumber) * (criteria->ncriteria + 1));
	plan->items = palloc0(sizeof(PlanNumber *) * (criteria->ncriteria + 1));
	for (i = 0; i < criteria->ncriteria; i++)
	{
		const SegextCriterion *c = &crits[i];

		if (c->kind != SEGEXT_CRIT_FIELD)
			continue;
		switch (c->op)
		{
			case SEGEXT_OP_EQ:
			case SEGEXT_OP_NEQ:
				if (c->flags & SEGEXT_CF_VALUE_NUMBER)
					plan_number(criteria, c->val, &plan->value[i]);
				break;
			case SEGEXT_OP_GT:
			case SEGEXT_OP_GTE:
			case SEGEXT_OP_LT:
			case SEGEXT_OP_LTE:
				plan_number(criteria, c->val, &plan->value[i]);
				break;
			case SEGEXT_OP_IN:
			case SEGEXT_OP_NIN:
				{
					const SegextString *items = SEGEXT_CRIT_ITEMS(criteria, c);
					const uint8 *flags = (const uint8 *) (items + c->nitems);
					uint32		j;

					for (j = 0; j < c->nitems; j++)
					{
						if (!flags[j])
							continue;
						if (plan->items[i] == NULL)
							plan->items[i] = palloc0(sizeof(PlanNumber) * c->nitems);
						plan_number(criteria, items[j], &plan->items[i][j]);
					}
				}
				break;
			default:
				break;
		}
	}
	return plan;
}

/* segext_row_plan_match matches a row plan's criteria against a row. */
bool
segext_row_plan_match(const SegextRowPlan *plan, SegextFieldLookup lookup, void *arg)
{
	return match_row(plan->criteria, plan, lookup, arg, NULL);
}

/* segext_row_plan_explain matches a row plan's criteria and records every node. */
bool
segext_row_plan_explain(const SegextRowPlan *plan, SegextFieldLookup lookup, void *arg,
						SegextExplain *explain)
{
	return match_row(plan->criteria, plan, lookup, arg, explain);
}

/* --- Requirements --- */

/* slot_hash hashes a kind and its bytes. */
static uint32
slot_hash(int kind, const char *str, int len)
{
	return hash_combine(murmurhash32((uint32) kind), hash_bytes((const unsigned char *) str, len));
}

/* slot_intern returns the slot of (kind, str), assigning a new one. */
static int
slot_intern(SegextRequirements *reqs, int kind, const char *str, int len)
{
	SlotKey		key = {kind, len, str};
	SlotEntry  *e;
	bool		found;

	e = slothash_insert(reqs->table, key, &found);
	if (!found)
	{
		char	   *copy = MemoryContextAlloc(reqs->table->ctx, len);

		memcpy(copy, str, len); /* pair keys contain a NUL */
		e->key.str = copy;
		e->slot = reqs->nslots[kind]++;
	}
	return e->slot;
}

/* pair_key builds the lookup bytes of a key/value pair: key NUL value. */
static char *
pair_key(const char *key, int key_len, const char *value, int value_len, int *len)
{
	char	   *buf = palloc(key_len + value_len + 1);

	memcpy(buf, key, key_len);
	buf[key_len] = '\0';
	memcpy(buf + key_len + 1, value, value_len);
	*len = key_len + value_len + 1;
	return buf;
}

/* segext_requirements_create makes empty requirements. */
SegextRequirements *
segext_requirements_create(void)
{
	SegextRequirements *reqs = palloc0(sizeof(SegextRequirements));

	reqs->table = slothash_create(CurrentMemoryContext, 32, NULL);
	reqs->maxperiods = 4;
	reqs->periods = palloc(sizeof(SegextPeriod) * reqs->maxperiods);
	reqs->maxcompiled = 8;
	reqs->compiled = palloc(sizeof(CompiledCriteria) * reqs->maxcompiled);
	return reqs;
}

/* resolve_bound turns a purchase_period bound into a timestamp. */
static TimestampTz
resolve_bound(int64 v, bool is_date, bool end)
{
	int			overflow;
	TimestampTz ts;

	if (!is_date)
		return v;
	ts = date2timestamptz_opt_overflow((DateADT) (v + (end ? 1 : 0)), &overflow);
	if (overflow != 0)
		return overflow < 0 ? DT_NOBEGIN : DT_NOEND;
	return end ? ts - 1 : ts;
}

/* list_slots interns every string (or pair) of a criterion's list. */
static void
list_slots(SegextRequirements *reqs, const SegextCriteria *cr,
		   const SegextCriterion *c, int kind, bool pairs, int *out)
{
	const SegextString *items = SEGEXT_CRIT_ITEMS(cr, c);
	uint32		i;

	for (i = 0; i < c->nitems; i++)
	{
		if (pairs)
		{
			int			len;
			char	   *k = pair_key(SEGEXT_CRIT_STRING(cr, items[2 * i]), items[2 * i].len,
									 SEGEXT_CRIT_STRING(cr, items[2 * i + 1]),
									 items[2 * i + 1].len, &len);

			out[i] = slot_intern(reqs, kind, k, len);
			pfree(k);
		}
		else
			out[i] = slot_intern(reqs, kind, SEGEXT_CRIT_STRING(cr, items[i]), items[i].len);
	}
}

/* segext_requirements_add compiles one criteria value's slots. */
int
segext_requirements_add(SegextRequirements *reqs, const SegextCriteria *criteria)
{
	const SegextCriterion *crits = SEGEXT_CRITERIA_CRIT(criteria);
	CompiledCriteria *cc;
	int			total = 0;
	uint32		i;

	if (reqs->ncompiled == reqs->maxcompiled)
	{
		reqs->maxcompiled *= 2;
		reqs->compiled = repalloc(reqs->compiled, sizeof(CompiledCriteria) * reqs->maxcompiled);
	}
	cc = &reqs->compiled[reqs->ncompiled];
	cc->criteria = criteria;
	cc->slot_start = palloc(sizeof(int) * (criteria->ncriteria + 1));
	for (i = 0; i < criteria->ncriteria; i++)
	{
		cc->slot_start[i] = total;
		switch (crits[i].kind)
		{
			case SEGEXT_CRIT_BOUGHT_IN_POS:
			case SEGEXT_CRIT_BOUGHT_SKUS:
			case SEGEXT_CRIT_BOUGHT_MAKERS:
			case SEGEXT_CRIT_BOUGHT_LABELS:
			case SEGEXT_CRIT_HAS_LABELS:
			case SEGEXT_CRIT_LABELS_VALUES:
				total += crits[i].nitems;
				break;
			case SEGEXT_CRIT_PERCENT_IN_POS:
			case SEGEXT_CRIT_PURCHASE_PERIOD:
			case SEGEXT_CRIT_IN_SEGMENT:
				total += 1;
				break;
			default:
				break;
		}
	}
	cc->slot_start[criteria->ncriteria] = total;
	cc->slots = palloc(sizeof(int) * (total + 1));

	for (i = 0; i < criteria->ncriteria; i++)
	{
		const SegextCriterion *c = &crits[i];
		int		   *out = cc->slots + cc->slot_start[i];

		switch (c->kind)
		{
			case SEGEXT_CRIT_FIELD:
				reqs->needs |= SEGEXT_NEED_FIELDS;
				break;
			case SEGEXT_CRIT_TRANSACTION_COUNT:
			case SEGEXT_CRIT_TRANSACTION_AMOUNT:
			case SEGEXT_CRIT_AVERAGE_AMOUNT:
			case SEGEXT_CRIT_LAST_PURCHASE:
				reqs->needs |= SEGEXT_NEED_TRANSACTIONS;
				break;
			case SEGEXT_CRIT_BOUGHT_IN_POS:
				reqs->needs |= SEGEXT_NEED_TRANSACTIONS;
				list_slots(reqs, criteria, c, SEGEXT_SLOT_POS, false, out);
				break;
			case SEGEXT_CRIT_BOUGHT_SKUS:
				reqs->needs |= SEGEXT_NEED_ITEMS;
				list_slots(reqs, criteria, c, SEGEXT_SLOT_SKU, false, out);
				break;
			case SEGEXT_CRIT_BOUGHT_MAKERS:
				reqs->needs |= SEGEXT_NEED_ITEMS;
				list_slots(reqs, criteria, c, SEGEXT_SLOT_MAKER, false, out);
				break;
			case SEGEXT_CRIT_BOUGHT_LABELS:
				reqs->needs |= SEGEXT_NEED_ITEMS;
				list_slots(reqs, criteria, c, SEGEXT_SLOT_ITEM_LABEL, true, out);
				break;
			case SEGEXT_CRIT_HAS_LABELS:
				reqs->needs |= SEGEXT_NEED_LABELS;
				list_slots(reqs, criteria, c, SEGEXT_SLOT_LABEL_KEY, false, out);
				break;
			case SEGEXT_CRIT_LABELS_VALUES:
				reqs->needs |= SEGEXT_NEED_LABELS;
				list_slots(reqs, criteria, c, SEGEXT_SLOT_LABEL, true, out);
				break;
			case SEGEXT_CRIT_PERCENT_IN_POS:
				reqs->needs |= SEGEXT_NEED_TRANSACTIONS;
				out[0] = slot_intern(reqs, SEGEXT_SLOT_POS,
									 SEGEXT_CRIT_STRING(criteria, c->str), c->str.len);
				break;
			case SEGEXT_CRIT_PURCHASE_PERIOD:
				{
					SegextPeriod p;
					int			before;

					reqs->needs |= SEGEXT_NEED_TRANSACTIONS;
					p.from = resolve_bound(c->lo, (c->flags & SEGEXT_CF_FROM_IS_DATE) != 0, false);
					p.to = resolve_bound(c->hi, (c->flags & SEGEXT_CF_TO_IS_DATE) != 0, true);
					before = reqs->nslots[SEGEXT_SLOT_PERIOD];
					out[0] = slot_intern(reqs, SEGEXT_SLOT_PERIOD, (const char *) &p, sizeof(p));
					if (out[0] == before)
					{
						if (reqs->nslots[SEGEXT_SLOT_PERIOD] > reqs->maxperiods)
						{
							reqs->maxperiods *= 2;
							reqs->periods = repalloc(reqs->periods,
													 sizeof(SegextPeriod) * reqs->maxperiods);
						}
						reqs->periods[out[0]] = p;
					}
				}
				break;
			case SEGEXT_CRIT_ANNIVERSARY:
				reqs->needs |= (c->op == SEGEXT_ANNIVERSARY_BIRTHDAY) ?
					SEGEXT_NEED_BIRTH_DATE : SEGEXT_NEED_REGISTRATION;
				break;
			case SEGEXT_CRIT_CUSTOMER_LIST:
				reqs->needs |= SEGEXT_NEED_CUSTOMER_ID;
				break;
			case SEGEXT_CRIT_IN_SEGMENT:
				reqs->needs |= SEGEXT_NEED_SEGMENTS;
				if (c->flags & SEGEXT_CF_SEGMENT_NUMBER)
					out[0] = slot_intern(reqs, SEGEXT_SLOT_SEGMENT, (const char *) &c->lo, sizeof(int64));
				else
					out[0] = slot_intern(reqs, SEGEXT_SLOT_SEGMENT,
										 SEGEXT_CRITERIA_DATA(criteria) + c->items, SEGEXT_OBJECTID_LEN);
				break;
			default:
				elog(ERROR, "unrecognized criterion kind %d", c->kind);
		}
	}
	return reqs->ncompiled++;
}

/* segext_requirements_segment_slot finds the slot of a segment id. */
int
segext_requirements_segment_slot(const SegextRequirements *reqs, const SegextObjectId *segment)
{
	return segext_requirements_slot(reqs, SEGEXT_SLOT_SEGMENT, (const char *) segment->data,
									SEGEXT_OBJECTID_LEN);
}

/* segext_requirements_segment_number_slot finds the slot of a segment number. */
int
segext_requirements_segment_number_slot(const SegextRequirements *reqs, int32 number)
{
	int64		key = number;

	return segext_requirements_slot(reqs, SEGEXT_SLOT_SEGMENT, (const char *) &key, sizeof(key));
}

/* segext_requirements_needs returns the SEGEXT_NEED_* union. */
uint32
segext_requirements_needs(const SegextRequirements *reqs)
{
	return reqs->needs;
}

/* segext_requirements_nslots returns the number of slots of a kind. */
int
segext_requirements_nslots(const SegextRequirements *reqs, SegextSlotKind kind)
{
	return reqs->nslots[kind];
}

/* segext_requirements_slot finds the slot of a string, or -1. */
int
segext_requirements_slot(const SegextRequirements *reqs, SegextSlotKind kind,
						 const char *str, int len)
{
	SlotKey		key = {kind, len, str};
	SlotEntry  *e = slothash_lookup(reqs->table, key);

	return e == NULL ? -1 : e->slot;
}

/* segext_requirements_pair_slot finds the slot of a key/value pair, or -1. */
int
segext_requirements_pair_slot(const SegextRequirements *reqs, SegextSlotKind kind,
							  const char *key, int key_len,
							  const char *value, int value_len)
{
	int			len;
	char	   *k = pair_key(key, key_len, value, value_len, &len);
	int			slot = segext_requirements_slot(reqs, kind, k, len);

	pfree(k);
	return slot;
}

/* --- Facts --- */

/* segext_facts_create allocates facts sized for reqs. */
SegextCustomerFacts *
segext_facts_create(const SegextRequirements *reqs)
{
	SegextCustomerFacts *facts = palloc0(sizeof(SegextCustomerFacts));
	int			k;

	facts->pos_count = palloc0(sizeof(int64) * (reqs->nslots[SEGEXT_SLOT_POS] + 1));
	for (k = SEGEXT_SLOT_SKU; k < SEGEXT_SLOT_NKINDS; k++)
		facts->bits[k] = palloc0(reqs->nslots[k] / 8 + 1);
	return facts;
}

/* segext_facts_reset clears facts for the next customer. */
void
segext_facts_reset(const SegextRequirements *reqs, SegextCustomerFacts *facts)
{
	int			k;

	memset(&facts->id, 0, sizeof(facts->id));
	facts->active = false;
	facts->has_birth_date = false;
	facts->has_registration = false;
	facts->has_last_purchase = false;
	facts->birth_date = 0;
	facts->registration_date = 0;
	facts->transaction_count = 0;
	facts->amount = 0;
	facts->last_purchase = 0;
	memset(facts->pos_count, 0, sizeof(int64) * (reqs->nslots[SEGEXT_SLOT_POS] + 1));
	for (k = SEGEXT_SLOT_SKU; k < SEGEXT_SLOT_NKINDS; k++)
		memset(facts->bits[k], 0, reqs->nslots[k] / 8 + 1);
}

/* segext_facts_add_purchase records a counted sale's time. */
void
segext_facts_add_purchase(const SegextRequirements *reqs, SegextCustomerFacts *facts,
						  TimestampTz occurred_at, TimestampTz now)
{
	int			i;

	for (i = 0; i < reqs->nslots[SEGEXT_SLOT_PERIOD]; i++)
		if (reqs->periods[i].from <= occurred_at && occurred_at <= reqs->periods[i].to)
			SEGEXT_FACTS_SET(facts, SEGEXT_SLOT_PERIOD, i);
	if (occurred_at <= now &&
		(!facts->has_last_purchase || occurred_at > facts->last_purchase))
	{
		facts->has_last_purchase = true;
		facts->last_purchase = occurred_at;
	}
}

/* --- Customer evaluation --- */

/* mul_le tells whether a * b <= c * d exactly (all non-negative). */
static bool
mul_le(int64 a, int64 b, int64 c, int64 d)
{
#ifdef HAVE_INT128
	return (int128) a * b <= (int128) c * d;
#else
	return (long double) a * b <= (long double) c * d;
#endif
}

/*
 * anniversary_in_window: does an anniversary of date d fall in
 * [today, today + days)?  29 February falls on 28 February in years
 * without one.
 */
static bool
anniversary_in_window(DateADT d, DateADT today, int64 days)
{
	int			y,
				m,
				dd,
				ty,
				tm,
				td,
				year;

	if (DATE_NOT_FINITE(d) || DATE_NOT_FINITE(today))
		return false;
	if (days >= 366)
		return true;
	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
	j2date(today + POSTGRES_EPOCH_JDATE, &ty, &tm, &td);
	for (year = ty; year <= ty + 1; year++)
	{
		int			day = dd;
		DateADT		a;

		if (m == 2 && dd == 29 && !isleap(year))
			day = 28;
		a = date2j(year, m, day) - POSTGRES_EPOCH_JDATE;
		if (a >= today && (int64) a < (int64) today + days)
			return true;
	}
	return false;
}

/* any_bit tells whether any of the listed slots is set. */
static bool
any_bit(const SegextCustomerFacts *facts, int kind, const int *slots, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (SEGEXT_FACTS_TEST(facts, kind, slots[i]))
			return true;
	return false;
}

/* date_text prints a date in the session's DateStyle. */
static char *
date_text(DateADT d)
{
	return DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(d)));
}

/* timestamp_text prints a timestamp in the session's time zone and DateStyle. */
static char *
timestamp_text(TimestampTz t)
{
	return DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(t)));
}

/* list_item_text prints item k of a criterion's list: "sku", or "key"="value". */
static char *
list_item_text(const SegextCriteria *cr, const SegextCriterion *c, uint32 k, bool pairs)
{
	const SegextString *items = SEGEXT_CRIT_ITEMS(cr, c);

	if (!pairs)
		return json_quoted(SEGEXT_CRIT_STRING(cr, items[k]), items[k].len);
	return psprintf("%s=%s",
					json_quoted(SEGEXT_CRIT_STRING(cr, items[2 * k]), items[2 * k].len),
					json_quoted(SEGEXT_CRIT_STRING(cr, items[2 * k + 1]), items[2 * k + 1].len));
}

/*
 * note_list explains a criterion over a list whose items have slots of a
 * kind: the items the customer has (their bits are set), and the list.
 */
static void
note_list(SegextExplain *ex, const SegextCriteria *cr, const SegextCriterion *c,
		  const SegextCustomerFacts *facts, int kind, const int *slots, bool pairs)
{
	StringInfoData has;
	StringInfoData needs;

	initStringInfo(&has);
	initStringInfo(&needs);
	appendStringInfoString(&needs, c->nitems > 1 ? "one of " : "");
	for (uint32 k = 0; k < c->nitems; k++)
	{
		char	   *item = list_item_text(cr, c, k, pairs);

		appendStringInfo(&needs, "%s%s", k > 0 ? ", " : "", item);
		if (SEGEXT_FACTS_TEST(facts, kind, slots[k]))
			appendStringInfo(&has, "%s%s", has.len > 0 ? ", " : "", item);
	}
	explain_note(ex, has.len > 0 ? has.data : pstrdup(c->nitems > 1 ? "none of them" : "no"),
				 needs.data);
}

/*
 * eval_customer_criterion evaluates one criterion against the facts; ex,
 * when not NULL, gets the customer's value that decided it.  Each kind is
 * one case that decides and, with ex, records its value (explain_note).
 */
static bool
eval_customer_criterion(const CompiledCriteria *cc, int index,
						const SegextCustomerFacts *facts, const SegextEvalTime *time,
						SegextFieldLookup lookup, void *arg, SegextExplain *ex)
{
	const SegextCriteria *cr = cc->criteria;
	const SegextCriterion *c = &SEGEXT_CRITERIA_CRIT(cr)[index];
	const int  *slots = cc->slots + cc->slot_start[index];
	int			nslots = cc->slot_start[index + 1] - cc->slot_start[index];
	int64		amount = Max(facts->amount, 0);
	bool		matched;
	int			i;

	switch (c->kind)
	{
		case SEGEXT_CRIT_FIELD:
			return eval_field(cr, NULL, index, lookup, arg, ex);
		case SEGEXT_CRIT_TRANSACTION_COUNT:
			matched = c->lo <= facts->transaction_count && facts->transaction_count <= c->hi;
			if (ex != NULL)
				explain_note(ex, psprintf(INT64_FORMAT, facts->transaction_count),
							 psprintf(INT64_FORMAT ".." INT64_FORMAT, c->lo, c->hi));
			return matched;
		case SEGEXT_CRIT_TRANSACTION_AMOUNT:
			matched = c->lo <= amount && amount <= c->hi;
			if (ex != NULL)
				explain_note(ex, segext_scaled_to_cstring(amount),
							 psprintf("%s..%s", segext_scaled_to_cstring(c->lo),
									  segext_scaled_to_cstring(c->hi)));
			return matched;
		case SEGEXT_CRIT_AVERAGE_AMOUNT:
			if (facts->transaction_count <= 0)
				matched = c->lo == 0;	/* the average is 0 */
			else
				matched = mul_le(c->lo, facts->transaction_count, amount, 1) &&
					mul_le(amount, 1, c->hi, facts->transaction_count);
			if (ex != NULL)
			{
				int64		n = facts->transaction_count;
				char	   *value;

				if (n <= 0)
					value = pstrdup("0 (no purchases)");
				else if (amount % n == 0)
					value = segext_scaled_to_cstring(amount / n);
				else
					value = psprintf("%s (%s / " INT64_FORMAT ")",
									 segext_scaled_to_cstring(amount / n),
									 segext_scaled_to_cstring(amount), n);
				explain_note(ex, value, psprintf("%s..%s", segext_scaled_to_cstring(c->lo),
												 segext_scaled_to_cstring(c->hi)));
			}
			return matched;
		case SEGEXT_CRIT_BOUGHT_IN_POS:
			matched = false;
			for (i = 0; i < nslots && !matched; i++)
				if (facts->pos_count[slots[i]] > 0)
					matched = true;
			if (ex != NULL)
			{
				StringInfoData has;
				StringInfoData needs;

				initStringInfo(&has);
				initStringInfo(&needs);
				appendStringInfoString(&needs, "a purchase at ");
				for (i = 0; i < nslots; i++)
				{
					char	   *pos = list_item_text(cr, c, i, false);

					appendStringInfo(&needs, "%s%s", i > 0 ? " or " : "", pos);
					appendStringInfo(&has, "%s%s: " INT64_FORMAT, i > 0 ? ", " : "", pos,
									 facts->pos_count[slots[i]]);
				}
				explain_note(ex, psprintf("purchases at %s", has.data), needs.data);
			}
			return matched;
		case SEGEXT_CRIT_BOUGHT_SKUS:
			matched = any_bit(facts, SEGEXT_SLOT_SKU, slots, nslots);
			if (ex != NULL)
				note_list(ex, cr, c, facts, SEGEXT_SLOT_SKU, slots, false);
			return matched;
		case SEGEXT_CRIT_BOUGHT_MAKERS:
			matched = any_bit(facts, SEGEXT_SLOT_MAKER, slots, nslots);
			if (ex != NULL)
				note_list(ex, cr, c, facts, SEGEXT_SLOT_MAKER, slots, false);
			return matched;
		case SEGEXT_CRIT_BOUGHT_LABELS:
			matched = any_bit(facts, SEGEXT_SLOT_ITEM_LABEL, slots, nslots);
			if (ex != NULL)
				note_list(ex, cr, c, facts, SEGEXT_SLOT_ITEM_LABEL, slots, true);
			return matched;
		case SEGEXT_CRIT_HAS_LABELS:
			matched = any_bit(facts, SEGEXT_SLOT_LABEL_KEY, slots, nslots);
			if (ex != NULL)
				note_list(ex, cr, c, facts, SEGEXT_SLOT_LABEL_KEY, slots, false);
			return matched;
		case SEGEXT_CRIT_LABELS_VALUES:
			matched = any_bit(facts, SEGEXT_SLOT_LABEL, slots, nslots);
			if (ex != NULL)
				note_list(ex, cr, c, facts, SEGEXT_SLOT_LABEL, slots, true);
			return matched;
		case SEGEXT_CRIT_PURCHASE_PERIOD:
			matched = any_bit(facts, SEGEXT_SLOT_PERIOD, slots, nslots);
			if (ex != NULL)
				explain_note(ex, pstrdup(matched ? "a purchase in the period" : "no purchase in the period"),
							 psprintf("a purchase from %s to %s",
									  timestamp_text(resolve_bound(c->lo, (c->flags & SEGEXT_CF_FROM_IS_DATE) != 0, false)),
									  timestamp_text(resolve_bound(c->hi, (c->flags & SEGEXT_CF_TO_IS_DATE) != 0, true))));
			return matched;
		case SEGEXT_CRIT_LAST_PURCHASE:
			{
				TimestampTz start = resolve_bound((int64) time->today - c->lo, true, false);

				matched = facts->has_last_purchase && facts->last_purchase <= time->now &&
					facts->last_purchase >= start;
				if (ex != NULL)
					explain_note(ex, facts->has_last_purchase ?
								 psprintf("last purchase %s", timestamp_text(facts->last_purchase)) :
								 pstrdup("no purchase"),
								 psprintf("a purchase from %s to %s", timestamp_text(start),
										  timestamp_text(time->now)));
				return matched;
			}
		case SEGEXT_CRIT_PERCENT_IN_POS:
			/* pos / count >= percent / SCALE */
			matched = facts->transaction_count > 0 &&
				mul_le(c->lo, facts->transaction_count,
					   facts->pos_count[slots[0]], SEGEXT_AMOUNT_SCALE);
			if (ex != NULL)
				explain_note(ex, facts->transaction_count <= 0 ? pstrdup("no purchases") :
							 psprintf(INT64_FORMAT " of " INT64_FORMAT " purchases at %s",
									  facts->pos_count[slots[0]], facts->transaction_count,
									  json_quoted(SEGEXT_CRIT_STRING(cr, c->str), c->str.len)),
							 psprintf("a share of at least %s at %s", segext_scaled_to_cstring(c->lo),
									  json_quoted(SEGEXT_CRIT_STRING(cr, c->str), c->str.len)));
			return matched;
		case SEGEXT_CRIT_ANNIVERSARY:
			{
				bool		birthday = c->op == SEGEXT_ANNIVERSARY_BIRTHDAY;
				bool		known = birthday ? facts->has_birth_date : facts->has_registration;
				DateADT		date = birthday ? facts->birth_date : facts->registration_date;

				matched = known && anniversary_in_window(date, time->today, c->lo);
				if (ex != NULL)
					explain_note(ex, known ? psprintf("%s %s", birthday ? "born" : "registered", date_text(date)) :
								 pstrdup(birthday ? "no birth date" : "no registration date"),
								 c->lo >= 366 ? pstrdup("any known date (a window of 366 days or more)") :
								 psprintf("an anniversary from %s to %s", date_text(time->today),
										  date_text(time->today + (DateADT) c->lo - 1)));
				return matched;
			}
		case SEGEXT_CRIT_CUSTOMER_LIST:
			matched = bsearch(&facts->id, SEGEXT_CRITERIA_DATA(cr) + c->items, c->nitems,
							  SEGEXT_OBJECTID_LEN, segext_objectid_qsort_cmp) != NULL;
			if (ex != NULL)
				explain_note(ex, pstrdup(matched ? "listed" : "not listed"),
							 psprintf("to be one of the %u listed customers", c->nitems));
			return matched;
		case SEGEXT_CRIT_IN_SEGMENT:
			matched = SEGEXT_FACTS_TEST(facts, SEGEXT_SLOT_SEGMENT, slots[0]);
			if (ex != NULL)
				explain_note(ex, pstrdup(matched ? "member" : "not a member"),
							 pstrdup("to be a member of the segment, as decided in the same evaluation"));
			return matched;
	}
	elog(ERROR, "unrecognized criterion kind %d", c->kind);
	return false;
}

/* What a customer's criterion needs to be decided. */
typedef struct CustomerLeaf
{
	const CompiledCriteria *cc;
	const SegextCustomerFacts *facts;
	const SegextEvalTime *time;
	SegextFieldLookup lookup;
	void	   *arg;
} CustomerLeaf;

/* customer_leaf decides a criterion of a customer (eval_customer_criterion). */
static bool
customer_leaf(void *ctx, uint32 index, SegextExplain *ex)
{
	CustomerLeaf *cl = (CustomerLeaf *) ctx;

	return eval_customer_criterion(cl->cc, index, cl->facts, cl->time, cl->lookup, cl->arg, ex);
}

/*
 * match_customer evaluates one handle for one customer, recording every
 * node into ex when given (then also for an inactive customer, who matches
 * nothing all the same).
 */
static bool
match_customer(const SegextRequirements *reqs, int handle,
			   const SegextCustomerFacts *facts, const SegextEvalTime *time,
			   SegextFieldLookup lookup, void *arg, SegextExplain *ex)
{
	CustomerLeaf cl;
	bool		matched;

	if (handle < 0 || handle >= reqs->ncompiled)
		elog(ERROR, "invalid criteria handle %d", handle);
	if (!facts->active && ex == NULL)
		return false;
	cl.cc = &reqs->compiled[handle];
	cl.facts = facts;
	cl.time = time;
	cl.lookup = lookup;
	cl.arg = arg;
	matched = match_criteria(cl.cc->criteria, customer_leaf, &cl, ex);
	return facts->active && matched;
}

/* segext_criteria_match_customer evaluates one handle for one customer. */
bool
segext_criteria_match_customer(const SegextRequirements *reqs, int handle,
							   const SegextCustomerFacts *facts,
							   const SegextEvalTime *time,
							   SegextFieldLookup lookup, void *arg)
{
	return match_customer(reqs, handle, facts, time, lookup, arg, NULL);
}

/* segext_criteria_explain_customer evaluates one handle and records every node. */
bool
segext_criteria_explain_customer(const SegextRequirements *reqs, int handle,
								 const SegextCustomerFacts *facts,
								 const SegextEvalTime *time,
								 SegextFieldLookup lookup, void *arg,
								 SegextExplain *explain)
{
	return match_customer(reqs, handle, facts, time, lookup, arg, explain);
}

/* segext_eval_time_current fills today (session zone) and now. */
void
segext_eval_time_current(SegextEvalTime *time)
{
	time->now = GetCurrentTransactionStartTimestamp();
	time->today = DatumGetDateADT(DirectFunctionCall1(timestamptz_date,
													  TimestampTzGetDatum(time->now)));
}

/* segext_amount_from_numeric converts an amount exactly to scaled units. */
int64
segext_amount_from_numeric(Numeric num)
{
	int64		result;

	if (!segext_numeric_to_scaled(num, &result))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("amount %s cannot be used exactly",
						DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num)))),
				 errdetail("Amounts must be finite, with at most 6 decimal places, and between -9223372036854.775807 and 9223372036854.775807."),
				 errhint("Round the amount to 6 decimal places.")));
	return result;
}

/* --- SQL entry points --- */

/* JsonbFields is the lookup argument over a jsonb object's top-level keys. */
typedef struct JsonbFields
{
	JsonbContainer *obj;
} JsonbFields;

/*
 * jsonb_field_lookup finds a top-level key; its text form is what ->>
 * returns; JSON null counts as missing.
 */
static bool
jsonb_field_lookup(void *arg, const char *field, int field_len,
				   const char **value, int *value_len)
{
	JsonbFields *f = (JsonbFields *) arg;
	JsonbValue *v;
	char	   *s;

	if (f->obj == NULL)
		return false;
	v = getKeyJsonValueFromContainer(f->obj, field, field_len, NULL);
	if (v == NULL || v->type == jbvNull)
		return false;
	switch (v->type)
	{
		case jbvString:
			*value = v->val.string.val;
			*value_len = v->val.string.len;
			return true;
		case jbvNumeric:
			s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
			break;
		case jbvBool:
			s = v->val.boolean ? "true" : "false";
			break;
		default:
			s = JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
			break;
	}
	*value = s;
	*value_len = strlen(s);
	return true;
}

/* jsonb_object_arg checks that a jsonb argument is an object. */
static JsonbContainer *
jsonb_object_arg(Jsonb *jb, const char *what)
{
	if (JB_ROOT_IS_SCALAR(jb) || !JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", what),
				 errhint("Pass an object such as {\"country\": \"PL\"}.")));
	return &jb->root;
}

PG_FUNCTION_INFO_V1(criteria_match_event);
/* criteria_match_event matches a jsonb object's top-level keys as fields. */
Datum
criteria_match_event(PG_FUNCTION_ARGS)
{
	SegextCriteria *criteria = PG_GETARG_SEGEXT_CRITERIA_P(0);
	Jsonb	   *event = PG_GETARG_JSONB_P(1);
	JsonbFields f;

	f.obj = jsonb_object_arg(event, "event");
	PG_RETURN_BOOL(segext_criteria_match_row(criteria, jsonb_field_lookup, &f));
}

/* facts_error reports a bad key of the facts document (22023). */
static void
facts_error(const char *key, const char *must)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid customer facts: \"%s\" must be %s", key, must),
			 errhint("Facts look like {\"active\": true, \"transaction_count\": 2, \"amount\": 30.5, \"last_purchase\": \"2024-05-01T10:00:00Z\", \"pos_counts\": {\"pos-1\": 2}, \"skus\": [], \"makers\": [], \"item_labels\": [{\"key\": \"k\", \"value\": \"v\"}], \"labels\": [{\"key\": \"k\", \"value\": \"v\"}], \"purchases\": [\"2024-05-01T10:00:00Z\"], \"birth_date\": \"1990-02-28\", \"registration_date\": \"2020-01-01\", \"id\": \"507f1f77bcf86cd799439011\", \"segments\": [5], \"fields\": {}}.")));
}

/* facts_string returns the text of a jsonb string value or fails. */
static char *
facts_string(JsonbValue *v, const char *key)
{
	if (v->type != jbvString)
		facts_error(key, "a string");
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* facts_array returns a jsonb array container or fails. */
static JsonbContainer *
facts_array(JsonbValue *v, const char *key)
{
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		facts_error(key, "an array");
	return v->val.binary.data;
}

/* facts_labels sets label slots from [{"key", "value"}] items. */
static void
facts_labels(const SegextRequirements *reqs, SegextCustomerFacts *facts,
			 JsonbValue *v, const char *key, int key_kind, int pair_kind)
{
	JsonbContainer *arr = facts_array(v, key);
	int			n = JsonContainerSize(arr);
	int			i;

	for (i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
		JsonbValue *k,
				   *val;
		char	   *fk,
				   *fv;
		int			slot;

		if (e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
			facts_error(key, "an array of {\"key\": string, \"value\": string} objects");
		k = getKeyJsonValueFromContainer(e->val.binary.data, "key", 3, NULL);
		val = getKeyJsonValueFromContainer(e->val.binary.data, "value", 5, NULL);
		if (k == NULL || k->type != jbvString || val == NULL || val->type != jbvString)
			facts_error(key, "an array of {\"key\": string, \"value\": string} objects");
		fk = segext_fold_case(k->val.string.val, k->val.string.len);
		fv = segext_fold_case(val->val.string.val, val->val.string.len);
		if (key_kind >= 0 &&
			(slot = segext_requirements_slot(reqs, key_kind, fk, strlen(fk))) >= 0)
			SEGEXT_FACTS_SET(facts, key_kind, slot);
		if ((slot = segext_requirements_pair_slot(reqs, pair_kind, fk, strlen(fk),
												  fv, strlen(fv))) >= 0)
			SEGEXT_FACTS_SET(facts, pair_kind, slot);
	}
}

/* facts_strings sets slots of a kind from an array of strings. */
static void
facts_strings(const SegextRequirements *reqs, SegextCustomerFacts *facts,
			  JsonbValue *v, const char *key, int kind)
{
	JsonbContainer *arr = facts_array(v, key);
	int			n = JsonContainerSize(arr);
	int			i;

	for (i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
		char	   *f;
		int			slot;

		if (e->type != jbvString)
			facts_error(key, "an array of strings");
		f = segext_fold_case(e->val.string.val, e->val.string.len);
		if ((slot = segext_requirements_slot(reqs, kind, f, strlen(f))) >= 0)
			SEGEXT_FACTS_SET(facts, kind, slot);
	}
}

/* facts_int reads a non-negative integer fact. */
static int64
facts_int(JsonbValue *v, const char *key)
{
	int64		scaled;

	if (v->type != jbvNumeric || !segext_numeric_to_scaled(v->val.numeric, &scaled) ||
		scaled < 0 || scaled % SEGEXT_AMOUNT_SCALE != 0)
		facts_error(key, "a non-negative integer");
	return scaled / SEGEXT_AMOUNT_SCALE;
}

/*
 * facts_datetime reads a date or timestamptz fact with the type's input
 * function; text that input refuses is a bad fact (22023), like a bad
 * purchase_period bound in criteria.
 */
static Datum
facts_datetime(JsonbValue *v, const char *key, bool is_date)
{
	char	   *str = facts_string(v, key);
	MemoryContext oldcontext = CurrentMemoryContext;
	Datum		result = (Datum) 0;
	bool		refused = false;

	PG_TRY();
	{
		if (is_date)
			result = DirectFunctionCall1(date_in, CStringGetDatum(str));
		else
			result = DirectFunctionCall3(timestamptz_in, CStringGetDatum(str),
										 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
		{
			FreeErrorData(edata);
			PG_RE_THROW();
		}
		FlushErrorState();
		FreeErrorData(edata);
		refused = true;
	}
	PG_END_TRY();
	if (refused)
		facts_error(key, is_date ? "a date such as \"1990-02-28\"" :
					"a timestamp with a time zone such as \"2024-05-01T10:00:00Z\"");
	return result;
}

/* facts_date reads a date fact (date input syntax). */
static DateADT
facts_date(JsonbValue *v, const char *key)
{
	return DatumGetDateADT(facts_datetime(v, key, true));
}

/* facts_timestamp reads a timestamptz fact (timestamptz input syntax). */
static TimestampTz
facts_timestamp(JsonbValue *v, const char *key)
{
	return DatumGetTimestampTz(facts_datetime(v, key, false));
}

PG_FUNCTION_INFO_V1(criteria_match_facts);
/*
 * criteria_match_facts (preview/debug) fills SegextCustomerFacts from a
 * jsonb document and evaluates the criteria at the given today and now.
 */
Datum
criteria_match_facts(PG_FUNCTION_ARGS)
{
	SegextCriteria *criteria = PG_GETARG_SEGEXT_CRITERIA_P(0);
	JsonbContainer *doc = jsonb_object_arg(PG_GETARG_JSONB_P(1), "customer facts");
	SegextEvalTime time;
	SegextRequirements *reqs = segext_requirements_create();
	int			handle = segext_requirements_add(reqs, criteria);
	SegextCustomerFacts *facts = segext_facts_create(reqs);
	JsonbFields fields;
	JsonbIterator *it;
	JsonbValue	k;
	JsonbIteratorToken tok;

	time.today = PG_GETARG_DATEADT(2);
	time.now = PG_GETARG_TIMESTAMPTZ(3);
	fields.obj = NULL;
	facts->active = true;

	it = JsonbIteratorInit(doc);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		JsonbValue *v;
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		v = getKeyJsonValueFromContainer(doc, k.val.string.val, k.val.string.len, NULL);
		if (v->type == jbvNull)
			continue;
		if (strcmp(key, "active") == 0)
		{
			if (v->type != jbvBool)
				facts_error(key, "a boolean");
			facts->active = v->val.boolean;
		}
		else if (strcmp(key, "id") == 0)
		{
			segext_objectid_parse(facts_string(v, key), &facts->id);
		}
		else if (strcmp(key, "transaction_count") == 0)
			facts->transaction_count = facts_int(v, key);
		else if (strcmp(key, "amount") == 0)
		{
			if (v->type != jbvNumeric ||
				!segext_numeric_to_scaled(v->val.numeric, &facts->amount))
				facts_error(key, "a number with at most 6 decimal places from -9223372036854.775807 to 9223372036854.775807");
		}
		else if (strcmp(key, "last_purchase") == 0)
		{
			facts->has_last_purchase = true;
			facts->last_purchase = facts_timestamp(v, key);
		}
		else if (strcmp(key, "birth_date") == 0)
		{
			facts->has_birth_date = true;
			facts->birth_date = facts_date(v, key);
		}
		else if (strcmp(key, "registration_date") == 0)
		{
			facts->has_registration = true;
			facts->registration_date = facts_date(v, key);
		}
		else if (strcmp(key, "pos_counts") == 0)
		{
			JsonbIterator *pit;
			JsonbValue	pk;
			JsonbIteratorToken ptok;

			if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
				facts_error(key, "an object of POS id: count");
			pit = JsonbIteratorInit(v->val.binary.data);
			while ((ptok = JsonbIteratorNext(&pit, &pk, true)) != WJB_DONE)
			{
				JsonbValue *cv;
				int			slot;

				if (ptok != WJB_KEY)
					continue;
				cv = getKeyJsonValueFromContainer(v->val.binary.data, pk.val.string.val,
												  pk.val.string.len, NULL);
				slot = segext_requirements_slot(reqs, SEGEXT_SLOT_POS,
												pk.val.string.val, pk.val.string.len);
				if (slot >= 0)
					facts->pos_count[slot] = facts_int(cv, key);
				else
					(void) facts_int(cv, key);
			}
		}
		else if (strcmp(key, "skus") == 0)
			facts_strings(reqs, facts, v, key, SEGEXT_SLOT_SKU);
		else if (strcmp(key, "makers") == 0)
			facts_strings(reqs, facts, v, key, SEGEXT_SLOT_MAKER);
		else if (strcmp(key, "item_labels") == 0)
			facts_labels(reqs, facts, v, key, -1, SEGEXT_SLOT_ITEM_LABEL);
		else if (strcmp(key, "labels") == 0)
			facts_labels(reqs, facts, v, key, SEGEXT_SLOT_LABEL_KEY, SEGEXT_SLOT_LABEL);
		else if (strcmp(key, "purchases") == 0)
		{
			JsonbContainer *arr = facts_array(v, key);
			int			i;

			for (i = 0; i < (int) JsonContainerSize(arr); i++)
				segext_facts_add_purchase(reqs, facts,
										  facts_timestamp(getIthJsonbValueFromContainer(arr, i), key),
										  time.now);
		}
		else if (strcmp(key, "segments") == 0)
		{
			JsonbContainer *arr = facts_array(v, key);

			for (int i = 0; i < (int) JsonContainerSize(arr); i++)
			{
				JsonbValue *sv = getIthJsonbValueFromContainer(arr, i);
				int			slot;

				if (sv->type == jbvNumeric)
				{
					int64		number = facts_int(sv, key);

					slot = number > PG_INT32_MAX ? -1 :
						segext_requirements_segment_number_slot(reqs, (int32) number);
				}
				else
				{
					SegextObjectId id;

					segext_objectid_parse(facts_string(sv, key), &id);
					slot = segext_requirements_segment_slot(reqs, &id);
				}
				if (slot >= 0)
					SEGEXT_FACTS_SET(facts, SEGEXT_SLOT_SEGMENT, slot);
			}
		}
		else if (strcmp(key, "fields") == 0)
		{
			if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
				facts_error(key, "an object");
			fields.obj = v->val.binary.data;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid customer facts: unrecognized key \"%s\"", key),
					 errhint("Known keys are active, id, transaction_count, amount, last_purchase, purchases, pos_counts, skus, makers, item_labels, labels, birth_date, registration_date, segments and fields.")));
	}
	PG_RETURN_BOOL(segext_criteria_match_customer(reqs, handle, facts, &time,
												  jsonb_field_lookup, &fields));
}
