/*
 * escape.c - a test-only device (vhostd_test) that behaves like a device a
 * hostile guest has taken over: once jailed, before serving anything, it
 * tries what such a device would try to get out, and reports.
 *
 * Keys: target=PATH (a host file to write, e.g. another device's disk
 * image), victim=PATH (another device's socket to connect to),
 * abstract=NAME (an abstract unix socket of the host to connect to),
 * attempt=NAME (run only that attempt; default: every attempt of the
 * jail layer).  It keeps no descriptors besides its listener.
 *
 * Two layers of attempts.  "jail" attempts are stopped by the jail alone:
 * the test runs them with a policy that lets their system calls through
 * (tests/data/escape-policy/).  "filter" attempts are stopped only by the
 * seccomp filter: the test runs each alone under the real policy and
 * expects SIGSYS.
 *
 * Reports "escape: N attempts, M succeeded" (naming each success) and
 * exits 0 iff M is 0; otherwise dt_start fails (exit status 3).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>

#include "devices/device.h"
#include "util/log.h"

#include "escape_common.h"

enum escape_layer { LAYER_JAIL, LAYER_FILTER };

/* Plain data (the device's resources) and the child's state at once. */
struct escape_state {
	char	es_target[256];		/* "" when not given */
	char	es_victim[256];
	char	es_abstract[256];
	char	es_only[ESCAPE_ONLY_LEN];
};

struct escape_attempt {
	const char		*ea_name;
	enum escape_layer	 ea_layer;
	/* true when the attempt got through */
	bool			(*ea_fn)(const struct escape_state *es);
};

static bool
opened(int fd)
{
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static bool
try_open_host_file(const struct escape_state *es)
{
	return opened(open("/etc/passwd", O_RDONLY | O_CLOEXEC)) ||
	    opened(open("/etc/shadow", O_RDONLY | O_CLOEXEC));
}

static bool
try_list_root(const struct escape_state *es)
{
	char	buf[4096];
	long	n, off;
	int	fd, found = 0;

	if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return false;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (off = 0; off < n; ) {
			/* struct linux_dirent64: ino, off, reclen, type, name */
			unsigned short	reclen;
			const char	*name = buf + off + 19;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
				found++;
			off += reclen;
		}
	close(fd);
	return found > 0;
}

static bool
try_exec_shell(const struct escape_state *es)
{
	char *const	argv[] = { "sh", "-c", "true", NULL };
	char *const	envp[] = { NULL };

	execve("/bin/sh", argv, envp);
	execve("/proc/self/exe", argv, envp);
	return false;
}

static bool
try_fork(const struct escape_state *es)
{
	long	pid;

	pid = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0)
		_exit(0);
	return pid > 0;
}

static bool
try_see_parent(const struct escape_state *es)
{
	return getppid() != 0;
}

static bool
try_ptrace_attach(const struct escape_state *es)
{
	pid_t	pid;

	for (pid = 1; pid <= 64; pid++)
		if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) == 0) {
			ptrace(PTRACE_DETACH, pid, NULL, NULL);
			return true;
		}
	return false;
}

static bool
try_signal_others(const struct escape_state *es)
{
	pid_t	pid;

	if (kill(-1, 0) == 0)
		return true;
	for (pid = 2; pid <= 64; pid++)
		if (kill(pid, 0) == 0)
			return true;
	return false;
}

/* A connect that got anywhere: done, in progress, or refused by a peer. */
static bool
reached(int rc)
{
	return rc == 0 || errno == EINPROGRESS || errno == ECONNREFUSED ||
	    errno == ETIMEDOUT;
}

static bool
try_inet_connect(const struct escape_state *es)
{
	static const char *const addrs[] = { "127.0.0.1", "10.0.2.2",
	    "8.8.8.8" };
	struct sockaddr_in	sin;
	unsigned int		i;
	bool			got = false;
	int			fd, rc;

	for (i = 0; i < ARRAY_SIZE(addrs) && !got; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		if (fd < 0)
			return false;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(i == 0 ? 22 : 53);
		inet_pton(AF_INET, addrs[i], &sin.sin_addr);
		rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		got = reached(rc);
		close(fd);
	}
	return got;
}

