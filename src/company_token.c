/*-------------------------------------------------------------------------
 *
 * company_token.c
 *	  The current company decided on a Citus coordinator, handed to the
 *	  workers of its distributed transaction in a form only a node can make.
 *
 *	  On the coordinator, tenancy.c decides the current company of a
 *	  statement from the session's claims, setting and grants (see its
 *	  header).  The shards of segext's tables on the workers check rows
 *	  against segext.current_company_id() too, in a session that Citus opened
 *	  as the current role, where neither the claims nor a session-level
 *	  setting exist.  So before a statement on segext's distributed tables
 *	  runs, the coordinator makes a company token for each role it has
 *	  decided a company for in the transaction:
 *
 *		company (24 hex digits), how it was reached (a gateway's claim, an
 *		admin's setting, a grant), "r" or "w" (writable), the Citus
 *		distributed transaction id (initiator node, number, timestamp), and
 *		an HMAC-SHA256 over these and the role's name, keyed by the cluster's
 *		secret
 *
 *	  and sends them to every worker connection of the transaction, open or
 *	  opened later, as SET LOCAL segext.company_token, with Citus's own
 *	  propagation of SET LOCAL (the coordinated transaction is started first,
 *	  so that Citus opens remote transaction blocks and assigns the
 *	  distributed transaction id, also for a read in autocommit).
 *
 *	  On a worker, tenancy.c takes the company of a token only when its HMAC
 *	  verifies for the role the session was opened as (the role Citus
 *	  connected as) and its distributed transaction id is the one of the
 *	  current transaction, and a company reached through a grant or as an
 *	  admin only while the role still holds that grant or membership there;
 *	  any other value gives nothing and the company is decided as on one
 *	  node.  The secret (segext.cluster_secret, written by
 *	  segext.distribute() and copied to every node as a reference table) is
 *	  readable by the extension's owner only; a token cannot be made without
 *	  it, nor moved to another role or another distributed transaction.
 *
 *	  Nothing here runs unless Citus is loaded and segext's tables are
 *	  distributed.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "objectid.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "common/hmac.h"
#include "common/sha2.h"

/* Length of a token: company, level, three numbers, the HMAC. */
#define TOKEN_MAC_HEX_LEN	(PG_SHA256_DIGEST_LENGTH * 2)
#define TOKEN_MAX_LEN		(SEGEXT_OBJECTID_HEX_LEN + 1 + 3 * 21 + TOKEN_MAC_HEX_LEN + 8)

/* Most roles a transaction keeps a token for (each statement's current role). */
#define MAX_TOKEN_ROLES		8

/* A Citus distributed transaction id. */
typedef struct DistributedXactId
{
	int32		initiator;
	int64		number;
	int64		stamp;
} DistributedXactId;

/* The company decided for a role in this transaction, as last sent. */
typedef struct RoleToken
{
	Oid			role;
	bool		has_company;
	SegextObjectId company;
	char		source;
	bool		writable;
	char		token[TOKEN_MAX_LEN + 1];
} RoleToken;

/* Value of the segext.company_token setting. */
static char *company_token_setting = NULL;

/* The tokens sent in the current transaction. */
static LocalTransactionId sent_lxid = InvalidLocalTransactionId;
static SubTransactionId sent_subxact = InvalidSubTransactionId;
static int	sent_count = 0;
static RoleToken sent[MAX_TOKEN_ROLES];

/* The cluster's secret, once read. */
static bool secret_valid = false;
static uint8 secret[64];
static int	secret_len = 0;
static Oid	secret_relid = InvalidOid;

/* Citus's functions that start a coordinated transaction and propagate a SET LOCAL. */
typedef void (*UseCoordinatedTransaction_fn) (void);
typedef void (*PostprocessVariableSetStmt_fn) (VariableSetStmt *stmt, const char *text);
static UseCoordinatedTransaction_fn use_coordinated_transaction = NULL;
static PostprocessVariableSetStmt_fn propagate_set_local = NULL;

static void company_token_relcache_callback(Datum arg, Oid relid);
static void company_token_subxact_callback(SubXactEvent event, SubTransactionId subxact,
										   SubTransactionId parent, void *arg);

/*
 * segext_company_token_init defines the segext.company_token setting; called
 * once from _PG_init.
 */
