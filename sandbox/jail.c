/*
 * jail.c - jail_enter(): the ordered steps a device child takes right after
 * clone(2), one small function each (the step order of minijail_enter, for
 * a child that needs no filesystem at all).
 *
 * Every step either succeeds or logs "jail: STEP: what: reason" and makes
 * jail_enter return JAIL_EXIT(step); nothing is retried or skipped, so the
 * sandbox fails closed.  The steps only use system calls, never /proc after
 * the root is gone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/securebits.h>

#include <cap-ng.h>

#include "../src/util/log.h"
#include "jail.h"
#include "policy.h"

/* Final securebits: root is not special, and nothing can undo that. */
#define JAIL_SECUREBITS	(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |	\
	    SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |	\
	    SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |	\
	    SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

/* Options of the two tmpfs mounts: empty, tiny, read-only. */
#define JAIL_TMPFS_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
#define JAIL_TMPFS_OPTS	"size=4k,nr_inodes=4,mode=0555"

static const char *const jail_step_names[JAIL_STEP_MAX + 1] = {
	[JAIL_STEP_PARENT] = "pdeathsig",
	[JAIL_STEP_SIGNALS] = "signals",
	[JAIL_STEP_FDS] = "close-fds",
	[JAIL_STEP_USERNS] = "userns",
	[JAIL_STEP_NAMESPACES] = "namespaces",
	[JAIL_STEP_ROOT] = "pivot_root",
	[JAIL_STEP_RLIMITS] = "rlimits",
	[JAIL_STEP_IDS] = "uid/gid",
	[JAIL_STEP_CAPS] = "capabilities",
	[JAIL_STEP_NNP] = "no_new_privs",
	[JAIL_STEP_SECCOMP] = "seccomp",
};

const char *
jail_exit_step(int status)
{
	if (status <= JAIL_EXIT_BASE || status > JAIL_EXIT(JAIL_STEP_MAX))
		return NULL;
	return jail_step_names[status - JAIL_EXIT_BASE];
}

/*
 * Log "jail: STEP: message: strerror(err)" and return the step's exit code.
 * err is a positive errno, or 0 for none.
 */
static int __attribute__((format(printf, 3, 4)))
jail_fail(enum jail_step step, int err, const char *fmt, ...)
{
	char	msg[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err != 0)
		log_warnx("jail: %s: %s: %s", jail_step_names[step], msg,
		    strerror(err));
	else
		log_warnx("jail: %s: %s", jail_step_names[step], msg);
	return JAIL_EXIT(step);
}

/*
 * Die with the parent (SIGKILL), then check that the parent did not die
 * before that took effect.  getppid() notices without a pid namespace (it
 * changes from ppid); inside one it is always 0, so the parent's pidfd
 * (readable once the parent exited) is checked too.
 */
static int
arm_pdeathsig(const struct jail_config *jc, pid_t ppid)
{
	struct pollfd	pfd;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		return jail_fail(JAIL_STEP_PARENT, errno,
		    "prctl(PR_SET_PDEATHSIG)");
	if (getppid() != ppid)
		return jail_fail(JAIL_STEP_PARENT, 0, "the parent exited");
	if (jc->jc_parent_pidfd >= 0) {
		pfd.fd = jc->jc_parent_pidfd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN))
			return jail_fail(JAIL_STEP_PARENT, 0,
			    "the parent exited");
	}
	return 0;
}

/*
 * Step 1: die with the parent.  setsid() drops the controlling terminal,
 * so TIOCSTI on an inherited tty fails.  The kernel clears the parent-death
 * signal whenever the credentials change, so step 10 arms it again.
 */
static int
step_parent(const struct jail_config *jc, pid_t ppid, bool enabled)
{
	int	rc;

	if ((rc = arm_pdeathsig(jc, ppid)) != 0)
		return rc;
	if (enabled && setsid() == -1)
		return jail_fail(JAIL_STEP_PARENT, errno, "setsid");
	return 0;
}

