/*-------------------------------------------------------------------------
 *
 * criteria.c
 *	  The segext.criteria type: JSON input validated into a compact binary
 *	  form, canonical JSON output, binary send/recv, jsonb casts, equality.
 *
 * Text input and the jsonb cast share one walker over a jsonb document
 * (text is parsed by PostgreSQL's own jsonb_in).  The binary wire format is
 * the value's format version byte (1 for parts, 2 for a tree of groups)
 * followed by the canonical JSON text, which recv parses with the same
 * walker, so binary input is validated exactly like text input.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "criteria.h"
#include "objectid.h"

#include "catalog/pg_collation.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "regex/regex.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/formatting.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

/* Hint shown with every shape error. */
#define SHAPE_HINT "Segment criteria are a JSON array of parts, [{\"criteria\": [c1, c2]}, {\"criteria\": [c3]}] meaning (c1 OR c2) AND c3, a flat array of criteria, [c1, c2] meaning c1 AND c2, or a tree of groups, {\"all\": [c1, {\"any\": [c2, {\"not\": c3}]}]} meaning c1 AND (c2 OR NOT c3)."

/* Upper bound of amounts: 10^12 currency units, in scaled units. */
#define MAX_AMOUNT	(INT64CONST(1000000000000) * SEGEXT_AMOUNT_SCALE)

/* Description of one criterion kind: name, parameters and an example. */
typedef struct KindInfo
{
	const char *name;
	const char *params[3];		/* allowed parameter keys, alphabetical */
	const char *example;
} KindInfo;

static const KindInfo kind_info[SEGEXT_CRIT_KIND_MAX + 1] = {
	[SEGEXT_CRIT_FIELD] = {"field", {"field", "op", "value"},
	"{\"field\": \"country\", \"op\": \"eq\", \"value\": \"PL\"}, where op is one of eq, neq, begins, nbegins, ends, nends, contains, ncontains, regex, nregex, gt, gte, lt, lte, in, nin, exists, nexists"},
	[SEGEXT_CRIT_TRANSACTION_COUNT] = {"transaction_count", {"max", "min"},
	"{\"type\": \"transaction_count\", \"min\": 1, \"max\": 10}"},
	[SEGEXT_CRIT_TRANSACTION_AMOUNT] = {"transaction_amount", {"fromAmount", "toAmount"},
	"{\"type\": \"transaction_amount\", \"fromAmount\": 10, \"toAmount\": 50.5}"},
	[SEGEXT_CRIT_AVERAGE_AMOUNT] = {"average_transaction_amount", {"fromAmount", "toAmount"},
	"{\"type\": \"average_transaction_amount\", \"fromAmount\": 10, \"toAmount\": 50.5}"},
	[SEGEXT_CRIT_BOUGHT_IN_POS] = {"bought_in_pos", {"posIds"},
	"{\"type\": \"bought_in_pos\", \"posIds\": [\"pos-1\", \"pos-2\"]}"},
	[SEGEXT_CRIT_BOUGHT_SKUS] = {"bought_skus", {"skuIds"},
	"{\"type\": \"bought_skus\", \"skuIds\": [\"SKU-1\"]}"},
	[SEGEXT_CRIT_BOUGHT_MAKERS] = {"bought_makers", {"makers"},
	"{\"type\": \"bought_makers\", \"makers\": [\"acme\"]}"},
	[SEGEXT_CRIT_BOUGHT_LABELS] = {"bought_labels", {"labels"},
	"{\"type\": \"bought_labels\", \"labels\": [{\"key\": \"color\", \"value\": \"red\"}]}"},
	[SEGEXT_CRIT_LAST_PURCHASE] = {"last_purchase_n_days_before", {"days"},
	"{\"type\": \"last_purchase_n_days_before\", \"days\": 30}"},
	[SEGEXT_CRIT_PURCHASE_PERIOD] = {"purchase_period", {"fromDate", "toDate"},
	"{\"type\": \"purchase_period\", \"fromDate\": \"2024-01-01\", \"toDate\": \"2024-12-31T23:59:59Z\"}, with ISO dates or timestamps with a zone"},
	[SEGEXT_CRIT_PERCENT_IN_POS] = {"transaction_percent_in_pos", {"percent", "posId"},
	"{\"type\": \"transaction_percent_in_pos\", \"posId\": \"pos-1\", \"percent\": 0.5}"},
	[SEGEXT_CRIT_ANNIVERSARY] = {"anniversary", {"anniversaryType", "days"},
	"{\"type\": \"anniversary\", \"anniversaryType\": \"birthday\", \"days\": 7}, with anniversaryType birthday or registration"},
	[SEGEXT_CRIT_HAS_LABELS] = {"customer_has_labels", {"labels"},
	"{\"type\": \"customer_has_labels\", \"labels\": [{\"key\": \"vip\"}]}"},
	[SEGEXT_CRIT_LABELS_VALUES] = {"customer_with_labels_values", {"labels"},
	"{\"type\": \"customer_with_labels_values\", \"labels\": [{\"key\": \"tier\", \"value\": \"gold\"}]}"},
	[SEGEXT_CRIT_CUSTOMER_LIST] = {"customer_list", {"customers"},
	"{\"type\": \"customer_list\", \"customers\": [\"507f1f77bcf86cd799439011\"]}"},
	[SEGEXT_CRIT_IN_SEGMENT] = {"in_segment", {"segment"},
	"{\"type\": \"in_segment\", \"segment\": 5}, with a segment number (0 to 65535) or a segment id (24 hexadecimal digits) of the same company"},
};

/* Field operator names, indexed by SegextFieldOp. */
static const char *const op_names[SEGEXT_OP_MAX + 1] = {
	[SEGEXT_OP_EQ] = "eq",[SEGEXT_OP_NEQ] = "neq",
	[SEGEXT_OP_BEGINS] = "begins",[SEGEXT_OP_NBEGINS] = "nbegins",
	[SEGEXT_OP_ENDS] = "ends",[SEGEXT_OP_NENDS] = "nends",
	[SEGEXT_OP_CONTAINS] = "contains",[SEGEXT_OP_NCONTAINS] = "ncontains",
	[SEGEXT_OP_REGEX] = "regex",[SEGEXT_OP_NREGEX] = "nregex",
	[SEGEXT_OP_GT] = "gt",[SEGEXT_OP_GTE] = "gte",
	[SEGEXT_OP_LT] = "lt",[SEGEXT_OP_LTE] = "lte",
	[SEGEXT_OP_IN] = "in",[SEGEXT_OP_NIN] = "nin",
	[SEGEXT_OP_EXISTS] = "exists",[SEGEXT_OP_NEXISTS] = "nexists",
};

/* A string list item while building: bytes, length, pair value, flag. */
typedef struct BuildItem
{
	char	   *str;
	int			len;
	char	   *str2;			/* value of a key/value pair */
	int			len2;
	uint8		flag;			/* field in/nin: 1 = number */
} BuildItem;

/* State of one parse: location for messages and the value being built. */
typedef struct CritBuild
{
	int			part_no;		/* 1-based, for messages */
	int			crit_no;		/* 1-based within the part */
	int			kind;			/* kind of the current criterion, or 0 */
	const char *label;			/* name shown in messages */
	SegextCriterion *crits;
	int			ncrits;
	int			maxcrits;
	uint32	   *part_end;
	int			nparts;
	int			maxparts;
	StringInfoData data;		/* the data area */
	bool		field_only;
	const char *path;			/* tree: where the current node is, or NULL */
	SegextNode *nodes;			/* tree: the nodes in prefix order */
	int			nnodes;
	int			maxnodes;
} CritBuild;

/* JSON keys of the group nodes, indexed by SEGEXT_NODE_*. */
static const char *const group_keys[] = {
	[SEGEXT_NODE_ALL] = "all",[SEGEXT_NODE_ANY] = "any",[SEGEXT_NODE_NOT] = "not",
};

