/*
 * session_test.c - the device child's life cycle against hostile front
 * ends (issue 8): the listener belongs to one session, a flooding guest
 * does not starve the control socket or SIGTERM, and a front end that
 * stalls mid-message (or hands over a call fd that would block) ends its
 * session with CHILD_EXIT_TIMEOUT instead of hanging the child.
 *
 * Timing bounds are generous (the machine is shared); every test prints
 * the figure it measured.
 */
#include <dirent.h>
#include <poll.h>
#include <time.h>
#include <sys/eventfd.h>

#include "itest.h"

TestSuite(session, .init = it_setup, .fini = it_teardown, .timeout = 120);

/* Generous bounds: the issue asks for 100 ms (flood) and 5 s (stall). */
#define FLOOD_BOUND_MS	1000
#define STALL_BOUND_MS	15000
#define CALL_BOUND_MS	10000
/* How long an unfixed child is given before the test calls it hung. */
#define HANG_MS		20000

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* vhostd with one device, restart=never: its exit status is the child's. */
static pid_t
start_device(const char *spec)
{
	pid_t	c;

	it_start(&it_vp, "--seccomp=kill", "--device", spec, NULL);
	c = vproc_child_pid(&it_vp, "dev", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(c, 0, "%s", it_vp.vp_log);
	return c;
}

/* The parent logged the child's exit with this status. */
static void
assert_child_status(int status)
{
	char	needle[64];

	snprintf(needle, sizeof(needle), "exited with status %d", status);
	cr_assert_geq(vproc_wait_log(&it_vp, needle, 0, VPROC_TIMEOUT_MS), 0,
	    "no '%s':\n%s", needle, it_vp.vp_log);
}

/*
 * The inode of the listening unix socket bound at path (flag
 * __SO_ACCEPTCON in /proc/net/unix), or 0.
 */
static unsigned int	fds_on_inode(pid_t pid, unsigned long ino);

/*
 * vhostd binds relative to the socket's directory (listener.c), so
 * /proc/net/unix shows the last component of path: the entry counts when
 * the vhostd parent under test holds that socket.
 */
static unsigned long
listener_inode(const char *path)
{
	const char	*base = strrchr(path, '/') != NULL ?
			    strrchr(path, '/') + 1 : path;
	char		 line[512], p[300];
	unsigned long	 flags, ino, found = 0;
	FILE		*fp;

	cr_assert_not_null(fp = fopen("/proc/net/unix", "r"));
	while (fgets(line, sizeof(line), fp) != NULL) {
		p[0] = '\0';
		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %lu %299s", &flags,
		    &ino, p) < 2)
			continue;
		if ((flags & 0x10000) == 0)
			continue;
		if (strcmp(p, path) == 0 || (strcmp(p, base) == 0 &&
		    fds_on_inode(it_vp.vp_pid, ino) > 0))
			found = ino;
	}
	fclose(fp);
	return found;
}

/* How many of pid's descriptors are the socket with this inode. */
static unsigned int
fds_on_inode(pid_t pid, unsigned long ino)
{
	char		 dir[64], link[340], want[64], target[128];
	struct dirent	*de;
	unsigned int	 n = 0;
	ssize_t		 len;
	DIR		*d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof(want), "socket:[%lu]", ino);
	cr_assert_not_null(d = opendir(dir), "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		if ((len = readlink(link, target, sizeof(target) - 1)) < 0)
			continue;
		target[len] = '\0';
		n += strcmp(target, want) == 0;
	}
	closedir(d);
	return n;
}

/*
 * A taken-over child must not be able to accept the next front end: once
 * a session runs, no descriptor of the child is the listener.
 */