/* Step 2: default dispositions; only SIGTERM blocked. */
static int
step_signals(void)
{
	struct sigaction	sa;
	sigset_t		set;
	int			sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* The C library reserves a few real-time signals: EINVAL. */
		if (sigaction(sig, &sa, NULL) == -1 && errno != EINVAL)
			return jail_fail(JAIL_STEP_SIGNALS, errno,
			    "sigaction(%d)", sig);
	}
	/*
	 * SIGTERM stays blocked (the parent blocks it around clone): the
	 * child is process 1 of its pid namespace, which drops a signal whose
	 * disposition is the default, so a stop request arriving during the
	 * jail would be lost.  Blocked, it waits for the device's signalfd.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_SETMASK, &set, NULL) == -1)
		return jail_fail(JAIL_STEP_SIGNALS, errno, "sigprocmask");
	return 0;
}

/*
 * Step 3: close every descriptor >= 3 that is not kept.  When jailing, 0
 * and 1 become /dev/null unless kept (2 is the log), so a terminal or file
 * the parent was started with does not reach the device.
 */
static int
step_fds(const struct fdset *keep, bool enabled)
{
	int	fd, null = -1, rc;

	if ((rc = fdset_close_others(keep)) < 0)
		return jail_fail(JAIL_STEP_FDS, -rc, "close_range");
	if (!enabled)
		return 0;
	for (fd = 0; fd <= 1; fd++) {
		if (fdset_has(keep, fd))
			continue;
		if (null == -1 &&
		    (null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
			return jail_fail(JAIL_STEP_FDS, errno, "/dev/null");
		if (dup2(null, fd) == -1) {
			rc = errno;
			close_reset(&null);
			return jail_fail(JAIL_STEP_FDS, rc, "dup2(%d)", fd);
		}
	}
	close_reset(&null);
	return 0;
}

static int
write_file(const char *path, const char *text)
{
	ssize_t	n;
	size_t	len = strlen(text);
	int	fd, rc = 0;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -errno;
	n = write(fd, text, len);
	if (n == -1)
		rc = -errno;
	else if ((size_t)n != len)
		rc = -EIO;
	close_reset(&fd);
	return rc;
}

/*
 * Step 4: the user namespace made by clone(CLONE_NEWUSER) starts without
 * ids.  Map one id each way: jc_uid inside is the parent's euid outside
 * (jc_gid: its egid).  A process may write its own maps only like that,
 * and only after denying setgroups(2) in the namespace.  Refused when the
 * parent is root: jc_uid would be root outside (only the parent could
 * write another map), weaker than the plain uid change root does.
 */
static int
step_userns(const struct jail_config *jc)
{
	char	buf[64];
	ssize_t	n;
	int	fd, rc;

	if (!jc->jc_userns)
		return 0;
	if (jc->jc_outer_uid == 0)
		return jail_fail(JAIL_STEP_USERNS, 0, "refusing a user namespace "
		    "made by root: the child could only be root outside it "
		    "(as root the jail needs none)");
	/*
	 * A parent that changed uid or made itself undumpable passes that on,
	 * and then /proc/self belongs to root and the maps cannot be written.
	 * Step 10 makes the child undumpable again.
	 */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1)
		return jail_fail(JAIL_STEP_USERNS, errno,
		    "prctl(PR_SET_DUMPABLE)");
	if ((fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC)) == -1)
		return jail_fail(JAIL_STEP_USERNS, errno, "/proc/self/uid_map");
	n = read(fd, buf, sizeof(buf));
	rc = errno;
	close_reset(&fd);
	if (n == -1)
		return jail_fail(JAIL_STEP_USERNS, rc, "/proc/self/uid_map");
	if (n != 0)
		return jail_fail(JAIL_STEP_USERNS, 0, "not in a new user "
		    "namespace (clone the child with jail_clone_flags())");
	if ((rc = write_file("/proc/self/setgroups", "deny")) < 0)
		return jail_fail(JAIL_STEP_USERNS, -rc, "/proc/self/setgroups");
	snprintf(buf, sizeof(buf), "%u %u 1\n", (unsigned int)jc->jc_uid,
	    (unsigned int)jc->jc_outer_uid);
	if ((rc = write_file("/proc/self/uid_map", buf)) < 0)
		return jail_fail(JAIL_STEP_USERNS, -rc, "uid_map \"%u %u 1\"",
		    (unsigned int)jc->jc_uid, (unsigned int)jc->jc_outer_uid);
	snprintf(buf, sizeof(buf), "%u %u 1\n", (unsigned int)jc->jc_gid,
	    (unsigned int)jc->jc_outer_gid);
	if ((rc = write_file("/proc/self/gid_map", buf)) < 0)
		return jail_fail(JAIL_STEP_USERNS, -rc, "gid_map \"%u %u 1\"",
		    (unsigned int)jc->jc_gid, (unsigned int)jc->jc_outer_gid);
	return 0;
}

