/*
 * backend_test.c - the vhost-user engine driven over a socketpair with
 * hand-built messages: negotiation, acks, validation, ring life cycle,
 * config space, status and memory table changes.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "util/util.h"
#include "vhost/vhost_int.h"
#include "guestmem.h"

#define GUEST_SIZE	(1u << 20)
#define GUEST_UVA	0x7f0000000000ull
#define QSZ		8
#define NQ		2
#define BUF_GPA		0x80000ull

/* Ring q lives at gpa 0x10000 * (q + 1): desc, avail, used one page apart. */
#define DESC_GPA(q)	(0x10000ull * ((q) + 1))
#define AVAIL_GPA(q)	(DESC_GPA(q) + 0x1000)
#define USED_GPA(q)	(DESC_GPA(q) + 0x2000)

#define DEV_FEATURES	((1ull << 0) | (1ull << 5))

struct fake_watch {
	int	  fd;
	void	(*cb)(int, void *);
	void	 *arg;
};

static struct {
	struct fake_watch w[32];
	unsigned int	  n;
} watches;

static struct {
	unsigned int	handler[NQ];
	unsigned int	state_calls[NQ];
	bool		state[NQ];
	unsigned int	resets;
	unsigned int	set_features_calls;
	uint64_t	features;
	bool		pop;		/* handler pops, pushes and notifies */
	bool		hold;		/* handler pops and keeps the chains */
	uint8_t		config_set[8];
} rec;

static int		 sv[2] = { -1, -1 };
static struct guestmem	 gm;
static int		 memfd = -1;	/* gm.gm_fd */
static uint8_t		*guest;
static struct vu_dev	 dev;
static int		 kickfd[NQ] = { -1, -1 };
static int		 callfd[NQ] = { -1, -1 };

static int
fw_add(void *ctx, int fd, void (*cb)(int, void *), void *arg)
{
	cr_assert_lt(watches.n, 32);
	watches.w[watches.n].fd = fd;
	watches.w[watches.n].cb = cb;
	watches.w[watches.n].arg = arg;
	watches.n++;
	return 0;
}

static void
fw_del(void *ctx, int fd)
{
	unsigned int	i;

	for (i = 0; i < watches.n; i++) {
		if (watches.w[i].fd != fd)
			continue;
		watches.w[i] = watches.w[--watches.n];
		return;
	}
	cr_assert_fail("watch_del of an fd not watched: %d", fd);
}

static const struct vu_watch_ops fake_watch_ops = {
	.watch_add = fw_add,
	.watch_del = fw_del,
};

static struct fake_watch *
ring_watch(unsigned int q)
{
	unsigned int	i;

	for (i = 0; i < watches.n; i++)
		if (watches.w[i].arg == &dev.vd_vring[q])
			return &watches.w[i];
	return NULL;
}

static uint64_t
t_get_features(struct vu_dev *d)
{
	return DEV_FEATURES;
}

static int
t_set_features(struct vu_dev *d, uint64_t f)
{
	rec.set_features_calls++;
	rec.features = f;
	return 0;
}

static int
t_get_config(struct vu_dev *d, uint8_t *buf, uint32_t off, uint32_t len)
{
	uint32_t	i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(0xa0 + off + i);
	return 0;
}

static int
t_set_config(struct vu_dev *d, const uint8_t *buf, uint32_t off,
    uint32_t len, uint32_t flags)
{
	if (off + len > sizeof(rec.config_set))
		return -EINVAL;
	memcpy(rec.config_set + off, buf, len);
	return 0;
}

static void
t_queue_handler(struct vu_dev *d, unsigned int q)
{
	static struct virtq_elem	elem;
	struct virtq			*vq;

	rec.handler[q]++;
	if (!rec.pop)
		return;
	cr_assert(vu_queue_ready(d, q));
	vq = vu_queue(d, q);
	while (virtq_pop(vq, &elem) == 1)
		if (!rec.hold)
			virtq_push(vq, elem.head, 0);
	vu_queue_notify(d, q);
}

static void
t_queue_state(struct vu_dev *d, unsigned int q, bool ready)
{
	rec.state_calls[q]++;
	rec.state[q] = ready;
}

static void
t_reset(struct vu_dev *d)
{
	rec.resets++;
}

static const struct vu_dev_ops test_ops = {
	.get_features = t_get_features,
	.set_features = t_set_features,
	.get_config = t_get_config,
	.set_config = t_set_config,
	.queue_handler = t_queue_handler,
	.queue_state = t_queue_state,
	.reset = t_reset,
};

static const struct vu_dev_ops bare_ops = {
	.queue_handler = t_queue_handler,
};

static void
setup_ops(const struct vu_dev_ops *ops)
{
	memset(&rec, 0, sizeof(rec));
	memset(&watches, 0, sizeof(watches));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	    0);
	guestmem_create(&gm, GUEST_SIZE, GUEST_UVA);
	memfd = gm.gm_fd;
	guest = gm.gm_base;
	cr_assert_eq(vu_dev_init(&dev, sv[0], NQ, ops, &rec,
	    &fake_watch_ops, NULL), 0);
}

static void
setup(void)
{
	setup_ops(&test_ops);
}

static void
teardown(void)
{
	unsigned int	i;

	vu_dev_fini(&dev);
	for (i = 0; i < NQ; i++) {
		close_reset(&kickfd[i]);
		close_reset(&callfd[i]);
	}
	guestmem_destroy(&gm);
	memfd = -1;
	close_reset(&sv[0]);
	close_reset(&sv[1]);
}

TestSuite(backend, .init = setup, .fini = teardown);

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	cr_assert_not_null(d = opendir("/proc/self/fd"));
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

/* Send a request; return what vu_dev_dispatch says about it. */
static int
req_flags(uint32_t request, uint32_t flags, const void *payload,
    uint32_t size, const int *fds, unsigned int nfds)
{
	struct vhost_user_msg	m;

	memset(&m, 0, sizeof(m));
	m.hdr.request = request;
	m.hdr.flags = VHOST_USER_VERSION | flags;
	m.hdr.size = size;
	if (size > 0)
		memcpy(&m.payload, payload, size);
	cr_assert_eq(vu_msg_send(sv[1], &m, fds, nfds), 0);
	return vu_dev_dispatch(&dev);
}

static int
req(uint32_t request, const void *payload, uint32_t size, const int *fds,
    unsigned int nfds)
{
	return req_flags(request, 0, payload, size, fds, nfds);
}

static void
recv_reply(uint32_t request, struct vhost_user_msg *m)
{
	int		fds[VHOST_USER_MAX_FDS];
	unsigned int	nfds;

	cr_assert_eq(vu_msg_recv(sv[1], m, fds, &nfds), 0);
	cr_assert_eq(nfds, 0);
	cr_assert_eq(m->hdr.request, request);
	cr_assert_eq(m->hdr.flags, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
}

static void
assert_no_reply(void)
{
	struct vhost_user_msg	m;
	int			fds[VHOST_USER_MAX_FDS];
	unsigned int		nfds;

	cr_assert_eq(fd_set_nonblock(sv[1], 1), 0);
	cr_assert_eq(vu_msg_recv(sv[1], &m, fds, &nfds), -EAGAIN);
	cr_assert_eq(fd_set_nonblock(sv[1], 0), 0);
}

static uint64_t
get_u64(uint32_t request)
{
	struct vhost_user_msg	m;

	cr_assert_eq(req(request, NULL, 0, NULL, 0), 0);
	recv_reply(request, &m);
	cr_assert_eq(m.hdr.size, 8);
	return m.payload.u64;
}

static int
set_u64(uint32_t request, uint64_t v)
{
	return req(request, &v, sizeof(v), NULL, 0);
}

static int
vring_state(uint32_t request, uint32_t idx, uint32_t num)
{
	struct vhost_user_vring_state	s = { idx, num };

	return req(request, &s, sizeof(s), NULL, 0);
}

static uint32_t
get_vring_base(uint32_t idx)
{
	struct vhost_user_vring_state	s = { idx, 0 };
	struct vhost_user_msg		m;

	cr_assert_eq(req(VHOST_USER_GET_VRING_BASE, &s, sizeof(s), NULL, 0),
	    0);
	recv_reply(VHOST_USER_GET_VRING_BASE, &m);
	cr_assert_eq(m.hdr.size, sizeof(s));
	cr_assert_eq(m.payload.state.index, idx);
	return m.payload.state.num;
}

static int
set_mem_table_at(uint64_t gpa, uint64_t size, uint64_t uva, int fd)
{
	struct vhost_user_memory	mt;
	int				dfd = dup(fd);
	int				rc;

	memset(&mt, 0, sizeof(mt));
	mt.nregions = 1;
	mt.regions[0].guest_phys_addr = gpa;
	mt.regions[0].memory_size = size;
	mt.regions[0].userspace_addr = uva;
	mt.regions[0].mmap_offset = 0;
	rc = req(VHOST_USER_SET_MEM_TABLE, &mt,
	    8 + sizeof(mt.regions[0]), &dfd, 1);
	close(dfd);
	return rc;
}

static void
set_mem_table(void)
{
	cr_assert_eq(set_mem_table_at(0, GUEST_SIZE, GUEST_UVA, memfd), 0);
}

static int
set_vring_addr(uint32_t q, uint32_t flags)
{
	struct vhost_user_vring_addr	a;

	memset(&a, 0, sizeof(a));
	a.index = q;
	a.flags = flags;
	a.desc_user_addr = GUEST_UVA + DESC_GPA(q);
	a.avail_user_addr = GUEST_UVA + AVAIL_GPA(q);
	a.used_user_addr = GUEST_UVA + USED_GPA(q);
	return req(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
}

static void
setup_ring(uint32_t q, uint32_t base)
{
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, q, QSZ), 0);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_BASE, q, base), 0);
	cr_assert_eq(set_vring_addr(q, 0), 0);
}

