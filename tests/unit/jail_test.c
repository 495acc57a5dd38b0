/*
 * jail_test.c - sandbox/jail: configuration parsing, exit-code mapping, the
 * host probe, and real jailed children (cloned the way the supervisor
 * clones them) that report what they can see through a kept pipe.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/securebits.h>

#include "jail.h"
#include "policy.h"

#define MAX_OPEN	16

/* What a jailed child sees, sent to the test through a pipe. */
struct report {
	pid_t		r_pid;
	pid_t		r_ppid;
	pid_t		r_sid;
	uid_t		r_uid[3];
	gid_t		r_gid[3];
	int		r_ngroups;
	unsigned int	r_caps;		/* OR of every capget set */
	int		r_bnd;		/* bounding caps left */
	int		r_amb;		/* ambient caps left */
	int		r_securebits;
	int		r_nnp;
	int		r_dumpable;
	int		r_pdeathsig;
	rlim_t		r_nofile;
	rlim_t		r_nproc;
	rlim_t		r_core;
	rlim_t		r_memlock;
	int		r_root_entries;	/* in / besides . and .. */
	int		r_root_ro;
	int		r_passwd_errno;
	int		r_proc_errno;
	int		r_open[MAX_OPEN];	/* open descriptors >= 3 */
	int		r_nopen;
	int		r_fork_errno;
	int		r_userns_errno;	/* unshare(CLONE_NEWUSER) */
	int		r_chroot_errno;
	int		r_sigusr1_default;
	int		r_sigusr2_blocked;
	int		r_stdin_null;
};

struct jailed {
	pid_t		j_pid;
	int		j_report;	/* read end */
	int		j_hold;		/* write end: child exits on EOF */
	struct report	j_r;
};

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
static void
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
static int
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

static bool
has_open(const struct report *r, int fd)
{
	int	i;

	for (i = 0; i < r->r_nopen; i++)
		if (r->r_open[i] == fd)
			return true;
	return false;
}

#define CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		snprintf(why, sizeof(why), __VA_ARGS__);		\
		return why;						\
	}								\
} while (0)

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
static const char *
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

Test(jail, defaults)
{
	struct jail_config	jc;
	struct passwd		*pw;

	jail_config_init(&jc);
	cr_assert(jc.jc_enabled);
	cr_assert_eq(jc.jc_userns, geteuid() != 0);
	cr_assert_eq(jc.jc_disabled, 0);
	cr_assert_eq(jc.jc_nofile, JAIL_NOFILE_DEFAULT);
	if ((pw = getpwnam("vhostd")) == NULL)
		pw = getpwnam("nobody");
	cr_assert_not_null(pw);
	cr_assert_eq(jc.jc_uid, pw->pw_uid);
	cr_assert_eq(jc.jc_gid, pw->pw_gid);
	cr_assert_eq(jc.jc_outer_uid, geteuid());
	cr_assert(jc.jc_parent_pidfd >= 0);
	cr_assert(fcntl(jc.jc_parent_pidfd, F_GETFD) & FD_CLOEXEC);
}

Test(jail, disable_parses_every_name)
{
	struct jail_config	jc;
	char			err[256];

	jail_config_init(&jc);
	jc.jc_userns = true;
	cr_assert_eq(jail_config_disable(&jc, "netns", err, sizeof(err)), 0);
	cr_assert_eq(jc.jc_disabled, JAIL_F_NETNS);
	cr_assert(jc.jc_userns);
	cr_assert_eq(jail_config_disable(&jc, "userns,pidns,ipcns,utsns,"
	    "cgroupns,mntns", err, sizeof(err)), 0);
	cr_assert_eq(jc.jc_disabled, JAIL_F_ALL);
	cr_assert(!jc.jc_userns);
	cr_assert_eq(jail_clone_flags(&jc), 0);
}

