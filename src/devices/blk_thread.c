/*
 * blk_thread.c - virtio-blk queue threads (threads=N): each serves the
 * queues q with q % N == its index, on a poll loop of its own, while the
 * child's main thread keeps the vhost-user control plane (the front end's
 * socket, SIGTERM, the watchdog of its own calls).
 *
 * Created before the seccomp filter (blk_init, the device's pre-filter
 * step: the filter is loaded with SECCOMP_FILTER_FLAG_TSYNC, so they get
 * it too), each thread is ready before blk_init returns: its signal mask
 * and its watchdog timer are in place, so blk.policy needs neither clone
 * nor timer_create.  The queues' io_uring rings were made, restricted and
 * enabled before the threads (blk_io.c): nothing here creates one.
 *
 * Ownership: a thread owns its queues' data path (the kick fds, the
 * completion eventfds, the rings' descriptors and used entries, the call
 * fds).  Everything else belongs to the control thread, which changes a
 * queue's setting only while every thread is parked: the engine pauses
 * the device around each request handler and for good in vu_dev_free
 * (vu_dev_ops.pause/resume), so GET_VRING_BASE, SET_MEM_TABLE,
 * SET_VRING_ADDR, SET_VRING_KICK/CALL, the inflight fds, features and
 * config space never race with a thread that pops or pushes.  Parking is
 * a synchronous handshake: bt_park is set, bt_park_seq counts the
 * request, and the thread is woken through its command eventfd; it
 * answers with that number (bt_ack_seq, then its ack eventfd) from its
 * loop, with no guest pointer in use, and waits until bt_park is cleared.  A thread
 * busy polling a ring looks at bt_park on every turn and reschedules the
 * ring on its own loop, so parking takes at most one budget of requests.
 * The memory orders: the control thread's changes are released by the
 * store that clears bt_park and acquired by the thread's load of it; the
 * thread's work is released by its store of bt_ack_seq and acquired by
 * the control thread's load.  The eventfds only wake: the counters say.
 *
 * What a thread must hand to the control thread (a malformed chain: the
 * device is broken and every ring stops; a front end that stalled a call
 * or kick fd) goes through an eventfd the control thread watches
 * (bs_event_fd, blk_io.c).
 *
 * The watchdog: a call fd write can block at an eventfd counter the
 * front end filled (vring.c).  The child's SIGALRM timer interrupts only
 * the main thread, so each thread has its own timer (SIGEV_THREAD_ID,
 * SIGALRM, created before the filter) and unblocks SIGALRM once the
 * process has a handler for it (the child's watchdog): the blocked write
 * fails with EINTR, the engine calls that a stall, and the session ends
 * with CHILD_EXIT_TIMEOUT as on the main thread.  The timer runs only
 * while the thread works: it is armed (periodic, BT_WATCHDOG_MS) when
 * the thread wakes up to run a callback or a deferred run, before any
 * call on a front-end descriptor, and disarmed when the thread has been
 * quiet for BT_IDLE_MS (nothing to run, nothing came) or is parked: a
 * thread that only sleeps cannot block on a front-end descriptor, so an
 * idle device wakes no thread at all (docs/benchmarks.md, "Idle cost").
 * An operation in flight does not need it either: its completion wakes
 * the thread, which arms the timer before it signals the front end.  A
 * SIGBUS in guest memory is handled by the child's handler on whichever
 * thread faulted.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include "../util/log.h"
#include "../util/util.h"
#include "blk.h"

/*
 * Helgrind (valgrind --tool=helgrind, built with -DVHOSTD_HELGRIND) sees
 * pthread primitives only: the handshake's atomics are annotated for it
 * as the happens-before edges they are.
 */
#ifdef VHOSTD_HELGRIND
#include <valgrind/helgrind.h>
#define BT_HB(a)	ANNOTATE_HAPPENS_BEFORE(a)
#define BT_HA(a)	ANNOTATE_HAPPENS_AFTER(a)
#define BT_ATOMIC(a)	VALGRIND_HG_DISABLE_CHECKING((a), sizeof(*(a)))
#else
#define BT_HB(a)	do { } while (0)
#define BT_HA(a)	do { } while (0)
#define BT_ATOMIC(a)	do { } while (0)
#endif

