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
 * that table append the count changes (segext.segment_member_counts), the
 * history and the NOTIFY; they write no segment row.
 *
 * Lock order.  Every path that locks rows of one company takes them in this
 * order, and never a lock of an earlier rank while it holds one of a later
 * rank, so that two such paths cannot wait for each other in a cycle:
 *
 *	 1. the company's segment rows, FOR NO KEY UPDATE: segment 0 "All"
 *		first, then the others by id (lock_segments);
 *	 2. the company row (companies), FOR NO KEY UPDATE (the rules that count
 *		a company's rows, src/rules.c);
 *	 3. channel rows, by (company_id, id) (the segment mix rules);
 *	 membership rows, and after them their count rows, are written only
 *	 while holding the lock of rank 1.
 *
 * Every writer of memberships (refresh_company, refresh_segment, activate,
 * deactivate, add and remove members) and reorder_segments first lock all
 * the company's segments with lock_segments, before they update any of
 * them: the lock of segment 0 makes them wait for each other at their
 * first lock.  A plain UPDATE or DELETE of one segment row holds only that
 * row (rank 1) before its rules lock the company (rank 2).  After its
 * locks, a refresh reads segments, memberships, customers and transactions
 * with a snapshot taken after them, so it sees whatever the writers it
 * waited for committed.  At REPEATABLE READ and SERIALIZABLE the snapshot
 * cannot move: a segment changed by a transaction that committed after the
 * snapshot fails the lock with 40001, and so does a change of members, seen
 * once the locks are held as a row of segext.segment_member_counts that the
 * snapshot cannot see (every statement that changes members adds one).
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "parser/parser.h"
#include "tcop/dest.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "nodes/makefuncs.h"
#include "nodes/params.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "common/hashfn.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "criteria.h"
#include "evaluate.h"
#include "facts.h"
#include "kept_plan.h"
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
	char		status;			/* simplehash slot status */
	SegextCustomerFacts *facts; /* NULL until a transaction is seen */
	bits8	   *old;			/* current memberships (bit per segment) */
} CustomerEntry;

/* hash_objectid hashes the 12 bytes of a customer id. */
static inline uint32
hash_objectid(const SegextObjectId *id)
{
	uint32		w[3];

	memcpy(w, id->data, sizeof(w));
	return murmurhash32(w[0] ^ murmurhash32(w[1] ^ murmurhash32(w[2])));
}

/* A simplehash table of customers: far cheaper per lookup than dynahash. */
#define SH_PREFIX custhash
#define SH_ELEMENT_TYPE CustomerEntry
#define SH_KEY_TYPE SegextObjectId
#define SH_KEY id
#define SH_HASH_KEY(tb, key) hash_objectid(&(key))
#define SH_EQUAL(tb, a, b) (memcmp(&(a), &(b), SEGEXT_OBJECTID_LEN) == 0)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* Arena of small zeroed chunks that live as long as one engine run. */
typedef struct Arena
{
	char	   *next;
	Size		left;
	Size		block;			/* size of the next block (0: the first) */
	MemoryContext cxt;
} Arena;

/*
 * arena_alloc returns size zeroed bytes (MAXALIGNed) from the arena.  Blocks
 * start at 8 kB and double up to 4 MB, so an evaluation that meets few
 * customers does not zero (and fault in) megabytes.
 */
static inline void *
arena_alloc(Arena *a, Size size)
{
	void	   *p;

	size = MAXALIGN(size);
	if (size > a->left)
	{
		Size		block;

		a->block = a->block == 0 ? 8192 : Min(a->block * 2, 4 * 1024 * 1024);
		block = Max(size, a->block);

		a->next = MemoryContextAllocZero(a->cxt, block);
		a->left = block;
	}
	p = a->next;
	a->next += size;
	a->left -= size;
	return p;
}

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
	custhash_hash *customers;	/* made by the first customer_entry */
	uint32		customers_expected; /* its initial size */
	bool		all_customers;	/* inactive customers too (a refresh) */
	Arena		arena;
	Size		facts_size;
	bool		load_old;		/* materialized memberships are read */
	int			direct;			/* index + 1 of the segment the query decides */
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

/* The ids of the segments a transaction locked, sorted. */
typedef struct SegmentLocks
{
	int			n;
	SegextObjectId *ids;
} SegmentLocks;

static void load_segments(Engine *e, const SegextObjectId *only, bool refresh);
static void check_members_unchanged(const SegextObjectId *company);
static SegmentLocks lock_segments(const SegextObjectId *company);
static bool segments_locked(const Engine *e, const SegmentLocks *locks);
static int	objectid_memcmp(const void *a, const void *b);
static void load_memberships(Engine *e);
static CustomerEntry *customer_entry(Engine *e, const SegextObjectId *id);
static SegextCustomerFacts *new_facts(Engine *e);
static void add_labels(Engine *e, SegextCustomerFacts *f, Jsonb *labels);
static bool customer_field(void *arg, const char *field, int field_len,
						   const char **value, int *value_len);
typedef void (*MemberCallback) (Engine *e, const SegextObjectId *customer,
								bits8 *new_bits, bits8 *old_bits, void *arg);
static void query_customers(Engine *e, Segment *single, MemberCallback cb, void *arg);
static void engine_init(Engine *e, const SegextObjectId *company);
static void segments_loaded(Engine *e, bool refresh);

#define BITS_BYTES(n)	((n) / 8 + 1)
#define BIT_SET(b, i)	((b)[(i) / 8] |= (bits8) (1 << ((i) % 8)))
#define BIT_TEST(b, i)	(((b)[(i) / 8] & (1 << ((i) % 8))) != 0)

/* engine_init prepares an engine run for a company in a private context. */
static void
engine_init(Engine *e, const SegextObjectId *company)
{
	memset(e, 0, sizeof(Engine));
	e->cxt = AllocSetContextCreate(CurrentMemoryContext, "segext membership",
								   ALLOCSET_DEFAULT_SIZES);
	e->company = *company;
	e->idtype = segext_objectid_type();
	e->idx_all = e->idx_default = -1;
	segext_eval_time_current(&e->time);
}

/*
 * lock_segments locks every segment row of a company FOR NO KEY UPDATE in
 * the lock order (segment 0 first, then by id) and returns their ids,
 * sorted.  A segment changed by a transaction that committed after a
 * REPEATABLE READ or SERIALIZABLE snapshot fails with 40001.
 */
static SegmentLocks
lock_segments(const SegextObjectId *company)
{
	Datum		args[1];
	Oid			types[1];
	int			ret = 0;
	SegmentLocks locks;
	MemoryContext cxt = CurrentMemoryContext;

	types[0] = segext_objectid_type();
	args[0] = PointerGetDatum(company);
	PG_TRY();
	{
		ret = SPI_execute_with_args("SELECT id FROM segext.segments "
									"WHERE company_id OPERATOR(segext.=) $1 "
									"ORDER BY number OPERATOR(pg_catalog.<>) 0, id FOR NO KEY UPDATE",
									1, types, args, NULL, false, 0);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_T_R_SERIALIZATION_FAILURE)
			PG_RE_THROW();
		FlushErrorState();
		segext_objectid_to_hex(company, hex);
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not lock the segments of company \"%s\"", hex),
				 errdetail("A transaction that committed after this transaction's snapshot changed a segment of company \"%s\" or its members (%s); at isolation level %s the snapshot cannot move to see it.",
						   hex, edata->message,
						   XactIsoLevel == XACT_SERIALIZABLE ? "SERIALIZABLE" : "REPEATABLE READ"),
				 errhint("Retry the transaction, or run it at isolation level READ COMMITTED.")));
	}
	PG_END_TRY();
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	locks.n = SPI_processed;
	locks.ids = palloc(sizeof(SegextObjectId) * Max(locks.n, 1));
	for (int i = 0; i < locks.n; i++)
	{
		bool		isnull;

		memcpy(&locks.ids[i], DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)),
			   SEGEXT_OBJECTID_LEN);
	}
	qsort(locks.ids, locks.n, sizeof(SegextObjectId), objectid_memcmp);
	if (IsolationUsesXactSnapshot())
		check_members_unchanged(company);
	return locks;
}

