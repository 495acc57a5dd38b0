/*
 * vsock_broker.c - the parent's half of guest-initiated vsock
 * connections.  The jailed child cannot create or connect sockets; it
 * asks over its broker channel (a SOCK_SEQPACKET socketpair, one 16-byte
 * record per request, vsock_uds.h) and the parent, running as root
 * usually, answers with a connected socket or an errno.  A taken-over
 * child is the threat model: every record is untrusted, and the parent
 * must give the child nothing it could not reach on its own.
 *
 * The rules, in order:
 *
 *   - The record must be exactly 16 bytes with the right magic and zero
 *     padding; descriptors sent along are closed.  The port is a binary
 *     u32 (not 0xffffffff): the name is formatted by the parent as
 *     "<base>_<decimal port>", so a child cannot name another file (no
 *     '/', no "..", nothing but digits after the base).
 *   - A token bucket per device, taken by every record, malformed or not
 *     (VSOCK_BROKER_BURST, then VSOCK_BROKER_RATE per second): beyond it
 *     the answer is EAGAIN (none for a malformed record) and the parent
 *     stops reading the channel until a token is back
 *     (VSOCK_BROKER_PAUSE_MS); at most VSOCK_BROKER_BATCH requests are
 *     handled per wake-up of the parent's loop, so a flooding child
 *     costs the parent a bounded share of its time.
 *   - The name is looked up in uds-path's directory, opened once at
 *     start-up (the operator's path, resolved then), with O_PATH |
 *     O_NOFOLLOW: a symbolic link planted at <uds-path>_<P> is never
 *     followed (ELOOP), whoever made it and wherever it points.  The
 *     entry must be a socket (else ECONNREFUSED) with one link (a hard
 *     link to somebody else's socket is refused with EPERM, also where
 *     fs.protected_hardlinks is off).
 *   - Not one of vhostd's own sockets (util/ownsock.h: every socket
 *     file the listener bound, by st_dev/st_ino): another device's
 *     vhost-user socket or uds-path may be named <uds-path>_<digits>
 *     (vs and vs_2 for two VMs), and a guest connected to it would be
 *     that device's front end or a host client of that other guest.
 *   - Who made it: in a directory anyone may write to (S_IWOTH, as
 *     /tmp), only a socket owned by vhostd's uid or by the directory's
 *     owner is used (EACCES otherwise): any local user can bind a
 *     socket of their own there, world-writable, and would otherwise
 *     get the guest's connections to that port.
 *   - Credentials: the socket must be one the child's own uid/gid could
 *     connect to (write permission in its mode bits for that uid, or
 *     group, or others), or be owned by the uid vhostd runs as: a socket
 *     the operator's own programs made for the guest.  Root's permission
 *     bypass never decides: an unprivileged user who can write in the
 *     directory can only add sockets they own (bind creates them with
 *     the caller's uid), so they cannot make root connect the guest to
 *     a socket they could not reach themselves.  ACLs are not consulted
 *     (a socket shared by ACL only is refused: EACCES).
 *   - The connect goes through /proc/self/fd/N of that O_PATH
 *     descriptor, so it reaches exactly the inode that was checked,
 *     even if the name is replaced meanwhile; non-blocking: a unix
 *     stream connect completes at once or fails (EAGAIN when the
 *     listener's backlog is full), so a peer that never accepts cannot
 *     stall the parent.
 *   - The answer goes back with MSG_DONTWAIT; if the child does not
 *     take it (its channel is full), the socket is closed and the
 *     child's request times out on its side.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/ownsock.h"
#include "../util/util.h"
#include "vsock_dev.h"

/* May uid/gid connect to a socket of mode/owner st (mode bits only)? */
static bool
may_connect(const struct stat *st, const struct device_peer *peer)
{
	if (st->st_uid == peer->dp_host_uid || peer->dp_uid == 0)
		return true;
	if (st->st_uid == peer->dp_uid)
		return (st->st_mode & S_IWUSR) != 0;
	if (st->st_gid == peer->dp_gid)
		return (st->st_mode & S_IWGRP) != 0;
	return (st->st_mode & S_IWOTH) != 0;
}

/*
 * Could a stranger have put the socket st there?  In a directory others
 * may write to (S_IWOTH: /tmp and the like) anyone can bind a socket of
 * their own at <uds-path>_<P>; there only one made by vhostd's user or
 * by the directory's owner (who could replace any entry anyway) is
 * used.  The directory's mode is taken at each connect.  Elsewhere only
 * its owner and its group could have made the entry: the operator's.
 */
static bool
planted_ok(const struct vsock_parent *vp, const struct stat *st,
    const struct device_peer *peer)
{
	struct stat	dst;

	if (fstat(vp->vp_dirfd, &dst) == -1)
		return false;
	if (!(dst.st_mode & S_IWOTH))
		return true;
	return st->st_uid == peer->dp_host_uid || st->st_uid == dst.st_uid;
}