#define BT_MAX_WATCH		(2 * VU_MAX_QUEUES + 1)
#define BT_MAX_DEFER		VU_MAX_QUEUES
#define BT_WATCHDOG_MS		500
#define BT_IDLE_MS		1000	/* quiet this long: timer off */

struct bt_watch {
	int	  w_fd;
	void	(*w_cb)(int, void *);
	void	 *w_arg;
};

struct bt_defer {
	void	(*d_cb)(void *);
	void	 *d_arg;		/* NULL: slot free */
};

struct blk_thread {
	struct blk_state	*bt_bs;
	unsigned int		 bt_idx;
	pthread_t		 bt_thread;
	bool			 bt_running;	/* pthread_create succeeded */
	int			 bt_cmd_fd;	/* control -> thread: wake */
	int			 bt_ack_fd;	/* thread -> control: parked */
	/* __atomic only: */
	bool			 bt_park;	/* control asks it to park */
	unsigned int		 bt_park_seq;	/* park requests made */
	unsigned int		 bt_ack_seq;	/* the last one answered */
	bool			 bt_exit;	/* leave the loop (blk_io_free) */
	void			(*bt_call)(void *); /* blk_thread_call */
	void			*bt_call_arg;
	/* The loop; changed by the control thread only while parked. */
	struct bt_watch		 bt_w[BT_MAX_WATCH];
	unsigned int		 bt_nw;
	struct bt_defer		 bt_d[BT_MAX_DEFER];
	unsigned long		 bt_ndefer;	/* asked for, in all (atomic) */
	struct vu_dev		*bt_dev;	/* the engine it serves */
	bool			 bt_told;	/* stall reported to control */
	/* The thread's own. */
	struct ratelimit_log	 bt_warnlog;
	timer_t			 bt_timer;
	uint64_t		 bt_active_ms;	/* last wake-up with work */
	bool			 bt_timer_ok;
	bool			 bt_timer_on;	/* armed (bt_watchdog) */
	bool			 bt_alarm;	/* SIGALRM unblocked */
	int			 bt_init_rc;	/* pre-filter set-up */
};

/* The queue thread running this code, NULL on the control thread. */
static __thread struct blk_thread	*bt_self;

struct ratelimit_log *
blk_warnlog(struct blk_state *bs)
{
	return bt_self != NULL ? &bt_self->bt_warnlog : &bs->bs_warnlog;
}

bool
blk_thread_current(const struct blk_thread *bt)
{
	return bt_self == bt;
}

bool
blk_thread_parking(const struct blk_thread *bt)
{
	return __atomic_load_n(&bt->bt_park, __ATOMIC_RELAXED);
}

static void
bt_wake(int fd)
{
	eventfd_t	one = 1;

	while (eventfd_write(fd, one) == -1 && errno == EINTR)
		;
}

/* Wait until fd is readable and consume it (EINTR: the watchdog). */
static void
bt_wait(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	eventfd_t	v;

	for (;;) {
		if (eventfd_read(fd, &v) == 0)
			return;
		if (errno != EAGAIN && errno != EINTR) {
			log_warn("blk: queue thread handshake");
			return;
		}
		(void)poll(&pfd, 1, -1);
	}
}

/* watch_add/watch_del/defer/defer_cancel of the thread's loop. */
static int
bt_watch_add(void *ctx, int fd, void (*cb)(int, void *), void *arg)
{
	struct blk_thread	*bt = ctx;
	unsigned int		 i;

	for (i = 0; i < bt->bt_nw; i++)
		if (bt->bt_w[i].w_fd == fd)
			return -EEXIST;
	if (bt->bt_nw == BT_MAX_WATCH)
		return -ENOSPC;
	bt->bt_w[bt->bt_nw].w_fd = fd;
	bt->bt_w[bt->bt_nw].w_cb = cb;
	bt->bt_w[bt->bt_nw].w_arg = arg;
	bt->bt_nw++;
	return 0;
}

static void
bt_watch_del(void *ctx, int fd)
{
	struct blk_thread	*bt = ctx;
	unsigned int		 i;

	for (i = 0; i < bt->bt_nw; i++)
		if (bt->bt_w[i].w_fd == fd) {
			bt->bt_w[i] = bt->bt_w[--bt->bt_nw];
			return;
		}
}