/*
 * check_members_unchanged raises 40001 when a member count row of the
 * company, read with the latest snapshot, was written by a transaction that
 * committed after this transaction's snapshot (REPEATABLE READ and
 * SERIALIZABLE), so that members are never computed from a stale view.
 */
static void
check_members_unchanged(const SegextObjectId *company)
{
	static const char *sql = "SELECT m.xmin FROM segext.segment_member_counts AS m "
		"WHERE m.company_id OPERATOR(segext.=) $1";
	Oid			types[1];
	Datum		args[1];
	SPIPlanPtr	plan;
	Snapshot	mine = GetTransactionSnapshot();
	int			ret;

	types[0] = segext_objectid_type();
	args[0] = PointerGetDatum(company);
	plan = SPI_prepare(sql, 1, types);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	ret = SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							   true, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		TransactionId xid = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[i],
																SPI_tuptable->tupdesc, 1, &isnull));

		if (!isnull && TransactionIdIsNormal(xid) && !TransactionIdIsCurrentTransactionId(xid) &&
			XidInMVCCSnapshot(xid, mine))
		{
			char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

			segext_objectid_to_hex(company, hex);
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not lock the segments of company \"%s\"", hex),
					 errdetail("A transaction that committed after this transaction's snapshot changed the members of a segment of company \"%s\"; at isolation level %s the snapshot cannot move to see it.",
							   hex, XactIsoLevel == XACT_SERIALIZABLE ? "SERIALIZABLE" : "REPEATABLE READ"),
					 errhint("Retry the transaction, or run it at isolation level READ COMMITTED.")));
		}
	}
	SPI_freeplan(plan);
}

/* segments_locked says whether every segment the engine loaded is locked. */
static bool
segments_locked(const Engine *e, const SegmentLocks *locks)
{
	for (int i = 0; i < e->nsegs; i++)
		if (bsearch(&e->segs[i].id, locks->ids, locks->n, sizeof(SegextObjectId), objectid_memcmp) == NULL)
			return false;
	return true;
}

/*
 * load_segments reads the company's active segments with the active
 * snapshot (for a refresh, taken after lock_segments), marks the targets
 * (every active segment, or only one plus the built-ins) and compiles the
 * requirements of the targets with criteria.
 */
static void
load_segments(Engine *e, const SegextObjectId *only, bool refresh)
{
	Datum		args[1];
	Oid			types[1];
	int			ret;
	MemoryContext old;

	types[0] = e->idtype;
	args[0] = PointerGetDatum(&e->company);
	ret = SPI_execute_with_args("SELECT id, number, criteria FROM segext.segments "
								"WHERE company_id OPERATOR(segext.=) $1 AND active "
								"ORDER BY number",
								1, types, args, NULL, true, 0);
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
	segments_loaded(e, refresh);
	MemoryContextSwitchTo(old);
}

/*
 * segments_loaded sizes the facts and the customer hash for the segments
 * loaded (a refresh, lock set, meets every customer; an evaluation only
 * explicit members).
 */
static void
segments_loaded(Engine *e, bool refresh)
{
	Size		sz = MAXALIGN(sizeof(SegextCustomerFacts));
	double		n = 1024.0;

	e->needs = segext_requirements_needs(e->reqs);
	sz += MAXALIGN(sizeof(int64) * (segext_requirements_nslots(e->reqs, SEGEXT_SLOT_POS) + 1));
	for (int k = SEGEXT_SLOT_SKU; k < SEGEXT_SLOT_NKINDS; k++)
		sz += MAXALIGN(segext_requirements_nslots(e->reqs, k) / 8 + 1);
	e->facts_size = sz;
	if (refresh)
	{
		Relation	rel = table_openrv(makeRangeVar("segext", "customers", -1), AccessShareLock);

		n = Max(rel->rd_rel->reltuples, 1024.0);
		table_close(rel, AccessShareLock);
	}
	/*
	 * The hash is made when a first customer needs an entry: a segment that
	 * one direct query decides never does, and would otherwise zero a
	 * table of at least 2,048 entries on every call.
	 */
	e->customers_expected = (uint32) Min(n * 1.2, (double) PG_UINT32_MAX / 2);
	e->arena.cxt = e->cxt;
}

/*
 * load_one_segment makes an engine of one segment (number > 1) whose row is
 * already read, for an evaluation that depends on it alone.
 */
static void
load_one_segment(Engine *e, const SegextObjectId *id, int number, Datum criteria, bool manual)
{
	MemoryContext old = MemoryContextSwitchTo(e->cxt);
	Segment    *s;

	e->nsegs = 1;
	e->segs = palloc0(sizeof(Segment) * 2);
	e->reqs = segext_requirements_create();
	s = &e->segs[0];
	s->id = *id;
	s->number = number;
	s->manual = manual;
	s->target = true;
	if (!manual)
	{
		s->criteria = (SegextCriteria *) PG_DETOAST_DATUM_COPY(criteria);
		s->handle = segext_requirements_add(e->reqs, s->criteria);
	}
	segments_loaded(e, false);
	MemoryContextSwitchTo(old);
}

/* new_facts allocates reset facts for one customer in one chunk. */
static SegextCustomerFacts *
new_facts(Engine *e)
{
	char	   *p = arena_alloc(&e->arena, e->facts_size);
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
	CustomerEntry *ce;

	if (e->customers == NULL)
		e->customers = custhash_create(e->cxt, e->customers_expected, NULL);
	ce = custhash_insert(e->customers, *id, &found);

	if (!found)
	{
		ce->facts = NULL;
		ce->old = NULL;
	}
	return ce;
}

/*
 * load_memberships reads the company's materialized memberships of its
 * active segments (all of them when load_old, else only manual segments,
 * whose members are explicit) into the customers' old bits, through the
 * primary key (company_id, segment_id, customer_id) and with the active
 * snapshot.
 */
static void
load_memberships(Engine *e)
{
	Relation	rel;
	Relation	idx;
	IndexScanDesc scan;
	ScanKeyData key;
	TupleTableSlot *slot;
	TupleDesc	desc;
	Oid			eqop;
	int			a_segment,
				a_customer;
	int			bytes = BITS_BYTES(e->nsegs);
	int			cur = -1;
	SegextObjectId cur_id;

	rel = table_openrv(makeRangeVar("segext", "memberships", -1), AccessShareLock);
	idx = index_open(RelationGetPrimaryKeyIndex(rel), AccessShareLock);
	desc = RelationGetDescr(rel);
	a_segment = SPI_fnumber(desc, "segment_id");
	a_customer = SPI_fnumber(desc, "customer_id");
	eqop = get_opfamily_member(idx->rd_opfamily[0], idx->rd_opcintype[0],
							   idx->rd_opcintype[0], BTEqualStrategyNumber);
	if (!OidIsValid(eqop))
		elog(ERROR, "no equality operator for the first key column of \"%s\"",
			 RelationGetRelationName(idx));
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, get_opcode(eqop),
				PointerGetDatum(&e->company));
	slot = table_slot_create(rel, NULL);
	scan = index_beginscan(rel, idx, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		SegextObjectId *sid;
		CustomerEntry *ce;

		CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, Max(a_segment, a_customer));
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
			ce->old = arena_alloc(&e->arena, bytes);
		BIT_SET(ce->old, cur);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
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

/* Evaluation of customer rows: attribute numbers and scratch space. */
typedef struct CustomerEval
{
	Engine	   *e;
	int			a_company,
				a_id,
				a_birth,
				a_registered,
				a_active,
				a_labels;
	int			bytes;
	bits8	   *newbits;
	bits8	   *nobits;
	SegextCustomerFacts *scratch;
	MemoryContext tmp;
	CustomerRow row;
	MemberCallback cb;
	void	   *arg;
} CustomerEval;

/* eval_init prepares the evaluation of rows of a customer tuple descriptor. */
static void
eval_init(Engine *e, CustomerEval *ev, TupleDesc desc, MemberCallback cb, void *arg)
{
	ev->e = e;
	ev->a_company = SPI_fnumber(desc, "company_id");
	ev->a_id = SPI_fnumber(desc, "id");
	ev->a_birth = SPI_fnumber(desc, "birth_date");
	ev->a_registered = SPI_fnumber(desc, "registered_at");
	ev->a_active = SPI_fnumber(desc, "active");
	ev->a_labels = SPI_fnumber(desc, "labels");
	ev->row.desc = desc;
	ev->row.attributes_attno = SPI_fnumber(desc, "attributes");
	ev->bytes = BITS_BYTES(e->nsegs);
	ev->newbits = palloc(ev->bytes);
	ev->nobits = palloc0(ev->bytes);
	ev->scratch = new_facts(e);
	ev->tmp = AllocSetContextCreate(CurrentMemoryContext, "segext customer",
									ALLOCSET_SMALL_SIZES);
	ev->cb = cb;
	ev->arg = arg;
}

