/*-------------------------------------------------------------------------
 *
 * objectid.c
 *	  The segext.objectid type: text and binary I/O, casts, comparison,
 *	  sort support with abbreviated keys, hashing and generation.
 *
 * An ObjectId is 12 bytes: 4-byte big-endian seconds since the Unix epoch,
 * 5 random bytes chosen once per process and a 3-byte big-endian counter
 * that starts at a random value.  Byte order (memcmp) is creation order.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "objectid.h"

#include <time.h>

#include "common/hashfn.h"
#include "lib/hyperloglog.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "port/pg_bswap.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/sortsupport.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

/* Largest timestamp an ObjectId can hold: 2^32 - 1 seconds after 1970. */
#define OBJECTID_MAX_SECONDS	((int64) PG_UINT32_MAX)

/* Per-process generator state, seeded lazily in the process that uses it. */
static pid_t generator_pid = 0;
static unsigned char generator_random[5];
static uint32 generator_counter;
static uint32 generator_last_seconds;

/*
 * Abbreviated-key state: how many keys were seen, their cardinality, and the
 * low random bits of the first key converted (see objectid_abbrev_convert).
 */
typedef struct ObjectIdSortState
{
	int64		input_count;
	bool		estimating;
	bool		have_base;
	uint64		base_random_low;
	hyperLogLogState abbr_card;
} ObjectIdSortState;

/*
 * Layout of a 64-bit abbreviated key, most significant first: the 32-bit
 * timestamp, the top 6 bits of the 40 random bits, 2 bits saying whether
 * the other 34 random bits are below, equal to or above those of the sort's
 * first key, and the 24-bit counter when they are equal (zero otherwise).
 */
#define OBJECTID_ABBREV_RANDOM_HIGH_BITS	6
#define OBJECTID_ABBREV_RANDOM_LOW_BITS		(40 - OBJECTID_ABBREV_RANDOM_HIGH_BITS)
#define OBJECTID_ABBREV_BELOW	UINT64CONST(0)
#define OBJECTID_ABBREV_EQUAL	UINT64CONST(1)
#define OBJECTID_ABBREV_ABOVE	UINT64CONST(2)

static int	objectid_fast_cmp(Datum x, Datum y, SortSupport ssup);
static Datum objectid_abbrev_convert(Datum original, SortSupport ssup);
static bool objectid_abbrev_abort(int memtupcount, SortSupport ssup);

/* hex_digit_value returns the value of one hex digit, or -1. */
static inline int
hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * segext_objectid_from_hex decodes exactly len = 24 hex digits (either case)
 * at str into *id; it returns false, leaving *id undefined, for anything else.
 * It is the one hex decoder of the extension.
 */
bool
segext_objectid_from_hex(const char *str, int len, SegextObjectId *id)
{
	int			i;

	if (len != SEGEXT_OBJECTID_HEX_LEN)
		return false;
	for (i = 0; i < SEGEXT_OBJECTID_LEN; i++)
	{
		int			hi = hex_digit_value(str[2 * i]);
		int			lo = hex_digit_value(str[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		id->data[i] = (unsigned char) ((hi << 4) | lo);
	}
	return true;
}

/*
 * segext_objectid_parse reads exactly 24 hex digits (either case) into *id or
 * raises 22P02; it is the one parser behind every text entry point.
 */
void
segext_objectid_parse(const char *str, SegextObjectId *id)
{
	if (!segext_objectid_from_hex(str, strlen(str), id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"",
						"objectid", str),
				 errdetail("An objectid is exactly 24 hexadecimal digits.")));
}

/* segext_objectid_to_hex writes the 24 lowercase hex digits of id into buf. */
void
segext_objectid_to_hex(const SegextObjectId *id, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	int			i;

	for (i = 0; i < SEGEXT_OBJECTID_LEN; i++)
	{
		buf[2 * i] = hex[id->data[i] >> 4];
		buf[2 * i + 1] = hex[id->data[i] & 0x0F];
	}
	buf[SEGEXT_OBJECTID_HEX_LEN] = '\0';
}

PG_FUNCTION_INFO_V1(objectid_in);
/* objectid_in parses the text form of an ObjectId. */
Datum
objectid_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	SegextObjectId *id = palloc(sizeof(SegextObjectId));

	segext_objectid_parse(str, id);
	PG_RETURN_SEGEXT_OBJECTID_P(id);
}