void
segext_company_token_init(void)
{
	DefineCustomStringVariable("segext.company_token",
							   "Current company handed to a Citus worker by the coordinator.",
							   "Set by segext on the worker connections of a distributed transaction; a value not made by a node for this role and transaction gives nothing.",
							   &company_token_setting,
							   "",
							   PGC_USERSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_NO_RESET_ALL | GUC_DISALLOW_IN_FILE,
							   NULL, NULL, NULL);
	segext_register_relcache_callback(company_token_relcache_callback);
	RegisterSubXactCallback(company_token_subxact_callback, NULL);
}

/* company_token_relcache_callback forgets the secret when its table changes. */
static void
company_token_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == secret_relid)
		secret_valid = false;
}

/*
 * company_token_subxact_callback forgets the tokens sent in an aborted
 * subtransaction (Citus undoes its SET LOCAL there): the next statement sends
 * them again.
 */
static void
company_token_subxact_callback(SubXactEvent event, SubTransactionId subxact,
							   SubTransactionId parent, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && sent_subxact >= subxact)
		sent_lxid = InvalidLocalTransactionId;
}

/* segext_company_token returns the segext.company_token setting ("" when unset). */
const char *
segext_company_token(void)
{
	return company_token_setting != NULL ? company_token_setting : "";
}

/*
 * read_secret reads the cluster's secret from the local copy of
 * segext.cluster_secret; false when there is none (not distributed).
 */
static bool
read_secret(void)
{
	Oid			nsp;
	Oid			relid;
	Relation	rel;
	Snapshot	snapshot;
	TableScanDesc scan;
	HeapTuple	tuple;

	if (secret_valid)
		return true;
	nsp = get_namespace_oid("segext", true);
	relid = OidIsValid(nsp) ? get_relname_relid("cluster_secret", nsp) : InvalidOid;
	if (!OidIsValid(relid))
		return false;
	secret_relid = relid;
	/* on Citus, the local placement of the reference table (citus.c) */
	rel = table_open(segext_citus_local_relation(relid), AccessShareLock);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snapshot, 0, NULL);
	if ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, 2, RelationGetDescr(rel), &isnull);

		if (!isnull)
		{
			bytea	   *bytes = DatumGetByteaPP(value);
			int			len = VARSIZE_ANY_EXHDR(bytes);

			if (len >= 32 && len <= (int) sizeof(secret))
			{
				memcpy(secret, VARDATA_ANY(bytes), len);
				secret_len = len;
				secret_valid = true;
			}
		}
	}
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return secret_valid;
}

/*
 * current_distributed_xact reads the Citus distributed transaction id of
 * this backend; false when none is assigned.
 */
static bool
current_distributed_xact(DistributedXactId *xid)
{
	Oid			fn;
	Datum		result;
	HeapTupleHeader header;
	HeapTupleData tuple;
	TupleDesc	desc;
	bool		isnull;

	fn = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
						 CStringGetDatum("get_current_transaction_id"),
						 PointerGetDatum(buildoidvector(NULL, 0)),
						 ObjectIdGetDatum(PG_CATALOG_NAMESPACE));
	if (!OidIsValid(fn))
		return false;
	if (get_func_result_type(fn, NULL, &desc) != TYPEFUNC_COMPOSITE || desc->natts < 5)
		elog(ERROR, "get_current_transaction_id does not return the distributed transaction id");
	result = OidFunctionCall0(fn);
	header = DatumGetHeapTupleHeader(result);
	tuple.t_len = HeapTupleHeaderGetDatumLength(header);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = header;
	xid->number = DatumGetInt64(heap_getattr(&tuple, 4, desc, &isnull));
	if (isnull || xid->number == 0)
		return false;
	xid->initiator = DatumGetInt32(heap_getattr(&tuple, 3, desc, &isnull));
	xid->stamp = DatumGetInt64(heap_getattr(&tuple, 5, desc, &isnull));
	return !isnull;
}

/*
 * token_mac computes the hex HMAC-SHA256 of a token's fields and the role's
 * name under the cluster's secret.
 */