static SegextCriteria *criteria_build_from_jsonb(Jsonb *jb);
static void parse_criterion(CritBuild *b, JsonbValue *v);
static void shape_error(const char *detail) pg_attribute_noreturn();
static void crit_error(CritBuild *b, const char *fmt,...) pg_attribute_printf(2, 3) pg_attribute_noreturn();

/* shape_error reports a document whose overall shape is wrong (22P02). */
static void
shape_error(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type criteria"),
			 errdetail("%s", detail),
			 errhint("%s", SHAPE_HINT)));
	pg_unreachable();
}

/*
 * crit_error reports a semantic problem (22023) naming the part, the
 * criterion and its kind, with a hint showing the expected shape.
 */
static void
crit_error(CritBuild *b, const char *fmt,...)
{
	StringInfoData msg;
	StringInfoData where;

	initStringInfo(&msg);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&msg, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&msg, needed);
	}

	initStringInfo(&where);
	if (b->path != NULL)
		appendStringInfoString(&where, b->path);
	else
	{
		appendStringInfo(&where, "part %d", b->part_no);
		if (b->crit_no > 0)
			appendStringInfo(&where, ", criterion %d", b->crit_no);
	}
	if (b->label)
		appendStringInfo(&where, " (%s)", b->label);

	if (b->kind > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid segment criteria: %s: %s", where.data, msg.data),
				 errhint("A %s criterion looks like %s.",
						 b->kind == SEGEXT_CRIT_FIELD ? "field" : kind_info[b->kind].name,
						 kind_info[b->kind].example)));
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid segment criteria: %s: %s", where.data, msg.data),
				 errhint("%s", SHAPE_HINT)));
	pg_unreachable();
}

/* data_align pads the data area with zero bytes to a multiple of align. */
static void
data_align(CritBuild *b, int align)
{
	while (b->data.len % align != 0)
		appendStringInfoChar(&b->data, '\0');
}

/* data_add_string appends a NUL-terminated string and returns its entry. */
static SegextString
data_add_string(CritBuild *b, const char *str, int len)
{
	SegextString s;

	s.off = b->data.len;
	s.len = len;
	appendBinaryStringInfo(&b->data, str, len);
	appendStringInfoChar(&b->data, '\0');
	return s;
}

/* key_eq compares a jsonb string value with a C string key. */
static bool
key_eq(const JsonbValue *k, const char *key)
{
	return k->val.string.len == (int) strlen(key) &&
		memcmp(k->val.string.val, key, k->val.string.len) == 0;
}

/* object_get fetches a key of a jsonb object (NULL when absent). */
static JsonbValue *
object_get(JsonbContainer *obj, const char *key)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);
}

/* is_object tells whether a jsonb value is an object. */
static bool
is_object(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

/* is_array tells whether a jsonb value is an array. */
static bool
is_array(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

/*
 * check_keys rejects any key of obj that is not in allowed (or in ignored,
 * which are accepted and dropped).
 */
static void
check_keys(CritBuild *b, JsonbContainer *obj, const char *const *allowed,
		   int nallowed, const char *ignored, const char *what)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		int			i;
		bool		ok = false;

		if (tok != WJB_KEY)
			continue;
		for (i = 0; i < nallowed && !ok; i++)
			ok = allowed[i] != NULL && key_eq(&v, allowed[i]);
		if (!ok && ignored && key_eq(&v, ignored))
			ok = true;
		if (!ok)
			crit_error(b, "unrecognized key \"%.*s\"%s", v.val.string.len,
					   v.val.string.val, what);
	}
}

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

/* get_param fetches a required parameter, failing when it is missing. */
static JsonbValue *
get_param(CritBuild *b, JsonbContainer *obj, const char *key)
{
	JsonbValue *v = object_get(obj, key);

	if (v == NULL || v->type == jbvNull)
		crit_error(b, "\"%s\" is missing", key);
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
		crit_error(b, "\"%s\" must be %s", key, must);
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
		crit_error(b, "\"%s\" must be %s", key, must);
	return scaled;
}

