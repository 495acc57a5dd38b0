/*
 * policy_compile.c - a parsed policy (struct pol_db) to a seccomp BPF
 * program, built in the parent: the argument expressions, one block per
 * system call, and the program's layout.  The filter itself (loading it,
 * the LOG-mode reporter, precompiled .bpf files and their validation) is
 * policy_filter.c.
 *
 * The program is generated here rather than through libseccomp's rule
 * API: libseccomp 2.5 builds wrong filters for an OR of rules that compare
 * different arguments (too permissive as well as too strict), drops or
 * loops on rules with different actions for one system call, and takes one
 * comparison per argument in a rule.  libseccomp still names the system
 * calls.  The program:
 *
 *	arch != native			-> KILL_PROCESS
 *	nr is x32 (x86_64)		-> KILL_PROCESS
 *	nr == N, for each N listed	-> the block of N
 *	otherwise			-> the default action
 *	block of N: each clause (an AND of comparisons) in turn, a false
 *	    comparison going on to the next clause, a true clause to ALLOW;
 *	    after the last clause ERRNO (for "return E") or the default.
 *
 * A comparison tests the 64-bit argument as two 32-bit words, the high
 * word first, or only the low word where that is the stricter reading of
 * a 32-bit constant (atom_low_word); policy_test.c runs each operator
 * through the kernel.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <seccomp.h>

#include "policy_int.h"

#define POL_MAX_CONJ	32	/* comparisons per clause (jump range) */
#define POL_MAX_FIX	((size_t)3 * POL_MAX_CONJ)

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(i)	((uint32_t)offsetof(struct seccomp_data, args[i]))
#define ARG_HI(i)	(ARG_LO(i) + 4)
#else
#define ARG_HI(i)	((uint32_t)offsetof(struct seccomp_data, args[i]))
#define ARG_LO(i)	(ARG_HI(i) + 4)
#endif

/* Where a conditional jump of a comparison goes. */
enum pol_to {
	TO_NEXT,	/* the next instruction */
	TO_PASS,	/* past this comparison: it holds */
	TO_FAIL		/* the next clause: this one does not hold */
};

/* A jump waiting for its target: instruction at, its jt or its jf. */
struct pol_fix {
	size_t		fx_at;
	bool		fx_jt;
};

