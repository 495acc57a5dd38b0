/*
 * policy_test.c - sandbox/policy*: the policy syntax (every construct
 * compiles and means what vhostd.policy(5) says), every error message with
 * its file:line:column, filters loaded into real processes (KILL, TRAP,
 * LOG and ERRNO results), precompiled BPF files, and the shipped policies.
 *
 * A filtered process is a grandchild of the test: it sets no_new_privs,
 * loads the filter, makes one raw system call and ends with a raw
 * exit_group, so the policies under test need to allow only exit_group.
 * Fixtures live in tests/data/policy; the suite changes to the source tree
 * first ($VHOSTD_SRCDIR, the current directory, or a parent of the test
 * binary).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <asm/termbits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy.h"

#define FIXTURES	"tests/data/policy"
#define INLINE		"inline.policy"

/* How a probe ended (see probe()). */
#define R_ALLOW		200		/* the call returned >= 0 */
#define R_KILL		(-SIGSYS)	/* killed by SIGSYS */
#define R_NOLOAD	250		/* the filter did not load */
#define R_HANDLER	42		/* our SIGSYS handler ran */

/* Run from the source tree so that fixture paths are stable. */
static void
to_srcdir(void)
{
	const char	*dir = getenv("VHOSTD_SRCDIR");
	char		 exe[PATH_MAX], *slash;
	ssize_t		 n;
	int		 i;

	if (dir != NULL && *dir != '\0') {
		cr_assert_eq(chdir(dir), 0, "chdir %s: %s", dir,
		    strerror(errno));
		return;
	}
	if (access(FIXTURES "/common.policy", R_OK) == 0)
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	for (i = 0; i < 6 && (slash = strrchr(exe, '/')) != NULL; i++) {
		*slash = '\0';
		if (chdir(exe[0] != '\0' ? exe : "/") == 0 &&
		    access(FIXTURES "/common.policy", R_OK) == 0)
			return;
	}
	cr_assert_fail("cannot find " FIXTURES " (set VHOSTD_SRCDIR)");
}

TestSuite(policy, .init = to_srcdir);

/* Compile text (a C string) as a policy named name. */
static struct policy_filter *
compile_named(const char *text, const char *name, enum policy_mode mode,
    char *err, size_t errlen)
{
	struct policy_filter	*pf;
	FILE			*f;

	f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	cr_assert_not_null(f, "fmemopen: %s", strerror(errno));
	pf = policy_compile_stream(f, name, mode, err, errlen);
	fclose(f);
	return pf;
}

/* Compile text, which must succeed with no message. */
static struct policy_filter *
compile_ok(const char *text, enum policy_mode mode)
{
	struct policy_filter	*pf;
	char			 err[1024] = "untouched";

	pf = compile_named(text, INLINE, mode, err, sizeof(err));
	cr_assert_not_null(pf, "policy:\n%s\nfailed: %s", text, err);
	cr_assert_str_empty(err, "message on success: %s", err);
	cr_assert_gt(policy_filter_len(pf), 0);
	return pf;
}

/* Compile text, which must fail with exactly the message want. */
static void
expect_error_named(const char *text, const char *name, const char *want)
{
	struct policy_filter	*pf;
	char			 err[1024];

	memset(err, 0, sizeof(err));
	pf = compile_named(text, name, POLICY_MODE_KILL, err, sizeof(err));
	cr_expect_null(pf, "policy:\n%s\ncompiled, expected: %s", text, want);
	cr_expect_str_eq(err, want, "policy:\n%s\nmessage:  %s\nexpected: %s",
	    text, err, want);
	policy_filter_free(pf);
}

static void
expect_error(const char *text, const char *want)
{
	expect_error_named(text, INLINE, want);
}

static void
expect_file_error(const char *path, const char *want)
{
	struct policy_filter	*pf;
	char			 err[1024];

	memset(err, 0, sizeof(err));
	pf = policy_compile_file(path, POLICY_MODE_KILL, err, sizeof(err));
	cr_expect_null(pf, "%s compiled, expected: %s", path, want);
	cr_expect_str_eq(err, want, "%s\nmessage:  %s\nexpected: %s", path,
	    err, want);
	policy_filter_free(pf);
}

static struct policy_filter *
file_ok(const char *path, enum policy_mode mode)
{
	struct policy_filter	*pf;
	char			 err[1024] = "untouched";

	pf = policy_compile_file(path, mode, err, sizeof(err));
	cr_assert_not_null(pf, "%s: %s", path, err);
	cr_assert_str_empty(err, "%s: message on success: %s", path, err);
	return pf;
}

/*
 * The filtered grandchild: only raw system calls from here on.  Ends with
 * R_ALLOW, the errno of a failed call, or R_NOLOAD; or is killed.
 */
static void
probe_child(const struct policy_filter *pf, long nr, const uint64_t a[6],
    int errfd)
{
	struct rlimit	 nocore = { 0, 0 };
	sigset_t	 set;
	long		 r;

	setrlimit(RLIMIT_CORE, &nocore);
	if (errfd >= 0 && dup2(errfd, 2) < 0)
		syscall(SYS_exit_group, R_NOLOAD);
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    policy_filter_load(pf) < 0)
		syscall(SYS_exit_group, R_NOLOAD);
	r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	syscall(SYS_exit_group, r >= 0 ? R_ALLOW : errno);
}

/* The result of waitpid status st in the R_ encoding. */
static int
outcome(int st)
{
	if (WIFSIGNALED(st))
		return -WTERMSIG(st);
	cr_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static int
wait_for(pid_t pid)
{
	int	st;

	while (waitpid(pid, &st, 0) < 0)
		cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
	return outcome(st);
}

/* Make system call nr(a) in a grandchild under pf; how did it end? */
static int
probe(const struct policy_filter *pf, long nr, const uint64_t a[6])
{
	pid_t	pid;

	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0)
		probe_child(pf, nr, a, -1);
	return wait_for(pid);
}

/* One rule for getppid(2), which ignores its arguments, and a call. */
struct pcase {
	const char	*pc_rule;
	uint64_t	 pc_args[6];
	int		 pc_want;
};

static void
check_cases(const struct pcase *cases, size_t n)
{
	struct policy_filter	*pf;
	char			 text[512];
	size_t			 i;
	int			 got;

	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "getppid: %s\nexit_group: 1\n",
		    cases[i].pc_rule);
		pf = compile_ok(text, POLICY_MODE_KILL);
		got = probe(pf, SYS_getppid, cases[i].pc_args);
		cr_expect_eq(got, cases[i].pc_want, "'getppid: %s' with "
		    "(%#llx, %#llx, %#llx, %#llx, %#llx, %#llx): got %d, "
		    "want %d",
		    cases[i].pc_rule,
		    (unsigned long long)cases[i].pc_args[0],
		    (unsigned long long)cases[i].pc_args[1],
		    (unsigned long long)cases[i].pc_args[2],
		    (unsigned long long)cases[i].pc_args[3],
		    (unsigned long long)cases[i].pc_args[4],
		    (unsigned long long)cases[i].pc_args[5],
		    got, cases[i].pc_want);
		policy_filter_free(pf);
	}
}

#define NCASES(a)	(sizeof(a) / sizeof((a)[0]))

/* --- the syntax: every construct compiles and means what it says --- */

Test(policy, allow_unconditional)
{
	static const struct pcase cases[] = {
		{ "1", { 0 }, R_ALLOW },
		{ "1", { 7, 8, 9, 10, 11, 12 }, R_ALLOW },
	};

	check_cases(cases, NCASES(cases));
}

Test(policy, unlisted_syscall_kills)
{
	struct policy_filter	*pf;
	uint64_t		 a[6] = { 0 };

	pf = compile_ok("exit_group: 1\n", POLICY_MODE_KILL);
	cr_expect_eq(probe(pf, SYS_getppid, a), R_KILL);
	cr_expect_eq(probe(pf, SYS_getpid, a), R_KILL);
	policy_filter_free(pf);
}

