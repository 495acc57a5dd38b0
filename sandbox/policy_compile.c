/*
 * policy_compile.c - a parsed policy (struct pol_db) to BPF with libseccomp,
 * exported in the parent; the child-side loader and the LOG-mode reporter.
 *
 * Each syscall becomes libseccomp rules: one ALLOW rule per conjunction of
 * comparisons (libseccomp ORs the rules of a syscall and ANDs the
 * comparisons of a rule).  "&" with several bits and the negation of "in"
 * expand to one alternative per bit.  A "; return ERRNO" fallback becomes
 * ERRNO rules for the exact negation of the allow expression, so the two
 * never overlap.  libseccomp accepts one comparison per argument in a rule:
 * comparisons that can be merged (equal ones, == against anything, two
 * masks) are merged, anything else is an error that names the argument.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <seccomp.h>

#include "policy_int.h"

#define POL_NR_MAX	1024	/* syscall numbers with a name slot */
#define POL_MAX_RULES	1024	/* libseccomp rules per syscall */
#define POL_MAX_INSNS	BPF_MAXINSNS
#define MAX_ATOMS(a, b)	((a) > (b) ? (a) : (b))

struct policy_filter {
	struct sock_fprog	 pf_prog;
	enum policy_mode	 pf_mode;
	char			*pf_names;	/* NUL-separated */
	uint32_t		 pf_name_off[POL_NR_MAX];  /* offset + 1 */
};

/* One libseccomp comparison, with the atom it came from. */
struct pol_cmp {
	unsigned int		 pm_arg;
	enum scmp_compare	 pm_op;
	uint64_t		 pm_a;	/* datum, or the mask for MASKED_EQ */
	uint64_t		 pm_b;	/* datum for MASKED_EQ */
	const struct pol_loc	*pm_loc;
};

/* An OR of comparisons; always: true whatever the arguments. */
struct pol_lit {
	struct pol_cmp	pl_alt[64];
	unsigned int	pl_n;
	bool		pl_always;
};

/* A product expansion in progress for one syscall. */
struct pol_gen {
	scmp_filter_ctx		 pg_ctx;
	const struct pol_sys	*pg_sys;
	uint32_t		 pg_action;
	bool			 pg_negated;
	struct pol_lit		*pg_lits;	/* one factor per level */
	size_t			 pg_nlits;
	struct pol_cmp		*pg_pick;
	unsigned int		 pg_nrules;
	bool			 pg_uncond;	/* a rule with no comparison */
	char			*pg_err;
	size_t			 pg_errlen;
};

static const struct policy_filter *pol_log_filter;

#ifdef VHOSTD_SANITIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
static const int san_syscalls[] = {
	SCMP_SYS(sigaltstack), SCMP_SYS(gettid), SCMP_SYS(sched_yield),
	SCMP_SYS(prctl), SCMP_SYS(getrlimit), SCMP_SYS(prlimit64),
	SCMP_SYS(readlink), SCMP_SYS(openat), SCMP_SYS(mprotect),
	SCMP_SYS(munmap), SCMP_SYS(madvise), SCMP_SYS(mmap),
	SCMP_SYS(write), SCMP_SYS(futex), SCMP_SYS(sched_getaffinity),
};

static bool
db_has(const struct pol_db *db, int nr)
{
	size_t	i;

	for (i = 0; i < db->pd_n; i++)
		if (db->pd_sys[i].ps_nr == nr)
			return true;
	return false;
}
#endif

static void
cmp_set(struct pol_cmp *m, const struct pol_atom *a, enum scmp_compare op,
    uint64_t x, uint64_t y)
{
	m->pm_arg = a->pa_arg;
	m->pm_op = op;
	m->pm_a = x;
	m->pm_b = y;
	m->pm_loc = &a->pa_loc;
}