/* SET_VRING_{KICK,CALL} with a fresh eventfd; keeps our copy in *keep. */
static int
set_vring_fd(uint32_t request, uint32_t q, int *keep)
{
	uint64_t	v = q;
	int		rc;

	close_reset(keep);
	*keep = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_geq(*keep, 0);
	rc = req(request, &v, sizeof(v), keep, 1);
	return rc;
}

static void
kick(uint32_t q)
{
	cr_assert_eq(set_vring_fd(VHOST_USER_SET_VRING_KICK, q, &kickfd[q]),
	    0);
}

/* The guest kicks ring q; the event loop runs the watch callback. */
static void
fire(uint32_t q)
{
	struct fake_watch	*w = ring_watch(q);
	uint64_t		 v;

	cr_assert_not_null(w, "ring %u is not watched", q);
	cr_assert_eq(eventfd_write(kickfd[q], 1), 0);
	w->cb(w->fd, w->arg);
	/* The engine consumed the event. */
	cr_assert_eq(eventfd_read(kickfd[q], &v), -1);
	cr_assert_eq(errno, EAGAIN);
}

static struct virtq_avail *
avail_ring(uint32_t q)
{
	return (struct virtq_avail *)(guest + AVAIL_GPA(q));
}

/* Make chain `head` (one writable 16-byte buffer) available on ring q. */
static void
add_avail(uint32_t q, uint16_t head)
{
	struct virtq_desc	*d = (struct virtq_desc *)(guest + DESC_GPA(q));
	struct virtq_avail	*a = avail_ring(q);

	d[head].addr = BUF_GPA + head * 16u;
	d[head].len = 16;
	d[head].flags = VIRTQ_DESC_F_WRITE;
	d[head].next = 0;
	a->ring[a->idx % QSZ] = head;
	/* Single-threaded: the engine runs only when the test calls it. */
	a->idx = (uint16_t)(a->idx + 1);
}

static void
negotiate(uint64_t features, uint64_t protocol)
{
	if (protocol != 0)
		cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
		    protocol), 0);
	cr_assert_eq(set_u64(VHOST_USER_SET_FEATURES, features), 0);
}

#define BIT(n)	(1ull << (n))
#define PF	BIT(VHOST_USER_F_PROTOCOL_FEATURES)

Test(backend, init_rejects_bad_arguments)
{
	struct vu_dev	d, *pd;

	cr_assert_eq(vu_dev_init(&d, sv[0], 0, &test_ops, NULL,
	    &fake_watch_ops, NULL), -EINVAL);
	cr_assert_eq(vu_dev_init(&d, sv[0], VU_MAX_QUEUES + 1, &test_ops,
	    NULL, &fake_watch_ops, NULL), -EINVAL);
	cr_assert_eq(vu_dev_init(&d, sv[0], 1, &test_ops, NULL, NULL, NULL),
	    -EINVAL);
	cr_assert_eq(vu_dev_priv(&dev), &rec);
	cr_assert_null(vu_queue(&dev, NQ));
	cr_assert_eq(vu_dev_new(&pd, sv[0], 0, &test_ops, NULL,
	    &fake_watch_ops, NULL), -EINVAL);
	cr_assert_null(pd);
	cr_assert_eq(vu_dev_new(&pd, sv[0], NQ, &test_ops, &rec,
	    &fake_watch_ops, NULL), 0);
	cr_assert_eq(vu_dev_priv(pd), &rec);
	cr_assert_eq(vu_dev_features(pd), 0);
	vu_dev_free(pd);
	vu_dev_free(NULL);
	cr_assert_not_null(vu_queue(&dev, NQ - 1));
}

Test(backend, feature_negotiation)
{
	uint64_t	f;

	f = get_u64(VHOST_USER_GET_FEATURES);
	cr_assert_eq(f, DEV_FEATURES | BIT(VIRTIO_F_VERSION_1) | PF |
	    BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC));

	cr_assert_eq(set_u64(VHOST_USER_SET_FEATURES,
	    BIT(0) | BIT(VIRTIO_F_VERSION_1) | PF), 0);
	cr_assert_eq(rec.set_features_calls, 1);
	cr_assert_eq(rec.features, BIT(0) | BIT(VIRTIO_F_VERSION_1) | PF);
	cr_assert(vu_has_feature(&dev, VIRTIO_F_VERSION_1));
	cr_assert(vu_has_feature(&dev, 0));
	cr_assert_not(vu_has_feature(&dev, 5));
	cr_assert_not(vu_has_feature(&dev, 64));
	cr_assert_eq(vu_dev_features(&dev), BIT(0) | BIT(VIRTIO_F_VERSION_1) |
	    PF);
	assert_no_reply();
}

Test(backend, unoffered_features_fail_loudly)
{
	cr_assert_eq(set_u64(VHOST_USER_SET_FEATURES,
	    BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_RING_PACKED)), -EINVAL);
	cr_assert_eq(rec.set_features_calls, 0);
	cr_assert_not(vu_has_feature(&dev, VIRTIO_F_VERSION_1));
}

Test(backend, protocol_features)
{
	uint64_t	pf;

	pf = get_u64(VHOST_USER_GET_PROTOCOL_FEATURES);
	cr_assert_eq(pf, BIT(VHOST_USER_PROTOCOL_F_MQ) |
	    BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
	    BIT(VHOST_USER_PROTOCOL_F_CONFIG) |
	    BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
	    BIT(VHOST_USER_PROTOCOL_F_RESET_DEVICE) |
	    BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |
	    BIT(VHOST_USER_PROTOCOL_F_STATUS));
	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_MQ)), 0);
	cr_assert(vu_has_protocol_feature(&dev, VHOST_USER_PROTOCOL_F_MQ));
	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS)), -EINVAL);
	cr_assert_eq(get_u64(VHOST_USER_GET_QUEUE_NUM), NQ);
	cr_assert_eq(get_u64(VHOST_USER_GET_MAX_MEM_SLOTS), 509);
}

Test(backend, no_config_without_get_config)
{
	struct vhost_user_config	c;

	teardown();
	setup_ops(&bare_ops);
	cr_assert_eq(get_u64(VHOST_USER_GET_PROTOCOL_FEATURES) &
	    BIT(VHOST_USER_PROTOCOL_F_CONFIG), 0);
	cr_assert_eq(get_u64(VHOST_USER_GET_FEATURES) & DEV_FEATURES, 0);
	memset(&c, 0, sizeof(c));
	c.size = 4;
	cr_assert_lt(req(VHOST_USER_GET_CONFIG, &c, 12 + 4, NULL, 0), 0);
}

