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

#endif							/* SEGEXT_MEMBERSHIP_H */
