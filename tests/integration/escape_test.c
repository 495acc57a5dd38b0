/*
 * escape_test.c - the escape suite: vhostd_test runs the test-only
 * "escape" device (tests/devices/escape.c), a device that tries to get out
 * of its jail once it is jailed and filtered.
 *
 * Two layers, tested separately:
 * - the jail alone: every jail-layer attempt runs under
 *   tests/data/escape-policy/escape.policy, which is the real rng policy
 *   plus the system calls those attempts make, so only the jail can stop
 *   them; the device must report "N attempts, 0 succeeded", the target
 *   file must be unchanged and the victim sockets untouched;
 * - the filter: single attempts under tests/data/escape-policy-kill/
 *   (the real rng policy and nothing else) must end the child with SIGSYS.
 *
 * The same two layers for the real network device (tests/devices/
 * escape_net.c, "escape-net") on a tap in a network namespace the test
 * process makes for itself: /dev/net/tun, packet sockets, other
 * interfaces, the tap's namespace, the tap's ioctls, and what one child
 * leaves on the shared tap for the next.
 *
 * The same two layers for the real block device (tests/devices/
 * escape_blk.c, "escape-blk"): its io_uring rings (restricted before the
 * filter), its image (a description of its own, RLIMIT_FSIZE) and
 * blk.policy.  The jail-layer run restarts the device once, so that the
 * second child shows whether the first could leave anything behind on the
 * image's open file description; the image's size, allocation and
 * contents must be unchanged afterwards.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>
#include <linux/io_uring.h>

#define RUN_TIMEOUT_MS	20000
#define TARGET_TEXT	"disk image of another device\n"

struct run {
	int	ru_status;
	char	ru_err[65536];	/* vhostd's stderr */
	size_t	ru_len;
};

static char	tmpdir[] = "/tmp/vhostd-escape-XXXXXX";

static const char *
env(const char *name)
{
	const char	*v = getenv(name);

	if (v == NULL || *v == '\0')
		cr_skip_test("%s is not set (run through make check)", name);
	return v;
}

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* How many "escape: N attempts" reports r holds so far. */
static unsigned int
reports(const struct run *r)
{
	const char	*p = r->ru_err;
	unsigned int	 n = 0, a, b;

	while ((p = strstr(p, "escape: ")) != NULL) {
		if (sscanf(p, "escape: %u attempts, %u succeeded", &a, &b) == 2)
			n++;
		p++;
	}
	return n;
}

/*
 * Run argv with stderr captured; wait for the exit (or kill at timeout).
 * stop_after > 0: send SIGTERM once that many reports are in (a device
 * that restarts never exits by itself).
 */
static void
run_until(char *const argv[], struct run *r, unsigned int stop_after)
{
	bool		stopped = false;
	struct pollfd	pfd;
	long		deadline = now_ms() + RUN_TIMEOUT_MS, left;
	ssize_t		n;
	pid_t		pid;
	int		p[2], rc;

	memset(r, 0, sizeof(*r));
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (;;) {
		left = deadline - now_ms();
		rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
		if (rc == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(p[0]);
			cr_assert_fail("vhostd did not exit in time; stderr:\n%.*s",
			    (int)r->ru_len, r->ru_err);
		}
		if (rc == -1 && errno == EINTR)
			continue;
		cr_assert_eq(rc, 1);
		n = read(p[0], r->ru_err + r->ru_len,
		    sizeof(r->ru_err) - 1 - r->ru_len);
		if (n <= 0)
			break;
		r->ru_len += (size_t)n;
		r->ru_err[r->ru_len] = '\0';
		if (stop_after > 0 && !stopped && reports(r) >= stop_after) {
			kill(pid, SIGTERM);
			stopped = true;
		}
		if (r->ru_len == sizeof(r->ru_err) - 1)
			break;
	}
	close(p[0]);
	r->ru_err[r->ru_len] = '\0';
	cr_assert_eq(waitpid(pid, &r->ru_status, 0), pid);
}

static void
run(char *const argv[], struct run *r)
{
	run_until(argv, r, 0);
}

