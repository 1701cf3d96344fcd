/*-------------------------------------------------------------------------
 *
 * transactions.c
 *	  Triggers of segext.customers and segext.transactions: validation of
 *	  customer labels and transaction items (jsonb), the lower-cased derived
 *	  item arrays, and the rules of returns (a return refers to a sale of the
 *	  same customer and cannot return more than is left of it).
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "unique_detail.h"

#include "catalog/pg_collation_d.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/formatting.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"

#include "kept_plan.h"
#include "objectid.h"
#include "rules.h"
#include "trigger_check.h"

/* Set while transactions_returned updates a sale, so the sale may change. */
static bool updating_returned = false;

/* Cached plans of the returns rules. */
static SegextKeptPlan sale_lookup_plan;
static SegextKeptPlan sale_adjust_plan;
static SegextKeptPlan key_exists_plan;

/* The argument types of the queries on a transaction's key. */
static const Oid key_argtypes[3] = {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID, NUMERICOID};

static char *jsonb_string(JsonbValue *v);
static void check_labels(JsonbValue *labels, const char *owner, int itemno,
						 List **derived);
static void check_items(Jsonb *items, List **skus, List **makers, List **labels);
static Datum text_list_to_array(List *strings);
static int	cmp_cstring(const ListCell *a, const ListCell *b);
static int	numeric_compare(Numeric a, Numeric b);
static void adjust_returned(Datum company, Datum sale, Datum delta, bool adding);
static bool transaction_exists(Datum company, Datum id);

/* jsonb_string returns the C string of a jsonb string value, or NULL. */
static char *
jsonb_string(JsonbValue *v)
{
	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * check_labels validates a jsonb array of {"key": text, "value": text}
 * objects; when derived is not NULL it appends "key U+001F value", lower-cased,
 * for each label.  itemno > 0 names the item the labels belong to.
 */
static void
check_labels(JsonbValue *labels, const char *owner, int itemno, List **derived)
{
	JsonbContainer *arr;
	int			n;
	char		where[64];

	if (itemno > 0)
		snprintf(where, sizeof(where), "item %d", itemno);
	else
		snprintf(where, sizeof(where), "%s", owner);

	if (labels->type != jbvBinary || !JsonContainerIsArray(labels->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid labels of %s", where),
				 errdetail("The labels of %s are not a JSON array.", where),
				 errhint("Write labels as [{\"key\": \"color\", \"value\": \"red\"}].")));
	arr = labels->val.binary.data;
	n = JsonContainerSize(arr);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *label = getIthJsonbValueFromContainer(arr, i);
		JsonbIterator *it;
		JsonbIteratorToken tok;
		JsonbValue	v;
		char	   *key = NULL;
		char	   *value = NULL;

		if (label->type != jbvBinary || !JsonContainerIsObject(label->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid label %d of %s", i + 1, where),
					 errdetail("Label %d of %s is not a JSON object.", i + 1, where),
					 errhint("Write each label as {\"key\": \"color\", \"value\": \"red\"}.")));
		it = JsonbIteratorInit(label->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			char	   *name;
			JsonbValue	val;

			if (tok != WJB_KEY)
				continue;
			name = pnstrdup(v.val.string.val, v.val.string.len);
			tok = JsonbIteratorNext(&it, &val, true);
			if (strcmp(name, "key") == 0)
				key = jsonb_string(&val);
			else if (strcmp(name, "value") == 0)
				value = jsonb_string(&val);
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid label %d of %s", i + 1, where),
						 errdetail("Label %d of %s has an unrecognized key \"%s\".", i + 1, where, name),
						 errhint("A label has exactly the keys \"key\" and \"value\".")));
		}
		if (key == NULL || key[0] == '\0' || value == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid label %d of %s", i + 1, where),
					 errdetail("Label %d of %s needs a non-empty string \"key\" and a string \"value\".",
							   i + 1, where),
					 errhint("Write each label as {\"key\": \"color\", \"value\": \"red\"}.")));
		if (derived)
		{
			char	   *k = str_tolower(key, strlen(key), DEFAULT_COLLATION_OID);
			char	   *val = str_tolower(value, strlen(value), DEFAULT_COLLATION_OID);

			*derived = lappend(*derived, psprintf("%s\x1f%s", k, val));
		}
	}
}

