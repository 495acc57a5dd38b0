/*
 * vuf.h - the in-tree vhost-user front end ("vuf"): what QEMU does on the
 * other end of a vhost-user socket, in a few hundred lines, for
 * integration tests and benchmarks.
 *
 * - Guest memory is a memfd mapped in this process, sealed against growing
 *   and shrinking as QEMU's memory-backend-memfd seals it by default
 *   (f_mem_unsealed: no MFD_ALLOW_SEALING, as with QEMU's seal=off); guest
 *   physical address = memfd offset + a base.  A bump allocator hands out
 *   rings and buffers.  The memory is sent with SET_MEM_TABLE, optionally
 *   split into several regions, or region by region with ADD_MEM_REG when
 *   CONFIGURE_MEM_SLOTS is negotiated.
 * - Negotiation in QEMU's order (vuf_handshake, vuf_set_features,
 *   vuf_send_mem_table, vuf_vq_start), with REPLY_ACK when negotiated.
 * - The split ring driver side (vuf_vq.c): add chains (direct or
 *   indirect), publish with the right barriers, kick, wait on the call
 *   eventfd, reap used elements; EVENT_IDX; batch submit and reap so a
 *   benchmark can keep a full queue in flight.
 * - Raw message access for protocol tests.
 *
 * Every function returns 0 (or a count) or -errno, and leaves a message in
 * vuf_error() that says what failed.  Nothing here exits or asserts.
 * Not thread safe; one struct vuf per connection.
 */
#ifndef VHOSTD_TESTS_VUF_H
#define VHOSTD_TESTS_VUF_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost/proto.h"
#include "virtio/virtq.h"

#define VUF_MAX_QUEUES		16
#define VUF_MAX_REGIONS		64
#define VUF_INDIRECT_MAX	32	/* descriptors per indirect table */
#define VUF_TIMEOUT_MS		5000	/* default reply / wait timeout */

/* One buffer of a chain, by guest physical address. */
struct vuf_seg {
	uint64_t	sg_gpa;
	uint32_t	sg_len;
	bool		sg_write;	/* device-writable */
};

/* A used element, as reaped. */
struct vuf_used {
	uint16_t	 u_id;		/* head descriptor index */
	uint32_t	 u_len;		/* bytes the device wrote */
	void		*u_cookie;	/* what vuf_vq_add was given */
};

/* Driver-side state of one split ring. */
struct vuf_vq {
	uint16_t		 q_num;		/* 0: not allocated */
	struct virtq_desc	*q_desc;
	struct virtq_avail	*q_avail;
	struct virtq_used	*q_used;
	struct virtq_desc	*q_indirect;	/* num * VUF_INDIRECT_MAX */
	uint64_t		 q_desc_gpa;
	uint64_t		 q_avail_gpa;
	uint64_t		 q_used_gpa;
	uint64_t		 q_indirect_gpa;
	uint16_t		 q_free_head;	/* free descriptor list */
	uint16_t		 q_num_free;
	uint16_t		 q_avail_idx;	/* shadow, not yet published */
	uint16_t		 q_kicked_idx;	/* avail idx at the last kick */
	uint16_t		 q_last_used;	/* next used entry to reap */
	uint16_t		*q_ndesc;	/* per head: descriptors, 0 free */
	void			**q_cookie;	/* per head */
	int			 q_kick_fd;
	int			 q_call_fd;
	bool			 q_started;
	uint64_t		 q_kicks;	/* eventfd writes (statistics) */
	uint64_t		 q_calls;	/* call signals seen (eventfd writes) */
};

