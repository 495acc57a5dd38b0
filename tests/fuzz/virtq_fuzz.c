/*
 * virtq_fuzz.c - libFuzzer target for the split virtqueue.
 *
 * Input: byte 0 picks the ring size (1 << (b % 9): 1..256), byte 1 the
 * features (bit 0 INDIRECT_DESC, bit 1 EVENT_IDX), bytes 2-3 last_avail;
 * the rest is copied to guest physical address 0, where the descriptor
 * table (0x0), avail ring (0x1000) and used ring (0x1400) live, followed
 * by data and indirect tables.  Guest memory is three memfd regions: two
 * adjacent ([0, 32K), [32K, 64K)) and one after a hole ([128K, 132K)).
 *
 * Everything available is popped; every segment of every element must lie
 * inside a region (else abort), and is read or written in full so ASan
 * sees any stray pointer.  Then the used ring and notification paths run.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "util/log.h"
#include "mem/gmem.h"
#include "virtio/virtio.h"
#include "virtio/virtq.h"

#define MEMFD_SIZE	0x11000
#define DESC_GPA	0x0
#define AVAIL_GPA	0x1000
#define USED_GPA	0x1400
#define COPY_MAX	0x10000		/* regions A and B */

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gmem		 mem;
static uint8_t			*guest;		/* memfd, offset == gpa < 64K */
static struct virtq_elem	 elem;
static uint8_t			 sink[4096];

static void
fuzz_init(void)
{
	static const struct gmem_desc r[3] = {
		{ 0x0, 0x8000, 0x10000000, 0x0 },
		{ 0x8000, 0x8000, 0x10008000, 0x8000 },
		{ 0x20000, 0x1000, 0x20000000, 0x10000 },
	};
	unsigned int	i;
	int		fd;

	log_init(0, LOG_TO_STDERR, "virtq_fuzz");
	gmem_init(&mem);
	if ((fd = memfd_create("virtq_fuzz", MFD_CLOEXEC)) < 0 ||
	    ftruncate(fd, MEMFD_SIZE) != 0)
		abort();
	guest = mmap(NULL, MEMFD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	if (guest == MAP_FAILED)
		abort();
	for (i = 0; i < 3; i++)
		if (gmem_add(&mem, &r[i], dup(fd)) != 0)
			abort();
	close(fd);
}

/* Abort unless [p, p + len) lies inside one mapped region. */
static void
check_seg(const struct iovec *iov)
{
	const struct gmem_region	*r;
	const uint8_t			*p = iov->iov_base;
	unsigned int			 i;

	if (iov->iov_len == 0)
		abort();	/* zero-length descriptors give no segment */
	for (i = 0; i < mem.mm_nregions; i++) {
		r = &mem.mm_regions[i];
		if (p >= r->mr_host && p < r->mr_host + r->mr_size &&
		    iov->iov_len <= (size_t)(r->mr_host + r->mr_size - p))
			return;
	}
	abort();
}

static void
consume(void)
{
	unsigned int	i;
	size_t		off, out = 0, in = 0;

	if (elem.out != elem.iov || elem.in != elem.iov + elem.out_num ||
	    elem.out_num + elem.in_num > VIRTQ_MAX_SEGS)
		abort();
	for (i = 0; i < elem.out_num; i++) {
		check_seg(&elem.out[i]);
		out += elem.out[i].iov_len;
	}
	for (i = 0; i < elem.in_num; i++) {
		check_seg(&elem.in[i]);
		in += elem.in[i].iov_len;
	}
	if (out != elem.out_len || in != elem.in_len)
		abort();
	for (off = 0; off < elem.out_len; off += sizeof(sink))
		iov_to_buf(elem.out, elem.out_num, off, sink, sizeof(sink));
	for (off = 0; off < elem.in_len; off += sizeof(sink))
		iov_from_buf(elem.in, elem.in_num, off, sink, sizeof(sink));
}

static struct ratelimit_log	fuzz_log;
static bool			fuzz_log_ready;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 inited;
	struct virtq	 vq;
	uint64_t	 features = 0;
	uint16_t	 num, last_avail;
	unsigned int	 npop = 0;
	size_t		 avail = 0;
	uint16_t	 head;
	int		 rc, unpopped = 0;

	if (!inited) {
		fuzz_init();
		inited = 1;
	}
	if (size < 4)
		return 0;
	num = (uint16_t)(1u << (data[0] % 9));
	if (data[1] & 1)
		features |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	if (data[1] & 2)
		features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	last_avail = (uint16_t)(data[2] | data[3] << 8);
	data += 4;
	size -= 4;
	memset(guest, 0, MEMFD_SIZE);
	memcpy(guest, data, size < COPY_MAX ? size : COPY_MAX);

	if (virtq_init(&vq, &mem, num,
	    gmem_gpa(&mem, DESC_GPA, virtq_desc_size(num)),
	    gmem_gpa(&mem, AVAIL_GPA, virtq_avail_size(num)),
	    gmem_gpa(&mem, USED_GPA, virtq_used_size(num)),
	    last_avail, features) != 0)
		abort();
	/* Rate-limited as in the engine: keep millions of guest-error lines
	 * out of the log (the message path is covered by the unit tests). */
	if (!fuzz_log_ready) {
		ratelimit_log_init(&fuzz_log, 1, 1);
		fuzz_log_ready = true;
	}
	vq.vq_log = &fuzz_log;
	virtq_disable_notify(&vq);
	/* The count looks at what pop takes next, and never more than the
	 * limit; a chain it finds malformed breaks the queue. */
	if ((rc = virtq_avail_bytes(&vq, last_avail, &avail)) != 0 &&
	    (rc != -EIO || !vq.vq_broken))
		abort();
	if (avail > last_avail)
		abort();
	while ((rc = virtq_pop(&vq, &elem)) == 1) {
		/* Every other chain goes back once and comes out again. */
		if ((npop & 1) && !unpopped) {
			head = elem.head;
			if (virtq_unpop(&vq) != 0 || virtq_pop(&vq, &elem) != 1 ||
			    elem.head != head)
				abort();
			unpopped = 1;
		} else
			unpopped = 0;
		consume();
		virtq_push(&vq, elem.head, (uint32_t)elem.in_len);
		if (++npop > num)
			abort();	/* more than the ring can hold */
	}
	if (rc != 0 && (rc != -EIO || !vq.vq_broken))
		abort();
	virtq_flush(&vq);
	(void)virtq_should_notify(&vq);
	(void)virtq_enable_notify(&vq);
	if (vq.vq_broken && virtq_pop(&vq, &elem) != -EIO)
		abort();
	return 0;
}