static int
bt_defer(void *ctx, void (*cb)(void *), void *arg)
{
	struct blk_thread	*bt = ctx;
	unsigned int		 i, slot = BT_MAX_DEFER;

	for (i = 0; i < BT_MAX_DEFER; i++) {
		if (bt->bt_d[i].d_arg == arg)
			return 0;
		if (bt->bt_d[i].d_arg == NULL && slot == BT_MAX_DEFER)
			slot = i;
	}
	if (slot == BT_MAX_DEFER)
		return -ENOSPC;
	bt->bt_d[slot].d_cb = cb;
	bt->bt_d[slot].d_arg = arg;
	__atomic_add_fetch(&bt->bt_ndefer, 1, __ATOMIC_RELAXED);
	return 0;
}

static void
bt_defer_cancel(void *ctx, void *arg)
{
	struct blk_thread	*bt = ctx;
	unsigned int		 i;

	for (i = 0; i < BT_MAX_DEFER; i++)
		if (arg != NULL && bt->bt_d[i].d_arg == arg)
			bt->bt_d[i].d_arg = NULL;
}

const struct vu_watch_ops blk_thread_watch_ops = {
	.watch_add = bt_watch_add,
	.watch_del = bt_watch_del,
	.defer = bt_defer,
	.defer_cancel = bt_defer_cancel,
};

static bool
bt_deferred(const struct blk_thread *bt)
{
	unsigned int	i;

	for (i = 0; i < BT_MAX_DEFER; i++)
		if (bt->bt_d[i].d_arg != NULL)
			return true;
	return false;
}

/* The deferred runs asked for so far (not those they ask for). */
static void
bt_run_deferred(struct blk_thread *bt)
{
	struct bt_defer	d[BT_MAX_DEFER];
	unsigned int	i;

	memcpy(d, bt->bt_d, sizeof(d));
	for (i = 0; i < BT_MAX_DEFER; i++)
		bt->bt_d[i].d_arg = NULL;
	for (i = 0; i < BT_MAX_DEFER; i++)
		if (d[i].d_arg != NULL && !blk_thread_parking(bt))
			d[i].d_cb(d[i].d_arg);
		else if (d[i].d_arg != NULL)
			(void)bt_defer(bt, d[i].d_cb, d[i].d_arg);
}

static uint64_t
bt_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * The thread's watchdog timer on (periodic, BT_WATCHDOG_MS) or off.  A
 * failure leaves it as it was: on stays on (the guard is kept, the idle
 * thread wakes as before), off stays off only until the next try.
 */
static void
bt_watchdog(struct blk_thread *bt, bool on)
{
	struct itimerspec	its;

	if (!bt->bt_timer_ok || bt->bt_timer_on == on)
		return;
	memset(&its, 0, sizeof(its));
	if (on) {
		its.it_interval.tv_sec = BT_WATCHDOG_MS / 1000;
		its.it_interval.tv_nsec = (long)(BT_WATCHDOG_MS % 1000) *
		    1000000;
		its.it_value = its.it_interval;
	}
	if (timer_settime(bt->bt_timer, 0, &its, NULL) == 0)
		bt->bt_timer_on = on;
	else
		(void)ratelimit_warnx(&bt->bt_warnlog, ratelimit_now(),
		    "blk: queue thread %u: timer_settime: %s", bt->bt_idx,
		    strerror(errno));
}

/*
 * poll(2)'s timeout for a thread with nothing deferred: the rest of
 * BT_IDLE_MS while its watchdog runs, then (the timer off) for ever.
 */
static int
bt_idle_timeout(struct blk_thread *bt)
{
	uint64_t	quiet;

	if (!bt->bt_timer_on)
		return -1;
	quiet = bt_now_ms() - bt->bt_active_ms;
	if (quiet >= BT_IDLE_MS) {
		bt_watchdog(bt, false);
		return bt->bt_timer_on ? BT_IDLE_MS : -1;
	}
	return (int)(BT_IDLE_MS - quiet);
}

/*
 * The child's watchdog reaches this thread once the process has a
 * SIGALRM handler (child.c installs it after the filter, before any
 * front end can connect); without one (tests) SIGALRM stays blocked.
 */