Test(jail, disable_rejects_bad_lists)
{
	static const char *const bad[] = {
		"", ",", "netns,", ",netns", "netns,,pidns", "bogus",
		"netns,bogus", "NETNS", "net", "netnsx", "userns pidns",
	};
	struct jail_config	jc;
	char			err[256];
	unsigned int		i;

	jail_config_init(&jc);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		cr_assert_eq(jail_config_disable(&jc, bad[i], err,
		    sizeof(err)), -EINVAL, "'%s' accepted", bad[i]);
		cr_assert_neq(err[0], '\0');
		cr_assert_eq(jc.jc_disabled, 0, "'%s' changed the config",
		    bad[i]);
	}
	cr_assert_eq(jail_config_disable(&jc, "netns,bogus", err,
	    sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "'bogus'"), "%s", err);
	cr_assert_not_null(strstr(err, "cgroupns"), "%s", err);
}

Test(jail, set_user)
{
	struct jail_config	jc;
	struct group		*gr;
	char			err[256];

	jail_config_init(&jc);
	cr_assert_eq(jail_config_set_user(&jc, "root", err, sizeof(err)), 0);
	cr_assert_eq(jc.jc_uid, 0);
	cr_assert_eq(jc.jc_gid, 0);
	cr_assert_eq(jail_config_set_user(&jc, "4321", err, sizeof(err)), 0);
	cr_assert_eq(jc.jc_uid, 4321);
	cr_assert_eq(jc.jc_gid, 4321);
	cr_assert_eq(jail_config_set_user(&jc, "4321:99", err, sizeof(err)),
	    0);
	cr_assert_eq(jc.jc_gid, 99);
	gr = getgrnam("nogroup");
	if (gr != NULL) {
		cr_assert_eq(jail_config_set_user(&jc, "root:nogroup", err,
		    sizeof(err)), 0);
		cr_assert_eq(jc.jc_uid, 0);
		cr_assert_eq(jc.jc_gid, gr->gr_gid);
	}
	cr_assert_eq(jail_config_set_user(&jc, "no-such-user-here", err,
	    sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "no-such-user-here"));
	cr_assert_eq(jail_config_set_user(&jc, "root:no-such-group", err,
	    sizeof(err)), -EINVAL);
	cr_assert_eq(jail_config_set_user(&jc, "", err, sizeof(err)),
	    -EINVAL);
	cr_assert_eq(jail_config_set_user(&jc, "root:", err, sizeof(err)),
	    -EINVAL);
	cr_assert_eq(jail_config_set_user(&jc, "-1", err, sizeof(err)),
	    -EINVAL);
	/* Failures leave the last good value. */
	cr_assert_eq(jc.jc_uid, 0);
}

Test(jail, clone_flags)
{
	struct jail_config	jc;
	unsigned long		all = CLONE_NEWPID | CLONE_NEWNET |
	    CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_NEWNS;
	char			err[64];

	jail_config_init(&jc);
	jc.jc_userns = false;
	cr_assert_eq(jail_clone_flags(&jc), all);
	jc.jc_userns = true;
	cr_assert_eq(jail_clone_flags(&jc), all | CLONE_NEWUSER);
	cr_assert_eq(jail_config_disable(&jc, "pidns,netns", err,
	    sizeof(err)), 0);
	cr_assert_eq(jail_clone_flags(&jc),
	    (all | CLONE_NEWUSER) & ~(CLONE_NEWPID | CLONE_NEWNET));
	jc.jc_enabled = false;
	cr_assert_eq(jail_clone_flags(&jc), 0);
}

