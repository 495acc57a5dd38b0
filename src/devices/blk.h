/*
 * blk.h - virtio-blk internals, shared by the files of the device:
 *
 *   blk.c      the key table, the child's state built from what the
 *              parent found out (struct blk_res), config space,
 *              features, the device type;
 *   blk_parent.c  the parent's half: options, the image opened, locked
 *              and probed (struct blk_parent), the fence, each spawn;
 *   blk_req.c  one guest request: copy the header out once, validate it,
 *              turn it into I/O operations, write the status back;
 *   blk_io.c   a queue's requests: batch submission, completions on
 *              an eventfd, draining, the synchronous fallback; with
 *              blk_uring.c (one restricted io_uring per queue, created
 *              before the seccomp filter), blk_poll.c (the poll window)
 *              and blk_glue.c (queues on threads), sharing
 *              blk_io_int.h;
 *   blk_thread.c  queue threads (threads=N), their loops and the
 *              park handshake with the control thread.
 *
 * Not an interface for other modules: device.h has the device type.
 */
#ifndef VHOSTD_DEVICES_BLK_H
#define VHOSTD_DEVICES_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <liburing.h>

#include "../util/ratelimit.h"
#include "../vhost/vhost.h"
#include "../virtio/virtq.h"

/* virtio 1.x 5.2.3: feature bits. */
#define VIRTIO_BLK_F_SIZE_MAX		1
#define VIRTIO_BLK_F_SEG_MAX		2
#define VIRTIO_BLK_F_RO			5
#define VIRTIO_BLK_F_BLK_SIZE		6
#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_BLK_F_TOPOLOGY		10
#define VIRTIO_BLK_F_CONFIG_WCE		11
#define VIRTIO_BLK_F_MQ			12
#define VIRTIO_BLK_F_DISCARD		13
#define VIRTIO_BLK_F_WRITE_ZEROES	14

/* 5.2.6: request types, status values, write-zeroes flags. */
#define VIRTIO_BLK_T_IN			0
#define VIRTIO_BLK_T_OUT		1
#define VIRTIO_BLK_T_FLUSH		4
#define VIRTIO_BLK_T_GET_ID		8
#define VIRTIO_BLK_T_DISCARD		11
#define VIRTIO_BLK_T_WRITE_ZEROES	13
#define VIRTIO_BLK_S_OK			0
#define VIRTIO_BLK_S_IOERR		1
#define VIRTIO_BLK_S_UNSUPP		2
#define VIRTIO_BLK_WZ_F_UNMAP		1
#define VIRTIO_BLK_ID_BYTES		20

/* Request header (16 bytes, little endian), first in the readable part. */
struct virtio_blk_outhdr {
	uint32_t	type;
	uint32_t	ioprio;
	uint64_t	sector;
} __attribute__((packed));

/* One range of a DISCARD or WRITE_ZEROES request (16 bytes). */
struct virtio_blk_dwz {
	uint64_t	sector;
	uint32_t	num_sectors;
	uint32_t	flags;
} __attribute__((packed));

/*
 * Sizes and limits: seg_max data segments per request (BLK_MAX_IOV
 * iovecs after splits at memory region borders), size_max bytes per
 * segment, max_discard_seg / max_write_zeroes_seg ranges of at most
 * BLK_DWZ_SECTORS_MAX sectors (2 GiB) each; BLK_DEPTH requests in flight
 * per queue; SQ entries per ring; io_uring kernel workers per child.
 */
#define BLK_SECTOR		512u
/*
 * Segments and segment size offered (SEG_MAX, SIZE_MAX), as
 * qemu-storage-daemon: SeaBIOS splits its requests at
 * (u16)(seg_max * size_max / blk_size) sectors, so the product must stay
 * below 32 MiB or the firmware loops on empty reads.  126: a 128-entry
 * ring minus header and status.
 */
