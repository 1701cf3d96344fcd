/*-------------------------------------------------------------------------
 *
 * unique_detail.c
 *	  The DETAIL of a unique violation on segext's tables under row level
 *	  security.  PostgreSQL leaves out "Key (...)=(...) already exists." when
 *	  the table has row level security, so a writer who repeats a segment
 *	  or channel name, a customer's external_id or an id learns nothing about
 *	  which value conflicts.  segext's BEFORE ROW triggers remember the keys
 *	  of the row they let through (segext_remember_row_keys); an
 *	  emit_log_hook gives a unique violation of that row's table, raised by
 *	  the same statement, the DETAIL naming the row's own values (never
 *	  another company's: every key starts with company_id).
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/elog.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

/* Longest key value kept for the DETAIL (longer ones are cut). */
#define KEY_VALUE_MAX 256
/* Most key columns a table remembers besides company_id. */
#define KEY_COLUMNS_MAX 4

/* The keys of the last row a BEFORE trigger let through, and when. */
typedef struct RememberedRow
{
	bool		valid;
	LocalTransactionId lxid;
	CommandId	command;
	char		table[NAMEDATALEN];
	char		company[KEY_VALUE_MAX];
	int			ncolumns;
	const char *columns[KEY_COLUMNS_MAX];
	char		values[KEY_COLUMNS_MAX][KEY_VALUE_MAX];
	bool		present[KEY_COLUMNS_MAX];
} RememberedRow;

static RememberedRow remembered;
static emit_log_hook_type prev_emit_log_hook = NULL;

static void unique_detail_hook(ErrorData *edata);

/* segext_unique_detail_init installs the hook that completes the DETAIL. */
void
segext_unique_detail_init(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = unique_detail_hook;
}

/*
 * segext_remember_row_keys remembers company_id and the given key columns
 * (static strings) of a row about to be written to rel by this statement.
 */
void
segext_remember_row_keys(Relation rel, HeapTuple tuple, const char *const *columns, int ncolumns)
{
	TupleDesc	desc = RelationGetDescr(rel);
	char	   *value;

	Assert(ncolumns <= KEY_COLUMNS_MAX);
	remembered.valid = false;
	if (tuple == NULL)
		return;
	value = SPI_getvalue(tuple, desc, SPI_fnumber(desc, "company_id"));
	if (value == NULL)
		return;
	strlcpy(remembered.company, value, KEY_VALUE_MAX);
	pfree(value);
	for (int i = 0; i < ncolumns; i++)
	{
		int			attnum = SPI_fnumber(desc, columns[i]);

		remembered.columns[i] = columns[i];
		value = attnum > 0 ? SPI_getvalue(tuple, desc, attnum) : NULL;
		remembered.present[i] = value != NULL;
		if (value != NULL)
		{
			strlcpy(remembered.values[i], value, KEY_VALUE_MAX);
			pfree(value);
		}
	}
	remembered.ncolumns = ncolumns;
	/* on a Citus shard: its table's name, which errors name (citus.c) */
	{
		Oid			table = segext_citus_shard_table(RelationGetRelid(rel));
		char	   *name = OidIsValid(table) ? get_rel_name(table) : NULL;

		strlcpy(remembered.table, name != NULL ? name : RelationGetRelationName(rel), NAMEDATALEN);
	}
	remembered.lxid = MyProc->lxid;
	remembered.command = GetCurrentCommandId(false);
	remembered.valid = true;
}

/*
 * remembered_column returns the index of the remembered column that the
 * unique constraint covers with company_id (<table>_company_id_<column>_key,
 * or <table>_pkey for id), or -1.
 */
static int
remembered_column(const char *constraint)
{
	for (int i = 0; i < remembered.ncolumns; i++)
	{
		char		name[NAMEDATALEN * 2 + 32];

		if (!remembered.present[i])
			continue;
		if (strcmp(remembered.columns[i], "id") == 0)
			snprintf(name, sizeof(name), "%s_pkey", remembered.table);
		else
			snprintf(name, sizeof(name), "%s_company_id_%s_key", remembered.table, remembered.columns[i]);
		if (strcmp(name, constraint) == 0)
			return i;
	}
	return -1;
}

/*
 * unique_detail_hook gives a unique violation of segext's table that lacks
 * a DETAIL the key of the row this statement was writing, and a HINT.
 */
static void
unique_detail_hook(ErrorData *edata)
{
	if (edata->elevel == ERROR && edata->sqlerrcode == ERRCODE_UNIQUE_VIOLATION &&
		edata->detail == NULL && remembered.valid &&
		edata->schema_name != NULL && strcmp(edata->schema_name, "segext") == 0 &&
		edata->table_name != NULL && strcmp(edata->table_name, remembered.table) == 0 &&
		edata->constraint_name != NULL &&
		remembered.lxid == MyProc->lxid && remembered.command == GetCurrentCommandId(false))
	{
		int			i = remembered_column(edata->constraint_name);

		if (i >= 0)
		{
			edata->detail = psprintf("Key (company_id, %s)=(%s, %s) already exists.",
									 remembered.columns[i], remembered.company, remembered.values[i]);
			if (edata->hint == NULL)
				edata->hint = psprintf("Choose another %s, or update the row that has it.",
									   remembered.columns[i]);
		}
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}