/* A BPF program being generated. */
struct pol_bpf {
	struct sock_filter	*pb_insn;
	size_t			 pb_len;
	size_t			 pb_cap;
	/* jumps of the current comparison, of the current clause */
	struct pol_fix		 pb_pass[4];
	size_t			 pb_npass;
	struct pol_fix		 pb_fail[POL_MAX_FIX];
	size_t			 pb_nfail;
	bool			 pb_nomem;
	bool			 pb_range;	/* a jump out of range */
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#ifdef VHOSTD_SANITIZE
#define SAN(x)	{ SYS_##x, #x }
static const struct {
	int		 ss_nr;
	const char	*ss_name;
} san_syscalls[] = {
	SAN(sigaltstack), SAN(gettid), SAN(sched_yield), SAN(prctl),
	SAN(getrlimit), SAN(prlimit64), SAN(readlink), SAN(openat),
	SAN(mprotect), SAN(munmap), SAN(madvise), SAN(mmap), SAN(write),
	SAN(futex), SAN(sched_getaffinity),
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

/* Append one instruction; its jumps are raw offsets. */
static size_t
bpf_raw(struct pol_bpf *b, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	struct sock_filter	*p;
	size_t			 ncap;

	if (b->pb_len == b->pb_cap) {
		ncap = b->pb_cap ? b->pb_cap * 2 : 256;
		if (ncap > (size_t)4 * POL_MAX_INSNS ||
		    (p = reallocarray(b->pb_insn, ncap, sizeof(*p))) == NULL) {
			b->pb_nomem = true;
			return b->pb_len;
		}
		b->pb_insn = p;
		b->pb_cap = ncap;
	}
	p = &b->pb_insn[b->pb_len];
	p->code = code;
	p->jt = jt;
	p->jf = jf;
	p->k = k;
	return b->pb_len++;
}

static void
bpf_target(struct pol_bpf *b, size_t at, bool jt, enum pol_to to)
{
	struct pol_fix	*fx;

	if (to == TO_NEXT)
		return;
	if (to == TO_PASS) {
		fx = &b->pb_pass[b->pb_npass++];
	} else {
		if (b->pb_nfail == POL_MAX_FIX) {
			b->pb_range = true;
			return;
		}
		fx = &b->pb_fail[b->pb_nfail++];
	}
	fx->fx_at = at;
	fx->fx_jt = jt;
}

/* A conditional jump on k to t (true) or f (false). */
static void
bpf_jump(struct pol_bpf *b, uint16_t code, uint32_t k, enum pol_to t,
    enum pol_to f)
{
	size_t	at;

	at = bpf_raw(b, code, 0, 0, k);
	if (b->pb_nomem)
		return;
	bpf_target(b, at, true, t);
	bpf_target(b, at, false, f);
}

/* Point the pending jumps fx[0..n) at the next instruction. */
static void
bpf_land(struct pol_bpf *b, struct pol_fix *fx, size_t *n)
{
	size_t	i, off;

	for (i = 0; i < *n && !b->pb_nomem; i++) {
		off = b->pb_len - fx[i].fx_at - 1;
		if (off > 255) {
			b->pb_range = true;
			continue;
		}
		if (fx[i].fx_jt)
			b->pb_insn[fx[i].fx_at].jt = (uint8_t)off;
		else
			b->pb_insn[fx[i].fx_at].jf = (uint8_t)off;
	}
	*n = 0;
}

/*
 * Whether the comparison a, with a 32-bit constant, is decided by the low
 * word alone.  The kernel reads an int, an unsigned int or a flag word
 * from the low half of the register and ignores the high half, so a rule
 * on such an argument must hold for the low word; a rule on a 64-bit
 * argument must hold for the whole value.  The compiler does not know
 * which kind the argument is, so a comparison with a 32-bit constant (its
 * high word zero, or the sign extension of a negative int) must hold both
 * ways.  One reading always implies the other: the 64-bit one for "==",
 * "in", and (positive constants) "<", "<=", or (negative ones) ">", ">=";
 * the low-word one for "!=", "&", and ">", ">=" (positive) or "<", "<="
 * (negative).  This returns true for the second group.
 */
static bool
atom_low_word(const struct pol_atom *a)
{
	uint32_t	vhi = (uint32_t)(a->pa_val >> 32);
	bool		pos = vhi == 0;
	bool		neg = vhi == UINT32_MAX && (a->pa_val & 0x80000000U);

	switch (a->pa_op) {
	case POL_NE:
	case POL_AND:
		return pos || neg;
	case POL_GT:
	case POL_GE:
		return pos;
	case POL_LT:
	case POL_LE:
		return neg;
	default:
		return false;
	}
}

/* One comparison: falls through (TO_PASS) when it holds. */
static void
bpf_atom(struct pol_bpf *b, const struct pol_atom *a)
{
	uint32_t	lo = ARG_LO(a->pa_arg), hi = ARG_HI(a->pa_arg);
	uint64_t	v = a->pa_op == POL_IN ? ~a->pa_val : a->pa_val;
	uint32_t	vlo = (uint32_t)v, vhi = (uint32_t)(v >> 32);
	bool		up;

	if (atom_low_word(a)) {
		bpf_raw(b, LD_W, 0, 0, lo);
		switch (a->pa_op) {
		case POL_NE:
			bpf_jump(b, JEQ, vlo, TO_FAIL, TO_PASS);
			break;
		case POL_GT:
			bpf_jump(b, JGT, vlo, TO_PASS, TO_FAIL);
			break;
		case POL_GE:
			bpf_jump(b, JGE, vlo, TO_PASS, TO_FAIL);
			break;
		case POL_LT:
			bpf_jump(b, JGE, vlo, TO_FAIL, TO_PASS);
			break;
		case POL_LE:
			bpf_jump(b, JGT, vlo, TO_FAIL, TO_PASS);
			break;
		default:	/* POL_AND */
			bpf_jump(b, JSET, vlo, TO_PASS, TO_FAIL);
			break;
		}
		bpf_land(b, b->pb_pass, &b->pb_npass);
		return;
	}
	switch (a->pa_op) {
	case POL_EQ:
		bpf_raw(b, LD_W, 0, 0, hi);
		bpf_jump(b, JEQ, vhi, TO_NEXT, TO_FAIL);
		bpf_raw(b, LD_W, 0, 0, lo);
		bpf_jump(b, JEQ, vlo, TO_PASS, TO_FAIL);
		break;
	case POL_NE:
		bpf_raw(b, LD_W, 0, 0, hi);
		bpf_jump(b, JEQ, vhi, TO_NEXT, TO_PASS);
		bpf_raw(b, LD_W, 0, 0, lo);
		bpf_jump(b, JEQ, vlo, TO_FAIL, TO_PASS);
		break;
	case POL_GT:
	case POL_GE:
	case POL_LT:
	case POL_LE:
		/* x > v: hi > vhi, or hi == vhi and lo > vlo (>= for GE) */
		up = a->pa_op == POL_GT || a->pa_op == POL_GE;
		bpf_raw(b, LD_W, 0, 0, hi);
		bpf_jump(b, JGT, vhi, up ? TO_PASS : TO_FAIL, TO_NEXT);
		bpf_jump(b, JEQ, vhi, TO_NEXT, up ? TO_FAIL : TO_PASS);
		bpf_raw(b, LD_W, 0, 0, lo);
		bpf_jump(b, a->pa_op == POL_GT || a->pa_op == POL_LE ? JGT :
		    JGE, vlo, up ? TO_PASS : TO_FAIL, up ? TO_FAIL : TO_PASS);
		break;
	case POL_AND:
		/* some bit of v set */
		if (vhi != 0) {
			bpf_raw(b, LD_W, 0, 0, hi);
			bpf_jump(b, JSET, vhi, TO_PASS, TO_NEXT);
		}
		bpf_raw(b, LD_W, 0, 0, lo);
		bpf_jump(b, JSET, vlo, TO_PASS, TO_FAIL);
		break;
	case POL_IN:
		/* no bit of v = ~mask set */
		if (vhi != 0) {
			bpf_raw(b, LD_W, 0, 0, hi);
			bpf_jump(b, JSET, vhi, TO_FAIL, TO_NEXT);
		}
		bpf_raw(b, LD_W, 0, 0, lo);
		bpf_jump(b, JSET, vlo, TO_FAIL, TO_PASS);
		break;
	}
	bpf_land(b, b->pb_pass, &b->pb_npass);
}

/* The block of one system call. */
static int
bpf_sys(struct pol_bpf *b, const struct pol_sys *s, uint32_t def, char *err,
    size_t errlen)
{
	const struct pol_clause	*cl;
	size_t			 i, j;

	if (s->ps_allow) {
		bpf_raw(b, RET, 0, 0, SECCOMP_RET_ALLOW);
		return 0;
	}
	for (i = 0; i < s->ps_nclauses; i++) {
		cl = &s->ps_clauses[i];
		if (cl->pc_n > POL_MAX_CONJ) {
			pol_err(err, errlen, &cl->pc_atoms[POL_MAX_CONJ].pa_loc,
			    "'%s': more than %d comparisons joined by '&&'",
			    s->ps_name, POL_MAX_CONJ);
			return -1;
		}
		for (j = 0; j < cl->pc_n; j++)
			bpf_atom(b, &cl->pc_atoms[j]);
		bpf_raw(b, RET, 0, 0, SECCOMP_RET_ALLOW);
		bpf_land(b, b->pb_fail, &b->pb_nfail);
	}
	bpf_raw(b, RET, 0, 0, s->ps_fallback ? SECCOMP_RET_ERRNO |
	    ((uint32_t)s->ps_errno & SECCOMP_RET_DATA) : def);
	if (b->pb_range) {
		pol_err(err, errlen, &s->ps_clauses[0].pc_atoms[0].pa_loc,
		    "'%s': a jump in the compiled filter is out of range",
		    s->ps_name);
		return -1;
	}
	return 0;
}

/* Allow nr unconditionally (added to db). */
static int
db_allow(struct pol_db *db, int nr, const char *name)
{
	struct pol_sys	*s;

	if ((s = pol_db_sys(db, nr, name)) == NULL)
		return -1;
	s->ps_allow = true;
	return 0;
}

/* LOG mode: the reporter's write(2, ...) and exit_group (added to db). */
static int
db_log_allowances(struct pol_db *db)
{
	static const struct pol_loc	 loc = { "policy", 0, 0 };
	struct pol_clause		*cl;
	struct pol_atom			*a;
	struct pol_sys			*s;

	if (db_allow(db, SYS_exit_group, "exit_group") < 0 ||
	    (s = pol_db_sys(db, SYS_write, "write")) == NULL)
		return -1;
	if (s->ps_allow)
		return 0;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	if ((cl = reallocarray(s->ps_clauses, s->ps_nclauses + 1,
	    sizeof(*cl))) == NULL) {
		free(a);
		return -1;
	}
	s->ps_clauses = cl;
	a->pa_arg = 0;
	a->pa_op = POL_EQ;
	a->pa_val = 2;
	a->pa_loc = loc;
	cl[s->ps_nclauses].pc_atoms = a;
	cl[s->ps_nclauses].pc_n = 1;
	s->ps_nclauses++;
	return 0;
}

/* The whole program for db into b; -1 with err set, or b->pb_nomem. */
static int
bpf_program(struct pol_bpf *b, const struct pol_db *db, uint32_t def,
    char *err, size_t errlen)
{
	size_t	*ja, i;
	int	 rc = 0;

	if ((ja = calloc(db->pd_n + 1, sizeof(*ja))) == NULL) {
		b->pb_nomem = true;
		return 0;
	}
	bpf_raw(b, LD_W, 0, 0, (uint32_t)offsetof(struct seccomp_data, arch));
	bpf_raw(b, JEQ, 1, 0, POL_ARCH);
	bpf_raw(b, RET, 0, 0, SECCOMP_RET_KILL_PROCESS);
	bpf_raw(b, LD_W, 0, 0, (uint32_t)offsetof(struct seccomp_data, nr));
#ifdef POL_X32_BIT
	bpf_raw(b, JGE, 0, 1, POL_X32_BIT);
	bpf_raw(b, RET, 0, 0, SECCOMP_RET_KILL_PROCESS);
#endif
	for (i = 0; i < db->pd_n; i++) {
		bpf_raw(b, JEQ, 0, 1, (uint32_t)db->pd_sys[i].ps_nr);
		ja[i] = bpf_raw(b, JA, 0, 0, 0);
	}
	bpf_raw(b, RET, 0, 0, def);
	for (i = 0; i < db->pd_n && rc == 0 && !b->pb_nomem; i++) {
		b->pb_insn[ja[i]].k = (uint32_t)(b->pb_len - ja[i] - 1);
		rc = bpf_sys(b, &db->pd_sys[i], def, err, errlen);
	}
	free(ja);
	return rc;
}

struct policy_filter *
pol_compile(struct pol_db *db, enum policy_mode mode, char *err,
    size_t errlen)
{
	const char		*top = db->pd_nfiles > 0 ? db->pd_files[0] :
				    "policy";
	struct policy_filter	*pf;
	struct pol_bpf		 b;
	uint32_t		 def;
#ifdef VHOSTD_SANITIZE
	size_t			 i;
#endif

	def = mode == POLICY_MODE_KILL ? SECCOMP_RET_KILL_PROCESS :
	    SECCOMP_RET_TRAP;
	memset(&b, 0, sizeof(b));
#ifdef VHOSTD_SANITIZE
	/*
	 * Sanitizer builds only (make SAN=1): the ASan/UBSan runtime's own
	 * calls, so that a sanitized child is judged on what its code does.
	 */
	for (i = 0; i < ARRAY_SIZE(san_syscalls); i++)
		if (!db_has(db, san_syscalls[i].ss_nr) && db_allow(db,
		    san_syscalls[i].ss_nr, san_syscalls[i].ss_name) < 0)
			goto nomem;
#endif
	if (mode == POLICY_MODE_LOG && db_log_allowances(db) < 0)
		goto nomem;
	if (bpf_program(&b, db, def, err, errlen) < 0) {
		free(b.pb_insn);
		return NULL;
	}
	if (b.pb_nomem)
		goto nomem;
	if (b.pb_len > POL_MAX_INSNS) {
		snprintf(err, errlen, "%s: the compiled filter has %zu "
		    "instructions, more than the kernel's %d", top, b.pb_len,
		    POL_MAX_INSNS);
		free(b.pb_insn);
		return NULL;
	}
	if ((pf = pol_filter_new(mode)) == NULL)
		goto nomem;
	pf->pf_prog.filter = b.pb_insn;
	pf->pf_prog.len = (unsigned short)b.pb_len;
	return pf;
nomem:
	snprintf(err, errlen, "%s: out of memory", top);
	free(b.pb_insn);
	return NULL;
}