Test(policy, comparisons)
{
	static const struct pcase cases[] = {
		{ "arg0 == 5", { 5 }, R_ALLOW },
		{ "arg0 == 5", { 6 }, R_KILL },
		{ "arg0 != 5", { 6 }, R_ALLOW },
		{ "arg0 != 5", { 5 }, R_KILL },
		{ "arg0 < 5", { 4 }, R_ALLOW },
		{ "arg0 < 5", { 5 }, R_KILL },
		{ "arg0 <= 5", { 5 }, R_ALLOW },
		{ "arg0 <= 5", { 6 }, R_KILL },
		{ "arg0 > 5", { 6 }, R_ALLOW },
		{ "arg0 > 5", { 5 }, R_KILL },
		{ "arg0 >= 5", { 5 }, R_ALLOW },
		{ "arg0 >= 5", { 4 }, R_KILL },
		/* all six arguments, compared as 64-bit values */
		{ "arg5 == 9", { 0, 0, 0, 0, 0, 9 }, R_ALLOW },
		{ "arg5 == 9", { 9, 9, 9, 9, 9, 0 }, R_KILL },
		{ "arg3==7", { 0, 0, 0, 7 }, R_ALLOW },
		{ "arg1 == 0x100000001", { 0, 0x100000001 }, R_ALLOW },
		{ "arg1 == 0x100000001", { 0, 1 }, R_KILL },
		{ "arg1 > 0x100000000", { 0, 0x100000001 }, R_ALLOW },
		{ "arg1 > 0x100000000", { 0, 0x100000000 }, R_KILL },
		/* 32-bit constants: the low word decides too */
		{ "arg1 > 0xffffffff", { 0, 0x100000000 }, R_KILL },
	};

	check_cases(cases, NCASES(cases));
}

Test(policy, masks)
{
	static const struct pcase cases[] = {
		/* "&": some bit of the mask is set */
		{ "arg0 & 0x6", { 2 }, R_ALLOW },
		{ "arg0 & 0x6", { 4 }, R_ALLOW },
		{ "arg0 & 0x6", { 0xff }, R_ALLOW },
		{ "arg0 & 0x6", { 1 }, R_KILL },
		{ "arg0 & 0x6", { 0 }, R_KILL },
		/* "in": no bit outside the mask is set */
		{ "arg0 in 0x6", { 0 }, R_ALLOW },
		{ "arg0 in 0x6", { 2 }, R_ALLOW },
		{ "arg0 in 0x6", { 6 }, R_ALLOW },
		{ "arg0 in 0x6", { 1 }, R_KILL },
		{ "arg0 in 0x6", { 7 }, R_KILL },
		{ "arg0 in 0x6", { 0x100000002 }, R_KILL },
		/* a mask with named constants, as in common.policy */
		{ "arg2 in PROT_READ|PROT_WRITE", { 0, 0, PROT_READ },
		    R_ALLOW },
		{ "arg2 in PROT_READ|PROT_WRITE",
		    { 0, 0, PROT_READ | PROT_WRITE }, R_ALLOW },
		{ "arg2 in PROT_READ|PROT_WRITE",
		    { 0, 0, PROT_READ | PROT_EXEC }, R_KILL },
		{ "arg2 & PROT_EXEC", { 0, 0, PROT_READ }, R_KILL },
		{ "arg2 & PROT_EXEC", { 0, 0, PROT_EXEC }, R_ALLOW },
	};

	check_cases(cases, NCASES(cases));
}

/*
 * A 32-bit argument (an int, a flag word, an ioctl request) is what the
 * kernel reads from the low half of the register: a comparison with a
 * 32-bit constant must hold for the low word, so that setting the high
 * word cannot pass "!=", ">", "<" (negative constants) or "&".
 */
Test(policy, high_word_cannot_pass_32bit_comparisons)
{
	static const struct pcase cases[] = {
		{ "arg0 != 5", { 0x100000005 }, R_KILL },
		{ "arg0 != 5", { 0xffffffff00000005 }, R_KILL },
		{ "arg0 != 5", { 6 }, R_ALLOW },
		{ "arg0 > 5", { 0x100000000 }, R_KILL },
		{ "arg0 > 5", { 0x100000006 }, R_ALLOW },
		{ "arg0 >= 5", { 0x100000004 }, R_KILL },
		{ "arg0 & 0x4", { 0x400000000 }, R_KILL },
		{ "arg0 & ~0x3", { 0x100000000 }, R_KILL },
		{ "arg0 & ~0x3", { 4 }, R_ALLOW },
		/* AT_FDCWD is an int: 0xffffff9c is AT_FDCWD to the kernel */
		{ "arg0 != AT_FDCWD", { 0xffffff9c }, R_KILL },
		{ "arg0 != AT_FDCWD", { 3 }, R_ALLOW },
		{ "arg0 < -100", { 0xffffff9c }, R_KILL },
		{ "arg0 <= -101", { 0xffffff9c }, R_KILL },
		{ "arg0 < -100", { (uint64_t)-101 }, R_ALLOW },
		/* a constant wider than 32 bits: the whole argument */
		{ "arg0 != 0x100000005", { 0x100000005 }, R_KILL },
		{ "arg0 != 0x100000005", { 5 }, R_ALLOW },
		{ "arg0 & 0x100000000", { 0x100000000 }, R_ALLOW },
	};

	check_cases(cases, NCASES(cases));
}

/* The same bypass with a call whose argument the kernel truncates. */
Test(policy, high_word_bypass_of_a_real_call)
{
	struct policy_filter	*pf;
	uint64_t		 a[6] = { 2, F_GETFD };

	/* fcntl(2)'s cmd is an unsigned int: F_DUPFD | 1 << 32 is F_DUPFD */
	pf = compile_ok("fcntl: arg1 != F_DUPFD\nexit_group: 1\n",
	    POLICY_MODE_KILL);
	cr_expect_eq(probe(pf, SYS_fcntl, a), R_ALLOW);
	a[1] = F_DUPFD;
	cr_expect_eq(probe(pf, SYS_fcntl, a), R_KILL);
	a[1] = (uint64_t)1 << 32 | F_DUPFD;
	cr_expect_eq(probe(pf, SYS_fcntl, a), R_KILL,
	    "fcntl(2, F_DUPFD | 1 << 32) passed 'arg1 != F_DUPFD'");
	policy_filter_free(pf);
}

Test(policy, or_and)
{
	static const struct pcase cases[] = {
		{ "arg0 == 1 || arg1 == 2", { 1, 0 }, R_ALLOW },
		{ "arg0 == 1 || arg1 == 2", { 0, 2 }, R_ALLOW },
		{ "arg0 == 1 || arg1 == 2", { 0, 0 }, R_KILL },
		{ "arg0 == 1 && arg1 == 2", { 1, 2 }, R_ALLOW },
		{ "arg0 == 1 && arg1 == 2", { 1, 0 }, R_KILL },
		{ "arg0 == 1 && arg1 == 2", { 0, 2 }, R_KILL },
		/* && binds tighter than || */
		{ "arg0 == 1 && arg1 == 2 || arg2 == 3", { 0, 0, 3 }, R_ALLOW },
		{ "arg0 == 1 && arg1 == 2 || arg2 == 3", { 1, 2, 0 }, R_ALLOW },
		{ "arg0 == 1 && arg1 == 2 || arg2 == 3", { 1, 0, 0 }, R_KILL },
		{ "arg0 == 1 || arg1 == 2 && arg2 == 3", { 1, 0, 0 }, R_ALLOW },
		{ "arg0 == 1 || arg1 == 2 && arg2 == 3", { 0, 2, 0 }, R_KILL },
		/* the same argument in alternatives */
		{ "arg1 == 1 || arg1 == 2 || arg1 == 4", { 0, 4 }, R_ALLOW },
		{ "arg1 == 1 || arg1 == 2 || arg1 == 4", { 0, 3 }, R_KILL },
		/* the same argument twice in a conjunction, mergeable */
		{ "arg0 == 3 && arg0 < 5", { 3 }, R_ALLOW },
		{ "arg0 == 6 && arg0 < 5", { 6 }, R_KILL },
		{ "arg0 & 1 && arg0 & 2", { 3 }, R_ALLOW },
		{ "arg0 & 1 && arg0 & 2", { 1 }, R_KILL },
	};

	check_cases(cases, NCASES(cases));
}

