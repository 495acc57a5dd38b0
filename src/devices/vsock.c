/*
 * vsock.c - virtio-vsock (virtio 1.2, 5.10) in the hybrid convention of
 * Firecracker and vhost-device-vsock: guest stream sockets reach host
 * unix sockets.  This file: the keys, the parent half (uds-path, the
 * broker channel) and the device type.  The protocol core is
 * vsock_proto.c / vsock_conn.c (no system calls), the CONNECT line and
 * broker records vsock_uds.c, the parent's broker vsock_broker.c, the
 * child's queues vsock_dev.c and its host sockets vsock_host.c.
 *
 *   host -> guest: a host program connects to uds-path and writes
 *   "CONNECT <port>\n"; once the guest's listener on <port> accepted it
 *   reads "OK <host_port>\n", then the stream is the connection (else
 *   the socket is closed).
 *   guest -> host: a guest connect to CID 2 port P reaches the unix
 *   socket listening at "<uds-path>_<P>".
 *
 * The jail stays empty.  The host binds uds-path before the first child
 * (a DKF_LISTEN key: race-free in its directory, owned and removed by
 * the parent like the vhost-user socket); the child only accepts on it.
 * The child has no socket() or connect(): for a guest connect it asks
 * the parent over a SOCK_SEQPACKET socketpair (a fixed 16-byte record),
 * and the parent's broker (vsock_broker.c) validates the port, applies
 * a budget, connects to exactly <uds-path>_<P> in the directory it
 * opened at start-up, without following a symbolic link there, and
 * only to a socket the child's own uid could connect to (or one owned
 * by vhostd's user), and passes the connected socket back.  The channel
 * is made afresh for each child (vsock_spawn), so nothing a child leaves
 * queued in it reaches the next one.
 *
 * SEQPACKET is not offered: the host ends are stream sockets, and
 * QEMU 7.2's vhost-user-vsock does not pass the feature through.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/util.h"
#include "device.h"
#include "vsock_dev.h"

static const struct dev_key vsock_keys[VSOCK_K_COUNT] = { VSOCK_KEY_ROWS };

/* Make the broker channel: the child's end in res, the parent's too. */
static int
vsock_channel(int *child, int *parent)
{
	int	sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0, sv) == -1)
		return -errno;
	*child = sv[0];
	*parent = sv[1];
	return 0;
}

/*
 * Open uds-path's directory once (the broker's connects are made
 * relative to it) and keep its last component.
 */