/*
 * check_items validates a transaction's items array and collects the
 * lower-cased SKUs, makers and labels of its items.
 */
static void
check_items(Jsonb *items, List **skus, List **makers, List **labels)
{
	int			n;

	if (!JB_ROOT_IS_ARRAY(items) || JB_ROOT_IS_SCALAR(items))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid items of transaction"),
				 errdetail("The items of a transaction are not a JSON array."),
				 errhint("Write items as [{\"sku\": \"A-1\", \"maker\": \"Acme\", \"quantity\": 1, \"amount\": 9.99}].")));
	n = JB_ROOT_COUNT(items);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *item = getIthJsonbValueFromContainer(&items->root, i);
		JsonbIterator *it;
		JsonbIteratorToken tok;
		JsonbValue	v;
		bool		has_sku = false;

		if (item->type != jbvBinary || !JsonContainerIsObject(item->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid item %d of transaction", i + 1),
					 errdetail("Item %d is not a JSON object.", i + 1),
					 errhint("Write each item as {\"sku\": \"A-1\", \"maker\": \"Acme\", \"quantity\": 1, \"amount\": 9.99}.")));
		it = JsonbIteratorInit(item->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			char	   *name;
			JsonbValue	val;
			char	   *s;
			bool		ok = true;

			if (tok != WJB_KEY)
				continue;
			name = pnstrdup(v.val.string.val, v.val.string.len);
			tok = JsonbIteratorNext(&it, &val, true);
			if (strcmp(name, "sku") == 0 || strcmp(name, "maker") == 0)
			{
				s = jsonb_string(&val);
				if (s == NULL || s[0] == '\0')
				{
					if (val.type == jbvNull && name[0] == 'm')
						continue;
					ok = false;
				}
				else if (name[0] == 's')
				{
					has_sku = true;
					*skus = lappend(*skus, str_tolower(s, strlen(s), DEFAULT_COLLATION_OID));
				}
				else
					*makers = lappend(*makers, str_tolower(s, strlen(s), DEFAULT_COLLATION_OID));
			}
			else if (strcmp(name, "quantity") == 0 || strcmp(name, "amount") == 0)
				ok = (val.type == jbvNumeric);
			else if (strcmp(name, "labels") == 0)
				check_labels(&val, "transaction", i + 1, labels);
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid item %d of transaction", i + 1),
						 errdetail("Item %d has an unrecognized key \"%s\".", i + 1, name),
						 errhint("An item has the keys \"sku\", \"maker\", \"labels\", \"quantity\" and \"amount\".")));
			if (!ok)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid item %d of transaction", i + 1),
						 errdetail("Key \"%s\" of item %d has the wrong type.", name, i + 1),
						 errhint("\"sku\" and \"maker\" are non-empty strings, \"quantity\" and \"amount\" numbers.")));
		}
		if (!has_sku)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid item %d of transaction", i + 1),
					 errdetail("Item %d has no \"sku\".", i + 1),
					 errhint("Give every item its SKU as a non-empty string.")));
	}
}

/* cmp_cstring orders a list of C strings bytewise. */
static int
cmp_cstring(const ListCell *a, const ListCell *b)
{
	return strcmp((char *) lfirst(a), (char *) lfirst(b));
}

/* text_list_to_array sorts and de-duplicates C strings into a text[] datum. */
static Datum
text_list_to_array(List *strings)
{
	Datum	   *elems;
	int			n = 0;
	const char *prev = NULL;
	ListCell   *lc;

	list_sort(strings, cmp_cstring);
	elems = palloc(sizeof(Datum) * (list_length(strings) + 1));
	foreach(lc, strings)
	{
		char	   *s = lfirst(lc);

		if (prev && strcmp(prev, s) == 0)
			continue;
		elems[n++] = CStringGetTextDatum(s);
		prev = s;
	}
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* numeric_compare compares two numerics: -1, 0 or 1. */
static int
numeric_compare(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a), NumericGetDatum(b)));
}

/* The keys a unique violation of a customer is reported by. */
static const char *const customer_keys[] = {"external_id", "id"};

