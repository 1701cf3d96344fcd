/*-------------------------------------------------------------------------
 *
 * citus_upsert.c
 *	  PostgREST's count of inserted rows (pgrst.inserted) for an upsert
 *	  through a Citus coordinator.
 *
 *	  PostgREST's PUT, and its POST with resolution=merge-duplicates, is an
 *	  INSERT ... SELECT ... ON CONFLICT DO UPDATE whose SELECT adds 1 to the
 *	  setting pgrst.inserted for each row and whose DO UPDATE takes 1 off it
 *	  again in its WHERE, a call of set_config(): PostgREST reads the setting
 *	  in the same transaction to answer 201 (a row inserted) or 200.  Citus
 *	  refuses that WHERE (its functions must be IMMUTABLE); and the DO UPDATE
 *	  runs on a worker, whose settings the coordinator does not see.  So:
 *
 *	  On the node that starts the statement, the planner hook replaces that
 *	  WHERE, when it is exactly PostgREST's (and the SELECT's WHERE holds
 *	  PostgREST's increment), by an always true condition on a constant
 *	  that names the count, which Citus accepts and sends to the shard.  The
 *	  WHERE was always true as well: each row's increment precedes its
 *	  decrement (Citus evaluates the whole SELECT on this node first).
 *
 *	  On the node of the shard, the statement on the shard whose DO UPDATE
 *	  has that condition drops it and counts the rows its ON CONFLICT
 *	  updated (the ModifyTable node's instrumentation); at the statement's
 *	  end it sends the count to the node that started the statement as a
 *	  WARNING of a form of its own (kept out of the server log), which Citus
 *	  relays to that node's log hook: there the count is taken off
 *	  pgrst.inserted (set_config(..., true), as the WHERE did) and the
 *	  message off the client's output.  When the shard is on the node that
 *	  started the statement (Citus's local execution), the count is taken
 *	  off there directly.
 *
 *	  Any other WHERE of an ON CONFLICT stays as it is (Citus refuses it as
 *	  before); nothing here runs unless Citus is loaded.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "citus.h"
#include "citus_errors.h"

#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "common/hashfn.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/ruleutils.h"

/* The setting PostgREST counts inserted rows in. */
#define PGRST_INSERTED "pgrst.inserted"

/* PostgREST's increment (in the SELECT's WHERE) and decrement (in the DO UPDATE's), deparsed. */
#define PGRST_INCREMENT "(set_config('pgrst.inserted'::text, ((COALESCE((NULLIF(current_setting('pgrst.inserted'::text, true), ''::text))::integer, 0) + 1))::text, true) <> '0'::text)"
#define PGRST_DECREMENT "(set_config('pgrst.inserted'::text, ((COALESCE((NULLIF(current_setting('pgrst.inserted'::text, true), ''::text))::integer, 0) - 1))::text, true) <> '-1'::text)"

/*
 * The constant of the condition that takes the decrement's place: the shard
 * counts the rows its ON CONFLICT updates.
 */
#define UPDATES_COUNTED_MARK "pgrst.inserted: updated rows counted by segext"

/* The message that carries a shard's count to the node that started the statement. */
#define UPDATED_ROWS_MESSAGE "\x1fsegext upsert updated rows "

/* A statement on a shard whose ON CONFLICT updates are counted. */
typedef struct CountingStatement
{
	QueryDesc  *query;
	SubTransactionId subxact;	/* the subtransaction it started in */
} CountingStatement;

#define MAX_COUNTING_DEPTH 16

static CountingStatement counting_statements[MAX_COUNTING_DEPTH];
static int	counting_depth = 0;
static bool counting_planned = false;	/* a statement planned to count its updates is to start */
static size_t counting_text_len = 0;	/* the length of its text */
static uint32 counting_text_hash = 0;	/* the hash of its text */
static bool sending_count = false;	/* this backend is raising its count's message */

/*
 * has_other_nodes tells whether an expression holds anything else than
 * constants, function and operator calls, casts, COALESCE and NULLIF (and
 * their lists of arguments) (a
 * column, a parameter, a subquery...): without them it deparses without a
 * range table.
 */
static bool
has_other_nodes(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (!IsA(node, Const) && !IsA(node, FuncExpr) && !IsA(node, OpExpr) &&
		!IsA(node, CoalesceExpr) && !IsA(node, NullIfExpr) && !IsA(node, CoerceViaIO) &&
		!IsA(node, RelabelType) && !IsA(node, List))
		return true;
	return expression_tree_walker(node, has_other_nodes, context);
}

/*
 * is_pgrst_count tells whether a condition is exactly PostgREST's increment
 * or decrement of pgrst.inserted (expected, deparsed as one node's
 * catalog functions and operators print).
 */