/*
 * Step 5: the other namespaces came with clone(2); check that the pid
 * namespace did (the child must be its pid 1), and make the mount tree
 * private.  The mount namespace is unshared once more here so that a
 * caller that forgot the clone flags can never change the propagation of
 * the host's mounts.
 */
static int
step_namespaces(const struct jail_config *jc)
{
	if (!(jc->jc_disabled & JAIL_F_PIDNS) && getpid() != 1)
		return jail_fail(JAIL_STEP_NAMESPACES, 0, "not pid 1 of a new "
		    "pid namespace (clone the child with jail_clone_flags())");
	if (jc->jc_disabled & JAIL_F_MNTNS)
		return 0;
	if (unshare(CLONE_NEWNS) == -1)
		return jail_fail(JAIL_STEP_NAMESPACES, errno,
		    "unshare(CLONE_NEWNS)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		return jail_fail(JAIL_STEP_NAMESPACES, errno,
		    "mount(/, MS_REC | MS_PRIVATE)");
	return 0;
}

/* A directory of the old root to mount the new root on. */
static const char *
root_mountpoint(void)
{
	static const char *const dirs[] = { "/tmp", "/mnt", "/dev", "/proc" };
	struct stat	st;
	unsigned int	i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++)
		if (lstat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode))
			return dirs[i];
	return "/";
}

/*
 * Step 6: an empty, read-only tmpfs becomes the root; the old root is
 * detached.  Then a second empty tmpfs is stacked on top of the new root:
 * the namespace's root is now that cover while the process's root stays
 * below it, which the kernel treats as "chrooted", so unshare(CLONE_NEWUSER)
 * fails with EPERM even without seccomp (no nested user namespace to regain
 * capabilities in).
 */
static int
step_root(const struct jail_config *jc)
{
	const char	*dir;

	if (jc->jc_disabled & JAIL_F_MNTNS)
		return 0;
	dir = root_mountpoint();
	if (mount("vhostd-root", dir, "tmpfs", JAIL_TMPFS_FLAGS,
	    JAIL_TMPFS_OPTS) == -1)
		return jail_fail(JAIL_STEP_ROOT, errno, "mount tmpfs on %s",
		    dir);
	if (chdir(dir) == -1)
		return jail_fail(JAIL_STEP_ROOT, errno, "chdir %s", dir);
	/* The old root ends up mounted on top of the new one, at "/". */
	if (syscall(SYS_pivot_root, ".", ".") == -1)
		return jail_fail(JAIL_STEP_ROOT, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) == -1)
		return jail_fail(JAIL_STEP_ROOT, errno, "detach the old root");
	if (chdir("/") == -1)
		return jail_fail(JAIL_STEP_ROOT, errno, "chdir /");
	if (mount("vhostd-cover", "/", "tmpfs", JAIL_TMPFS_FLAGS,
	    JAIL_TMPFS_OPTS) == -1)
		return jail_fail(JAIL_STEP_ROOT, errno, "cover the root");
	if (chdir("/") == -1)
		return jail_fail(JAIL_STEP_ROOT, errno, "chdir /");
	return 0;
}