PG_FUNCTION_INFO_V1(objectid_out);
/* objectid_out prints an ObjectId as 24 lowercase hex digits. */
Datum
objectid_out(PG_FUNCTION_ARGS)
{
	SegextObjectId *id = PG_GETARG_SEGEXT_OBJECTID_P(0);
	char	   *buf = palloc(SEGEXT_OBJECTID_HEX_LEN + 1);

	segext_objectid_to_hex(id, buf);
	PG_RETURN_CSTRING(buf);
}

PG_FUNCTION_INFO_V1(objectid_recv);
/* objectid_recv reads the binary form: exactly 12 bytes. */
Datum
objectid_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			remaining = buf->len - buf->cursor;
	SegextObjectId *id;

	if (remaining != SEGEXT_OBJECTID_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid external objectid value"),
				 errdetail("The binary form of an objectid is exactly %d bytes, but %d were received.",
						   SEGEXT_OBJECTID_LEN, remaining)));
	id = palloc(sizeof(SegextObjectId));
	pq_copymsgbytes(buf, (char *) id->data, SEGEXT_OBJECTID_LEN);
	PG_RETURN_SEGEXT_OBJECTID_P(id);
}

PG_FUNCTION_INFO_V1(objectid_send);
/* objectid_send writes the binary form: the 12 bytes as they are. */
Datum
objectid_send(PG_FUNCTION_ARGS)
{
	SegextObjectId *id = PG_GETARG_SEGEXT_OBJECTID_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, (char *) id->data, SEGEXT_OBJECTID_LEN);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(objectid_to_text);
/* objectid_to_text casts an ObjectId to its text form. */
Datum
objectid_to_text(PG_FUNCTION_ARGS)
{
	SegextObjectId *id = PG_GETARG_SEGEXT_OBJECTID_P(0);
	char		buf[SEGEXT_OBJECTID_HEX_LEN + 1];

	segext_objectid_to_hex(id, buf);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf, SEGEXT_OBJECTID_HEX_LEN));
}

PG_FUNCTION_INFO_V1(text_to_objectid);
/* text_to_objectid casts text holding 24 hex digits to an ObjectId. */
Datum
text_to_objectid(PG_FUNCTION_ARGS)
{
	char	   *str = text_to_cstring(PG_GETARG_TEXT_PP(0));
	SegextObjectId *id = palloc(sizeof(SegextObjectId));

	segext_objectid_parse(str, id);
	PG_RETURN_SEGEXT_OBJECTID_P(id);
}

PG_FUNCTION_INFO_V1(objectid_to_bytea);
/* objectid_to_bytea casts an ObjectId to its 12 raw bytes. */
Datum
objectid_to_bytea(PG_FUNCTION_ARGS)
{
	SegextObjectId *id = PG_GETARG_SEGEXT_OBJECTID_P(0);
	bytea	   *result = palloc(VARHDRSZ + SEGEXT_OBJECTID_LEN);

	SET_VARSIZE(result, VARHDRSZ + SEGEXT_OBJECTID_LEN);
	memcpy(VARDATA(result), id->data, SEGEXT_OBJECTID_LEN);
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(bytea_to_objectid);
/* bytea_to_objectid casts exactly 12 raw bytes to an ObjectId. */
Datum
bytea_to_objectid(PG_FUNCTION_ARGS)
{
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	int			len = VARSIZE_ANY_EXHDR(bytes);
	SegextObjectId *id;

	if (len != SEGEXT_OBJECTID_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: bytea of length %d",
						"objectid", len),
				 errdetail("An objectid is exactly %d bytes.", SEGEXT_OBJECTID_LEN)));
	id = palloc(sizeof(SegextObjectId));
	memcpy(id->data, VARDATA_ANY(bytes), SEGEXT_OBJECTID_LEN);
	PG_RETURN_SEGEXT_OBJECTID_P(id);
}

/* segext_objectid_qsort_cmp orders two ObjectIds for qsort and bsearch. */
int
segext_objectid_qsort_cmp(const void *a, const void *b)
{
	return segext_objectid_cmp((const SegextObjectId *) a, (const SegextObjectId *) b);
}

