/*-------------------------------------------------------------------------
 *
 * criteria_build.h
 *	  What the files of the criteria parser share (criteria_parse.c,
 *	  criteria_params.c, criteria_regex.c): the state of one parse, the errors
 *	  that name where in the document a problem is, and small jsonb and
 *	  data-area helpers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_CRITERIA_BUILD_H
#define SEGEXT_CRITERIA_BUILD_H

#include "criteria.h"

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

/* A string list item while building: bytes, length, pair value, flag. */
typedef struct BuildItem
{
	char	   *str;
	int			len;
	char	   *str2;			/* value of a key/value pair */
	int			len2;
	uint8		flag;			/* field in/nin: 1 = number */
} BuildItem;

/* State of one parse: location for messages and the value being built. */
typedef struct CritBuild
{
	int			part_no;		/* 1-based, for messages */
	int			crit_no;		/* 1-based within the part */
	int			kind;			/* kind of the current criterion, or 0 */
	const char *label;			/* name shown in messages */
	SegextCriterion *crits;
	int			ncrits;
	int			maxcrits;
	uint32	   *part_end;
	int			nparts;
	int			maxparts;
	StringInfoData data;		/* the data area */
	bool		field_only;
	const char *path;			/* tree: where the current node is, or NULL */
	SegextNode *nodes;			/* tree: the nodes in prefix order */
	int			nnodes;
	int			maxnodes;
} CritBuild;

/* Reports a document whose overall shape is wrong (22P02). */
extern void segext_criteria_shape_error(const char *detail) pg_attribute_noreturn();

/* Reports a problem of the current criterion or node (22023), naming where it is. */
extern void segext_criteria_error(CritBuild *b, const char *fmt,...) pg_attribute_printf(2, 3) pg_attribute_noreturn();

/* Rejects any key of obj that is neither allowed nor ignored. */
extern void segext_criteria_check_keys(CritBuild *b, JsonbContainer *obj,
									   const char *const *allowed, int nallowed,
									   const char *ignored, const char *what);

/* Which group an object is (SEGEXT_NODE_*), or 0 for none. */
extern int	segext_criteria_group_kind(JsonbContainer *obj);

/* Validates one criterion object and appends its record (criteria_params.c). */
extern void segext_criteria_parse_criterion(CritBuild *b, JsonbValue *v);

/* Refuses a regular expression beyond the limits or invalid (criteria_regex.c). */
extern void segext_criteria_check_regex(CritBuild *b, const char *pat, int len);

/* data_align pads the data area with zero bytes to a multiple of align. */
static inline void
data_align(CritBuild *b, int align)
{
	while (b->data.len % align != 0)
		appendStringInfoChar(&b->data, '\0');
}

/* data_add_string appends a NUL-terminated string and returns its entry. */
static inline SegextString
data_add_string(CritBuild *b, const char *str, int len)
{
	SegextString s;

	s.off = b->data.len;
	s.len = len;
	appendBinaryStringInfo(&b->data, str, len);
	appendStringInfoChar(&b->data, '\0');
	return s;
}

/* key_eq compares a jsonb string value with a C string key. */
static inline bool
key_eq(const JsonbValue *k, const char *key)
{
	return k->val.string.len == (int) strlen(key) &&
		memcmp(k->val.string.val, key, k->val.string.len) == 0;
}

/* object_get fetches a key of a jsonb object (NULL when absent). */
static inline JsonbValue *
object_get(JsonbContainer *obj, const char *key)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);
}

/* is_object tells whether a jsonb value is an object. */
static inline bool
is_object(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

/* is_array tells whether a jsonb value is an array. */
static inline bool
is_array(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

#endif							/* SEGEXT_CRITERIA_BUILD_H */