struct vuf {
	int		 f_sock;
	int		 f_memfd;
	uint8_t		*f_mem;		/* mapping of the whole memfd */
	size_t		 f_mem_size;
	uint64_t	 f_gpa_base;
	size_t		 f_brk;		/* bump allocator offset */
	int		 f_timeout_ms;	/* for replies and waits */
	uint64_t	 f_dev_features;	/* GET_FEATURES */
	uint64_t	 f_features;		/* SET_FEATURES */
	uint64_t	 f_dev_protocol;	/* GET_PROTOCOL_FEATURES */
	uint64_t	 f_protocol;		/* SET_PROTOCOL_FEATURES */
	uint16_t	 f_nqueues;		/* GET_QUEUE_NUM, else 1 */
	uint32_t	 f_max_slots;		/* GET_MAX_MEM_SLOTS */
	unsigned int	 f_nregions;		/* regions sent */
	bool		 f_reply_ack;	/* set need_reply when negotiated */
	bool		 f_mem_unsealed;	/* vuf_mem_create: seal=off */
	struct vuf_vq	 f_vq[VUF_MAX_QUEUES];
	char		 f_err[512];
};

/* Set every field to its empty value (fds -1).  Call first. */
void	vuf_init(struct vuf *f);

/* Close the connection, the ring eventfds and unmap guest memory. */
void	vuf_fini(struct vuf *f);

/* The message of the last failure ("" if none). */
const char	*vuf_error(const struct vuf *f);

/* Connect to the unix socket at path.  0 or -errno. */
int	vuf_connect(struct vuf *f, const char *path);

/* Use an already connected socket; takes ownership of fd. */
void	vuf_set_sock(struct vuf *f, int fd);

/* Close the connection only (guest memory and rings stay). */
void	vuf_disconnect(struct vuf *f);

/*
 * Guest memory: a memfd of size bytes (rounded up to pages), mapped here,
 * guest physical addresses gpa_base + offset.  0 or -errno.
 */
int	vuf_mem_create(struct vuf *f, size_t size, uint64_t gpa_base);

/*
 * Bump allocator: len bytes aligned to align (a power of two), zeroed.
 * Returns the host pointer and the gpa in *gpa, or NULL when memory is
 * exhausted (vuf_error says so).
 */
void	*vuf_alloc(struct vuf *f, size_t len, size_t align, uint64_t *gpa);

/* Translations; NULL / UINT64_MAX when outside guest memory. */
void	*vuf_gpa_to_ptr(const struct vuf *f, uint64_t gpa, size_t len);
uint64_t vuf_ptr_to_gpa(const struct vuf *f, const void *p);

/*
 * Raw wire access.  vuf_send_raw sends hdr and len payload bytes exactly
 * as given (no checks: for malformed-message tests) with nfds descriptors
 * (not taken).  vuf_recv reads one message within the timeout: its
 * descriptors (CLOEXEC) go to fds[] / *nfds, or are closed when fds is
 * NULL.  -ECONNRESET when the back end closed the connection, -ETIMEDOUT.
 */
int	vuf_send_raw(struct vuf *f, const struct vhost_user_header *hdr,
	    const void *payload, size_t len, const int *fds,
	    unsigned int nfds);
int	vuf_recv(struct vuf *f, struct vhost_user_msg *msg, int *fds,
	    unsigned int *nfds);

/*
 * One request the way QEMU sends it: version 1; when the request has a
 * mandatory reply, read it into *reply (checked: same request, reply
 * flag, size == reply_len unless reply_len is 0, which accepts any);
 * otherwise, with REPLY_ACK negotiated and f_reply_ack set, set need_reply
 * and check the u64 status (-EIO with a message if non-zero).
 */
int	vuf_request(struct vuf *f, uint32_t request, const void *payload,
	    size_t len, const int *fds, unsigned int nfds,
	    struct vhost_user_msg *reply, size_t reply_len);

/* Whether the request always gets a reply (GET_*, ...). */
bool	vuf_request_has_reply(uint32_t request);

/*
 * Wait until the back end closes the connection (EOF or error); any
 * message read meanwhile is discarded.  0, or -ETIMEDOUT.
 */
int	vuf_wait_hangup(struct vuf *f, int timeout_ms);

/*
 * Connection set-up in QEMU's order: GET_FEATURES; if
 * VHOST_USER_F_PROTOCOL_FEATURES is offered, GET_PROTOCOL_FEATURES and
 * SET_PROTOCOL_FEATURES (offered & want_protocol); GET_QUEUE_NUM with MQ;
 * GET_MAX_MEM_SLOTS with CONFIGURE_MEM_SLOTS; SET_OWNER.  0 or -errno.
 */