Test(backend, reply_ack)
{
	struct vhost_user_msg	m;

	/* Not negotiated: no ack even when asked. */
	cr_assert_eq(req_flags(VHOST_USER_SET_OWNER,
	    VHOST_USER_NEED_REPLY_MASK, NULL, 0, NULL, 0), 0);
	assert_no_reply();

	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK)), 0);
	cr_assert_eq(req_flags(VHOST_USER_SET_OWNER,
	    VHOST_USER_NEED_REPLY_MASK, NULL, 0, NULL, 0), 0);
	recv_reply(VHOST_USER_SET_OWNER, &m);
	cr_assert_eq(m.hdr.size, 8);
	cr_assert_eq(m.payload.u64, 0);

	/* Without need_reply: nothing. */
	cr_assert_eq(req(VHOST_USER_SET_OWNER, NULL, 0, NULL, 0), 0);
	assert_no_reply();

	/* A request with its own reply gets only that one. */
	cr_assert_eq(req_flags(VHOST_USER_GET_QUEUE_NUM,
	    VHOST_USER_NEED_REPLY_MASK, NULL, 0, NULL, 0), 0);
	recv_reply(VHOST_USER_GET_QUEUE_NUM, &m);
	cr_assert_eq(m.payload.u64, NQ);
	assert_no_reply();
}

Test(backend, unknown_request)
{
	struct vhost_user_msg	m;
	uint64_t		v = 0;
	int			efd = eventfd(0, EFD_CLOEXEC), base;

	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK)), 0);
	/* Asked to reply: refused with a failure status, connection kept. */
	base = count_fds();
	cr_assert_eq(req_flags(VHOST_USER_SET_LOG_BASE,
	    VHOST_USER_NEED_REPLY_MASK, &v, 8, &efd, 1), 0);
	cr_assert_eq(count_fds(), base);
	recv_reply(VHOST_USER_SET_LOG_BASE, &m);
	cr_assert_neq(m.payload.u64, 0);
	cr_assert_eq(req_flags(999, VHOST_USER_NEED_REPLY_MASK, NULL, 0,
	    NULL, 0), 0);
	recv_reply(999, &m);
	cr_assert_neq(m.payload.u64, 0);
	/* Not asked to reply: the connection must go. */
	cr_assert_lt(req(999, NULL, 0, NULL, 0), 0);
	assert_no_reply();
	close(efd);
}

Test(backend, invalid_sizes_and_fd_counts_rejected)
{
	struct vhost_user_memory	mt;
	uint8_t				big[8 + 9 * 32];
	uint64_t			v = 0;
	int				efd = eventfd(0, EFD_CLOEXEC);
	int				two[2], base;

	two[0] = efd;
	two[1] = efd;
	base = count_fds();
	cr_assert_eq(req(VHOST_USER_SET_FEATURES, &v, 4, NULL, 0), -EINVAL);
	cr_assert_eq(req(VHOST_USER_GET_FEATURES, &v, 8, NULL, 0), -EINVAL);
	cr_assert_eq(req(VHOST_USER_SET_OWNER, NULL, 0, &efd, 1), -EINVAL);
	cr_assert_eq(req(VHOST_USER_SET_VRING_NUM, &v, 4, NULL, 0), -EINVAL);
	cr_assert_eq(req(VHOST_USER_SET_VRING_ADDR, &v, 8, NULL, 0), -EINVAL);

	memset(&mt, 0, sizeof(mt));
	cr_assert_eq(req(VHOST_USER_SET_MEM_TABLE, &mt, 8, NULL, 0),
	    -EINVAL);					/* 0 regions */
	memset(big, 0, sizeof(big));
	big[0] = 9;
	cr_assert_eq(req(VHOST_USER_SET_MEM_TABLE, big, sizeof(big), NULL, 0),
	    -EINVAL);
	mt.nregions = 1;
	mt.regions[0].memory_size = 4096;
	cr_assert_eq(req(VHOST_USER_SET_MEM_TABLE, &mt, 8 + 32, NULL, 0),
	    -EINVAL);					/* no fd */
	cr_assert_eq(req(VHOST_USER_SET_MEM_TABLE, &mt, 8 + 32, two, 2),
	    -EINVAL);					/* two fds */
	cr_assert_eq(req(VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, &efd, 1),
	    -EINVAL);					/* size */

	cr_assert_eq(req(VHOST_USER_ADD_MEM_REG, &mt, 40, NULL, 0), -EINVAL);
	cr_assert_eq(req(VHOST_USER_ADD_MEM_REG, &mt, 32, &efd, 1), -EINVAL);

	v = 0;						/* fd expected */
	cr_assert_eq(req(VHOST_USER_SET_VRING_KICK, &v, 8, NULL, 0), -EINVAL);
	v = VHOST_USER_VRING_NOFD_MASK;			/* none expected */
	cr_assert_eq(req(VHOST_USER_SET_VRING_CALL, &v, 8, &efd, 1), -EINVAL);
	v = NQ;						/* index */
	cr_assert_eq(req(VHOST_USER_SET_VRING_CALL, &v, 8, &efd, 1), -EINVAL);
	v = 1ull << 9;					/* reserved */
	cr_assert_eq(req(VHOST_USER_SET_VRING_ERR, &v, 8, &efd, 1), -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, NQ, 8), -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_GET_VRING_BASE, 255, 0), -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_ENABLE, 0, 2), -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 0, 0), -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 0, 6), -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 0, 65536),
	    -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 0, 32768), 0);
	cr_assert_eq(set_u64(VHOST_USER_SET_STATUS, 0x100), -EINVAL);

	/* A request carrying the reply flag is not a request. */
	cr_assert_eq(req_flags(VHOST_USER_GET_FEATURES, VHOST_USER_REPLY_MASK,
	    NULL, 0, NULL, 0), -EINVAL);

	/* Every descriptor sent along was closed. */
	cr_assert_eq(count_fds(), base);
	assert_no_reply();
	close(efd);
}

Test(backend, config_space)
{
	struct vhost_user_config	c;
	struct vhost_user_msg		m;
	unsigned int			i;

	memset(&c, 0, sizeof(c));
	c.offset = 4;
	c.size = 8;
	cr_assert_eq(req(VHOST_USER_GET_CONFIG, &c, 12 + 8, NULL, 0), 0);
	recv_reply(VHOST_USER_GET_CONFIG, &m);
	cr_assert_eq(m.hdr.size, 12 + 8);
	cr_assert_eq(m.payload.config.offset, 4);
	cr_assert_eq(m.payload.config.size, 8);
	for (i = 0; i < 8; i++)
		cr_assert_eq(m.payload.config.region[i], 0xa0 + 4 + i);

	c.offset = 250;		/* past 256 */
	cr_assert_eq(req(VHOST_USER_GET_CONFIG, &c, 12 + 8, NULL, 0),
	    -EINVAL);
	c.offset = 0;		/* size does not match the payload */
	cr_assert_eq(req(VHOST_USER_GET_CONFIG, &c, 12 + 4, NULL, 0),
	    -EINVAL);
	c.offset = 0xffffffffu;	/* no wrap */
	cr_assert_eq(req(VHOST_USER_GET_CONFIG, &c, 12 + 8, NULL, 0),
	    -EINVAL);

	c.offset = 2;
	c.size = 2;
	c.region[0] = 0x11;
	c.region[1] = 0x22;
	cr_assert_eq(req(VHOST_USER_SET_CONFIG, &c, 12 + 2, NULL, 0), 0);
	cr_assert_eq(rec.config_set[2], 0x11);
	cr_assert_eq(rec.config_set[3], 0x22);
	/* Device refuses: failure ack, connection kept. */
	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK)), 0);
	c.offset = 100;
	cr_assert_eq(req_flags(VHOST_USER_SET_CONFIG,
	    VHOST_USER_NEED_REPLY_MASK, &c, 12 + 2, NULL, 0), 0);
	recv_reply(VHOST_USER_SET_CONFIG, &m);
	cr_assert_neq(m.payload.u64, 0);
}