/* Any number of comparisons of one argument, ranges among them. */
Test(policy, same_argument_compared_twice)
{
	static const struct pcase cases[] = {
		{ "arg0 >= 1 && arg0 <= 5", { 0 }, R_KILL },
		{ "arg0 >= 1 && arg0 <= 5", { 1 }, R_ALLOW },
		{ "arg0 >= 1 && arg0 <= 5", { 5 }, R_ALLOW },
		{ "arg0 >= 1 && arg0 <= 5", { 6 }, R_KILL },
		{ "arg0 != 1 && arg0 != 2", { 2 }, R_KILL },
		{ "arg0 != 1 && arg0 != 2", { 3 }, R_ALLOW },
		{ "arg0 > 0x100000000 && arg0 < 0x100000003",
		    { 0x100000002 }, R_ALLOW },
		{ "arg0 > 0x100000000 && arg0 < 0x100000003", { 2 }, R_KILL },
		{ "arg0 > 0x100000000 && arg0 < 0x100000003",
		    { 0x100000003 }, R_KILL },
		{ "arg0 in 0xff && arg0 & 0x10 && arg0 != 0x11", { 0x12 },
		    R_ALLOW },
		{ "arg0 in 0xff && arg0 & 0x10 && arg0 != 0x11", { 0x11 },
		    R_KILL },
	};

	check_cases(cases, NCASES(cases));
}

/*
 * Filters that libseccomp 2.5 (the compiler's first back end) got wrong:
 * too permissive, too strict, a fallback dropped, a compile that never
 * ended.
 */
Test(policy, regressions_libseccomp_rules)
{
	static const struct pcase cases[] = {
		{ "arg0 > 3 && arg1 & 1 || arg0 < 4 && arg1 == 0", { 0, 5 },
		    R_KILL },
		{ "arg0 > 3 && arg1 & 1 || arg0 < 4 && arg1 == 0", { 0, 0 },
		    R_ALLOW },
		{ "arg0 > 3 && arg1 & 1 || arg0 < 4 && arg1 == 0", { 4, 1 },
		    R_ALLOW },
		{ "arg0 > 4 || arg1 < 3 && arg0 >= 0", { 0, 0 }, R_ALLOW },
		{ "arg0 > 4 || arg1 < 3 && arg0 >= 0", { 0, 3 }, R_KILL },
		{ "arg1 != 4 || arg1 < 4 && arg0 != 1 || arg0 == 1; return 5",
		    { 0, 4 }, 5 },
		{ "arg1 != 4 || arg1 < 4 && arg0 != 1 || arg0 == 1; return 5",
		    { 1, 4 }, R_ALLOW },
		{ "arg1 == 1 || arg1 == 2; return EPERM", { 0, 2 }, R_ALLOW },
		{ "arg1 == 1 || arg1 == 2; return EPERM", { 0, 3 }, EPERM },
		{ "arg0 in 1 || arg1 in 1 || arg2 in 1; return EPERM",
		    { 2, 2, 2 }, EPERM },
		{ "arg0 in 1 || arg1 in 1 || arg2 in 1; return EPERM",
		    { 2, 1, 2 }, R_ALLOW },
	};

	check_cases(cases, NCASES(cases));
}

Test(policy, constants_and_numbers)
{
	static const struct pcase cases[] = {
		{ "arg1 == O_RDWR|O_CLOEXEC", { 0, O_RDWR | O_CLOEXEC },
		    R_ALLOW },
		{ "arg1 == O_RDWR|O_CLOEXEC", { 0, O_RDWR }, R_KILL },
		{ "arg1 == O_RDWR | O_NONBLOCK | O_CLOEXEC",
		    { 0, O_RDWR | O_NONBLOCK | O_CLOEXEC }, R_ALLOW },
		{ "arg1 == FIONBIO", { 0, FIONBIO }, R_ALLOW },
		{ "arg1 == FIONBIO", { 0, FIOCLEX }, R_KILL },
		{ "arg3 == MAP_SHARED|MAP_FIXED", { 0, 0, 0,
		    MAP_SHARED | MAP_FIXED }, R_ALLOW },
		{ "arg3 == MAP_SHARED|MAP_FIXED", { 0, 0, 0, MAP_SHARED },
		    R_KILL },
		{ "arg2 == PROT_READ|PROT_WRITE", { 0, 0, 3 }, R_ALLOW },
		{ "arg0 == 0x10", { 16 }, R_ALLOW },
		{ "arg0 == 0X10", { 16 }, R_ALLOW },
		{ "arg0 == 16", { 16 }, R_ALLOW },
		{ "arg0 == 16", { 0x10 + 1 }, R_KILL },
		{ "arg0 == 020", { 16 }, R_ALLOW },
		{ "arg0 == 0x10|1", { 17 }, R_ALLOW },
		{ "arg0 == -1", { UINT64_MAX }, R_ALLOW },
		{ "arg0 == -1", { 0xffffffff }, R_KILL },
		{ "arg0 == 18446744073709551615", { UINT64_MAX }, R_ALLOW },
		{ "arg0 == ~0x10", { ~(uint64_t)0x10 }, R_ALLOW },
		{ "arg0 == (1|2)", { 3 }, R_ALLOW },
		{ "arg0 in ~O_NONBLOCK", { O_CLOEXEC }, R_ALLOW },
		{ "arg0 in ~O_NONBLOCK", { O_NONBLOCK }, R_KILL },
	};

	check_cases(cases, NCASES(cases));
}

/*
 * The constant table is generated from the system headers at build time:
 * these are the values of the same headers as this file sees them, and
 * the hand-kept constants newer than those headers.
 */
Test(policy, constants_from_the_headers)
{
	static const struct pcase cases[] = {
		/* ioctl requests that are _IOR(...) expressions */
		{ "arg0 == TCGETS2", { TCGETS2 }, R_ALLOW },
		{ "arg0 == TCGETS2", { TCGETS }, R_KILL },
		{ "arg0 == TCSETS2", { TCSETS2 }, R_ALLOW },
		{ "arg0 == FS_IOC_FSGETXATTR", { FS_IOC_FSGETXATTR }, R_ALLOW },
		{ "arg0 == FS_IOC_FSGETXATTR", { FS_IOC_FSSETXATTR }, R_KILL },
		{ "arg0 == BLKGETSIZE64", { BLKGETSIZE64 }, R_ALLOW },
		/* shifts: (1U << 1), (1UL << 0) */
		{ "arg0 == IORING_SETUP_SQPOLL", { IORING_SETUP_SQPOLL },
		    R_ALLOW },
		{ "arg0 == SECCOMP_FILTER_FLAG_TSYNC",
		    { SECCOMP_FILTER_FLAG_TSYNC }, R_ALLOW },
		/* glibc's enums behind #define NAME NAME */
		{ "arg0 == SCHED_IDLE", { SCHED_IDLE }, R_ALLOW },
		{ "arg0 == SCHED_IDLE", { SCHED_BATCH }, R_KILL },
		{ "arg0 == SOCK_SEQPACKET", { SOCK_SEQPACKET }, R_ALLOW },
		{ "arg0 == RLIMIT_NOFILE", { RLIMIT_NOFILE }, R_ALLOW },
		/* a negative int, sign-extended as the C library passes it */
		{ "arg0 == AT_FDCWD", { (uint64_t)(int64_t)AT_FDCWD }, R_ALLOW },
		/* newer than Linux 6.1's headers: the hand-kept table */
		{ "arg0 == MADV_GUARD_INSTALL", { 102 }, R_ALLOW },
		{ "arg0 == MADV_GUARD_REMOVE", { 103 }, R_ALLOW },
		{ "arg0 == PR_GET_AUXV", { 0x41555856 }, R_ALLOW },
		{ "arg0 == PR_SET_MDWE", { 65 }, R_ALLOW },
	};

	check_cases(cases, NCASES(cases));
}

/*
 * Policies written the way crosvm's are (a device file including a shared
 * one; guard regions, PR_GET_AUXV, SCHED_IDLE, TCGETS2, FS_IOC_*) compile
 * in every mode and filter what they say.
 */
Test(policy, crosvm_style_policies)
{
	static const enum policy_mode modes[] = {
		POLICY_MODE_KILL, POLICY_MODE_LOG, POLICY_MODE_TRAP,
	};
	struct policy_filter	*pf;
	uint64_t		 a[6] = { 0 };
	size_t			 m;

	for (m = 0; m < NCASES(modes); m++) {
		pf = file_ok(FIXTURES "/headers/device.policy", modes[m]);
		policy_filter_free(pf);
	}
	pf = file_ok(FIXTURES "/headers/device.policy", POLICY_MODE_KILL);
	a[0] = 0x41555856;	/* PR_GET_AUXV */
	cr_expect_neq(probe(pf, SYS_prctl, a), R_KILL);
	a[0] = PR_SET_DUMPABLE;
	cr_expect_eq(probe(pf, SYS_prctl, a), R_KILL);
	a[0] = 0;
	a[2] = 102;		/* MADV_GUARD_INSTALL */
	cr_expect_neq(probe(pf, SYS_madvise, a), R_KILL);
	a[2] = MADV_HUGEPAGE;
	cr_expect_eq(probe(pf, SYS_madvise, a), R_KILL);
	a[2] = 0;
	a[1] = TCGETS2;
	cr_expect_neq(probe(pf, SYS_ioctl, a), R_KILL);
	a[1] = TIOCSTI;
	cr_expect_eq(probe(pf, SYS_ioctl, a), R_KILL);
	policy_filter_free(pf);
}

