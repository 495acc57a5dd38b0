/*
 * blk_test.c - virtio-blk driven by the in-tree front end (vuf) over a
 * socketpair: the device and the vhost-user engine run in a thread of
 * their own with a poll loop standing in for the child's event loop (the
 * completion eventfds arrive through vu_dev_watch), the test thread is the
 * guest.  Images live in /var/tmp (ext4 here: ZERO_RANGE, O_DIRECT) and
 * /dev/shm (tmpfs: punch only).
 *
 * Covered: the type table and options, config space against Linux's
 * struct virtio_blk_config, read/write round trips (io_uring, synchronous,
 * O_DIRECT with unaligned buffers, 4 KiB blocks), flush, GET_ID, range
 * and alignment checks, read-only refusals, discard and write-zeroes (with
 * and without unmap, both file systems), request framing errors, two
 * queues, 128 and 400 requests in flight, a ring stopped with I/O in
 * flight, write-through, and io_uring without kernel workers.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <linux/virtio_blk.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <liburing.h>

#include "devices/device.h"
#include "kvprep.h"
#include "virtio/virtq.h"
#include "vhost/vhost.h"
#include "vuf.h"

#define IMG_SIZE	(4u << 20)		/* 8192 sectors */
#define IMG_SECTORS	(IMG_SIZE / 512)
#define MAX_WATCH	64
#define ST_POISON	0xee

struct watch {
	int	  fd;
	void	(*cb)(int, void *);
	void	 *arg;
};

/* The back end: engine + device, served by one thread. */
static struct {
	struct vu_dev	*dev;
	struct device_res res;		/* the parent half's */
	void		*state;		/* the child half's */
	int		 sock;
	pthread_t	 thr;
	bool		 running;
	struct watch	 w[MAX_WATCH];
	unsigned int	 nw;
	/* Deferred runs (vu_queue_reschedule), after the next poll. */
	void		(*dcb[VU_MAX_QUEUES])(void *);
	void		*darg[VU_MAX_QUEUES];
	unsigned int	 ndefer;	/* asked for, in all */
} be;

static struct vuf	 f;
static bool		 indirect_all;	/* one descriptor per request */
static char		 img[PATH_MAX];
static bool		 img_is_dev;	/* img is a loop device: no unlink */
static int		 imgfd = -1;
static const char	*t_threads;	/* threads= of BLK_DATA_TEST, or NULL */

/* From src/devices/blk.h, which clashes with <linux/virtio_blk.h>. */
struct blk_state;
unsigned int	blk_threads_deferred(struct blk_state *bs);

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

static int
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
static int
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
static void *
t_init(const struct device_res *res)
{
	struct device_child_res	 cr;
	void			*st = NULL;

	device_res_view(res, &cr);
	cr_assert_eq(blk_device_type.dt_init(&cr, &st), 0);
	cr_assert_not_null(st);
	return st;
}

static int
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

static void
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

/*
 * A data-path test, run three times: with the queues on the control
 * thread (suite blk, threads=0: the engine's thread, be_main), on one
 * queue thread (blk_t1, threads=1) and on two (blk_t2, threads=2: two
 * threads only where the test has two queues; with one, threads= is
 * capped at queues=).
 */
