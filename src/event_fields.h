/*-------------------------------------------------------------------------
 *
 * event_fields.h
 *	  The fields of an event, as field criteria read them: the columns of the
 *	  event's row (except the stamped ones) and the top-level keys of a jsonb
 *	  value, resolved by name once per event shape and converted to text once
 *	  per row (event_fields.c).  Used by the stamp_event trigger and classify
 *	  (events.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_EVENT_FIELDS_H
#define SEGEXT_EVENT_FIELDS_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "fmgr.h"
#include "utils/jsonb.h"

/* Slots of the pointer cache of field names (a power of two). */
#define FIELD_PTR_CACHE 256

/* Where a field name was found: a column, a jsonb key, or nowhere. */
typedef enum FieldSource
{
	FIELD_MISSING,
	FIELD_COLUMN,
	FIELD_KEY
} FieldSource;

/* A field name seen in criteria, resolved against the event's shape. */
typedef struct FieldName
{
	char	   *name;			/* copy of the name (not NUL-terminated use) */
	int			len;
	FieldSource source;
	AttrNumber	attnum;			/* FIELD_COLUMN */
	bool		direct;			/* text-like column read without conversion */
	bool		have_output;
	FmgrInfo	output;			/* output function of the column type */
	/* per-row memo */
	uint64		stamp;			/* row for which value/found are set */
	bool		found;
	const char *value;
	int			value_len;
} FieldName;

/*
 * The field names of one event shape (a trigger's relation, or the jsonb
 * events of classify), resolved lazily as criteria ask for them.
 */
typedef struct FieldTable
{
	MemoryContext context;
	TupleDesc	tupdesc;		/* NULL: fields come only from the jsonb */
	AttrNumber	skip1;			/* stamped columns, never fields */
	AttrNumber	skip2;
	bool		has_keys;		/* a jsonb value supplies further fields */
	int			nnames;
	int			maxnames;
	FieldName  *names;
	/* the row's columns, deformed once per row when a column is read */
	uint64		deformed_stamp;
	Datum	   *values;
	bool	   *isnull;
	/* direct-mapped cache: field name pointer -> index in names */
	uint64		ptr_generation;
	const char *ptr_key[FIELD_PTR_CACHE];
	int			ptr_index[FIELD_PTR_CACHE];
} FieldTable;

/* The event being evaluated, passed to the field lookup. */
typedef struct EventRow
{
	FieldTable *table;
	uint64		stamp;
	HeapTuple	tuple;			/* NULL for classify */
	Jsonb	   *keys;			/* NULL when no jsonb object */
} EventRow;

/* An empty field table for one event shape (tupdesc NULL: jsonb keys only). */
extern FieldTable *segext_field_table_create(MemoryContext parent, TupleDesc tupdesc,
											 AttrNumber skip1, AttrNumber skip2,
											 bool has_keys);

/*
 * The evaluator's field lookup (a SegextFieldLookup over an EventRow): the
 * text form of a field of the event, computed once per row and field.
 */
extern bool segext_event_field_lookup(void *arg, const char *field, int field_len,
									  const char **value, int *value_len);

#endif							/* SEGEXT_EVENT_FIELDS_H */
