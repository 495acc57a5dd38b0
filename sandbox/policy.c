/*
 * policy.c - the seccomp policy parser (minijail syntax, vhostd.policy(5)).
 *
 * One "syscall: action" per logical line; "\" joins lines, "#" starts a
 * comment.  The parser takes a FILE * and keeps, for every character of a
 * logical line, the physical line and column it came from, so each error
 * reads "file:line:column: message".  Lines for the same syscall merge as
 * OR; the result is a struct pol_db that policy_compile.c turns into BPF.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <seccomp.h>

#include "policy_int.h"

#define POL_MAX_DEPTH	8	/* @include nesting */
#define POL_MAX_LINE	65536	/* one logical line */
#define POL_MAX_NEST	32	/* "(" and "~" in one value */

/* One file being read (a stack through @include). */
struct pol_file {
	const char		*pf_name;	/* owned by pol_db */
	dev_t			 pf_dev;
	ino_t			 pf_ino;
	bool			 pf_have_id;
	const struct pol_file	*pf_parent;
	unsigned int		 pf_depth;
};

/* A logical line with the origin of every character. */
struct pol_line {
	char		*pl_buf;
	unsigned int	*pl_lines;
	unsigned int	*pl_cols;
	size_t		 pl_len;
	size_t		 pl_cap;
};

/* Parser state for one logical line. */
struct pol_cur {
	const struct pol_line	*pc_line;
	const struct pol_file	*pc_file;
	size_t			 pc_pos;
	unsigned int		 pc_nest;	/* "(" and "~" being parsed */
	char			*pc_err;
	size_t			 pc_errlen;
};

static int	parse_file(struct pol_db *, FILE *, const struct pol_file *,
		    char *, size_t);