#define BLK_SEG_MAX		126u
#define BLK_MAX_IOV		(BLK_SEG_MAX + 8)
#define BLK_SIZE_MAX		(64u << 10)
#define BLK_DWZ_SEG_MAX		16u
#define BLK_DWZ_SECTORS_MAX	(1u << 22)
#define BLK_MAX_OPS		(2 * BLK_DWZ_SEG_MAX)
#define BLK_DEPTH		256u
#define BLK_RING_ENTRIES	256u
#define BLK_IOWQ_MAX		8u
#define BLK_POLL_US_MAX		1000000u
/*
 * Busy-poll window at most, by default, as QEMU's iothreads (poll-max-ns
 * 32768): at low queue depth the wake-up costs more than the request.
 * The window itself adapts (blk_poll.c).
 */
#define BLK_POLL_US_DEFAULT	32
/*
 * Queue threads when threads= is not given: one per queue, at most half
 * the CPUs the parent may run on (at least one) and at most
 * BLK_THREADS_AUTO_MAX (docs/benchmarks.md: why).
 */
#define BLK_THREADS_AUTO_MAX	4

/*
 * The device's keys (device.h): enum blk_key indexes BLK_KEY_ROWS, the
 * rows of blk_keys in blk.c (a macro so that test devices built on blk
 * can extend the table).
 */
enum blk_key {
	BLK_K_PATH,
	BLK_K_NULL,
	BLK_K_RO,
	BLK_K_DIRECT,
	BLK_K_QUEUES,
	BLK_K_SERIAL,
	BLK_K_LBS,
	BLK_K_DISCARD,
	BLK_K_LOCK,
	BLK_K_POLL_US,
	BLK_K_THREADS,
	BLK_K_FORMAT,
	BLK_K_COUNT
};

#define BLK_XSTR(x)	BLK_STR(x)
#define BLK_STR(x)	#x

extern const char *const blk_lbs_names[];
extern const char *const blk_format_names[];	/* auto, raw */

#define BLK_KEY_ROWS \
	[BLK_K_PATH] = { .dk_name = "path", .dk_kind = DK_PATH, \
	    .dk_alias = "blk-file", .dk_flags = DKF_CAPS | DKF_STATUS, \
	    .dk_help = "the image file or block device (or null=)" }, \
	[BLK_K_NULL] = { .dk_name = "null", .dk_kind = DK_SIZE, \
	    .dk_flags = DKF_STATUS, \
	    .dk_min = BLK_SECTOR, .dk_max = UINT64_MAX >> 1, \
	    .dk_help = "no storage: a disk of this size whose requests " \
	    "succeed at once (benchmarks)" }, \
	[BLK_K_RO] = { .dk_name = "read-only", .dk_kind = DK_BOOL, \
	    .dk_default = "off", .dk_alias = "read-only", \
	    .dk_flags = DKF_CAPS | DKF_STATUS, \
	    .dk_help = "open the image read-only and offer VIRTIO_BLK_F_RO" }, \
	[BLK_K_DIRECT] = { .dk_name = "direct", .dk_kind = DK_BOOL, \
	    .dk_default = "off", \
	    .dk_help = "O_DIRECT: bypass the host page cache" }, \
	[BLK_K_QUEUES] = { .dk_name = "queues", .dk_kind = DK_UINT, \
	    .dk_min = 1, .dk_max = VU_MAX_QUEUES, .dk_default = "1", \
	    .dk_flags = DKF_STATUS, \
	    .dk_help = "request queues (QEMU's num-queues must not be " \
	    "larger)" }, \
	[BLK_K_SERIAL] = { .dk_name = "serial", .dk_kind = DK_STRING, \
	    .dk_max = VIRTIO_BLK_ID_BYTES, \
	    .dk_help = "returned by get-id (at most 20 bytes)" }, \
	[BLK_K_LBS] = { .dk_name = "logical-block-size", .dk_kind = DK_ENUM, \
	    .dk_choices = blk_lbs_names, \
	    .dk_help = "sector size the guest sees (default: the block " \
	    "device's, or 512)" }, \
	[BLK_K_DISCARD] = { .dk_name = "discard", .dk_kind = DK_BOOL, \
	    .dk_help = "offer discard (default: when the backing supports " \
	    "it; on fails when it does not)" }, \
	[BLK_K_LOCK] = { .dk_name = "lock", .dk_kind = DK_BOOL, \
	    .dk_default = "on", \
	    .dk_help = "hold an OFD lock on the image (exclusive when " \
	    "writable, shared when read-only)" }, \
	[BLK_K_POLL_US] = { .dk_name = "poll-us", .dk_kind = DK_UINT, \
	    .dk_min = 0, .dk_max = BLK_POLL_US_MAX, \
	    .dk_default = BLK_XSTR(BLK_POLL_US_DEFAULT), \
	    .dk_help = "at most this many microseconds to poll a queue " \
	    "that ran dry before sleeping (adaptive, as QEMU's iothreads; " \
	    "0: never)" }, \
	[BLK_K_THREADS] = { .dk_name = "threads", .dk_kind = DK_UINT, \
	    .dk_min = 0, .dk_max = VU_MAX_QUEUES, \
	    .dk_help = "threads serving the queues, queue q on thread q % " \
	    "N (default: queues=, at most half the CPUs and " \
	    BLK_XSTR(BLK_THREADS_AUTO_MAX) "; 0: on the control thread)" }, \
	[BLK_K_FORMAT] = { .dk_name = "format", .dk_kind = DK_ENUM, \
	    .dk_choices = blk_format_names, .dk_default = "auto", \
	    .dk_help = "auto: refuse qcow2, vmdk, vhdx, vdi, LUKS and other " \
	    "headers; raw: serve the bytes as they are" }, \
	/* end of BLK_KEY_ROWS */

