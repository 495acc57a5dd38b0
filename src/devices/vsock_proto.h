/*
 * vsock_proto.h - the virtio-vsock protocol core (virtio 1.2, 5.10 "Socket
 * Device"), without any system call: packet headers, their validation,
 * the connection table, per-connection credit accounting and state
 * machine, and the queue of packets for the guest.
 *
 * The device glue (not written yet) feeds it inputs and carries out its
 * outputs:
 *
 *   inputs                                  outputs
 *   vsock_guest_packet()  TX queue packet    vsock_guest_next(): next packet
 *   vsock_host_connect()  "CONNECT <port>"     for the RX queue (header +
 *   vsock_host_connected() broker gave fd      payload)
 *   vsock_host_connect_failed()              vsock_action_next(): things to
 *   vsock_host_data()     bytes read from fd   do on host fds: write the
 *   vsock_host_tx_done()  bytes written to fd  staged bytes, shutdown, close,
 *   vsock_host_eof() / vsock_host_closed()     ask the broker to connect
 *   vsock_tick()          time passes
 *   vsock_reset()         transport reset
 *
 * Host file descriptors are opaque integers to this module: it stores
 * them and reports them in actions, never calls anything on them.
 *
 * Bounds: at most vp_max_conns connections; each holds at most
 * vp_buf_alloc bytes from the guest for the host (what we advertise as
 * buf_alloc, so a guest that respects its credit never hits it, one that
 * does not is reset) and at most vp_rx_buf bytes from the host for the
 * guest (the glue reads no more than vsock_host_rx_room()).  So the
 * memory is bounded by vp_max_conns * (vp_buf_alloc + vp_rx_buf) plus
 * fixed tables, whoever stops reading.
 */
#ifndef VHOSTD_DEVICES_VSOCK_PROTO_H
#define VHOSTD_DEVICES_VSOCK_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* 5.10.2: queues. */
#define VSOCK_QUEUE_RX			0
#define VSOCK_QUEUE_TX			1
#define VSOCK_QUEUE_EVENT		2

/* 5.10.3: feature bits. */
#define VIRTIO_VSOCK_F_STREAM		0
#define VIRTIO_VSOCK_F_SEQPACKET	1

/* Well-known CIDs; guests have CID >= 3. */
#define VSOCK_CID_HOST			2
#define VSOCK_CID_MIN_GUEST		3
/* VMADDR_PORT_ANY is never a valid port on the wire. */
#define VSOCK_PORT_ANY			0xffffffffu

/* 5.10.6: types, ops, flags. */
#define VIRTIO_VSOCK_TYPE_STREAM	1
#define VIRTIO_VSOCK_TYPE_SEQPACKET	2

#define VIRTIO_VSOCK_OP_INVALID		0
#define VIRTIO_VSOCK_OP_REQUEST		1
#define VIRTIO_VSOCK_OP_RESPONSE	2
#define VIRTIO_VSOCK_OP_RST		3
#define VIRTIO_VSOCK_OP_SHUTDOWN	4
#define VIRTIO_VSOCK_OP_RW		5
#define VIRTIO_VSOCK_OP_CREDIT_UPDATE	6
#define VIRTIO_VSOCK_OP_CREDIT_REQUEST	7

#define VIRTIO_VSOCK_SHUTDOWN_RCV	1	/* sender receives no more */
#define VIRTIO_VSOCK_SHUTDOWN_SEND	2	/* sender will send no more */
#define VIRTIO_VSOCK_SHUTDOWN_MASK	3

/* 5.10.6.7: the one event. */
#define VIRTIO_VSOCK_EVENT_TRANSPORT_RESET	0
#define VSOCK_EVENT_SIZE		4

/* Header on the wire: 44 bytes, little endian, packed. */
#define VSOCK_HDR_SIZE			44
/* Largest payload of one packet (Linux: VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
#define VSOCK_MAX_PKT			(64u * 1024)

/*
 * A header in host byte order, decoded from (or to be encoded into) the
 * 44 wire bytes.  Never points into guest memory.
 */
