/*-------------------------------------------------------------------------
 *
 * criteria_match_sql.c
 *	  The SQL entry points of the evaluator, for users and for tests:
 *	  criteria_match_event (the top-level keys of a jsonb object as fields)
 *	  and criteria_match_facts (per-customer facts read from a jsonb
 *	  document).
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "evaluate.h"

/* JsonbFields is the lookup argument over a jsonb object's top-level keys. */
typedef struct JsonbFields
{
	JsonbContainer *obj;
} JsonbFields;

/*
 * jsonb_field_lookup finds a top-level key; its text form is what ->>
 * returns; JSON null counts as missing.
 */
static bool
jsonb_field_lookup(void *arg, const char *field, int field_len,
				   const char **value, int *value_len)
{
	JsonbFields *f = (JsonbFields *) arg;
	JsonbValue *v;
	char	   *s;

	if (f->obj == NULL)
		return false;
	v = getKeyJsonValueFromContainer(f->obj, field, field_len, NULL);
	if (v == NULL || v->type == jbvNull)
		return false;
	switch (v->type)
	{
		case jbvString:
			*value = v->val.string.val;
			*value_len = v->val.string.len;
			return true;
		case jbvNumeric:
			s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
			break;
		case jbvBool:
			s = v->val.boolean ? "true" : "false";
			break;
		default:
			s = JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
			break;
	}
	*value = s;
	*value_len = strlen(s);
	return true;
}

/* jsonb_object_arg checks that a jsonb argument is an object. */
static JsonbContainer *
jsonb_object_arg(Jsonb *jb, const char *what)
{
	if (JB_ROOT_IS_SCALAR(jb) || !JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", what),
				 errhint("Pass an object such as {\"country\": \"PL\"}.")));
	return &jb->root;
}

PG_FUNCTION_INFO_V1(criteria_match_event);
/* criteria_match_event matches a jsonb object's top-level keys as fields. */
Datum
criteria_match_event(PG_FUNCTION_ARGS)
{
	SegextCriteria *criteria = PG_GETARG_SEGEXT_CRITERIA_P(0);
	Jsonb	   *event = PG_GETARG_JSONB_P(1);
	JsonbFields f;

	f.obj = jsonb_object_arg(event, "event");
	PG_RETURN_BOOL(segext_criteria_match_row(criteria, jsonb_field_lookup, &f));
}

/* facts_error reports a bad key of the facts document (22023). */
static void
facts_error(const char *key, const char *must)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid customer facts: \"%s\" must be %s", key, must),
			 errhint("Facts look like {\"active\": true, \"transaction_count\": 2, \"amount\": 30.5, \"last_purchase\": \"2024-05-01T10:00:00Z\", \"pos_counts\": {\"pos-1\": 2}, \"skus\": [], \"makers\": [], \"item_labels\": [{\"key\": \"k\", \"value\": \"v\"}], \"labels\": [{\"key\": \"k\", \"value\": \"v\"}], \"purchases\": [\"2024-05-01T10:00:00Z\"], \"birth_date\": \"1990-02-28\", \"registration_date\": \"2020-01-01\", \"id\": \"507f1f77bcf86cd799439011\", \"segments\": [5], \"fields\": {}}.")));
}

