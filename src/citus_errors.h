/*-------------------------------------------------------------------------
 *
 * citus_errors.h
 *	  Errors of segext's shards as one node raises them: shard names
 *	  replaced, and the fields Citus drops relayed from a worker to the node
 *	  that started the statement (citus_errors.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_CITUS_ERRORS_H
#define SEGEXT_CITUS_ERRORS_H

#include "postgres.h"

/* The table of a shard of segext's tables on this node by its id (citus.c). */
extern const char *segext_citus_shard_id_table(int64 shardid);

extern void segext_citus_unshard_error(ErrorData *edata);
extern bool segext_citus_internal_session(void);
extern void segext_citus_relay_error(ErrorData *edata);
extern void segext_citus_restore_relayed_error(ErrorData *edata);
extern void segext_citus_rethrow_relayed_error(MemoryContext context);

#endif							/* SEGEXT_CITUS_ERRORS_H */