/* The atom, or its negation, as an OR of libseccomp comparisons. */
static void
atom_lit(const struct pol_atom *a, bool neg, struct pol_lit *l)
{
	static const enum scmp_compare pos[] = {
		[POL_EQ] = SCMP_CMP_EQ, [POL_NE] = SCMP_CMP_NE,
		[POL_LT] = SCMP_CMP_LT, [POL_LE] = SCMP_CMP_LE,
		[POL_GT] = SCMP_CMP_GT, [POL_GE] = SCMP_CMP_GE,
	};
	static const enum scmp_compare inv[] = {
		[POL_EQ] = SCMP_CMP_NE, [POL_NE] = SCMP_CMP_EQ,
		[POL_LT] = SCMP_CMP_GE, [POL_LE] = SCMP_CMP_GT,
		[POL_GT] = SCMP_CMP_LE, [POL_GE] = SCMP_CMP_LT,
	};
	uint64_t	bits, mask;
	unsigned int	b;

	l->pl_n = 0;
	l->pl_always = false;
	switch (a->pa_op) {
	case POL_AND:
	case POL_IN:
		/* Both are "(arg & mask) == 0", or its negation. */
		mask = a->pa_op == POL_AND ? a->pa_val : ~a->pa_val;
		if (neg == (a->pa_op == POL_IN)) {
			/* (arg & mask) != 0: any bit of mask set. */
			for (b = 0, bits = mask; b < 64; b++)
				if (bits & ((uint64_t)1 << b))
					cmp_set(&l->pl_alt[l->pl_n++], a,
					    SCMP_CMP_MASKED_EQ,
					    (uint64_t)1 << b, (uint64_t)1 << b);
		} else if (mask == 0) {
			l->pl_always = true;
		} else {
			cmp_set(&l->pl_alt[l->pl_n++], a, SCMP_CMP_MASKED_EQ,
			    mask, 0);
		}
		break;
	default:
		cmp_set(&l->pl_alt[l->pl_n++], a,
		    neg ? inv[a->pa_op] : pos[a->pa_op], a->pa_val, 0);
		break;
	}
}

static bool
cmp_holds(const struct pol_cmp *m, uint64_t x)
{
	switch (m->pm_op) {
	case SCMP_CMP_EQ:
		return x == m->pm_a;
	case SCMP_CMP_NE:
		return x != m->pm_a;
	case SCMP_CMP_LT:
		return x < m->pm_a;
	case SCMP_CMP_LE:
		return x <= m->pm_a;
	case SCMP_CMP_GT:
		return x > m->pm_a;
	case SCMP_CMP_GE:
		return x >= m->pm_a;
	case SCMP_CMP_MASKED_EQ:
		return (x & m->pm_a) == m->pm_b;
	default:
		return false;
	}
}

/*
 * Merge comparisons of one rule that test the same argument.  Returns 1
 * (rule kept, *n updated), 0 (the rule can never match) or -1 (cannot be
 * expressed; err set).
 */
static int
rule_normalize(struct pol_gen *g, struct pol_cmp *r, size_t *n)
{
	struct pol_cmp	*x, *y;
	size_t		 i, j;

	for (i = 0; i < *n; i++)
		for (j = i + 1; j < *n; j++) {
			x = &r[i];
			y = &r[j];
			if (x->pm_arg != y->pm_arg)
				continue;
			if (y->pm_op == SCMP_CMP_EQ) {
				struct pol_cmp	t = *x;

				*x = *y;
				*y = t;
			}
			if (x->pm_op == SCMP_CMP_EQ) {
				if (!cmp_holds(y, x->pm_a))
					return 0;
			} else if (x->pm_op == y->pm_op &&
			    x->pm_a == y->pm_a && x->pm_b == y->pm_b) {
				/* the same comparison twice */
			} else if (x->pm_op == SCMP_CMP_MASKED_EQ &&
			    y->pm_op == SCMP_CMP_MASKED_EQ) {
				if ((x->pm_b & y->pm_a) != (y->pm_b & x->pm_a))
					return 0;
				x->pm_a |= y->pm_a;
				x->pm_b |= y->pm_b;
			} else {
				pol_err(g->pg_err, g->pg_errlen, y->pm_loc,
				    "'%s': arg%u is compared twice in one "
				    "rule%s; libseccomp accepts one comparison "
				    "per argument in a rule",
				    g->pg_sys->ps_name, y->pm_arg,
				    g->pg_negated ? " of the negation needed "
				    "by '; return'" : "");
				return -1;
			}
			memmove(&r[j], &r[j + 1], (*n - j - 1) * sizeof(*r));
			(*n)--;
			j = i;
		}
	return 1;
}

