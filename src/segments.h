/*-------------------------------------------------------------------------
 *
 * segments.h
 *	  The rules of segments (segments.c): the built-in segment numbers, the
 *	  number of a company's segment, the in_segment references of criteria
 *	  that are not saved, and the error of a segment that does not exist.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_SEGMENTS_H
#define SEGEXT_SEGMENTS_H

#include "postgres.h"

/* Built-in segment numbers and the range of user segment numbers. */
#define SEGMENT_ALL			0
#define SEGMENT_DEFAULT		1
#define SEGMENT_NUMBER_MIN	2
#define SEGMENT_NUMBER_MAX	65535

struct SegextObjectId;
struct SegextCriteria;

/*
 * The number of the segment of a company (objectid datums) with this id,
 * read by a rule connected to SPI; false when the company has no such
 * segment.
 */
extern bool rules_segment_number(Datum company, Datum id, bool latest, int32 *number);

/*
 * Criteria that are not saved, with the segments their in_segment criteria
 * name resolved to ids of a company's segments and checked as saving them
 * would check them.
 */
extern struct SegextCriteria *segext_resolve_segment_refs(const struct SegextObjectId *company,
														  struct SegextCriteria *criteria);

/*
 * Raise 22023 "segment ... does not exist" for a segment of a company named
 * by id (id not NULL: among the current company's segments) or by number
 * (of the company whose id company_hex spells), with the caller's hint.
 */
extern void segext_report_missing_segment(const struct SegextObjectId *id, int32 number,
										  const char *company_hex, const char *hint)
			pg_attribute_noreturn();

#endif							/* SEGEXT_SEGMENTS_H */
