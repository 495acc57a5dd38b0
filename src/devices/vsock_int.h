/*
 * vsock_int.h - internals shared by vsock_proto.c (wire, guest side) and
 * vsock_conn.c (table, host side).  Not an interface for other modules:
 * vsock_proto.h is.
 */
#ifndef VHOSTD_DEVICES_VSOCK_INT_H
#define VHOSTD_DEVICES_VSOCK_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "vsock_proto.h"

/* Pending guest-bound control packets of a connection (vc_pend). */
#define P_REQUEST	0x01
#define P_RESPONSE	0x02
#define P_RST		0x04
#define P_SHUTDOWN	0x08
#define P_CREDIT_UPD	0x10

#define SLOT_BITS	16
#define SLOT_MASK	((1u << SLOT_BITS) - 1)
#define NIL		UINT32_MAX

struct vsock_ring {
	uint8_t		*r_buf;		/* allocated on first use */
	uint32_t	 r_cap;
	uint32_t	 r_head;
	uint32_t	 r_len;
};

struct vsock_conn {
	enum vsock_state vc_state;
	uint32_t	vc_gen;
	uint32_t	vc_guest_port;
	uint32_t	vc_host_port;
	int		vc_fd;
	bool		vc_host_init;	/* CONNECT from the host */
	bool		vc_req_sent;	/* REQUEST emitted to the guest */
	bool		vc_credit_req;	/* CREDIT_REQUEST sent, no answer */
	bool		vc_host_eof;
	bool		vc_shut_wr_done;
	bool		vc_read_off;	/* glue told to stop reading */
	uint8_t		vc_pend;	/* P_* */
	uint8_t		vc_peer_shut;
	uint8_t		vc_local_shut;
	uint64_t	vc_since_ms;	/* handshake start or close wait */
	bool		vc_draining;	/* guest closed, drain then RST */
	/* credit */
	uint32_t	vc_peer_buf_alloc;
	uint32_t	vc_peer_fwd_cnt;
	uint32_t	vc_tx_cnt;	/* bytes sent to the guest */
	uint32_t	vc_rx_cnt;	/* bytes received from the guest */
	uint32_t	vc_fwd_cnt;	/* of those, written to the host */
	uint32_t	vc_last_fwd;	/* fwd_cnt the guest last heard */
	/* "OK <port>\n" for a host client, written before any data */
	char		vc_reply[24];
	uint8_t		vc_reply_len;
	uint8_t		vc_reply_off;
	struct vsock_ring vc_txb;	/* guest -> host */
	struct vsock_ring vc_rxb;	/* host -> guest */
	/* lists */
	uint32_t	vc_hnext;	/* hash chain */
	uint32_t	vc_qnext;	/* ready queue */
	bool		vc_queued;
	uint32_t	vc_fnext;	/* free list */
};

struct vsock {
	struct vsock_params	 v_p;
	struct vsock_conn	*v_conns;
	uint32_t		*v_hash;	/* heads, v_hmask + 1 */
	uint32_t		 v_hmask;
	uint32_t		 v_free;
	uint32_t		 v_qhead, v_qtail;
	uint32_t		 v_next_port;
	uint64_t		 v_now;
	bool			 v_ticked;
	struct virtio_vsock_hdr	 v_orphan[VSOCK_ORPHAN_RST_MAX];
	uint32_t		 v_orphan_head, v_orphan_len;
	struct vsock_action	*v_act;
	uint32_t		 v_act_cap, v_act_head, v_act_len;
	struct vsock_stats	 v_st;
};

/*
 * vsock_conn.c, for vsock_proto.c.  Rings: push copies n bytes in
 * (-ENOBUFS beyond the capacity, -ENOMEM); copy_out/consume take from the
 * head; release frees the buffer.  Connections: find by (guest port, host
 * port) or NULL; alloc a slot in state st (NULL when full); release frees
 * it at once; drop closes the host fd (action) and releases; violation
 * counts, closes the host side and queues RST (-EPROTO); after_tx runs
 * the steps that wait for the host-bound bytes to drain; established
 * enters ESTABLISHED and tells the glue to read.  enqueue puts a
 * connection with packets for the guest on the ready queue; dequeue
 * takes the next.  orphan_rst queues an RST answering packet in (bounded).
 * peer_credit is what we may send now; act_push queues an action;
 * read_again tells the glue to read again once there is room.
 */
int	vsock_ring_push(struct vsock *v, struct vsock_ring *r,
	    const void *data, uint32_t n);
void	vsock_ring_copy_out(const struct vsock_ring *r, void *out,
	    uint32_t n);
void	vsock_ring_consume(struct vsock_ring *r, uint32_t n);
void	vsock_ring_release(struct vsock *v, struct vsock_ring *r);

struct vsock_conn *vsock_conn_find(const struct vsock *v, uint32_t gp,
	    uint32_t hp);
struct vsock_conn *vsock_conn_alloc(struct vsock *v, uint32_t gp,
	    uint32_t hp, enum vsock_state st);
void	vsock_conn_release(struct vsock *v, struct vsock_conn *c);
void	vsock_conn_drop(struct vsock *v, struct vsock_conn *c);
int	vsock_violation(struct vsock *v, struct vsock_conn *c,
	    const char *what);
void	vsock_conn_after_tx(struct vsock *v, struct vsock_conn *c);
void	vsock_conn_established(struct vsock *v, struct vsock_conn *c);
void	vsock_conn_enqueue(struct vsock *v, struct vsock_conn *c);
struct vsock_conn *vsock_conn_dequeue(struct vsock *v);
void	vsock_orphan_rst(struct vsock *v, const struct virtio_vsock_hdr *in);
uint32_t vsock_peer_credit(const struct vsock_conn *c);
void	vsock_act_push(struct vsock *v, enum vsock_act_type type,
	    struct vsock_conn *c, uint32_t port);
void	vsock_read_again(struct vsock *v, struct vsock_conn *c);

#endif /* VHOSTD_DEVICES_VSOCK_INT_H */
