/*-------------------------------------------------------------------------
 *
 * membership.c
 *	  Segment membership: segext.segment_members (evaluate a segment now)
 *	  and the refresh of materialized membership, for one segment or for
 *	  every active segment of a company in ONE pass over its transactions.
 *
 * The engine reads the company's current memberships, then scans its
 * transactions once (a direct heap scan, no per-row SQL), aggregating into a
 * hash of customers the figures that the union of all segments'
 * requirements needs (src/evaluate.h), then scans its customers once,
 * evaluating every target segment per customer.  Only differences are
 * written back (INSERT/DELETE on segext.memberships); statement triggers on
 * that table keep customers_count, the history and the NOTIFY.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "criteria.h"
#include "evaluate.h"
#include "objectid.h"

/* One segment the engine knows about. */
typedef struct Segment
{
	SegextObjectId id;
	int			number;
	bool		manual;			/* criteria IS NULL */
	bool		target;			/* evaluated in this run */
	SegextCriteria *criteria;
	int			handle;			/* in the requirements, when evaluated */
} Segment;

/* One customer in the hash: figures and current membership bits. */
typedef struct CustomerEntry
{
	SegextObjectId id;			/* hash key */
	SegextCustomerFacts *facts; /* NULL until a transaction is seen */
	bits8	   *old;			/* current memberships (bit per segment) */
} CustomerEntry;

/* The state of one engine run. */
typedef struct Engine
{
	MemoryContext cxt;
	SegextObjectId company;
	Oid			idtype;
	int			nsegs;
	Segment    *segs;
	int			idx_all;		/* index of segment 0 */
	int			idx_default;	/* index of segment 1 */
	SegextRequirements *reqs;
	uint32		needs;
	HTAB	   *customers;
	Size		facts_size;
	bool		load_old;		/* materialized memberships are read */
	SegextEvalTime time;
} Engine;

/* A customer row being evaluated, for field criteria. */
typedef struct CustomerRow
{
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;
	int			attributes_attno;
	char	   *buf;
} CustomerRow;

static Oid	objectid_type(void);
static void load_segments(Engine *e, const SegextObjectId *only, bool lock);
static void load_memberships(Engine *e);
static CustomerEntry *customer_entry(Engine *e, const SegextObjectId *id);
static SegextCustomerFacts *new_facts(Engine *e);
static void scan_transactions(Engine *e);
static void add_items(Engine *e, SegextCustomerFacts *f, Datum arr, SegextSlotKind kind);
static void add_labels(Engine *e, SegextCustomerFacts *f, Jsonb *labels);
static bool customer_field(void *arg, const char *field, int field_len,
						   const char **value, int *value_len);
typedef void (*MemberCallback) (Engine *e, const SegextObjectId *customer,
								bits8 *new_bits, bits8 *old_bits, void *arg);
static void scan_customers(Engine *e, MemberCallback cb, void *arg);
static void engine_init(Engine *e, const SegextObjectId *company);

#define BITS_BYTES(n)	((n) / 8 + 1)
#define BIT_SET(b, i)	((b)[(i) / 8] |= (bits8) (1 << ((i) % 8)))
#define BIT_TEST(b, i)	(((b)[(i) / 8] & (1 << ((i) % 8))) != 0)

/* objectid_type returns the OID of type segext.objectid. */
static Oid
objectid_type(void)
{
	return GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("objectid"),
						   ObjectIdGetDatum(get_namespace_oid("segext", false)));
}

/* engine_init prepares an engine run for a company in a private context. */
static void
engine_init(Engine *e, const SegextObjectId *company)
{
	memset(e, 0, sizeof(Engine));
	e->cxt = AllocSetContextCreate(CurrentMemoryContext, "segext membership",
								   ALLOCSET_DEFAULT_SIZES);
	e->company = *company;
	e->idtype = objectid_type();
	e->idx_all = e->idx_default = -1;
	segext_eval_time_current(&e->time);
}

