/*
 * blk_harness.c - blk_test's back end: virtio-blk driven by the in-tree
 * front end (vuf) over a socketpair: the device and the vhost-user engine
 * run in a thread of their own with a poll loop standing in for the
 * child's event loop (the completion eventfds arrive through
 * vu_dev_watch), the test thread is the guest.  Images live in /var/tmp
 * (ext4 here: ZERO_RANGE, O_DIRECT) and /dev/shm (tmpfs: punch only).
 */

#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>

#include "blk_harness.h"

/* The back end: engine + device, served by one thread. */
struct blk_be	 be;

struct vuf	 f;
bool		 indirect_all;	/* one descriptor per request */
char		 img[PATH_MAX];
bool		 img_is_dev;	/* img is a loop device: no unlink */
int		 imgfd = -1;
const char	*t_threads;	/* threads= of BLK_DATA_TEST, or NULL */

static int
w_add(void *ctx, int fd, void (*cb)(int, void *), void *arg)
{
	unsigned int	i;

	for (i = 0; i < be.nw; i++)
		if (be.w[i].fd == fd)
			return -EEXIST;
	if (be.nw == MAX_WATCH)
		return -ENOSPC;
	be.w[be.nw].fd = fd;
	be.w[be.nw].cb = cb;
	be.w[be.nw].arg = arg;
	be.nw++;
	return 0;
}

static void
w_del(void *ctx, int fd)
{
	unsigned int	i;

	for (i = 0; i < be.nw; i++)
		if (be.w[i].fd == fd) {
			be.w[i] = be.w[--be.nw];
			return;
		}
}

static int
w_defer(void *ctx, void (*cb)(void *), void *arg)
{
	unsigned int	i, slot = VU_MAX_QUEUES;

	for (i = 0; i < VU_MAX_QUEUES; i++) {
		if (be.darg[i] == arg)
			return 0;
		if (be.darg[i] == NULL && slot == VU_MAX_QUEUES)
			slot = i;
	}
	if (slot == VU_MAX_QUEUES)
		return -ENOSPC;
	be.dcb[slot] = cb;
	be.darg[slot] = arg;
	be.ndefer++;
	return 0;
}

static void
w_defer_cancel(void *ctx, void *arg)
{
	unsigned int	i;

	for (i = 0; i < VU_MAX_QUEUES; i++)
		if (be.darg[i] == arg)
			be.darg[i] = NULL;
}

static const struct vu_watch_ops wops = {
	.watch_add = w_add,
	.watch_del = w_del,
	.defer = w_defer,
	.defer_cancel = w_defer_cancel,
};

/* Run the deferred calls asked for so far (not those they ask for). */
static void
be_run_deferred(void)
{
	void		(*cb[VU_MAX_QUEUES])(void *);
	void		*arg[VU_MAX_QUEUES];
	unsigned int	i;

	for (i = 0; i < VU_MAX_QUEUES; i++) {
		cb[i] = be.dcb[i];
		arg[i] = be.darg[i];
		be.darg[i] = NULL;
	}
	for (i = 0; i < VU_MAX_QUEUES; i++)
		if (arg[i] != NULL)
			cb[i](arg[i]);
}

static bool
be_deferred(void)
{
	unsigned int	i;

	for (i = 0; i < VU_MAX_QUEUES; i++)
		if (be.darg[i] != NULL)
			return true;
	return false;
}

/*
 * The child's event loop in small: watched descriptors (kicks, io_uring
 * completions) first, then the front end's messages, so that a kick sent
 * before a message is handled before it; deferred runs after both.
 */