int
vsock_broker_connect(struct vsock_parent *vp, uint32_t port,
    const struct device_peer *peer)
{
	struct sockaddr_un	sun;
	struct stat		st;
	char			name[VSOCK_UDS_PATH_MAX];
	int			pfd = -1, fd = -1, rc;

	if ((rc = vsock_uds_port_path(vp->vp_base, port, name,
	    sizeof(name))) < 0)
		return rc;
	if ((pfd = openat(vp->vp_dirfd, name, O_PATH | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return errno == ENOENT ? -ECONNREFUSED : -errno;
	if (fstat(pfd, &st) == -1) {
		rc = -errno;
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		rc = -ELOOP;
		goto out;
	}
	if (!S_ISSOCK(st.st_mode)) {
		rc = -ECONNREFUSED;
		goto out;
	}
	if (st.st_nlink != 1) {
		rc = -EPERM;
		goto out;
	}
	/* vhostd's own: another device's socket or uds-path, ctl. */
	if (ownsock_has(st.st_dev, st.st_ino)) {
		rc = -EACCES;
		goto out;
	}
	if (!planted_ok(vp, &st, peer)) {
		rc = -EACCES;
		goto out;
	}
	if (!may_connect(&st, peer)) {
		rc = -EACCES;
		goto out;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/proc/self/fd/%d", pfd);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		rc = -errno;
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 &&
	    errno != EINPROGRESS) {
		rc = -errno;
		close_reset(&fd);
		goto out;
	}
	rc = fd;
out:
	close_reset(&pfd);
	return rc;
}

/* Send the answer for seq: fd (if >= 0) as SCM_RIGHTS, else error. */
static void
broker_answer(struct vsock_parent *vp, int chan, uint32_t seq, int fd,
    int error)
{
	struct vsock_broker_resp	 r = { .bp_seq = seq,
					       .bp_error = error };
	uint8_t				 wire[VSOCK_BROKER_REC_SIZE];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}				 cm;
	struct iovec			 iov = { wire, sizeof(wire) };
	struct msghdr			 msg;
	struct cmsghdr			*c;

	vsock_broker_resp_encode(&r, wire);
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(chan, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
		ratelimit_warnx(&vp->vp_log, ratelimit_now(), "vsock broker: "
		    "cannot answer the child (%s); its connection is dropped",
		    strerror(errno));
}

/* Close every descriptor a (hostile) child sent along with a record. */
static void
close_passed(struct msghdr *msg)
{
	struct cmsghdr	*c;
	size_t		 i, n;
	int		 fd;

	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
			    sizeof(int));
			close_reset(&fd);
		}
	}
}

int
vsock_broker_serve(struct vsock_parent *vp, int chan,
    const struct device_peer *peer)
{
	struct vsock_broker_req	 req;
	uint8_t			 wire[VSOCK_BROKER_REC_SIZE + 1];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 8)];
	}			 cm;
	struct iovec		 iov;
	struct msghdr		 msg;
	unsigned int		 i;
	ssize_t			 n;
	int			 fd;
	bool			 bad;

	for (i = 0; i < VSOCK_BROKER_BATCH; i++) {
		iov.iov_base = wire;
		iov.iov_len = sizeof(wire);
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		n = recvmsg(chan, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		close_passed(&msg);
		if (n == 0)
			return -EPIPE;
		/*
		 * Every record takes a token, malformed ones too (they cost
		 * a recvmsg and the descriptors closed above): over budget,
		 * refuse this one and read no more until a token is back, so
		 * a flooding child cannot keep the parent busy with records
		 * of any kind.
		 */
		bad = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
		    vsock_broker_req_decode(wire, (size_t)n, &req) < 0;
		if (!ratelimit_allow(&vp->vp_budget, ratelimit_now())) {
			vp->vp_refused++;
			if (!bad)
				broker_answer(vp, chan, req.br_seq, -1, EAGAIN);
			return VSOCK_BROKER_PAUSE_MS;
		}
		if (bad) {
			vp->vp_refused++;
			ratelimit_warnx(&vp->vp_log, ratelimit_now(), "vsock "
			    "broker: malformed request from the child "
			    "(%zd bytes); ignored", n);
			continue;
		}
		fd = vsock_broker_connect(vp, req.br_port, peer);
		if (fd < 0) {
			vp->vp_refused++;
			if (fd != -ECONNREFUSED)
				ratelimit_warnx(&vp->vp_log, ratelimit_now(),
				    "vsock broker: guest connect to port %u "
				    "refused: %s_%u: %s", req.br_port,
				    vp->vp_base, req.br_port, strerror(-fd));
			broker_answer(vp, chan, req.br_seq, -1,
			    -fd <= VSOCK_BROKER_ERR_MAX ? -fd : EIO);
			continue;
		}
		vp->vp_served++;
		broker_answer(vp, chan, req.br_seq, fd, 0);
		close_reset(&fd);
	}
	return 0;
}
