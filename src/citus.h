/*-------------------------------------------------------------------------
 *
 * citus.h
 *	  segext on Citus: planning on the shards of segext's tables and
 *	  routing a company's functions (citus.c), the membership notifications
 *	  of shards (member_changes.c), the current company handed from a
 *	  coordinator to its workers (company_token.c) and PostgREST's count of
 *	  upserted rows (citus_upsert.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_CITUS_H
#define SEGEXT_CITUS_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/relcache.h"

struct SegextObjectId;

/*
 * Whether Citus is loaded and installed in this database, and the cursor
 * options a kept statement is prepared with there (citus.c).
 */
extern bool segext_citus_installed(void);
extern int	segext_plan_cursor_options(int cursor_options);

/*
 * Plan the statements made inside a statement on a shard of segext's tables
 * against the shards of its shard group; the distributed table of a local
 * shard, or InvalidOid (citus.c).
 */
extern Oid	segext_citus_shard_table(Oid relid);
extern void segext_citus_trigger_group(Relation rel);

/*
 * Run a function of one company on the node of its shard group; the local
 * shard (and index) of one of segext's tables in the current group (citus.c).
 */
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
extern const char *segext_company_token(void);
extern void segext_citus_coordinate(void);
#define SEGEXT_TOKEN_CLAIM	'c'		/* a trusted claim of a gateway session */
#define SEGEXT_TOKEN_ADMIN	'a'		/* segext.company_id of an admin */
#define SEGEXT_TOKEN_GRANT	'g'		/* a company granted to the role */
extern bool segext_company_token_verify(struct SegextObjectId *company, char *source,
										bool *writable);
extern void segext_company_token_send(const struct SegextObjectId *company, char source,
									  bool writable);

/*
 * PostgREST's count of inserted rows for an upsert through a coordinator:
 * its decrement replaced by a mark on the node that starts the statement,
 * the updates counted on the shard's node and taken off pgrst.inserted
 * where the statement started (citus_upsert.c).
 */
struct QueryDesc;
struct Query;
extern void segext_citus_mark_counted_upserts(struct Query *parse, bool (*distributed) (Oid relid));
extern bool segext_citus_take_upsert_mark(struct Query *parse);
extern void segext_citus_count_updates_of(const char *query_string);
extern void segext_citus_upsert_start(struct QueryDesc *query, int eflags);
extern void segext_citus_upsert_end(struct QueryDesc *query);
extern bool segext_citus_upsert_message(ErrorData *edata);
extern void segext_citus_upsert_abort(SubTransactionId subxact);

#endif							/* SEGEXT_CITUS_H */