static void *
be_main(void *arg)
{
	struct pollfd	pfd[MAX_WATCH + 1];
	unsigned int	i, n;
	int		fd;

	for (;;) {
		n = 0;
		for (i = 0; i < be.nw; i++) {
			pfd[n].fd = be.w[i].fd;
			pfd[n++].events = POLLIN;
		}
		pfd[n].fd = be.sock;
		pfd[n].events = POLLIN;
		if (poll(pfd, n + 1, be_deferred() ? 0 : -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < n; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			fd = pfd[i].fd;
			/* Earlier callbacks may have changed the table. */
			for (unsigned int k = 0; k < be.nw; k++)
				if (be.w[k].fd == fd) {
					be.w[k].cb(fd, be.w[k].arg);
					break;
				}
		}
		if ((pfd[n].revents & (POLLIN | POLLHUP)) &&
		    vu_dev_dispatch(be.dev) != 0)
			break;
		be_run_deferred();
	}
	vu_dev_free(be.dev);
	be.dev = NULL;
	return NULL;
}

int
img_create(const char *dir, size_t size)
{
	snprintf(img, sizeof(img), "%s/blk_test.XXXXXX", dir);
	imgfd = mkstemp(img);
	cr_assert_geq(imgfd, 0, "mkstemp %s: %s", img, strerror(errno));
	cr_assert_eq(ftruncate(imgfd, (off_t)size), 0);
	return imgfd;
}

/* Start the device on img with extra options "k=v" (NULL-terminated). */
/*
 * The parent half as the supervisor calls it: res initialised, and
 * released again on error (nothing is left open).
 */
int
t_open(const struct device_opt *o, unsigned int n, bool check_only,
    struct device_res *res, char *err, size_t errlen)
{
	int	rc;

	device_res_init(res);
	rc = kv_open(&blk_device_type, o, n, check_only, res, err, errlen);
	if (rc != 0)
		device_res_release(&blk_device_type, res);
	return rc;
}

/* The child half on res, with the parent's numbers (a cloned child). */
void *
t_init(const struct device_res *res)
{
	struct device_child_res	 cr;
	void			*st = NULL;

	device_res_view(res, &cr);
	cr_assert_eq(blk_device_type.dt_init(&cr, &st), 0);
	cr_assert_not_null(st);
	return st;
}

int
be_start_opts(const char *const *kv, char *err, size_t errlen)
{
	struct device_opt	opts[16];
	unsigned int		n = 0;
	int			sv[2], rc;

	opts[n].key = "path";
	opts[n++].value = img;
	for (; kv != NULL && *kv != NULL; kv += 2) {
		opts[n].key = kv[0];
		opts[n++].value = kv[1];
	}
	if (t_threads != NULL) {
		opts[n].key = "threads";
		opts[n++].value = t_threads;
	}
	rc = t_open(opts, n, false, &be.res, err, errlen);
	if (rc != 0)
		return rc;
	cr_assert_geq(be.res.dr_nfds, 1);
	be.state = t_init(&be.res);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	    0);
	be.sock = sv[0];
	be.nw = 0;
	be.ndefer = 0;
	memset(be.darg, 0, sizeof(be.darg));
	cr_assert_eq(vu_dev_new(&be.dev, sv[0],
	    blk_device_type.dt_num_queues(be.state), blk_device_type.dt_ops,
	    be.state, &wops, NULL), 0);
	cr_assert_eq(pthread_create(&be.thr, NULL, be_main, NULL), 0);
	be.running = true;
	vuf_init(&f);
	vuf_set_sock(&f, sv[1]);
	return 0;
}

void
be_start(const char *const *kv, unsigned int nqueues, uint16_t qsize)
{
	struct vuf_opts	o;
	char		err[256] = "";

	cr_assert_eq(be_start_opts(kv, err, sizeof(err)), 0, "prepare: %s",
	    err);
	memset(&o, 0, sizeof(o));
	o.o_mem_size = 32u << 20;
	o.o_features = ~0ull;
	o.o_nqueues = nqueues;
	o.o_queue_size = qsize;
	cr_assert_eq(vuf_setup(&f, NULL, &o), 0, "vuf_setup: %s",
	    vuf_error(&f));
}

