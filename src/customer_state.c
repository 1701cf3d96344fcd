/*-------------------------------------------------------------------------
 *
 * customer_state.c
 *	  Per-customer state (segext.customer_states): what every criterion kind
 *	  needs of a customer's transactions, independent of which segments
 *	  exist, so that any segment is decided from the state row and the
 *	  customer row alone.
 *
 * A state row holds the number of transactions, the number of counted sales
 * (sales not fully returned), the amount of all sales and returns in
 * SEGEXT_AMOUNT_SCALE units (not floored) and "figures": one bytea of this
 * file's own format with the times of counted sales and the multisets
 * (value -> number of counted sales) of POS ids, SKUs, makers and item
 * labels (folded key and value kept apart).  segext.customer_state_figures
 * prints figures as jsonb.
 *
 * Every transaction contributes figures; a write takes the contribution of
 * the old row off and adds that of the new one.  Statement triggers with
 * transition tables fold a statement's rows into one delta per customer
 * (a hash), then upsert each touched state row once, in (company, customer)
 * order, with one SQL statement per batch; the upsert adds the delta's
 * counts to the row's.  A return changes its sale's returned_amount through
 * a nested UPDATE, so "fully returned" arrives as an update of the sale.
 * Counts may be negative for a moment (the nested update of a sale inserted
 * by the same statement is applied before the statement's own rows), so
 * deltas and states add signed counts and drop the entries that reach zero;
 * a row whose every figure is zero is deleted.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/buffile.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "criteria.h"
#include "customer_state.h"
#include "membership.h"
#include "role_switch.h"
#include "evaluate.h"
#include "kept_plan.h"
#include "objectid.h"
#include "trigger_check.h"

/* Format version of figures (first byte after the varlena header). */
#define FIGURES_VERSION		1

/* The multisets of figures, in their stored order. */
typedef enum FigList
{
	FIG_POS = 0,
	FIG_SKU,
	FIG_MAKER,
	FIG_LABEL,					/* key in a, value in b */
	FIG_NLISTS
} FigList;

static const char *const fig_list_names[FIG_NLISTS] = {"pos", "skus", "makers", "item_labels"};

/* One distinct sale time and its number of counted sales. */
typedef struct FigTime
{
	TimestampTz at;
	int64		count;
} FigTime;

/* One value of a multiset (a; b too for item labels) and its count. */
typedef struct FigEntry
{
	const char *a;
	const char *b;
	int32		alen;
	int32		blen;
	int64		count;
} FigEntry;

/*
 * Figures in memory: appended in any order, normalized (sorted, equal
 * values added, zero counts dropped) by figures_normalize.
 */
typedef struct Figures
{
	MemoryContext cxt;			/* of the arrays; NULL: the current one */
	int			ntimes;
	int			cap_times;
	FigTime    *times;
	int			n[FIG_NLISTS];
	int			cap[FIG_NLISTS];
	FigEntry   *e[FIG_NLISTS];
} Figures;

/* A customer of a company: the key of a state row and of a delta. */
typedef struct StateKey
{
	SegextObjectId company;
	SegextObjectId customer;
} StateKey;

/* The change a statement makes to one customer's state. */
typedef struct Delta
{
	StateKey	key;			/* hash key, first */
	int64		transactions;
	int64		sales;
	int64		amount;
	char	   *log;			/* the figure changes, packed (see log_entry) */
	int32		loglen;
	int32		logcap;
} Delta;

/* Tag of a sale time in a delta's log (the multisets use their FigList). */
#define LOG_TIME	FIG_NLISTS

/* Columns of segext.transactions the state reads, in this order. */
enum
{
	TC_COMPANY = 0,
	TC_CUSTOMER,
	TC_AMOUNT,
	TC_RETURNS,
	TC_RETURNED,
	TC_OCCURRED,
	TC_POS,
	TC_SKUS,
	TC_MAKERS,
	TC_LABELS,
	TC_ITEMS,
	TC_NCOLS
};

static const char *const tc_names[TC_NCOLS] = {
	"company_id", "customer_id", "amount", "returns_id", "returned_amount",
	"occurred_at", "pos_id", "item_skus", "item_makers", "item_labels", "items"
};

/* Deltas of one statement or rebuild, flushed to the table in batches. */
typedef struct Accum
{
	MemoryContext cxt;			/* deltas and their strings */
	MemoryContext rowcxt;		/* reset after every row */
	HTAB	   *deltas;
	bool		removals;		/* some row was taken off: rows may empty */
	int			ncompanies;
	SegextObjectId companies[8];	/* companies already locked */
	Size		flush_bytes;
	bool		flush_by_caller;	/* rows come by customer: the caller flushes */
	/*
	 * A statement whose changes outgrow flush_bytes keeps only the customers
	 * of class 0 (see class_of) in memory and spills the changes of the
	 * others to one temporary file per class, folded class by class after.
	 */
	uint32		modulus;		/* classes; 1 until the spill starts */
	BufFile   **spill;			/* per class (0 unused), or NULL */
	bool		may_split;		/* on overflow, spill instead of writing */
	bool		pass_flushed;	/* a batch was written: no spill any more */
	int64		rows_read;		/* rows read so far */
	int64		total_rows;		/* rows the statement will read */
	Size		bytes;			/* memory of the deltas, roughly */
	Delta		scratch;		/* one row's change, on its way to a spill file */
	bool		insert_only;	/* a rebuild: no state row of these customers exists */
	int64		written;		/* state rows inserted or updated */
} Accum;

/* Most classes a statement's customers are split into. */
#define MAX_STATE_CLASSES	256

/* Memory a delta takes besides its log. */
#define DELTA_OVERHEAD		(sizeof(Delta) + 32)

/* segext.test_state_flush_kb: see segext_customer_state_init. */
static int	test_state_flush_kb = 0;

/* The role switch and search_path of the state's own SQL. */
typedef SegextRoleSwitch StateSpi;

static void figures_add_time(Figures *f, TimestampTz at, int64 count);
static void figures_add_entry(Figures *f, int k, const char *a, int alen,
							  const char *b, int blen, int64 count);
