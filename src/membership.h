/*-------------------------------------------------------------------------
 *
 * membership.h
 *	  Always-fresh segment membership (membership.c): what the maintenance
 *	  of customer states calls to change the members of the customers it
 *	  touched.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_MEMBERSHIP_H
#define SEGEXT_MEMBERSHIP_H

#include "postgres.h"

#include "objectid.h"

/*
 * Re-evaluate n customers of a company (ids: segext.objectid datums)
 * against every active segment from their state and write the membership
 * differences; the caller holds the company's state lock.  Returns the
 * number of memberships that changed.
 */
extern int64 segext_reevaluate_customers(const SegextObjectId *company, Datum *ids, int n);

/*
 * Re-evaluate every segment for every customer of every company (after the
 * customer states were emptied).
 */
extern void segext_reevaluate_every_company(void);

/*
 * Lock every segment of a company in the lock order, segment 0 first, then
 * by id, with the caller's SPI connection.
 */
extern void segext_lock_company_segments(const SegextObjectId *company);

/* Register the relcache callback of the compiled segments (from _PG_init). */
extern void segext_membership_init(void);

#endif							/* SEGEXT_MEMBERSHIP_H */