Test(backend, ring_runs_only_when_started_and_enabled)
{
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);	/* no bit 30 */
	set_mem_table();
	setup_ring(0, 0);
	cr_assert_null(ring_watch(0));
	cr_assert_not(vu_queue_ready(&dev, 0));
	cr_assert_eq(rec.state_calls[0], 0);

	kick(0);
	/* Without PROTOCOL_FEATURES the kick starts and enables. */
	cr_assert(vu_queue_ready(&dev, 0));
	cr_assert_eq(rec.state_calls[0], 1);
	cr_assert(rec.state[0]);
	cr_assert_eq(watches.n, 1);
	cr_assert_eq(rec.handler[0], 0);	/* nothing pending yet */
	fire(0);
	cr_assert_eq(rec.handler[0], 1);
	fire(0);
	cr_assert_eq(rec.handler[0], 2);
	cr_assert_eq(rec.handler[1], 0);
	cr_assert_not(vu_queue_ready(&dev, 1));
}

Test(backend, enable_with_protocol_features)
{
	negotiate(BIT(VIRTIO_F_VERSION_1) | PF, BIT(VHOST_USER_PROTOCOL_F_MQ));
	set_mem_table();
	setup_ring(0, 0);
	kick(0);
	/* Started but disabled: kicks are consumed, the device is not run. */
	cr_assert_not(vu_queue_ready(&dev, 0));
	cr_assert_eq(rec.state_calls[0], 0);
	fire(0);
	cr_assert_eq(rec.handler[0], 0);

	/* Buffers made available while disabled are processed on enable. */
	add_avail(0, 0);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
	cr_assert(vu_queue_ready(&dev, 0));
	cr_assert_eq(rec.state_calls[0], 1);
	cr_assert(rec.state[0]);
	cr_assert_eq(rec.handler[0], 1);
	fire(0);
	cr_assert_eq(rec.handler[0], 2);

	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_ENABLE, 0, 0), 0);
	cr_assert_eq(rec.state_calls[0], 2);
	cr_assert_not(rec.state[0]);
	fire(0);
	cr_assert_eq(rec.handler[0], 2);
}

Test(backend, enable_before_kick)
{
	negotiate(BIT(VIRTIO_F_VERSION_1) | PF, 0);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_ENABLE, 1, 1), 0);
	cr_assert_not(vu_queue_ready(&dev, 1));
	cr_assert_eq(rec.state_calls[1], 0);
	set_mem_table();
	setup_ring(1, 0);
	kick(1);
	cr_assert(vu_queue_ready(&dev, 1));
	cr_assert_eq(rec.state_calls[1], 1);
}

Test(backend, get_vring_base_stops_and_ring_set_up_repeats)
{
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	avail_ring(0)->idx = 5;		/* five chains already processed */
	setup_ring(0, 5);
	kick(0);
	cr_assert(vu_queue_ready(&dev, 0));
	cr_assert_eq(rec.handler[0], 0);
	cr_assert_eq(dev.vd_vring[0].vr_vq.vq_last_avail, 5);

	cr_assert_eq(get_vring_base(0), 5);
	cr_assert_not(vu_queue_ready(&dev, 0));
	cr_assert_null(ring_watch(0), "a stopped ring must not be watched");
	cr_assert_eq(rec.state_calls[0], 2);
	cr_assert_not(rec.state[0]);
	/* Asking again answers the same index. */
	cr_assert_eq(get_vring_base(0), 5);

	/* Guest reboot: the same ring set up again on this connection. */
	memset(guest + DESC_GPA(0), 0, 0x3000);
	setup_ring(0, 0);
	kick(0);
	cr_assert(vu_queue_ready(&dev, 0));
	cr_assert_eq(rec.state_calls[0], 3);
	fire(0);
	cr_assert_eq(rec.handler[0], 1);
	cr_assert_eq(get_vring_base(0), 0);
}

Test(backend, processing_moves_the_base_and_signals_call)
{
	struct virtq_used	*used;
	uint64_t		 v;

	rec.pop = true;
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);
	cr_assert_eq(set_vring_fd(VHOST_USER_SET_VRING_CALL, 0, &callfd[0]),
	    0);
	kick(0);
	add_avail(0, 0);
	add_avail(0, 3);
	fire(0);
	cr_assert_eq(rec.handler[0], 1);
	used = (struct virtq_used *)(guest + USED_GPA(0));
	cr_assert_eq(used->idx, 2);
	cr_assert_eq(used->ring[0].id, 0);
	cr_assert_eq(used->ring[1].id, 3);
	cr_assert_eq(eventfd_read(callfd[0], &v), 0, "call fd not signalled");
	cr_assert_eq(get_vring_base(0), 2);

	/* Restart from the reported base: nothing is processed twice. */
	setup_ring(0, 2);
	kick(0);
	add_avail(0, 1);
	fire(0);
	cr_assert_eq(used->idx, 3);
	cr_assert_eq(used->ring[2].id, 1);
	cr_assert_eq(get_vring_base(0), 3);
}

static void
alarm_handler(int sig)
{
}

/* The child's watchdog in small: SIGALRM every 100 ms, no SA_RESTART. */
static void
watchdog(bool on)
{
	struct sigaction	sa;
	struct itimerval	it;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = alarm_handler;
	cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
	memset(&it, 0, sizeof(it));
	if (on) {
		it.it_interval.tv_usec = 100000;
		it.it_value = it.it_interval;
	}
	cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

/*
 * A call fd that blocks (a blocking eventfd at its maximum count): the
 * signal write is interrupted by the watchdog, the device is stalled and
 * the next message says so; it never blocks for good.
 */
Test(backend, blocking_call_fd_is_a_stall, .timeout = 30)
{
	struct timespec	t0, t1;
	uint64_t	v = 0;
	long		ms;

	rec.pop = true;
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);
	callfd[0] = eventfd(0, EFD_CLOEXEC);
	cr_assert_geq(callfd[0], 0);
	cr_assert_eq(eventfd_write(callfd[0], 0xfffffffffffffffeull), 0);
	cr_assert_eq(req(VHOST_USER_SET_VRING_CALL, &v, sizeof(v), &callfd[0],
	    1), 0);
	kick(0);
	add_avail(0, 0);
	watchdog(true);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fire(0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	watchdog(false);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) /
	    1000000;
	fprintf(stderr, "blocking call fd: stalled after %ld ms\n", ms);
	cr_assert_eq(vu_dev_error(&dev), -ETIMEDOUT);
	cr_assert_lt(ms, 5000);
	/* The request was served; the session must end now. */
	cr_assert_eq(((struct virtq_used *)(guest + USED_GPA(0)))->idx, 1);
	cr_assert_eq(set_u64(VHOST_USER_SET_FEATURES,
	    BIT(VIRTIO_F_VERSION_1)), -ETIMEDOUT);
}

/*
 * A call fd that is a full pipe whose description is blocking: the write
 * carries RWF_NOWAIT, the signal is dropped (the front end has unread
 * ones) and the device serves on.
 */
Test(backend, full_pipe_call_fd_does_not_block, .timeout = 30)
{
	uint8_t		junk[4096];
	uint64_t	v = 0;
	int		p[2];

	rec.pop = true;
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);
	cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	memset(junk, 0, sizeof(junk));
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	cr_assert_eq(fcntl(p[1], F_SETFL, 0), 0);
	cr_assert_eq(req(VHOST_USER_SET_VRING_CALL, &v, sizeof(v), &p[1], 1),
	    0);
	close(p[1]);
	kick(0);
	add_avail(0, 0);
	add_avail(0, 1);
	fire(0);
	add_avail(0, 2);
	fire(0);
	cr_assert_eq(vu_dev_error(&dev), 0);
	cr_assert_eq(((struct virtq_used *)(guest + USED_GPA(0)))->idx, 3);
	cr_assert_eq(get_vring_base(0), 3);
	close(p[0]);
}

Test(backend, kick_without_fd_starts_ring)
{
	uint64_t	v = 0 | VHOST_USER_VRING_NOFD_MASK;

	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);
	cr_assert_eq(req(VHOST_USER_SET_VRING_KICK, &v, 8, NULL, 0), 0);
	cr_assert(vu_queue_ready(&dev, 0));
	cr_assert_null(ring_watch(0));
	cr_assert_eq(rec.handler[0], 1);
}