static void
token_mac(const char *fields, const char *role, char *hex)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	static const char domain[] = "segext company token v1";

	if (ctx == NULL)
		elog(ERROR, "out of memory");
	if (pg_hmac_init(ctx, secret, secret_len) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) domain, sizeof(domain)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) fields, strlen(fields) + 1) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) role, strlen(role) + 1) < 0 ||
		pg_hmac_final(ctx, mac, sizeof(mac)) < 0)
	{
		const char *why = pg_hmac_error(ctx);

		pg_hmac_free(ctx);
		elog(ERROR, "could not compute the HMAC of a company token: %s", why);
	}
	pg_hmac_free(ctx);
	hex_encode((const char *) mac, sizeof(mac), hex);
	hex[TOKEN_MAC_HEX_LEN] = '\0';
}

/* token_fields writes the signed fields of a token. */
static void
token_fields(const SegextObjectId *company, char source, bool writable,
			 const DistributedXactId *xid, char *buf, size_t size)
{
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

	segext_objectid_to_hex(company, hex);
	snprintf(buf, size, "%s%c%c%d.%lld.%lld", hex, source, writable ? 'w' : 'r',
			 xid->initiator, (long long) xid->number, (long long) xid->stamp);
}

/* macs_equal compares two hex HMACs in time independent of where they differ. */
static bool
macs_equal(const char *a, const char *b, int len)
{
	unsigned char diff = 0;

	for (int i = 0; i < len; i++)
		diff |= (unsigned char) (a[i] ^ b[i]);
	return diff == 0;
}

/*
 * segext_company_token_verify looks in segext.company_token for a token made
 * for the role this session was opened as, in the current distributed
 * transaction, whose HMAC verifies; true with its company, how the
 * coordinator reached it (SEGEXT_TOKEN_CLAIM, _ADMIN, _GRANT) and its level,
 * false when there is none.
 */
bool
segext_company_token_verify(SegextObjectId *company, char *source, bool *writable)
{
	const char *value = segext_company_token();
	const char *role;
	DistributedXactId xid;
	char		expected[TOKEN_MAX_LEN + 1];

	if (value[0] == '\0' || !IsTransactionState() || !read_secret() ||
		!current_distributed_xact(&xid))
		return false;
	role = GetUserNameFromId(GetSessionUserId(), false);
	while (*value != '\0')
	{
		const char *end = strchr(value, ' ');
		int			len = end != NULL ? (int) (end - value) : (int) strlen(value);
		char		mac[TOKEN_MAC_HEX_LEN + 1];
		SegextObjectId candidate;
		bool		candidate_writable;
		int			fields_len = len - TOKEN_MAC_HEX_LEN - 1;

		if (fields_len > SEGEXT_OBJECTID_HEX_LEN + 2 && len <= TOKEN_MAX_LEN &&
			value[fields_len] == ':' &&
			segext_objectid_from_hex(value, SEGEXT_OBJECTID_HEX_LEN, &candidate) &&
			(value[SEGEXT_OBJECTID_HEX_LEN] == SEGEXT_TOKEN_CLAIM ||
			 value[SEGEXT_OBJECTID_HEX_LEN] == SEGEXT_TOKEN_ADMIN ||
			 value[SEGEXT_OBJECTID_HEX_LEN] == SEGEXT_TOKEN_GRANT) &&
			(value[SEGEXT_OBJECTID_HEX_LEN + 1] == 'r' || value[SEGEXT_OBJECTID_HEX_LEN + 1] == 'w'))
		{
			char		candidate_source = value[SEGEXT_OBJECTID_HEX_LEN];

			candidate_writable = value[SEGEXT_OBJECTID_HEX_LEN + 1] == 'w';
			token_fields(&candidate, candidate_source, candidate_writable, &xid,
						 expected, sizeof(expected));
			/* the fields must name this transaction, the HMAC this role */
			if ((int) strlen(expected) == fields_len &&
				memcmp(expected, value, fields_len) == 0)
			{
				token_mac(expected, role, mac);
				if (macs_equal(mac, value + fields_len + 1, TOKEN_MAC_HEX_LEN))
				{
					*company = candidate;
					*source = candidate_source;
					*writable = candidate_writable;
					return true;
				}
			}
		}
		value += len;
		while (*value == ' ')
			value++;
	}
	return false;
}