static int
rule_add(struct pol_gen *g)
{
	struct scmp_arg_cmp	 args[64];
	struct pol_cmp		 r[64];
	size_t			 n = g->pg_nlits, i;
	int			 rc;

	memcpy(r, g->pg_pick, n * sizeof(*r));
	if ((rc = rule_normalize(g, r, &n)) <= 0)
		return rc;
	if (n == 0) {
		g->pg_uncond = true;
		return 0;
	}
	if (++g->pg_nrules > POL_MAX_RULES) {
		pol_err(g->pg_err, g->pg_errlen, r[0].pm_loc, "'%s': the "
		    "expression expands to more than %d libseccomp rules",
		    g->pg_sys->ps_name, POL_MAX_RULES);
		return -1;
	}
	for (i = 0; i < n; i++) {
		args[i].arg = r[i].pm_arg;
		args[i].op = r[i].pm_op;
		args[i].datum_a = r[i].pm_a;
		args[i].datum_b = r[i].pm_b;
	}
	rc = seccomp_rule_add_exact_array(g->pg_ctx, g->pg_action,
	    g->pg_sys->ps_nr, (unsigned int)n, args);
	if (rc < 0 && rc != -EEXIST) {
		pol_err(g->pg_err, g->pg_errlen, r[0].pm_loc, "'%s': libseccomp "
		    "rejects the rule: %s", g->pg_sys->ps_name, strerror(-rc));
		return -1;
	}
	return 0;
}

/* Pick one alternative of each factor from level on; add each product. */
static int
expand(struct pol_gen *g, size_t level)
{
	const struct pol_lit	*l;
	unsigned int		 i;

	if (level == g->pg_nlits)
		return rule_add(g);
	l = &g->pg_lits[level];
	for (i = 0; i < l->pl_n; i++) {
		g->pg_pick[level] = l->pl_alt[i];
		if (expand(g, level + 1) < 0)
			return -1;
	}
	return 0;
}

/*
 * Add the rules of one syscall with conditions: the clauses as ALLOW and,
 * with a fallback, their negation as ERRNO.  Sets *uncond when the
 * expression turns out to hold for every argument.
 */
static int
add_conditional(scmp_filter_ctx ctx, const struct pol_sys *s, bool *uncond,
    char *err, size_t errlen)
{
	struct pol_gen	 g;
	struct pol_lit	 l;
	size_t		 i, j, k, max = 0;
	int		 rc = -1;

	for (i = 0; i < s->ps_nclauses; i++)
		max = MAX_ATOMS(max, s->ps_clauses[i].pc_n);
	memset(&g, 0, sizeof(g));
	g.pg_ctx = ctx;
	g.pg_sys = s;
	g.pg_err = err;
	g.pg_errlen = errlen;
	max = max > s->ps_nclauses ? max : s->ps_nclauses;
	if (max > 64) {
		pol_err(err, errlen, &s->ps_clauses[0].pc_atoms[0].pa_loc,
		    "'%s': more than 64 terms", s->ps_name);
		return -1;
	}
	g.pg_lits = calloc(max, sizeof(*g.pg_lits));
	g.pg_pick = calloc(max, sizeof(*g.pg_pick));
	if (g.pg_lits == NULL || g.pg_pick == NULL) {
		pol_err(err, errlen, &s->ps_clauses[0].pc_atoms[0].pa_loc,
		    "out of memory");
		goto out;
	}

	/* Allowed: each clause, an AND of ORs of comparisons. */
	g.pg_action = SCMP_ACT_ALLOW;
	for (i = 0; i < s->ps_nclauses && !g.pg_uncond; i++) {
		g.pg_nlits = 0;
		for (j = 0; j < s->ps_clauses[i].pc_n; j++) {
			atom_lit(&s->ps_clauses[i].pc_atoms[j], false, &l);
			if (!l.pl_always)
				g.pg_lits[g.pg_nlits++] = l;
		}
		if (expand(&g, 0) < 0)
			goto out;
	}
	*uncond = g.pg_uncond;
	if (!s->ps_fallback || g.pg_uncond) {
		rc = 0;
		goto out;
	}

	/* Otherwise ERRNO: AND over clauses of (OR of negated atoms). */
	g.pg_action = SCMP_ACT_ERRNO((uint16_t)s->ps_errno);
	g.pg_negated = true;
	g.pg_nlits = 0;
	for (i = 0; i < s->ps_nclauses; i++) {
		struct pol_lit	*f = &g.pg_lits[g.pg_nlits];
		bool		 always = false;

		f->pl_n = 0;
		for (j = 0; j < s->ps_clauses[i].pc_n && !always; j++) {
			atom_lit(&s->ps_clauses[i].pc_atoms[j], true, &l);
			always = l.pl_always;
			for (k = 0; k < l.pl_n && !always; k++) {
				if (f->pl_n == 64) {
					pol_err(err, errlen, l.pl_alt[k].pm_loc,
					    "'%s': the negation needed by '; "
					    "return' has more than 64 terms",
					    s->ps_name);
					goto out;
				}
				f->pl_alt[f->pl_n++] = l.pl_alt[k];
			}
		}
		if (!always)
			g.pg_nlits++;
	}
	rc = expand(&g, 0);
	if (rc == 0 && g.pg_uncond) {
		/* Only when the allow side can never match. */
		rc = seccomp_rule_add(ctx, g.pg_action, s->ps_nr, 0);
		if (rc < 0)
			pol_err(err, errlen, &s->ps_ret_loc, "'%s': libseccomp "
			    "rejects the rule: %s", s->ps_name, strerror(-rc));
	}
out:
	free(g.pg_lits);
	free(g.pg_pick);
	return rc < 0 ? -1 : 0;
}

