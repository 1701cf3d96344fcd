/*-------------------------------------------------------------------------
 *
 * citus_errors.c
 *	  Errors of segext's shards as one node raises them (citus.c's log hook
 *	  calls these): the names of segext's tables and constraints in place of
 *	  those of their shards ("customers_pkey", not "customers_pkey_102008"),
 *	  and the fields that Citus drops when it relays a worker's error
 *	  (the SQLSTATE and HINT through its COPY path, the object names
 *	  always), which the worker puts at the end of the error's DETAIL and the
 *	  node that started the statement takes off and puts back.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "citus.h"
#include "citus_errors.h"

#include <ctype.h>

#include "lib/stringinfo.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"

/*
 * What an error raised for a Citus connection from another node carries at
 * the end of its DETAIL: the fields Citus does not pass on.
 */
#define RELAY_SEPARATOR '\x1f'
#define RELAY_MARK "\n\x1fsegext relayed"

/*
 * shard_id_of returns the shard id that a name of a shard's object ends
 * with ("<name>_<shard id>") when it is a known shard of segext's tables
 * whose table name starts the name, or 0; sets *base_len to the length of
 * the name without the suffix.
 */
static int64
shard_id_of(const char *name, size_t len, size_t *base_len)
{
	size_t		digits = 0;
	int64		shardid = 0;
	const char *table;

	while (digits < len && isdigit((unsigned char) name[len - 1 - digits]))
		digits++;
	if (digits == 0 || digits > 18 || digits + 1 >= len || name[len - 1 - digits] != '_')
		return 0;
	for (size_t i = len - digits; i < len; i++)
		shardid = shardid * 10 + (name[i] - '0');
	table = segext_citus_shard_id_table(shardid);
	if (table == NULL || strncmp(name, table, strlen(table)) != 0)
		return 0;
	*base_len = len - digits - 1;
	return shardid;
}

/* unshard_name returns a name of a shard's object without its shard id, or the name. */
static char *
unshard_name(char *name)
{
	size_t		base_len;

	if (name == NULL || shard_id_of(name, strlen(name), &base_len) == 0)
		return name;
	return pnstrdup(name, base_len);
}

/*
 * unshard_text returns a message with every quoted name of a shard's object
 * ("customers_102008", "customers_pkey_102008") replaced by the name of
 * the table's object, or the text itself.
 */
static char *
unshard_text(char *text)
{
	StringInfoData out;
	const char *p;
	bool		changed = false;

	if (text == NULL || strchr(text, '"') == NULL)
		return text;
	initStringInfo(&out);
	p = text;
	while (*p != '\0')
	{
		const char *close;
		size_t		base_len;

		if (*p != '"' || (close = strchr(p + 1, '"')) == NULL)
		{
			appendStringInfoChar(&out, *p++);
			continue;
		}
		if (shard_id_of(p + 1, close - p - 1, &base_len) != 0)
		{
			appendStringInfoChar(&out, '"');
			appendBinaryStringInfo(&out, p + 1, base_len);
			changed = true;
		}
		else
			appendBinaryStringInfo(&out, p, close - p);
		p = close;
		appendStringInfoChar(&out, *p++);
	}
	return changed ? out.data : text;
}

/*
 * segext_citus_unshard_error gives an error of schema segext the names of
 * segext's tables and constraints where it names their shards.
 */
void
segext_citus_unshard_error(ErrorData *edata)
{
	edata->message = unshard_text(edata->message);
	edata->detail = unshard_text(edata->detail);
	edata->hint = unshard_text(edata->hint);
	edata->constraint_name = unshard_name(edata->constraint_name);
	edata->table_name = unshard_name(edata->table_name);
}

/* segext_citus_internal_session tells whether Citus opened this session from another node. */
bool
segext_citus_internal_session(void)
{
	return application_name != NULL &&
		strncmp(application_name, "citus_internal", strlen("citus_internal")) == 0;
}

