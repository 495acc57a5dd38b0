/*
 * jail_harness.c - jail_test's harness.  jail_test covers sandbox/jail:
 * configuration parsing, exit-code mapping, the host probe, and real
 * jailed children (cloned the way the supervisor clones them) that report
 * what they can see through a kept pipe.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/securebits.h>

#include "jail_harness.h"

static int
errno_of(int rc)
{
	return rc == -1 ? errno : 0;
}

/* errno of opening path, 0 (and closed again) if it opened. */
static int
open_errno(const char *path)
{
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno;
	close(fd);
	return 0;
}

static void
child_report(struct report *r)
{
	struct __user_cap_header_struct	hdr = {
		_LINUX_CAPABILITY_VERSION_3, 0
	};
	struct __user_cap_data_struct	data[2];
	struct rlimit			rl;
	struct statvfs			vfs;
	struct sigaction		sa;
	struct dirent			*de;
	struct stat			st;
	sigset_t			mask;
	DIR				*d;
	pid_t				pid;
	int				cap, fd;

	memset(r, 0, sizeof(*r));
	r->r_pid = getpid();
	r->r_ppid = getppid();
	r->r_sid = getsid(0);
	getresuid(&r->r_uid[0], &r->r_uid[1], &r->r_uid[2]);
	getresgid(&r->r_gid[0], &r->r_gid[1], &r->r_gid[2]);
	r->r_ngroups = getgroups(0, NULL);
	if (syscall(SYS_capget, &hdr, data) == 0)
		r->r_caps = data[0].effective | data[0].permitted |
		    data[0].inheritable | data[1].effective |
		    data[1].permitted | data[1].inheritable;
	else
		r->r_caps = ~0U;
	for (cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			r->r_bnd++;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1)
			r->r_amb++;
	}
	r->r_securebits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	r->r_nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	r->r_dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_GET_PDEATHSIG, &r->r_pdeathsig, 0, 0, 0);
	getrlimit(RLIMIT_NOFILE, &rl);
	r->r_nofile = rl.rlim_max;
	getrlimit(RLIMIT_NPROC, &rl);
	r->r_nproc = rl.rlim_max;
	getrlimit(RLIMIT_CORE, &rl);
	r->r_core = rl.rlim_max;
	getrlimit(RLIMIT_MEMLOCK, &rl);
	r->r_memlock = rl.rlim_max;
	if ((d = opendir("/")) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				r->r_root_entries++;
		closedir(d);
	} else
		r->r_root_entries = -1;
	r->r_root_ro = statvfs("/", &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
	r->r_passwd_errno = open_errno("/etc/passwd");
	r->r_proc_errno = open_errno("/proc/self/status");
	for (fd = 3; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1 && r->r_nopen < MAX_OPEN)
			r->r_open[r->r_nopen++] = fd;
	pid = fork();
	if (pid == 0)
		_exit(0);
	r->r_fork_errno = pid == -1 ? errno : 0;
	r->r_userns_errno = errno_of(unshare(CLONE_NEWUSER));
	r->r_chroot_errno = errno_of(chroot("/"));
	sigaction(SIGUSR1, NULL, &sa);
	r->r_sigusr1_default = sa.sa_handler == SIG_DFL;
	sigprocmask(SIG_SETMASK, NULL, &mask);
	r->r_sigusr2_blocked = sigismember(&mask, SIGUSR2);
	r->r_stdin_null = fstat(0, &st) == 0 && S_ISCHR(st.st_mode) &&
	    st.st_rdev == makedev(1, 3);
}

/*
 * Clone a child with flags (the supervisor's pattern), keep extra_fd in
 * it besides the two pipes, jail it and read its report.  With how ==
 * false the child uses fork() instead of clone flags.
 */
void
spawn(const struct jail_config *jc, unsigned long flags, int extra_fd,
    struct jailed *j)
{
	struct fdset	keep;
	struct report	r;
	int		rp[2], hp[2], rc;
	char		c;
	ssize_t		n;