PG_FUNCTION_INFO_V1(segext_customers_check);
/*
 * segext_customers_check validates the labels of a customer and gives it segext's
 * created_at and updated_at; on update its company_id and id must not
 * change.
 */
Datum
segext_customers_check(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	tuple;
	int			col;
	bool		isnull;
	Datum		labels;

	(void) segext_check_trigger_call(fcinfo, "customers_check",
									 SEGEXT_TRIGGER_BEFORE | SEGEXT_TRIGGER_ROW);
	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		tuple = segext_keep_maintained(rel, trigdata->tg_trigtuple, trigdata->tg_newtuple, "customer");
	else
		tuple = segext_keep_maintained(rel, NULL, trigdata->tg_trigtuple, "customer");
	segext_check_company_of_new_row(rel, tuple);
	segext_remember_row_keys(rel, tuple, customer_keys, lengthof(customer_keys));

	col = SPI_fnumber(desc, "labels");
	labels = heap_getattr(tuple, col, desc, &isnull);
	if (!isnull)
	{
		JsonbValue	root;
		Jsonb	   *jb = DatumGetJsonbP(labels);

		root.type = jbvBinary;
		root.val.binary.data = &jb->root;
		root.val.binary.len = VARSIZE(jb) - VARHDRSZ;
		if (JB_ROOT_IS_SCALAR(jb))
			root.type = jbvNull;
		check_labels(&root, "customer", 0, NULL);
	}
	return PointerGetDatum(tuple);
}

/* The columns transactions_check sets in the row it lets through. */
typedef struct RowChanges
{
	int			n;
	int			cols[4];
	Datum		vals[4];
	bool		nulls[4];
} RowChanges;

/* change_column adds a column value to the changes of a row. */
static void
change_column(RowChanges *changes, TupleDesc desc, const char *column, Datum value, bool isnull)
{
	changes->cols[changes->n] = SPI_fnumber(desc, column);
	changes->vals[changes->n] = value;
	changes->nulls[changes->n] = isnull;
	changes->n++;
}

/*
 * check_amount_sign refuses (23514) a sale whose amount is not greater
 * than zero and a return whose amount is not less than zero.
 */
static void
check_amount_sign(Datum amount, bool is_return)
{
	Numeric		zero = int64_to_numeric(0);

	if (!is_return && numeric_compare(DatumGetNumeric(amount), zero) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("sale amount must be greater than zero"),
				 errdetail("A transaction without \"returns_id\" is a sale, and its amount is %s.",
						   numeric_normalize(DatumGetNumeric(amount))),
				 errhint("Record a return with a negative amount and \"returns_id\" set to the sale it returns.")));
	if (is_return && numeric_compare(DatumGetNumeric(amount), zero) >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("return amount must be less than zero"),
				 errdetail("A transaction with \"returns_id\" is a return, and its amount is %s.",
						   numeric_normalize(DatumGetNumeric(amount))),
				 errhint("Give a return the negative of the amount returned.")));
}

/*
 * derive_item_columns checks the items of a new row or of an update that
 * changes them and sets the lower-cased item arrays from them; an update
 * that leaves them keeps the stored arrays (old is NULL on insert).
 */
static void
derive_item_columns(TupleDesc desc, HeapTuple tuple, HeapTuple old, RowChanges *changes)
{
	bool		isnull;
	Datum		items = heap_getattr(tuple, SPI_fnumber(desc, "items"), desc, &isnull);
	bool		items_changed = true;

	if (old != NULL)
	{
		bool		oldnull;
		Datum		olditems = heap_getattr(old, SPI_fnumber(desc, "items"), desc, &oldnull);

		items_changed = (oldnull != isnull) ||
			(!isnull && !datumIsEqual(items, olditems, false, -1));
	}
	if (!isnull && items_changed)
	{
		List	   *skus = NIL;
		List	   *makers = NIL;
		List	   *labels = NIL;

		check_items(DatumGetJsonbP(items), &skus, &makers, &labels);
		change_column(changes, desc, "item_skus", text_list_to_array(skus), false);
		change_column(changes, desc, "item_makers", text_list_to_array(makers), false);
		change_column(changes, desc, "item_labels", text_list_to_array(labels), false);
	}
	else if (old != NULL)
	{
		const char *names[3] = {"item_skus", "item_makers", "item_labels"};

		for (int i = 0; i < 3; i++)
		{
			Datum		value = heap_getattr(old, SPI_fnumber(desc, names[i]), desc, &isnull);

			change_column(changes, desc, names[i], value, isnull);
		}
	}
}

