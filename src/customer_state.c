/*-------------------------------------------------------------------------
 *
 * customer_state.c
 *	  Per-customer state (segext.customer_states): what every criterion kind
 *	  needs of a customer's transactions, independent of which segments
 *	  exist, so that any segment is decided from the state row and the
 *	  customer row alone.
 *
 * A state row holds the number of transactions, the number of counted sales
 * (sales not fully returned), the amount of all sales and returns in
 * SEGEXT_AMOUNT_SCALE units (not floored) and "figures": one bytea of this
 * file's own format with the times of counted sales and the multisets
 * (value -> number of counted sales) of POS ids, SKUs, makers and item
 * labels (folded key and value kept apart).  segext.customer_state_figures
 * prints figures as jsonb.
 *
 * Every transaction contributes figures; a write takes the contribution of
 * the old row off and adds that of the new one.  Statement triggers with
 * transition tables fold a statement's rows into one delta per customer
 * (a hash), then upsert each touched state row once, in (company, customer)
 * order, with one SQL statement per batch; the upsert adds the delta's
 * counts to the row's.  A return changes its sale's returned_amount through
 * a nested UPDATE, so "fully returned" arrives as an update of the sale.
 * Counts may be negative for a moment (the nested update of a sale inserted
 * by the same statement is applied before the statement's own rows), so
 * deltas and states add signed counts and drop the entries that reach zero;
 * a row whose every figure is zero is deleted.
 *
 * This file holds the triggers that keep the state (transactions and
 * customers), the lock of a company's state and its rebuild; the
 * accumulation of a statement's changes is in state_accum.c, the figures'
 * format in figures.c and the facts made from a state row in
 * customer_facts.c.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "citus.h"
#include "tenancy.h"
#include "module_init.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "customer_state.h"
#include "kept_plan.h"
#include "membership.h"
#include "objectid.h"
#include "state_accum.h"
#include "trigger_check.h"

/* segext.test_state_flush_kb: see segext_customer_state_init. */
static int	test_state_flush_kb = 0;

/*
 * segext_lock_company_state takes a transaction lock on a company's state
 * (ShareLock for maintenance, ExclusiveLock for changes of segments and
 * rebuilds).  The tag is an advisory lock tag with a field no SQL advisory
 * lock function uses.
 */
void
segext_lock_company_state(const SegextObjectId *company, LOCKMODE mode)
{
	LOCKTAG		tag;
	uint32		tail;

	memcpy(&tail, company->data + 8, sizeof(uint32));
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, hash_bytes(company->data, SEGEXT_OBJECTID_LEN), tail, 0x5345);
	(void) LockAcquire(&tag, mode, false, false);
}

/* flush_bytes is the memory of deltas after which they are written. */
static Size
flush_bytes(void)
{
	if (test_state_flush_kb > 0)
		return (Size) test_state_flush_kb * 1024;
	return Max((Size) work_mem * 1024, (Size) 16 * 1024 * 1024);
}

/*
 * segext_customer_state_init defines segext.test_state_flush_kb, a setting
 * for tests only: the memory of folded changes after which the state
 * maintenance splits or writes them (0, the default: work_mem, at least
 * 16 MB), so that tests can cross the threshold with a few rows.
 */
void
segext_customer_state_init(void)
{
	DefineCustomIntVariable("segext.test_state_flush_kb",
							"For tests only: memory of folded customer state changes before they are split or written.",
							"0 (the default) uses work_mem, at least 16 MB.",
							&test_state_flush_kb,
							0, 0, INT_MAX / 1024,
							PGC_USERSET,
							GUC_UNIT_KB | GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);
}

PG_FUNCTION_INFO_V1(segext_transactions_state);
/*
 * segext_transactions_state is the AFTER ... FOR EACH STATEMENT trigger of
 * segext.transactions (INSERT, UPDATE, DELETE with transition tables, and
 * TRUNCATE): it takes the old rows' contributions off the customer states
 * and adds the new rows'.
 */