static bool
is_pgrst_count(Node *node, const char *expected)
{
	OpExpr	   *op = (OpExpr *) node;
	char	   *text;

	if (node == NULL || !IsA(op, OpExpr) || get_opcode(op->opno) != F_TEXTNE || list_length(op->args) != 2 ||
		!IsA(linitial(op->args), FuncExpr) ||
		((FuncExpr *) linitial(op->args))->funcid != F_SET_CONFIG ||
		!IsA(lsecond(op->args), Const))
		return false;
	if (has_other_nodes(node, NULL))
		return false;
	text = deparse_expression(node, NIL, false, false);
	return strcmp(text, expected) == 0;
}

/*
 * selects_with_increment tells whether the SELECT of an INSERT ... SELECT
 * has PostgREST's increment of pgrst.inserted among the conjuncts of its
 * WHERE.
 */
static bool
selects_with_increment(Query *insert)
{
	RangeTblRef *source;
	RangeTblEntry *rte;
	Query	   *select;
	ListCell   *lc;

	if (insert->jointree == NULL || list_length(insert->jointree->fromlist) != 1)
		return false;
	source = (RangeTblRef *) linitial(insert->jointree->fromlist);
	if (!IsA(source, RangeTblRef))
		return false;
	rte = rt_fetch(source->rtindex, insert->rtable);
	if (rte->rtekind != RTE_SUBQUERY || rte->subquery == NULL)
		return false;
	select = rte->subquery;
	if (select->jointree == NULL || select->jointree->quals == NULL)
		return false;
	foreach(lc, make_ands_implicit((Expr *) select->jointree->quals))
	{
		if (is_pgrst_count(lfirst(lc), PGRST_INCREMENT))
			return true;
	}
	return false;
}

/* updates_counted_mark makes the condition that takes the decrement's place. */
static Node *
updates_counted_mark(void)
{
	NullTest   *test = makeNode(NullTest);

	test->arg = (Expr *) makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
								   CStringGetTextDatum(UPDATES_COUNTED_MARK), false, false);
	test->nulltesttype = IS_NOT_NULL;
	test->argisrow = false;
	test->location = -1;
	return (Node *) test;
}

/* is_updates_counted_mark tells whether a condition is updates_counted_mark's. */
static bool
is_updates_counted_mark(Node *node)
{
	NullTest   *test = (NullTest *) node;
	Const	   *value;

	if (node == NULL || !IsA(test, NullTest) || test->nulltesttype != IS_NOT_NULL ||
		!IsA(test->arg, Const))
		return false;
	value = (Const *) test->arg;
	return value->consttype == TEXTOID && !value->constisnull &&
		strcmp(TextDatumGetCString(value->constvalue), UPDATES_COUNTED_MARK) == 0;
}

/*
 * mark_counted_upsert replaces PostgREST's decrement in the DO UPDATE of an
 * INSERT into a table that distributed() accepts by updates_counted_mark;
 * returns whether it did.
 */
static bool
mark_counted_upsert(Query *insert, bool (*distributed) (Oid relid))
{
	RangeTblEntry *target;

	if (insert->commandType != CMD_INSERT || insert->onConflict == NULL ||
		insert->onConflict->action != ONCONFLICT_UPDATE ||
		insert->resultRelation <= 0 || insert->resultRelation > list_length(insert->rtable))
		return false;
	target = rt_fetch(insert->resultRelation, insert->rtable);
	if (target->rtekind != RTE_RELATION || !distributed(target->relid))
		return false;
	if (!is_pgrst_count(insert->onConflict->onConflictWhere, PGRST_DECREMENT) ||
		!selects_with_increment(insert))
		return false;
	insert->onConflict->onConflictWhere = updates_counted_mark();
	return true;
}

/*
 * segext_citus_mark_counted_upserts marks PostgREST's counted upserts of a
 * statement this node starts on segext's distributed tables (the statement
 * itself or a writable CTE of it) for their shards to count their updates.
 */
void
segext_citus_mark_counted_upserts(Query *parse, bool (*distributed) (Oid relid))
{
	ListCell   *lc;

	if (parse->commandType == CMD_INSERT)
		mark_counted_upsert(parse, distributed);
	foreach(lc, parse->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

		if (IsA(cte->ctequery, Query))
			mark_counted_upsert((Query *) cte->ctequery, distributed);
	}
}

/*
 * segext_citus_take_upsert_mark drops the mark of a counted upsert from an
 * INSERT into a shard and returns whether it had one.
 */
bool
segext_citus_take_upsert_mark(Query *parse)
{
	if (parse->commandType != CMD_INSERT || parse->onConflict == NULL ||
		parse->onConflict->action != ONCONFLICT_UPDATE ||
		!is_updates_counted_mark(parse->onConflict->onConflictWhere))
		return false;
	parse->onConflict->onConflictWhere = NULL;
	return true;
}

/*
 * segext_citus_count_updates_of has the statement just planned from a text
 * count its ON CONFLICT updates when it starts (the plan it starts with may
 * be a copy: it is known by its text).
 */