static bool
unix_connect(const char *path, bool abstract)
{
	struct sockaddr_un	sun;
	socklen_t		len;
	int			fd, rc;

	if (path == NULL || *path == '\0' ||
	    strlen(path) + 1 >= sizeof(sun.sun_path))
		return false;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + (abstract ? 1 : 0), path, strlen(path));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path) + (abstract ? 1 : 0));
	rc = connect(fd, (struct sockaddr *)&sun, len);
	close(fd);
	return rc == 0;
}

static bool
try_connect_dev_log(const struct escape_state *es)
{
	return unix_connect("/dev/log", false) ||
	    unix_connect("/run/systemd/journal/stdout", false);
}

static bool
try_connect_victim(const struct escape_state *es)
{
	return unix_connect(es->es_victim, false);
}

static bool
try_connect_abstract(const struct escape_state *es)
{
	return unix_connect(es->es_abstract, true);
}

static bool
try_mount(const struct escape_state *es)
{
	return mount("none", "/", "tmpfs", 0, NULL) == 0 ||
	    mount("proc", "/", "proc", 0, NULL) == 0 ||
	    mount(NULL, "/", NULL, MS_REMOUNT, NULL) == 0;
}

static bool
try_chroot_escape(const struct escape_state *es)
{
	int	i;

	if (chroot(".") == 0)
		return true;
	for (i = 0; i < 16; i++)
		if (chdir("..") == -1)
			break;
	return chroot(".") == 0 || opened(open("etc/passwd", O_RDONLY |
	    O_CLOEXEC));
}

static bool
try_setuid_root(const struct escape_state *es)
{
	return setuid(0) == 0 || setresuid(0, 0, 0) == 0 ||
	    syscall(SYS_setfsuid, 0) == 0;
}

static bool
try_setgid_root(const struct escape_state *es)
{
	gid_t	g = 0;

	return setgid(0) == 0 || setgroups(1, &g) == 0;
}

static bool
try_capset(const struct escape_state *es)
{
	struct __user_cap_header_struct	hdr = {
		_LINUX_CAPABILITY_VERSION_3, 0
	};
	struct __user_cap_data_struct	data[2];

	memset(data, 0xff, sizeof(data));
	return syscall(SYS_capset, &hdr, data) == 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0) == 0;
}

/*
 * The capability check comes first: any error but EPERM (or ENOSYS: a
 * kernel without modules) means it was passed.
 */
static bool
module_call_passed(long rc)
{
	return rc == 0 || (errno != EPERM && errno != ENOSYS);
}

static bool
try_init_module(const struct escape_state *es)
{
	static char	image[64];

	return module_call_passed(syscall(SYS_init_module, image,
	    sizeof(image), ""));
}

static bool
try_finit_module(const struct escape_state *es)
{
	return module_call_passed(syscall(SYS_finit_module, 0, "", 0));
}

static bool
try_raise_rlimits(const struct escape_state *es)
{
	struct rlimit	rl;

	rl.rlim_cur = rl.rlim_max = 4096;
	if (setrlimit(RLIMIT_NPROC, &rl) == 0)
		return true;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_max += 1024;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return true;
	}
	rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
	return setrlimit(RLIMIT_CORE, &rl) == 0 ||
	    setrlimit(RLIMIT_MEMLOCK, &rl) == 0;
}

static bool
try_read_host_proc(const struct escape_state *es)
{
	return opened(open("/proc/1/environ", O_RDONLY | O_CLOEXEC)) ||
	    opened(open("/proc/self/status", O_RDONLY | O_CLOEXEC)) ||
	    opened(open("/sys/kernel/notes", O_RDONLY | O_CLOEXEC));
}