/*
 * load_segments reads the company's active segments (locking them when lock
 * is set), marks the targets (every active segment, or only one plus the
 * built-ins) and compiles the requirements of the targets with criteria.
 */
static void
load_segments(Engine *e, const SegextObjectId *only, bool lock)
{
	Datum		args[1];
	Oid			types[1];
	int			ret;
	MemoryContext old;
	HASHCTL		ctl;

	types[0] = e->idtype;
	args[0] = PointerGetDatum(&e->company);
	ret = SPI_execute_with_args(lock ?
								"SELECT id, number, criteria FROM segext.segments "
								"WHERE company_id OPERATOR(segext.=) $1 AND active "
								"ORDER BY number FOR NO KEY UPDATE" :
								"SELECT id, number, criteria FROM segext.segments "
								"WHERE company_id OPERATOR(segext.=) $1 AND active "
								"ORDER BY number",
								1, types, args, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));

	old = MemoryContextSwitchTo(e->cxt);
	e->nsegs = SPI_processed;
	e->segs = palloc0(sizeof(Segment) * (e->nsegs + 1));
	e->reqs = segext_requirements_create();
	for (int i = 0; i < e->nsegs; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Segment    *s = &e->segs[i];
		Datum		crit;

		memcpy(&s->id, DatumGetPointer(SPI_getbinval(tup, desc, 1, &isnull)), SEGEXT_OBJECTID_LEN);
		s->number = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		crit = SPI_getbinval(tup, desc, 3, &isnull);
		s->manual = isnull;
		if (s->number == 0)
			e->idx_all = i;
		else if (s->number == 1)
			e->idx_default = i;
		s->target = (only == NULL || s->number <= 1 ||
					 memcmp(&s->id, only, SEGEXT_OBJECTID_LEN) == 0);
		if (s->target && !s->manual && s->number > 1)
		{
			s->criteria = (SegextCriteria *) PG_DETOAST_DATUM_COPY(crit);
			s->handle = segext_requirements_add(e->reqs, s->criteria);
		}
	}
	e->needs = segext_requirements_needs(e->reqs);
	{
		Size		sz = MAXALIGN(sizeof(SegextCustomerFacts));

		sz += MAXALIGN(sizeof(int64) * (segext_requirements_nslots(e->reqs, SEGEXT_SLOT_POS) + 1));
		for (int k = SEGEXT_SLOT_SKU; k < SEGEXT_SLOT_NKINDS; k++)
			sz += MAXALIGN(segext_requirements_nslots(e->reqs, k) / 8 + 1);
		e->facts_size = sz;
	}

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = SEGEXT_OBJECTID_LEN;
	ctl.entrysize = sizeof(CustomerEntry);
	ctl.hcxt = e->cxt;
	e->customers = hash_create("segext membership customers", 1024, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	MemoryContextSwitchTo(old);
}

/* new_facts allocates reset facts for one customer in one chunk. */
static SegextCustomerFacts *
new_facts(Engine *e)
{
	char	   *p = MemoryContextAllocZero(e->cxt, e->facts_size);
	SegextCustomerFacts *f = (SegextCustomerFacts *) p;

	p += MAXALIGN(sizeof(SegextCustomerFacts));
	f->pos_count = (int64 *) p;
	p += MAXALIGN(sizeof(int64) * (segext_requirements_nslots(e->reqs, SEGEXT_SLOT_POS) + 1));
	for (int k = SEGEXT_SLOT_SKU; k < SEGEXT_SLOT_NKINDS; k++)
	{
		f->bits[k] = (bits8 *) p;
		p += MAXALIGN(segext_requirements_nslots(e->reqs, k) / 8 + 1);
	}
	return f;
}

/* customer_entry finds or creates the hash entry of a customer. */
static CustomerEntry *
customer_entry(Engine *e, const SegextObjectId *id)
{
	bool		found;
	CustomerEntry *ce = hash_search(e->customers, id, HASH_ENTER, &found);

	if (!found)
	{
		ce->facts = NULL;
		ce->old = NULL;
	}
	return ce;
}