#define OBJECTID_CMP_ARGS \
	segext_objectid_cmp(PG_GETARG_SEGEXT_OBJECTID_P(0), PG_GETARG_SEGEXT_OBJECTID_P(1))

PG_FUNCTION_INFO_V1(objectid_eq);
/* objectid_eq implements =. */
Datum
objectid_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(OBJECTID_CMP_ARGS == 0);
}

PG_FUNCTION_INFO_V1(objectid_ne);
/* objectid_ne implements <>. */
Datum
objectid_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(OBJECTID_CMP_ARGS != 0);
}

PG_FUNCTION_INFO_V1(objectid_lt);
/* objectid_lt implements <. */
Datum
objectid_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(OBJECTID_CMP_ARGS < 0);
}

PG_FUNCTION_INFO_V1(objectid_le);
/* objectid_le implements <=. */
Datum
objectid_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(OBJECTID_CMP_ARGS <= 0);
}

PG_FUNCTION_INFO_V1(objectid_gt);
/* objectid_gt implements >. */
Datum
objectid_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(OBJECTID_CMP_ARGS > 0);
}

PG_FUNCTION_INFO_V1(objectid_ge);
/* objectid_ge implements >=. */
Datum
objectid_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(OBJECTID_CMP_ARGS >= 0);
}

PG_FUNCTION_INFO_V1(objectid_cmp);
/* objectid_cmp is the btree support function 1. */
Datum
objectid_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(OBJECTID_CMP_ARGS);
}

/* objectid_fast_cmp compares two full ObjectIds for the sorter. */
static int
objectid_fast_cmp(Datum x, Datum y, SortSupport ssup)
{
	return segext_objectid_cmp(DatumGetSegextObjectIdP(x), DatumGetSegextObjectIdP(y));
}

PG_FUNCTION_INFO_V1(objectid_sortsupport);
/*
 * objectid_sortsupport installs the fast comparator and, when the sorter
 * asks, order-preserving abbreviated keys (timestamp first).
 */
Datum
objectid_sortsupport(PG_FUNCTION_ARGS)
{
	SortSupport ssup = (SortSupport) PG_GETARG_POINTER(0);

	ssup->comparator = objectid_fast_cmp;
	ssup->ssup_extra = NULL;

	if (ssup->abbreviate)
	{
		ObjectIdSortState *state;
		MemoryContext oldcontext = MemoryContextSwitchTo(ssup->ssup_cxt);

		state = palloc(sizeof(ObjectIdSortState));
		state->input_count = 0;
		state->estimating = true;
		state->have_base = false;
		state->base_random_low = 0;
		initHyperLogLog(&state->abbr_card, 10);

		ssup->ssup_extra = state;
		ssup->comparator = ssup_datum_unsigned_cmp;
		ssup->abbrev_converter = objectid_abbrev_convert;
		ssup->abbrev_abort = objectid_abbrev_abort;
		ssup->abbrev_full_comparator = objectid_fast_cmp;

		MemoryContextSwitchTo(oldcontext);
	}
	PG_RETURN_VOID();
}

/*
 * objectid_abbrev_convert maps an ObjectId to an integer whose unsigned
 * order never contradicts byte order (equal keys are left to the full
 * comparator).
 *
 * The plain choice, the first 8 bytes, holds only the timestamp and random
 * bytes, so ids made by one process within one second all abbreviate alike
 * and bulk-loaded ids defeat abbreviation.  Instead, after the timestamp and
 * the top random bits, the key records how the remaining random bits compare
 * with those of the first key converted; only when they are equal (the same
 * process, nearly always) does the counter follow.  For any fixed base this
 * map is monotonic: keys that differ in a higher field keep that order, and
 * keys that reach the comparison field with different random bits fall into
 * the "below" or "above" bucket in the right order, with a constant after.
 */
