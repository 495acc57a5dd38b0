/*
 * policy_parse.h - the policy parser's own (policy.c reads files, lines
 * and rules; policy_expr.c the values, argument expressions and "return"
 * within a line).  Not for use outside sandbox/policy*.c.
 */
#ifndef VHOSTD_SANDBOX_POLICY_PARSE_H
#define VHOSTD_SANDBOX_POLICY_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy_int.h"

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

/* The location of character pos of the current line (or just past it). */
struct pol_loc	pol_cur_loc(const struct pol_cur *c, size_t pos);
/* The error "file:line:column: message" at pos into c's buffer; -1. */
int	pol_cur_fail(struct pol_cur *c, size_t pos, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* The next character, or NUL at the end of the line. */
char	pol_cur_peek(const struct pol_cur *c);
void	pol_cur_skipws(struct pol_cur *c);
/* The word at the cursor into buf (consumed); its length, 0 if none. */
size_t	pol_cur_word(struct pol_cur *c, char *buf, size_t len);
/* Nothing but blanks left on the line: 0, else -1 with the error. */
int	pol_expect_end(struct pol_cur *c);
/* Room for one more element of size in *arr (doubling).  0 or -1. */
int	pol_push(void **arr, size_t *n, size_t *cap, size_t size);
/* EXPR: CLAUSE { "||" CLAUSE }, appended to *out.  0 or -1. */
int	pol_parse_expr(struct pol_cur *c, struct pol_clause **out,
	    size_t *nout);
/* "return" ERRNO, the word "return" already consumed.  0 or -1. */
int	pol_parse_return(struct pol_cur *c, int *errnum);

#endif /* VHOSTD_SANDBOX_POLICY_PARSE_H */
