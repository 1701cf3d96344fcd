/*-------------------------------------------------------------------------
 *
 * citus.c
 *	  What segext's C code does differently when its tables are distributed
 *	  by Citus (segext.distribute(), src/sql/90_citus.sql).
 *
 *	  Planning.  Citus plans a statement on distributed tables with the
 *	  values of its parameters: a generic plan of a join of distributed
 *	  tables with parameters fails ("could not create distributed plan").
 *	  So in a database where Citus is installed, the statements segext keeps
 *	  (kept_plan.c) are planned with their parameters' values each time.
 *
 *	  Triggers on shards.  Citus runs segext's triggers on the shards, on
 *	  the workers.  Their statements name segext's tables (segext.customers,
 *	  segext.memberships, ...), which on a worker are distributed tables
 *	  again: Citus would plan them as distributed statements nested in a
 *	  statement on a shard, which it refuses for most shapes (joins with a
 *	  transition table or a set-returning function, FOR UPDATE, more than
 *	  one company).  Every company's rows live in one shard group (the
 *	  tables are colocated), so while a statement on a shard of segext's
 *	  tables runs, the statements planned inside it (its triggers and what
 *	  they call) read and write the shards of that same shard group, on
 *	  this node, as plain tables: the planner hook below replaces each of
 *	  segext's distributed tables by its shard in the group before Citus
 *	  plans the statement.  Plans made so are valid for that group only:
 *	  the plan cache is reset when the group changes.
 *
 *	  Functions of one company.  segext's functions that change a company's
 *	  members or states (refresh_company, activate_segment, ...) read and
 *	  write many rows of the company with statements Citus cannot run
 *	  through the coordinator, and read some tables directly.  Called on a
 *	  node that is not running a statement on the company's shard group,
 *	  such a function calls itself again in a query of the company's row
 *	  of segext.companies, which Citus routes to the node of the group as a
 *	  statement on its shard: there it runs against the group's shards.
 *
 *	  Routing of the current company.  The views of segext_api and the row
 *	  level security policies compare company_id with
 *	  segext.current_company_id(), which Citus cannot use to pick a shard:
 *	  on the coordinator, the planner hook puts the current company into
 *	  the statement as a constant, so that a statement for one company runs
 *	  on one shard group (the workers still apply the policies of the
 *	  shards, with the company the coordinator hands them: company_token.c,
 *	  for statements that segext_citus_initiating says this node starts).
 *	  Such plans are transient (planned again in the next transaction) and
 *	  dropped when segext.company_id changes.
 *
 *	  Writes through the views.  Citus drops the CHECK OPTION of segext_api's
 *	  views: an INSERT through one wraps the company of its rows in
 *	  segext.view_checked_company(), which Citus evaluates on the
 *	  coordinator, and a row without a company gets the errors of one node
 *	  before Citus refuses its NULL distribution column.
 *
 *	  Grants of deleted companies.  segext.company_roles is a reference
 *	  table, without the foreign key to companies whose cascade deletes the
 *	  grants of a deleted company on one node: after a DELETE of companies
 *	  that it starts, the coordinator deletes the grants of the companies the
 *	  statement's role saw before it and no longer sees.
 *
 *	  Invalidations.  A trigger on a shard invalidates the shard's relcache
 *	  entry, not the distributed table's: segext_citus_shard_table maps a
 *	  shard to its table so that the caches keyed by segext's tables (the
 *	  compiled segments, the company grants) see the change (segext.c).
 *
 *	  Errors.  The log hook gives the errors of shards the names of segext's
 *	  objects and relays what Citus drops of a worker's error
 *	  (citus_errors.c).
 *
 *	  Nothing here runs unless Citus is loaded in the server.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "citus.h"
#include "citus_errors.h"
#include "module_init.h"
#include "tenancy.h"

#include <ctype.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "objectid.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "optimizer/planner.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "access/table.h"
#include "utils/rls.h"

/* A local shard of one of segext's hash-distributed tables. */
typedef struct ShardEntry
{
	Oid			shard;			/* key: the shard relation */
	Oid			table;			/* its distributed table */
	bool		reference;		/* a placement of a reference table */
	int32		group;			/* the shard group: the shard's smallest hash value */
} ShardEntry;

/* A shard of one of segext's tables on this node, by its shard id. */
typedef struct ShardName
{
	int64		shardid;		/* key */
	char		table[NAMEDATALEN]; /* the name of its table */
} ShardName;

/* One of segext's reference tables and its local placement. */
typedef struct ReferenceTable
{
	Oid			table;			/* key */
	Oid			placement;		/* its local placement */
} ReferenceTable;

/* The local shard of a table in a shard group. */
typedef struct GroupKey
{
	Oid			table;
	int32		group;
} GroupKey;

typedef struct GroupEntry
{
	GroupKey	key;
	Oid			shard;
} GroupEntry;

/* A statement on a shard being executed, and the group it set. */
typedef struct ShardStatement
{
	QueryDesc  *query;
	SubTransactionId subxact;	/* the subtransaction it started in */
	bool		had_group;
	int32		previous_group;
} ShardStatement;

#define MAX_SHARD_STATEMENT_DEPTH 64

static int	citus_loaded = -1;	/* -1 unknown, 0 no, 1 yes */
static HTAB *shards_by_oid = NULL;
static HTAB *shards_by_group = NULL;
static HTAB *reference_tables = NULL;
static HTAB *distributed_tables = NULL;
static HTAB *shards_by_id = NULL;
static Oid	written_company_fn = InvalidOid;
static Oid	view_checked_company_fn = InvalidOid;
static Oid	objectid_eq_op = InvalidOid;
static bool map_stale = false;
static bool segext_distributed = false;	/* segext.companies is distributed */
static Oid	current_company_fn = InvalidOid;
static bool company_plans = false;	/* plans hold the current company */
static bool map_building = false;
static Oid	last_unknown_relid = InvalidOid;

static bool have_group = false;
static bool touched_shards = false;	/* this transaction ran a statement on a shard group */
static int32 current_group = 0;
static bool plans_rewritten = false;	/* a plan was made for current_group */
static bool plans_group_valid = false;
static int32 plans_group = 0;

static ShardStatement shard_statements[MAX_SHARD_STATEMENT_DEPTH];
static int	shard_statement_depth = 0;

/* The most companies a statement's outbox read names one by one. */
#define MAX_WRITTEN_COMPANIES 8

/*
 * A write of segext's tables this node started, whose notifications it
 * sends at its end: from the shard groups of the companies it wrote when
 * segext.written_company() named them all while it ran, else from all.
 */
typedef struct NotifyingStatement
{
	QueryDesc  *query;
	SubTransactionId subxact;	/* the subtransaction it started in */
	int			ncompanies;		/* companies named by segext.written_company() */
	bool		unknown;		/* more than MAX_WRITTEN_COMPANIES, or a nested write went untracked */
	SegextObjectId companies[MAX_WRITTEN_COMPANIES];
} NotifyingStatement;

/* A hash-distributed table of segext and its distribution column. */
typedef struct DistributedTable
{
	Oid			table;			/* key */
	AttrNumber	column;
} DistributedTable;

static NotifyingStatement notifying_statements[MAX_SHARD_STATEMENT_DEPTH];
static int	notifying_statement_depth = 0;

/*
 * A DELETE of segext.companies this node started, and the companies with
 * grants that its role saw before it ran: those it no longer sees at its
 * end were deleted, and their grants go with them (company_roles is a
 * reference table, which Citus does not let reference companies).
 */
typedef struct DeletingStatement
{
	QueryDesc  *query;
	SubTransactionId subxact;	/* the subtransaction it started in */
	ArrayType  *granted;		/* objectid[], in TopTransactionContext */
} DeletingStatement;

static DeletingStatement deleting_statements[MAX_SHARD_STATEMENT_DEPTH];
static int	deleting_statement_depth = 0;
static bool deleting_grants = false;	/* the grants of deleted companies are being deleted */

static planner_hook_type prev_planner_hook = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;
static ExecutorEnd_hook_type prev_executor_end = NULL;
static ExecutorRun_hook_type prev_executor_run = NULL;
static emit_log_hook_type prev_emit_log_hook = NULL;

