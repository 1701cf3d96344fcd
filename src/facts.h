/*-------------------------------------------------------------------------
 *
 * facts.h
 *	  The per-customer transaction facts aggregate (segext.customer_facts):
 *	  the state it returns and how the membership engine reads it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_FACTS_H
#define SEGEXT_FACTS_H

#include "postgres.h"

#include "evaluate.h"

/*
 * Copy the transaction figures of a segext.customer_facts result into facts
 * (reset beforehand), for requirements built from the same criteria in the
 * same order.
 */
extern void segext_facts_from_state(const SegextRequirements *reqs,
									const bytea *state,
									SegextCustomerFacts *facts);

#endif							/* SEGEXT_FACTS_H */
