/*-------------------------------------------------------------------------
 *
 * requirements.c
 *	  The requirements of a list of criteria values: the slot of every POS
 *	  id, SKU, maker, label, purchase period and named segment their
 *	  criteria refer to, and the per-customer facts sized for them.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "common/hashfn.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "evaluate_internal.h"

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

/* eval_resolve_bound turns a purchase_period bound into a timestamp. */
TimestampTz
eval_resolve_bound(int64 v, bool is_date, bool end)
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

/* criterion_nslots returns how many slots a criterion refers to. */
static int
criterion_nslots(const SegextCriterion *c)
{
	switch (c->kind)
	{
		case SEGEXT_CRIT_BOUGHT_IN_POS:
		case SEGEXT_CRIT_BOUGHT_SKUS:
		case SEGEXT_CRIT_BOUGHT_MAKERS:
		case SEGEXT_CRIT_BOUGHT_LABELS:
		case SEGEXT_CRIT_HAS_LABELS:
		case SEGEXT_CRIT_LABELS_VALUES:
			return c->nitems;
		case SEGEXT_CRIT_PERCENT_IN_POS:
		case SEGEXT_CRIT_PURCHASE_PERIOD:
		case SEGEXT_CRIT_IN_SEGMENT:
			return 1;
		default:
			return 0;
	}
}

/*
 * period_slot returns the slot of a purchase_period criterion's period,
 * resolved to timestamps, keeping a new period in reqs->periods.
 */
static int
period_slot(SegextRequirements *reqs, const SegextCriterion *c)
{
	SegextPeriod p;
	int			before;
	int			slot;

	p.from = eval_resolve_bound(c->lo, (c->flags & SEGEXT_CF_FROM_IS_DATE) != 0, false);
	p.to = eval_resolve_bound(c->hi, (c->flags & SEGEXT_CF_TO_IS_DATE) != 0, true);
	before = reqs->nslots[SEGEXT_SLOT_PERIOD];
	slot = slot_intern(reqs, SEGEXT_SLOT_PERIOD, (const char *) &p, sizeof(p));
	if (slot == before)
	{
		if (reqs->nslots[SEGEXT_SLOT_PERIOD] > reqs->maxperiods)
		{
			reqs->maxperiods *= 2;
			reqs->periods = repalloc(reqs->periods,
									 sizeof(SegextPeriod) * reqs->maxperiods);
		}
		reqs->periods[slot] = p;
	}
	return slot;
}

/*
 * add_criterion adds what one criterion needs to reqs: its SEGEXT_NEED_*
 * flags, and its slots into out (criterion_nslots of them).
 */
static void
add_criterion(SegextRequirements *reqs, const SegextCriteria *criteria,
			  const SegextCriterion *c, int *out)
{
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
			reqs->needs |= SEGEXT_NEED_TRANSACTIONS;
			out[0] = period_slot(reqs, c);
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
		total += criterion_nslots(&crits[i]);
	}
	cc->slot_start[criteria->ncriteria] = total;
	cc->slots = palloc(sizeof(int) * (total + 1));
	for (i = 0; i < criteria->ncriteria; i++)
		add_criterion(reqs, criteria, &crits[i], cc->slots + cc->slot_start[i]);
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

