/*-------------------------------------------------------------------------
 *
 * state_accum.c
 *	  The accumulation of customer state changes (see state_accum.h): each
 *	  transaction row's contribution packed into its customer's delta (a log
 *	  of figure changes), the split of a large statement into classes of
 *	  customers spilled to temporary files, and the flush that writes each
 *	  touched state row once, in (company, customer) order.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "criteria.h"
#include "customer_state.h"
#include "figures.h"
#include "kept_plan.h"
#include "membership.h"
#include "objectid.h"
#include "state_accum.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/buffile.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* Most classes a statement's customers are split into. */
#define MAX_STATE_CLASSES	256

/* Memory a delta takes besides its log. */
#define DELTA_OVERHEAD		(sizeof(Delta) + 32)

/* The columns of segext.transactions the state reads, indexed by TC_*. */
const char *const segext_state_tc_names[TC_NCOLS] = {
	"company_id", "customer_id", "amount", "returns_id", "returned_amount",
	"occurred_at", "pos_id", "item_skus", "item_makers", "item_labels", "items"
};

static uint32 class_of(const StateKey *key, uint32 modulus);
static Delta *delta_for_key(Accum *acc, const StateKey *key);
static void fold_row(Accum *acc, Delta *d, Datum *values, bool *nulls, int sign);
static void spill_write(Accum *acc, uint32 cls, const Delta *d);
static void spill_start(Accum *acc);

/* segext_accum_init makes an empty accumulator in the current memory context. */
void
segext_accum_init(Accum *acc, Size flush_bytes)
{
	HASHCTL		ctl;

	memset(acc, 0, sizeof(Accum));
	acc->cxt = AllocSetContextCreate(CurrentMemoryContext, "segext customer state deltas",
									 ALLOCSET_DEFAULT_SIZES);
	acc->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "segext customer state row",
										ALLOCSET_SMALL_SIZES);
	ctl.keysize = sizeof(StateKey);
	ctl.entrysize = sizeof(Delta);
	ctl.hcxt = acc->cxt;
	acc->deltas = hash_create("segext customer state deltas", 1024, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	acc->flush_bytes = flush_bytes;
	acc->modulus = 1;
}

/* log_reserve makes room for n more bytes in a delta's log. */
static inline void
log_reserve(Accum *acc, Delta *d, Size n)
{
	Size		need = (Size) d->loglen + n;

	if (need <= (Size) d->logcap)
		return;
	if (need > MaxAllocSize / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many changes to one customer state in one statement"),
				 errdetail("The changes to the state of one customer exceed %zu bytes.", (Size) MaxAllocSize / 2),
				 errhint("Split the statement.")));
	if (d != &acc->scratch)
		acc->bytes -= d->logcap;
	d->logcap = Max(d->logcap * 2, 64);
	while ((Size) d->logcap < need)
		d->logcap *= 2;
	if (d != &acc->scratch)
		acc->bytes += d->logcap;
	d->log = d->log ? repalloc(d->log, d->logcap) : MemoryContextAlloc(acc->cxt, d->logcap);
}

/* log_varint appends an unsigned LEB128 number to a log with room for it. */
static inline void
log_varint(Delta *d, uint64 v)
{
	while (v >= 0x80)
	{
		d->log[d->loglen++] = (char) ((v & 0x7F) | 0x80);
		v >>= 7;
	}
	d->log[d->loglen++] = (char) v;
}

/*
 * log_entry appends a value of multiset k (and, for item labels, its
 * value) with a count of sign to a delta's log: tag, count, length-prefixed
 * bytes.  A log is the compact form of a delta's figures until it is
 * written; log_replay turns it into figures.
 */
static void
log_entry(Accum *acc, Delta *d, int k, const char *a, int alen,
		  const char *b, int blen, int sign)
{
	log_reserve(acc, d, 1 + 1 + 2 * 10 + alen + blen);
	d->log[d->loglen++] = (char) k;
	d->log[d->loglen++] = (char) (sign > 0 ? 1 : 0);
	log_varint(d, alen);
	memcpy(d->log + d->loglen, a, alen);
	d->loglen += alen;
	if (k == FIG_LABEL)
	{
		log_varint(d, blen);
		memcpy(d->log + d->loglen, b, blen);
		d->loglen += blen;
	}
}

