/*
 * vuf_vq.c - the driver side of a split virtqueue (virtio 1.x, 2.7) for
 * the in-tree front end: rings in the front end's guest memory, chains in,
 * used elements out, kicks on an eventfd, interrupts from the call eventfd.
 *
 * The driver keeps its own copy of the descriptor links (q_next), so a back
 * end that scribbles on the descriptor table cannot confuse the free list.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "util/util.h"
#include "vuf.h"

static struct vuf_vq *
vuf_vq_get(struct vuf *f, unsigned int idx)
{
	if (idx >= VUF_MAX_QUEUES) {
		vuf_fail(f, -EINVAL, "ring %u: only %u rings", idx,
		    VUF_MAX_QUEUES);
		return NULL;
	}
	if (f->f_vq[idx].q_num == 0) {
		vuf_fail(f, -EINVAL, "ring %u is not allocated", idx);
		return NULL;
	}
	return &f->f_vq[idx];
}

/* The link table lives right after the cookie array. */
static uint16_t *
vuf_vq_next(struct vuf_vq *q)
{
	return (uint16_t *)(q->q_cookie + q->q_num);
}

static uint16_t *
vuf_used_event(struct vuf_vq *q)
{
	return (uint16_t *)((uint8_t *)q->q_avail + 4 + 2u * q->q_num);
}

static uint16_t *
vuf_avail_event(struct vuf_vq *q)
{
	return (uint16_t *)((uint8_t *)q->q_used + 4 + 8u * q->q_num);
}

/* Reset the driver's view: everything free, indices 0. */
static void
vuf_vq_reset(struct vuf_vq *q)
{
	uint16_t	*next = vuf_vq_next(q);
	unsigned int	 i;

	memset(q->q_desc, 0, sizeof(*q->q_desc) * q->q_num);
	memset(q->q_avail, 0, 4 + 2u * q->q_num + 2);
	memset(q->q_used, 0, 4 + 8u * q->q_num + 2);
	for (i = 0; i < q->q_num; i++) {
		next[i] = (uint16_t)(i + 1 < q->q_num ? i + 1 : 0);
		q->q_ndesc[i] = 0;
		q->q_cookie[i] = NULL;
	}
	q->q_free_head = 0;
	q->q_num_free = q->q_num;
	q->q_avail_idx = 0;
	q->q_kicked_idx = 0;
	q->q_last_used = 0;
}

int
vuf_vq_alloc(struct vuf *f, unsigned int idx, uint16_t num)
{
	struct vuf_vq	*q;
	size_t		 isz;

	if (idx >= VUF_MAX_QUEUES)
		return vuf_fail(f, -EINVAL, "ring %u: only %u rings", idx,
		    VUF_MAX_QUEUES);
	if (num == 0 || (num & (num - 1)) != 0 || num > VIRTQ_MAX_SIZE)
		return vuf_fail(f, -EINVAL, "ring size %u is not a power of "
		    "two <= %u", num, VIRTQ_MAX_SIZE);
	q = &f->f_vq[idx];
	if (q->q_num != 0 && q->q_num != num)
		return vuf_fail(f, -EBUSY, "ring %u already has %u entries",
		    idx, q->q_num);
	if (q->q_num == 0) {
		q->q_desc = vuf_alloc(f, 16u * num, 16, &q->q_desc_gpa);
		q->q_avail = vuf_alloc(f, 4 + 2u * num + 2, 2,
		    &q->q_avail_gpa);
		q->q_used = vuf_alloc(f, 4 + 8u * num + 2, 4, &q->q_used_gpa);
		if (q->q_desc == NULL || q->q_avail == NULL ||
		    q->q_used == NULL)
			return -ENOMEM;
		if (vuf_has_feature(f, VIRTIO_RING_F_INDIRECT_DESC)) {
			isz = sizeof(struct virtq_desc) * VUF_INDIRECT_MAX *
			    num;
			q->q_indirect = vuf_alloc(f, isz, 16,
			    &q->q_indirect_gpa);
			if (q->q_indirect == NULL)
				return -ENOMEM;
		}
		q->q_ndesc = calloc(num, sizeof(*q->q_ndesc));
		q->q_cookie = calloc(1, num * sizeof(void *) +
		    num * sizeof(uint16_t));
		if (q->q_ndesc == NULL || q->q_cookie == NULL) {
			free(q->q_ndesc);
			free(q->q_cookie);
			q->q_ndesc = NULL;
			q->q_cookie = NULL;
			return vuf_fail(f, -ENOMEM, "out of memory");
		}
		q->q_num = num;
	}
	vuf_vq_reset(q);
	return 0;
}