/*
 * keep_returned_amount gives a new row a returned_amount of 0 and keeps
 * the stored one on update, unless transactions_returned is adjusting it.
 */
static void
keep_returned_amount(TupleDesc desc, HeapTuple old, RowChanges *changes)
{
	int			col = SPI_fnumber(desc, "returned_amount");
	bool		isnull;

	if (old == NULL)
	{
		/* zero with the column's scale, as a typed-in 0 would be stored */
		change_column(changes, desc, "returned_amount",
					  DirectFunctionCall2(numeric, NumericGetDatum(int64_to_numeric(0)),
										  Int32GetDatum(TupleDescAttr(desc, col - 1)->atttypmod)),
					  false);
	}
	else if (!updating_returned)
	{
		Datum		value = heap_getattr(old, col, desc, &isnull);

		change_column(changes, desc, "returned_amount", value, isnull);
	}
}

/*
 * check_returned_sale checks the sale a return refers to (locked, so that
 * concurrent returns of one sale queue up): it must exist, be a sale, of
 * the return's customer, with at least the returned amount left of it.
 */
static void
check_returned_sale(TupleDesc desc, HeapTuple tuple, HeapTuple old, Datum returns_id,
					Datum amount)
{
	bool		isnull;
	Datum		company = heap_getattr(tuple, SPI_fnumber(desc, "company_id"), desc, &isnull);
	Datum		customer = heap_getattr(tuple, SPI_fnumber(desc, "customer_id"), desc, &isnull);
	Datum		args[2];
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];
	int			ret;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = company;
	args[1] = returns_id;
	ret = SPI_execute_plan(segext_kept_plan(&sale_lookup_plan,
											"SELECT customer_id, returns_id IS NOT NULL, "
											"amount OPERATOR(pg_catalog.-) returned_amount "
											"FROM segext.transactions "
											"WHERE company_id OPERATOR(pg_catalog.=) $1 AND id OPERATOR(pg_catalog.=) $2 "
											"FOR NO KEY UPDATE", 2, key_argtypes, 0),
						   args, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	segext_objectid_to_hex(DatumGetSegextObjectIdP(returns_id), hex);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("return refers to sale \"%s\", which does not exist", hex),
				 errdetail("Transaction \"%s\" is not a transaction of this company.", hex),
				 errhint("Set \"returns_id\" to the id of the customer's sale being returned.")));
	else
	{
		HeapTuple	sale = SPI_tuptable->vals[0];
		TupleDesc	sdesc = SPI_tuptable->tupdesc;
		Datum		sale_customer = SPI_getbinval(sale, sdesc, 1, &isnull);
		bool		sale_is_return = DatumGetBool(SPI_getbinval(sale, sdesc, 2, &isnull));
		Numeric		remaining = DatumGetNumeric(SPI_getbinval(sale, sdesc, 3, &isnull));
		Numeric		returned = DatumGetNumeric(DirectFunctionCall1(numeric_uminus, amount));

		if (!segext_objectid_equal(DatumGetSegextObjectIdP(sale_customer), DatumGetSegextObjectIdP(customer)))
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("return refers to sale \"%s\" of another customer", hex),
					 errdetail("Sale \"%s\" belongs to a different customer than the return.", hex),
					 errhint("A return must refer to a sale of the same customer.")));
		if (sale_is_return)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("return refers to transaction \"%s\", which is a return", hex),
					 errdetail("Transaction \"%s\" is itself a return; only a sale can be returned.", hex),
					 errhint("Set \"returns_id\" to the original sale.")));

		/*
		 * An existing key means INSERT ... ON CONFLICT DO UPDATE, where this
		 * return's amount is already in the sale's returned amount and the
		 * update path adjusts it; a plain INSERT fails on the key.
		 */
		if (old == NULL && numeric_compare(returned, remaining) > 0 &&
			!transaction_exists(company,
								heap_getattr(tuple, SPI_fnumber(desc, "id"), desc, &isnull)))
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("return of %s exceeds what is left of sale \"%s\"",
							numeric_normalize(returned), hex),
					 errdetail("Only %s of sale \"%s\" has not been returned yet.",
							   numeric_normalize(remaining), hex),
					 errhint("Return at most the remaining amount of the sale.")));
	}
	SPI_finish();
}

