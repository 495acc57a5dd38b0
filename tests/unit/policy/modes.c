/* policy_test: loaded filters: what a forbidden call does in each mode. */

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "policy_harness.h"

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