static void
teardown(void)
{
	if (be.running) {
		vuf_fini(&f);
		pthread_join(be.thr, NULL);
		close(be.sock);
		be.running = false;
	}
	if (be.state != NULL)
		blk_device_type.dt_free(be.state);
	be.state = NULL;
	device_res_release(&blk_device_type, &be.res);
	if (imgfd >= 0) {
		close(imgfd);
		if (!img_is_dev)
			unlink(img);
	}
	imgfd = -1;
}

TestSuite(blk, .fini = teardown, .timeout = 60);
TestSuite(blk_t1, .fini = teardown, .timeout = 60);
TestSuite(blk_t2, .fini = teardown, .timeout = 60);

void
rq_alloc(struct rq *q, uint32_t len, size_t align)
{
	memset(q, 0, sizeof(*q));
	q->hdr = vuf_alloc(&f, sizeof(*q->hdr), 16, &q->hdr_gpa);
	q->status = vuf_alloc(&f, 1, 1, &q->st_gpa);
	cr_assert(q->hdr != NULL && q->status != NULL, "%s", vuf_error(&f));
	if (len > 0) {
		q->data = vuf_alloc(&f, len, align, &q->data_gpa);
		cr_assert_not_null(q->data, "%s", vuf_error(&f));
	}
	q->len = len;
}

/*
 * Queue q on ring idx as the Linux driver lays it out: header, data,
 * status; in an indirect table when the ring runs short of descriptors.
 */
void
rq_add(struct rq *q, unsigned int idx, uint32_t type, uint64_t sector)
{
	struct vuf_seg	seg[3];
	unsigned int	n = 0;

	q->hdr->type = type;
	q->hdr->ioprio = 0;
	q->hdr->sector = sector;
	*q->status = ST_POISON;
	seg[n++] = (struct vuf_seg){ q->hdr_gpa, sizeof(*q->hdr), false };
	if (q->len > 0)
		seg[n++] = (struct vuf_seg){ q->data_gpa, q->len,
		    type != VIRTIO_BLK_T_OUT && type != VIRTIO_BLK_T_DISCARD &&
		    type != VIRTIO_BLK_T_WRITE_ZEROES };
	seg[n++] = (struct vuf_seg){ q->st_gpa, 1, true };
	q->head = vuf_vq_add(&f, idx, seg, n, indirect_all ||
	    vuf_vq_free(&f, idx) < 8, q);
	cr_assert_geq(q->head, 0, "%s", vuf_error(&f));
}

/* Wait until every one of the n requests on ring idx came back. */
void
rq_reap(unsigned int idx, unsigned int n)
{
	struct vuf_used	u[64];
	unsigned int	got = 0;
	int		rc, i;

	while (got < n) {
		if (vuf_vq_pending(&f, idx) == 0)
			cr_assert_eq(vuf_vq_wait(&f, idx, 10000), 0, "%s "
			    "(%u of %u back)", vuf_error(&f), got, n);
		rc = vuf_vq_reap(&f, idx, u, 64);
		cr_assert_geq(rc, 0, "%s", vuf_error(&f));
		for (i = 0; i < rc; i++)
			((struct rq *)u[i].u_cookie)->used = u[i].u_len;
		got += (unsigned int)rc;
	}
}

/* Submit one request, wait for it; the status byte. */
uint8_t
rq_do(struct rq *q, unsigned int idx, uint32_t type, uint64_t sector)
{
	rq_add(q, idx, type, sector);
	cr_assert_eq(vuf_vq_kick(&f, idx, false), 0, "%s", vuf_error(&f));
	rq_reap(idx, 1);
	return *q->status;
}

void
fill(uint8_t *p, size_t len, unsigned int seed)
{
	size_t	i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
}

bool
all(const uint8_t *p, size_t len, uint8_t v)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

void
img_read(void *buf, size_t len, off_t off)
{
	cr_assert_eq(pread(imgfd, buf, len, off), (ssize_t)len);
}

/* A copy of the whole image, to compare after refused requests. */
uint8_t *
img_snapshot(void)
{
	uint8_t	*p = malloc(IMG_SIZE);

	cr_assert_not_null(p);
	img_read(p, IMG_SIZE, 0);
	return p;
}