Test(jail, exit_step_names)
{
	cr_assert_null(jail_exit_step(0));
	cr_assert_null(jail_exit_step(1));
	cr_assert_null(jail_exit_step(-1));
	cr_assert_null(jail_exit_step(JAIL_EXIT_BASE));
	cr_assert_null(jail_exit_step(JAIL_EXIT(JAIL_STEP_MAX) + 1));
	cr_assert_null(jail_exit_step(255));
	cr_assert_str_eq(jail_exit_step(161), "pdeathsig");
	cr_assert_str_eq(jail_exit_step(JAIL_EXIT(JAIL_STEP_FDS)), "close-fds");
	cr_assert_str_eq(jail_exit_step(JAIL_EXIT(JAIL_STEP_USERNS)),
	    "userns");
	cr_assert_str_eq(jail_exit_step(JAIL_EXIT(JAIL_STEP_ROOT)),
	    "pivot_root");
	cr_assert_str_eq(jail_exit_step(JAIL_EXIT(JAIL_STEP_CAPS)),
	    "capabilities");
	cr_assert_str_eq(jail_exit_step(171), "seccomp");
}

Test(jail, probe_succeeds_here)
{
	struct jail_config	jc;
	char			err[512] = "";

	jail_config_init(&jc);
	cr_assert_eq(jail_probe(&jc, err, sizeof(err)), 0, "%s", err);
}

Test(jail, probe_names_the_failing_step)
{
	struct jail_config	jc;
	char			err[512] = "";

	jail_config_init(&jc);
	jc.jc_userns = true;
	jc.jc_outer_uid = 12345;	/* not our uid: the map is refused */
	if (geteuid() == 0)
		jc.jc_outer_uid = 0;	/* root: refused too */
	cr_assert_lt(jail_probe(&jc, err, sizeof(err)), 0);
	cr_assert_not_null(strstr(err, "'userns'"), "%s", err);
	cr_assert_not_null(strstr(err, "--jail-disable=userns"), "%s", err);
}

Test(jail, child_is_jailed)
{
	struct jail_config	jc;
	struct jailed		j;
	const char		*msg;

	jail_config_init(&jc);		/* as root: no user namespace */
	msg = run_jailed(&jc, &j);
	cr_assert_null(msg, "%s", msg);
	if (!jc.jc_userns)
		cr_assert_eq(j.j_r.r_ngroups, 0);
	cr_assert_eq(j.j_r.r_nofile, JAIL_NOFILE_DEFAULT);
	cr_assert_eq(finish(&j), 0);
}

/* As seen from outside: one id, mapped to the parent's.  NULL if so. */
static const char *
check_map(pid_t pid, const char *file, unsigned int in, unsigned int out)
{
	static char	why[256];
	char		path[64], buf[128];
	FILE		*f;
	unsigned int	a, b, n;
	int		ok;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	CHECK((f = fopen(path, "re")) != NULL, "%s: %s", path,
	    strerror(errno));
	ok = fgets(buf, sizeof(buf), f) != NULL &&
	    sscanf(buf, "%u %u %u", &a, &b, &n) == 3 && a == in &&
	    b == out && n == 1 && fgets(buf, sizeof(buf), f) == NULL;
	fclose(f);
	CHECK(ok, "%s is not \"%u %u 1\"", path, in, out);
	return NULL;
}

/*
 * The unprivileged set-up: a user namespace whose one uid maps to the
 * parent's.  Run from a helper process that is not root (root refuses a
 * user namespace); the helper reports the first failure on stderr and in
 * its exit status.
 */
static const char *
userns_case(void)
{
	struct jail_config	jc;
	struct jailed		j;
	const char		*msg;
	int			status;

	jail_config_init(&jc);
	if (!jc.jc_userns)
		return "jail_config_init chose no user namespace";
	if ((msg = run_jailed(&jc, &j)) != NULL)
		return msg;
	if (j.j_r.r_nofile != JAIL_NOFILE_DEFAULT)
		return "RLIMIT_NOFILE";
	if ((msg = check_map(j.j_pid, "uid_map", jc.jc_uid, geteuid())) ||
	    (msg = check_map(j.j_pid, "gid_map", jc.jc_gid, getegid())))
		return msg;
	status = finish(&j);
	if (status != 0)
		return "child status";
	return NULL;
}

