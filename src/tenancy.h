/*-------------------------------------------------------------------------
 *
 * tenancy.h
 *	  The current company and who may read or change a company's rows
 *	  (tenancy.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_TENANCY_H
#define SEGEXT_TENANCY_H

#include "postgres.h"

struct SegextObjectId;

/*
 * Raise 42501 unless the current user may change (access) or read
 * (read_access) the rows of the company.
 */
extern void segext_check_company_access(const struct SegextObjectId *company);
extern void segext_check_company_read_access(const struct SegextObjectId *company);

/*
 * Raise 22023 (with hint) unless a company with this id is visible to the
 * current user; the caller is connected to SPI.
 */
extern void segext_company_must_be_visible(const struct SegextObjectId *company, const char *hint);

/* Set *company to the current company and return true, or return false when none is current. */
extern bool segext_get_current_company(struct SegextObjectId *company);

/*
 * Set *company to the current company, or raise the error of an unusable
 * company input or 42501 "no current company".
 */
extern void segext_require_company(struct SegextObjectId *company);

#endif							/* SEGEXT_TENANCY_H */