/* get_string reads a non-empty string parameter. */
static char *
get_string(CritBuild *b, JsonbContainer *obj, const char *key, int *len)
{
	JsonbValue *v = get_param(b, obj, key);

	if (v->type != jbvString || v->val.string.len == 0)
		crit_error(b, "\"%s\" must be a non-empty string", key);
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
		crit_error(b, "\"%s\" must be %s", key, must);
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
			crit_error(b, "\"%s\" must be a non-empty array of strings (item %d is not a non-empty string)",
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
			crit_error(b, "\"labels\" must be %s (item %d is not an object)", must, i + 1);
		snprintf(what, sizeof(what), " in \"labels\" item %d", i + 1);
		check_keys(b, e->val.binary.data, keys_kv, with_value ? 2 : 1, NULL, what);
		k = object_get(e->val.binary.data, "key");
		if (k == NULL || k->type != jbvString || k->val.string.len == 0)
			crit_error(b, "\"labels\" item %d: \"key\" must be a non-empty string", i + 1);
		if (b->kind == SEGEXT_CRIT_BOUGHT_LABELS &&
			memchr(k->val.string.val, '\x1f', k->val.string.len) != NULL)
			crit_error(b, "\"labels\" item %d: \"key\" must not contain the character U+001F, which separates the key from the value of a stored item label",
					   i + 1);
		items[i].str = segext_fold_case(k->val.string.val, k->val.string.len);
		items[i].len = strlen(items[i].str);
		if (with_value)
		{
			v = object_get(e->val.binary.data, "value");
			if (v == NULL || v->type != jbvString)
				crit_error(b, "\"labels\" item %d: \"value\" must be a string", i + 1);
			if (b->kind == SEGEXT_CRIT_BOUGHT_LABELS &&
				memchr(v->val.string.val, '\x1f', v->val.string.len) != NULL)
				crit_error(b, "\"labels\" item %d: \"value\" must not contain the character U+001F, which separates the key from the value of a stored item label",
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
			crit_error(b, "\"customers\" item %d is not an objectid (24 hexadecimal digits)", i + 1);
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
		crit_error(b, "\"segment\" must be a segment number from 0 to 65535 or a segment id (24 hexadecimal digits)");
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
		crit_error(b, "\"%s\" must be an ISO date (YYYY-MM-DD) or a timestamp with a time zone (YYYY-MM-DDTHH:MM:SSZ)",
				   key);
	if (!in_range)
		crit_error(b, "\"%s\" must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z in UTC (\"%.*s\" is outside)",
				   key, v->val.string.len, v->val.string.val);
	return result;
}

/* lookup_op maps an operator name to its code (0 when unknown). */
static int
lookup_op(const char *s, int len)
{
	int			i;

	for (i = 1; i <= SEGEXT_OP_MAX; i++)
		if ((int) strlen(op_names[i]) == len && memcmp(op_names[i], s, len) == 0)
			return i;
	return 0;
}

/* numeric_text gives the canonical text of a jsonb number. */
static char *
numeric_text(JsonbValue *v)
{
	return numeric_normalize(v->val.numeric);
}

/*
 * RegexFrame is one open group while measuring a pattern: the size of its
 * contents so far and of its last atom or group, in literal atoms ([0])
 * and character-class atoms ([1]).
 */
typedef struct RegexFrame
{
	int64		size[2];
	int64		last[2];
} RegexFrame;

/* regex_bound reads a {m}, {m,} or {m,n} bound at *p; its multiplier or -1. */
static int64
regex_bound(const char **p, const char *end)
{
	const char *q = *p + 1;
	int64		m = 0,
				n;
	bool		digits_seen = false;

	while (q < end && isdigit((unsigned char) *q) && m < 100000)
	{
		m = m * 10 + (*q++ - '0');
		digits_seen = true;
	}
	if (!digits_seen)
		return -1;
	n = m;
	if (q < end && *q == ',')
	{
		q++;
		if (q < end && isdigit((unsigned char) *q))
		{
			n = 0;
			while (q < end && isdigit((unsigned char) *q) && n < 100000)
				n = n * 10 + (*q++ - '0');
		}
		else
			n = m + 1;			/* {m,}: m copies and a loop */
	}
	if (q >= end || *q != '}')
		return -1;
	*p = q;
	return Max(n, 1);
}

/* regex_class_seen counts a class atom's text among the distinct ones. */
static void
regex_class_seen(List **classes, const char *start, int len)
{
	ListCell   *lc;
	char	   *text = pnstrdup(start, len);

	foreach(lc, *classes)
		if (strcmp((const char *) lfirst(lc), text) == 0)
			return;
	*classes = lappend(*classes, text);
}

/*
 * regex_measure counts the quantifier and alternation operators of an ARE
 * pattern and measures its size with bounded repetitions multiplied out: a
 * literal atom counts 1, a character class (bracket expression or \d \s \w
 * \D \S \W) counts the number of distinct classes in the pattern, a group
 * the sum of its contents, and x{m,n} counts n times x (capped at
 * SEGEXT_REGEX_MAX_SIZE + 1).  It follows the parts of the syntax that
 * decide where operators are: escapes, bracket expressions, groups, the
 * ***= and ***: directors, leading embedded options and, in expanded mode,
 * white space and comments.  Returns false when the pattern asks for basic
 * or extended syntax through embedded options.
 */
static bool
regex_measure(const char *pat, int len, int *operators, int64 *size)
{
	const char *p = pat;
	const char *end = pat + len;
	const int64 cap = SEGEXT_REGEX_MAX_SIZE + 1;
	RegexFrame *stack = palloc0(sizeof(RegexFrame) * (len + 1));
	List	   *classes = NIL;
	int			depth = 0;
	bool		expanded = false;

	*operators = 0;
	*size = 0;
	if (len >= 4 && memcmp(p, "***=", 4) == 0)
	{
		*size = Min(len - 4, cap);	/* the rest is a literal string */
		return true;
	}
	if (len >= 4 && memcmp(p, "***:", 4) == 0)
		p += 4;
	if (end - p >= 3 && p[0] == '(' && p[1] == '?' && isalpha((unsigned char) p[2]))
	{
		for (p += 2; p < end && *p != ')'; p++)
		{
			if (*p == 'b' || *p == 'e')
				return false;
			if (*p == 'q')
			{
				*size = Min(end - p, cap);	/* the rest is a literal string */
				return true;
			}
			if (*p == 'x')
				expanded = true;
			else if (*p == 't')
				expanded = false;
		}
		if (p < end)
			p++;
	}

	for (; p < end; p++)
	{
		RegexFrame *f = &stack[depth];
		const char *atom = p;
		int			kind = 0;	/* 0: literal atom, 1: class atom */
		int64		mult;

		if (expanded && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
						 *p == '\v' || *p == '\f'))
			continue;
		if (expanded && *p == '#')
		{
			while (p + 1 < end && p[1] != '\n')
				p++;
			continue;
		}
		switch (*p)
		{
			case '\\':
				if (p + 1 < end)
				{
					p++;
					if (strchr("dswDSW", *p) != NULL)
						kind = 1;
				}
				break;
			case '[':
				p++;
				if (p < end && *p == '^')
					p++;
				if (p < end && *p == ']')
					p++;
				while (p < end && *p != ']')
				{
					if (*p == '[' && p + 1 < end && (p[1] == ':' || p[1] == '.' || p[1] == '='))
					{
						char		close = p[1];

						for (p += 2; p + 1 < end && !(p[0] == close && p[1] == ']'); p++)
							;
						p = Min(p + 2, end);
					}
					else if (*p == '\\')
						p = Min(p + 2, end);
					else
						p++;
				}
				kind = 1;
				break;
			case '(':
				if (p + 1 < end && p[1] == '?')
				{
					p += 2;
					if (p < end && *p == '<')
						p++;
				}
				depth++;
				continue;		/* ':', '=' or '!' after "(?" is not an atom */
			case ')':
				if (depth > 0)
				{
					RegexFrame *inner = f;

					f = &stack[--depth];
					for (int k = 0; k < 2; k++)
					{
						f->last[k] = inner->size[k];
						f->size[k] = Min(f->size[k] + inner->size[k], cap);
					}
					memset(inner, 0, sizeof(RegexFrame));
					continue;
				}
				break;
			case '|':
				(*operators)++;
				f->last[0] = f->last[1] = 0;
				continue;
			case '*':
			case '+':
			case '?':
				(*operators)++;
				continue;
			case '{':
				(*operators)++;
				mult = regex_bound(&p, end);
				if (mult < 0)
					break;		/* a literal brace */
				for (int k = 0; k < 2; k++)
				{
					f->size[k] = Min(f->size[k] + f->last[k] * Min(mult - 1, cap), cap);
					f->last[k] = Min(f->last[k] * mult, cap);
				}
				continue;
			default:
				break;
		}
		if (kind == 1)
			regex_class_seen(&classes, atom, Min(p + 1, end) - atom);
		f->last[kind] = 1;
		f->last[1 - kind] = 0;
		f->size[kind] = Min(f->size[kind] + 1, cap);
	}
	/* groups left open end with the pattern */
	for (; depth > 0; depth--)
		for (int k = 0; k < 2; k++)
			stack[depth - 1].size[k] = Min(stack[depth - 1].size[k] + stack[depth].size[k], cap);
	*size = Min(stack[0].size[0] + stack[0].size[1] * Max(list_length(classes) * list_length(classes), 1), cap);
	pfree(stack);
	list_free_deep(classes);
	return true;
}

/*
 * check_regex refuses a pattern beyond the regex limits and compiles it
 * with PostgreSQL's ARE engine; a cancel or timeout that stops the
 * compilation is reported as such, not as a bad pattern.
 */
static void
check_regex(CritBuild *b, const char *pat, int len)
{
	pg_wchar   *wpat;
	int			wlen;
	regex_t		re;
	int			rc;
	int			operators;
	int64		size;

	if (len > SEGEXT_REGEX_MAX_BYTES)
		crit_error(b, "\"value\" is a regular expression of %d bytes, more than the limit of %d",
				   len, SEGEXT_REGEX_MAX_BYTES);
	if (!regex_measure(pat, len, &operators, &size))
		crit_error(b, "\"value\" is a regular expression that asks for basic or extended syntax; only advanced syntax (ARE) is accepted");
	if (operators > SEGEXT_REGEX_MAX_OPERATORS)
		crit_error(b, "\"value\" is a regular expression with %d quantifiers and alternations (* + ? { |), more than the limit of %d",
				   operators, SEGEXT_REGEX_MAX_OPERATORS);
	if (size > SEGEXT_REGEX_MAX_SIZE)
		crit_error(b, "\"value\" is a regular expression whose size, with bounded repetitions multiplied out and each character class counted once per distinct class, is more than the limit of %d",
				   SEGEXT_REGEX_MAX_SIZE);

	wpat = palloc((len + 1) * sizeof(pg_wchar));
	wlen = pg_mb2wchar_with_len(pat, wpat, len);
	rc = pg_regcomp(&re, wpat, wlen, REG_ADVANCED, DEFAULT_COLLATION_OID);
	if (rc != REG_OKAY)
	{
		char		errbuf[100];

		/* a compilation stopped by a cancel or timeout reports that */
		CHECK_FOR_INTERRUPTS();
		pg_regerror(rc, &re, errbuf, sizeof(errbuf));
		crit_error(b, "\"value\" is not a valid regular expression: %s", errbuf);
	}
	pg_regfree(&re);
	pfree(wpat);
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
		crit_error(b, "\"field\" must be a non-empty string");
	}
	b->label = psprintf("field \"%.*s\"", fv->val.string.len, fv->val.string.val);
	check_keys(b, obj, kind_info[SEGEXT_CRIT_FIELD].params, 3, "criterionId", "");
	c->kind = SEGEXT_CRIT_FIELD;
	c->str = data_add_string(b, fv->val.string.val, fv->val.string.len);

	ov = get_param(b, obj, "op");
	if (ov->type != jbvString)
		crit_error(b, "\"op\" must be a string");
	op = lookup_op(ov->val.string.val, ov->val.string.len);
	if (op == 0)
		crit_error(b, "unrecognized operator \"%.*s\"", ov->val.string.len, ov->val.string.val);
	c->op = op;

	vv = object_get(obj, "value");
	switch (op)
	{
		case SEGEXT_OP_EXISTS:
		case SEGEXT_OP_NEXISTS:
			if (vv != NULL)
				crit_error(b, "operator \"%s\" takes no \"value\"", op_names[op]);
			break;
		case SEGEXT_OP_EQ:
		case SEGEXT_OP_NEQ:
			if (vv == NULL || vv->type == jbvNull)
				crit_error(b, "\"value\" is missing");
			if (vv->type == jbvString)
				c->val = data_add_string(b, vv->val.string.val, vv->val.string.len);
			else if (vv->type == jbvNumeric)
			{
				char	   *t = numeric_text(vv);

				c->val = data_add_string(b, t, strlen(t));
				c->flags |= SEGEXT_CF_VALUE_NUMBER;
			}
			else
				crit_error(b, "\"value\" must be a string or a number for operator \"%s\"", op_names[op]);
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
				crit_error(b, "\"value\" is missing");
			if (vv->type != jbvString)
				crit_error(b, "\"value\" must be a string for operator \"%s\"", op_names[op]);
			if (op == SEGEXT_OP_REGEX || op == SEGEXT_OP_NREGEX)
				check_regex(b, vv->val.string.val, vv->val.string.len);
			c->val = data_add_string(b, vv->val.string.val, vv->val.string.len);
			break;
		case SEGEXT_OP_GT:
		case SEGEXT_OP_GTE:
		case SEGEXT_OP_LT:
		case SEGEXT_OP_LTE:
			if (vv == NULL || vv->type == jbvNull)
				crit_error(b, "\"value\" is missing");
			if (vv->type != jbvNumeric)
				crit_error(b, "\"value\" must be a number for operator \"%s\"", op_names[op]);
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
					crit_error(b, "\"value\" is missing");
				if (!is_array(vv) || JsonContainerSize(vv->val.binary.data) == 0)
					crit_error(b, "\"value\" must be a non-empty array of strings or numbers for operator \"%s\"",
							   op_names[op]);
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
						crit_error(b, "\"value\" item %d must be a string or a number", i + 1);
				}
				store_items(b, c, items, n, false, true);
			}
			break;
	}
}

