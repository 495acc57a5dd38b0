/*
 * vsock_itest.h - shared by the vsock integration tests: vhostd with one
 * vsock device in the test's directory, the in-tree vsock driver
 * (vuf_vsock.h) as the guest, host programs as threads speaking the
 * hybrid convention, and a byte pattern both sides check.
 */
#ifndef VHOSTD_TESTS_VSOCK_ITEST_H
#define VHOSTD_TESTS_VSOCK_ITEST_H

#include <poll.h>
#include <pthread.h>
#include <time.h>

#include "devices/vsock_proto.h"
#include "itest.h"
#include "util/util.h"
#include "vuf_vsock.h"

#define VT_CID		7

static struct vsv	vt_v;

/* Byte i of stream seed: what both ends check, position by position. */
static inline uint8_t
vt_pat(uint32_t seed, uint64_t i)
{
	uint64_t	x = (i / 8) * 0x9e3779b97f4a7c15ull ^ seed;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return (uint8_t)(x >> ((i % 8) * 8));
}

static inline void
vt_fill(uint32_t seed, uint64_t off, uint8_t *buf, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		buf[i] = vt_pat(seed, off + i);
}

/* Index of the first byte of buf that is not the pattern, or n. */
static inline size_t
vt_check(uint32_t seed, uint64_t off, const uint8_t *buf, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (buf[i] != vt_pat(seed, off + i))
			return i;
	return n;
}

static inline long
vt_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* vhostd with a vsock device: vhost-user socket "vu", uds-path "vs". */
static inline void
vt_start_vhostd(void)
{
	it_start(&it_vp, "--device", it_fmt("vsock,name=vs,socket=%s,"
	    "guest-cid=%u,uds-path=%s", it_path("vu"), VT_CID,
	    it_path("vs")), NULL);
}

/* vhostd's log so far (read for up to 300 ms), for failure messages. */
static inline const char *
vt_log(void)
{
	(void)vproc_wait_log(&it_vp, "\n@@never@@", 0, 300);
	return it_vp.vp_log != NULL ? it_vp.vp_log : "";
}

/* The guest: connect to the device and bring it up. */
static inline void
vt_start_guest(uint32_t buf_alloc)
{
	cr_assert_eq(vsv_start(&vt_v, it_path("vu"), VT_CID, buf_alloc), 0,
	    "vsv_start: %s; vhostd:\n%s", vuf_error(&vt_v.v_f), vt_log());
}

static inline int
vt_unix_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Wait until fd is readable (or hung up).  true if so within ms. */
static inline bool
vt_wait_in(int fd, int ms)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1;
}

/*
 * Read a line ("OK 1073741824\n") from a host client, byte by byte so
 * that nothing after it is taken.  Its length, 0 on EOF, -1 on timeout.
 */