/* log_time appends a sale time with a count of sign to a delta's log. */
static void
log_time(Accum *acc, Delta *d, TimestampTz at, int sign)
{
	log_reserve(acc, d, 2 + sizeof(TimestampTz));
	d->log[d->loglen++] = (char) LOG_TIME;
	d->log[d->loglen++] = (char) (sign > 0 ? 1 : 0);
	memcpy(d->log + d->loglen, &at, sizeof(TimestampTz));
	d->loglen += sizeof(TimestampTz);
}

/* log_replay appends the changes of a delta's log to f (values point into the log). */
static void
log_replay(const Delta *d, Figures *f)
{
	const char *p = d->log;
	const char *end = d->log + d->loglen;

	while (p < end)
	{
		int			k = (unsigned char) *p++;
		int64		count = *p++ ? 1 : -1;

		if (k == LOG_TIME)
		{
			TimestampTz at;

			memcpy(&at, p, sizeof(TimestampTz));
			p += sizeof(TimestampTz);
			segext_figures_add_time(f, at, count);
		}
		else
			segext_figures_read_entry(f, k, &p, end, count);
	}
}

/* add_text_array adds every element of a text[] to multiset k. */
static void
add_text_array(Accum *acc, Delta *d, int k, Datum arrd, int sign)
{
	ArrayType  *a = DatumGetArrayTypeP(arrd);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		text	   *t;

		if (nulls[i])
			continue;
		t = DatumGetTextPP(elems[i]);
		log_entry(acc, d, k, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), NULL, 0, sign);
	}
}

typedef struct LabelPair
{
	char	   *key;
	char	   *value;
} LabelPair;

/* cmp_label_pair orders folded item labels by key, then value. */
static int
cmp_label_pair(const void *x, const void *y)
{
	const LabelPair *a = x;
	const LabelPair *b = y;
	int			c = strcmp(a->key, b->key);

	return c != 0 ? c : strcmp(a->value, b->value);
}

/*
 * add_item_labels adds the distinct item labels of one transaction to the
 * item label multiset, key and value folded apart.  The derived item_labels
 * array joins them with U+001F; when every element holds exactly one, the
 * split is unambiguous, else the labels are read from the items.
 */
