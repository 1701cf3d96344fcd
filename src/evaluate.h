/*-------------------------------------------------------------------------
 *
 * evaluate.h
 *	  Pure evaluation of a compiled segext.criteria value: against the fields
 *	  of a row (events, customer columns) and against per-customer facts.
 *
 * Nothing here uses SPI, the catalogs or a cache of its own.  Day
 * boundaries (today 00:00, date-only purchase_period bounds) are taken in
 * the session time zone; "today" and "now" are inputs (SegextEvalTime).
 *
 * Customer evaluation in three steps, shaped for one sequential pass over a
 * company's transactions that serves many segments at once:
 *
 *	1. reqs = segext_requirements_create(); for each segment's criteria,
 *	   handle = segext_requirements_add(reqs, criteria).  This enumerates
 *	   the distinct POS ids, SKUs, makers, item labels, customer label keys,
 *	   customer labels and purchase periods the criteria refer to and gives
 *	   each a slot index within its SegextSlotKind.
 *	2. facts = segext_facts_create(reqs); per customer,
 *	   segext_facts_reset(reqs, facts) and fill it (see SegextCustomerFacts),
 *	   looking slots up with segext_requirements_slot / _pair_slot.
 *	3. segext_criteria_match_customer(reqs, handle, facts, &time, lookup, arg)
 *	   for each segment.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_EVALUATE_H
#define SEGEXT_EVALUATE_H

#include "postgres.h"
#include "datatype/timestamp.h"
#include "utils/date.h"
#include "utils/numeric.h"

#include "criteria.h"
#include "objectid.h"

/*
 * Look a field of the row being evaluated up by name (field_len bytes, not
 * NUL-terminated).  Returns false when the field is missing (absent or SQL
 * NULL); otherwise sets *value / *value_len to its text form (need not be
 * NUL-terminated).
 */
typedef bool (*SegextFieldLookup) (void *arg, const char *field, int field_len,
								   const char **value, int *value_len);

/* The moment of an evaluation: today (session time zone) and now. */
typedef struct SegextEvalTime
{
	DateADT		today;
	TimestampTz now;
} SegextEvalTime;

/* Kinds of slots: one namespace of slot indexes per kind. */
typedef enum SegextSlotKind
{
	SEGEXT_SLOT_POS = 0,		/* a POS id (exact) */
	SEGEXT_SLOT_SKU,			/* an item SKU (folded) */
	SEGEXT_SLOT_MAKER,			/* an item maker (folded) */
	SEGEXT_SLOT_ITEM_LABEL,		/* an item label key + value (folded) */
	SEGEXT_SLOT_LABEL_KEY,		/* a customer label key (folded) */
	SEGEXT_SLOT_LABEL,			/* a customer label key + value (folded) */
	SEGEXT_SLOT_PERIOD,			/* a purchase period [from, to] */
	SEGEXT_SLOT_SEGMENT,		/* a segment in_segment names (its id, or
								 * its number as an int64 when unresolved) */
	SEGEXT_SLOT_NKINDS
} SegextSlotKind;

/* What the criteria added to a SegextRequirements need filled in. */
#define SEGEXT_NEED_TRANSACTIONS	0x01	/* count, amount, last purchase */
#define SEGEXT_NEED_ITEMS			0x02	/* SKU, maker or item label slots */
#define SEGEXT_NEED_LABELS			0x04	/* customer label slots */
#define SEGEXT_NEED_BIRTH_DATE		0x08
#define SEGEXT_NEED_REGISTRATION	0x10
#define SEGEXT_NEED_FIELDS			0x20	/* field criteria: a lookup */
#define SEGEXT_NEED_CUSTOMER_ID		0x40	/* customer_list */
#define SEGEXT_NEED_SEGMENTS		0x80	/* in_segment: other segments' members */

/* A purchase period resolved to timestamps (both ends inclusive). */
typedef struct SegextPeriod
{
	TimestampTz from;
	TimestampTz to;
} SegextPeriod;

/* Compiled requirements of a list of criteria values (opaque). */
typedef struct SegextRequirements SegextRequirements;

