/*-------------------------------------------------------------------------
 *
 * compiled_segments.h
 *	  The per-backend cache of compiled active segments (compiled_segments.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_COMPILED_SEGMENTS_H
#define SEGEXT_COMPILED_SEGMENTS_H

#include "membership_engine.h"

/*
 * Point the engine at the company's compiled active segments, all targets,
 * from the backend's cache when still current, else loaded and kept.
 */
extern void compiled_segments_load(Engine *e);

/* Register the relcache callback of the compiled segments (from _PG_init). */
extern void segext_membership_init(void);

#endif							/* SEGEXT_COMPILED_SEGMENTS_H */
