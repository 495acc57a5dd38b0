/*
 * vhost.h - vhost-user back-end engine: protocol state and dispatch.
 *
 * Event-loop neutral (the libvhost-user idea): the engine asks the caller
 * to watch descriptors through struct vu_watch_ops and never blocks on the
 * front end for long: the rest of a message and a reply wait at most a
 * few seconds (msg.c), ring fds are used with RWF_NOWAIT (vring.c).
 * Devices plug in through struct vu_dev_ops and see the engine (struct
 * vu_dev, opaque) through the functions of this header only: a device
 * fills the ops (features, config space, queue handler, reset, and for
 * net/vsock protocol features, device requests, maximum queue size),
 * finds its state with vu_dev_priv(), asks vu_has_feature(), and in its
 * queue handler takes vu_queue(dev, q), pops, pushes (virtq.h: virtq_pop,
 * virtq_unpop, virtq_avail_bytes, virtq_push), charges a struct vu_budget
 * and calls vu_queue_notify().  The request table (request.c) checks
 * every message before any handler; a device never sees the wire.
 *
 * Ring life cycle (vhost-user spec, "Ring states"): rings start stopped and
 * disabled; SET_VRING_KICK starts a ring; GET_VRING_BASE stops it and
 * answers the next avail index.  Without VHOST_USER_F_PROTOCOL_FEATURES
 * negotiated rings are enabled when started; with it only
 * SET_VRING_ENABLE enables them.  The queue handler runs only for rings
 * that are started and enabled.
 *
 * Mappings the front end provides (guest memory regions, the inflight
 * region; the dirty log when it comes) follow one rule: only a started
 * ring holds pointers into them (stopping detaches it), and a mapping is
 * replaced only when no started ring points into it, or after every ring
 * has been re-pointed; otherwise the message is refused.  SET_MEM_TABLE
 * maps the new table, re-points, then unmaps the old; REM_MEM_REG
 * re-points (pauses) before it unmaps; GET/SET_INFLIGHT_FD are refused
 * while a started ring records into the region; SET_VRING_ADDR is
 * refused on a started ring.
 */
#ifndef VHOSTD_VHOST_VHOST_H
#define VHOSTD_VHOST_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "../virtio/virtq.h"
#include "proto.h"

#define VU_MAX_QUEUES	16
_Static_assert(VU_MAX_QUEUES <= CTR_MAX_QUEUES,
    "every queue has its block of counters");

struct vu_dev;

/*
 * Descriptor watching, provided by the event-loop glue.
 *
 * The glue must also bound every system call the engine makes on a
 * descriptor the front end chose (the kick, call and err fds: the front
 * end shares their open file description and may clear O_NONBLOCK): a
 * periodic signal with a handler installed without SA_RESTART (the
 * child's SIGALRM watchdog) makes such a call fail with EINTR, which the
 * engine takes for a stalled front end (vu_dev_error).
 */
struct vu_watch_ops {
	/* Call cb(fd, arg) whenever fd is readable until watch_del.  0/-errno */
	int	(*watch_add)(void *ctx, int fd, void (*cb)(int fd, void *arg),
		    void *arg);
	void	(*watch_del)(void *ctx, int fd);
	/*
	 * Optional.  Call cb(arg) once, soon, but only after the descriptors
	 * ready now (the front end's socket, signals) had their turn: a zero
	 * timer, not a call from within.  Asking again for an arg already
	 * pending does nothing.  0 or -errno.
	 */
	int	(*defer)(void *ctx, void (*cb)(void *arg), void *arg);
	/* Forget a pending defer of arg (if any). */
	void	(*defer_cancel)(void *ctx, void *arg);
};

/*
 * Work budget per wake-up (Linux vhost_exceeds_weight, CVE-2019-3900): a
 * queue handler takes at most VU_BUDGET_REQS requests or VU_BUDGET_BYTES
 * bytes of buffers, then vu_queue_reschedule()s the ring, so a guest that
 * keeps its ring full cannot starve the control socket or SIGTERM.
 */
#define VU_BUDGET_REQS	256u
#define VU_BUDGET_BYTES	((size_t)1 << 20)

struct vu_budget {
	unsigned int	b_reqs;
	size_t		b_bytes;
};

/* A full budget for one wake-up. */
static inline void
vu_budget_init(struct vu_budget *b)
{
	b->b_reqs = VU_BUDGET_REQS;
	b->b_bytes = VU_BUDGET_BYTES;
}

/* Charge one request of len buffer bytes; true once the budget is spent. */
static inline bool
vu_budget_charge(struct vu_budget *b, size_t len)
{
	if (b->b_reqs > 0)
		b->b_reqs--;
	b->b_bytes = len < b->b_bytes ? b->b_bytes - len : 0;
	return b->b_reqs == 0 || b->b_bytes == 0;
}

/*
 * Protocol features a device may add to those the engine offers: the
 * ones whose requests the engine routes to the device (ops->requests).
 */
