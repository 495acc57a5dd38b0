/* policy_test: precompiled BPF files. */

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include "policy_harness.h"

static void
tmp_path(char *dir, size_t dirlen, char *path, size_t pathlen,
    const char *name)
{
	snprintf(dir, dirlen, "/tmp/policy_test.XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(path, pathlen, "%s/%s", dir, name);
}

#define LD_ABS(off)	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(v)		BPF_STMT(BPF_RET | BPF_K, (v))

Test(policy, bpf_file_valid_loads_and_runs)
{
	/* x86_64 only; getppid fails with errno 42, the rest is allowed */
	const struct sock_filter prog[] = {
		LD_ABS(offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		RET(SECCOMP_RET_KILL_PROCESS),
		LD_ABS(offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		RET(SECCOMP_RET_ERRNO | 42),
		RET(SECCOMP_RET_ALLOW),
	};
	static const uint64_t	 a[6] = { 0 };
	struct policy_filter	*pf;
	char			 dir[64], path[128], err[256] = "";

	tmp_path(dir, sizeof(dir), path, sizeof(path), "ok.bpf");
	write_file(path, prog, sizeof(prog));
	pf = policy_load_bpf_file(path, err, sizeof(err));
	cr_assert_not_null(pf, "%s", err);
	cr_expect_eq(policy_filter_len(pf), NCASES(prog));
	cr_expect_eq(probe(pf, SYS_getppid, a), 42);
	cr_expect_eq(probe(pf, SYS_getpid, a), R_ALLOW);
	policy_filter_free(pf);
	unlink(path);
	rmdir(dir);
}

Test(policy, bpf_file_rejected)
{
	const struct sock_filter noarch[] = {
		LD_ABS(offsetof(struct seccomp_data, nr)),
		RET(SECCOMP_RET_ALLOW),
	};
	const struct sock_filter ok[] = {
		LD_ABS(offsetof(struct seccomp_data, arch)),
		RET(SECCOMP_RET_ALLOW),
	};
	struct policy_filter	*pf;
	char			 dir[64], path[128], err[512], want[512];

	tmp_path(dir, sizeof(dir), path, sizeof(path), "f.bpf");
	snprintf(want, sizeof(want), "%s: not a BPF program (size must be a "
	    "non-zero multiple of 8 bytes, at most 4096 instructions)", path);

	/* a size that is not a whole number of instructions */
	write_file(path, ok, sizeof(ok) - 4);
	pf = policy_load_bpf_file(path, err, sizeof(err));
	cr_expect_null(pf);
	cr_expect_str_eq(err, want);

	/* empty */
	write_file(path, ok, 0);
	pf = policy_load_bpf_file(path, err, sizeof(err));
	cr_expect_null(pf);
	cr_expect_str_eq(err, want);

	/* not starting with the architecture load */
	write_file(path, noarch, sizeof(noarch));
	pf = policy_load_bpf_file(path, err, sizeof(err));
	cr_expect_null(pf);
	snprintf(want, sizeof(want), "%s: the program does not start by "
	    "checking the architecture", path);
	cr_expect_str_eq(err, want);

	/* missing */
	unlink(path);
	pf = policy_load_bpf_file(path, err, sizeof(err));
	cr_expect_null(pf);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	cr_expect_str_eq(err, want);
	rmdir(dir);
}

#define JEQ_K(k, t, f)	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define ARCH_OK		LD_ABS(offsetof(struct seccomp_data, arch)), \
			JEQ_K(AUDIT_ARCH_X86_64, 1, 0), \
			RET(SECCOMP_RET_KILL_PROCESS)

/* Write prog to a fresh .bpf file; it must be refused with want. */
static void
expect_bpf_refused(const struct sock_filter *prog, size_t n,
    const char *want)
{
	struct policy_filter	*pf;
	char			 dir[64], path[128], err[512], msg[512];

	tmp_path(dir, sizeof(dir), path, sizeof(path), "bad.bpf");
	write_file(path, prog, n * sizeof(*prog));
	memset(err, 0, sizeof(err));
	pf = policy_load_bpf_file(path, err, sizeof(err));
	snprintf(msg, sizeof(msg), "%s: %s", path, want);
	cr_expect_null(pf, "accepted, want: %s", want);
	cr_expect_str_eq(err, msg);
	policy_filter_free(pf);
	unlink(path);
	rmdir(dir);
}

#define EXPECT_BPF_REFUSED(prog, want) \
	expect_bpf_refused((prog), NCASES(prog), (want))

/*
 * Everything the kernel would refuse when the child loads the program,
 * and what it would accept but must not run: a program that lets a
 * foreign architecture through.
 */
Test(policy, bpf_file_malformed_refused)
{
	const struct sock_filter jump_past_end[] = {
		ARCH_OK,
		LD_ABS(offsetof(struct seccomp_data, nr)),
		JEQ_K(SYS_getppid, 2, 0),
		RET(SECCOMP_RET_ALLOW),
	};
	const struct sock_filter ja_past_end[] = {
		ARCH_OK,
		BPF_STMT(BPF_JMP | BPF_JA, 0xffffffffU),
		RET(SECCOMP_RET_ALLOW),
	};
	const struct sock_filter no_return[] = {
		ARCH_OK,
		LD_ABS(offsetof(struct seccomp_data, nr)),
	};
	const struct sock_filter arch_unchecked[] = {
		LD_ABS(offsetof(struct seccomp_data, arch)),
		RET(SECCOMP_RET_ALLOW),
	};
	const struct sock_filter foreign_arch_allowed[] = {
		LD_ABS(offsetof(struct seccomp_data, arch)),
		JEQ_K(AUDIT_ARCH_X86_64, 1, 0),
		RET(SECCOMP_RET_ALLOW),
		RET(SECCOMP_RET_ALLOW),
	};
	const struct sock_filter other_arch[] = {
		LD_ABS(offsetof(struct seccomp_data, arch)),
		JEQ_K(AUDIT_ARCH_I386, 1, 0),
		RET(SECCOMP_RET_KILL_PROCESS),
		RET(SECCOMP_RET_ALLOW),
	};
	const struct sock_filter bad_opcode[] = {
		ARCH_OK,
		BPF_STMT(BPF_LD | BPF_W | BPF_IND, 0),
		RET(SECCOMP_RET_ALLOW),
	};
	const struct sock_filter load_outside[] = {
		ARCH_OK,
		LD_ABS(sizeof(struct seccomp_data)),
		RET(SECCOMP_RET_ALLOW),
	};
	const struct sock_filter load_unaligned[] = {
		ARCH_OK,
		LD_ABS(2),
		RET(SECCOMP_RET_ALLOW),
	};
	const struct sock_filter scratch_index[] = {
		ARCH_OK,
		BPF_STMT(BPF_ST, 16),
		RET(SECCOMP_RET_ALLOW),
	};
	const struct sock_filter scratch_unset[] = {
		ARCH_OK,
		BPF_STMT(BPF_LD | BPF_MEM, 3),
		RET(SECCOMP_RET_ALLOW),
	};
	const struct sock_filter div_zero[] = {
		ARCH_OK,
		BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0),
		RET(SECCOMP_RET_ALLOW),
	};
	const struct sock_filter shift_wide[] = {
		ARCH_OK,
		BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32),
		RET(SECCOMP_RET_ALLOW),
	};

	EXPECT_BPF_REFUSED(jump_past_end, "instruction 4: jump out of range");
	EXPECT_BPF_REFUSED(ja_past_end, "instruction 3: jump out of range");
	EXPECT_BPF_REFUSED(no_return, "the program does not end with a "
	    "return");
	EXPECT_BPF_REFUSED(arch_unchecked, "the program does not start by "
	    "checking the architecture");
	EXPECT_BPF_REFUSED(foreign_arch_allowed, "the program does not start "
	    "by checking the architecture");
	EXPECT_BPF_REFUSED(other_arch, "the program does not start by "
	    "checking the architecture");
	EXPECT_BPF_REFUSED(bad_opcode, "instruction 3: opcode 0x40 is not "
	    "allowed in a seccomp filter");
	EXPECT_BPF_REFUSED(load_outside, "instruction 3: load outside struct "
	    "seccomp_data");
	EXPECT_BPF_REFUSED(load_unaligned, "instruction 3: load outside "
	    "struct seccomp_data");
	EXPECT_BPF_REFUSED(scratch_index, "instruction 3: scratch memory "
	    "index out of range");
	EXPECT_BPF_REFUSED(scratch_unset, "instruction 3: scratch memory "
	    "read before it is written");
	EXPECT_BPF_REFUSED(div_zero, "instruction 3: division by zero");
	EXPECT_BPF_REFUSED(shift_wide, "instruction 3: shift by 32 or more");
}

/* What vhostd compile-policy writes, vhostd loads. */
Test(policy, bpf_file_round_trip)
{
	static const uint64_t	 a[6] = { 0 };
	struct policy_filter	*pf, *back;
	char			 dir[64], path[128], err[256] = "";
	int			 fd;

	pf = file_ok("policies/x86_64/blk.policy", POLICY_MODE_KILL);
	tmp_path(dir, sizeof(dir), path, sizeof(path), "blk.bpf");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(policy_filter_write(pf, fd), 0);
	close(fd);
	back = policy_load_bpf_file(path, err, sizeof(err));
	cr_assert_not_null(back, "%s", err);
	cr_expect_eq(policy_filter_len(back), policy_filter_len(pf));
	cr_expect_eq(probe(back, SYS_getppid, a), R_KILL);
	cr_expect_eq(probe(back, SYS_getpid, a), R_ALLOW);
	policy_filter_free(back);
	policy_filter_free(pf);
	unlink(path);
	rmdir(dir);
}
