/*-------------------------------------------------------------------------
 *
 * citus_writes.c
 *	  What the coordinator changes in a write of segext's distributed tables
 *	  before Citus plans it: a write through a segext_api view becomes a
 *	  write of its table that Citus accepts, with the view's CHECK OPTION
 *	  checked on this node (segext.view_checked_company(), which Citus
 *	  evaluates here); a row without a company gets the errors of one node;
 *	  an INSERT ... SELECT under row level security returns rows so that
 *	  Citus inserts them on the shards as the role, not with COPY; and the
 *	  companies a write names by constants or parameters are wrapped in
 *	  segext.written_company(), so that only their outboxes are read; an
 *	  UPDATE that changes a row's company raises one node's error
 *	  (segext.company_kept()).
 *	  citus.c's planner hook calls these.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "citus_shard_map.h"
#include "citus_writes.h"
#include "rules.h"
#include "tenancy.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "objectid.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"

/*
 * citus_write_through_view lets Citus plan a write through one of
 * segext_api's views.  PostgreSQL has already rewritten it into a write of
 * the view's table, with the view's conditions (Citus does not evaluate its
 * CHECK OPTION: citus_check_view_company adds it for an INSERT); the view stays first in the range table, only for its
 * privileges to be checked,
 * and Citus refuses a statement holding it ("cannot modify views when the
 * query contains citus tables").  So the view's privileges are checked
 * here, as the executor would, and the view's entry is replaced by the
 * table's.  Returns the view, or InvalidOid for any other statement.
 */
Oid
citus_write_through_view(Query *parse)
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
	*column = InvalidAttrNumber;
	if (parse->commandType != CMD_INSERT ||
		parse->resultRelation <= 0 || parse->resultRelation > list_length(parse->rtable))
		return NULL;
	*target = rt_fetch(parse->resultRelation, parse->rtable);
	if ((*target)->rtekind != RTE_RELATION)
		return NULL;
	*column = citus_distribution_column((*target)->relid);
	if (*column == InvalidAttrNumber)
		return NULL;
	return target_entry_of_column(parse, *column);
}

/*
 * citus_check_null_company raises for an INSERT of a row without a company what
 * one node raises (Citus would refuse it first with 22004 "cannot perform
 * an INSERT with NULL in the partition column"): 42501 "no current
 * company" when none is current (the rules' trigger), 42501 of row level
 * security for a role it holds to the current company, else 23502 of the
 * NOT NULL constraint.
 */
void
citus_check_null_company(Query *parse)
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
 * citus_return_rows_of_insert_select gives an INSERT ... SELECT into one of
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
bool
citus_return_rows_of_insert_select(Query *parse)
{
	RangeTblEntry *target;
	RangeTblRef *source;
	TargetEntry *returned;

	if (parse->commandType != CMD_INSERT || parse->returningList != NIL ||
		parse->onConflict != NULL)
		return false;
	if (parse->resultRelation <= 0 || parse->resultRelation > list_length(parse->rtable))
		return false;
	target = rt_fetch(parse->resultRelation, parse->rtable);
	if (target->rtekind != RTE_RELATION || !citus_is_distributed_table(target->relid))
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

	return (Node *) makeFuncExpr(citus_catalog()->view_checked_company_fn, segext_objectid_type(),
								 list_make2(company, view_const), InvalidOid, InvalidOid,
								 COERCE_EXPLICIT_CALL);
}

/*
 * citus_check_view_company makes an INSERT through a segext_api view WITH CHECK
 * OPTION check the company of each row on this node, before Citus routes
 * it (Citus drops the view's check): the company of its rows is wrapped in
 * segext.view_checked_company(), in each row of a multi-row VALUES, in the
 * SELECT of an INSERT ... SELECT.
 */
void
citus_check_view_company(Query *parse, Oid view)
{
	RangeTblEntry *target;
	RangeTblEntry *source;
	AttrNumber	column;
	TargetEntry *tle;
	ListCell   *lc;
	bool		checked = false;

	if (!OidIsValid(citus_catalog()->view_checked_company_fn))
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

/*
 * The kind of row each table whose rules keep its company names in its
 * errors (the "what" its BEFORE trigger passes to segext_keep_maintained).
 */
static const struct
{
	const char *table;
	const char *what;
}			kept_company_tables[] =
{
	{"segments", "segment"},
	{"segment_groups", "segment group"},
	{"channels", "channel"},
	{"customers", "customer"},
	{"transactions", "transaction"},
};

/* kept_company_what returns the kind of row of one of segext's tables whose rules keep its company, or NULL. */
static const char *
kept_company_what(Oid relid)
{
	const char *name;

	if (get_rel_namespace(relid) != get_namespace_oid("segext", true))
		return NULL;
	name = get_rel_name(relid);
	for (int i = 0; name != NULL && i < lengthof(kept_company_tables); i++)
		if (strcmp(name, kept_company_tables[i].table) == 0)
			return kept_company_tables[i].what;
	return NULL;
}

/* has_multiexpr_param tells whether an expression holds a column of a multiple-column SET's sub-SELECT. */
static bool
has_multiexpr_param(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_MULTIEXPR)
		return true;
	return expression_tree_walker(node, has_multiexpr_param, context);
}

/* column_of_target returns a Var of a column of an UPDATE's target. */
static Var *
column_of_target(Query *parse, Oid relid, AttrNumber column)
{
	Oid			type;
	int32		typmod;
	Oid			collation;

	get_atttypetypmodcoll(relid, column, &type, &typmod, &collation);
	return makeVar(parse->resultRelation, column, type, typmod, collation, 0);
}