static void
add_item_labels(Accum *acc, Delta *d, Datum labelsd, Datum itemsd, bool items_null, int sign)
{
	ArrayType  *a = DatumGetArrayTypeP(labelsd);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	bool		plain = true;
	LabelPair  *pairs;
	int			npairs = 0;
	Jsonb	   *items;
	int			nitems;

	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n == 0)
		return;
	for (int i = 0; i < n && plain; i++)
	{
		text	   *t;
		const char *s;
		int			len;
		const char *sep;

		if (nulls[i])
			continue;
		t = DatumGetTextPP(elems[i]);
		s = VARDATA_ANY(t);
		len = VARSIZE_ANY_EXHDR(t);
		sep = memchr(s, '\x1f', len);
		plain = sep != NULL && memchr(sep + 1, '\x1f', len - (sep - s) - 1) == NULL;
	}
	if (plain)
	{
		for (int i = 0; i < n; i++)
		{
			text	   *t;
			const char *s;
			int			len;
			const char *sep;

			if (nulls[i])
				continue;
			t = DatumGetTextPP(elems[i]);
			s = VARDATA_ANY(t);
			len = VARSIZE_ANY_EXHDR(t);
			sep = memchr(s, '\x1f', len);
			log_entry(acc, d, FIG_LABEL, s, sep - s, sep + 1, len - (sep - s) - 1, sign);
		}
		return;
	}
	if (items_null)
		return;
	items = DatumGetJsonbP(itemsd);
	if (!JB_ROOT_IS_ARRAY(items) || JB_ROOT_IS_SCALAR(items))
		return;
	nitems = JB_ROOT_COUNT(items);
	pairs = palloc(sizeof(LabelPair) * (n + 1));
	for (int i = 0; i < nitems; i++)
	{
		JsonbValue *item = getIthJsonbValueFromContainer(&items->root, i);
		JsonbValue *labels;
		int			nlabels;

		if (item->type != jbvBinary || !JsonContainerIsObject(item->val.binary.data))
			continue;
		labels = getKeyJsonValueFromContainer(item->val.binary.data, "labels", 6, NULL);
		if (labels == NULL || labels->type != jbvBinary ||
			!JsonContainerIsArray(labels->val.binary.data))
			continue;
		nlabels = JsonContainerSize(labels->val.binary.data);
		for (int j = 0; j < nlabels; j++)
		{
			JsonbValue *label = getIthJsonbValueFromContainer(labels->val.binary.data, j);
			JsonbValue *k,
					   *v;

			if (label->type != jbvBinary || !JsonContainerIsObject(label->val.binary.data))
				continue;
			k = getKeyJsonValueFromContainer(label->val.binary.data, "key", 3, NULL);
			v = getKeyJsonValueFromContainer(label->val.binary.data, "value", 5, NULL);
			if (k == NULL || k->type != jbvString || v == NULL || v->type != jbvString)
				continue;
			if (npairs % (n + 1) == 0 && npairs > 0)
				pairs = repalloc(pairs, sizeof(LabelPair) * (npairs + n + 1));
			pairs[npairs].key = segext_fold_case(k->val.string.val, k->val.string.len);
			pairs[npairs].value = segext_fold_case(v->val.string.val, v->val.string.len);
			npairs++;
		}
	}
	qsort(pairs, npairs, sizeof(LabelPair), cmp_label_pair);
	for (int i = 0; i < npairs; i++)
	{
		if (i > 0 && cmp_label_pair(&pairs[i - 1], &pairs[i]) == 0)
			continue;
		log_entry(acc, d, FIG_LABEL, pairs[i].key, strlen(pairs[i].key),
				  pairs[i].value, strlen(pairs[i].value), sign);
	}
}

/*
 * segext_accum_add_row adds (sign +1) or takes off (sign -1) the contribution of
 * one transaction, given as the TC_* columns: every transaction counts as
 * one and adds its amount; a counted sale also adds its time, POS, SKUs,
 * makers and item labels.
 */
void
segext_accum_add_row(Accum *acc, Datum *values, bool *nulls, int sign)
{
	StateKey	key;
	Delta	   *d;

	if (nulls[TC_COMPANY] || nulls[TC_CUSTOMER] || nulls[TC_AMOUNT])
		return;					/* NOT NULL columns */
	memcpy(&key.company, DatumGetPointer(values[TC_COMPANY]), SEGEXT_OBJECTID_LEN);
	memcpy(&key.customer, DatumGetPointer(values[TC_CUSTOMER]), SEGEXT_OBJECTID_LEN);
	if (sign < 0)
		acc->removals = true;
	if (acc->spill != NULL)
	{
		uint32		cls = class_of(&key, acc->modulus);

		if (cls != 0)
		{
			/* a customer of a later class: its change goes to the class's file */
			d = &acc->scratch;
			d->key = key;
			d->transactions = d->sales = d->amount = 0;
			d->loglen = 0;
			fold_row(acc, d, values, nulls, sign);
			spill_write(acc, cls, d);
			return;
		}
	}
	d = delta_for_key(acc, &key);
	fold_row(acc, d, values, nulls, sign);
	if (!acc->flush_by_caller && acc->bytes > acc->flush_bytes)
	{
		/* spill when that can help: several customers, not spilling yet */
		if (acc->may_split && acc->spill == NULL && !acc->pass_flushed &&
			hash_get_num_entries(acc->deltas) > 1)
			spill_start(acc);
		else
			segext_accum_flush(acc);
	}
}