static bool citus_is_loaded(void);
static void citus_error_hook(ErrorData *edata);
static void shard_map_build(void);
static bool shard_map_lookup(Oid relid, ShardEntry **entry);
static void group_enter(bool has, int32 group);
static void citus_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
								  ProcessUtilityContext context, ParamListInfo params,
								  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc);
static bool rewrite_walker(Node *node, void *context);
static void rewrite_write_of_shard(Query *parse);
static bool calls_function(Node *node, Oid fn);
static Oid	let_citus_write_through_view(Query *parse);
static void check_null_company(Query *parse);
static bool return_rows_of_insert_select(Query *parse);
static void check_view_company(Query *parse, Oid view);
static void mark_written_company(Query *parse);
static Const *current_company_const(void);
static Node *company_mutator(Node *node, void *context);
static PlannedStmt *citus_planner(Query *parse, const char *query_string,
								  int cursor_options, ParamListInfo bound_params);
static void citus_executor_start(QueryDesc *query, int eflags);
static void citus_executor_end(QueryDesc *query);
static void citus_executor_run(QueryDesc *query, ScanDirection direction, uint64 count,
							   bool execute_once);
static void invalidate_segments_written(QueryDesc *query);
static bool writes_segext_table(QueryDesc *query);
static bool deletes_companies(QueryDesc *query);
static ArrayType *granted_companies_seen(ArrayType *companies);
static void delete_grants_of_deleted(ArrayType *granted);
static void citus_xact_callback(XactEvent event, void *arg);
static void citus_subxact_callback(SubXactEvent event, SubTransactionId subxact,
								   SubTransactionId parent, void *arg);

/* segext_citus_installed tells whether extension citus exists in this database. */
bool
segext_citus_installed(void)
{
	return citus_is_loaded() && OidIsValid(get_extension_oid("citus", true));
}

/*
 * segext_plan_cursor_options returns the cursor options to prepare a kept
 * statement with: a custom plan instead of a generic one where Citus is
 * installed.
 */
int
segext_plan_cursor_options(int cursor_options)
{
	if ((cursor_options & CURSOR_OPT_GENERIC_PLAN) != 0 && segext_citus_installed())
		cursor_options = (cursor_options & ~CURSOR_OPT_GENERIC_PLAN) | CURSOR_OPT_CUSTOM_PLAN;
	return cursor_options;
}

/* segext_citus_init installs the planner, executor and utility hooks, once per backend. */
void
segext_citus_init(void)
{
	prev_planner_hook = planner_hook;
	planner_hook = citus_planner;
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = citus_executor_start;
	prev_executor_end = ExecutorEnd_hook;
	ExecutorEnd_hook = citus_executor_end;
	prev_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = citus_executor_run;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = citus_process_utility;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = citus_error_hook;
	RegisterXactCallback(citus_xact_callback, NULL);
	RegisterSubXactCallback(citus_subxact_callback, NULL);
}

/*
 * segext_citus_shard_table returns the distributed table of a local shard
 * of one of segext's tables, or InvalidOid (no catalog access: it is called
 * from relcache callbacks).
 */
Oid
segext_citus_shard_table(Oid relid)
{
	ShardEntry *entry;

	if (shards_by_oid == NULL)
		return InvalidOid;
	entry = hash_search(shards_by_oid, &relid, HASH_FIND, NULL);
	if (entry != NULL)
		return entry->table;
	/* any other relation may have been distributed or made since */
	map_stale = true;
	return InvalidOid;
}

/*
 * segext_citus_trigger_group makes the shard group of a trigger's relation
 * current when it is a local shard of segext's tables: a deferred trigger
 * fires at commit, outside the statement on the shard that queued it.
 */
void
segext_citus_trigger_group(Relation rel)
{
	ShardEntry *entry;

	if (!citus_is_loaded() || map_building || !shard_map_lookup(RelationGetRelid(rel), &entry))
		return;
	if (!have_group || current_group != entry->group)
		group_enter(true, entry->group);
}

/*
 * segext_citus_local_relation returns the local placement of one of segext's
 * reference tables, the local shard of one of its distributed tables in the
 * current shard group, or the table itself.
 */
Oid
segext_citus_local_relation(Oid relid)
{
	GroupKey	key;
	GroupEntry *entry;
	ReferenceTable *reference;

	if (!citus_is_loaded() || map_building || !IsTransactionState())
		return relid;
	if (shards_by_oid == NULL || map_stale)
		shard_map_build();
	reference = hash_search(reference_tables, &relid, HASH_FIND, NULL);
	if (reference != NULL && OidIsValid(reference->placement))
		return reference->placement;
	if (!have_group)
		return relid;
	memset(&key, 0, sizeof(key));
	key.table = relid;
	key.group = current_group;
	entry = hash_search(shards_by_group, &key, HASH_FIND, NULL);
	return entry != NULL ? entry->shard : relid;
}

/*
 * segext_citus_local_index returns the index of a local shard that
 * corresponds to an index of its table (Citus names it after the index and
 * the shard id), or the index itself when the table is not a shard.
 */
Oid
segext_citus_local_index(Oid index, Oid table, Oid local_table)
{
	const char *table_name;
	const char *shard_name;
	const char *index_name;
	char		name[NAMEDATALEN * 2];
	Oid			shard_index;

	if (local_table == table)
		return index;
	table_name = get_rel_name(table);
	shard_name = get_rel_name(local_table);
	index_name = get_rel_name(index);
	if (table_name == NULL || shard_name == NULL || index_name == NULL ||
		strlen(shard_name) <= strlen(table_name))
		elog(ERROR, "relation %u is not a shard of relation %u", local_table, table);
	snprintf(name, sizeof(name), "%s%s", index_name, shard_name + strlen(table_name));
	shard_index = get_relname_relid(name, get_rel_namespace(local_table));
	if (!OidIsValid(shard_index))
		elog(ERROR, "shard %s has no index %s", shard_name, name);
	return shard_index;
}

/*
 * segext_citus_route runs the function being called again on the node that
 * holds the company's shard group when segext's tables are distributed and
 * this node is not running a statement on that group (see the top of this
 * file): a query of the company's row of segext.companies, which Citus routes
 * there, calls it with the same arguments.  Returns true with its result,
 * or false when the call is to run here (no Citus, already on the group, or
 * the company's row is not visible to the caller: the function then raises
 * its own error).
 */
