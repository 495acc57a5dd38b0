/*
 * counters.h - a device child's I/O counters, as they cross to the parent.
 *
 * Every device child counts into one struct ctr_region: a fixed layout of
 * plain 64-bit counters, per queue, in a memfd the parent created for that
 * child alone (src/host/stats.c).  The child maps it read-write before its
 * jail; the parent maps it read-only and copies it out when asked (vhostd
 * ctl stats, a child's exit).  The child is untrusted: the parent reads
 * nothing but numbers (no length, no offset, no name comes from the
 * child), validates and clamps each one, and never waits for the child.
 * So a taken-over child can only lie about its own numbers.
 *
 * The hot path is plain increments in the child's own memory: no atomics,
 * no system call.  Only the child writes; a field the parent reads while
 * the child writes it is a torn read at worst, which the parent tolerates
 * as it tolerates any value (an aligned 64-bit load on x86_64 and arm64
 * does not tear; fields are not consistent with each other and need not
 * be).  Built with VHOSTD_NO_COUNTERS defined, the helpers below do
 * nothing (make COUNTERS=0: the bench's "off" binary).
 *
 * Who counts what (docs/devices.md):
 *   virtio/virtq.c  cq_inflight (popped, not yet pushed) and cq_requests
 *                   (pushed); CTR_ERR_RING when a chain breaks the queue.
 *   devices         bytes, errors by kind, blk's latency histogram, and
 *                   their own counters (cq_dev[], named by the device
 *                   type's dt_counters table).
 * A device gets its queue's block with vu_queue_counters() (vhost.h).
 * cq_dev is a plain uint64_t array indexed by the device's own enum: a
 * device may keep "uint64_t *c = vu_queue_counters(dev, q)->cq_dev" per
 * queue and count with c[NET_CTR_RX_FRAMES]++ (or ctr_dev_add, which
 * compiles out with the rest).
 */
#ifndef VHOSTD_UTIL_COUNTERS_H
#define VHOSTD_UTIL_COUNTERS_H

#include <stdint.h>
#include <time.h>

/* Queues a region has room for (VU_MAX_QUEUES). */
#define CTR_MAX_QUEUES	16
/* Device-specific counters per queue (struct ctr_desc). */
#define CTR_DEV_MAX	32

/*
 * Generic errors by kind: the guest got an error status, or its request
 * was dropped.
 */
enum ctr_err {
	CTR_ERR_IO,		/* the back end failed (EIO, ENOSPC, ...) */
	CTR_ERR_UNSUPPORTED,	/* request type the device does not do */
	CTR_ERR_INVALID,	/* malformed request (header, range, size) */
	CTR_ERR_RING,		/* malformed chain: the queue broke */
	CTR_ERR_MAX
};

/* "io", "unsupported", ... (the kind= label). */
extern const char *const ctr_err_names[CTR_ERR_MAX];

/*
 * Latency histogram: bucket i (0..CTR_LAT_FINITE-1) counts requests that
 * took at most 2^i microseconds (1 us .. 2^20 us, about 1.05 s) and more
 * than the bucket before; the last bucket counts the slower ones.
 */
#define CTR_LAT_FINITE	21
#define CTR_LAT_BUCKETS	(CTR_LAT_FINITE + 1)

/* One queue's counters: 64 words. */
struct ctr_queue {
	uint64_t	cq_requests;	/* completed (pushed) */
	uint64_t	cq_inflight;	/* popped, not completed: a gauge */
	uint64_t	cq_read_bytes;	/* data the device gave the guest */
	uint64_t	cq_write_bytes;	/* data the guest gave the device */
	uint64_t	cq_errors[CTR_ERR_MAX];
	uint64_t	cq_lat[CTR_LAT_BUCKETS];
	uint64_t	cq_lat_sum_ns;	/* sum of what cq_lat counted */
	uint64_t	cq_pad[1];
	uint64_t	cq_dev[CTR_DEV_MAX];	/* the device type's own */
};

#define CTR_MAGIC	0x76686374u	/* "vhct" */

/*
 * The region.  rg_magic and rg_size are written by the parent (a child
 * that runs an older layout sees the wrong size and does not count);
 * rg_nqueues by the child: the queues its engine announces.
 */
struct ctr_region {
	uint32_t		rg_magic;
	uint32_t		rg_size;	/* sizeof(struct ctr_region) */
	uint32_t		rg_nqueues;
	uint32_t		rg_pad[13];
	struct ctr_queue	rg_q[CTR_MAX_QUEUES];
};

/*
 * A device type's own per-queue counters: cd_count names (at most
 * CTR_DEV_MAX), cd_names[i] naming cq_dev[i].  A name is a metric name
 * suffix of [a-z0-9_] ("rx_frames"), or "METRIC:KIND" to count one kind
 * of a metric that has several ("tx_drops:bad_header"): every name with
 * the same METRIC becomes one metric with a kind= label.  Exported as
 * vhostd_TYPE_METRIC_total (vhostd(8), METRICS); cd_help[i], when
 * cd_help is set, is its help text (the first name of a METRIC gives it).
 */
struct ctr_desc {
	const char *const	*cd_names;
	const char *const	*cd_help;	/* or NULL */
	unsigned int		 cd_count;
};

/*
 * The block counters go to when there is nowhere else (a virtqueue the
 * engine has not pointed at its block, a queue out of range): written,
 * never read.  An engine without a region counts into blocks of its own.
 */
extern struct ctr_queue ctr_sink;

#ifndef VHOSTD_NO_COUNTERS
#define CTR_ENABLED	1
#else
#define CTR_ENABLED	0
#endif

/* c += n: a plain add in the child's own memory. */
static inline void
ctr_add(uint64_t *c, uint64_t n)
{
#if CTR_ENABLED
	*c += n;
#endif
}

/* One more of the device type's own counter idx (< its cd_count). */
static inline void
ctr_dev_add(struct ctr_queue *cq, unsigned int idx, uint64_t n)
{
#if CTR_ENABLED
	cq->cq_dev[idx % CTR_DEV_MAX] += n;
#endif
}

/* One more error of kind k. */
static inline void
ctr_error(struct ctr_queue *cq, enum ctr_err k)
{
#if CTR_ENABLED
	cq->cq_errors[(unsigned int)k % CTR_ERR_MAX]++;
#endif
}

/* Now, in nanoseconds (CLOCK_MONOTONIC: the vDSO, no system call). */
static inline uint64_t
ctr_now_ns(void)
{
#if CTR_ENABLED
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#else
	return 0;
#endif
}

/* The histogram bucket of a latency of ns nanoseconds. */
static inline unsigned int
ctr_lat_bucket(uint64_t ns)
{
	uint64_t	us = ns / 1000 + (ns % 1000 != 0);	/* rounded up */
	unsigned int	b;

	if (us <= 1)
		return 0;
	b = 64 - (unsigned int)__builtin_clzll(us - 1);	/* 2^b >= us */
	return b < CTR_LAT_FINITE ? b : CTR_LAT_FINITE;
}

/* n requests that each took from start to end (ctr_now_ns values). */
static inline void
ctr_latency(struct ctr_queue *cq, uint64_t start, uint64_t end, uint64_t n)
{
#if CTR_ENABLED
	uint64_t	ns = end > start ? end - start : 0;

	cq->cq_lat[ctr_lat_bucket(ns)] += n;
	cq->cq_lat_sum_ns += ns * n;
#endif
}

#endif /* VHOSTD_UTIL_COUNTERS_H */