static void normalize_list(Figures *f, int k);
static void figures_normalize(Figures *f);
static void figures_decode(const bytea *v, Figures *f);
static bytea *figures_encode(const Figures *f);
static void accum_init(Accum *acc, Size flush_bytes);
static void accum_add_row(Accum *acc, Datum *values, bool *nulls, int sign);
static void accum_flush(Accum *acc);
static uint32 class_of(const StateKey *key, uint32 modulus);
static Delta *delta_for_key(Accum *acc, const StateKey *key);
static void fold_row(Accum *acc, Delta *d, Datum *values, bool *nulls, int sign);
static void spill_write(Accum *acc, uint32 cls, const Delta *d);
static void spill_start(Accum *acc);
static void spill_fold(Accum *acc, uint32 cls);
static void state_spi_begin(StateSpi *spi);
static void state_spi_end(StateSpi *spi);

/* --- Varints --- */

/* put_varint appends an unsigned LEB128 number. */
static void
put_varint(StringInfo buf, uint64 v)
{
	while (v >= 0x80)
	{
		appendStringInfoChar(buf, (char) ((v & 0x7F) | 0x80));
		v >>= 7;
	}
	appendStringInfoChar(buf, (char) v);
}

/* put_signed appends a zigzag-coded signed number. */
static void
put_signed(StringInfo buf, int64 v)
{
	put_varint(buf, ((uint64) v << 1) ^ (uint64) (v >> 63));
}

/* figures_corrupt reports figures that do not decode. */
static void
figures_corrupt(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid customer state figures"),
			 errdetail("The figures end early or hold %s.", what),
			 errhint("Figures are written by segext's triggers; rebuild the state with segext.rebuild_customer_states.")));
}

/* get_varint reads an unsigned LEB128 number, advancing *p within end. */
static uint64
get_varint(const char **p, const char *end)
{
	uint64		v = 0;
	int			shift = 0;

	for (;;)
	{
		unsigned char c;

		if (*p >= end || shift > 63)
			figures_corrupt("an invalid number");
		c = (unsigned char) *(*p)++;
		v |= (uint64) (c & 0x7F) << shift;
		if ((c & 0x80) == 0)
			return v;
		shift += 7;
	}
}

/* get_signed reads a zigzag-coded signed number. */
static int64
get_signed(const char **p, const char *end)
{
	uint64		v = get_varint(p, end);

	return (int64) (v >> 1) ^ -(int64) (v & 1);
}

/* --- Figures --- */

/* figures_add_time appends a sale time with a (signed) count. */
static void
figures_add_time(Figures *f, TimestampTz at, int64 count)
{
	if (f->ntimes == f->cap_times)
	{
		f->cap_times = f->cap_times == 0 ? 4 : f->cap_times * 2;
		f->times = f->times ? repalloc(f->times, sizeof(FigTime) * f->cap_times) :
			MemoryContextAlloc(f->cxt ? f->cxt : CurrentMemoryContext, sizeof(FigTime) * f->cap_times);
	}
	f->times[f->ntimes].at = at;
	f->times[f->ntimes].count = count;
	f->ntimes++;
}

/* figures_add_entry appends a value of multiset k with a (signed) count. */
static void
figures_add_entry(Figures *f, int k, const char *a, int alen,
				  const char *b, int blen, int64 count)
{
	FigEntry   *e;

	if (f->n[k] == f->cap[k])
	{
		/* a full list of 16 or more is combined first: repeated values share */
		if (f->cap[k] >= 16)
			normalize_list(f, k);
		if (f->cap[k] == 0 || f->n[k] > f->cap[k] / 2)
		{
			f->cap[k] = f->cap[k] == 0 ? 4 : f->cap[k] * 2;
			f->e[k] = f->e[k] ? repalloc(f->e[k], sizeof(FigEntry) * f->cap[k]) :
				MemoryContextAlloc(f->cxt ? f->cxt : CurrentMemoryContext, sizeof(FigEntry) * f->cap[k]);
		}
	}
	e = &f->e[k][f->n[k]++];
	e->a = a;
	e->alen = alen;
	e->b = b;
	e->blen = blen;
	e->count = count;
}

/* cmp_bytes orders byte strings bytewise, a prefix first (an empty one may be NULL). */
static inline int
cmp_bytes(const char *a, int alen, const char *b, int blen)
{
	int			c = (alen > 0 && blen > 0) ? memcmp(a, b, Min(alen, blen)) : 0;

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

/* cmp_entry orders multiset values (then item label values). */
static int
cmp_entry(const void *x, const void *y)
{
	const FigEntry *a = x;
	const FigEntry *b = y;
	int			c = cmp_bytes(a->a, a->alen, b->a, b->alen);

	if (c != 0)
		return c;
	return cmp_bytes(a->b, a->blen, b->b, b->blen);
}

/* cmp_time orders sale times. */
static int
cmp_time(const void *x, const void *y)
{
	const FigTime *a = x;
	const FigTime *b = y;

	return (a->at > b->at) - (a->at < b->at);
}

/* add_count adds b to *a, raising 22003 on overflow. */
static inline void
add_count(int64 *a, int64 b)
{
	if (pg_add_s64_overflow(*a, b, a))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("customer state figure out of range"),
				 errdetail("A count or amount of a customer's transactions exceeds the range of bigint."),
				 errhint("Split the customer's transactions.")));
}

/* normalize_times sorts the times, adds equal ones and drops zero counts. */
static void
normalize_times(Figures *f)
{
	int			n = 0;

	if (f->ntimes > 1)
		qsort(f->times, f->ntimes, sizeof(FigTime), cmp_time);
	for (int i = 0; i < f->ntimes; i++)
	{
		if (n > 0 && f->times[n - 1].at == f->times[i].at)
			add_count(&f->times[n - 1].count, f->times[i].count);
		else
			f->times[n++] = f->times[i];
		if (f->times[n - 1].count == 0 &&
			(i + 1 == f->ntimes || f->times[i + 1].at != f->times[n - 1].at))
			n--;
	}
	f->ntimes = n;
}