/*
 * relay_field appends one field of an error to the trailer, as the unit
 * separator and the value (its own separators and line breaks replaced).
 */
static void
relay_field(StringInfo trailer, const char *value)
{
	appendStringInfoChar(trailer, RELAY_SEPARATOR);
	for (const char *p = value != NULL ? value : ""; *p != '\0'; p++)
		appendStringInfoChar(trailer, *p == RELAY_SEPARATOR ? ' ' : *p);
}

/*
 * segext_citus_relay_error adds to the DETAIL of an error that a Citus connection from
 * another node receives a trailer with the fields that Citus does not pass
 * on to the client (the SQLSTATE and HINT through its COPY path; the names
 * of the constraint, table, schema, column and type always): the node that
 * started the statement puts them back (segext_citus_restore_relayed_error).
 */
void
segext_citus_relay_error(ErrorData *edata)
{
	StringInfoData trailer;
	char		code[6];

	initStringInfo(&trailer);
	if (edata->detail != NULL)
		appendStringInfoString(&trailer, edata->detail);
	appendStringInfoString(&trailer, RELAY_MARK);
	memcpy(code, unpack_sql_state(edata->sqlerrcode), sizeof(code));
	relay_field(&trailer, code);
	relay_field(&trailer, edata->hint);
	relay_field(&trailer, edata->constraint_name);
	relay_field(&trailer, edata->table_name);
	relay_field(&trailer, edata->schema_name);
	relay_field(&trailer, edata->column_name);
	relay_field(&trailer, edata->datatype_name);
	edata->detail = trailer.data;
}

/* relayed_field returns the next field of a trailer and advances *p past it. */
static char *
relayed_field(const char **p)
{
	const char *start;
	const char *end;

	if (**p != RELAY_SEPARATOR)
		return NULL;
	start = *p + 1;
	end = strchr(start, RELAY_SEPARATOR);
	if (end == NULL)
		end = start + strlen(start);
	*p = end;
	return end > start ? pnstrdup(start, end - start) : NULL;
}

/*
 * segext_citus_restore_relayed_error takes the trailer of relay_error off the DETAIL of
 * an error a worker raised and gives the error its SQLSTATE (where Citus
 * made it XX000), its HINT and its object names back.
 */
void
segext_citus_restore_relayed_error(ErrorData *edata)
{
	char	   *mark;
	const char *p;
	char	   *code;
	char	   *hint;

	if (edata->detail == NULL || (mark = strstr(edata->detail, RELAY_MARK)) == NULL)
		return;
	p = mark + strlen(RELAY_MARK);
	code = relayed_field(&p);
	hint = relayed_field(&p);
	if (code != NULL && strlen(code) == 5 && edata->sqlerrcode == ERRCODE_INTERNAL_ERROR)
		edata->sqlerrcode = MAKE_SQLSTATE(code[0], code[1], code[2], code[3], code[4]);
	if (edata->hint == NULL)
		edata->hint = hint;
	edata->constraint_name = relayed_field(&p);
	edata->table_name = relayed_field(&p);
	edata->schema_name = relayed_field(&p);
	edata->column_name = relayed_field(&p);
	edata->datatype_name = relayed_field(&p);
	*mark = '\0';
	if (edata->detail[0] == '\0')
		edata->detail = NULL;
}

/*
 * segext_citus_rethrow_relayed_error raises the error being handled again with the
 * fields a worker relayed put back (segext_citus_restore_relayed_error); returns when it
 * carries none.
 */
void
segext_citus_rethrow_relayed_error(MemoryContext context)
{
	MemoryContext old = MemoryContextSwitchTo(context);
	ErrorData  *edata = CopyErrorData();

	if (edata->detail == NULL || strstr(edata->detail, RELAY_MARK) == NULL)
	{
		FreeErrorData(edata);
		MemoryContextSwitchTo(old);
		return;
	}
	FlushErrorState();
	segext_citus_restore_relayed_error(edata);
	ReThrowError(edata);
}