/*
 * check_sale_keeps_returns refuses an update of a sale with returns that
 * moves it to another customer or lowers its amount below the amount
 * returned.
 */
static void
check_sale_keeps_returns(TupleDesc desc, HeapTuple tuple, HeapTuple old, Datum amount)
{
	bool		n1,
				n2;
	Numeric		returned = DatumGetNumeric(heap_getattr(old, SPI_fnumber(desc, "returned_amount"), desc, &n1));
	Datum		oldcust = heap_getattr(old, SPI_fnumber(desc, "customer_id"), desc, &n1);
	Datum		newcust = heap_getattr(tuple, SPI_fnumber(desc, "customer_id"), desc, &n2);

	if (updating_returned)
		returned = DatumGetNumeric(heap_getattr(tuple, SPI_fnumber(desc, "returned_amount"), desc, &n1));
	if (numeric_compare(returned, int64_to_numeric(0)) > 0 &&
		!segext_objectid_equal(DatumGetSegextObjectIdP(oldcust), DatumGetSegextObjectIdP(newcust)))
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("cannot move a sale with returns to another customer"),
				 errdetail("The sale has returns of %s, which belong to its customer.",
						   numeric_normalize(returned)),
				 errhint("Delete the returns first.")));
	if (numeric_compare(returned, DatumGetNumeric(amount)) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("sale amount %s is less than its returned amount %s",
						numeric_normalize(DatumGetNumeric(amount)), numeric_normalize(returned)),
				 errdetail("Returns of %s refer to this sale.", numeric_normalize(returned)),
				 errhint("Keep the sale amount at least the returned amount, or delete returns first.")));
}

PG_FUNCTION_INFO_V1(segext_transactions_check);
/*
 * segext_transactions_check validates a transaction before it is written: items,
 * the sign of amount (checked here alone, so that the error names the
 * amount and the fix), and for a return the sale it refers to.  It fills the
 * derived item arrays and keeps returned_amount, company_id and id out of
 * users' hands.
 */
Datum
segext_transactions_check(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	HeapTuple	old = NULL;
	bool		isnull;
	Datum		amount;
	Datum		returns_id;
	bool		is_return;
	RowChanges	changes;

	(void) segext_check_trigger_call(fcinfo, "transactions_check",
									 SEGEXT_TRIGGER_BEFORE | SEGEXT_TRIGGER_ROW);
	desc = RelationGetDescr(trigdata->tg_relation);
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		old = trigdata->tg_trigtuple;
		tuple = segext_keep_maintained(trigdata->tg_relation, old, trigdata->tg_newtuple,
									   "transaction");
	}
	else
		tuple = segext_keep_maintained(trigdata->tg_relation, NULL, trigdata->tg_trigtuple,
									   "transaction");
	segext_check_company_of_new_row(trigdata->tg_relation, tuple);

	amount = heap_getattr(tuple, SPI_fnumber(desc, "amount"), desc, &isnull);
	returns_id = heap_getattr(tuple, SPI_fnumber(desc, "returns_id"), desc, &is_return);
	is_return = !is_return;
	if (isnull)
		PG_RETURN_POINTER(tuple);	/* NOT NULL constraint reports it */

	check_amount_sign(amount, is_return);
	memset(&changes, 0, sizeof(changes));
	derive_item_columns(desc, tuple, old, &changes);
	keep_returned_amount(desc, old, &changes);
	if (is_return)
		check_returned_sale(desc, tuple, old, returns_id, amount);
	if (old != NULL && !is_return)
		check_sale_keeps_returns(desc, tuple, old, amount);

	if (changes.n > 0)
		tuple = heap_modify_tuple_by_cols(tuple, desc, changes.n, changes.cols, changes.vals,
										  changes.nulls);
	PG_RETURN_POINTER(tuple);
}