static int
listen_unix(const char *path, bool abstract)
{
	struct sockaddr_un	sun;
	socklen_t		len;
	int			fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	cr_assert_lt(strlen(path) + 1, sizeof(sun.sun_path));
	memcpy(sun.sun_path + (abstract ? 1 : 0), path, strlen(path));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path) + (abstract ? 1 : 0));
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, len), 0, "bind %s: %s",
	    path, strerror(errno));
	cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

static void
untouched(int fd, const char *what)
{
	int	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	cr_assert_eq(c, -1, "the escape device connected to %s", what);
	cr_assert_eq(errno, EAGAIN);
}

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

TestSuite(escape, .init = setup, .fini = teardown, .timeout = 120);

Test(escape, the_jail_alone_holds)
{
	char		 policydir[4096], target[256], victim[256], sock[256];
	char		 abstract[64], spec[2048], *argv[6], *p;
	const char	*prog = env("VHOSTD_TEST");
	struct stat	 before, after;
	struct run	*r;
	unsigned int	 n = 0, got = 1;
	int		 fd, vfd, afd;
	char		 buf[128];

	snprintf(policydir, sizeof(policydir),
	    "%s/../../tests/data/escape-policy", env("VHOSTD_POLICYDIR"));
	snprintf(target, sizeof(target), "%s/other-disk.img", tmpdir);
	snprintf(victim, sizeof(victim), "%s/other-device.sock", tmpdir);
	snprintf(sock, sizeof(sock), "%s/escape.sock", tmpdir);
	snprintf(abstract, sizeof(abstract), "vhostd-escape-%d", (int)getpid());
	fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, TARGET_TEXT, strlen(TARGET_TEXT)),
	    (ssize_t)strlen(TARGET_TEXT));
	close(fd);
	chmod(target, 0666);		/* writable by anybody, on purpose */
	cr_assert_eq(stat(target, &before), 0);
	vfd = listen_unix(victim, false);
	chmod(victim, 0777);
	afd = listen_unix(abstract, true);

	snprintf(spec, sizeof(spec), "escape,socket=%s,restart=never,"
	    "target=%s,victim=%s,abstract=%s", sock, target, victim, abstract);
	argv[0] = (char *)prog;
	argv[1] = (char *)"--policy-dir";
	argv[2] = policydir;
	argv[3] = (char *)"--device";
	argv[4] = spec;
	argv[5] = NULL;
	cr_assert_not_null(r = malloc(sizeof(*r)));
	run(argv, r);

	p = strstr(r->ru_err, "escape: ");
	while (p != NULL && sscanf(p, "escape: %u attempts, %u succeeded",
	    &n, &got) != 2)
		p = strstr(p + 1, "escape: ");
	cr_assert_not_null(p, "no report from the escape device; stderr:\n%s",
	    r->ru_err);
	cr_assert_geq(n, 20, "only %u attempts", n);
	cr_assert_eq(got, 0, "escapes succeeded:\n%s", r->ru_err);
	cr_assert_null(strstr(r->ru_err, "SUCCEEDED"), "%s", r->ru_err);
	cr_assert(WIFEXITED(r->ru_status) && WEXITSTATUS(r->ru_status) == 0,
	    "vhostd status 0x%x:\n%s", (unsigned int)r->ru_status, r->ru_err);

	cr_assert_eq(stat(target, &after), 0, "the target is gone");
	cr_assert_eq(after.st_size, before.st_size);
	cr_assert_eq(after.st_ino, before.st_ino);
	cr_assert_eq(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	cr_assert_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	fd = open(target, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(read(fd, buf, sizeof(buf)), (ssize_t)strlen(TARGET_TEXT));
	cr_assert_eq(memcmp(buf, TARGET_TEXT, strlen(TARGET_TEXT)), 0);
	close(fd);
	untouched(vfd, "the victim socket");
	untouched(afd, "the abstract victim socket");
	close(vfd);
	close(afd);
	free(r);
}

/*
 * The program the filter-layer tests run.  A sanitizer build (make SAN=1)
 * compiles the ASan/UBSan runtime's own system calls into every filter
 * (sandbox/policy_compile.c: openat, mprotect, prctl, ...), so its
 * children are not filtered as a release build's are: in the sanitizer
 * pass these tests run the normal build's vhostd_test, which must exist
 * (make check builds it first) and must not be sanitized itself.
 */
static const char *
filter_prog(void)
{
#ifdef VHOSTD_SANITIZE
	static char	 path[4096];
	const char	*plain = getenv("VHOSTD_TEST_PLAIN");
	char		 buf[65536];
	bool		 sanitized = false;
	ssize_t		 n;
	size_t		 keep = 0;
	int		 fd;

	if (plain != NULL && *plain != '\0')
		snprintf(path, sizeof(path), "%s", plain);
	else
		snprintf(path, sizeof(path), "%s/../../build/vhostd_test",
		    env("VHOSTD_POLICYDIR"));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s: the sanitizer build's filters have the "
	    "sanitizer runtime's extra system calls, so the escape suite runs "
	    "the normal build's vhostd_test: build it first (make tests) or "
	    "set VHOSTD_TEST_PLAIN", path, strerror(errno));
	/* "__asan_init" anywhere in the file: a sanitized binary */
	while (!sanitized && (n = read(fd, buf + keep, sizeof(buf) - keep))
	    > 0) {
		n += (ssize_t)keep;
		sanitized = memmem(buf, (size_t)n, "__asan_init", 11) != NULL;
		keep = n >= 10 ? 10 : (size_t)n;
		memmove(buf, buf + n - keep, keep);
	}
	close(fd);
	cr_assert(!sanitized, "%s is a sanitizer build; the escape suite "
	    "needs the normal build", path);
	return path;
#else
	return env("VHOSTD_TEST");
#endif
}

