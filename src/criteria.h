/*-------------------------------------------------------------------------
 *
 * criteria.h
 *	  The segext.criteria type: a parsed, validated segment condition kept in
 *	  a compact binary form that evaluation reads without parsing JSON.
 *
 * A condition is either a list of parts (format version 1: it matches when
 * EVERY part matches, and a part matches when ANY of its criteria matches)
 * or a tree of groups (format version 2: {"all": [...]}, {"any": [...]},
 * {"not": ...} nested to any depth up to SEGEXT_CRITERIA_MAX_LEVELS, whose
 * leaves are criteria).  Parts and flat lists are stored in version 1 as
 * before; only a value holding groups is stored in version 2.
 *
 * On-disk layout (all offsets in bytes):
 *
 *	SegextCriteria header (16 bytes: varlena header, version byte, flags,
 *	  part count, criterion count, node count)
 *	uint32 part_end[nparts]		criterion index one past each part's last,
 *								padded to a multiple of 8 bytes (version 1;
 *								nparts is 0 in version 2)
 *	SegextNode node[nnodes]		the tree in prefix order (version 2; nnodes
 *								is 0 in version 1)
 *	SegextCriterion crit[ncriteria]	fixed-size records, in document order
 *	data area					strings and lists, addressed by offsets that
 *								are relative to the start of the data area
 *
 * Strings compared case-insensitively (SKUs, makers, label keys and values)
 * are stored folded to lower case (segext_fold_case) and printed that way.
 * Set-like lists are stored sorted and without duplicates, so equal
 * conditions have equal bytes and print equally.
 *
 * What this header declares is defined in criteria.c (the SQL entry
 * points), criteria_parse.c, criteria_params.c and criteria_regex.c (the
 * parser), criteria_print.c (the printer and the in_segment walkers) and
 * criteria_kinds.c (the names of kinds and operators).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_CRITERIA_H
#define SEGEXT_CRITERIA_H

#include "postgres.h"
#include "fmgr.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "objectid.h"

/* Format versions: parts (and flat lists), and trees of groups. */
#define SEGEXT_CRITERIA_VERSION_PARTS	1
#define SEGEXT_CRITERIA_VERSION_TREE	2

/* Limits of a tree: nodes on a path from the root (groups and the criterion), nodes in all. */
#define SEGEXT_CRITERIA_MAX_LEVELS	32
#define SEGEXT_CRITERIA_MAX_NODES	1000

/* Amounts and percents are stored as integers in millionths (exact). */
#define SEGEXT_AMOUNT_SCALE			INT64CONST(1000000)

/* Largest number of days accepted by day-count criteria. */
#define SEGEXT_CRITERIA_MAX_DAYS	1000000

/*
 * Deepest nesting of JSON arrays and objects accepted as criteria, checked
 * before the document is parsed: a tree at the level limit needs two per
 * group ("all"/"any": an object and its array) above its criterion, and
 * three for the criterion (criterion, labels, label).  Parts need 6.
 */
#define SEGEXT_CRITERIA_MAX_DEPTH	(2 * (SEGEXT_CRITERIA_MAX_LEVELS - 1) + 3)

/*
 * Limits of a regex/nregex pattern, which keep its compilation short:
 * bytes; quantifier and alternation characters (* + ? { |) counted
 * anywhere in the pattern; and its size with bounded repetitions
 * multiplied out (each atom counts 1, x{m,n} counts n times x).
 */
#define SEGEXT_REGEX_MAX_BYTES		500
#define SEGEXT_REGEX_MAX_OPERATORS	32
#define SEGEXT_REGEX_MAX_SIZE		500

/* Criterion kinds (the on-disk code of each kind never changes). */
typedef enum SegextCriterionKind
{
	SEGEXT_CRIT_FIELD = 1,		/* {"field", "op", "value"} (Infinity) */
	SEGEXT_CRIT_TRANSACTION_COUNT,	/* lo = min, hi = max */
	SEGEXT_CRIT_TRANSACTION_AMOUNT, /* lo = fromAmount, hi = toAmount (scaled) */
	SEGEXT_CRIT_AVERAGE_AMOUNT, /* lo = fromAmount, hi = toAmount (scaled) */
	SEGEXT_CRIT_BOUGHT_IN_POS,	/* items: posIds */
	SEGEXT_CRIT_BOUGHT_SKUS,	/* items: skuIds (folded) */
	SEGEXT_CRIT_BOUGHT_MAKERS,	/* items: makers (folded) */
	SEGEXT_CRIT_BOUGHT_LABELS,	/* items: key, value pairs (folded) */
	SEGEXT_CRIT_LAST_PURCHASE,	/* lo = days */
	SEGEXT_CRIT_PURCHASE_PERIOD,	/* lo = from, hi = to; see flags */
	SEGEXT_CRIT_PERCENT_IN_POS, /* str = posId, lo = percent (scaled) */
	SEGEXT_CRIT_ANNIVERSARY,	/* op = anniversary type, lo = days */
	SEGEXT_CRIT_HAS_LABELS,		/* items: keys (folded) */
	SEGEXT_CRIT_LABELS_VALUES,	/* items: key, value pairs (folded) */
	SEGEXT_CRIT_CUSTOMER_LIST,	/* items: 12-byte objectids, sorted */
	SEGEXT_CRIT_IN_SEGMENT		/* items: one 12-byte segment id, or lo =
								 * segment number (SEGEXT_CF_SEGMENT_NUMBER) */
} SegextCriterionKind;

