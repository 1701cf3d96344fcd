/*-------------------------------------------------------------------------
 *
 * membership.h
 *	  Always-fresh segment membership (membership.c): what the maintenance
 *	  of customer states calls to change the members of the customers it
 *	  touched, and what the SQL functions and triggers of membership share:
 *	  the owner's writes of members and the lookup of a segment by id.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_MEMBERSHIP_H
#define SEGEXT_MEMBERSHIP_H

#include "postgres.h"

#include "objectid.h"
#include "role_switch.h"

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
 * State saved while segext writes segext.memberships as its owner: only
 * segext writes members (the table's guard refuses anyone else), after the
 * caller's right to act for the company has been checked.
 */
typedef SegextRoleSwitch MembersWrite;

/* Switch to the owner of segext.memberships for segext's own writes of members. */
extern void membership_write_begin(MembersWrite *w);

/* Restore the caller's role and search_path after membership_write_begin. */
extern void membership_write_end(MembersWrite *w);

/* How many memberships this backend has changed so far. */
extern int64 membership_change_count(void);

/*
 * Find a segment by id among the current company's segments (with no
 * current company, among every company's, where it must be unique): its
 * company, number and, when asked, criteria (NULL: manual), active flag and
 * name.  22023 when no segment or several match.
 */
extern void membership_segment_row(const SegextObjectId *segment, SegextObjectId *company,
								   int *number, Datum *criteria, bool *manual, bool *active,
								   char **name);

/* The company and number of a segment (membership_segment_row). */
extern void membership_segment_company(const SegextObjectId *segment, SegextObjectId *company,
									   int *number);

struct Engine;

/*
 * Run the engine over its customers (e->only, or the whole company) with a
 * snapshot taken now and write the differences of the target segments (none:
 * every active segment); returns how many memberships changed.
 */
extern int64 membership_evaluate_and_write(struct Engine *e, const SegextObjectId *targets,
										   int ntargets);

/*
 * Re-evaluate the targets (none: every active segment) and the built-ins
 * for every customer of a company from the state, under the company's state
 * lock; returns how many memberships changed.
 */
extern int64 membership_evaluate_company_segments(const SegextObjectId *company,
												  const SegextObjectId *targets, int ntargets);

#endif							/* SEGEXT_MEMBERSHIP_H */