bool
segext_citus_route(FunctionCallInfo fcinfo, const SegextObjectId *company, Datum *result)
{
	Oid			fn = fcinfo->flinfo->fn_oid;
	Oid		   *argtypes;
	int			nargs;
	Oid			types[FUNC_MAX_ARGS];
	Datum		values[FUNC_MAX_ARGS];
	char		nulls[FUNC_MAX_ARGS];
	StringInfoData sql;
	bool		routed = false;
	int			ret;

	if (!citus_is_loaded() || have_group || map_building)
		return false;
	/* Citus preloaded, its extension not in this database: no pg_dist_partition */
	if (!OidIsValid(get_extension_oid("citus", true)))
		return false;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute("SELECT FROM pg_catalog.pg_extension AS e "
					  "WHERE e.extname OPERATOR(pg_catalog.=) 'citus' "
					  "AND EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS d "
					  "WHERE d.logicalrelid OPERATOR(pg_catalog.=) 'segext.companies'::pg_catalog.regclass)",
					  true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
	{
		SPI_finish();
		return false;
	}
	get_func_signature(fn, &argtypes, &nargs);
	if (nargs + 1 > FUNC_MAX_ARGS)
		elog(ERROR, "too many arguments to route");
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s.%s(",
					 quote_identifier(get_namespace_name(get_func_namespace(fn))),
					 quote_identifier(get_func_name(fn)));
	for (int i = 0; i < nargs; i++)
	{
		appendStringInfo(&sql, "%s$%d", i > 0 ? ", " : "", i + 1);
		types[i] = argtypes[i];
		values[i] = fcinfo->args[i].value;
		nulls[i] = fcinfo->args[i].isnull ? 'n' : ' ';
	}
	appendStringInfo(&sql, ") FROM segext.companies AS c WHERE c.id OPERATOR(pg_catalog.=) $%d", nargs + 1);
	types[nargs] = segext_objectid_type();
	values[nargs] = PointerGetDatum(company);
	nulls[nargs] = ' ';
	ret = SPI_execute_with_args(sql.data, nargs + 1, types, values, nulls, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1)
	{
		bool		isnull;
		Oid			rettype = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
		int16		typlen;
		bool		typbyval;

		*result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (isnull)
			elog(ERROR, "routed call of %s returned null", get_func_name(fn));
		get_typlenbyval(rettype, &typlen, &typbyval);
		*result = SPI_datumTransfer(*result, typbyval, typlen);
		routed = true;
	}
	SPI_finish();
	if (routed)
		segext_membership_notices_send(company, 1);
	return routed;
}

/*
 * citus_error_hook gives an error the names of segext's tables and
 * constraints where it names their shards, passes to a Citus connection
 * from another node what Citus would drop of it, and puts that back on the
 * node that receives it.
 */
static void
citus_error_hook(ErrorData *edata)
{
	if (edata->elevel >= ERROR && citus_loaded == 1)
	{
		if (shards_by_id != NULL && edata->schema_name != NULL && strcmp(edata->schema_name, "segext") == 0)
			segext_citus_unshard_error(edata);
		segext_citus_restore_relayed_error(edata);
		if (edata->output_to_client && touched_shards && segext_citus_internal_session())
			segext_citus_relay_error(edata);
	}
	if (prev_emit_log_hook != NULL)
		prev_emit_log_hook(edata);
}

/*
 * segext_citus_shard_id_table returns the name of the table of a shard of
 * segext's tables on this node by its shard id, or NULL.
 */
const char *
segext_citus_shard_id_table(int64 shardid)
{
	ShardName  *entry;

	if (shards_by_id == NULL)
		return NULL;
	entry = hash_search(shards_by_id, &shardid, HASH_FIND, NULL);
	return entry != NULL ? entry->table : NULL;
}

/* citus_is_loaded tells whether the Citus library is loaded in this server. */
static bool
citus_is_loaded(void)
{
	if (citus_loaded < 0)
		citus_loaded = GetConfigOption("citus.node_conninfo", true, false) != NULL ? 1 : 0;
	return citus_loaded == 1;
}

/* shard_map_create makes one of the maps of shard_map_build, in TopMemoryContext. */
static HTAB *
shard_map_create(const char *name, long size, Size keysize, Size entrysize)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = TopMemoryContext;
	return hash_create(name, size, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * shard_map_build reads the local shards of segext's hash-distributed tables
 * from Citus's metadata into the two maps (empty where there are none).
 */
static void
shard_map_build(void)
{
	Oid			nsp;
	int			ret;

	if (shards_by_oid != NULL)
		hash_destroy(shards_by_oid);
	if (shards_by_group != NULL)
		hash_destroy(shards_by_group);
	if (reference_tables != NULL)
		hash_destroy(reference_tables);
	if (distributed_tables != NULL)
		hash_destroy(distributed_tables);
	if (shards_by_id != NULL)
		hash_destroy(shards_by_id);
	shards_by_oid = shards_by_group = reference_tables = distributed_tables = shards_by_id = NULL;
	map_stale = false;
	segext_distributed = false;
	current_company_fn = InvalidOid;
	written_company_fn = InvalidOid;
	view_checked_company_fn = InvalidOid;
	objectid_eq_op = InvalidOid;

	shards_by_oid = shard_map_create("segext shards", 256, sizeof(Oid), sizeof(ShardEntry));
	shards_by_group = shard_map_create("segext shard groups", 256, sizeof(GroupKey), sizeof(GroupEntry));
	reference_tables = shard_map_create("segext reference tables", 32, sizeof(Oid), sizeof(ReferenceTable));
	distributed_tables = shard_map_create("segext distributed tables", 32, sizeof(Oid), sizeof(DistributedTable));
	shards_by_id = shard_map_create("segext shard names", 256, sizeof(int64), sizeof(ShardName));

	nsp = get_namespace_oid("segext", true);
	if (!OidIsValid(nsp) || !OidIsValid(get_extension_oid("citus", true)) ||
		!OidIsValid(get_extension_oid("segext", true)) ||
		!OidIsValid(get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE)) ||
		!OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)))
		return;

	map_building = true;
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		ret = SPI_execute("SELECT p.logicalrelid::pg_catalog.oid, s.shardid, "
						  "COALESCE(s.shardminvalue::pg_catalog.int4, 0), p.partmethod OPERATOR(pg_catalog.=) 'n', "
						  "CASE WHEN p.partmethod OPERATOR(pg_catalog.=) 'h' "
						  "THEN pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) END "
						  "FROM pg_catalog.pg_dist_partition AS p "
						  "JOIN pg_catalog.pg_dist_shard AS s ON s.logicalrelid OPERATOR(pg_catalog.=) p.logicalrelid "
						  "JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) p.logicalrelid "
						  "WHERE c.relnamespace OPERATOR(pg_catalog.=) 'segext'::pg_catalog.regnamespace "
						  "AND p.partmethod OPERATOR(pg_catalog.=) ANY ('{h,n}')", true, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			Oid			table = DatumGetObjectId(SPI_getbinval(tuple, desc, 1, &isnull));
			int64		shardid = DatumGetInt64(SPI_getbinval(tuple, desc, 2, &isnull));
			int32		group = DatumGetInt32(SPI_getbinval(tuple, desc, 3, &isnull));
			bool		reference = DatumGetBool(SPI_getbinval(tuple, desc, 4, &isnull));
			char	   *table_name = get_rel_name(table);
			char		name[NAMEDATALEN * 2];
			Oid			shard;
			ShardEntry *entry;
			GroupEntry *gentry;
			GroupKey	key;

			if (table_name == NULL)
				continue;
			if (!reference)
			{
				char	   *column = SPI_getvalue(tuple, desc, 5);
				DistributedTable *dist = hash_search(distributed_tables, &table, HASH_ENTER, NULL);

				dist->column = column != NULL ? get_attnum(table, column) : InvalidAttrNumber;
			}
			snprintf(name, sizeof(name), "%s_" INT64_FORMAT, table_name, shardid);
			shard = get_relname_relid(name, nsp);
			if (!OidIsValid(shard))
				continue;		/* the shard is on another node */
			{
				ShardName  *named = hash_search(shards_by_id, &shardid, HASH_ENTER, NULL);

				strlcpy(named->table, table_name, NAMEDATALEN);
			}
			entry = hash_search(shards_by_oid, &shard, HASH_ENTER, NULL);
			entry->table = table;
			entry->reference = reference;
			entry->group = group;
			if (reference)
			{
				ReferenceTable *ref = hash_search(reference_tables, &table, HASH_ENTER, NULL);

				ref->placement = shard;
				continue;
			}
			memset(&key, 0, sizeof(key));
			key.table = table;
			key.group = group;
			gentry = hash_search(shards_by_group, &key, HASH_ENTER, NULL);
			gentry->shard = shard;
		}
		/* by catalog lookups: a role without USAGE on schema segext plans here too */
		current_company_fn = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
											 CStringGetDatum("current_company_id"),
											 PointerGetDatum(buildoidvector(NULL, 0)),
											 ObjectIdGetDatum(nsp));
		{
			Oid			objectid = segext_objectid_type();
			Oid			checked_args[2] = {objectid, REGCLASSOID};

			written_company_fn = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
												 CStringGetDatum("written_company"),
												 PointerGetDatum(buildoidvector(&objectid, 1)),
												 ObjectIdGetDatum(nsp));
			view_checked_company_fn = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
													  CStringGetDatum("view_checked_company"),
													  PointerGetDatum(buildoidvector(checked_args, 2)),
													  ObjectIdGetDatum(nsp));
			objectid_eq_op = OpernameGetOprid(list_make2(makeString("pg_catalog"), makeString("=")),
											  objectid, objectid);
		}
		{
			Oid			companies = get_relname_relid("companies", nsp);
			Oid			types[1] = {REGCLASSOID};
			Datum		values[1] = {ObjectIdGetDatum(companies)};

			ret = SPI_execute_with_args("SELECT FROM pg_catalog.pg_dist_partition AS d "
										"WHERE d.logicalrelid OPERATOR(pg_catalog.=) $1",
										1, types, values, NULL, true, 1);
			if (ret != SPI_OK_SELECT)
				elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
			segext_distributed = OidIsValid(companies) && SPI_processed == 1;
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		map_building = false;
	}
	PG_END_TRY();
}