Test(policy, return_errno)
{
	static const struct pcase cases[] = {
		/* unconditional */
		{ "return EPERM", { 0 }, EPERM },
		{ "return EACCES", { 1, 2, 3 }, EACCES },
		{ "return 77", { 0 }, 77 },
		{ "return ENOTTY # with a comment", { 0 }, ENOTTY },
		/* "; return ERRNO": exactly where the expression is false */
		{ "arg0 == 1; return EPERM", { 1 }, R_ALLOW },
		{ "arg0 == 1; return EPERM", { 2 }, EPERM },
		{ "arg0 == 1 ; return 5", { 0 }, 5 },
		{ "arg0 == 1 && arg1 == 2; return EPERM", { 1, 2 }, R_ALLOW },
		{ "arg0 == 1 && arg1 == 2; return EPERM", { 1, 3 }, EPERM },
		{ "arg0 == 1 && arg1 == 2; return EPERM", { 0, 2 }, EPERM },
		{ "arg0 == 1 || arg1 == 2; return EPERM", { 0, 2 }, R_ALLOW },
		{ "arg0 == 1 || arg1 == 2; return EPERM", { 0, 0 }, EPERM },
		{ "arg0 < 4; return EPERM", { 4 }, EPERM },
		{ "arg0 < 4; return EPERM", { 3 }, R_ALLOW },
		{ "arg0 & 0x6; return EPERM", { 2 }, R_ALLOW },
		{ "arg0 & 0x6; return EPERM", { 1 }, EPERM },
		{ "arg0 in 0x6; return EPERM", { 6 }, R_ALLOW },
		{ "arg0 in 0x6; return EPERM", { 9 }, EPERM },
	};

	check_cases(cases, NCASES(cases));
}

Test(policy, lines_merge_as_or)
{
	static const struct pcase cases[] = {
		{ "arg0 == 1\ngetppid: arg0 == 2", { 1 }, R_ALLOW },
		{ "arg0 == 1\ngetppid: arg0 == 2", { 2 }, R_ALLOW },
		{ "arg0 == 1\ngetppid: arg0 == 2", { 3 }, R_KILL },
		/* an unconditional line wins over conditions */
		{ "arg0 == 1\ngetppid: 1", { 3 }, R_ALLOW },
		{ "1\ngetppid: arg0 == 1; return EPERM", { 3 }, R_ALLOW },
		/* a fallback applies where no line allows */
		{ "arg0 == 1; return EPERM\ngetppid: arg1 == 2", { 0, 2 },
		    R_ALLOW },
		{ "arg0 == 1; return EPERM\ngetppid: arg1 == 2", { 1, 0 },
		    R_ALLOW },
		{ "arg0 == 1; return EPERM\ngetppid: arg1 == 2", { 0, 0 },
		    EPERM },
		{ "return EPERM\ngetppid: arg0 == 1", { 1 }, R_ALLOW },
		{ "return EPERM\ngetppid: arg0 == 1", { 2 }, EPERM },
		/* the same fallback twice is fine */
		{ "arg0 == 1; return EPERM\ngetppid: arg1 == 1; return EPERM",
		    { 0, 0 }, EPERM },
	};

	check_cases(cases, NCASES(cases));
}

Test(policy, comments_blank_lines_continuation)
{
	static const char text[] =
	    "# a comment line\n"
	    "\n"
	    "   \t\n"
	    "@frequency ./no-such.frequency   # accepted and ignored\n"
	    "getppid: arg0 == 1 || \\\n"
	    "         arg0 == 2 || \\   \n"
	    "\targ0 == 3   # after a continuation\n"
	    "exit_group: 1# no space before the comment\r\n"
	    "# a last comment \\\n"
	    "getpid: 1\n";
	static const uint64_t one[6] = { 1 }, two[6] = { 2 }, three[6] = { 3 },
	    four[6] = { 4 };
	struct policy_filter	*pf;

	pf = compile_ok(text, POLICY_MODE_KILL);
	cr_expect_eq(probe(pf, SYS_getppid, one), R_ALLOW);
	cr_expect_eq(probe(pf, SYS_getppid, two), R_ALLOW);
	cr_expect_eq(probe(pf, SYS_getppid, three), R_ALLOW);
	cr_expect_eq(probe(pf, SYS_getppid, four), R_KILL);
	/* "\" inside a comment does not continue the line */
	cr_expect_eq(probe(pf, SYS_getpid, one), R_ALLOW);
	policy_filter_free(pf);
}

Test(policy, continuation_on_last_line)
{
	struct policy_filter	*pf;
	uint64_t		 a[6] = { 0 };

	pf = compile_ok("exit_group: 1\ngetppid: \\\n1 \\", POLICY_MODE_KILL);
	cr_expect_eq(probe(pf, SYS_getppid, a), R_ALLOW);
	policy_filter_free(pf);
}

Test(policy, empty_policy)
{
	struct policy_filter	*pf;

	pf = compile_ok("", POLICY_MODE_KILL);
	policy_filter_free(pf);
	pf = compile_ok("# nothing\n\n", POLICY_MODE_TRAP);
	policy_filter_free(pf);
}

Test(policy, include_merges_across_files)
{
	struct policy_filter	*pf;
	uint64_t		 nbio[6] = { (uint64_t)-1, FIONBIO },
				 clex[6] = { (uint64_t)-1, FIOCLEX },
				 nclex[6] = { (uint64_t)-1, FIONCLEX };

	/* ioctl on fd -1 is allowed when it fails with EBADF */
	pf = file_ok(FIXTURES "/device.policy", POLICY_MODE_KILL);
	cr_expect_eq(probe(pf, SYS_ioctl, nbio), EBADF);
	cr_expect_eq(probe(pf, SYS_ioctl, clex), EBADF);
	cr_expect_eq(probe(pf, SYS_ioctl, nclex), R_KILL);
	policy_filter_free(pf);

	pf = file_ok(FIXTURES "/common.policy", POLICY_MODE_KILL);
	cr_expect_eq(probe(pf, SYS_ioctl, nbio), EBADF);
	cr_expect_eq(probe(pf, SYS_ioctl, clex), R_KILL);
	policy_filter_free(pf);
}

Test(policy, include_relative_and_nested)
{
	struct policy_filter	*pf;
	uint64_t		 a[6] = { 0 };
	int			 i;

	pf = file_ok(FIXTURES "/top.policy", POLICY_MODE_KILL);
	for (i = 0; i <= 4; i++) {
		a[0] = (uint64_t)i;
		cr_expect_eq(probe(pf, SYS_getppid, a),
		    i >= 1 && i <= 3 ? R_ALLOW : R_KILL, "getppid(%d)", i);
	}
	policy_filter_free(pf);

	/* From a stream, relative to the directory of its name. */
	pf = compile_named("@include nested/leaf.policy\n",
	    FIXTURES "/inline.policy", POLICY_MODE_KILL, NULL, 0);
	cr_assert_not_null(pf);
	a[0] = 3;
	cr_expect_eq(probe(pf, SYS_getppid, a), R_ALLOW);
	policy_filter_free(pf);

	/* Eight files deep is the limit, and allowed. */
	pf = file_ok(FIXTURES "/depth/2.policy", POLICY_MODE_KILL);
	policy_filter_free(pf);
}

/*
 * Random expressions, judged by the kernel against a direct evaluation:
 * one grandchild per expression makes getppid() for every pair of edge
 * values in arg0 and arg1, in TRAP mode with a handler that returns, and
 * reports what each call got through a pipe.
 */
#define RND_CLAUSES	3
#define RND_ATOMS	3
#define RND_GRID	12

static const uint64_t rnd_vals[RND_GRID] = {
	0, 1, 2, 3, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
	0x100000001, 0x1ffffffff, 0xfffffffffffffffe, UINT64_MAX,
};
static const char *const rnd_ops[] = {
	"==", "!=", "<", "<=", ">", ">=", "&", "in",
};

