/*-------------------------------------------------------------------------
 *
 * criteria_print.c
 *	  Canonical JSON output of criteria values (stable key order, the parts
 *	  shape for version 1 and the tree for version 2), of one criterion and of
 *	  scaled numbers, and the walkers over in_segment references: listing them
 *	  and printing a value with segment numbers replaced by ids.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "criteria.h"
#include "criteria_kinds.h"
#include "objectid.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/timestamp.h"

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

/* append_field_criterion writes the keys of a field criterion: field, op, value. */
static void
append_field_criterion(StringInfo out, const SegextCriteria *cr, const SegextCriterion *c)
{
	bool		first = true;

	append_key(out, &first, "field");
	escape_json(out, SEGEXT_CRIT_STRING(cr, c->str));
	append_key(out, &first, "op");
	escape_json(out, segext_criteria_op_names[c->op]);
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
}

/* append_criterion writes one criterion as canonical JSON. */
static void
append_criterion(StringInfo out, const SegextCriteria *cr, const SegextCriterion *c)
{
	bool		first = true;

	appendStringInfoChar(out, '{');
	if (c->kind == SEGEXT_CRIT_FIELD)
	{
		append_field_criterion(out, cr, c);
		appendStringInfoChar(out, '}');
		return;
	}

	append_key(out, &first, "type");
	escape_json(out, segext_criteria_kinds[c->kind].name);
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
			appendStringInfo(out, "{\"%s\": [", segext_criteria_group_keys[nodes[i].kind]);
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
