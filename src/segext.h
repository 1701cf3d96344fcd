/*-------------------------------------------------------------------------
 *
 * segext.h
 *	  Shared declarations of the segext extension: the version policy,
 *	  SQLSTATEs and module init functions, kept in one place.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_H
#define SEGEXT_H

#include "postgres.h"

#include "access/htup.h"
#include "fmgr.h"
#include "utils/relcache.h"

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
 * Whether Citus is loaded and installed in this database, and the cursor options a kept
 * statement is prepared with there (citus.c).
 */
extern bool segext_citus_installed(void);
extern int	segext_plan_cursor_options(int cursor_options);

/*
 * Plan the statements made inside a statement on a shard of segext's tables
 * against the shards of its shard group; the distributed table of a local
 * shard, or InvalidOid (citus.c).
 */
extern void segext_citus_init(void);
extern Oid	segext_citus_shard_table(Oid relid);
extern void segext_citus_trigger_group(Relation rel);

/*
 * Run a function of one company on the node of its shard group; the local
 * shard (and index) of one of segext's tables in the current group (citus.c).
 */
struct SegextObjectId;
extern bool segext_citus_route(FunctionCallInfo fcinfo, const struct SegextObjectId *company,
							   Datum *result);
extern Oid	segext_citus_local_relation(Oid relid);
extern Oid	segext_citus_local_index(Oid index, Oid table, Oid local_table);
extern void segext_citus_company_changed(void);
extern bool segext_citus_initiating(void);

/*
 * Send the membership notifications that the triggers on Citus shards left
 * in the outbox of this distributed transaction (member_changes.c).
 */
extern bool segext_membership_notices_wanted(void);
extern void segext_membership_notices_send(const struct SegextObjectId *companies, int ncompanies);

/*
 * The current company handed from a Citus coordinator to its workers
 * (company_token.c).
 */
extern void segext_company_token_init(void);
extern const char *segext_company_token(void);
extern void segext_citus_coordinate(void);
#define SEGEXT_TOKEN_CLAIM	'c'		/* a trusted claim of a gateway session */
#define SEGEXT_TOKEN_ADMIN	'a'		/* segext.company_id of an admin */
#define SEGEXT_TOKEN_GRANT	'g'		/* a company granted to the role */
extern bool segext_company_token_verify(struct SegextObjectId *company, char *source,
										bool *writable);
extern void segext_company_token_send(const struct SegextObjectId *company, char source,
									  bool writable);

/* Module init functions, called from _PG_init in segext.c. */
extern void segext_tenancy_init(void);

/*
 * Raise 42501 unless the current user may change (access) or read
 * (read_access) the rows of the company (tenancy.c).
 */
struct SegextObjectId;
extern void segext_check_company_access(const struct SegextObjectId *company);
extern void segext_check_company_read_access(const struct SegextObjectId *company);

/*
 * Raise 22023 (with hint) unless a company with this id is visible to the
 * current user; the caller is connected to SPI (tenancy.c).
 */
extern void segext_company_must_be_visible(const struct SegextObjectId *company, const char *hint);

/*
 * Raise the error of an unusable company input: an ungranted
 * segext.company_id (42501) or a malformed claim of a gateway session
 * (22P02) (tenancy.c).
 */
extern void segext_require_current_company(void);
extern void segext_segment_cache_init(void);
extern void segext_events_init(void);
extern void segext_customer_state_init(void);
extern void segext_member_changes_init(void);
extern void segext_drop_guard_init(void);
extern void segext_unique_detail_init(void);

/*
 * Remember company_id and the key columns of a row a BEFORE ROW trigger lets
 * through, for the DETAIL of a unique violation (unique_detail.c).
 */
extern void segext_remember_row_keys(Relation rel, HeapTuple tuple,
									 const char *const *columns, int ncolumns);

/*
 * Give a row a user writes segext's created_at and updated_at and refuse a
 * change of its company_id or id (rules.c).
 */
extern HeapTuple segext_keep_maintained(Relation rel, HeapTuple oldtuple,
										HeapTuple newtuple, const char *what);

/*
 * Lock every segment of a company in the lock order, segment 0 first, then
 * by id, with the caller's SPI connection (membership.c).
 */
extern void segext_lock_company_segments(const struct SegextObjectId *company);

/*
 * Criteria that are not saved, with the segments their in_segment criteria
 * name resolved to ids of a company's segments and checked as saving them
 * would check them (rules.c).
 */
extern struct SegextCriteria *segext_resolve_segment_refs(const struct SegextObjectId *company,
														  struct SegextCriteria *criteria);

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