/*
 * shard_map_lookup finds the entry of a local shard; an unknown relation of
 * schema segext that is not one of its tables (a shard made after the maps
 * were read) makes it read them again, once per such relation.
 */
static bool
shard_map_lookup(Oid relid, ShardEntry **entry)
{
	Oid			nsp;

	if (shards_by_oid == NULL || map_stale)
		shard_map_build();
	*entry = hash_search(shards_by_oid, &relid, HASH_FIND, NULL);
	if (*entry != NULL)
		return !(*entry)->reference;
	if (relid == last_unknown_relid)
		return false;
	nsp = get_namespace_oid("segext", true);
	if (!OidIsValid(nsp) || get_rel_namespace(relid) != nsp || get_rel_relkind(relid) != RELKIND_RELATION)
		return false;
	{
		char	   *name = get_rel_name(relid);
		size_t		len = name != NULL ? strlen(name) : 0;

		/* a shard is named after its table, "_", the shard id */
		if (len == 0 || !isdigit((unsigned char) name[len - 1]))
			return false;
	}
	last_unknown_relid = relid;
	shard_map_build();
	*entry = hash_search(shards_by_oid, &relid, HASH_FIND, NULL);
	return *entry != NULL && !(*entry)->reference;
}

/*
 * group_enter makes a shard group (or none) the current one, resetting the
 * plan cache when plans were made for another group.
 */
static void
group_enter(bool has, int32 group)
{
	have_group = has;
	current_group = group;
	if (has)
		touched_shards = true;
	if (plans_rewritten && (!has || !plans_group_valid || plans_group != group))
	{
		ResetPlanCache();
		plans_rewritten = false;
	}
}

/*
 * rewrite_walker replaces every reference to one of segext's distributed
 * tables by its local shard in the current group, taking the lock the
 * table was locked with.
 */
static bool
rewrite_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, rewrite_walker, context, QTW_EXAMINE_RTES_BEFORE);
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION)
		{
			GroupKey	key;
			GroupEntry *entry;

			memset(&key, 0, sizeof(key));
			key.table = rte->relid;
			key.group = current_group;
			entry = hash_search(shards_by_group, &key, HASH_FIND, NULL);
			if (entry != NULL)
			{
				LockRelationOid(entry->shard, rte->rellockmode);
				rte->relid = entry->shard;
				*(bool *) context = true;
			}
		}
		return false;
	}
	return expression_tree_walker(node, rewrite_walker, context);
}

/*
 * rewrite_write_of_shard plans a write of a local shard of segext's tables
 * that is not made inside a statement on a shard against the shards of the
 * shard's group: Citus sends the second step of an INSERT ... SELECT
 * through the coordinator (with RETURNING or ON CONFLICT) as an INSERT into
 * the shard whose RETURNING still names segext's distributed tables (a
 * subquery of a view's column, such as segext_api.segments's
 * customers_count), which Citus would plan as a distributed statement
 * nested in a statement on a shard ("cannot execute a distributed query
 * from a query on a shard").  Every row written lives in the shard's group.
 */
static void
rewrite_write_of_shard(Query *parse)
{
	RangeTblEntry *target;
	ShardEntry *entry;
	bool		rewritten = false;
	int32		previous_group = current_group;

	if (parse->commandType != CMD_INSERT && parse->commandType != CMD_UPDATE &&
		parse->commandType != CMD_DELETE)
		return;
	if (parse->resultRelation <= 0 || parse->resultRelation > list_length(parse->rtable))
		return;
	target = rt_fetch(parse->resultRelation, parse->rtable);
	if (target->rtekind != RTE_RELATION || !shard_map_lookup(target->relid, &entry))
		return;
	current_group = entry->group;
	rewrite_walker((Node *) parse, &rewritten);
	current_group = previous_group;
	if (rewritten)
	{
		/* the statement's executor start enters this group: its plans stay */
		plans_rewritten = true;
		plans_group_valid = true;
		plans_group = entry->group;
	}
}

/*
 * citus_planner plans a statement made inside a statement on a shard of
 * segext's tables against the shards of the same group.
 */
static PlannedStmt *
citus_planner(Query *parse, const char *query_string, int cursor_options,
			  ParamListInfo bound_params)
{
	if (have_group && !map_building && shards_by_group != NULL)
	{
		bool		rewritten = false;

		rewrite_walker((Node *) parse, &rewritten);
		if (rewritten)
		{
			plans_rewritten = true;
			plans_group_valid = true;
			plans_group = current_group;
		}
	}
	else if (!have_group && !map_building && citus_is_loaded() && IsTransactionState())
	{
		if (shards_by_oid == NULL || map_stale)
			shard_map_build();
		rewrite_write_of_shard(parse);
		if (segext_distributed)
		{
			bool		holds_company = false;
			bool		returns_rows;
			PlannedStmt *result;

			Oid			view = let_citus_write_through_view(parse);

			if (OidIsValid(current_company_fn) && calls_function((Node *) parse, current_company_fn))
			{
				parse = (Query *) company_mutator((Node *) parse, current_company_const());
				company_plans = true;
				holds_company = true;
			}
			check_null_company(parse);
			if (segext_membership_notices_wanted())
				mark_written_company(parse);
			if (OidIsValid(view))
				check_view_company(parse, view);
			returns_rows = return_rows_of_insert_select(parse);
			if (prev_planner_hook != NULL)
				result = prev_planner_hook(parse, query_string, cursor_options, bound_params);
			else
				result = standard_planner(parse, query_string, cursor_options, bound_params);
			if (holds_company)
				result->transientPlan = true;
			if (returns_rows)
			{
				/* the rows the plan returns are not the statement's result */
				result->hasReturning = false;
				/* whether row level security applies depends on the role */
				result->dependsOnRole = true;
			}
			return result;
		}
	}
	if (prev_planner_hook != NULL)
		return prev_planner_hook(parse, query_string, cursor_options, bound_params);
	return standard_planner(parse, query_string, cursor_options, bound_params);
}

/*
 * let_citus_write_through_view lets Citus plan a write through one of
 * segext_api's views.  PostgreSQL has already rewritten it into a write of
 * the view's table, with the view's conditions (Citus does not evaluate its
 * CHECK OPTION: check_view_company adds it for an INSERT); the view stays first in the range table, only for its
 * privileges to be checked,
 * and Citus refuses a statement holding it ("cannot modify views when the
 * query contains citus tables").  So the view's privileges are checked
 * here, as the executor would, and the view's entry is replaced by the
 * table's.  Returns the view, or InvalidOid for any other statement.
 */
static Oid
let_citus_write_through_view(Query *parse)
{
	RangeTblEntry *first;
	RangeTblEntry *table;
	int			target;
	int			ntables;

	if (parse->commandType != CMD_INSERT && parse->commandType != CMD_UPDATE &&
		parse->commandType != CMD_DELETE)
		return InvalidOid;
	if (parse->rtable == NIL || parse->resultRelation <= 1)
		return InvalidOid;
	first = linitial_node(RangeTblEntry, parse->rtable);
	if (first->rtekind != RTE_RELATION || first->relkind != RELKIND_VIEW || first->inFromCl)
		return InvalidOid;
	if (get_rel_namespace(first->relid) != get_namespace_oid("segext_api", true))
		return InvalidOid;
	(void) ExecCheckRTPerms(list_make1(first), true);

	/*
	 * The table written takes the view's place, first (Citus expects the
	 * VALUES of a multi-row INSERT second), and the entries after it move
	 * down by one.
	 */
	target = parse->resultRelation;
	ntables = list_length(parse->rtable);
	table = rt_fetch(target, parse->rtable);
	ChangeVarNodes((Node *) parse, target, 1, 0);
	for (int i = target + 1; i <= ntables; i++)
		ChangeVarNodes((Node *) parse, i, i - 1, 0);
	parse->rtable = list_delete_nth_cell(parse->rtable, target - 1);
	linitial(parse->rtable) = table;
	/* it came from the view's FROM: deparse it as the target only */
	table->inFromCl = false;

	/*
	 * ON CONFLICT DO UPDATE: the rewriter added an EXCLUDED entry for the
	 * table and left the view's, unused; renamed, it no longer makes Citus
	 * print the table's as "excluded_1".
	 */
	if (parse->onConflict != NULL)
	{
		ListCell   *lc;
		int			index = 0;

		foreach(lc, parse->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			index++;
			if (index != parse->onConflict->exclRelIndex && rte->rtekind == RTE_RELATION &&
				rte->relid == first->relid && rte->relkind == RELKIND_COMPOSITE_TYPE)
			{
				rte->alias = makeAlias("excluded_of_view", NIL);
				rte->eref->aliasname = rte->alias->aliasname;
			}
		}
	}
	return first->relid;
}