/*
 * eval_customer completes the facts f of the customer in slot (whose
 * transaction figures are already in f), evaluates every segment and calls
 * the callback with the new and old membership bits.
 */
static void
eval_customer(CustomerEval *ev, TupleTableSlot *slot, CustomerEntry *ce, SegextCustomerFacts *f)
{
	Engine	   *e = ev->e;
	SegextObjectId *cid = DatumGetSegextObjectIdP(slot->tts_values[ev->a_id - 1]);
	bool		active = DatumGetBool(slot->tts_values[ev->a_active - 1]);
	bool		in_other = false;
	MemoryContext old;

	f->id = *cid;
	f->active = active;
	f->has_birth_date = !slot->tts_isnull[ev->a_birth - 1];
	if (f->has_birth_date)
		f->birth_date = DatumGetDateADT(slot->tts_values[ev->a_birth - 1]);
	f->has_registration = !slot->tts_isnull[ev->a_registered - 1];
	old = MemoryContextSwitchTo(ev->tmp);
	if (f->has_registration)
		f->registration_date = DatumGetDateADT(DirectFunctionCall1(timestamptz_date,
																   slot->tts_values[ev->a_registered - 1]));
	if ((e->needs & SEGEXT_NEED_LABELS) && !slot->tts_isnull[ev->a_labels - 1])
		add_labels(e, f, DatumGetJsonbP(slot->tts_values[ev->a_labels - 1]));
	ev->row.values = slot->tts_values;
	ev->row.nulls = slot->tts_isnull;

	memset(ev->newbits, 0, ev->bytes);
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
											   customer_field, &ev->row);
		if (member)
		{
			BIT_SET(ev->newbits, i);
			in_other = true;
		}
	}
	if (active && e->idx_all >= 0)
		BIT_SET(ev->newbits, e->idx_all);
	if (active && !in_other && e->idx_default >= 0)
		BIT_SET(ev->newbits, e->idx_default);
	MemoryContextSwitchTo(old);
	MemoryContextReset(ev->tmp);
	ev->cb(e, cid, ev->newbits, ce != NULL && ce->old != NULL ? ce->old : ev->nobits, ev->arg);
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

/*
 * State saved while segext writes segext.memberships as its owner: only
 * segext writes members (the table's guard refuses anyone else), after the
 * caller's right to act for the company has been checked.
 */
typedef struct MembersWrite
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} MembersWrite;

/*
 * members_write_begin switches to the owner of segext.memberships, with
 * search_path pg_catalog, pg_temp, for segext's own writes of members.
 */
static void
members_write_begin(MembersWrite *w)
{
	Oid			table = RangeVarGetRelid(makeRangeVar("segext", "memberships", -1), NoLock, false);
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(table));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", table);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	GetUserIdAndSecContext(&w->save_userid, &w->save_sec_context);
	SetUserIdAndSecContext(owner, w->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	w->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
}

/* members_write_end restores the caller's role and search_path. */
static void
members_write_end(MembersWrite *w)
{
	AtEOXact_GUC(true, w->save_nestlevel);
	SetUserIdAndSecContext(w->save_userid, w->save_sec_context);
}

/* apply_diff writes the differences into segext.memberships. */
static void
apply_diff(Engine *e, Diff *d, bool entered)
{
	Datum		args[3];
	Oid			types[3];
	Oid			arrtype = get_array_type(e->idtype);
	int			ret;
	MembersWrite w;

	if (d->n == 0)
		return;
	types[0] = e->idtype;
	types[1] = types[2] = arrtype;
	args[0] = PointerGetDatum(&e->company);
	args[1] = PointerGetDatum(construct_array(d->segment, d->n, e->idtype,
											  SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
	args[2] = PointerGetDatum(construct_array(d->customer, d->n, e->idtype,
											  SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
	members_write_begin(&w);
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
	members_write_end(&w);
}

static void segment_row(const SegextObjectId *segment, SegextObjectId *company,
						int *number, Datum *criteria, bool *manual, bool *active,
						char **name);

/* segment_company finds the company of a segment (segment_row). */
static void
segment_company(const SegextObjectId *segment, SegextObjectId *company, int *number)
{
	segment_row(segment, company, number, NULL, NULL, NULL, NULL);
}

/*
 * segment_row finds a segment by its id among the current company's segments
 * (ids are unique per company only), with the caller's privileges and row
 * level security, and reads its company and number and, when asked, a copy of
 * its criteria (NULL for a manual segment), whether it is active and its
 * name, in the caller's memory context.  With no current company (an
 * admin), the id must belong to one company alone.  Raises 22023 when no
 * segment or more than one matches.
 */
static void
segment_row(const SegextObjectId *segment, SegextObjectId *company, int *number,
			Datum *criteria, bool *manual, bool *active, char **name)
{
	static SegextKeptPlan row_plan;
	static const Oid argtypes[1] = {KEPT_OBJECTID};
	Datum		args[1];
	int			ret;
	bool		isnull;
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

	args[0] = PointerGetDatum(segment);
	/* a key lookup: the generic plan suits every id, so plan it once */
	ret = SPI_execute_plan(segext_kept_plan(&row_plan,
											"SELECT company_id, number, criteria, active, name FROM segext.segments "
											"WHERE id OPERATOR(segext.=) $1 AND company_id OPERATOR(segext.=) "
											"COALESCE(segext.current_company_id(), company_id) LIMIT 2",
											1, argtypes, CURSOR_OPT_GENERIC_PLAN),
						   args, NULL, true, 2);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	segext_objectid_to_hex(segment, hex);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment \"%s\" does not exist", hex),
				 errdetail("No segment of the current company has id \"%s\".", hex),
				 errhint("Pass the id of an existing segment.")));
	if (SPI_processed > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment id \"%s\" is ambiguous", hex),
				 errdetail("Segment ids are unique within a company only, several companies have a segment with id \"%s\", and no company is current.",
						   hex),
				 errhint("Set segext.company_id to the company whose segment is meant.")));
	memcpy(company, DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
		   SEGEXT_OBJECTID_LEN);
	*number = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (criteria != NULL)
	{
		Datum		c = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, manual);

		*criteria = *manual ? (Datum) 0 : PointerGetDatum(PG_DETOAST_DATUM_COPY(c));
		*active = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	}
	if (name != NULL)
		*name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5);
}

/* log_phase reports at DEBUG1 how long a phase of a refresh took. */
static void
log_phase(const char *phase, instr_time *start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, *start);
	elog(DEBUG1, "segext refresh: %s in %.1f ms", phase, INSTR_TIME_GET_MILLISEC(now));
	INSTR_TIME_SET_CURRENT(*start);
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

	instr_time	start;

	INSTR_TIME_SET_CURRENT(start);
	engine_init(&e, company);
	e.load_old = true;

	/*
	 * Locks first, then everything is read with a snapshot taken after them.
	 * A segment created and committed while this waited is not locked yet:
	 * lock again (in READ COMMITTED only; a fixed snapshot cannot see one).
	 */
	for (;;)
	{
		SegmentLocks locks = lock_segments(company);

		PushCopiedSnapshot(GetTransactionSnapshot());
		UpdateActiveSnapshotCommandId();
		load_segments(&e, only, true);
		if (segments_locked(&e, &locks))
			break;
		PopActiveSnapshot();
	}
	load_memberships(&e);
	log_phase("segments locked and memberships read", &start);
	e.all_customers = true;
	memset(&dp, 0, sizeof(dp));
	query_customers(&e, NULL, collect_diff, &dp);
	PopActiveSnapshot();
	log_phase("transactions aggregated and customers evaluated", &start);
	/* Customers with memberships but no row any more are left by cascade. */
	apply_diff(&e, &dp.left, false);
	apply_diff(&e, &dp.entered, true);
	log_phase("differences written", &start);
	MemoryContextDelete(e.cxt);
	return (int64) dp.entered.n + dp.left.n;
}