struct rnd_atom {
	unsigned int	ra_arg;
	unsigned int	ra_op;		/* index in rnd_ops */
	uint64_t	ra_val;
};

struct rnd_expr {
	struct rnd_atom	re_atom[RND_CLAUSES][RND_ATOMS];
	unsigned int	re_natoms[RND_CLAUSES];
	unsigned int	re_nclauses;
	bool		re_fallback;
};

static bool
rnd_op_holds(unsigned int op, uint64_t x, uint64_t v)
{
	switch (op) {
	case 0: return x == v;
	case 1: return x != v;
	case 2: return x < v;
	case 3: return x <= v;
	case 4: return x > v;
	case 5: return x >= v;
	case 6: return (x & v) != 0;
	default: return (x & ~v) == 0;
	}
}

/*
 * vhostd.policy(5): a comparison with a 32-bit constant (zero- or
 * sign-extended) holds when it holds for the whole argument and for its
 * low word; any other constant is compared with the whole argument.
 */
static bool
rnd_atom_holds(const struct rnd_atom *a, const uint64_t *args)
{
	uint64_t	x = args[a->ra_arg], v = a->ra_val;
	bool		c32;

	c32 = v >> 32 == 0 || (v >> 32 == 0xffffffff && (v & 0x80000000));
	return rnd_op_holds(a->ra_op, x, v) && (!c32 ||
	    rnd_op_holds(a->ra_op, (uint32_t)x, (uint32_t)v));
}

/* 'a' allowed, 'e' errno 5, 't' trapped */
static char
rnd_eval(const struct rnd_expr *e, const uint64_t *args)
{
	unsigned int	i, j;
	bool		ok;

	for (i = 0; i < e->re_nclauses; i++) {
		ok = true;
		for (j = 0; j < e->re_natoms[i]; j++)
			ok = ok && rnd_atom_holds(&e->re_atom[i][j], args);
		if (ok)
			return 'a';
	}
	return e->re_fallback ? 'e' : 't';
}

static void
rnd_text(const struct rnd_expr *e, char *buf, size_t len)
{
	size_t		n;
	unsigned int	i, j;

	n = (size_t)snprintf(buf, len, "getppid:");
	for (i = 0; i < e->re_nclauses; i++)
		for (j = 0; j < e->re_natoms[i]; j++)
			n += (size_t)snprintf(buf + n, len - n, "%s arg%u %s "
			    "%#llx", j > 0 ? " &&" : i > 0 ? " ||" : "",
			    e->re_atom[i][j].ra_arg,
			    rnd_ops[e->re_atom[i][j].ra_op],
			    (unsigned long long)e->re_atom[i][j].ra_val);
	snprintf(buf + n, len - n, "%s\nexit_group: 1\nrt_sigreturn: 1\n"
	    "write: 1\n", e->re_fallback ? "; return 5" : "");
}

static volatile sig_atomic_t rnd_trapped;

static void
rnd_on_sigsys(int sig)
{
	(void)sig;
	rnd_trapped = 1;
}

/* The grandchild: every grid point, results written to fd. */
static void
rnd_child(const struct policy_filter *pf, uint64_t arg2, int fd)
{
	char		out[RND_GRID * RND_GRID];
	uint64_t	a[6] = { 0, 0, arg2, 0, 0, 0 };
	long		r;
	int		i, j;

	signal(SIGSYS, rnd_on_sigsys);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    policy_filter_load(pf) < 0)
		syscall(SYS_exit_group, R_NOLOAD);
	for (i = 0; i < RND_GRID; i++)
		for (j = 0; j < RND_GRID; j++) {
			a[0] = rnd_vals[i];
			a[1] = rnd_vals[j];
			rnd_trapped = 0;
			r = syscall(SYS_getppid, a[0], a[1], a[2], 0, 0, 0);
			out[i * RND_GRID + j] = rnd_trapped ? 't' : r >= 0 ?
			    'a' : errno == 5 ? 'e' : '?';
		}
	syscall(SYS_write, fd, out, sizeof(out));
	syscall(SYS_exit_group, 0);
}

Test(policy, random_expressions_match_the_kernel)
{
	struct policy_filter	*pf;
	struct rnd_expr		 e;
	unsigned int		 seed = 20261126, i, j, k, bad = 0;
	uint64_t		 args[6] = { 0 };
	char			 text[1024], got[RND_GRID * RND_GRID + 1];
	pid_t			 pid;
	int			 p[2], n;

	for (k = 0; k < 150 && bad < 3; k++) {
		memset(&e, 0, sizeof(e));
		e.re_nclauses = 1 + (unsigned int)rand_r(&seed) % RND_CLAUSES;
		for (i = 0; i < e.re_nclauses; i++) {
			e.re_natoms[i] = 1 + (unsigned int)rand_r(&seed) %
			    RND_ATOMS;
			for (j = 0; j < e.re_natoms[i]; j++) {
				e.re_atom[i][j].ra_arg =
				    (unsigned int)rand_r(&seed) % 3;
				e.re_atom[i][j].ra_op =
				    (unsigned int)rand_r(&seed) % 8;
				e.re_atom[i][j].ra_val =
				    rnd_vals[rand_r(&seed) % RND_GRID];
			}
		}
		e.re_fallback = rand_r(&seed) % 2;
		args[2] = rnd_vals[rand_r(&seed) % RND_GRID];
		rnd_text(&e, text, sizeof(text));
		pf = compile_ok(text, POLICY_MODE_TRAP);

		cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0)
			rnd_child(pf, args[2], p[1]);
		close(p[1]);
		memset(got, 0, sizeof(got));
		n = (int)read(p[0], got, sizeof(got) - 1);
		close(p[0]);
		cr_assert_eq(wait_for(pid), 0, "%s", text);
		cr_assert_eq(n, RND_GRID * RND_GRID, "%s", text);
		for (i = 0; i < RND_GRID * RND_GRID; i++) {
			args[0] = rnd_vals[i / RND_GRID];
			args[1] = rnd_vals[i % RND_GRID];
			if (got[i] == rnd_eval(&e, args))
				continue;
			cr_expect_fail("'%.*s' with (%#llx, %#llx, %#llx): got "
			    "'%c', want '%c'", (int)strcspn(text, "\n"), text,
			    (unsigned long long)args[0],
			    (unsigned long long)args[1],
			    (unsigned long long)args[2], got[i],
			    rnd_eval(&e, args));
			bad++;
			break;
		}
		policy_filter_free(pf);
	}
}

/* --- errors: the exact message with file:line:column --- */

Test(policy, error_unknown_syscall)
{
	expect_error("read: 1\nno_such_call: 1\n",
	    "inline.policy:2:1: unknown syscall 'no_such_call'");
	expect_error("  \tbogus : 1\n",
	    "inline.policy:1:4: unknown syscall 'bogus'");
}

Test(policy, error_unknown_constant)
{
	expect_error("fcntl: arg1 == F_GETFD || arg1 == F_BOGUS\n",
	    "inline.policy:1:35: unknown constant 'F_BOGUS'");
	expect_error("mmap: arg2 in PROT_READ|PROT_WRIT\n",
	    "inline.policy:1:25: unknown constant 'PROT_WRIT'");
	/* a near miss of a generated or hand-kept name */
	expect_error("madvise: arg2 == MADV_GUARD_INSTAL\n",
	    "inline.policy:1:18: unknown constant 'MADV_GUARD_INSTAL'");
	expect_error("ioctl: arg1 == TCGETS3\n",
	    "inline.policy:1:16: unknown constant 'TCGETS3'");
	/* a macro of the headers that is not an integer constant */
	expect_error("rt_sigaction: arg0 == SIGRTMIN\n",
	    "inline.policy:1:23: unknown constant 'SIGRTMIN'");
	/* argN is not a value */
	expect_error("read: arg0 == 1 | arg1 == 2\n",
	    "inline.policy:1:19: unknown constant 'arg1'");
}

Test(policy, error_bad_operator)
{
	expect_error("read: arg0 = 1\n",
	    "inline.policy:1:12: bad operator '='");
	expect_error("read: arg0 =< 1\n",
	    "inline.policy:1:12: bad operator '=<'");
	expect_error("read: arg0 !== 1\n",
	    "inline.policy:1:12: bad operator '!=='");
	expect_error("read: arg0 has 1\n",
	    "inline.policy:1:12: bad operator 'has'");
	expect_error("read: arg0 1\n", "inline.policy:1:12: bad operator '1'");
	expect_error("read: arg0\n", "inline.policy:1:11: syntax error: "
	    "expected an operator after arg0");
}

