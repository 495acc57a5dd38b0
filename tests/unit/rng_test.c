/*
 * rng_test.c - virtio-rng: the queue handler driven through a real vu_dev
 * whose ring is set up by hand over a memfd-backed guest memory: random
 * fill of writable segments, the 64 KiB cap, read-only chains, one signal
 * per batch, malformed chains breaking the device; and the device type.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "devices/device.h"
#include "vhost/vhost_int.h"
#include "virtio/virtq.h"
#include "guestmem.h"

#define GUEST_SIZE	(1024 * 1024)
#define QNUM		32
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x2000
#define USED_GPA	0x3000
#define BUF_GPA		0x10000

static struct vu_dev	 dev;
static struct guestmem	 gm;
static uint8_t		*guest;
static void		*state;
static int		 sv[2] = { -1, -1 };

static int
watch_add(void *ctx, int fd, void (*cb)(int, void *), void *arg)
{
	return 0;
}

static void
watch_del(void *ctx, int fd)
{
}

/* The glue's deferred run (vu_queue_reschedule), run by hand. */
static void	(*defer_cb)(void *);
static void	*defer_arg;
static unsigned int defer_calls;

static int
defer(void *ctx, void (*cb)(void *), void *arg)
{
	defer_cb = cb;
	defer_arg = arg;
	defer_calls++;
	return 0;
}

static void
defer_cancel(void *ctx, void *arg)
{
	if (arg == defer_arg)
		defer_cb = NULL;
}

static const struct vu_watch_ops watch_ops = {
	.watch_add = watch_add,
	.watch_del = watch_del,
	.defer = defer,
	.defer_cancel = defer_cancel,
};

static void
setup(void)
{
	struct vu_vring			*vr;
	char				 err[128];
	struct device_res		 res;
	struct device_child_res		 cr;

	/* Parent half: nothing to open; child half: a fresh state. */
	device_res_init(&res);
	cr_assert_eq(rng_device_type.dt_open(NULL, 0, false, &res, err,
	    sizeof(err)), 0);
	cr_assert_eq(res.dr_nfds, 0);
	device_res_view(&res, &cr);
	cr_assert_eq(rng_device_type.dt_init(&cr, &state), 0);
	device_res_release(&rng_device_type, &res);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	    0);
	cr_assert_eq(vu_dev_init(&dev, sv[0], 1, rng_device_type.dt_ops,
	    state, &watch_ops, NULL), 0);

	guestmem_create(&gm, GUEST_SIZE, 0x7f00000000);
	guest = gm.gm_base;
	guestmem_add(&gm, &dev.vd_mem, 0, GUEST_SIZE);

	vr = &dev.vd_vring[0];
	cr_assert_eq(virtq_init(&vr->vr_vq, &dev.vd_mem, QNUM,
	    (struct virtq_desc *)(guest + DESC_GPA),
	    (struct virtq_avail *)(guest + AVAIL_GPA),
	    (struct virtq_used *)(guest + USED_GPA), 0, 0), 0);
	vr->vr_num = QNUM;
	vr->vr_started = true;
	vr->vr_enabled = true;
	vr->vr_call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_geq(vr->vr_call_fd, 0);
}

static void
teardown(void)
{
	vu_dev_fini(&dev);
	guestmem_destroy(&gm);
	rng_device_type.dt_free(state);
	close(sv[0]);
	close(sv[1]);
}

TestSuite(rng, .init = setup, .fini = teardown);

static struct virtq_desc *
gdesc(void)
{
	return (struct virtq_desc *)(guest + DESC_GPA);
}

static struct virtq_avail *
gavail(void)
{
	return (struct virtq_avail *)(guest + AVAIL_GPA);
}

static struct virtq_used *
gused(void)
{
	return (struct virtq_used *)(guest + USED_GPA);
}

static void
set_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
    uint16_t next)
{
	gdesc()[i].addr = addr;
	gdesc()[i].len = len;
	gdesc()[i].flags = flags;
	gdesc()[i].next = next;
}

static void
post(uint16_t head)
{
	gavail()->ring[gavail()->idx % QNUM] = head;
	gavail()->idx++;
}

static void
kick(void)
{
	rng_device_type.dt_ops->queue_handler(&dev, 0);
}

/* How many times the call eventfd was signalled since the last look. */
static uint64_t
signals(void)
{
	eventfd_t	v = 0;

	if (eventfd_read(dev.vd_vring[0].vr_call_fd, &v) != 0) {
		cr_assert_eq(errno, EAGAIN);
		return 0;
	}
	return v;
}

static int
all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

Test(rng, type_table)
{
	const struct device_opt	opt = { "path", "/dev/null" };
	const int		fds[1] = { 0 };
	struct device_child_res	cr = { NULL, 0, fds, 1 };
	struct device_res	res;
	char			err[128] = "";
	void			*st = NULL;

	cr_assert_str_eq(rng_device_type.dt_name, "rng");
	cr_assert_str_eq(rng_device_type.dt_caps_type, "rng");
	cr_assert_null(rng_device_type.dt_keys[0]);
	cr_assert_null(rng_device_type.dt_caps_features[0]);
	cr_assert_eq(rng_device_type.dt_num_queues(state), 1);
	cr_assert_eq(rng_device_type.dt_ops->get_features(&dev), 0);
	cr_assert_eq(device_type_find("rng"), &rng_device_type);
	device_res_init(&res);
	cr_assert_eq(rng_device_type.dt_open(&opt, 1, false, &res, err,
	    sizeof(err)), -EINVAL);
	cr_assert_eq(res.dr_nfds, 0);
	cr_assert_neq(strstr(err, "path"), NULL);
	/* The child half refuses resources it did not expect. */
	cr_assert_eq(rng_device_type.dt_init(&cr, &st), -EINVAL);
	cr_assert_null(st);
}