/* target_entry_of_column returns the (not junk) target entry that sets a column, or NULL. */
static TargetEntry *
target_entry_of_column(Query *parse, AttrNumber column)
{
	ListCell   *lc;

	foreach(lc, parse->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (!tle->resjunk && tle->resno == column)
			return tle;
	}
	return NULL;
}

/*
 * column_source returns the range table entry of kind rtekind whose column
 * an expression of the query is (a Var of this query level), or NULL.
 */
static RangeTblEntry *
column_source(Query *parse, Expr *expr, RTEKind rtekind)
{
	Var		   *var = (Var *) expr;
	RangeTblEntry *rte;

	if (!IsA(var, Var) || var->varlevelsup != 0 || var->varattno <= 0 ||
		var->varno <= 0 || var->varno > list_length(parse->rtable))
		return NULL;
	rte = rt_fetch(var->varno, parse->rtable);
	return rte->rtekind == rtekind ? rte : NULL;
}

/*
 * inserted_company_entry returns the target entry of an INSERT that gives
 * the company of its rows (the distribution column of its table, one of
 * segext's, set in *column, else InvalidAttrNumber), or NULL.
 */
static TargetEntry *
inserted_company_entry(Query *parse, RangeTblEntry **target, AttrNumber *column)
{
	DistributedTable *table;

	*column = InvalidAttrNumber;
	if (parse->commandType != CMD_INSERT || distributed_tables == NULL ||
		parse->resultRelation <= 0 || parse->resultRelation > list_length(parse->rtable))
		return NULL;
	*target = rt_fetch(parse->resultRelation, parse->rtable);
	if ((*target)->rtekind != RTE_RELATION)
		return NULL;
	table = hash_search(distributed_tables, &(*target)->relid, HASH_FIND, NULL);
	if (table == NULL || table->column == InvalidAttrNumber)
		return NULL;
	*column = table->column;
	return target_entry_of_column(parse, table->column);
}

/*
 * check_null_company raises for an INSERT of a row without a company what
 * one node raises (Citus would refuse it first with 22004 "cannot perform
 * an INSERT with NULL in the partition column"): 42501 "no current
 * company" when none is current (the rules' trigger), 42501 of row level
 * security for a role it holds to the current company, else 23502 of the
 * NOT NULL constraint.
 */
static void
check_null_company(Query *parse)
{
	RangeTblEntry *target;
	AttrNumber	column;
	TargetEntry *tle = inserted_company_entry(parse, &target, &column);
	Oid			admin;
	Relation	rel;

	/* no entry: the column has no default, the row no company */
	if (column == InvalidAttrNumber ||
		(tle != NULL && (!IsA(tle->expr, Const) || !((Const *) tle->expr)->constisnull)))
		return;
	rel = table_open(target->relid, NoLock);
	if (GetUserId() != rel->rd_rel->relowner)
		segext_check_company_access(NULL);
	admin = get_role_oid("segext_admin", true);
	if (check_enable_rls(target->relid, InvalidOid, true) == RLS_ENABLED &&
		!(OidIsValid(admin) && is_member_of_role(GetUserId(), admin)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("new row violates row-level security policy for table \"%s\"",
						RelationGetRelationName(rel))));
	ereport(ERROR,
			(errcode(ERRCODE_NOT_NULL_VIOLATION),
			 errmsg("null value in column \"%s\" of relation \"%s\" violates not-null constraint",
					NameStr(TupleDescAttr(RelationGetDescr(rel), column - 1)->attname),
					RelationGetRelationName(rel)),
			 errtablecol(rel, column)));
}

/*
 * return_rows_of_insert_select gives an INSERT ... SELECT into one of
 * segext's distributed tables without RETURNING or ON CONFLICT a RETURNING
 * list of one constant when row level security applies to the role, and
 * returns true then (the caller hides it from the plan's result).  Citus
 * runs the SELECT of such an INSERT on the coordinator when it reads no
 * distributed table (a function such as json_populate_recordset) and
 * copies its rows into the shards with COPY, which PostgreSQL refuses under
 * row level security (0A000 "COPY FROM not supported with row-level
 * security"); with RETURNING it sends them as intermediate results of the
 * company's shard group instead and inserts them there with INSERT ...
 * SELECT, as the role, under the policies, triggers and constraints of one
 * node.
 */
static bool
return_rows_of_insert_select(Query *parse)
{
	RangeTblEntry *target;
	RangeTblRef *source;
	TargetEntry *returned;

	if (parse->commandType != CMD_INSERT || parse->returningList != NIL ||
		parse->onConflict != NULL || distributed_tables == NULL)
		return false;
	if (parse->resultRelation <= 0 || parse->resultRelation > list_length(parse->rtable))
		return false;
	target = rt_fetch(parse->resultRelation, parse->rtable);
	if (target->rtekind != RTE_RELATION ||
		hash_search(distributed_tables, &target->relid, HASH_FIND, NULL) == NULL)
		return false;
	/* INSERT ... SELECT: the SELECT is the one entry of the FROM list */
	if (parse->jointree == NULL || list_length(parse->jointree->fromlist) != 1)
		return false;
	source = (RangeTblRef *) linitial(parse->jointree->fromlist);
	if (!IsA(source, RangeTblRef) || rt_fetch(source->rtindex, parse->rtable)->rtekind != RTE_SUBQUERY)
		return false;
	if (check_enable_rls(target->relid, InvalidOid, true) != RLS_ENABLED)
		return false;
	returned = makeTargetEntry((Expr *) makeBoolConst(true, false), 1, pstrdup("inserted"), false);
	parse->returningList = list_make1(returned);
	return true;
}

/* view_checked_call wraps a company in segext.view_checked_company(company, view). */
static Node *
view_checked_call(Node *company, Oid view)
{
	Const	   *view_const = makeConst(REGCLASSOID, -1, InvalidOid, sizeof(Oid),
									   ObjectIdGetDatum(view), false, true);

	return (Node *) makeFuncExpr(view_checked_company_fn, segext_objectid_type(),
								 list_make2(company, view_const), InvalidOid, InvalidOid,
								 COERCE_EXPLICIT_CALL);
}

/*
 * check_view_company makes an INSERT through a segext_api view WITH CHECK
 * OPTION check the company of each row on this node, before Citus routes
 * it (Citus drops the view's check): the company of its rows is wrapped in
 * segext.view_checked_company(), in each row of a multi-row VALUES, in the
 * SELECT of an INSERT ... SELECT.
 */
static void
check_view_company(Query *parse, Oid view)
{
	RangeTblEntry *target;
	RangeTblEntry *source;
	AttrNumber	column;
	TargetEntry *tle;
	ListCell   *lc;
	bool		checked = false;

	if (!OidIsValid(view_checked_company_fn))
		return;
	foreach(lc, parse->withCheckOptions)
		checked |= lfirst_node(WithCheckOption, lc)->kind == WCO_VIEW_CHECK;
	if (!checked || (tle = inserted_company_entry(parse, &target, &column)) == NULL)
		return;
	if ((source = column_source(parse, tle->expr, RTE_VALUES)) != NULL)
	{
		AttrNumber	attno = ((Var *) tle->expr)->varattno;
		ListCell   *row;

		foreach(row, source->values_lists)
		{
			ListCell   *cell = list_nth_cell(lfirst(row), attno - 1);

			lfirst(cell) = view_checked_call(lfirst(cell), view);
		}
		return;
	}

	/*
	 * INSERT ... SELECT: Citus takes the SELECT's column for a Var of it, so
	 * the check goes there (not into a set operation's).
	 */
	if ((source = column_source(parse, tle->expr, RTE_SUBQUERY)) != NULL)
	{
		AttrNumber	attno = ((Var *) tle->expr)->varattno;
		Query	   *select = source->subquery;
		TargetEntry *column_entry;

		if (select->setOperations == NULL && attno <= list_length(select->targetList))
		{
			column_entry = list_nth_node(TargetEntry, select->targetList, attno - 1);
			column_entry->expr = (Expr *) view_checked_call((Node *) column_entry->expr, view);
			return;
		}
	}
	tle->expr = (Expr *) view_checked_call((Node *) tle->expr, view);
}