/* Fill the name table of pf for every syscall number libseccomp knows. */
static int
names_fill(struct policy_filter *pf)
{
	size_t	 len = 0, cap = 8192, n;
	char	*name, *p;
	int	 nr;

	if ((pf->pf_names = malloc(cap)) == NULL)
		return -1;
	for (nr = 0; nr < POL_NR_MAX; nr++) {
		name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		if (name == NULL)
			continue;
		n = strlen(name) + 1;
		if (len + n > cap) {
			if ((p = realloc(pf->pf_names, cap * 2)) == NULL) {
				free(name);
				return -1;
			}
			pf->pf_names = p;
			cap *= 2;
		}
		memcpy(pf->pf_names + len, name, n);
		pf->pf_name_off[nr] = (uint32_t)len + 1;
		len += n;
		free(name);
	}
	return 0;
}

/* Export ctx as raw BPF into pf->pf_prog. */
static int
export_bpf(scmp_filter_ctx ctx, struct policy_filter *pf, char *err,
    size_t errlen)
{
	struct pol_loc	 loc = { "policy", 0, 0 };
	struct stat	 st;
	void		*buf;
	int		 fd, rc;

	if ((fd = memfd_create("vhostd-bpf", MFD_CLOEXEC)) < 0) {
		pol_err(err, errlen, &loc, "memfd_create: %s", strerror(errno));
		return -1;
	}
	if ((rc = seccomp_export_bpf(ctx, fd)) < 0) {
		pol_err(err, errlen, &loc, "cannot export the filter: %s",
		    strerror(-rc));
		close(fd);
		return -1;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size % (off_t)sizeof(struct sock_filter) != 0) {
		pol_err(err, errlen, &loc, "exported filter has a bad size");
		close(fd);
		return -1;
	}
	if (st.st_size / (off_t)sizeof(struct sock_filter) > POL_MAX_INSNS) {
		pol_err(err, errlen, &loc, "the compiled filter has %lld "
		    "instructions, more than the kernel's %d",
		    (long long)(st.st_size / (off_t)sizeof(struct sock_filter)),
		    POL_MAX_INSNS);
		close(fd);
		return -1;
	}
	if ((buf = malloc((size_t)st.st_size)) == NULL ||
	    pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		pol_err(err, errlen, &loc, "cannot read the exported filter");
		free(buf);
		close(fd);
		return -1;
	}
	close(fd);
	pf->pf_prog.filter = buf;
	pf->pf_prog.len = (unsigned short)(st.st_size /
	    (off_t)sizeof(struct sock_filter));
	return 0;
}

static struct policy_filter *
filter_new(enum policy_mode mode)
{
	struct policy_filter	*pf;

	if ((pf = calloc(1, sizeof(*pf))) == NULL)
		return NULL;
	pf->pf_mode = mode;
	if (names_fill(pf) < 0) {
		policy_filter_free(pf);
		return NULL;
	}
	return pf;
}

