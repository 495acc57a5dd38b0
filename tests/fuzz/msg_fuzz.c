/*
 * msg_fuzz.c - libFuzzer target for the vhost-user engine: what a hostile
 * or broken front end can send.
 *
 * Input: a sequence of records, each
 *	u8 fds		low 3 bits: descriptors to attach (0..5), bit 3:
 *			eventfds instead of 64 KiB memfds
 *	u32 request, u32 flags, u32 size	(the header, sent as is)
 *	size bytes of payload, or what is left of the input
 * Each record goes out with one sendmsg (descriptors on its first byte)
 * over a socketpair to an engine with two queues and a device whose queue
 * handler pops every chain, touches every segment and pushes it back.
 * After each message the watched descriptors' callbacks run, as the event
 * loop would.  A crash, a sanitizer report or a segment outside the guest
 * memory the engine mapped is a finding, and so is a broken mapping rule
 * after any message: a started ring pointing outside the live mappings,
 * or a stopped ring pointing anywhere (vhost.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "util/log.h"
#include "util/util.h"
#include "vhost/vhost_int.h"
#include "virtio/virtq.h"

#include "fuzz_common.h"

#define MEMFD_SIZE	0x10000

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct virtq_elem	elem;
static uint8_t			config[256];

static const struct vu_watch_ops watch_ops = {
	.watch_add = watch_add,
	.watch_del = watch_del,
};

/* Every segment must lie inside a mapped region; touch all of it. */
static void
check_seg(struct vu_dev *dev, const struct iovec *iov)
{
	const struct gmem_region	*r;
	volatile uint8_t		*p = iov->iov_base;
	unsigned int			 i;
	size_t				 k;

	for (i = 0; i < dev->vd_mem.mm_nregions; i++) {
		r = &dev->vd_mem.mm_regions[i];
		if ((const uint8_t *)p >= r->mr_host &&
		    (const uint8_t *)p < r->mr_host + r->mr_size &&
		    iov->iov_len <= (size_t)(r->mr_host + r->mr_size -
		    (const uint8_t *)p))
			break;
	}
	if (i == dev->vd_mem.mm_nregions)
		abort();
	for (k = 0; k < iov->iov_len; k += 512)
		p[k] = p[k];
}

/* [p, p + len) inside one mapped region of the engine's table. */
static bool
in_regions(const struct vu_dev *dev, const void *p, size_t len)
{
	const struct gmem_region	*r;
	const uint8_t			*q = p;
	unsigned int			 i;

	for (i = 0; i < dev->vd_mem.mm_nregions; i++) {
		r = &dev->vd_mem.mm_regions[i];
		if (q >= r->mr_host && q < r->mr_host + r->mr_size &&
		    len <= (size_t)(r->mr_host + r->mr_size - q))
			return true;
	}
	return false;
}

/* The mapping rule: abort() when a ring points where it must not. */
static void
check_rings(const struct vu_dev *dev)
{
	const struct virtq	*vq;
	const uint8_t		*in, *base = dev->vd_inflight;
	unsigned int		 i;

	for (i = 0; i < dev->vd_nqueues; i++) {
		vq = &dev->vd_vring[i].vr_vq;
		if (!dev->vd_vring[i].vr_started) {
			if (vq->vq_desc != NULL || vq->vq_avail != NULL ||
			    vq->vq_used != NULL || vq->vq_inflight != NULL)
				abort();
			continue;
		}
		if (vq->vq_desc != NULL &&
		    (!in_regions(dev, vq->vq_desc, virtq_desc_size(vq->vq_num)) ||
		    !in_regions(dev, vq->vq_avail,
		    virtq_avail_size(vq->vq_num)) ||
		    !in_regions(dev, vq->vq_used, virtq_used_size(vq->vq_num))))
			abort();
		in = (const uint8_t *)(uintptr_t)vq->vq_inflight;
		if (in != NULL && (base == NULL || in < base ||
		    in + VIRTQ_INFLIGHT_SIZE(vq->vq_num) >
		    base + dev->vd_inflight_size))
			abort();
	}
}

static void
queue_handler(struct vu_dev *dev, unsigned int qidx)
{
	struct virtq	*vq = vu_queue(dev, qidx);
	unsigned int	 i, n = 0;
	size_t		 avail;
	uint16_t	 head;
	int		 rc;

	/* What a net rx queue does: count, then pop, give back, pop again. */
	if (vq != NULL && virtq_avail_bytes(vq, 4096, &avail) == 0 &&
	    avail > 4096)
		abort();
	if (vq != NULL && (rc = virtq_pop(vq, &elem)) > 0) {
		head = elem.head;
		if (virtq_unpop(vq) != 0 || virtq_pop(vq, &elem) != 1 ||
		    elem.head != head || virtq_unpop(vq) != 0)
			abort();
	}
	while (vq != NULL && n++ < 1024 &&
	    (rc = virtq_pop(vq, &elem)) > 0) {
		for (i = 0; i < elem.out_num + elem.in_num; i++)
			check_seg(dev, &elem.iov[i]);
		virtq_push(vq, elem.head, elem.in_len);
	}
	vu_queue_notify(dev, qidx);
}