/* normalize_list sorts multiset k, adds equal values and drops zero counts. */
static void
normalize_list(Figures *f, int k)
{
	FigEntry   *e = f->e[k];
	int			n = 0;

	if (f->n[k] > 1)
		qsort(e, f->n[k], sizeof(FigEntry), cmp_entry);
	for (int i = 0; i < f->n[k]; i++)
	{
		if (n > 0 && cmp_entry(&e[n - 1], &e[i]) == 0)
			add_count(&e[n - 1].count, e[i].count);
		else
			e[n++] = e[i];
		if (e[n - 1].count == 0 &&
			(i + 1 == f->n[k] || cmp_entry(&e[i + 1], &e[n - 1]) != 0))
			n--;
	}
	f->n[k] = n;
}

/*
 * figures_normalize sorts the times and values, adds the counts of equal
 * ones and drops those that reach zero.
 */
static void
figures_normalize(Figures *f)
{
	normalize_times(f);
	for (int k = 0; k < FIG_NLISTS; k++)
		normalize_list(f, k);
}

/* figures_empty says whether figures hold no time and no value. */
static bool
figures_empty(const Figures *f)
{
	if (f->ntimes > 0)
		return false;
	for (int k = 0; k < FIG_NLISTS; k++)
		if (f->n[k] > 0)
			return false;
	return true;
}

/*
 * figures_encode writes normalized figures as a bytea: version, then the
 * times (count, each as the difference to the previous time and its
 * count), then per multiset its length and (count, value length, value
 * bytes[, value-of-label length and bytes]).  Returns NULL when empty.
 */
static bytea *
figures_encode(const Figures *f)
{
	StringInfoData buf;
	TimestampTz prev = 0;
	bytea	   *result;

	if (figures_empty(f))
		return NULL;
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, "\0\0\0\0", VARHDRSZ);
	appendStringInfoChar(&buf, FIGURES_VERSION);
	put_varint(&buf, f->ntimes);
	for (int i = 0; i < f->ntimes; i++)
	{
		put_signed(&buf, (int64) ((uint64) f->times[i].at - (uint64) prev));
		put_signed(&buf, f->times[i].count);
		prev = f->times[i].at;
	}
	for (int k = 0; k < FIG_NLISTS; k++)
	{
		put_varint(&buf, f->n[k]);
		for (int i = 0; i < f->n[k]; i++)
		{
			const FigEntry *e = &f->e[k][i];

			put_signed(&buf, e->count);
			put_varint(&buf, e->alen);
			appendBinaryStringInfo(&buf, e->a, e->alen);
			if (k == FIG_LABEL)
			{
				put_varint(&buf, e->blen);
				appendBinaryStringInfo(&buf, e->b, e->blen);
			}
		}
	}
	result = (bytea *) buf.data;
	SET_VARSIZE(result, buf.len);
	return result;
}

/* get_bytes reads a length-prefixed byte string (pointing into the input). */
static const char *
get_bytes(const char **p, const char *end, int32 *len)
{
	uint64		n = get_varint(p, end);
	const char *s = *p;

	if (n > (uint64) (end - *p))
		figures_corrupt("a value longer than the figures");
	*len = (int32) n;
	*p += n;
	return s;
}

/*
 * figures_decode appends the figures of a bytea to f (values point into v,
 * which must stay), checking every length.
 */
static void
figures_decode(const bytea *v, Figures *f)
{
	const char *p = VARDATA_ANY(v);
	const char *end = p + VARSIZE_ANY_EXHDR(v);
	uint64		n;
	TimestampTz at = 0;

	if (p >= end || *p != FIGURES_VERSION)
		figures_corrupt("an unknown format version");
	p++;
	n = get_varint(&p, end);
	if (n > (uint64) (end - p))
		figures_corrupt("more times than bytes");
	for (uint64 i = 0; i < n; i++)
	{
		int64		count;

		at = (TimestampTz) ((uint64) at + (uint64) get_signed(&p, end));
		count = get_signed(&p, end);
		figures_add_time(f, at, count);
	}
	for (int k = 0; k < FIG_NLISTS; k++)
	{
		n = get_varint(&p, end);
		if (n > (uint64) (end - p))
			figures_corrupt("more values than bytes");
		for (uint64 i = 0; i < n; i++)
		{
			int64		count = get_signed(&p, end);
			int32		alen,
						blen = 0;
			const char *a = get_bytes(&p, end, &alen);
			const char *b = NULL;

			if (k == FIG_LABEL)
				b = get_bytes(&p, end, &blen);
			figures_add_entry(f, k, a, alen, b, blen, count);
		}
	}
	if (p != end)
		figures_corrupt("bytes after the last value");
}

/* times_sorted says whether times are strictly increasing (normalized order). */
static bool
times_sorted(const Figures *f)
{
	for (int i = 1; i < f->ntimes; i++)
		if (f->times[i - 1].at >= f->times[i].at)
			return false;
	return true;
}

/* list_sorted says whether multiset k is strictly increasing. */
static bool
list_sorted(const Figures *f, int k)
{
	for (int i = 1; i < f->n[k]; i++)
		if (cmp_entry(&f->e[k][i - 1], &f->e[k][i]) >= 0)
			return false;
	return true;
}

/*
 * figures_merge_sorted sets *out to the normalized sum of two normalized
 * figures in one linear merge per list (equal values added, zero counts
 * dropped); false, leaving *out alone, when an input is not in normalized
 * order.
 */
