/*-------------------------------------------------------------------------
 *
 * segment_members.h
 *	  What the member listing (segment_members.c) shares with the preview
 *	  of criteria: the narrowing to the customers of customer lists.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_SEGMENT_MEMBERS_H
#define SEGEXT_SEGMENT_MEMBERS_H

#include "postgres.h"
#include "utils/array.h"

#include "criteria.h"

/*
 * When only customers named by customer lists can match the criteria, the
 * fewest such customers found (an objectid[], possibly with repeats), else
 * NULL.
 */
extern ArrayType *segext_listed_candidates(const SegextCriteria *c);

#endif							/* SEGEXT_SEGMENT_MEMBERS_H */
