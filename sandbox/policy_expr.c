/*
 * policy_expr.c - within one logical line of a policy (policy.c reads the
 * files and the lines): the cursor and its errors with file:line:column,
 * values (numbers, named constants, "~", "|" and parentheses, nested at
 * most POL_MAX_NEST deep), argument expressions (an OR of ANDs of
 * "argN OP value") and "return ERRNO".
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_parse.h"

/* The location of character pos of the current line (or just past it). */
struct pol_loc
pol_cur_loc(const struct pol_cur *c, size_t pos)
{
	const struct pol_line	*l = c->pc_line;
	struct pol_loc		 loc;

	loc.pl_file = c->pc_file->pf_name;
	if (l->pl_len == 0) {
		loc.pl_line = 1;
		loc.pl_col = 1;
	} else if (pos < l->pl_len) {
		loc.pl_line = l->pl_lines[pos];
		loc.pl_col = l->pl_cols[pos];
	} else {
		loc.pl_line = l->pl_lines[l->pl_len - 1];
		loc.pl_col = l->pl_cols[l->pl_len - 1] + 1;
	}
	return loc;
}

int
pol_cur_fail(struct pol_cur *c, size_t pos, const char *fmt, ...)
{
	struct pol_loc	loc = pol_cur_loc(c, pos);
	char		msg[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pol_err(c->pc_err, c->pc_errlen, &loc, "%s", msg);
	return -1;
}

char
pol_cur_peek(const struct pol_cur *c)
{
	return c->pc_pos < c->pc_line->pl_len ?
	    c->pc_line->pl_buf[c->pc_pos] : '\0';
}

void
pol_cur_skipws(struct pol_cur *c)
{
	while (c->pc_pos < c->pc_line->pl_len &&
	    isspace((unsigned char)c->pc_line->pl_buf[c->pc_pos]))
		c->pc_pos++;
}

static bool
is_word(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

/* Copy the word at the cursor (letters, digits, '_') into buf. */
size_t
pol_cur_word(struct pol_cur *c, char *buf, size_t len)
{
	size_t	n = 0;

	while (is_word(pol_cur_peek(c))) {
		if (n + 1 < len)
			buf[n++] = pol_cur_peek(c);
		c->pc_pos++;
	}
	buf[n] = '\0';
	return n;
}

/* A quoted excerpt of the text at pos, for "unexpected" messages. */
static void
excerpt(const struct pol_cur *c, size_t pos, char *buf, size_t len)
{
	const struct pol_line	*l = c->pc_line;
	size_t			 n = 0;

	if (pos < l->pl_len && !is_word(l->pl_buf[pos]))
		buf[n++] = l->pl_buf[pos++];
	else
		while (pos < l->pl_len && is_word(l->pl_buf[pos]) &&
		    n + 1 < len)
			buf[n++] = l->pl_buf[pos++];
	buf[n] = '\0';
}

int
pol_expect_end(struct pol_cur *c)
{
	char	what[64];

	pol_cur_skipws(c);
	if (c->pc_pos >= c->pc_line->pl_len)
		return 0;
	excerpt(c, c->pc_pos, what, sizeof(what));
	return pol_cur_fail(c, c->pc_pos, "syntax error: unexpected '%s'", what);
}

/* NUMBER: decimal, 0x hex or 0 octal, optionally negative. */
static int
parse_number(struct pol_cur *c, uint64_t *out)
{
	size_t			 start = c->pc_pos;
	bool			 neg = false;
	char			 buf[72], *end;
	unsigned long long	 v;

	if (pol_cur_peek(c) == '-') {
		neg = true;
		c->pc_pos++;
	}
	if (!isdigit((unsigned char)pol_cur_peek(c)))
		return pol_cur_fail(c, start, "syntax error: expected a number");
	if (pol_cur_word(c, buf, sizeof(buf)) >= sizeof(buf) - 1)
		return pol_cur_fail(c, start, "number out of range");
	errno = 0;
	v = strtoull(buf, &end, 0);
	if (*end != '\0')
		return pol_cur_fail(c, start, "bad number '%s%s'", neg ? "-" : "",
		    buf);
	if (errno == ERANGE || (neg && v > (unsigned long long)INT64_MAX + 1))
		return pol_cur_fail(c, start, "number out of range");
	*out = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	return 0;
}

static int	parse_value(struct pol_cur *, uint64_t *);

/*
 * TERM: ["~"] (NUMBER | CONSTANT | "(" VALUE ")").  "~" and "(" recurse:
 * at most POL_MAX_NEST of them nest, so that a long line of them is an
 * error rather than a stack overflow.
 */
static int
parse_term(struct pol_cur *c, uint64_t *out)
{
	char	name[128];
	size_t	start;
	int	rc;

	pol_cur_skipws(c);
	start = c->pc_pos;
	if (pol_cur_peek(c) == '~' || pol_cur_peek(c) == '(') {
		if (c->pc_nest >= POL_MAX_NEST)
			return pol_cur_fail(c, start, "values nested too deeply "
			    "(more than %d levels)", POL_MAX_NEST);
		c->pc_nest++;
		c->pc_pos++;
		if (c->pc_line->pl_buf[start] == '~') {
			rc = parse_term(c, out);
			*out = ~*out;
		} else if ((rc = parse_value(c, out)) == 0) {
			pol_cur_skipws(c);
			if (pol_cur_peek(c) != ')')
				rc = pol_cur_fail(c, c->pc_pos,
				    "syntax error: expected ')'");
			else
				c->pc_pos++;
		}
		c->pc_nest--;
		return rc;
	}
	if (pol_cur_peek(c) == '-' || isdigit((unsigned char)pol_cur_peek(c)))
		return parse_number(c, out);
	if (!isalpha((unsigned char)pol_cur_peek(c)) && pol_cur_peek(c) != '_')
		return pol_cur_fail(c, start, "syntax error: expected a value");
	pol_cur_word(c, name, sizeof(name));
	if (pol_const_lookup(name, out) < 0)
		return pol_cur_fail(c, start, "unknown constant '%s'", name);
	return 0;
}

/* VALUE: TERM { "|" TERM } */
static int
parse_value(struct pol_cur *c, uint64_t *out)
{
	uint64_t	v = 0;

	if (parse_term(c, out) < 0)
		return -1;
	for (;;) {
		pol_cur_skipws(c);
		if (pol_cur_peek(c) != '|' || (c->pc_pos + 1 < c->pc_line->pl_len &&
		    c->pc_line->pl_buf[c->pc_pos + 1] == '|'))
			return 0;
		c->pc_pos++;
		if (parse_term(c, &v) < 0)
			return -1;
		*out |= v;
	}
}

/* ATOM: "arg" N OP VALUE */
static int
parse_atom(struct pol_cur *c, struct pol_atom *a)
{
	static const struct {
		const char	*name;
		enum pol_op	 op;
	} ops[] = {
		{ "==", POL_EQ }, { "!=", POL_NE }, { "<", POL_LT },
		{ "<=", POL_LE }, { ">", POL_GT }, { ">=", POL_GE },
		{ "&", POL_AND }, { "in", POL_IN },
	};
	char	word[64], op[8];
	size_t	start, i, n = 0;

	pol_cur_skipws(c);
	start = c->pc_pos;
	a->pa_loc = pol_cur_loc(c, start);
	if (!is_word(pol_cur_peek(c)))
		return pol_cur_fail(c, start, "syntax error: expected an argument "
		    "(arg0 to arg5)");
	pol_cur_word(c, word, sizeof(word));
	if (strncmp(word, "arg", 3) != 0 || word[3] == '\0')
		return pol_cur_fail(c, start, "syntax error: expected an argument "
		    "(arg0 to arg5), got '%s'", word);
	if (strlen(word) != 4 || word[3] < '0' || word[3] > '5')
		return pol_cur_fail(c, start, "bad argument index '%s' (arg0 to "
		    "arg5)", word);
	a->pa_arg = (unsigned int)(word[3] - '0');

	pol_cur_skipws(c);
	start = c->pc_pos;
	if (is_word(pol_cur_peek(c))) {
		pol_cur_word(c, op, sizeof(op));
		n = strlen(op);
	} else {
		while (strchr("=!<>&|", pol_cur_peek(c)) != NULL &&
		    pol_cur_peek(c) != '\0' && n + 1 < sizeof(op))
			op[n++] = c->pc_line->pl_buf[c->pc_pos++];
		op[n] = '\0';
	}
	if (n == 0)
		return pol_cur_fail(c, start, "syntax error: expected an operator "
		    "after %s", word);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, op) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return pol_cur_fail(c, start, "bad operator '%s'", op);
	a->pa_op = ops[i].op;
	return parse_value(c, &a->pa_val);
}

int
pol_push(void **arr, size_t *n, size_t *cap, size_t size)
{
	void	*p;
	size_t	 ncap;

	if (*n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	if ((p = reallocarray(*arr, ncap, size)) == NULL)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* EXPR: CLAUSE { "||" CLAUSE }, CLAUSE: ATOM { "&&" ATOM } */
int
pol_parse_expr(struct pol_cur *c, struct pol_clause **out, size_t *nout)
{
	struct pol_clause	*cl = NULL, *cur;
	size_t			 n = 0, cap = 0, acap = 0;

	for (;;) {
		if (pol_push((void **)&cl, &n, &cap, sizeof(*cl)) < 0)
			goto nomem;
		cur = &cl[n++];
		cur->pc_atoms = NULL;
		cur->pc_n = 0;
		acap = 0;
		for (;;) {
			if (pol_push((void **)&cur->pc_atoms, &cur->pc_n, &acap,
			    sizeof(*cur->pc_atoms)) < 0)
				goto nomem;
			if (parse_atom(c, &cur->pc_atoms[cur->pc_n]) < 0)
				goto fail;
			cur->pc_n++;
			pol_cur_skipws(c);
			if (pol_cur_peek(c) != '&')
				break;
			if (c->pc_pos + 1 >= c->pc_line->pl_len ||
			    c->pc_line->pl_buf[c->pc_pos + 1] != '&') {
				pol_cur_fail(c, c->pc_pos, "syntax error: "
				    "unexpected '&' (use '&&')");
				goto fail;
			}
			c->pc_pos += 2;
		}
		if (pol_cur_peek(c) != '|')
			break;
		if (c->pc_pos + 1 >= c->pc_line->pl_len ||
		    c->pc_line->pl_buf[c->pc_pos + 1] != '|') {
			pol_cur_fail(c, c->pc_pos, "syntax error: unexpected '|' "
			    "(use '||')");
			goto fail;
		}
		c->pc_pos += 2;
	}
	*out = cl;
	*nout = n;
	return 0;
nomem:
	pol_cur_fail(c, c->pc_pos, "out of memory");
fail:
	while (n > 0)
		free(cl[--n].pc_atoms);
	free(cl);
	return -1;
}

/* "return" ERRNO, the word "return" already consumed. */
int
pol_parse_return(struct pol_cur *c, int *errnum)
{
	char		name[64];
	uint64_t	v = 0;
	size_t		start;

	pol_cur_skipws(c);
	start = c->pc_pos;
	if (isdigit((unsigned char)pol_cur_peek(c))) {
		if (parse_number(c, &v) < 0)
			return -1;
		if (v > 4095)
			return pol_cur_fail(c, start, "errno %llu out of range "
			    "(0 to 4095)", (unsigned long long)v);
		*errnum = (int)v;
		return 0;
	}
	if (pol_cur_word(c, name, sizeof(name)) == 0)
		return pol_cur_fail(c, start, "syntax error: expected an errno "
		    "after 'return'");
	if (pol_errno_lookup(name, errnum) < 0)
		return pol_cur_fail(c, start, "unknown errno '%s'", name);
	return 0;
}
