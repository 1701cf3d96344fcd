/*-------------------------------------------------------------------------
 *
 * criteria.c
 *	  The segext.criteria type's SQL entry points: text input and output,
 *	  the binary format, the jsonb casts and equality.
 *
 *	  The binary wire format is the value's format version byte (1 for parts,
 *	  2 for a tree of groups) followed by the canonical JSON text, which recv
 *	  parses with the same parser as text input (criteria_parse.c), so binary
 *	  input is validated exactly like text input.  The parser lives in
 *	  criteria_parse.c, criteria_params.c and criteria_regex.c, the words of
 *	  the language in criteria_kinds.c, the printer in criteria_print.c.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "criteria.h"

#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

PG_FUNCTION_INFO_V1(criteria_in);
/* criteria_in is the text input function: JSON in either shape. */
Datum
criteria_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);

	PG_RETURN_SEGEXT_CRITERIA_P(segext_criteria_from_cstring(str));
}

PG_FUNCTION_INFO_V1(criteria_out);
/* criteria_out is the text output function: canonical JSON. */
Datum
criteria_out(PG_FUNCTION_ARGS)
{
	SegextCriteria *c = PG_GETARG_SEGEXT_CRITERIA_P(0);

	PG_RETURN_CSTRING(segext_criteria_to_cstring(c));
}

/* recv_error_context names the part of binary criteria an error is in. */
static void
recv_error_context(void *arg)
{
	errcontext("JSON text of binary criteria (after the format version byte)");
}

PG_FUNCTION_INFO_V1(criteria_recv);
/*
 * criteria_recv reads the binary format: a version byte, then the canonical
 * JSON text, which is validated like text input.
 */
Datum
criteria_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version;
	char	   *str;
	int			nbytes;
	const char *nul;
	ErrorContextCallback errcallback;
	SegextCriteria *result;

	if (buf->cursor >= buf->len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary criteria: no format version byte")));
	version = pq_getmsgint(buf, 1);
	if (version != SEGEXT_CRITERIA_VERSION_PARTS && version != SEGEXT_CRITERIA_VERSION_TREE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported binary criteria format version %d", version),
				 errdetail("This version of segext reads format versions %d (parts) and %d (trees of groups).",
						   SEGEXT_CRITERIA_VERSION_PARTS, SEGEXT_CRITERIA_VERSION_TREE)));
	nul = memchr(buf->data + buf->cursor, '\0', buf->len - buf->cursor);
	if (nul != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("invalid binary criteria: the JSON text contains a zero byte"),
				 errdetail("Byte %d of the JSON text (after the format version byte) is 0x00.",
						   (int) (nul - (buf->data + buf->cursor)) + 1),
				 errhint("Binary criteria are a format version byte followed by the canonical JSON text, as criteria_send writes them.")));
	errcallback.callback = recv_error_context;
	errcallback.arg = NULL;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	str = pq_getmsgtext(buf, buf->len - buf->cursor, &nbytes);
	result = segext_criteria_from_cstring(str);
	error_context_stack = errcallback.previous;
	if (version == SEGEXT_CRITERIA_VERSION_PARTS &&
		result->version != SEGEXT_CRITERIA_VERSION_PARTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary criteria: format version 1 holds no groups"),
				 errdetail("The JSON text after format version byte 1 is a tree of groups."),
				 errhint("Send a tree of groups with format version byte 2, as criteria_send writes it.")));
	PG_RETURN_SEGEXT_CRITERIA_P(result);
}

PG_FUNCTION_INFO_V1(criteria_send);
/* criteria_send writes the value's version byte and its canonical JSON text. */
Datum
criteria_send(PG_FUNCTION_ARGS)
{
	SegextCriteria *c = PG_GETARG_SEGEXT_CRITERIA_P(0);
	char	   *str = segext_criteria_to_cstring(c);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint8(&buf, c->version);
	pq_sendtext(&buf, str, strlen(str));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(jsonb_to_criteria);
/* jsonb_to_criteria casts (and validates) a jsonb document. */
Datum
jsonb_to_criteria(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);

	PG_RETURN_SEGEXT_CRITERIA_P(segext_criteria_from_jsonb(jb));
}

PG_FUNCTION_INFO_V1(criteria_to_jsonb);
/* criteria_to_jsonb casts criteria to their canonical jsonb document. */
Datum
criteria_to_jsonb(PG_FUNCTION_ARGS)
{
	SegextCriteria *c = PG_GETARG_SEGEXT_CRITERIA_P(0);

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in,
										CStringGetDatum(segext_criteria_to_cstring(c))));
}

/* criteria_equal compares two values byte for byte (canonical form). */
static bool
criteria_equal(FunctionCallInfo fcinfo)
{
	SegextCriteria *a = PG_GETARG_SEGEXT_CRITERIA_P(0);
	SegextCriteria *b = PG_GETARG_SEGEXT_CRITERIA_P(1);

	return VARSIZE(a) == VARSIZE(b) && memcmp(a, b, VARSIZE(a)) == 0;
}

PG_FUNCTION_INFO_V1(criteria_eq);
/* criteria_eq: are two conditions the same canonical condition? */
Datum
criteria_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(criteria_equal(fcinfo));
}

PG_FUNCTION_INFO_V1(criteria_ne);
/* criteria_ne: do two conditions differ? */
Datum
criteria_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(!criteria_equal(fcinfo));
}