/* lookup_kind maps a criterion type name to its kind (0 when unknown). */
static int
lookup_kind(const char *s, int len)
{
	int			i;

	for (i = SEGEXT_CRIT_TRANSACTION_COUNT; i <= SEGEXT_CRIT_KIND_MAX; i++)
		if ((int) strlen(kind_info[i].name) == len &&
			memcmp(kind_info[i].name, s, len) == 0)
			return i;
	return 0;
}

/* group_kind tells which group an object is (SEGEXT_NODE_*), or 0 for none. */
static int
group_kind(JsonbContainer *obj)
{
	for (int k = SEGEXT_NODE_ALL; k <= SEGEXT_NODE_NOT; k++)
		if (object_get(obj, group_keys[k]) != NULL)
			return k;
	return 0;
}

/* parse_criterion validates one criterion object and appends its record. */
static void
parse_criterion(CritBuild *b, JsonbValue *v)
{
	JsonbContainer *obj;
	JsonbValue *tv;
	SegextCriterion *c;
	int			kind;

	b->kind = 0;
	b->label = NULL;
	if (!is_object(v))
		shape_error(psprintf("Part %d, criterion %d is not a JSON object.", b->part_no, b->crit_no));
	obj = v->val.binary.data;
	if (b->path == NULL && group_kind(obj) != 0)
		crit_error(b, "a group (\"all\", \"any\" or \"not\") cannot be a criterion of a part or of a flat array; write the whole condition as a tree whose root is a group");

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
			crit_error(b, "a criterion needs a \"type\" or a \"field\"");
		parse_field_criterion(b, c, obj);
		b->ncrits++;
		return;
	}
	if (tv->type != jbvString)
		crit_error(b, "\"type\" must be a string");
	kind = lookup_kind(tv->val.string.val, tv->val.string.len);
	if (kind == 0)
		crit_error(b, "unrecognized criterion type \"%.*s\"", tv->val.string.len,
				   tv->val.string.val);
	b->kind = kind;
	b->label = psprintf("\"%s\"", kind_info[kind].name);
	b->field_only = false;
	{
		const char *allowed[4];
		int			i;

		allowed[0] = "type";
		for (i = 0; i < 3; i++)
			allowed[i + 1] = kind_info[kind].params[i];
		check_keys(b, obj, allowed, 4, "criterionId", "");
	}
	c->kind = kind;

	switch (kind)
	{
		case SEGEXT_CRIT_TRANSACTION_COUNT:
			c->lo = get_int(b, obj, "min", 0, PG_INT64_MAX / SEGEXT_AMOUNT_SCALE,
							"a non-negative integer");
			c->hi = get_int(b, obj, "max", 0, PG_INT64_MAX / SEGEXT_AMOUNT_SCALE,
							"a non-negative integer");
			if (c->lo > c->hi)
				crit_error(b, "\"min\" must not be greater than \"max\"");
			break;
		case SEGEXT_CRIT_TRANSACTION_AMOUNT:
		case SEGEXT_CRIT_AVERAGE_AMOUNT:
			c->lo = get_scaled(b, obj, "fromAmount", 0, MAX_AMOUNT,
							   "a number from 0 to 1000000000000 with at most 6 decimal places");
			c->hi = get_scaled(b, obj, "toAmount", 0, MAX_AMOUNT,
							   "a number from 0 to 1000000000000 with at most 6 decimal places");
			if (c->lo > c->hi)
				crit_error(b, "\"fromAmount\" must not be greater than \"toAmount\"");
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
					crit_error(b, "\"anniversaryType\" must be \"birthday\" or \"registration\"");
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
					crit_error(b, "\"fromDate\" must not be later than \"toDate\"");
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
	b->ncrits++;
}

/* parse_part validates a {"criteria": [...]} part and its criteria. */
static void
parse_part(CritBuild *b, JsonbValue *v)
{
	static const char *const part_keys[] = {"criteria"};
	JsonbContainer *obj = v->val.binary.data;
	JsonbValue *cv = object_get(obj, "criteria");
	JsonbContainer *arr;
	int			n,
				i;

	b->crit_no = 0;
	b->kind = 0;
	b->label = NULL;
	check_keys(b, obj, part_keys, 1, "segmentPartId", "");
	if (!is_array(cv))
		shape_error(psprintf("The \"criteria\" of part %d is not a JSON array.", b->part_no));
	arr = cv->val.binary.data;
	n = JsonContainerSize(arr);
	if (n == 0)
		crit_error(b, "the part has no criteria");
	for (i = 0; i < n; i++)
	{
		b->crit_no = i + 1;
		parse_criterion(b, getIthJsonbValueFromContainer(arr, i));
	}
}

/* end_part records where the current part ends. */
static void
end_part(CritBuild *b)
{
	if (b->nparts == b->maxparts)
	{
		b->maxparts *= 2;
		b->part_end = repalloc(b->part_end, sizeof(uint32) * b->maxparts);
	}
	b->part_end[b->nparts++] = b->ncrits;
}