static bool
figures_merge_sorted(const Figures *a, const Figures *b, Figures *out)
{
	int			i,
				j,
				n;

	if (!times_sorted(a) || !times_sorted(b))
		return false;
	for (int k = 0; k < FIG_NLISTS; k++)
		if (!list_sorted(a, k) || !list_sorted(b, k))
			return false;
	memset(out, 0, sizeof(Figures));
	out->ntimes = out->cap_times = a->ntimes + b->ntimes;
	out->times = palloc(sizeof(FigTime) * (out->cap_times + 1));
	for (i = 0, j = 0, n = 0; i < a->ntimes || j < b->ntimes;)
	{
		if (j >= b->ntimes || (i < a->ntimes && a->times[i].at < b->times[j].at))
			out->times[n] = a->times[i++];
		else if (i >= a->ntimes || b->times[j].at < a->times[i].at)
			out->times[n] = b->times[j++];
		else
		{
			out->times[n] = a->times[i++];
			add_count(&out->times[n].count, b->times[j++].count);
		}
		if (out->times[n].count != 0)
			n++;
	}
	out->ntimes = n;
	for (int k = 0; k < FIG_NLISTS; k++)
	{
		FigEntry   *ea = a->e[k];
		FigEntry   *eb = b->e[k];

		out->cap[k] = a->n[k] + b->n[k];
		out->e[k] = palloc(sizeof(FigEntry) * (out->cap[k] + 1));
		for (i = 0, j = 0, n = 0; i < a->n[k] || j < b->n[k];)
		{
			int			c = i >= a->n[k] ? 1 : j >= b->n[k] ? -1 : cmp_entry(&ea[i], &eb[j]);

			if (c < 0)
				out->e[k][n] = ea[i++];
			else if (c > 0)
				out->e[k][n] = eb[j++];
			else
			{
				out->e[k][n] = ea[i++];
				add_count(&out->e[k][n].count, eb[j++].count);
			}
			if (out->e[k][n].count != 0)
				n++;
		}
		out->n[k] = n;
	}
	return true;
}

PG_FUNCTION_INFO_V1(segext_customer_state_merge);
/*
 * segext_customer_state_merge adds two figures (either may be NULL) and
 * returns the normalized sum, NULL when it is empty.  Stored figures are
 * normalized, so the lists are merged in one pass; figures out of order are
 * sorted first.
 */
Datum
segext_customer_state_merge(PG_FUNCTION_ARGS)
{
	Figures		f = {0};
	Figures		g = {0};
	Figures		sum;
	bytea	   *result;

	if (!PG_ARGISNULL(0))
		figures_decode(PG_GETARG_BYTEA_PP(0), &f);
	if (!PG_ARGISNULL(1))
		figures_decode(PG_GETARG_BYTEA_PP(1), &g);
	if (figures_merge_sorted(&f, &g, &sum))
		result = figures_encode(&sum);
	else
	{
		/* some input is not in normalized order: add it all and sort */
		if (!PG_ARGISNULL(1))
			figures_decode(PG_GETARG_BYTEA_PP(1), &f);
		figures_normalize(&f);
		result = figures_encode(&f);
	}
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(result);
}

/* append_json_string appends a JSON string of len bytes. */
static void
append_json_string(StringInfo out, const char *s, int len)
{
	char	   *z = pnstrdup(s, len);

	escape_json(out, z);
	pfree(z);
}

PG_FUNCTION_INFO_V1(segext_customer_state_figures);
/*
 * segext_customer_state_figures prints figures as jsonb: sale times with
 * their counts, and the multisets of POS ids, SKUs, makers and item labels.
 */
