/*
 * itest.h - shared by the integration tests: a private directory, vhostd
 * started with --ready-fd and waited for, entropy read through the
 * in-tree front end.  Static inline; the state (it_dir, it_vp) is in
 * itest.c, linked into every integration test binary.
 */
#ifndef VHOSTD_TESTS_ITEST_H
#define VHOSTD_TESTS_ITEST_H

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "vproc.h"
#include "vuf.h"

#define IT_MAX_ARGS	32

/* In itest.c: one of each for all the files of a test binary. */
extern char		it_dir[64];
extern struct vproc	it_vp;		/* the vhostd of the running test */

static inline const char *
it_env(const char *name)
{
	const char	*v = getenv(name);

	if (v == NULL || *v == '\0')
		cr_skip_test("%s is not set (run through make check)", name);
	return v;
}

/*
 * This test process into a network namespace of its own, for a tap the
 * test makes there; skipped, with the reason, without root, a usable
 * /dev/net/tun or network namespaces.
 */
static inline void
it_own_netns(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root for a network namespace and a tap");
	if (access("/dev/net/tun", R_OK | W_OK) == -1)
		cr_skip_test("/dev/net/tun: %s", strerror(errno));
	if (unshare(CLONE_NEWNET) == -1)
		cr_skip_test("unshare(CLONE_NEWNET): %s", strerror(errno));
}

/* Suite .init: a private directory, no process yet. */
static inline void
it_setup(void)
{
	snprintf(it_dir, sizeof(it_dir), "/tmp/vhostd-it-XXXXXX");
	cr_assert_not_null(mkdtemp(it_dir));
	memset(&it_vp, 0, sizeof(it_vp));
	it_vp.vp_err = it_vp.vp_pidfd = -1;
}