static Datum
objectid_abbrev_convert(Datum original, SortSupport ssup)
{
	ObjectIdSortState *state = (ObjectIdSortState *) ssup->ssup_extra;
	SegextObjectId *id = DatumGetSegextObjectIdP(original);
	Datum		res;

#if SIZEOF_DATUM == 8
	uint64		seconds = segext_objectid_load_be32(id->data);
	uint64		random = ((uint64) id->data[4] << 32) |
		((uint64) segext_objectid_load_be32(id->data + 5));
	uint64		random_high = random >> OBJECTID_ABBREV_RANDOM_LOW_BITS;
	uint64		random_low = random &
		((UINT64CONST(1) << OBJECTID_ABBREV_RANDOM_LOW_BITS) - 1);
	uint64		counter = ((uint64) id->data[9] << 16) |
		((uint64) id->data[10] << 8) | (uint64) id->data[11];
	uint64		abbrev;

	if (!state->have_base)
	{
		state->base_random_low = random_low;
		state->have_base = true;
	}

	abbrev = (seconds << 32) | (random_high << 26);
	if (random_low < state->base_random_low)
		abbrev |= OBJECTID_ABBREV_BELOW << 24;
	else if (random_low > state->base_random_low)
		abbrev |= OBJECTID_ABBREV_ABOVE << 24;
	else
		abbrev |= (OBJECTID_ABBREV_EQUAL << 24) | counter;
	res = (Datum) abbrev;
#else
	/* Datum holds only the timestamp. */
	res = (Datum) segext_objectid_load_be32(id->data);
#endif

	state->input_count += 1;

	if (state->estimating)
	{
		uint32		tmp;

#if SIZEOF_DATUM == 8
		tmp = (uint32) res ^ (uint32) ((uint64) res >> 32);
#else
		tmp = (uint32) res;
#endif
		addHyperLogLog(&state->abbr_card, DatumGetUInt32(hash_uint32(tmp)));
	}

	return res;
}

/*
 * objectid_abbrev_abort gives up on abbreviation when the abbreviated keys
 * are too few distinct values to pay for themselves, as ids made by one
 * process within one second are.
 */
static bool
objectid_abbrev_abort(int memtupcount, SortSupport ssup)
{
	ObjectIdSortState *state = (ObjectIdSortState *) ssup->ssup_extra;
	double		abbr_card;

	if (memtupcount < 10000 || state->input_count < 10000 || !state->estimating)
		return false;

	abbr_card = estimateHyperLogLog(&state->abbr_card);

	/* Plenty of distinct keys: stop estimating and keep abbreviating. */
	if (abbr_card > 100000.0)
	{
#ifdef TRACE_SORT
		if (trace_sort)
			elog(LOG,
				 "objectid_abbrev: estimation ends at cardinality %f after " INT64_FORMAT " values (%d rows)",
				 abbr_card, state->input_count, memtupcount);
#endif
		state->estimating = false;
		return false;
	}

	/* Fewer than one distinct key per 2000 inputs: not worth it. */
	if (abbr_card < state->input_count / 2000.0 + 0.5)
	{
#ifdef TRACE_SORT
		if (trace_sort)
			elog(LOG,
				 "objectid_abbrev: aborting abbreviation at cardinality %f below threshold %f after " INT64_FORMAT " values (%d rows)",
				 abbr_card, state->input_count / 2000.0 + 0.5,
				 state->input_count, memtupcount);
#endif
		return true;
	}

#ifdef TRACE_SORT
	if (trace_sort)
		elog(LOG,
			 "objectid_abbrev: cardinality %f after " INT64_FORMAT " values (%d rows)",
			 abbr_card, state->input_count, memtupcount);
#endif
	return false;
}

PG_FUNCTION_INFO_V1(objectid_hash);
/* objectid_hash is the hash opclass support function 1. */
Datum
objectid_hash(PG_FUNCTION_ARGS)
{
	SegextObjectId *id = PG_GETARG_SEGEXT_OBJECTID_P(0);

	return hash_any(id->data, SEGEXT_OBJECTID_LEN);
}

PG_FUNCTION_INFO_V1(objectid_hash_extended);
/* objectid_hash_extended is the seeded 64-bit hash (support function 2). */
Datum
objectid_hash_extended(PG_FUNCTION_ARGS)
{
	SegextObjectId *id = PG_GETARG_SEGEXT_OBJECTID_P(0);

	return hash_any_extended(id->data, SEGEXT_OBJECTID_LEN, PG_GETARG_INT64(1));
}

/*
 * generator_seed draws this process's 5 random bytes and counter start; it
 * runs on first use in each process, so no two processes share a seed.
 */
