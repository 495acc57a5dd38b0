/*
 * policy_filter.c - a compiled seccomp filter (struct policy_filter):
 * the names of system calls for the LOG-mode reporter, loading the filter
 * in the child (with that reporter as the SIGSYS handler), writing and
 * reading it through a descriptor, and precompiled .bpf files, checked as
 * the kernel will check them before a child loads one.  The compiler is
 * policy_compile.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <seccomp.h>

#include "policy_int.h"

static const struct policy_filter *pol_log_filter;

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

struct policy_filter *
pol_filter_new(enum policy_mode mode)
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
	if ((pf = pol_filter_new(POLICY_MODE_KILL)) == NULL ||
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
	if ((pf = pol_filter_new(mode)) == NULL ||
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