/*
 * Single attempts under the real policy: the filter must kill the child
 * (or, if the policy lets the call through, the jail must stop it).
 * Filter-layer attempts have nothing but the filter: SIGSYS is required.
 */
static void
one_attempt(const char *name, bool need_sigsys)
{
	char		 policydir[4096], sock[256], spec[1024], *argv[6];
	struct run	*r;

	snprintf(policydir, sizeof(policydir),
	    "%s/../../tests/data/escape-policy-kill", env("VHOSTD_POLICYDIR"));
	snprintf(sock, sizeof(sock), "%s/escape-%s.sock", tmpdir, name);
	snprintf(spec, sizeof(spec), "escape,socket=%s,restart=never,"
	    "attempt=%s", sock, name);
	argv[0] = (char *)filter_prog();
	argv[1] = (char *)"--policy-dir";
	argv[2] = policydir;
	argv[3] = (char *)"--device";
	argv[4] = spec;
	argv[5] = NULL;
	cr_assert_not_null(r = malloc(sizeof(*r)));
	run(argv, r);
	cr_assert_not_null(strstr(r->ru_err, "escape: trying "),
	    "%s: the device never ran its attempt:\n%s", name, r->ru_err);
	cr_assert_null(strstr(r->ru_err, "SUCCEEDED"), "%s", r->ru_err);
	if (need_sigsys || strstr(r->ru_err, "1 attempts, 0 succeeded") ==
	    NULL)
		cr_assert_not_null(strstr(r->ru_err, "SIGSYS"),
		    "%s: not killed by the filter:\n%s", name, r->ru_err);
	free(r);
}

Test(escape, the_filter_kills_what_the_kernel_allows)
{
	static const char *const names[] = {
		"ptrace-traceme", "keyctl", "bpf", "perf-event-open",
		"io-uring-setup", "netlink-socket", "inet-socket",
		"userfaultfd",
	};
	unsigned int	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		one_attempt(names[i], true);
}

Test(escape, the_filter_also_covers_jail_attempts)
{
	static const char *const names[] = {
		"exec-shell", "fork", "mount", "open-host-file",
		"nested-namespace", "ptrace-attach", "init-module",
		"capset", "setuid-root",
	};
	unsigned int	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		one_attempt(names[i], false);
}

/* The block device's escape runs: an image of IMG_BYTES, sparse. */
#define IMG_BYTES	(16u << 20)
#define IMG_MARK	"first sector of the guest's disk"
/* st_blocks the parent's own probing may leave (512-byte blocks). */
#define IMG_SLACK	64