/* One system call's worth of work for a request. */
enum blk_op_kind {
	BLK_OP_READ,		/* preadv, IORING_OP_READV */
	BLK_OP_WRITE,		/* pwritev2, IORING_OP_WRITEV */
	BLK_OP_FLUSH,		/* fdatasync, IORING_OP_FSYNC */
	BLK_OP_FALLOC,		/* fallocate, always inline (filtered) */
	BLK_OP_DISCARD,		/* ioctl BLKDISCARD, always inline */
};

struct blk_req;

struct blk_op {
	struct blk_req	*o_req;
	uint8_t		 o_kind;	/* enum blk_op_kind */
	bool		 o_link;	/* the next op waits for it */
	bool		 o_dsync;	/* WRITE: RWF_DSYNC */
	bool		 o_inline;	/* synchronous, not in the ring */
	int		 o_fd;
	int		 o_fidx;	/* fixed file: 0 o_fd, 1 buffered */
	int		 o_mode;	/* FALLOC mode */
	uint64_t	 o_off;		/* bytes */
	uint64_t	 o_len;		/* bytes; READ/WRITE: result */
};

/*
 * A request taken from the ring.  Everything the device needs from the
 * guest's chain is copied here once: the header, the data iovecs (host
 * addresses, already checked by virtq_pop) and the discard ranges.
 */
struct blk_req {
	struct blk_req	*r_next;	/* free list */
	uint16_t	 r_head;
	uint8_t		 r_status;	/* status unless an op fails */
	uint8_t		*r_status_ptr;	/* the status byte in guest memory */
	uint32_t	 r_wlen;	/* used length on success */
	int		 r_err;		/* first op failure (-errno) or 0 */
	unsigned int	 r_nops;
	unsigned int	 r_pending;	/* ops not completed */
	unsigned int	 r_niov;
	/* For the counters (util/counters.h). */
	uint64_t	 r_start;	/* ctr_now_ns() when popped */
	uint32_t	 r_data;	/* data bytes of a read or write */
	bool		 r_write;	/* r_data is guest -> disk */
	struct iovec	 r_iov[BLK_MAX_IOV];
	struct blk_op	 r_ops[BLK_MAX_OPS];
};

struct blk_queue;

/*
 * The I/O fence bytes (blk.c, blk_fence): past any image, above the range
 * of the image lock (which ends at BLK_FENCE_BASE; QEMU's lock bytes are
 * near 100).  A device that holds the image lock (lock=on, the default)
 * fences at BLK_FENCE_BASE; devices that share one file (lock=off) each
 * take a random pair of bytes above it, so that they do not wait for each
 * other's children.
 */