PG_FUNCTION_INFO_V1(segext_view_checked_company);
/*
 * segext_view_checked_company returns the company of a row inserted through
 * a segext_api view after the checks one node makes (the rules' trigger,
 * then the view's CHECK OPTION): 42501 when the role may not write the
 * company or none is current, 44000 when it is not the current company.
 */
Datum
segext_view_checked_company(PG_FUNCTION_ARGS)
{
	SegextObjectId *company = PG_ARGISNULL(0) ? NULL : PG_GETARG_SEGEXT_OBJECTID_P(0);
	Oid			view = PG_GETARG_OID(1);
	SegextObjectId current;
	bool		has_current;

	segext_check_company_access(company);
	if (company == NULL)
		PG_RETURN_NULL();
	has_current = segext_get_current_company(&current);
	if (!has_current || !segext_objectid_equal(&current, company))
	{
		char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];
		char		current_hex[SEGEXT_OBJECTID_HEX_LEN + 1] = "";

		segext_objectid_to_hex(company, hex);
		if (has_current)
			segext_objectid_to_hex(&current, current_hex);
		ereport(ERROR,
				(errcode(ERRCODE_WITH_CHECK_OPTION_VIOLATION),
				 errmsg("new row violates check option for view \"%s\"", get_rel_name(view)),
				 !has_current ?
				 errdetail("Failing row has company_id %s; no company is current.", hex) :
				 errdetail("Failing row has company_id %s, not the current company %s.", hex, current_hex)));
	}
	PG_RETURN_SEGEXT_OBJECTID_P(company);
}

/* is_company_value tells whether an expression is a constant or a parameter of the statement. */
static bool
is_company_value(Node *node)
{
	return node != NULL &&
		(IsA(node, Const) || (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXTERN));
}

/* written_company_call wraps a company in a call of segext.written_company(). */
static Expr *
written_company_call(Node *company)
{
	return (Expr *) makeFuncExpr(written_company_fn, segext_objectid_type(), list_make1(company),
								 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
}

/*
 * mark_inserted_company wraps the company of every row of an INSERT ...
 * VALUES in segext.written_company() when each is a constant or a
 * parameter (all of them or none).
 */
static void
mark_inserted_company(Query *parse, AttrNumber column)
{
	TargetEntry *tle = target_entry_of_column(parse, column);
	RangeTblEntry *values;
	AttrNumber	attno;
	ListCell   *row;

	if (tle == NULL)
		return;
	if (is_company_value((Node *) tle->expr))
	{
		tle->expr = written_company_call((Node *) tle->expr);
		return;
	}
	/* a multi-row VALUES: a column of its range table entry */
	if ((values = column_source(parse, tle->expr, RTE_VALUES)) == NULL)
		return;
	attno = ((Var *) tle->expr)->varattno;
	foreach(row, values->values_lists)
	{
		List	   *cells = lfirst(row);

		if (attno > list_length(cells) || !is_company_value(list_nth(cells, attno - 1)))
			return;
	}
	foreach(row, values->values_lists)
	{
		ListCell   *cell = list_nth_cell(lfirst(row), attno - 1);

		lfirst(cell) = written_company_call(lfirst(cell));
	}
}

/*
 * qualified_company returns the constant or parameter that a condition of
 * an UPDATE or DELETE (a conjunct of its WHERE or of its target's security
 * conditions: a view's, a policy's) holds the target's distribution column
 * equal to, or NULL.
 */
static Node *
qualified_company(Query *parse, RangeTblEntry *target, AttrNumber column)
{
	List	   *conjuncts = NIL;
	ListCell   *lc;

	if (parse->jointree != NULL && parse->jointree->quals != NULL)
		conjuncts = make_ands_implicit((Expr *) parse->jointree->quals);
	foreach(lc, target->securityQuals)
		conjuncts = list_concat(conjuncts, make_ands_implicit((Expr *) lfirst(lc)));
	foreach(lc, conjuncts)
	{
		OpExpr	   *op = (OpExpr *) lfirst(lc);

		if (!IsA(op, OpExpr) || op->opno != objectid_eq_op || list_length(op->args) != 2)
			continue;
		for (int side = 0; side < 2; side++)
		{
			Var		   *var = (Var *) list_nth(op->args, side);
			Node	   *value = (Node *) list_nth(op->args, 1 - side);

			if (IsA(var, Var) && var->varno == parse->resultRelation && var->varlevelsup == 0 &&
				var->varattno == column && is_company_value(value))
				return value;
		}
	}
	return NULL;
}

/*
 * mark_written_company makes a write this node starts of one of segext's
 * distributed tables name the company of its rows while it runs, when the
 * statement fixes it by a constant or a parameter: the company of each row
 * of an INSERT ... VALUES is wrapped in segext.written_company(), an UPDATE
 * or DELETE whose condition holds the company equal to one gets the
 * condition segext.written_company(that) IS NOT NULL.  Citus evaluates the
 * call on this node before it routes the statement, which then reads the
 * outbox of those companies only (citus_executor_end).  Other writes are
 * left as they are and read the outbox of every shard.
 */
static void
mark_written_company(Query *parse)
{
	RangeTblEntry *target;
	DistributedTable *table;

	if (!OidIsValid(written_company_fn) || !OidIsValid(objectid_eq_op) || distributed_tables == NULL)
		return;
	if ((parse->commandType != CMD_INSERT && parse->commandType != CMD_UPDATE &&
		 parse->commandType != CMD_DELETE) || parse->hasModifyingCTE ||
		parse->resultRelation <= 0 || parse->resultRelation > list_length(parse->rtable))
		return;
	target = rt_fetch(parse->resultRelation, parse->rtable);
	if (target->rtekind != RTE_RELATION)
		return;
	table = hash_search(distributed_tables, &target->relid, HASH_FIND, NULL);
	if (table == NULL || table->column == InvalidAttrNumber)
		return;
	if (parse->commandType == CMD_INSERT)
		mark_inserted_company(parse, table->column);
	else
	{
		Node	   *company = qualified_company(parse, target, table->column);
		NullTest   *named;

		if (company == NULL)
			return;
		named = makeNode(NullTest);
		named->arg = written_company_call(copyObject(company));
		named->nulltesttype = IS_NOT_NULL;
		named->argisrow = false;
		named->location = -1;
		parse->jointree->quals = make_and_qual(parse->jointree->quals, (Node *) named);
	}
}

PG_FUNCTION_INFO_V1(segext_written_company);
/*
 * segext_written_company returns its argument, a company whose rows the
 * statement being run writes, after noting it for the statement's outbox
 * read when this node started the statement (elsewhere it only returns it).
 */
Datum
segext_written_company(PG_FUNCTION_ARGS)
{
	SegextObjectId *company = PG_GETARG_SEGEXT_OBJECTID_P(0);

	if (notifying_statement_depth > 0 && !have_group)
	{
		NotifyingStatement *statement = &notifying_statements[notifying_statement_depth - 1];
		bool		known = false;

		for (int i = 0; i < statement->ncompanies && !known; i++)
			known = segext_objectid_equal(&statement->companies[i], company);
		if (!known && statement->ncompanies < MAX_WRITTEN_COMPANIES)
			statement->companies[statement->ncompanies++] = *company;
		else if (!known)
			statement->unknown = true;
	}
	PG_RETURN_SEGEXT_OBJECTID_P(company);
}

/* calls_function_walker finds a call of the function *(Oid *) context. */
static bool
calls_function_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr) && ((FuncExpr *) node)->funcid == *(Oid *) context)
		return true;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, calls_function_walker, context, 0);
	return expression_tree_walker(node, calls_function_walker, context);
}