/*
 * remove_inactive_members deletes the members of the company's inactive
 * segments (only that one, when segment is given and inactive), which a
 * refresh does not evaluate; returns how many were removed.
 */
static int64
remove_inactive_members(const SegextObjectId *company, const SegextObjectId *segment)
{
	Datum		args[2];
	Oid			types[2];
	char		nulls[2] = {' ', segment == NULL ? 'n' : ' '};
	int			ret;
	MembersWrite w;

	types[0] = types[1] = segext_objectid_type();
	args[0] = PointerGetDatum(company);
	args[1] = PointerGetDatum(segment);
	members_write_begin(&w);
	ret = SPI_execute_with_args("DELETE FROM segext.memberships AS m "
								"WHERE m.company_id OPERATOR(segext.=) $1 "
								"AND m.segment_id OPERATOR(segext.=) ANY (ARRAY("
								"SELECT s.id FROM segext.segments AS s "
								"WHERE s.company_id OPERATOR(segext.=) $1 AND NOT s.active "
								"AND ($2 IS NULL OR s.id OPERATOR(segext.=) $2)))",
								2, types, args, nulls, false, 0);
	if (ret != SPI_OK_DELETE)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	members_write_end(&w);
	return (int64) SPI_processed;
}

/*
 * refresh_after_writes runs refresh with the statement's snapshot made to
 * see the members this call has just written (its heap scan of the
 * memberships reads the active snapshot).
 */
static int64
refresh_after_writes(const SegextObjectId *company, const SegextObjectId *only)
{
	int64		changed;

	CommandCounterIncrement();
	PushCopiedSnapshot(GetActiveSnapshot());
	UpdateActiveSnapshotCommandId();
	changed = refresh(company, only);
	PopActiveSnapshot();
	return changed;
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
	segment_company(segment, &company, &number);
	segext_check_company_access(&company);
	/* the lock order: the segments before any of their members change */
	(void) lock_segments(&company);
	changed = remove_inactive_members(&company, number <= 1 ? NULL : segment);
	changed += refresh_after_writes(&company, number <= 1 ? &company : segment);
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
	types[0] = segext_objectid_type();
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
	segext_check_company_access(company);
	/* the lock order: the segments before any of their members change */
	(void) lock_segments(company);
	changed = remove_inactive_members(company, NULL);
	changed += refresh_after_writes(company, NULL);
	SPI_finish();
	PG_RETURN_INT64(changed);
}

/*
 * segext_lock_company_segments locks every segment of a company in the lock
 * order, for other modules (reorder_segments), within their SPI connection.
 */
void
segext_lock_company_segments(const SegextObjectId *company)
{
	(void) lock_segments(company);
}

PG_FUNCTION_INFO_V1(segext_lock_segments);
/*
 * segext_lock_segments locks every segment of a company in the lock order
 * (see the top of this file), for the membership functions written in SQL,
 * which call it before they change a segment or its members.
 */
Datum
segext_lock_segments(PG_FUNCTION_ARGS)
{
	SegextObjectId *company = PG_GETARG_SEGEXT_OBJECTID_P(0);

	SPI_connect();
	(void) lock_segments(company);
	SPI_finish();
	PG_RETURN_VOID();
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


/* row_kind says whether a criterion kind is decided by single sales. */
static bool
row_kind(int kind)
{
	return kind == SEGEXT_CRIT_BOUGHT_IN_POS || kind == SEGEXT_CRIT_BOUGHT_SKUS ||
		kind == SEGEXT_CRIT_BOUGHT_MAKERS || kind == SEGEXT_CRIT_BOUGHT_LABELS ||
		kind == SEGEXT_CRIT_PURCHASE_PERIOD || kind == SEGEXT_CRIT_LAST_PURCHASE;
}

/* transaction_kind says whether a criterion kind reads transactions at all. */
static bool
transaction_kind(int kind)
{
	return row_kind(kind) || kind == SEGEXT_CRIT_TRANSACTION_COUNT ||
		kind == SEGEXT_CRIT_TRANSACTION_AMOUNT || kind == SEGEXT_CRIT_AVERAGE_AMOUNT ||
		kind == SEGEXT_CRIT_PERCENT_IN_POS;
}

/* crit_string returns a criterion list string as a palloc'd C string. */
static char *
crit_string(const SegextCriteria *c, const SegextString *str)
{
	return pnstrdup(SEGEXT_CRITERIA_DATA(c) + str->off, str->len);
}

/* append_list appends an SQL array literal of a criterion's string list. */
static void
append_list(StringInfo q, const SegextCriteria *c, const SegextCriterion *cr, bool pairs)
{
	const SegextString *items = SEGEXT_CRIT_ITEMS(c, cr);

	appendStringInfoString(q, "ARRAY[");
	for (uint32 i = 0; i < cr->nitems; i++)
	{
		char	   *v = pairs ? psprintf("%s\x1f%s", crit_string(c, &items[2 * i]), crit_string(c, &items[2 * i + 1]))
			: crit_string(c, &items[i]);

		appendStringInfo(q, "%s%s", i > 0 ? ", " : "", quote_literal_cstr(v));
	}
	appendStringInfoString(q, "]::pg_catalog.text[]");
}

/* timestamptz_literal writes a timestamptz as an SQL literal. */
static char *
timestamptz_literal(TimestampTz t)
{
	return psprintf("%s::pg_catalog.timestamptz",
					quote_literal_cstr(DatumGetCString(DirectFunctionCall1(timestamptz_out,
																		   TimestampTzGetDatum(t)))));
}

/*
 * append_row_cond appends the condition on one sale (alias a) that decides a
 * row criterion (row_kind), for index use.
 */
static void
append_row_cond(StringInfo q, Engine *e, const SegextCriteria *c, const SegextCriterion *cr, const char *a)
{
	switch (cr->kind)
	{
		case SEGEXT_CRIT_BOUGHT_IN_POS:
			appendStringInfo(q, "%s.pos_id OPERATOR(pg_catalog.=) ANY (", a);
			append_list(q, c, cr, false);
			appendStringInfoString(q, ")");
			break;
		case SEGEXT_CRIT_BOUGHT_SKUS:
			appendStringInfo(q, "%s.item_skus OPERATOR(pg_catalog.&&) ", a);
			append_list(q, c, cr, false);
			break;
		case SEGEXT_CRIT_BOUGHT_MAKERS:
			appendStringInfo(q, "%s.item_makers OPERATOR(pg_catalog.&&) ", a);
			append_list(q, c, cr, false);
			break;
		case SEGEXT_CRIT_BOUGHT_LABELS:
			appendStringInfo(q, "%s.item_labels OPERATOR(pg_catalog.&&) ", a);
			append_list(q, c, cr, true);
			break;
		case SEGEXT_CRIT_LAST_PURCHASE:
			appendStringInfo(q, "(%s.occurred_at OPERATOR(pg_catalog.>=) (%s::pg_catalog.date OPERATOR(pg_catalog.-) " INT64_FORMAT ")::pg_catalog.timestamptz AND %s.occurred_at OPERATOR(pg_catalog.<=) %s)",
							 a, quote_literal_cstr(DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(e->time.today)))),
							 cr->lo, a, timestamptz_literal(e->time.now));
			break;
		case SEGEXT_CRIT_PURCHASE_PERIOD:
			{
				int			np;
				const SegextPeriod *p = segext_requirements_periods(e->reqs, &np);

				/* every period of the requirements: a superset, still exact */
				appendStringInfoString(q, "(false");
				for (int i = 0; i < np; i++)
					appendStringInfo(q, " OR (%s.occurred_at OPERATOR(pg_catalog.>=) %s AND %s.occurred_at OPERATOR(pg_catalog.<=) %s)",
									 a, timestamptz_literal(p[i].from), a, timestamptz_literal(p[i].to));
				appendStringInfoString(q, ")");
			}
			break;
		default:
			elog(ERROR, "criterion kind %d is not decided by single sales", cr->kind);
	}
}

/*
 * append_customer_ids appends a condition that c.id is one of the customers
 * listed by the customer_list criteria from..to-1 of c.
 */