/*
 * Per-customer facts: the ONLY figures customer criteria read.
 *
 * "Counted sale" below means a transaction with a positive amount that is
 * not fully returned, i.e. the sum of the amounts of the returns pointing at
 * it (returns have negative amounts) is greater than minus its amount.  A
 * return is never a counted sale.
 *
 * id					the customer's id (customer_list).
 * active				customer is active; an inactive customer matches
 *						nothing.
 * has_birth_date,
 * birth_date			birth date, if known (anniversary birthday).
 * has_registration,
 * registration_date	registration date in the session time zone, i.e.
 *						registered_at::date (anniversary registration).
 * transaction_count	number of counted sales.
 * amount				sum of the amounts of ALL the customer's sales and
 *						returns (returns negative), in SEGEXT_AMOUNT_SCALE
 *						units (segext_amount_from_numeric), NOT floored: the
 *						evaluator floors it at 0 once.
 * has_last_purchase,
 * last_purchase		latest occurred_at of a counted sale with
 *						occurred_at <= now (future-dated sales ignored).
 * pos_count[slot]		number of counted sales at the POS of that
 *						SEGEXT_SLOT_POS slot.
 * bits[kind]			bitset per slot kind (SEGEXT_FACTS_SET):
 *	 SKU, MAKER, ITEM_LABEL	set when an item of a counted sale has that SKU,
 *						maker, or a label with that key AND value;
 *	 LABEL_KEY, LABEL	set when the customer has a label with that key,
 *						or with that key AND value (on the same label);
 *	 PERIOD				set when a counted sale has from <= occurred_at <= to
 *						for that period (segext_facts_add_purchase does it);
 *	 SEGMENT			set when the customer is a member of that segment, as
 *						the engine decided it earlier in the same evaluation
 *						(membership_engine.c evaluates segments in dependency
 *						order; segext_requirements_segment_slot finds it).
 *	 bits[SEGEXT_SLOT_POS] is unused (NULL).
 */
typedef struct SegextCustomerFacts
{
	SegextObjectId id;
	bool		active;
	bool		has_birth_date;
	bool		has_registration;
	bool		has_last_purchase;
	DateADT		birth_date;
	DateADT		registration_date;
	int64		transaction_count;
	int64		amount;
	TimestampTz last_purchase;
	int64	   *pos_count;
	bits8	   *bits[SEGEXT_SLOT_NKINDS];
} SegextCustomerFacts;

#define SEGEXT_FACTS_SET(facts, kind, slot) \
	((facts)->bits[(kind)][(slot) / 8] |= (bits8) (1 << ((slot) % 8)))
#define SEGEXT_FACTS_TEST(facts, kind, slot) \
	(((facts)->bits[(kind)][(slot) / 8] & (1 << ((slot) % 8))) != 0)

/* --- Row evaluation (events, customer fields) --- */

/*
 * Does a row match the criteria (parts or a tree of groups)?  Field
 * criteria read the row through lookup; a non-field criterion is false here
 * (so under "not" it is true): only field-only criteria have their full
 * meaning on a row.
 */
extern bool segext_criteria_match_row(const SegextCriteria *criteria,
									  SegextFieldLookup lookup, void *arg);

/*
 * A criteria value prepared for matching many rows: its numeric values are
 * parsed once (opaque).  The criteria value must stay valid as long as the
 * plan.
 */
typedef struct SegextRowPlan SegextRowPlan;

/* Make the row plan of a criteria value (current memory context). */
extern SegextRowPlan *segext_row_plan_create(const SegextCriteria *criteria);

/* Same result as segext_criteria_match_row on the plan's criteria value. */
extern bool segext_row_plan_match(const SegextRowPlan *plan,
								  SegextFieldLookup lookup, void *arg);

/* Is every criterion a field criterion (so match_row is its full meaning)? */
extern bool segext_criteria_is_field_only(const SegextCriteria *criteria);

/* --- Customer evaluation --- */

/* Create empty requirements in the current memory context. */
extern SegextRequirements *segext_requirements_create(void);

/*
 * Add one criteria value (it must stay valid as long as reqs) and return
 * its handle for segext_criteria_match_customer.  Date-only purchase_period
 * bounds are resolved here in the session time zone (from = that day's
 * 00:00, to = the last microsecond of that day).
 */
extern int	segext_requirements_add(SegextRequirements *reqs,
									const SegextCriteria *criteria);

/* Union of SEGEXT_NEED_* flags of everything added. */
extern uint32 segext_requirements_needs(const SegextRequirements *reqs);

/* Number of slots of a kind. */
extern int	segext_requirements_nslots(const SegextRequirements *reqs,
									   SegextSlotKind kind);