static int
set_rlimit(int resource, const char *name, rlim_t value)
{
	struct rlimit	rl = { value, value };

	if (setrlimit(resource, &rl) == -1)
		return jail_fail(JAIL_STEP_RLIMITS, errno, "%s %llu", name,
		    (unsigned long long)value);
	return 0;
}

/*
 * value, lowered to the current hard limit: raising one needs
 * CAP_SYS_RESOURCE, which containers often withhold.
 */
static rlim_t
below_hard(int resource, rlim_t value)
{
	struct rlimit	cur;

	if (getrlimit(resource, &cur) == 0 && cur.rlim_max < value)
		return cur.rlim_max;
	return value;
}

/*
 * The memory cap (memory-max=): RLIMIT_DATA, which counts the private
 * writable mappings of the process (heap, its data segments, private
 * anonymous maps), so that malloc fails with ENOMEM past it.  Not
 * RLIMIT_AS: that counts guest memory too, which the front end maps into
 * the child (MAP_SHARED, as large as the VM), and the io_uring rings;
 * RLIMIT_DATA counts neither.  Sanitizer builds reserve terabytes of
 * shadow memory as private mappings: no cap there (said once).
 */
static int
step_rlimit_data(const struct jail_config *jc)
{
	if (jc->jc_data == 0)
		return 0;
#ifdef VHOSTD_SANITIZE
	log_debug("jail: rlimits: no RLIMIT_DATA (memory-max) in a sanitizer "
	    "build");
	return 0;
#else
	return set_rlimit(RLIMIT_DATA, "RLIMIT_DATA",
	    below_hard(RLIMIT_DATA, jc->jc_data));
#endif
}

/*
 * Step 7: no core dumps, no locked memory, no new processes (RLIMIT_NPROC
 * counts every process of the uid, so 0 forbids fork and threads) unless
 * the device type asks for them (jc_memlock, jc_nproc: io_uring), and a
 * tight descriptor limit: jc_nofile, raised to the highest kept descriptor
 * + JAIL_NOFILE_HEADROOM (new descriptors are numbered below the limit),
 * but never above the current hard limit.  RLIMIT_FSIZE when the device
 * asks (jc_fsize: blk, the image's size, so that a taken-over child cannot
 * grow a file past it, by write, fallocate or ftruncate, through io_uring
 * too: its workers share the limit); SIGXFSZ is then ignored, so such a
 * write fails with EFBIG and the device reports an I/O error.
 * RLIMIT_DATA when set (jc_data: step_rlimit_data).
 */
static int
step_rlimits(const struct jail_config *jc, const struct fdset *keep)
{
	rlim_t		nofile = jc->jc_nofile;
	unsigned int	i;
	int		rc;

	for (i = 0; i < keep->fs_n; i++)
		if ((rlim_t)keep->fs_fds[i] + 1 + JAIL_NOFILE_HEADROOM > nofile)
			nofile = (rlim_t)keep->fs_fds[i] + 1 +
			    JAIL_NOFILE_HEADROOM;
	if ((rc = set_rlimit(RLIMIT_CORE, "RLIMIT_CORE", 0)) != 0 ||
	    (rc = set_rlimit(RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK",
	    below_hard(RLIMIT_MEMLOCK, jc->jc_memlock))) != 0 ||
	    (rc = set_rlimit(RLIMIT_NOFILE, "RLIMIT_NOFILE",
	    below_hard(RLIMIT_NOFILE, nofile))) != 0 ||
	    (rc = set_rlimit(RLIMIT_NPROC, "RLIMIT_NPROC",
	    below_hard(RLIMIT_NPROC, jc->jc_nproc))) != 0)
		return rc;
	if (jc->jc_fsize != 0) {
		if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR)
			return jail_fail(JAIL_STEP_RLIMITS, errno,
			    "ignore SIGXFSZ");
		if ((rc = set_rlimit(RLIMIT_FSIZE, "RLIMIT_FSIZE",
		    below_hard(RLIMIT_FSIZE, jc->jc_fsize))) != 0)
			return rc;
	}
	return step_rlimit_data(jc);
}

