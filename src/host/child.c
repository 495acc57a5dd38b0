/*
 * child.c - a device child: jail, then serve one front-end connection on
 * the inherited listener with the vhost-user engine in a libevent loop.
 * It starts from a struct child_args (child.h), normally in a freshly
 * exec'd image (child_exec.c), and builds the device's state from the
 * resources the parent opened (dt_init) between the jail and the filter.
 *
 * The listener belongs to one session.  A connection that closes before
 * sending anything (a readiness probe) does not end the child: it goes
 * back to accepting.  The first byte of a message closes the listener,
 * before the engine parses anything the front end sent, so a child taken
 * over through its front end holds no descriptor of the listener and
 * cannot accept the next VM's connection.  Any disconnect after that ends
 * the child, so no state leaks from one VM connection to the next.
 * A connected socket passed as --fd (listener_is_connected) is served
 * directly: the child has no listener at all, and the parent does not
 * restart it.
 *
 * Nothing the front end does blocks the loop for long: the accepted
 * socket is non-blocking (msg.c bounds a message's rest and a reply), a
 * SIGALRM watchdog interrupts a write on a call fd that would block (the
 * engine calls that a stall), and a stalled front end ends the session
 * with CHILD_EXIT_TIMEOUT.  The front end's socket and the signalfd run
 * at a higher libevent priority than ring work, and a device that spent
 * its budget for one wake-up is run again from a zero timer (defer), so
 * a guest that keeps its ring full cannot starve GET_VRING_BASE or
 * SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "../listener/listener.h"
#include "../util/log.h"
#include "child.h"
#include "supervisor.h"

#define CHILD_MAX_WATCHES	(VU_MAX_QUEUES * 2 + 8)
#define CHILD_MAX_DEFERS	(VU_MAX_QUEUES + 4)

/* libevent priorities: the front end's socket and SIGTERM first. */
#define CHILD_PRIO_CONTROL	0
#define CHILD_PRIO_WORK		1
#define CHILD_NPRIOS		2

/* Watchdog period: the longest a call on a front-end fd may block. */
#define CHILD_WATCHDOG_MS	500
/* No callback for about this long: the watchdog stops (child_wake). */
#define CHILD_IDLE_MS		1000

struct child;

struct child_watch {
	int		 cw_fd;
	struct event	*cw_ev;
	void		(*cw_cb)(int, void *);
	void		*cw_arg;
	struct child	*cw_ch;
};

struct child_defer {
	struct event	*cd_ev;		/* zero timer, made on first use */
	void		(*cd_cb)(void *);
	void		*cd_arg;	/* NULL: slot free */
	struct child	*cd_ch;
};

struct child {
	struct event_base	*ch_base;
	const struct device_type *ch_type;
	void			*ch_state;
	const char		*ch_name;
	int			 ch_listen_fd;
	int			 ch_conn;
	struct event		*ch_accept_ev;
	struct event		*ch_conn_ev;
	struct vu_dev		*ch_dev;
	struct ctr_region	*ch_ctr;	/* counters, or NULL */
	bool			 ch_dev_live;
	unsigned long		 ch_nmsgs;
	int			 ch_exit;
	struct child_watch	 ch_watch[CHILD_MAX_WATCHES];
	struct child_defer	 ch_defer[CHILD_MAX_DEFERS];
	struct event		*ch_idle_ev;	/* CHILD_IDLE_MS, while on */
	bool			 ch_wd_on;	/* the watchdog timer runs */
	bool			 ch_busy;	/* a callback ran since idle_cb */
};

/* The child's state, for the SIGBUS handler (set once in child_main). */
static struct child	*child_self;

/*
 * SIGBUS: a front end that truncates the file behind guest memory (or
 * the inflight region) after handing it over makes our next access fault.
 * That is the front end's fault, not a device crash: log it and end the
 * session with CHILD_EXIT_MEMORY.  Only faults at an address inside a
 * front-end mapping qualify; any other SIGBUS stays a crash (the handler
 * is one-shot, so returning re-runs a faulting access under the default
 * action).
 * Async-signal-safe: vu_dev_maps only reads the tables, then write and
 * _exit, all allowed by common.policy.
 */
