/*-------------------------------------------------------------------------
 *
 * segment_locks.h
 *	  The lock of a company's segments, first in the lock order, and the
 *	  checks of a stale snapshot (segment_locks.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_SEGMENT_LOCKS_H
#define SEGEXT_SEGMENT_LOCKS_H

#include "postgres.h"

#include "objectid.h"

/*
 * Lock every segment of a company in the lock order, segment 0 first, then
 * by id, with the caller's SPI connection.
 */
extern void segext_lock_company_segments(const SegextObjectId *company);

/*
 * At REPEATABLE READ and SERIALIZABLE: 40001 when a member count row of the
 * company was written by a transaction that committed after the snapshot.
 */
extern void segext_check_members_unchanged(const SegextObjectId *company);

/*
 * At REPEATABLE READ and SERIALIZABLE: 40001 when a segment of the company,
 * or the members of a manual one, changed after the snapshot.
 */
extern void segext_check_definitions_unchanged(const SegextObjectId *company);

#endif							/* SEGEXT_SEGMENT_LOCKS_H */