static void
append_customer_ids(StringInfo q, const SegextCriteria *c, uint32 from, uint32 to)
{
	const SegextCriterion *crits = SEGEXT_CRITERIA_CRIT(c);
	bool		first = true;

	appendStringInfoString(q, " AND c.id OPERATOR(segext.=) ANY ('{");
	for (uint32 j = from; j < to; j++)
	{
		const SegextObjectId *ids = (const SegextObjectId *) (SEGEXT_CRITERIA_DATA(c) + crits[j].items);

		for (uint32 n = 0; n < crits[j].nitems; n++)
		{
			char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

			segext_objectid_to_hex(&ids[n], hex);
			appendStringInfo(q, "%s%s", first ? "" : ",", hex);
			first = false;
		}
	}
	appendStringInfoString(q, "}'::segext.objectid[])");
}

/*
 * build_query writes the one query that gives, per active customer of the
 * company, its row and the transaction figures the targets need: a GROUP BY
 * over the transactions with one FILTER aggregate per slot, so the planner
 * can scan in parallel.  With a single target it narrows the scan where the
 * criteria allow: when every transaction criterion is decided by single
 * sales, only matching sales are aggregated (index scans); when one part
 * needs such a sale (or lists customers), customers without one are skipped.
 */
static char *
build_query(Engine *e, Segment *single)
{
	StringInfoData q;
	char		company[SEGEXT_OBJECTID_HEX_LEN + 1];
	bool		need_tx = (e->needs & (SEGEXT_NEED_TRANSACTIONS | SEGEXT_NEED_ITEMS)) != 0;
	bool		rows_only = need_tx && single != NULL;
	int			anchor = -1;	/* part of single needing a matching sale */
	int			list_part = -1; /* part of single made of customer lists */
	const SegextCriteria *c = single ? single->criteria : NULL;
	bool		need_count = false;
	bool		need_amount = false;
	bool		need_last = false;

	segext_objectid_to_hex(&e->company, company);
	for (int i = 0; i < e->nsegs; i++)
	{
		const SegextCriteria *sc = e->segs[i].criteria;
		const SegextCriterion *crits;

		if (sc == NULL)
			continue;
		crits = SEGEXT_CRITERIA_CRIT(sc);
		for (uint32 j = 0; j < sc->ncriteria; j++)
		{
			int			k = crits[j].kind;

			need_count |= k == SEGEXT_CRIT_TRANSACTION_COUNT || k == SEGEXT_CRIT_AVERAGE_AMOUNT ||
				k == SEGEXT_CRIT_PERCENT_IN_POS;
			need_amount |= k == SEGEXT_CRIT_TRANSACTION_AMOUNT || k == SEGEXT_CRIT_AVERAGE_AMOUNT;
			need_last |= k == SEGEXT_CRIT_LAST_PURCHASE;
		}
	}
	if (c != NULL)
	{
		const uint32 *ends = SEGEXT_CRITERIA_PART_END(c);
		const SegextCriterion *crits = SEGEXT_CRITERIA_CRIT(c);
		uint32		start = 0;

		for (uint32 j = 0; j < c->ncriteria; j++)
			if (transaction_kind(crits[j].kind) && !row_kind(crits[j].kind))
				rows_only = false;
		for (int p = 0; p < c->nparts; p++)
		{
			bool		all_rows = true;
			bool		all_lists = true;

			for (uint32 j = start; j < ends[p]; j++)
			{
				all_rows &= row_kind(crits[j].kind);
				all_lists &= crits[j].kind == SEGEXT_CRIT_CUSTOMER_LIST;
			}
			if (all_rows && anchor < 0)
				anchor = p;
			if (all_lists && list_part < 0)
				list_part = p;
			start = ends[p];
		}
	}

	initStringInfo(&q);
	appendStringInfoString(&q, "SELECT c.*");
	if (need_tx)
		appendStringInfoString(&q, ", t.sx_facts");
	appendStringInfoString(&q, " FROM segext.customers AS c");
	if (need_tx)
	{
		const char *cols[] = {"item_skus", "item_makers", "item_labels"};
		Oid			crit_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("criteria"),
												ObjectIdGetDatum(get_namespace_oid("segext", false)));
		Oid			out;
		bool		varlena;
		bool		first = true;

		/* one aggregate gives every figure; its criteria are the targets' */
		getTypeOutputInfo(crit_type, &out, &varlena);
		appendStringInfo(&q, " %s JOIN (SELECT x.customer_id, segext.customer_facts(ARRAY[",
						 anchor >= 0 ? "" : "LEFT");
		for (int i = 0; i < e->nsegs; i++)
		{
			Segment    *s = &e->segs[i];

			if (!s->target || s->manual || s->number <= 1)
				continue;
			appendStringInfo(&q, "%s%s", first ? "" : ", ",
							 quote_literal_cstr(OidOutputFunctionCall(out, PointerGetDatum(s->criteria))));
			first = false;
		}
		appendStringInfo(&q, "]::segext.criteria[], %s, x.amount, x.returned_amount, x.returns_id IS NULL, "
						 "x.occurred_at, x.pos_id", timestamptz_literal(e->time.now));
		for (int k = SEGEXT_SLOT_SKU; k <= SEGEXT_SLOT_ITEM_LABEL; k++)
			appendStringInfo(&q, ", %s%s", segext_requirements_nslots(e->reqs, k) > 0 ? "x." : "NULL::pg_catalog.text[]",
							 segext_requirements_nslots(e->reqs, k) > 0 ? cols[k - SEGEXT_SLOT_SKU] : "");
		appendStringInfoString(&q, ") AS sx_facts");
		appendStringInfo(&q, " FROM (SELECT tr.customer_id, tr.amount, tr.returned_amount, tr.returns_id, "
						 "tr.occurred_at, tr.pos_id, tr.item_skus, tr.item_makers, tr.item_labels "
						 "FROM segext.transactions AS tr WHERE tr.company_id OPERATOR(segext.=) '%s'::segext.objectid",
						 company);
		if (!need_amount && !rows_only)
			appendStringInfoString(&q, " AND tr.returns_id IS NULL AND tr.returned_amount OPERATOR(pg_catalog.<) tr.amount");
		if (rows_only || anchor >= 0)
		{
			const SegextCriterion *crits = SEGEXT_CRITERIA_CRIT(c);
			const uint32 *ends = SEGEXT_CRITERIA_PART_END(c);
			bool		first = true;
			const char *alias = rows_only ? "tr" : "a";

			if (rows_only)
				appendStringInfoString(&q, " AND tr.returns_id IS NULL AND tr.returned_amount OPERATOR(pg_catalog.<) tr.amount AND (");
			else
				appendStringInfo(&q, " AND tr.customer_id OPERATOR(segext.=) ANY (SELECT a.customer_id FROM segext.transactions AS a "
								 "WHERE a.company_id OPERATOR(segext.=) '%s'::segext.objectid AND a.returns_id IS NULL "
								 "AND a.returned_amount OPERATOR(pg_catalog.<) a.amount AND (", company);
			for (uint32 j = rows_only ? 0 : (anchor == 0 ? 0 : ends[anchor - 1]);
				 j < (rows_only ? c->ncriteria : ends[anchor]); j++)
			{
				if (!row_kind(crits[j].kind))
					continue;
				if (!first)
					appendStringInfoString(&q, " OR ");
				append_row_cond(&q, e, c, &crits[j], alias);
				first = false;
			}
			appendStringInfoString(&q, rows_only ? ")" : "))");
		}
		appendStringInfoString(&q, ") AS x GROUP BY x.customer_id) AS t ON t.customer_id OPERATOR(segext.=) c.id");
	}
	appendStringInfo(&q, " WHERE c.company_id OPERATOR(segext.=) '%s'::segext.objectid%s", company,
					 e->all_customers ? "" : " AND c.active");
	if (list_part >= 0)
	{
		const uint32 *ends = SEGEXT_CRITERIA_PART_END(c);

		append_customer_ids(&q, c, list_part == 0 ? 0 : ends[list_part - 1], ends[list_part]);
	}
	return q.data;
}

