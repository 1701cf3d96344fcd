/*-------------------------------------------------------------------------
 *
 * channels.h
 *	  The rules of channels and their segment mix (channels.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_CHANNELS_H
#define SEGEXT_CHANNELS_H

#include "postgres.h"

#include "fmgr.h"

/* The row triggers of segext.channels and segext.channel_segments. */
extern Datum segext_channels_rules(PG_FUNCTION_ARGS);
extern Datum segext_channel_segments_rules(PG_FUNCTION_ARGS);

/* The triggers that check a channel's mix and keep its two forms in step. */
extern Datum segext_channel_mix_check(PG_FUNCTION_ARGS);
extern Datum segext_channel_mix_write(PG_FUNCTION_ARGS);
extern Datum segext_channel_mix_sync(PG_FUNCTION_ARGS);

#endif							/* SEGEXT_CHANNELS_H */