#define BLK_DATA_TEST(name)						\
	static void name##_body(void);					\
	Test(blk, name) { t_threads = "0"; name##_body(); }		\
	Test(blk_t1, name) { t_threads = "1"; name##_body(); }		\
	Test(blk_t2, name) { t_threads = "2"; name##_body(); }		\
	static void name##_body(void)

/* One request in flight: everything the guest needs to build and check. */
struct rq {
	struct virtio_blk_outhdr	*hdr;
	uint8_t				*data;
	uint8_t				*status;
	uint64_t			 hdr_gpa;
	uint64_t			 data_gpa;
	uint64_t			 st_gpa;
	uint32_t			 len;
	uint32_t			 used;
	int				 head;
};

static void
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
static void
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
static void
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
static uint8_t
rq_do(struct rq *q, unsigned int idx, uint32_t type, uint64_t sector)
{
	rq_add(q, idx, type, sector);
	cr_assert_eq(vuf_vq_kick(&f, idx, false), 0, "%s", vuf_error(&f));
	rq_reap(idx, 1);
	return *q->status;
}

static void
fill(uint8_t *p, size_t len, unsigned int seed)
{
	size_t	i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
}

static bool
all(const uint8_t *p, size_t len, uint8_t v)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void
img_read(void *buf, size_t len, off_t off)
{
	cr_assert_eq(pread(imgfd, buf, len, off), (ssize_t)len);
}

/* A copy of the whole image, to compare after refused requests. */
static uint8_t *
img_snapshot(void)
{
	uint8_t	*p = malloc(IMG_SIZE);

	cr_assert_not_null(p);
	img_read(p, IMG_SIZE, 0);
	return p;
}

static void
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

static blkcnt_t
img_blocks(void)
{
	struct stat	st;

	cr_assert_eq(fstat(imgfd, &st), 0);
	return st.st_blocks;
}

/* Write len bytes of pattern seed at sector through the device. */
static void
dev_write(unsigned int idx, uint64_t sector, uint32_t len, unsigned int seed)
{
	struct rq	q;

	rq_alloc(&q, len, 4096);
	fill(q.data, len, seed);
	cr_assert_eq(rq_do(&q, idx, VIRTIO_BLK_T_OUT, sector),
	    VIRTIO_BLK_S_OK);
	cr_assert_eq(q.used, 1);
}

Test(blk, type_table)
{
	const struct dev_key	*k;
	bool			 file = false, ro = false;
	unsigned int		 i, ncaps = 0;

	cr_assert_eq(device_type_find("blk"), &blk_device_type);
	cr_assert_str_eq(blk_device_type.dt_name, "blk");
	cr_assert_str_eq(blk_device_type.dt_caps_type, "block");
	cr_assert_gt(blk_device_type.dt_nkeys, 0);
	for (i = 0; i < blk_device_type.dt_nkeys; i++) {
		k = &blk_device_type.dt_keys[i];
		cr_assert_not_null(k->dk_name);
		cr_assert_not_null(k->dk_help, "%s has no help", k->dk_name);
		if (k->dk_flags & DKF_CAPS)
			ncaps++;
		if (k->dk_alias != NULL && strcmp(k->dk_alias, "blk-file") == 0 &&
		    strcmp(k->dk_name, "path") == 0)
			file = (k->dk_flags & DKF_CAPS) != 0;
		if (k->dk_alias != NULL && strcmp(k->dk_alias, "read-only") == 0 &&
		    strcmp(k->dk_name, "read-only") == 0)
			ro = (k->dk_flags & DKF_CAPS) != 0;
	}
	cr_assert_eq(ncaps, 2);
	cr_assert(file && ro, "--blk-file and --read-only aliases, features");
	cr_assert_str_eq(blk_device_type.dt_description,
	    "virtio block device");
	cr_assert_not_null(blk_device_type.dt_init);
	cr_assert_not_null(blk_device_type.dt_spawn);
	cr_assert_not_null(blk_device_type.dt_close);
}

/* vhostd blk --print-capabilities, when the binary is next to us. */
Test(blk, print_capabilities)
{
	char	exe[PATH_MAX], cmd[PATH_MAX + 64], out[512], norm[512];
	FILE	*p;
	size_t	n, i, k = 0;
	ssize_t	len;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(len, 0);
	exe[len] = '\0';
	*strrchr(exe, '/') = '\0';	/* BUILD/tests/unit */
	snprintf(cmd, sizeof(cmd), "%s/../../vhostd", exe);
	if (access(cmd, X_OK) != 0)
		cr_skip_test("no vhostd binary at %s", cmd);
	strcat(cmd, " blk --print-capabilities");
	cr_assert_not_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	cr_assert_eq(pclose(p), 0);
	for (i = 0; i < n; i++)
		if (out[i] != ' ' && out[i] != '\n')
			norm[k++] = out[i];
	norm[k] = '\0';
	cr_assert_str_eq(norm,
	    "{\"type\":\"block\",\"features\":[\"blk-file\",\"read-only\"]}");
}

Test(blk, prepare_errors)
{
	const char *const bad[][3] = {
		{ "logical-block-size", "1024", "logical-block-size" },
		{ "queues", "17", "queues" },
		{ "queues", "0", "queues" },
		{ "serial", "123456789012345678901", "serial" },
		{ "direct", "yes", "direct" },
		{ "poll-us", "-1", "poll-us" },
		{ "colour", "blue", "colour" },
	};
	const char *const	ro_discard[] = { "read-only", "on", "discard",
				    "on", NULL };
	struct device_opt	o[2];
	struct device_res	res;
	char			err[256];
	unsigned int		i;

	img_create("/var/tmp", IMG_SIZE);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		o[0].key = "path";
		o[0].value = img;
		o[1].key = bad[i][0];
		o[1].value = bad[i][1];
		err[0] = '\0';
		device_res_init(&res);
		cr_assert_lt(t_open(o, 2, false, &res, err,
		    sizeof(err)), 0, "%s=%s accepted", bad[i][0], bad[i][1]);
		/* Refused by the options: nothing opened yet. */
		cr_assert_eq(res.dr_nfds, 0);
		cr_assert_null(res.dr_data);
		device_res_release(&blk_device_type, &res);
		cr_assert_not_null(strstr(err, bad[i][2]), "%s", err);
	}
	/* path is required; directories and missing files are refused. */
	cr_assert_eq(t_open(o + 1, 0, false, &res, err, sizeof(err)),
	    -EINVAL);
	cr_assert_not_null(strstr(err, "path"));
	o[0].value = "/var/tmp";
	o[1].key = "read-only";
	o[1].value = "on";
	cr_assert_eq(t_open(o, 2, false, &res, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "not a regular file"), "%s", err);
	o[0].value = "/nonexistent/img";
	cr_assert_eq(t_open(o, 1, false, &res, err, sizeof(err)), -ENOENT);
	/* discard=on where it cannot work fails early. */
	cr_assert_eq(be_start_opts(ro_discard, err, sizeof(err)), -EOPNOTSUPP);
	cr_assert_not_null(strstr(err, "discard"), "%s", err);
	/* An image smaller than one block. */
	cr_assert_eq(ftruncate(imgfd, 511), 0);
	o[0].value = img;
	cr_assert_eq(t_open(o, 1, false, &res, err, sizeof(err)), -EINVAL);
	cr_assert_eq(res.dr_nfds, 0);
}

Test(blk, config_space)
{
	const char *const	kv[] = { "queues", "3", "serial", "x", NULL };
	struct virtio_blk_config c;
	uint64_t		 want;

	img_create("/var/tmp", IMG_SIZE + 100);	/* partial last block */
	be_start(kv, 1, 256);
	want = (1ull << VIRTIO_BLK_F_SIZE_MAX) |
	    (1ull << VIRTIO_BLK_F_SEG_MAX) |
	    (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_TOPOLOGY) |
	    (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_CONFIG_WCE) |
	    (1ull << VIRTIO_BLK_F_MQ) | (1ull << VIRTIO_BLK_F_DISCARD) |
	    (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
	cr_assert_eq(f.f_dev_features & want, want, "features 0x%llx",
	    (unsigned long long)f.f_dev_features);
	cr_assert_eq(f.f_dev_features & (1ull << VIRTIO_BLK_F_RO), 0);
	cr_assert_eq(f.f_nqueues, 3);
	cr_assert(vuf_has_protocol(&f, VHOST_USER_PROTOCOL_F_CONFIG));
	memset(&c, 0xa5, sizeof(c));
	cr_assert_eq(vuf_get_config(&f, 0, &c, sizeof(c)), 0, "%s",
	    vuf_error(&f));
	cr_assert_eq(c.capacity, IMG_SECTORS);
	cr_assert_eq(c.size_max, 64u << 10);
	/* SeaBIOS: (u16)(seg_max * size_max / 512) must not be 0. */
	cr_assert_lt((uint64_t)c.seg_max * c.size_max / 512, 65536);
	cr_assert_eq(c.seg_max, 126);
	cr_assert_eq(c.geometry.cylinders, 0);
	cr_assert_eq(c.blk_size, 512);
	cr_assert_eq(c.physical_block_exp, 3);	/* 4096 / 512 */
	cr_assert_eq(c.alignment_offset, 0);
	cr_assert_eq(c.min_io_size, 8);
	cr_assert_eq(c.opt_io_size, 0);
	cr_assert_eq(c.wce, 1);
	cr_assert_eq(c.num_queues, 3);
	cr_assert_eq(c.max_discard_sectors, 1u << 22);
	cr_assert_eq(c.max_discard_seg, 16);
	cr_assert_eq(c.discard_sector_alignment, 1);
	cr_assert_eq(c.max_write_zeroes_sectors, 1u << 22);
	cr_assert_eq(c.max_write_zeroes_seg, 16);
	cr_assert_eq(c.write_zeroes_may_unmap, 1);
	cr_assert_eq(c.max_secure_erase_sectors, 0);
	/* A read at an offset gets that part. */
	cr_assert_eq(vuf_get_config(&f, 34, &c.num_queues, 2), 0);
	cr_assert_eq(c.num_queues, 3);
}

Test(blk, config_4k_read_only)
{
	const char *const	 kv[] = { "logical-block-size", "4096",
				     "read-only", "on", NULL };
	struct virtio_blk_config c;
	struct rq		 q;

	img_create("/var/tmp", IMG_SIZE + 2048);
	be_start(kv, 1, 64);
	cr_assert(f.f_dev_features & (1ull << VIRTIO_BLK_F_RO));
	cr_assert_eq(f.f_dev_features & ((1ull << VIRTIO_BLK_F_DISCARD) |
	    (1ull << VIRTIO_BLK_F_WRITE_ZEROES)), 0);
	cr_assert_eq(vuf_get_config(&f, 0, &c, sizeof(c)), 0);
	cr_assert_eq(c.capacity, IMG_SECTORS);
	cr_assert_eq(c.blk_size, 4096);
	cr_assert_eq(c.physical_block_exp, 0);
	cr_assert_eq(c.max_discard_sectors, 0);
	cr_assert_eq(c.max_write_zeroes_sectors, 0);
	/* 4 KiB blocks: sectors and lengths must be whole blocks. */
	rq_alloc(&q, 4096, 4096);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_IN, 8), VIRTIO_BLK_S_OK);
	cr_assert_eq(q.used, 4097);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_IN, 1), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(q.used, 1);
	q.len = 512;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_IN, 8), VIRTIO_BLK_S_IOERR);
}

BLK_DATA_TEST(read_write_round_trip)
{
	struct rq	w, r;
	uint8_t		file[8192];

	img_create("/var/tmp", IMG_SIZE);
	be_start(NULL, 1, 256);
	rq_alloc(&w, 8192, 4096);
	rq_alloc(&r, 8192, 4096);
	fill(w.data, 8192, 1);
	cr_assert_eq(rq_do(&w, 0, VIRTIO_BLK_T_OUT, 24), VIRTIO_BLK_S_OK);
	cr_assert_eq(w.used, 1);
	memset(r.data, 0, 8192);
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, 24), VIRTIO_BLK_S_OK);
	cr_assert_eq(r.used, 8193);
	cr_assert(memcmp(w.data, r.data, 8192) == 0);
	img_read(file, sizeof(file), 24 * 512);
	cr_assert(memcmp(w.data, file, 8192) == 0, "not in the image file");
	/* The last sector of the disk. */
	w.len = r.len = 512;
	fill(w.data, 512, 2);
	cr_assert_eq(rq_do(&w, 0, VIRTIO_BLK_T_OUT, IMG_SECTORS - 1),
	    VIRTIO_BLK_S_OK);
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, IMG_SECTORS - 1),
	    VIRTIO_BLK_S_OK);
	cr_assert(memcmp(w.data, r.data, 512) == 0);
	/* FLUSH */
	r.len = 0;
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_FLUSH, 0), VIRTIO_BLK_S_OK);
	cr_assert_eq(r.used, 1);
}

/*
 * More requests in one kick than one wake-up's budget (VU_BUDGET_REQS):
 * the queue runs in several turns of the loop (deferred runs), and every
 * request comes back once with the right data.
 */