/*
 * Step 8: become jc_uid/jc_gid with no supplementary groups.
 * SECBIT_NO_SETUID_FIXUP keeps the capabilities across the uid change for
 * step 9, which drops them itself and locks the bits.  In a user namespace
 * setgroups(2) is denied (step 4); the namespace shows no groups but the
 * parent's supplementary groups still apply outside (a kernel rule for
 * unprivileged user namespaces).
 */
static int
step_ids(const struct jail_config *jc)
{
	uid_t	r, e, s;
	gid_t	rg, eg, sg;

	if (prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP, 0, 0, 0) == -1)
		return jail_fail(JAIL_STEP_IDS, errno,
		    "prctl(PR_SET_SECUREBITS)");
	if (!jc->jc_userns && setgroups(0, NULL) == -1)
		return jail_fail(JAIL_STEP_IDS, errno, "setgroups");
	if (setresgid(jc->jc_gid, jc->jc_gid, jc->jc_gid) == -1)
		return jail_fail(JAIL_STEP_IDS, errno, "setresgid(%u)",
		    (unsigned int)jc->jc_gid);
	if (setresuid(jc->jc_uid, jc->jc_uid, jc->jc_uid) == -1)
		return jail_fail(JAIL_STEP_IDS, errno, "setresuid(%u)",
		    (unsigned int)jc->jc_uid);
	if (getresuid(&r, &e, &s) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    r != jc->jc_uid || e != jc->jc_uid || s != jc->jc_uid ||
	    rg != jc->jc_gid || eg != jc->jc_gid || sg != jc->jc_gid)
		return jail_fail(JAIL_STEP_IDS, 0, "ids did not change");
	return 0;
}

/* Every capability set, the bounding set and the ambient set are empty. */
static bool
caps_all_clear(void)
{
	struct __user_cap_header_struct	hdr = {
		_LINUX_CAPABILITY_VERSION_3, 0
	};
	struct __user_cap_data_struct	data[2];
	int				cap, rc;

	if (syscall(SYS_capget, &hdr, data) == -1)
		return false;
	if ((data[0].effective | data[0].permitted | data[0].inheritable |
	    data[1].effective | data[1].permitted | data[1].inheritable) != 0)
		return false;
	for (cap = 0; cap < 64; cap++) {
		if ((rc = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) == -1)
			break;		/* EINVAL: past the last capability */
		if (rc != 0)
			return false;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0)
			return false;
	}
	return true;
}

/*
 * Step 9: lock the securebits (root gets no capabilities from exec or
 * setuid, keep-caps off, none of it can be changed back), empty the
 * bounding set (needs CAP_SETPCAP, so before the rest), then clear the
 * permitted, effective, inheritable and ambient sets with libcap-ng.  The
 * bounding set is dropped with prctl: libcap-ng would read it back from
 * /proc, which is gone.  Checked afterwards with capget(2) and prctl.
 */
static int
step_caps(void)
{
	int	cap, rc;

	if (prctl(PR_SET_SECUREBITS, JAIL_SECUREBITS, 0, 0, 0) == -1)
		return jail_fail(JAIL_STEP_CAPS, errno,
		    "prctl(PR_SET_SECUREBITS)");
	for (cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1) {
			if (errno == EINVAL)
				break;	/* past the last capability */
			return jail_fail(JAIL_STEP_CAPS, errno,
			    "prctl(PR_CAPBSET_DROP, %d)", cap);
		}
	capng_clear(CAPNG_SELECT_ALL);
	capng_setpid(0);	/* this process, whatever its parent did */
	if ((rc = capng_apply(CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT)) != 0)
		return jail_fail(JAIL_STEP_CAPS, errno, "capng_apply (%d)", rc);
	if (!caps_all_clear())
		return jail_fail(JAIL_STEP_CAPS, 0, "capabilities remain");
	if (prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) != JAIL_SECUREBITS)
		return jail_fail(JAIL_STEP_CAPS, 0, "securebits not locked");
	return 0;
}

