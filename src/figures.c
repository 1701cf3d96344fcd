/*-------------------------------------------------------------------------
 *
 * figures.c
 *	  The figures of a customer state row (see figures.h): varints, adding
 *	  and normalizing, the stored format (encode, decode, merge of two stored
 *	  values), and the SQL functions over figures: customer_state_merge,
 *	  customer_state_figures and customer_state_last_sale.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "customer_state.h"
#include "figures.h"

#include "common/int.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* The names of the multisets in segext.customer_state_figures. */
static const char *const fig_list_names[FIG_NLISTS] = {"pos", "skus", "makers", "item_labels"};

static void normalize_list(Figures *f, int k);

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

/* segext_figures_add_time appends a sale time with a (signed) count. */
void
segext_figures_add_time(Figures *f, TimestampTz at, int64 count)
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

/* segext_figures_add_entry appends a value of multiset k with a (signed) count. */
void
segext_figures_add_entry(Figures *f, int k, const char *a, int alen,
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

/* segext_figures_add_count adds b to *a, raising 22003 on overflow. */
void
segext_figures_add_count(int64 *a, int64 b)
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
			segext_figures_add_count(&f->times[n - 1].count, f->times[i].count);
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
			segext_figures_add_count(&e[n - 1].count, e[i].count);
		else
			e[n++] = e[i];
		if (e[n - 1].count == 0 &&
			(i + 1 == f->n[k] || cmp_entry(&e[i + 1], &e[n - 1]) != 0))
			n--;
	}
	f->n[k] = n;
}

/*
 * segext_figures_normalize sorts the times and values, adds the counts of equal
 * ones and drops those that reach zero.
 */
void
segext_figures_normalize(Figures *f)
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
 * segext_figures_encode writes normalized figures as a bytea: version, then the
 * times (count, each as the difference to the previous time and its
 * count), then per multiset its length and (count, value length, value
 * bytes[, value-of-label length and bytes]).  Returns NULL when empty.
 */
bytea *
segext_figures_encode(const Figures *f)
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

/* segext_figures_get_bytes reads a length-prefixed byte string (pointing into the input). */
const char *
segext_figures_get_bytes(const char **p, const char *end, int32 *len)
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
 * segext_figures_read_entry reads a value of multiset k (and the item of a
 * label) at *p, advancing it, and adds it to f with a count.
 */
void
segext_figures_read_entry(Figures *f, int k, const char **p, const char *end, int64 count)
{
	int32		alen,
				blen = 0;
	const char *a = segext_figures_get_bytes(p, end, &alen);
	const char *b = NULL;

	if (k == FIG_LABEL)
		b = segext_figures_get_bytes(p, end, &blen);
	segext_figures_add_entry(f, k, a, alen, b, blen, count);
}

/*
 * segext_figures_decode appends the figures of a bytea to f (values point into v,
 * which must stay), checking every length.
 */
void
segext_figures_decode(const bytea *v, Figures *f)
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
		segext_figures_add_time(f, at, count);
	}
	for (int k = 0; k < FIG_NLISTS; k++)
	{
		n = get_varint(&p, end);
		if (n > (uint64) (end - p))
			figures_corrupt("more values than bytes");
		for (uint64 i = 0; i < n; i++)
		{
			int64		count = get_signed(&p, end);

			segext_figures_read_entry(f, k, &p, end, count);
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
			segext_figures_add_count(&out->times[n].count, b->times[j++].count);
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
				segext_figures_add_count(&out->e[k][n].count, eb[j++].count);
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
		segext_figures_decode(PG_GETARG_BYTEA_PP(0), &f);
	if (!PG_ARGISNULL(1))
		segext_figures_decode(PG_GETARG_BYTEA_PP(1), &g);
	if (figures_merge_sorted(&f, &g, &sum))
		result = segext_figures_encode(&sum);
	else
	{
		/* some input is not in normalized order: add it all and sort */
		if (!PG_ARGISNULL(1))
			segext_figures_decode(PG_GETARG_BYTEA_PP(1), &f);
		segext_figures_normalize(&f);
		result = segext_figures_encode(&f);
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

	segext_figures_decode(PG_GETARG_BYTEA_PP(0), &f);
	segext_figures_normalize(&f);
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

/*
 * segext_figures_last_sale finds the latest sale time with a positive count
 * in a customer's figures; false when there is none.
 */
bool
segext_figures_last_sale(const bytea *figures, TimestampTz *last)
{
	Figures		f = {0};
	bool		found = false;

	segext_figures_decode(figures, &f);
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
