/*-------------------------------------------------------------------------
 *
 * segext_fuzz.c
 *	  Plays a fuzz corpus against a segext type: every row of the table
 *	  fuzz_corpus (n, is_binary, must_parse, input) is sent either as a text
 *	  parameter to fuzz_check_text(text) or as a binary parameter of the type
 *	  (so the type's receive function reads it) to fuzz_check_binary(type,
 *	  bytea), two functions the calling script defines.  An input passes when
 *	  it is accepted and the check function returns, or when it is refused
 *	  with a SQLSTATE from the allowed list of its format.  An accepted
 *	  binary input must also be a fixpoint: the bytes fuzz_check_binary
 *	  returns (the send output) are sent again and must come back unchanged.
 *	  must_parse true or false says the input must be accepted or refused.
 *	  A lost connection (a crashed backend) stops the run at once.
 *
 *	  Usage: segext_fuzz "conninfo" type allowed_text allowed_binary
 *	  where the allowed lists are comma-separated SQLSTATEs.  Prints the
 *	  count of inputs and the histogram of outcomes per format; exits 1 when
 *	  an outcome is not allowed, 2 on a lost connection or a setup error.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#define MAX_OUTCOMES 64
#define MAX_REPORTED 25

/* One histogram bucket: a format, an outcome ("ok" or a SQLSTATE), a count. */
typedef struct Outcome
{
	int			binary;
	char		state[8];
	long		count;
} Outcome;

static Outcome outcomes[MAX_OUTCOMES];
static int	n_outcomes = 0;
static long violations = 0;

/* count_outcome adds one to the bucket of (binary, state). */
static void
count_outcome(int binary, const char *state)
{
	int			i;

	for (i = 0; i < n_outcomes; i++)
		if (outcomes[i].binary == binary && strcmp(outcomes[i].state, state) == 0)
		{
			outcomes[i].count++;
			return;
		}
	if (n_outcomes == MAX_OUTCOMES)
	{
		fprintf(stderr, "too many distinct outcomes\n");
		exit(2);
	}
	outcomes[n_outcomes].binary = binary;
	snprintf(outcomes[n_outcomes].state, sizeof(outcomes[n_outcomes].state), "%s", state);
	outcomes[n_outcomes].count = 1;
	n_outcomes++;
}

/* compare_outcomes orders buckets by format, then outcome. */
static int
compare_outcomes(const void *a, const void *b)
{
	const Outcome *x = a;
	const Outcome *y = b;

	if (x->binary != y->binary)
		return x->binary - y->binary;
	return strcmp(x->state, y->state);
}

/* allowed says whether state is one of the comma-separated list. */
static int
allowed(const char *list, const char *state)
{
	size_t		len = strlen(state);
	const char *p = list;

	while (*p)
	{
		const char *end = strchr(p, ',');
		size_t		item = end ? (size_t) (end - p) : strlen(p);

		if (item == len && strncmp(p, state, len) == 0)
			return 1;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

/* print_input writes up to 300 bytes of an input, escaping what is not printable ASCII. */
static void
print_input(const unsigned char *input, size_t len)
{
	size_t		i;

	for (i = 0; i < len && i < 300; i++)
	{
		if (input[i] >= 0x20 && input[i] < 0x7f && input[i] != '\\')
			fputc(input[i], stderr);
		else
			fprintf(stderr, "\\x%02x", input[i]);
	}
	if (len > 300)
		fprintf(stderr, "... (%zu bytes)", len);
	fputc('\n', stderr);
}

/* violation reports an outcome that is not allowed. */
static void
violation(const char *n, int binary, const unsigned char *input, size_t len, const char *what)
{
	violations++;
	if (violations > MAX_REPORTED)
		return;
	fprintf(stderr, "input %s (%s): %s\n  input: ", n, binary ? "binary" : "text", what);
	print_input(input, len);
}

/* check_connection stops the run when the backend is gone. */
static void
check_connection(PGconn *conn, const char *n, int binary, const unsigned char *input, size_t len)
{
	if (PQstatus(conn) == CONNECTION_OK)
		return;
	fprintf(stderr, "input %s (%s): connection lost: %s  input: ", n, binary ? "binary" : "text",
			PQerrorMessage(conn));
	print_input(input, len);
	exit(2);
}

/* run_binary sends input as a binary parameter of the type; returns the result. */
static PGresult *
run_binary(PGconn *conn, const unsigned char *input, int len)
{
	const char *values[2] = {(const char *) input, (const char *) input};
	int			lengths[2] = {len, len};
	int			formats[2] = {1, 1};

	return PQexecPrepared(conn, "binary", 2, values, lengths, formats, 1);
}

/* setup runs one statement or stops the run. */
static PGresult *
setup(PGconn *conn, PGresult *res)
{
	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "setup failed: %s", PQerrorMessage(conn));
		exit(2);
	}
	return res;
}