BLK_DATA_TEST(budget_splits_a_full_ring_without_losing_requests)
{
	static struct rq	q[600];
	uint8_t			*file;
	unsigned int		 i, nd;

	img_create("/dev/shm", IMG_SIZE);
	file = malloc(IMG_SIZE);
	cr_assert_not_null(file);
	fill(file, IMG_SIZE, 3);
	cr_assert_eq(pwrite(imgfd, file, IMG_SIZE, 0), (ssize_t)IMG_SIZE);
	be_start(NULL, 1, 1024);
	indirect_all = true;
	for (i = 0; i < 600; i++) {
		rq_alloc(&q[i], 4096, 4096);
		rq_add(&q[i], 0, VIRTIO_BLK_T_IN, (i * 8) % IMG_SECTORS);
	}
	cr_assert_eq(vuf_vq_kick(&f, 0, true), 0, "%s", vuf_error(&f));
	rq_reap(0, 600);
	for (i = 0; i < 600; i++) {
		cr_assert_eq(*q[i].status, VIRTIO_BLK_S_OK, "request %u", i);
		cr_assert_eq(q[i].used, 4097, "request %u", i);
		cr_assert(memcmp(q[i].data, file + (size_t)((i * 8) %
		    IMG_SECTORS) * 512, 4096) == 0, "request %u: data", i);
	}
	nd = be.ndefer + blk_threads_deferred(be.state);
	fprintf(stderr, "600 requests in one kick (threads=%s): %u deferred "
	    "runs\n", t_threads, nd);
	cr_assert_geq(nd, 2, "the queue ran %u deferred runs", nd);
	free(file);
}

/* Data split over many small segments, header and status shared. */
BLK_DATA_TEST(scattered_segments)
{
	struct vuf_seg	 seg[40];
	struct virtio_blk_outhdr *h;
	uint8_t		*buf, *st, *back;
	uint64_t	 hg, bg, sg, kg;
	unsigned int	 i;

	img_create("/var/tmp", IMG_SIZE);
	be_start(NULL, 1, 256);
	h = vuf_alloc(&f, 16, 8, &hg);
	st = vuf_alloc(&f, 1, 1, &sg);
	buf = vuf_alloc(&f, 32 * 512, 512, &bg);
	back = vuf_alloc(&f, 32 * 512, 512, &kg);
	fill(buf, 32 * 512, 9);
	h->type = VIRTIO_BLK_T_OUT;
	h->sector = 100;
	/* The header in two pieces, then 32 segments of 512 bytes. */
	seg[0] = (struct vuf_seg){ hg, 5, false };
	seg[1] = (struct vuf_seg){ hg + 5, 11, false };
	for (i = 0; i < 32; i++)
		seg[2 + i] = (struct vuf_seg){ bg + (31 - i) * 512, 512,
		    false };
	seg[34] = (struct vuf_seg){ sg, 1, true };
	*st = ST_POISON;
	cr_assert_eq(vuf_vq_exec(&f, 0, seg, 35, false, NULL), 0, "%s",
	    vuf_error(&f));
	cr_assert_eq(*st, VIRTIO_BLK_S_OK);
	/* Read back with the data and the status byte in one segment. */
	h->type = VIRTIO_BLK_T_IN;
	back[32 * 512 - 1] = 0;
	seg[0] = (struct vuf_seg){ hg, 16, false };
	seg[1] = (struct vuf_seg){ kg, 16 * 512, true };
	seg[2] = (struct vuf_seg){ kg + 16 * 512, 16 * 512 - 1, true };
	seg[3] = (struct vuf_seg){ sg, 1, true };
	cr_assert_eq(vuf_vq_exec(&f, 0, seg, 4, true, NULL), 0, "%s",
	    vuf_error(&f));
	cr_assert_eq(*st, VIRTIO_BLK_S_IOERR, "31.998 sectors is no length");
	seg[2].sg_len = 16 * 512;
	cr_assert_eq(vuf_vq_exec(&f, 0, seg, 4, true, NULL), 0);
	cr_assert_eq(*st, VIRTIO_BLK_S_OK);
	for (i = 0; i < 32; i++)
		cr_assert(memcmp(back + i * 512, buf + (31 - i) * 512, 512) ==
		    0, "segment %u", i);
}

BLK_DATA_TEST(get_id_and_unknown_type)
{
	const char *const	kv[] = { "serial", "vhostd-serial-0001", NULL };
	struct rq		q;

	img_create("/var/tmp", IMG_SIZE);
	be_start(kv, 1, 64);
	rq_alloc(&q, 20, 8);
	memset(q.data, 0x77, 20);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_GET_ID, 0), VIRTIO_BLK_S_OK);
	cr_assert_eq(q.used, 21);
	cr_assert(memcmp(q.data, "vhostd-serial-0001\0\0", 20) == 0);
	/* A shorter buffer gets what fits. */
	memset(q.data, 0x77, 20);
	q.len = 6;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_GET_ID, 0), VIRTIO_BLK_S_OK);
	cr_assert_eq(q.used, 7);
	cr_assert(memcmp(q.data, "vhostd\x77", 7) == 0);
	q.len = 0;
	cr_assert_eq(rq_do(&q, 0, 2 /* SCSI_CMD */, 0), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(rq_do(&q, 0, 14 /* SECURE_ERASE */, 0),
	    VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_OUT | 0x80000000u, 0),
	    VIRTIO_BLK_S_UNSUPP);
}

BLK_DATA_TEST(out_of_range)
{
	static const uint64_t	sectors[] = { IMG_SECTORS - 1, IMG_SECTORS,
				    IMG_SECTORS + 8, UINT64_MAX,
				    UINT64_MAX - 7, 1ull << 55 };
	struct rq		q;
	uint8_t			*snap;
	unsigned int		i;

	img_create("/var/tmp", IMG_SIZE);
	fill(q.data = malloc(IMG_SIZE), IMG_SIZE, 3);
	cr_assert_eq(pwrite(imgfd, q.data, IMG_SIZE, 0), IMG_SIZE);
	free(q.data);
	be_start(NULL, 1, 64);
	snap = img_snapshot();
	rq_alloc(&q, 1024, 4096);
	memset(q.data, 0x11, 1024);
	for (i = 0; i < ARRAY_SIZE(sectors); i++) {
		cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_OUT, sectors[i]),
		    VIRTIO_BLK_S_IOERR, "write at %llu",
		    (unsigned long long)sectors[i]);
		cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_IN, sectors[i]),
		    VIRTIO_BLK_S_IOERR, "read at %llu",
		    (unsigned long long)sectors[i]);
		cr_assert_eq(q.used, 1);
	}
	/* Not a whole sector. */
	q.len = 1000;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_OUT, 0), VIRTIO_BLK_S_IOERR);
	img_unchanged(snap);
	/* The disk is still usable. */
	q.len = 512;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_IN, IMG_SECTORS - 1),
	    VIRTIO_BLK_S_OK);
}

BLK_DATA_TEST(read_only_refuses_writes)
{
	const char *const	 kv[] = { "read-only", "on", NULL };
	struct virtio_blk_discard_write_zeroes *d;
	struct rq		 q;
	uint8_t			*snap;

	img_create("/var/tmp", IMG_SIZE);
	fill(q.data = malloc(IMG_SIZE), IMG_SIZE, 4);
	cr_assert_eq(pwrite(imgfd, q.data, IMG_SIZE, 0), IMG_SIZE);
	free(q.data);
	be_start(kv, 1, 64);
	snap = img_snapshot();
	rq_alloc(&q, 4096, 4096);
	memset(q.data, 0, 4096);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_OUT, 0), VIRTIO_BLK_S_IOERR);
	d = (void *)q.data;
	d->sector = 0;
	d->num_sectors = 8;
	d->flags = 0;
	q.len = sizeof(*d);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_DISCARD, 0),
	    VIRTIO_BLK_S_IOERR);
	d->flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0),
	    VIRTIO_BLK_S_IOERR);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_FLUSH, 0), VIRTIO_BLK_S_OK);
	q.len = 4096;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_IN, 0), VIRTIO_BLK_S_OK);
	cr_assert(memcmp(q.data, snap, 4096) == 0);
	img_unchanged(snap);
}

/* DISCARD / WRITE_ZEROES of one range; the status. */
static uint8_t
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
static void
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

static void
zero_test(const char *dir, uint32_t type, uint32_t flags, bool drop)
{
	blkcnt_t	before;
	unsigned int	i;

	img_create(dir, IMG_SIZE);
	be_start(NULL, 1, 64);
	for (i = 0; i < IMG_SECTORS; i += 2048)
		dev_write(0, i, 1u << 20, i);
	cr_assert_eq(fsync(imgfd), 0);
	before = img_blocks();
	cr_assert_geq(before, IMG_SECTORS, "image not allocated");
	cr_assert_eq(dwz(type, 2048, 2048, flags), VIRTIO_BLK_S_OK);
	check_zeroed(drop, before);
}

Test(blk, discard_punches_ext4)
{
	zero_test("/var/tmp", VIRTIO_BLK_T_DISCARD, 0, true);
}