Datum
segext_transactions_state(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = segext_check_trigger_call(fcinfo, "transactions_state",
													  SEGEXT_TRIGGER_AFTER | SEGEXT_TRIGGER_STATEMENT);
	TupleDesc	desc;
	int			attnos[TC_NCOLS];
	Accum		acc;

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
	{
		StateSpi	spi;

		segext_state_spi_begin(&spi);
		if (SPI_execute("DELETE FROM segext.customer_states", false, 0) != SPI_OK_DELETE)
			elog(ERROR, "SPI_execute failed");
		/* every customer lost its transactions: every member is re-evaluated */
		segext_reevaluate_every_company();
		segext_state_spi_end(&spi);
		return PointerGetDatum(NULL);
	}
	if ((TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) && trigdata->tg_newtable == NULL) ||
		(TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) && trigdata->tg_oldtable == NULL) ||
		(TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
		 (trigdata->tg_oldtable == NULL || trigdata->tg_newtable == NULL)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" needs the transition tables of its event", "transactions_state"),
				 errhint("Create the trigger with REFERENCING OLD TABLE and/or NEW TABLE.")));
	desc = RelationGetDescr(trigdata->tg_relation);
	for (int c = 0; c < TC_NCOLS; c++)
	{
		attnos[c] = SPI_fnumber(desc, segext_state_tc_names[c]);
		if (attnos[c] <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
					 errmsg("table \"%s\" has no column \"%s\"",
							RelationGetRelationName(trigdata->tg_relation), segext_state_tc_names[c]),
					 errhint("Attach this trigger to segext.transactions only.")));
	}
	segext_accum_init(&acc, flush_bytes());
	acc.may_split = true;
	acc.total_rows = (trigdata->tg_oldtable ? tuplestore_tuple_count(trigdata->tg_oldtable) : 0) +
		(trigdata->tg_newtable ? tuplestore_tuple_count(trigdata->tg_newtable) : 0);
	if (trigdata->tg_oldtable != NULL)
		segext_accum_add_tuplestore(&acc, trigdata->tg_oldtable, desc, attnos, -1);
	if (trigdata->tg_newtable != NULL)
		segext_accum_add_tuplestore(&acc, trigdata->tg_newtable, desc, attnos, 1);
	segext_accum_flush(&acc);
	/* the classes spilled to files, one after the other: each customer written once */
	for (uint32 cls = 1; acc.spill != NULL && cls < acc.modulus; cls++)
	{
		segext_accum_spill_fold(&acc, cls);
		segext_accum_flush(&acc);
	}
	MemoryContextDelete(acc.cxt);
	MemoryContextDelete(acc.rowcxt);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(segext_customers_state);
/*
 * segext_customers_state is the AFTER DELETE FOR EACH STATEMENT trigger of
 * segext.customers: it deletes the state rows of the deleted customers
 * (their transactions' cascade has normally emptied them already).
 */