Test(jail, child_in_user_namespace)
{
	const char	*msg;
	pid_t		pid;
	int		status;

	if (geteuid() != 0) {
		msg = userns_case();
		cr_assert_null(msg, "%s", msg);
		return;
	}
	fflush(NULL);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if (setgroups(0, NULL) == -1 ||
		    setresgid(65534, 65534, 65534) == -1 ||
		    setresuid(65534, 65534, 65534) == -1)
			_exit(2);
		msg = userns_case();
		if (msg != NULL)
			fprintf(stderr, "child_in_user_namespace: %s\n", msg);
		_exit(msg != NULL);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(status, 0, "the unprivileged helper failed (see "
	    "stderr), status 0x%x", (unsigned int)status);
}

Test(jail, root_refuses_a_user_namespace)
{
	struct jail_config	jc;
	struct jailed		j;
	int			status;

	if (geteuid() != 0)
		cr_skip_test("not root");
	jail_config_init(&jc);
	jc.jc_userns = true;
	spawn(&jc, jail_clone_flags(&jc), -1, &j);
	cr_assert_lt(j.j_hold, 0);
	status = finish(&j);
	cr_assert(WIFEXITED(status));
	cr_assert_str_eq(jail_exit_step(WEXITSTATUS(status)), "userns");
}

Test(jail, nofile_covers_high_kept_descriptor)
{
	struct jail_config	jc;
	struct jailed		j;
	int			fd;

	jail_config_init(&jc);
	fd = fcntl(open("/dev/null", O_RDONLY | O_CLOEXEC), F_DUPFD_CLOEXEC,
	    300);
	cr_assert_geq(fd, 300);
	spawn(&jc, jail_clone_flags(&jc), fd, &j);
	cr_assert_geq(j.j_hold, 0);
	cr_assert_eq(j.j_r.r_nofile, (rlim_t)fd + 1 + JAIL_NOFILE_HEADROOM);
	cr_assert_eq(finish(&j), 0);
}

Test(jail, not_cloned_with_the_flags_fails_closed)
{
	struct jail_config	jc;
	struct jailed		j;
	int			status;

	jail_config_init(&jc);
	spawn(&jc, 0, -1, &j);
	cr_assert_lt(j.j_hold, 0, "a child outside its namespaces jailed");
	status = finish(&j);
	cr_assert(WIFEXITED(status));
	if (jc.jc_userns)
		cr_assert_str_eq(jail_exit_step(WEXITSTATUS(status)), "userns");
	else {
		cr_assert_eq(WEXITSTATUS(status),
		    JAIL_EXIT(JAIL_STEP_NAMESPACES));
		cr_assert_str_eq(jail_exit_step(WEXITSTATUS(status)),
		    "namespaces");
	}
}

Test(jail, bad_user_namespace_map_fails_closed)
{
	struct jail_config	jc;
	struct jailed		j;
	int			status;

	jail_config_init(&jc);
	jc.jc_userns = true;
	jc.jc_outer_uid = 12345;
	spawn(&jc, jail_clone_flags(&jc), -1, &j);
	cr_assert_lt(j.j_hold, 0);
	status = finish(&j);
	cr_assert(WIFEXITED(status));
	cr_assert_str_eq(jail_exit_step(WEXITSTATUS(status)), "userns");
}

Test(jail, disabled_only_closes_descriptors)
{
	struct jail_config	jc;
	struct jailed		j;
	int			leaked;

	jail_config_init(&jc);
	jc.jc_enabled = false;
	leaked = open("/dev/null", O_RDONLY);
	spawn(&jc, jail_clone_flags(&jc), -1, &j);
	cr_assert_geq(j.j_hold, 0);
	cr_assert_eq(j.j_r.r_uid[0], getuid());
	cr_assert_neq(j.j_r.r_pid, 1);
	cr_assert_eq(j.j_r.r_pdeathsig, SIGKILL);
	cr_assert_eq(j.j_r.r_nnp, 0);
	cr_assert_eq(j.j_r.r_nopen, 2, "open %d %d %d", j.j_r.r_open[0], j.j_r.r_open[1], j.j_r.r_open[2]);
	cr_assert(!has_open(&j.j_r, leaked));
	cr_assert_eq(finish(&j), 0);
	close(leaked);
}

