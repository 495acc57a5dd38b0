/* backend_test: the ring life cycle, calls that would block, ring set-up. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/time.h>

#include "backend_harness.h"

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