#define SEGEXT_CRIT_KIND_MAX	SEGEXT_CRIT_IN_SEGMENT

/* Field operators (op of a SEGEXT_CRIT_FIELD record). */
typedef enum SegextFieldOp
{
	SEGEXT_OP_EQ = 1,
	SEGEXT_OP_NEQ,
	SEGEXT_OP_BEGINS,
	SEGEXT_OP_NBEGINS,
	SEGEXT_OP_ENDS,
	SEGEXT_OP_NENDS,
	SEGEXT_OP_CONTAINS,
	SEGEXT_OP_NCONTAINS,
	SEGEXT_OP_REGEX,
	SEGEXT_OP_NREGEX,
	SEGEXT_OP_GT,
	SEGEXT_OP_GTE,
	SEGEXT_OP_LT,
	SEGEXT_OP_LTE,
	SEGEXT_OP_IN,
	SEGEXT_OP_NIN,
	SEGEXT_OP_EXISTS,
	SEGEXT_OP_NEXISTS
} SegextFieldOp;

#define SEGEXT_OP_MAX	SEGEXT_OP_NEXISTS

/* Anniversary types (op of a SEGEXT_CRIT_ANNIVERSARY record). */
#define SEGEXT_ANNIVERSARY_BIRTHDAY		1
#define SEGEXT_ANNIVERSARY_REGISTRATION 2

/* Criterion flags. */
#define SEGEXT_CF_FROM_IS_DATE	0x01	/* purchase_period: lo is a DateADT */
#define SEGEXT_CF_TO_IS_DATE	0x02	/* purchase_period: hi is a DateADT */
#define SEGEXT_CF_VALUE_NUMBER	0x04	/* field: scalar value is a JSON number */
#define SEGEXT_CF_SEGMENT_NUMBER	0x08	/* in_segment: lo is a segment number */

/* Flags of a whole criteria value. */
#define SEGEXT_CRITERIA_FIELD_ONLY	0x01	/* every criterion is a field one */

/* Node kinds of a tree (version 2). */
#define SEGEXT_NODE_CRITERION	1	/* arg: criterion index */
#define SEGEXT_NODE_ALL			2	/* arg: one past the subtree's last node */
#define SEGEXT_NODE_ANY			3	/* arg: one past the subtree's last node */
#define SEGEXT_NODE_NOT			4	/* arg: one past the subtree's last node */

/*
 * One node of a tree, 8 bytes.  Nodes are stored in prefix order: the
 * children of a group start right after it, each child's subtree ends where
 * the next child begins, and a NOT has exactly one child.
 */
typedef struct SegextNode
{
	uint8		kind;			/* SEGEXT_NODE_* */
	uint8		reserved[3];	/* always 0 */
	uint32		arg;
} SegextNode;

/* Index one past the last node of the subtree rooted at node i. */
#define SEGEXT_NODE_END(nodes, i) \
	((nodes)[i].kind == SEGEXT_NODE_CRITERION ? (uint32) (i) + 1 : (nodes)[i].arg)

/* A string in the data area: offset from the data area start, length. */
typedef struct SegextString
{
	uint32		off;
	uint32		len;
} SegextString;

/*
 * One criterion, 48 bytes.  items is the data-area offset of its list:
 * nitems SegextString entries for string lists (2 * nitems for key/value
 * pairs, key first); nitems 12-byte ids for customer_list; for field in/nin,
 * nitems SegextString values followed by nitems bytes, 1 where that value is
 * a JSON number and 0 where it is a string.
 */
typedef struct SegextCriterion
{
	uint8		kind;			/* SegextCriterionKind */
	uint8		op;				/* SegextFieldOp, or anniversary type */
	uint8		flags;			/* SEGEXT_CF_* */
	uint8		reserved;		/* always 0 */
	uint32		nitems;			/* length of a list parameter */
	uint32		items;			/* data-area offset of the list */
	uint32		pad;			/* always 0 */
	SegextString str;			/* field name, or posId */
	SegextString val;			/* field scalar value (text form) */
	int64		lo;				/* first numeric parameter */
	int64		hi;				/* second numeric parameter */
} SegextCriterion;