static void
child_sigbus(int sig, siginfo_t *si, void *uctx)
{
	static const char	 msg[] = "<4>guest memory was truncated under "
	    "the device by the front end (SIGBUS in its memory); ending the "
	    "session\n";
	static const char	 sent[] = "<3>SIGBUS sent by another process; "
	    "exiting as after a crash\n";
	struct child		*ch = child_self;

	if (si->si_code > 0 && ch != NULL && ch->ch_dev_live &&
	    vu_dev_maps(ch->ch_dev, si->si_addr)) {
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		_exit(CHILD_EXIT_MEMORY);
	}
	/*
	 * Sent by another process, not a fault: nothing to re-run, and the
	 * child is its pid namespace's init, which drops signals it sends
	 * itself under the default action.  A crash all the same.
	 */
	if (si->si_code <= 0) {
		(void)!write(STDERR_FILENO, sent, sizeof(sent) - 1);
		_exit(CHILD_EXIT_FAILURE);
	}
}

static void	session_end(struct child *, int);

/*
 * The watchdog timer on (SIGALRM every CHILD_WATCHDOG_MS) or off.
 * 0/-errno.
 */
static int
watchdog_set(bool on)
{
	struct itimerval	it;

	memset(&it, 0, sizeof(it));
	if (on) {
		it.it_interval.tv_sec = CHILD_WATCHDOG_MS / 1000;
		it.it_interval.tv_usec =
		    (suseconds_t)(CHILD_WATCHDOG_MS % 1000) * 1000;
		it.it_value = it.it_interval;
	}
	return setitimer(ITIMER_REAL, &it, NULL) == -1 ? -errno : 0;
}

/*
 * First thing in every callback of the loop: the watchdog runs before
 * any call on a front-end descriptor.  It is stopped again once the
 * loop has run no callback for CHILD_IDLE_MS (idle_cb): sleeping in
 * epoll_wait, the thread makes no call the watchdog guards, so an idle
 * child takes no periodic wake-up.  Fails closed: no watchdog, no
 * session.
 */
static void
child_wake(struct child *ch)
{
	static const struct timeval	idle = {
		CHILD_IDLE_MS / 1000, (CHILD_IDLE_MS % 1000) * 1000L
	};
	int				rc;

	ch->ch_busy = true;
	if (ch->ch_wd_on)
		return;
	if ((rc = watchdog_set(true)) < 0) {
		log_warnx("cannot start the watchdog timer: %s",
		    strerror(-rc));
		_exit(CHILD_EXIT_FAILURE);
	}
	ch->ch_wd_on = true;
	if (ch->ch_idle_ev != NULL)
		(void)evtimer_add(ch->ch_idle_ev, &idle);
}

/* Every CHILD_IDLE_MS while the watchdog runs: stop it when idle. */
static void
idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child	*ch = arg;

	if (ch->ch_busy) {
		ch->ch_busy = false;
		return;
	}
	if (watchdog_set(false) == 0) {
		ch->ch_wd_on = false;
		evtimer_del(ch->ch_idle_ev);
	}
}

/* After any engine or device callback: a stalled front end ends it all. */
static void
child_check(struct child *ch)
{
	if (ch->ch_dev_live && vu_dev_error(ch->ch_dev) != 0) {
		log_warnx("the front end stalled; ending the session");
		session_end(ch, CHILD_EXIT_TIMEOUT);
	}
}

static void
watch_trampoline(evutil_socket_t fd, short what, void *arg)
{
	struct child_watch	*w = arg;

	child_wake(w->cw_ch);
	w->cw_cb((int)fd, w->cw_arg);
	child_check(w->cw_ch);
}