#define VU_DEVICE_PROTOCOL_FEATURES					\
	((1ull << VHOST_USER_PROTOCOL_F_RARP) |				\
	    (1ull << VHOST_USER_PROTOCOL_F_MTU))

/* A request in vu_dev_ops.requests. */
#define VU_REQUEST_BIT(req)	(1ull << (req))

/* What a device provides.  Only queue_handler is mandatory. */
struct vu_dev_ops {
	/* Device feature bits offered (the engine adds the ring/transport bits
	 * it implements: VERSION_1, PROTOCOL_FEATURES, EVENT_IDX,
	 * INDIRECT_DESC, NOTIFY_ON_EMPTY). */
	uint64_t	(*get_features)(struct vu_dev *dev);
	/* Acked features; 0, or -errno to refuse a set it cannot honour. */
	int		(*set_features)(struct vu_dev *dev, uint64_t features);
	/* Config space.  When present the engine offers PROTOCOL_F_CONFIG.
	 * Copy len bytes at offset into buf; 0 or -errno. */
	int		(*get_config)(struct vu_dev *dev, uint8_t *buf,
			    uint32_t offset, uint32_t len);
	int		(*set_config)(struct vu_dev *dev, const uint8_t *buf,
			    uint32_t offset, uint32_t len, uint32_t flags);
	/* A started and enabled ring was kicked: pop until empty, push,
	 * vu_queue_notify(). */
	void		(*queue_handler)(struct vu_dev *dev, unsigned int qidx);
	/* Ring qidx became ready (started and enabled) or stopped. */
	void		(*queue_state)(struct vu_dev *dev, unsigned int qidx,
			    bool ready);
	/* RESET_OWNER, RESET_DEVICE, SET_STATUS 0: forget device state. */
	void		(*reset)(struct vu_dev *dev);
	/* Guest memory is about to be unmapped or replaced (SET_MEM_TABLE,
	 * REM_MEM_REG): complete and publish every request in flight, as
	 * their buffers are about to go away.  Rings stay started. */
	void		(*mem_quiesce)(struct vu_dev *dev);
	/* Protocol features the device adds (GET_PROTOCOL_FEATURES), within
	 * VU_DEVICE_PROTOCOL_FEATURES (MTU, RARP); other bits are dropped. */
	uint64_t	(*get_protocol_features)(struct vu_dev *dev);
	/*
	 * Device-specific requests: VU_REQUEST_BIT(r) for each request r the
	 * device handles (VHOST_USER_SEND_RARP, VHOST_USER_NET_SET_MTU).
	 * The engine checks them as its request table says (payload size,
	 * no descriptors, the protocol feature negotiated: RARP, MTU), then
	 * calls request() with the payload (size bytes, e.g. the u64 MTU).
	 * Undeclared, they are not supported.  0, or -errno to refuse: a
	 * failure status with REPLY_ACK; the connection stays up.
	 */
	uint64_t	requests;
	int		(*request)(struct vu_dev *dev, uint32_t request,
			    const void *payload, uint32_t size);
	/* Largest ring size the device takes for ring qidx (SET_VRING_NUM
	 * refuses more); 0 or absent: VIRTQ_MAX_SIZE. */
	uint16_t	(*max_queue_size)(struct vu_dev *dev, unsigned int qidx);
	/*
	 * Queues on threads of the device's own (blk's threads=).  Optional.
	 * queue_loop: the loop that serves ring qidx, or NULL for the glue's.
	 * The engine then watches the ring's kick fd and defers its runs
	 * (vu_queue_reschedule) through those ops and *ctx, so the queue
	 * handler, vu_queue_notify and the kick and call fds of that ring
	 * are used on the loop's thread.  Must not change during a session.
	 * pause: park every such loop, returning once each is parked
	 * (holding no pointer it will use without looking again); resume:
	 * let them run.  Every request handler of the engine runs between
	 * pause and resume, and vu_dev_free pauses for good, so the rings,
	 * the memory table, the inflight regions, features and fds change
	 * only while the loops are parked; the engine calls the loops' ops
	 * from the control thread only then.  Threads must not call the
	 * engine's other functions (vu_dev_set_broken, ...): they hand them
	 * to the control thread (a descriptor watched with vu_dev_watch).
	 */
	const struct vu_watch_ops *(*queue_loop)(struct vu_dev *dev,
			    unsigned int qidx, void **ctx);
	void		(*pause)(struct vu_dev *dev);
	void		(*resume)(struct vu_dev *dev);
};

/*
 * A new engine bound to a connected socket, in *devp.  nqueues
 * (1..VU_MAX_QUEUES) is what GET_QUEUE_NUM answers; priv is handed back
 * through vu_dev_priv().  Does not take ownership of sock.  0 or -errno
 * (-EINVAL for a bad argument, -ENOMEM).  struct vu_dev is opaque: devices
 * and the glue use the functions below.
 */
