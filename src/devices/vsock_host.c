/*
 * vsock_host.c - the child's host side: the uds-path listener and the
 * CONNECT lines of host clients, the broker channel to the parent, the
 * host end of every connection, and the actions of the protocol core
 * (vsock_proto.h) carried out on them.  Every descriptor is
 * non-blocking and in the device's epoll set (vsock_child.h).
 *
 * Bounds: at most VSOCK_PENDING_MAX clients writing their CONNECT line
 * (the listener leaves the set while that many wait; each has
 * vsr_connect_ms to finish the line), at most vsr_max_conns connections
 * (the core's table), and reads never take more than the core has room
 * for (vsock_host_rx_room: the guest's credit and the staging buffer),
 * so a peer that writes without end, or one that never reads, costs a
 * fixed amount of memory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/util.h"
#include "vsock_child.h"
#include "vsock_int.h"

uint64_t
vsock_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
ep_set(struct vsock_child *vc, int op, int fd, uint32_t events, uint64_t tag,
    uint32_t low)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = tag << 32 | low;
	if (epoll_ctl(vc->vc_epfd, op, fd, op == EPOLL_CTL_DEL ? NULL : &ev) ==
	    -1)
		return -errno;
	return 0;
}

static struct vsock_hfd *
hfd_of(struct vsock_child *vc, uint32_t id)
{
	struct vsock_hfd	*h;

	if ((id & SLOT_MASK) >= vc->vc_res.vsr_max_conns)
		return NULL;
	h = &vc->vc_hfd[id & SLOT_MASK];
	return h->hf_fd >= 0 && h->hf_id == id ? h : NULL;
}

/* Register the events h wants now (none: out of the set). */
static void
hfd_update(struct vsock_child *vc, struct vsock_hfd *h)
{
	uint32_t	want = (h->hf_want_in ? EPOLLIN : 0) |
			    (h->hf_want_out ? EPOLLOUT : 0);
	int		rc = 0;

	if (want == h->hf_events)
		return;
	if (want == 0)
		rc = ep_set(vc, EPOLL_CTL_DEL, h->hf_fd, 0, 0, 0);
	else
		rc = ep_set(vc, h->hf_events == 0 ? EPOLL_CTL_ADD :
		    EPOLL_CTL_MOD, h->hf_fd, want, VSOCK_TAG_CONN, h->hf_id);
	if (rc < 0) {
		ratelimit_warnx(&vc->vc_log, ratelimit_now(), "vsock: epoll: "
		    "%s; resetting the connection", strerror(-rc));
		h->hf_events = 0;
		(void)vsock_host_closed(vc->vc_core, h->hf_id);
		return;
	}
	h->hf_events = want;
}

/* The core took fd for connection id: track it. */
static void
hfd_attach(struct vsock_child *vc, uint32_t id, int fd)
{
	struct vsock_hfd	*h = &vc->vc_hfd[id & SLOT_MASK];

	if (h->hf_fd >= 0) {
		/* Cannot happen: the core closes before it reuses a slot. */
		ratelimit_warnx(&vc->vc_log, ratelimit_now(), "vsock: slot %u "
		    "still had a descriptor; closed", id & SLOT_MASK);
		if (h->hf_events != 0)
			(void)ep_set(vc, EPOLL_CTL_DEL, h->hf_fd, 0, 0, 0);
		close_reset(&h->hf_fd);
	}
	memset(h, 0, sizeof(*h));
	h->hf_fd = fd;
	h->hf_id = id;
}

static void
hfd_close(struct vsock_child *vc, struct vsock_hfd *h)
{
	if (h->hf_events != 0)
		(void)ep_set(vc, EPOLL_CTL_DEL, h->hf_fd, 0, 0, 0);
	close_reset(&h->hf_fd);
	memset(h, 0, sizeof(*h));
	h->hf_fd = -1;
}

