/*
 * vuf_flood.c - a hostile guest for budget tests: a thread that keeps a
 * ring's avail ring topped up, making every chain the device returns
 * available again at once and kicking, so the device never sees an empty
 * ring.  The thread touches only ring memory and the kick eventfd, never
 * the socket: the caller goes on sending messages and measuring replies.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vuf.h"

/* A used length no device writes: the slot has not been used yet. */
#define VUF_FLOOD_MARK	0xffffffffu

static void *
vuf_flood_main(void *arg)
{
	struct vuf_flood	*fl = arg;
	struct vuf_vq		*q = fl->fl_q;
	volatile struct virtq_used_elem *ue;
	uint16_t		 mask = (uint16_t)(q->q_num - 1), id;
	uint64_t		 one = 1;
	unsigned int		 got;
	ssize_t			 n;

	while (!__atomic_load_n(&fl->fl_stop, __ATOMIC_ACQUIRE)) {
		/*
		 * Do not wait for used->idx (published once per batch): watch
		 * the used slots themselves, as a hostile driver may, and
		 * post each chain again the moment the device wrote it back.
		 * The device never holds more than the ring's size.
		 */
		got = 0;
		for (;;) {
			ue = &q->q_used->ring[fl->fl_last_used & mask];
			if (__atomic_load_n(&ue->len, __ATOMIC_ACQUIRE) ==
			    VUF_FLOOD_MARK)
				break;
			id = (uint16_t)ue->id;
			ue->len = VUF_FLOOD_MARK;
			q->q_avail->ring[fl->fl_avail_idx & mask] = id;
			fl->fl_avail_idx++;
			fl->fl_last_used++;
			got++;
		}
		if (got == 0) {
			sched_yield();
			continue;
		}
		__atomic_add_fetch(&fl->fl_reposted, got, __ATOMIC_RELAXED);
		/* Release: the ring entries before the index. */
		__atomic_store_n(&q->q_avail->idx, fl->fl_avail_idx,
		    __ATOMIC_RELEASE);
		do {
			n = write(q->q_kick_fd, &one, sizeof(one));
		} while (n == -1 && errno == EINTR);
	}
	return NULL;
}

int
vuf_flood_start(struct vuf *f, unsigned int idx, struct vuf_flood *fl)
{
	struct vuf_vq	*q;
	unsigned int	 i;
	int		 rc;

	memset(fl, 0, sizeof(*fl));
	if (idx >= VUF_MAX_QUEUES || (q = &f->f_vq[idx])->q_num == 0 ||
	    !q->q_started)
		return vuf_fail(f, -EINVAL, "ring %u is not started", idx);
	fl->fl_f = f;
	fl->fl_q = q;
	fl->fl_avail_idx = q->q_avail_idx;
	fl->fl_last_used = q->q_last_used;
	for (i = 0; i < q->q_num; i++)
		q->q_used->ring[i].len = VUF_FLOOD_MARK;
	if ((rc = vuf_vq_kick(f, idx, true)) < 0)
		return rc;
	if ((rc = pthread_create(&fl->fl_thread, NULL, vuf_flood_main,
	    fl)) != 0)
		return vuf_fail(f, -rc, "pthread_create: %s", strerror(rc));
	fl->fl_running = true;
	return 0;
}

uint64_t
vuf_flood_stop(struct vuf_flood *fl)
{
	struct vuf_vq	*q = fl->fl_q;

	if (!fl->fl_running)
		return fl->fl_reposted;
	__atomic_store_n(&fl->fl_stop, true, __ATOMIC_RELEASE);
	pthread_join(fl->fl_thread, NULL);
	fl->fl_running = false;
	/* The driver state follows what the thread published. */
	q->q_avail_idx = fl->fl_avail_idx;
	q->q_kicked_idx = fl->fl_avail_idx;
	q->q_last_used = fl->fl_last_used;
	return fl->fl_reposted;
}