static int
watch_add(void *ctx, int fd, void (*cb)(int, void *), void *arg)
{
	struct child	*ch = ctx;
	unsigned int	 i, slot = CHILD_MAX_WATCHES;

	for (i = 0; i < CHILD_MAX_WATCHES; i++) {
		if (ch->ch_watch[i].cw_ev != NULL &&
		    ch->ch_watch[i].cw_fd == fd)
			return -EEXIST;
		if (ch->ch_watch[i].cw_ev == NULL && slot == CHILD_MAX_WATCHES)
			slot = i;
	}
	if (slot == CHILD_MAX_WATCHES)
		return -ENOSPC;
	ch->ch_watch[slot].cw_fd = fd;
	ch->ch_watch[slot].cw_cb = cb;
	ch->ch_watch[slot].cw_arg = arg;
	ch->ch_watch[slot].cw_ch = ch;
	ch->ch_watch[slot].cw_ev = event_new(ch->ch_base, fd,
	    EV_READ | EV_PERSIST, watch_trampoline, &ch->ch_watch[slot]);
	if (ch->ch_watch[slot].cw_ev == NULL)
		return -ENOMEM;
	if (event_priority_set(ch->ch_watch[slot].cw_ev, CHILD_PRIO_WORK) ==
	    -1 || event_add(ch->ch_watch[slot].cw_ev, NULL) == -1) {
		event_free(ch->ch_watch[slot].cw_ev);
		ch->ch_watch[slot].cw_ev = NULL;
		return -EINVAL;
	}
	return 0;
}

static void
watch_del(void *ctx, int fd)
{
	struct child	*ch = ctx;
	unsigned int	 i;

	for (i = 0; i < CHILD_MAX_WATCHES; i++)
		if (ch->ch_watch[i].cw_ev != NULL &&
		    ch->ch_watch[i].cw_fd == fd) {
			event_free(ch->ch_watch[i].cw_ev);
			ch->ch_watch[i].cw_ev = NULL;
			ch->ch_watch[i].cw_fd = -1;
			return;
		}
}

static void
defer_trampoline(evutil_socket_t fd, short what, void *arg)
{
	struct child_defer	*d = arg;
	void			*cb_arg = d->cd_arg;

	child_wake(d->cd_ch);
	/* Free before the call: the callback may defer again. */
	d->cd_arg = NULL;
	if (cb_arg != NULL)
		d->cd_cb(cb_arg);
	child_check(d->cd_ch);
}

/*
 * A zero timer, not event_active: libevent runs an event activated from a
 * callback of the same priority in the same pass, so a device that
 * reschedules itself would never let the loop poll the front end's socket
 * again.  A timer fires only after the next epoll_wait.
 */
static int
defer_add(void *ctx, void (*cb)(void *), void *arg)
{
	static const struct timeval	 zero = { 0, 0 };
	struct child			*ch = ctx;
	struct child_defer		*d = NULL;
	unsigned int			 i;

	for (i = 0; i < CHILD_MAX_DEFERS; i++) {
		if (ch->ch_defer[i].cd_arg == arg)
			return 0;
		if (ch->ch_defer[i].cd_arg == NULL && d == NULL)
			d = &ch->ch_defer[i];
	}
	if (d == NULL)
		return -ENOSPC;
	if (d->cd_ev == NULL) {
		d->cd_ev = evtimer_new(ch->ch_base, defer_trampoline, d);
		if (d->cd_ev == NULL ||
		    event_priority_set(d->cd_ev, CHILD_PRIO_WORK) == -1)
			return -ENOMEM;
	}
	d->cd_cb = cb;
	d->cd_ch = ch;
	if (evtimer_add(d->cd_ev, &zero) == -1)
		return -EINVAL;
	d->cd_arg = arg;
	return 0;
}

static void
defer_cancel(void *ctx, void *arg)
{
	struct child	*ch = ctx;
	unsigned int	 i;

	for (i = 0; i < CHILD_MAX_DEFERS; i++)
		if (arg != NULL && ch->ch_defer[i].cd_arg == arg) {
			evtimer_del(ch->ch_defer[i].cd_ev);
			ch->ch_defer[i].cd_arg = NULL;
		}
}

static const struct vu_watch_ops child_watch_ops = {
	.watch_add = watch_add,
	.watch_del = watch_del,
	.defer = defer_add,
	.defer_cancel = defer_cancel,
};

/* The watchdog only interrupts: a blocked call fails with EINTR. */
static void
watchdog_handler(int sig)
{
}

/*
 * SIGALRM every CHILD_WATCHDOG_MS while the loop runs callbacks
 * (child_wake), without SA_RESTART: no call on a front-end descriptor
 * sleeps longer (see struct vu_watch_ops).  Calls that may legitimately
 * sleep (epoll_wait, poll with a deadline, io_uring waits, getrandom)
 * retry on EINTR.  The handler now, the timer from the first callback.
 */