/*
 * load_memberships reads the materialized memberships of the company's
 * active segments (all of them when load_old, else only manual segments,
 * whose members are explicit) into the customers' old bits.
 */
static void
load_memberships(Engine *e)
{
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	TupleDesc	desc;
	int			a_company,
				a_segment,
				a_customer;
	int			bytes = BITS_BYTES(e->nsegs);
	int			cur = -1;
	SegextObjectId cur_id;

	rel = table_openrv(makeRangeVar("segext", "memberships", -1), AccessShareLock);
	desc = RelationGetDescr(rel);
	a_company = SPI_fnumber(desc, "company_id");
	a_segment = SPI_fnumber(desc, "segment_id");
	a_customer = SPI_fnumber(desc, "customer_id");
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		SegextObjectId *sid;
		CustomerEntry *ce;

		CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, Max(a_company, Max(a_segment, a_customer)));
		if (memcmp(DatumGetPointer(slot->tts_values[a_company - 1]), &e->company, SEGEXT_OBJECTID_LEN) != 0)
			continue;
		sid = DatumGetSegextObjectIdP(slot->tts_values[a_segment - 1]);
		if (cur < 0 || memcmp(sid, &cur_id, SEGEXT_OBJECTID_LEN) != 0)
		{
			cur = INT_MAX;		/* a segment that is not active: ignore */
			for (int i = 0; i < e->nsegs; i++)
				if (memcmp(&e->segs[i].id, sid, SEGEXT_OBJECTID_LEN) == 0)
					cur = i;
			cur_id = *sid;
		}
		if (cur == INT_MAX || (!e->load_old && !e->segs[cur].manual))
			continue;
		ce = customer_entry(e, DatumGetSegextObjectIdP(slot->tts_values[a_customer - 1]));
		if (ce->old == NULL)
			ce->old = MemoryContextAllocZero(e->cxt, bytes);
		BIT_SET(ce->old, cur);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
}

/* add_items sets the bits of a text[] of folded SKUs, makers or item labels. */
static void
add_items(Engine *e, SegextCustomerFacts *f, Datum arr, SegextSlotKind kind)
{
	ArrayType  *a = DatumGetArrayTypeP(arr);
	int			n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	char	   *p = ARR_DATA_PTR(a);

	if (ARR_HASNULL(a))
		return;					/* the trigger never writes NULL elements */
	for (int i = 0; i < n; i++)
	{
		text	   *t = (text *) p;
		char	   *s = VARDATA_ANY(t);
		int			len = VARSIZE_ANY_EXHDR(t);
		int			slot;

		if (kind == SEGEXT_SLOT_ITEM_LABEL)
		{
			char	   *sep = memchr(s, '\x1f', len);

			slot = sep == NULL ? -1 :
				segext_requirements_pair_slot(e->reqs, kind, s, sep - s, sep + 1, len - (sep - s) - 1);
		}
		else
			slot = segext_requirements_slot(e->reqs, kind, s, len);
		if (slot >= 0)
			SEGEXT_FACTS_SET(f, kind, slot);
		p = att_addlength_pointer(p, -1, p);
		p = (char *) att_align_nominal(p, TYPALIGN_INT);
	}
}

/*
 * scan_transactions reads the company's transactions once (heap scan) and
 * aggregates the counting rules into each customer's facts.
 */
