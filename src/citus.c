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
 *	  Writes through the views, rows without a company, INSERT ... SELECT
 *	  under row level security and the companies a write names: the planner
 *	  hook has citus_writes.c change the statement before Citus plans it.
 *
 *	  Grants of deleted companies: the executor hooks have
 *	  citus_company_grants.c delete them after a DELETE of companies.
 *
 *	  Which tables are distributed and where their shards are:
 *	  citus_shard_map.c.  PostgREST's count of upserted rows:
 *	  citus_upsert.c.
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
#include "citus_company_grants.h"
#include "citus_errors.h"
#include "citus_shard_map.h"
#include "citus_writes.h"
#include "module_init.h"
#include "tenancy.h"

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

/* A statement on a shard being executed, and the group it set. */
typedef struct ShardStatement
{
	QueryDesc  *query;
	SubTransactionId subxact;	/* the subtransaction it started in */
	bool		had_group;
	int32		previous_group;
} ShardStatement;

#define MAX_SHARD_STATEMENT_DEPTH 64

static bool company_plans = false;	/* plans hold the current company */

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

static NotifyingStatement notifying_statements[MAX_SHARD_STATEMENT_DEPTH];
static int	notifying_statement_depth = 0;

static planner_hook_type prev_planner_hook = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;
static ExecutorEnd_hook_type prev_executor_end = NULL;
static ExecutorRun_hook_type prev_executor_run = NULL;
static emit_log_hook_type prev_emit_log_hook = NULL;

static void citus_error_hook(ErrorData *edata);
static void group_enter(bool has, int32 group);
static void citus_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
								  ProcessUtilityContext context, ParamListInfo params,
								  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc);
static bool rewrite_walker(Node *node, void *context);
static bool rewrite_write_of_shard(Query *parse);
static bool calls_function(Node *node, Oid fn);
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
 * segext_citus_trigger_group makes the shard group of a trigger's relation
 * current when it is a local shard of segext's tables: a deferred trigger
 * fires at commit, outside the statement on the shard that queued it.
 */