/* delta_for_key finds or makes the delta of a customer, locking its company's state. */
static Delta *
delta_for_key(Accum *acc, const StateKey *key)
{
	Delta	   *d;
	bool		found;

	d = hash_search(acc->deltas, key, HASH_ENTER, &found);
	if (!found)
	{
		memset((char *) d + sizeof(StateKey), 0, sizeof(Delta) - sizeof(StateKey));
		acc->bytes += DELTA_OVERHEAD;
		if (acc->ncompanies >= 0)
		{
			bool		known = false;

			for (int i = 0; i < acc->ncompanies && !known; i++)
				known = segext_objectid_equal(&acc->companies[i], &key->company);
			if (!known)
			{
				segext_lock_company_state(&key->company, ShareLock);
				if (acc->ncompanies < lengthof(acc->companies))
					acc->companies[acc->ncompanies++] = key->company;
			}
		}
	}
	return d;
}

/*
 * fold_row adds (sign +1) or takes off (sign -1) the contribution of one
 * transaction to a delta: every transaction counts as one and adds its
 * amount; a counted sale also adds its time, POS, SKUs, makers and item
 * labels.
 */
static void
fold_row(Accum *acc, Delta *d, Datum *values, bool *nulls, int sign)
{
	int64		amount;
	bool		counted;
	MemoryContext old;

	old = MemoryContextSwitchTo(acc->rowcxt);
	segext_figures_add_count(&d->transactions, sign);
	amount = segext_amount_from_numeric(DatumGetNumeric(values[TC_AMOUNT]));
	segext_figures_add_count(&d->amount, sign * amount);
	counted = nulls[TC_RETURNS] &&
		(nulls[TC_RETURNED] ||
		 segext_amount_from_numeric(DatumGetNumeric(values[TC_RETURNED])) < amount);
	if (counted)
	{
		segext_figures_add_count(&d->sales, sign);
		if (!nulls[TC_OCCURRED])
			log_time(acc, d, DatumGetTimestampTz(values[TC_OCCURRED]), sign);
		if (!nulls[TC_POS])
		{
			text	   *t = DatumGetTextPP(values[TC_POS]);

			log_entry(acc, d, FIG_POS, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), NULL, 0, sign);
		}
		if (!nulls[TC_SKUS])
			add_text_array(acc, d, FIG_SKU, values[TC_SKUS], sign);
		if (!nulls[TC_MAKERS])
			add_text_array(acc, d, FIG_MAKER, values[TC_MAKERS], sign);
		if (!nulls[TC_LABELS])
			add_item_labels(acc, d, values[TC_LABELS], values[TC_ITEMS], nulls[TC_ITEMS], sign);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(acc->rowcxt);
}

/* spill_write appends a delta to the spill file of its class. */
static void
spill_write(Accum *acc, uint32 cls, const Delta *d)
{
	if (acc->spill[cls] == NULL)
		acc->spill[cls] = BufFileCreateTemp(false);
	BufFileWrite(acc->spill[cls], (void *) &d->key, sizeof(StateKey));
	BufFileWrite(acc->spill[cls], (void *) &d->transactions, sizeof(int64));
	BufFileWrite(acc->spill[cls], (void *) &d->sales, sizeof(int64));
	BufFileWrite(acc->spill[cls], (void *) &d->amount, sizeof(int64));
	BufFileWrite(acc->spill[cls], (void *) &d->loglen, sizeof(int32));
	if (d->loglen > 0)
		BufFileWrite(acc->spill[cls], d->log, d->loglen);
}

/* spill_read_exact reads len bytes of a spill file; false at its end. */
static bool
spill_read_exact(BufFile *file, void *buf, size_t len)
{
	size_t		got = BufFileRead(file, buf, len);

	if (got == 0)
		return false;
	if (got != len)
		elog(ERROR, "could not read a customer state spill file: read %zu of %zu bytes", got, len);
	return true;
}