static void
scan_transactions(Engine *e)
{
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	TupleDesc	desc;
	int			a_company,
				a_customer,
				a_occurred,
				a_amount,
				a_pos,
				a_returns,
				a_returned,
				a_skus,
				a_makers,
				a_labels,
				maxatt;
	bool		items = (e->needs & SEGEXT_NEED_ITEMS) != 0;
	bool		pos = segext_requirements_nslots(e->reqs, SEGEXT_SLOT_POS) > 0;
	bool		want_skus = segext_requirements_nslots(e->reqs, SEGEXT_SLOT_SKU) > 0;
	bool		want_makers = segext_requirements_nslots(e->reqs, SEGEXT_SLOT_MAKER) > 0;
	bool		want_labels = segext_requirements_nslots(e->reqs, SEGEXT_SLOT_ITEM_LABEL) > 0;
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "segext row",
											  ALLOCSET_SMALL_SIZES);
	SegextObjectId last_id;
	CustomerEntry *last = NULL;

	rel = table_openrv(makeRangeVar("segext", "transactions", -1), AccessShareLock);
	desc = RelationGetDescr(rel);
	a_company = SPI_fnumber(desc, "company_id");
	a_customer = SPI_fnumber(desc, "customer_id");
	a_occurred = SPI_fnumber(desc, "occurred_at");
	a_amount = SPI_fnumber(desc, "amount");
	a_pos = SPI_fnumber(desc, "pos_id");
	a_returns = SPI_fnumber(desc, "returns_id");
	a_returned = SPI_fnumber(desc, "returned_amount");
	a_skus = SPI_fnumber(desc, "item_skus");
	a_makers = SPI_fnumber(desc, "item_makers");
	a_labels = SPI_fnumber(desc, "item_labels");
	maxatt = Max(Max(a_customer, a_occurred), Max(a_amount, a_returned));
	maxatt = Max(maxatt, Max(a_pos, a_returns));
	if (items)
		maxatt = Max(maxatt, Max(a_skus, Max(a_makers, a_labels)));

	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		SegextCustomerFacts *f;
		SegextObjectId *cid;
		Numeric		amount;
		bool		counted;

		CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, maxatt);
		if (memcmp(DatumGetPointer(slot->tts_values[a_company - 1]), &e->company, SEGEXT_OBJECTID_LEN) != 0)
			continue;
		cid = DatumGetSegextObjectIdP(slot->tts_values[a_customer - 1]);
		if (last == NULL || memcmp(cid, &last_id, SEGEXT_OBJECTID_LEN) != 0)
		{
			last = customer_entry(e, cid);
			last_id = *cid;
			if (last->facts == NULL)
				last->facts = new_facts(e);
		}
		f = last->facts;
		amount = DatumGetNumeric(slot->tts_values[a_amount - 1]);
		f->amount += segext_amount_from_numeric(amount);
		if (!slot->tts_isnull[a_returns - 1])
			continue;			/* a return: only its amount counts */
		counted = DatumGetInt32(DirectFunctionCall2(numeric_cmp,
													slot->tts_values[a_returned - 1],
													NumericGetDatum(amount))) < 0;
		if (!counted)
			continue;			/* fully returned: no longer a purchase */
		f->transaction_count++;
		segext_facts_add_purchase(e->reqs, f,
								  DatumGetTimestampTz(slot->tts_values[a_occurred - 1]),
								  e->time.now);
		if (pos && !slot->tts_isnull[a_pos - 1])
		{
			text	   *t = DatumGetTextPP(slot->tts_values[a_pos - 1]);
			int			s = segext_requirements_slot(e->reqs, SEGEXT_SLOT_POS,
													 VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));

			if (s >= 0)
				f->pos_count[s]++;
		}
		if (items)
		{
			MemoryContext old = MemoryContextSwitchTo(tmp);

			if (want_skus)
				add_items(e, f, slot->tts_values[a_skus - 1], SEGEXT_SLOT_SKU);
			if (want_makers)
				add_items(e, f, slot->tts_values[a_makers - 1], SEGEXT_SLOT_MAKER);
			if (want_labels)
				add_items(e, f, slot->tts_values[a_labels - 1], SEGEXT_SLOT_ITEM_LABEL);
			MemoryContextSwitchTo(old);
			MemoryContextReset(tmp);
		}
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	MemoryContextDelete(tmp);
}