/* depth_error reports criteria nested deeper than the documented limit. */
static void
depth_error(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid segment criteria: arrays and objects nested more than %d levels deep",
					SEGEXT_CRITERIA_MAX_DEPTH),
			 errdetail("Parts need at most 6 levels: the list, a part, its criteria, a criterion, its labels and a label. A tree of groups has at most %d levels of groups and criteria, which take two levels for each \"all\" or \"any\" group, one for each \"not\" and three for the criterion.",
					   SEGEXT_CRITERIA_MAX_LEVELS),
			 errhint("%s", SHAPE_HINT)));
}

/* add_node appends a node to the tree being built and returns its index. */
static int
add_node(CritBuild *b, uint8 kind, uint32 arg)
{
	if (b->nnodes >= SEGEXT_CRITERIA_MAX_NODES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid segment criteria: more than %d groups and criteria",
						SEGEXT_CRITERIA_MAX_NODES),
				 errdetail("The tree has more than %d nodes at %s; a tree of groups holds at most %d groups and criteria in all.",
						   SEGEXT_CRITERIA_MAX_NODES, b->path, SEGEXT_CRITERIA_MAX_NODES),
				 errhint("Split the condition into several segments, or list many values in one criterion (e.g. posIds, skuIds, customers, or a field's \"in\").")));
	if (b->nnodes == b->maxnodes)
	{
		b->maxnodes *= 2;
		b->nodes = repalloc(b->nodes, sizeof(SegextNode) * b->maxnodes);
	}
	memset(&b->nodes[b->nnodes], 0, sizeof(SegextNode));
	b->nodes[b->nnodes].kind = kind;
	b->nodes[b->nnodes].arg = arg;
	return b->nnodes++;
}

/*
 * parse_node validates one node of a tree at the given level (the root is
 * level 1) and path (a SQL/JSON path from the root "$", e.g. $.all[1].not,
 * array positions from 0): a group and its children, or a criterion.
 */
static void
parse_node(CritBuild *b, JsonbValue *v, int level, const char *path)
{
	JsonbContainer *obj;
	int			gk;
	int			self;
	JsonbValue *gv;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	b->path = path;
	b->kind = 0;
	b->label = NULL;
	if (!is_object(v))
		shape_error(psprintf("The node at %s is not a JSON object; a node of a tree is a group or a criterion.", path));
	if (level > SEGEXT_CRITERIA_MAX_LEVELS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid segment criteria: groups nested more than %d levels deep",
						SEGEXT_CRITERIA_MAX_LEVELS),
				 errdetail("The node at %s is at level %d; a tree of groups has at most %d levels, counting its root group and its criteria.",
						   path, level, SEGEXT_CRITERIA_MAX_LEVELS),
				 errhint("Flatten the tree: an \"all\" inside an \"all\" (or an \"any\" inside an \"any\") can take its children, and \"not\" inside \"not\" cancels out.")));
	obj = v->val.binary.data;
	gk = group_kind(obj);
	if (gk == 0)
	{
		add_node(b, SEGEXT_NODE_CRITERION, b->ncrits);
		parse_criterion(b, v);
		return;
	}
	self = add_node(b, gk, 0);
	if (JsonContainerSize(obj) != 1)
		crit_error(b, "a group has exactly one key, \"%s\"", group_keys[gk]);
	gv = object_get(obj, group_keys[gk]);
	if (gk == SEGEXT_NODE_NOT)
		parse_node(b, gv, level + 1, psprintf("%s.not", path));
	else
	{
		JsonbContainer *arr;
		int			n;

		if (!is_array(gv))
			crit_error(b, "\"%s\" must be a JSON array of criteria and groups", group_keys[gk]);
		arr = gv->val.binary.data;
		n = JsonContainerSize(arr);
		if (n == 0)
			crit_error(b, "the group \"%s\" is empty; it needs at least one criterion or group", group_keys[gk]);
		for (int i = 0; i < n; i++)
			parse_node(b, getIthJsonbValueFromContainer(arr, i), level + 1,
					   psprintf("%s.%s[%d]", path, group_keys[gk], i));
	}
	b->nodes[self].arg = b->nnodes;
	b->path = path;
}

/*
 * check_text_depth refuses JSON text whose arrays and objects nest deeper
 * than SEGEXT_CRITERIA_MAX_DEPTH, before the JSON parser recurses into it.
 */
static void
check_text_depth(const char *json)
{
	int			depth = 0;
	bool		in_string = false;

	for (const char *p = json; *p; p++)
	{
		if (in_string)
		{
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				in_string = false;
		}
		else if (*p == '"')
			in_string = true;
		else if (*p == '[' || *p == '{')
		{
			if (++depth > SEGEXT_CRITERIA_MAX_DEPTH)
				depth_error();
		}
		else if (*p == ']' || *p == '}')
			depth--;
	}
}

/* check_jsonb_depth refuses a jsonb document nested deeper than the limit. */
static void
check_jsonb_depth(Jsonb *jb)
{
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			depth = 0;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_ARRAY || tok == WJB_BEGIN_OBJECT)
		{
			if (++depth > SEGEXT_CRITERIA_MAX_DEPTH)
				depth_error();
		}
		else if (tok == WJB_END_ARRAY || tok == WJB_END_OBJECT)
			depth--;
	}
}

/*
 * criteria_build_from_jsonb is the one parser: it validates a jsonb
 * document in either shape and returns the binary criteria value.
 */
static SegextCriteria *
criteria_build_from_jsonb(Jsonb *jb)
{
	JsonbContainer *root = &jb->root;
	CritBuild	b;
	int			n,
				i;
	bool		parts_shape = false;
	Size		crit_off,
				data_off,
				total;
	SegextCriteria *result;
	bool		tree;

	tree = !JB_ROOT_IS_SCALAR(jb) && JsonContainerIsObject(root);
	if (JB_ROOT_IS_SCALAR(jb) || !(JsonContainerIsArray(root) || tree))
		shape_error("Segment criteria must be a JSON array, or a JSON object that is a group.");
	check_jsonb_depth(jb);
	n = tree ? 1 : JsonContainerSize(root);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid segment criteria: the list of criteria is empty"),
				 errdetail("A segment condition needs at least one part with at least one criterion."),
				 errhint("%s", SHAPE_HINT)));
	if (n > PG_UINT16_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("invalid segment criteria: more than %d parts", PG_UINT16_MAX)));

	memset(&b, 0, sizeof(b));
	b.maxcrits = 8;
	b.crits = palloc(sizeof(SegextCriterion) * b.maxcrits);
	b.maxparts = 8;
	b.part_end = palloc(sizeof(uint32) * b.maxparts);
	b.field_only = true;
	b.maxnodes = 8;
	b.nodes = palloc(sizeof(SegextNode) * b.maxnodes);
	initStringInfo(&b.data);

	if (tree)
	{
		JsonbValue	rootv;

		if (group_kind(root) == 0)
			shape_error("The JSON object at the root is not a group; a tree's root is {\"all\": [...]}, {\"any\": [...]} or {\"not\": ...}.");
		rootv.type = jbvBinary;
		rootv.val.binary.data = root;
		rootv.val.binary.len = VARSIZE(jb) - VARHDRSZ;
		parse_node(&b, &rootv, 1, "$");
		n = 0;					/* no parts */
	}

	for (i = 0; i < n; i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(root, i);
		bool		is_part;

		b.part_no = i + 1;
		if (!is_object(v))
			shape_error(psprintf("Item %d of the array is not a JSON object.", i + 1));
		is_part = object_get(v->val.binary.data, "criteria") != NULL;
		if (i == 0)
			parts_shape = is_part;
		else if (is_part != parts_shape)
			shape_error(psprintf("Item %d is %s, but item 1 is %s; use one shape for the whole array.",
								 i + 1, is_part ? "a part" : "a criterion",
								 parts_shape ? "a part" : "a criterion"));
		if (is_part)
			parse_part(&b, v);
		else
		{
			b.crit_no = 1;
			parse_criterion(&b, v);
		}
		end_part(&b);
	}

	crit_off = sizeof(SegextCriteria) + TYPEALIGN(8, sizeof(uint32) * b.nparts) +
		sizeof(SegextNode) * b.nnodes;
	data_off = crit_off + sizeof(SegextCriterion) * b.ncrits;
	total = data_off + b.data.len;
	if (total > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("segment criteria are too large")));
	result = palloc0(total);
	SET_VARSIZE(result, total);
	result->version = tree ? SEGEXT_CRITERIA_VERSION_TREE : SEGEXT_CRITERIA_VERSION_PARTS;
	result->flags = b.field_only ? SEGEXT_CRITERIA_FIELD_ONLY : 0;
	result->nparts = b.nparts;
	result->ncriteria = b.ncrits;
	result->nnodes = b.nnodes;
	memcpy((char *) result + sizeof(SegextCriteria), b.part_end, sizeof(uint32) * b.nparts);
	memcpy((char *) SEGEXT_CRITERIA_NODES(result), b.nodes, sizeof(SegextNode) * b.nnodes);
	memcpy((char *) result + crit_off, b.crits, sizeof(SegextCriterion) * b.ncrits);
	memcpy((char *) result + data_off, b.data.data, b.data.len);
	return result;
}

