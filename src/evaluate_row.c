/*-------------------------------------------------------------------------
 *
 * evaluate_row.c
 *	  Field criteria against the fields of a row (an event, a customer's
 *	  columns): the field operators, numbers compared exactly as decimals,
 *	  and row plans that parse a criteria value's numbers once for many
 *	  rows.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "catalog/pg_collation.h"
#include "regex/regex.h"
#include "utils/builtins.h"

#include "evaluate_internal.h"

/* A decimal number parsed from text: sign, significant digits, exponent. */
typedef struct Decimal
{
	int			sign;			/* -1, 0 or 1 */
	char	   *digits;			/* significant digits, no leading/trailing 0 */
	int			ndigits;
	int64		exp;			/* value = 0.digits * 10^exp */
} Decimal;

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
				appendStringInfoString(&out, eval_json_quoted(SEGEXT_CRIT_STRING(cr, items[i]), items[i].len));
		}
		appendStringInfoChar(&out, ']');
	}
	else if (c->op != SEGEXT_OP_EXISTS && c->op != SEGEXT_OP_NEXISTS)
	{
		appendStringInfoChar(&out, ' ');
		if (c->flags & SEGEXT_CF_VALUE_NUMBER)
			appendBinaryStringInfo(&out, SEGEXT_CRIT_STRING(cr, c->val), c->val.len);
		else
			appendStringInfoString(&out, eval_json_quoted(SEGEXT_CRIT_STRING(cr, c->val), c->val.len));
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
bool
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
		eval_explain_note(ex, found ? eval_json_quoted(v, vlen) : pstrdup("missing"),
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
			eval_explain_note(ex, pstrdup("not a field of the row"),
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

	return eval_match_criteria(criteria, row_leaf, &rl, ex);
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