Test(blk, discard_punches_tmpfs)
{
	zero_test("/dev/shm", VIRTIO_BLK_T_DISCARD, 0, true);
}

Test(blk, write_zeroes_unmap_ext4)
{
	zero_test("/var/tmp", VIRTIO_BLK_T_WRITE_ZEROES,
	    VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, true);
}

Test(blk, write_zeroes_keep_ext4)
{
	zero_test("/var/tmp", VIRTIO_BLK_T_WRITE_ZEROES, 0, false);
}

Test(blk, write_zeroes_keep_tmpfs)
{
	/* tmpfs has no ZERO_RANGE: punch, then allocate again. */
	zero_test("/dev/shm", VIRTIO_BLK_T_WRITE_ZEROES, 0, false);
}

Test(blk, discard_checks)
{
	struct virtio_blk_discard_write_zeroes	*d;
	struct rq				 q;
	uint8_t					*snap;
	unsigned int				 i;

	img_create("/var/tmp", IMG_SIZE);
	fill(q.data = malloc(IMG_SIZE), IMG_SIZE, 5);
	cr_assert_eq(pwrite(imgfd, q.data, IMG_SIZE, 0), IMG_SIZE);
	free(q.data);
	be_start(NULL, 1, 64);
	snap = img_snapshot();
	/* unmap on a discard, unknown flags: UNSUPP. */
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, 0, 8, 1), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, 0, 8, 2), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 3),
	    VIRTIO_BLK_S_UNSUPP);
	/* Outside the disk, overflowing, too long: IOERR. */
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, IMG_SECTORS - 8, 16, 0),
	    VIRTIO_BLK_S_IOERR);
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, UINT64_MAX - 3, 8, 0),
	    VIRTIO_BLK_S_IOERR);
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, 0, (1u << 22) + 8, 0),
	    VIRTIO_BLK_S_IOERR);
	/* 17 ranges (one too many), a partial range, no range. */
	rq_alloc(&q, 17 * sizeof(*d), 8);
	d = (void *)q.data;
	for (i = 0; i < 17; i++)
		d[i] = (struct virtio_blk_discard_write_zeroes){ i * 8, 8, 0 };
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_DISCARD, 0),
	    VIRTIO_BLK_S_IOERR);
	q.len = 20;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_DISCARD, 0),
	    VIRTIO_BLK_S_IOERR);
	q.len = 0;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_DISCARD, 0),
	    VIRTIO_BLK_S_IOERR);
	/* One bad range among good ones: nothing is done. */
	d[5].sector = IMG_SECTORS;
	q.len = 16 * sizeof(*d);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0),
	    VIRTIO_BLK_S_IOERR);
	img_unchanged(snap);
	/* 16 good ranges (every other 4 KiB block) are all zeroed. */
	for (i = 0; i < 16; i++)
		d[i] = (struct virtio_blk_discard_write_zeroes){ i * 16, 8, 0 };
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0),
	    VIRTIO_BLK_S_OK);
	snap = img_snapshot();
	for (i = 0; i < 16; i++) {
		cr_assert(all(snap + i * 8192, 4096, 0), "range %u", i);
		cr_assert_not(all(snap + i * 8192 + 4096, 4096, 0));
	}
	free(snap);
}

/*
 * Chains the driver must never send: the device marks itself broken
 * (NEEDS_RESET), answers what it cannot process with a used length of 0
 * (pushed) or not at all (virtq_pop refused the chain), and writes nothing.
 */
static void
malformed(unsigned int (*build)(struct vuf_seg *), bool pushed)
{
	struct vuf_seg	seg[4];
	struct vuf_used	u;
	uint8_t		status = 0, *snap;
	unsigned int	n, i;

	img_create("/var/tmp", IMG_SIZE);
	be_start(NULL, 1, 64);
	snap = img_snapshot();
	n = build(seg);
	cr_assert_geq(vuf_vq_add(&f, 0, seg, n, false, NULL), 0);
	cr_assert_eq(vuf_vq_kick(&f, 0, true), 0);
	if (pushed) {
		cr_assert_eq(vuf_vq_wait(&f, 0, 10000), 0, "%s",
		    vuf_error(&f));
		cr_assert_eq(vuf_vq_reap(&f, 0, &u, 1), 1);
		cr_assert_eq(u.u_len, 0);
	}
	/*
	 * On the control thread the kick is served before the next message
	 * (be_main); a queue thread hands the broken chain to the control
	 * thread, which may answer a message first: wait for it.
	 */
	for (i = 0; i < 10000; i++) {
		cr_assert_eq(vuf_get_status(&f, &status), 0, "%s",
		    vuf_error(&f));
		if ((status & VIRTIO_CONFIG_S_NEEDS_RESET) ||
		    strcmp(t_threads, "0") == 0)
			break;
		usleep(1000);
	}
	cr_assert(status & VIRTIO_CONFIG_S_NEEDS_RESET, "status 0x%x", status);
	if (!pushed)
		cr_assert_eq(vuf_vq_pending(&f, 0), 0);
	img_unchanged(snap);
}

/* Header (an OUT at sector 0), 4096 data bytes, one more byte. */
static uint64_t
out_request(void)
{
	struct virtio_blk_outhdr	*h;
	uint64_t			 g;

	h = vuf_alloc(&f, 16 + 4096 + 1, 4096, &g);
	cr_assert_not_null(h);
	h->type = VIRTIO_BLK_T_OUT;
	h->sector = 0;
	memset(h + 1, 0x42, 4097);
	return g;
}

static unsigned int
build_no_status(struct vuf_seg *seg)
{
	uint64_t	g = out_request();

	seg[0] = (struct vuf_seg){ g, 16, false };
	seg[1] = (struct vuf_seg){ g + 16, 4096, false };
	return 2;
}

static unsigned int
build_status_readable(struct vuf_seg *seg)
{
	uint64_t	g = out_request();

	/* A status "byte" the device may not write, after writable data. */
	seg[0] = (struct vuf_seg){ g, 16, false };
	seg[1] = (struct vuf_seg){ g + 16, 4096, true };
	seg[2] = (struct vuf_seg){ g + 16 + 4096, 1, false };
	return 3;
}

static unsigned int
build_short_header(struct vuf_seg *seg)
{
	uint64_t	g = out_request();

	/* 8 header bytes: type, ioprio, no sector. */
	seg[0] = (struct vuf_seg){ g, 8, false };
	seg[1] = (struct vuf_seg){ g + 16 + 4096, 1, true };
	return 2;
}

static unsigned int
build_outside_memory(struct vuf_seg *seg)
{
	uint64_t	g = out_request();

	seg[0] = (struct vuf_seg){ g, 16, false };
	/* Starts inside guest memory, ends 4 KiB past it. */
	seg[1] = (struct vuf_seg){ f.f_gpa_base + f.f_mem_size - 4096, 8192,
	    false };
	seg[2] = (struct vuf_seg){ g + 16 + 4096, 1, true };
	return 3;
}

static unsigned int
build_unmapped(struct vuf_seg *seg)
{
	uint64_t	g = out_request();

	seg[0] = (struct vuf_seg){ g, 16, false };
	seg[1] = (struct vuf_seg){ 0x1000, 4096, false };	/* no memory */
	seg[2] = (struct vuf_seg){ g + 16 + 4096, 1, true };
	return 3;
}

BLK_DATA_TEST(malformed_no_status_byte)
{
	malformed(build_no_status, true);
}

BLK_DATA_TEST(malformed_status_not_writable)
{
	/* Readable after writable: virtq_pop refuses the chain. */
	malformed(build_status_readable, false);
}

BLK_DATA_TEST(malformed_header_too_short)
{
	malformed(build_short_header, true);
}

BLK_DATA_TEST(malformed_data_outside_memory)
{
	malformed(build_outside_memory, false);
}

BLK_DATA_TEST(malformed_data_unmapped)
{
	malformed(build_unmapped, false);
}