Test(rng, fills_writable_buffer)
{
	set_desc(0, BUF_GPA, 4096, VIRTQ_DESC_F_WRITE, 0);
	post(0);
	kick();
	cr_assert_eq(gused()->idx, 1);
	cr_assert_eq(gused()->ring[0].id, 0);
	cr_assert_eq(gused()->ring[0].len, 4096);
	cr_assert_not(all_bytes(guest + BUF_GPA, 4096, 0));
	cr_assert_not(all_bytes(guest + BUF_GPA + 2048, 2048, 0),
	    "the whole buffer must be filled");
	cr_assert_eq(signals(), 1);
}

Test(rng, batch_signals_once)
{
	uint16_t	i;

	for (i = 0; i < 5; i++) {
		set_desc(i, BUF_GPA + i * 0x100, 64, VIRTQ_DESC_F_WRITE, 0);
		post(i);
	}
	kick();
	cr_assert_eq(gused()->idx, 5);
	for (i = 0; i < 5; i++) {
		cr_assert_eq(gused()->ring[i].id, i);
		cr_assert_eq(gused()->ring[i].len, 64);
	}
	cr_assert_eq(signals(), 1);
	/* A kick with nothing available signals nothing. */
	kick();
	cr_assert_eq(signals(), 0);
	cr_assert_eq(gused()->idx, 5);
}

/*
 * A full ring of 64 KiB requests is more than one wake-up's budget
 * (VU_BUDGET_BYTES): the handler stops at the budget, signals what it
 * did, and asks for a deferred run, which does the rest.
 */
Test(rng, one_budget_per_wake_up)
{
	void		(*cb)(void *);
	uint16_t	 i, first;

	defer_cb = NULL;
	defer_calls = 0;
	for (i = 0; i < QNUM; i++) {
		set_desc(i, BUF_GPA, 64 * 1024, VIRTQ_DESC_F_WRITE, 0);
		post(i);
	}
	kick();
	first = gused()->idx;
	cr_assert_eq(first, VU_BUDGET_BYTES / (64 * 1024), "%u served", first);
	cr_assert_eq(signals(), 1, "what was served is signalled");
	cr_assert_eq(defer_calls, 1);
	cr_assert_not_null(defer_cb, "no deferred run asked for");
	cb = defer_cb;
	defer_cb = NULL;
	cb(defer_arg);
	cr_assert_eq(gused()->idx, QNUM);
	cr_assert_eq(signals(), 1);
	/* Nothing left: no further run asked for. */
	cr_assert_eq(defer_calls, 1);
}

Test(rng, request_capped_at_64k)
{
	memset(guest + BUF_GPA, 0x5a, 100 * 1024);
	set_desc(0, BUF_GPA, 50 * 1024, VIRTQ_DESC_F_WRITE |
	    VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA + 50 * 1024, 50 * 1024, VIRTQ_DESC_F_WRITE, 0);
	post(0);
	kick();
	cr_assert_eq(gused()->idx, 1);
	cr_assert_eq(gused()->ring[0].len, 64 * 1024);
	cr_assert(all_bytes(guest + BUF_GPA + 64 * 1024, 36 * 1024, 0x5a),
	    "nothing written past 64 KiB");
	cr_assert_not(all_bytes(guest + BUF_GPA + 60 * 1024, 4096, 0x5a));
}

Test(rng, readable_part_untouched)
{
	memset(guest + BUF_GPA, 0x5a, 48);
	set_desc(0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA + 16, 32, VIRTQ_DESC_F_WRITE, 0);
	post(0);
	kick();
	cr_assert_eq(gused()->ring[0].len, 32);
	cr_assert(all_bytes(guest + BUF_GPA, 16, 0x5a));
	cr_assert_not(all_bytes(guest + BUF_GPA + 16, 32, 0x5a));
}

Test(rng, read_only_chain_gets_zero_bytes)
{
	memset(guest + BUF_GPA, 0x5a, 64);
	set_desc(0, BUF_GPA, 64, 0, 0);
	post(0);
	set_desc(1, BUF_GPA + 0x1000, 8, VIRTQ_DESC_F_WRITE, 0);
	post(1);
	kick();
	cr_assert_eq(gused()->idx, 2);
	cr_assert_eq(gused()->ring[0].id, 0);
	cr_assert_eq(gused()->ring[0].len, 0);
	cr_assert_eq(gused()->ring[1].len, 8);
	cr_assert(all_bytes(guest + BUF_GPA, 64, 0x5a));
	cr_assert_not(dev.vd_broken);
	cr_assert_eq(signals(), 1);
}

Test(rng, malformed_chain_breaks_device)
{
	set_desc(0, BUF_GPA, 8, VIRTQ_DESC_F_WRITE, 0);
	post(0);
	set_desc(1, BUF_GPA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	post(1);
	kick();
	/* The good request before it is still answered and signalled. */
	cr_assert_eq(gused()->idx, 1);
	cr_assert_eq(signals(), 1);
	cr_assert(dev.vd_broken);
	cr_assert(dev.vd_status & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_not(vu_queue_ready(&dev, 0));
}