void
segext_citus_trigger_group(Relation rel)
{
	ShardEntry *entry;

	if (!citus_is_loaded() || citus_shard_map_building() || !citus_shard_map_lookup(RelationGetRelid(rel), &entry))
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
	Oid			local;

	if (!citus_is_loaded() || citus_shard_map_building() || !IsTransactionState())
		return relid;
	citus_shard_map_ensure();
	local = citus_reference_placement(relid);
	if (OidIsValid(local))
		return local;
	if (!have_group)
		return relid;
	local = citus_group_shard(relid, current_group);
	return OidIsValid(local) ? local : relid;
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

	if (!citus_is_loaded() || have_group || citus_shard_map_building())
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
 * node that receives it; the count of a counted upsert's updates goes to
 * citus_upsert.c, not to the log or the client.
 */
static void
citus_error_hook(ErrorData *edata)
{
	if (edata->elevel == WARNING && citus_found_loaded() && segext_citus_upsert_message(edata))
		return;
	if (edata->elevel >= ERROR && citus_found_loaded())
	{
		if (citus_shard_map_ready() && edata->schema_name != NULL && strcmp(edata->schema_name, "segext") == 0)
			segext_citus_unshard_error(edata);
		segext_citus_restore_relayed_error(edata);
		if (edata->output_to_client && touched_shards && segext_citus_internal_session())
			segext_citus_relay_error(edata);
	}
	if (prev_emit_log_hook != NULL)
		prev_emit_log_hook(edata);
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
			Oid			shard = citus_group_shard(rte->relid, current_group);

			if (OidIsValid(shard))
			{
				LockRelationOid(shard, rte->rellockmode);
				rte->relid = shard;
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
 * Returns whether the statement writes a local shard.
 */
static bool
rewrite_write_of_shard(Query *parse)
{
	RangeTblEntry *target;
	ShardEntry *entry;
	bool		rewritten = false;
	int32		previous_group = current_group;

	if (parse->commandType != CMD_INSERT && parse->commandType != CMD_UPDATE &&
		parse->commandType != CMD_DELETE)
		return false;
	if (parse->resultRelation <= 0 || parse->resultRelation > list_length(parse->rtable))
		return false;
	target = rt_fetch(parse->resultRelation, parse->rtable);
	if (target->rtekind != RTE_RELATION || !citus_shard_map_lookup(target->relid, &entry))
		return false;
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
	return true;
}

/*
 * citus_planner plans a statement made inside a statement on a shard of
 * segext's tables against the shards of the same group.
 */
static PlannedStmt *
citus_planner(Query *parse, const char *query_string, int cursor_options,
			  ParamListInfo bound_params)
{
	if (have_group && !citus_shard_map_building() && citus_shard_map_ready())
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
	else if (!have_group && !citus_shard_map_building() && citus_is_loaded() && IsTransactionState())
	{
		bool		counts_updates;

		citus_shard_map_ensure();
		counts_updates = rewrite_write_of_shard(parse) && segext_citus_take_upsert_mark(parse);
		if (counts_updates)
		{
			PlannedStmt *result;

			if (prev_planner_hook != NULL)
				result = prev_planner_hook(parse, query_string, cursor_options, bound_params);
			else
				result = standard_planner(parse, query_string, cursor_options, bound_params);
			segext_citus_count_updates_of(query_string);
			return result;
		}
		if (citus_catalog()->segext_distributed)
		{
			bool		holds_company = false;
			bool		returns_rows;
			PlannedStmt *result;

			Oid			view = citus_write_through_view(parse);

			if (OidIsValid(citus_catalog()->current_company_fn) && calls_function((Node *) parse, citus_catalog()->current_company_fn))
			{
				parse = (Query *) company_mutator((Node *) parse, current_company_const());
				company_plans = true;
				holds_company = true;
			}
			citus_check_null_company(parse);
			citus_check_kept_company(parse);
			if (segext_membership_notices_wanted())
				citus_mark_written_company(parse);
			if (OidIsValid(view))
				citus_check_view_company(parse, view);
			returns_rows = citus_return_rows_of_insert_select(parse);
			segext_citus_mark_counted_upserts(parse, citus_is_distributed_table);
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
	if (IsA(node, FuncExpr) && ((FuncExpr *) node)->funcid == citus_catalog()->current_company_fn)
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
	if (!citus_is_loaded() || have_group || citus_shard_map_building() || !IsTransactionState())
		return false;
	citus_shard_map_ensure();
	return citus_catalog()->segext_distributed;
}

/*
 * citus_executor_start makes the shard group of a statement on a shard of
 * segext's tables current while it runs (with its triggers), and has a
 * counted upsert on a shard count its updates.
 */
static void
citus_executor_start(QueryDesc *query, int eflags)
{
	if (citus_is_loaded() && !citus_shard_map_building() && IsTransactionState() &&
		shard_statement_depth < MAX_SHARD_STATEMENT_DEPTH)
	{
		ListCell   *lc;

		foreach(lc, query->plannedstmt->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
			ShardEntry *entry;

			if (rte->rtekind != RTE_RELATION || !citus_shard_map_lookup(rte->relid, &entry))
				continue;
			shard_statements[shard_statement_depth].query = query;
			shard_statements[shard_statement_depth].subxact = GetCurrentSubTransactionId();
			shard_statements[shard_statement_depth].had_group = have_group;
			shard_statements[shard_statement_depth].previous_group = current_group;
			shard_statement_depth++;
			group_enter(true, entry->group);
			break;
		}
		if (!have_group && citus_catalog()->segext_distributed)
		{
			invalidate_segments_written(query);
			if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 && segext_membership_notices_wanted() &&
				!citus_deleting_grants() && writes_segext_table(query))
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
			citus_grants_statement_start(query, eflags);
		}
	}
	if (citus_is_loaded())
		segext_citus_upsert_start(query, eflags);
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
		citus_is_loaded() && !citus_shard_map_building() && IsTransactionState())
	{
		Oid			relid = RangeVarGetRelid(((CopyStmt *) parsetree)->relation, NoLock, true);
		ShardEntry *entry;

		if (OidIsValid(relid) && citus_shard_map_lookup(relid, &entry))
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
		if (citus_is_local_placement(rte->relid))
			return false;
		if (!OidIsValid(nsp))
			nsp = get_namespace_oid("segext", true);
		if (OidIsValid(nsp) && get_rel_namespace(rte->relid) == nsp)
			return true;
	}
	return false;
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
		if (citus_found_loaded() && !have_group)
			segext_citus_rethrow_relayed_error(caller_context);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * citus_executor_end sends the count of rows a counted upsert on a shard
 * updated, restores the group that was current before a statement on a
 * shard, sends the membership notifications of a write of segext's tables
 * this node started, and deletes the grants of the companies a DELETE it
 * started removed.
 */
static void
citus_executor_end(QueryDesc *query)
{
	if (citus_found_loaded())
		segext_citus_upsert_end(query);
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
	citus_grants_statement_end(query);
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
		citus_grants_abort(InvalidSubTransactionId);
		touched_shards = false;
		segext_citus_upsert_abort(InvalidSubTransactionId);
		if (have_group || plans_rewritten)
			group_enter(false, 0);
		citus_shard_map_forget_unknown();
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
	citus_grants_abort(subxact);
	segext_citus_upsert_abort(subxact);
}