static void
need_io_uring(void)
{
	struct io_uring_params	p;
	int			fd;

	memset(&p, 0, sizeof(p));
	fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (fd < 0)
		cr_skip_test("io_uring_setup: %s (no io_uring on this host)",
		    strerror(errno));
	close(fd);
}

static void
img_make(const char *path, struct stat *st)
{
	int	fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, IMG_MARK, strlen(IMG_MARK), 0),
	    (ssize_t)strlen(IMG_MARK));
	cr_assert_eq(ftruncate(fd, IMG_BYTES), 0);
	cr_assert_eq(fstat(fd, st), 0);
	close(fd);
}

/* Size, allocation and first bytes as before the run. */
static void
img_unchanged(const char *path, const struct stat *before, const char *who)
{
	struct stat	st;
	char		buf[64];
	int		fd;

	cr_assert_eq(stat(path, &st), 0);
	fprintf(stderr, "escape-blk %s: image %lld bytes, %lld blocks "
	    "(before: %lld, %lld)\n", who, (long long)st.st_size,
	    (long long)st.st_blocks, (long long)before->st_size,
	    (long long)before->st_blocks);
	cr_assert_eq(st.st_size, before->st_size, "%s: the image's size "
	    "changed: %lld -> %lld", who, (long long)before->st_size,
	    (long long)st.st_size);
	cr_assert_leq(st.st_blocks, before->st_blocks + IMG_SLACK, "%s: "
	    "blocks allocated: %lld -> %lld", who,
	    (long long)before->st_blocks, (long long)st.st_blocks);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(read(fd, buf, strlen(IMG_MARK)), (ssize_t)strlen(IMG_MARK));
	cr_assert_eq(memcmp(buf, IMG_MARK, strlen(IMG_MARK)), 0);
	close(fd);
}

/*
 * The kernel alone: the ring's restrictions (no opcode, file or
 * registration but blk's own), RLIMIT_FSIZE (no growth, by write or
 * fallocate, in the child or through the ring) and a description of the
 * image per child (the second child must not get the O_APPEND the first
 * set).  Two children, each must report every attempt failed.
 */
Test(escape, blk_jail_alone_holds)
{
	char		 policydir[4096], img[256], sock[256], spec[1024];
	char		*argv[6], *p;
	struct stat	 before;
	struct run	*r;
	unsigned int	 n, got, nrep = 0;

	need_io_uring();
	snprintf(policydir, sizeof(policydir),
	    "%s/../../tests/data/escape-policy", env("VHOSTD_POLICYDIR"));
	snprintf(img, sizeof(img), "%s/disk.img", tmpdir);
	snprintf(sock, sizeof(sock), "%s/escape-blk.sock", tmpdir);
	img_make(img, &before);
	snprintf(spec, sizeof(spec), "escape-blk,socket=%s,path=%s,"
	    "restart=always", sock, img);
	argv[0] = (char *)env("VHOSTD_TEST");
	argv[1] = (char *)"--policy-dir";
	argv[2] = policydir;
	argv[3] = (char *)"--device";
	argv[4] = spec;
	argv[5] = NULL;
	cr_assert_not_null(r = malloc(sizeof(*r)));
	run_until(argv, r, 2);
	cr_assert_null(strstr(r->ru_err, "no io_uring ring"), "the device "
	    "has no ring to attack, although io_uring works here:\n%s",
	    r->ru_err);
	for (p = r->ru_err; (p = strstr(p, "escape: ")) != NULL; p++) {
		if (sscanf(p, "escape: %u attempts, %u succeeded", &n,
		    &got) != 2)
			continue;
		nrep++;
		cr_assert_geq(n, 13, "only %u attempts", n);
		cr_assert_eq(got, 0, "child %u: escapes succeeded:\n%s", nrep,
		    r->ru_err);
	}
	cr_assert_geq(nrep, 2, "%u reports; stderr:\n%s", nrep, r->ru_err);
	cr_assert_null(strstr(r->ru_err, "SUCCEEDED"), "%s", r->ru_err);
	img_unchanged(img, &before, "jail layer");
	free(r);
}

