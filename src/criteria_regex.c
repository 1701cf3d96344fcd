/*-------------------------------------------------------------------------
 *
 * criteria_regex.c
 *	  The limits of regex and nregex patterns in field criteria: the measure
 *	  of a pattern (its quantifiers and alternations, and its size with
 *	  bounded repetitions multiplied out) and the check that compiles it with
 *	  PostgreSQL's ARE engine.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "criteria.h"
#include "criteria_build.h"

#include "catalog/pg_collation.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "regex/regex.h"

/*
 * RegexFrame is one open group while measuring a pattern: the size of its
 * contents so far and of its last atom or group, in literal atoms ([0])
 * and character-class atoms ([1]).
 */
typedef struct RegexFrame
{
	int64		size[2];
	int64		last[2];
} RegexFrame;

/* regex_bound reads a {m}, {m,} or {m,n} bound at *p; its multiplier or -1. */
static int64
regex_bound(const char **p, const char *end)
{
	const char *q = *p + 1;
	int64		m = 0,
				n;
	bool		digits_seen = false;

	while (q < end && isdigit((unsigned char) *q) && m < 100000)
	{
		m = m * 10 + (*q++ - '0');
		digits_seen = true;
	}
	if (!digits_seen)
		return -1;
	n = m;
	if (q < end && *q == ',')
	{
		q++;
		if (q < end && isdigit((unsigned char) *q))
		{
			n = 0;
			while (q < end && isdigit((unsigned char) *q) && n < 100000)
				n = n * 10 + (*q++ - '0');
		}
		else
			n = m + 1;			/* {m,}: m copies and a loop */
	}
	if (q >= end || *q != '}')
		return -1;
	*p = q;
	return Max(n, 1);
}

/* regex_class_seen counts a class atom's text among the distinct ones. */
static void
regex_class_seen(List **classes, const char *start, int len)
{
	ListCell   *lc;
	char	   *text = pnstrdup(start, len);

	foreach(lc, *classes)
		if (strcmp((const char *) lfirst(lc), text) == 0)
			return;
	*classes = lappend(*classes, text);
}

/* What the start of a pattern asks for (regex_directors). */
typedef enum RegexSyntax
{
	REGEX_ADVANCED,				/* an ARE follows */
	REGEX_LITERAL,				/* the rest is a literal string */
	REGEX_NOT_ADVANCED			/* basic or extended syntax */
} RegexSyntax;

/*
 * regex_directors reads the ***= and ***: directors and leading embedded
 * options at *p, moving *p past them and setting *expanded for the x
 * option; for a literal rest it sets *size to its length (capped).
 */
static RegexSyntax
regex_directors(const char **pp, const char *end, bool *expanded, int64 *size)
{
	const char *p = *pp;
	const int64 cap = SEGEXT_REGEX_MAX_SIZE + 1;

	if (end - p >= 4 && memcmp(p, "***=", 4) == 0)
	{
		*size = Min(end - p - 4, cap);	/* the rest is a literal string */
		return REGEX_LITERAL;
	}
	if (end - p >= 4 && memcmp(p, "***:", 4) == 0)
		p += 4;
	if (end - p >= 3 && p[0] == '(' && p[1] == '?' && isalpha((unsigned char) p[2]))
	{
		for (p += 2; p < end && *p != ')'; p++)
		{
			if (*p == 'b' || *p == 'e')
				return REGEX_NOT_ADVANCED;
			if (*p == 'q')
			{
				*size = Min(end - p, cap);	/* the rest is a literal string */
				return REGEX_LITERAL;
			}
			if (*p == 'x')
				*expanded = true;
			else if (*p == 't')
				*expanded = false;
		}
		if (p < end)
			p++;
	}
	*pp = p;
	return REGEX_ADVANCED;
}

/*
 * regex_skip_bracket moves from the '[' of a bracket expression to its
 * closing ']' (or the end of the pattern), past [:class:], [.coll.] and
 * [=equiv=] and escapes.
 */
static const char *
regex_skip_bracket(const char *p, const char *end)
{
	p++;
	if (p < end && *p == '^')
		p++;
	if (p < end && *p == ']')
		p++;
	while (p < end && *p != ']')
	{
		if (*p == '[' && p + 1 < end && (p[1] == ':' || p[1] == '.' || p[1] == '='))
		{
			char		close = p[1];

			for (p += 2; p + 1 < end && !(p[0] == close && p[1] == ']'); p++)
				;
			p = Min(p + 2, end);
		}
		else if (*p == '\\')
			p = Min(p + 2, end);
		else
			p++;
	}
	return p;
}

/*
 * regex_measure counts the quantifier and alternation operators of an ARE
 * pattern and measures its size with bounded repetitions multiplied out: a
 * literal atom counts 1, a character class (bracket expression or \d \s \w
 * \D \S \W) counts the number of distinct classes in the pattern, a group
 * the sum of its contents, and x{m,n} counts n times x (capped at
 * SEGEXT_REGEX_MAX_SIZE + 1).  It follows the parts of the syntax that
 * decide where operators are: escapes, bracket expressions, groups, the
 * ***= and ***: directors, leading embedded options and, in expanded mode,
 * white space and comments.  Returns false when the pattern asks for basic
 * or extended syntax through embedded options.
 */
