/*
 * vsock_child.h - the jailed child's state, as vsock_dev.c (queues, the
 * engine's callbacks, set-up) and vsock_host.c (host sockets, the
 * broker channel, the actions of the protocol core) share it.  Internal
 * to the vsock device.
 *
 * Every host descriptor is non-blocking and lives in one epoll set of
 * the device's own (created in dt_init), which the engine's loop
 * watches as one descriptor (vu_dev_watch): the number of connections
 * is not bounded by the loop's watch table, and each descriptor has the
 * events it needs (EPOLLIN only while the guest has credit and the
 * staging buffer has room, EPOLLOUT only while bytes wait for the host
 * peer).  A descriptor with nothing wanted is out of the set, so a
 * peer's hang-up cannot make the loop spin.
 */
#ifndef VHOSTD_DEVICES_VSOCK_CHILD_H
#define VHOSTD_DEVICES_VSOCK_CHILD_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/ratelimit.h"
#include "../vhost/vhost.h"
#include "vsock_dev.h"
#include "vsock_proto.h"
#include "vsock_uds.h"

/* Host clients still writing their CONNECT line. */
#define VSOCK_PENDING_MAX	32
/* Events taken from the device's epoll set per wake-up. */
#define VSOCK_EPOLL_BATCH	64
/* The device's timer: handshake and CONNECT-line deadlines. */
#define VSOCK_TICK_MS		250

/* epoll data: a tag in the high 32 bits, an index or id in the low. */
#define VSOCK_TAG_LISTEN	1ull
#define VSOCK_TAG_BROKER	2ull
#define VSOCK_TAG_TIMER		3ull
#define VSOCK_TAG_PENDING	4ull
#define VSOCK_TAG_CONN		5ull

struct vsock_pending {
	int			 pc_fd;		/* -1: free */
	uint64_t		 pc_since_ms;
	struct vsock_uds_line	 pc_line;
};

/* The host descriptor of a connection, by slot of its id. */
struct vsock_hfd {
	int		 hf_fd;		/* -1: none */
	uint32_t	 hf_id;
	uint32_t	 hf_events;	/* registered events, 0: not in set */
	bool		 hf_want_in;
	bool		 hf_want_out;
};

struct vsock_child {
	struct vsock		*vc_core;
	struct vsock_res	 vc_res;
	struct vu_dev		*vc_dev;	/* the session's engine */
	int			 vc_listen_fd;
	int			 vc_broker_fd;
	int			 vc_epfd;
	int			 vc_timerfd;
	bool			 vc_watching;	/* epfd watched by the loop */
	bool			 vc_listening;	/* listener in the set */
	bool			 vc_event_due;	/* TRANSPORT_RESET to send */
	struct vsock_pending	 vc_pending[VSOCK_PENDING_MAX];
	unsigned int		 vc_npending;
	struct vsock_hfd	*vc_hfd;	/* vsr_max_conns slots */
	struct ratelimit_log	 vc_log;	/* what the guest or peers cause */
	uint64_t		 vc_broker_sent;
	struct virtq_elem	 vc_elem;
	uint8_t			 vc_buf[VSOCK_HDR_SIZE + VSOCK_MAX_PKT];
};

/* vsock_host.c */

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t vsock_now_ms(void);
/* Add the listener, the broker channel and the timer to the set. */
int	vsock_host_setup(struct vsock_child *vc);
/* The device's epoll set is readable: run a batch of its events. */
void	vsock_host_events(struct vsock_child *vc);
/* Carry out what the protocol core asks of the host side. */
void	vsock_host_actions(struct vsock_child *vc);
/* Close every host descriptor (transport reset, end). */
void	vsock_host_close_all(struct vsock_child *vc);

/* vsock_dev.c */

/* Fill the guest's RX buffers with what the core has (under a budget). */
void	vsock_rx_run(struct vsock_child *vc);

#endif /* VHOSTD_DEVICES_VSOCK_CHILD_H */
