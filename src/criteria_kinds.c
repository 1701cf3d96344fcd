/*-------------------------------------------------------------------------
 *
 * criteria_kinds.c
 *	  The words of the criteria language: the table of criterion kinds
 *	  (name, parameters, example), the field operators' and group keys' names,
 *	  and the look-ups between names and codes.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "criteria.h"
#include "criteria_kinds.h"

/* Every criterion kind: its name, parameters and an example. */
const SegextKindInfo segext_criteria_kinds[SEGEXT_CRIT_KIND_MAX + 1] = {
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
const char *const segext_criteria_op_names[SEGEXT_OP_MAX + 1] = {
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

/* JSON keys of the group nodes, indexed by SEGEXT_NODE_*. */
const char *const segext_criteria_group_keys[SEGEXT_NODE_NOT + 1] = {
	[SEGEXT_NODE_ALL] = "all",[SEGEXT_NODE_ANY] = "any",[SEGEXT_NODE_NOT] = "not",
};

/* segext_criteria_lookup_kind maps a criterion type name to its kind (0 when unknown). */
int
segext_criteria_lookup_kind(const char *s, int len)
{
	int			i;

	for (i = SEGEXT_CRIT_TRANSACTION_COUNT; i <= SEGEXT_CRIT_KIND_MAX; i++)
		if ((int) strlen(segext_criteria_kinds[i].name) == len &&
			memcmp(segext_criteria_kinds[i].name, s, len) == 0)
			return i;
	return 0;
}

/* segext_criteria_lookup_op maps an operator name to its code (0 when unknown). */
int
segext_criteria_lookup_op(const char *s, int len)
{
	int			i;

	for (i = 1; i <= SEGEXT_OP_MAX; i++)
		if ((int) strlen(segext_criteria_op_names[i]) == len && memcmp(segext_criteria_op_names[i], s, len) == 0)
			return i;
	return 0;
}

/* segext_criterion_kind_name returns the JSON name of a criterion kind. */
const char *
segext_criterion_kind_name(int kind)
{
	if (kind < SEGEXT_CRIT_FIELD || kind > SEGEXT_CRIT_KIND_MAX || segext_criteria_kinds[kind].name == NULL)
		elog(ERROR, "unrecognized criterion kind %d", kind);
	return segext_criteria_kinds[kind].name;
}

/* segext_field_op_name returns the JSON name of a field operator. */
const char *
segext_field_op_name(int op)
{
	if (op < SEGEXT_OP_EQ || op > SEGEXT_OP_MAX)
		elog(ERROR, "unrecognized field operator %d", op);
	return segext_criteria_op_names[op];
}