/*
 * Clone a jailed child that runs fn after jail_enter (no filter) and
 * exits with its return value; keep_fd is kept.  Its wait status.
 */
static int
run_in_jail(struct jail_config *jc, int keep_fd, int (*fn)(void *),
    void *arg)
{
	struct fdset	keep;
	pid_t		pid;
	int		status, rc;

	fdset_init(&keep);
	if (keep_fd >= 0)
		fdset_add(&keep, keep_fd);
	fflush(NULL);
	pid = (pid_t)syscall(SYS_clone, SIGCHLD | jail_clone_flags(jc), NULL,
	    NULL, NULL, NULL);
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if ((rc = jail_enter(jc, &keep, NULL)) != 0)
			_exit(rc);
		_exit(fn(arg));
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static int	fsize_fd = -1;

/* 0: growth past RLIMIT_FSIZE failed with EFBIG (and did not kill us). */
static int
grow_past_limit(void *arg)
{
	char	c = 'x';

	if (pwrite(fsize_fd, &c, 1, 4095) != 1)
		return 10;		/* below the limit: fine */
	if (pwrite(fsize_fd, &c, 1, 8192) != -1 || errno != EFBIG)
		return 11;
	if (ftruncate(fsize_fd, 65536) != -1 || errno != EFBIG)
		return 12;
	if (fallocate(fsize_fd, 0, 0, 65536) != -1 || errno != EFBIG)
		return 13;
	return 0;
}

/* jc_fsize: no file grows past it; SIGXFSZ does not kill the child. */
Test(jail, fsize_stops_growth)
{
	struct jail_config	jc;
	char			path[] = "/var/tmp/jail_test.XXXXXX";
	struct stat		st;
	int			status;

	jail_config_init(&jc);
	jc.jc_fsize = 4096;
	cr_assert_geq(fsize_fd = mkstemp(path), 0);
	cr_assert_eq(unlink(path), 0);
	if (jc.jc_userns)
		cr_assert_eq(fchmod(fsize_fd, 0666), 0);
	else
		cr_assert_eq(fchown(fsize_fd, jc.jc_uid, jc.jc_gid), 0);
	status = run_in_jail(&jc, fsize_fd, grow_past_limit, NULL);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status 0x%x", (unsigned int)status);
	cr_assert_eq(fstat(fsize_fd, &st), 0);
	cr_assert_eq(st.st_size, 4096);
	close(fsize_fd);
}

static struct policy_filter	*split_filter;

/*
 * Jailed, unfiltered: what a device sets up before the filter works; then
 * jail_seccomp; then the same call is fatal.
 */
static int
setup_then_filter(void *arg)
{
	int	rc;

	if (syscall(SYS_getppid) == -1)
		return 20;
	if ((rc = jail_seccomp(split_filter)) != 0)
		return rc;
	syscall(SYS_getppid);		/* not in the policy: SIGSYS */
	return 21;
}

Test(jail, seccomp_loads_after_the_setup)
{
	static const char	text[] = "exit_group: 1\nexit: 1\nwrite: 1\n";
	struct jail_config	jc;
	char			err[256] = "";
	FILE			*f;
	int			status;

	cr_assert_eq(jail_seccomp(NULL), 0);
	cr_assert_not_null(f = fmemopen((void *)text, strlen(text), "r"));
	split_filter = policy_compile_stream(f, "split.policy",
	    POLICY_MODE_KILL, err, sizeof(err));
	fclose(f);
	cr_assert_not_null(split_filter, "%s", err);
	jail_config_init(&jc);
	status = run_in_jail(&jc, -1, setup_then_filter, NULL);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	    "status 0x%x", (unsigned int)status);
	policy_filter_free(split_filter);
}