void
pol_err(char *err, size_t errlen, const struct pol_loc *loc,
    const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (err == NULL || errlen == 0)
		return;
	n = snprintf(err, errlen, "%s:%u:%u: ", loc->pl_file, loc->pl_line,
	    loc->pl_col);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* The location of character pos of the current line (or just past it). */
static struct pol_loc
cur_loc(const struct pol_cur *c, size_t pos)
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

static int
cur_fail(struct pol_cur *c, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cur_fail(struct pol_cur *c, size_t pos, const char *fmt, ...)
{
	struct pol_loc	loc = cur_loc(c, pos);
	char		msg[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pol_err(c->pc_err, c->pc_errlen, &loc, "%s", msg);
	return -1;
}

static char
cur_peek(const struct pol_cur *c)
{
	return c->pc_pos < c->pc_line->pl_len ?
	    c->pc_line->pl_buf[c->pc_pos] : '\0';
}

static void
cur_skipws(struct pol_cur *c)
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
static size_t
cur_word(struct pol_cur *c, char *buf, size_t len)
{
	size_t	n = 0;

	while (is_word(cur_peek(c))) {
		if (n + 1 < len)
			buf[n++] = cur_peek(c);
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

static int
expect_end(struct pol_cur *c)
{
	char	what[64];

	cur_skipws(c);
	if (c->pc_pos >= c->pc_line->pl_len)
		return 0;
	excerpt(c, c->pc_pos, what, sizeof(what));
	return cur_fail(c, c->pc_pos, "syntax error: unexpected '%s'", what);
}

/* NUMBER: decimal, 0x hex or 0 octal, optionally negative. */
static int
parse_number(struct pol_cur *c, uint64_t *out)
{
	size_t			 start = c->pc_pos;
	bool			 neg = false;
	char			 buf[72], *end;
	unsigned long long	 v;

	if (cur_peek(c) == '-') {
		neg = true;
		c->pc_pos++;
	}
	if (!isdigit((unsigned char)cur_peek(c)))
		return cur_fail(c, start, "syntax error: expected a number");
	if (cur_word(c, buf, sizeof(buf)) >= sizeof(buf) - 1)
		return cur_fail(c, start, "number out of range");
	errno = 0;
	v = strtoull(buf, &end, 0);
	if (*end != '\0')
		return cur_fail(c, start, "bad number '%s%s'", neg ? "-" : "",
		    buf);
	if (errno == ERANGE || (neg && v > (unsigned long long)INT64_MAX + 1))
		return cur_fail(c, start, "number out of range");
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

	cur_skipws(c);
	start = c->pc_pos;
	if (cur_peek(c) == '~' || cur_peek(c) == '(') {
		if (c->pc_nest >= POL_MAX_NEST)
			return cur_fail(c, start, "values nested too deeply "
			    "(more than %d levels)", POL_MAX_NEST);
		c->pc_nest++;
		c->pc_pos++;
		if (c->pc_line->pl_buf[start] == '~') {
			rc = parse_term(c, out);
			*out = ~*out;
		} else if ((rc = parse_value(c, out)) == 0) {
			cur_skipws(c);
			if (cur_peek(c) != ')')
				rc = cur_fail(c, c->pc_pos,
				    "syntax error: expected ')'");
			else
				c->pc_pos++;
		}
		c->pc_nest--;
		return rc;
	}
	if (cur_peek(c) == '-' || isdigit((unsigned char)cur_peek(c)))
		return parse_number(c, out);
	if (!isalpha((unsigned char)cur_peek(c)) && cur_peek(c) != '_')
		return cur_fail(c, start, "syntax error: expected a value");
	cur_word(c, name, sizeof(name));
	if (pol_const_lookup(name, out) < 0)
		return cur_fail(c, start, "unknown constant '%s'", name);
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
		cur_skipws(c);
		if (cur_peek(c) != '|' || (c->pc_pos + 1 < c->pc_line->pl_len &&
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

	cur_skipws(c);
	start = c->pc_pos;
	a->pa_loc = cur_loc(c, start);
	if (!is_word(cur_peek(c)))
		return cur_fail(c, start, "syntax error: expected an argument "
		    "(arg0 to arg5)");
	cur_word(c, word, sizeof(word));
	if (strncmp(word, "arg", 3) != 0 || word[3] == '\0')
		return cur_fail(c, start, "syntax error: expected an argument "
		    "(arg0 to arg5), got '%s'", word);
	if (strlen(word) != 4 || word[3] < '0' || word[3] > '5')
		return cur_fail(c, start, "bad argument index '%s' (arg0 to "
		    "arg5)", word);
	a->pa_arg = (unsigned int)(word[3] - '0');

	cur_skipws(c);
	start = c->pc_pos;
	if (is_word(cur_peek(c))) {
		cur_word(c, op, sizeof(op));
		n = strlen(op);
	} else {
		while (strchr("=!<>&|", cur_peek(c)) != NULL &&
		    cur_peek(c) != '\0' && n + 1 < sizeof(op))
			op[n++] = c->pc_line->pl_buf[c->pc_pos++];
		op[n] = '\0';
	}
	if (n == 0)
		return cur_fail(c, start, "syntax error: expected an operator "
		    "after %s", word);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, op) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return cur_fail(c, start, "bad operator '%s'", op);
	a->pa_op = ops[i].op;
	return parse_value(c, &a->pa_val);
}

static int
push(void **arr, size_t *n, size_t *cap, size_t size)
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
static int
parse_expr(struct pol_cur *c, struct pol_clause **out, size_t *nout)
{
	struct pol_clause	*cl = NULL, *cur;
	size_t			 n = 0, cap = 0, acap = 0;

	for (;;) {
		if (push((void **)&cl, &n, &cap, sizeof(*cl)) < 0)
			goto nomem;
		cur = &cl[n++];
		cur->pc_atoms = NULL;
		cur->pc_n = 0;
		acap = 0;
		for (;;) {
			if (push((void **)&cur->pc_atoms, &cur->pc_n, &acap,
			    sizeof(*cur->pc_atoms)) < 0)
				goto nomem;
			if (parse_atom(c, &cur->pc_atoms[cur->pc_n]) < 0)
				goto fail;
			cur->pc_n++;
			cur_skipws(c);
			if (cur_peek(c) != '&')
				break;
			if (c->pc_pos + 1 >= c->pc_line->pl_len ||
			    c->pc_line->pl_buf[c->pc_pos + 1] != '&') {
				cur_fail(c, c->pc_pos, "syntax error: "
				    "unexpected '&' (use '&&')");
				goto fail;
			}
			c->pc_pos += 2;
		}
		if (cur_peek(c) != '|')
			break;
		if (c->pc_pos + 1 >= c->pc_line->pl_len ||
		    c->pc_line->pl_buf[c->pc_pos + 1] != '|') {
			cur_fail(c, c->pc_pos, "syntax error: unexpected '|' "
			    "(use '||')");
			goto fail;
		}
		c->pc_pos += 2;
	}
	*out = cl;
	*nout = n;
	return 0;
nomem:
	cur_fail(c, c->pc_pos, "out of memory");
fail:
	while (n > 0)
		free(cl[--n].pc_atoms);
	free(cl);
	return -1;
}

/* "return" ERRNO, the word "return" already consumed. */
static int
parse_return(struct pol_cur *c, int *errnum)
{
	char		name[64];
	uint64_t	v = 0;
	size_t		start;

	cur_skipws(c);
	start = c->pc_pos;
	if (isdigit((unsigned char)cur_peek(c))) {
		if (parse_number(c, &v) < 0)
			return -1;
		if (v > 4095)
			return cur_fail(c, start, "errno %llu out of range "
			    "(0 to 4095)", (unsigned long long)v);
		*errnum = (int)v;
		return 0;
	}
	if (cur_word(c, name, sizeof(name)) == 0)
		return cur_fail(c, start, "syntax error: expected an errno "
		    "after 'return'");
	if (pol_errno_lookup(name, errnum) < 0)
		return cur_fail(c, start, "unknown errno '%s'", name);
	return 0;
}

static void
loc_str(const struct pol_loc *loc, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u:%u", loc->pl_file, loc->pl_line,
	    loc->pl_col);
}

struct pol_sys *
pol_db_sys(struct pol_db *db, int nr, const char *name)
{
	struct pol_sys	*s;
	size_t		 i;

	for (i = 0; i < db->pd_n; i++)
		if (db->pd_sys[i].ps_nr == nr)
			return &db->pd_sys[i];
	if (push((void **)&db->pd_sys, &db->pd_n, &db->pd_cap,
	    sizeof(*db->pd_sys)) < 0)
		return NULL;
	s = &db->pd_sys[db->pd_n];
	memset(s, 0, sizeof(*s));
	s->ps_nr = nr;
	if ((s->ps_name = strdup(name)) == NULL)
		return NULL;
	db->pd_n++;
	return s;
}

/* "NAME: ACTION" */
static int
parse_rule(struct pol_db *db, struct pol_cur *c)
{
	struct pol_clause	*cl = NULL;
	struct pol_sys		*s;
	struct pol_loc		 act_loc, ret_loc;
	char			 name[128], word[16], where[PATH_MAX + 32];
	size_t			 start = c->pc_pos, ncl = 0, save, i;
	int			 nr, errnum = 0;
	bool			 allow = false, ret = false;

	if (cur_word(c, name, sizeof(name)) == 0)
		return cur_fail(c, start, "syntax error: expected a syscall "
		    "name");
	cur_skipws(c);
	if (cur_peek(c) != ':')
		return cur_fail(c, c->pc_pos, "syntax error: expected ':' "
		    "after the syscall name");
	nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR || nr < 0)
		return cur_fail(c, start, "unknown syscall '%s'", name);
	c->pc_pos++;
	cur_skipws(c);
	act_loc = cur_loc(c, c->pc_pos);
	save = c->pc_pos;
	cur_word(c, word, sizeof(word));
	if (strcmp(word, "1") == 0) {
		allow = true;
	} else if (strcmp(word, "return") == 0) {
		ret_loc = act_loc;
		if (parse_return(c, &errnum) < 0)
			return -1;
		ret = true;
	} else {
		c->pc_pos = save;
		if (c->pc_pos >= c->pc_line->pl_len)
			return cur_fail(c, c->pc_pos, "syntax error: expected "
			    "'1', 'return ERRNO' or an argument expression");
		if (parse_expr(c, &cl, &ncl) < 0)
			return -1;
		if (cur_peek(c) == ';') {
			c->pc_pos++;
			cur_skipws(c);
			save = c->pc_pos;
			ret_loc = cur_loc(c, save);
			cur_word(c, word, sizeof(word));
			if (strcmp(word, "return") != 0) {
				cur_fail(c, save, "syntax error: expected "
				    "'return' after ';'");
				goto fail;
			}
			if (parse_return(c, &errnum) < 0)
				goto fail;
			ret = true;
		}
	}
	if (expect_end(c) < 0)
		goto fail;

	if ((s = pol_db_sys(db, nr, name)) == NULL) {
		cur_fail(c, start, "out of memory");
		goto fail;
	}
	if ((allow && s->ps_ret_uncond) || (ret && ncl == 0 && s->ps_allow)) {
		if (allow)
			loc_str(&s->ps_ret_loc, where, sizeof(where));
		else
			loc_str(&s->ps_allow_loc, where, sizeof(where));
		pol_err(c->pc_err, c->pc_errlen, &act_loc, "conflicting "
		    "actions for '%s': %s here and %s at %s", name,
		    allow ? "'1'" : "'return'", allow ? "'return'" : "'1'",
		    where);
		goto fail;
	}
	if (ret && s->ps_fallback && s->ps_errno != errnum) {
		loc_str(&s->ps_ret_loc, where, sizeof(where));
		pol_err(c->pc_err, c->pc_errlen, &ret_loc, "conflicting "
		    "actions for '%s': 'return %d' here and 'return %d' at %s",
		    name, errnum, s->ps_errno, where);
		goto fail;
	}
	if (allow && !s->ps_allow) {
		s->ps_allow = true;
		s->ps_allow_loc = act_loc;
	}
	if (ret) {
		if (!s->ps_fallback)
			s->ps_ret_loc = ret_loc;
		s->ps_fallback = true;
		s->ps_errno = errnum;
		if (ncl == 0 && !s->ps_ret_uncond) {
			s->ps_ret_uncond = true;
			s->ps_ret_loc = ret_loc;
		}
	}
	if (ncl > 0) {
		struct pol_clause	*p;

		p = reallocarray(s->ps_clauses, s->ps_nclauses + ncl,
		    sizeof(*p));
		if (p == NULL) {
			cur_fail(c, start, "out of memory");
			goto fail;
		}
		s->ps_clauses = p;
		memcpy(p + s->ps_nclauses, cl, ncl * sizeof(*p));
		s->ps_nclauses += ncl;
		free(cl);
	}
	return 0;
fail:
	for (i = 0; i < ncl; i++)
		free(cl[i].pc_atoms);
	free(cl);
	return -1;
}

/* Keep name for the lifetime of db; returns the stored copy. */
static const char *
db_keep_name(struct pol_db *db, const char *name)
{
	char	**p, *s;

	if ((s = strdup(name)) == NULL)
		return NULL;
	if ((p = reallocarray(db->pd_files, db->pd_nfiles + 1,
	    sizeof(*p))) == NULL) {
		free(s);
		return NULL;
	}
	db->pd_files = p;
	p[db->pd_nfiles++] = s;
	return s;
}

/* "@include PATH" / "@frequency PATH" */
static int
parse_directive(struct pol_db *db, struct pol_cur *c)
{
	const struct pol_file	*up;
	struct pol_file		 inc;
	struct stat		 st;
	char			 word[32], path[PATH_MAX], rel[PATH_MAX];
	const char		*slash;
	size_t			 start, n = 0;
	FILE			*f;
	int			 rc;

	start = c->pc_pos++;
	cur_word(c, word, sizeof(word));
	if (strcmp(word, "include") != 0 && strcmp(word, "frequency") != 0)
		return cur_fail(c, start, "unknown directive '@%s'", word);
	cur_skipws(c);
	start = c->pc_pos;
	while (c->pc_pos < c->pc_line->pl_len) {
		if (n + 1 >= sizeof(rel))
			return cur_fail(c, start, "path too long");
		rel[n++] = c->pc_line->pl_buf[c->pc_pos++];
	}
	while (n > 0 && isspace((unsigned char)rel[n - 1]))
		n--;
	rel[n] = '\0';
	if (n == 0)
		return cur_fail(c, start, "syntax error: expected a path after "
		    "'@%s'", word);
	if (strcmp(word, "frequency") == 0)
		return 0;

	slash = strrchr(c->pc_file->pf_name, '/');
	if (rel[0] == '/' || slash == NULL)
		rc = snprintf(path, sizeof(path), "%s", rel);
	else
		rc = snprintf(path, sizeof(path), "%.*s/%s",
		    (int)(slash - c->pc_file->pf_name), c->pc_file->pf_name,
		    rel);
	if (rc < 0 || (size_t)rc >= sizeof(path))
		return cur_fail(c, start, "path too long");
	if (c->pc_file->pf_depth + 1 >= POL_MAX_DEPTH)
		return cur_fail(c, start, "@include nested too deeply (more "
		    "than %d levels)", POL_MAX_DEPTH);
	if ((f = fopen(path, "re")) == NULL)
		return cur_fail(c, start, "cannot open '%s': %s", path,
		    strerror(errno));
	memset(&inc, 0, sizeof(inc));
	if (fstat(fileno(f), &st) == 0) {
		inc.pf_dev = st.st_dev;
		inc.pf_ino = st.st_ino;
		inc.pf_have_id = true;
		for (up = c->pc_file; up != NULL; up = up->pf_parent)
			if (up->pf_have_id && up->pf_dev == st.st_dev &&
			    up->pf_ino == st.st_ino) {
				fclose(f);
				return cur_fail(c, start, "include loop: '%s' "
				    "is already being read", path);
			}
	}
	if ((inc.pf_name = db_keep_name(db, path)) == NULL) {
		fclose(f);
		return cur_fail(c, start, "out of memory");
	}
	inc.pf_parent = c->pc_file;
	inc.pf_depth = c->pc_file->pf_depth + 1;
	rc = parse_file(db, f, &inc, c->pc_err, c->pc_errlen);
	fclose(f);
	return rc;
}

static int
line_add(struct pol_line *l, char ch, unsigned int line, unsigned int col)
{
	size_t	ncap;
	void	*p;

	if (l->pl_len + 1 >= l->pl_cap) {
		if (l->pl_cap >= POL_MAX_LINE)
			return -1;
		ncap = l->pl_cap ? l->pl_cap * 2 : 256;
		if ((p = realloc(l->pl_buf, ncap)) == NULL)
			return -1;
		l->pl_buf = p;
		if ((p = reallocarray(l->pl_lines, ncap, sizeof(unsigned int)))
		    == NULL)
			return -1;
		l->pl_lines = p;
		if ((p = reallocarray(l->pl_cols, ncap, sizeof(unsigned int)))
		    == NULL)
			return -1;
		l->pl_cols = p;
		l->pl_cap = ncap;
	}
	l->pl_buf[l->pl_len] = ch;
	l->pl_lines[l->pl_len] = line;
	l->pl_cols[l->pl_len] = col;
	l->pl_len++;
	l->pl_buf[l->pl_len] = '\0';
	return 0;
}

/* Parse the logical line in l (if any) as a directive or a rule. */
static int
parse_line(struct pol_db *db, struct pol_cur *c)
{
	c->pc_pos = 0;
	cur_skipws(c);
	if (c->pc_pos >= c->pc_line->pl_len)
		return 0;
	if (cur_peek(c) == '@')
		return parse_directive(db, c);
	return parse_rule(db, c);
}

static int
parse_file(struct pol_db *db, FILE *f, const struct pol_file *pf, char *err,
    size_t errlen)
{
	struct pol_line	 l;
	struct pol_cur	 c;
	struct pol_loc	 loc;
	char		*raw = NULL;
	size_t		 rawcap = 0, n, i;
	ssize_t		 len;
	bool		 cont;
	int		 rc = 0;

	memset(&l, 0, sizeof(l));
	memset(&c, 0, sizeof(c));
	c.pc_line = &l;
	c.pc_file = pf;
	c.pc_err = err;
	c.pc_errlen = errlen;
	loc.pl_file = pf->pf_name;
	loc.pl_line = 0;
	loc.pl_col = 1;
	while ((len = getline(&raw, &rawcap, f)) >= 0) {
		loc.pl_line++;
		n = (size_t)len;
		while (n > 0 && (raw[n - 1] == '\n' || raw[n - 1] == '\r'))
			n--;
		if (memchr(raw, '\0', n) != NULL) {
			loc.pl_col = (unsigned int)strlen(raw) + 1;
			pol_err(err, errlen, &loc, "syntax error: NUL byte");
			rc = -1;
			goto out;
		}
		if ((i = strcspn(raw, "#")) < n)
			n = i;
		while (n > 0 && isspace((unsigned char)raw[n - 1]))
			n--;
		cont = n > 0 && raw[n - 1] == '\\';
		if (cont)
			raw[--n] = ' ';
		for (i = 0; i < n + (cont ? 1 : 0); i++)
			if (line_add(&l, raw[i], loc.pl_line,
			    (unsigned int)i + 1) < 0) {
				loc.pl_col = (unsigned int)i + 1;
				pol_err(err, errlen, &loc, "line too long");
				rc = -1;
				goto out;
			}
		if (cont)
			continue;
		if ((rc = parse_line(db, &c)) < 0)
			goto out;
		l.pl_len = 0;
	}
	if (ferror(f)) {
		pol_err(err, errlen, &loc, "read error: %s", strerror(errno));
		rc = -1;
		goto out;
	}
	/* A "\" on the last line: parse what was joined. */
	rc = parse_line(db, &c);
out:
	free(raw);
	free(l.pl_buf);
	free(l.pl_lines);
	free(l.pl_cols);
	return rc;
}

int
pol_parse(struct pol_db *db, FILE *f, const char *name, char *err,
    size_t errlen)
{
	struct pol_file	 top;
	struct stat	 st;
	int		 fd;

	memset(&top, 0, sizeof(top));
	if ((top.pf_name = db_keep_name(db, name)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	fd = fileno(f);
	if ((fd >= 0 && fstat(fd, &st) == 0) || stat(name, &st) == 0) {
		top.pf_dev = st.st_dev;
		top.pf_ino = st.st_ino;
		top.pf_have_id = true;
	}
	return parse_file(db, f, &top, err, errlen);
}

void
pol_db_free(struct pol_db *db)
{
	size_t	i, j;

	for (i = 0; i < db->pd_n; i++) {
		for (j = 0; j < db->pd_sys[i].ps_nclauses; j++)
			free(db->pd_sys[i].ps_clauses[j].pc_atoms);
		free(db->pd_sys[i].ps_clauses);
		free(db->pd_sys[i].ps_name);
	}
	free(db->pd_sys);
	for (i = 0; i < db->pd_nfiles; i++)
		free(db->pd_files[i]);
	free(db->pd_files);
	memset(db, 0, sizeof(*db));
}

struct policy_filter *
policy_compile_stream(FILE *f, const char *name, enum policy_mode mode,
    char *err, size_t errlen)
{
	struct pol_db		 db;
	struct policy_filter	*pf = NULL;

	memset(&db, 0, sizeof(db));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (pol_parse(&db, f, name, err, errlen) == 0)
		pf = pol_compile(&db, mode, err, errlen);
	pol_db_free(&db);
	return pf;
}

struct policy_filter *
policy_compile_file(const char *path, enum policy_mode mode, char *err,
    size_t errlen)
{
	struct policy_filter	*pf;
	struct pol_loc		 loc;
	FILE			*f;

	if ((f = fopen(path, "re")) == NULL) {
		loc.pl_file = path;
		loc.pl_line = 1;
		loc.pl_col = 1;
		pol_err(err, errlen, &loc, "cannot open '%s': %s", path,
		    strerror(errno));
		return NULL;
	}
	pf = policy_compile_stream(f, path, mode, err, errlen);
	fclose(f);
	return pf;
}