/* Write what is staged for the host peer, as far as it takes it. */
static void
host_write(struct vsock_child *vc, struct vsock_hfd *h)
{
	struct iovec	iov[2];
	uint32_t	id = h->hf_id;
	ssize_t		n;
	int		cnt;

	for (;;) {
		if (vsock_host_tx_peek(vc->vc_core, id, iov, &cnt) < 0)
			return;
		if (cnt == 0) {
			h->hf_want_out = false;
			break;
		}
		n = writev(h->hf_fd, iov, cnt);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			h->hf_want_out = true;
			break;
		}
		if (n <= 0) {
			(void)vsock_host_closed(vc->vc_core, id);
			return;
		}
		(void)vsock_host_tx_done(vc->vc_core, id, (size_t)n);
		/* tx_done may have closed it (the guest's close drained). */
		if ((h = hfd_of(vc, id)) == NULL)
			return;
	}
	hfd_update(vc, h);
}

/* Read what the guest has room for. */
static void
host_read(struct vsock_child *vc, struct vsock_hfd *h)
{
	size_t	room = vsock_host_rx_room(vc->vc_core, h->hf_id);
	ssize_t	n;

	if (room == 0) {
		h->hf_want_in = false;
		hfd_update(vc, h);
		return;
	}
	room = MIN(room, (size_t)VSOCK_MAX_PKT);
	n = read(h->hf_fd, vc->vc_buf, room);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		(void)vsock_host_closed(vc->vc_core, h->hf_id);
		return;
	}
	if (n == 0) {
		h->hf_want_in = false;
		hfd_update(vc, h);
		(void)vsock_host_eof(vc->vc_core, h->hf_id);
		return;
	}
	if (vsock_host_data(vc->vc_core, h->hf_id, vc->vc_buf, (size_t)n) < 0) {
		(void)vsock_host_closed(vc->vc_core, h->hf_id);
		return;
	}
	if (vsock_host_rx_room(vc->vc_core, h->hf_id) == 0) {
		h->hf_want_in = false;
		hfd_update(vc, h);
	}
}

/* Ask the parent to connect guest connection id to <uds-path>_<port>. */
static void
broker_ask(struct vsock_child *vc, uint32_t id, uint32_t port)
{
	struct vsock_broker_req	req = { .br_seq = id, .br_port = port };
	uint8_t			wire[VSOCK_BROKER_REC_SIZE];

	vsock_broker_req_encode(&req, wire);
	/* One write is one record (SOCK_SEQPACKET, non-blocking). */
	if (write(vc->vc_broker_fd, wire, sizeof(wire)) !=
	    (ssize_t)sizeof(wire)) {
		ratelimit_warnx(&vc->vc_log, ratelimit_now(), "vsock: cannot "
		    "ask the parent for port %u: %s", port, strerror(errno));
		(void)vsock_host_connect_failed(vc->vc_core, id);
		return;
	}
	vc->vc_broker_sent++;
}

void
vsock_host_actions(struct vsock_child *vc)
{
	struct vsock_action	 a;
	struct vsock_hfd	*h;

	while (vsock_action_next(vc->vc_core, &a) == 1) {
		if (a.va_type == VSOCK_ACT_BROKER_CONNECT) {
			broker_ask(vc, a.va_conn, a.va_port);
			continue;
		}
		if ((h = hfd_of(vc, a.va_conn)) == NULL)
			continue;
		switch (a.va_type) {
		case VSOCK_ACT_HOST_WRITE:
			host_write(vc, h);
			break;
		case VSOCK_ACT_HOST_READ:
			h->hf_want_in = true;
			hfd_update(vc, h);
			break;
		case VSOCK_ACT_HOST_SHUT_WR:
			(void)shutdown(h->hf_fd, SHUT_WR);
			break;
		case VSOCK_ACT_HOST_SHUT_RD:
			(void)shutdown(h->hf_fd, SHUT_RD);
			h->hf_want_in = false;
			hfd_update(vc, h);
			break;
		case VSOCK_ACT_HOST_CLOSE:
			hfd_close(vc, h);
			break;
		default:
			break;
		}
	}
}