/* facts_string returns the text of a jsonb string value or fails. */
static char *
facts_string(JsonbValue *v, const char *key)
{
	if (v->type != jbvString)
		facts_error(key, "a string");
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* facts_array returns a jsonb array container or fails. */
static JsonbContainer *
facts_array(JsonbValue *v, const char *key)
{
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		facts_error(key, "an array");
	return v->val.binary.data;
}

/* facts_labels sets label slots from [{"key", "value"}] items. */
static void
facts_labels(const SegextRequirements *reqs, SegextCustomerFacts *facts,
			 JsonbValue *v, const char *key, int key_kind, int pair_kind)
{
	JsonbContainer *arr = facts_array(v, key);
	int			n = JsonContainerSize(arr);
	int			i;

	for (i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
		JsonbValue *k,
				   *val;
		char	   *fk,
				   *fv;
		int			slot;

		if (e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
			facts_error(key, "an array of {\"key\": string, \"value\": string} objects");
		k = getKeyJsonValueFromContainer(e->val.binary.data, "key", 3, NULL);
		val = getKeyJsonValueFromContainer(e->val.binary.data, "value", 5, NULL);
		if (k == NULL || k->type != jbvString || val == NULL || val->type != jbvString)
			facts_error(key, "an array of {\"key\": string, \"value\": string} objects");
		fk = segext_fold_case(k->val.string.val, k->val.string.len);
		fv = segext_fold_case(val->val.string.val, val->val.string.len);
		if (key_kind >= 0 &&
			(slot = segext_requirements_slot(reqs, key_kind, fk, strlen(fk))) >= 0)
			SEGEXT_FACTS_SET(facts, key_kind, slot);
		if ((slot = segext_requirements_pair_slot(reqs, pair_kind, fk, strlen(fk),
												  fv, strlen(fv))) >= 0)
			SEGEXT_FACTS_SET(facts, pair_kind, slot);
	}
}

/* facts_strings sets slots of a kind from an array of strings. */
static void
facts_strings(const SegextRequirements *reqs, SegextCustomerFacts *facts,
			  JsonbValue *v, const char *key, int kind)
{
	JsonbContainer *arr = facts_array(v, key);
	int			n = JsonContainerSize(arr);
	int			i;

	for (i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
		char	   *f;
		int			slot;

		if (e->type != jbvString)
			facts_error(key, "an array of strings");
		f = segext_fold_case(e->val.string.val, e->val.string.len);
		if ((slot = segext_requirements_slot(reqs, kind, f, strlen(f))) >= 0)
			SEGEXT_FACTS_SET(facts, kind, slot);
	}
}

/* facts_int reads a non-negative integer fact. */
static int64
facts_int(JsonbValue *v, const char *key)
{
	int64		scaled;

	if (v->type != jbvNumeric || !segext_numeric_to_scaled(v->val.numeric, &scaled) ||
		scaled < 0 || scaled % SEGEXT_AMOUNT_SCALE != 0)
		facts_error(key, "a non-negative integer");
	return scaled / SEGEXT_AMOUNT_SCALE;
}

/*
 * facts_datetime reads a date or timestamptz fact with the type's input
 * function; text that input refuses is a bad fact (22023), like a bad
 * purchase_period bound in criteria.
 */
static Datum
facts_datetime(JsonbValue *v, const char *key, bool is_date)
{
	char	   *str = facts_string(v, key);
	MemoryContext oldcontext = CurrentMemoryContext;
	Datum		result = (Datum) 0;
	bool		refused = false;

	PG_TRY();
	{
		if (is_date)
			result = DirectFunctionCall1(date_in, CStringGetDatum(str));
		else
			result = DirectFunctionCall3(timestamptz_in, CStringGetDatum(str),
										 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	}
	PG_CATCH();
	{
		FreeErrorData(segext_catch_data_exception(oldcontext));
		refused = true;
	}
	PG_END_TRY();
	if (refused)
		facts_error(key, is_date ? "a date such as \"1990-02-28\"" :
					"a timestamp with a time zone such as \"2024-05-01T10:00:00Z\"");
	return result;
}

/* facts_date reads a date fact (date input syntax). */
static DateADT
facts_date(JsonbValue *v, const char *key)
{
	return DatumGetDateADT(facts_datetime(v, key, true));
}

/* facts_timestamp reads a timestamptz fact (timestamptz input syntax). */
static TimestampTz
facts_timestamp(JsonbValue *v, const char *key)
{
	return DatumGetTimestampTz(facts_datetime(v, key, false));
}

/* facts_pos_counts sets the POS counts from an object of POS id: count. */
static void
facts_pos_counts(const SegextRequirements *reqs, SegextCustomerFacts *facts,
				 JsonbValue *v, const char *key)
{
	JsonbIterator *pit;
	JsonbValue	pk;
	JsonbIteratorToken ptok;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		facts_error(key, "an object of POS id: count");
	pit = JsonbIteratorInit(v->val.binary.data);
	while ((ptok = JsonbIteratorNext(&pit, &pk, true)) != WJB_DONE)
	{
		JsonbValue *cv;
		int			slot;

		if (ptok != WJB_KEY)
			continue;
		cv = getKeyJsonValueFromContainer(v->val.binary.data, pk.val.string.val,
										  pk.val.string.len, NULL);
		slot = segext_requirements_slot(reqs, SEGEXT_SLOT_POS,
										pk.val.string.val, pk.val.string.len);
		if (slot >= 0)
			facts->pos_count[slot] = facts_int(cv, key);
		else
			(void) facts_int(cv, key);
	}
}

/* facts_purchases records the times of counted sales from an array of timestamps. */
static void
facts_purchases(const SegextRequirements *reqs, SegextCustomerFacts *facts,
				JsonbValue *v, const char *key, TimestampTz now)
{
	JsonbContainer *arr = facts_array(v, key);
	int			i;

	for (i = 0; i < (int) JsonContainerSize(arr); i++)
		segext_facts_add_purchase(reqs, facts,
								  facts_timestamp(getIthJsonbValueFromContainer(arr, i), key),
								  now);
}

/* facts_segments sets the bits of the segments (numbers or ids) the customer is a member of. */
static void
facts_segments(const SegextRequirements *reqs, SegextCustomerFacts *facts,
			   JsonbValue *v, const char *key)
{
	JsonbContainer *arr = facts_array(v, key);

	for (int i = 0; i < (int) JsonContainerSize(arr); i++)
	{
		JsonbValue *sv = getIthJsonbValueFromContainer(arr, i);
		int			slot;

		if (sv->type == jbvNumeric)
		{
			int64		number = facts_int(sv, key);

			slot = number > PG_INT32_MAX ? -1 :
				segext_requirements_segment_number_slot(reqs, (int32) number);
		}
		else
		{
			SegextObjectId id;

			segext_objectid_parse(facts_string(sv, key), &id);
			slot = segext_requirements_segment_slot(reqs, &id);
		}
		if (slot >= 0)
			SEGEXT_FACTS_SET(facts, SEGEXT_SLOT_SEGMENT, slot);
	}
}

PG_FUNCTION_INFO_V1(criteria_match_facts);
/*
 * criteria_match_facts (preview/debug) fills SegextCustomerFacts from a
 * jsonb document and evaluates the criteria at the given today and now.
 */
Datum
criteria_match_facts(PG_FUNCTION_ARGS)
{
	SegextCriteria *criteria = PG_GETARG_SEGEXT_CRITERIA_P(0);
	JsonbContainer *doc = jsonb_object_arg(PG_GETARG_JSONB_P(1), "customer facts");
	SegextEvalTime time;
	SegextRequirements *reqs = segext_requirements_create();
	int			handle = segext_requirements_add(reqs, criteria);
	SegextCustomerFacts *facts = segext_facts_create(reqs);
	JsonbFields fields;
	JsonbIterator *it;
	JsonbValue	k;
	JsonbIteratorToken tok;

	time.today = PG_GETARG_DATEADT(2);
	time.now = PG_GETARG_TIMESTAMPTZ(3);
	fields.obj = NULL;
	facts->active = true;

	it = JsonbIteratorInit(doc);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		JsonbValue *v;
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		v = getKeyJsonValueFromContainer(doc, k.val.string.val, k.val.string.len, NULL);
		if (v->type == jbvNull)
			continue;
		if (strcmp(key, "active") == 0)
		{
			if (v->type != jbvBool)
				facts_error(key, "a boolean");
			facts->active = v->val.boolean;
		}
		else if (strcmp(key, "id") == 0)
		{
			segext_objectid_parse(facts_string(v, key), &facts->id);
		}
		else if (strcmp(key, "transaction_count") == 0)
			facts->transaction_count = facts_int(v, key);
		else if (strcmp(key, "amount") == 0)
		{
			if (v->type != jbvNumeric ||
				!segext_numeric_to_scaled(v->val.numeric, &facts->amount))
				facts_error(key, "a number with at most 6 decimal places from -9223372036854.775807 to 9223372036854.775807");
		}
		else if (strcmp(key, "last_purchase") == 0)
		{
			facts->has_last_purchase = true;
			facts->last_purchase = facts_timestamp(v, key);
		}
		else if (strcmp(key, "birth_date") == 0)
		{
			facts->has_birth_date = true;
			facts->birth_date = facts_date(v, key);
		}
		else if (strcmp(key, "registration_date") == 0)
		{
			facts->has_registration = true;
			facts->registration_date = facts_date(v, key);
		}
		else if (strcmp(key, "pos_counts") == 0)
			facts_pos_counts(reqs, facts, v, key);
		else if (strcmp(key, "skus") == 0)
			facts_strings(reqs, facts, v, key, SEGEXT_SLOT_SKU);
		else if (strcmp(key, "makers") == 0)
			facts_strings(reqs, facts, v, key, SEGEXT_SLOT_MAKER);
		else if (strcmp(key, "item_labels") == 0)
			facts_labels(reqs, facts, v, key, -1, SEGEXT_SLOT_ITEM_LABEL);
		else if (strcmp(key, "labels") == 0)
			facts_labels(reqs, facts, v, key, SEGEXT_SLOT_LABEL_KEY, SEGEXT_SLOT_LABEL);
		else if (strcmp(key, "purchases") == 0)
			facts_purchases(reqs, facts, v, key, time.now);
		else if (strcmp(key, "segments") == 0)
			facts_segments(reqs, facts, v, key);
		else if (strcmp(key, "fields") == 0)
		{
			if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
				facts_error(key, "an object");
			fields.obj = v->val.binary.data;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid customer facts: unrecognized key \"%s\"", key),
					 errhint("Known keys are active, id, transaction_count, amount, last_purchase, purchases, pos_counts, skus, makers, item_labels, labels, birth_date, registration_date, segments and fields.")));
	}
	PG_RETURN_BOOL(segext_criteria_match_customer(reqs, handle, facts, &time,
												  jsonb_field_lookup, &fields));
}
