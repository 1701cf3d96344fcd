/*-------------------------------------------------------------------------
 *
 * segext_client.c
 *	  libpq client test: reads segext's reporting views (sizes, size
 *	  history, membership history, channel forecast and mix) and the members
 *	  of a segment as segext_reader, as a BI tool would, in text and in
 *	  binary result format, decodes
 *	  objectid's 12 binary bytes and checks that both formats agree.  Also
 *	  sends an objectid as a binary parameter.
 *
 *	  Usage: segext_client "conninfo" company_id
 *	  Prints TAP lines; exits non-zero when a check fails.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

static int	tests = 0;
static int	failures = 0;

/* check prints one TAP line and counts a failure. */
static void
check(int ok, const char *what)
{
	tests++;
	if (!ok)
		failures++;
	printf("%sok %d - %s\n", ok ? "" : "not ", tests, what);
}

/* run executes sql with no parameters in the given result format, or dies. */
static PGresult *
run(PGconn *conn, const char *sql, int format)
{
	PGresult   *res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, format);

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "query failed: %s\n%s", sql, PQerrorMessage(conn));
		exit(2);
	}
	return res;
}

/* hex writes the lowercase hex form of n bytes into out (2n + 1 bytes). */
static void
hex(const unsigned char *bytes, int n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	int			i;

	for (i = 0; i < n; i++)
	{
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

/* be32 reads a big-endian 32-bit integer. */
static int32_t
be32(const char *p)
{
	const unsigned char *u = (const unsigned char *) p;

	return (int32_t) (((uint32_t) u[0] << 24) | ((uint32_t) u[1] << 16) |
					  ((uint32_t) u[2] << 8) | (uint32_t) u[3]);
}

/* be64 reads a big-endian 64-bit integer. */
static int64_t
be64(const char *p)
{
	return (int64_t) (((uint64_t) (uint32_t) be32(p) << 32) | (uint32_t) be32(p + 4));
}

/*
 * compare_view reads the same query in text and binary format: column 0 is an
 * objectid, column 1 an int4, column 2 text, column 3 an int8 or NULL.
 */
static void
compare_view(PGconn *conn, const char *sql, const char *name, Oid objectid_oid,
			 int int8_col)
{
	PGresult   *text = run(conn, sql, 0);
	PGresult   *bin = run(conn, sql, 1);
	int			rows = PQntuples(text);
	int			same = 1;
	int			i;
	char		msg[256];

	snprintf(msg, sizeof(msg), "%s: rows read (%d)", name, rows);
	check(rows > 0 && rows == PQntuples(bin), msg);
	snprintf(msg, sizeof(msg), "%s: objectid column has the objectid type and fixed size 12", name);
	check(PQftype(bin, 0) == objectid_oid && PQfsize(bin, 0) == 12 && PQfformat(bin, 0) == 1, msg);
	for (i = 0; i < rows && i < PQntuples(bin); i++)
	{
		char		idhex[25];
		char		num[32];

		if (PQgetlength(bin, i, 0) != 12)
		{
			same = 0;
			continue;
		}
		hex((const unsigned char *) PQgetvalue(bin, i, 0), 12, idhex);
		if (strcmp(idhex, PQgetvalue(text, i, 0)) != 0)
			same = 0;
		snprintf(num, sizeof(num), "%d", be32(PQgetvalue(bin, i, 1)));
		if (PQgetlength(bin, i, 1) != 4 || strcmp(num, PQgetvalue(text, i, 1)) != 0)
			same = 0;
		if (strcmp(PQgetvalue(bin, i, 2), PQgetvalue(text, i, 2)) != 0)
			same = 0;
		if (int8_col)
		{
			snprintf(num, sizeof(num), "%lld", (long long) be64(PQgetvalue(bin, i, 3)));
			if (PQgetlength(bin, i, 3) != 8 || strcmp(num, PQgetvalue(text, i, 3)) != 0)
				same = 0;
		}
	}
	snprintf(msg, sizeof(msg), "%s: binary objectid, int and text values equal the text format", name);
	check(same, msg);
	PQclear(text);
	PQclear(bin);
}

int
main(int argc, char **argv)
{
	PGconn	   *conn;
	PGresult   *res;
	Oid			objectid_oid;
	char		setting[128];
	unsigned char idbytes[12];
	const char *values[1];
	int			lengths[1];
	int			formats[1] = {1};
	Oid			types[1];
	char		idtext[25];
	int			i;

	if (argc != 3)
	{
		fprintf(stderr, "usage: %s conninfo company_id\n", argv[0]);
		return 2;
	}
	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "connection failed: %s", PQerrorMessage(conn));
		return 2;
	}
	PQclear(run(conn, "SET ROLE segext_reader", 0));
	snprintf(setting, sizeof(setting), "SET segext.company_id = '%s'", argv[2]);
	PQclear(run(conn, setting, 0));

	res = run(conn, "SELECT current_user, 'segext.objectid'::regtype::oid", 0);
	check(strcmp(PQgetvalue(res, 0, 0), "segext_reader") == 0, "reading as segext_reader");
	objectid_oid = (Oid) strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);

	compare_view(conn,
				 "SELECT segment_id, segment_number, segment_name, customers_count"
				 " FROM segext_api.report_segment_sizes ORDER BY segment_number",
				 "report_segment_sizes", objectid_oid, 1);
	compare_view(conn,
				 "SELECT channel_id, segment_number, channel_name || '/' || segment_name"
				 " FROM segext_api.report_channel_forecast ORDER BY channel_name, segment_number",
				 "report_channel_forecast", objectid_oid, 0);
	compare_view(conn,
				 "SELECT segment_id, segment_number, segment_name || '/' || day, size"
				 " FROM segext_api.report_segment_size_history ORDER BY segment_number, day",
				 "report_segment_size_history", objectid_oid, 1);
	compare_view(conn,
				 "SELECT customer_id, segment_number, kind, id"
				 " FROM segext_api.report_membership_history ORDER BY id",
				 "report_membership_history", objectid_oid, 1);
	compare_view(conn,
				 "SELECT channel_id, segment_number, channel_name || '/' || segment_name, actual_customers"
				 " FROM segext_api.report_channel_mix ORDER BY channel_name, segment_number",
				 "report_channel_mix", objectid_oid, 1);
	compare_view(conn,
				 "SELECT customer_id, 2, first_name, NULL::int8"
				 " FROM segext_api.segment_customers((SELECT id FROM segext_api.segments WHERE number = 2))"
				 " ORDER BY first_name",
				 "segment_customers", objectid_oid, 0);

	/* The members of segment 2 in the size history match its count. */
	res = run(conn, "SELECT (SELECT size FROM segext_api.report_segment_size_history"
			  " WHERE segment_number = 2 ORDER BY day DESC LIMIT 1),"
			  " (SELECT customers_count FROM segext_api.segments WHERE number = 2)", 1);
	check(PQntuples(res) == 1 && PQgetlength(res, 0, 0) == 8 && PQgetlength(res, 0, 1) == 8 &&
		  be64(PQgetvalue(res, 0, 0)) == 2 && be64(PQgetvalue(res, 0, 1)) == 2,
		  "report_segment_size_history: binary int8 size 2 equals customers_count");
	PQclear(res);

	/* An objectid sent as a 12-byte binary parameter finds its row. */
	res = run(conn, "SELECT segment_id FROM segext_api.report_segment_sizes"
			  " WHERE segment_number = 2", 1);
	check(PQntuples(res) == 1 && PQgetlength(res, 0, 0) == 12, "segment 2 read in binary");
	memcpy(idbytes, PQgetvalue(res, 0, 0), 12);
	PQclear(res);
	values[0] = (const char *) idbytes;
	lengths[0] = 12;
	types[0] = objectid_oid;
	res = PQexecParams(conn,
					   "SELECT segment_id::text, segment_name FROM segext_api.report_segment_sizes"
					   " WHERE segment_id OPERATOR(pg_catalog.=) $1",
					   1, types, values, lengths, formats, 0);
	hex(idbytes, 12, idtext);
	check(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		  strcmp(PQgetvalue(res, 0, 0), idtext) == 0,
		  "binary objectid parameter matches the row it came from");
	PQclear(res);

	/* A reader cannot write. */
	res = PQexec(conn, "DELETE FROM segext_api.segments");
	check(PQresultStatus(res) == PGRES_FATAL_ERROR &&
		  strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE), "42501") == 0,
		  "segext_reader cannot delete (42501)");
	PQclear(res);

	/* Bytes 0-3 of an objectid are its creation second, big-endian. */
	res = run(conn, "SELECT segment_id, extract(epoch FROM segext.objectid_timestamp(segment_id))::bigint"
			  " FROM segext_api.report_segment_sizes ORDER BY segment_number", 1);
	for (i = 0; i < PQntuples(res); i++)
	{
		uint32_t	seconds = (uint32_t) be32(PQgetvalue(res, i, 0));

		if ((int64_t) seconds != be64(PQgetvalue(res, i, 1)))
			break;
	}
	check(i == PQntuples(res), "binary objectid's first 4 bytes are objectid_timestamp()");
	PQclear(res);

	printf("1..%d\n", tests);
	PQfinish(conn);
	return failures == 0 ? 0 : 1;
}