#define BLK_FENCE_BASE	((off_t)(INT64_MAX - (1ll << 32)))
#define BLK_FENCE_SLOTS	(1u << 30)	/* pairs of bytes above the base */

/*
 * The child's state (blk_init).  The first part is what the parent found
 * out about the image (struct blk_res in blk.c, plain data) and the
 * descriptors it opened, as the child has them; the parent has its own
 * struct blk_parent and never sees this one.
 */
struct blk_state {
	/* From the parent's resources. */
	int			 bs_fd;		/* the image */
	int			 bs_fd_buffered; /* direct=on: for unaligned
						    guest buffers, else -1 */
	uint64_t		 bs_bytes;	/* size of the file or device */
	bool			 bs_ro;
	bool			 bs_direct;
	bool			 bs_blkdev;
	bool			 bs_null;	/* null=SIZE: no storage */
	bool			 bs_discard;	/* DISCARD offered */
	bool			 bs_wzeroes;	/* WRITE_ZEROES offered */
	bool			 bs_zero_range;	/* FALLOC_FL_ZERO_RANGE works */
	bool			 bs_punch;	/* FALLOC_FL_PUNCH_HOLE works */
	bool			 bs_may_unmap;	/* write_zeroes_may_unmap */
	bool			 bs_nowait_read; /* buffered RWF_NOWAIT reads */
	uint64_t		 bs_capacity;	/* 512-byte sectors */
	uint32_t		 bs_lbs;	/* logical block size */
	uint32_t		 bs_pbs;	/* physical block size */
	uint32_t		 bs_min_io;	/* bytes */
	uint32_t		 bs_opt_io;	/* bytes */
	uint32_t		 bs_dio_mem;	/* O_DIRECT buffer alignment */
	uint32_t		 bs_dio_off;	/* O_DIRECT offset alignment */
	uint16_t		 bs_nqueues;
	uint16_t		 bs_want_threads; /* threads= (0: none) */
	uint32_t		 bs_poll_us;
	char			 bs_serial[VIRTIO_BLK_ID_BYTES];

	/* The child's own. */
	bool			 bs_writeback;	/* config writeback field */
	bool			 bs_dsync;	/* writes are write-through */
	bool			 bs_no_uring;	/* inline I/O from now on */
	bool			 bs_uring_warned; /* said for one queue: the
						    others fall back alike */
	struct ratelimit_log	 bs_warnlog;	/* what the guest can cause
						   (blk_warnlog: per thread) */
	struct blk_queue	*bs_queues[VU_MAX_QUEUES];
	/* Queue threads (blk_thread.c); none: queues on the control one. */
	unsigned int		 bs_nthreads;
	struct blk_thread	*bs_threads[VU_MAX_QUEUES];
	int			 bs_event_fd;	/* threads -> control thread */
	struct vu_dev		*bs_event_dev;	/* whose loop watches it */
	unsigned int		 bs_event_users; /* ready threaded queues */
};

/* blk_req.c */

/* What blk_req_parse made of a chain. */
enum blk_parse {
	BLK_REQ_DONE,	/* answered at once: r_status, r_wlen are final */
	BLK_REQ_IO,	/* r_ops[0 .. r_nops) to run */
	BLK_REQ_BAD,	/* framing error: no status byte can be written */
};

/*
 * Turn the popped chain elem into r (fills every field but r_next).
 * On BLK_REQ_BAD *why says what was wrong.
 */
enum blk_parse	blk_req_parse(struct blk_state *bs, struct blk_req *r,
		    const struct virtq_elem *elem, const char **why);

/*
 * Synchronous execution of one op: the result io_uring would give (bytes
 * or 0, or -errno).
 */
int	blk_op_sync(const struct blk_req *r, const struct blk_op *op);

/*
 * Fold the result of one op into its request: short transfers and
 * errors become r_err.  Returns true when it was the last pending op.
 */
bool	blk_op_done(struct blk_state *bs, struct blk_op *op, int res);