Test(policy, error_arguments)
{
	expect_error("read: arg6 == 1\n",
	    "inline.policy:1:7: bad argument index 'arg6' (arg0 to arg5)");
	expect_error("read: arg01 == 1\n",
	    "inline.policy:1:7: bad argument index 'arg01' (arg0 to arg5)");
	expect_error("read: fd == 1\n", "inline.policy:1:7: syntax error: "
	    "expected an argument (arg0 to arg5), got 'fd'");
	expect_error("read: arg0 == 1 && == 2\n", "inline.policy:1:20: "
	    "syntax error: expected an argument (arg0 to arg5)");
}

Test(policy, error_syntax)
{
	expect_error("read 1\n", "inline.policy:1:6: syntax error: "
	    "expected ':' after the syscall name");
	expect_error(": 1\n",
	    "inline.policy:1:1: syntax error: expected a syscall name");
	expect_error("read:\n", "inline.policy:1:6: syntax error: expected "
	    "'1', 'return ERRNO' or an argument expression");
	expect_error("read: 1 2\n",
	    "inline.policy:1:9: syntax error: unexpected '2'");
	expect_error("read: 1; return EPERM\n",
	    "inline.policy:1:8: syntax error: unexpected ';'");
	expect_error("read: arg0 == 1 & arg1 == 2\n", "inline.policy:1:17: "
	    "syntax error: unexpected '&' (use '&&')");
	expect_error("read: arg0 ==\n",
	    "inline.policy:1:14: syntax error: expected a value");
	expect_error("read: arg0 == 1 |\n",
	    "inline.policy:1:18: syntax error: expected a value");
	expect_error("read: arg0 == (1|2\n",
	    "inline.policy:1:19: syntax error: expected ')'");
	expect_error("read: arg0 == 1; allow\n", "inline.policy:1:18: "
	    "syntax error: expected 'return' after ';'");
	expect_error("read: arg0 == 1 arg1 == 2\n",
	    "inline.policy:1:17: syntax error: unexpected 'arg1'");
	expect_error("read: arg0 == 0x\n",
	    "inline.policy:1:15: bad number '0x'");
	expect_error("read: arg0 == 12ab\n",
	    "inline.policy:1:15: bad number '12ab'");
	expect_error("read: arg0 == 99999999999999999999\n",
	    "inline.policy:1:15: number out of range");
	expect_error("read: arg0 == 1\nread: 1\n@bogus x\n",
	    "inline.policy:3:1: unknown directive '@bogus'");
	expect_error("@include   \n", "inline.policy:1:9: syntax error: "
	    "expected a path after '@include'");
	expect_error("@frequency\n", "inline.policy:1:11: syntax error: "
	    "expected a path after '@frequency'");
}

/*
 * Values nest through "(" and "~": a line of the longest length the
 * parser takes (64 KiB) made of them must be an error, not a stack
 * overflow in the privileged parent that compiles the policy.
 */
Test(policy, error_values_nested_too_deeply)
{
	static const char	*const heads[] = { "(", "~", "~(" };
	struct pcase		 c[1] = { { NULL, { 5 }, R_ALLOW } };
	char			*text, want[128], rule[64];
	size_t			 i, k, n, len;

	for (i = 0; i < NCASES(heads); i++) {
		len = strlen(heads[i]);
		n = 60000 / len;
		text = malloc(16 + n * len + 8);
		cr_assert_not_null(text);
		strcpy(text, "read: arg0 == ");
		for (k = 0; k < n; k++)
			memcpy(text + 14 + k * len, heads[i], len);
		strcpy(text + 14 + n * len, "1\n");
		/* the 33rd level: column 15 + 32 */
		snprintf(want, sizeof(want), "inline.policy:1:47: values "
		    "nested too deeply (more than 32 levels)");
		expect_error(text, want);
		free(text);
	}
	/* 32 levels are fine: 16 times "(~", an even number of "~" */
	n = (size_t)snprintf(rule, sizeof(rule), "arg0 == ");
	for (k = 0; k < 32; k++)
		rule[n++] = k % 2 ? '~' : '(';
	rule[n++] = '5';
	for (k = 0; k < 16; k++)
		rule[n++] = ')';
	rule[n] = '\0';
	c[0].pc_rule = rule;
	check_cases(c, 1);
}

Test(policy, error_nul_byte)
{
	static const char text[] = "read: 1\nwri\0te: 1\n";
	struct policy_filter	*pf;
	char			 err[256];
	FILE			*f;

	f = fmemopen((void *)(uintptr_t)text, sizeof(text) - 1, "r");
	cr_assert_not_null(f);
	pf = policy_compile_stream(f, INLINE, POLICY_MODE_KILL, err,
	    sizeof(err));
	fclose(f);
	cr_expect_null(pf);
	cr_expect_str_eq(err, "inline.policy:2:4: syntax error: NUL byte");
}

Test(policy, error_return)
{
	expect_error("read: return\n", "inline.policy:1:13: syntax error: "
	    "expected an errno after 'return'");
	expect_error("read: return EBOGUS\n",
	    "inline.policy:1:14: unknown errno 'EBOGUS'");
	expect_error("read: arg0 == 1; return 4096\n",
	    "inline.policy:1:25: errno 4096 out of range (0 to 4095)");
}

Test(policy, error_location_after_continuation)
{
	expect_error("read: 1\n"
	    "fcntl: arg1 == F_GETFD || \\\n"
	    "       arg1 == F_NOPE\n",
	    "inline.policy:3:16: unknown constant 'F_NOPE'");
}

Test(policy, error_conflicting_actions)
{
	expect_error("read: 1\n# then\nread: return EPERM\n",
	    "inline.policy:3:7: conflicting actions for 'read': 'return' "
	    "here and '1' at inline.policy:1:7");
	expect_error("read:   return EPERM\nread: 1\n",
	    "inline.policy:2:7: conflicting actions for 'read': '1' here "
	    "and 'return' at inline.policy:1:9");
	expect_error("read: arg0 == 0; return EPERM\n"
	    "read: arg0 == 1; return EACCES\n",
	    "inline.policy:2:18: conflicting actions for 'read': 'return 13' "
	    "here and 'return 1' at inline.policy:1:18");
	expect_error("read: return EPERM\nread: return ENOENT\n",
	    "inline.policy:2:7: conflicting actions for 'read': 'return 2' "
	    "here and 'return 1' at inline.policy:1:7");
}

Test(policy, error_conflict_across_files)
{
	expect_error_named("@include common.policy\nexit_group: return EPERM\n",
	    FIXTURES "/inline.policy",
	    FIXTURES "/inline.policy:2:13: conflicting actions for "
	    "'exit_group': 'return' here and '1' at "
	    FIXTURES "/common.policy:6:13");
}

Test(policy, error_long_conjunction)
{
	char	text[1024], want[256];
	size_t	n;
	int	i;

	/* 32 comparisons joined by "&&" are fine, 33 are not */
	n = (size_t)snprintf(text, sizeof(text), "read: arg0 == 0");
	for (i = 1; i < 32; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    " && arg%d != %d", i % 6, i);
	snprintf(text + n, sizeof(text) - n, "\n");
	policy_filter_free(compile_ok(text, POLICY_MODE_KILL));
	snprintf(text + n, sizeof(text) - n, " && arg1 != 99\n");
	snprintf(want, sizeof(want), "inline.policy:1:%zu: 'read': more than "
	    "32 comparisons joined by '&&'", n + 5);
	expect_error(text, want);
}

Test(policy, error_too_many_instructions)
{
	static char		 text[32768];
	struct policy_filter	*pf;
	char			 err[256], want[256];
	size_t			 n, insns = 0;
	int			 i;

	/* 5 instructions per clause */
	n = (size_t)snprintf(text, sizeof(text), "read: arg0 == 0");
	for (i = 1; i < 900; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    " || arg0 == %d", i);
	snprintf(text + n, sizeof(text) - n, "\n");
	pf = compile_named(text, INLINE, POLICY_MODE_KILL, err, sizeof(err));
	cr_expect_null(pf);
	/* 4510, more in a sanitizer build (its runtime's calls) */
	cr_assert_eq(sscanf(err, "inline.policy: the compiled filter has %zu",
	    &insns), 1, "message: %s", err);
	cr_expect_geq(insns, 4510);
	snprintf(want, sizeof(want), "inline.policy: the compiled filter has "
	    "%zu instructions, more than the kernel's 4096", insns);
	cr_expect_str_eq(err, want);
	policy_filter_free(pf);
}

