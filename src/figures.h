/*-------------------------------------------------------------------------
 *
 * figures.h
 *	  The figures of a customer state row: the times of counted sales and the
 *	  multisets of POS ids, SKUs, makers and item labels, in memory (Figures)
 *	  and in their stored bytea format.  Shared by the files of the customer
 *	  state (figures.c, state_accum.c, customer_facts.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_FIGURES_H
#define SEGEXT_FIGURES_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* Format version of figures (first byte after the varlena header). */
#define FIGURES_VERSION		1

/* The multisets of figures, in their stored order. */
typedef enum FigList
{
	FIG_POS = 0,
	FIG_SKU,
	FIG_MAKER,
	FIG_LABEL,					/* key in a, value in b */
	FIG_NLISTS
} FigList;

/* One distinct sale time and its number of counted sales. */
typedef struct FigTime
{
	TimestampTz at;
	int64		count;
} FigTime;

/* One value of a multiset (a; b too for item labels) and its count. */
typedef struct FigEntry
{
	const char *a;
	const char *b;
	int32		alen;
	int32		blen;
	int64		count;
} FigEntry;

/*
 * Figures in memory: appended in any order, normalized (sorted, equal
 * values added, zero counts dropped) by segext_figures_normalize.
 */
typedef struct Figures
{
	MemoryContext cxt;			/* of the arrays; NULL: the current one */
	int			ntimes;
	int			cap_times;
	FigTime    *times;
	int			n[FIG_NLISTS];
	int			cap[FIG_NLISTS];
	FigEntry   *e[FIG_NLISTS];
} Figures;

/* Add a sale time with a count to figures. */
extern void segext_figures_add_time(Figures *f, TimestampTz at, int64 count);

/* Add a value of multiset k (and b for item labels) with a count to figures. */
extern void segext_figures_add_entry(Figures *f, int k, const char *a, int alen,
									 const char *b, int blen, int64 count);

/* Add b to the count or amount *a, refusing an overflow (22003). */
extern void segext_figures_add_count(int64 *a, int64 b);

/* Sort figures, add equal values and drop zero counts. */
extern void segext_figures_normalize(Figures *f);

/* Stored figures (a bytea), NULL when they are empty. */
extern bytea *segext_figures_encode(const Figures *f);

/* Read stored figures into f (values point into v). */
extern void segext_figures_decode(const bytea *v, Figures *f);

/* Read length-prefixed bytes at *p, advancing it. */
extern const char *segext_figures_get_bytes(const char **p, const char *end, int32 *len);

/* Read a value of multiset k at *p, advancing it, and add it with a count. */
extern void segext_figures_read_entry(Figures *f, int k, const char **p, const char *end, int64 count);

#endif							/* SEGEXT_FIGURES_H */