Test(session, listener_is_closed_once_a_session_runs)
{
	const char	*sock = it_path("rng.sock");
	struct vuf	 f;
	unsigned long	 ino;
	uint64_t	 features;
	pid_t		 c;

	c = start_device(it_fmt("rng,name=dev,socket=%s,restart=never", sock));
	ino = listener_inode(sock);
	cr_assert_neq(ino, 0, "no listener for %s in /proc/net/unix", sock);
	/*
	 * Before any front end: the child waits on the listener, once it
	 * is settled (an exec'd child renumbers its descriptors first, and
	 * holds the listener twice or not at all meanwhile).
	 */
	{
		long		t0 = now_ms();
		unsigned int	n;

		while ((n = fds_on_inode(c, ino)) != 1 &&
		    now_ms() - t0 < VPROC_TIMEOUT_MS)
			usleep(1000);
		cr_assert_eq(n, 1, "the waiting child holds the listener %u "
		    "times", n);
	}
	vuf_init(&f);
	cr_assert_eq(vuf_connect(&f, sock), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_handshake(&f, 0), 0, "%s", vuf_error(&f));
	features = f.f_dev_features;
	cr_assert_neq(features, 0);
	cr_assert_eq(fds_on_inode(c, ino), 0,
	    "the child still holds the listener (socket:[%lu]) during a "
	    "session", ino);
	vuf_fini(&f);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, NULL), 0);
	assert_child_status(0);
}

/* A probe (connect, hang up) still leaves the listener with the child. */
Test(session, probe_keeps_the_listener)
{
	const char	*sock = it_path("rng.sock");
	unsigned long	 ino;
	pid_t		 c;

	c = start_device(it_fmt("rng,name=dev,socket=%s,restart=never", sock));
	ino = listener_inode(sock);
	cr_assert_neq(ino, 0);
	cr_assert(it_connects(sock));
	cr_assert(it_connects(sock));
	/*
	 * Nothing was sent: the child holds the listener still, once it is
	 * settled (an exec'd child that has not finished renumbering its
	 * descriptors holds it twice or not at all; the probes wait in the
	 * backlog meanwhile).
	 */
	{
		long		t0 = now_ms();
		unsigned int	n;

		while ((n = fds_on_inode(c, ino)) != 1 &&
		    now_ms() - t0 < VPROC_TIMEOUT_MS)
			usleep(1000);
		cr_assert_eq(n, 1, "the child holds the listener %u times", n);
	}
	it_assert_entropy(sock);
	cr_assert_eq(vproc_count(&it_vp, "started child"), 1, "%s",
	    it_vp.vp_log);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, NULL), 0);
}

/*
 * Flooding guests.  A ring of FLOOD_QSIZE chains, each reposted as soon
 * as the device returns it (vuf_flood).
 */
#define FLOOD_QSIZE	4096
#define FLOOD_SEG	(64u << 10)
#define FLOOD_SEGS	4	/* blk: 256 KiB per request (indirect) */

/*
 * blk's queue threads in the flood tests: "" (the default, one thread),
 * ",threads=0" (the queue on the child's main thread) or two threads.
 */
static const char	*flood_blk_keys = "";

struct flood {
	struct vuf		f;
	struct vuf_flood	fl;
	const char		*sock;
	pid_t			child;
	char			image[64];
};