struct virtio_vsock_hdr {
	uint64_t	src_cid;
	uint64_t	dst_cid;
	uint32_t	src_port;
	uint32_t	dst_port;
	uint32_t	len;
	uint16_t	type;
	uint16_t	op;
	uint32_t	flags;
	uint32_t	buf_alloc;
	uint32_t	fwd_cnt;
};

/* Wire bytes (copied out of guest memory once) -> host order, and back. */
void	vsock_hdr_decode(const uint8_t wire[VSOCK_HDR_SIZE],
	    struct virtio_vsock_hdr *h);
void	vsock_hdr_encode(const struct virtio_vsock_hdr *h,
	    uint8_t wire[VSOCK_HDR_SIZE]);
/* The transport-reset event (4 bytes, le32 id = 0) for the event queue. */
void	vsock_event_reset_encode(uint8_t wire[VSOCK_EVENT_SIZE]);

/* What to do with a packet from the guest (vsock_hdr_check). */
#define VSOCK_PKT_OK		0
#define VSOCK_PKT_DROP		1	/* not answerable: drop silently */
#define VSOCK_PKT_RST		2	/* answer with RST, do nothing else */

/*
 * Check a decoded header from the guest against the guest's CID, the
 * payload bytes the chain really carries (avail) and whether SEQPACKET was
 * negotiated.  src_cid must be the guest's (else DROP: the packet is
 * forged), dst_cid the host's (else RST, as Linux answers for an unknown
 * address), len <= VSOCK_MAX_PKT and <= avail (else DROP), len == 0
 * unless op is RW, type STREAM (or SEQPACKET if negotiated), op 1..7,
 * ports != VSOCK_PORT_ANY (else RST).  An RST is never answered with an
 * RST (DROP).  Returns one of VSOCK_PKT_*.
 */
int	vsock_hdr_check(const struct virtio_vsock_hdr *h, uint64_t guest_cid,
	    size_t avail, bool seqpacket);

/* Limits and defaults of the connection table. */
#define VSOCK_MAX_CONNS_LIMIT	4096
#define VSOCK_DEF_MAX_CONNS	128
#define VSOCK_DEF_BUF_ALLOC	(256u * 1024)
#define VSOCK_DEF_RX_BUF	(64u * 1024)
#define VSOCK_DEF_PORT_MIN	(1u << 30)	/* Firecracker's local ports */
#define VSOCK_DEF_PORT_MAX	((1u << 31) - 1)
#define VSOCK_DEF_CONNECT_MS	5000
#define VSOCK_DEF_CLOSE_MS	8000		/* Linux VSOCK_CLOSE_TIMEOUT */
#define VSOCK_ORPHAN_RST_MAX	64

struct vsock_params {
	uint64_t	vp_guest_cid;	/* >= 3 */
	uint32_t	vp_max_conns;	/* 1..VSOCK_MAX_CONNS_LIMIT */
	uint32_t	vp_buf_alloc;	/* guest->host bytes per connection */
	uint32_t	vp_rx_buf;	/* host->guest bytes per connection */
	uint32_t	vp_port_min;	/* host ports for CONNECT */
	uint32_t	vp_port_max;
	uint32_t	vp_connect_ms;	/* handshake timeout */
	uint32_t	vp_close_ms;	/* drain-before-close timeout */
	uint32_t	vp_cnt_base;	/* first value of the byte counters (0;
					   tests start near 2^32) */
	bool		vp_seqpacket;	/* VIRTIO_VSOCK_F_SEQPACKET acked */
};

/* Defaults for every field but vp_guest_cid (set to 3). */
void	vsock_params_default(struct vsock_params *p);

struct vsock;