/* The varlena header of a criteria value (16 bytes). */
typedef struct SegextCriteria
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	uint8		version;		/* SEGEXT_CRITERIA_VERSION_* */
	uint8		flags;			/* SEGEXT_CRITERIA_* */
	uint16		nparts;			/* 0 in a tree */
	uint32		ncriteria;
	uint32		nnodes;			/* 0 in parts (written 0 by version 1) */
} SegextCriteria;

#define SEGEXT_CRITERIA_PART_END(c) \
	((const uint32 *) (((const char *) (c)) + sizeof(SegextCriteria)))
#define SEGEXT_CRITERIA_NODES(c) \
	((const SegextNode *) (((const char *) (c)) + sizeof(SegextCriteria) + \
						   TYPEALIGN(8, sizeof(uint32) * (c)->nparts)))
#define SEGEXT_CRITERIA_CRIT(c) \
	((const SegextCriterion *) (((const char *) SEGEXT_CRITERIA_NODES(c)) + \
								sizeof(SegextNode) * (c)->nnodes))
#define SEGEXT_CRITERIA_DATA(c) \
	(((const char *) SEGEXT_CRITERIA_CRIT(c)) + sizeof(SegextCriterion) * (c)->ncriteria)
#define SEGEXT_CRIT_STRING(c, s)	(SEGEXT_CRITERIA_DATA(c) + (s).off)
#define SEGEXT_CRIT_ITEMS(c, cr) \
	((const SegextString *) (SEGEXT_CRITERIA_DATA(c) + (cr)->items))

#define DatumGetSegextCriteriaP(X)	((SegextCriteria *) PG_DETOAST_DATUM(X))
#define PG_GETARG_SEGEXT_CRITERIA_P(n)	DatumGetSegextCriteriaP(PG_GETARG_DATUM(n))
#define PG_RETURN_SEGEXT_CRITERIA_P(x)	PG_RETURN_POINTER(x)

/* Parse and validate JSON text into a criteria value (22P02, 22023). */
extern SegextCriteria *segext_criteria_from_cstring(const char *json);

/* In a PG_CATCH block: the data exception being handled, else raised again. */
extern ErrorData *segext_catch_data_exception(MemoryContext context);

/* Validate a jsonb document into a criteria value (22P02, 22023). */
extern SegextCriteria *segext_criteria_from_jsonb(Jsonb *jb);

/*
 * Canonical JSON text (stable key order) of a criteria value: the parts
 * shape for version 1, the tree for version 2.
 */
extern char *segext_criteria_to_cstring(const SegextCriteria *criteria);

/* Canonical JSON text of one criterion (by index) of a criteria value. */
extern char *segext_criterion_to_cstring(const SegextCriteria *criteria, uint32 index);

/* JSON name of a criterion kind ("transaction_count", "field"...). */
extern const char *segext_criterion_kind_name(int kind);

/* JSON name of a field operator ("eq", "nin"...). */
extern const char *segext_field_op_name(int op);

/* A value in SEGEXT_AMOUNT_SCALE units as a decimal number ("12.5"). */
extern char *segext_scaled_to_cstring(int64 v);

/*
 * A segment named by an in_segment criterion: by its id, or by its number
 * (as written, before the criteria are saved into a company's segment).
 */
typedef struct SegextSegmentRef
{
	bool		by_number;
	int32		number;
	SegextObjectId id;
} SegextSegmentRef;

/*
 * The segments named by the in_segment criteria of a value, in document
 * order (a segment may repeat): a palloc'd array of *n of them, or NULL.
 */
extern SegextSegmentRef *segext_criteria_segment_refs(const SegextCriteria *criteria, int *n);

/* Gives the id of the segment with a number (may raise an error). */
typedef void (*SegextSegmentResolver) (int32 number, void *arg, SegextObjectId *id);

/*
 * The value with every in_segment criterion naming its segment by id: a new
 * canonical value in which each number is replaced by resolve's id, or the
 * value itself when no criterion names a number.
 */
extern SegextCriteria *segext_criteria_resolve_segments(const SegextCriteria *criteria,
														SegextSegmentResolver resolve,
														void *arg);

/*
 * Fold a string to lower case the way criteria store SKUs, makers and label
 * keys and values (the database's default collation, as SQL lower()).
 * Returns a palloc'd NUL-terminated string.
 */
extern char *segext_fold_case(const char *str, int len);

/*
 * Exact conversion of a numeric to SEGEXT_AMOUNT_SCALE units; false when it
 * has more than 6 decimal places, is NaN or infinite, or is out of range.
 */
extern bool segext_numeric_to_scaled(Numeric num, int64 *result);

#endif							/* SEGEXT_CRITERIA_H */
