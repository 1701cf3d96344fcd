/*-------------------------------------------------------------------------
 *
 * role_switch.h
 *	  Running segext's own SQL as the owner of its tables (role_switch.c):
 *	  the switch of role and search_path that triggers and functions make
 *	  before they read or write what only segext may touch.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_ROLE_SWITCH_H
#define SEGEXT_ROLE_SWITCH_H

#include "postgres.h"

/* What segext_switch_role saved, for segext_restore_role. */
typedef struct SegextRoleSwitch
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} SegextRoleSwitch;

/* The owner of table segext.<relname>. */
extern Oid	segext_table_owner(const char *relname);

/*
 * Switch to role (InvalidOid: keep the current one), without forced row
 * level security, with search_path pg_catalog, pg_temp.
 */
extern void segext_switch_role(SegextRoleSwitch *rs, Oid role);

/* Restore the role and search_path saved by segext_switch_role. */
extern void segext_restore_role(SegextRoleSwitch *rs);

#endif							/* SEGEXT_ROLE_SWITCH_H */