/* Counters for the glue's rate-limited logs and for tests. */
struct vsock_stats {
	uint64_t	vs_dropped;	/* packets dropped (forged, short) */
	uint64_t	vs_rst_sent;	/* RSTs queued for the guest */
	uint64_t	vs_orphan_lost;	/* RSTs not queued: orphan queue full */
	uint64_t	vs_violations;	/* credit/state violations: reset */
	uint64_t	vs_refused;	/* connections refused (cap, ports) */
	uint64_t	vs_timeouts;
	size_t		vs_mem;		/* bytes of connection buffers now */
	uint32_t	vs_conns;	/* connections in use */
};

/*
 * A new, empty table.  0, -EINVAL for a bad parameter (CID < 3, zero or
 * too many connections, empty or inverted port range, zero buffers), or
 * -ENOMEM.  *out is owned by the caller: vsock_free().
 */
int	vsock_new(const struct vsock_params *p, struct vsock **out);
void	vsock_free(struct vsock *v);
void	vsock_get_stats(const struct vsock *v, struct vsock_stats *st);

/*
 * A packet from the guest's TX queue: h decoded from the wire copy,
 * payload the h->len bytes that follow it (copied out of guest memory;
 * avail = how many bytes the chain carried after the header, payload has
 * at least MIN(avail, h->len) bytes).  Validates (vsock_hdr_check), then
 * runs the state machine; outputs are queued.  0 when the packet was
 * accepted, -EPROTO when it was dropped or answered with RST (counted
 * in the stats; the glue logs rate-limited), never anything else.
 */
int	vsock_guest_packet(struct vsock *v, const struct virtio_vsock_hdr *h,
	    const void *payload, size_t avail);

/*
 * The next packet for the guest's RX queue.  cap is the payload room of
 * the guest buffer after the header.  Fills *h and up to cap bytes of buf
 * (*len, equal to h->len).  0, or -EAGAIN when nothing is due.  Round
 * robin over connections, one packet per call; RW payload never exceeds
 * the guest's credit.
 */
int	vsock_guest_next(struct vsock *v, struct virtio_vsock_hdr *h,
	    void *buf, size_t cap, size_t *len);
/* Whether vsock_guest_next may have something (the glue then runs RX). */
bool	vsock_guest_pending(const struct vsock *v);

/* Actions for the glue, drained with vsock_action_next after each input. */
enum vsock_act_type {
	VSOCK_ACT_NONE = 0,
	/* Ask the broker for a connection to <uds-path>_<va_port>; answer
	 * with vsock_host_connected() or vsock_host_connect_failed(). */
	VSOCK_ACT_BROKER_CONNECT,
	/* Bytes are staged for va_fd: vsock_host_tx_peek(), write, then
	 * vsock_host_tx_done(); wait for POLLOUT if not all went.  The
	 * "OK <port>\n" answer to a CONNECT comes this way, first. */
	VSOCK_ACT_HOST_WRITE,
	/* vsock_host_rx_room() became > 0: watch va_fd for input again. */
	VSOCK_ACT_HOST_READ,
	/* shutdown(va_fd, SHUT_WR): the guest will send no more. */
	VSOCK_ACT_HOST_SHUT_WR,
	/* shutdown(va_fd, SHUT_RD): the guest will receive no more. */
	VSOCK_ACT_HOST_SHUT_RD,
	/* close(va_fd); the connection id is gone (or going). */
	VSOCK_ACT_HOST_CLOSE,
};

struct vsock_action {
	enum vsock_act_type	va_type;
	uint32_t		va_conn;	/* connection id */
	int			va_fd;		/* host fd, -1 if none yet */
	uint32_t		va_port;	/* BROKER_CONNECT: port P */
};

/* 1 and *a filled, or 0 when there is none. */
int	vsock_action_next(struct vsock *v, struct vsock_action *a);

/*
 * A host client on uds-path asked "CONNECT <port>" (vsock_uds parsed it);
 * fd is its socket (not owned: the glue closes it on HOST_CLOSE or on
 * failure here).  Allocates a host port and queues a REQUEST to the
 * guest; the answer comes as HOST_WRITE of "OK <host_port>\n" or as
 * HOST_CLOSE.  0 and *id, -EINVAL (port), -ENOSPC (table full) or
 * -EADDRNOTAVAIL (no free host port).
 */