/* append_company_sales appends the sales of the company that count (alias a). */
static void
append_company_sales(StringInfo q, const char *company, const char *a)
{
	appendStringInfo(q, "FROM segext.transactions AS %s WHERE %s.company_id OPERATOR(segext.=) '%s'::segext.objectid "
					 "AND %s.returns_id IS NULL AND %s.returned_amount OPERATOR(pg_catalog.<) %s.amount",
					 a, a, company, a, a, a);
}

/* objectid_memcmp orders objectids bytewise (qsort and bsearch). */
static int
objectid_memcmp(const void *a, const void *b)
{
	return memcmp(a, b, SEGEXT_OBJECTID_LEN);
}

/*
 * listed_customers returns, for criteria whose every part is made only of
 * customer lists, the customers listed in every part (sorted, distinct, as
 * an objectid[]); NULL when a part has another kind of criterion.
 */
static ArrayType *
listed_customers(const Engine *e, const SegextCriteria *c)
{
	const SegextCriterion *crits = SEGEXT_CRITERIA_CRIT(c);
	const uint32 *ends = SEGEXT_CRITERIA_PART_END(c);
	SegextObjectId *members = NULL;
	int			nmembers = 0;
	uint32		start = 0;
	Datum	   *elems;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	for (int p = 0; p < c->nparts; p++)
	{
		SegextObjectId *part;
		int			n = 0;
		int			kept = 0;

		if (ends[p] == start)
			return NULL;
		for (uint32 j = start; j < ends[p]; j++)
		{
			if (crits[j].kind != SEGEXT_CRIT_CUSTOMER_LIST)
				return NULL;
			n += crits[j].nitems;
		}
		/* the part's customers: the union of its lists */
		part = palloc(sizeof(SegextObjectId) * Max(n, 1));
		n = 0;
		for (uint32 j = start; j < ends[p]; j++)
		{
			memcpy(&part[n], SEGEXT_CRITERIA_DATA(c) + crits[j].items,
				   sizeof(SegextObjectId) * crits[j].nitems);
			n += crits[j].nitems;
		}
		qsort(part, n, sizeof(SegextObjectId), objectid_memcmp);
		if (p == 0)
		{
			/* distinct */
			for (int i = 0; i < n; i++)
				if (kept == 0 || memcmp(&part[i], &part[kept - 1], SEGEXT_OBJECTID_LEN) != 0)
					part[kept++] = part[i];
			members = part;
			nmembers = kept;
		}
		else
		{
			/* keep the members this part lists too */
			for (int i = 0; i < nmembers; i++)
				if (bsearch(&members[i], part, n, sizeof(SegextObjectId), objectid_memcmp) != NULL)
					members[kept++] = members[i];
			nmembers = kept;
		}
		start = ends[p];
	}
	elems = palloc(sizeof(Datum) * Max(nmembers, 1));
	for (int i = 0; i < nmembers; i++)
		elems[i] = PointerGetDatum(&members[i]);
	get_typlenbyvalalign(e->idtype, &typlen, &typbyval, &typalign);
	return construct_array(elems, nmembers, e->idtype, typlen, typbyval, typalign);
}

/* What a direct query is, for the settings it is planned with. */
#define DIRECT_SEMIJOIN		0x01	/* customers semi-joined with their sales */
#define DIRECT_TIME_RANGE	0x02	/* ... of a time window (an index range) */
#define DIRECT_COUNT		0x04	/* one count per customer of all its sales */

/*
 * build_direct_query writes the query of the members of one segment alone
 * (customer ids, no figures) when SQL decides its criteria exactly: every
 * part made only of criteria decided by single sales (one semi-join per
 * part, on the indexes of those sales) or only of customer lists, or a
 * single transaction_count criterion (one count per customer, joined with
 * only the customers that have sales unless the range includes 0).  Returns
 * NULL when the segment needs the facts query.  Sets *shape to what the
 * query is: DIRECT_COUNT for the count, DIRECT_SEMIJOIN for semi-joins, plus
 * DIRECT_TIME_RANGE when one reads the sales of a time window.
 */
static char *
build_direct_query(Engine *e, Segment *s, int *shape)
{
	const SegextCriteria *c = s->criteria;
	const SegextCriterion *crits = SEGEXT_CRITERIA_CRIT(c);
	const uint32 *ends = SEGEXT_CRITERIA_PART_END(c);
	char		company[SEGEXT_OBJECTID_HEX_LEN + 1];
	StringInfoData q;
	uint32		start = 0;
	int			nperiods;

	segext_objectid_to_hex(&e->company, company);
	(void) segext_requirements_periods(e->reqs, &nperiods);
	initStringInfo(&q);
	if (c->nparts == 1 && c->ncriteria == 1 && crits[0].kind == SEGEXT_CRIT_TRANSACTION_COUNT)
	{
		bool		zero = crits[0].lo == 0;

		appendStringInfo(&q, "SELECT c.id FROM segext.customers AS c %sJOIN (SELECT a.customer_id, pg_catalog.count(*) AS n ",
						 zero ? "LEFT " : "");
		append_company_sales(&q, company, "a");
		appendStringInfo(&q, " GROUP BY a.customer_id) AS t ON t.customer_id OPERATOR(segext.=) c.id "
						 "WHERE c.company_id OPERATOR(segext.=) '%s'::segext.objectid AND c.active "
						 "AND %s OPERATOR(pg_catalog.>=) " INT64_FORMAT "::pg_catalog.int8 "
						 "AND %s OPERATOR(pg_catalog.<=) " INT64_FORMAT "::pg_catalog.int8",
						 company, zero ? "COALESCE(t.n, 0)" : "t.n", crits[0].lo,
						 zero ? "COALESCE(t.n, 0)" : "t.n", crits[0].hi);
		*shape = DIRECT_COUNT;
		return q.data;
	}
	for (int p = 0; p < c->nparts; p++)
	{
		bool		all_rows = ends[p] > start;
		bool		all_lists = ends[p] > start;

		for (uint32 j = start; j < ends[p]; j++)
		{
			all_rows &= row_kind(crits[j].kind) &&
				(crits[j].kind != SEGEXT_CRIT_PURCHASE_PERIOD || nperiods == 1);
			all_lists &= crits[j].kind == SEGEXT_CRIT_CUSTOMER_LIST;
		}
		if (!all_rows && !all_lists)
			return NULL;
		start = ends[p];
	}
	appendStringInfo(&q, "SELECT c.id FROM segext.customers AS c WHERE c.company_id OPERATOR(segext.=) '%s'::segext.objectid AND c.active",
					 company);
	*shape = DIRECT_SEMIJOIN;
	for (uint32 j = 0; j < c->ncriteria; j++)
		if (crits[j].kind == SEGEXT_CRIT_PURCHASE_PERIOD || crits[j].kind == SEGEXT_CRIT_LAST_PURCHASE)
			*shape |= DIRECT_TIME_RANGE;
	start = 0;
	for (int p = 0; p < c->nparts; p++)
	{
		bool		first = true;

		if (crits[start].kind == SEGEXT_CRIT_CUSTOMER_LIST)
			append_customer_ids(&q, c, start, ends[p]);
		else
		{
			/* a sale matching any criterion of the part */
			appendStringInfoString(&q, " AND c.id OPERATOR(segext.=) ANY (SELECT a.customer_id ");
			append_company_sales(&q, company, "a");
			appendStringInfoString(&q, " AND (");
			for (uint32 j = start; j < ends[p]; j++)
			{
				if (!first)
					appendStringInfoString(&q, " OR ");
				append_row_cond(&q, e, c, &crits[j], "a");
				first = false;
			}
			appendStringInfoString(&q, "))");
		}
		start = ends[p];
	}
	return q.data;
}

/* The receiver of the facts query's rows: evaluates each as it arrives. */
typedef struct QueryReceiver
{
	DestReceiver pub;
	Engine	   *e;
	CustomerEval ev;
	MemberCallback cb;
	void	   *arg;
	int			a_facts;		/* attno of sx_facts, 0 without transactions */
} QueryReceiver;

/* qr_startup prepares the evaluation of the rows of the facts query. */
static void
qr_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	QueryReceiver *qr = (QueryReceiver *) self;
	int			a = SPI_fnumber(typeinfo, "sx_facts");

	eval_init(qr->e, &qr->ev, typeinfo, qr->cb, qr->arg);
	qr->a_facts = a > 0 ? a : 0;
}