Test(policy, error_include_loop)
{
	expect_file_error(FIXTURES "/loop/a.policy",
	    FIXTURES "/loop/b.policy:2:10: include loop: '"
	    FIXTURES "/loop/a.policy' is already being read");
	expect_file_error(FIXTURES "/loop/self.policy",
	    FIXTURES "/loop/self.policy:1:10: include loop: '"
	    FIXTURES "/loop/self.policy' is already being read");
}

Test(policy, error_include_depth)
{
	expect_file_error(FIXTURES "/depth/1.policy",
	    FIXTURES "/depth/8.policy:1:10: @include nested too deeply "
	    "(more than 8 levels)");
}

Test(policy, error_include_missing)
{
	expect_file_error(FIXTURES "/missing.policy",
	    FIXTURES "/missing.policy:3:10: cannot open '"
	    FIXTURES "/no-such-file.policy': No such file or directory");
	expect_file_error(FIXTURES "/no-such.policy",
	    FIXTURES "/no-such.policy:1:1: cannot open '"
	    FIXTURES "/no-such.policy': No such file or directory");
}

Test(policy, error_in_included_file)
{
	expect_file_error(FIXTURES "/bad/top.policy",
	    FIXTURES "/bad/inner.policy:3:1: unknown syscall "
	    "'no_such_syscall'");
}

/* --- loaded filters: what a forbidden call does in each mode --- */

Test(policy, kill_mode_kills_with_sigsys)
{
	static const uint64_t getfd[6] = { 0, F_GETFD },
	    getfl[6] = { 0, F_GETFL };
	struct policy_filter	*pf;

	pf = compile_ok("fcntl: arg1 == F_GETFD\nexit_group: 1\n",
	    POLICY_MODE_KILL);
	cr_expect_eq(probe(pf, SYS_fcntl, getfd), R_ALLOW);
	cr_expect_eq(probe(pf, SYS_fcntl, getfl), R_KILL);
	policy_filter_free(pf);
}

Test(policy, fallback_gives_errno)
{
	static const uint64_t getfd[6] = { 0, F_GETFD },
	    getfl[6] = { 0, F_GETFL }, none[6] = { 0 };
	struct policy_filter	*pf;

	pf = compile_ok("fcntl: arg1 == F_GETFD; return EPERM\n"
	    "exit_group: 1\n", POLICY_MODE_KILL);
	cr_expect_eq(probe(pf, SYS_fcntl, getfd), R_ALLOW);
	cr_expect_eq(probe(pf, SYS_fcntl, getfl), EPERM);
	cr_expect_eq(probe(pf, SYS_getppid, none), R_KILL);
	policy_filter_free(pf);
}

static volatile sig_atomic_t trap_nr;

static void
on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	syscall(SYS_exit_group, si->si_syscall == trap_nr ? R_HANDLER :
	    R_HANDLER + 1);
}

/* Like probe(), with a SIGSYS handler that exits R_HANDLER. */
static int
probe_with_handler(const struct policy_filter *pf, long nr)
{
	static const uint64_t	a[6] = { 0 };
	struct sigaction	sa;
	pid_t			pid;

	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		trap_nr = (sig_atomic_t)nr;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigsys;
		sa.sa_flags = SA_SIGINFO;
		if (sigaction(SIGSYS, &sa, NULL) < 0)
			syscall(SYS_exit_group, R_NOLOAD);
		probe_child(pf, nr, a, -1);
	}
	return wait_for(pid);
}

Test(policy, trap_mode_raises_sigsys)
{
	static const uint64_t	a[6] = { 0 };
	struct policy_filter	*pf;

	pf = compile_ok("exit_group: 1\ngetpid: 1\n", POLICY_MODE_TRAP);
	/* default disposition: the process dies of SIGSYS */
	cr_expect_eq(probe(pf, SYS_getppid, a), R_KILL);
	cr_expect_eq(probe(pf, SYS_getpid, a), R_ALLOW);
	/* a signal, not a kill: a handler runs and sees the call */
	cr_expect_eq(probe_with_handler(pf, SYS_getppid), R_HANDLER);
	policy_filter_free(pf);
}

Test(policy, kill_mode_ignores_handlers)
{
	struct policy_filter	*pf;

	pf = compile_ok("exit_group: 1\n", POLICY_MODE_KILL);
	cr_expect_eq(probe_with_handler(pf, SYS_getppid), R_KILL);
	policy_filter_free(pf);
}

#if defined(__x86_64__)
/* getpid through the i386 ABI: number 20, which is writev on x86_64. */
static long
i386_getpid(void)
{
	long	ret;

	__asm__ volatile ("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	return ret;
}

/* In a grandchild with a SIGSYS handler (R_HANDLER): fn under pf. */
static int
probe_abi(const struct policy_filter *pf, long (*fn)(void), long trapnr)
{
	struct rlimit		nocore = { 0, 0 };
	struct sigaction	sa;
	pid_t			pid;

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &nocore);
		trap_nr = (sig_atomic_t)trapnr;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigsys;
		sa.sa_flags = SA_SIGINFO;
		if (sigaction(SIGSYS, &sa, NULL) < 0 ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    policy_filter_load(pf) < 0)
			syscall(SYS_exit_group, R_NOLOAD);
		syscall(SYS_exit_group, fn() >= 0 ? R_ALLOW : R_ALLOW + 1);
	}
	return wait_for(pid);
}

static long
x32_getpid(void)
{
	return syscall(0x40000000L | SYS_getpid);
}

static long
native_getppid(void)
{
	return syscall(SYS_getppid);
}

/*
 * A foreign ABI is killed whatever the mode, even when its number is
 * allowed on x86_64; in TRAP mode an unlisted native call traps instead.
 */
Test(policy, foreign_abi_is_killed)
{
	struct policy_filter	*pf;
	int			 r;

	pf = compile_ok("writev: 1\ngetpid: 1\nexit_group: 1\n",
	    POLICY_MODE_TRAP);
	cr_expect_eq(probe_abi(pf, native_getppid, SYS_getppid), R_HANDLER);
	cr_expect_eq(probe_abi(pf, x32_getpid, 0x40000000L | SYS_getpid),
	    R_KILL);
	r = probe_abi(pf, i386_getpid, 20);
	policy_filter_free(pf);
	if (r == -SIGSEGV)
		cr_skip_test("no i386 emulation in this kernel");
	cr_expect_eq(r, R_KILL);
}
#endif

/* A thread stack for kill_mode_kills_the_whole_process. */
static char		thread_stack[64 * 1024] __attribute__((aligned(16)));
static volatile pid_t	thread_tid;

static int
forbidden_thread(void *arg)
{
	(void)arg;
	syscall(SYS_getppid);
	return 0;
}

/*
 * SECCOMP_RET_KILL_PROCESS, not KILL_THREAD: a thread's forbidden call
 * ends the whole process, instead of leaving the main thread running (it
 * would wake when the kernel clears the thread id and exit R_ALLOW).
 */
Test(policy, kill_mode_kills_the_whole_process)
{
	struct policy_filter	*pf;
	struct rlimit		 nocore = { 0, 0 };
	pid_t			 pid, tid;
	int			 flags;

	pf = compile_ok("exit_group: 1\nexit: 1\nfutex: 1\n"
	    "clone: arg0 & CLONE_THREAD\n", POLICY_MODE_KILL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &nocore);
		flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
		    CLONE_THREAD | CLONE_SYSVSEM | CLONE_PARENT_SETTID |
		    CLONE_CHILD_CLEARTID;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    policy_filter_load(pf) < 0)
			syscall(SYS_exit_group, R_NOLOAD);
		if (clone(forbidden_thread, thread_stack + sizeof(thread_stack),
		    flags, NULL, &thread_tid, NULL, &thread_tid) < 0)
			syscall(SYS_exit_group, R_NOLOAD + 1);
		while ((tid = thread_tid) != 0)
			syscall(SYS_futex, &thread_tid, FUTEX_WAIT, tid, NULL,
			    NULL, 0);
		syscall(SYS_exit_group, R_ALLOW);
	}
	cr_expect_eq(wait_for(pid), R_KILL);
	policy_filter_free(pf);
}