struct policy_filter *
pol_compile(struct pol_db *db, enum policy_mode mode, char *err,
    size_t errlen)
{
	struct pol_loc		 loc = { "policy", 0, 0 };
	struct policy_filter	*pf = NULL;
	scmp_filter_ctx		 ctx;
	const struct pol_sys	*s;
	uint32_t		 def;
	size_t			 i;
	bool			 uncond, log_write = true, log_exit = true;
	int			 rc;

	def = mode == POLICY_MODE_KILL ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_TRAP;
	if ((ctx = seccomp_init(def)) == NULL) {
		pol_err(err, errlen, &loc, "seccomp_init failed");
		return NULL;
	}
	/* A foreign architecture (i386 int 0x80, x32) is always killed. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS) < 0) {
		pol_err(err, errlen, &loc, "seccomp_attr_set failed");
		goto out;
	}
	for (i = 0; i < db->pd_n; i++) {
		s = &db->pd_sys[i];
		uncond = s->ps_allow;
		if (!uncond && s->ps_nclauses > 0 &&
		    add_conditional(ctx, s, &uncond, err, errlen) < 0)
			goto out;
		if (uncond)
			rc = seccomp_rule_add_exact(ctx, SCMP_ACT_ALLOW,
			    s->ps_nr, 0);
		else if (s->ps_ret_uncond && s->ps_nclauses == 0)
			rc = seccomp_rule_add_exact(ctx,
			    SCMP_ACT_ERRNO((uint16_t)s->ps_errno), s->ps_nr, 0);
		else
			rc = 0;
		if (rc < 0 && rc != -EEXIST) {
			pol_err(err, errlen, uncond ? &s->ps_allow_loc :
			    &s->ps_ret_loc, "'%s': libseccomp rejects the "
			    "rule: %s", s->ps_name, strerror(-rc));
			goto out;
		}
		if (s->ps_nr == SCMP_SYS(write) && (uncond ||
		    s->ps_nclauses > 0 || s->ps_fallback))
			log_write = !uncond;
		if (s->ps_nr == SCMP_SYS(exit_group) && (uncond ||
		    s->ps_fallback))
			log_exit = !uncond;
	}
#ifdef VHOSTD_SANITIZE
	/*
	 * Sanitizer builds only (make SAN=1): the ASan/UBSan runtime's own
	 * calls, so that a sanitized child is judged on what its code does.
	 */
	for (i = 0; i < ARRAY_SIZE(san_syscalls); i++)
		if (!db_has(db, san_syscalls[i]) && (rc =
		    seccomp_rule_add_exact(ctx, SCMP_ACT_ALLOW,
		    san_syscalls[i], 0)) < 0 && rc != -EEXIST) {
			pol_err(err, errlen, &loc, "sanitizer allowance: %s",
			    strerror(-rc));
			goto out;
		}
#endif
	if (mode == POLICY_MODE_LOG) {
		/* The reporter's write(2, ...) and _exit. */
		if (log_write && (rc = seccomp_rule_add_exact(ctx,
		    SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
		    SCMP_A0(SCMP_CMP_EQ, 2))) < 0 && rc != -EEXIST) {
			pol_err(err, errlen, &loc, "cannot allow write(2) for "
			    "the log mode: %s", strerror(-rc));
			goto out;
		}
		if (log_exit && (rc = seccomp_rule_add_exact(ctx,
		    SCMP_ACT_ALLOW, SCMP_SYS(exit_group), 0)) < 0 &&
		    rc != -EEXIST) {
			pol_err(err, errlen, &loc, "cannot allow exit_group for "
			    "the log mode: %s", strerror(-rc));
			goto out;
		}
	}
	if ((pf = filter_new(mode)) == NULL) {
		pol_err(err, errlen, &loc, "out of memory");
		goto out;
	}
	if (export_bpf(ctx, pf, err, errlen) < 0) {
		policy_filter_free(pf);
		pf = NULL;
	}
out:
	seccomp_release(ctx);
	return pf;
}

void
policy_filter_free(struct policy_filter *pf)
{
	if (pf == NULL)
		return;
	free(pf->pf_prog.filter);
	free(pf->pf_names);
	free(pf);
}

size_t
policy_filter_len(const struct policy_filter *pf)
{
	return pf->pf_prog.len;
}

const char *
policy_filter_syscall_name(const struct policy_filter *pf, long nr)
{
	if (pf == NULL || nr < 0 || nr >= POL_NR_MAX ||
	    pf->pf_name_off[nr] == 0)
		return NULL;
	return pf->pf_names + pf->pf_name_off[nr] - 1;
}

/* Async-signal-safe helpers for the reporter. */
static size_t
put_str(char *buf, size_t pos, size_t len, const char *s)
{
	while (*s != '\0' && pos < len)
		buf[pos++] = *s++;
	return pos;
}