Test(backend, ring_set_up_errors)
{
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	/* Kick before size and addresses. */
	cr_assert_eq(set_vring_fd(VHOST_USER_SET_VRING_KICK, 0, &kickfd[0]),
	    -EINVAL);
	cr_assert_eq(watches.n, 0);
	set_mem_table();
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 0, QSZ), 0);
	/* Dirty logging was never offered. */
	cr_assert_eq(set_vring_addr(0, 1u << VHOST_VRING_F_LOG), -EINVAL);
	/* Addresses outside guest memory. */
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 1, QSZ), 0);
	cr_assert_eq(set_mem_table_at(0, 0x10000, GUEST_UVA, memfd), 0);
	cr_assert_eq(set_vring_addr(1, 0), -EINVAL);
}

Test(backend, addresses_before_memory_translated_at_start)
{
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 0, QSZ), 0);
	cr_assert_eq(set_vring_addr(0, 0), 0);
	set_mem_table();
	kick(0);
	cr_assert(vu_queue_ready(&dev, 0));
	cr_assert_eq((uint8_t *)dev.vd_vring[0].vr_vq.vq_avail,
	    (uint8_t *)gmem_gpa(&dev.vd_mem, AVAIL_GPA(0), 1));
}

Test(backend, mem_table_replacement_retranslates_rings)
{
	int			 fd2;

	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);
	kick(0);

	/* Same layout, new backing: ring pointers follow the new mapping. */
	fd2 = guestmem_fd(GUEST_SIZE);
	cr_assert_eq(set_mem_table_at(0, GUEST_SIZE, GUEST_UVA, fd2), 0);
	cr_assert(vu_queue_ready(&dev, 0));
	cr_assert_eq((uint8_t *)dev.vd_vring[0].vr_vq.vq_desc,
	    (uint8_t *)gmem_gpa(&dev.vd_mem, DESC_GPA(0), 1));

	/* A table without the ring's memory pauses the ring... */
	cr_assert_eq(set_mem_table_at(0x100000, GUEST_SIZE, GUEST_UVA +
	    0x100000, fd2), 0);
	cr_assert_not(vu_queue_ready(&dev, 0));
	cr_assert_null(dev.vd_vring[0].vr_vq.vq_desc);
	cr_assert_eq(rec.state_calls[0], 2);
	fire(0);
	cr_assert_eq(rec.handler[0], 0);
	/* ...until the memory is back; pending buffers then run. */
	add_avail(0, 0);
	cr_assert_eq(set_mem_table_at(0, GUEST_SIZE, GUEST_UVA, memfd), 0);
	cr_assert(vu_queue_ready(&dev, 0));
	cr_assert_eq(rec.state_calls[0], 3);
	cr_assert_eq(rec.handler[0], 1);
	cr_assert_eq(get_u64(VHOST_USER_GET_STATUS) &
	    VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	close(fd2);
}

Test(backend, add_and_remove_mem_regions)
{
	struct vhost_user_mem_reg	r;
	struct vhost_user_msg		m;
	int				fd = dup(memfd), base;

	memset(&r, 0, sizeof(r));
	r.region.guest_phys_addr = 0;
	r.region.memory_size = GUEST_SIZE;
	r.region.userspace_addr = GUEST_UVA;
	cr_assert_eq(req(VHOST_USER_ADD_MEM_REG, &r, sizeof(r), &fd, 1), 0);
	close(fd);
	cr_assert_eq(dev.vd_mem.mm_nregions, 1);
	/* Overlap: protocol violation. */
	fd = dup(memfd);
	r.region.guest_phys_addr = 4096;
	cr_assert_lt(req(VHOST_USER_ADD_MEM_REG, &r, sizeof(r), &fd, 1), 0);
	close(fd);
	r.region.guest_phys_addr = 0;

	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	setup_ring(0, 0);
	kick(0);
	cr_assert(vu_queue_ready(&dev, 0));

	/*
	 * The same region again (QEMU 7.2 sends it once per queue pair of a
	 * multiqueue NIC): counted, and it stays until the last removal.
	 */
	fd = dup(memfd);
	base = count_fds();
	cr_assert_eq(req(VHOST_USER_ADD_MEM_REG, &r, sizeof(r), &fd, 1), 0);
	cr_assert_eq(count_fds(), base, "the duplicate's fd is closed");
	close(fd);
	cr_assert_eq(dev.vd_mem.mm_nregions, 1);
	cr_assert_eq(req(VHOST_USER_REM_MEM_REG, &r, sizeof(r), NULL, 0), 0);
	cr_assert_eq(dev.vd_mem.mm_nregions, 1, "removed with a reference "
	    "left");
	cr_assert(vu_queue_ready(&dev, 0));

	/* QEMU sends the fd with REM_MEM_REG; it must be closed. */
	fd = dup(memfd);
	base = count_fds();
	cr_assert_eq(req(VHOST_USER_REM_MEM_REG, &r, sizeof(r), &fd, 1), 0);
	cr_assert_eq(count_fds(), base);
	close(fd);
	cr_assert_eq(dev.vd_mem.mm_nregions, 0);
	/* The running ring lost its memory: paused, not failed. */
	cr_assert_not(vu_queue_ready(&dev, 0));
	fd = dup(memfd);
	cr_assert_eq(req(VHOST_USER_ADD_MEM_REG, &r, sizeof(r), &fd, 1), 0);
	close(fd);
	cr_assert(vu_queue_ready(&dev, 0));
	cr_assert_eq(rec.state_calls[0], 3);
	/* Without the optional fd too. */
	cr_assert_eq(req(VHOST_USER_REM_MEM_REG, &r, sizeof(r), NULL, 0), 0);
	cr_assert_not(vu_queue_ready(&dev, 0));

	/* Unknown region: refused, connection kept. */
	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK)), 0);
	cr_assert_eq(req_flags(VHOST_USER_REM_MEM_REG,
	    VHOST_USER_NEED_REPLY_MASK, &r, sizeof(r), NULL, 0), 0);
	recv_reply(VHOST_USER_REM_MEM_REG, &m);
	cr_assert_neq(m.payload.u64, 0);
}