static void
flood_setup(struct flood *fd, bool blk)
{
	struct vuf_opts		 o;
	struct vuf_seg		 seg[FLOOD_SEGS + 2];
	uint64_t		 gpa_hdr, gpa_buf, gpa_st;
	uint8_t			*hdr;
	unsigned int		 i, k, nseg;
	long			 deadline;
	int			 ifd;

	memset(fd, 0, sizeof(*fd));
	if (blk) {
		/* tmpfs: reads run inline in the child, as slow as a copy. */
		snprintf(fd->image, sizeof(fd->image),
		    "/dev/shm/vhostd-flood-XXXXXX");
		cr_assert_geq(ifd = mkstemp(fd->image), 0);
		cr_assert_eq(ftruncate(ifd, 1 << 20), 0);
		close(ifd);
		fd->sock = it_path("blk.sock");
		fd->child = start_device(it_fmt("blk,name=dev,socket=%s,"
		    "path=%s,restart=never%s", fd->sock, fd->image,
		    flood_blk_keys));
	} else {
		fd->sock = it_path("rng.sock");
		fd->child = start_device(it_fmt("rng,name=dev,socket=%s,"
		    "restart=never", fd->sock));
	}
	vuf_init(&fd->f);
	memset(&o, 0, sizeof(o));
	o.o_mem_size = 8 << 20;
	o.o_queue_size = FLOOD_QSIZE;
	o.o_features = (1ull << VIRTIO_F_VERSION_1) |
	    (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	o.o_protocol = (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
	    (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |
	    (1ull << VHOST_USER_PROTOCOL_F_MQ);
	cr_assert_eq(vuf_setup(&fd->f, fd->sock, &o), 0, "%s",
	    vuf_error(&fd->f));
	/* Every chain points at the same buffers: the guest does not care. */
	cr_assert_not_null(vuf_alloc(&fd->f, FLOOD_SEG, 4096, &gpa_buf));
	cr_assert_not_null(hdr = vuf_alloc(&fd->f, 16, 16, &gpa_hdr));
	cr_assert_not_null(vuf_alloc(&fd->f, 1, 1, &gpa_st));
	memset(hdr, 0, 16);	/* VIRTIO_BLK_T_IN, sector 0 */
	for (i = 0; i < FLOOD_QSIZE; i++) {
		nseg = 0;
		if (blk)
			seg[nseg++] = (struct vuf_seg){ gpa_hdr, 16, false };
		for (k = 0; k < (blk ? FLOOD_SEGS : 1); k++)
			seg[nseg++] = (struct vuf_seg){ gpa_buf, FLOOD_SEG,
			    true };
		if (blk)
			seg[nseg++] = (struct vuf_seg){ gpa_st, 1, true };
		cr_assert_geq(vuf_vq_add(&fd->f, 0, seg, nseg, blk, NULL), 0,
		    "%s", vuf_error(&fd->f));
	}
	cr_assert_eq(vuf_flood_start(&fd->f, 0, &fd->fl), 0, "%s",
	    vuf_error(&fd->f));
	/* The device is busy: it has served the ring a few times over. */
	deadline = now_ms() + VPROC_TIMEOUT_MS;
	while (__atomic_load_n(&fd->fl.fl_reposted, __ATOMIC_RELAXED) <
	    FLOOD_QSIZE + FLOOD_QSIZE / 2) {
		cr_assert_lt(now_ms(), deadline, "the device serves no "
		    "requests:\n%s", it_vp.vp_log);
		usleep(1000);
	}
}

static void
flood_teardown(struct flood *fd)
{
	vuf_flood_stop(&fd->fl);
	vuf_fini(&fd->f);
	if (fd->image[0] != '\0')
		unlink(fd->image);
}

/* GET_VRING_BASE under a flood: answered within the bound. */
static void
flood_get_vring_base(bool blk)
{
	struct flood	*fd = calloc(1, sizeof(*fd));
	uint64_t	 before, after;
	uint16_t	 base;
	long		 t0, dt;
	int		 rc;

	cr_assert_not_null(fd);
	flood_setup(fd, blk);
	before = __atomic_load_n(&fd->fl.fl_reposted, __ATOMIC_RELAXED);
	fd->f.f_timeout_ms = HANG_MS;
	t0 = now_ms();
	rc = vuf_vq_stop(&fd->f, 0, &base);
	dt = now_ms() - t0;
	after = vuf_flood_stop(&fd->fl);
	fprintf(stderr, "%s%s flood: GET_VRING_BASE answered in %ld ms (%llu "
	    "requests served meanwhile)\n", blk ? "blk" : "rng",
	    blk ? flood_blk_keys : "", dt,
	    (unsigned long long)(after - before));
	cr_assert_eq(rc, 0, "no GET_VRING_BASE reply under a flood after %ld "
	    "ms: %s", dt, vuf_error(&fd->f));
	cr_assert_lt(dt, FLOOD_BOUND_MS, "GET_VRING_BASE took %ld ms", dt);
	/* The ring stopped where the device stopped taking chains. */
	cr_assert_eq(base, (uint16_t)__atomic_load_n(&fd->f.f_vq[0].q_used->idx,
	    __ATOMIC_ACQUIRE), "base %u, used idx %u", base,
	    fd->f.f_vq[0].q_used->idx);
	flood_teardown(fd);
	free(fd);
}

/* SIGTERM under a flood: the child exits within the bound. */
static void
flood_sigterm(bool blk)
{
	struct flood	*fd = calloc(1, sizeof(*fd));
	long		 t0, dt;
	int		 rc;

	cr_assert_not_null(fd);
	flood_setup(fd, blk);
	t0 = now_ms();
	cr_assert_eq(kill(fd->child, SIGTERM), 0);
	rc = vuf_wait_hangup(&fd->f, HANG_MS);
	dt = now_ms() - t0;
	vuf_flood_stop(&fd->fl);
	fprintf(stderr, "%s%s flood: SIGTERM to exit in %ld ms\n",
	    blk ? "blk" : "rng", blk ? flood_blk_keys : "", dt);
	cr_assert_eq(rc, 0, "the child ignored SIGTERM under a flood for %ld "
	    "ms", dt);
	cr_assert_lt(dt, FLOOD_BOUND_MS, "SIGTERM to exit took %ld ms", dt);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, NULL), 0);
	assert_child_status(0);
	flood_teardown(fd);
	free(fd);
}

Test(session, rng_flood_get_vring_base_answered)
{
	flood_get_vring_base(false);
}

Test(session, rng_flood_sigterm_answered)
{
	flood_sigterm(false);
}

Test(session, blk_flood_get_vring_base_answered)
{
	flood_get_vring_base(true);
}

Test(session, blk_flood_sigterm_answered)
{
	flood_sigterm(true);
}

/* The same with the queue on the main thread, and with two threads. */
Test(session, blk_flood_get_vring_base_answered_threads0)
{
	flood_blk_keys = ",threads=0";
	flood_get_vring_base(true);
}

Test(session, blk_flood_sigterm_answered_threads0)
{
	flood_blk_keys = ",threads=0";
	flood_sigterm(true);
}

Test(session, blk_flood_get_vring_base_answered_threads2)
{
	flood_blk_keys = ",queues=2,threads=2";
	flood_get_vring_base(true);
}

Test(session, blk_flood_sigterm_answered_threads2)
{
	flood_blk_keys = ",queues=2,threads=2";
	flood_sigterm(true);
}

/*
 * Stalled front ends.  The child must end the session with
 * CHILD_EXIT_TIMEOUT (5) within the bound, not hang in a read or write.
 */
static void
stall_expect_timeout(struct vuf *f, long t0, long bound, const char *what)
{
	long	dt;
	int	rc;

	rc = vuf_wait_hangup(f, HANG_MS);
	dt = now_ms() - t0;
	fprintf(stderr, "%s: session ended after %ld ms\n", what, dt);
	cr_assert_eq(rc, 0, "%s: the child still hangs after %ld ms", what,
	    dt);
	cr_assert_lt(dt, bound, "%s: the session ended after %ld ms", what,
	    dt);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, NULL), 0);
	assert_child_status(5);
}