	if (pipe2(rp, O_CLOEXEC) == -1 || pipe2(hp, O_CLOEXEC) == -1)
		abort();
	fdset_init(&keep);
	fdset_add(&keep, rp[1]);
	fdset_add(&keep, hp[0]);
	if (extra_fd >= 0)
		fdset_add(&keep, extra_fd);
	fflush(NULL);
	j->j_pid = (pid_t)syscall(SYS_clone, SIGCHLD | flags, NULL, NULL,
	    NULL, NULL);
	if (j->j_pid == -1)
		abort();
	if (j->j_pid == 0) {
		if ((rc = jail_enter(jc, &keep, NULL)) != 0)
			_exit(rc);
		child_report(&r);
		if (write(rp[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(100);
		if (read(hp[0], &c, 1) < 0)
			_exit(101);
		_exit(0);
	}
	close(rp[1]);
	close(hp[0]);
	j->j_report = rp[0];
	j->j_hold = hp[1];
	memset(&j->j_r, 0, sizeof(j->j_r));
	n = read(j->j_report, &j->j_r, sizeof(j->j_r));
	if (n != (ssize_t)sizeof(j->j_r)) {
		close(j->j_hold);
		j->j_hold = -1;
	}
}

/* Let the child go; its wait status. */
int
finish(struct jailed *j)
{
	int	status;

	if (j->j_hold >= 0)
		close(j->j_hold);
	close(j->j_report);
	if (waitpid(j->j_pid, &status, 0) != j->j_pid)
		return -1;
	return status;
}

bool
has_open(const struct report *r, int fd)
{
	int	i;

	for (i = 0; i < r->r_nopen; i++)
		if (r->r_open[i] == fd)
			return true;
	return false;
}

/*
 * What every jailed child must show; NULL, or the first failure.  Plain
 * checks rather than cr_assert so that a forked helper can use them too.
 */
static const char *
check_jailed(const struct jail_config *jc, const struct report *r,
    int extra_fd, int leaked_fd)
{
	static char	why[256];
	int		i;

	CHECK(r->r_pid == 1, "pid %d, not 1", (int)r->r_pid);
	CHECK(r->r_ppid == 0, "parent visible: %d", (int)r->r_ppid);
	CHECK(r->r_sid == 1, "no own session (setsid)");
	for (i = 0; i < 3; i++) {
		CHECK(r->r_uid[i] == jc->jc_uid, "uid[%d] %u", i,
		    (unsigned int)r->r_uid[i]);
		CHECK(r->r_gid[i] == jc->jc_gid, "gid[%d] %u", i,
		    (unsigned int)r->r_gid[i]);
	}
	CHECK(r->r_caps == 0, "caps 0x%x", r->r_caps);
	CHECK(r->r_bnd == 0, "%d bounding caps", r->r_bnd);
	CHECK(r->r_amb == 0, "%d ambient caps", r->r_amb);
	CHECK(r->r_securebits == (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
	    SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
	    SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
	    SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED), "securebits 0x%x",
	    r->r_securebits);
	CHECK(r->r_nnp == 1, "no_new_privs %d", r->r_nnp);
	CHECK(r->r_dumpable == 0, "dumpable %d", r->r_dumpable);
	CHECK(r->r_pdeathsig == SIGKILL, "pdeathsig %d", r->r_pdeathsig);
	CHECK(r->r_nproc == 0, "RLIMIT_NPROC %llu",
	    (unsigned long long)r->r_nproc);
	CHECK(r->r_core == 0, "RLIMIT_CORE");
	CHECK(r->r_memlock == 0, "RLIMIT_MEMLOCK");
	CHECK(r->r_root_entries == 0, "%d entries in /", r->r_root_entries);
	CHECK(r->r_root_ro, "/ is writable");
	CHECK(r->r_passwd_errno == ENOENT, "/etc/passwd: %s",
	    strerror(r->r_passwd_errno));
	CHECK(r->r_proc_errno == ENOENT, "/proc: %s",
	    strerror(r->r_proc_errno));
	CHECK(r->r_fork_errno == EAGAIN, "fork: %s",
	    strerror(r->r_fork_errno));
	CHECK(r->r_userns_errno == EPERM, "unshare(CLONE_NEWUSER): %s",
	    strerror(r->r_userns_errno));
	CHECK(r->r_chroot_errno == EPERM, "chroot: %s",
	    strerror(r->r_chroot_errno));
	CHECK(r->r_sigusr1_default, "SIGUSR1 still ignored");
	CHECK(!r->r_sigusr2_blocked, "SIGUSR2 still blocked");
	CHECK(r->r_stdin_null, "stdin is not /dev/null");
	/* The two pipes, the extra descriptor, nothing else. */
	CHECK(r->r_nopen == (extra_fd >= 0 ? 3 : 2), "%d open descriptors",
	    r->r_nopen);
	CHECK(extra_fd < 0 || has_open(r, extra_fd), "kept fd %d closed",
	    extra_fd);
	CHECK(!has_open(r, leaked_fd), "fd %d leaked", leaked_fd);
	return NULL;
}

/*
 * Run a jailed child with a leaked and a kept descriptor, an ignored
 * SIGUSR1 and a blocked SIGUSR2; NULL if it is properly jailed.  The child
 * waits in finish().
 */
const char *
run_jailed(const struct jail_config *jc, struct jailed *j)
{
	static char	why[256];
	sigset_t	block, old;
	const char	*msg;
	int		leaked, kept, status;

	leaked = open("/dev/null", O_RDONLY);	/* not CLOEXEC on purpose */
	kept = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(leaked >= 3 && kept >= 3, "open /dev/null");
	signal(SIGUSR1, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &old);
	spawn(jc, jail_clone_flags(jc), kept, j);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR1, SIG_DFL);
	if (j->j_hold < 0) {
		status = finish(j);
		snprintf(why, sizeof(why), "jailed child sent no report "
		    "(status 0x%x, step %s)", (unsigned int)status,
		    WIFEXITED(status) && jail_exit_step(WEXITSTATUS(status)) ?
		    jail_exit_step(WEXITSTATUS(status)) : "-");
		return why;
	}
	msg = check_jailed(jc, &j->j_r, kept, leaked);
	close(leaked);
	close(kept);
	return msg;
}

TestSuite(jail, .timeout = 30);