static bool
try_write_target(const struct escape_state *es)
{
	if (es->es_target[0] == '\0')
		return false;
	return opened(open(es->es_target, O_WRONLY | O_APPEND | O_CLOEXEC)) ||
	    truncate(es->es_target, 0) == 0 || unlink(es->es_target) == 0;
}

/*
 * Every open descriptor above 2 must be a listening socket (the device's
 * listener); anything else is a descriptor the jail let through.
 */
static bool
try_stray_fds(const struct escape_state *es)
{
	socklen_t	len;
	int		fd, v;

	for (fd = 3; fd < 1024; fd++) {
		if (fcntl(fd, F_GETFD) == -1)
			continue;
		v = 0;
		len = sizeof(v);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == -1 ||
		    v != 1) {
			log_warnx("escape: descriptor %d is open", fd);
			return true;
		}
	}
	return false;
}

static bool
try_nested_userns(const struct escape_state *es)
{
	return unshare(CLONE_NEWUSER) == 0 || unshare(CLONE_NEWNS) == 0 ||
	    unshare(CLONE_NEWNET) == 0;
}

static bool
try_open_by_handle(const struct escape_state *es)
{
	struct {
		struct file_handle	fh;
		unsigned char		bytes[64];
	} h;
	struct stat	root, st;
	int		dir, fd;
	bool		got = false;

	if ((dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return false;
	/* The shocker exploit: guess an ext4 handle of the host's root. */
	memset(&h, 0, sizeof(h));
	h.fh.handle_bytes = 8;
	h.fh.handle_type = 1;		/* FILEID_INO32_GEN */
	h.bytes[0] = 2;			/* inode 2 */
	fd = open_by_handle_at(dir, &h.fh, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		got = fstat(fd, &st) == 0 && fstat(dir, &root) == 0 &&
		    st.st_dev != root.st_dev;
		close(fd);
	}
	close(dir);
	return got;
}

static bool
try_tiocsti(const struct escape_state *es)
{
	char	c = '!';
	int	fd;

	for (fd = 0; fd <= 2; fd++)
		if (ioctl(fd, TIOCSTI, &c) == 0)
			return true;
	return false;
}

static bool
try_mknod(const struct escape_state *es)
{
	return mknod("/null", S_IFCHR | 0666, makedev(1, 3)) == 0 ||
	    mknod("/sda", S_IFBLK | 0666, makedev(8, 0)) == 0 ||
	    mkdir("/x", 0777) == 0;
}

static bool
try_set_clock(const struct escape_state *es)
{
	struct timespec	now;

	if (clock_gettime(CLOCK_REALTIME, &now) == -1)
		return false;
	return clock_settime(CLOCK_REALTIME, &now) == 0;
}

static bool
try_sethostname(const struct escape_state *es)
{
	return sethostname("escaped", 7) == 0;
}

/* Filter layer: the kernel lets an unprivileged process do these. */
static bool
try_ptrace_traceme(const struct escape_state *es)
{
	return ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0;
}

static bool
try_keyctl(const struct escape_state *es)
{
	return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID,
	    KEY_SPEC_USER_KEYRING, 0) >= 0;
}

static bool
try_bpf(const struct escape_state *es)
{
	union bpf_attr	attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	return opened((int)syscall(SYS_bpf, BPF_MAP_CREATE, &attr,
	    sizeof(attr)));
}

static bool
try_perf_event_open(const struct escape_state *es)
{
	struct perf_event_attr	attr;

	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_SOFTWARE;
	attr.size = sizeof(attr);
	attr.config = PERF_COUNT_SW_TASK_CLOCK;
	attr.exclude_kernel = 1;
	return opened((int)syscall(SYS_perf_event_open, &attr, 0, -1, -1,
	    0));
}

static bool
try_io_uring_setup(const struct escape_state *es)
{
	struct io_uring_params	p;

	memset(&p, 0, sizeof(p));
	return opened((int)syscall(SYS_io_uring_setup, 4, &p));
}

static bool
try_netlink_socket(const struct escape_state *es)
{
	return opened(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_ROUTE));
}

