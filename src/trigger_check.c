/*-------------------------------------------------------------------------
 *
 * trigger_check.c
 *	  The one check that a C trigger function of segext is fired as its
 *	  CREATE TRIGGER must attach it, in the words of PostgreSQL's own
 *	  trigger functions: function "name" was not called by trigger manager,
 *	  function "name" must be fired BEFORE ROW, ... for INSERT or UPDATE.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "trigger_check.h"

#include "lib/stringinfo.h"
#include "utils/rel.h"

/* trigger_events_text lists the events of a requirement ("INSERT or UPDATE"). */
static char *
trigger_events_text(int events)
{
	static const struct
	{
		int			flag;
		const char *word;
	}			names[] = {
		{SEGEXT_TRIGGER_INSERT, "INSERT"},
		{SEGEXT_TRIGGER_UPDATE, "UPDATE"},
		{SEGEXT_TRIGGER_DELETE, "DELETE"},
		{SEGEXT_TRIGGER_TRUNCATE, "TRUNCATE"},
	};
	StringInfoData buf;
	int			count = 0;
	int			seen = 0;
	int			i;

	for (i = 0; i < lengthof(names); i++)
		if (events & names[i].flag)
			count++;
	initStringInfo(&buf);
	for (i = 0; i < lengthof(names); i++)
	{
		if ((events & names[i].flag) == 0)
			continue;
		if (seen > 0)
			appendStringInfoString(&buf, seen == count - 1 ? " or " : ", ");
		appendStringInfoString(&buf, names[i].word);
		seen++;
	}
	return buf.data;
}

/* trigger_firing_text says how a trigger was fired ("AFTER ROW for UPDATE"). */
static char *
trigger_firing_text(TriggerEvent event)
{
	const char *timing = TRIGGER_FIRED_BEFORE(event) ? "BEFORE" :
		TRIGGER_FIRED_AFTER(event) ? "AFTER" : "INSTEAD OF";
	const char *level = TRIGGER_FIRED_FOR_ROW(event) ? "ROW" : "STATEMENT";
	int			fired = TRIGGER_FIRED_BY_INSERT(event) ? SEGEXT_TRIGGER_INSERT :
		TRIGGER_FIRED_BY_UPDATE(event) ? SEGEXT_TRIGGER_UPDATE :
		TRIGGER_FIRED_BY_DELETE(event) ? SEGEXT_TRIGGER_DELETE : SEGEXT_TRIGGER_TRUNCATE;

	return psprintf("%s %s for %s", timing, level, trigger_events_text(fired));
}

/* trigger_protocol_error raises 39P01 for a trigger fired the wrong way. */
static void
trigger_protocol_error(TriggerData *trigdata, const char *name, const char *requirement)
{
	ereport(ERROR,
			(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
			 errmsg("function \"%s\" must be fired %s", name, requirement),
			 errdetail("Trigger \"%s\" on relation \"%s\" was fired %s.",
					   trigdata->tg_trigger->tgname,
					   RelationGetRelationName(trigdata->tg_relation),
					   trigger_firing_text(trigdata->tg_event))));
}

/*
 * segext_check_trigger_call raises 39P01 unless the function (named name)
 * runs as a trigger fired with the timing, level and one of the events in
 * required, with the transition tables it names; it returns the trigger data.
 */
TriggerData *
segext_check_trigger_call(FunctionCallInfo fcinfo, const char *name, int required)
{
	TriggerData *trigdata;
	TriggerEvent event;
	int			events = required & (SEGEXT_TRIGGER_INSERT | SEGEXT_TRIGGER_UPDATE |
									 SEGEXT_TRIGGER_DELETE | SEGEXT_TRIGGER_TRUNCATE);
	bool		timing_ok;
	bool		level_ok;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager", name)));
	trigdata = (TriggerData *) fcinfo->context;
	event = trigdata->tg_event;

	timing_ok = !((required & SEGEXT_TRIGGER_BEFORE) && !TRIGGER_FIRED_BEFORE(event)) &&
		!((required & SEGEXT_TRIGGER_AFTER) && !TRIGGER_FIRED_AFTER(event));
	level_ok = !((required & SEGEXT_TRIGGER_ROW) && !TRIGGER_FIRED_FOR_ROW(event)) &&
		!((required & SEGEXT_TRIGGER_STATEMENT) && !TRIGGER_FIRED_FOR_STATEMENT(event));
	if (!timing_ok || !level_ok)
	{
		const char *timing = (required & SEGEXT_TRIGGER_BEFORE) ? "BEFORE" :
			(required & SEGEXT_TRIGGER_AFTER) ? "AFTER" : NULL;
		const char *level = (required & SEGEXT_TRIGGER_ROW) ? "ROW" :
			(required & SEGEXT_TRIGGER_STATEMENT) ? "STATEMENT" : NULL;

		trigger_protocol_error(trigdata, name,
							   timing && level ? psprintf("%s %s", timing, level) :
							   timing ? timing :
							   (required & SEGEXT_TRIGGER_ROW) ? "FOR EACH ROW" : "FOR EACH STATEMENT");
	}

	if (events != 0 &&
		!((TRIGGER_FIRED_BY_INSERT(event) && (events & SEGEXT_TRIGGER_INSERT)) ||
		  (TRIGGER_FIRED_BY_UPDATE(event) && (events & SEGEXT_TRIGGER_UPDATE)) ||
		  (TRIGGER_FIRED_BY_DELETE(event) && (events & SEGEXT_TRIGGER_DELETE)) ||
		  (TRIGGER_FIRED_BY_TRUNCATE(event) && (events & SEGEXT_TRIGGER_TRUNCATE))))
		trigger_protocol_error(trigdata, name, psprintf("for %s", trigger_events_text(events)));

	if ((required & SEGEXT_TRIGGER_OLD_TABLE) && trigdata->tg_oldtable == NULL)
		trigger_protocol_error(trigdata, name, "REFERENCING OLD TABLE");
	if ((required & SEGEXT_TRIGGER_NEW_TABLE) && trigdata->tg_newtable == NULL)
		trigger_protocol_error(trigdata, name, "REFERENCING NEW TABLE");
	return trigdata;
}