/* resolve_citus_functions finds Citus's functions the propagation calls. */
static void
resolve_citus_functions(void)
{
	if (use_coordinated_transaction != NULL && propagate_set_local != NULL)
		return;
	use_coordinated_transaction = (UseCoordinatedTransaction_fn)
		load_external_function("citus", "UseCoordinatedTransaction", false, NULL);
	propagate_set_local = (PostprocessVariableSetStmt_fn)
		load_external_function("citus", "PostprocessVariableSetStmt", false, NULL);
}

/*
 * segext_citus_coordinate makes Citus run the current transaction in remote
 * transaction blocks on the workers (also a single-shard write in
 * autocommit), so that a later statement of it sees what the workers wrote.
 */
void
segext_citus_coordinate(void)
{
	resolve_citus_functions();
	use_coordinated_transaction();
}

/*
 * segext_company_token_send hands the company decided for the current role
 * (or none) to the worker connections of the distributed transaction, when
 * it differs from what they were last sent in this transaction.  The caller
 * has checked that segext's tables are distributed and that this node
 * initiates the statement.
 */
void
segext_company_token_send(const SegextObjectId *company, char source, bool writable)
{
	Oid			role = GetUserId();
	RoleToken  *entry = NULL;
	DistributedXactId xid;
	StringInfoData value;
	StringInfoData text;
	VariableSetStmt *stmt;
	A_Const    *arg;
	int			nestlevel;

	if (sent_lxid != MyProc->lxid)
	{
		sent_lxid = MyProc->lxid;
		sent_subxact = InvalidSubTransactionId;
		sent_count = 0;
	}
	for (int i = 0; i < sent_count; i++)
		if (sent[i].role == role)
			entry = &sent[i];
	if (entry == NULL && company == NULL)
		return;					/* the workers decide "none" themselves */
	if (entry != NULL && entry->has_company == (company != NULL) &&
		(company == NULL ||
		 (segext_objectid_equal(&entry->company, company) &&
		  entry->source == source && entry->writable == writable)))
		return;
	if (!read_secret())
		return;					/* not distributed by segext.distribute() */
	if (entry == NULL)
	{
		if (sent_count == MAX_TOKEN_ROLES)
		{
			/* forget the oldest role: a later statement of it sends again */
			memmove(&sent[0], &sent[1], sizeof(RoleToken) * (MAX_TOKEN_ROLES - 1));
			sent_count--;
		}
		entry = &sent[sent_count++];
		entry->role = role;
	}

	resolve_citus_functions();
	/* remote transaction blocks, and the distributed transaction id */
	use_coordinated_transaction();
	if (!current_distributed_xact(&xid))
		elog(ERROR, "Citus assigned no distributed transaction id");

	entry->has_company = (company != NULL);
	entry->token[0] = '\0';
	if (company != NULL)
	{
		char		fields[TOKEN_MAX_LEN + 1];
		char		mac[TOKEN_MAC_HEX_LEN + 1];

		entry->company = *company;
		entry->source = source;
		entry->writable = writable;
		token_fields(company, source, writable, &xid, fields, sizeof(fields));
		token_mac(fields, GetUserNameFromId(role, false), mac);
		snprintf(entry->token, sizeof(entry->token), "%s:%s", fields, mac);
	}

	initStringInfo(&value);
	for (int i = 0; i < sent_count; i++)
		if (sent[i].has_company)
			appendStringInfo(&value, "%s%s", value.len > 0 ? " " : "", sent[i].token);
	initStringInfo(&text);
	appendStringInfo(&text, "SET LOCAL segext.company_token = %s", quote_literal_cstr(value.data));

	arg = makeNode(A_Const);
	arg->val.sval.type = T_String;
	arg->val.sval.sval = value.data;
	arg->location = -1;
	stmt = makeNode(VariableSetStmt);
	stmt->kind = VAR_SET_VALUE;
	stmt->name = "segext.company_token";
	stmt->args = list_make1(arg);
	stmt->is_local = true;

	/* Citus's SET LOCAL propagation, on for this call only */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("citus.propagate_set_commands", "local",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	propagate_set_local(stmt, text.data);
	AtEOXact_GUC(true, nestlevel);
	sent_subxact = Max(sent_subxact, GetCurrentSubTransactionId());
}