Test(session, half_header_times_out)
{
	const char		*sock = it_path("rng.sock");
	struct vhost_user_header hdr;
	struct vuf		 f;
	long			 t0;

	start_device(it_fmt("rng,name=dev,socket=%s,restart=never", sock));
	vuf_init(&f);
	cr_assert_eq(vuf_connect(&f, sock), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_handshake(&f, 0), 0, "%s", vuf_error(&f));
	memset(&hdr, 0, sizeof(hdr));
	hdr.request = VHOST_USER_GET_FEATURES;
	hdr.flags = VHOST_USER_VERSION;
	t0 = now_ms();
	cr_assert_eq(send(f.f_sock, &hdr, 6, MSG_NOSIGNAL), 6);
	stall_expect_timeout(&f, t0, STALL_BOUND_MS, "half a header");
	vuf_fini(&f);
}

Test(session, half_payload_times_out)
{
	const char		*sock = it_path("rng.sock");
	struct {
		struct vhost_user_header	hdr;
		uint64_t			u64;
	} __attribute__((packed)) m;
	struct vuf		 f;
	long			 t0;

	start_device(it_fmt("rng,name=dev,socket=%s,restart=never", sock));
	vuf_init(&f);
	cr_assert_eq(vuf_connect(&f, sock), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_handshake(&f, 0), 0, "%s", vuf_error(&f));
	memset(&m, 0, sizeof(m));
	m.hdr.request = VHOST_USER_SET_FEATURES;
	m.hdr.flags = VHOST_USER_VERSION;
	m.hdr.size = sizeof(m.u64);
	t0 = now_ms();
	cr_assert_eq(send(f.f_sock, &m, sizeof(m.hdr) + 3, MSG_NOSIGNAL),
	    (ssize_t)sizeof(m.hdr) + 3);
	stall_expect_timeout(&f, t0, STALL_BOUND_MS, "half a payload");
	vuf_fini(&f);
}