/*
 * kept_company_label returns the expression of a row's name in the rules'
 * errors: its name column when the table has one, else its id as text.
 */
static Node *
kept_company_label(Query *parse, Oid relid)
{
	AttrNumber	column = get_attnum(relid, "name");
	Var		   *var;
	CoerceViaIO *as_text;

	if (column == InvalidAttrNumber)
		column = get_attnum(relid, "id");
	var = column_of_target(parse, relid, column);
	if (var->vartype == TEXTOID)
		return (Node *) var;
	as_text = makeNode(CoerceViaIO);
	as_text->arg = (Expr *) var;
	as_text->resulttype = TEXTOID;
	as_text->resultcollid = DEFAULT_COLLATION_OID;
	as_text->coerceformat = COERCE_EXPLICIT_CAST;
	as_text->location = -1;
	return (Node *) as_text;
}

/*
 * citus_check_kept_company makes an UPDATE of one of segext's distributed
 * tables whose rules keep a row's company (kept_company_tables) that sets
 * the company to anything but itself raise what one node raises (Citus
 * would refuse it first with 0A000 "modifying the partition value of rows
 * is not allowed"): the company is set to itself, and the condition
 * segext.company_kept(company_id, <the value asked for>, <what>, <label>)
 * is added to the WHERE, where the shard evaluates it, after the
 * statement's own conditions and row level security, for each row the
 * update would change.
 */
void
citus_check_kept_company(Query *parse)
{
	RangeTblEntry *target;
	AttrNumber	column;
	TargetEntry *tle;
	const char *what;
	Var		   *company;
	FuncExpr   *kept;

	if (!OidIsValid(citus_catalog()->company_kept_fn) || parse->commandType != CMD_UPDATE ||
		parse->resultRelation <= 0 || parse->resultRelation > list_length(parse->rtable))
		return;
	target = rt_fetch(parse->resultRelation, parse->rtable);
	if (target->rtekind != RTE_RELATION || (what = kept_company_what(target->relid)) == NULL)
		return;
	column = citus_distribution_column(target->relid);
	if (column == InvalidAttrNumber || (tle = target_entry_of_column(parse, column)) == NULL)
		return;
	company = column_of_target(parse, target->relid, column);
	if (equal(tle->expr, company) || has_multiexpr_param((Node *) tle->expr, NULL))
		return;
	kept = makeFuncExpr(citus_catalog()->company_kept_fn, BOOLOID,
						list_make4(company, tle->expr,
								   makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
											 CStringGetTextDatum(what), false, false),
								   kept_company_label(parse, target->relid)),
						InvalidOid, DEFAULT_COLLATION_OID, COERCE_EXPLICIT_CALL);
	tle->expr = (Expr *) copyObject(company);
	if (parse->jointree == NULL)
		parse->jointree = makeFromExpr(NIL, NULL);
	parse->jointree->quals = make_and_qual(parse->jointree->quals, (Node *) kept);
}

PG_FUNCTION_INFO_V1(segext_company_kept);
/*
 * segext_company_kept returns true when the company a row has is the one
 * an UPDATE sets, and otherwise raises what the rules' trigger raises on
 * one node: 22023 "cannot move <what> "<label>" to another company".
 */
Datum
segext_company_kept(PG_FUNCTION_ARGS)
{
	const char *what;
	const char *label;

	if (PG_ARGISNULL(0) == PG_ARGISNULL(1) &&
		(PG_ARGISNULL(0) || segext_objectid_equal(PG_GETARG_SEGEXT_OBJECTID_P(0),
												   PG_GETARG_SEGEXT_OBJECTID_P(1))))
		PG_RETURN_BOOL(true);
	what = PG_ARGISNULL(2) ? "row" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	label = PG_ARGISNULL(3) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(3));
	rules_refuse_company_move(what, label);
	PG_RETURN_BOOL(false);
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
	return (Expr *) makeFuncExpr(citus_catalog()->written_company_fn, segext_objectid_type(), list_make1(company),
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

		if (!IsA(op, OpExpr) || op->opno != citus_catalog()->objectid_eq_op || list_length(op->args) != 2)
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
 * citus_mark_written_company makes a write this node starts of one of segext's
 * distributed tables name the company of its rows while it runs, when the
 * statement fixes it by a constant or a parameter: the company of each row
 * of an INSERT ... VALUES is wrapped in segext.written_company(), an UPDATE
 * or DELETE whose condition holds the company equal to one gets the
 * condition segext.written_company(that) IS NOT NULL.  Citus evaluates the
 * call on this node before it routes the statement, which then reads the
 * outbox of those companies only (citus_executor_end).  Other writes are
 * left as they are and read the outbox of every shard.
 */
void
citus_mark_written_company(Query *parse)
{
	const CitusCatalog *catalog = citus_catalog();
	RangeTblEntry *target;
	AttrNumber	column;

	if (!OidIsValid(catalog->written_company_fn) || !OidIsValid(catalog->objectid_eq_op))
		return;
	if ((parse->commandType != CMD_INSERT && parse->commandType != CMD_UPDATE &&
		 parse->commandType != CMD_DELETE) || parse->hasModifyingCTE ||
		parse->resultRelation <= 0 || parse->resultRelation > list_length(parse->rtable))
		return;
	target = rt_fetch(parse->resultRelation, parse->rtable);
	if (target->rtekind != RTE_RELATION)
		return;
	column = citus_distribution_column(target->relid);
	if (column == InvalidAttrNumber)
		return;
	if (parse->commandType == CMD_INSERT)
		mark_inserted_company(parse, column);
	else
	{
		Node	   *company = qualified_company(parse, target, column);
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