/* segext_criteria_from_jsonb validates a jsonb document into criteria. */
SegextCriteria *
segext_criteria_from_jsonb(Jsonb *jb)
{
	return criteria_build_from_jsonb(jb);
}

/* segext_criteria_from_cstring parses JSON text into criteria. */
SegextCriteria *
segext_criteria_from_cstring(const char *json)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	Datum		jb = (Datum) 0;

	/*
	 * jsonb_in reports some bad text with other data-exception codes: a
	 * \u0000 escape (which jsonb cannot store) as an untranslatable
	 * character, a number beyond numeric's range as out of range.  For
	 * criteria, all of them are bad text input (22P02).
	 */
	check_text_depth(json);
	PG_TRY();
	{
		jb = DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
		{
			FreeErrorData(edata);
			PG_RE_THROW();
		}
		FlushErrorState();
		edata->sqlerrcode = ERRCODE_INVALID_TEXT_REPRESENTATION;
		ReThrowError(edata);
	}
	PG_END_TRY();

	return criteria_build_from_jsonb(DatumGetJsonbP(jb));
}

/* segext_fold_case lower-cases a string with the default collation. */
char *
segext_fold_case(const char *str, int len)
{
	return str_tolower(str, len, DEFAULT_COLLATION_OID);
}

/* append_key writes ", " (unless first) and a JSON object key. */
static void
append_key(StringInfo out, bool *first, const char *key)
{
	if (!*first)
		appendStringInfoString(out, ", ");
	*first = false;
	escape_json(out, key);
	appendStringInfoString(out, ": ");
}

/* append_scaled writes a scaled integer as a canonical JSON number. */
static void
append_scaled(StringInfo out, int64 v)
{
	int64		ip = v / SEGEXT_AMOUNT_SCALE;
	int64		fp = v % SEGEXT_AMOUNT_SCALE;
	char		frac[8];
	int			n;

	appendStringInfo(out, INT64_FORMAT, ip);
	if (fp == 0)
		return;
	snprintf(frac, sizeof(frac), "%06d", (int) fp);
	n = 6;
	while (n > 0 && frac[n - 1] == '0')
		n--;
	frac[n] = '\0';
	appendStringInfo(out, ".%s", frac);
}