static void
generator_seed(void)
{
	unsigned char counter_start[3];

	if (!pg_strong_random(generator_random, sizeof(generator_random)) ||
		!pg_strong_random(counter_start, sizeof(counter_start)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random values for objectid")));
	generator_counter = ((uint32) counter_start[0] << 16) |
		((uint32) counter_start[1] << 8) | counter_start[2];
	generator_last_seconds = 0;
	generator_pid = MyProcPid;
}

/*
 * segext_objectid_generate_into fills *id with a new ObjectId.  Within a
 * process ids strictly increase: the timestamp never goes backwards, and
 * when the 24-bit counter wraps within one second the timestamp moves on.
 */
void
segext_objectid_generate_into(SegextObjectId *id)
{
	uint32		seconds;
	time_t		now = time(NULL);

	if (generator_pid != MyProcPid)
		generator_seed();

	seconds = (uint32) now;
	if (seconds < generator_last_seconds)
		seconds = generator_last_seconds;

	generator_counter = (generator_counter + 1) & 0xFFFFFF;
	if (generator_counter == 0 && seconds == generator_last_seconds)
		seconds = generator_last_seconds + 1;
	generator_last_seconds = seconds;

	id->data[0] = (unsigned char) (seconds >> 24);
	id->data[1] = (unsigned char) (seconds >> 16);
	id->data[2] = (unsigned char) (seconds >> 8);
	id->data[3] = (unsigned char) seconds;
	memcpy(&id->data[4], generator_random, sizeof(generator_random));
	id->data[9] = (unsigned char) (generator_counter >> 16);
	id->data[10] = (unsigned char) (generator_counter >> 8);
	id->data[11] = (unsigned char) generator_counter;
}

PG_FUNCTION_INFO_V1(objectid_generate);
/* objectid_generate returns a new ObjectId. */
Datum
objectid_generate(PG_FUNCTION_ARGS)
{
	SegextObjectId *id = palloc(sizeof(SegextObjectId));

	segext_objectid_generate_into(id);
	PG_RETURN_SEGEXT_OBJECTID_P(id);
}

PG_FUNCTION_INFO_V1(objectid_timestamp);
/* objectid_timestamp returns the creation second stored in an ObjectId. */
Datum
objectid_timestamp(PG_FUNCTION_ARGS)
{
	SegextObjectId *id = PG_GETARG_SEGEXT_OBJECTID_P(0);
	uint32		seconds = ((uint32) id->data[0] << 24) | ((uint32) id->data[1] << 16) |
		((uint32) id->data[2] << 8) | (uint32) id->data[3];
	TimestampTz result;

	result = (TimestampTz) seconds * USECS_PER_SEC -
		((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
	PG_RETURN_TIMESTAMPTZ(result);
}

PG_FUNCTION_INFO_V1(objectid_from_time);
/*
 * objectid_from_time returns the smallest ObjectId of the second holding
 * the given time, for range queries over ids.
 */
Datum
objectid_from_time(PG_FUNCTION_ARGS)
{
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(0);
	SegextObjectId *id;
	int64		usecs;
	int64		seconds;

	/* floor division: the second that contains ts; -1 marks infinity */
	seconds = -1;
	if (!TIMESTAMP_NOT_FINITE(ts))
	{
		usecs = ts + ((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
		seconds = usecs / USECS_PER_SEC;
		if (usecs < 0 && usecs % USECS_PER_SEC != 0)
			seconds -= 1;
	}

	if (seconds < 0 || seconds > OBJECTID_MAX_SECONDS)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range for type objectid"),
				 errdetail("An objectid holds a finite time between 1970-01-01 00:00:00+00 and 2106-02-07 06:28:15+00.")));

	id = palloc0(sizeof(SegextObjectId));
	id->data[0] = (unsigned char) (seconds >> 24);
	id->data[1] = (unsigned char) (seconds >> 16);
	id->data[2] = (unsigned char) (seconds >> 8);
	id->data[3] = (unsigned char) seconds;
	PG_RETURN_SEGEXT_OBJECTID_P(id);
}

/* segext_objectid_type returns the OID of type segext.objectid. */
Oid
segext_objectid_type(void)
{
	Oid			type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("objectid"),
									   ObjectIdGetDatum(get_namespace_oid("segext", false)));

	if (!OidIsValid(type))
		elog(ERROR, "type segext.objectid does not exist");
	return type;
}