int	vsock_host_connect(struct vsock *v, int fd, uint32_t port,
	    uint32_t *id);

/*
 * The broker connected a guest-initiated connection (fd not owned until
 * 0 is returned; then HOST_CLOSE gives it back) or failed to.  -ENOENT
 * when id is stale (a reset or timeout came first: the glue closes fd).
 */
int	vsock_host_connected(struct vsock *v, uint32_t id, int fd);
int	vsock_host_connect_failed(struct vsock *v, uint32_t id);

/* How many bytes the glue may read from the connection's fd now. */
size_t	vsock_host_rx_room(const struct vsock *v, uint32_t id);
/*
 * n bytes read from the host fd (copied).  0, -ENOENT (stale id),
 * -ENOBUFS (more than vsock_host_rx_room), -EPIPE (after EOF or when the
 * connection is not established).
 */
int	vsock_host_data(struct vsock *v, uint32_t id, const void *buf,
	    size_t n);
/* The host fd read EOF: SHUTDOWN(SEND) to the guest after the data. */
int	vsock_host_eof(struct vsock *v, uint32_t id);
/* The host fd failed (EPIPE, ECONNRESET, HUP): RST, HOST_CLOSE. */
int	vsock_host_closed(struct vsock *v, uint32_t id);

/*
 * The bytes staged for the host fd, in at most 2 iovecs (*iovcnt; 0 when
 * none).  Pointers stay valid until the next call into the module.
 */
int	vsock_host_tx_peek(const struct vsock *v, uint32_t id,
	    struct iovec iov[2], int *iovcnt);
/* n of them were written: frees buffer, advances fwd_cnt, maybe credit
 * update or the close that waited for the drain.  -EINVAL if n is more. */
int	vsock_host_tx_done(struct vsock *v, uint32_t id, size_t n);

/*
 * Time passes (milliseconds of any monotonic clock; the first call sets
 * the origin): handshakes older than vp_connect_ms and closes that wait
 * for a host peer to drain longer than vp_close_ms are reset.
 */
void	vsock_tick(struct vsock *v, uint64_t now_ms);

/*
 * Transport reset: every connection is dropped (HOST_CLOSE for each fd),
 * every queued packet discarded.  The glue then puts
 * VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on the event queue.
 */
void	vsock_reset(struct vsock *v);

/* Introspection for the glue's logs and for tests. */
enum vsock_state {
	VSOCK_S_FREE = 0,
	VSOCK_S_CONNECTING_HOST,	/* guest REQUEST, broker asked */
	VSOCK_S_CONNECTING_GUEST,	/* host CONNECT, REQUEST to guest */
	VSOCK_S_ESTABLISHED,
	VSOCK_S_CLOSING,		/* RST queued, host fd closed */
};

struct vsock_conn_info {
	enum vsock_state	ci_state;
	uint32_t		ci_guest_port;
	uint32_t		ci_host_port;
	int			ci_fd;
	uint32_t		ci_peer_credit;	/* what we may send now */
	uint32_t		ci_tx_buffered;	/* guest->host staged */
	uint32_t		ci_rx_buffered;	/* host->guest staged */
	uint32_t		ci_fwd_cnt;
	uint8_t			ci_peer_shut;	/* SHUTDOWN flags from guest */
	uint8_t			ci_local_shut;	/* SHUTDOWN flags we sent */
};

/* 0, or -ENOENT for a stale id. */
int	vsock_conn_info(const struct vsock *v, uint32_t id,
	    struct vsock_conn_info *ci);
/* The id of the connection (guest_port, host_port), or -ENOENT. */
int	vsock_conn_lookup(const struct vsock *v, uint32_t guest_port,
	    uint32_t host_port, uint32_t *id);

#endif /* VHOSTD_DEVICES_VSOCK_PROTO_H */
