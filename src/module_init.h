/*-------------------------------------------------------------------------
 *
 * module_init.h
 *	  The init functions of segext's modules, called once per backend from
 *	  _PG_init (segext.c); membership.h declares membership's.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_MODULE_INIT_H
#define SEGEXT_MODULE_INIT_H

extern void segext_tenancy_init(void);
extern void segext_segment_cache_init(void);
extern void segext_events_init(void);
extern void segext_customer_state_init(void);
extern void segext_member_changes_init(void);
extern void segext_drop_guard_init(void);
extern void segext_unique_detail_init(void);
extern void segext_citus_init(void);
extern void segext_company_token_init(void);

#endif							/* SEGEXT_MODULE_INIT_H */