/* add_labels sets the customer label bits of the facts. */
static void
add_labels(Engine *e, SegextCustomerFacts *f, Jsonb *labels)
{
	int			n;

	if (!JB_ROOT_IS_ARRAY(labels) || JB_ROOT_IS_SCALAR(labels))
		return;
	n = JB_ROOT_COUNT(labels);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *label = getIthJsonbValueFromContainer(&labels->root, i);
		JsonbValue *k,
				   *v;
		char	   *key;
		int			slot;

		if (label->type != jbvBinary)
			continue;
		k = getKeyJsonValueFromContainer(label->val.binary.data, "key", 3, NULL);
		v = getKeyJsonValueFromContainer(label->val.binary.data, "value", 5, NULL);
		if (k == NULL || k->type != jbvString)
			continue;
		key = segext_fold_case(k->val.string.val, k->val.string.len);
		slot = segext_requirements_slot(e->reqs, SEGEXT_SLOT_LABEL_KEY, key, strlen(key));
		if (slot >= 0)
			SEGEXT_FACTS_SET(f, SEGEXT_SLOT_LABEL_KEY, slot);
		if (v != NULL && v->type == jbvString)
		{
			char	   *val = segext_fold_case(v->val.string.val, v->val.string.len);

			slot = segext_requirements_pair_slot(e->reqs, SEGEXT_SLOT_LABEL, key, strlen(key),
												 val, strlen(val));
			if (slot >= 0)
				SEGEXT_FACTS_SET(f, SEGEXT_SLOT_LABEL, slot);
		}
	}
}

/*
 * customer_field looks a field criterion's field up in the customer row: a
 * column by name, else a top-level key of attributes.
 */
static bool
customer_field(void *arg, const char *field, int field_len,
			   const char **value, int *value_len)
{
	CustomerRow *row = (CustomerRow *) arg;
	char	   *name = pnstrdup(field, field_len);
	int			attno = SPI_fnumber(row->desc, name);

	if (attno > 0 && strcmp(name, "labels") != 0 && strcmp(name, "attributes") != 0)
	{
		Oid			out;
		bool		varlena;

		if (row->nulls[attno - 1])
			return false;
		getTypeOutputInfo(TupleDescAttr(row->desc, attno - 1)->atttypid, &out, &varlena);
		row->buf = OidOutputFunctionCall(out, row->values[attno - 1]);
		*value = row->buf;
		*value_len = strlen(row->buf);
		return true;
	}
	if (!row->nulls[row->attributes_attno - 1])
	{
		Jsonb	   *attrs = DatumGetJsonbP(row->values[row->attributes_attno - 1]);
		JsonbValue *v;

		if (!JB_ROOT_IS_OBJECT(attrs))
			return false;
		v = getKeyJsonValueFromContainer(&attrs->root, field, field_len, NULL);
		if (v == NULL || v->type == jbvNull)
			return false;
		if (v->type == jbvString)
		{
			*value = v->val.string.val;
			*value_len = v->val.string.len;
		}
		else if (v->type == jbvNumeric)
		{
			row->buf = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
			*value = row->buf;
			*value_len = strlen(row->buf);
		}
		else if (v->type == jbvBool)
		{
			*value = v->val.boolean ? "true" : "false";
			*value_len = strlen(*value);
		}
		else
		{
			row->buf = JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
			*value = row->buf;
			*value_len = strlen(row->buf);
		}
		return true;
	}
	return false;
}

/*
 * scan_customers reads the company's customers once, completes each one's
 * facts, evaluates the target segments and calls cb with the new and old
 * membership bits.
 */