/*
 * transaction_exists says whether a transaction with this key exists (in the
 * caller's SPI connection).
 */
static bool
transaction_exists(Datum company, Datum id)
{
	Datum		args[2];
	int			ret;

	args[0] = company;
	args[1] = id;
	ret = SPI_execute_plan(segext_kept_plan(&key_exists_plan,
											"SELECT 1 FROM segext.transactions "
											"WHERE company_id OPERATOR(pg_catalog.=) $1 AND id OPERATOR(pg_catalog.=) $2",
											2, key_argtypes, 0),
						   args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	return SPI_processed > 0;
}

/*
 * adjust_returned adds (adding) or takes off a return's amount (delta, the
 * positive amount returned) to the returned amount of its sale, refusing to
 * return more than the sale amount.
 */
static void
adjust_returned(Datum company, Datum sale, Datum delta, bool adding)
{
	SPIPlanPtr	plan;
	Datum		args[3];
	int			ret;
	bool		isnull;

	plan = segext_kept_plan(&sale_adjust_plan,
							"UPDATE segext.transactions "
							"SET returned_amount = returned_amount OPERATOR(pg_catalog.+) $3 "
							"WHERE company_id OPERATOR(pg_catalog.=) $1 AND id OPERATOR(pg_catalog.=) $2 "
							"AND returns_id IS NULL "
							"RETURNING amount, returned_amount", 3, key_argtypes, 0);
	args[0] = company;
	args[1] = sale;
	args[2] = adding ? delta : DirectFunctionCall1(numeric_uminus, delta);
	updating_returned = true;
	PG_TRY();
	{
		/* no row limit: a limited run never ends the UPDATE, so its statement triggers would not fire */
		ret = SPI_execute_plan(plan, args, NULL, false, 0);
	}
	PG_FINALLY();
	{
		updating_returned = false;
	}
	PG_END_TRY();
	if (ret != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1)
	{
		Numeric		amount = DatumGetNumeric(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		Numeric		returned = DatumGetNumeric(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

		segext_objectid_to_hex(DatumGetSegextObjectIdP(sale), hex);
		if (numeric_compare(returned, amount) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("returns of sale \"%s\" exceed its amount", hex),
					 errdetail("Sale \"%s\" of %s would have %s returned.", hex,
							   numeric_normalize(amount), numeric_normalize(returned)),
					 errhint("Return at most the remaining amount of the sale.")));
	}
}

PG_FUNCTION_INFO_V1(segext_transactions_returned);
/*
 * segext_transactions_returned keeps returned_amount of sales current when a return
 * is inserted, changed or deleted.
 */
Datum
segext_transactions_returned(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	oldtup = NULL;
	HeapTuple	newtup = NULL;
	int			c_company,
				c_amount,
				c_returns;

	(void) segext_check_trigger_call(fcinfo, "transactions_returned",
									 SEGEXT_TRIGGER_AFTER | SEGEXT_TRIGGER_ROW);
	desc = RelationGetDescr(trigdata->tg_relation);
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		newtup = trigdata->tg_trigtuple;
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		oldtup = trigdata->tg_trigtuple;
	else
	{
		oldtup = trigdata->tg_trigtuple;
		newtup = trigdata->tg_newtuple;
	}
	c_company = SPI_fnumber(desc, "company_id");
	c_amount = SPI_fnumber(desc, "amount");
	c_returns = SPI_fnumber(desc, "returns_id");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the old row's return is taken back, the new row's return applied */
	for (int i = 0; i < 2; i++)
	{
		HeapTuple	tup = i == 0 ? oldtup : newtup;
		bool		isnull;
		Datum		sale;

		if (tup == NULL)
			continue;
		sale = heap_getattr(tup, c_returns, desc, &isnull);
		if (!isnull)
		{
			bool		n;
			Datum		amount = heap_getattr(tup, c_amount, desc, &n);

			adjust_returned(heap_getattr(tup, c_company, desc, &n), sale,
							DirectFunctionCall1(numeric_uminus, amount), i == 1);
		}
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}