int	vu_dev_new(struct vu_dev **devp, int sock, uint16_t nqueues,
	    const struct vu_dev_ops *ops, void *priv,
	    const struct vu_watch_ops *watch, void *watch_ctx);

/*
 * End of the connection: stop the rings (devices drain through
 * queue_state), remove every watch, close the ring fds, unmap the front
 * end's memory, free dev.  NULL is ignored.
 */
void	vu_dev_free(struct vu_dev *dev);

/*
 * Read one message from the socket and handle it (call when sock is
 * readable).  0: carry on.  -ECONNRESET: the front end closed the
 * connection.  Other -errno: protocol violation (logged); the caller must
 * drop the connection.
 */
int	vu_dev_dispatch(struct vu_dev *dev);

/*
 * 0, or -ETIMEDOUT once a descriptor of the front end's left the engine
 * blocked (a call fd write interrupted by the glue's watchdog).  The glue
 * checks it after every callback and ends the session: vu_dev_dispatch
 * returns it too.
 */
int	vu_dev_error(const struct vu_dev *dev);

/*
 * Whether addr lies in memory the front end provided (guest memory
 * regions, the inflight region): a SIGBUS there means the front end
 * truncated the file under us.  Async-signal-safe: reads the tables only,
 * which never change while guest memory is being accessed.
 */
bool	vu_dev_maps(const struct vu_dev *dev, const void *addr);

/* The priv given to vu_dev_new; dev does not own it. */
void	*vu_dev_priv(const struct vu_dev *dev);
/* The virtio features the driver acked (SET_FEATURES), all 64 bits. */
uint64_t vu_dev_features(const struct vu_dev *dev);
bool	vu_has_feature(const struct vu_dev *dev, unsigned int bit);
bool	vu_has_protocol_feature(const struct vu_dev *dev, unsigned int bit);

/* The queue of ring qidx, or NULL when qidx is out of range. */
struct virtq	*vu_queue(struct vu_dev *dev, unsigned int qidx);
/* Started and enabled. */
bool	vu_queue_ready(const struct vu_dev *dev, unsigned int qidx);

/*
 * Counters (util/counters.h).  The glue hands the engine the child's
 * region (not owned; NULL: count nothing); it records how many queues the
 * engine announces.  vu_queue_counters is queue qidx's block, where the
 * virtqueue counts requests and in-flight ones and the device adds bytes,
 * errors, latencies and its own counters (cq_dev, named by its type's
 * dt_counters); never NULL (a block of the engine's own when there is
 * no region, ctr_sink when qidx is out of range), stable for the
 * connection, so a device may keep it.
 */
void	vu_dev_set_counters(struct vu_dev *dev, struct ctr_region *region);
struct ctr_queue *vu_queue_counters(struct vu_dev *dev, unsigned int qidx);
/* Flush the used ring and signal the call fd if the driver wants it. */
void	vu_queue_notify(struct vu_dev *dev, unsigned int qidx);
/*
 * The same for a ring that is stopping (queue_state ready=false,
 * mem_quiesce): requests completed while draining are published and the
 * front end signalled before the engine answers GET_VRING_BASE.
 */
void	vu_queue_publish(struct vu_dev *dev, unsigned int qidx);

/*
 * vu_queue_reschedule: the device spent its budget (struct vu_budget) on
 * ring qidx with buffers left.  Its queue handler runs again soon, without
 * a kick, after the front end's messages and signals had their turn.
 * 0: the device must return now.  -ENOTSUP (the glue cannot defer) or
 * another -errno: it carries on as if it had no budget.
 */
int	vu_queue_reschedule(struct vu_dev *dev, unsigned int qidx);

/*
 * The guest sent something the device cannot process: log once, set
 * NEEDS_RESET, stop every ring.  The connection stays up so the front end
 * can reset the device.  Control thread only (see vu_dev_ops.pause).
 */
void	vu_dev_set_broken(struct vu_dev *dev, const char *why);

/* Watch a device descriptor (e.g. an io_uring eventfd) in the same loop. */
int	vu_dev_watch(struct vu_dev *dev, int fd, void (*cb)(int fd, void *arg),
	    void *arg);
void	vu_dev_unwatch(struct vu_dev *dev, int fd);

/*
 * Wire helpers (msg.c), also used by tests.  vu_msg_recv reads one header
 * and payload with up to VHOST_USER_MAX_FDS descriptors (all CLOEXEC) into
 * fds[] and *nfds; it validates version and size and closes the fds itself on
 * any error.  0, -ECONNRESET on EOF, or -errno.
 */
int	vu_msg_recv(int sock, struct vhost_user_msg *msg, int *fds,
	    unsigned int *nfds);
/* Send msg (header + hdr.size payload bytes) with nfds descriptors. */
int	vu_msg_send(int sock, const struct vhost_user_msg *msg, const int *fds,
	    unsigned int nfds);

#endif /* VHOSTD_VHOST_VHOST_H */
