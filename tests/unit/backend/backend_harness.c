/*
 * backend_harness.c - backend_test's harness.  backend_test drives the
 * vhost-user engine over a socketpair with hand-built messages:
 * negotiation, acks, validation, ring life cycle, config space, status
 * and memory table changes.
 */

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "util/util.h"

#include "backend_harness.h"

struct backend_watches	 watches;

struct backend_rec	 rec;

int		 sv[2] = { -1, -1 };
static struct guestmem	 gm;
int		 memfd = -1;	/* gm.gm_fd */
uint8_t		*guest;
struct vu_dev	 dev;
int		 kickfd[NQ] = { -1, -1 };
int		 callfd[NQ] = { -1, -1 };

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

const struct vu_watch_ops fake_watch_ops = {
	.watch_add = fw_add,
	.watch_del = fw_del,
};

struct fake_watch *
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

void
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

const struct vu_dev_ops test_ops = {
	.get_features = t_get_features,
	.set_features = t_set_features,
	.get_config = t_get_config,
	.set_config = t_set_config,
	.queue_handler = t_queue_handler,
	.queue_state = t_queue_state,
	.reset = t_reset,
};

const struct vu_dev_ops bare_ops = {
	.queue_handler = t_queue_handler,
};

void
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

void
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

int
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
int
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

int
req(uint32_t request, const void *payload, uint32_t size, const int *fds,
    unsigned int nfds)
{
	return req_flags(request, 0, payload, size, fds, nfds);
}

void
recv_reply(uint32_t request, struct vhost_user_msg *m)
{
	int		fds[VHOST_USER_MAX_FDS];
	unsigned int	nfds;

	cr_assert_eq(vu_msg_recv(sv[1], m, fds, &nfds), 0);
	cr_assert_eq(nfds, 0);
	cr_assert_eq(m->hdr.request, request);
	cr_assert_eq(m->hdr.flags, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
}

void
assert_no_reply(void)
{
	struct vhost_user_msg	m;
	int			fds[VHOST_USER_MAX_FDS];
	unsigned int		nfds;

	cr_assert_eq(fd_set_nonblock(sv[1], 1), 0);
	cr_assert_eq(vu_msg_recv(sv[1], &m, fds, &nfds), -EAGAIN);
	cr_assert_eq(fd_set_nonblock(sv[1], 0), 0);
}

uint64_t
get_u64(uint32_t request)
{
	struct vhost_user_msg	m;

	cr_assert_eq(req(request, NULL, 0, NULL, 0), 0);
	recv_reply(request, &m);
	cr_assert_eq(m.hdr.size, 8);
	return m.payload.u64;
}

int
set_u64(uint32_t request, uint64_t v)
{
	return req(request, &v, sizeof(v), NULL, 0);
}

int
vring_state(uint32_t request, uint32_t idx, uint32_t num)
{
	struct vhost_user_vring_state	s = { idx, num };

	return req(request, &s, sizeof(s), NULL, 0);
}

uint32_t
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

int
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

void
set_mem_table(void)
{
	cr_assert_eq(set_mem_table_at(0, GUEST_SIZE, GUEST_UVA, memfd), 0);
}

int
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

void
setup_ring(uint32_t q, uint32_t base)
{
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, q, QSZ), 0);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_BASE, q, base), 0);
	cr_assert_eq(set_vring_addr(q, 0), 0);
}

/* SET_VRING_{KICK,CALL} with a fresh eventfd; keeps our copy in *keep. */
int
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

void
kick(uint32_t q)
{
	cr_assert_eq(set_vring_fd(VHOST_USER_SET_VRING_KICK, q, &kickfd[q]),
	    0);
}

/* The guest kicks ring q; the event loop runs the watch callback. */
void
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

struct virtq_avail *
avail_ring(uint32_t q)
{
	return (struct virtq_avail *)(guest + AVAIL_GPA(q));
}

/* Make chain `head` (one writable 16-byte buffer) available on ring q. */
void
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

void
negotiate(uint64_t features, uint64_t protocol)
{
	if (protocol != 0)
		cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
		    protocol), 0);
	cr_assert_eq(set_u64(VHOST_USER_SET_FEATURES, features), 0);
}

void
reply_ack_on(void)
{
	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
	    BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)), 0);
}

/* A request with need_reply; the u64 status of the ack. */
uint64_t
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