int	vuf_handshake(struct vuf *f, uint64_t want_protocol);

/*
 * SET_FEATURES with offered & want, plus VHOST_USER_F_PROTOCOL_FEATURES
 * when offered (as QEMU does).  The result is in f_features.
 */
int	vuf_set_features(struct vuf *f, uint64_t want);

/* GET_CONFIG: len bytes at offset into buf.  0 or -errno. */
int	vuf_get_config(struct vuf *f, uint32_t offset, void *buf,
	    uint32_t len);

/* GET_STATUS (needs PROTOCOL_F_STATUS) / SET_STATUS. */
int	vuf_get_status(struct vuf *f, uint8_t *status);
int	vuf_set_status(struct vuf *f, uint8_t status);

/*
 * Send guest memory split into nregions (1..VUF_MAX_REGIONS) page-aligned
 * regions of about equal size: with SET_MEM_TABLE (nregions <= 8), or
 * one ADD_MEM_REG per region when use_add is set (needs
 * CONFIGURE_MEM_SLOTS).  0 or -errno.
 */
int	vuf_send_mem_table(struct vuf *f, unsigned int nregions,
	    bool use_add);

/* Everything vuf_setup does, in one place. */
struct vuf_opts {
	size_t		o_mem_size;	/* default 16 MiB */
	uint64_t	o_gpa_base;	/* default 1 GiB */
	unsigned int	o_nregions;	/* default 1 */
	bool		o_add_mem_reg;	/* ADD_MEM_REG instead */
	uint64_t	o_features;	/* wanted virtio features */
	uint64_t	o_protocol;	/* wanted protocol features */
	unsigned int	o_nqueues;	/* rings to start (default 1) */
	uint16_t	o_queue_size;	/* default 256 */
	bool		o_mem_unsealed;	/* memory as QEMU's seal=off */
};

/*
 * Connect to path and bring the device up: vuf_mem_create,
 * vuf_handshake, vuf_set_features, vuf_send_mem_table and vuf_vq_alloc +
 * vuf_vq_start for o_nqueues rings.  opts may be NULL for the defaults
 * (VERSION_1, INDIRECT_DESC, EVENT_IDX; REPLY_ACK, CONFIG, MQ, STATUS,
 * CONFIGURE_MEM_SLOTS).  0 or -errno.
 */
int	vuf_setup(struct vuf *f, const char *path, const struct vuf_opts *opts);

/* Split ring driver (vuf_vq.c). */

/*
 * Allocate and zero ring idx of num entries (a power of two) in guest
 * memory, plus indirect tables when INDIRECT_DESC was negotiated, and
 * reset the driver state.  Reusing an allocated ring of the same size
 * only resets it (a guest reboot).  0 or -errno.
 */
int	vuf_vq_alloc(struct vuf *f, unsigned int idx, uint16_t num);

/*
 * SET_VRING_NUM, SET_VRING_BASE (base), SET_VRING_ADDR, SET_VRING_KICK and
 * SET_VRING_CALL (fresh eventfds) and, with protocol features,
 * SET_VRING_ENABLE 1.  0 or -errno.
 */
int	vuf_vq_start(struct vuf *f, unsigned int idx, uint16_t base);

/* GET_VRING_BASE: stop ring idx; *base gets the back end's answer. */
int	vuf_vq_stop(struct vuf *f, unsigned int idx, uint16_t *base);

/* SET_VRING_ENABLE. */
int	vuf_vq_enable(struct vuf *f, unsigned int idx, bool on);

/*
 * Add one chain: the device-readable segments must come first.  With
 * indirect, the chain goes into one indirect table (needs INDIRECT_DESC,
 * n <= VUF_INDIRECT_MAX).  Not visible to the device until vuf_vq_kick.
 * Returns the head index, -ENOSPC when the ring is full, -errno.
 */
int	vuf_vq_add(struct vuf *f, unsigned int idx, const struct vuf_seg *segs,
	    unsigned int n, bool indirect, void *cookie);

/* Free descriptors (chains that can still be added, direct). */
unsigned int	vuf_vq_free(const struct vuf *f, unsigned int idx);