static size_t
put_hex(char *buf, size_t pos, size_t len, unsigned long long v)
{
	char	tmp[16];
	int	n = 0;

	pos = put_str(buf, pos, len, "0x");
	do {
		tmp[n++] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v != 0);
	while (n > 0 && pos < len)
		buf[pos++] = tmp[--n];
	return pos;
}

static size_t
put_dec(char *buf, size_t pos, size_t len, long v)
{
	char			tmp[24];
	int			n = 0;
	unsigned long		u = v < 0 ? 0UL - (unsigned long)v :
				    (unsigned long)v;

	if (v < 0)
		pos = put_str(buf, pos, len, "-");
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	while (n > 0 && pos < len)
		buf[pos++] = tmp[--n];
	return pos;
}

static void
log_sigsys(int sig, siginfo_t *si, void *uc_)
{
	const ucontext_t	*uc = uc_;
	char			 buf[256];
	const char		*name;
	size_t			 pos = 0;
	ssize_t			 w;
	int			 i;
#if defined(__x86_64__)
	static const int	 regs[6] = { REG_RDI, REG_RSI, REG_RDX,
				    REG_R10, REG_R8, REG_R9 };
#endif

	(void)sig;
	pos = put_str(buf, pos, sizeof(buf), "seccomp: forbidden syscall ");
	name = policy_filter_syscall_name(pol_log_filter, si->si_syscall);
	if (name != NULL)
		pos = put_str(buf, pos, sizeof(buf), name);
	else {
		pos = put_str(buf, pos, sizeof(buf), "#");
		pos = put_dec(buf, pos, sizeof(buf), si->si_syscall);
	}
	pos = put_str(buf, pos, sizeof(buf), "(");
	for (i = 0; i < 6; i++) {
		if (i > 0)
			pos = put_str(buf, pos, sizeof(buf), ", ");
#if defined(__x86_64__)
		pos = put_hex(buf, pos, sizeof(buf),
		    (unsigned long long)uc->uc_mcontext.gregs[regs[i]]);
#else
		(void)uc;
		pos = put_str(buf, pos, sizeof(buf), "?");
#endif
	}
	pos = put_str(buf, pos, sizeof(buf), ")\n");
	w = write(2, buf, pos);
	(void)w;
	_exit(POLICY_LOG_EXIT);
}

int
policy_filter_load(const struct policy_filter *pf)
{
	struct sigaction	sa;
	sigset_t		set;

	if (pf->pf_mode == POLICY_MODE_LOG) {
		pol_log_filter = pf;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = log_sigsys;
		sa.sa_flags = SA_SIGINFO;
		sigfillset(&sa.sa_mask);
		if (sigaction(SIGSYS, &sa, NULL) < 0)
			return -errno;
		sigemptyset(&set);
		sigaddset(&set, SIGSYS);
		if (sigprocmask(SIG_UNBLOCK, &set, NULL) < 0)
			return -errno;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &pf->pf_prog) < 0)
		return -errno;
	return 0;
}

struct policy_filter *
policy_load_bpf_file(const char *path, char *err, size_t errlen)
{
	struct policy_filter	*pf;
	struct sock_filter	*insn;
	struct stat		 st;
	size_t			 n;
	int			 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size % (off_t)sizeof(*insn) != 0 ||
	    st.st_size / (off_t)sizeof(*insn) > POL_MAX_INSNS) {
		snprintf(err, errlen, "%s: not a BPF program (size must be a "
		    "non-zero multiple of %zu bytes, at most %d instructions)",
		    path, sizeof(*insn), POL_MAX_INSNS);
		close(fd);
		return NULL;
	}
	n = (size_t)st.st_size / sizeof(*insn);
	if ((pf = filter_new(POLICY_MODE_KILL)) == NULL ||
	    (insn = malloc((size_t)st.st_size)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		policy_filter_free(pf);
		close(fd);
		return NULL;
	}
	if (read(fd, insn, (size_t)st.st_size) != st.st_size) {
		snprintf(err, errlen, "%s: short read", path);
		free(insn);
		policy_filter_free(pf);
		close(fd);
		return NULL;
	}
	close(fd);
	pf->pf_prog.filter = insn;
	pf->pf_prog.len = (unsigned short)n;
	if (insn[0].code != (BPF_LD | BPF_W | BPF_ABS) ||
	    insn[0].k != offsetof(struct seccomp_data, arch)) {
		snprintf(err, errlen, "%s: the program does not start by "
		    "checking the architecture", path);
		policy_filter_free(pf);
		return NULL;
	}
	return pf;
}