static void
bt_alarm_on(struct blk_thread *bt)
{
	struct sigaction	sa;
	sigset_t		set;

	if (bt->bt_alarm || !bt->bt_timer_ok ||
	    sigaction(SIGALRM, NULL, &sa) == -1 ||
	    (!(sa.sa_flags & SA_SIGINFO) && (sa.sa_handler == SIG_DFL ||
	    sa.sa_handler == SIG_IGN)))
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	if (pthread_sigmask(SIG_UNBLOCK, &set, NULL) == 0)
		bt->bt_alarm = true;
}

/*
 * Parked until the control thread clears bt_park (or asks it to exit),
 * answering every park request made meanwhile, and running what
 * blk_thread_call hands over.
 */
static void
bt_park(struct blk_thread *bt)
{
	void		(*fn)(void *);
	unsigned int	 seq, acked = __atomic_load_n(&bt->bt_ack_seq,
			    __ATOMIC_RELAXED);

	/* Parked, it touches no front-end descriptor: no watchdog. */
	bt_watchdog(bt, false);
	for (;;) {
		seq = __atomic_load_n(&bt->bt_park_seq, __ATOMIC_ACQUIRE);
		if (seq != acked) {
			acked = seq;
			BT_HB(&bt->bt_ack_seq);
			__atomic_store_n(&bt->bt_ack_seq, seq,
			    __ATOMIC_RELEASE);
			bt_wake(bt->bt_ack_fd);
		}
		if (!__atomic_load_n(&bt->bt_park, __ATOMIC_ACQUIRE) ||
		    __atomic_load_n(&bt->bt_exit, __ATOMIC_ACQUIRE))
			break;
		bt_wait(bt->bt_cmd_fd);
	}
	BT_HA(&bt->bt_park);
	if ((fn = __atomic_load_n(&bt->bt_call, __ATOMIC_ACQUIRE)) != NULL) {
		bt_watchdog(bt, true);
		fn(bt->bt_call_arg);
		BT_HB(&bt->bt_call);
		__atomic_store_n(&bt->bt_call, NULL, __ATOMIC_RELEASE);
		bt_wake(bt->bt_ack_fd);
	}
	bt->bt_told = false;
	bt_alarm_on(bt);
}

/* A stalled front end ends the session: the control thread must know. */
static void
bt_check(struct blk_thread *bt)
{
	if (!bt->bt_told && bt->bt_dev != NULL &&
	    vu_dev_error(bt->bt_dev) != 0) {
		bt->bt_told = true;
		bt_wake(bt->bt_bs->bs_event_fd);
	}
}

static void *
bt_main(void *arg)
{
	struct blk_thread	*bt = arg;
	struct pollfd		 pfd[BT_MAX_WATCH + 1];
	struct bt_watch		 w[BT_MAX_WATCH];
	unsigned int		 i, n;
	eventfd_t		 v;
	int			 rc, timeout;

	bt_self = bt;
	/* Parked from the start: nothing to serve before a session. */
	bt_park(bt);
	while (!__atomic_load_n(&bt->bt_exit, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&bt->bt_park, __ATOMIC_ACQUIRE)) {
			bt_park(bt);
			continue;
		}
		n = bt->bt_nw;
		memcpy(w, bt->bt_w, n * sizeof(w[0]));
		for (i = 0; i < n; i++) {
			pfd[i].fd = w[i].w_fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		pfd[n].fd = bt->bt_cmd_fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		timeout = bt_deferred(bt) ? 0 : bt_idle_timeout(bt);
		if ((rc = poll(pfd, n + 1, timeout)) == -1) {
			if (errno != EINTR)
				log_warn("blk: queue thread %u: poll",
				    bt->bt_idx);
			continue;
		}
		if (rc == 0 && timeout != 0)
			continue;	/* quiet: bt_idle_timeout decides */
		/* Work: the watchdog runs before any front-end call. */
		bt_watchdog(bt, true);
		bt->bt_active_ms = bt_now_ms();
		if (pfd[n].revents & POLLIN)
			(void)eventfd_read(bt->bt_cmd_fd, &v);
		for (i = 0; i < n; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			if (blk_thread_parking(bt))
				break;
			w[i].w_cb(w[i].w_fd, w[i].w_arg);
			bt_check(bt);
		}
		if (!blk_thread_parking(bt)) {
			bt_run_deferred(bt);
			bt_check(bt);
		}
	}
	bt_self = NULL;
	return NULL;
}