/* One filter-layer attempt under the real blk.policy; extra: more keys. */
static void
one_blk_attempt_with(const char *name, bool need_sigsys, const char *extra)
{
	char		 policydir[4096], img[256], sock[256], spec[1024];
	char		*argv[6];
	struct stat	 before;
	struct run	*r;

	snprintf(policydir, sizeof(policydir),
	    "%s/../../tests/data/escape-policy-kill", env("VHOSTD_POLICYDIR"));
	snprintf(img, sizeof(img), "%s/disk-%s.img", tmpdir, name);
	snprintf(sock, sizeof(sock), "%s/escape-blk-%s.sock", tmpdir, name);
	img_make(img, &before);
	snprintf(spec, sizeof(spec), "escape-blk,socket=%s,path=%s,"
	    "restart=never,attempt=%s%s", sock, img, name, extra);
	argv[0] = (char *)filter_prog();
	argv[1] = (char *)"--policy-dir";
	argv[2] = policydir;
	argv[3] = (char *)"--device";
	argv[4] = spec;
	argv[5] = NULL;
	cr_assert_not_null(r = malloc(sizeof(*r)));
	run(argv, r);
	cr_assert_not_null(strstr(r->ru_err, "escape: trying "),
	    "%s: the device never ran its attempt:\n%s", name, r->ru_err);
	cr_assert_null(strstr(r->ru_err, "SUCCEEDED"), "%s", r->ru_err);
	if (need_sigsys)
		cr_assert_not_null(strstr(r->ru_err, "SIGSYS"),
		    "%s: not killed by the filter:\n%s", name, r->ru_err);
	else
		cr_assert_not_null(strstr(r->ru_err, "1 attempts, 0 succeeded"),
		    "%s: %s", name, r->ru_err);
	img_unchanged(img, &before, name);
	free(r);
}

static void
one_blk_attempt(const char *name, bool need_sigsys)
{
	one_blk_attempt_with(name, need_sigsys, "");
}

/*
 * Queue threads (threads=2): made before the filter, they are filtered
 * all the same (a fork from one is killed), and none can be made after
 * it (blk.policy has no clone or clone3).
 */
Test(escape, blk_queue_threads_are_filtered)
{
	need_io_uring();
	one_blk_attempt_with("thread-fork", true, ",queues=2,threads=2");
	one_blk_attempt_with("thread-create", true, ",queues=2,threads=2");
}

/*
 * blk.policy: no new ring, no registration on the device's rings, no
 * ftruncate, no fallocate that allocates past the end (KEEP_SIZE), no
 * O_APPEND (refused with EPERM).
 */
Test(escape, blk_filter_holds)
{
	static const char *const kill[] = {
		"uring-setup", "uring-register", "ftruncate",
		"fallocate-keep-size",
	};
	unsigned int	i;

	need_io_uring();
	for (i = 0; i < sizeof(kill) / sizeof(kill[0]); i++)
		one_blk_attempt(kill[i], true);
	one_blk_attempt("set-append", false);
}

/*
 * The release filter, in every pass: the rng policy has no openat, so
 * opening a host file ends in SIGSYS before the jail is even asked.  (A
 * sanitizer build's own filter lets openat through.)
 */
Test(escape, the_suite_tests_the_release_filter)
{
	one_attempt("open-host-file", true);
}

/* ---- the network device ---- */

#define NET_TARGET	"10.77.0.1"	/* the tap's address, our namespace */

static char	net_tap[IFNAMSIZ];
static int	net_udp = -1;	/* bound to NET_TARGET: must stay silent */

static void
ifreq_addr(struct ifreq *ifr, const char *a)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, a, &sin.sin_addr);
	memcpy(&ifr->ifr_addr, &sin, sizeof(sin));
}

/*
 * This test process into a network namespace of its own, with a
 * persistent tap there that has NET_TARGET/24 and is up, and a datagram
 * socket on NET_TARGET.
 */