static bool
try_inet_socket(const struct escape_state *es)
{
	return opened(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
}

static bool
try_userfaultfd(const struct escape_state *es)
{
	return opened((int)syscall(SYS_userfaultfd, O_CLOEXEC));
}

static const struct escape_attempt escape_attempts[] = {
	{ "open-host-file",	LAYER_JAIL,	try_open_host_file },
	{ "list-root",		LAYER_JAIL,	try_list_root },
	{ "exec-shell",		LAYER_JAIL,	try_exec_shell },
	{ "fork",		LAYER_JAIL,	try_fork },
	{ "see-parent",		LAYER_JAIL,	try_see_parent },
	{ "ptrace-attach",	LAYER_JAIL,	try_ptrace_attach },
	{ "signal-others",	LAYER_JAIL,	try_signal_others },
	{ "inet-connect",	LAYER_JAIL,	try_inet_connect },
	{ "connect-dev-log",	LAYER_JAIL,	try_connect_dev_log },
	{ "connect-victim",	LAYER_JAIL,	try_connect_victim },
	{ "connect-abstract",	LAYER_JAIL,	try_connect_abstract },
	{ "mount",		LAYER_JAIL,	try_mount },
	{ "chroot-escape",	LAYER_JAIL,	try_chroot_escape },
	{ "setuid-root",	LAYER_JAIL,	try_setuid_root },
	{ "setgid-root",	LAYER_JAIL,	try_setgid_root },
	{ "capset",		LAYER_JAIL,	try_capset },
	{ "init-module",	LAYER_JAIL,	try_init_module },
	{ "finit-module",	LAYER_JAIL,	try_finit_module },
	{ "raise-rlimits",	LAYER_JAIL,	try_raise_rlimits },
	{ "read-host-proc",	LAYER_JAIL,	try_read_host_proc },
	{ "write-target",	LAYER_JAIL,	try_write_target },
	{ "stray-fds",		LAYER_JAIL,	try_stray_fds },
	{ "nested-namespace",	LAYER_JAIL,	try_nested_userns },
	{ "open-by-handle",	LAYER_JAIL,	try_open_by_handle },
	{ "tiocsti",		LAYER_JAIL,	try_tiocsti },
	{ "mknod",		LAYER_JAIL,	try_mknod },
	{ "set-clock",		LAYER_JAIL,	try_set_clock },
	{ "sethostname",	LAYER_JAIL,	try_sethostname },
	{ "ptrace-traceme",	LAYER_FILTER,	try_ptrace_traceme },
	{ "keyctl",		LAYER_FILTER,	try_keyctl },
	{ "bpf",		LAYER_FILTER,	try_bpf },
	{ "perf-event-open",	LAYER_FILTER,	try_perf_event_open },
	{ "io-uring-setup",	LAYER_FILTER,	try_io_uring_setup },
	{ "netlink-socket",	LAYER_FILTER,	try_netlink_socket },
	{ "inet-socket",	LAYER_FILTER,	try_inet_socket },
	{ "userfaultfd",	LAYER_FILTER,	try_userfaultfd },
};

enum { ESC_K_TARGET, ESC_K_VICTIM, ESC_K_ABSTRACT, ESC_K_ATTEMPT,
	ESC_K_COUNT };

static const struct dev_key escape_keys[ESC_K_COUNT] = {
	[ESC_K_TARGET] = { .dk_name = "target", .dk_kind = DK_STRING,
	    .dk_help = "test only: a path to reach" },
	[ESC_K_VICTIM] = { .dk_name = "victim", .dk_kind = DK_STRING,
	    .dk_help = "test only: a process to reach" },
	[ESC_K_ABSTRACT] = { .dk_name = "abstract", .dk_kind = DK_STRING,
	    .dk_help = "test only: an abstract socket to reach" },
	[ESC_K_ATTEMPT] = { .dk_name = "attempt", .dk_kind = DK_STRING,
	    .dk_help = "test only: run only this attempt" },
};

/* Parent: the keys into a plain struct, nothing opened. */
static int
escape_open(const struct dev_options *opts, bool check_only,
    struct device_res *res, char *err, size_t errlen)
{
	static const unsigned int	 keys[] = { ESC_K_TARGET, ESC_K_VICTIM,
					    ESC_K_ABSTRACT, ESC_K_ATTEMPT };
	struct escape_state		 es;
	const char			*v;
	unsigned int			 i, j;
	char				*slots[4];
	size_t				 sizes[4];

	memset(&es, 0, sizeof(es));
	slots[0] = es.es_target;
	sizes[0] = sizeof(es.es_target);
	slots[1] = es.es_victim;
	sizes[1] = sizeof(es.es_victim);
	slots[2] = es.es_abstract;
	sizes[2] = sizeof(es.es_abstract);
	slots[3] = es.es_only;
	sizes[3] = sizeof(es.es_only);
	if ((v = dev_opt_str(opts, ESC_K_ATTEMPT)) != NULL) {
		for (j = 0; j < ARRAY_SIZE(escape_attempts); j++)
			if (strcmp(v, escape_attempts[j].ea_name) == 0)
				break;
		if (j == ARRAY_SIZE(escape_attempts)) {
			snprintf(err, errlen, "attempt=%s: no such attempt", v);
			return -EINVAL;
		}
	}
	/* Copied into the plain data: the child gets no pointers. */
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		if ((v = dev_opt_str(opts, keys[i])) == NULL)
			continue;
		if ((size_t)snprintf(slots[i], sizes[i], "%s", v) >=
		    sizes[i]) {
			snprintf(err, errlen, "%s: too long",
			    escape_keys[keys[i]].dk_name);
			return -EINVAL;
		}
	}
	return device_res_set_data(res, &es, sizeof(es));
}

