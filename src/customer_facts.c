/*-------------------------------------------------------------------------
 *
 * customer_facts.c
 *	  What the evaluator reads of a customer (SegextCustomerFacts), made from
 *	  its segext.customers row and its customer state row: the columns and
 *	  attributes a field criterion names, the customer's labels, and the
 *	  figures of its transactions.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "criteria.h"
#include "customer_state.h"
#include "evaluate.h"
#include "figures.h"
#include "objectid.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

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

		segext_figures_decode(state->figures, &f);
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