static void
scan_customers(Engine *e, MemberCallback cb, void *arg)
{
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	TupleDesc	desc;
	int			a_company,
				a_id,
				a_birth,
				a_registered,
				a_active,
				a_labels,
				a_attrs;
	int			bytes = BITS_BYTES(e->nsegs);
	bits8	   *newbits = palloc(bytes);
	bits8	   *nobits = palloc0(bytes);
	SegextCustomerFacts *scratch = new_facts(e);
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "segext customer",
											  ALLOCSET_SMALL_SIZES);
	CustomerRow row;

	rel = table_openrv(makeRangeVar("segext", "customers", -1), AccessShareLock);
	desc = RelationGetDescr(rel);
	a_company = SPI_fnumber(desc, "company_id");
	a_id = SPI_fnumber(desc, "id");
	a_birth = SPI_fnumber(desc, "birth_date");
	a_registered = SPI_fnumber(desc, "registered_at");
	a_active = SPI_fnumber(desc, "active");
	a_labels = SPI_fnumber(desc, "labels");
	a_attrs = SPI_fnumber(desc, "attributes");
	row.desc = desc;
	row.attributes_attno = a_attrs;

	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		SegextObjectId *cid;
		CustomerEntry *ce;
		SegextCustomerFacts *f;
		bool		active;
		bool		in_other = false;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(slot);
		if (memcmp(DatumGetPointer(slot->tts_values[a_company - 1]), &e->company, SEGEXT_OBJECTID_LEN) != 0)
			continue;
		cid = DatumGetSegextObjectIdP(slot->tts_values[a_id - 1]);
		ce = hash_search(e->customers, cid, HASH_FIND, NULL);
		if (ce != NULL && ce->facts != NULL)
			f = ce->facts;
		else
		{
			segext_facts_reset(e->reqs, scratch);
			f = scratch;
		}
		active = DatumGetBool(slot->tts_values[a_active - 1]);
		f->id = *cid;
		f->active = active;
		f->has_birth_date = !slot->tts_isnull[a_birth - 1];
		if (f->has_birth_date)
			f->birth_date = DatumGetDateADT(slot->tts_values[a_birth - 1]);
		f->has_registration = !slot->tts_isnull[a_registered - 1];
		old = MemoryContextSwitchTo(tmp);
		if (f->has_registration)
			f->registration_date = DatumGetDateADT(DirectFunctionCall1(timestamptz_date,
																	   slot->tts_values[a_registered - 1]));
		if ((e->needs & SEGEXT_NEED_LABELS) && !slot->tts_isnull[a_labels - 1])
			add_labels(e, f, DatumGetJsonbP(slot->tts_values[a_labels - 1]));
		row.values = slot->tts_values;
		row.nulls = slot->tts_isnull;

		memset(newbits, 0, bytes);
		for (int i = 0; i < e->nsegs; i++)
		{
			Segment    *s = &e->segs[i];
			bool		member;

			if (s->number <= 1)
				continue;
			if (!s->target || s->manual)
				member = active && ce != NULL && ce->old != NULL && BIT_TEST(ce->old, i);
			else
				member = active &&
					segext_criteria_match_customer(e->reqs, s->handle, f, &e->time,
												   customer_field, &row);
			if (member)
			{
				BIT_SET(newbits, i);
				in_other = true;
			}
		}
		if (active && e->idx_all >= 0)
			BIT_SET(newbits, e->idx_all);
		if (active && !in_other && e->idx_default >= 0)
			BIT_SET(newbits, e->idx_default);
		MemoryContextSwitchTo(old);
		MemoryContextReset(tmp);
		cb(e, cid, newbits, ce != NULL && ce->old != NULL ? ce->old : nobits, arg);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	MemoryContextDelete(tmp);
}

/* The differences found by a refresh, as parallel arrays. */
typedef struct Diff
{
	int			n;
	int			cap;
	Datum	   *segment;
	Datum	   *customer;
} Diff;

typedef struct DiffPair
{
	Diff		entered;
	Diff		left;
} DiffPair;

/* diff_add appends one (segment, customer) pair. */
static void
diff_add(Engine *e, Diff *d, const SegextObjectId *seg, const SegextObjectId *cust)
{
	SegextObjectId *c;

	if (d->n == d->cap)
	{
		d->cap = d->cap == 0 ? 1024 : d->cap * 2;
		d->segment = d->segment ? repalloc_huge(d->segment, sizeof(Datum) * d->cap) :
			MemoryContextAllocHuge(e->cxt, sizeof(Datum) * d->cap);
		d->customer = d->customer ? repalloc_huge(d->customer, sizeof(Datum) * d->cap) :
			MemoryContextAllocHuge(e->cxt, sizeof(Datum) * d->cap);
	}
	c = MemoryContextAlloc(e->cxt, SEGEXT_OBJECTID_LEN);
	*c = *cust;
	d->segment[d->n] = PointerGetDatum(seg);
	d->customer[d->n] = PointerGetDatum(c);
	d->n++;
}