Test(backend, status_and_reset)
{
	negotiate(BIT(VIRTIO_F_VERSION_1) | PF, 0);
	cr_assert_eq(get_u64(VHOST_USER_GET_STATUS), 0);
	cr_assert_eq(set_u64(VHOST_USER_SET_STATUS, 0xf), 0);
	cr_assert_eq(get_u64(VHOST_USER_GET_STATUS), 0xf);

	set_mem_table();
	setup_ring(0, 4);
	kick(0);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
	cr_assert(vu_queue_ready(&dev, 0));

	/* Status 0 (QEMU: before GET_VRING_BASE) stops the rings but keeps
	 * the index GET_VRING_BASE answers. */
	cr_assert_eq(set_u64(VHOST_USER_SET_STATUS, 0), 0);
	cr_assert_eq(rec.resets, 1);
	cr_assert_not(vu_queue_ready(&dev, 0));
	cr_assert_null(ring_watch(0));
	cr_assert_eq(get_vring_base(0), 4);

	/* RESET_DEVICE forgets the ring set-up. */
	setup_ring(0, 4);
	kick(0);
	cr_assert(vu_queue_ready(&dev, 0));
	cr_assert_eq(req(VHOST_USER_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	cr_assert_eq(rec.resets, 2);
	cr_assert_not(vu_queue_ready(&dev, 0));
	cr_assert_not(dev.vd_vring[0].vr_enabled);
	cr_assert_eq(watches.n, 0);
	cr_assert_eq(get_vring_base(0), 0);
}

Test(backend, broken_device_keeps_answering)
{
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);
	kick(0);
	cr_assert(vu_queue_ready(&dev, 0));
	vu_dev_set_broken(&dev, "test");
	cr_assert_not(vu_queue_ready(&dev, 0));
	cr_assert_eq(watches.n, 0);
	cr_assert(rec.state_calls[0] == 2 && !rec.state[0]);
	cr_assert(get_u64(VHOST_USER_GET_STATUS) &
	    VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(get_u64(VHOST_USER_GET_FEATURES) & BIT(32), BIT(32));
	/* The front end resets the device and starts over. */
	cr_assert_eq(set_u64(VHOST_USER_SET_STATUS, 0), 0);
	cr_assert_eq(get_u64(VHOST_USER_GET_STATUS), 0);
	setup_ring(0, 0);
	kick(0);
	cr_assert(vu_queue_ready(&dev, 0));
}

Test(backend, fini_closes_everything)
{
	int	base;

	base = count_fds();
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);
	kick(0);
	cr_assert_eq(set_vring_fd(VHOST_USER_SET_VRING_CALL, 0, &callfd[0]),
	    0);
	cr_assert_eq(set_vring_fd(VHOST_USER_SET_VRING_ERR, 1, &callfd[1]),
	    0);
	/* Ours (kickfd, callfd[0..1]) plus the engine's three. */
	cr_assert_eq(count_fds(), base + 6);
	vu_dev_fini(&dev);
	cr_assert_eq(watches.n, 0);
	cr_assert_eq(count_fds(), base + 3);
	cr_assert_eq(dev.vd_mem.mm_nregions, 0);
	cr_assert_not(rec.state[0]);
}

Test(backend, eof_is_connreset)
{
	close_reset(&sv[1]);
	cr_assert_eq(vu_dev_dispatch(&dev), -ECONNRESET);
}

/*
 * Mapping lifetimes (issue 8.1): a started ring points only into live
 * front-end mappings, a stopped ring points nowhere, and a message that
 * would unmap what a started ring points into is refused (or the ring is
 * re-pointed first).
 */

/* [p, p + len) inside one region of the current table. */
static bool
in_guest_mapping(const void *p, size_t len)
{
	const struct gmem_region	*r;
	const uint8_t			*q = p;
	unsigned int			 i;

	for (i = 0; i < dev.vd_mem.mm_nregions; i++) {
		r = &dev.vd_mem.mm_regions[i];
		if (q >= r->mr_host && q < r->mr_host + r->mr_size &&
		    len <= (size_t)(r->mr_host + r->mr_size - q))
			return true;
	}
	return false;
}

static void
assert_ring_pointers(void)
{
	const struct virtq	*vq;
	const uint8_t		*in;
	unsigned int		 q;

	for (q = 0; q < NQ; q++) {
		vq = &dev.vd_vring[q].vr_vq;
		if (!dev.vd_vring[q].vr_started) {
			cr_assert(vq->vq_desc == NULL && vq->vq_avail == NULL &&
			    vq->vq_used == NULL && vq->vq_inflight == NULL,
			    "stopped ring %u still points into a mapping", q);
			continue;
		}
		if (vq->vq_desc != NULL) {
			cr_assert(in_guest_mapping(vq->vq_desc,
			    virtq_desc_size(vq->vq_num)), "ring %u desc", q);
			cr_assert(in_guest_mapping(vq->vq_avail,
			    virtq_avail_size(vq->vq_num)), "ring %u avail", q);
			cr_assert(in_guest_mapping(vq->vq_used,
			    virtq_used_size(vq->vq_num)), "ring %u used", q);
		} else
			cr_assert(vq->vq_avail == NULL && vq->vq_used == NULL);
		if (vq->vq_inflight != NULL) {
			in = (const uint8_t *)(uintptr_t)vq->vq_inflight;
			cr_assert(dev.vd_inflight != NULL &&
			    in >= dev.vd_inflight && in +
			    VIRTQ_INFLIGHT_SIZE(vq->vq_num) <= dev.vd_inflight +
			    dev.vd_inflight_size,
			    "ring %u inflight pointer outside the region", q);
		}
	}
}

static void
reply_ack_on(void)
{
	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
	    BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)), 0);
}

/* A request with need_reply; the u64 status of the ack. */
static uint64_t
req_ack(uint32_t request, const void *payload, uint32_t size, const int *fds,
    unsigned int nfds)
{
	struct vhost_user_msg	m;

	cr_assert_eq(req_flags(request, VHOST_USER_NEED_REPLY_MASK, payload,
	    size, fds, nfds), 0);
	recv_reply(request, &m);
	cr_assert_eq(m.hdr.size, 8);
	return m.payload.u64;
}

/* GET_INFLIGHT_FD for NQ rings of QSZ; the fd (or -1) and mmap_size. */
static int
get_inflight(uint64_t *size)
{
	struct vhost_user_inflight	in;
	struct vhost_user_msg		m;
	int				fds[VHOST_USER_MAX_FDS];
	unsigned int			nfds;

	memset(&in, 0, sizeof(in));
	in.num_queues = NQ;
	in.queue_size = QSZ;
	cr_assert_eq(req(VHOST_USER_GET_INFLIGHT_FD, &in, sizeof(in), NULL,
	    0), 0);
	cr_assert_eq(vu_msg_recv(sv[1], &m, fds, &nfds), 0);
	cr_assert_eq(m.hdr.request, VHOST_USER_GET_INFLIGHT_FD);
	*size = m.payload.inflight.mmap_size;
	cr_assert_leq(nfds, 1);
	return nfds == 1 ? fds[0] : -1;
}

/* A front-end inflight memfd of NQ regions; sealed if asked. */
static int
inflight_memfd(bool sealable, bool sealed, uint64_t preset_counter)
{
	size_t			 size = NQ * VIRTQ_INFLIGHT_SIZE(QSZ);
	struct virtq_inflight	*r;
	unsigned int		 q, i;
	int			 fd;

	fd = memfd_create("fe-inflight", MFD_CLOEXEC |
	    (sealable ? MFD_ALLOW_SEALING : 0));
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	if (preset_counter != 0) {
		r = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		cr_assert_neq(r, MAP_FAILED);
		for (q = 0; q < NQ; q++) {
			struct virtq_inflight *qr = (void *)((uint8_t *)r +
			    q * VIRTQ_INFLIGHT_SIZE(QSZ));

			qr->version = 1;
			qr->desc_num = QSZ;
			for (i = 0; i < QSZ; i++)
				qr->desc[i].counter = preset_counter + i;
		}
		munmap(r, size);
	}
	if (sealed)
		cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW |
		    F_SEAL_SHRINK | F_SEAL_SEAL), 0);
	return fd;
}

static uint64_t
set_inflight(int fd)
{
	struct vhost_user_inflight	in;

	memset(&in, 0, sizeof(in));
	in.mmap_size = NQ * VIRTQ_INFLIGHT_SIZE(QSZ);
	in.num_queues = NQ;
	in.queue_size = QSZ;
	return req_ack(VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1);
}

/* Ring 0 started, tracking into the inflight region, one request done. */
static void
start_tracked_ring(void)
{
	uint64_t	size;

	if (dev.vd_inflight == NULL)
		close(get_inflight(&size));
	rec.pop = true;
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);
	kick(0);
	cr_assert_not_null(dev.vd_vring[0].vr_vq.vq_inflight);
	add_avail(0, 1);
	fire(0);
	cr_assert_eq(((struct virtq_used *)(guest + USED_GPA(0)))->idx, 1);
	assert_ring_pointers();
}

/* Ring 0 still works through its pointers (a dangling one would crash). */
static void
ring_still_works(uint16_t used_idx)
{
	add_avail(0, 2);
	fire(0);
	cr_assert_eq(((struct virtq_used *)(guest + USED_GPA(0)))->idx,
	    used_idx);
	assert_ring_pointers();
}

Test(backend, get_inflight_refused_while_a_started_ring_records)
{
	uint64_t	size;
	int		fd;

	reply_ack_on();
	fd = get_inflight(&size);
	cr_assert_geq(fd, 0);
	cr_assert_eq(size, NQ * VIRTQ_INFLIGHT_SIZE(QSZ));
	/* Ours is sealed: the front end cannot shrink it under us. */
	cr_assert_eq(fcntl(fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_SEAL),
	    F_SEAL_SHRINK | F_SEAL_SEAL);
	close(fd);
	start_tracked_ring();

	/* A second GET would unmap the region ring 0 writes into. */
	fd = get_inflight(&size);
	cr_assert_eq(fd, -1, "GET_INFLIGHT_FD answered a new region");
	cr_assert_eq(size, 0);
	ring_still_works(2);

	/* Stopped rings point nowhere: then it is allowed (QEMU's restart). */
	cr_assert_eq(get_vring_base(0), 2);
	assert_ring_pointers();
	fd = get_inflight(&size);
	cr_assert_geq(fd, 0);
	cr_assert_gt(size, 0);
	close(fd);
}