Datum
segext_customer_state_figures(PG_FUNCTION_ARGS)
{
	Figures		f = {0};
	StringInfoData out;

	figures_decode(PG_GETARG_BYTEA_PP(0), &f);
	figures_normalize(&f);
	initStringInfo(&out);
	appendStringInfoString(&out, "{\"sale_times\": [");
	for (int i = 0; i < f.ntimes; i++)
	{
		char	   *ts = DatumGetCString(DirectFunctionCall1(timestamptz_out,
															 TimestampTzGetDatum(f.times[i].at)));

		appendStringInfo(&out, "%s{\"at\": ", i > 0 ? ", " : "");
		escape_json(&out, ts);
		appendStringInfo(&out, ", \"sales\": " INT64_FORMAT "}", f.times[i].count);
	}
	appendStringInfoChar(&out, ']');
	for (int k = 0; k < FIG_NLISTS; k++)
	{
		appendStringInfo(&out, ", \"%s\": [", fig_list_names[k]);
		for (int i = 0; i < f.n[k]; i++)
		{
			FigEntry   *e = &f.e[k][i];

			appendStringInfoString(&out, i > 0 ? ", {" : "{");
			appendStringInfoString(&out, k == FIG_LABEL ? "\"key\": " : "\"value\": ");
			append_json_string(&out, e->a, e->alen);
			if (k == FIG_LABEL)
			{
				appendStringInfoString(&out, ", \"value\": ");
				append_json_string(&out, e->b, e->blen);
			}
			appendStringInfo(&out, ", \"sales\": " INT64_FORMAT "}", e->count);
		}
		appendStringInfoChar(&out, ']');
	}
	appendStringInfoChar(&out, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}

/* --- Facts --- */

/* segext_customer_row_init finds the customer columns in desc. */
void
segext_customer_row_init(SegextCustomerRow *row, TupleDesc desc, int natts)
{
	memset(row, 0, sizeof(SegextCustomerRow));
	row->desc = desc;
	row->natts = natts;
	row->a_id = SPI_fnumber(desc, "id");
	row->a_active = SPI_fnumber(desc, "active");
	row->a_birth = SPI_fnumber(desc, "birth_date");
	row->a_registered = SPI_fnumber(desc, "registered_at");
	row->a_labels = SPI_fnumber(desc, "labels");
	row->a_attributes = SPI_fnumber(desc, "attributes");
	if (row->a_id <= 0 || row->a_id > natts || row->a_active <= 0 || row->a_active > natts ||
		row->a_birth <= 0 || row->a_birth > natts || row->a_registered <= 0 ||
		row->a_registered > natts || row->a_labels <= 0 || row->a_labels > natts ||
		row->a_attributes <= 0 || row->a_attributes > natts)
		elog(ERROR, "customer row lacks a column of segext.customers");
}

/* segext_customer_row_field looks a field criterion's field up in the row. */
bool
segext_customer_row_field(void *arg, const char *field, int field_len,
						  const char **value, int *value_len)
{
	SegextCustomerRow *row = (SegextCustomerRow *) arg;
	char	   *name = pnstrdup(field, field_len);
	int			attno = SPI_fnumber(row->desc, name);

	if (attno > 0 && attno <= row->natts &&
		attno != row->a_labels && attno != row->a_attributes)
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
	if (!row->nulls[row->a_attributes - 1])
	{
		Jsonb	   *attrs = DatumGetJsonbP(row->values[row->a_attributes - 1]);
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

/* facts_add_labels sets the customer label bits from a labels array. */
static void
facts_add_labels(const SegextRequirements *reqs, SegextCustomerFacts *f, Jsonb *labels)
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
		slot = segext_requirements_slot(reqs, SEGEXT_SLOT_LABEL_KEY, key, strlen(key));
		if (slot >= 0)
			SEGEXT_FACTS_SET(f, SEGEXT_SLOT_LABEL_KEY, slot);
		if (v != NULL && v->type == jbvString)
		{
			char	   *val = segext_fold_case(v->val.string.val, v->val.string.len);

			slot = segext_requirements_pair_slot(reqs, SEGEXT_SLOT_LABEL, key, strlen(key),
												 val, strlen(val));
			if (slot >= 0)
				SEGEXT_FACTS_SET(f, SEGEXT_SLOT_LABEL, slot);
		}
	}
}

/*
 * segext_facts_fill fills reset facts from a state row and a customer row:
 * customer columns, counted sales and amount, last purchase and purchase
 * periods (through segext_facts_add_purchase, per distinct sale time),
 * per-POS counts and the SKU, maker and item label bits of the values the
 * requirements name.
 */
void
segext_facts_fill(const SegextRequirements *reqs, SegextCustomerFacts *facts,
				  const SegextEvalTime *time, const SegextStateRow *state,
				  const SegextCustomerRow *customer)
{
	uint32		needs = segext_requirements_needs(reqs);
	Datum	   *values = customer->values;
	bool	   *nulls = customer->nulls;

	facts->id = *DatumGetSegextObjectIdP(values[customer->a_id - 1]);
	facts->active = !nulls[customer->a_active - 1] && DatumGetBool(values[customer->a_active - 1]);
	facts->has_birth_date = !nulls[customer->a_birth - 1];
	if (facts->has_birth_date)
		facts->birth_date = DatumGetDateADT(values[customer->a_birth - 1]);
	facts->has_registration = !nulls[customer->a_registered - 1];
	if (facts->has_registration)
		facts->registration_date =
			DatumGetDateADT(DirectFunctionCall1(timestamptz_date, values[customer->a_registered - 1]));
	if ((needs & SEGEXT_NEED_LABELS) && !nulls[customer->a_labels - 1])
		facts_add_labels(reqs, facts, DatumGetJsonbP(values[customer->a_labels - 1]));

	facts->transaction_count = state->sales;
	facts->amount = state->amount;
	if (state->figures != NULL)
	{
		Figures		f = {0};
		static const SegextSlotKind kinds[FIG_NLISTS] = {
			SEGEXT_SLOT_POS, SEGEXT_SLOT_SKU, SEGEXT_SLOT_MAKER, SEGEXT_SLOT_ITEM_LABEL
		};

		figures_decode(state->figures, &f);
		for (int i = 0; i < f.ntimes; i++)
			if (f.times[i].count > 0)
				segext_facts_add_purchase(reqs, facts, f.times[i].at, time->now);
		for (int k = 0; k < FIG_NLISTS; k++)
		{
			if (segext_requirements_nslots(reqs, kinds[k]) == 0)
				continue;
			for (int i = 0; i < f.n[k]; i++)
			{
				FigEntry   *e = &f.e[k][i];
				int			slot;

				if (e->count <= 0)
					continue;
				if (k == FIG_LABEL)
					slot = segext_requirements_pair_slot(reqs, kinds[k], e->a, e->alen, e->b, e->blen);
				else
					slot = segext_requirements_slot(reqs, kinds[k], e->a, e->alen);
				if (slot < 0)
					continue;
				if (k == FIG_POS)
					facts->pos_count[slot] += e->count;
				else
					SEGEXT_FACTS_SET(facts, kinds[k], slot);
			}
		}
	}
}

/* --- Maintenance --- */

/* accum_init makes an empty accumulator in the current memory context. */
static void
accum_init(Accum *acc, Size flush_bytes)
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
			figures_add_time(f, at, count);
		}
		else
		{
			int32		alen,
						blen = 0;
			const char *a = get_bytes(&p, end, &alen);
			const char *b = NULL;

			if (k == FIG_LABEL)
				b = get_bytes(&p, end, &blen);
			figures_add_entry(f, k, a, alen, b, blen, count);
		}
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

/* A folded item label, for de-duplication within one transaction. */
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
 * accum_add_row adds (sign +1) or takes off (sign -1) the contribution of
 * one transaction, given as the TC_* columns: every transaction counts as
 * one and adds its amount; a counted sale also adds its time, POS, SKUs,
 * makers and item labels.
 */