/* calls_function tells whether a statement calls a function, in any clause or policy. */
static bool
calls_function(Node *node, Oid fn)
{
	return calls_function_walker(node, &fn);
}

/* current_company_const evaluates segext.current_company_id() into a constant. */
static Const *
current_company_const(void)
{
	SegextObjectId *company = (SegextObjectId *) palloc(sizeof(SegextObjectId));
	Oid			type = segext_objectid_type();

	if (!segext_get_current_company(company))
		return makeConst(type, -1, InvalidOid, SEGEXT_OBJECTID_LEN, (Datum) 0, true, false);
	return makeConst(type, -1, InvalidOid, SEGEXT_OBJECTID_LEN, PointerGetDatum(company), false, false);
}

/* company_mutator replaces the calls of segext.current_company_id() by the constant. */
static Node *
company_mutator(Node *node, void *context)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, FuncExpr) && ((FuncExpr *) node)->funcid == current_company_fn)
		return (Node *) copyObject((Const *) context);
	if (IsA(node, Query))
		return (Node *) query_tree_mutator((Query *) node, company_mutator, context, 0);
	return expression_tree_mutator(node, company_mutator, context);
}

/*
 * segext_citus_company_changed drops the plans that hold the current company
 * as a constant when segext.company_id changes.
 */
void
segext_citus_company_changed(void)
{
	if (company_plans)
	{
		ResetPlanCache();
		company_plans = false;
	}
}

/*
 * segext_citus_initiating tells whether segext's tables are distributed and
 * this backend initiates statements on them (it is not running a statement
 * on a shard): then the workers are to get its current company.
 */
bool
segext_citus_initiating(void)
{
	if (!citus_is_loaded() || have_group || map_building || !IsTransactionState())
		return false;
	if (shards_by_oid == NULL || map_stale)
		shard_map_build();
	return segext_distributed;
}

/*
 * citus_executor_start makes the shard group of a statement on a shard of
 * segext's tables current while it runs (with its triggers).
 */
static void
citus_executor_start(QueryDesc *query, int eflags)
{
	if (citus_is_loaded() && !map_building && IsTransactionState() &&
		shard_statement_depth < MAX_SHARD_STATEMENT_DEPTH)
	{
		ListCell   *lc;

		foreach(lc, query->plannedstmt->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
			ShardEntry *entry;

			if (rte->rtekind != RTE_RELATION || !shard_map_lookup(rte->relid, &entry))
				continue;
			shard_statements[shard_statement_depth].query = query;
			shard_statements[shard_statement_depth].subxact = GetCurrentSubTransactionId();
			shard_statements[shard_statement_depth].had_group = have_group;
			shard_statements[shard_statement_depth].previous_group = current_group;
			shard_statement_depth++;
			group_enter(true, entry->group);
			break;
		}
		if (!have_group && segext_distributed)
		{
			invalidate_segments_written(query);
			if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 && segext_membership_notices_wanted() &&
				!deleting_grants && writes_segext_table(query))
			{
				if (notifying_statement_depth < MAX_SHARD_STATEMENT_DEPTH)
				{
					NotifyingStatement *statement = &notifying_statements[notifying_statement_depth++];

					statement->query = query;
					statement->subxact = GetCurrentSubTransactionId();
					statement->ncompanies = 0;
					statement->unknown = false;
				}
				else
				{
					/* its companies would be taken for the enclosing statement's */
					notifying_statements[notifying_statement_depth - 1].unknown = true;
				}
				/* the workers keep the outbox rows until this node reads them */
				segext_citus_coordinate();
			}
			if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 && !deleting_grants &&
				deleting_statement_depth < MAX_SHARD_STATEMENT_DEPTH && deletes_companies(query))
			{
				ArrayType  *granted = granted_companies_seen(NULL);

				if (granted != NULL)
				{
					DeletingStatement *statement = &deleting_statements[deleting_statement_depth++];

					statement->query = query;
					statement->subxact = GetCurrentSubTransactionId();
					statement->granted = granted;
				}
			}
		}
	}
	if (prev_executor_start != NULL)
		prev_executor_start(query, eflags);
	else
		standard_ExecutorStart(query, eflags);
}

/*
 * citus_process_utility makes the shard group of a COPY into a shard of
 * segext's tables current while it runs: Citus sends the rows of a COPY or
 * of an INSERT ... SELECT through the coordinator to the shards with COPY,
 * which fires segext's triggers there without an executor start.
 */
static void
citus_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					  ProcessUtilityContext context, ParamListInfo params,
					  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	volatile bool entered = false;
	MemoryContext caller_context = CurrentMemoryContext;
	bool		had_group = have_group;
	int32		previous_group = current_group;

	if (IsA(parsetree, CopyStmt) && ((CopyStmt *) parsetree)->is_from &&
		((CopyStmt *) parsetree)->relation != NULL &&
		citus_is_loaded() && !map_building && IsTransactionState())
	{
		Oid			relid = RangeVarGetRelid(((CopyStmt *) parsetree)->relation, NoLock, true);
		ShardEntry *entry;

		if (OidIsValid(relid) && shard_map_lookup(relid, &entry))
		{
			group_enter(true, entry->group);
			entered = true;
		}
	}
	PG_TRY();
	{
		if (prev_process_utility != NULL)
			prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		if (entered)
			group_enter(had_group, previous_group);
		if (IsA(parsetree, CopyStmt) && !entered)
			segext_citus_rethrow_relayed_error(caller_context);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (entered)
		group_enter(had_group, previous_group);
}

/*
 * invalidate_segments_written queues an invalidation of segext.segments when
 * a statement this node starts on the distributed tables writes it: the
 * trigger that does so on one node runs on a shard, on a worker, so this
 * node's (and its other backends') compiled segments would stay as they
 * were (classify).
 */
static void
invalidate_segments_written(QueryDesc *query)
{
	ListCell   *lc;
	Oid			segments = InvalidOid;

	if (query->operation == CMD_SELECT && !query->plannedstmt->hasModifyingCTE)
		return;
	foreach(lc, query->plannedstmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind != RTE_RELATION)
			continue;
		if (!OidIsValid(segments))
			segments = get_relname_relid("segments", get_namespace_oid("segext", true));
		if (rte->relid == segments && OidIsValid(segments))
		{
			CacheInvalidateRelcacheByRelid(segments);
			return;
		}
	}
}

/*
 * writes_segext_table tells whether a statement writes and names one of
 * segext's tables (a write this node starts on the distributed tables; the
 * plan Citus makes of it has no ModifyTable, its range table still names
 * the tables).
 */
static bool
writes_segext_table(QueryDesc *query)
{
	ListCell   *lc;
	Oid			nsp = InvalidOid;

	if (query->operation == CMD_SELECT && !query->plannedstmt->hasModifyingCTE)
		return false;
	foreach(lc, query->plannedstmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind != RTE_RELATION)
			continue;
		/* a shard or a reference table's placement: a statement Citus sent here */
		if (shards_by_oid != NULL && hash_search(shards_by_oid, &rte->relid, HASH_FIND, NULL) != NULL)
			return false;
		if (!OidIsValid(nsp))
			nsp = get_namespace_oid("segext", true);
		if (OidIsValid(nsp) && get_rel_namespace(rte->relid) == nsp)
			return true;
	}
	return false;
}

/*
 * deletes_companies tells whether a statement this node starts deletes rows
 * of segext.companies, itself or in a writable CTE: its range table asks
 * for the DELETE privilege on the table (Citus's plan of a routed statement
 * keeps the range table, not the statement's kind).
 */
static bool
deletes_companies(QueryDesc *query)
{
	ListCell   *lc;
	Oid			nsp;
	Oid			companies;

	nsp = get_namespace_oid("segext", true);
	companies = OidIsValid(nsp) ? get_relname_relid("companies", nsp) : InvalidOid;
	if (!OidIsValid(companies))
		return false;
	foreach(lc, query->plannedstmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION && rte->relid == companies &&
			(rte->requiredPerms & ACL_DELETE) != 0)
			return true;
	}
	return false;
}