/* Requests sent, replies never read: the child's sends must not block. */
Test(session, unread_replies_time_out)
{
	const char		*sock = it_path("rng.sock");
	struct vhost_user_header hdr;
	struct pollfd		 pfd;
	struct vuf		 f;
	unsigned int		 n = 0;
	long			 t0, last;
	ssize_t			 w;

	start_device(it_fmt("rng,name=dev,socket=%s,restart=never", sock));
	vuf_init(&f);
	cr_assert_eq(vuf_connect(&f, sock), 0, "%s", vuf_error(&f));
	memset(&hdr, 0, sizeof(hdr));
	hdr.request = VHOST_USER_GET_FEATURES;
	hdr.flags = VHOST_USER_VERSION;
	/*
	 * Send until the child stops taking requests for a while: its replies
	 * filled our receive queue and it is stuck sending one.
	 */
	t0 = last = now_ms();
	while (now_ms() - last < 500) {
		w = send(f.f_sock, &hdr, sizeof(hdr), MSG_NOSIGNAL |
		    MSG_DONTWAIT);
		if (w == (ssize_t)sizeof(hdr)) {
			n++;
			last = now_ms();
			continue;
		}
		if (w == -1 && errno == EAGAIN) {
			pfd.fd = f.f_sock;
			pfd.events = POLLOUT;
			(void)poll(&pfd, 1, 100);
			continue;
		}
		break;		/* the child already hung up */
	}
	cr_assert_gt(n, 100, "only %u requests went through", n);
	fprintf(stderr, "unread replies: %u requests sent\n", n);
	/* Not read: vuf_wait_hangup reads, so wait for RDHUP instead. */
	pfd.fd = f.f_sock;
	pfd.events = POLLRDHUP;
	cr_assert_eq(poll(&pfd, 1, HANG_MS), 1, "the child is stuck sending "
	    "a reply after %ld ms", now_ms() - t0);
	stall_expect_timeout(&f, t0, STALL_BOUND_MS + 1000,
	    "replies never read");
	vuf_fini(&f);
}

/*
 * A call fd that would block: a blocking eventfd at its maximum count.
 * eventfd_write on it sleeps until someone reads, which this front end
 * never does.
 */