/*
 * spill_start splits the customers into classes, enough for the rows still
 * to come, keeps those of class 0 in memory and moves the deltas of the
 * others to their classes' files.
 */
static void
spill_start(Accum *acc)
{
	MemoryContext parent = MemoryContextGetParent(acc->cxt);
	HASH_SEQ_STATUS seq;
	Delta	   *d;
	uint32		parts = 2;

	/* the memory so far times the rows of the statement over those read, and more */
	while (parts < MAX_STATE_CLASSES &&
		   (double) parts * acc->rows_read < 1.5 * acc->total_rows)
		parts *= 2;
	acc->modulus = parts;
	acc->spill = MemoryContextAllocZero(parent, sizeof(BufFile *) * parts);
	acc->scratch.log = MemoryContextAlloc(parent, 256);
	acc->scratch.logcap = 256;
	hash_seq_init(&seq, acc->deltas);
	while ((d = hash_seq_search(&seq)) != NULL)
	{
		uint32		cls = class_of(&d->key, parts);

		if (cls == 0)
			continue;
		spill_write(acc, cls, d);
		acc->bytes -= DELTA_OVERHEAD + d->logcap;
		if (d->log != NULL)
			pfree(d->log);
		(void) hash_search(acc->deltas, &d->key, HASH_REMOVE, NULL);
	}
}

/*
 * segext_accum_spill_fold folds the spill file of a class into the deltas (writing a
 * batch when they reach flush_bytes, which only a class of too large
 * changes does) and closes it.
 */
void
segext_accum_spill_fold(Accum *acc, uint32 cls)
{
	BufFile    *file = acc->spill[cls];
	StateKey	key;

	if (file == NULL)
		return;
	if (BufFileSeek(file, 0, 0, SEEK_SET) != 0)
		elog(ERROR, "could not rewind a customer state spill file");
	while (spill_read_exact(file, &key, sizeof(StateKey)))
	{
		Delta	   *d = delta_for_key(acc, &key);
		int64		n;
		int32		len;

		CHECK_FOR_INTERRUPTS();
		if (!spill_read_exact(file, &n, sizeof(int64)))
			elog(ERROR, "customer state spill file ends early");
		segext_figures_add_count(&d->transactions, n);
		if (!spill_read_exact(file, &n, sizeof(int64)))
			elog(ERROR, "customer state spill file ends early");
		segext_figures_add_count(&d->sales, n);
		if (!spill_read_exact(file, &n, sizeof(int64)))
			elog(ERROR, "customer state spill file ends early");
		segext_figures_add_count(&d->amount, n);
		if (!spill_read_exact(file, &len, sizeof(int32)) || len < 0)
			elog(ERROR, "customer state spill file ends early");
		if (len > 0)
		{
			log_reserve(acc, d, len);
			if (!spill_read_exact(file, d->log + d->loglen, len))
				elog(ERROR, "customer state spill file ends early");
			d->loglen += len;
		}
		if (acc->bytes > acc->flush_bytes)
			segext_accum_flush(acc);
	}
	BufFileClose(file);
	acc->spill[cls] = NULL;
}

/*
 * class_of is the class (0 .. modulus - 1) of a customer in a statement
 * split into modulus classes; independent of the bucket hash of the deltas.
 */
static uint32
class_of(const StateKey *key, uint32 modulus)
{
	uint64		h = hash_bytes_extended((const unsigned char *) key, sizeof(StateKey), 0x5345);

	return (uint32) ((h >> 32) % modulus);
}

/* cmp_delta orders deltas by company, then customer. */
static int
cmp_delta(const void *x, const void *y)
{
	const Delta *a = *(Delta *const *) x;
	const Delta *b = *(Delta *const *) y;

	int			c = segext_objectid_cmp(&a->key.company, &b->key.company);

	return c != 0 ? c : segext_objectid_cmp(&a->key.customer, &b->key.customer);
}

