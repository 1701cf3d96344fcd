/*-------------------------------------------------------------------------
 *
 * criteria_params.c
 *	  The criteria parser's criterion level: one criterion object read into
 *	  its fixed-size record, by kind: numbers (exact, in millionths), strings
 *	  and sorted lists, objectids, purchase-period bounds, and field criteria
 *	  with their operators and values.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "criteria.h"
#include "criteria_build.h"
#include "criteria_kinds.h"
#include "objectid.h"

#include "catalog/pg_collation.h"
#include "datatype/timestamp.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/formatting.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

/* Upper bound of amounts: 10^12 currency units, in scaled units. */
#define MAX_AMOUNT	(INT64CONST(1000000000000) * SEGEXT_AMOUNT_SCALE)

/*
 * segext_numeric_to_scaled converts a numeric exactly to millionths;
 * false when it has more than 6 decimal places, is NaN or out of range.
 */
bool
segext_numeric_to_scaled(Numeric num, int64 *result)
{
	char	   *s;
	const char *p;
	bool		neg = false;
	int64		v = 0;
	int			frac = 0;
	bool		seen_point = false;

	if (numeric_is_nan(num))
		return false;
	s = numeric_normalize(num);
	p = s;
	if (*p == '-')
	{
		neg = true;
		p++;
	}
	if (!isdigit((unsigned char) *p))
		return false;			/* infinity on newer versions */
	for (; *p; p++)
	{
		if (*p == '.')
		{
			seen_point = true;
			continue;
		}
		if (!isdigit((unsigned char) *p))
			return false;
		if (seen_point && ++frac > 6)
			return false;
		if (v > (PG_INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	for (; frac < 6; frac++)
	{
		if (v > PG_INT64_MAX / 10)
			return false;
		v *= 10;
	}
	*result = neg ? -v : v;
	return true;
}

/* segext_fold_case lower-cases a string with the default collation. */
char *
segext_fold_case(const char *str, int len)
{
	return str_tolower(str, len, DEFAULT_COLLATION_OID);
}

/* get_param fetches a required parameter, failing when it is missing. */
static JsonbValue *
get_param(CritBuild *b, JsonbContainer *obj, const char *key)
{
	JsonbValue *v = object_get(obj, key);

	if (v == NULL || v->type == jbvNull)
		segext_criteria_error(b, "\"%s\" is missing", key);
	return v;
}

/* get_int reads an integer parameter within [min, max]. */
static int64
get_int(CritBuild *b, JsonbContainer *obj, const char *key, int64 min,
		int64 max, const char *must)
{
	JsonbValue *v = get_param(b, obj, key);
	int64		scaled;

	if (v->type != jbvNumeric ||
		!segext_numeric_to_scaled(v->val.numeric, &scaled) ||
		scaled % SEGEXT_AMOUNT_SCALE != 0 ||
		scaled / SEGEXT_AMOUNT_SCALE < min || scaled / SEGEXT_AMOUNT_SCALE > max)
		segext_criteria_error(b, "\"%s\" must be %s", key, must);
	return scaled / SEGEXT_AMOUNT_SCALE;
}

/* get_scaled reads a number with at most 6 decimals within [min, max]. */
static int64
get_scaled(CritBuild *b, JsonbContainer *obj, const char *key, int64 min,
		   int64 max, const char *must)
{
	JsonbValue *v = get_param(b, obj, key);
	int64		scaled;

	if (v->type != jbvNumeric ||
		!segext_numeric_to_scaled(v->val.numeric, &scaled) ||
		scaled < min || scaled > max)
		segext_criteria_error(b, "\"%s\" must be %s", key, must);
	return scaled;
}

/* get_string reads a non-empty string parameter. */
static char *
get_string(CritBuild *b, JsonbContainer *obj, const char *key, int *len)
{
	JsonbValue *v = get_param(b, obj, key);

	if (v->type != jbvString || v->val.string.len == 0)
		segext_criteria_error(b, "\"%s\" must be a non-empty string", key);
	*len = v->val.string.len;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* item_cmp orders build items by (flag, str, str2) bytes. */
static int
item_cmp(const void *a, const void *b)
{
	const BuildItem *x = (const BuildItem *) a;
	const BuildItem *y = (const BuildItem *) b;
	int			c;

	if (x->flag != y->flag)
		return x->flag < y->flag ? -1 : 1;
	c = memcmp(x->str, y->str, Min(x->len, y->len));
	if (c != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->str2 == NULL || y->str2 == NULL)
		return 0;
	c = memcmp(x->str2, y->str2, Min(x->len2, y->len2));
	if (c != 0)
		return c;
	return x->len2 < y->len2 ? -1 : (x->len2 > y->len2 ? 1 : 0);
}

/* sort_unique sorts items and drops duplicates; returns the new count. */
static int
sort_unique(BuildItem *items, int n)
{
	int			i,
				out = 0;

	if (n <= 1)
		return n;
	qsort(items, n, sizeof(BuildItem), item_cmp);
	for (i = 0; i < n; i++)
		if (out == 0 || item_cmp(&items[out - 1], &items[i]) != 0)
			items[out++] = items[i];
	return out;
}

/* get_list fetches a non-empty array parameter; returns its container. */
static JsonbContainer *
get_list(CritBuild *b, JsonbContainer *obj, const char *key, const char *must)
{
	JsonbValue *v = get_param(b, obj, key);

	if (!is_array(v) || JsonContainerSize(v->val.binary.data) == 0)
		segext_criteria_error(b, "\"%s\" must be %s", key, must);
	return v->val.binary.data;
}

/*
 * store_items writes sorted, distinct items into the data area and points
 * the criterion at them.  pairs: entries are key/value pairs; flags: a flag
 * byte array follows the entries.
 */
static void
store_items(CritBuild *b, SegextCriterion *c, BuildItem *items, int n,
			bool pairs, bool flags)
{
	int			i;
	SegextString *entries;
	int			nentries = pairs ? 2 * n : n;
	uint32		at;

	n = sort_unique(items, n);
	nentries = pairs ? 2 * n : n;
	entries = palloc(sizeof(SegextString) * nentries);
	for (i = 0; i < n; i++)
	{
		if (pairs)
		{
			entries[2 * i] = data_add_string(b, items[i].str, items[i].len);
			entries[2 * i + 1] = data_add_string(b, items[i].str2, items[i].len2);
		}
		else
			entries[i] = data_add_string(b, items[i].str, items[i].len);
	}
	data_align(b, 4);
	at = b->data.len;
	appendBinaryStringInfo(&b->data, (char *) entries, sizeof(SegextString) * nentries);
	if (flags)
		for (i = 0; i < n; i++)
			appendStringInfoChar(&b->data, (char) items[i].flag);
	c->items = at;
	c->nitems = n;
}

/* get_string_list reads a non-empty array of non-empty strings. */
static void
get_string_list(CritBuild *b, SegextCriterion *c, JsonbContainer *obj,
				const char *key, bool fold)
{
	JsonbContainer *arr = get_list(b, obj, key, "a non-empty array of strings");
	int			n = JsonContainerSize(arr);
	BuildItem  *items = palloc0(sizeof(BuildItem) * n);
	int			i;

	for (i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);

		if (e->type != jbvString || e->val.string.len == 0)
			segext_criteria_error(b, "\"%s\" must be a non-empty array of strings (item %d is not a non-empty string)",
								  key, i + 1);
		if (fold)
			items[i].str = segext_fold_case(e->val.string.val, e->val.string.len);
		else
			items[i].str = pnstrdup(e->val.string.val, e->val.string.len);
		items[i].len = strlen(items[i].str);
	}
	store_items(b, c, items, n, false, false);
}

/* get_label_list reads a non-empty array of {key[, value]} objects. */
static void
get_label_list(CritBuild *b, SegextCriterion *c, JsonbContainer *obj,
			   bool with_value)
{
	static const char *const keys_kv[] = {"key", "value"};
	const char *must = with_value ?
		"a non-empty array of {\"key\": string, \"value\": string} objects" :
		"a non-empty array of {\"key\": string} objects";
	JsonbContainer *arr = get_list(b, obj, "labels", must);
	int			n = JsonContainerSize(arr);
	BuildItem  *items = palloc0(sizeof(BuildItem) * n);
	int			i;

	for (i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
		JsonbValue *k,
				   *v = NULL;
		char		what[64];

		if (!is_object(e))
			segext_criteria_error(b, "\"labels\" must be %s (item %d is not an object)", must, i + 1);
		snprintf(what, sizeof(what), " in \"labels\" item %d", i + 1);
		segext_criteria_check_keys(b, e->val.binary.data, keys_kv, with_value ? 2 : 1, NULL, what);
		k = object_get(e->val.binary.data, "key");
		if (k == NULL || k->type != jbvString || k->val.string.len == 0)
			segext_criteria_error(b, "\"labels\" item %d: \"key\" must be a non-empty string", i + 1);
		if (b->kind == SEGEXT_CRIT_BOUGHT_LABELS &&
			memchr(k->val.string.val, '\x1f', k->val.string.len) != NULL)
			segext_criteria_error(b, "\"labels\" item %d: \"key\" must not contain the character U+001F, which separates the key from the value of a stored item label",
								  i + 1);
		items[i].str = segext_fold_case(k->val.string.val, k->val.string.len);
		items[i].len = strlen(items[i].str);
		if (with_value)
		{
			v = object_get(e->val.binary.data, "value");
			if (v == NULL || v->type != jbvString)
				segext_criteria_error(b, "\"labels\" item %d: \"value\" must be a string", i + 1);
			if (b->kind == SEGEXT_CRIT_BOUGHT_LABELS &&
				memchr(v->val.string.val, '\x1f', v->val.string.len) != NULL)
				segext_criteria_error(b, "\"labels\" item %d: \"value\" must not contain the character U+001F, which separates the key from the value of a stored item label",
									  i + 1);
			items[i].str2 = segext_fold_case(v->val.string.val, v->val.string.len);
			items[i].len2 = strlen(items[i].str2);
		}
	}
	store_items(b, c, items, n, with_value, false);
}

/* get_customer_list reads a non-empty array of objectid strings. */
static void
get_customer_list(CritBuild *b, SegextCriterion *c, JsonbContainer *obj)
{
	JsonbContainer *arr = get_list(b, obj, "customers",
								   "a non-empty array of objectid strings");
	int			n = JsonContainerSize(arr);
	SegextObjectId *ids = palloc(sizeof(SegextObjectId) * n);
	int			i,
				out = 0;

	for (i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);

		if (e->type != jbvString ||
			!segext_objectid_from_hex(e->val.string.val, e->val.string.len,
									  &ids[i]))
			segext_criteria_error(b, "\"customers\" item %d is not an objectid (24 hexadecimal digits)", i + 1);
	}
	qsort(ids, n, sizeof(SegextObjectId), segext_objectid_qsort_cmp);
	for (i = 0; i < n; i++)
		if (out == 0 || !segext_objectid_equal(&ids[out - 1], &ids[i]))
			ids[out++] = ids[i];
	c->items = b->data.len;
	c->nitems = out;
	appendBinaryStringInfo(&b->data, (char *) ids, SEGEXT_OBJECTID_LEN * out);
}

/*
 * get_segment_ref reads the segment of an in_segment criterion: a number
 * from 0 to 65535 (lo, SEGEXT_CF_SEGMENT_NUMBER) or an objectid string (one
 * 12-byte item).
 */
static void
get_segment_ref(CritBuild *b, SegextCriterion *c, JsonbContainer *obj)
{
	JsonbValue *v = get_param(b, obj, "segment");
	SegextObjectId id;

	if (v->type == jbvNumeric)
	{
		c->lo = get_int(b, obj, "segment", 0, PG_UINT16_MAX,
						"a segment number from 0 to 65535 or a segment id (24 hexadecimal digits)");
		c->flags |= SEGEXT_CF_SEGMENT_NUMBER;
		return;
	}
	if (v->type != jbvString ||
		!segext_objectid_from_hex(v->val.string.val, v->val.string.len, &id))
		segext_criteria_error(b, "\"segment\" must be a segment number from 0 to 65535 or a segment id (24 hexadecimal digits)");
	c->items = b->data.len;
	c->nitems = 1;
	appendBinaryStringInfo(&b->data, (char *) &id, SEGEXT_OBJECTID_LEN);
}

/* digits reads exactly n decimal digits at *p, advancing it; -1 if not. */
static int
digits(const char **p, int n)
{
	int			v = 0;

	while (n-- > 0)
	{
		if (!isdigit((unsigned char) **p))
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	return v;
}

/*
 * parse_iso_bound reads an ISO date (YYYY-MM-DD) or a timestamp with zone
 * (YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]](Z|+HH[:MM]|-HH[:MM])).  Sets *is_date,
 * and *in_range to whether the value in UTC falls in years 1 to 9999 (what
 * output can print); returns false on anything else.
 */
static bool
parse_iso_bound(const char *s, int len, int64 *result, bool *is_date, bool *in_range)
{
	char	   *str = pnstrdup(s, len);
	const char *p = str;
	struct pg_tm tm;
	fsec_t		fsec = 0;
	int			tz = 0;
	Timestamp	ts;

	memset(&tm, 0, sizeof(tm));
	if ((tm.tm_year = digits(&p, 4)) < 1 || *p++ != '-' ||
		(tm.tm_mon = digits(&p, 2)) < 1 || tm.tm_mon > 12 || *p++ != '-' ||
		(tm.tm_mday = digits(&p, 2)) < 1 ||
		tm.tm_mday > day_tab[isleap(tm.tm_year)][tm.tm_mon - 1])
		return false;
	if (*p == '\0')
	{
		*is_date = true;
		*in_range = true;
		*result = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
		return true;
	}
	*is_date = false;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return false;
	p++;
	if ((tm.tm_hour = digits(&p, 2)) < 0 || tm.tm_hour > 23 || *p++ != ':' ||
		(tm.tm_min = digits(&p, 2)) < 0 || tm.tm_min > 59)
		return false;
	if (*p == ':')
	{
		p++;
		if ((tm.tm_sec = digits(&p, 2)) < 0 || tm.tm_sec > 59)
			return false;
		if (*p == '.')
		{
			int			scale = 100000;

			p++;
			if (!isdigit((unsigned char) *p))
				return false;
			while (isdigit((unsigned char) *p))
			{
				if (scale == 0)
					return false;	/* more than 6 fraction digits */
				fsec += (*p - '0') * scale;
				scale /= 10;
				p++;
			}
		}
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-')
	{
		int			sign = (*p == '-') ? -1 : 1;
		int			hh,
					mm = 0;

		p++;
		if ((hh = digits(&p, 2)) < 0 || hh > 15)
			return false;
		if (*p == ':')
			p++;
		if (*p != '\0' && ((mm = digits(&p, 2)) < 0 || mm > 59))
			return false;
		tz = -sign * (hh * SECS_PER_HOUR + mm * SECS_PER_MINUTE);
	}
	else
		return false;
	if (*p != '\0')
		return false;
	if (tm2timestamp(&tm, fsec, &tz, &ts) != 0 || !IS_VALID_TIMESTAMP(ts))
		return false;
	*result = ts;
	*in_range = ts >= (date2j(1, 1, 1) - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY &&
		ts < (date2j(10000, 1, 1) - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY;
	return true;
}

/* bound_utc gives a comparable UTC start (or end) of a period bound. */
static int64
bound_utc(int64 v, bool is_date, bool end)
{
	if (!is_date)
		return v;
	return (v + (end ? 1 : 0)) * USECS_PER_DAY - (end ? 1 : 0);
}

/* get_bound reads a purchase_period bound. */
static int64
get_bound(CritBuild *b, JsonbContainer *obj, const char *key, bool *is_date)
{
	JsonbValue *v = get_param(b, obj, key);
	int64		result;
	bool		in_range;

	if (v->type != jbvString ||
		!parse_iso_bound(v->val.string.val, v->val.string.len, &result, is_date, &in_range))
		segext_criteria_error(b, "\"%s\" must be an ISO date (YYYY-MM-DD) or a timestamp with a time zone (YYYY-MM-DDTHH:MM:SSZ)",
							  key);
	if (!in_range)
		segext_criteria_error(b, "\"%s\" must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z in UTC (\"%.*s\" is outside)",
							  key, v->val.string.len, v->val.string.val);
	return result;
}

/* numeric_text gives the canonical text of a jsonb number. */
static char *
numeric_text(JsonbValue *v)
{
	return numeric_normalize(v->val.numeric);
}

/* parse_field_criterion reads {"field", "op", "value"}. */
static void
parse_field_criterion(CritBuild *b, SegextCriterion *c, JsonbContainer *obj)
{
	JsonbValue *fv = object_get(obj, "field");
	JsonbValue *ov;
	JsonbValue *vv;
	int			op;

	b->kind = SEGEXT_CRIT_FIELD;
	if (fv->type != jbvString || fv->val.string.len == 0)
	{
		b->label = "field";
		segext_criteria_error(b, "\"field\" must be a non-empty string");
	}
	b->label = psprintf("field \"%.*s\"", fv->val.string.len, fv->val.string.val);
	segext_criteria_check_keys(b, obj, segext_criteria_kinds[SEGEXT_CRIT_FIELD].params, 3, "criterionId", "");
	c->kind = SEGEXT_CRIT_FIELD;
	c->str = data_add_string(b, fv->val.string.val, fv->val.string.len);

	ov = get_param(b, obj, "op");
	if (ov->type != jbvString)
		segext_criteria_error(b, "\"op\" must be a string");
	op = segext_criteria_lookup_op(ov->val.string.val, ov->val.string.len);
	if (op == 0)
		segext_criteria_error(b, "unrecognized operator \"%.*s\"", ov->val.string.len, ov->val.string.val);
	c->op = op;

	vv = object_get(obj, "value");
	switch (op)
	{
		case SEGEXT_OP_EXISTS:
		case SEGEXT_OP_NEXISTS:
			if (vv != NULL)
				segext_criteria_error(b, "operator \"%s\" takes no \"value\"", segext_criteria_op_names[op]);
			break;
		case SEGEXT_OP_EQ:
		case SEGEXT_OP_NEQ:
			if (vv == NULL || vv->type == jbvNull)
				segext_criteria_error(b, "\"value\" is missing");
			if (vv->type == jbvString)
				c->val = data_add_string(b, vv->val.string.val, vv->val.string.len);
			else if (vv->type == jbvNumeric)
			{
				char	   *t = numeric_text(vv);

				c->val = data_add_string(b, t, strlen(t));
				c->flags |= SEGEXT_CF_VALUE_NUMBER;
			}
			else
				segext_criteria_error(b, "\"value\" must be a string or a number for operator \"%s\"", segext_criteria_op_names[op]);
			break;
		case SEGEXT_OP_BEGINS:
		case SEGEXT_OP_NBEGINS:
		case SEGEXT_OP_ENDS:
		case SEGEXT_OP_NENDS:
		case SEGEXT_OP_CONTAINS:
		case SEGEXT_OP_NCONTAINS:
		case SEGEXT_OP_REGEX:
		case SEGEXT_OP_NREGEX:
			if (vv == NULL || vv->type == jbvNull)
				segext_criteria_error(b, "\"value\" is missing");
			if (vv->type != jbvString)
				segext_criteria_error(b, "\"value\" must be a string for operator \"%s\"", segext_criteria_op_names[op]);
			if (op == SEGEXT_OP_REGEX || op == SEGEXT_OP_NREGEX)
				segext_criteria_check_regex(b, vv->val.string.val, vv->val.string.len);
			c->val = data_add_string(b, vv->val.string.val, vv->val.string.len);
			break;
		case SEGEXT_OP_GT:
		case SEGEXT_OP_GTE:
		case SEGEXT_OP_LT:
		case SEGEXT_OP_LTE:
			if (vv == NULL || vv->type == jbvNull)
				segext_criteria_error(b, "\"value\" is missing");
			if (vv->type != jbvNumeric)
				segext_criteria_error(b, "\"value\" must be a number for operator \"%s\"", segext_criteria_op_names[op]);
			{
				char	   *t = numeric_text(vv);

				c->val = data_add_string(b, t, strlen(t));
				c->flags |= SEGEXT_CF_VALUE_NUMBER;
			}
			break;
		case SEGEXT_OP_IN:
		case SEGEXT_OP_NIN:
			{
				JsonbContainer *arr;
				int			n,
							i;
				BuildItem  *items;

				if (vv == NULL || vv->type == jbvNull)
					segext_criteria_error(b, "\"value\" is missing");
				if (!is_array(vv) || JsonContainerSize(vv->val.binary.data) == 0)
					segext_criteria_error(b, "\"value\" must be a non-empty array of strings or numbers for operator \"%s\"",
										  segext_criteria_op_names[op]);
				arr = vv->val.binary.data;
				n = JsonContainerSize(arr);
				items = palloc0(sizeof(BuildItem) * n);
				for (i = 0; i < n; i++)
				{
					JsonbValue *e = getIthJsonbValueFromContainer(arr, i);

					if (e->type == jbvString)
					{
						items[i].str = pnstrdup(e->val.string.val, e->val.string.len);
						items[i].len = e->val.string.len;
					}
					else if (e->type == jbvNumeric)
					{
						items[i].str = numeric_text(e);
						items[i].len = strlen(items[i].str);
						items[i].flag = 1;
					}
					else
						segext_criteria_error(b, "\"value\" item %d must be a string or a number", i + 1);
				}
				store_items(b, c, items, n, false, true);
			}
			break;
	}
}

/*
 * parse_kind_params reads the parameters of a criterion of a kind other
 * than field into its record.
 */
static void
parse_kind_params(CritBuild *b, SegextCriterion *c, JsonbContainer *obj, int kind)
{
	switch (kind)
	{
		case SEGEXT_CRIT_TRANSACTION_COUNT:
			c->lo = get_int(b, obj, "min", 0, PG_INT64_MAX / SEGEXT_AMOUNT_SCALE,
							"a non-negative integer");
			c->hi = get_int(b, obj, "max", 0, PG_INT64_MAX / SEGEXT_AMOUNT_SCALE,
							"a non-negative integer");
			if (c->lo > c->hi)
				segext_criteria_error(b, "\"min\" must not be greater than \"max\"");
			break;
		case SEGEXT_CRIT_TRANSACTION_AMOUNT:
		case SEGEXT_CRIT_AVERAGE_AMOUNT:
			c->lo = get_scaled(b, obj, "fromAmount", 0, MAX_AMOUNT,
							   "a number from 0 to 1000000000000 with at most 6 decimal places");
			c->hi = get_scaled(b, obj, "toAmount", 0, MAX_AMOUNT,
							   "a number from 0 to 1000000000000 with at most 6 decimal places");
			if (c->lo > c->hi)
				segext_criteria_error(b, "\"fromAmount\" must not be greater than \"toAmount\"");
			break;
		case SEGEXT_CRIT_BOUGHT_IN_POS:
			get_string_list(b, c, obj, "posIds", false);
			break;
		case SEGEXT_CRIT_BOUGHT_SKUS:
			get_string_list(b, c, obj, "skuIds", true);
			break;
		case SEGEXT_CRIT_BOUGHT_MAKERS:
			get_string_list(b, c, obj, "makers", true);
			break;
		case SEGEXT_CRIT_BOUGHT_LABELS:
		case SEGEXT_CRIT_LABELS_VALUES:
			get_label_list(b, c, obj, true);
			break;
		case SEGEXT_CRIT_HAS_LABELS:
			get_label_list(b, c, obj, false);
			break;
		case SEGEXT_CRIT_LAST_PURCHASE:
			c->lo = get_int(b, obj, "days", 1, SEGEXT_CRITERIA_MAX_DAYS,
							"an integer from 1 to 1000000");
			break;
		case SEGEXT_CRIT_ANNIVERSARY:
			{
				int			len;
				char	   *t = get_string(b, obj, "anniversaryType", &len);

				if (strcmp(t, "birthday") == 0)
					c->op = SEGEXT_ANNIVERSARY_BIRTHDAY;
				else if (strcmp(t, "registration") == 0)
					c->op = SEGEXT_ANNIVERSARY_REGISTRATION;
				else
					segext_criteria_error(b, "\"anniversaryType\" must be \"birthday\" or \"registration\"");
				c->lo = get_int(b, obj, "days", 1, SEGEXT_CRITERIA_MAX_DAYS,
								"an integer from 1 to 1000000");
			}
			break;
		case SEGEXT_CRIT_PURCHASE_PERIOD:
			{
				bool		from_date,
							to_date;

				c->lo = get_bound(b, obj, "fromDate", &from_date);
				c->hi = get_bound(b, obj, "toDate", &to_date);
				if (from_date)
					c->flags |= SEGEXT_CF_FROM_IS_DATE;
				if (to_date)
					c->flags |= SEGEXT_CF_TO_IS_DATE;
				if (bound_utc(c->lo, from_date, false) > bound_utc(c->hi, to_date, true))
					segext_criteria_error(b, "\"fromDate\" must not be later than \"toDate\"");
			}
			break;
		case SEGEXT_CRIT_PERCENT_IN_POS:
			{
				int			len;
				char	   *pos = get_string(b, obj, "posId", &len);

				c->str = data_add_string(b, pos, len);
				c->lo = get_scaled(b, obj, "percent", 0, SEGEXT_AMOUNT_SCALE,
								   "a number from 0 to 1 with at most 6 decimal places");
			}
			break;
		case SEGEXT_CRIT_CUSTOMER_LIST:
			get_customer_list(b, c, obj);
			break;
		case SEGEXT_CRIT_IN_SEGMENT:
			get_segment_ref(b, c, obj);
			break;
	}
}

/* segext_criteria_parse_criterion validates one criterion object and appends its record. */
void
segext_criteria_parse_criterion(CritBuild *b, JsonbValue *v)
{
	JsonbContainer *obj;
	JsonbValue *tv;
	SegextCriterion *c;
	int			kind;

	b->kind = 0;
	b->label = NULL;
	if (!is_object(v))
		segext_criteria_shape_error(psprintf("Part %d, criterion %d is not a JSON object.", b->part_no, b->crit_no));
	obj = v->val.binary.data;
	if (b->path == NULL && segext_criteria_group_kind(obj) != 0)
		segext_criteria_error(b, "a group (\"all\", \"any\" or \"not\") cannot be a criterion of a part or of a flat array; write the whole condition as a tree whose root is a group");

	if (b->ncrits == b->maxcrits)
	{
		b->maxcrits *= 2;
		b->crits = repalloc(b->crits, sizeof(SegextCriterion) * b->maxcrits);
	}
	c = &b->crits[b->ncrits];
	memset(c, 0, sizeof(SegextCriterion));

	tv = object_get(obj, "type");
	if (tv == NULL)
	{
		if (object_get(obj, "field") == NULL)
			segext_criteria_error(b, "a criterion needs a \"type\" or a \"field\"");
		parse_field_criterion(b, c, obj);
		b->ncrits++;
		return;
	}
	if (tv->type != jbvString)
		segext_criteria_error(b, "\"type\" must be a string");
	kind = segext_criteria_lookup_kind(tv->val.string.val, tv->val.string.len);
	if (kind == 0)
		segext_criteria_error(b, "unrecognized criterion type \"%.*s\"", tv->val.string.len,
							  tv->val.string.val);
	b->kind = kind;
	b->label = psprintf("\"%s\"", segext_criteria_kinds[kind].name);
	b->field_only = false;
	{
		const char *allowed[4];
		int			i;

		allowed[0] = "type";
		for (i = 0; i < 3; i++)
			allowed[i + 1] = segext_criteria_kinds[kind].params[i];
		segext_criteria_check_keys(b, obj, allowed, 4, "criterionId", "");
	}
	c->kind = kind;

	parse_kind_params(b, c, obj, kind);
	b->ncrits++;
}