Datum
segext_customers_state(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	static SegextKeptPlan delete_plan;
	static const Oid types[2] = {KEPT_ARG_OBJECTID_ARRAY, KEPT_ARG_OBJECTID_ARRAY};
	TupleDesc	desc;
	TupleTableSlot *slot;
	int			a_company,
				a_id;
	Datum	   *companies;
	Datum	   *ids;
	int			n = 0;
	int			cap = 64;
	Datum		args[2];
	Oid			idtype = segext_objectid_type();
	StateSpi	spi;

	(void) segext_check_trigger_call(fcinfo, "customers_state",
									 SEGEXT_TRIGGER_AFTER | SEGEXT_TRIGGER_STATEMENT |
									 SEGEXT_TRIGGER_DELETE | SEGEXT_TRIGGER_OLD_TABLE);
	desc = RelationGetDescr(trigdata->tg_relation);
	a_company = SPI_fnumber(desc, "company_id");
	a_id = SPI_fnumber(desc, "id");
	if (a_company <= 0 || a_id <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("table \"%s\" has no columns \"company_id\" and \"id\"",
						RelationGetRelationName(trigdata->tg_relation)),
				 errhint("Attach this trigger to segext.customers only.")));
	companies = palloc(sizeof(Datum) * cap);
	ids = palloc(sizeof(Datum) * cap);
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(trigdata->tg_oldtable);
	while (tuplestore_gettupleslot(trigdata->tg_oldtable, true, false, slot))
	{
		bool		isnull;

		if (n == cap)
		{
			cap *= 2;
			companies = repalloc_huge(companies, sizeof(Datum) * cap);
			ids = repalloc_huge(ids, sizeof(Datum) * cap);
		}
		companies[n] = datumCopy(slot_getattr(slot, a_company, &isnull), false, SEGEXT_OBJECTID_LEN);
		ids[n] = datumCopy(slot_getattr(slot, a_id, &isnull), false, SEGEXT_OBJECTID_LEN);
		n++;
	}
	ExecDropSingleTupleTableSlot(slot);
	if (n == 0)
		return PointerGetDatum(NULL);
	args[0] = PointerGetDatum(construct_array(companies, n, idtype, SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
	args[1] = PointerGetDatum(construct_array(ids, n, idtype, SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
	segext_state_spi_begin(&spi);
	if (SPI_execute_plan(segext_kept_plan(&delete_plan,
										  "DELETE FROM segext.customer_states AS s "
										  "USING ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS d(company_id, customer_id) "
										  "WHERE s.company_id OPERATOR(pg_catalog.=) d.company_id "
										  "AND s.customer_id OPERATOR(pg_catalog.=) d.customer_id",
										  2, types, CURSOR_OPT_GENERIC_PLAN),
						 args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "SPI_execute_plan failed");
	segext_state_spi_end(&spi);
	return PointerGetDatum(NULL);
}

/*
 * segext_rebuild_company_states replaces a company's customer states by
 * ones computed from its transactions in one index scan in customer order
 * (whole customers inserted in batches, so each row is written once); the
 * caller holds the company's state in ExclusiveLock.  Returns the number of
 * state rows.
 */
int64
segext_rebuild_company_states(const SegextObjectId *company)
{
	StateSpi	spi;
	Accum		acc;
	Datum		args[1];
	Oid			types[1];
	int64		rows;
	SegextObjectId last_customer = {{0}};
	Oid			nsp;
	Oid			relid;
	Oid			idxid;
	Oid			eqop;
	Relation	rel;
	Relation	idx;
	TupleDesc	desc;
	int			attnos[TC_NCOLS];
	int			maxatt = 0;
	ScanKeyData key;
	Snapshot	snapshot;
	TupleTableSlot *slot;
	IndexScanDesc scan;

	types[0] = segext_objectid_type();
	args[0] = PointerGetDatum(company);
	segext_state_spi_begin(&spi);
	if (SPI_execute_with_args("DELETE FROM segext.customer_states WHERE company_id OPERATOR(pg_catalog.=) $1",
							  1, types, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "SPI_execute_with_args failed");
	segext_accum_init(&acc, Max((Size) maintenance_work_mem * 1024, flush_bytes()));
	acc.ncompanies = -1;		/* locked above */
	acc.flush_by_caller = true;
	acc.insert_only = true;		/* the company's rows are deleted and locked */

	/*
	 * The company's transactions in customer order, straight from the heap
	 * through transactions_customer_idx (the table owner's read: no row
	 * level security, as the state's own SQL), with a snapshot taken after
	 * the lock, so that it sees the writes waited for.
	 */
	nsp = get_namespace_oid("segext", false);
	/* on Citus, the shard of the current shard group (citus.c) */
	relid = get_relname_relid("transactions", nsp);
	rel = table_open(segext_citus_local_relation(relid), AccessShareLock);
	idxid = get_relname_relid("transactions_customer_idx", nsp);
	if (!OidIsValid(idxid))
		elog(ERROR, "index segext.transactions_customer_idx does not exist");
	idxid = segext_citus_local_index(idxid, relid, RelationGetRelid(rel));
	idx = index_open(idxid, AccessShareLock);
	desc = RelationGetDescr(rel);
	for (int c = 0; c < TC_NCOLS; c++)
	{
		attnos[c] = SPI_fnumber(desc, segext_state_tc_names[c]);
		if (attnos[c] <= 0)
			elog(ERROR, "segext.transactions has no column \"%s\"", segext_state_tc_names[c]);
		maxatt = Max(maxatt, attnos[c]);
	}
	if (idx->rd_index->indnkeyatts < 2 || idx->rd_index->indkey.values[0] != attnos[TC_COMPANY] ||
		idx->rd_index->indkey.values[1] != attnos[TC_CUSTOMER])
		elog(ERROR, "index segext.transactions_customer_idx does not start with company_id, customer_id");
	eqop = get_opfamily_member(idx->rd_opfamily[0], idx->rd_opcintype[0], idx->rd_opcintype[0],
							   BTEqualStrategyNumber);
	if (!OidIsValid(eqop))
		elog(ERROR, "no equality operator for segext.transactions_customer_idx");
	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, idx->rd_opcintype[0],
						   idx->rd_indcollation[0], get_opcode(eqop), PointerGetDatum(company));
	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	slot = table_slot_create(rel, NULL);
	scan = index_beginscan(rel, idx, snapshot, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		Datum		values[TC_NCOLS];
		bool		nulls[TC_NCOLS];

		CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, maxatt);
		for (int c = 0; c < TC_NCOLS; c++)
		{
			values[c] = slot->tts_values[attnos[c] - 1];
			nulls[c] = slot->tts_isnull[attnos[c] - 1];
		}
		/* between two customers every delta is complete: each row is written once */
		if (!nulls[TC_CUSTOMER] &&
			!segext_objectid_equal(DatumGetSegextObjectIdP(values[TC_CUSTOMER]), &last_customer))
		{
			if (MemoryContextMemAllocated(acc.cxt, true) > acc.flush_bytes)
				segext_accum_flush(&acc);
			memcpy(&last_customer, DatumGetPointer(values[TC_CUSTOMER]), SEGEXT_OBJECTID_LEN);
		}
		segext_accum_add_row(&acc, values, nulls, 1);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	segext_accum_flush(&acc);
	rows = acc.written;
	MemoryContextDelete(acc.cxt);
	MemoryContextDelete(acc.rowcxt);
	segext_state_spi_end(&spi);
	return rows;
}

PG_FUNCTION_INFO_V1(segext_rebuild_customer_states);
/*
 * segext_rebuild_customer_states replaces a company's customer states by
 * ones computed from its transactions, under an exclusive lock on the
 * company's state; returns the number of state rows.  Members are not
 * re-evaluated (refresh_company does both).
 */
Datum
segext_rebuild_customer_states(PG_FUNCTION_ARGS)
{
	SegextObjectId *company = PG_GETARG_SEGEXT_OBJECTID_P(0);
	int64		rows;
	Datum		routed;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	segext_company_must_be_visible(company, "Pass the id of the current company.");
	/* on Citus, run on the node of the company's shard group (citus.c) */
	if (segext_citus_route(fcinfo, company, &routed))
	{
		SPI_finish();
		PG_RETURN_DATUM(routed);
	}
	segext_lock_company_state(company, ExclusiveLock);
	rows = segext_rebuild_company_states(company);
	SPI_finish();
	PG_RETURN_INT64(rows);
}