static uint64_t
get_features(struct vu_dev *dev)
{
	return 1ull << 0;
}

static int
get_config(struct vu_dev *dev, uint8_t *buf, uint32_t off, uint32_t len)
{
	if (off > sizeof(config) || len > sizeof(config) - off)
		return -EINVAL;
	memcpy(buf, config + off, len);
	return 0;
}

static int
set_config(struct vu_dev *dev, const uint8_t *buf, uint32_t off,
    uint32_t len, uint32_t flags)
{
	if (off > sizeof(config) || len > sizeof(config) - off)
		return -EINVAL;
	memcpy(config + off, buf, len);
	return 0;
}

/* The net hooks: MTU and RARP offered, their requests routed here. */
static uint64_t
get_protocol_features(struct vu_dev *dev)
{
	return (1ull << VHOST_USER_PROTOCOL_F_MTU) |
	    (1ull << VHOST_USER_PROTOCOL_F_RARP);
}

static int
request(struct vu_dev *dev, uint32_t req, const void *payload, uint32_t size)
{
	uint64_t	v;

	/* The engine checked the row: a u64, and the feature negotiated. */
	if ((req != VHOST_USER_NET_SET_MTU && req != VHOST_USER_SEND_RARP) ||
	    size != sizeof(v))
		abort();
	memcpy(&v, payload, sizeof(v));
	return v > 65535 && req == VHOST_USER_NET_SET_MTU ? -EINVAL : 0;
}

static uint16_t
max_queue_size(struct vu_dev *dev, unsigned int qidx)
{
	return qidx == 0 ? 256 : 0;
}

static const struct vu_dev_ops dev_ops = {
	.get_features = get_features,
	.get_config = get_config,
	.set_config = set_config,
	.queue_handler = queue_handler,
	.get_protocol_features = get_protocol_features,
	.requests = VU_REQUEST_BIT(VHOST_USER_NET_SET_MTU) |
	    VU_REQUEST_BIT(VHOST_USER_SEND_RARP),
	.request = request,
	.max_queue_size = max_queue_size,
};

static int
make_fd(bool event)
{
	int	fd;

	if (event)
		return eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	if ((fd = memfd_create("msg_fuzz", MFD_CLOEXEC)) >= 0 &&
	    ftruncate(fd, MEMFD_SIZE) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Send one record; returns the bytes of input it used. */
static size_t
send_record(int sock, const uint8_t *data, size_t size)
{
	struct iovec	 iov;
	uint32_t	 plen;
	size_t		 len;
	int		 fds[8];
	unsigned int	 nfds, i;

	nfds = (data[0] & 7) % 6;
	data++;
	size--;
	if (size < 12)
		len = size;
	else {
		memcpy(&plen, data + 8, sizeof(plen));
		len = 12 + (plen < size - 12 ? plen : size - 12);
	}
	for (i = 0; i < nfds; i++)
		fds[i] = make_fd(data[-1] & 8);
	iov.iov_base = (void *)(uintptr_t)data;
	iov.iov_len = len;
	if (len > 0)
		(void)send_fds(sock, &iov, 1, fds, nfds);
	for (i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return 1 + len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool	 inited;
	struct vu_dev	*dev;
	unsigned int	 i, n;
	size_t		 used;
	int		 sv[2], rc;
	char		 sink[4096];

	if (!inited) {
		log_init(0, LOG_TO_STDERR, "msg_fuzz");
		inited = true;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	if ((dev = calloc(1, sizeof(*dev))) == NULL)
		abort();
	memset(watches, 0, sizeof(watches));
	if (vu_dev_init(dev, sv[0], 2, &dev_ops, NULL, &watch_ops, NULL) != 0)
		abort();
	while (size > 0) {
		used = send_record(sv[1], data, size);
		data += used;
		size -= used;
		if (size == 0)
			shutdown(sv[1], SHUT_WR);
		rc = vu_dev_dispatch(dev);
		/* Drain replies so the engine never blocks on a full socket. */
		while (recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
		check_rings(dev);
		if (rc != 0)
			break;
		for (i = 0, n = 0; i < MAX_WATCH && n < 16; i++)
			if (watches[i].cb != NULL) {
				n++;
				watches[i].cb(watches[i].fd, watches[i].arg);
			}
	}
	vu_dev_fini(dev);
	free(dev);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