BLK_DATA_TEST(two_queues_independent)
{
	const char *const	kv[] = { "queues", "2", NULL };
	struct rq		a, b, r;

	img_create("/var/tmp", IMG_SIZE);
	be_start(kv, 2, 128);
	rq_alloc(&a, 4096, 4096);
	rq_alloc(&b, 4096, 4096);
	rq_alloc(&r, 4096, 4096);
	fill(a.data, 4096, 10);
	fill(b.data, 4096, 11);
	/* Queue 1 alone, then queue 0 alone, each answered on its ring. */
	cr_assert_eq(rq_do(&b, 1, VIRTIO_BLK_T_OUT, 800), VIRTIO_BLK_S_OK);
	cr_assert_eq(f.f_vq[0].q_last_used, 0);
	cr_assert_eq(rq_do(&a, 0, VIRTIO_BLK_T_OUT, 400), VIRTIO_BLK_S_OK);
	cr_assert_eq(f.f_vq[1].q_last_used, 1);
	/* Both at once, reaped in the other order. */
	rq_add(&a, 0, VIRTIO_BLK_T_IN, 800);
	rq_add(&r, 1, VIRTIO_BLK_T_IN, 400);
	cr_assert_eq(vuf_vq_kick(&f, 0, false), 0);
	cr_assert_eq(vuf_vq_kick(&f, 1, false), 0);
	rq_reap(1, 1);
	rq_reap(0, 1);
	cr_assert_eq(*a.status, VIRTIO_BLK_S_OK);
	cr_assert_eq(*r.status, VIRTIO_BLK_S_OK);
	fill(b.data, 4096, 10);
	cr_assert(memcmp(r.data, b.data, 4096) == 0, "queue 1 read");
	fill(b.data, 4096, 11);
	cr_assert(memcmp(a.data, b.data, 4096) == 0, "queue 0 read");
	/* A broken queue 1 does not leave queue 0 half done. */
	cr_assert_eq(f.f_vq[0].q_last_used, 2);
	cr_assert_eq(f.f_vq[1].q_last_used, 2);
}

/*
 * n writes of 4 KiB to distinct blocks, kicked at once; then n reads of
 * them, kicked at once, checked against what was written.
 */
static void
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

BLK_DATA_TEST(in_flight_128)
{
	struct rq	chk;
	uint8_t		want[4096];

	img_create("/var/tmp", IMG_SIZE);
	be_start(NULL, 1, 256);
	many(128);
	rq_alloc(&chk, 4096, 4096);
	cr_assert_eq(rq_do(&chk, 0, VIRTIO_BLK_T_IN, 77 * 8),
	    VIRTIO_BLK_S_OK);
	fill(want, 4096, 177);
	cr_assert(memcmp(chk.data, want, 4096) == 0);
}

BLK_DATA_TEST(in_flight_more_than_depth)
{
	/* 400 > 256 requests per queue: the rest wait in the ring. */
	img_create("/var/tmp", IMG_SIZE);
	be_start(NULL, 1, 512);
	many(400);
}

BLK_DATA_TEST(in_flight_more_than_depth_direct)
{
	const char *const	kv[] = { "direct", "on", NULL };

	/* The same with O_DIRECT: the rest go when completions come in. */
	img_create("/var/tmp", IMG_SIZE);
	be_start(kv, 1, 512);
	many(400);
}

BLK_DATA_TEST(ring_stop_publishes_in_flight)
{
	const char *const	kv[] = { "direct", "on", NULL };
	struct rq		q[64];
	uint16_t		base = 0;
	unsigned int		i;

	/*
	 * O_DIRECT writes and flushes: in flight in io_uring, not inline.
	 * 8 KiB each: 64 fit one wake-up's budget, so the kick takes them
	 * all before the message is read.
	 */
	img_create("/var/tmp", IMG_SIZE);
	be_start(kv, 1, 256);
	for (i = 0; i < 64; i++) {
		rq_alloc(&q[i], i % 8 == 7 ? 0 : 8192, 4096);
		rq_add(&q[i], 0, i % 8 == 7 ? VIRTIO_BLK_T_FLUSH :
		    VIRTIO_BLK_T_OUT, (uint64_t)i * 128);
	}
	cr_assert_eq(vuf_vq_kick(&f, 0, false), 0);
	/*
	 * GET_VRING_BASE right behind the kick: on the control thread
	 * answered after all 64.  A queue thread may have taken fewer when
	 * the message comes: base says how many, and exactly those are
	 * back (published, none still in flight) when the answer is.
	 */
	cr_assert_eq(vuf_vq_stop(&f, 0, &base), 0, "%s", vuf_error(&f));
	fprintf(stderr, "threads=%s: GET_VRING_BASE answered %u\n",
	    t_threads, base);
	if (strcmp(t_threads, "0") == 0)
		cr_assert_eq(base, 64);
	cr_assert_leq(base, 64);
	cr_assert_eq(vuf_vq_pending(&f, 0), base);
	rq_reap(0, base);
	for (i = 0; i < base; i++)
		cr_assert_eq(*q[i].status, VIRTIO_BLK_S_OK);
	/* A guest reboot: the ring starts again from 0 and works. */
	cr_assert_eq(vuf_vq_alloc(&f, 0, 256), 0);
	cr_assert_eq(vuf_vq_start(&f, 0, 0), 0, "%s", vuf_error(&f));
	many(64);
}

BLK_DATA_TEST(mem_table_change_waits_for_in_flight)
{
	const char *const	kv[] = { "direct", "on", NULL };
	struct rq		q[64];
	unsigned int		i;

	/*
	 * SET_MEM_TABLE unmaps the guest memory the requests in flight
	 * write to: the device must finish and publish them first
	 * (mem_quiesce), so all 64 are used by the time the ack comes.
	 * 8 KiB each: 64 fit one wake-up's budget, so the kick takes them
	 * all before the message is read.
	 */
	img_create("/var/tmp", IMG_SIZE);
	be_start(kv, 1, 256);
	for (i = 0; i < 64; i++) {
		rq_alloc(&q[i], 8192, 4096);
		fill(q[i].data, 8192, i);
		rq_add(&q[i], 0, VIRTIO_BLK_T_OUT, (uint64_t)i * 128);
	}
	cr_assert_eq(vuf_vq_kick(&f, 0, false), 0);
	cr_assert_eq(vuf_send_mem_table(&f, 1, false), 0, "%s",
	    vuf_error(&f));
	/*
	 * A queue thread may not have taken all 64 when the message comes
	 * (what it took is back by the ack; the rest follows on the new
	 * table).  blk_t*::threads_race_* covers the threads' side.
	 */
	if (strcmp(t_threads, "0") == 0)
		cr_assert_eq(vuf_vq_pending(&f, 0), 64);
	rq_reap(0, 64);
	for (i = 0; i < 64; i++)
		cr_assert_eq(*q[i].status, VIRTIO_BLK_S_OK);
	/* The ring goes on with the new table. */
	many(16);
}

BLK_DATA_TEST(direct_io_unaligned_buffers)
{
	const char *const	kv[] = { "direct", "on", "poll-us", "50",
				    NULL };
	struct rq		w, r;
	uint8_t			file[4096];

	img_create("/var/tmp", IMG_SIZE);
	be_start(kv, 1, 64);
	/* Aligned: O_DIRECT. */
	rq_alloc(&w, 4096, 4096);
	rq_alloc(&r, 4096, 4096);
	fill(w.data, 4096, 20);
	cr_assert_eq(rq_do(&w, 0, VIRTIO_BLK_T_OUT, 16), VIRTIO_BLK_S_OK);
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, 16), VIRTIO_BLK_S_OK);
	cr_assert(memcmp(w.data, r.data, 4096) == 0);
	/* 8-byte aligned buffers: through the buffered descriptor. */
	rq_alloc(&w, 4096 + 8, 4096);
	w.data += 8;
	w.data_gpa += 8;
	w.len = 4096;
	fill(w.data, 4096, 21);
	cr_assert_eq(rq_do(&w, 0, VIRTIO_BLK_T_OUT, 24), VIRTIO_BLK_S_OK);
	rq_alloc(&r, 4096 + 8, 4096);
	r.data += 8;
	r.data_gpa += 8;
	r.len = 4096;
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, 24), VIRTIO_BLK_S_OK);
	cr_assert(memcmp(w.data, r.data, 4096) == 0);
	img_read(file, 4096, 24 * 512);
	cr_assert(memcmp(w.data, file, 4096) == 0);
	/* And the aligned path sees what the buffered one wrote. */
	rq_alloc(&r, 4096, 4096);
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, 24), VIRTIO_BLK_S_OK);
	cr_assert(memcmp(w.data, r.data, 4096) == 0);
}

/*
 * The synchronous I/O path's writes, counted: this definition takes the
 * place of libc's pwritev2 for blk_req.c (linked into this binary), and
 * makes the same system call.
 */
static int	pw_writes, pw_dsync;