/*
 * This thread's watchdog timer (pre-filter: timer_create is not in
 * blk.policy; timer_settime, which bt_watchdog arms and disarms it with,
 * is).  SIGALRM stays blocked until bt_alarm_on.
 */
static void
bt_timer_start(struct blk_thread *bt)
{
	struct sigevent		sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGALRM;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &bt->bt_timer) == -1) {
		log_warn("blk: queue thread %u: timer_create (no watchdog "
		    "on this thread)", bt->bt_idx);
		return;
	}
	/* Armed when the thread has work (bt_watchdog). */
	bt->bt_timer_ok = true;
}

static void *
bt_start(void *arg)
{
	struct blk_thread	*bt = arg;
	void			*p;

	bt_timer_start(bt);
	/*
	 * This thread's malloc arena, made now rather than at the first
	 * log line after the filter (blk.policy allows the mprotect that
	 * grows it, not the first mapping's set-up on every kernel path).
	 */
	if ((p = malloc(64)) != NULL)
		free(p);
	return bt_main(bt);
}

static void
bt_free(struct blk_thread *bt)
{
	if (bt == NULL)
		return;
	if (bt->bt_running) {
		__atomic_store_n(&bt->bt_exit, true, __ATOMIC_RELEASE);
		bt_wake(bt->bt_cmd_fd);
		pthread_join(bt->bt_thread, NULL);
	}
	if (bt->bt_timer_ok)
		(void)timer_delete(bt->bt_timer);
	close_reset(&bt->bt_cmd_fd);
	close_reset(&bt->bt_ack_fd);
	free(bt);
}

/*
 * Every signal blocked in the threads but the synchronous ones (a fault
 * in guest memory is the child's SIGBUS handler's, on the thread that
 * faulted; SIGSYS is the filter's): SIGTERM and the rest go to the main
 * thread, SIGALRM comes from the thread's own timer (bt_alarm_on).
 */
static void
bt_sigmask(sigset_t *set)
{
	sigfillset(set);
	sigdelset(set, SIGBUS);
	sigdelset(set, SIGSEGV);
	sigdelset(set, SIGILL);
	sigdelset(set, SIGFPE);
	sigdelset(set, SIGSYS);
	sigdelset(set, SIGTRAP);
	sigdelset(set, SIGABRT);
}

int
blk_threads_start(struct blk_state *bs, unsigned int n)
{
	struct blk_thread	*bt;
	sigset_t		 set, old;
	unsigned int		 i;
	int			 rc = 0;

	bt_sigmask(&set);
	if ((rc = pthread_sigmask(SIG_SETMASK, &set, &old)) != 0)
		return -rc;
	for (i = 0; i < n && i < VU_MAX_QUEUES; i++) {
		if ((bt = calloc(1, sizeof(*bt))) == NULL) {
			rc = -ENOMEM;
			break;
		}
		bt->bt_bs = bs;
		bt->bt_idx = i;
		ratelimit_log_init(&bt->bt_warnlog, 0, 0);
		bt->bt_park = true;
		bt->bt_park_seq = 1;
		BT_ATOMIC(&bt->bt_park);
		BT_ATOMIC(&bt->bt_park_seq);
		BT_ATOMIC(&bt->bt_ack_seq);
		BT_ATOMIC(&bt->bt_exit);
		BT_ATOMIC(&bt->bt_call);
		BT_ATOMIC(&bt->bt_ndefer);
		bt->bt_cmd_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		bt->bt_ack_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		bs->bs_threads[i] = bt;
		if (bt->bt_cmd_fd == -1 || bt->bt_ack_fd == -1) {
			rc = -errno;
			break;
		}
		if ((rc = -pthread_create(&bt->bt_thread, NULL, bt_start,
		    bt)) != 0)
			break;
		bt->bt_running = true;
		/* Ready (timer, mask) and parked before the filter comes. */
		while (__atomic_load_n(&bt->bt_ack_seq, __ATOMIC_ACQUIRE) != 1)
			bt_wait(bt->bt_ack_fd);
		BT_HA(&bt->bt_ack_seq);
		bs->bs_nthreads = i + 1;
	}
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warnx("blk: cannot start queue thread %u: %s", i,
		    strerror(-rc));
		blk_threads_stop(bs);
	}
	return rc;
}