/* The state rows a flush writes: one per changed customer, in (company, customer) order. */
typedef struct FlushRows
{
	int			nrows;
	Datum	   *cols[6];		/* company, customer, transactions, sales,
								 * amount, figures */
	bool	   *fig_nulls;
} FlushRows;

/*
 * flush_collect sorts the deltas by (company, customer) and replays each
 * delta's log into its row's figures, leaving out the customers the
 * statement changed nothing of (in acc->rowcxt).
 */
static void
flush_collect(Accum *acc, FlushRows *rows)
{
	long		ndeltas = hash_get_num_entries(acc->deltas);
	Delta	  **sorted;
	HASH_SEQ_STATUS seq;
	Delta	   *d;
	int			n = 0;
	int			nrows = 0;
	Datum	   *const *cols = rows->cols;
	MemoryContext foldcxt;

	sorted = palloc(sizeof(Delta *) * ndeltas);
	hash_seq_init(&seq, acc->deltas);
	while ((d = hash_seq_search(&seq)) != NULL)
		sorted[n++] = d;
	qsort(sorted, n, sizeof(Delta *), cmp_delta);
	for (int c = 0; c < 6; c++)
		rows->cols[c] = palloc(sizeof(Datum) * n);
	foldcxt = AllocSetContextCreate(acc->rowcxt, "segext customer state fold", ALLOCSET_DEFAULT_SIZES);
	rows->fig_nulls = palloc(sizeof(bool) * n);
	for (int i = 0; i < n; i++)
	{
		bytea	   *fig;

		Figures		f = {0};

		d = sorted[i];
		f.cxt = foldcxt;
		log_replay(d, &f);
		segext_figures_normalize(&f);
		fig = segext_figures_encode(&f);
		MemoryContextReset(foldcxt);
		if (fig == NULL && d->transactions == 0 && d->sales == 0 && d->amount == 0)
			continue;			/* the statement changed nothing of it */
		cols[0][nrows] = PointerGetDatum(&d->key.company);
		cols[1][nrows] = PointerGetDatum(&d->key.customer);
		cols[2][nrows] = Int64GetDatum(d->transactions);
		cols[3][nrows] = Int64GetDatum(d->sales);
		cols[4][nrows] = Int64GetDatum(d->amount);
		cols[5][nrows] = PointerGetDatum(fig);
		rows->fig_nulls[nrows] = fig == NULL;
		nrows++;
	}
	rows->nrows = nrows;
}

/*
 * flush_update_one adds the one row's change to its customer's state row in
 * place (no arrays, no speculative insertion); false when the customer has
 * no state row yet.
 */