/* Write the status byte; returns the used length for the ring. */
uint32_t	blk_req_status(struct blk_state *bs, struct blk_req *r);

/* blk_io.c */

void	blk_io_queue_handler(struct vu_dev *dev, unsigned int qidx);
void	blk_io_queue_state(struct vu_dev *dev, unsigned int qidx, bool ready);
/* vu_dev_ops.mem_quiesce: drain every queue before guest memory changes. */
void	blk_io_mem_quiesce(struct vu_dev *dev);
/*
 * Child start, before the seccomp filter: decide between io_uring and
 * synchronous I/O and create every queue's ring, restricted and enabled.
 * 0/-errno.
 */
int	blk_io_child_init(struct blk_state *bs);
/*
 * The io_uring of queue qidx, or NULL if it has none (tests and the escape
 * suite: what a taken-over child finds in its own memory).
 */
struct io_uring	*blk_io_ring(struct blk_state *bs, unsigned int qidx);
/* Wait for everything in flight, free every queue (rings, eventfds). */
void	blk_io_free(struct blk_state *bs);
/* vu_dev_ops.queue_loop, pause, resume (queue threads). */
const struct vu_watch_ops *blk_io_queue_loop(struct vu_dev *dev,
	    unsigned int qidx, void **ctx);
void	blk_io_pause(struct vu_dev *dev);
void	blk_io_resume(struct vu_dev *dev);

/* blk_thread.c */

struct blk_thread;

/*
 * Start n queue threads (before the seccomp filter), each parked and
 * with its watchdog timer once this returns.  0/-errno (none left).
 */
int	blk_threads_start(struct blk_state *bs, unsigned int n);
/* Stop and join them (tests, blk_io_free). */
void	blk_threads_stop(struct blk_state *bs);
/* The thread of queue qidx, NULL when queues run on the control thread. */
struct blk_thread *blk_thread_of(struct blk_state *bs, unsigned int qidx);
/* Park every thread (synchronous), let them run (serving dev). */
void	blk_threads_park(struct blk_state *bs);
void	blk_threads_unpark(struct blk_state *bs, struct vu_dev *dev);
/* Whether the caller is thread bt; whether bt is asked to park. */
bool	blk_thread_current(const struct blk_thread *bt);
bool	blk_thread_parking(const struct blk_thread *bt);
/* The loop of a thread, for vu_dev_ops.queue_loop (ctx: the thread). */
extern const struct vu_watch_ops blk_thread_watch_ops;
/*
 * Run fn(arg) on queue thread idx and wait for it, with the threads
 * parked before and after (the escape suite: what a thread may do).
 */
void	blk_thread_call(struct blk_state *bs, unsigned int idx,
	    void (*fn)(void *), void *arg);
/*
 * threads= not given (parent, dt_open): a thread per queue, at most half
 * the CPUs of the caller's affinity (at least one) and
 * BLK_THREADS_AUTO_MAX.
 */
uint64_t	blk_threads_auto(uint64_t queues);
/* Deferred runs the threads' loops were asked for, in all (tests). */
unsigned int	blk_threads_deferred(struct blk_state *bs);
/* The rate limit for what the guest can cause, of the calling thread. */
struct ratelimit_log *blk_warnlog(struct blk_state *bs);

/* How much of an image blk_format_check reads (blk_probe.c). */
#define BLK_PROBE_BYTES		4096
/*
 * The image format whose magic starts buf (len bytes of the image from
 * offset 0), or NULL for none known (a raw disk, as far as we can tell).
 * *crypt (may be NULL): it is an encrypted volume (LUKS), not an image
 * format.
 */
const char *blk_format_probe(const uint8_t *buf, size_t len, bool *crypt);
/*
 * Read the start of the image at fd (path for messages) and refuse a
 * known format: -EMEDIUMTYPE with a message saying how to convert it or
 * that format=raw serves it as it is; 0 for a raw disk; -errno when it
 * cannot be read.
 */
int	blk_format_check(int fd, const char *path, char *err, size_t errlen);

#endif /* VHOSTD_DEVICES_BLK_H */
