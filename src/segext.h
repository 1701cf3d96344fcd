/*-------------------------------------------------------------------------
 *
 * segext.h
 *	  What every part of the segext extension shares: the version policy,
 *	  segext's own SQLSTATE, the one relcache callback and the
 *	  materialize-mode set-returning function call.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_H
#define SEGEXT_H

#include "postgres.h"

#include "fmgr.h"

/*
 * Version policy: segext supports PostgreSQL 15 only, the one major version
 * it is built and tested on (its install script needs 15: views with
 * security_invoker).  The C has no branches for other major versions and
 * refuses to build for them; the one PG_VERSION_NUM test left picks the name
 * a 15 minor release gives to a function.
 */
#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 160000
#error "segext supports PostgreSQL 15 only"
#endif

/*
 * SQLSTATE for a refusal the vendor APIs answer with 403 Forbidden; PostgREST
 * maps an SQLSTATE "PTxyz" to HTTP status xyz.
 */
#define ERRCODE_SEGEXT_FORBIDDEN	MAKE_SQLSTATE('P','T','4','0','3')

/*
 * Register a module's relcache callback; segext takes one of PostgreSQL's
 * few relcache callback slots for all of them (segext.c).
 */
extern void segext_register_relcache_callback(void (*callback) (Datum arg, Oid relid));

/*
 * Set-returning functions in materialize mode: 15.0 names the function
 * SetSingleFuncCall, 15.1 and later InitMaterializedSRF.
 */
#if PG_VERSION_NUM >= 150001
#define segext_init_materialized_srf(fcinfo) InitMaterializedSRF((fcinfo), 0)
#else
#define segext_init_materialized_srf(fcinfo) SetSingleFuncCall((fcinfo), 0)
#endif

#endif							/* SEGEXT_H */