void
img_unchanged(uint8_t *snap)
{
	struct stat	st;
	uint8_t		*now = img_snapshot();

	cr_assert_eq(fstat(imgfd, &st), 0);
	cr_assert_eq(st.st_size, IMG_SIZE, "image size changed");
	cr_assert(memcmp(snap, now, IMG_SIZE) == 0, "image content changed");
	free(now);
	free(snap);
}

blkcnt_t
img_blocks(void)
{
	struct stat	st;

	cr_assert_eq(fstat(imgfd, &st), 0);
	return st.st_blocks;
}

/* Write len bytes of pattern seed at sector through the device. */
void
dev_write(unsigned int idx, uint64_t sector, uint32_t len, unsigned int seed)
{
	struct rq	q;

	rq_alloc(&q, len, 4096);
	fill(q.data, len, seed);
	cr_assert_eq(rq_do(&q, idx, VIRTIO_BLK_T_OUT, sector),
	    VIRTIO_BLK_S_OK);
	cr_assert_eq(q.used, 1);
}

/* DISCARD / WRITE_ZEROES of one range; the status. */
uint8_t
dwz(uint32_t type, uint64_t sector, uint32_t num, uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes	*d;
	struct rq				 q;

	rq_alloc(&q, sizeof(*d), 8);
	d = (void *)q.data;
	d->sector = sector;
	d->num_sectors = num;
	d->flags = flags;
	return rq_do(&q, 0, type, 0);
}

/* Fill the image with data, then check that [1 MiB, 2 MiB) read zeroes. */
void
check_zeroed(bool blocks_drop, blkcnt_t before)
{
	struct rq	r;

	rq_alloc(&r, 1u << 20, 4096);
	memset(r.data, 0x5a, 1u << 20);
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, 2048), VIRTIO_BLK_S_OK);
	cr_assert(all(r.data, 1u << 20, 0), "range does not read zeroes");
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, 4096), VIRTIO_BLK_S_OK);
	cr_assert_not(all(r.data, 4096, 0), "zeroed past the range");
	if (blocks_drop)
		cr_assert_leq(img_blocks(), before - 2048,
		    "st_blocks %lld -> %lld: nothing deallocated",
		    (long long)before, (long long)img_blocks());
	else
		cr_assert_geq(img_blocks(), before,
		    "st_blocks %lld -> %lld: deallocated without unmap",
		    (long long)before, (long long)img_blocks());
}

/*
 * n writes of 4 KiB to distinct blocks, kicked at once; then n reads of
 * them, kicked at once, checked against what was written.
 */
void
many(unsigned int n)
{
	struct rq	*q = calloc(n, sizeof(*q));
	uint8_t		 want[4096];
	unsigned int	 i;

	cr_assert_not_null(q);
	indirect_all = true;
	for (i = 0; i < n; i++) {
		rq_alloc(&q[i], 4096, 4096);
		fill(q[i].data, 4096, 100 + i);
		rq_add(&q[i], 0, VIRTIO_BLK_T_OUT, (uint64_t)i * 8);
	}
	cr_assert_eq(vuf_vq_kick(&f, 0, false), 0);
	rq_reap(0, n);
	for (i = 0; i < n; i++) {
		cr_assert_eq(*q[i].status, VIRTIO_BLK_S_OK, "write %u", i);
		memset(q[i].data, 0, 4096);
		rq_add(&q[i], 0, VIRTIO_BLK_T_IN, (uint64_t)i * 8);
	}
	cr_assert_eq(vuf_vq_kick(&f, 0, false), 0);
	rq_reap(0, n);
	for (i = 0; i < n; i++) {
		cr_assert_eq(*q[i].status, VIRTIO_BLK_S_OK, "read %u", i);
		cr_assert_eq(q[i].used, 4097);
		fill(want, 4096, 100 + i);
		cr_assert(memcmp(q[i].data, want, 4096) == 0, "data %u", i);
	}
	indirect_all = false;
	free(q);
}
