/*-------------------------------------------------------------------------
 *
 * trigger_check.h
 *	  The one check that a C trigger function of segext is fired the way
 *	  its CREATE TRIGGER must attach it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_TRIGGER_CHECK_H
#define SEGEXT_TRIGGER_CHECK_H

#include "postgres.h"

#include "commands/trigger.h"
#include "fmgr.h"

/*
 * What a trigger function requires of its firing, ORed together: at most one
 * timing, at most one level, any number of events (the firing event must be
 * one of them) and the transition tables it reads.
 */
#define SEGEXT_TRIGGER_BEFORE		0x0001
#define SEGEXT_TRIGGER_AFTER		0x0002
#define SEGEXT_TRIGGER_ROW			0x0004
#define SEGEXT_TRIGGER_STATEMENT	0x0008
#define SEGEXT_TRIGGER_INSERT		0x0010
#define SEGEXT_TRIGGER_UPDATE		0x0020
#define SEGEXT_TRIGGER_DELETE		0x0040
#define SEGEXT_TRIGGER_TRUNCATE		0x0080
#define SEGEXT_TRIGGER_OLD_TABLE	0x0100
#define SEGEXT_TRIGGER_NEW_TABLE	0x0200

/*
 * Raise 39P01 unless the function (named name) runs as a trigger fired as
 * required; return its trigger data.
 */
extern TriggerData *segext_check_trigger_call(FunctionCallInfo fcinfo, const char *name,
											  int required);

#endif							/* SEGEXT_TRIGGER_CHECK_H */