/* Run nr(a) under pf with stderr on a pipe; return the status, fill out. */
static int
probe_stderr(const struct policy_filter *pf, long nr, const uint64_t a[6],
    char *out, size_t outlen)
{
	size_t	len = 0;
	ssize_t	n;
	pid_t	pid;
	int	p[2];

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		probe_child(pf, nr, a, p[1]);
	close(p[1]);
	while (len + 1 < outlen &&
	    (n = read(p[0], out + len, outlen - len - 1)) != 0) {
		if (n < 0) {
			cr_assert_eq(errno, EINTR);
			continue;
		}
		len += (size_t)n;
	}
	out[len] = '\0';
	close(p[0]);
	return wait_for(pid);
}

Test(policy, log_mode_reports_and_exits)
{
	static const uint64_t	a[6] = { 7, F_GETFL, 0x1234, 0,
				    0xffffffffffffffff, 0x10 },
				none[6] = { 0 };
	struct policy_filter	*pf;
	char			 out[512];

	pf = compile_ok("getppid: 1\n", POLICY_MODE_LOG);
	cr_expect_eq(probe_stderr(pf, SYS_fcntl, a, out, sizeof(out)),
	    POLICY_LOG_EXIT);
	cr_expect_str_eq(out, "seccomp: forbidden syscall fcntl(0x7, 0x3, "
	    "0x1234, 0x0, 0xffffffffffffffff, 0x10)\n");
	/* allowed calls go through, and nothing is printed */
	cr_expect_eq(probe_stderr(pf, SYS_getppid, none, out, sizeof(out)),
	    R_ALLOW);
	cr_expect_str_empty(out);
	policy_filter_free(pf);
}

Test(policy, log_mode_reporter_needs_no_policy_lines)
{
	static const uint64_t	a[6] = { 0 },
				w1[6] = { 1, 0, 0 }, w3[6] = { 3, 0, 0 };
	struct policy_filter	*pf;
	char			 out[512];
	int			 got;

	/* write limited to fd 1 and exit_group limited: the reporter's own
	 * write(2, ...) and exit are still allowed */
	pf = compile_ok("write: arg0 == 1\nexit_group: arg0 == 0\n",
	    POLICY_MODE_LOG);
	cr_expect_eq(probe_stderr(pf, SYS_getppid, a, out, sizeof(out)),
	    POLICY_LOG_EXIT);
	cr_expect_str_eq(out, "seccomp: forbidden syscall getppid(0x0, 0x0, "
	    "0x0, 0x0, 0x0, 0x0)\n");
	/* write(1, NULL, 0): allowed, 0 or EBADF (fd 1 may be closed) */
	got = probe_stderr(pf, SYS_write, w1, out, sizeof(out));
	cr_expect(got == R_ALLOW || got == EBADF, "write(1): %d", got);
	cr_expect_str_empty(out);
	cr_expect_eq(probe_stderr(pf, SYS_write, w3, out, sizeof(out)),
	    POLICY_LOG_EXIT);
	cr_expect_str_eq(out, "seccomp: forbidden syscall write(0x3, 0x0, "
	    "0x0, 0x0, 0x0, 0x0)\n");
	policy_filter_free(pf);
}

Test(policy, syscall_names)
{
	struct policy_filter	*pf;

	pf = compile_ok("read: 1\n", POLICY_MODE_LOG);
	cr_expect_str_eq(policy_filter_syscall_name(pf, SYS_getppid),
	    "getppid");
	cr_expect_str_eq(policy_filter_syscall_name(pf, SYS_read), "read");
	cr_expect_null(policy_filter_syscall_name(pf, -1));
	cr_expect_null(policy_filter_syscall_name(pf, 100000));
	policy_filter_free(pf);
}

/* --- precompiled BPF files --- */

static void
write_file(const char *path, const void *buf, size_t len)
{
	int	fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

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

/* --- where vhostd looks for policies --- */

/* Copy file from to to (mode 0755). */
static void
copy_file(const char *from, const char *to)
{
	char	buf[65536];
	ssize_t	n;
	int	in, out;

	in = open(from, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(in, 0, "%s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	cr_assert_geq(out, 0, "%s: %s", to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(out, buf, (size_t)n), n);
	cr_assert_eq(n, 0);
	close(in);
	close(out);
}

/* Run argv, its stdout and stderr into out; the exit status. */
static int
run_capture(char *const argv[], char *out, size_t len)
{
	size_t	got = 0;
	ssize_t	n;
	pid_t	pid;
	int	p[2], st;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (got + 1 < len && (n = read(p[0], out + got,
	    len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0)
		cr_assert_eq(errno, EINTR);
	return st;
}

/*
 * An installed vhostd reads the installed policies (or --policy-dir),
 * never a policies/ directory that happens to sit next to the binary:
 * whoever can write there would choose the filter of every device.
 */
Test(policy, installed_binary_ignores_policies_next_to_it)
{
	char	 exe[1024], prog[1100], dir[] = "/tmp/policy_test.XXXXXX";
	char	 path[256], sock[128], pdir[128], spec[256], out[8192];
	char	 cmd[128];
	char	*argv[8], *slash;
	ssize_t	 n;
	int	 i;

	/* build/tests/unit/policy_test -> build/vhostd */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	for (i = 0; i < 3 && (slash = strrchr(exe, '/')) != NULL; i++)
		*slash = '\0';
	snprintf(prog, sizeof(prog), "%s/vhostd", exe);
	if (access(prog, X_OK) != 0)
		cr_skip_test("%s is not built (make)", prog);

	/* DIR/bin/vhostd next to DIR/policies/x86_64/rng.policy */
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bin", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/bin/vhostd", dir);
	copy_file(prog, path);
	snprintf(pdir, sizeof(pdir), "%s/policies", dir);
	cr_assert_eq(mkdir(pdir, 0755), 0);
	snprintf(pdir, sizeof(pdir), "%s/policies/x86_64", dir);
	cr_assert_eq(mkdir(pdir, 0755), 0);
	snprintf(path, sizeof(path), "%s/rng.policy", pdir);
	write_file(path, "planted_by_the_test: 1\n", 23);
	snprintf(sock, sizeof(sock), "%s/rng.sock", dir);
	snprintf(spec, sizeof(spec), "rng,socket=%s", sock);

	snprintf(path, sizeof(path), "%s/bin/vhostd", dir);
	argv[0] = path;
	argv[1] = (char *)"-n";
	argv[2] = (char *)"--device";
	argv[3] = spec;
	argv[4] = NULL;
	run_capture(argv, out, sizeof(out));
	cr_expect_null(strstr(out, "planted_by_the_test"),
	    "vhostd used the policies next to its binary:\n%s", out);
	cr_expect(strstr(out, POLICYDIR) != NULL ||
	    strstr(out, "configuration OK") != NULL,
	    "not the installed directory " POLICYDIR ":\n%s", out);

	/* --policy-dir is still obeyed (and the planted file is seen) */
	argv[1] = (char *)"--policy-dir";
	argv[2] = pdir;
	argv[3] = (char *)"-n";
	argv[4] = (char *)"--device";
	argv[5] = spec;
	argv[6] = NULL;
	run_capture(argv, out, sizeof(out));
	cr_expect_not_null(strstr(out, "unknown syscall "
	    "'planted_by_the_test'"), "--policy-dir ignored:\n%s", out);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

/* --- the shipped policies --- */

Test(policy, shipped_policies_compile)
{
	static const enum policy_mode modes[] = {
		POLICY_MODE_KILL, POLICY_MODE_LOG, POLICY_MODE_TRAP,
	};
	struct policy_filter	*pf;
	glob_t			 g;
	size_t			 i, m;
	bool			 common = false;

	cr_assert_eq(glob("policies/x86_64/*.policy", 0, NULL, &g), 0);
	cr_assert_geq(g.gl_pathc, 2);
	for (i = 0; i < g.gl_pathc; i++) {
		if (strcmp(g.gl_pathv[i], "policies/x86_64/common.policy") == 0)
			common = true;
		for (m = 0; m < NCASES(modes); m++) {
			pf = file_ok(g.gl_pathv[i], modes[m]);
			policy_filter_free(pf);
		}
	}
	cr_expect(common);
	globfree(&g);
}