/* append_bound writes a purchase_period bound (date or UTC timestamp). */
static void
append_bound(StringInfo out, int64 v, bool is_date)
{
	int			y,
				m,
				d;

	if (is_date)
	{
		j2date((int) v + POSTGRES_EPOCH_JDATE, &y, &m, &d);
		appendStringInfo(out, "\"%04d-%02d-%02d\"", y, m, d);
	}
	else
	{
		struct pg_tm tm;
		fsec_t		fsec;

		if (timestamp2tm(v, NULL, &tm, &fsec, NULL, NULL) != 0)
			elog(ERROR, "timestamp out of range in stored criteria");
		appendStringInfo(out, "\"%04d-%02d-%02dT%02d:%02d:%02d",
						 tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		if (fsec != 0)
		{
			char		frac[8];
			int			n = 6;

			snprintf(frac, sizeof(frac), "%06d", (int) fsec);
			while (n > 0 && frac[n - 1] == '0')
				n--;
			frac[n] = '\0';
			appendStringInfo(out, ".%s", frac);
		}
		appendStringInfoString(out, "Z\"");
	}
}

/* append_string_list writes the items of a criterion as a JSON array. */
static void
append_string_list(StringInfo out, const SegextCriteria *cr, const SegextCriterion *c)
{
	const SegextString *items = SEGEXT_CRIT_ITEMS(cr, c);
	uint32		i;

	appendStringInfoChar(out, '[');
	for (i = 0; i < c->nitems; i++)
	{
		if (i > 0)
			appendStringInfoString(out, ", ");
		escape_json(out, SEGEXT_CRIT_STRING(cr, items[i]));
	}
	appendStringInfoChar(out, ']');
}

/* append_label_list writes label items as [{"key": k[, "value": v]}]. */
static void
append_label_list(StringInfo out, const SegextCriteria *cr, const SegextCriterion *c,
				  bool pairs)
{
	const SegextString *items = SEGEXT_CRIT_ITEMS(cr, c);
	uint32		i;

	appendStringInfoChar(out, '[');
	for (i = 0; i < c->nitems; i++)
	{
		if (i > 0)
			appendStringInfoString(out, ", ");
		appendStringInfoString(out, "{\"key\": ");
		escape_json(out, SEGEXT_CRIT_STRING(cr, items[pairs ? 2 * i : i]));
		if (pairs)
		{
			appendStringInfoString(out, ", \"value\": ");
			escape_json(out, SEGEXT_CRIT_STRING(cr, items[2 * i + 1]));
		}
		appendStringInfoChar(out, '}');
	}
	appendStringInfoChar(out, ']');
}

/*
 * While segext_criteria_resolve_segments prints a value: what turns the
 * segment numbers of in_segment criteria into ids (NULL otherwise).
 */
static SegextSegmentResolver print_resolver = NULL;
static void *print_resolver_arg = NULL;

/* append_criterion writes one criterion as canonical JSON. */
static void
append_criterion(StringInfo out, const SegextCriteria *cr, const SegextCriterion *c)
{
	bool		first = true;

	appendStringInfoChar(out, '{');
	if (c->kind == SEGEXT_CRIT_FIELD)
	{
		append_key(out, &first, "field");
		escape_json(out, SEGEXT_CRIT_STRING(cr, c->str));
		append_key(out, &first, "op");
		escape_json(out, op_names[c->op]);
		if (c->op == SEGEXT_OP_IN || c->op == SEGEXT_OP_NIN)
		{
			const SegextString *items = SEGEXT_CRIT_ITEMS(cr, c);
			const uint8 *flags = (const uint8 *) (items + c->nitems);
			uint32		i;

			append_key(out, &first, "value");
			appendStringInfoChar(out, '[');
			for (i = 0; i < c->nitems; i++)
			{
				if (i > 0)
					appendStringInfoString(out, ", ");
				if (flags[i])
					appendStringInfoString(out, SEGEXT_CRIT_STRING(cr, items[i]));
				else
					escape_json(out, SEGEXT_CRIT_STRING(cr, items[i]));
			}
			appendStringInfoChar(out, ']');
		}
		else if (c->op != SEGEXT_OP_EXISTS && c->op != SEGEXT_OP_NEXISTS)
		{
			append_key(out, &first, "value");
			if (c->flags & SEGEXT_CF_VALUE_NUMBER)
				appendStringInfoString(out, SEGEXT_CRIT_STRING(cr, c->val));
			else
				escape_json(out, SEGEXT_CRIT_STRING(cr, c->val));
		}
		appendStringInfoChar(out, '}');
		return;
	}

	append_key(out, &first, "type");
	escape_json(out, kind_info[c->kind].name);
	switch (c->kind)
	{
		case SEGEXT_CRIT_TRANSACTION_COUNT:
			append_key(out, &first, "max");
			appendStringInfo(out, INT64_FORMAT, c->hi);
			append_key(out, &first, "min");
			appendStringInfo(out, INT64_FORMAT, c->lo);
			break;
		case SEGEXT_CRIT_TRANSACTION_AMOUNT:
		case SEGEXT_CRIT_AVERAGE_AMOUNT:
			append_key(out, &first, "fromAmount");
			append_scaled(out, c->lo);
			append_key(out, &first, "toAmount");
			append_scaled(out, c->hi);
			break;
		case SEGEXT_CRIT_BOUGHT_IN_POS:
			append_key(out, &first, "posIds");
			append_string_list(out, cr, c);
			break;
		case SEGEXT_CRIT_BOUGHT_SKUS:
			append_key(out, &first, "skuIds");
			append_string_list(out, cr, c);
			break;
		case SEGEXT_CRIT_BOUGHT_MAKERS:
			append_key(out, &first, "makers");
			append_string_list(out, cr, c);
			break;
		case SEGEXT_CRIT_BOUGHT_LABELS:
		case SEGEXT_CRIT_LABELS_VALUES:
			append_key(out, &first, "labels");
			append_label_list(out, cr, c, true);
			break;
		case SEGEXT_CRIT_HAS_LABELS:
			append_key(out, &first, "labels");
			append_label_list(out, cr, c, false);
			break;
		case SEGEXT_CRIT_LAST_PURCHASE:
			append_key(out, &first, "days");
			appendStringInfo(out, INT64_FORMAT, c->lo);
			break;
		case SEGEXT_CRIT_PURCHASE_PERIOD:
			append_key(out, &first, "fromDate");
			append_bound(out, c->lo, (c->flags & SEGEXT_CF_FROM_IS_DATE) != 0);
			append_key(out, &first, "toDate");
			append_bound(out, c->hi, (c->flags & SEGEXT_CF_TO_IS_DATE) != 0);
			break;
		case SEGEXT_CRIT_PERCENT_IN_POS:
			append_key(out, &first, "percent");
			append_scaled(out, c->lo);
			append_key(out, &first, "posId");
			escape_json(out, SEGEXT_CRIT_STRING(cr, c->str));
			break;
		case SEGEXT_CRIT_ANNIVERSARY:
			append_key(out, &first, "anniversaryType");
			escape_json(out, c->op == SEGEXT_ANNIVERSARY_BIRTHDAY ? "birthday" : "registration");
			append_key(out, &first, "days");
			appendStringInfo(out, INT64_FORMAT, c->lo);
			break;
		case SEGEXT_CRIT_CUSTOMER_LIST:
			{
				const SegextObjectId *ids = (const SegextObjectId *)
				(SEGEXT_CRITERIA_DATA(cr) + c->items);
				char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];
				uint32		i;

				append_key(out, &first, "customers");
				appendStringInfoChar(out, '[');
				for (i = 0; i < c->nitems; i++)
				{
					if (i > 0)
						appendStringInfoString(out, ", ");
					segext_objectid_to_hex(&ids[i], hex);
					appendStringInfo(out, "\"%s\"", hex);
				}
				appendStringInfoChar(out, ']');
			}
			break;
		case SEGEXT_CRIT_IN_SEGMENT:
			{
				SegextObjectId id;
				char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

				append_key(out, &first, "segment");
				if ((c->flags & SEGEXT_CF_SEGMENT_NUMBER) == 0)
					memcpy(&id, SEGEXT_CRITERIA_DATA(cr) + c->items, SEGEXT_OBJECTID_LEN);
				else if (print_resolver != NULL)
					print_resolver((int32) c->lo, print_resolver_arg, &id);
				else
				{
					appendStringInfo(out, INT64_FORMAT, c->lo);
					break;
				}
				segext_objectid_to_hex(&id, hex);
				appendStringInfo(out, "\"%s\"", hex);
			}
			break;
		default:
			elog(ERROR, "unrecognized criterion kind %d in stored criteria", c->kind);
	}
	appendStringInfoChar(out, '}');
}

/*
 * append_node writes the subtree rooted at node i as canonical JSON:
 * {"all": [children]}, {"any": [children]}, {"not": child} or a criterion.
 */
static void
append_node(StringInfo out, const SegextCriteria *cr, uint32 i)
{
	const SegextNode *nodes = SEGEXT_CRITERIA_NODES(cr);
	uint32		child;

	check_stack_depth();
	switch (nodes[i].kind)
	{
		case SEGEXT_NODE_CRITERION:
			append_criterion(out, cr, &SEGEXT_CRITERIA_CRIT(cr)[nodes[i].arg]);
			break;
		case SEGEXT_NODE_NOT:
			appendStringInfoString(out, "{\"not\": ");
			append_node(out, cr, i + 1);
			appendStringInfoChar(out, '}');
			break;
		case SEGEXT_NODE_ALL:
		case SEGEXT_NODE_ANY:
			appendStringInfo(out, "{\"%s\": [", group_keys[nodes[i].kind]);
			for (child = i + 1; child < nodes[i].arg; child = SEGEXT_NODE_END(nodes, child))
			{
				if (child > i + 1)
					appendStringInfoString(out, ", ");
				append_node(out, cr, child);
			}
			appendStringInfoString(out, "]}");
			break;
		default:
			elog(ERROR, "unrecognized criteria node kind %d in stored criteria", nodes[i].kind);
	}
}

/*
 * segext_criteria_to_cstring prints canonical JSON: the parts shape for
 * version 1, the tree for version 2.
 */
char *
segext_criteria_to_cstring(const SegextCriteria *criteria)
{
	StringInfoData out;
	const uint32 *part_end = SEGEXT_CRITERIA_PART_END(criteria);
	const SegextCriterion *crits = SEGEXT_CRITERIA_CRIT(criteria);
	uint32		p,
				i = 0;

	if (criteria->version == SEGEXT_CRITERIA_VERSION_TREE)
	{
		initStringInfo(&out);
		append_node(&out, criteria, 0);
		return out.data;
	}
	if (criteria->version != SEGEXT_CRITERIA_VERSION_PARTS)
		elog(ERROR, "unsupported stored criteria format version %d", criteria->version);
	initStringInfo(&out);
	appendStringInfoChar(&out, '[');
	for (p = 0; p < criteria->nparts; p++)
	{
		uint32		start = i;

		if (p > 0)
			appendStringInfoString(&out, ", ");
		appendStringInfoString(&out, "{\"criteria\": [");
		for (; i < part_end[p]; i++)
		{
			if (i > start)
				appendStringInfoString(&out, ", ");
			append_criterion(&out, criteria, &crits[i]);
		}
		appendStringInfoString(&out, "]}");
	}
	appendStringInfoChar(&out, ']');
	return out.data;
}

