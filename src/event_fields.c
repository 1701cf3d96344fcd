/*-------------------------------------------------------------------------
 *
 * event_fields.c
 *	  The fields of an event (see event_fields.h): a field name is resolved
 *	  once per event shape to a column, a jsonb key or nothing (a small
 *	  pointer cache skips the name comparison for the same criteria), and its
 *	  text is made once per row when a criterion reads it.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "event_fields.h"
#include "segment_cache.h"

#include "access/htup_details.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

static FieldName *field_resolve(FieldTable *table, const char *field, int field_len);

/* segext_field_table_create makes an empty field table for one event shape. */
FieldTable *
segext_field_table_create(MemoryContext parent, TupleDesc tupdesc,
						  AttrNumber skip1, AttrNumber skip2, bool has_keys)
{
	MemoryContext context = AllocSetContextCreate(parent, "segext event fields",
												  ALLOCSET_SMALL_SIZES);
	FieldTable *table = MemoryContextAllocZero(context, sizeof(FieldTable));

	table->context = context;
	table->tupdesc = tupdesc;
	table->skip1 = skip1;
	table->skip2 = skip2;
	table->has_keys = has_keys;
	table->maxnames = 16;
	table->names = MemoryContextAllocZero(context, sizeof(FieldName) * table->maxnames);
	if (tupdesc != NULL)
	{
		table->values = MemoryContextAlloc(context, sizeof(Datum) * tupdesc->natts);
		table->isnull = MemoryContextAlloc(context, sizeof(bool) * tupdesc->natts);
	}
	return table;
}

/*
 * field_resolve returns the table's entry for a field name, adding it (and
 * deciding once whether it is a column, a jsonb key or missing) when new.
 */
static FieldName *
field_resolve(FieldTable *table, const char *field, int field_len)
{
	FieldName  *names = table->names;
	FieldName  *entry;
	int			slot = (int) ((((uintptr_t) field) >> 2) & (FIELD_PTR_CACHE - 1));
	int			i;

	/*
	 * The evaluator passes field names that point into the criteria values
	 * held by the segment cache, the same pointers row after row; those
	 * bytes cannot change before the cache generation does.  So a pointer
	 * seen in this generation needs no comparison; otherwise confirm the
	 * name itself.
	 */
	if (table->ptr_generation != segext_segment_cache_generation)
	{
		memset(table->ptr_key, 0, sizeof(table->ptr_key));
		table->ptr_generation = segext_segment_cache_generation;
	}
	else if (table->ptr_key[slot] == field)
	{
		entry = &names[table->ptr_index[slot]];
		if (entry->len == field_len)
			return entry;
	}

	for (i = 0; i < table->nnames; i++)
	{
		if (names[i].len == field_len &&
			memcmp(names[i].name, field, field_len) == 0)
		{
			table->ptr_key[slot] = field;
			table->ptr_index[slot] = i;
			return &names[i];
		}
	}

	if (table->nnames == table->maxnames)
	{
		table->maxnames *= 2;
		table->names = repalloc(table->names, sizeof(FieldName) * table->maxnames);
		memset(table->names + table->nnames, 0,
			   sizeof(FieldName) * (table->maxnames - table->nnames));
	}
	entry = &table->names[table->nnames++];
	entry->name = MemoryContextAlloc(table->context, field_len + 1);
	memcpy(entry->name, field, field_len);
	entry->name[field_len] = '\0';
	entry->len = field_len;
	entry->source = table->has_keys ? FIELD_KEY : FIELD_MISSING;
	table->ptr_key[slot] = field;
	table->ptr_index[slot] = table->nnames - 1;

	if (table->tupdesc != NULL)
	{
		int			attnum = SPI_fnumber(table->tupdesc, entry->name);

		if (attnum > 0 && attnum != table->skip1 && attnum != table->skip2)
		{
			Form_pg_attribute att = TupleDescAttr(table->tupdesc, attnum - 1);

			entry->source = FIELD_COLUMN;
			entry->attnum = attnum;
			entry->direct = (att->atttypid == TEXTOID || att->atttypid == VARCHAROID);
			if (!entry->direct)
			{
				Oid			output;
				bool		isvarlena;

				getTypeOutputInfo(att->atttypid, &output, &isvarlena);
				fmgr_info_cxt(output, &entry->output, table->context);
				entry->have_output = true;
			}
		}
	}
	return entry;
}

/*
 * segext_event_field_lookup is the evaluator's field lookup: the text form of a
 * field of the event, computed once per row and field.
 */
bool
segext_event_field_lookup(void *arg, const char *field, int field_len,
						  const char **value, int *value_len)
{
	EventRow   *row = (EventRow *) arg;
	FieldName  *entry = field_resolve(row->table, field, field_len);

	if (entry->stamp != row->stamp)
	{
		entry->stamp = row->stamp;
		entry->found = false;

		if (entry->source == FIELD_COLUMN)
		{
			FieldTable *table = row->table;
			Datum		d;

			/* Deform the row once, the first time a column is read. */
			if (table->deformed_stamp != row->stamp)
			{
				heap_deform_tuple(row->tuple, table->tupdesc, table->values,
								  table->isnull);
				table->deformed_stamp = row->stamp;
			}
			d = table->values[entry->attnum - 1];
			if (!table->isnull[entry->attnum - 1])
			{
				if (entry->direct)
				{
					text	   *t = (text *) pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d));

					entry->value = VARDATA_ANY(t);
					entry->value_len = VARSIZE_ANY_EXHDR(t);
				}
				else
				{
					entry->value = OutputFunctionCall(&entry->output, d);
					entry->value_len = strlen(entry->value);
				}
				entry->found = true;
			}
		}
		else if (entry->source == FIELD_KEY && row->keys != NULL)
		{
			JsonbValue	vbuf;
			JsonbValue *v;

			v = getKeyJsonValueFromContainer(&row->keys->root, entry->name,
											 entry->len, &vbuf);
			if (v != NULL)
			{
				entry->found = true;
				switch (v->type)
				{
					case jbvNull:
						entry->found = false;
						break;
					case jbvString:
						entry->value = v->val.string.val;
						entry->value_len = v->val.string.len;
						break;
					case jbvNumeric:
						entry->value = DatumGetCString(DirectFunctionCall1(numeric_out,
																		   NumericGetDatum(v->val.numeric)));
						entry->value_len = strlen(entry->value);
						break;
					case jbvBool:
						entry->value = v->val.boolean ? "true" : "false";
						entry->value_len = strlen(entry->value);
						break;
					default:
						entry->value = JsonbToCString(NULL, v->val.binary.data,
													  v->val.binary.len);
						entry->value_len = strlen(entry->value);
						break;
				}
			}
		}
	}

	if (!entry->found)
		return false;
	*value = entry->value;
	*value_len = entry->value_len;
	return true;
}