static int
watchdog_start(struct child *ch)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watchdog_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		return -errno;
	ch->ch_idle_ev = event_new(ch->ch_base, -1, EV_PERSIST, idle_cb, ch);
	if (ch->ch_idle_ev == NULL)
		return -ENOMEM;
	return 0;
}

/* No descriptor of the listener from now on (see the top of the file). */
static void
listener_close(struct child *ch)
{
	if (ch->ch_accept_ev != NULL) {
		event_free(ch->ch_accept_ev);
		ch->ch_accept_ev = NULL;
	}
	close_reset(&ch->ch_listen_fd);
}

static void
conn_close(struct child *ch)
{
	if (ch->ch_conn_ev != NULL) {
		event_free(ch->ch_conn_ev);
		ch->ch_conn_ev = NULL;
	}
	if (ch->ch_dev_live) {
		ch->ch_dev_live = false;
		vu_dev_free(ch->ch_dev);
		ch->ch_dev = NULL;
	}
	close_reset(&ch->ch_conn);
}

static void
session_end(struct child *ch, int code)
{
	ch->ch_exit = code;
	conn_close(ch);
	event_base_loopbreak(ch->ch_base);
}

/*
 * Before the first message: a connection that hangs up having sent
 * nothing is a probe (the child accepts again); the first byte of a
 * message closes the listener before the engine reads it.  MSG_PEEK
 * leaves the bytes and any descriptors queued.  Returns whether the
 * engine may read now.
 */
static bool
conn_first_byte(struct child *ch)
{
	char	c;
	ssize_t	n;

	n = recv(ch->ch_conn, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0) {
		listener_close(ch);
		dprintf(STDERR_FILENO, "@state connected\n");
		log_debug("front end connected; listener closed");
		return true;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	/* EOF or an error before any byte: a probe.  Serve the next one. */
	log_debug("connection closed before any message; accepting again");
	dprintf(STDERR_FILENO, "@state listening\n");
	conn_close(ch);
	event_add(ch->ch_accept_ev, NULL);
	return false;
}

static void
conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child	*ch = arg;
	int		 rc;

	child_wake(ch);
	if (ch->ch_listen_fd >= 0 && !conn_first_byte(ch))
		return;
	rc = vu_dev_dispatch(ch->ch_dev);
	if (rc == 0) {
		ch->ch_nmsgs++;
		return;
	}
	if (rc == -ECONNRESET) {
		log_info("front end disconnected after %lu messages",
		    ch->ch_nmsgs);
		session_end(ch, CHILD_EXIT_OK);
	} else if (rc == -ETIMEDOUT) {
		log_warnx("dropping the front end: it stalled (a message left "
		    "half sent, a reply not taken, or a ring fd that blocks)");
		session_end(ch, CHILD_EXIT_TIMEOUT);
	} else {
		log_warnx("dropping the front end: %s", strerror(-rc));
		session_end(ch, CHILD_EXIT_PROTOCOL);
	}
}

/*
 * Serve the connection conn (non-blocking: msg.c bounds every read and
 * write on it) with the engine.  false (logged, conn closed) if it cannot.
 */
static bool
conn_start(struct child *ch, int conn)
{
	uint16_t	 nq;
	int		 rc;

	ch->ch_conn = conn;
	ch->ch_nmsgs = 0;
	nq = ch->ch_type->dt_num_queues != NULL ?
	    ch->ch_type->dt_num_queues(ch->ch_state) : 1;
	rc = vu_dev_new(&ch->ch_dev, conn, nq, ch->ch_type->dt_ops,
	    ch->ch_state, &child_watch_ops, ch);
	if (rc < 0) {
		log_warnx("cannot start the vhost-user engine: %s",
		    strerror(-rc));
		close_reset(&ch->ch_conn);
		return false;
	}
	ch->ch_dev_live = true;
	vu_dev_set_counters(ch->ch_dev, ch->ch_ctr);
	ch->ch_conn_ev = event_new(ch->ch_base, conn, EV_READ | EV_PERSIST,
	    conn_cb, ch);
	if (ch->ch_conn_ev == NULL ||
	    event_priority_set(ch->ch_conn_ev, CHILD_PRIO_CONTROL) == -1 ||
	    event_add(ch->ch_conn_ev, NULL) == -1) {
		log_warnx("cannot watch the connection");
		conn_close(ch);
		return false;
	}
	return true;
}