/* segext_criteria_segment_refs lists the segments in_segment criteria name. */
SegextSegmentRef *
segext_criteria_segment_refs(const SegextCriteria *criteria, int *n)
{
	const SegextCriterion *crits = SEGEXT_CRITERIA_CRIT(criteria);
	SegextSegmentRef *refs = NULL;
	int			count = 0;

	for (uint32 i = 0; i < criteria->ncriteria; i++)
	{
		SegextSegmentRef *r;

		if (crits[i].kind != SEGEXT_CRIT_IN_SEGMENT)
			continue;
		if (refs == NULL)
			refs = palloc0(sizeof(SegextSegmentRef) * criteria->ncriteria);
		r = &refs[count++];
		r->by_number = (crits[i].flags & SEGEXT_CF_SEGMENT_NUMBER) != 0;
		if (r->by_number)
			r->number = (int32) crits[i].lo;
		else
			memcpy(&r->id, SEGEXT_CRITERIA_DATA(criteria) + crits[i].items, SEGEXT_OBJECTID_LEN);
	}
	*n = count;
	return refs;
}

/*
 * segext_criteria_resolve_segments prints the value with each in_segment
 * number replaced by its segment's id and parses that text again, so the
 * result is canonical (equal to the same condition written with ids).
 */
SegextCriteria *
segext_criteria_resolve_segments(const SegextCriteria *criteria,
								 SegextSegmentResolver resolve, void *arg)
{
	SegextSegmentRef *refs;
	int			n;
	bool		by_number = false;
	char	   *text;

	refs = segext_criteria_segment_refs(criteria, &n);
	for (int i = 0; i < n; i++)
		by_number |= refs[i].by_number;
	if (!by_number)
		return (SegextCriteria *) criteria;
	print_resolver = resolve;
	print_resolver_arg = arg;
	PG_TRY();
	{
		text = segext_criteria_to_cstring(criteria);
	}
	PG_FINALLY();
	{
		print_resolver = NULL;
		print_resolver_arg = NULL;
	}
	PG_END_TRY();
	return segext_criteria_from_cstring(text);
}

/* segext_criterion_to_cstring prints one criterion (by index) as canonical JSON. */
char *
segext_criterion_to_cstring(const SegextCriteria *criteria, uint32 index)
{
	StringInfoData out;

	if (index >= criteria->ncriteria)
		elog(ERROR, "criterion %u out of range", index);
	initStringInfo(&out);
	append_criterion(&out, criteria, &SEGEXT_CRITERIA_CRIT(criteria)[index]);
	return out.data;
}

/* segext_criterion_kind_name returns the JSON name of a criterion kind. */
const char *
segext_criterion_kind_name(int kind)
{
	if (kind < SEGEXT_CRIT_FIELD || kind > SEGEXT_CRIT_KIND_MAX || kind_info[kind].name == NULL)
		elog(ERROR, "unrecognized criterion kind %d", kind);
	return kind_info[kind].name;
}

/* segext_field_op_name returns the JSON name of a field operator. */
const char *
segext_field_op_name(int op)
{
	if (op < SEGEXT_OP_EQ || op > SEGEXT_OP_MAX)
		elog(ERROR, "unrecognized field operator %d", op);
	return op_names[op];
}

/* segext_scaled_to_cstring prints a scaled value (millionths) as a number. */
char *
segext_scaled_to_cstring(int64 v)
{
	StringInfoData out;

	initStringInfo(&out);
	if (v < 0)
	{
		appendStringInfoChar(&out, '-');
		append_scaled(&out, v == PG_INT64_MIN ? PG_INT64_MAX : -v);
	}
	else
		append_scaled(&out, v);
	return out.data;
}

PG_FUNCTION_INFO_V1(criteria_in);
/* criteria_in is the text input function: JSON in either shape. */
Datum
criteria_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);

	PG_RETURN_SEGEXT_CRITERIA_P(segext_criteria_from_cstring(str));
}

PG_FUNCTION_INFO_V1(criteria_out);
/* criteria_out is the text output function: canonical JSON. */
Datum
criteria_out(PG_FUNCTION_ARGS)
{
	SegextCriteria *c = PG_GETARG_SEGEXT_CRITERIA_P(0);

	PG_RETURN_CSTRING(segext_criteria_to_cstring(c));
}

/* recv_error_context names the part of binary criteria an error is in. */
static void
recv_error_context(void *arg)
{
	errcontext("JSON text of binary criteria (after the format version byte)");
}

PG_FUNCTION_INFO_V1(criteria_recv);
/*
 * criteria_recv reads the binary format: a version byte, then the canonical
 * JSON text, which is validated like text input.
 */
Datum
criteria_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version;
	char	   *str;
	int			nbytes;
	const char *nul;
	ErrorContextCallback errcallback;
	SegextCriteria *result;

	if (buf->cursor >= buf->len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary criteria: no format version byte")));
	version = pq_getmsgint(buf, 1);
	if (version != SEGEXT_CRITERIA_VERSION_PARTS && version != SEGEXT_CRITERIA_VERSION_TREE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported binary criteria format version %d", version),
				 errdetail("This version of segext reads format versions %d (parts) and %d (trees of groups).",
						   SEGEXT_CRITERIA_VERSION_PARTS, SEGEXT_CRITERIA_VERSION_TREE)));
	nul = memchr(buf->data + buf->cursor, '\0', buf->len - buf->cursor);
	if (nul != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("invalid binary criteria: the JSON text contains a zero byte"),
				 errdetail("Byte %d of the JSON text (after the format version byte) is 0x00.",
						   (int) (nul - (buf->data + buf->cursor)) + 1),
				 errhint("Binary criteria are a format version byte followed by the canonical JSON text, as criteria_send writes them.")));
	errcallback.callback = recv_error_context;
	errcallback.arg = NULL;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	str = pq_getmsgtext(buf, buf->len - buf->cursor, &nbytes);
	result = segext_criteria_from_cstring(str);
	error_context_stack = errcallback.previous;
	if (version == SEGEXT_CRITERIA_VERSION_PARTS &&
		result->version != SEGEXT_CRITERIA_VERSION_PARTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary criteria: format version 1 holds no groups"),
				 errdetail("The JSON text after format version byte 1 is a tree of groups."),
				 errhint("Send a tree of groups with format version byte 2, as criteria_send writes it.")));
	PG_RETURN_SEGEXT_CRITERIA_P(result);
}

PG_FUNCTION_INFO_V1(criteria_send);
/* criteria_send writes the value's version byte and its canonical JSON text. */
Datum
criteria_send(PG_FUNCTION_ARGS)
{
	SegextCriteria *c = PG_GETARG_SEGEXT_CRITERIA_P(0);
	char	   *str = segext_criteria_to_cstring(c);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint8(&buf, c->version);
	pq_sendtext(&buf, str, strlen(str));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(jsonb_to_criteria);
/* jsonb_to_criteria casts (and validates) a jsonb document. */
Datum
jsonb_to_criteria(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);

	PG_RETURN_SEGEXT_CRITERIA_P(segext_criteria_from_jsonb(jb));
}

PG_FUNCTION_INFO_V1(criteria_to_jsonb);
/* criteria_to_jsonb casts criteria to their canonical jsonb document. */
Datum
criteria_to_jsonb(PG_FUNCTION_ARGS)
{
	SegextCriteria *c = PG_GETARG_SEGEXT_CRITERIA_P(0);

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in,
										CStringGetDatum(segext_criteria_to_cstring(c))));
}

/* criteria_equal compares two values byte for byte (canonical form). */
static bool
criteria_equal(FunctionCallInfo fcinfo)
{
	SegextCriteria *a = PG_GETARG_SEGEXT_CRITERIA_P(0);
	SegextCriteria *b = PG_GETARG_SEGEXT_CRITERIA_P(1);

	return VARSIZE(a) == VARSIZE(b) && memcmp(a, b, VARSIZE(a)) == 0;
}

PG_FUNCTION_INFO_V1(criteria_eq);
/* criteria_eq: are two conditions the same canonical condition? */
Datum
criteria_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(criteria_equal(fcinfo));
}

PG_FUNCTION_INFO_V1(criteria_ne);
/* criteria_ne: do two conditions differ? */
Datum
criteria_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(!criteria_equal(fcinfo));
}