static bool
regex_measure(const char *pat, int len, int *operators, int64 *size)
{
	const char *p = pat;
	const char *end = pat + len;
	const int64 cap = SEGEXT_REGEX_MAX_SIZE + 1;
	RegexFrame *stack;
	List	   *classes = NIL;
	int			depth = 0;
	bool		expanded = false;

	*operators = 0;
	*size = 0;
	switch (regex_directors(&p, end, &expanded, size))
	{
		case REGEX_LITERAL:
			return true;
		case REGEX_NOT_ADVANCED:
			return false;
		case REGEX_ADVANCED:
			break;
	}
	stack = palloc0(sizeof(RegexFrame) * (len + 1));

	for (; p < end; p++)
	{
		RegexFrame *f = &stack[depth];
		const char *atom = p;
		int			kind = 0;	/* 0: literal atom, 1: class atom */
		int64		mult;

		if (expanded && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
						 *p == '\v' || *p == '\f'))
			continue;
		if (expanded && *p == '#')
		{
			while (p + 1 < end && p[1] != '\n')
				p++;
			continue;
		}
		switch (*p)
		{
			case '\\':
				if (p + 1 < end)
				{
					p++;
					if (strchr("dswDSW", *p) != NULL)
						kind = 1;
				}
				break;
			case '[':
				p = regex_skip_bracket(p, end);
				kind = 1;
				break;
			case '(':
				if (p + 1 < end && p[1] == '?')
				{
					p += 2;
					if (p < end && *p == '<')
						p++;
				}
				depth++;
				continue;		/* ':', '=' or '!' after "(?" is not an atom */
			case ')':
				if (depth > 0)
				{
					RegexFrame *inner = f;

					f = &stack[--depth];
					for (int k = 0; k < 2; k++)
					{
						f->last[k] = inner->size[k];
						f->size[k] = Min(f->size[k] + inner->size[k], cap);
					}
					memset(inner, 0, sizeof(RegexFrame));
					continue;
				}
				break;
			case '|':
				(*operators)++;
				f->last[0] = f->last[1] = 0;
				continue;
			case '*':
			case '+':
			case '?':
				(*operators)++;
				continue;
			case '{':
				(*operators)++;
				mult = regex_bound(&p, end);
				if (mult < 0)
					break;		/* a literal brace */
				for (int k = 0; k < 2; k++)
				{
					f->size[k] = Min(f->size[k] + f->last[k] * Min(mult - 1, cap), cap);
					f->last[k] = Min(f->last[k] * mult, cap);
				}
				continue;
			default:
				break;
		}
		if (kind == 1)
			regex_class_seen(&classes, atom, Min(p + 1, end) - atom);
		f->last[kind] = 1;
		f->last[1 - kind] = 0;
		f->size[kind] = Min(f->size[kind] + 1, cap);
	}
	/* groups left open end with the pattern */
	for (; depth > 0; depth--)
		for (int k = 0; k < 2; k++)
			stack[depth - 1].size[k] = Min(stack[depth - 1].size[k] + stack[depth].size[k], cap);
	*size = Min(stack[0].size[0] + stack[0].size[1] * Max(list_length(classes) * list_length(classes), 1), cap);
	pfree(stack);
	list_free_deep(classes);
	return true;
}

/*
 * segext_criteria_check_regex refuses a pattern beyond the regex limits and compiles it
 * with PostgreSQL's ARE engine; a cancel or timeout that stops the
 * compilation is reported as such, not as a bad pattern.
 */
void
segext_criteria_check_regex(CritBuild *b, const char *pat, int len)
{
	pg_wchar   *wpat;
	int			wlen;
	regex_t		re;
	int			rc;
	int			operators;
	int64		size;

	if (len > SEGEXT_REGEX_MAX_BYTES)
		segext_criteria_error(b, "\"value\" is a regular expression of %d bytes, more than the limit of %d",
							  len, SEGEXT_REGEX_MAX_BYTES);
	if (!regex_measure(pat, len, &operators, &size))
		segext_criteria_error(b, "\"value\" is a regular expression that asks for basic or extended syntax; only advanced syntax (ARE) is accepted");
	if (operators > SEGEXT_REGEX_MAX_OPERATORS)
		segext_criteria_error(b, "\"value\" is a regular expression with %d quantifiers and alternations (* + ? { |), more than the limit of %d",
							  operators, SEGEXT_REGEX_MAX_OPERATORS);
	if (size > SEGEXT_REGEX_MAX_SIZE)
		segext_criteria_error(b, "\"value\" is a regular expression whose size, with bounded repetitions multiplied out and each character class counted once per distinct class, is more than the limit of %d",
							  SEGEXT_REGEX_MAX_SIZE);

	wpat = palloc((len + 1) * sizeof(pg_wchar));
	wlen = pg_mb2wchar_with_len(pat, wpat, len);
	rc = pg_regcomp(&re, wpat, wlen, REG_ADVANCED, DEFAULT_COLLATION_OID);
	if (rc != REG_OKAY)
	{
		char		errbuf[100];

		/* a compilation stopped by a cancel or timeout reports that */
		CHECK_FOR_INTERRUPTS();
		pg_regerror(rc, &re, errbuf, sizeof(errbuf));
		segext_criteria_error(b, "\"value\" is not a valid regular expression: %s", errbuf);
	}
	pg_regfree(&re);
	pfree(wpat);
}