int
main(int argc, char **argv)
{
	PGconn	   *conn;
	PGresult   *res;
	PGresult   *corpus;
	const char *type_param[1];
	Oid			types[2] = {0, 17};
	Oid			text_type[1] = {25};
	long		inputs[2] = {0, 0};
	int			row;
	int			i;

	if (argc != 5)
	{
		fprintf(stderr, "usage: %s conninfo type allowed_text allowed_binary\n", argv[0]);
		return 2;
	}
	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "connection failed: %s", PQerrorMessage(conn));
		return 2;
	}
	PQclear(setup(conn, PQexec(conn, "SET statement_timeout = '60s'")));
	type_param[0] = argv[2];
	res = setup(conn, PQexecParams(conn, "SELECT $1::pg_catalog.regtype::pg_catalog.oid", 1, NULL,
								   type_param, NULL, NULL, 0));
	types[0] = (Oid) strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	PQclear(setup(conn, PQprepare(conn, "text", "SELECT fuzz_check_text($1)", 1, text_type)));
	PQclear(setup(conn, PQprepare(conn, "binary", "SELECT fuzz_check_binary($1, $2)", 2, types)));
	corpus = setup(conn, PQexec(conn, "SELECT n, is_binary, must_parse, input FROM fuzz_corpus ORDER BY n"));

	for (row = 0; row < PQntuples(corpus); row++)
	{
		const char *n = PQgetvalue(corpus, row, 0);
		int			binary = PQgetvalue(corpus, row, 1)[0] == 't';
		int			must_parse = PQgetisnull(corpus, row, 2) ? -1 : PQgetvalue(corpus, row, 2)[0] == 't';
		size_t		len;
		unsigned char *input = PQunescapeBytea((const unsigned char *) PQgetvalue(corpus, row, 3), &len);
		char	   *text = NULL;
		char		what[600];

		if (input == NULL)
		{
			fprintf(stderr, "could not decode input %s\n", n);
			return 2;
		}
		inputs[binary]++;
		if (binary)
			res = run_binary(conn, input, (int) len);
		else
		{
			text = malloc(len + 1);
			memcpy(text, input, len);
			text[len] = '\0';
			res = PQexecPrepared(conn, "text", 1, (const char *const *) &text, NULL, NULL, 0);
		}
		check_connection(conn, n, binary, input, len);

		if (PQresultStatus(res) == PGRES_TUPLES_OK)
		{
			count_outcome(binary, "ok");
			if (must_parse == 0)
				violation(n, binary, input, len, "accepted, but must be refused");
			else if (binary)
			{
				/* the send output must be received and sent back unchanged */
				int			out_len = PQgetlength(res, 0, 0);
				unsigned char *out = malloc(out_len + 1);
				PGresult   *again;

				memcpy(out, PQgetvalue(res, 0, 0), out_len);
				again = run_binary(conn, out, out_len);
				check_connection(conn, n, binary, out, out_len);
				if (PQresultStatus(again) != PGRES_TUPLES_OK)
				{
					snprintf(what, sizeof(what), "its send output is refused: %s",
							 PQresultErrorMessage(again));
					violation(n, binary, input, len, what);
				}
				else if (PQgetlength(again, 0, 0) != out_len ||
						 memcmp(PQgetvalue(again, 0, 0), out, out_len) != 0)
					violation(n, binary, input, len, "its send output is not a fixpoint");
				PQclear(again);
				free(out);
			}
		}
		else
		{
			const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

			if (state == NULL)
				state = "none";
			count_outcome(binary, state);
			if (!allowed(binary ? argv[4] : argv[3], state))
			{
				snprintf(what, sizeof(what), "SQLSTATE %s not allowed: %s", state,
						 PQresultErrorMessage(res));
				violation(n, binary, input, len, what);
			}
			else if (must_parse == 1)
			{
				snprintf(what, sizeof(what), "refused, but must be accepted: %s %s", state,
						 PQresultErrorMessage(res));
				violation(n, binary, input, len, what);
			}
		}
		PQclear(res);
		free(text);
		PQfreemem(input);
	}
	PQclear(corpus);
	res = PQexec(conn, "SELECT 1");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "the backend did not answer after the run: %s", PQerrorMessage(conn));
		return 2;
	}
	PQclear(res);
	PQfinish(conn);

	qsort(outcomes, n_outcomes, sizeof(Outcome), compare_outcomes);
	for (i = 0; i < n_outcomes; i++)
		printf("%s %s %s %ld\n", argv[2], outcomes[i].binary ? "binary" : "text",
			   outcomes[i].state, outcomes[i].count);
	printf("%s: %ld inputs (%ld text, %ld binary), %ld not allowed\n", argv[2],
		   inputs[0] + inputs[1], inputs[0], inputs[1], violations);
	if (violations > MAX_REPORTED)
		fprintf(stderr, "(%ld more not shown)\n", violations - MAX_REPORTED);
	return violations > 0 ? 1 : 0;
}
