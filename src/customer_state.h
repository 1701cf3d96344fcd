/*-------------------------------------------------------------------------
 *
 * customer_state.h
 *	  Per-customer state (segext.customer_states): the figures of a
 *	  customer's transactions that every criterion kind needs, kept by
 *	  statement triggers, and the one function that turns a state row and a
 *	  customer row into the SegextCustomerFacts the evaluator reads.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_CUSTOMER_STATE_H
#define SEGEXT_CUSTOMER_STATE_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "storage/lockdefs.h"

#include "evaluate.h"

/*
 * The transaction figures of one segext.customer_states row.  A customer
 * without a row has no transactions: sales and amount 0, figures NULL.
 */
typedef struct SegextStateRow
{
	int64		sales;			/* counted sales */
	int64		amount;			/* all sales and returns, SEGEXT_AMOUNT_SCALE units */
	const bytea *figures;		/* sale times and multisets, or NULL */
} SegextStateRow;

/*
 * A segext.customers row: its columns are the first natts of desc (a query
 * may append columns of its own after them).  Fill with
 * segext_customer_row_init, then point values/nulls at each row.
 */
typedef struct SegextCustomerRow
{
	TupleDesc	desc;
	int			natts;
	Datum	   *values;
	bool	   *nulls;
	int			a_id;
	int			a_active;
	int			a_birth;
	int			a_registered;
	int			a_labels;
	int			a_attributes;
	char	   *buf;			/* last text made by the field lookup */
} SegextCustomerRow;

/* Find the columns of a customer row whose columns are desc's first natts. */
extern void segext_customer_row_init(SegextCustomerRow *row, TupleDesc desc, int natts);

/*
 * SegextFieldLookup over a SegextCustomerRow: a customer column by name
 * (not labels or attributes), else a top-level key of attributes.
 */
extern bool segext_customer_row_field(void *arg, const char *field, int field_len,
									  const char **value, int *value_len);

/*
 * Fill facts (reset beforehand by the caller) for reqs from a customer's
 * state row and customer row: the one place where per-customer figures are
 * made from the state.
 */
extern void segext_facts_fill(const SegextRequirements *reqs,
							  SegextCustomerFacts *facts,
							  const SegextEvalTime *time,
							  const SegextStateRow *state,
							  const SegextCustomerRow *customer);

/*
 * Take a transaction lock on a company's state: ShareLock for the
 * maintenance of customers, ExclusiveLock for a change of segments or
 * manual members and for a rebuild (membership.c has the lock order).
 */
extern void segext_lock_company_state(const SegextObjectId *company, LOCKMODE mode);

/*
 * Replace a company's customer states by ones computed from its
 * transactions; the caller holds the company's state in ExclusiveLock and
 * is connected to SPI.  Returns the number of state rows.
 */
extern int64 segext_rebuild_company_states(const SegextObjectId *company);

/*
 * The latest sale time with a positive count in a customer's figures; false
 * when there is none.
 */
extern bool segext_figures_last_sale(const bytea *figures, TimestampTz *last);

#endif							/* SEGEXT_CUSTOMER_STATE_H */