/* --- CONNECT lines ---------------------------------------------------- */

static void
listen_set(struct vsock_child *vc, bool on)
{
	if (on == vc->vc_listening)
		return;
	if (ep_set(vc, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, vc->vc_listen_fd,
	    EPOLLIN, VSOCK_TAG_LISTEN, 0) == 0)
		vc->vc_listening = on;
}

static void
pending_drop(struct vsock_child *vc, struct vsock_pending *p, bool close_it)
{
	(void)ep_set(vc, EPOLL_CTL_DEL, p->pc_fd, 0, 0, 0);
	if (close_it)
		close_reset(&p->pc_fd);
	p->pc_fd = -1;
	vc->vc_npending--;
	listen_set(vc, true);
}

static void
accept_clients(struct vsock_child *vc)
{
	struct vsock_pending	*p;
	unsigned int		 i, n;
	int			 fd;

	for (n = 0; n < VSOCK_PENDING_MAX; n++) {
		if (vc->vc_npending == VSOCK_PENDING_MAX) {
			/* The backlog holds the rest until a line is done. */
			listen_set(vc, false);
			return;
		}
		fd = accept4(vc->vc_listen_fd, NULL, NULL, SOCK_CLOEXEC |
		    SOCK_NONBLOCK);
		if (fd < 0)
			return;
		for (i = 0; vc->vc_pending[i].pc_fd >= 0; i++)
			;
		p = &vc->vc_pending[i];
		p->pc_fd = fd;
		p->pc_since_ms = vsock_now_ms();
		vsock_uds_line_init(&p->pc_line);
		if (ep_set(vc, EPOLL_CTL_ADD, fd, EPOLLIN, VSOCK_TAG_PENDING,
		    i) < 0) {
			close_reset(&p->pc_fd);
			continue;
		}
		vc->vc_npending++;
	}
}

/* Bytes of a CONNECT line: peek, parse, take only the line's bytes. */
static void
pending_read(struct vsock_child *vc, struct vsock_pending *p)
{
	char		buf[VSOCK_UDS_LINE_MAX];
	uint32_t	port, id;
	size_t		used = 0;
	ssize_t		n;
	int		rc, fd;

	n = recv(p->pc_fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		pending_drop(vc, p, true);
		return;
	}
	rc = vsock_uds_line_feed(&p->pc_line, buf, (size_t)n, &used, &port);
	if (used > 0 && recv(p->pc_fd, buf, used, MSG_DONTWAIT) !=
	    (ssize_t)used)
		rc = -EIO;
	if (rc == 0)
		return;
	if (rc < 0) {
		ratelimit_warnx(&vc->vc_log, ratelimit_now(), "vsock: a host "
		    "client on uds-path sent a bad CONNECT line (%s); closed",
		    strerror(-rc));
		pending_drop(vc, p, true);
		return;
	}
	fd = p->pc_fd;
	pending_drop(vc, p, false);
	if ((rc = vsock_host_connect(vc->vc_core, fd, port, &id)) < 0) {
		ratelimit_warnx(&vc->vc_log, ratelimit_now(), "vsock: CONNECT "
		    "%u refused: %s", port, strerror(-rc));
		close_reset(&fd);
		return;
	}
	hfd_attach(vc, id, fd);
}

/* --- the broker's answers ------------------------------------------- */

