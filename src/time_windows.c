/*-------------------------------------------------------------------------
 *
 * time_windows.c
 *	  Criteria that change with the calendar (last_purchase_n_days_before,
 *	  anniversary), re-checked on a schedule: the month-day keys of the
 *	  anniversary indexes, and segext.recheck_time_windows, which
 *	  re-evaluates only the customers whose window edge was crossed since a
 *	  company's last run (segext.time_window_candidates picks them, through
 *	  indexes) and records the run in segext.time_window_checks.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "tenancy.h"
#include "role_switch.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "objectid.h"

/* The role and settings saved while SPI runs as the owner of segext's tables. */
typedef SegextRoleSwitch OwnerContext;

static void become_owner(OwnerContext *ctx);
static void restore_caller(OwnerContext *ctx);
static int64 recheck_company(const SegextObjectId *company);

PG_FUNCTION_INFO_V1(segext_month_day);
/*
 * segext_month_day returns month * 100 + day of a date (229 for 29
 * February), NULL for an infinite date.
 */
Datum
segext_month_day(PG_FUNCTION_ARGS)
{
	DateADT		d = PG_GETARG_DATEADT(0);
	int			y,
				m,
				dd;

	if (DATE_NOT_FINITE(d))
		PG_RETURN_NULL();
	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
	PG_RETURN_INT32(m * 100 + dd);
}

PG_FUNCTION_INFO_V1(segext_utc_month_day);
/*
 * segext_utc_month_day returns month * 100 + day of a timestamptz's date in
 * UTC (not the session's time zone, so that it can be indexed), NULL for an
 * infinite timestamp.
 */
Datum
segext_utc_month_day(PG_FUNCTION_ARGS)
{
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(0);
	struct pg_tm tm;
	fsec_t		fsec;

	if (TIMESTAMP_NOT_FINITE(ts))
		PG_RETURN_NULL();
	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	PG_RETURN_INT32(tm.tm_mon * 100 + tm.tm_mday);
}

/*
 * become_owner makes SPI run as the owner of segext.time_window_checks
 * (only segext writes it) with search_path pg_catalog, pg_temp.
 */
static void
become_owner(OwnerContext *ctx)
{
	segext_switch_role(ctx, segext_table_owner("time_window_checks"));
}

/* restore_caller undoes become_owner. */
static void
restore_caller(OwnerContext *ctx)
{
	segext_restore_role(ctx);
}

/*
 * recheck_company re-evaluates the customers of one company whose time
 * window edge was crossed between its last run (on the first run: the span
 * of its criteria's windows) and the transaction's start, holding the
 * company's row of segext.time_window_checks locked, and moves the last run
 * there; returns the number of membership changes.  The caller has checked
 * that the current user may change the company.
 */
static int64
recheck_company(const SegextObjectId *company)
{
	OwnerContext owner;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	Oid			idtype = segext_objectid_type();
	Datum		args[3];
	Oid			types[3];
	char		nulls[3] = "   ";
	bool		isnull;
	bool		first_run;
	TimestampTz last = 0;
	Datum		ids = (Datum) 0;
	int64		ncandidates = 0;
	int64		changed = 0;

	types[0] = idtype;
	args[0] = PointerGetDatum(company);

	/* the company's row, locked: a concurrent recheck waits for this one */
	become_owner(&owner);
	if (SPI_execute_with_args("INSERT INTO segext.time_window_checks (company_id) VALUES ($1) "
							  "ON CONFLICT (company_id) DO NOTHING",
							  1, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute_with_args failed");
	if (SPI_execute_with_args("SELECT checked_at FROM segext.time_window_checks "
							  "WHERE company_id OPERATOR(pg_catalog.=) $1 FOR NO KEY UPDATE",
							  1, types, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed");
	if (SPI_processed != 1)
		elog(ERROR, "time window check of a company not found");
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		first_run = isnull;
		if (!isnull)
			last = DatumGetTimestampTz(d);
	}

	if (first_run || last < now)
	{
		/* the customers whose window edge was crossed in (last, now] */
		types[1] = TIMESTAMPTZOID;
		types[2] = TIMESTAMPTZOID;
		args[1] = TimestampTzGetDatum(last);
		nulls[1] = first_run ? 'n' : ' ';
		args[2] = TimestampTzGetDatum(now);
		if (SPI_execute_with_args("SELECT pg_catalog.array_agg(DISTINCT t.id), pg_catalog.count(DISTINCT t.id) "
								  "FROM segext.time_window_candidates($1, $2, $3) AS t(id)",
								  3, types, args, nulls, false, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "SPI_execute_with_args failed");
		ids = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		ncandidates = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		if (ncandidates > 0)
			ids = SPI_datumTransfer(ids, false, -1);
	}
	restore_caller(&owner);

	if (ncandidates > 0)
	{
		/* re-evaluated as the caller: the same checks as any membership write */
		types[1] = get_array_type(idtype);
		args[1] = ids;
		if (SPI_execute_with_args("SELECT segext.reevaluate_customers($1, $2)",
								  2, types, args, NULL, false, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "SPI_execute_with_args failed");
		changed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (isnull)
			changed = 0;
	}

	/* the last run moves only here, in the transaction of the re-evaluation */
	become_owner(&owner);
	types[1] = TIMESTAMPTZOID;
	types[2] = INT8OID;
	args[1] = TimestampTzGetDatum(now);
	args[2] = Int64GetDatum(ncandidates);
	if (SPI_execute_with_args("UPDATE segext.time_window_checks SET "
							  "checked_at = GREATEST(checked_at, $2), customers = $3 "
							  "WHERE company_id OPERATOR(pg_catalog.=) $1",
							  3, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "SPI_execute_with_args failed");
	restore_caller(&owner);
	return changed;
}

PG_FUNCTION_INFO_V1(segext_recheck_time_windows);
/*
 * segext_recheck_time_windows re-checks the time windows of one company, or
 * (NULL) of the current company (an admin with none: every company, in id
 * order); returns the number of membership changes.
 */
Datum
segext_recheck_time_windows(PG_FUNCTION_ARGS)
{
	int64		changed = 0;
	MemoryContext fncxt = CurrentMemoryContext;
	SegextObjectId *companies;
	uint64		ncompanies;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!PG_ARGISNULL(0))
	{
		companies = PG_GETARG_SEGEXT_OBJECTID_P(0);
		segext_company_must_be_visible(companies, "Pass the id of the current company, or NULL for every company the role may act for.");
		ncompanies = 1;
	}
	else
	{
		/*
		 * the current company, else (an admin with none) every company row
		 * level security lets the caller see
		 */
		if (SPI_execute("SELECT c.id FROM segext.companies AS c, "
						"(SELECT segext.current_company_id() AS id) AS cur "
						"WHERE cur.id IS NULL OR c.id OPERATOR(pg_catalog.=) cur.id ORDER BY c.id",
						true, 0) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed");
		ncompanies = SPI_processed;
		if (ncompanies == 0)
		{
			/* no company: refused unless a current company or admin applies */
			segext_check_company_access(NULL);
			SPI_finish();
			PG_RETURN_INT64(0);
		}
		companies = MemoryContextAlloc(fncxt, sizeof(SegextObjectId) * ncompanies);
		for (uint64 i = 0; i < ncompanies; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

			companies[i] = *DatumGetSegextObjectIdP(d);
		}
	}
	for (uint64 i = 0; i < ncompanies; i++)
	{
		CHECK_FOR_INTERRUPTS();
		segext_check_company_access(&companies[i]);
		changed += recheck_company(&companies[i]);
	}
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	PG_RETURN_INT64(changed);
}