Test(backend, set_inflight_refused_while_a_started_ring_records)
{
	int	fd, evil;

	reply_ack_on();
	fd = inflight_memfd(true, true, 0);
	cr_assert_eq(set_inflight(fd), 0);
	close(fd);
	start_tracked_ring();

	/* The front end's own region with preset counters: refused. */
	evil = inflight_memfd(false, false, 0x4141414141414141ull);
	cr_assert_neq(set_inflight(evil), 0,
	    "SET_INFLIGHT_FD replaced the region under a started ring");
	close(evil);
	ring_still_works(2);

	cr_assert_eq(get_vring_base(0), 2);
	assert_ring_pointers();
	fd = inflight_memfd(false, false, 0);
	cr_assert_eq(set_inflight(fd), 0);
	close(fd);
}

Test(backend, sealable_but_unsealed_inflight_memfd_refused)
{
	int	fd;

	reply_ack_on();
	fd = inflight_memfd(true, false, 0);
	cr_assert_neq(set_inflight(fd), 0);
	cr_assert_null(dev.vd_inflight);
	close(fd);
	/* Sealed, or not sealable at all (a tmpfs file): accepted. */
	fd = inflight_memfd(true, true, 0);
	cr_assert_eq(set_inflight(fd), 0);
	close(fd);
	fd = inflight_memfd(false, false, 0);
	cr_assert_eq(set_inflight(fd), 0);
	close(fd);
}

Test(backend, set_vring_addr_on_a_started_ring_refused)
{
	struct vhost_user_vring_addr	a;
	struct virtq_desc		*desc;

	reply_ack_on();
	start_tracked_ring();
	desc = dev.vd_vring[0].vr_vq.vq_desc;
	memset(&a, 0, sizeof(a));
	a.index = 0;
	a.desc_user_addr = GUEST_UVA + DESC_GPA(1);
	a.avail_user_addr = GUEST_UVA + AVAIL_GPA(1);
	a.used_user_addr = GUEST_UVA + USED_GPA(1);
	cr_assert_neq(req_ack(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL,
	    0), 0, "a started ring was moved");
	cr_assert_eq(dev.vd_vring[0].vr_vq.vq_desc, desc);
	/* The same addresses again change nothing. */
	a.desc_user_addr = GUEST_UVA + DESC_GPA(0);
	a.avail_user_addr = GUEST_UVA + AVAIL_GPA(0);
	a.used_user_addr = GUEST_UVA + USED_GPA(0);
	cr_assert_eq(req_ack(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL,
	    0), 0);
	ring_still_works(2);
	/* Stopped: it may move. */
	cr_assert_eq(get_vring_base(0), 2);
	a.desc_user_addr = GUEST_UVA + DESC_GPA(1);
	a.avail_user_addr = GUEST_UVA + AVAIL_GPA(1);
	a.used_user_addr = GUEST_UVA + USED_GPA(1);
	cr_assert_eq(req_ack(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL,
	    0), 0);
}

Test(backend, stopped_ring_points_nowhere)
{
	int	fd2;

	start_tracked_ring();
	cr_assert_eq(get_vring_base(0), 1);
	assert_ring_pointers();
	/* Memory replaced while stopped; the device may still publish. */
	fd2 = guestmem_fd(GUEST_SIZE);
	cr_assert_eq(set_mem_table_at(0, GUEST_SIZE, GUEST_UVA, fd2), 0);
	vu_queue_publish(&dev, 0);
	assert_ring_pointers();
	close(fd2);
}

Test(backend, set_mem_table_under_a_started_ring)
{
	struct vhost_user_memory	mt;
	struct virtq_desc		*desc;
	int				fd2, fds[2];

	reply_ack_on();
	start_tracked_ring();
	desc = dev.vd_vring[0].vr_vq.vq_desc;

	/* A table whose second region cannot map: refused, nothing moved. */
	memset(&mt, 0, sizeof(mt));
	mt.nregions = 2;
	mt.regions[0].memory_size = GUEST_SIZE;
	mt.regions[0].userspace_addr = GUEST_UVA;
	mt.regions[1].guest_phys_addr = 4ull * GUEST_SIZE;
	mt.regions[1].memory_size = 2ull * GUEST_SIZE;	/* beyond the file */
	mt.regions[1].userspace_addr = GUEST_UVA + 4ull * GUEST_SIZE;
	fds[0] = dup(memfd);
	fds[1] = dup(memfd);
	cr_assert_lt(req(VHOST_USER_SET_MEM_TABLE, &mt, 8 + 2 * 32, fds, 2),
	    0);
	close(fds[0]);
	close(fds[1]);
	cr_assert_eq(dev.vd_vring[0].vr_vq.vq_desc, desc,
	    "a refused table still replaced the ring's memory");
	cr_assert(vu_queue_ready(&dev, 0));
	assert_ring_pointers();

	/* A good one: the ring follows into the new mapping. */
	fd2 = guestmem_fd(GUEST_SIZE);
	cr_assert_eq(set_mem_table_at(0, GUEST_SIZE, GUEST_UVA, fd2), 0);
	assert_ring_pointers();
	cr_assert(vu_queue_ready(&dev, 0));
	close(fd2);
}

Test(backend, add_and_remove_regions_under_a_started_ring)
{
	struct vhost_user_mem_reg	r;
	int				fd;

	reply_ack_on();
	start_tracked_ring();
	/* A region after the ring's, then removed again. */
	memset(&r, 0, sizeof(r));
	r.region.guest_phys_addr = 2ull * GUEST_SIZE;
	r.region.memory_size = GUEST_SIZE;
	r.region.userspace_addr = GUEST_UVA + 2ull * GUEST_SIZE;
	fd = dup(memfd);
	cr_assert_eq(req_ack(VHOST_USER_ADD_MEM_REG, &r, sizeof(r), &fd, 1),
	    0);
	close(fd);
	assert_ring_pointers();
	cr_assert_eq(req_ack(VHOST_USER_REM_MEM_REG, &r, sizeof(r), NULL, 0),
	    0);
	assert_ring_pointers();
	ring_still_works(2);
	/* The ring's own region: the ring is paused, pointing nowhere. */
	r.region.guest_phys_addr = 0;
	r.region.userspace_addr = GUEST_UVA;
	cr_assert_eq(req_ack(VHOST_USER_REM_MEM_REG, &r, sizeof(r), NULL, 0),
	    0);
	cr_assert_null(dev.vd_vring[0].vr_vq.vq_desc);
	assert_ring_pointers();
	vu_queue_publish(&dev, 0);
}

/*
 * A back end dies with every available chain in flight; the driver waits
 * and does not kick again.  The next back end must run the chains left
 * in the inflight region as soon as the ring is ready, without a kick.
 */
Test(backend, inflight_resubmissions_run_without_a_kick)
{
	int	fd;

	reply_ack_on();
	fd = inflight_memfd(false, false, 0);
	cr_assert_eq(set_inflight(fd), 0);
	rec.pop = true;
	rec.hold = true;
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);
	kick(0);
	add_avail(0, 1);
	add_avail(0, 3);
	fire(0);
	cr_assert_eq(dev.vd_vring[0].vr_vq.vq_last_avail, 2);

	/* The child is gone; a new one gets the same region. */
	vu_dev_fini(&dev);
	memset(&watches, 0, sizeof(watches));
	cr_assert_eq(vu_dev_init(&dev, sv[0], NQ, &test_ops, &rec,
	    &fake_watch_ops, NULL), 0);
	rec.hold = false;
	rec.handler[0] = 0;
	reply_ack_on();
	cr_assert_eq(set_inflight(fd), 0);
	close(fd);
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);		/* QEMU: base = used idx */
	kick(0);
	cr_assert_eq(rec.handler[0], 1, "resubmissions waited for a kick");
	cr_assert_eq(((struct virtq_used *)(guest + USED_GPA(0)))->idx, 2);
}

