/*
 * escape_harness.c - escape_test's harness.  escape_test is the escape
 * suite: vhostd_test runs the test-only
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

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "escape_harness.h"

char	tmpdir[] = "/tmp/vhostd-escape-XXXXXX";

const char *
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

int
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

void
untouched(int fd, const char *what)
{
	int	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	cr_assert_eq(c, -1, "the escape device connected to %s", what);
	cr_assert_eq(errno, EAGAIN);
}

void
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

/*
 * The program the filter-layer tests run.  A sanitizer build (make SAN=1)
 * compiles the ASan/UBSan runtime's own system calls into every filter
 * (sandbox/policy_compile.c: openat, mprotect, prctl, ...), so its
 * children are not filtered as a release build's are: in the sanitizer
 * pass these tests run the normal build's vhostd_test, which must exist
 * (make check builds it first) and must not be sanitized itself.
 */
const char *
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
 * The policy directory of a layer: "escape-policy" (the jail layer: the
 * real policy plus what the attempts call) or "escape-policy-kill" (the
 * filter layer: the real policy and nothing else).
 */
void
layer_policydir(char *buf, size_t len, const char *layer)
{
	snprintf(buf, len, "%s/../../tests/data/%s", env("VHOSTD_POLICYDIR"),
	    layer);
}

/*
 * Run prog --policy-dir policydir --device spec (run_until: stop after
 * stop_after reports, 0 for none); the run, for the caller to free.
 */
struct run *
run_device(const char *prog, const char *policydir, const char *spec,
    unsigned int stop_after)
{
	char		*argv[6];
	struct run	*r;

	argv[0] = (char *)prog;
	argv[1] = (char *)"--policy-dir";
	argv[2] = (char *)policydir;
	argv[3] = (char *)"--device";
	argv[4] = (char *)spec;
	argv[5] = NULL;
	cr_assert_not_null(r = malloc(sizeof(*r)));
	run_until(argv, r, stop_after);
	return r;
}

/*
 * One filter-layer attempt of the device spec: it ran its attempt and
 * nothing succeeded; the run, for the caller's verdict and to free.
 */
struct run *
filter_attempt(const char *name, const char *spec)
{
	char		 policydir[4096];
	struct run	*r;

	layer_policydir(policydir, sizeof(policydir), "escape-policy-kill");
	r = run_device(filter_prog(), policydir, spec, 0);
	cr_assert_not_null(strstr(r->ru_err, "escape: trying "),
	    "%s: the device never ran its attempt:\n%s", name, r->ru_err);
	cr_assert_null(strstr(r->ru_err, "SUCCEEDED"), "%s", r->ru_err);
	return r;
}

/*
 * The verdict on a filter-layer attempt of a real device's policy: killed
 * by the filter (need_sigsys), else refused by it (the attempt ran and
 * failed).
 */
void
killed_or_refused(const struct run *r, const char *name, bool need_sigsys)
{
	if (need_sigsys)
		cr_assert_not_null(strstr(r->ru_err, "SIGSYS"),
		    "%s: not killed by the filter:\n%s", name, r->ru_err);
	else
		cr_assert_not_null(strstr(r->ru_err, "1 attempts, 0 succeeded"),
		    "%s: %s", name, r->ru_err);
}

/*
 * A jail-layer run restarted once (restart=always, two children): each
 * child reports at least min attempts and none succeeded.
 */
void
jail_reports(const struct run *r, unsigned int min)
{
	const char	*p;
	unsigned int	 n, got, nrep = 0;

	for (p = r->ru_err; (p = strstr(p, "escape: ")) != NULL; p++) {
		if (sscanf(p, "escape: %u attempts, %u succeeded", &n,
		    &got) != 2)
			continue;
		nrep++;
		cr_assert_geq(n, min, "only %u attempts", n);
		cr_assert_eq(got, 0, "child %u: escapes succeeded:\n%s", nrep,
		    r->ru_err);
	}
	cr_assert_geq(nrep, 2, "%u reports; stderr:\n%s", nrep, r->ru_err);
	cr_assert_null(strstr(r->ru_err, "SUCCEEDED"), "%s", r->ru_err);
}
