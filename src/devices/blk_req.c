/*
 * blk_req.c - one virtio-blk request (virtio 1.x, 5.2.6): parse and
 * validate a popped chain, turn it into I/O operations, run an operation
 * synchronously when io_uring cannot, and write the status back.
 *
 * The 16-byte header and the discard ranges are copied out of guest memory
 * once, and only the copies are checked and used.  The data is never
 * copied: reads and writes go straight between the image and the guest's
 * buffers.  Framing errors (no writable status byte, a header shorter than
 * 16 bytes) leave nothing to answer: the caller marks the device broken.
 * Everything else gets a status: IOERR for ranges outside the disk,
 * misaligned or oversized requests and writes to a read-only disk, UNSUPP
 * for unknown types and flags.  No operation is built before its whole
 * request was checked, so a refused request never touches the image.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include "../util/log.h"
#include "../util/util.h"
#include "blk.h"

/* Largest IN/OUT transfer: seg_max segments of size_max bytes. */
#define BLK_MAX_XFER	((uint64_t)BLK_SEG_MAX * BLK_SIZE_MAX)

static enum blk_parse
blk_answer(struct blk_req *r, uint8_t status)
{
	r->r_status = status;
	r->r_wlen = 1;
	return BLK_REQ_DONE;
}

/*
 * Whether [sector, sector + bytes / 512) is whole logical blocks inside
 * the disk.  Overflow-safe: sector is checked before it is subtracted.
 */
static bool
blk_range_ok(const struct blk_state *bs, uint64_t sector, uint64_t bytes)
{
	uint64_t	spb = bs->bs_lbs / BLK_SECTOR;

	if (bytes % bs->bs_lbs != 0 || sector % spb != 0)
		return false;
	return sector <= bs->bs_capacity &&
	    bytes / BLK_SECTOR <= bs->bs_capacity - sector;
}

/*
 * r_iov = the bytes [skip, skip + len) of iov[0 .. n).  false when that
 * takes more than BLK_MAX_IOV segments.
 */