/* collect_diff records the targets whose membership of a customer changed. */
static void
collect_diff(Engine *e, const SegextObjectId *customer, bits8 *new_bits,
			 bits8 *old_bits, void *arg)
{
	DiffPair   *dp = (DiffPair *) arg;

	for (int i = 0; i < e->nsegs; i++)
	{
		bool		now = BIT_TEST(new_bits, i);
		bool		before = BIT_TEST(old_bits, i);

		if (!e->segs[i].target || now == before)
			continue;
		diff_add(e, now ? &dp->entered : &dp->left, &e->segs[i].id, customer);
	}
}

/* apply_diff writes the differences into segext.memberships. */
static void
apply_diff(Engine *e, Diff *d, bool entered)
{
	Datum		args[3];
	Oid			types[3];
	Oid			arrtype = get_array_type(e->idtype);
	int			ret;

	if (d->n == 0)
		return;
	types[0] = e->idtype;
	types[1] = types[2] = arrtype;
	args[0] = PointerGetDatum(&e->company);
	args[1] = PointerGetDatum(construct_array(d->segment, d->n, e->idtype,
											  SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
	args[2] = PointerGetDatum(construct_array(d->customer, d->n, e->idtype,
											  SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
	if (entered)
		ret = SPI_execute_with_args("INSERT INTO segext.memberships (company_id, segment_id, customer_id) "
									"SELECT $1, u.s, u.c FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(s, c)",
									3, types, args, NULL, false, 0);
	else
		ret = SPI_execute_with_args("DELETE FROM segext.memberships AS m "
									"USING ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(s, c) "
									"WHERE m.company_id OPERATOR(segext.=) $1 "
									"AND m.segment_id OPERATOR(segext.=) u.s "
									"AND m.customer_id OPERATOR(segext.=) u.c",
									3, types, args, NULL, false, 0);
	if (ret < 0)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
}

/* segment_company finds the company of a segment (22023 when missing). */
static void
segment_company(Oid idtype, const SegextObjectId *segment, SegextObjectId *company, int *number)
{
	Datum		args[1];
	Oid			types[1];
	int			ret;
	bool		isnull;
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

	types[0] = idtype;
	args[0] = PointerGetDatum(segment);
	ret = SPI_execute_with_args("SELECT company_id, number FROM segext.segments WHERE id OPERATOR(segext.=) $1",
								1, types, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
	{
		segext_objectid_to_hex(segment, hex);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment \"%s\" does not exist", hex),
				 errdetail("No segment of the current company has id \"%s\".", hex),
				 errhint("Pass the id of an existing segment.")));
	}
	memcpy(company, DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
		   SEGEXT_OBJECTID_LEN);
	*number = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
}

/*
 * refresh runs the engine for a company (only = NULL: every active segment;
 * else that segment and the built-ins) and writes the differences.  Returns
 * the number of memberships that changed.
 */
static int64
refresh(const SegextObjectId *company, const SegextObjectId *only)
{
	Engine		e;
	DiffPair	dp;

	engine_init(&e, company);
	e.load_old = true;
	load_segments(&e, only, true);
	load_memberships(&e);
	if (e.needs & SEGEXT_NEED_TRANSACTIONS || e.needs & SEGEXT_NEED_ITEMS)
		scan_transactions(&e);
	memset(&dp, 0, sizeof(dp));
	scan_customers(&e, collect_diff, &dp);
	/* Customers with memberships but no row any more are left by cascade. */
	apply_diff(&e, &dp.left, false);
	apply_diff(&e, &dp.entered, true);
	MemoryContextDelete(e.cxt);
	return (int64) dp.entered.n + dp.left.n;
}

PG_FUNCTION_INFO_V1(segext_refresh_segment);
/*
 * segext_refresh_segment re-evaluates one active segment (and the built-ins
 * 0 and 1, which depend on it) and stores the result; returns the number of
 * memberships that changed.
 */
Datum
segext_refresh_segment(PG_FUNCTION_ARGS)
{
	SegextObjectId *segment = PG_GETARG_SEGEXT_OBJECTID_P(0);
	SegextObjectId company;
	int			number;
	int64		changed;

	SPI_connect();
	segment_company(objectid_type(), segment, &company, &number);
	changed = refresh(&company, number <= 1 ? &company : segment);
	SPI_finish();
	PG_RETURN_INT64(changed);
}

PG_FUNCTION_INFO_V1(segext_refresh_company);
/*
 * segext_refresh_company re-evaluates every active segment of a company in
 * one pass over its transactions; returns the number of memberships that
 * changed.
 */
Datum
segext_refresh_company(PG_FUNCTION_ARGS)
{
	SegextObjectId *company = PG_GETARG_SEGEXT_OBJECTID_P(0);
	int64		changed;
	Datum		args[1];
	Oid			types[1];
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

	SPI_connect();
	types[0] = objectid_type();
	args[0] = PointerGetDatum(company);
	if (SPI_execute_with_args("SELECT FROM segext.companies WHERE id OPERATOR(segext.=) $1",
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed");
	if (SPI_processed == 0)
	{
		segext_objectid_to_hex(company, hex);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("company \"%s\" does not exist", hex),
				 errdetail("No company visible to the current user has id \"%s\".", hex),
				 errhint("Pass the id of the current company.")));
	}
	changed = refresh(company, NULL);
	SPI_finish();
	PG_RETURN_INT64(changed);
}

/* The SRF's state: the tuplestore and which segment to emit. */
typedef struct EmitState
{
	ReturnSetInfo *rsinfo;
	int			index;
} EmitState;

/* emit_member puts a customer into the SRF result when it is a member. */
static void
emit_member(Engine *e, const SegextObjectId *customer, bits8 *new_bits,
			bits8 *old_bits, void *arg)
{
	EmitState  *st = (EmitState *) arg;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (st->index < 0 || !BIT_TEST(new_bits, st->index))
		return;
	values[0] = PointerGetDatum(&e->segs[st->index].id);
	values[1] = PointerGetDatum(customer);
	tuplestore_putvalues(st->rsinfo->setResult, st->rsinfo->setDesc, values, nulls);
}

PG_FUNCTION_INFO_V1(segext_segment_members);
/*
 * segext_segment_members evaluates a segment's criteria now and returns the
 * ids of its members (segment 0: active customers; 1: active customers in no
 * other active segment; a manual segment: its explicit active members).
 */
Datum
segext_segment_members(PG_FUNCTION_ARGS)
{
	SegextObjectId *segment = PG_GETARG_SEGEXT_OBJECTID_P(0);
	SegextObjectId company;
	int			number;
	Engine		e;
	EmitState	st;

	segext_init_materialized_srf(fcinfo);
	st.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SPI_connect();
	segment_company(objectid_type(), segment, &company, &number);
	engine_init(&e, &company);
	e.load_old = false;
	/* Segment 1 depends on every other segment; others only on themselves. */
	load_segments(&e, number == 1 ? NULL : segment, false);
	st.index = -1;
	for (int i = 0; i < e.nsegs; i++)
		if (memcmp(&e.segs[i].id, segment, SEGEXT_OBJECTID_LEN) == 0)
			st.index = i;
	if (st.index >= 0)
	{
		load_memberships(&e);
		if (e.needs & SEGEXT_NEED_TRANSACTIONS || e.needs & SEGEXT_NEED_ITEMS)
			scan_transactions(&e);
		scan_customers(&e, emit_member, &st);
	}
	MemoryContextDelete(e.cxt);
	SPI_finish();
	return (Datum) 0;
}