static void
net_prepare(void)
{
	struct sockaddr_in	sin;
	struct ifreq		ifr;
	int			fd, s;

	if (geteuid() != 0)
		cr_skip_test("needs root for a network namespace and a tap");
	if (access("/dev/net/tun", R_OK | W_OK) == -1)
		cr_skip_test("/dev/net/tun: %s", strerror(errno));
	if (unshare(CLONE_NEWNET) == -1)
		cr_skip_test("unshare(CLONE_NEWNET): %s", strerror(errno));
	snprintf(net_tap, sizeof(net_tap), "vhe%d", (int)getpid() % 100000);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", net_tap);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0, "%s", strerror(errno));
	cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", net_tap);
	ifreq_addr(&ifr, NET_TARGET);
	cr_assert_eq(ioctl(s, SIOCSIFADDR, &ifr), 0, "%s", strerror(errno));
	ifreq_addr(&ifr, "255.255.255.0");
	cr_assert_eq(ioctl(s, SIOCSIFNETMASK, &ifr), 0);
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
	net_udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	cr_assert_geq(net_udp, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(9999);
	inet_pton(AF_INET, NET_TARGET, &sin.sin_addr);
	cr_assert_eq(bind(net_udp, (struct sockaddr *)&sin, sizeof(sin)), 0);
}

static void
net_nothing_arrived(void)
{
	char	buf[64];

	cr_assert_eq(recv(net_udp, buf, sizeof(buf), 0), -1,
	    "a datagram reached " NET_TARGET " from the jailed child");
	cr_assert_eq(errno, EAGAIN);
	cr_assert_neq(if_nametoindex(net_tap), 0, "the tap is still there");
}

/*
 * The kernel alone: nothing of the host's network from the child's
 * namespace, no /dev/net/tun, no packet socket, no SIOCGSKNS, no other
 * tap for its fd; and what the first child changes on the shared tap
 * (blocking reads, vnet header size, offloads) does not reach the second.
 */
Test(escape, net_jail_alone_holds)
{
	char		 policydir[4096], sock[256], spec[1024];
	char		*argv[6], *p;
	struct run	*r;
	unsigned int	 n, got, nrep = 0;

	net_prepare();
	snprintf(policydir, sizeof(policydir),
	    "%s/../../tests/data/escape-policy", env("VHOSTD_POLICYDIR"));
	snprintf(sock, sizeof(sock), "%s/escape-net.sock", tmpdir);
	snprintf(spec, sizeof(spec), "escape-net,socket=%s,tap=%s,"
	    "restart=always", sock, net_tap);
	argv[0] = (char *)env("VHOSTD_TEST");
	argv[1] = (char *)"--policy-dir";
	argv[2] = policydir;
	argv[3] = (char *)"--device";
	argv[4] = spec;
	argv[5] = NULL;
	cr_assert_not_null(r = malloc(sizeof(*r)));
	run_until(argv, r, 2);
	for (p = r->ru_err; (p = strstr(p, "escape: ")) != NULL; p++) {
		if (sscanf(p, "escape: %u attempts, %u succeeded", &n,
		    &got) != 2)
			continue;
		nrep++;
		cr_assert_geq(n, 8, "only %u attempts", n);
		cr_assert_eq(got, 0, "child %u: escapes succeeded:\n%s", nrep,
		    r->ru_err);
	}
	cr_assert_geq(nrep, 2, "%u reports; stderr:\n%s", nrep, r->ru_err);
	cr_assert_null(strstr(r->ru_err, "SUCCEEDED"), "%s", r->ru_err);
	net_nothing_arrived();
	free(r);
}

/* One filter-layer attempt of the network device under net.policy. */
static void
one_net_attempt(const char *name, bool need_sigsys)
{
	char		 policydir[4096], sock[256], spec[1024];
	char		*argv[6];
	struct run	*r;

	snprintf(policydir, sizeof(policydir),
	    "%s/../../tests/data/escape-policy-kill", env("VHOSTD_POLICYDIR"));
	snprintf(sock, sizeof(sock), "%s/escape-net-%s.sock", tmpdir, name);
	snprintf(spec, sizeof(spec), "escape-net,socket=%s,tap=%s,"
	    "restart=never,attempt=%s", sock, net_tap, name);
	argv[0] = (char *)filter_prog();
	argv[1] = (char *)"--policy-dir";
	argv[2] = policydir;
	argv[3] = (char *)"--device";
	argv[4] = spec;
	argv[5] = NULL;
	cr_assert_not_null(r = malloc(sizeof(*r)));
	run(argv, r);
	cr_assert_not_null(strstr(r->ru_err, "escape: trying "),
	    "%s: the device never ran its attempt:\n%s", name, r->ru_err);
	cr_assert_null(strstr(r->ru_err, "SUCCEEDED"), "%s", r->ru_err);
	if (need_sigsys)
		cr_assert_not_null(strstr(r->ru_err, "SIGSYS"),
		    "%s: not killed by the filter:\n%s", name, r->ru_err);
	else
		cr_assert_not_null(strstr(r->ru_err, "1 attempts, 0 succeeded"),
		    "%s: %s", name, r->ru_err);
	free(r);
}

/*
 * net.policy: no socket, no open, no tap ioctl but TUNSETOFFLOAD on the
 * first queue with vhostd's offloads and TUNSETQUEUE (no persist, no
 * header size, no eBPF steering, no USO), no readv past the tap queues,
 * no O_ASYNC (EPERM).
 */
Test(escape, net_filter_holds)
{
	static const char *const kill[] = {
		"socket-unix", "open-tun-filtered", "tap-persist", "tap-hdrsz", "tap-steering", "offload-uso",
		"readv-other-fd",
	};
	unsigned int	i;

	net_prepare();
	for (i = 0; i < sizeof(kill) / sizeof(kill[0]); i++)
		one_net_attempt(kill[i], true);
	one_net_attempt("set-async", false);
	net_nothing_arrived();
}

/*
 * The vsock device (tests/devices/escape_vsock.c, "escape-vsock"): its
 * broker channel to the privileged parent.  uds-path's directory holds
 * what a local user who can write there might plant: a symbolic link
 * and a hard link to a victim socket (root's, mode 0600, elsewhere), a
 * socket of another user the device's user may not use, a regular file.
 * The victims must see no connection; the control (root's socket at
 * <uds-path>_7000) must.
 */
static void
vsock_plant(int *victim, int *control, int *other)
{
	char	dir[256], path[256];

	snprintf(dir, sizeof(dir), "%s/victim", tmpdir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/victim/root.sock", tmpdir);
	victim[0] = listen_unix(path, false);
	cr_assert_eq(chmod(path, 0600), 0);
	snprintf(dir, sizeof(dir), "%s/vs_7001", tmpdir);
	cr_assert_eq(symlink(path, dir), 0);
	/* Another victim for the hard link: the first keeps one link. */
	snprintf(path, sizeof(path), "%s/victim/root2.sock", tmpdir);
	victim[1] = listen_unix(path, false);
	cr_assert_eq(chmod(path, 0600), 0);
	snprintf(dir, sizeof(dir), "%s/vs_7002", tmpdir);
	cr_assert_eq(link(path, dir), 0, "link: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/vs_7000", tmpdir);
	*control = listen_unix(path, false);
	snprintf(path, sizeof(path), "%s/vs_7003", tmpdir);
	*other = listen_unix(path, false);
	cr_assert_eq(chown(path, 12345, 12345), 0);
	cr_assert_eq(chmod(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/vs_7004", tmpdir);
	close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666));
}

Test(escape, vsock_broker_gives_nothing_beyond_uds_path)
{
	char		 policydir[4096], sock[256], spec[1024], *argv[6];
	struct run	*r;
	unsigned int	 n, got;
	const char	*p;
	int		 victim[2], control, other, c;

	snprintf(policydir, sizeof(policydir),
	    "%s/../../tests/data/escape-policy-kill", env("VHOSTD_POLICYDIR"));
	snprintf(sock, sizeof(sock), "%s/escape-vsock.sock", tmpdir);
	vsock_plant(victim, &control, &other);
	snprintf(spec, sizeof(spec), "escape-vsock,socket=%s,uds-path=%s/vs,"
	    "restart=never", sock, tmpdir);
	argv[0] = (char *)filter_prog();
	argv[1] = (char *)"--policy-dir";
	argv[2] = policydir;
	argv[3] = (char *)"--device";
	argv[4] = spec;
	argv[5] = NULL;
	cr_assert_not_null(r = malloc(sizeof(*r)));
	run(argv, r);
	cr_assert_not_null(strstr(r->ru_err, "escape: control served"),
	    "the broker served nothing:\n%s", r->ru_err);
	cr_assert_not_null(p = strstr(r->ru_err, "attempts, "), "%s",
	    r->ru_err);
	while (p > r->ru_err && p[-1] != ':')
		p--;
	cr_assert_eq(sscanf(p, " %u attempts, %u succeeded", &n, &got), 2);
	cr_assert_geq(n, 6, "%u attempts:\n%s", n, r->ru_err);
	cr_assert_eq(got, 0, "escapes succeeded:\n%s", r->ru_err);
	cr_assert_null(strstr(r->ru_err, "SUCCEEDED"), "%s", r->ru_err);
	/* What each refusal said, as the child logged it. */
	cr_assert_not_null(strstr(r->ru_err, "port 7001: Too many levels of "
	    "symbolic links"), "%s", r->ru_err);
	cr_assert_not_null(strstr(r->ru_err, "port 7002: Operation not "
	    "permitted"), "%s", r->ru_err);
	cr_assert_not_null(strstr(r->ru_err, "port 7003: Permission denied"),
	    "%s", r->ru_err);
	p = strstr(r->ru_err, "escape: flood of");
	fprintf(stderr, "%.*s\n", p != NULL ? (int)strcspn(p, "\n") : 0,
	    p != NULL ? p : "");
	cr_assert_not_null(strstr(r->ru_err, "port 7004: Connection refused"),
	    "%s", r->ru_err);
	untouched(victim[0], "a victim socket through a symbolic link");
	untouched(victim[1], "a victim socket through a hard link");
	untouched(other, "another user's socket");
	/* The control was connected twice (alone, and with a passed fd). */
	c = accept4(control, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(c, 0, "the control saw no connection");
	close(c);
	close(victim[0]);
	close(victim[1]);
	close(control);
	close(other);
	free(r);
}

/* One filter-layer attempt under the real vsock.policy. */
static void
one_vsock_attempt(const char *name, bool need_sigsys)
{
	char		 policydir[4096], sock[256], spec[1024], *argv[6];
	struct run	*r;

	snprintf(policydir, sizeof(policydir),
	    "%s/../../tests/data/escape-policy-kill", env("VHOSTD_POLICYDIR"));
	snprintf(sock, sizeof(sock), "%s/escape-vsock-%s.sock", tmpdir, name);
	snprintf(spec, sizeof(spec), "escape-vsock,socket=%s,uds-path=%s/vs-%s,"
	    "restart=never,attempt=%s", sock, tmpdir, name, name);
	argv[0] = (char *)filter_prog();
	argv[1] = (char *)"--policy-dir";
	argv[2] = policydir;
	argv[3] = (char *)"--device";
	argv[4] = spec;
	argv[5] = NULL;
	cr_assert_not_null(r = malloc(sizeof(*r)));
	run(argv, r);
	cr_assert_not_null(strstr(r->ru_err, "escape: trying "),
	    "%s: the device never ran its attempt:\n%s", name, r->ru_err);
	cr_assert_null(strstr(r->ru_err, "SUCCEEDED"), "%s", r->ru_err);
	if (need_sigsys)
		cr_assert_not_null(strstr(r->ru_err, "SIGSYS"),
		    "%s: not killed by the filter:\n%s", name, r->ru_err);
	else
		cr_assert_not_null(strstr(r->ru_err, "1 attempts, 0 succeeded"),
		    "%s: %s", name, r->ru_err);
	free(r);
}

/*
 * vsock.policy: no socket, socketpair or connect (the child reaches host
 * sockets only through the parent), and no shutdown of the listener or
 * the channel it shares with the parent (EPERM).
 */
Test(escape, vsock_filter_holds)
{
	one_vsock_attempt("socket", true);
	one_vsock_attempt("socketpair", true);
	one_vsock_attempt("connect", true);
	one_vsock_attempt("shutdown-listener", false);
	one_vsock_attempt("shutdown-channel", false);
}
