/*
 * policy_compile.c - a parsed policy (struct pol_db) to a seccomp BPF
 * program, built in the parent; the child-side loader and the LOG-mode
 * reporter.
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
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <seccomp.h>

#include "policy_int.h"

#define POL_NR_MAX	1024	/* syscall numbers with a name slot */
#define POL_MAX_INSNS	BPF_MAXINSNS
#define POL_MAX_CONJ	32	/* comparisons per clause (jump range) */
#define POL_MAX_FIX	((size_t)3 * POL_MAX_CONJ)

#if defined(__x86_64__)
#define POL_ARCH	AUDIT_ARCH_X86_64
#define POL_X32_BIT	0x40000000U	/* __X32_SYSCALL_BIT */
#elif defined(__aarch64__)
#define POL_ARCH	AUDIT_ARCH_AARCH64
#else
#error "policy_compile.c: no seccomp architecture for this target"
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(i)	((uint32_t)offsetof(struct seccomp_data, args[i]))
#define ARG_HI(i)	(ARG_LO(i) + 4)
#else
#define ARG_HI(i)	((uint32_t)offsetof(struct seccomp_data, args[i]))
#define ARG_LO(i)	(ARG_HI(i) + 4)
#endif

#define LD_W		(BPF_LD | BPF_W | BPF_ABS)
#define JEQ		(BPF_JMP | BPF_JEQ | BPF_K)
#define JGT		(BPF_JMP | BPF_JGT | BPF_K)
#define JGE		(BPF_JMP | BPF_JGE | BPF_K)
#define JSET		(BPF_JMP | BPF_JSET | BPF_K)
#define JA		(BPF_JMP | BPF_JA)
#define RET		(BPF_RET | BPF_K)

struct policy_filter {
	struct sock_fprog	 pf_prog;
	enum policy_mode	 pf_mode;
	char			*pf_names;	/* NUL-separated */
	uint32_t		 pf_name_off[POL_NR_MAX];  /* offset + 1 */
};

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

static const struct policy_filter *pol_log_filter;

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