static inline int
vt_read_line(int fd, char *buf, size_t cap, int ms)
{
	size_t	n = 0;
	ssize_t	r;

	while (n + 1 < cap) {
		if (!vt_wait_in(fd, ms))
			return -1;
		if ((r = read(fd, buf + n, 1)) <= 0)
			return n > 0 ? (int)n : 0;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return (int)n;
}

/*
 * A host program's stream: write `out` pattern bytes (seed sseed), shut
 * down writing, read until EOF checking seed rseed.  Run as a thread.
 */
struct vt_stream {
	int		 s_fd;
	uint32_t	 s_sseed, s_rseed;
	uint64_t	 s_out;		/* bytes to send */
	uint64_t	 s_sent;	/* bytes sent so far (atomic) */
	uint64_t	 s_got;		/* bytes received (atomic) */
	uint64_t	 s_bad;		/* first mismatch + 1, 0: none */
	int		 s_err;		/* errno of a failure */
	int		 s_read_delay_us;	/* slow reader: sleep per read */
	size_t		 s_read_chunk;
};

static inline void *
vt_stream_run(void *arg)
{
	struct vt_stream	*s = arg;
	uint8_t			 buf[16384];
	struct pollfd		 pfd;
	uint64_t		 sent = 0;
	size_t			 n, k, chunk;
	ssize_t			 r;
	bool			 eof = false, shut = s->s_out == 0;

	chunk = s->s_read_chunk != 0 ? MIN(s->s_read_chunk, sizeof(buf)) :
	    (size_t)sizeof(buf);
	if (shut)
		shutdown(s->s_fd, SHUT_WR);
	while (!eof || !shut) {
		pfd.fd = s->s_fd;
		pfd.events = (eof ? 0 : POLLIN) | (shut ? 0 : POLLOUT);
		if (poll(&pfd, 1, 20000) != 1) {
			s->s_err = ETIMEDOUT;
			break;
		}
		if (!shut && (pfd.revents & POLLOUT)) {
			n = (size_t)MIN((uint64_t)sizeof(buf), s->s_out - sent);
			vt_fill(s->s_sseed, sent, buf, n);
			r = send(s->s_fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (r < 0 && errno != EAGAIN) {
				s->s_err = errno;
				break;
			}
			if (r > 0) {
				sent += (uint64_t)r;
				__atomic_store_n(&s->s_sent, sent,
				    __ATOMIC_RELAXED);
			}
			if (sent == s->s_out) {
				shutdown(s->s_fd, SHUT_WR);
				shut = true;
			}
		}
		if (!eof && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
			if (s->s_read_delay_us > 0)
				usleep((useconds_t)s->s_read_delay_us);
			r = recv(s->s_fd, buf, chunk, MSG_DONTWAIT);
			if (r < 0 && errno != EAGAIN) {
				s->s_err = errno;
				break;
			}
			if (r == 0)
				eof = true;
			if (r > 0) {
				k = vt_check(s->s_rseed, s->s_got, buf,
				    (size_t)r);
				if (k < (size_t)r && s->s_bad == 0)
					s->s_bad = s->s_got + k + 1;
				__atomic_store_n(&s->s_got, s->s_got +
				    (uint64_t)r, __ATOMIC_RELAXED);
			}
		}
	}
	return NULL;
}

/*
 * The guest's side of streams, all in this thread: on each connection
 * g_c send g_out bytes (seed g_sseed) within credit, then
 * SHUTDOWN(SEND); receive until the device's SHUTDOWN(SEND), checking
 * g_rseed, taking at most g_consume bytes per round (0: all there is; a
 * slow reader takes little).  probe(arg), if given, runs once per round.
 * 0 when every stream is done, -ETIMEDOUT, or -ECONNRESET (g_err).
 */
struct vt_gconn {
	int		 g_c;
	uint32_t	 g_sseed, g_rseed;
	uint64_t	 g_out;
	size_t		 g_consume;
	uint64_t	 g_sent, g_got, g_bad;	/* g_bad: first mismatch + 1 */
	bool		 g_shut, g_eof;
	int		 g_err;
};

static inline int
vt_guest_run(struct vt_gconn *g, unsigned int n, int timeout_ms,
    void (*probe)(void *), void *arg)
{
	static uint8_t	 buf[65536];
	struct vt_gconn	*x;
	long		 deadline = vt_now_ms() + timeout_ms;
	unsigned int	 i, done;
	size_t		 k, len;
	ssize_t		 r;

	for (;;) {
		done = 0;
		for (i = 0; i < n; i++) {
			x = &g[i];
			if (x->g_shut && x->g_eof) {
				done++;
				continue;
			}
			if (!x->g_shut) {
				len = (size_t)MIN((uint64_t)sizeof(buf),
				    x->g_out - x->g_sent);
				vt_fill(x->g_sseed, x->g_sent, buf, len);
				r = vsv_send(&vt_v, x->g_c, buf, len, 0);
				if (r < 0) {
					x->g_err = (int)-r;
					return (int)r;
				}
				x->g_sent += (uint64_t)r;
				if (x->g_sent == x->g_out) {
					if (vsv_shutdown(&vt_v, x->g_c,
					    VIRTIO_VSOCK_SHUTDOWN_SEND) < 0)
						return -EIO;
					x->g_shut = true;
				}
			}
			while (!x->g_eof) {
				len = x->g_consume != 0 ?
				    MIN(x->g_consume, sizeof(buf)) :
				    (size_t)sizeof(buf);
				r = vsv_recv(&vt_v, x->g_c, buf, len, 0);
				if (r == -EAGAIN)
					break;
				if (r == 0) {
					x->g_eof = true;
					break;
				}
				if (r < 0) {
					x->g_err = (int)-r;
					return (int)r;
				}
				k = vt_check(x->g_rseed, x->g_got, buf,
				    (size_t)r);
				if (k < (size_t)r && x->g_bad == 0)
					x->g_bad = x->g_got + k + 1;
				x->g_got += (uint64_t)r;
				if (x->g_consume != 0)
					break;
			}
		}
		if (probe != NULL)
			probe(arg);
		if (done == n)
			return 0;
		if (vt_now_ms() > deadline)
			return -ETIMEDOUT;
		if (vsv_poll(&vt_v, 2) < 0)
			return -ECONNRESET;
	}
}

/* One stream on connection c (vt_guest_run). */
static inline int
vt_guest_stream(int c, uint32_t sseed, uint64_t out, uint32_t rseed,
    uint64_t *got, uint64_t *bad, size_t consume, int timeout_ms)
{
	struct vt_gconn	g;
	int		rc;

	memset(&g, 0, sizeof(g));
	g.g_c = c;
	g.g_sseed = sseed;
	g.g_rseed = rseed;
	g.g_out = out;
	g.g_consume = consume;
	rc = vt_guest_run(&g, 1, timeout_ms, NULL, NULL);
	*got = g.g_got;
	*bad = g.g_bad;
	return rc;
}

/* A host listener at <uds-path>_<port>, mode 0600 (owned by us). */
static inline int
vt_host_listen(uint32_t port)
{
	return it_unix_socket(it_path(it_fmt("vs_%u", port)), true);
}

#endif /* VHOSTD_TESTS_VSOCK_ITEST_H */