/* A fresh eventfd for ring idx sent with request (KICK or CALL). */
static int
vuf_vq_eventfd(struct vuf *f, unsigned int idx, uint32_t request, int *fdp)
{
	uint64_t	v = idx;
	int		fd;

	if ((fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		return vuf_fail(f, -errno, "eventfd: %s", strerror(errno));
	close_reset(fdp);
	*fdp = fd;
	return vuf_request(f, request, &v, sizeof(v), &fd, 1, NULL, 0);
}

int
vuf_vq_start(struct vuf *f, unsigned int idx, uint16_t base)
{
	struct vhost_user_vring_state	st;
	struct vhost_user_vring_addr	addr;
	struct vuf_vq			*q;
	int				 rc;

	if ((q = vuf_vq_get(f, idx)) == NULL)
		return -EINVAL;
	st.index = idx;
	st.num = q->q_num;
	if ((rc = vuf_request(f, VHOST_USER_SET_VRING_NUM, &st, sizeof(st),
	    NULL, 0, NULL, 0)) < 0)
		return rc;
	st.num = base;
	if ((rc = vuf_request(f, VHOST_USER_SET_VRING_BASE, &st, sizeof(st),
	    NULL, 0, NULL, 0)) < 0)
		return rc;
	memset(&addr, 0, sizeof(addr));
	addr.index = idx;
	addr.desc_user_addr = (uint64_t)(uintptr_t)q->q_desc;
	addr.avail_user_addr = (uint64_t)(uintptr_t)q->q_avail;
	addr.used_user_addr = (uint64_t)(uintptr_t)q->q_used;
	if ((rc = vuf_request(f, VHOST_USER_SET_VRING_ADDR, &addr,
	    sizeof(addr), NULL, 0, NULL, 0)) < 0)
		return rc;
	if ((rc = vuf_vq_eventfd(f, idx, VHOST_USER_SET_VRING_KICK,
	    &q->q_kick_fd)) < 0 ||
	    (rc = vuf_vq_eventfd(f, idx, VHOST_USER_SET_VRING_CALL,
	    &q->q_call_fd)) < 0)
		return rc;
	q->q_started = true;
	if (vuf_has_feature(f, VHOST_USER_F_PROTOCOL_FEATURES))
		return vuf_vq_enable(f, idx, true);
	return 0;
}

int
vuf_vq_enable(struct vuf *f, unsigned int idx, bool on)
{
	struct vhost_user_vring_state	st = { .index = idx, .num = on };

	return vuf_request(f, VHOST_USER_SET_VRING_ENABLE, &st, sizeof(st),
	    NULL, 0, NULL, 0);
}

int
vuf_vq_stop(struct vuf *f, unsigned int idx, uint16_t *base)
{
	struct vhost_user_vring_state	st = { .index = idx, .num = 0 };
	struct vhost_user_msg		reply;
	int				rc;

	rc = vuf_request(f, VHOST_USER_GET_VRING_BASE, &st, sizeof(st), NULL,
	    0, &reply, sizeof(st));
	if (rc < 0)
		return rc;
	if (reply.payload.state.index != idx)
		return vuf_fail(f, -EPROTO, "GET_VRING_BASE %u answered for "
		    "ring %u", idx, reply.payload.state.index);
	if (idx < VUF_MAX_QUEUES)
		f->f_vq[idx].q_started = false;
	if (base != NULL)
		*base = (uint16_t)reply.payload.state.num;
	return 0;
}

unsigned int
vuf_vq_free(const struct vuf *f, unsigned int idx)
{
	return idx < VUF_MAX_QUEUES ? f->f_vq[idx].q_num_free : 0;
}

int
vuf_vq_add(struct vuf *f, unsigned int idx, const struct vuf_seg *segs,
    unsigned int n, bool indirect, void *cookie)
{
	struct vuf_vq		*q;
	struct virtq_desc	*d, *tbl;
	uint16_t		*next, head, cur = 0;
	unsigned int		 i, need;

	if ((q = vuf_vq_get(f, idx)) == NULL)
		return -EINVAL;
	if (n == 0)
		return vuf_fail(f, -EINVAL, "empty chain");
	if (indirect && (q->q_indirect == NULL || n > VUF_INDIRECT_MAX))
		return vuf_fail(f, -EINVAL, "indirect chain of %u: %s", n,
		    q->q_indirect == NULL ? "INDIRECT_DESC not negotiated" :
		    "too long");
	need = indirect ? 1 : n;
	if (need > q->q_num_free)
		return vuf_fail(f, -ENOSPC, "ring %u: %u descriptors free, "
		    "%u needed", idx, q->q_num_free, need);
	next = vuf_vq_next(q);
	head = q->q_free_head;
	if (indirect) {
		tbl = q->q_indirect + (size_t)head * VUF_INDIRECT_MAX;
		for (i = 0; i < n; i++) {
			tbl[i].addr = segs[i].sg_gpa;
			tbl[i].len = segs[i].sg_len;
			tbl[i].flags = (uint16_t)((segs[i].sg_write ?
			    VIRTQ_DESC_F_WRITE : 0) |
			    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
			tbl[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
		}
		d = &q->q_desc[head];
		d->addr = q->q_indirect_gpa + (uint64_t)head *
		    VUF_INDIRECT_MAX * sizeof(*tbl);
		d->len = (uint32_t)(n * sizeof(*tbl));
		d->flags = VIRTQ_DESC_F_INDIRECT;
		d->next = 0;
		q->q_free_head = next[head];
	} else {
		cur = head;
		for (i = 0; i < n; i++) {
			d = &q->q_desc[cur];
			d->addr = segs[i].sg_gpa;
			d->len = segs[i].sg_len;
			d->flags = (uint16_t)((segs[i].sg_write ?
			    VIRTQ_DESC_F_WRITE : 0) |
			    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
			d->next = i + 1 < n ? next[cur] : 0;
			if (i + 1 < n)
				cur = next[cur];
		}
		q->q_free_head = next[cur];
	}
	q->q_num_free = (uint16_t)(q->q_num_free - need);
	q->q_ndesc[head] = (uint16_t)need;
	q->q_cookie[head] = cookie;
	q->q_avail->ring[q->q_avail_idx & (q->q_num - 1)] = head;
	q->q_avail_idx++;
	return head;
}

/* virtio spec 2.7.10 (vring_need_event). */
static bool
vuf_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

int
vuf_vq_kick(struct vuf *f, unsigned int idx, bool force)
{
	struct vuf_vq	*q;
	uint16_t	 old, new_idx;
	uint64_t	 one = 1;
	bool		 need;

	if ((q = vuf_vq_get(f, idx)) == NULL)
		return -EINVAL;
	old = q->q_kicked_idx;
	new_idx = q->q_avail_idx;
	/*
	 * Release: the descriptors and avail ring entries written by
	 * vuf_vq_add are visible before the index that publishes them.  Pairs
	 * with the back end's acquire load of avail->idx.
	 */
	__atomic_store_n(&q->q_avail->idx, new_idx, __ATOMIC_RELEASE);
	/*
	 * Full barrier: the index store is ordered before reading the back
	 * end's "don't notify" state (used flags or avail_event); pairs with
	 * the back end's barrier between publishing avail_event and
	 * re-checking avail->idx.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	if (vuf_has_feature(f, VIRTIO_RING_F_EVENT_IDX))
		need = vuf_need_event(__atomic_load_n(vuf_avail_event(q),
		    __ATOMIC_RELAXED), new_idx, old);
	else
		need = !(__atomic_load_n(&q->q_used->flags, __ATOMIC_RELAXED) &
		    VIRTQ_USED_F_NO_NOTIFY);
	q->q_kicked_idx = new_idx;
	if (!need && !force)
		return 0;
	if (q->q_kick_fd < 0)
		return vuf_fail(f, -EINVAL, "ring %u has no kick fd", idx);
	if (write(q->q_kick_fd, &one, sizeof(one)) != sizeof(one))
		return vuf_fail(f, -errno, "kick ring %u: %s", idx,
		    strerror(errno));
	q->q_kicks++;
	return 0;
}

unsigned int
vuf_vq_pending(const struct vuf *f, unsigned int idx)
{
	const struct vuf_vq	*q;
	uint16_t		 used;

	if (idx >= VUF_MAX_QUEUES || (q = &f->f_vq[idx])->q_num == 0)
		return 0;
	/* Acquire: pairs with the back end's release store of used->idx. */
	used = __atomic_load_n(&q->q_used->idx, __ATOMIC_ACQUIRE);
	return (uint16_t)(used - q->q_last_used);
}

int
vuf_vq_reap(struct vuf *f, unsigned int idx, struct vuf_used *out,
    unsigned int max)
{
	struct vuf_vq		*q;
	struct virtq_used_elem	 e;
	uint16_t		*next, used, cur;
	unsigned int		 got = 0, k;

	if ((q = vuf_vq_get(f, idx)) == NULL)
		return -EINVAL;
	next = vuf_vq_next(q);
	/* Acquire: the used elements are read after the index. */
	used = __atomic_load_n(&q->q_used->idx, __ATOMIC_ACQUIRE);
	if ((uint16_t)(used - q->q_last_used) > q->q_num)
		return vuf_fail(f, -EPROTO, "ring %u: used idx %u runs %u "
		    "ahead of %u (ring of %u)", idx, used,
		    (uint16_t)(used - q->q_last_used), q->q_last_used,
		    q->q_num);
	while (q->q_last_used != used && got < max) {
		memcpy(&e, &q->q_used->ring[q->q_last_used & (q->q_num - 1)],
		    sizeof(e));
		if (e.id >= q->q_num || q->q_ndesc[e.id] == 0)
			return vuf_fail(f, -EPROTO, "ring %u: used element "
			    "%u has id %u, which is not in flight", idx,
			    q->q_last_used, e.id);
		/* Give the chain back to the free list. */
		cur = (uint16_t)e.id;
		for (k = 1; k < q->q_ndesc[e.id]; k++)
			cur = next[cur];
		next[cur] = q->q_free_head;
		q->q_free_head = (uint16_t)e.id;
		q->q_num_free = (uint16_t)(q->q_num_free + q->q_ndesc[e.id]);
		q->q_ndesc[e.id] = 0;
		out[got].u_id = (uint16_t)e.id;
		out[got].u_len = e.len;
		out[got].u_cookie = q->q_cookie[e.id];
		q->q_cookie[e.id] = NULL;
		q->q_last_used++;
		got++;
	}
	if (vuf_has_feature(f, VIRTIO_RING_F_EVENT_IDX)) {
		/* Interrupt me once the device uses past what I reaped. */
		__atomic_store_n(vuf_used_event(q), q->q_last_used,
		    __ATOMIC_RELAXED);
		/* used_event is visible before vuf_vq_pending re-reads idx. */
		atomic_thread_fence(memory_order_seq_cst);
	}
	return (int)got;
}

static long
vuf_vq_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int
vuf_vq_wait(struct vuf *f, unsigned int idx, int timeout_ms)
{
	struct pollfd	 pfd[2];
	struct vuf_vq	*q;
	long		 deadline = vuf_vq_now_ms() + timeout_ms, left;
	uint64_t	 v;
	int		 rc;

	if ((q = vuf_vq_get(f, idx)) == NULL)
		return -EINVAL;
	if (q->q_call_fd < 0)
		return vuf_fail(f, -EINVAL, "ring %u has no call fd", idx);
	for (;;) {
		if (vuf_vq_pending(f, idx) > 0)
			return 0;
		pfd[0].fd = q->q_call_fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = f->f_sock;
		pfd[1].events = POLLRDHUP;
		left = deadline - vuf_vq_now_ms();
		rc = poll(pfd, f->f_sock >= 0 ? 2 : 1,
		    left > 0 ? (int)left : 0);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return vuf_fail(f, -errno, "poll: %s", strerror(errno));
		if (rc == 0)
			return vuf_fail(f, -ETIMEDOUT, "ring %u: no used "
			    "element within %d ms (avail idx %u, used idx %u, "
			    "%llu kicks, %llu calls)", idx, timeout_ms,
			    q->q_avail_idx, q->q_used->idx,
			    (unsigned long long)q->q_kicks,
			    (unsigned long long)q->q_calls);
		if (pfd[0].revents & POLLIN) {
			if (read(q->q_call_fd, &v, sizeof(v)) == sizeof(v))
				q->q_calls += v;
			continue;
		}
		if (vuf_vq_pending(f, idx) > 0)
			return 0;
		if (pfd[1].revents & (POLLRDHUP | POLLHUP | POLLERR))
			return vuf_fail(f, -ECONNRESET, "ring %u: the back end "
			    "closed the connection", idx);
	}
}

int
vuf_vq_exec(struct vuf *f, unsigned int idx, const struct vuf_seg *segs,
    unsigned int n, bool indirect, uint32_t *len)
{
	struct vuf_used	u;
	int		head, rc;

	if ((head = vuf_vq_add(f, idx, segs, n, indirect, NULL)) < 0)
		return head;
	if ((rc = vuf_vq_kick(f, idx, false)) < 0 ||
	    (rc = vuf_vq_wait(f, idx, f->f_timeout_ms)) < 0)
		return rc;
	if ((rc = vuf_vq_reap(f, idx, &u, 1)) < 0)
		return rc;
	if (rc != 1 || u.u_id != head)
		return vuf_fail(f, -EPROTO, "ring %u: expected head %d back, "
		    "got %s%u", idx, head, rc == 1 ? "" : "nothing ",
		    rc == 1 ? u.u_id : 0);
	if (len != NULL)
		*len = u.u_len;
	return 0;
}

uint64_t
vuf_vq_calls(struct vuf *f, unsigned int idx)
{
	struct pollfd	 pfd;
	struct vuf_vq	*q;
	uint64_t	 v;

	if ((q = vuf_vq_get(f, idx)) == NULL || q->q_call_fd < 0)
		return 0;
	pfd.fd = q->q_call_fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) &&
	    read(q->q_call_fd, &v, sizeof(v)) == sizeof(v))
		q->q_calls += v;
	return q->q_calls;
}
