/*
 * policy_harness.c - policy_test's harness.  policy_test covers
 * sandbox/policy*: the policy syntax (every construct compiles and means
 * what vhostd.policy(5) says), every error message with its
 * file:line:column, filters loaded into real processes (KILL, TRAP, LOG
 * and ERRNO results), precompiled BPF files, and the shipped policies.
 *
 * A filtered process is a grandchild of the test: it sets no_new_privs,
 * loads the filter, makes one raw system call and ends with a raw
 * exit_group, so the policies under test need to allow only exit_group.
 * Fixtures live in tests/data/policy; the suite changes to the source tree
 * first ($VHOSTD_SRCDIR, the current directory, or a parent of the test
 * binary).
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "policy_harness.h"

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
struct policy_filter *
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
struct policy_filter *
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
void
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

void
expect_error(const char *text, const char *want)
{
	expect_error_named(text, INLINE, want);
}

void
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

struct policy_filter *
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
void
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

int
wait_for(pid_t pid)
{
	int	st;

	while (waitpid(pid, &st, 0) < 0)
		cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
	return outcome(st);
}

/* Make system call nr(a) in a grandchild under pf; how did it end? */
int
probe(const struct policy_filter *pf, long nr, const uint64_t a[6])
{
	pid_t	pid;

	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0)
		probe_child(pf, nr, a, -1);
	return wait_for(pid);
}

void
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

void
write_file(const char *path, const void *buf, size_t len)
{
	int	fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}