/*
 * Step 10: no privilege from exec; no core, no ptrace by the same uid.
 * Steps 8 and 9 changed the credentials, which cleared the parent-death
 * signal and reset dumpable: both are set here, after the last change.
 */
static int
step_nnp(const struct jail_config *jc, pid_t ppid)
{
	int	rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return jail_fail(JAIL_STEP_NNP, errno,
		    "prctl(PR_SET_NO_NEW_PRIVS)");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return jail_fail(JAIL_STEP_NNP, errno,
		    "prctl(PR_SET_DUMPABLE)");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return jail_fail(JAIL_STEP_NNP, 0, "no_new_privs not set");
	if ((rc = arm_pdeathsig(jc, ppid)) != 0)
		return rc;
	return 0;
}

/* Step 11: the filter the parent compiled; nothing may follow it. */
int
jail_seccomp(const struct policy_filter *filter)
{
	int	rc;

	if (filter == NULL)
		return 0;
	if ((rc = policy_filter_load(filter)) < 0)
		return jail_fail(JAIL_STEP_SECCOMP, -rc, "load the filter");
	return 0;
}

int
jail_enter(const struct jail_config *jc, const struct fdset *keep,
    const struct policy_filter *filter)
{
	struct fdset	kept;
	pid_t		ppid = getppid();
	int		rc;

	if (!jc->jc_enabled) {
		log_warnx("jail: SANDBOX DISABLED (--no-sandbox): this child "
		    "keeps the parent's user, capabilities, files and "
		    "system calls");
		if ((rc = step_parent(jc, ppid, false)) != 0 ||
		    (rc = step_fds(keep, false)) != 0)
			return rc;
		return 0;
	}
	/*
	 * The parent's pidfd survives the fd step: in a pid namespace
	 * getppid() is 0 whatever happens, so only the pidfd tells whether
	 * the parent died while the credential change had cleared the
	 * parent-death signal.  Closed once the signal is armed for good.
	 */
	kept = *keep;
	if (jc->jc_parent_pidfd >= 0 &&
	    fdset_add(&kept, jc->jc_parent_pidfd) < 0)
		return jail_fail(JAIL_STEP_FDS, EMFILE, "keep the parent pidfd");
	if ((rc = step_parent(jc, ppid, true)) != 0 ||
	    (rc = step_signals()) != 0 ||
	    (rc = step_fds(&kept, true)) != 0 ||
	    (rc = step_userns(jc)) != 0 ||
	    (rc = step_namespaces(jc)) != 0 ||
	    (rc = step_root(jc)) != 0 ||
	    (rc = step_rlimits(jc, keep)) != 0 ||
	    (rc = step_ids(jc)) != 0 ||
	    (rc = step_caps()) != 0 ||
	    (rc = step_nnp(jc, ppid)) != 0)
		return rc;
	if (jc->jc_parent_pidfd >= 0 && !fdset_has(keep, jc->jc_parent_pidfd))
		close(jc->jc_parent_pidfd);
	return jail_seccomp(filter);
}

int
jail_exec_prepare(const struct jail_config *jc)
{
	struct __user_cap_header_struct	hdr = {
		_LINUX_CAPABILITY_VERSION_3, 0
	};
	struct __user_cap_data_struct	data[2];
	int				cap;

	if (!jc->jc_enabled || !jc->jc_userns)
		return 0;
	if (syscall(SYS_capget, &hdr, data) == -1)
		return -errno;
	data[0].inheritable = data[0].permitted;
	data[1].inheritable = data[1].permitted;
	if (syscall(SYS_capset, &hdr, data) == -1)
		return -errno;
	for (cap = 0; cap < 64; cap++) {
		if (!(data[cap / 32].permitted & (1u << (cap % 32))))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) ==
		    -1 && errno != EINVAL)
			return -errno;
	}
	return 0;
}