static struct policy_filter *
filter_new(enum policy_mode mode)
{
	struct policy_filter	*pf;

	if ((pf = calloc(1, sizeof(*pf))) == NULL)
		return NULL;
	pf->pf_mode = mode;
	/* Only the LOG-mode reporter names system calls. */
	if (mode == POLICY_MODE_LOG && names_fill(pf) < 0) {
		policy_filter_free(pf);
		return NULL;
	}
	return pf;
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
	if ((pf = filter_new(mode)) == NULL)
		goto nomem;
	pf->pf_prog.filter = b.pb_insn;
	pf->pf_prog.len = (unsigned short)b.pb_len;
	return pf;
nomem:
	snprintf(err, errlen, "%s: out of memory", top);
	free(b.pb_insn);
	return NULL;
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

int
policy_filter_write(const struct policy_filter *pf, int fd)
{
	const uint8_t	*p = (const uint8_t *)pf->pf_prog.filter;
	size_t		 left = pf->pf_prog.len * sizeof(struct sock_filter);
	ssize_t		 n;

	while (left > 0) {
		if ((n = write(fd, p, left)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		left -= (size_t)n;
	}
	return 0;
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
	long			rc;

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
	/*
	 * TSYNC: threads started before the filter (blk's queue threads)
	 * get it too, atomically; a positive answer is the id of a thread
	 * that could not take it, and then no thread has it.
	 */
	rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
	    SECCOMP_FILTER_FLAG_TSYNC, &pf->pf_prog);
	if (rc < 0)
		return -errno;
	return rc == 0 ? 0 : -EBUSY;
}

/* Whether a return value k lets a system call run. */
static bool
ret_runs_call(uint32_t k)
{
	switch (k & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_KILL_PROCESS:
	case SECCOMP_RET_KILL_THREAD:
	case SECCOMP_RET_TRAP:
	case SECCOMP_RET_ERRNO:
		return false;
	default:
		return true;
	}
}

/*
 * Check a program as the kernel will when the child loads it
 * (bpf_check_classic, seccomp_check_filter), so that a bad file fails at
 * start-up, and check what the kernel does not: the program must begin
 * with the architecture check, a foreign architecture ending in a kill,
 * a trap or an errno.  0, or -1 with "path: message" in err.
 */
static int
bpf_validate(const struct sock_filter *insn, size_t n, const char *path,
    char *err, size_t errlen)
{
	uint16_t			 masks[POL_MAX_INSNS], valid = 0;
	const struct sock_filter	*f, *fail;
	size_t				 pc, t, jt, jf;

	if (n < 3 || insn[0].code != LD_W ||
	    insn[0].k != offsetof(struct seccomp_data, arch) ||
	    insn[1].code != JEQ || insn[1].k != POL_ARCH ||
	    (size_t)insn[1].jf + 2 >= n ||
	    (fail = &insn[insn[1].jf + 2])->code != RET ||
	    ret_runs_call(fail->k)) {
		snprintf(err, errlen, "%s: the program does not start by "
		    "checking the architecture", path);
		return -1;
	}
	if (BPF_CLASS(insn[n - 1].code) != BPF_RET) {
		snprintf(err, errlen, "%s: the program does not end with a "
		    "return", path);
		return -1;
	}
	for (pc = 0; pc < n; pc++)
		masks[pc] = 0xffff;
	for (pc = 0; pc < n; pc++) {
		f = &insn[pc];
		valid &= masks[pc];
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k >= sizeof(struct seccomp_data) || f->k % 4)
				goto outside;
			break;
		case BPF_LD | BPF_W | BPF_LEN:
		case BPF_LDX | BPF_W | BPF_LEN:
		case BPF_LD | BPF_IMM:
		case BPF_LDX | BPF_IMM:
		case BPF_MISC | BPF_TAX:
		case BPF_MISC | BPF_TXA:
		case BPF_RET | BPF_K:
		case BPF_RET | BPF_A:
		case BPF_ALU | BPF_NEG:
			break;
		case BPF_LD | BPF_MEM:
		case BPF_LDX | BPF_MEM:
			if (f->k >= 16)
				goto scratch;
			if (!(valid & (1U << f->k))) {
				snprintf(err, errlen, "%s: instruction %zu: "
				    "scratch memory read before it is "
				    "written", path, pc);
				return -1;
			}
			break;
		case BPF_ST:
		case BPF_STX:
			if (f->k >= 16)
				goto scratch;
			valid |= (uint16_t)(1U << f->k);
			break;
		case BPF_ALU | BPF_DIV | BPF_K:
			if (f->k == 0) {
				snprintf(err, errlen, "%s: instruction %zu: "
				    "division by zero", path, pc);
				return -1;
			}
			break;
		case BPF_ALU | BPF_LSH | BPF_K:
		case BPF_ALU | BPF_RSH | BPF_K:
			if (f->k >= 32) {
				snprintf(err, errlen, "%s: instruction %zu: "
				    "shift by 32 or more", path, pc);
				return -1;
			}
			break;
		case BPF_ALU | BPF_ADD | BPF_K:
		case BPF_ALU | BPF_ADD | BPF_X:
		case BPF_ALU | BPF_SUB | BPF_K:
		case BPF_ALU | BPF_SUB | BPF_X:
		case BPF_ALU | BPF_MUL | BPF_K:
		case BPF_ALU | BPF_MUL | BPF_X:
		case BPF_ALU | BPF_DIV | BPF_X:
		case BPF_ALU | BPF_AND | BPF_K:
		case BPF_ALU | BPF_AND | BPF_X:
		case BPF_ALU | BPF_OR | BPF_K:
		case BPF_ALU | BPF_OR | BPF_X:
		case BPF_ALU | BPF_XOR | BPF_K:
		case BPF_ALU | BPF_XOR | BPF_X:
		case BPF_ALU | BPF_LSH | BPF_X:
		case BPF_ALU | BPF_RSH | BPF_X:
			break;
		case BPF_JMP | BPF_JA:
			if (f->k >= n - pc - 1)
				goto range;
			t = pc + 1 + f->k;
			masks[t] &= valid;
			valid = 0xffff;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
		case BPF_JMP | BPF_JEQ | BPF_X:
		case BPF_JMP | BPF_JGE | BPF_K:
		case BPF_JMP | BPF_JGE | BPF_X:
		case BPF_JMP | BPF_JGT | BPF_K:
		case BPF_JMP | BPF_JGT | BPF_X:
		case BPF_JMP | BPF_JSET | BPF_K:
		case BPF_JMP | BPF_JSET | BPF_X:
			jt = pc + 1 + f->jt;
			jf = pc + 1 + f->jf;
			if (jt >= n || jf >= n)
				goto range;
			masks[jt] &= valid;
			masks[jf] &= valid;
			valid = 0xffff;
			break;
		default:
			snprintf(err, errlen, "%s: instruction %zu: opcode %#x "
			    "is not allowed in a seccomp filter", path, pc,
			    (unsigned int)f->code);
			return -1;
		}
	}
	return 0;
outside:
	snprintf(err, errlen, "%s: instruction %zu: load outside struct "
	    "seccomp_data", path, pc);
	return -1;
scratch:
	snprintf(err, errlen, "%s: instruction %zu: scratch memory index out "
	    "of range", path, pc);
	return -1;
range:
	snprintf(err, errlen, "%s: instruction %zu: jump out of range", path,
	    pc);
	return -1;
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
	if (bpf_validate(insn, n, path, err, errlen) < 0) {
		policy_filter_free(pf);
		return NULL;
	}
	return pf;
}

struct policy_filter *
policy_read_bpf_fd(int fd, size_t len, enum policy_mode mode,
    const char *name, char *err, size_t errlen)
{
	struct policy_filter	*pf;
	struct sock_filter	*insn;
	size_t			 n, done = 0;
	ssize_t			 r;

	if (len == 0 || len % sizeof(*insn) != 0 ||
	    len / sizeof(*insn) > POL_MAX_INSNS) {
		snprintf(err, errlen, "%s: not a BPF program", name);
		return NULL;
	}
	n = len / sizeof(*insn);
	if ((pf = filter_new(mode)) == NULL ||
	    (insn = malloc(len)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		policy_filter_free(pf);
		return NULL;
	}
	while (done < len) {
		r = read(fd, (uint8_t *)insn + done, len - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "%s: short read", name);
			free(insn);
			policy_filter_free(pf);
			return NULL;
		}
		done += (size_t)r;
	}
	pf->pf_prog.filter = insn;
	pf->pf_prog.len = (unsigned short)n;
	if (bpf_validate(insn, n, name, err, errlen) < 0) {
		policy_filter_free(pf);
		return NULL;
	}
	return pf;
}

enum policy_mode
policy_filter_mode(const struct policy_filter *f)
{
	return f->pf_mode;
}