/* Suite .fini: kill what is left, remove the directory. */
static inline void
it_teardown(void)
{
	char	cmd[128];

	vproc_cleanup(&it_vp);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", it_dir);
	if (it_dir[0] != '\0' && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", it_dir);
}

static inline char *it_fmt(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

/* printf into one of 8 rotating static buffers (argument lists). */
static inline char *
it_fmt(const char *f, ...)
{
	static char	buf[8][1024];
	static int	i;
	va_list		ap;

	i = (i + 1) % 8;
	va_start(ap, f);
	vsnprintf(buf[i], sizeof(buf[i]), f, ap);
	va_end(ap);
	return buf[i];
}

/*
 * A datagram socket bound at path, for NOTIFY_SOCKET; *env gets
 * "NOTIFY_SOCKET=path" (static storage).
 */
static inline int
it_notify_socket(const char *path, char **env)
{
	static char		buf[300];
	struct sockaddr_un	sun;
	int			fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	snprintf(buf, sizeof(buf), "NOTIFY_SOCKET=%s", path);
	*env = buf;
	return fd;
}

/* it_dir/name in a static rotating buffer. */
static inline const char *
it_path(const char *name)
{
	static char	buf[8][256];
	static int	i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", it_dir, name);
	return buf[i];
}

static inline bool
it_exists(const char *path)
{
	struct stat	st;

	return lstat(path, &st) == 0;
}

/*
 * Start vhostd with the given arguments (NULL-terminated) after
 * --policy-dir and --ready-fd, and wait until it says it is ready.  With
 * ready false, do not wait (for runs expected to fail).
 */
static inline void
it_start_v(struct vproc *p, bool ready, const struct vproc_opts *o,
    va_list ap)
{
	struct vproc_opts	 opts = { .o_stdout = -1 };
	char			*argv[IT_MAX_ARGS], line[64], rfd[32];
	const char		*a;
	int			 rp[2], fds[8];
	unsigned int		 n = 0, i;

	if (o != NULL)
		opts = *o;
	cr_assert_eq(pipe2(rp, O_CLOEXEC), 0);
	/* The ready pipe goes after the caller's fds. */
	for (i = 0; i < opts.o_nfds; i++)
		fds[i] = opts.o_fds[i];
	fds[opts.o_nfds] = rp[1];
	snprintf(rfd, sizeof(rfd), "--ready-fd=%u", 3 + opts.o_nfds);
	opts.o_fds = fds;
	opts.o_nfds++;
	argv[n++] = (char *)it_env("VHOSTD");
	argv[n++] = (char *)"--policy-dir";
	argv[n++] = (char *)it_env("VHOSTD_POLICYDIR");
	argv[n++] = rfd;
	while ((a = va_arg(ap, const char *)) != NULL && n < IT_MAX_ARGS - 1)
		argv[n++] = (char *)a;
	argv[n] = NULL;
	cr_assert_eq(vproc_start(p, argv, &opts), 0);
	close(rp[1]);
	if (ready && vproc_read_line(rp[0], line, sizeof(line),
	    VPROC_TIMEOUT_MS) <= 0) {
		close(rp[0]);
		vproc_wait_exit(p, 2000, NULL);
		cr_assert_fail("vhostd did not become ready; stderr:\n%s",
		    p->vp_log);
	}
	close(rp[0]);
}

static inline void
it_start(struct vproc *p, ...)
{
	va_list	ap;

	va_start(ap, p);
	it_start_v(p, true, NULL, ap);
	va_end(ap);
}

static inline void
it_start_opts(struct vproc *p, bool ready, const struct vproc_opts *o, ...)
{
	va_list	ap;

	va_start(ap, o);
	it_start_v(p, ready, o, ap);
	va_end(ap);
}

/*
 * Read n bytes of entropy through the front end f into out: f connects to
 * sock, or, with sock NULL, is already connected (vuf_set_sock).  f is
 * left as it is.  0 or -errno, message in err.
 */
static inline int
it_entropy_on(struct vuf *f, const char *sock, uint8_t *out, uint32_t n,
    char *err, size_t errlen)
{
	struct vuf_opts	 opts;
	struct vuf_seg	 seg;
	uint8_t		*buf;
	uint32_t	 got = 0, done = 0;
	int		 rc;

	memset(&opts, 0, sizeof(opts));
	opts.o_mem_size = 1024 * 1024;
	if ((rc = vuf_setup(f, sock, &opts)) < 0)
		goto out;
	if ((buf = vuf_alloc(f, n, 64, &seg.sg_gpa)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while (done < n) {
		seg.sg_gpa = vuf_ptr_to_gpa(f, buf + done);
		seg.sg_len = n - done;
		seg.sg_write = true;
		if ((rc = vuf_vq_exec(f, 0, &seg, 1, false, &got)) < 0)
			goto out;
		if (got == 0 || got > n - done) {
			rc = vuf_fail(f, -EPROTO, "device wrote %u bytes", got);
			goto out;
		}
		done += got;
	}
	memcpy(out, buf, n);
	rc = 0;
out:
	snprintf(err, errlen, "%s", vuf_error(f));
	return rc;
}

/* Read n bytes of entropy from the rng device at sock into out. */
static inline int
it_entropy(const char *sock, uint8_t *out, uint32_t n, char *err,
    size_t errlen)
{
	struct vuf	*f;
	int		 rc;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -ENOMEM;
	vuf_init(f);
	rc = it_entropy_on(f, sock, out, n, err, errlen);
	vuf_fini(f);
	free(f);
	return rc;
}

/* Entropy arrives from sock: n bytes, not all zero. */
static inline void
it_assert_entropy(const char *sock)
{
	uint8_t		buf[256];
	char		err[512];
	unsigned int	i, nz = 0;

	memset(buf, 0, sizeof(buf));
	cr_assert_eq(it_entropy(sock, buf, sizeof(buf), err, sizeof(err)), 0,
	    "no entropy from %s: %s", sock, err);
	for (i = 0; i < sizeof(buf); i++)
		nz += buf[i] != 0;
	cr_assert_gt(nz, 200, "%u of 256 bytes non-zero", nz);
}

/* A socket bound at path; listening or not. */
static inline int
it_unix_socket(const char *path, bool listening)
{
	struct sockaddr_un	sun;
	int			fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0,
	    "bind %s: %s", path, strerror(errno));
	if (listening)
		cr_assert_eq(listen(fd, 8), 0);
	return fd;
}

/* connect() to path succeeds. */
static inline bool
it_connects(const char *path)
{
	struct sockaddr_un	sun;
	int			fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return rc == 0;
}

/* Exit status (or 128+signal) from a wait status. */
static inline int
it_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Stop vhostd with SIGTERM and expect exit 0. */
static inline void
it_stop(struct vproc *p)
{
	int	st;

	cr_assert_eq(kill(p->vp_pid, SIGTERM), 0);
	cr_assert_eq(vproc_wait_exit(p, VPROC_TIMEOUT_MS, &st), 0,
	    "vhostd did not exit after SIGTERM; stderr:\n%s", p->vp_log);
	cr_assert_eq(it_code(st), 0, "exit %d after SIGTERM; stderr:\n%s",
	    it_code(st), p->vp_log);
}

#endif /* VHOSTD_TESTS_ITEST_H */