static void
accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child	*ch = arg;
	int		 conn;

	child_wake(ch);
	conn = accept4((int)fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (conn == -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	if (!conn_start(ch, conn))
		return;
	/*
	 * One front end at a time; the listener is closed at its first byte
	 * (conn_first_byte), or watched again if it turns out to be a probe.
	 */
	event_del(ch->ch_accept_ev);
	log_debug("front end accepted");
}

static void
term_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child			*ch = arg;
	struct signalfd_siginfo		 si;

	child_wake(ch);
	if (read((int)fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	log_debug("received SIG%s; exiting", sigabbrev_np((int)si.ssi_signo));
	ch->ch_exit = CHILD_EXIT_OK;
	event_base_loopbreak(ch->ch_base);
}

void
child_args_init(struct child_args *ca, const char *name,
    const struct device_type *dt, const struct jail_config *jc,
    const struct device_res *res, int listen_fd, int log_fd,
    const struct policy_filter *filter)
{
	memset(ca, 0, sizeof(*ca));
	ca->ca_name = name;
	ca->ca_type = dt;
	ca->ca_listen_fd = listen_fd;
	ca->ca_log_fd = log_fd;
	device_res_view(res, &ca->ca_res);
	ca->ca_jail = *jc;
	if (dt->dt_rlimit_nproc > ca->ca_jail.jc_nproc)
		ca->ca_jail.jc_nproc = dt->dt_rlimit_nproc;
	if (dt->dt_rlimit_memlock > ca->ca_jail.jc_memlock)
		ca->ca_jail.jc_memlock = dt->dt_rlimit_memlock;
	if (dt->dt_rlimit_nofile > ca->ca_jail.jc_nofile)
		ca->ca_jail.jc_nofile = dt->dt_rlimit_nofile;
	if (res->dr_max_file_size != 0)
		ca->ca_jail.jc_fsize = res->dr_max_file_size;
	ca->ca_filter = filter;
	ca->ca_stats_fd = -1;
}

struct ctr_region *
child_counters_map(int fd)
{
	struct stat	 st;
	void		*p;
	int		 seals;

	if (fd < 0)
		return NULL;
	seals = fcntl(fd, F_GET_SEALS);
	if (fstat(fd, &st) == -1 ||
	    (uint64_t)st.st_size != sizeof(struct ctr_region) || seals < 0 ||
	    (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) !=
	    (F_SEAL_SHRINK | F_SEAL_GROW)) {
		log_warnx("the counters' descriptor is not a counters region; "
		    "counting nothing");
		close(fd);
		return NULL;
	}
	p = mmap(NULL, sizeof(struct ctr_region), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		log_warn("mmap of the counters");
		return NULL;
	}
	return p;
}

void
child_main(const struct child_args *ca)
{
	static struct child	 ch;
	struct ctr_region	*ctr;
	struct fdset		 keep;
	struct event		*sigev;
	struct sigaction	 sa;
	sigset_t		 set;
	unsigned int		 i;
	void			*state = NULL;
	socklen_t		 len;
	bool			 connected;
	int			 rc, sfd, acc = 1;

	/* stderr is the pipe the parent logs from (childlog.c). */
	if (dup2(ca->ca_log_fd, STDERR_FILENO) == -1)
		_exit(CHILD_EXIT_FAILURE);
	log_setchild();
	/* The counters: mapped now, their descriptor closed before the jail. */
	ctr = child_counters_map(ca->ca_stats_fd);
	/* The keep list: the listener and the device's descriptors. */
	fdset_init(&keep);
	if (fdset_add(&keep, ca->ca_listen_fd) != 0)
		_exit(CHILD_EXIT_FAILURE);
	for (i = 0; i < ca->ca_res.cr_nfds; i++)
		if (fdset_add(&keep, ca->ca_res.cr_fds[i]) != 0)
			_exit(CHILD_EXIT_FAILURE);
	/*
	 * A connected socket (--fd; the parent's listener_is_connected) is
	 * the session itself; a listening one is accepted on.
	 */
	len = sizeof(acc);
	connected = getsockopt(ca->ca_listen_fd, SOL_SOCKET, SO_ACCEPTCONN,
	    &acc, &len) == 0 && acc == 0;
	/* Jailed, then the device's state (pre-filter set-up), the filter. */
	if ((rc = jail_enter(&ca->ca_jail, &keep, NULL)) != 0)
		_exit(rc);
	if ((rc = ca->ca_type->dt_init(&ca->ca_res, &state)) < 0) {
		log_warnx("device set-up failed: %s", strerror(-rc));
		_exit(CHILD_EXIT_INIT);
	}
	if (ctr != NULL)
		ctr->rg_nqueues = ca->ca_type->dt_num_queues != NULL ?
		    ca->ca_type->dt_num_queues(state) : 1;
	if ((rc = jail_seccomp(ca->ca_filter)) != 0)
		_exit(rc);
	/* The parent coordinates shutdown; only SIGTERM ends a child. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	memset(&ch, 0, sizeof(ch));
	child_self = &ch;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = child_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) == -1) {
		log_warn("sigaction SIGBUS");
		_exit(CHILD_EXIT_FAILURE);
	}
	ch.ch_type = ca->ca_type;
	ch.ch_state = state;
	ch.ch_ctr = ctr;
	ch.ch_name = ca->ca_name;
	ch.ch_listen_fd = ca->ca_listen_fd;
	ch.ch_conn = -1;
	ch.ch_exit = CHILD_EXIT_FAILURE;
	if (ch.ch_type->dt_start != NULL &&
	    (rc = ch.ch_type->dt_start(ch.ch_state)) < 0) {
		log_warnx("device initialisation failed: %s", strerror(-rc));
		_exit(CHILD_EXIT_INIT);
	}
	if ((ch.ch_base = event_base_new()) == NULL ||
	    event_base_priority_init(ch.ch_base, CHILD_NPRIOS) == -1) {
		log_warnx("cannot create the event loop");
		_exit(CHILD_EXIT_FAILURE);
	}
	if ((rc = watchdog_start(&ch)) < 0) {
		log_warnx("cannot start the watchdog timer: %s", strerror(-rc));
		_exit(CHILD_EXIT_FAILURE);
	}
	/*
	 * SIGTERM through a signalfd, not evsignal: the parent's event base,
	 * copied by fork, still owns libevent's process-wide signal state.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		log_warn("signalfd");
		_exit(CHILD_EXIT_FAILURE);
	}
	sigev = event_new(ch.ch_base, sfd, EV_READ | EV_PERSIST, term_cb, &ch);
	if (sigev == NULL ||
	    event_priority_set(sigev, CHILD_PRIO_CONTROL) == -1 ||
	    event_add(sigev, NULL) == -1) {
		log_warnx("cannot set up the event loop");
		_exit(CHILD_EXIT_FAILURE);
	}
	if (connected) {
		/*
		 * A connected socket (--fd from a VM manager that launched
		 * us) is the session: no listener, no probes; its end is
		 * the child's end.
		 */
		ch.ch_listen_fd = -1;
		if (!conn_start(&ch, ca->ca_listen_fd))
			_exit(CHILD_EXIT_FAILURE);
		dprintf(STDERR_FILENO, "@state connected\n");
		log_debug("serving the connection it was given");
	} else {
		ch.ch_accept_ev = event_new(ch.ch_base, ch.ch_listen_fd,
		    EV_READ | EV_PERSIST, accept_cb, &ch);
		if (ch.ch_accept_ev == NULL ||
		    event_add(ch.ch_accept_ev, NULL) == -1) {
			log_warnx("cannot set up the event loop");
			_exit(CHILD_EXIT_FAILURE);
		}
	}
	event_base_dispatch(ch.ch_base);
	/* The teardown may still signal the front end: watched. */
	child_wake(&ch);
	conn_close(&ch);
	/*
	 * _exit: nothing of the parent's to flush, and sanitizer leak checks
	 * at exit would need syscalls the seccomp filter forbids.
	 */
	_exit(ch.ch_exit);
}