void
segext_citus_count_updates_of(const char *query_string)
{
	counting_planned = query_string != NULL;
	if (counting_planned)
	{
		counting_text_len = strlen(query_string);
		counting_text_hash = hash_bytes((const unsigned char *) query_string, (int) counting_text_len);
	}
}

/*
 * segext_citus_upsert_start has the statement planned to count its updates
 * instrument its rows (the count is the ModifyTable node's).
 */
void
segext_citus_upsert_start(QueryDesc *query, int eflags)
{
	size_t		len;

	if (!counting_planned || query->operation != CMD_INSERT || query->sourceText == NULL)
		return;
	len = strlen(query->sourceText);
	if (len != counting_text_len ||
		hash_bytes((const unsigned char *) query->sourceText, (int) len) != counting_text_hash)
		return;
	counting_planned = false;
	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0 || counting_depth >= MAX_COUNTING_DEPTH)
		return;
	counting_statements[counting_depth].query = query;
	counting_statements[counting_depth].subxact = GetCurrentSubTransactionId();
	counting_depth++;
	query->instrument_options |= INSTRUMENT_ROWS;
}

/* updated_rows_walker adds up the rows that the ON CONFLICT of ModifyTable nodes updated. */
static bool
updated_rows_walker(PlanState *state, void *context)
{
	if (state == NULL)
		return false;
	if (IsA(state, ModifyTableState) && ((ModifyTable *) state->plan)->onConflictAction == ONCONFLICT_UPDATE &&
		state->instrument != NULL)
		*(double *) context += state->instrument->ntuples2;
	return planstate_tree_walker(state, updated_rows_walker, context);
}

/* take_off_updates takes a number of updated rows off pgrst.inserted in this transaction. */
static void
take_off_updates(int64 updated)
{
	const char *current = GetConfigOption(PGRST_INSERTED, true, false);
	int64		inserted = 0;
	char		value[32];

	if (current != NULL && current[0] != '\0')
		inserted = pg_strtoint32(current);
	snprintf(value, sizeof(value), INT64_FORMAT, inserted - updated);
	(void) set_config_option(PGRST_INSERTED, value, superuser() ? PGC_SUSET : PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
}

/*
 * segext_citus_upsert_end sends the number of rows that a counting
 * statement's ON CONFLICT updated to the node that started it (or takes
 * them off here when this is that node); call before the executor ends it.
 */
void
segext_citus_upsert_end(QueryDesc *query)
{
	double		updated = 0;

	if (counting_depth == 0 || counting_statements[counting_depth - 1].query != query)
		return;
	counting_depth--;
	if (query->planstate != NULL)
		updated_rows_walker(query->planstate, &updated);
	if (updated <= 0)
		return;
	if (!segext_citus_internal_session())
	{
		take_off_updates((int64) updated);
		return;
	}
	{
		int			saved_client_min_messages = client_min_messages;

		/* the node that started the statement gets it whatever the role's settings */
		if (client_min_messages > WARNING)
			client_min_messages = WARNING;
		sending_count = true;
		PG_TRY();
		{
			ereport(WARNING,
					(errmsg_internal(UPDATED_ROWS_MESSAGE INT64_FORMAT, (int64) updated),
					 errhidestmt(true), errhidecontext(true)));
		}
		PG_FINALLY();
		{
			sending_count = false;
			client_min_messages = saved_client_min_messages;
		}
		PG_END_TRY();
	}
}

/*
 * segext_citus_upsert_message handles the message of a count in the log
 * hook: the sender keeps it out of its server log; the receiver takes the
 * count off pgrst.inserted and the message off its log and client output.
 * Returns whether the message was one.
 */
bool
segext_citus_upsert_message(ErrorData *edata)
{
	const char *count;
	int64		updated;

	if (edata->elevel != WARNING || edata->message == NULL ||
		strncmp(edata->message, UPDATED_ROWS_MESSAGE, strlen(UPDATED_ROWS_MESSAGE)) != 0)
		return false;
	edata->output_to_server = false;
	if (sending_count)
		return true;
	edata->output_to_client = false;
	count = edata->message + strlen(UPDATED_ROWS_MESSAGE);
	updated = 0;
	while (*count >= '0' && *count <= '9' && updated < PG_INT32_MAX)
		updated = updated * 10 + (*count++ - '0');
	if (updated > 0 && IsTransactionState())
		take_off_updates(updated);
	return true;
}

/* segext_citus_upsert_abort forgets the counting statements of an aborted (sub)transaction. */
void
segext_citus_upsert_abort(SubTransactionId subxact)
{
	if (subxact == InvalidSubTransactionId)
		counting_depth = 0;
	while (counting_depth > 0 && counting_statements[counting_depth - 1].subxact == subxact)
		counting_depth--;
	counting_planned = false;
	sending_count = false;
}