/* relation_owner returns the role that owns a relation. */
static Oid
relation_owner(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * granted_companies_seen returns, as an objectid[] in TopTransactionContext,
 * the companies of the given ones (with companies NULL: of those that have
 * grants in segext.company_roles, read as the table's owner) that the
 * current role sees in segext.companies, or NULL when there are none or the
 * role may not read the table.  The current role reads companies as the
 * DELETE that it runs does: Citus lets only it read the placements it
 * wrote in this transaction.
 */
static ArrayType *
granted_companies_seen(ArrayType *companies)
{
	Oid			nsp = get_namespace_oid("segext", true);
	Oid			companies_table = OidIsValid(nsp) ? get_relname_relid("companies", nsp) : InvalidOid;
	Oid			grants_table = OidIsValid(nsp) ? get_relname_relid("company_roles", nsp) : InvalidOid;
	Oid			objectid = segext_objectid_type();
	Oid			array_type = get_array_type(objectid);
	Oid			types[1];
	Datum		values[1];
	ArrayType  *seen = NULL;
	int			ret;

	if (!OidIsValid(companies_table) || !OidIsValid(grants_table) || !OidIsValid(array_type) ||
		pg_namespace_aclcheck(nsp, GetUserId(), ACL_USAGE) != ACLCHECK_OK ||
		pg_class_aclcheck(companies_table, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return NULL;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (companies == NULL)
	{
		Oid			save_userid;
		int			save_sec_context;
		bool		isnull;

		GetUserIdAndSecContext(&save_userid, &save_sec_context);
		SetUserIdAndSecContext(relation_owner(grants_table), save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
		ret = SPI_execute("SELECT pg_catalog.array_agg(DISTINCT g.company_id) FROM segext.company_roles AS g",
						  true, 0);
		SetUserIdAndSecContext(save_userid, save_sec_context);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		values[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (isnull)
		{
			SPI_finish();
			return NULL;
		}
	}
	else
		values[0] = PointerGetDatum(companies);
	types[0] = array_type;
	ret = SPI_execute_with_args("SELECT pg_catalog.array_agg(c.id) FROM segext.companies AS c"
								" WHERE c.id OPERATOR(pg_catalog.=) ANY ($1)",
								1, types, values, NULL, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	{
		bool		isnull;
		Datum		found = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

			seen = DatumGetArrayTypePCopy(found);
			MemoryContextSwitchTo(old);
		}
	}
	SPI_finish();
	return seen;
}

/*
 * delete_grants_of_deleted deletes, as the owner of segext.company_roles,
 * the grants of the companies of granted that the current role no longer
 * sees: what the foreign key's ON DELETE CASCADE does on one node.
 */
static void
delete_grants_of_deleted(ArrayType *granted)
{
	bool		snapshot_pushed = !ActiveSnapshotSet();
	ArrayType  *remaining;
	Datum	   *companies;
	int			ncompanies;
	Datum	   *kept = NULL;
	int			nkept = 0;
	int			ndeleted = 0;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Oid			objectid = segext_objectid_type();
	Oid			types[1];
	Datum		values[1];
	Oid			nsp = get_namespace_oid("segext", true);
	Oid			grants_table = OidIsValid(nsp) ? get_relname_relid("company_roles", nsp) : InvalidOid;
	Oid			save_userid;
	int			save_sec_context;
	int			ret;

	if (!OidIsValid(grants_table))
		return;
	/* the end of a statement run by a portal (a writable CTE) has none */
	if (snapshot_pushed)
		PushActiveSnapshot(GetTransactionSnapshot());
	remaining = granted_companies_seen(granted);
	get_typlenbyvalalign(objectid, &typlen, &typbyval, &typalign);
	deconstruct_array(granted, objectid, typlen, typbyval, typalign, &companies, NULL, &ncompanies);
	if (remaining != NULL)
		deconstruct_array(remaining, objectid, typlen, typbyval, typalign, &kept, NULL, &nkept);
	for (int i = 0; i < ncompanies; i++)
	{
		bool		still = false;

		for (int k = 0; k < nkept && !still; k++)
			still = segext_objectid_equal(DatumGetSegextObjectIdP(companies[i]),
										  DatumGetSegextObjectIdP(kept[k]));
		if (!still)
			companies[ndeleted++] = companies[i];
	}
	if (ndeleted == 0)
	{
		if (snapshot_pushed)
			PopActiveSnapshot();
		return;
	}
	types[0] = get_array_type(objectid);
	values[0] = PointerGetDatum(construct_array(companies, ndeleted, objectid, typlen, typbyval, typalign));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(relation_owner(grants_table), save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	deleting_grants = true;
	PG_TRY();
	{
		ret = SPI_execute_with_args("DELETE FROM segext.company_roles AS g"
									" WHERE g.company_id OPERATOR(pg_catalog.=) ANY ($1)",
									1, types, values, NULL, false, 0);
		if (ret != SPI_OK_DELETE)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	}
	PG_FINALLY();
	{
		deleting_grants = false;
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
	SPI_finish();
	if (snapshot_pushed)
		PopActiveSnapshot();
}

/*
 * citus_executor_run runs a statement; an error that a worker relayed
 * (citus_errors.c) is raised again whole, so that an exception handler on
 * this node sees the SQLSTATE and fields the client gets.
 */
static void
citus_executor_run(QueryDesc *query, ScanDirection direction, uint64 count, bool execute_once)
{
	MemoryContext caller_context = CurrentMemoryContext;

	PG_TRY();
	{
		if (prev_executor_run != NULL)
			prev_executor_run(query, direction, count, execute_once);
		else
			standard_ExecutorRun(query, direction, count, execute_once);
	}
	PG_CATCH();
	{
		if (citus_loaded == 1 && !have_group)
			segext_citus_rethrow_relayed_error(caller_context);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * citus_executor_end restores the group that was current before a statement
 * on a shard, sends the membership notifications of a write of segext's
 * tables this node started, and deletes the grants of the companies a
 * DELETE it started removed.
 */
static void
citus_executor_end(QueryDesc *query)
{
	if (prev_executor_end != NULL)
		prev_executor_end(query);
	else
		standard_ExecutorEnd(query);
	if (shard_statement_depth > 0 && shard_statements[shard_statement_depth - 1].query == query)
	{
		shard_statement_depth--;
		group_enter(shard_statements[shard_statement_depth].had_group,
					shard_statements[shard_statement_depth].previous_group);
	}
	if (notifying_statement_depth > 0 && notifying_statements[notifying_statement_depth - 1].query == query)
	{
		NotifyingStatement statement = notifying_statements[--notifying_statement_depth];

		if (statement.unknown || statement.ncompanies == 0)
			segext_membership_notices_send(NULL, 0);
		else
			segext_membership_notices_send(statement.companies, statement.ncompanies);
	}
	if (deleting_statement_depth > 0 && deleting_statements[deleting_statement_depth - 1].query == query)
	{
		DeletingStatement statement = deleting_statements[--deleting_statement_depth];

		delete_grants_of_deleted(statement.granted);
	}
}

/* citus_xact_callback forgets the statements on shards when a transaction ends. */
static void
citus_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
	{
		shard_statement_depth = 0;
		notifying_statement_depth = 0;
		deleting_statement_depth = 0;
		deleting_grants = false;
		touched_shards = false;
		if (have_group || plans_rewritten)
			group_enter(false, 0);
		last_unknown_relid = InvalidOid;
	}
}

/*
 * citus_subxact_callback forgets the statements on shards that an aborted
 * subtransaction started (their ExecutorEnd never runs).
 */
static void
citus_subxact_callback(SubXactEvent event, SubTransactionId subxact,
					   SubTransactionId parent, void *arg)
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	while (shard_statement_depth > 0 && shard_statements[shard_statement_depth - 1].subxact == subxact)
	{
		shard_statement_depth--;
		group_enter(shard_statements[shard_statement_depth].had_group,
					shard_statements[shard_statement_depth].previous_group);
	}
	while (notifying_statement_depth > 0 &&
		   notifying_statements[notifying_statement_depth - 1].subxact == subxact)
		notifying_statement_depth--;
	while (deleting_statement_depth > 0 &&
		   deleting_statements[deleting_statement_depth - 1].subxact == subxact)
		deleting_statement_depth--;
	deleting_grants = false;
}