ssize_t
pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	__atomic_add_fetch(&pw_writes, 1, __ATOMIC_SEQ_CST);
	if (flags & RWF_DSYNC)
		__atomic_add_fetch(&pw_dsync, 1, __ATOMIC_SEQ_CST);
	return syscall(SYS_pwritev2, fd, iov, cnt, (long)off, 0L, flags);
}

/* SET_CONFIG writeback byte to v (CONFIG_WCE). */
static void
set_wce(uint8_t v)
{
	struct vhost_user_config	cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.offset = offsetof(struct virtio_blk_config, wce);
	cfg.size = 1;
	cfg.region[0] = v;
	cr_assert_eq(vuf_request(&f, VHOST_USER_SET_CONFIG, &cfg,
	    VHOST_USER_CONFIG_HDR_SIZE + 1, NULL, 0, NULL, 0), 0, "%s",
	    vuf_error(&f));
}

/*
 * SET_CONFIG writeback = 0 (write-through, 5.2.5.1): read back, and from
 * then on every write reaches stable storage before it completes (the
 * write is issued with RWF_DSYNC); writeback = 1 again: no more.  On the
 * synchronous path (RLIMIT_NPROC 0: no ring), where the flag is seen.
 */
BLK_DATA_TEST(writeback_config)
{
	struct vhost_user_config	cfg;
	struct virtio_blk_config	c;
	struct rlimit			old, zero;
	struct rq			w;
	int				n0, d0;

	img_create("/var/tmp", IMG_SIZE);
	cr_assert_eq(getrlimit(RLIMIT_NPROC, &old), 0);
	zero = old;
	zero.rlim_cur = 0;
	cr_assert_eq(setrlimit(RLIMIT_NPROC, &zero), 0);
	be_start(NULL, 1, 64);
	cr_assert_eq(setrlimit(RLIMIT_NPROC, &old), 0);
	cr_assert_eq(vuf_get_config(&f, 0, &c, sizeof(c)), 0);
	cr_assert_eq(c.wce, 1, "writeback by default");

	/* Write-back: a plain write. */
	n0 = pw_writes;
	d0 = pw_dsync;
	dev_write(0, 0, 4096, 29);
	cr_assert_gt(pw_writes, n0, "the write did not take the counted path");
	cr_assert_eq(pw_dsync, d0, "write-back write issued with RWF_DSYNC");

	/* Write-through: every write with RWF_DSYNC. */
	set_wce(0);
	cr_assert_eq(vuf_get_config(&f, 0, &c, sizeof(c)), 0);
	cr_assert_eq(c.wce, 0);
	n0 = pw_writes;
	d0 = pw_dsync;
	dev_write(0, 0, 4096, 30);
	dev_write(0, 64, 8192, 31);
	cr_assert_gt(pw_writes, n0);
	cr_assert_eq(pw_dsync - d0, pw_writes - n0,
	    "%d of %d write-through writes without RWF_DSYNC",
	    (pw_writes - n0) - (pw_dsync - d0), pw_writes - n0);
	rq_alloc(&w, 4096, 4096);
	cr_assert_eq(rq_do(&w, 0, VIRTIO_BLK_T_IN, 0), VIRTIO_BLK_S_OK);
	{
		uint8_t	want[4096];

		fill(want, sizeof(want), 30);
		cr_assert(memcmp(w.data, want, sizeof(want)) == 0,
		    "the data written through");
	}

	/* Back to write-back. */
	set_wce(1);
	n0 = pw_writes;
	d0 = pw_dsync;
	dev_write(0, 0, 4096, 32);
	cr_assert_gt(pw_writes, n0);
	cr_assert_eq(pw_dsync, d0);

	/* Any other byte is read-only. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.offset = 0;
	cfg.size = 1;
	cr_assert_neq(vuf_request(&f, VHOST_USER_SET_CONFIG, &cfg,
	    VHOST_USER_CONFIG_HDR_SIZE + 1, NULL, 0, NULL, 0), 0);
}

/* The same round trip, discard and flush with io_uring switched off. */
static void
sync_round_trip(void)
{
	struct rq	w, r;

	rq_alloc(&w, 65536, 4096);
	rq_alloc(&r, 65536, 4096);
	fill(w.data, 65536, 40);
	cr_assert_eq(rq_do(&w, 0, VIRTIO_BLK_T_OUT, 128), VIRTIO_BLK_S_OK);
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, 128), VIRTIO_BLK_S_OK);
	cr_assert(memcmp(w.data, r.data, 65536) == 0);
	r.len = 0;
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_FLUSH, 0), VIRTIO_BLK_S_OK);
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, 128, 64, 0), VIRTIO_BLK_S_OK);
	r.len = 65536;
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, 128), VIRTIO_BLK_S_OK);
	cr_assert(all(r.data, 32768, 0));
	cr_assert(memcmp(w.data + 32768, r.data + 32768, 32768) == 0);
	many(64);
}

BLK_DATA_TEST(synchronous_without_nproc)
{
	struct rlimit	old, zero;

	img_create("/var/tmp", IMG_SIZE);
	/* RLIMIT_NPROC 0 at child init: no ring at all (root still
	 * starts the backend thread; only the soft limit changes). */
	cr_assert_eq(getrlimit(RLIMIT_NPROC, &old), 0);
	zero = old;
	zero.rlim_cur = 0;
	cr_assert_eq(setrlimit(RLIMIT_NPROC, &zero), 0);
	be_start(NULL, 1, 128);
	cr_assert_eq(setrlimit(RLIMIT_NPROC, &old), 0);
	sync_round_trip();
}

/*
 * io_uring with no kernel worker possible: an unprivileged uid whose
 * RLIMIT_NPROC is used up by this process's own threads.  Operations that
 * need a worker come back -ECANCELED and are run inline.
 */
BLK_DATA_TEST(uring_without_workers)
{
	struct rlimit	one, ml = { 8u << 20, 8u << 20 };

	if (geteuid() != 0)
		cr_skip_test("needs root to change uid");
	img_create("/var/tmp", IMG_SIZE);
	cr_assert_eq(fchmod(imgfd, 0666), 0);
	be_start(NULL, 1, 128);
	/* Only root may remove it from /var/tmp; the descriptors stay. */
	cr_assert_eq(unlink(img), 0);
	cr_assert_eq(setrlimit(RLIMIT_MEMLOCK, &ml), 0);
	cr_assert_eq(getrlimit(RLIMIT_NPROC, &one), 0);
	one.rlim_cur = 1;
	cr_assert_eq(setrlimit(RLIMIT_NPROC, &one), 0);
	/* glibc changes the ids of every thread. */
	cr_assert_eq(setresgid(65534, 65534, 65534), 0);
	cr_assert_eq(setresuid(65534, 65534, 65534), 0);
	sync_round_trip();
	/* LeakSanitizer starts a thread at exit and reads /proc/self. */
	one.rlim_cur = one.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_NPROC, &one), 0);
	cr_assert_eq(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
}

/*
 * A block device (a loop device over a file, when we may make one): size
 * and block size from the device, BLKDISCARD, zeroing through fallocate.
 */
Test(blk, block_device)
{
	struct loop_config		 lc;
	struct virtio_blk_config	 c;
	char				 dev[32];
	int				 ctl, n, back;

	if (geteuid() != 0 || (ctl = open("/dev/loop-control",
	    O_RDWR | O_CLOEXEC)) == -1)
		cr_skip_test("no loop devices here");
	back = img_create("/var/tmp", IMG_SIZE);
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	cr_assert_geq(n, 0);
	snprintf(dev, sizeof(dev), "/dev/loop%d", n);
	imgfd = open(dev, O_RDWR | O_CLOEXEC);
	cr_assert_geq(imgfd, 0, "%s: %s", dev, strerror(errno));
	memset(&lc, 0, sizeof(lc));
	lc.fd = (uint32_t)back;
	lc.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	if (ioctl(imgfd, LOOP_CONFIGURE, &lc) == -1) {
		close(imgfd);
		imgfd = back;
		cr_skip_test("LOOP_CONFIGURE %s: %s", dev, strerror(errno));
	}
	/* The test reads the device; the file goes with the loop device. */
	unlink(img);
	close(back);
	snprintf(img, sizeof(img), "%s", dev);
	img_is_dev = true;
	be_start(NULL, 1, 64);
	cr_assert(f.f_dev_features & (1ull << VIRTIO_BLK_F_DISCARD));
	cr_assert(f.f_dev_features & (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
	cr_assert_eq(vuf_get_config(&f, 0, &c, sizeof(c)), 0);
	cr_assert_eq(c.capacity, IMG_SECTORS);
	cr_assert_eq(c.blk_size, 512);
	cr_assert_eq(c.write_zeroes_may_unmap, 0);
	for (n = 0; n < (int)IMG_SECTORS; n += 2048)
		dev_write(0, (uint64_t)n, 1u << 20, (unsigned int)n);
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, 2048, 1024,
	    VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP), VIRTIO_BLK_S_OK);
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, 3072, 1024, 0),
	    VIRTIO_BLK_S_OK);
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, IMG_SECTORS, 8, 0),
	    VIRTIO_BLK_S_IOERR);
	/* A loop device punches discarded ranges: they read zeroes too. */
	check_zeroed(false, 0);
}

