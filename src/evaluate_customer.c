/*-------------------------------------------------------------------------
 *
 * evaluate_customer.c
 *	  Customer criteria against per-customer facts, each recording with
 *	  explain the customer's value that decided it; the time of an
 *	  evaluation and the exact conversion of amounts.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "access/xact.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "evaluate_internal.h"

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
		return eval_json_quoted(SEGEXT_CRIT_STRING(cr, items[k]), items[k].len);
	return psprintf("%s=%s",
					eval_json_quoted(SEGEXT_CRIT_STRING(cr, items[2 * k]), items[2 * k].len),
					eval_json_quoted(SEGEXT_CRIT_STRING(cr, items[2 * k + 1]), items[2 * k + 1].len));
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
	eval_explain_note(ex, has.len > 0 ? has.data : pstrdup(c->nitems > 1 ? "none of them" : "no"),
				 needs.data);
}

/* eval_average_amount decides average_amount: amount / count within lo..hi. */
static bool
eval_average_amount(const SegextCriterion *c, const SegextCustomerFacts *facts, int64 amount,
					SegextExplain *ex)
{
	bool		matched;

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
		eval_explain_note(ex, value, psprintf("%s..%s", segext_scaled_to_cstring(c->lo),
										 segext_scaled_to_cstring(c->hi)));
	}
	return matched;
}

/* eval_bought_in_pos decides bought_in_pos: a counted sale at one of the POS ids. */
static bool
eval_bought_in_pos(const SegextCriteria *cr, const SegextCriterion *c,
				   const SegextCustomerFacts *facts, const int *slots, int nslots,
				   SegextExplain *ex)
{
	bool		matched;
	int			i;

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
		eval_explain_note(ex, psprintf("purchases at %s", has.data), needs.data);
	}
	return matched;
}

/* eval_last_purchase decides last_purchase_n_days_before: a sale since today - n days. */
static bool
eval_last_purchase(const SegextCriterion *c, const SegextCustomerFacts *facts,
				   const SegextEvalTime *time, SegextExplain *ex)
{
	TimestampTz start = eval_resolve_bound((int64) time->today - c->lo, true, false);
	bool		matched;

	matched = facts->has_last_purchase && facts->last_purchase <= time->now &&
		facts->last_purchase >= start;
	if (ex != NULL)
		eval_explain_note(ex, facts->has_last_purchase ?
					 psprintf("last purchase %s", timestamp_text(facts->last_purchase)) :
					 pstrdup("no purchase"),
					 psprintf("a purchase from %s to %s", timestamp_text(start),
							  timestamp_text(time->now)));
	return matched;
}

/* eval_percent_in_pos decides percent_in_pos: the share of counted sales at one POS. */
static bool
eval_percent_in_pos(const SegextCriteria *cr, const SegextCriterion *c,
					const SegextCustomerFacts *facts, const int *slots, SegextExplain *ex)
{
	bool		matched;

	/* pos / count >= percent / SCALE */
	matched = facts->transaction_count > 0 &&
		mul_le(c->lo, facts->transaction_count,
			   facts->pos_count[slots[0]], SEGEXT_AMOUNT_SCALE);
	if (ex != NULL)
		eval_explain_note(ex, facts->transaction_count <= 0 ? pstrdup("no purchases") :
					 psprintf(INT64_FORMAT " of " INT64_FORMAT " purchases at %s",
							  facts->pos_count[slots[0]], facts->transaction_count,
							  eval_json_quoted(SEGEXT_CRIT_STRING(cr, c->str), c->str.len)),
					 psprintf("a share of at least %s at %s", segext_scaled_to_cstring(c->lo),
							  eval_json_quoted(SEGEXT_CRIT_STRING(cr, c->str), c->str.len)));
	return matched;
}

