/*-------------------------------------------------------------------------
 *
 * state_accum.h
 *	  The accumulation of one statement's (or one rebuild's) changes of
 *	  customer states: one delta per customer, spilled to temporary files when
 *	  they outgrow their memory, and written to segext.customer_states in
 *	  batches.  Used by the triggers and the rebuild in customer_state.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_STATE_ACCUM_H
#define SEGEXT_STATE_ACCUM_H

#include "postgres.h"

#include "executor/tuptable.h"
#include "storage/buffile.h"
#include "utils/hsearch.h"
#include "utils/tuplestore.h"

#include "objectid.h"
#include "role_switch.h"

/* A customer of a company: the key of a state row and of a delta. */
typedef struct StateKey
{
	SegextObjectId company;
	SegextObjectId customer;
} StateKey;

/* The change a statement makes to one customer's state. */
typedef struct Delta
{
	StateKey	key;			/* hash key, first */
	int64		transactions;
	int64		sales;
	int64		amount;
	char	   *log;			/* the figure changes, packed (see log_entry) */
	int32		loglen;
	int32		logcap;
} Delta;

/* Tag of a sale time in a delta's log (the multisets use their FigList). */
#define LOG_TIME	FIG_NLISTS

/* Columns of segext.transactions the state reads, in this order. */
enum
{
	TC_COMPANY = 0,
	TC_CUSTOMER,
	TC_AMOUNT,
	TC_RETURNS,
	TC_RETURNED,
	TC_OCCURRED,
	TC_POS,
	TC_SKUS,
	TC_MAKERS,
	TC_LABELS,
	TC_ITEMS,
	TC_NCOLS
};

extern const char *const segext_state_tc_names[TC_NCOLS];

/* Deltas of one statement or rebuild, flushed to the table in batches. */
typedef struct Accum
{
	MemoryContext cxt;			/* deltas and their strings */
	MemoryContext rowcxt;		/* reset after every row */
	HTAB	   *deltas;
	bool		removals;		/* some row was taken off: rows may empty */
	int			ncompanies;
	SegextObjectId companies[8];	/* companies already locked */
	Size		flush_bytes;
	bool		flush_by_caller;	/* rows come by customer: the caller flushes */
	/*
	 * A statement whose changes outgrow flush_bytes keeps only the customers
	 * of class 0 (see class_of) in memory and spills the changes of the
	 * others to one temporary file per class, folded class by class after.
	 */
	uint32		modulus;		/* classes; 1 until the spill starts */
	BufFile   **spill;			/* per class (0 unused), or NULL */
	bool		may_split;		/* on overflow, spill instead of writing */
	bool		pass_flushed;	/* a batch was written: no spill any more */
	int64		rows_read;		/* rows read so far */
	int64		total_rows;		/* rows the statement will read */
	Size		bytes;			/* memory of the deltas, roughly */
	Delta		scratch;		/* one row's change, on its way to a spill file */
	bool		insert_only;	/* a rebuild: no state row of these customers exists */
	int64		written;		/* state rows inserted or updated */
} Accum;

/* The role switch and search_path of the state's own SQL. */
typedef SegextRoleSwitch StateSpi;

/* Make an empty accumulator in the current memory context. */
extern void segext_accum_init(Accum *acc, Size flush_bytes);

/* Add (sign 1) or take off (sign -1) one transaction row (TC_* columns). */
extern void segext_accum_add_row(Accum *acc, Datum *values, bool *nulls, int sign);

/* Add or take off every row of a transition table (attnos: TC_* columns). */
extern void segext_accum_add_tuplestore(Accum *acc, Tuplestorestate *ts, TupleDesc desc,
										const int *attnos, int sign);

/* Write the deltas to segext.customer_states and start again empty. */
extern void segext_accum_flush(Accum *acc);

/* Fold the changes spilled for one class of customers into the deltas. */
extern void segext_accum_spill_fold(Accum *acc, uint32 cls);

/* Connect to SPI as the owner of segext.customer_states. */
extern void segext_state_spi_begin(StateSpi *spi);

/* Restore the role and search_path and leave SPI. */
extern void segext_state_spi_end(StateSpi *spi);

#endif							/* SEGEXT_STATE_ACCUM_H */