/*
 * Slot of a POS id, SKU, maker or customer label key, or -1 when no
 * criterion refers to it.  SKUs, makers and keys must be passed folded
 * (segext_fold_case, or SQL lower()); POS ids exactly.
 */
extern int	segext_requirements_slot(const SegextRequirements *reqs,
									 SegextSlotKind kind,
									 const char *str, int len);

/* Slot of a folded key + value pair (ITEM_LABEL or LABEL), or -1. */
extern int	segext_requirements_pair_slot(const SegextRequirements *reqs,
										  SegextSlotKind kind,
										  const char *key, int key_len,
										  const char *value, int value_len);

/* Slot of a segment named by id in in_segment criteria, or -1. */
extern int	segext_requirements_segment_slot(const SegextRequirements *reqs,
											 const SegextObjectId *segment);

/* Slot of a segment named by number (criteria not resolved yet), or -1. */
extern int	segext_requirements_segment_number_slot(const SegextRequirements *reqs,
													int32 number);

/* Allocate facts sized for reqs (current memory context), already reset. */
extern SegextCustomerFacts *segext_facts_create(const SegextRequirements *reqs);

/* Clear facts for the next customer (inactive, no figures, no bits). */
extern void segext_facts_reset(const SegextRequirements *reqs,
							   SegextCustomerFacts *facts);

/*
 * Record one counted sale's time: sets the PERIOD bits it falls in and
 * advances last_purchase (when occurred_at <= now).  Does not touch
 * transaction_count, amount or pos_count.
 */
extern void segext_facts_add_purchase(const SegextRequirements *reqs,
									  SegextCustomerFacts *facts,
									  TimestampTz occurred_at,
									  TimestampTz now);

/*
 * Does the customer described by facts match the criteria added to reqs
 * under handle?  Field criteria read the customer's fields through lookup
 * (lookup may be NULL: every field is then missing).
 */
extern bool segext_criteria_match_customer(const SegextRequirements *reqs,
										   int handle,
										   const SegextCustomerFacts *facts,
										   const SegextEvalTime *time,
										   SegextFieldLookup lookup, void *arg);

/* --- Explain --- */

/*
 * One node of a condition as an evaluation decided it, for explain: the
 * root, a group ("all", "any", "not"; in parts, the root is an "all" of
 * the parts and each part an "any" of its criteria) or a criterion.
 */
typedef struct SegextExplainStep
{
	char	   *path;			/* "1" for the root, "1.2" for its second child */
	int			depth;			/* 1 for the root */
	int			node_kind;		/* SEGEXT_NODE_* */
	int			criterion;		/* criterion index, or -1 for a group */
	char	   *subject;		/* the criterion kind or field name, or the group */
	char	   *value;			/* what decided it, in words */
	char	   *requirement;	/* what it needs, in words */
	bool		matched;
} SegextExplainStep;

/* What an explaining evaluation records (opaque but for steps). */
typedef struct SegextExplain SegextExplain;

/* Make an empty explanation in the current memory context. */
extern SegextExplain *segext_explain_create(void);

/* The steps recorded so far, in tree order (a List of SegextExplainStep). */
extern List *segext_explain_steps(const SegextExplain *explain);

/*
 * Same result as segext_criteria_match_customer, from the same code, and
 * records every node of the criteria (none is skipped) into explain.  The
 * nodes are evaluated for an inactive customer too; the result is then
 * false.
 */
extern bool segext_criteria_explain_customer(const SegextRequirements *reqs,
											 int handle,
											 const SegextCustomerFacts *facts,
											 const SegextEvalTime *time,
											 SegextFieldLookup lookup, void *arg,
											 SegextExplain *explain);

/*
 * Same result as segext_row_plan_match, from the same code, and records
 * every node of the plan's criteria into explain.
 */
extern bool segext_row_plan_explain(const SegextRowPlan *plan,
									SegextFieldLookup lookup, void *arg,
									SegextExplain *explain);

/* --- Helpers --- */

/* today (session time zone) and now (transaction start) for an evaluation. */
extern void segext_eval_time_current(SegextEvalTime *time);

/*
 * Exact conversion of a numeric amount to SEGEXT_AMOUNT_SCALE units; more
 * than 6 decimal places, NaN or out of range raise 22003.
 */
extern int64 segext_amount_from_numeric(Numeric num);

#endif							/* SEGEXT_EVALUATE_H */