static void
broker_read(struct vsock_child *vc)
{
	struct vsock_broker_resp	 r;
	uint8_t				 wire[VSOCK_BROKER_REC_SIZE];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}				 cm;
	struct iovec			 iov = { wire, sizeof(wire) };
	struct msghdr			 msg;
	struct cmsghdr			*c;
	unsigned int			 i;
	ssize_t				 n;
	int				 fd;

	for (i = 0; i < VSOCK_EPOLL_BATCH; i++) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		n = recvmsg(vc->vc_broker_fd, &msg, MSG_DONTWAIT |
		    MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		fd = -1;
		c = CMSG_FIRSTHDR(&msg);
		if (c != NULL && c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
		if (vsock_broker_resp_decode(wire, (size_t)n, &r) < 0) {
			close_reset(&fd);
			continue;
		}
		if (r.bp_error != 0 || fd < 0) {
			close_reset(&fd);
			log_debug("vsock: the parent could not connect: %s",
			    strerror(r.bp_error));
			(void)vsock_host_connect_failed(vc->vc_core, r.bp_seq);
			continue;
		}
		if (vsock_host_connected(vc->vc_core, r.bp_seq, fd) < 0) {
			close_reset(&fd);	/* reset or timed out meanwhile */
			continue;
		}
		hfd_attach(vc, r.bp_seq, fd);
	}
}

/* --- the timer ------------------------------------------------------- */

static void
timer_run(struct vsock_child *vc)
{
	uint64_t	ticks, now = vsock_now_ms();
	unsigned int	i;

	(void)!read(vc->vc_timerfd, &ticks, sizeof(ticks));
	vsock_tick(vc->vc_core, now);
	for (i = 0; i < VSOCK_PENDING_MAX; i++)
		if (vc->vc_pending[i].pc_fd >= 0 &&
		    now - vc->vc_pending[i].pc_since_ms >
		    vc->vc_res.vsr_connect_ms)
			pending_drop(vc, &vc->vc_pending[i], true);
}

int
vsock_host_setup(struct vsock_child *vc)
{
	int	rc;

	listen_set(vc, true);
	if (!vc->vc_listening)
		return -EINVAL;
	if ((rc = ep_set(vc, EPOLL_CTL_ADD, vc->vc_broker_fd, EPOLLIN,
	    VSOCK_TAG_BROKER, 0)) < 0 ||
	    (rc = ep_set(vc, EPOLL_CTL_ADD, vc->vc_timerfd, EPOLLIN,
	    VSOCK_TAG_TIMER, 0)) < 0)
		return rc;
	return 0;
}

void
vsock_host_events(struct vsock_child *vc)
{
	struct epoll_event	 ev[VSOCK_EPOLL_BATCH];
	struct vsock_hfd	*h;
	uint32_t		 low;
	int			 n, i;

	n = epoll_wait(vc->vc_epfd, ev, VSOCK_EPOLL_BATCH, 0);
	for (i = 0; i < n; i++) {
		low = (uint32_t)ev[i].data.u64;
		switch (ev[i].data.u64 >> 32) {
		case VSOCK_TAG_LISTEN:
			accept_clients(vc);
			break;
		case VSOCK_TAG_BROKER:
			broker_read(vc);
			break;
		case VSOCK_TAG_TIMER:
			timer_run(vc);
			break;
		case VSOCK_TAG_PENDING:
			if (low < VSOCK_PENDING_MAX &&
			    vc->vc_pending[low].pc_fd >= 0)
				pending_read(vc, &vc->vc_pending[low]);
			break;
		case VSOCK_TAG_CONN:
			/* Stale when an earlier event of the batch closed it. */
			if ((h = hfd_of(vc, low)) == NULL)
				break;
			if ((ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) &&
			    h->hf_want_out)
				host_write(vc, h);
			if ((h = hfd_of(vc, low)) != NULL &&
			    (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) &&
			    h->hf_want_in)
				host_read(vc, h);
			break;
		default:
			break;
		}
		vsock_host_actions(vc);
	}
	vsock_rx_run(vc);
}

void
vsock_host_close_all(struct vsock_child *vc)
{
	unsigned int	i;

	for (i = 0; i < vc->vc_res.vsr_max_conns; i++)
		if (vc->vc_hfd[i].hf_fd >= 0)
			hfd_close(vc, &vc->vc_hfd[i]);
	for (i = 0; i < VSOCK_PENDING_MAX; i++)
		if (vc->vc_pending[i].pc_fd >= 0)
			pending_drop(vc, &vc->vc_pending[i], true);
}
