/*
 * vuf_vsock.h - a virtio-vsock driver for the in-tree front end ("vsv"):
 * what the guest's vsock transport does, small enough for tests.  One
 * thread drives it: rx buffers posted and reposted, tx packets sent from
 * a pool of buffers, the event queue read, a table of stream connections
 * with the credit rules of virtio 1.2 5.10.6.3 (we advertise buf_alloc
 * and fwd_cnt, and never send more than the device's credit).
 *
 * Guest ports: connections we open use local ports from 50000 up.  A
 * listener port accepts every REQUEST to it (RESPONSE at once); accepted
 * connections wait in the table for vsv_accept.
 *
 * Checks a test may assert: c_credit_violation (the device sent more than
 * the buf_alloc we advertised minus what we had not consumed),
 * v_bad_packets (headers that did not make sense).
 *
 * Every function returns 0 (or a count, or an index) or -errno, with a
 * message in vuf_error(&v->v_f).
 */
#ifndef VHOSTD_TESTS_VUF_VSOCK_H
#define VHOSTD_TESTS_VUF_VSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vuf.h"

#define VSV_MAX_CONNS	128
#define VSV_NRX		128		/* rx buffers posted */
#define VSV_RX_PAYLOAD	4096		/* payload room of each (Linux's) */
#define VSV_NTX		64		/* tx buffers */
#define VSV_TX_PAYLOAD	4096
#define VSV_NEV		4		/* event buffers */
#define VSV_MAX_LISTEN	8

enum vsv_state {
	VSV_FREE = 0,
	VSV_CONNECTING,		/* REQUEST sent */
	VSV_OPEN,
	VSV_RESET,		/* RST received (or refused) */
};

struct vsv_conn {
	enum vsv_state	 c_state;
	bool		 c_accepted;	/* incoming, not yet vsv_accept()ed */
	uint32_t	 c_lport;	/* guest port */
	uint32_t	 c_rport;	/* host port */
	uint8_t		 c_peer_shut;	/* SHUTDOWN flags the device sent */
	uint8_t		 c_local_shut;
	uint32_t	 c_buf_alloc;	/* what we advertise */
	uint32_t	 c_rx_cnt;	/* bytes received */
	uint32_t	 c_fwd_cnt;	/* bytes consumed by the test */
	uint32_t	 c_last_fwd;	/* fwd_cnt the device last heard */
	uint32_t	 c_tx_cnt;	/* bytes sent */
	uint32_t	 c_peer_buf_alloc;
	uint32_t	 c_peer_fwd_cnt;
	uint8_t		*c_data;	/* received, not consumed */
	size_t		 c_len;
	uint32_t	 c_max_unconsumed;	/* most we ever held */
	bool		 c_credit_violation;
};

struct vsv {
	struct vuf	 v_f;
	uint64_t	 v_cid;
	struct vsv_conn	 v_conn[VSV_MAX_CONNS];
	uint32_t	 v_listen[VSV_MAX_LISTEN];
	unsigned int	 v_nlisten;
	uint32_t	 v_next_port;
	uint32_t	 v_buf_alloc;	/* for new connections */
	uint64_t	 v_events;	/* TRANSPORT_RESET events seen */
	uint64_t	 v_bad_packets;
	uint64_t	 v_packets;
	uint8_t		*v_rx;		/* VSV_NRX buffers */
	uint64_t	 v_rx_gpa;
	uint8_t		*v_tx;		/* VSV_NTX buffers */
	uint64_t	 v_tx_gpa;
	bool		 v_tx_busy[VSV_NTX];
	uint8_t		*v_ev;
	uint64_t	 v_ev_gpa;
};

/*
 * Connect to the vhost-user socket at path, bring the three queues up,
 * check the config space's guest_cid against cid, post rx and event
 * buffers, and wait for the TRANSPORT_RESET event a new back end sends
 * (v_events is then 1).  buf_alloc: what connections advertise (0:
 * 256 KiB).  Listeners set with vsv_listen before (on a zeroed or
 * stopped struct vsv) are kept: REQUESTs may come as soon as rx is up.
 */
int	vsv_start(struct vsv *v, const char *path, uint64_t cid,
	    uint32_t buf_alloc);
void	vsv_stop(struct vsv *v);
/*
 * The back end went away (its child was killed): connect again to path
 * (retrying until timeout_ms), negotiate as before, start every ring
 * where its used ring stands (as QEMU does for a back end that cannot
 * answer GET_VRING_BASE), keep guest memory and the connection table,
 * and wait for the new back end's TRANSPORT_RESET (v_events + 1; every
 * connection is then VSV_RESET).
 */
int	vsv_reconnect(struct vsv *v, const char *path, int timeout_ms);

/*
 * Wait up to timeout_ms for the device (rx, tx completions, events),
 * then process everything there is.  Returns the rx packets handled, or
 * -ECONNRESET when the back end went away.
 */
int	vsv_poll(struct vsv *v, int timeout_ms);

/* Accept connections to port (RESPONSE sent at once); also before
 * vsv_start. */
int	vsv_listen(struct vsv *v, uint32_t port);
/* An accepted connection on port: its index, or -ETIMEDOUT. */
int	vsv_accept(struct vsv *v, uint32_t port, int timeout_ms);
/*
 * Connect to CID 2 port: the index once the device answered RESPONSE;
 * -ECONNREFUSED on RST; -ETIMEDOUT.
 */
int	vsv_connect(struct vsv *v, uint32_t port, int timeout_ms);

/*
 * Send len bytes within the device's credit, polling for credit as
 * needed: the bytes sent (short on timeout; timeout 0 sends what the
 * credit allows now), or -errno (-ECONNRESET).
 */
ssize_t	vsv_send(struct vsv *v, int c, const void *buf, size_t len,
	    int timeout_ms);
/*
 * Take up to len received bytes (waiting up to timeout_ms for some);
 * consuming them advances fwd_cnt and tells the device when half the
 * buffer was freed.  0 at EOF (the device's SHUTDOWN(SEND) and nothing
 * left), -EAGAIN on timeout (at once with timeout 0), -ECONNRESET after
 * an RST.
 */
ssize_t	vsv_recv(struct vsv *v, int c, void *buf, size_t len,
	    int timeout_ms);
/* SHUTDOWN with flags (VIRTIO_VSOCK_SHUTDOWN_*). */
int	vsv_shutdown(struct vsv *v, int c, uint32_t flags);
/* RST and forget the connection. */
int	vsv_reset(struct vsv *v, int c);
/* Send a raw packet (header fields as given, payload len bytes). */
int	vsv_send_raw(struct vsv *v, uint32_t sport, uint32_t dport,
	    uint16_t op, uint32_t flags, const void *payload, uint32_t len);
/*
 * The same packet as a chain cut at ncuts offsets of header + payload
 * (up to VSV_SPLIT_MAX), with wo_tail a writable descriptor at the end;
 * RW data counts against the connection's credit as vsv_send's does.
 */
#define VSV_SPLIT_MAX	8
int	vsv_send_split(struct vsv *v, uint32_t sport, uint32_t dport,
	    uint16_t op, const void *payload, uint32_t len,
	    const uint32_t *cuts, unsigned int ncuts, bool wo_tail);

#endif /* VHOSTD_TESTS_VUF_VSOCK_H */