static bool
blk_req_iov(struct blk_req *r, const struct iovec *iov, unsigned int n,
    size_t skip, size_t len)
{
	unsigned int	i, k = 0;
	size_t		chunk;

	for (i = 0; i < n && len > 0; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		if (k == BLK_MAX_IOV)
			return false;
		chunk = MIN(iov[i].iov_len - skip, len);
		r->r_iov[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
		r->r_iov[k].iov_len = chunk;
		k++;
		len -= chunk;
		skip = 0;
	}
	r->r_niov = k;
	return true;
}

static struct blk_op *
blk_req_op(struct blk_req *r, enum blk_op_kind kind, int fd, uint64_t off,
    uint64_t len)
{
	struct blk_op	*op = &r->r_ops[r->r_nops++];

	memset(op, 0, sizeof(*op));
	op->o_req = r;
	op->o_kind = (uint8_t)kind;
	op->o_fd = fd;
	op->o_off = off;
	op->o_len = len;
	return op;
}

/*
 * O_DIRECT takes only aligned offsets, lengths and buffers; anything else
 * goes through the buffered descriptor of the same file (registered as
 * file 1), which the kernel keeps coherent with direct I/O.
 */
static void
blk_rw_fd(const struct blk_state *bs, const struct blk_req *r,
    struct blk_op *op)
{
	unsigned int	i;
	uint64_t	mem = 0;

	if (!bs->bs_direct)
		return;
	for (i = 0; i < r->r_niov; i++)
		mem |= (uintptr_t)r->r_iov[i].iov_base |
		    (r->r_iov[i].iov_len & (bs->bs_dio_off - 1));
	if (((op->o_off | op->o_len) & (bs->bs_dio_off - 1)) == 0 &&
	    (mem & (bs->bs_dio_mem - 1)) == 0)
		return;
	op->o_fd = bs->bs_fd_buffered;
	op->o_fidx = 1;
}

/* IN and OUT. */
static enum blk_parse
blk_req_rw(struct blk_state *bs, struct blk_req *r,
    const struct virtq_elem *e, uint64_t sector, bool write)
{
	struct blk_op	*op;
	size_t		 len;
	bool		 ok;

	if (write && bs->bs_ro)
		return blk_answer(r, VIRTIO_BLK_S_IOERR);
	len = write ? e->out_len - sizeof(struct virtio_blk_outhdr) :
	    e->in_len - 1;
	if (len > BLK_MAX_XFER || !blk_range_ok(bs, sector, len))
		return blk_answer(r, VIRTIO_BLK_S_IOERR);
	if (write)
		ok = blk_req_iov(r, e->out, e->out_num,
		    sizeof(struct virtio_blk_outhdr), len);
	else
		ok = blk_req_iov(r, e->in, e->in_num, 0, len);
	if (!ok)
		return blk_answer(r, VIRTIO_BLK_S_IOERR);
	r->r_wlen = write ? 1 : (uint32_t)len + 1;
	r->r_data = (uint32_t)len;
	r->r_write = write;
	if (len == 0)
		return BLK_REQ_DONE;
	op = blk_req_op(r, write ? BLK_OP_WRITE : BLK_OP_READ, bs->bs_fd,
	    sector * BLK_SECTOR, len);
	op->o_dsync = write && bs->bs_dsync;
	blk_rw_fd(bs, r, op);
	/*
	 * Through the page cache, io_uring helps only where it can try the
	 * copy without blocking (RWF_NOWAIT reads on most file systems);
	 * otherwise it hands the request to a kernel worker, and buffered
	 * writes to one file are serialised in one worker anyway: the
	 * copy is done here, at half the cost.  O_DIRECT is asynchronous.
	 */
	if (!bs->bs_direct || op->o_fidx != 0)
		op->o_inline = write || !bs->bs_nowait_read;
	return BLK_REQ_IO;
}

/*
 * An fallocate of one checked range, run inline: through a ring its mode
 * would escape the seccomp filter.  The modes are the ones blk.policy
 * allows, chosen so that a taken-over child cannot allocate or grow the
 * file past its size: PUNCH_HOLE | KEEP_SIZE only frees blocks, and
 * ZERO_RANGE or 0 (allocate) without KEEP_SIZE past the end would grow the
 * file, which RLIMIT_FSIZE (blk_max_file_size) refuses.  Requests never go
 * past the end, so neither changes the size here.
 */
static struct blk_op *
blk_req_falloc(struct blk_state *bs, struct blk_req *r, int mode,
    uint64_t off, uint64_t len)
{
	struct blk_op	*op;

	op = blk_req_op(r, BLK_OP_FALLOC, bs->bs_fd, off, len);
	op->o_mode = mode;
	op->o_inline = true;
	return op;
}

/* The operations that discard or zero one checked range. */
static void
blk_req_dwz_ops(struct blk_state *bs, struct blk_req *r, bool discard,
    bool unmap, uint64_t off, uint64_t len)
{
	if (discard) {
		if (bs->bs_blkdev)
			blk_req_op(r, BLK_OP_DISCARD, bs->bs_fd, off,
			    len)->o_inline = true;
		else
			blk_req_falloc(bs, r, FALLOC_FL_PUNCH_HOLE |
			    FALLOC_FL_KEEP_SIZE, off, len);
		return;
	}
	if (bs->bs_blkdev || (bs->bs_zero_range && !(unmap &&
	    bs->bs_may_unmap))) {
		/* A block device: blkdev_issue_zeroout, NOUNMAP. */
		blk_req_falloc(bs, r, FALLOC_FL_ZERO_RANGE, off, len);
		return;
	}
	blk_req_falloc(bs, r, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
	    len);
	if (unmap && bs->bs_may_unmap)
		return;
	/* No ZERO_RANGE here: punch, then allocate the range again. */
	r->r_ops[r->r_nops - 1].o_link = true;
	blk_req_falloc(bs, r, 0, off, len);
}

/* DISCARD and WRITE_ZEROES: up to BLK_DWZ_SEG_MAX ranges. */
static enum blk_parse
blk_req_dwz(struct blk_state *bs, struct blk_req *r,
    const struct virtq_elem *e, bool discard)
{
	struct virtio_blk_dwz	seg[BLK_DWZ_SEG_MAX];
	size_t			len;
	uint64_t		sector;
	uint32_t		num, flags;
	unsigned int		i, n;

	if (bs->bs_ro)
		return blk_answer(r, VIRTIO_BLK_S_IOERR);
	if (!(discard ? bs->bs_discard : bs->bs_wzeroes))
		return blk_answer(r, VIRTIO_BLK_S_UNSUPP);
	len = e->out_len - sizeof(struct virtio_blk_outhdr);
	if (len == 0 || len % sizeof(seg[0]) != 0 || len > sizeof(seg))
		return blk_answer(r, VIRTIO_BLK_S_IOERR);
	n = (unsigned int)(len / sizeof(seg[0]));
	if (iov_to_buf(e->out, e->out_num, sizeof(struct virtio_blk_outhdr),
	    seg, len) != len)
		return blk_answer(r, VIRTIO_BLK_S_IOERR);
	for (i = 0; i < n; i++) {
		flags = le32toh(seg[i].flags);
		num = le32toh(seg[i].num_sectors);
		sector = le64toh(seg[i].sector);
		/* 5.2.6.2: unknown flags, or unmap on a discard: UNSUPP. */
		if ((flags & ~(uint32_t)VIRTIO_BLK_WZ_F_UNMAP) != 0 ||
		    (discard && flags != 0))
			return blk_answer(r, VIRTIO_BLK_S_UNSUPP);
		if (num > BLK_DWZ_SECTORS_MAX ||
		    !blk_range_ok(bs, sector, (uint64_t)num * BLK_SECTOR))
			return blk_answer(r, VIRTIO_BLK_S_IOERR);
	}
	for (i = 0; i < n; i++) {
		num = le32toh(seg[i].num_sectors);
		if (num == 0)
			continue;
		blk_req_dwz_ops(bs, r, discard,
		    (le32toh(seg[i].flags) & VIRTIO_BLK_WZ_F_UNMAP) != 0,
		    le64toh(seg[i].sector) * BLK_SECTOR,
		    (uint64_t)num * BLK_SECTOR);
	}
	return r->r_nops > 0 ? BLK_REQ_IO : BLK_REQ_DONE;
}

enum blk_parse
blk_req_parse(struct blk_state *bs, struct blk_req *r,
    const struct virtq_elem *e, const char **why)
{
	struct virtio_blk_outhdr	 hdr;
	const struct iovec		*last;
	size_t				 n;

	r->r_head = e->head;
	r->r_status = VIRTIO_BLK_S_OK;
	r->r_status_ptr = NULL;
	r->r_wlen = 1;
	r->r_err = 0;
	r->r_data = 0;
	r->r_write = false;
	r->r_nops = r->r_pending = r->r_niov = 0;
	/* Zero-length descriptors yield no segment: in[] are all bytes. */
	if (e->in_num == 0) {
		*why = "request without a writable status byte";
		return BLK_REQ_BAD;
	}
	if (iov_to_buf(e->out, e->out_num, 0, &hdr, sizeof(hdr)) !=
	    sizeof(hdr)) {
		*why = "request header shorter than 16 bytes";
		return BLK_REQ_BAD;
	}
	last = &e->in[e->in_num - 1];
	r->r_status_ptr = (uint8_t *)last->iov_base + last->iov_len - 1;

	switch (le32toh(hdr.type)) {
	case VIRTIO_BLK_T_IN:
		return blk_req_rw(bs, r, e, le64toh(hdr.sector), false);
	case VIRTIO_BLK_T_OUT:
		return blk_req_rw(bs, r, e, le64toh(hdr.sector), true);
	case VIRTIO_BLK_T_FLUSH:
		if (bs->bs_ro)
			return BLK_REQ_DONE;
		blk_req_op(r, BLK_OP_FLUSH, bs->bs_fd, 0, 0);
		return BLK_REQ_IO;
	case VIRTIO_BLK_T_GET_ID:
		/* 20 bytes, NUL-padded; a shorter buffer gets a prefix. */
		n = iov_from_buf(e->in, e->in_num, 0, bs->bs_serial,
		    MIN(e->in_len - 1, sizeof(bs->bs_serial)));
		r->r_wlen = (uint32_t)n + 1;
		return BLK_REQ_DONE;
	case VIRTIO_BLK_T_DISCARD:
		return blk_req_dwz(bs, r, e, true);
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return blk_req_dwz(bs, r, e, false);
	default:
		return blk_answer(r, VIRTIO_BLK_S_UNSUPP);
	}
}

int
blk_op_sync(const struct blk_req *r, const struct blk_op *op)
{
	uint64_t	range[2];
	ssize_t		n;

	do {
		switch (op->o_kind) {
		case BLK_OP_READ:
			n = preadv(op->o_fd, r->r_iov, (int)r->r_niov,
			    (off_t)op->o_off);
			break;
		case BLK_OP_WRITE:
			n = pwritev2(op->o_fd, r->r_iov, (int)r->r_niov,
			    (off_t)op->o_off, op->o_dsync ? RWF_DSYNC : 0);
			break;
		case BLK_OP_FLUSH:
			n = fdatasync(op->o_fd);
			break;
		case BLK_OP_FALLOC:
			n = fallocate(op->o_fd, op->o_mode, (off_t)op->o_off,
			    (off_t)op->o_len);
			break;
		case BLK_OP_DISCARD:
			range[0] = op->o_off;
			range[1] = op->o_len;
			n = ioctl(op->o_fd, BLKDISCARD, range);
			break;
		default:
			return -EINVAL;
		}
	} while (n == -1 && errno == EINTR);
	return n < 0 ? -errno : (int)n;
}

static const char *
blk_op_name(const struct blk_op *op)
{
	static const char *const names[] = {
		"read", "write", "flush", "fallocate", "discard"
	};

	return op->o_kind < ARRAY_SIZE(names) ? names[op->o_kind] : "?";
}

bool
blk_op_done(struct blk_state *bs, struct blk_op *op, int res)
{
	struct blk_req	*r = op->o_req;

	/* The range is inside the image: a short transfer is an error. */
	if (res >= 0 && (op->o_kind == BLK_OP_READ ||
	    op->o_kind == BLK_OP_WRITE) && (uint64_t)res != op->o_len)
		res = -EIO;
	if (res < 0 && r->r_err == 0) {
		r->r_err = res;
		ratelimit_warnx(blk_warnlog(bs), ratelimit_now(), "blk: %s of %llu bytes at "
		    "byte %llu failed: %s (the guest gets an I/O error; "
		    "further failures are not logged)", blk_op_name(op),
		    (unsigned long long)op->o_len,
		    (unsigned long long)op->o_off, strerror(-res));
	}
	return --r->r_pending == 0;
}

uint32_t
blk_req_status(struct blk_state *bs, struct blk_req *r)
{
	uint8_t	st = r->r_err != 0 ? VIRTIO_BLK_S_IOERR : r->r_status;

	*(volatile uint8_t *)r->r_status_ptr = st;
	return st == VIRTIO_BLK_S_OK ? r->r_wlen : 1;
}