Test(session, blocking_call_fd_times_out)
{
	const char	*sock = it_path("rng.sock");
	struct vuf_opts	 o;
	struct vuf_seg	 seg;
	struct vuf	 f;
	uint8_t		*buf;
	uint64_t	 idx = 0;
	int		 efd;
	long		 t0;

	start_device(it_fmt("rng,name=dev,socket=%s,restart=never", sock));
	vuf_init(&f);
	memset(&o, 0, sizeof(o));
	o.o_mem_size = 1 << 20;
	cr_assert_eq(vuf_setup(&f, sock, &o), 0, "%s", vuf_error(&f));
	cr_assert_geq(efd = eventfd(0, EFD_CLOEXEC), 0);
	cr_assert_eq(eventfd_write(efd, 0xfffffffffffffffeull), 0);
	cr_assert_eq(vuf_request(&f, VHOST_USER_SET_VRING_CALL, &idx,
	    sizeof(idx), &efd, 1, NULL, 0), 0, "%s", vuf_error(&f));
	close(efd);
	cr_assert_not_null(buf = vuf_alloc(&f, 64, 64, &seg.sg_gpa));
	seg.sg_len = 64;
	seg.sg_write = true;
	cr_assert_geq(vuf_vq_add(&f, 0, &seg, 1, false, NULL), 0);
	t0 = now_ms();
	cr_assert_eq(vuf_vq_kick(&f, 0, true), 0);
	stall_expect_timeout(&f, t0, CALL_BOUND_MS, "blocking call fd");
	vuf_fini(&f);
}

/*
 * A call fd that is a full pipe: the device must not block on it; it
 * drops the signal (the front end has unread ones) and serves on.
 */
Test(session, full_pipe_call_fd_does_not_block)
{
	const char	*sock = it_path("rng.sock");
	struct vuf_opts	 o;
	struct vuf_seg	 seg;
	struct vuf	 f;
	uint8_t		*buf, junk[4096];
	uint64_t	 idx = 0;
	uint64_t	 features;
	int		 p[2], i;
	long		 deadline;

	start_device(it_fmt("rng,name=dev,socket=%s,restart=never", sock));
	vuf_init(&f);
	memset(&o, 0, sizeof(o));
	o.o_mem_size = 1 << 20;
	cr_assert_eq(vuf_setup(&f, sock, &o), 0, "%s", vuf_error(&f));
	cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	memset(junk, 0, sizeof(junk));
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	/* The child's end blocks: only our read end stays non-blocking. */
	cr_assert_eq(fcntl(p[1], F_SETFL, 0), 0);
	cr_assert_eq(vuf_request(&f, VHOST_USER_SET_VRING_CALL, &idx,
	    sizeof(idx), &p[1], 1, NULL, 0), 0, "%s", vuf_error(&f));
	close(p[1]);
	cr_assert_not_null(buf = vuf_alloc(&f, 64, 64, &seg.sg_gpa));
	seg.sg_len = 64;
	seg.sg_write = true;
	for (i = 0; i < 3; i++) {
		cr_assert_geq(vuf_vq_add(&f, 0, &seg, 1, false, NULL), 0);
		cr_assert_eq(vuf_vq_kick(&f, 0, true), 0);
		deadline = now_ms() + VPROC_TIMEOUT_MS;
		while (vuf_vq_pending(&f, 0) == 0) {
			cr_assert_lt(now_ms(), deadline, "request %d not "
			    "served", i);
			usleep(1000);
		}
		cr_assert_eq(vuf_vq_reap(&f, 0, (struct vuf_used[1]){}, 1), 1);
	}
	/* And the control socket is served. */
	cr_assert_eq(vuf_request(&f, VHOST_USER_GET_FEATURES, NULL, 0, NULL,
	    0, &(struct vhost_user_msg){}, sizeof(uint64_t)), 0, "%s",
	    vuf_error(&f));
	features = f.f_dev_features;
	cr_assert_neq(features, 0);
	vuf_fini(&f);
	close(p[0]);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, NULL), 0);
	assert_child_status(0);
}