/*
 * Publish the added chains (release barrier on avail->idx) and notify the
 * back end unless it asked not to be (used flags / EVENT_IDX avail_event).
 * force notifies in any case.  0 or -errno.
 */
int	vuf_vq_kick(struct vuf *f, unsigned int idx, bool force);

/*
 * Collect up to max used elements.  Returns how many, or -EPROTO when the
 * back end returned an id that was not in flight.  With EVENT_IDX sets
 * used_event so that the next completion signals.
 */
int	vuf_vq_reap(struct vuf *f, unsigned int idx, struct vuf_used *out,
	    unsigned int max);

/* Used elements published and not yet reaped. */
unsigned int	vuf_vq_pending(const struct vuf *f, unsigned int idx);

/*
 * Wait until ring idx has used elements to reap (polling the call
 * eventfd).  0; -ETIMEDOUT; -ECONNRESET when the back end closed the
 * connection meanwhile.
 */
int	vuf_vq_wait(struct vuf *f, unsigned int idx, int timeout_ms);

/*
 * The back end's signals on ring idx's call eventfd so far (each write
 * counts, also those one read of the eventfd gathered), after taking in
 * any waiting without blocking.
 */
uint64_t	vuf_vq_calls(struct vuf *f, unsigned int idx);

/*
 * Submit one chain, kick, wait and reap it: *len gets the used length.
 * 0 or -errno.
 */
int	vuf_vq_exec(struct vuf *f, unsigned int idx, const struct vuf_seg *segs,
	    unsigned int n, bool indirect, uint32_t *len);

/*
 * A flooding guest (vuf_flood.c): a thread that makes every chain the
 * device returns on ring idx available again at once and kicks, so the
 * avail ring never runs empty.  Add the chains first; vuf_flood_start
 * publishes and kicks them (a head is reposted when the device wrote its
 * used slot, before used->idx: the device never has more than the ring
 * holds, but never finds it empty).  The
 * thread uses only ring memory and the kick fd: the caller may go on
 * sending messages.  vuf_flood_stop joins it, brings the driver state up
 * to date and returns the chains it reposted.
 */
struct vuf_flood {
	struct vuf	*fl_f;
	struct vuf_vq	*fl_q;
	pthread_t	 fl_thread;
	bool		 fl_running;
	bool		 fl_stop;
	uint16_t	 fl_avail_idx;
	uint16_t	 fl_last_used;
	uint64_t	 fl_reposted;
};

int	vuf_flood_start(struct vuf *f, unsigned int idx, struct vuf_flood *fl);
uint64_t vuf_flood_stop(struct vuf_flood *fl);

/*
 * The inflight region (INFLIGHT_SHMFD; vuf_inflight.c), kept by the front
 * end across back ends as QEMU keeps it: vuf_inflight_get asks the back
 * end for one (GET_INFLIGHT_FD, before the rings start) and maps it;
 * vuf_inflight_set hands it to a back end (SET_INFLIGHT_FD; QEMU sends it
 * after every GET and on every reconnect).  vuf_inflight_count: the
 * entries of queue q marked in flight now.  0 or -errno.
 */
struct vuf_inflight {
	int		 in_fd;
	void		*in_addr;
	uint64_t	 in_size;
	uint64_t	 in_offset;
	uint16_t	 in_nqueues;
	uint16_t	 in_qsize;
};

void	vuf_inflight_init(struct vuf_inflight *in);
int	vuf_inflight_get(struct vuf *f, uint16_t nqueues, uint16_t qsize,
	    struct vuf_inflight *in);
int	vuf_inflight_set(struct vuf *f, const struct vuf_inflight *in);
unsigned int	vuf_inflight_count(const struct vuf_inflight *in,
	    unsigned int q);
void	vuf_inflight_fini(struct vuf_inflight *in);

/* Feature bit helpers. */
bool	vuf_has_feature(const struct vuf *f, unsigned int bit);
bool	vuf_has_protocol(const struct vuf *f, unsigned int bit);

/* Set the error message and return rc (internal, shared with vuf_vq.c). */
int	vuf_fail(struct vuf *f, int rc, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif /* VHOSTD_TESTS_VUF_H */