static void
accum_add_row(Accum *acc, Datum *values, bool *nulls, int sign)
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
			accum_flush(acc);
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
	add_count(&d->transactions, sign);
	amount = segext_amount_from_numeric(DatumGetNumeric(values[TC_AMOUNT]));
	add_count(&d->amount, sign * amount);
	counted = nulls[TC_RETURNS] &&
		(nulls[TC_RETURNED] ||
		 segext_amount_from_numeric(DatumGetNumeric(values[TC_RETURNED])) < amount);
	if (counted)
	{
		add_count(&d->sales, sign);
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
 * spill_fold folds the spill file of a class into the deltas (writing a
 * batch when they reach flush_bytes, which only a class of too large
 * changes does) and closes it.
 */
static void
spill_fold(Accum *acc, uint32 cls)
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
		add_count(&d->transactions, n);
		if (!spill_read_exact(file, &n, sizeof(int64)))
			elog(ERROR, "customer state spill file ends early");
		add_count(&d->sales, n);
		if (!spill_read_exact(file, &n, sizeof(int64)))
			elog(ERROR, "customer state spill file ends early");
		add_count(&d->amount, n);
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
			accum_flush(acc);
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

/*
 * accum_flush writes the deltas to segext.customer_states (in SPI, as the
 * table's owner): one upsert adding them, in (company, customer) order (a
 * single customer with a row: an update of that row, which needs no
 * arrays and no speculative insertion), then, when rows were taken off,
 * one delete of the rows left empty.
 * Customers deleted by the statement get no row: the cascade from a deleted
 * customer to its transactions is applied after the customers trigger has
 * deleted the customer's state.
 */
static void
accum_flush(Accum *acc)
{
	static SegextKeptPlan upsert_plan;
	static SegextKeptPlan insert_plan;
	static SegextKeptPlan update_plan;
	static SegextKeptPlan delete_plan;
	static const Oid upsert_types[6] = {KEPT_ARG_OBJECTID_ARRAY, KEPT_ARG_OBJECTID_ARRAY,
	INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, BYTEAARRAYOID};
	long		ndeltas = hash_get_num_entries(acc->deltas);
	Delta	  **sorted;
	HASH_SEQ_STATUS seq;
	Delta	   *d;
	int			n = 0;
	int			nrows = 0;
	Datum	   *cols[6];
	bool	   *fig_nulls;
	Datum		args[6];
	Oid			idtype = segext_objectid_type();
	int			dims[1];
	int			lbs[1] = {1};
	int			ret;
	MemoryContext old;
	MemoryContext foldcxt;

	if (ndeltas == 0)
		return;
	old = MemoryContextSwitchTo(acc->rowcxt);
	sorted = palloc(sizeof(Delta *) * ndeltas);
	hash_seq_init(&seq, acc->deltas);
	while ((d = hash_seq_search(&seq)) != NULL)
		sorted[n++] = d;
	qsort(sorted, n, sizeof(Delta *), cmp_delta);
	for (int c = 0; c < 6; c++)
		cols[c] = palloc(sizeof(Datum) * n);
	foldcxt = AllocSetContextCreate(acc->rowcxt, "segext customer state fold", ALLOCSET_DEFAULT_SIZES);
	fig_nulls = palloc(sizeof(bool) * n);
	for (int i = 0; i < n; i++)
	{
		bytea	   *fig;

		Figures		f = {0};

		d = sorted[i];
		f.cxt = foldcxt;
		log_replay(d, &f);
		figures_normalize(&f);
		fig = figures_encode(&f);
		MemoryContextReset(foldcxt);
		if (fig == NULL && d->transactions == 0 && d->sales == 0 && d->amount == 0)
			continue;			/* the statement changed nothing of it */
		cols[0][nrows] = PointerGetDatum(&d->key.company);
		cols[1][nrows] = PointerGetDatum(&d->key.customer);
		cols[2][nrows] = Int64GetDatum(d->transactions);
		cols[3][nrows] = Int64GetDatum(d->sales);
		cols[4][nrows] = Int64GetDatum(d->amount);
		cols[5][nrows] = PointerGetDatum(fig);
		fig_nulls[nrows] = fig == NULL;
		nrows++;
	}
	if (nrows > 0)
	{
		StateSpi	spi;
		bool		updated = false;

		state_spi_begin(&spi);
		if (nrows == 1)
		{
			/* one customer: update its row in place when it has one */
			static const Oid update_types[6] = {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID,
			INT8OID, INT8OID, INT8OID, BYTEAOID};
			Datum		one[6];
			char		one_nulls[7] = "      ";

			for (int c = 0; c < 6; c++)
				one[c] = cols[c][0];
			if (fig_nulls[0])
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
			updated = SPI_processed > 0;
		}
		dims[0] = nrows;
		args[0] = PointerGetDatum(construct_array(cols[0], nrows, idtype, SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
		args[1] = PointerGetDatum(construct_array(cols[1], nrows, idtype, SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
		for (int c = 2; c < 5; c++)
			args[c] = PointerGetDatum(construct_array(cols[c], nrows, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[5] = PointerGetDatum(construct_md_array(cols[5], fig_nulls, 1, dims, lbs,
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
		/* the members of the customers whose state changed, company by company */
		if (!acc->flush_by_caller)
		{
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
		state_spi_end(&spi);
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
 * state_spi_begin connects to SPI as the owner of segext.customer_states
 * (only segext writes the state) with search_path pg_catalog, pg_temp.
 */
static void
state_spi_begin(StateSpi *spi)
{
	Oid			owner = segext_table_owner("customer_states");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	segext_switch_role(spi, owner);
}

/* state_spi_end restores the role and search_path and leaves SPI. */
static void
state_spi_end(StateSpi *spi)
{
	segext_restore_role(spi);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/*
 * segext_lock_company_state takes a transaction lock on a company's state
 * (ShareLock for maintenance, ExclusiveLock for changes of segments and
 * rebuilds).  The tag is an advisory lock tag with a field no SQL advisory
 * lock function uses.
 */
void
segext_lock_company_state(const SegextObjectId *company, LOCKMODE mode)
{
	LOCKTAG		tag;
	uint32		tail;

	memcpy(&tail, company->data + 8, sizeof(uint32));
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, hash_bytes(company->data, SEGEXT_OBJECTID_LEN), tail, 0x5345);
	(void) LockAcquire(&tag, mode, false, false);
}

/* flush_bytes is the memory of deltas after which they are written. */
static Size
flush_bytes(void)
{
	if (test_state_flush_kb > 0)
		return (Size) test_state_flush_kb * 1024;
	return Max((Size) work_mem * 1024, (Size) 16 * 1024 * 1024);
}

/*
 * segext_customer_state_init defines segext.test_state_flush_kb, a setting
 * for tests only: the memory of folded changes after which the state
 * maintenance splits or writes them (0, the default: work_mem, at least
 * 16 MB), so that tests can cross the threshold with a few rows.
 */
void
segext_customer_state_init(void)
{
	DefineCustomIntVariable("segext.test_state_flush_kb",
							"For tests only: memory of folded customer state changes before they are split or written.",
							"0 (the default) uses work_mem, at least 16 MB.",
							&test_state_flush_kb,
							0, 0, INT_MAX / 1024,
							PGC_USERSET,
							GUC_UNIT_KB | GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);
}

/* accum_add_tuplestore adds or takes off every row of a transition table. */
static void
accum_add_tuplestore(Accum *acc, Tuplestorestate *ts, TupleDesc desc, const int *attnos, int sign)
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
		accum_add_row(acc, values, nulls, sign);
	}
	ExecDropSingleTupleTableSlot(slot);
}

PG_FUNCTION_INFO_V1(segext_transactions_state);
/*
 * segext_transactions_state is the AFTER ... FOR EACH STATEMENT trigger of
 * segext.transactions (INSERT, UPDATE, DELETE with transition tables, and
 * TRUNCATE): it takes the old rows' contributions off the customer states
 * and adds the new rows'.
 */
Datum
segext_transactions_state(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = segext_check_trigger_call(fcinfo, "transactions_state",
													  SEGEXT_TRIGGER_AFTER | SEGEXT_TRIGGER_STATEMENT);
	TupleDesc	desc;
	int			attnos[TC_NCOLS];
	Accum		acc;

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
	{
		StateSpi	spi;

		state_spi_begin(&spi);
		if (SPI_execute("DELETE FROM segext.customer_states", false, 0) != SPI_OK_DELETE)
			elog(ERROR, "SPI_execute failed");
		/* every customer lost its transactions: every member is re-evaluated */
		segext_reevaluate_every_company();
		state_spi_end(&spi);
		return PointerGetDatum(NULL);
	}
	if ((TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) && trigdata->tg_newtable == NULL) ||
		(TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) && trigdata->tg_oldtable == NULL) ||
		(TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
		 (trigdata->tg_oldtable == NULL || trigdata->tg_newtable == NULL)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" needs the transition tables of its event", "transactions_state"),
				 errhint("Create the trigger with REFERENCING OLD TABLE and/or NEW TABLE.")));
	desc = RelationGetDescr(trigdata->tg_relation);
	for (int c = 0; c < TC_NCOLS; c++)
	{
		attnos[c] = SPI_fnumber(desc, tc_names[c]);
		if (attnos[c] <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
					 errmsg("table \"%s\" has no column \"%s\"",
							RelationGetRelationName(trigdata->tg_relation), tc_names[c]),
					 errhint("Attach this trigger to segext.transactions only.")));
	}
	accum_init(&acc, flush_bytes());
	acc.may_split = true;
	acc.total_rows = (trigdata->tg_oldtable ? tuplestore_tuple_count(trigdata->tg_oldtable) : 0) +
		(trigdata->tg_newtable ? tuplestore_tuple_count(trigdata->tg_newtable) : 0);
	if (trigdata->tg_oldtable != NULL)
		accum_add_tuplestore(&acc, trigdata->tg_oldtable, desc, attnos, -1);
	if (trigdata->tg_newtable != NULL)
		accum_add_tuplestore(&acc, trigdata->tg_newtable, desc, attnos, 1);
	accum_flush(&acc);
	/* the classes spilled to files, one after the other: each customer written once */
	for (uint32 cls = 1; acc.spill != NULL && cls < acc.modulus; cls++)
	{
		spill_fold(&acc, cls);
		accum_flush(&acc);
	}
	MemoryContextDelete(acc.cxt);
	MemoryContextDelete(acc.rowcxt);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(segext_customers_state);
/*
 * segext_customers_state is the AFTER DELETE FOR EACH STATEMENT trigger of
 * segext.customers: it deletes the state rows of the deleted customers
 * (their transactions' cascade has normally emptied them already).
 */
Datum
segext_customers_state(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	static SegextKeptPlan delete_plan;
	static const Oid types[2] = {KEPT_ARG_OBJECTID_ARRAY, KEPT_ARG_OBJECTID_ARRAY};
	TupleDesc	desc;
	TupleTableSlot *slot;
	int			a_company,
				a_id;
	Datum	   *companies;
	Datum	   *ids;
	int			n = 0;
	int			cap = 64;
	Datum		args[2];
	Oid			idtype = segext_objectid_type();
	StateSpi	spi;

	(void) segext_check_trigger_call(fcinfo, "customers_state",
									 SEGEXT_TRIGGER_AFTER | SEGEXT_TRIGGER_STATEMENT |
									 SEGEXT_TRIGGER_DELETE | SEGEXT_TRIGGER_OLD_TABLE);
	desc = RelationGetDescr(trigdata->tg_relation);
	a_company = SPI_fnumber(desc, "company_id");
	a_id = SPI_fnumber(desc, "id");
	if (a_company <= 0 || a_id <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("table \"%s\" has no columns \"company_id\" and \"id\"",
						RelationGetRelationName(trigdata->tg_relation)),
				 errhint("Attach this trigger to segext.customers only.")));
	companies = palloc(sizeof(Datum) * cap);
	ids = palloc(sizeof(Datum) * cap);
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(trigdata->tg_oldtable);
	while (tuplestore_gettupleslot(trigdata->tg_oldtable, true, false, slot))
	{
		bool		isnull;

		if (n == cap)
		{
			cap *= 2;
			companies = repalloc_huge(companies, sizeof(Datum) * cap);
			ids = repalloc_huge(ids, sizeof(Datum) * cap);
		}
		companies[n] = datumCopy(slot_getattr(slot, a_company, &isnull), false, SEGEXT_OBJECTID_LEN);
		ids[n] = datumCopy(slot_getattr(slot, a_id, &isnull), false, SEGEXT_OBJECTID_LEN);
		n++;
	}
	ExecDropSingleTupleTableSlot(slot);
	if (n == 0)
		return PointerGetDatum(NULL);
	args[0] = PointerGetDatum(construct_array(companies, n, idtype, SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
	args[1] = PointerGetDatum(construct_array(ids, n, idtype, SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
	state_spi_begin(&spi);
	if (SPI_execute_plan(segext_kept_plan(&delete_plan,
										  "DELETE FROM segext.customer_states AS s "
										  "USING ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS d(company_id, customer_id) "
										  "WHERE s.company_id OPERATOR(pg_catalog.=) d.company_id "
										  "AND s.customer_id OPERATOR(pg_catalog.=) d.customer_id",
										  2, types, CURSOR_OPT_GENERIC_PLAN),
						 args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "SPI_execute_plan failed");
	state_spi_end(&spi);
	return PointerGetDatum(NULL);
}

/*
 * segext_rebuild_company_states replaces a company's customer states by
 * ones computed from its transactions in one index scan in customer order
 * (whole customers inserted in batches, so each row is written once); the
 * caller holds the company's state in ExclusiveLock.  Returns the number of
 * state rows.
 */
int64
segext_rebuild_company_states(const SegextObjectId *company)
{
	StateSpi	spi;
	Accum		acc;
	Datum		args[1];
	Oid			types[1];
	int64		rows;
	SegextObjectId last_customer = {{0}};
	Oid			nsp;
	Oid			relid;
	Oid			idxid;
	Oid			eqop;
	Relation	rel;
	Relation	idx;
	TupleDesc	desc;
	int			attnos[TC_NCOLS];
	int			maxatt = 0;
	ScanKeyData key;
	Snapshot	snapshot;
	TupleTableSlot *slot;
	IndexScanDesc scan;

	types[0] = segext_objectid_type();
	args[0] = PointerGetDatum(company);
	state_spi_begin(&spi);
	if (SPI_execute_with_args("DELETE FROM segext.customer_states WHERE company_id OPERATOR(pg_catalog.=) $1",
							  1, types, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "SPI_execute_with_args failed");
	accum_init(&acc, Max((Size) maintenance_work_mem * 1024, flush_bytes()));
	acc.ncompanies = -1;		/* locked above */
	acc.flush_by_caller = true;
	acc.insert_only = true;		/* the company's rows are deleted and locked */

	/*
	 * The company's transactions in customer order, straight from the heap
	 * through transactions_customer_idx (the table owner's read: no row
	 * level security, as the state's own SQL), with a snapshot taken after
	 * the lock, so that it sees the writes waited for.
	 */
	nsp = get_namespace_oid("segext", false);
	/* on Citus, the shard of the current shard group (citus.c) */
	relid = get_relname_relid("transactions", nsp);
	rel = table_open(segext_citus_local_relation(relid), AccessShareLock);
	idxid = get_relname_relid("transactions_customer_idx", nsp);
	if (!OidIsValid(idxid))
		elog(ERROR, "index segext.transactions_customer_idx does not exist");
	idxid = segext_citus_local_index(idxid, relid, RelationGetRelid(rel));
	idx = index_open(idxid, AccessShareLock);
	desc = RelationGetDescr(rel);
	for (int c = 0; c < TC_NCOLS; c++)
	{
		attnos[c] = SPI_fnumber(desc, tc_names[c]);
		if (attnos[c] <= 0)
			elog(ERROR, "segext.transactions has no column \"%s\"", tc_names[c]);
		maxatt = Max(maxatt, attnos[c]);
	}
	if (idx->rd_index->indnkeyatts < 2 || idx->rd_index->indkey.values[0] != attnos[TC_COMPANY] ||
		idx->rd_index->indkey.values[1] != attnos[TC_CUSTOMER])
		elog(ERROR, "index segext.transactions_customer_idx does not start with company_id, customer_id");
	eqop = get_opfamily_member(idx->rd_opfamily[0], idx->rd_opcintype[0], idx->rd_opcintype[0],
							   BTEqualStrategyNumber);
	if (!OidIsValid(eqop))
		elog(ERROR, "no equality operator for segext.transactions_customer_idx");
	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, idx->rd_opcintype[0],
						   idx->rd_indcollation[0], get_opcode(eqop), PointerGetDatum(company));
	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	slot = table_slot_create(rel, NULL);
	scan = index_beginscan(rel, idx, snapshot, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		Datum		values[TC_NCOLS];
		bool		nulls[TC_NCOLS];

		CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, maxatt);
		for (int c = 0; c < TC_NCOLS; c++)
		{
			values[c] = slot->tts_values[attnos[c] - 1];
			nulls[c] = slot->tts_isnull[attnos[c] - 1];
		}
		/* between two customers every delta is complete: each row is written once */
		if (!nulls[TC_CUSTOMER] &&
			!segext_objectid_equal(DatumGetSegextObjectIdP(values[TC_CUSTOMER]), &last_customer))
		{
			if (MemoryContextMemAllocated(acc.cxt, true) > acc.flush_bytes)
				accum_flush(&acc);
			memcpy(&last_customer, DatumGetPointer(values[TC_CUSTOMER]), SEGEXT_OBJECTID_LEN);
		}
		accum_add_row(&acc, values, nulls, 1);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	accum_flush(&acc);
	rows = acc.written;
	MemoryContextDelete(acc.cxt);
	MemoryContextDelete(acc.rowcxt);
	state_spi_end(&spi);
	return rows;
}

PG_FUNCTION_INFO_V1(segext_rebuild_customer_states);
/*
 * segext_rebuild_customer_states replaces a company's customer states by
 * ones computed from its transactions, under an exclusive lock on the
 * company's state; returns the number of state rows.  Members are not
 * re-evaluated (refresh_company does both).
 */
Datum
segext_rebuild_customer_states(PG_FUNCTION_ARGS)
{
	SegextObjectId *company = PG_GETARG_SEGEXT_OBJECTID_P(0);
	int64		rows;
	Datum		routed;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	segext_company_must_be_visible(company, "Pass the id of the current company.");
	/* on Citus, run on the node of the company's shard group (citus.c) */
	if (segext_citus_route(fcinfo, company, &routed))
	{
		SPI_finish();
		PG_RETURN_DATUM(routed);
	}
	segext_lock_company_state(company, ExclusiveLock);
	rows = segext_rebuild_company_states(company);
	SPI_finish();
	PG_RETURN_INT64(rows);
}

/*
 * segext_figures_last_sale finds the latest sale time with a positive count
 * in a customer's figures; false when there is none.
 */
bool
segext_figures_last_sale(const bytea *figures, TimestampTz *last)
{
	Figures		f = {0};
	bool		found = false;

	figures_decode(figures, &f);
	for (int i = 0; i < f.ntimes; i++)
	{
		if (f.times[i].count > 0 && (!found || f.times[i].at > *last))
		{
			*last = f.times[i].at;
			found = true;
		}
	}
	if (f.times)
		pfree(f.times);
	for (int k = 0; k < FIG_NLISTS; k++)
		if (f.e[k])
			pfree(f.e[k]);
	return found;
}

PG_FUNCTION_INFO_V1(segext_customer_state_last_sale);
/*
 * segext_customer_state_last_sale returns the latest counted sale time of
 * a customer's figures (segext.customer_states.last_sale_at), NULL when
 * there is none.
 */
Datum
segext_customer_state_last_sale(PG_FUNCTION_ARGS)
{
	TimestampTz last;

	if (!segext_figures_last_sale(PG_GETARG_BYTEA_PP(0), &last))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(last);
}
