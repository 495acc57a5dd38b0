/*
 * policy.c - the seccomp policy parser (minijail syntax, vhostd.policy(5)).
 *
 * One "syscall: action" per logical line; "\" joins lines, "#" starts a
 * comment.  The parser takes a FILE * and keeps, for every character of a
 * logical line, the physical line and column it came from, so each error
 * reads "file:line:column: message".  Lines for the same syscall merge as
 * OR; the result is a struct pol_db that policy_compile.c turns into BPF.
 * Here: files, @include, logical lines, rules and directives; the values
 * and argument expressions within a line are policy_expr.c.
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

#include "policy_parse.h"

#define POL_MAX_DEPTH	8	/* @include nesting */
#define POL_MAX_LINE	65536	/* one logical line */

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
	if (pol_push((void **)&db->pd_sys, &db->pd_n, &db->pd_cap,
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

	if (pol_cur_word(c, name, sizeof(name)) == 0)
		return pol_cur_fail(c, start, "syntax error: expected a syscall "
		    "name");
	pol_cur_skipws(c);
	if (pol_cur_peek(c) != ':')
		return pol_cur_fail(c, c->pc_pos, "syntax error: expected ':' "
		    "after the syscall name");
	nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR || nr < 0)
		return pol_cur_fail(c, start, "unknown syscall '%s'", name);
	c->pc_pos++;
	pol_cur_skipws(c);
	act_loc = pol_cur_loc(c, c->pc_pos);
	save = c->pc_pos;
	pol_cur_word(c, word, sizeof(word));
	if (strcmp(word, "1") == 0) {
		allow = true;
	} else if (strcmp(word, "return") == 0) {
		ret_loc = act_loc;
		if (pol_parse_return(c, &errnum) < 0)
			return -1;
		ret = true;
	} else {
		c->pc_pos = save;
		if (c->pc_pos >= c->pc_line->pl_len)
			return pol_cur_fail(c, c->pc_pos, "syntax error: expected "
			    "'1', 'return ERRNO' or an argument expression");
		if (pol_parse_expr(c, &cl, &ncl) < 0)
			return -1;
		if (pol_cur_peek(c) == ';') {
			c->pc_pos++;
			pol_cur_skipws(c);
			save = c->pc_pos;
			ret_loc = pol_cur_loc(c, save);
			pol_cur_word(c, word, sizeof(word));
			if (strcmp(word, "return") != 0) {
				pol_cur_fail(c, save, "syntax error: expected "
				    "'return' after ';'");
				goto fail;
			}
			if (pol_parse_return(c, &errnum) < 0)
				goto fail;
			ret = true;
		}
	}
	if (pol_expect_end(c) < 0)
		goto fail;

	if ((s = pol_db_sys(db, nr, name)) == NULL) {
		pol_cur_fail(c, start, "out of memory");
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
			pol_cur_fail(c, start, "out of memory");
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
	pol_cur_word(c, word, sizeof(word));
	if (strcmp(word, "include") != 0 && strcmp(word, "frequency") != 0)
		return pol_cur_fail(c, start, "unknown directive '@%s'", word);
	pol_cur_skipws(c);
	start = c->pc_pos;
	while (c->pc_pos < c->pc_line->pl_len) {
		if (n + 1 >= sizeof(rel))
			return pol_cur_fail(c, start, "path too long");
		rel[n++] = c->pc_line->pl_buf[c->pc_pos++];
	}
	while (n > 0 && isspace((unsigned char)rel[n - 1]))
		n--;
	rel[n] = '\0';
	if (n == 0)
		return pol_cur_fail(c, start, "syntax error: expected a path after "
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
		return pol_cur_fail(c, start, "path too long");
	if (c->pc_file->pf_depth + 1 >= POL_MAX_DEPTH)
		return pol_cur_fail(c, start, "@include nested too deeply (more "
		    "than %d levels)", POL_MAX_DEPTH);
	if ((f = fopen(path, "re")) == NULL)
		return pol_cur_fail(c, start, "cannot open '%s': %s", path,
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
				return pol_cur_fail(c, start, "include loop: '%s' "
				    "is already being read", path);
			}
	}
	if ((inc.pf_name = db_keep_name(db, path)) == NULL) {
		fclose(f);
		return pol_cur_fail(c, start, "out of memory");
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
	pol_cur_skipws(c);
	if (c->pc_pos >= c->pc_line->pl_len)
		return 0;
	if (pol_cur_peek(c) == '@')
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