void
blk_threads_stop(struct blk_state *bs)
{
	unsigned int	i;

	for (i = 0; i < VU_MAX_QUEUES; i++) {
		bt_free(bs->bs_threads[i]);
		bs->bs_threads[i] = NULL;
	}
	bs->bs_nthreads = 0;
}

struct blk_thread *
blk_thread_of(struct blk_state *bs, unsigned int qidx)
{
	if (bs->bs_nthreads == 0)
		return NULL;
	return bs->bs_threads[qidx % bs->bs_nthreads];
}

void
blk_threads_park(struct blk_state *bs)
{
	struct blk_thread	*bt;
	unsigned int		 i;

	for (i = 0; i < bs->bs_nthreads; i++) {
		bt = bs->bs_threads[i];
		if (__atomic_load_n(&bt->bt_park, __ATOMIC_RELAXED))
			continue;
		__atomic_store_n(&bt->bt_park, true, __ATOMIC_RELAXED);
		__atomic_add_fetch(&bt->bt_park_seq, 1, __ATOMIC_RELEASE);
		bt_wake(bt->bt_cmd_fd);
	}
	for (i = 0; i < bs->bs_nthreads; i++) {
		bt = bs->bs_threads[i];
		while (__atomic_load_n(&bt->bt_ack_seq, __ATOMIC_ACQUIRE) !=
		    __atomic_load_n(&bt->bt_park_seq, __ATOMIC_RELAXED))
			bt_wait(bt->bt_ack_fd);
		BT_HA(&bt->bt_ack_seq);
	}
}

void
blk_threads_unpark(struct blk_state *bs, struct vu_dev *dev)
{
	struct blk_thread	*bt;
	unsigned int		 i;

	for (i = 0; i < bs->bs_nthreads; i++) {
		bt = bs->bs_threads[i];
		bt->bt_dev = dev;
		/* The ack of this park is consumed: the next one is fresh. */
		BT_HB(&bt->bt_park);
		__atomic_store_n(&bt->bt_park, false, __ATOMIC_RELEASE);
		bt_wake(bt->bt_cmd_fd);
	}
}

void
blk_thread_call(struct blk_state *bs, unsigned int idx, void (*fn)(void *),
    void *arg)
{
	struct blk_thread	*bt;

	if (idx >= bs->bs_nthreads)
		return;
	bt = bs->bs_threads[idx];
	blk_threads_park(bs);
	bt->bt_call_arg = arg;
	__atomic_store_n(&bt->bt_call, fn, __ATOMIC_RELEASE);
	BT_HB(&bt->bt_park);
	__atomic_store_n(&bt->bt_park, false, __ATOMIC_RELEASE);
	bt_wake(bt->bt_cmd_fd);
	while (__atomic_load_n(&bt->bt_call, __ATOMIC_ACQUIRE) != NULL)
		bt_wait(bt->bt_ack_fd);
	BT_HA(&bt->bt_call);
	blk_threads_park(bs);
}

unsigned int
blk_threads_deferred(struct blk_state *bs)
{
	unsigned long	n = 0;
	unsigned int	i;

	for (i = 0; i < bs->bs_nthreads; i++)
		n += __atomic_load_n(&bs->bs_threads[i]->bt_ndefer,
		    __ATOMIC_RELAXED);
	return (unsigned int)n;
}

/*
 * Each thread polls after its queue ran dry, so more threads than CPUs
 * would only take turns, and threads on every CPU would take them from
 * the guest's vCPUs, which must run to post requests: at most half the
 * CPUs (of the parent's affinity, which the children inherit), at least
 * one.
 */
uint64_t
blk_threads_auto(uint64_t queues)
{
	cpu_set_t	set;
	int		ncpu = 1;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		ncpu = CPU_COUNT(&set);
	ncpu /= 2;
	if (ncpu < 1)
		ncpu = 1;
	return MIN(queues, MIN((uint64_t)ncpu, BLK_THREADS_AUTO_MAX));
}