/* qr_receive fills one customer's facts from a row and evaluates it. */
static bool
qr_receive(TupleTableSlot *slot, DestReceiver *self)
{
	QueryReceiver *qr = (QueryReceiver *) self;
	Engine	   *e = qr->e;
	SegextCustomerFacts *f = qr->ev.scratch;
	CustomerEntry *ce;

	CHECK_FOR_INTERRUPTS();
	slot_getallattrs(slot);
	if (e->direct > 0)
	{
		/* the query returned exactly the members of that segment */
		memset(qr->ev.newbits, 0, qr->ev.bytes);
		BIT_SET(qr->ev.newbits, e->direct - 1);
		qr->cb(e, DatumGetSegextObjectIdP(slot->tts_values[qr->ev.a_id - 1]),
			   qr->ev.newbits, qr->ev.nobits, qr->arg);
		return true;
	}
	segext_facts_reset(e->reqs, f);
	if (qr->a_facts > 0 && !slot->tts_isnull[qr->a_facts - 1])
		segext_facts_from_state(e->reqs, DatumGetByteaPP(slot->tts_values[qr->a_facts - 1]), f);
	ce = e->customers == NULL ? NULL :
		custhash_lookup(e->customers, *DatumGetSegextObjectIdP(slot->tts_values[qr->ev.a_id - 1]));
	eval_customer(&qr->ev, slot, ce, f);
	return true;
}

/* qr_shutdown releases the evaluation's scratch context. */
static void
qr_shutdown(DestReceiver *self)
{
	QueryReceiver *qr = (QueryReceiver *) self;

	MemoryContextDelete(qr->ev.tmp);
}

/* qr_destroy has nothing to free: the receiver lives on the stack. */
static void
qr_destroy(DestReceiver *self)
{
}

/* set_call_option sets a setting until the current GUC nest level ends. */
static void
set_call_option(const char *name, const char *value)
{
	(void) set_config_option(name, value, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * query_customers runs the facts query of the targets (through the planner:
 * parallel scans and aggregation, indexes where they pay) and evaluates
 * every row as it arrives.
 */
static void
query_customers(Engine *e, Segment *single, MemberCallback cb, void *arg)
{
	char	   *sql;
	SPIPlanPtr	plan;
	QueryReceiver qr;
	int			ret;
	int			nestlevel;
	ArrayType  *listed = NULL;
	int			shape = 0;

	sql = NULL;
	if (single != NULL && !e->all_customers)
	{
#if PG_VERSION_NUM >= 140000
		listed = listed_customers(e, single->criteria);
		if (listed == NULL)
#endif
			sql = build_direct_query(e, single, &shape);
	}
	if (sql != NULL || listed != NULL)
		e->direct = (single - e->segs) + 1;
	else
		sql = build_query(e, single);
	if (sql != NULL)
		elog(DEBUG2, "segext facts query: %s", sql);
	memset(&qr, 0, sizeof(qr));
	qr.pub.receiveSlot = qr_receive;
	qr.pub.rStartup = qr_startup;
	qr.pub.rShutdown = qr_shutdown;
	qr.pub.rDestroy = qr_destroy;
	qr.pub.mydest = DestNone;
	qr.e = e;
	qr.cb = cb;
	qr.arg = arg;
	/*
	 * Settings for a direct query, chosen by its shape (bench/README.md has
	 * the measurements behind each).  Planning happens at execution, so they
	 * span both.
	 */
	nestlevel = NewGUCNestLevel();
	if (e->direct > 0)
	{
		/*
		 * A direct query is a scan or semi-join with a few quals that returns
		 * ids: compiling it (about 70 ms per process on 1M customers / 10M
		 * transactions, and PostgreSQL 15 keeps no compiled code) costs more
		 * than it saves.
		 */
		set_call_option("jit", "off");
		/*
		 * A semi-join whose sales are few joins them to customers by probing
		 * the primary key once per distinct customer: in key order (Sort and
		 * Unique) rather than hash order the probes touch each index page
		 * once.  Hash semi-joins of many sales are not affected.
		 */
		if (shape & DIRECT_SEMIJOIN)
			set_call_option("enable_hashagg", "off");
		/*
		 * The sales of a time window are a range of the occurred_at index,
		 * whose order the heap follows (sales are appended as they happen):
		 * parallel workers read it well.  Every member is handed to the
		 * receiver here, in C, far cheaper per row than parallel_tuple_cost
		 * assumes, whose default keeps such a semi-join in one process.
		 * Sales scattered over the heap (a POS) were measured slower with
		 * it, so they keep the server's setting.
		 */
		if (shape & DIRECT_TIME_RANGE)
			set_call_option("parallel_tuple_cost", "0.01");
		/*
		 * The count reads every counted sale of the company and groups them
		 * by customer, into about as many groups as customers, so partial
		 * aggregation in the workers shrinks little (3.2M sales into 0.87M
		 * groups per process on the benchmark data).  Workers that only
		 * scan and filter, feeding one hash aggregate in this process,
		 * overlap the scan with the aggregation: 0.72-0.77 of the time of
		 * the single-process plan (bench/README.md).  The default
		 * parallel_tuple_cost prices passing every sale through the Gather
		 * so high that the planner never picks that plan.
		 */
		if (shape & DIRECT_COUNT)
			set_call_option("parallel_tuple_cost", "0");
	}
#if PG_VERSION_NUM >= 140000
	{
		SPIPrepareOptions popts;
		SPIExecuteOptions eopts;

		memset(&eopts, 0, sizeof(eopts));
		if (listed != NULL)
		{
			/*
			 * customer lists: one statement for all, planned once per backend
			 * (key lookups: the generic plan suits every list)
			 */
			static SegextKeptPlan list_plan;
			static const Oid argtypes[2] = {KEPT_OBJECTID, KEPT_OBJECTID_ARRAY};
			Datum		values[2] = {PointerGetDatum(&e->company), PointerGetDatum(listed)};
			Oid			types[2] = {e->idtype, get_array_type(e->idtype)};

			plan = segext_kept_plan(&list_plan,
									"SELECT c.id FROM segext.customers AS c WHERE c.company_id OPERATOR(segext.=) $1 "
									"AND c.active AND c.id OPERATOR(segext.=) ANY ($2)",
									2, argtypes, CURSOR_OPT_GENERIC_PLAN);
			eopts.params = makeParamList(2);
			for (int i = 0; i < 2; i++)
			{
				eopts.params->params[i].value = values[i];
				eopts.params->params[i].isnull = false;
				eopts.params->params[i].pflags = PARAM_FLAG_CONST;
				eopts.params->params[i].ptype = types[i];
			}
		}
		else
		{
			memset(&popts, 0, sizeof(popts));
			popts.parseMode = RAW_PARSE_DEFAULT;
			popts.cursorOptions = CURSOR_OPT_PARALLEL_OK;
			plan = SPI_prepare_extended(sql, &popts);
			if (plan == NULL)
				elog(ERROR, "SPI_prepare_extended failed: %s", SPI_result_code_string(SPI_result));
		}
		eopts.read_only = true;
		eopts.dest = &qr.pub;
		ret = SPI_execute_plan_extended(plan, &eopts);
	}
#else
	plan = SPI_prepare_cursor(sql, 0, NULL, CURSOR_OPT_PARALLEL_OK);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare_cursor failed: %s", SPI_result_code_string(SPI_result));
	ret = SPI_execute_plan(plan, NULL, NULL, true, 0);
	if (ret == SPI_OK_SELECT)
	{
		TupleTableSlot *slot = MakeSingleTupleTableSlot(SPI_tuptable->tupdesc, &TTSOpsHeapTuple);

		qr_startup(&qr.pub, CMD_SELECT, SPI_tuptable->tupdesc);
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			ExecStoreHeapTuple(SPI_tuptable->vals[r], slot, false);
			qr_receive(slot, &qr.pub);
		}
		qr_shutdown(&qr.pub);
		ExecDropSingleTupleTableSlot(slot);
	}
#endif
	AtEOXact_GUC(true, nestlevel);
	/* With a receiver of its own, SPI reports a SELECT as SPI_OK_UTILITY. */
	if (ret != SPI_OK_SELECT && ret != SPI_OK_UTILITY)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
}

PG_FUNCTION_INFO_V1(segext_segment_members);
/*
 * segext_segment_members evaluates a segment's criteria now and returns its
 * members (segment 0: active customers; 1: active customers in no other
 * active segment; a manual segment: its explicit active members).  The
 * figures come from one planner-driven query (query_customers).
 */
Datum
segext_segment_members(PG_FUNCTION_ARGS)
{
	SegextObjectId *segment = PG_GETARG_SEGEXT_OBJECTID_P(0);
	SegextObjectId company;
	int			number;
	Engine		e;
	EmitState	st;
	Datum		criteria;
	bool		manual;
	bool		active;

	segext_init_materialized_srf(fcinfo);
	st.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SPI_connect();
	segment_row(segment, &company, &number, &criteria, &manual, &active, NULL);
	engine_init(&e, &company);
	e.load_old = false;
	if (number > 1)
	{
		/* a segment above the built-ins depends on itself alone */
		if (active)
		{
			load_one_segment(&e, segment, number, criteria, manual);
			if (manual)
				load_memberships(&e);
			st.index = 0;
			query_customers(&e, manual ? NULL : &e.segs[0], emit_member, &st);
		}
		MemoryContextDelete(e.cxt);
		SPI_finish();
		return (Datum) 0;
	}
	/* Segment 1 depends on every other segment; 0 on none. */
	load_segments(&e, number == 1 ? NULL : segment, false);
	st.index = -1;
	for (int i = 0; i < e.nsegs; i++)
		if (memcmp(&e.segs[i].id, segment, SEGEXT_OBJECTID_LEN) == 0)
			st.index = i;
	if (st.index >= 0)
	{
		Segment    *s = &e.segs[st.index];
		bool		manual_needed = false;

		/* explicit members matter only for manual segments and for Default */
		for (int i = 0; i < e.nsegs; i++)
			manual_needed |= e.segs[i].target && e.segs[i].manual && e.segs[i].number > 1;
		if (manual_needed)
			load_memberships(&e);
		query_customers(&e, s->number > 1 && !s->manual ? s : NULL, emit_member, &st);
	}
	MemoryContextDelete(e.cxt);
	SPI_finish();
	return (Datum) 0;
}

/*
 * change_manual_members adds (adding) or removes customers of a manual
 * segment of the current company, then refreshes the built-ins; returns how
 * many memberships changed in the segment.  Everything the caller names is
 * looked up with its privileges and row level security; the members are
 * then written as the table's owner.
 */
static int64
change_manual_members(const SegextObjectId *segment, ArrayType *customers, bool adding)
{
	SegextObjectId company;
	int			number;
	Datum		criteria;
	bool		manual;
	bool		active;
	char	   *name;
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];
	Datum		args[3];
	Oid			types[3];
	int			ret;
	int64		changed;
	MembersWrite w;

	SPI_connect();
	segment_row(segment, &company, &number, &criteria, &manual, &active, &name);
	segext_check_company_access(&company);

	/*
	 * The lock order: the company's segments first; then the segment and the
	 * customers are read again with a snapshot taken after the locks.
	 */
	(void) lock_segments(&company);
	PushCopiedSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	segment_row(segment, &company, &number, &criteria, &manual, &active, &name);
	if (!manual || number <= 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment \"%s\" is not a manual segment", name),
				 errdetail("Segment \"%s\" has criteria (or is built in), so its members are computed.", name),
				 errhint("Assign members only to segments whose criteria are NULL.")));
	if (!active)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment \"%s\" is inactive", name),
				 errdetail("Segment \"%s\" is inactive and has no members.", name),
				 errhint("Activate the segment first.")));
	types[0] = types[2] = segext_objectid_type();
	types[1] = get_array_type(types[0]);
	args[0] = PointerGetDatum(&company);
	args[1] = PointerGetDatum(customers);
	args[2] = PointerGetDatum(segment);
	if (adding)
	{
		char	   *missing;
		bool		isnull;

		ret = SPI_execute_with_args("SELECT pg_catalog.string_agg(u.id::pg_catalog.text, ', ') "
									"FROM pg_catalog.unnest($2) AS u(id) "
									"WHERE NOT EXISTS (SELECT FROM segext.customers AS c "
									"WHERE c.company_id OPERATOR(segext.=) $1 AND c.id OPERATOR(segext.=) u.id)",
									2, types, args, NULL, true, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
		(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
		{
			missing = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			segext_objectid_to_hex(segment, hex);
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("customers do not exist: %s", missing),
					 errdetail("The company of segment \"%s\" has no customers %s.", hex, missing),
					 errhint("Pass ids of existing customers of the segment's company.")));
		}
	}
	members_write_begin(&w);
	if (adding)
		ret = SPI_execute_with_args("INSERT INTO segext.memberships (company_id, segment_id, customer_id) "
									"SELECT DISTINCT $1, $3, c.id FROM segext.customers AS c "
									"WHERE c.company_id OPERATOR(segext.=) $1 "
									"AND c.id OPERATOR(segext.=) ANY ($2) AND c.active "
									"ON CONFLICT DO NOTHING",
									3, types, args, NULL, false, 0);
	else
		ret = SPI_execute_with_args("DELETE FROM segext.memberships AS m "
									"WHERE m.company_id OPERATOR(segext.=) $1 "
									"AND m.segment_id OPERATOR(segext.=) $3 "
									"AND m.customer_id OPERATOR(segext.=) ANY ($2)",
									3, types, args, NULL, false, 0);
	if (ret != (adding ? SPI_OK_INSERT : SPI_OK_DELETE))
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	changed = (int64) SPI_processed;
	members_write_end(&w);
	/* Default holds the active customers in no other active segment */
	(void) refresh_after_writes(&company, &company);
	PopActiveSnapshot();
	SPI_finish();
	return changed;
}