/* eval_anniversary decides anniversary: a birthday or registration day in the window. */
static bool
eval_anniversary(const SegextCriterion *c, const SegextCustomerFacts *facts,
				 const SegextEvalTime *time, SegextExplain *ex)
{
	bool		birthday = c->op == SEGEXT_ANNIVERSARY_BIRTHDAY;
	bool		known = birthday ? facts->has_birth_date : facts->has_registration;
	DateADT		date = birthday ? facts->birth_date : facts->registration_date;
	bool		matched;

	matched = known && anniversary_in_window(date, time->today, c->lo);
	if (ex != NULL)
		eval_explain_note(ex, known ? psprintf("%s %s", birthday ? "born" : "registered", date_text(date)) :
					 pstrdup(birthday ? "no birth date" : "no registration date"),
					 c->lo >= 366 ? pstrdup("any known date (a window of 366 days or more)") :
					 psprintf("an anniversary from %s to %s", date_text(time->today),
							  date_text(time->today + (DateADT) c->lo - 1)));
	return matched;
}

/*
 * eval_customer_criterion evaluates one criterion against the facts; ex,
 * when not NULL, gets the customer's value that decided it.  Each kind is
 * one case that decides and, with ex, records its value (eval_explain_note).
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

	switch (c->kind)
	{
		case SEGEXT_CRIT_FIELD:
			return eval_field(cr, NULL, index, lookup, arg, ex);
		case SEGEXT_CRIT_TRANSACTION_COUNT:
			matched = c->lo <= facts->transaction_count && facts->transaction_count <= c->hi;
			if (ex != NULL)
				eval_explain_note(ex, psprintf(INT64_FORMAT, facts->transaction_count),
							 psprintf(INT64_FORMAT ".." INT64_FORMAT, c->lo, c->hi));
			return matched;
		case SEGEXT_CRIT_TRANSACTION_AMOUNT:
			matched = c->lo <= amount && amount <= c->hi;
			if (ex != NULL)
				eval_explain_note(ex, segext_scaled_to_cstring(amount),
							 psprintf("%s..%s", segext_scaled_to_cstring(c->lo),
									  segext_scaled_to_cstring(c->hi)));
			return matched;
		case SEGEXT_CRIT_AVERAGE_AMOUNT:
			return eval_average_amount(c, facts, amount, ex);
		case SEGEXT_CRIT_BOUGHT_IN_POS:
			return eval_bought_in_pos(cr, c, facts, slots, nslots, ex);
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
				eval_explain_note(ex, pstrdup(matched ? "a purchase in the period" : "no purchase in the period"),
							 psprintf("a purchase from %s to %s",
									  timestamp_text(eval_resolve_bound(c->lo, (c->flags & SEGEXT_CF_FROM_IS_DATE) != 0, false)),
									  timestamp_text(eval_resolve_bound(c->hi, (c->flags & SEGEXT_CF_TO_IS_DATE) != 0, true))));
			return matched;
		case SEGEXT_CRIT_LAST_PURCHASE:
			return eval_last_purchase(c, facts, time, ex);
		case SEGEXT_CRIT_PERCENT_IN_POS:
			return eval_percent_in_pos(cr, c, facts, slots, ex);
		case SEGEXT_CRIT_ANNIVERSARY:
			return eval_anniversary(c, facts, time, ex);
		case SEGEXT_CRIT_CUSTOMER_LIST:
			matched = bsearch(&facts->id, SEGEXT_CRITERIA_DATA(cr) + c->items, c->nitems,
							  SEGEXT_OBJECTID_LEN, segext_objectid_qsort_cmp) != NULL;
			if (ex != NULL)
				eval_explain_note(ex, pstrdup(matched ? "listed" : "not listed"),
							 psprintf("to be one of the %u listed customers", c->nitems));
			return matched;
		case SEGEXT_CRIT_IN_SEGMENT:
			matched = SEGEXT_FACTS_TEST(facts, SEGEXT_SLOT_SEGMENT, slots[0]);
			if (ex != NULL)
				eval_explain_note(ex, pstrdup(matched ? "member" : "not a member"),
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
	matched = eval_match_criteria(cl.cc->criteria, customer_leaf, &cl, ex);
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