/* What the child's SIGBUS handler asks: is this front-end memory? */
Test(backend, dev_maps_front_end_memory_only)
{
	const struct gmem_region	*r;
	uint64_t			 size;
	int				 local = 0;

	cr_assert_not(vu_dev_maps(&dev, guest));
	set_mem_table();
	r = &dev.vd_mem.mm_regions[0];
	cr_assert(vu_dev_maps(&dev, r->mr_host));
	cr_assert(vu_dev_maps(&dev, r->mr_host + GUEST_SIZE - 1));
	cr_assert_not(vu_dev_maps(&dev, r->mr_host + GUEST_SIZE));
	cr_assert_not(vu_dev_maps(&dev, guest), "our own mapping of it");
	cr_assert_not(vu_dev_maps(&dev, &local));
	cr_assert_not(vu_dev_maps(&dev, &dev));
	close(get_inflight(&size));
	cr_assert(vu_dev_maps(&dev, dev.vd_inflight));
	cr_assert(vu_dev_maps(&dev, dev.vd_inflight + size - 1));
	cr_assert_not(vu_dev_maps(&dev, dev.vd_inflight + size));
}

/*
 * Device contract hooks a net or vsock device needs: protocol features
 * it adds, device-specific requests routed to it, the largest ring size.
 */
#define MTU_MAX	9000

static struct {
	unsigned int	calls;
	uint32_t	request;
	uint64_t	value;
	uint32_t	size;
} hk;

static uint64_t
h_get_protocol_features(struct vu_dev *d)
{
	/* LOG_SHMFD is not the device's to offer: the engine drops it. */
	return BIT(VHOST_USER_PROTOCOL_F_MTU) |
	    BIT(VHOST_USER_PROTOCOL_F_RARP) |
	    BIT(VHOST_USER_PROTOCOL_F_LOG_SHMFD);
}

static int
h_request(struct vu_dev *d, uint32_t request, const void *payload,
    uint32_t size)
{
	hk.calls++;
	hk.request = request;
	hk.size = size;
	memcpy(&hk.value, payload, sizeof(hk.value));
	if (request == VHOST_USER_NET_SET_MTU && hk.value > MTU_MAX)
		return -EINVAL;
	return 0;
}

static uint16_t
h_max_queue_size(struct vu_dev *d, unsigned int q)
{
	return q == 0 ? 256 : 0;
}

static const struct vu_dev_ops hook_ops = {
	.queue_handler = t_queue_handler,
	.get_protocol_features = h_get_protocol_features,
	.requests = VU_REQUEST_BIT(VHOST_USER_NET_SET_MTU) |
	    VU_REQUEST_BIT(VHOST_USER_SEND_RARP),
	.request = h_request,
	.max_queue_size = h_max_queue_size,
};

static void
setup_hooks(void)
{
	memset(&hk, 0, sizeof(hk));
	setup_ops(&hook_ops);
}

TestSuite(hooks, .init = setup_hooks, .fini = teardown);

Test(hooks, device_adds_protocol_features)
{
	uint64_t	f = get_u64(VHOST_USER_GET_PROTOCOL_FEATURES);

	cr_assert(f & BIT(VHOST_USER_PROTOCOL_F_MTU));
	cr_assert(f & BIT(VHOST_USER_PROTOCOL_F_RARP));
	cr_assert(f & BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK), "engine's kept");
	cr_assert_not(f & BIT(VHOST_USER_PROTOCOL_F_LOG_SHMFD),
	    "only MTU and RARP are a device's to add");
	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES, f), 0);
}

/* Without the hook nothing is added. */
Test(backend, no_device_protocol_features)
{
	uint64_t	f = get_u64(VHOST_USER_GET_PROTOCOL_FEATURES);

	cr_assert_not(f & BIT(VHOST_USER_PROTOCOL_F_MTU));
	cr_assert_not(f & BIT(VHOST_USER_PROTOCOL_F_RARP));
	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_MTU)), -EINVAL);
}

Test(hooks, device_requests_routed_after_checks)
{
	uint64_t	mtu = 1500, mac = 0x665544332211ull, big = MTU_MAX + 1;
	uint32_t	small = 1500;
	int		efd;

	/* MTU not negotiated: the engine refuses before the device. */
	cr_assert_eq(set_u64(VHOST_USER_NET_SET_MTU, mtu), -EINVAL);
	cr_assert_eq(hk.calls, 0);

	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_MTU) | BIT(VHOST_USER_PROTOCOL_F_RARP) |
	    BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK)), 0);
	cr_assert_eq(req_ack(VHOST_USER_NET_SET_MTU, &mtu, sizeof(mtu), NULL,
	    0), 0);
	cr_assert_eq(hk.calls, 1);
	cr_assert_eq(hk.request, VHOST_USER_NET_SET_MTU);
	cr_assert_eq(hk.size, 8);
	cr_assert_eq(hk.value, 1500);

	/* The device refuses: failure status, the connection stays. */
	cr_assert_eq(req_ack(VHOST_USER_NET_SET_MTU, &big, sizeof(big), NULL,
	    0), 1);
	cr_assert_eq(hk.calls, 2);

	cr_assert_eq(req_ack(VHOST_USER_SEND_RARP, &mac, sizeof(mac), NULL,
	    0), 0);
	cr_assert_eq(hk.request, VHOST_USER_SEND_RARP);
	cr_assert_eq(hk.value, mac);

	/* Generic checks: size and descriptors, before the device. */
	cr_assert_eq(req(VHOST_USER_NET_SET_MTU, &small, sizeof(small), NULL,
	    0), -EINVAL);
	efd = eventfd(0, EFD_CLOEXEC);
	cr_assert_eq(req(VHOST_USER_SEND_RARP, &mac, sizeof(mac), &efd, 1),
	    -EINVAL);
	close(efd);
	cr_assert_eq(hk.calls, 3, "malformed requests reached the device");
}

/* A device that did not declare them: not supported, as before. */
Test(backend, undeclared_device_requests_not_supported)
{
	uint64_t	mtu = 1500;

	cr_assert_eq(set_u64(VHOST_USER_NET_SET_MTU, mtu), -EOPNOTSUPP);
	reply_ack_on();
	cr_assert_eq(req_ack(VHOST_USER_SEND_RARP, &mtu, sizeof(mtu), NULL,
	    0), 1);
}

Test(hooks, max_queue_size)
{
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 0, 512), -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 0, 256), 0);
	cr_assert_eq(dev.vd_vring[0].vr_num, 256);
	/* 0: no limit of the device's, only the virtio one. */
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 1, 32768), 0);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 1, 65536),
	    -EINVAL);
}

/*
 * The request table: every request the engine serves has its size rule
 * checked before its handler (one byte more or less is refused), and the
 * names come from the same rows.
 */
Test(backend, table_checks_every_request)
{
	const struct vu_request	*rq;
	uint8_t			 payload[64];
	uint32_t		 r, want;
	unsigned int		 served = 0;

	memset(payload, 0, sizeof(payload));
	for (r = 0; r < VHOST_USER_MAX; r++) {
		rq = vu_request_lookup(r);
		cr_assert_not_null(rq, "request %u has no row", r);
		cr_assert_str_eq(vhost_user_request_name(r), rq->rq_name);
		if (rq->rq_handler == NULL || rq->rq_device ||
		    rq->rq_size_rule != VU_SIZE_EXACT)
			continue;
		served++;
		want = rq->rq_size;
		cr_assert_eq(req(r, payload, want + 1, NULL, 0), -EINVAL,
		    "%s with %u bytes", rq->rq_name, want + 1);
		if (want > 0)
			cr_assert_eq(req(r, payload, want - 1, NULL, 0),
			    -EINVAL, "%s with %u bytes", rq->rq_name,
			    want - 1);
	}
	cr_assert_geq(served, 20);
	cr_assert_null(vu_request_lookup(VHOST_USER_MAX));
	cr_assert_eq(rec.set_features_calls, 0);
	cr_assert_eq(rec.resets, 0);
}