Test(blk, image_lock)
{
	const char *const	ro[] = { "read-only", "on", NULL };
	struct device_opt	o[2];
	struct device_res	r1, r2;
	char			err[256];

	/* A writable disk is exclusive: a second device is refused. */
	img_create("/var/tmp", IMG_SIZE);
	o[0].key = "path";
	o[0].value = img;
	cr_assert_eq(t_open(o, 1, false, &r1, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(t_open(o, 1, false, &r2, err, sizeof(err)), -EAGAIN);
	cr_assert_not_null(strstr(err, "in use by another process"), "%s", err);
	cr_assert_eq(r2.dr_nfds, 0);
	/* So is a read-only one on a disk somebody writes. */
	o[1].key = ro[0];
	o[1].value = ro[1];
	cr_assert_eq(t_open(o, 2, false, &r2, err, sizeof(err)), -EAGAIN);
	/* lock=off shares it; vhostd -n (check_only) checks without a claim. */
	o[1].key = "lock";
	o[1].value = "off";
	cr_assert_eq(t_open(o, 2, false, &r2, err, sizeof(err)), 0, "%s", err);
	device_res_release(&blk_device_type, &r2);
	cr_assert_eq(t_open(o, 1, true, &r2, err, sizeof(err)), 0, "%s", err);
	device_res_release(&blk_device_type, &r2);
	/* Released with the device: readers share the image. */
	device_res_release(&blk_device_type, &r1);
	o[1].key = ro[0];
	o[1].value = ro[1];
	cr_assert_eq(t_open(o, 2, false, &r1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t_open(o, 2, false, &r2, err, sizeof(err)), 0, "%s", err);
	device_res_release(&blk_device_type, &r1);
	device_res_release(&blk_device_type, &r2);
}

/* blk.h (it clashes with linux/virtio_blk.h): a queue's ring, or NULL. */
struct blk_state;
struct io_uring	*blk_io_ring(struct blk_state *bs, unsigned int qidx);

/* Open a device on img with options kv (NULL-terminated pairs). */
static void
prepare_only(const char *const *kv, struct device_res *res)
{
	struct device_opt	opts[8];
	unsigned int		n = 0;
	char			err[256] = "";

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
	cr_assert_eq(t_open(opts, n, false, res, err, sizeof(err)), 0, "%s",
	    err);
}

/* One SQE on ring; its CQE result. */
static int
ring_once(struct io_uring *ring, struct io_uring_sqe *sqe, uint8_t flags)
{
	struct io_uring_cqe	*cqe;
	int			 res;

	sqe->flags = flags;
	cr_assert_eq(io_uring_submit_and_wait(ring, 1), 1);
	cr_assert_eq(io_uring_wait_cqe(ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

/*
 * Every queue's ring exists once the child set-up is done (the filter
 * that follows forbids io_uring_setup), and each runs only what blk puts
 * in it: readv/writev/fsync on the registered image descriptors.
 */
Test(blk, rings_restricted_from_the_start)
{
	const char *const	 kv[] = { "queues", "3", NULL };
	struct io_uring_files_update up;
	struct io_uring		*ring;
	struct io_uring_sqe	*sqe;
	char			 buf[512];
	struct iovec		 iov = { buf, sizeof(buf) };
	int			 fds[1] = { 0 };
	struct device_res	 res;
	struct blk_state	*st;
	unsigned int		 q;

	img_create("/var/tmp", IMG_SIZE);
	cr_assert_eq(pwrite(imgfd, "sector0", 7, 0), 7);
	prepare_only(kv, &res);
	st = t_init(&res);
	if (blk_io_ring(st, 0) == NULL) {
		/* Only a host without io_uring excuses a missing ring. */
		struct io_uring	probe;

		if (io_uring_queue_init(4, &probe, 0) < 0)
			cr_skip_test("no io_uring on this host");
		io_uring_queue_exit(&probe);
	}
	for (q = 0; q < 3; q++)
		cr_assert_not_null(blk_io_ring(st, q), "queue %u: no ring", q);
	cr_assert_null(blk_io_ring(st, 3));
	ring = blk_io_ring(st, 0);
	/* What blk does: a read through fixed file 0. */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_readv(sqe, 0, &iov, 1, 0);
	cr_assert_eq(ring_once(ring, sqe, IOSQE_FIXED_FILE), 512);
	cr_assert_eq(memcmp(buf, "sector0", 7), 0);
	/* The same read on a descriptor number (the test's own): refused. */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_readv(sqe, imgfd, &iov, 1, 0);
	cr_assert_eq(ring_once(ring, sqe, 0), -EACCES);
	/* Any opcode blk does not issue: refused. */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_nop(sqe);
	cr_assert_eq(ring_once(ring, sqe, IOSQE_FIXED_FILE), -EACCES);
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_fallocate(sqe, 0, 0, IMG_SIZE, 4096);
	cr_assert_eq(ring_once(ring, sqe, IOSQE_FIXED_FILE), -EACCES);
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_openat(sqe, AT_FDCWD, "/", O_RDONLY, 0);
	cr_assert_eq(ring_once(ring, sqe, 0), -EACCES);
	/* A flag blk does not use (IO_LINK, ASYNC...): refused. */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_readv(sqe, 0, &iov, 1, 0);
	cr_assert_eq(ring_once(ring, sqe, IOSQE_FIXED_FILE | IOSQE_ASYNC),
	    -EACCES);
	/* No registration at all once enabled. */
	memset(&up, 0, sizeof(up));
	up.fds = (uintptr_t)fds;
	cr_assert_eq(syscall(__NR_io_uring_register, ring->ring_fd,
	    IORING_REGISTER_FILES_UPDATE, &up, 1), -1);
	cr_assert_eq(errno, EACCES);
	cr_assert_eq(syscall(__NR_io_uring_register, ring->ring_fd,
	    IORING_REGISTER_PERSONALITY, NULL, 0), -1);
	cr_assert_eq(errno, EACCES);
	blk_device_type.dt_free(st);
	device_res_release(&blk_device_type, &res);
}

/*
 * Before each child: fresh open file descriptions under the same numbers,
 * so flags and offsets the last child set are gone; the parent's own
 * description (and its lock) stays.
 */
Test(blk, spawn_gives_each_child_its_own_description)
{
	const char *const	 kv[] = { "direct", "on", NULL };
	struct flock		 fl;
	struct device_res	 res;
	int			 fd, fdb, other;

	img_create("/var/tmp", IMG_SIZE);
	prepare_only(kv, &res);
	cr_assert_eq(res.dr_nfds, 2);
	fd = res.dr_fds[0];
	fdb = res.dr_fds[1];
	/* What a taken-over child leaves behind. */
	cr_assert_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND), 0);
	cr_assert_eq(fcntl(fdb, F_SETFL, fcntl(fdb, F_GETFL) | O_APPEND), 0);
	cr_assert_eq(lseek(fdb, 8192, SEEK_SET), 8192);
	cr_assert_eq(blk_device_type.dt_spawn(&res), 0);
	cr_assert_eq(res.dr_fds[0], fd, "the numbers the child keeps moved");
	cr_assert_eq(res.dr_fds[1], fdb);
	cr_assert_eq(fcntl(fd, F_GETFL) & O_APPEND, 0, "O_APPEND survived");
	cr_assert_eq(fcntl(fdb, F_GETFL) & O_APPEND, 0, "O_APPEND survived");
	cr_assert_neq(fcntl(fd, F_GETFL) & O_DIRECT, 0);
	cr_assert_eq(fcntl(fdb, F_GETFL) & O_DIRECT, 0);
	cr_assert_eq(lseek(fdb, 0, SEEK_CUR), 0);
	/* Still locked: by the parent's description, kept for itself. */
	other = open(img, O_RDWR | O_CLOEXEC);
	cr_assert_geq(other, 0);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	cr_assert_eq(fcntl(other, F_OFD_SETLK, &fl), -1);
	cr_assert(errno == EAGAIN || errno == EACCES);
	close(other);
	device_res_release(&blk_device_type, &res);
}

/*
 * The I/O fence: while anything still holds the previous child's
 * description of the image (its io_uring, torn down after the process is
 * reaped, with writes in flight), the next child is not started: dt_spawn
 * says -EAGAIN until the description is gone.  Both descriptions of a
 * direct=on disk are fenced; a read-only disk needs no fence.
 */
Test(blk, spawn_waits_for_the_previous_childs_io)
{
	const char *const	 kv[] = { "direct", "on", NULL };
	const char *const	 ro[] = { "read-only", "on", NULL };
	struct device_res	 res;
	unsigned int		 i;
	int			 held;

	img_create("/var/tmp", IMG_SIZE);
	prepare_only(kv, &res);
	cr_assert_eq(res.dr_nfds, 2);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(blk_device_type.dt_spawn(&res), 0);
		/* The dead child's ring still holds its description. */
		held = dup(res.dr_fds[i]);
		cr_assert_geq(held, 0);
		cr_assert_eq(blk_device_type.dt_spawn(&res), -EAGAIN,
		    "descriptor %u: a child started while the previous "
		    "one's I/O could still land", i);
		cr_assert_eq(blk_device_type.dt_spawn(&res), -EAGAIN);
		close(held);
		cr_assert_eq(blk_device_type.dt_spawn(&res), 0);
	}
	device_res_release(&blk_device_type, &res);

	prepare_only(ro, &res);
	cr_assert_eq(blk_device_type.dt_spawn(&res), 0);
	held = dup(res.dr_fds[0]);
	cr_assert_eq(blk_device_type.dt_spawn(&res), 0);
	close(held);
	device_res_release(&blk_device_type, &res);
}

/*
 * Two devices sharing one file (lock=off) fence on bytes of their own: a
 * child of one alive does not hold back the other's next child, while
 * each still waits for its own.
 */
Test(blk, shared_file_devices_do_not_fence_each_other)
{
	const char *const	 kv[] = { "lock", "off", NULL };
	struct device_res	 a, b;
	int			 held;

	img_create("/var/tmp", IMG_SIZE);
	prepare_only(kv, &a);
	prepare_only(kv, &b);
	cr_assert_eq(blk_device_type.dt_spawn(&a), 0);
	/* a's child runs (its description lives): b starts all the same. */
	cr_assert_eq(blk_device_type.dt_spawn(&b), 0,
	    "a device waited for another device's child");
	held = dup(b.dr_fds[0]);
	cr_assert_eq(blk_device_type.dt_spawn(&b), -EAGAIN);
	cr_assert_eq(blk_device_type.dt_spawn(&a), 0);
	close(held);
	cr_assert_eq(blk_device_type.dt_spawn(&b), 0);
	device_res_release(&blk_device_type, &a);
	device_res_release(&blk_device_type, &b);
}

/* The child may not grow the image (RLIMIT_FSIZE in the jail). */
Test(blk, max_file_size_is_the_image)
{
	const char *const	 kv[] = { "queues", "16", NULL };
	struct device_res	 res;

	img_create("/var/tmp", IMG_SIZE + 100);
	prepare_only(NULL, &res);
	cr_assert_eq(res.dr_max_file_size, IMG_SIZE + 100);
	device_res_release(&blk_device_type, &res);
	/* At least what the inflight regions of 16 queues need. */
	prepare_only(kv, &res);
	cr_assert_eq(res.dr_max_file_size,
	    16 * VIRTQ_INFLIGHT_SIZE(VIRTQ_MAX_SIZE));
	device_res_release(&blk_device_type, &res);
}

/*
 * Queue threads racing the control thread.  Two threads kept busy by
 * flooding guests (vuf_flood: every chain the device returns is available
 * again at once; O_DIRECT, so requests are in flight in the rings), while
 * the control thread, for RACE_MS, replaces the memory table (the old
 * mapping is unmapped: a thread still popping or completing through it
 * faults), stops ring 0 (GET_VRING_BASE) and starts it again on fresh
 * rings (SET_VRING_ADDR, KICK, CALL), and disables and enables ring 1.
 * Each change must wait until both threads are parked
 * (vu_dev_ops.pause): no crash, nothing for ASan, both rings served all
 * along and still serving at the end.
 */
#define RACE_MS		2000
#define RACE_CHAINS	64

static long
race_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* RACE_CHAINS reads of one 4 KiB block, into one buffer per ring. */
static void
race_add(unsigned int idx, const uint64_t gpa[3])
{
	struct vuf_seg	seg[3];
	unsigned int	i;

	seg[0] = (struct vuf_seg){ gpa[0], 16, false };
	seg[1] = (struct vuf_seg){ gpa[1], 4096, true };
	seg[2] = (struct vuf_seg){ gpa[2], 1, true };
	for (i = 0; i < RACE_CHAINS; i++)
		cr_assert_geq(vuf_vq_add(&f, idx, seg, 3, true, NULL), 0, "%s",
		    vuf_error(&f));
}

/* Ring idx on fresh rings from avail index 0 (a guest reboot). */
static void
race_restart(unsigned int idx)
{
	uint16_t	base;

	cr_assert_eq(vuf_vq_stop(&f, idx, &base), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_vq_alloc(&f, idx, 256), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_vq_start(&f, idx, 0), 0, "%s", vuf_error(&f));
}

Test(blk_t2, threads_race_mem_table_vring_base_and_stop)
{
	const char *const	 kv[] = { "queues", "2", "direct", "on", NULL };
	struct vuf_flood	 fl[2];
	struct virtio_blk_outhdr *hdr;
	struct rq		 q;
	uint64_t		 gpa[2][3], served[2] = { 0, 0 };
	unsigned int		 rounds = 0, stops = 0, toggles = 0, i;
	long			 t0;

	t_threads = "2";
	img_create("/var/tmp", IMG_SIZE);
	be_start(kv, 2, 256);
	for (i = 0; i < 2; i++) {
		cr_assert_not_null(hdr = vuf_alloc(&f, 16, 16, &gpa[i][0]));
		memset(hdr, 0, sizeof(*hdr));	/* VIRTIO_BLK_T_IN, sector 0 */
		cr_assert_not_null(vuf_alloc(&f, 4096, 4096, &gpa[i][1]));
		cr_assert_not_null(vuf_alloc(&f, 1, 1, &gpa[i][2]));
	}
	for (i = 0; i < 2; i++) {
		race_add(i, gpa[i]);
		cr_assert_eq(vuf_flood_start(&f, i, &fl[i]), 0, "%s",
		    vuf_error(&f));
	}
	t0 = race_now_ms();
	while (race_now_ms() - t0 < RACE_MS) {
		cr_assert_eq(vuf_send_mem_table(&f, 1 + rounds % 2, false), 0,
		    "round %u: %s", rounds, vuf_error(&f));
		if (rounds % 3 == 0) {
			served[0] += vuf_flood_stop(&fl[0]);
			race_restart(0);
			race_add(0, gpa[0]);
			cr_assert_eq(vuf_flood_start(&f, 0, &fl[0]), 0, "%s",
			    vuf_error(&f));
			stops++;
		} else if (rounds % 3 == 1) {
			cr_assert_eq(vuf_vq_enable(&f, 1, false), 0, "%s",
			    vuf_error(&f));
			cr_assert_eq(vuf_vq_enable(&f, 1, true), 0, "%s",
			    vuf_error(&f));
			toggles++;
		}
		rounds++;
	}
	for (i = 0; i < 2; i++)
		served[i] += vuf_flood_stop(&fl[i]);
	fprintf(stderr, "threads race: %u rounds in %d ms (SET_MEM_TABLE "
	    "each, %u ring 0 restarts, %u ring 1 disable/enable); served "
	    "%llu + %llu chains\n", rounds, RACE_MS, stops, toggles,
	    (unsigned long long)served[0], (unsigned long long)served[1]);
	cr_assert_geq(rounds, 3);
	cr_assert_gt(served[0], 0, "ring 0 was never served");
	cr_assert_gt(served[1], 0, "ring 1 was never served");
	/* Both rings still work, with data checked. */
	for (i = 0; i < 2; i++)
		race_restart(i);
	many(16);
	rq_alloc(&q, 4096, 4096);
	cr_assert_eq(rq_do(&q, 1, VIRTIO_BLK_T_IN, 0), VIRTIO_BLK_S_OK);
}