PG_FUNCTION_INFO_V1(segext_add_segment_members);
/*
 * segext_add_segment_members adds active customers of the current company to
 * one of its active manual segments (inactive customers are skipped); returns
 * how many were added.
 */
Datum
segext_add_segment_members(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(change_manual_members(PG_GETARG_SEGEXT_OBJECTID_P(0),
										  PG_GETARG_ARRAYTYPE_P(1), true));
}

PG_FUNCTION_INFO_V1(segext_remove_segment_members);
/*
 * segext_remove_segment_members removes customers from one of the current
 * company's active manual segments; returns how many were removed.
 */
Datum
segext_remove_segment_members(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(change_manual_members(PG_GETARG_SEGEXT_OBJECTID_P(0),
										  PG_GETARG_ARRAYTYPE_P(1), false));
}

PG_FUNCTION_INFO_V1(segext_segment_company_id);
/*
 * segext_segment_company_id returns the company of a segment of the current
 * company found by its id (segment_row: 22023 when unknown or ambiguous).
 */
Datum
segext_segment_company_id(PG_FUNCTION_ARGS)
{
	SegextObjectId *company = (SegextObjectId *) palloc(sizeof(SegextObjectId));
	int			number;

	SPI_connect();
	segment_company(PG_GETARG_SEGEXT_OBJECTID_P(0), company, &number);
	SPI_finish();
	PG_RETURN_POINTER(company);
}

PG_FUNCTION_INFO_V1(segext_memberships_guard);
/*
 * segext_memberships_guard is the BEFORE INSERT OR UPDATE OR DELETE statement
 * trigger of segext.memberships: only segext writes members (as the table's
 * owner: refreshes, manual members, cascades of deleted rows), or a
 * superuser; anyone else gets 42501 naming the functions to use.
 */
Datum
segext_memberships_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("memberships_guard: must be fired before the statement")));
	if (GetUserId() == trigdata->tg_relation->rd_rel->relowner || superuser())
		return PointerGetDatum(NULL);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s segext.memberships directly",
					TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ? "insert into" :
					TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "delete from" : "update"),
			 errdetail("segext computes the members of segments with criteria and of 0 \"All\" and 1 \"Default\", and writes the members of manual segments through its functions, which check the segment and its customers."),
			 errhint("Use segext.add_segment_members or segext.remove_segment_members for a manual segment, and segext.refresh_segment or segext.refresh_company for the others (segext_api.add_segment_members, remove_segment_members, refresh_segment and refresh over HTTP).")));
	return (Datum) 0;
}