static bool
flush_update_one(const FlushRows *rows)
{
	static SegextKeptPlan update_plan;
	static const Oid update_types[6] = {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID,
	INT8OID, INT8OID, INT8OID, BYTEAOID};
	Datum		one[6];
	char		one_nulls[7] = "      ";
	int			ret;

	for (int c = 0; c < 6; c++)
		one[c] = rows->cols[c][0];
	if (rows->fig_nulls[0])
		one_nulls[5] = 'n';
	ret = SPI_execute_plan(segext_kept_plan(&update_plan,
											"UPDATE segext.customer_states AS s SET "
											"transactions = s.transactions OPERATOR(pg_catalog.+) $3, "
											"sales = s.sales OPERATOR(pg_catalog.+) $4, "
											"amount = s.amount OPERATOR(pg_catalog.+) $5, "
											"figures = segext.customer_state_merge(s.figures, $6) "
											"WHERE s.company_id OPERATOR(pg_catalog.=) $1 "
											"AND s.customer_id OPERATOR(pg_catalog.=) $2 "
											"AND EXISTS (SELECT FROM segext.customers AS c "
											"WHERE c.company_id OPERATOR(pg_catalog.=) $1 "
											"AND c.id OPERATOR(pg_catalog.=) $2)",
											6, update_types, CURSOR_OPT_GENERIC_PLAN),
						   one, one_nulls, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	return SPI_processed > 0;
}

/*
 * flush_write_rows writes the rows as arrays: an insert in a rebuild, else
 * (unless flush_update_one already did) an upsert adding them to the state
 * rows; then, when rows were taken off, deletes the state rows left empty.
 */
static void
flush_write_rows(Accum *acc, const FlushRows *rows, bool updated)
{
	static SegextKeptPlan upsert_plan;
	static SegextKeptPlan insert_plan;
	static SegextKeptPlan delete_plan;
	static const Oid upsert_types[6] = {KEPT_ARG_OBJECTID_ARRAY, KEPT_ARG_OBJECTID_ARRAY,
	INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, BYTEAARRAYOID};
	int			nrows = rows->nrows;
	Datum	   *const *cols = rows->cols;
	Datum		args[6];
	Oid			idtype = segext_objectid_type();
	int			dims[1];
	int			lbs[1] = {1};
	int			ret = 0;

	dims[0] = nrows;
	args[0] = PointerGetDatum(construct_array(cols[0], nrows, idtype, SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
	args[1] = PointerGetDatum(construct_array(cols[1], nrows, idtype, SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
	for (int c = 2; c < 5; c++)
		args[c] = PointerGetDatum(construct_array(cols[c], nrows, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[5] = PointerGetDatum(construct_md_array(cols[5], rows->fig_nulls, 1, dims, lbs,
												 BYTEAOID, -1, false, TYPALIGN_INT));
	if (acc->insert_only)
		ret = SPI_execute_plan(segext_kept_plan(&insert_plan,
												"INSERT INTO segext.customer_states "
												"(company_id, customer_id, transactions, sales, amount, figures) "
												"SELECT d.company_id, d.customer_id, d.transactions, d.sales, d.amount, d.figures "
												"FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), "
												"pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6)) "
												"AS d(company_id, customer_id, transactions, sales, amount, figures) "
												"WHERE EXISTS (SELECT FROM segext.customers AS c "
												"WHERE c.company_id OPERATOR(pg_catalog.=) d.company_id "
												"AND c.id OPERATOR(pg_catalog.=) d.customer_id)",
												6, upsert_types, CURSOR_OPT_GENERIC_PLAN),
							   args, NULL, false, 0);
	else if (!updated)
		ret = SPI_execute_plan(segext_kept_plan(&upsert_plan,
											"INSERT INTO segext.customer_states AS s "
											"(company_id, customer_id, transactions, sales, amount, figures) "
											"SELECT d.company_id, d.customer_id, d.transactions, d.sales, d.amount, d.figures "
											"FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), "
											"pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6)) "
											"AS d(company_id, customer_id, transactions, sales, amount, figures) "
											"WHERE EXISTS (SELECT FROM segext.customers AS c "
											"WHERE c.company_id OPERATOR(pg_catalog.=) d.company_id "
											"AND c.id OPERATOR(pg_catalog.=) d.customer_id) "
											"ON CONFLICT (company_id, customer_id) DO UPDATE SET "
											"transactions = s.transactions OPERATOR(pg_catalog.+) excluded.transactions, "
											"sales = s.sales OPERATOR(pg_catalog.+) excluded.sales, "
											"amount = s.amount OPERATOR(pg_catalog.+) excluded.amount, "
											"figures = segext.customer_state_merge(s.figures, excluded.figures)",
											6, upsert_types, CURSOR_OPT_GENERIC_PLAN),
							   args, NULL, false, 0);
	if (!updated && ret != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	acc->written += SPI_processed;
	acc->pass_flushed = true;
	if (acc->removals)
	{
		ret = SPI_execute_plan(segext_kept_plan(&delete_plan,
												"DELETE FROM segext.customer_states AS s "
												"USING ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS d(company_id, customer_id) "
												"WHERE s.company_id OPERATOR(pg_catalog.=) d.company_id "
												"AND s.customer_id OPERATOR(pg_catalog.=) d.customer_id "
												"AND s.transactions OPERATOR(pg_catalog.=) 0 "
												"AND s.sales OPERATOR(pg_catalog.=) 0 "
												"AND s.amount OPERATOR(pg_catalog.=) 0 AND s.figures IS NULL",
												2, upsert_types, CURSOR_OPT_GENERIC_PLAN),
							   args, NULL, false, 0);
		if (ret != SPI_OK_DELETE)
			elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	}
}

/* flush_reevaluate re-evaluates the members of the flushed customers, company by company. */
static void
flush_reevaluate(const FlushRows *rows)
{
	int			nrows = rows->nrows;
	Datum	   *const *cols = rows->cols;
	int			start = 0;

	while (start < nrows)
	{
		int			end = start + 1;

		while (end < nrows && segext_objectid_equal(DatumGetSegextObjectIdP(cols[0][end]),
												  DatumGetSegextObjectIdP(cols[0][start])))
			end++;
		(void) segext_reevaluate_customers(DatumGetSegextObjectIdP(cols[0][start]),
										   &cols[1][start], end - start);
		start = end;
	}
}

/*
 * segext_accum_flush writes the deltas to segext.customer_states (in SPI,
 * as the table's owner): one upsert adding them, in (company, customer)
 * order (a single customer with a row: an update of that row, which needs
 * no arrays and no speculative insertion), then, when rows were taken off,
 * one delete of the rows left empty; then, unless the caller flushes (a
 * rebuild), the members of the customers whose state changed are re-evaluated.
 * Customers deleted by the statement get no row: the cascade from a deleted
 * customer to its transactions is applied after the customers trigger has
 * deleted the customer's state.
 */
void
segext_accum_flush(Accum *acc)
{
	FlushRows	rows;
	MemoryContext old;

	if (hash_get_num_entries(acc->deltas) == 0)
		return;
	old = MemoryContextSwitchTo(acc->rowcxt);
	flush_collect(acc, &rows);
	if (rows.nrows > 0)
	{
		StateSpi	spi;
		bool		updated = false;

		segext_state_spi_begin(&spi);
		if (rows.nrows == 1)
			updated = flush_update_one(&rows);
		flush_write_rows(acc, &rows, updated);
		if (!acc->flush_by_caller)
			flush_reevaluate(&rows);
		segext_state_spi_end(&spi);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(acc->rowcxt);
	hash_destroy(acc->deltas);
	MemoryContextReset(acc->cxt);
	acc->bytes = 0;
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(StateKey);
		ctl.entrysize = sizeof(Delta);
		ctl.hcxt = acc->cxt;
		acc->deltas = hash_create("segext customer state deltas", 1024, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
}

/*
 * segext_state_spi_begin connects to SPI as the owner of segext.customer_states
 * (only segext writes the state) with search_path pg_catalog, pg_temp.
 */
void
segext_state_spi_begin(StateSpi *spi)
{
	Oid			owner = segext_table_owner("customer_states");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	segext_switch_role(spi, owner);
}

/* segext_state_spi_end restores the role and search_path and leaves SPI. */
void
segext_state_spi_end(StateSpi *spi)
{
	segext_restore_role(spi);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/* segext_accum_add_tuplestore adds or takes off every row of a transition table. */
void
segext_accum_add_tuplestore(Accum *acc, Tuplestorestate *ts, TupleDesc desc, const int *attnos, int sign)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	Datum		values[TC_NCOLS];
	bool		nulls[TC_NCOLS];
	int			maxatt = 0;

	for (int c = 0; c < TC_NCOLS; c++)
		maxatt = Max(maxatt, attnos[c]);
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		CHECK_FOR_INTERRUPTS();
		acc->rows_read++;
		slot_getsomeattrs(slot, maxatt);
		for (int c = 0; c < TC_NCOLS; c++)
		{
			values[c] = slot->tts_values[attnos[c] - 1];
			nulls[c] = slot->tts_isnull[attnos[c] - 1];
		}
		segext_accum_add_row(acc, values, nulls, sign);
	}
	ExecDropSingleTupleTableSlot(slot);
}