static int
vsock_parent_new(const char *path, struct vsock_parent **out, char *err,
    size_t errlen)
{
	struct vsock_parent	*vp;
	const char		*slash = strrchr(path, '/');
	char			 dir[4096];
	char			 probe[VSOCK_UDS_PATH_MAX];
	int			 rc;

	if ((vp = calloc(1, sizeof(*vp))) == NULL)
		return -ENOMEM;
	vp->vp_dirfd = -1;
	ratelimit_init(&vp->vp_budget, VSOCK_BROKER_BURST, VSOCK_BROKER_RATE);
	ratelimit_log_init(&vp->vp_log, 0, 0);
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	snprintf(vp->vp_base, sizeof(vp->vp_base), "%s",
	    slash != NULL ? slash + 1 : path);
	/* The longest "<base>_<port>" must fit a socket address. */
	if (slash != NULL && slash[1] == '\0') {
		snprintf(err, errlen, "uds-path: '%s' names a directory", path);
		free(vp);
		return -EINVAL;
	}
	if ((rc = vsock_uds_port_path(vp->vp_base, 0xfffffffeu, probe,
	    sizeof(probe))) < 0) {
		snprintf(err, errlen, "uds-path: the last component of '%s' "
		    "is too long for <uds-path>_<port> (at most %zu bytes)",
		    path, sizeof(probe) - 1 - 11);
		free(vp);
		return rc;
	}
	if ((vp->vp_dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		rc = -errno;
		snprintf(err, errlen, "uds-path: directory %s: %s", dir,
		    strerror(errno));
		free(vp);
		return rc;
	}
	*out = vp;
	return 0;
}

static void
vsock_close(struct device_res *res)
{
	struct vsock_parent	*vp = res->dr_parent;

	if (vp == NULL)
		return;
	close_reset(&vp->vp_dirfd);
	free(vp);
	res->dr_parent = NULL;
}

/*
 * Parent: the host already bound uds-path (DKF_LISTEN) and put its fd
 * first in res; add the broker channel and the plain data.
 */
static int
vsock_open(const struct dev_options *opts, bool check_only,
    struct device_res *res, char *err, size_t errlen)
{
	struct vsock_res	 vr;
	struct vsock_parent	*vp = NULL;
	const char		*uds = dev_opt_str(opts, VSOCK_K_UDS);
	int			 child = -1, parent = -1, rc;

	if (uds == NULL) {
		snprintf(err, errlen, "uds-path=PATH is required");
		return -EINVAL;
	}
	if ((rc = vsock_parent_new(uds, &vp, err, errlen)) < 0) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		return rc;
	}
	res->dr_parent = vp;
	if (check_only)
		return 0;
	if (res->dr_nfds != 1) {
		snprintf(err, errlen, "uds-path: no listener from the host");
		return -EINVAL;
	}
	if ((rc = vsock_channel(&child, &parent)) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(-rc));
		return rc;
	}
	res->dr_broker_fd = parent;
	if ((rc = device_res_add_fd(res, child)) < 0) {
		snprintf(err, errlen, "too many descriptors");
		return rc;
	}
	memset(&vr, 0, sizeof(vr));
	vr.vsr_guest_cid = dev_opt_u64(opts, VSOCK_K_CID);
	vr.vsr_max_conns = VSOCK_DEF_MAX_CONNS;
	vr.vsr_buf_alloc = VSOCK_DEF_BUF_ALLOC;
	vr.vsr_rx_buf = VSOCK_DEF_RX_BUF;
	vr.vsr_connect_ms = VSOCK_DEF_CONNECT_MS;
	if ((rc = device_res_set_data(res, &vr, sizeof(vr))) < 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	return 0;
}

/*
 * Before each child: a fresh broker channel under the same descriptor
 * number, so records a previous child left queued, or a description it
 * changed, never reach the next one.
 */
static int
vsock_spawn(struct device_res *res)
{
	int	child = -1, parent = -1, rc;

	if (res->dr_nfds != VSOCK_NFDS || res->dr_fds[VSOCK_FD_BROKER] < 0)
		return -EINVAL;
	if ((rc = vsock_channel(&child, &parent)) < 0)
		return rc;
	if (dup3(child, res->dr_fds[VSOCK_FD_BROKER], O_CLOEXEC) == -1) {
		rc = -errno;
		close_reset(&child);
		close_reset(&parent);
		return rc;
	}
	close_reset(&child);
	close_reset(&res->dr_broker_fd);
	res->dr_broker_fd = parent;
	return 0;
}

static int
vsock_broker(struct device_res *res, const struct device_peer *peer)
{
	if (res->dr_parent == NULL || res->dr_broker_fd < 0)
		return -EINVAL;
	return vsock_broker_serve(res->dr_parent, res->dr_broker_fd, peer);
}

const struct device_type vsock_device_type = {
	.dt_name = "vsock",
	.dt_caps_type = "vsock",
	.dt_description = "virtio-vsock: guest stream sockets to host unix "
	    "sockets (hybrid vsock)",
	.dt_keys = vsock_keys,
	.dt_nkeys = VSOCK_K_COUNT,
	.dt_ops = &vsock_ops,
	/* One descriptor per connection and per pending CONNECT line. */
	.dt_rlimit_nofile = 128 + 2 * VSOCK_DEF_MAX_CONNS,
	/*
	 * Every connection full both ways: 128 * (256 + 64) KiB = 40 MiB,
	 * plus the tables and a 64 KiB packet buffer; room to spare.
	 */
	.dt_mem_limit = 96ull << 20,
	.dt_open = vsock_open,
	.dt_spawn = vsock_spawn,
	.dt_close = vsock_close,
	.dt_broker = vsock_broker,
	.dt_init = vsock_dev_init,
	.dt_num_queues = vsock_dev_num_queues,
	.dt_free = vsock_dev_free,
};
