/*-------------------------------------------------------------------------
 *
 * criteria_kinds.h
 *	  The words of the criteria language, shared by the parser and the
 *	  printer: each criterion kind's name, parameters and example, the field
 *	  operators' names and the group keys.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_CRITERIA_KINDS_H
#define SEGEXT_CRITERIA_KINDS_H

#include "criteria.h"

/* Description of one criterion kind: name, parameters and an example. */
typedef struct SegextKindInfo
{
	const char *name;
	const char *params[3];		/* allowed parameter keys, alphabetical */
	const char *example;
} SegextKindInfo;

/* Every criterion kind, indexed by SegextCriterionKind. */
extern const SegextKindInfo segext_criteria_kinds[SEGEXT_CRIT_KIND_MAX + 1];

/* Field operator names, indexed by SegextFieldOp. */
extern const char *const segext_criteria_op_names[SEGEXT_OP_MAX + 1];

/* JSON keys of the group nodes, indexed by SEGEXT_NODE_*. */
extern const char *const segext_criteria_group_keys[SEGEXT_NODE_NOT + 1];

/* The kind of a criterion type name, 0 when unknown (not "field"). */
extern int	segext_criteria_lookup_kind(const char *s, int len);

/* The code of a field operator name, 0 when unknown. */
extern int	segext_criteria_lookup_op(const char *s, int len);

#endif							/* SEGEXT_CRITERIA_KINDS_H */
