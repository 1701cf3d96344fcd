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
#include "port/pg_bswap.h"

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

/* segext_objectid_load_be64 reads 8 bytes at p as a big-endian unsigned integer. */
static inline uint64
segext_objectid_load_be64(const unsigned char *p)
{
	uint64		v;

	memcpy(&v, p, sizeof(v));
	return pg_ntoh64(v);
}

/* segext_objectid_load_be32 reads 4 bytes at p as a big-endian unsigned integer. */
static inline uint32
segext_objectid_load_be32(const unsigned char *p)
{
	uint32		v;

	memcpy(&v, p, sizeof(v));
	return pg_ntoh32(v);
}

/*
 * segext_objectid_cmp is the one order of ObjectIds: byte order, which is
 * creation order (-1, 0 or 1).  It compares two big-endian words rather than
 * calling memcmp, which gives the same order with no library call.
 */
static inline int
segext_objectid_cmp(const SegextObjectId *a, const SegextObjectId *b)
{
	uint64		a8 = segext_objectid_load_be64(a->data);
	uint64		b8 = segext_objectid_load_be64(b->data);
	uint32		a4;
	uint32		b4;

	if (a8 != b8)
		return a8 < b8 ? -1 : 1;
	a4 = segext_objectid_load_be32(a->data + 8);
	b4 = segext_objectid_load_be32(b->data + 8);
	if (a4 != b4)
		return a4 < b4 ? -1 : 1;
	return 0;
}

/* segext_objectid_equal says whether two ObjectIds are the same. */
static inline bool
segext_objectid_equal(const SegextObjectId *a, const SegextObjectId *b)
{
	return memcmp(a->data, b->data, SEGEXT_OBJECTID_LEN) == 0;
}

/* segext_objectid_qsort_cmp is segext_objectid_cmp for qsort and bsearch. */
extern int	segext_objectid_qsort_cmp(const void *a, const void *b);

/*
 * Read exactly 24 hex digits (either case, NUL-terminated) into *id or raise
 * 22P02 as the type's input function does.
 */
extern void segext_objectid_parse(const char *str, SegextObjectId *id);

/* Fill *id with a new, never-repeating ObjectId. */
extern void segext_objectid_generate_into(SegextObjectId *id);

/* Decode exactly 24 hex digits (len must be 24); false for anything else. */
extern bool segext_objectid_from_hex(const char *str, int len, SegextObjectId *id);

/* Write the 24 lowercase hex digits of id, plus a NUL, into buf. */
extern void segext_objectid_to_hex(const SegextObjectId *id, char *buf);

/* The OID of type segext.objectid in this database (elog when missing). */
extern Oid	segext_objectid_type(void);

#endif							/* SEGEXT_OBJECTID_H */
