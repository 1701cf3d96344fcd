/*-------------------------------------------------------------------------
 *
 * evaluate_internal.h
 *	  What the files of the evaluator share (evaluate.c, evaluate_row.c,
 *	  requirements.c, evaluate_customer.c): the compiled requirements, the
 *	  walkers over a criteria value, and the helpers of explain.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_EVALUATE_INTERNAL_H
#define SEGEXT_EVALUATE_INTERNAL_H

#include "evaluate.h"

/* The criteria value behind one handle and the slots of its criteria. */
typedef struct CompiledCriteria
{
	const SegextCriteria *criteria;
	int		   *slot_start;		/* per criterion: index into slots */
	int		   *slots;
} CompiledCriteria;

/* The slot hash of requirements (a simplehash table, requirements.c). */
struct slothash_hash;

/* Compiled requirements of a list of criteria values. */
struct SegextRequirements
{
	struct slothash_hash *table;
	int			nslots[SEGEXT_SLOT_NKINDS];
	SegextPeriod *periods;
	int			maxperiods;
	CompiledCriteria *compiled;
	int			ncompiled;
	int			maxcompiled;
	uint32		needs;
};

/*
 * Decides one criterion (by index) for the walkers; ex, when not NULL, gets
 * the value that decided it (eval_explain_note).
 */
typedef bool (*LeafMatch) (void *ctx, uint32 index, SegextExplain *ex);

/*
 * Evaluate a criteria value of either shape (parts or a tree of groups),
 * deciding each criterion with leaf and recording into ex when given.
 */
extern bool eval_match_criteria(const SegextCriteria *criteria, LeafMatch leaf, void *ctx,
								SegextExplain *ex);

/*
 * Record, for the criterion being explained, the value that decided it and
 * what it needs (both palloc'd text).
 */
extern void eval_explain_note(SegextExplain *ex, char *value, char *requirement);

/* A string as a quoted JSON string. */
extern char *eval_json_quoted(const char *str, int len);

/*
 * Evaluate field criterion number index against a row (plan may be NULL;
 * ex, when not NULL, gets the field's value).
 */
extern bool eval_field(const SegextCriteria *cr, const SegextRowPlan *plan, uint32 index,
					   SegextFieldLookup lookup, void *arg, SegextExplain *ex);

/*
 * A purchase_period bound as a timestamp: a date bound (is_date) is that
 * day's 00:00, or with end its last microsecond, in the session time zone.
 */
extern TimestampTz eval_resolve_bound(int64 v, bool is_date, bool end);

#endif							/* SEGEXT_EVALUATE_INTERNAL_H */
