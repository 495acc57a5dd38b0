/*
 * vsock_dev.h - the vsock device's halves, as vsock.c (type, keys,
 * parent half), vsock_broker.c (the parent's broker) and vsock_dev.c /
 * vsock_host.c (the child: queues and host sockets) share them.  Not an
 * interface for other modules: the device type is.
 *
 * What the parent hands the child: two descriptors and struct vsock_res.
 *
 *   VSOCK_FD_LISTEN  the uds-path listener (a DKF_LISTEN key: the host
 *                    binds it, owns the socket file and removes it);
 *                    host programs connect and write "CONNECT <port>\n".
 *   VSOCK_FD_BROKER  the child's end of a SOCK_SEQPACKET socketpair to
 *                    the parent, fresh for each child (vsock_spawn): the
 *                    child asks for "connect to <uds-path>_<P>" with a
 *                    16-byte record and gets the connected socket back
 *                    as SCM_RIGHTS, or an errno (vsock_uds.h).
 */
#ifndef VHOSTD_DEVICES_VSOCK_DEV_H
#define VHOSTD_DEVICES_VSOCK_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/ratelimit.h"
#include "device.h"
#include "vsock_proto.h"
#include "vsock_uds.h"

/* The device's keys (device.h), indices and rows (a macro so that the
 * test-only escape device built on vsock can extend the table). */
enum vsock_key {
	VSOCK_K_CID,
	VSOCK_K_UDS,
	VSOCK_K_COUNT
};

/*
 * guest-cid: 0-2 are reserved (hypervisor, local, host), 0xffffffff is
 * VMADDR_CID_ANY, and Linux takes only 32-bit CIDs (vhost_vsock_set_cid).
 */
#define VSOCK_KEY_ROWS \
	[VSOCK_K_CID] = { .dk_name = "guest-cid", .dk_kind = DK_UINT, \
	    .dk_min = VSOCK_CID_MIN_GUEST, .dk_max = 0xfffffffeull, \
	    .dk_default = "3", .dk_alias = "guest-cid", .dk_flags = DKF_STATUS, \
	    .dk_help = "the guest's context id (3 to 4294967294)" }, \
	[VSOCK_K_UDS] = { .dk_name = "uds-path", .dk_kind = DK_PATH, \
	    .dk_alias = "uds-path", .dk_flags = DKF_LISTEN | DKF_STATUS, \
	    .dk_help = "unix socket for host programs (CONNECT <port>); " \
	    "guest connects to port P reach <uds-path>_<P>" },

#define VSOCK_FD_LISTEN		0
#define VSOCK_FD_BROKER		1
#define VSOCK_NFDS		2

/* Plain data for the child (no pointers, no descriptor numbers). */
struct vsock_res {
	uint64_t	vsr_guest_cid;
	uint32_t	vsr_max_conns;
	uint32_t	vsr_buf_alloc;	/* guest->host bytes per connection */
	uint32_t	vsr_rx_buf;	/* host->guest bytes per connection */
	uint32_t	vsr_connect_ms;	/* handshakes, CONNECT lines */
};

/*
 * Broker budget per device: records the parent reads from a child
 * (each request, and each malformed record too), a burst then a rate per
 * second; the rest are refused with EAGAIN (the guest sees a reset).
 */
#define VSOCK_BROKER_BURST	64
#define VSOCK_BROKER_RATE	32
/* Requests handled per wake-up of the parent's loop. */
#define VSOCK_BROKER_BATCH	16
/* Over budget: the channel is not read for this long (one token). */
#define VSOCK_BROKER_PAUSE_MS	(1000 / VSOCK_BROKER_RATE)

/* What the parent keeps for a device between children (dr_parent). */
struct vsock_parent {
	int			 vp_dirfd;	/* uds-path's directory, O_PATH */
	char			 vp_base[VSOCK_UDS_PATH_MAX];	/* last part */
	struct ratelimit	 vp_budget;
	struct ratelimit_log	 vp_log;
	uint64_t		 vp_served;	/* statistics, tests */
	uint64_t		 vp_refused;
};

/*
 * Parent (vsock_broker.c): answer up to VSOCK_BROKER_BATCH requests
 * waiting on fd (the parent's end of the broker channel) for a child
 * with peer's credentials.  Never blocks: the connect is non-blocking
 * (a unix stream connect either completes or fails at once: EAGAIN when
 * the listener's backlog is full), the answers are sent with
 * MSG_DONTWAIT.  0; VSOCK_BROKER_PAUSE_MS (> 0) when the budget is
 * spent: do not read the channel for that many milliseconds; or -EPIPE
 * when the child's end is gone.
 */
int	vsock_broker_serve(struct vsock_parent *vp, int fd,
	    const struct device_peer *peer);

/*
 * Parent: the check and connect for one port, without the channel:
 * the connected socket (CLOEXEC, non-blocking) or -errno.  Exposed for
 * the unit tests.  The rules are in vsock_broker.c.
 */
int	vsock_broker_connect(struct vsock_parent *vp, uint32_t port,
	    const struct device_peer *peer);

/* Child (vsock_dev.c). */
extern const struct vu_dev_ops vsock_ops;
int	vsock_dev_init(const struct device_child_res *res, void **statep);
uint16_t vsock_dev_num_queues(void *state);
void	vsock_dev_free(void *state);

#endif /* VHOSTD_DEVICES_VSOCK_DEV_H */
