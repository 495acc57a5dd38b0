/*
 * vhost.h - vhost-user back-end engine: protocol state and dispatch.
 *
 * Event-loop neutral (the libvhost-user idea): the engine asks the caller
 * to watch descriptors through struct vu_watch_ops and never blocks except
 * in reading one message that poll said is there.  Devices plug in through
 * struct vu_dev_ops.
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

#include "mem.h"
#include "proto.h"
#include "../virtio/virtq.h"

#define VU_MAX_QUEUES	16

/* virtio device status bits (virtio spec 2.1). */
#define VIRTIO_CONFIG_S_ACKNOWLEDGE	1
#define VIRTIO_CONFIG_S_DRIVER		2
#define VIRTIO_CONFIG_S_DRIVER_OK	4
#define VIRTIO_CONFIG_S_FEATURES_OK	8
#define VIRTIO_CONFIG_S_NEEDS_RESET	0x40
#define VIRTIO_CONFIG_S_FAILED		0x80

struct vu_dev;

/* Descriptor watching, provided by the event-loop glue. */
struct vu_watch_ops {
	/* Call cb(fd, arg) whenever fd is readable until watch_del.  0/-errno */
	int	(*watch_add)(void *ctx, int fd, void (*cb)(int fd, void *arg),
		    void *arg);
	void	(*watch_del)(void *ctx, int fd);
};

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
};

struct vu_vring {
	struct virtq			vr_vq;
	struct vhost_user_vring_addr	vr_addr;	/* as the front end sent */
	uint16_t			vr_num;		/* SET_VRING_NUM */
	uint16_t			vr_base;	/* SET_VRING_BASE */
	bool				vr_addr_set;
	bool				vr_started;
	bool				vr_enabled;
	int				vr_kick_fd;
	int				vr_call_fd;
	int				vr_err_fd;
	uint16_t			*vr_resubmit;	/* inflight */
	struct vu_dev			*vr_dev;	/* back pointer for cb */
};

struct vu_dev {
	int			 vd_sock;	/* connection, not owned */
	const struct vu_dev_ops	*vd_ops;
	void			*vd_priv;	/* device state */
	const struct vu_watch_ops *vd_watch;
	void			*vd_watch_ctx;
	uint16_t		 vd_nqueues;	/* GET_QUEUE_NUM answer */
	uint64_t		 vd_features;	/* acked */
	uint64_t		 vd_protocol_features;	/* acked */
	bool			 vd_owner;
	bool			 vd_broken;
	uint8_t			 vd_status;	/* SET_STATUS */
	struct vu_mem		 vd_mem;
	struct vu_vring		 vd_vring[VU_MAX_QUEUES];
	int			 vd_warned;
	/* INFLIGHT_SHMFD: the regions, shared with the front end. */
	uint8_t			*vd_inflight;
	size_t			 vd_inflight_size;
	uint16_t		 vd_inflight_nq;
	uint16_t		 vd_inflight_qsize;
	int			 vd_reply_fd;	/* sent with the reply, or -1 */
};

/*
 * Bind an engine to a connected socket.  nqueues (1..VU_MAX_QUEUES) is what
 * GET_QUEUE_NUM answers; priv is handed back through vu_dev_priv().  Does
 * not take ownership of sock.  0 or -errno.
 */
int	vu_dev_init(struct vu_dev *dev, int sock, uint16_t nqueues,
	    const struct vu_dev_ops *ops, void *priv,
	    const struct vu_watch_ops *watch, void *watch_ctx);

/*
 * Read one message from the socket and handle it (call when sock is
 * readable).  0: carry on.  -ECONNRESET: the front end closed the
 * connection.  Other -errno: protocol violation (logged); the caller must
 * drop the connection.
 */
int	vu_dev_dispatch(struct vu_dev *dev);

/* Stop rings, remove watches, close ring fds, unmap memory. */
void	vu_dev_fini(struct vu_dev *dev);

/*
 * Whether addr lies in memory the front end provided (guest memory
 * regions, the inflight region): a SIGBUS there means the front end
 * truncated the file under us.  Async-signal-safe: reads the tables only,
 * which never change while guest memory is being accessed.
 */
bool	vu_dev_maps(const struct vu_dev *dev, const void *addr);

void	*vu_dev_priv(const struct vu_dev *dev);
bool	vu_has_feature(const struct vu_dev *dev, unsigned int bit);
bool	vu_has_protocol_feature(const struct vu_dev *dev, unsigned int bit);

/* The queue of ring qidx, or NULL when qidx is out of range. */
struct virtq	*vu_queue(struct vu_dev *dev, unsigned int qidx);
/* Started and enabled. */
bool	vu_queue_ready(const struct vu_dev *dev, unsigned int qidx);
/* Flush the used ring and signal the call fd if the driver wants it. */
void	vu_queue_notify(struct vu_dev *dev, unsigned int qidx);
/*
 * The same for a ring that is stopping (queue_state ready=false,
 * mem_quiesce): requests completed while draining are published and the
 * front end signalled before the engine answers GET_VRING_BASE.
 */
void	vu_queue_publish(struct vu_dev *dev, unsigned int qidx);

/*
 * The guest sent something the device cannot process: log once, set
 * NEEDS_RESET, stop every ring.  The connection stays up so the front end
 * can reset the device.
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
