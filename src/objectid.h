/*-------------------------------------------------------------------------
 *
 * objectid.h
 *	  The segext.objectid type: a 12-byte BSON ObjectId (4-byte big-endian
 *	  seconds since the epoch, 5 random bytes per process, 3-byte counter).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_OBJECTID_H
#define SEGEXT_OBJECTID_H

#include "postgres.h"
#include "fmgr.h"

#define SEGEXT_OBJECTID_LEN 12
#define SEGEXT_OBJECTID_HEX_LEN (SEGEXT_OBJECTID_LEN * 2)

typedef struct SegextObjectId
{
	unsigned char data[SEGEXT_OBJECTID_LEN];
} SegextObjectId;

#define DatumGetSegextObjectIdP(X)	((SegextObjectId *) DatumGetPointer(X))
#define SegextObjectIdPGetDatum(X)	PointerGetDatum(X)
#define PG_GETARG_SEGEXT_OBJECTID_P(n)	DatumGetSegextObjectIdP(PG_GETARG_DATUM(n))
#define PG_RETURN_SEGEXT_OBJECTID_P(x)	return SegextObjectIdPGetDatum(x)

/* Fill *id with a new, never-repeating ObjectId. */
extern void segext_objectid_generate_into(SegextObjectId *id);

/* Decode exactly 24 hex digits (len must be 24); false for anything else. */
extern bool segext_objectid_from_hex(const char *str, int len, SegextObjectId *id);

/* Write the 24 lowercase hex digits of id, plus a NUL, into buf. */
extern void segext_objectid_to_hex(const SegextObjectId *id, char *buf);

/* The OID of type segext.objectid in this database (elog when missing). */
extern Oid	segext_objectid_type(void);

#endif							/* SEGEXT_OBJECTID_H */