/* Child, before the filter: a copy of the parent's plain data. */
static int
escape_init(const struct device_child_res *res, void **statep)
{
	const struct escape_state	*src;
	struct escape_state		*es;

	if ((src = device_child_data(res, sizeof(*src))) == NULL)
		return -EINVAL;
	if ((es = malloc(sizeof(*es))) == NULL)
		return -ENOMEM;
	*es = *src;
	*statep = es;
	return 0;
}

static void
escape_free(void *state)
{
	free(state);
}

/* Child, jailed and filtered: try everything, report, exit. */
static int
escape_child_init(void *state)
{
	const struct escape_state	*es = state;
	const struct escape_attempt	*ea;
	unsigned int			 i, n = 0, got = 0;

	for (i = 0; i < ARRAY_SIZE(escape_attempts); i++) {
		ea = &escape_attempts[i];
		if (escape_selected(es->es_only, ea->ea_name,
		    ea->ea_layer == LAYER_JAIL))
			escape_tried(ea->ea_name, ea->ea_fn(es), &n, &got);
	}
	return escape_report(n, got);
}

static void
escape_queue(struct vu_dev *dev, unsigned int qidx)
{
}

static uint16_t
escape_num_queues(void *state)
{
	return 1;
}

static const struct vu_dev_ops escape_ops = {
	.queue_handler = escape_queue,
};

const struct device_type escape_device_type = {
	.dt_name = "escape",
	.dt_caps_type = "escape",
	.dt_description = "test only: a hijacked device trying to escape",
	.dt_keys = escape_keys,
	.dt_nkeys = ESC_K_COUNT,
	.dt_ops = &escape_ops,
	.dt_open = escape_open,
	.dt_init = escape_init,
	.dt_start = escape_child_init,
	.dt_num_queues = escape_num_queues,
	.dt_free = escape_free,
};
