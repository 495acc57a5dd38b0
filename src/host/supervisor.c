/*
 * supervisor.c - the privileged parent: with the devices devopen.c opened,
 * fork one jailed child per device, reap, log, restart by policy
 * (restart.c: exit classes, back-off, the restart bucket), reload, shut
 * down cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "../listener/listener.h"
#include "../util/log.h"
#include "child.h"
#include "childlog.h"
#include "ctl.h"
#include "host.h"
#include "notify.h"
#include "stats.h"

static double
ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(a->tv_sec - b->tv_sec) +
	    (double)(a->tv_nsec - b->tv_nsec) / 1e9;
}



/*
 * The child's "@state WORD" records.  Untrusted: a child that lies about
 * having served only changes how its own device is restarted.
 */
static void
conn_state_cb(void *arg, const char *state)
{
	struct sup_device	*sd = arg;

	snprintf(sd->sd_conn, sizeof(sd->sd_conn), "%s", state);
	if (sd->sd_served == 0 && strcmp(state, "connected") == 0)
		sd->sd_served = ratelimit_now();
}

static bool	restart_later(struct sup_device *, unsigned int);

/* How often the I/O fence is tried again (ms), and when that is said. */
#define FENCE_POLL_MS		5
#define FENCE_WARN_SECS		1

/*
 * The device's previous child may still have I/O in flight (blk's I/O
 * fence, dt_spawn -EAGAIN): try again shortly, never give up (the kernel
 * finishes or fails every request), and say so if it takes long.
 */
static int
device_spawn_wait(struct sup_device *sd)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!sd->sd_fence_wait) {
		sd->sd_fence_wait = true;
		sd->sd_fence_since = now;
		log_debug("%s: waiting for the previous child's I/O to finish",
		    sd->sd_conf.dc_name);
	} else if (!sd->sd_fence_warned &&
	    ts_diff(&now, &sd->sd_fence_since) >= FENCE_WARN_SECS) {
		log_warnx("%s: the previous child's I/O is still in flight "
		    "after %d s; the next child starts when it is done",
		    sd->sd_conf.dc_name, FENCE_WARN_SECS);
		sd->sd_fence_warned = true;
	}
	sd->sd_run = SUP_BACKOFF;
	return restart_later(sd, FENCE_POLL_MS) ? 0 : -EIO;
}

/* The pause dt_broker asked for is over: watch the channel again. */
static void
broker_resume(evutil_socket_t fd, short what, void *arg)
{
	struct sup_device	*sd = arg;

	if (sd->sd_broker_ev != NULL)
		(void)event_add(sd->sd_broker_ev, NULL);
}

/* The device's broker channel is readable: let the device answer. */
static void
broker_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sup_device		*sd = arg;
	const struct jail_config	*jc = &sd->sd_sup->su_opt.so_jail;
	struct device_peer		 peer;
	struct timeval			 tv;
	int				 rc;

	/* The ids the child has outside its user namespace, if any. */
	peer.dp_host_uid = geteuid();
	if (!jc->jc_enabled) {
		peer.dp_uid = geteuid();
		peer.dp_gid = getegid();
	} else if (jc->jc_userns) {
		peer.dp_uid = jc->jc_outer_uid;
		peer.dp_gid = jc->jc_outer_gid;
	} else {
		/* The device's own ids (device_ids: user=, the uid range). */
		peer.dp_uid = sd->sd_uid;
		peer.dp_gid = sd->sd_gid;
	}
	rc = sd->sd_conf.dc_type->dt_broker(&sd->sd_res, &peer);
	if (rc == 0)
		return;
	event_del(sd->sd_broker_ev);
	if (rc < 0)
		return;
	/* A spent budget: listen again in rc ms (broker_resume). */
	tv.tv_sec = rc / 1000;
	tv.tv_usec = (suseconds_t)(rc % 1000) * 1000;
	if (sd->sd_broker_pause == NULL)
		sd->sd_broker_pause = evtimer_new(sd->sd_sup->su_base,
		    broker_resume, sd);
	if (sd->sd_broker_pause == NULL ||
	    evtimer_add(sd->sd_broker_pause, &tv) == -1) {
		log_warnx("%s: cannot pause the broker channel",
		    sd->sd_conf.dc_name);
		(void)event_add(sd->sd_broker_ev, NULL);
	}
}

int
sup_broker_watch(struct sup_device *sd)
{
	int	fd = sd->sd_res.dr_broker_fd;

	if (fd < 0 || sd->sd_conf.dc_type->dt_broker == NULL)
		return 0;
	if (sd->sd_broker_pause != NULL)
		evtimer_del(sd->sd_broker_pause);
	if (sd->sd_broker_ev != NULL && sd->sd_broker_watched != fd) {
		event_free(sd->sd_broker_ev);
		sd->sd_broker_ev = NULL;
	}
	if (sd->sd_broker_ev == NULL) {
		sd->sd_broker_ev = event_new(sd->sd_sup->su_base, fd,
		    EV_READ | EV_PERSIST, broker_cb, sd);
		if (sd->sd_broker_ev == NULL) {
			log_warnx("%s: cannot watch the broker channel",
			    sd->sd_conf.dc_name);
			return -ENOMEM;
		}
		sd->sd_broker_watched = fd;
	}
	if (event_add(sd->sd_broker_ev, NULL) == -1) {
		log_warnx("%s: cannot watch the broker channel",
		    sd->sd_conf.dc_name);
		return -EINVAL;
	}
	return 0;
}

int
sup_device_spawn(struct sup_device *sd)
{
	struct supervisor	*sup = sd->sd_sup;
	struct child_args	 ca;
	unsigned long		 flags;
	pid_t			 pid;
	int			 logp[2], rc, ctrfd;
	sigset_t		 term, omask;
	struct timespec		 now;

	flags = jail_clone_flags(&sup->su_opt.so_jail);
	if ((rc = sup_device_before_spawn(sd)) == -EAGAIN)
		return device_spawn_wait(sd);
	if (rc < 0)
		return rc;
	if (sd->sd_fence_wait) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		(sd->sd_fence_warned ? log_info : log_debug)("%s: the previous "
		    "child's I/O finished after %.0f ms", sd->sd_conf.dc_name,
		    ts_diff(&now, &sd->sd_fence_since) * 1000);
		sd->sd_fence_wait = sd->sd_fence_warned = false;
	}
	if (pipe2(logp, O_CLOEXEC) == -1) {
		log_warn("%s: pipe", sd->sd_conf.dc_name);
		return -errno;
	}
	/* A fresh counters region for this child (stats.h); -1: none. */
	if (sd->sd_stats == NULL)
		sd->sd_stats = stats_dev_new(sd->sd_conf.dc_type);
	ctrfd = sd->sd_stats != NULL ? stats_child_start(sd->sd_stats) : -1;
	fflush(NULL);
	/*
	 * The child is born with SIGTERM blocked (jail.c keeps it so): a stop
	 * that comes while it sets up waits for its signalfd instead of
	 * running the parent's handler or being dropped by a namespace init.
	 */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &omask);
	pid = (pid_t)syscall(SYS_clone, SIGCHLD | flags, NULL, NULL, NULL,
	    NULL);
	if (pid != 0)
		sigprocmask(SIG_SETMASK, &omask, NULL);
	if (pid == -1) {
		rc = -errno;
		log_warn("%s: clone", sd->sd_conf.dc_name);
		close(logp[0]);
		close(logp[1]);
		close_reset(&ctrfd);
		if (sd->sd_stats != NULL)
			stats_child_end(sd->sd_stats, STATS_NOT_STARTED);
		return rc;
	}
	if (pid == 0) {
		/* A small struct of its own, not the supervisor's record. */
		child_args_init(&ca, sd->sd_conf.dc_name, sd->sd_conf.dc_type,
		    &sup->su_opt.so_jail, &sd->sd_res,
		    listener_fd(sd->sd_listener), logp[1],
		    sd->sd_filter != NULL ? sd->sd_filter->sf_filter : NULL);
		ca.ca_stats_fd = ctrfd;
		ca.ca_jail.jc_uid = sd->sd_uid;
		ca.ca_jail.jc_gid = sd->sd_gid;
		ca.ca_jail.jc_data = sd->sd_conf.dc_mem_max;
		if (sup->su_exe_fd >= 0)
			child_exec(&ca, sup->su_exe_fd);
		child_main(&ca);
	}
	close(logp[1]);
	close_reset(&ctrfd);
	(void)sup_broker_watch(sd);
	childlog_free(sd->sd_log);
	snprintf(sd->sd_conn, sizeof(sd->sd_conn), "listening");
	sd->sd_log = childlog_new(sup->su_base, sd->sd_conf.dc_name, pid,
	    logp[0], conn_state_cb, sd);
	childlog_quiet(sd->sd_log, sd->sd_restart.sr_throttled);
	sd->sd_pid = pid;
	sd->sd_served = 0;
	sd->sd_run = SUP_RUNNING;
	clock_gettime(CLOCK_MONOTONIC, &sd->sd_started);
	/*
	 * In a restart storm the supervisor said so once (device_exited).
	 * The uid the child has on the host: in a user namespace every child
	 * is the parent's uid outside; without the sandbox, the parent's.
	 */
	(sd->sd_restart.sr_throttled ? log_debug : log_info)(
	    "%s: started child %d on %s (uid %u)", sd->sd_conf.dc_name,
	    (int)pid, sd->sd_conf.dc_socket != NULL ? sd->sd_conf.dc_socket :
	    "fd", !sup->su_opt.so_jail.jc_enabled ? (unsigned int)geteuid() :
	    sup->su_opt.so_jail.jc_userns ?
	    (unsigned int)sup->su_opt.so_jail.jc_outer_uid :
	    (unsigned int)sd->sd_uid);
	return 0;
}

static void
restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sup_device	*sd = arg;

	if (sd->sd_sup->su_stopping || sd->sd_run != SUP_BACKOFF)
		return;
	if (sup_device_spawn(sd) < 0)
		sd->sd_run = SUP_FAILED;
	ctl_poke(sd->sd_sup);
}

static bool
any_alive(const struct supervisor *sup)
{
	unsigned int	i;

	for (i = 0; i < sup->su_ndev; i++)
		if (sup->su_dev[i]->sd_run == SUP_RUNNING ||
		    sup->su_dev[i]->sd_run == SUP_BACKOFF)
			return true;
	return false;
}

static void
describe_status(int status, char *buf, size_t len)
{
	const char	*step;

	if (WIFEXITED(status)) {
		step = jail_exit_step(WEXITSTATUS(status));
		if (step != NULL)
			snprintf(buf, len, "exited with status %d (jail step "
			    "'%s' failed)", WEXITSTATUS(status), step);
		else
			snprintf(buf, len, "exited with status %d",
			    WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		snprintf(buf, len, "killed by signal SIG%s%s",
		    sigabbrev_np(WTERMSIG(status)) != NULL ?
		    sigabbrev_np(WTERMSIG(status)) : "?",
		    WTERMSIG(status) == SIGSYS ?
		    " (seccomp: forbidden system call; run with --seccomp=log "
		    "to name it)" : "");
	} else
		snprintf(buf, len, "changed state 0x%x", status);
}

/* Tell systemd how the devices are doing (STATUS=). */
void
sup_notify_status(const struct supervisor *sup)
{
	unsigned int	i, run = 0, wait = 0, bad = 0;
	char		buf[160];

	for (i = 0; i < sup->su_ndev; i++) {
		switch (sup->su_dev[i]->sd_run) {
		case SUP_RUNNING:
			run++;
			break;
		case SUP_BACKOFF:
			wait++;
			break;
		case SUP_FAILED:
			bad++;
			break;
		default:
			break;
		}
	}
	snprintf(buf, sizeof(buf), "STATUS=%u device(s): %u running, %u "
	    "restarting, %u failed", sup->su_ndev, run, wait, bad);
	notify_send(buf);
}

/* Arm sd's restart timer for delay_ms.  false (logged) if it cannot. */
static bool
restart_later(struct sup_device *sd, unsigned int delay_ms)
{
	struct timeval	tv;

	if (sd->sd_timer == NULL)
		sd->sd_timer = evtimer_new(sd->sd_sup->su_base, restart_cb, sd);
	tv.tv_sec = delay_ms / 1000;
	tv.tv_usec = (suseconds_t)(delay_ms % 1000) * 1000;
	if (sd->sd_timer == NULL || evtimer_add(sd->sd_timer, &tv) == -1) {
		log_warnx("%s: cannot schedule restart", sd->sd_conf.dc_name);
		return false;
	}
	return true;
}

static void
device_exited(struct sup_device *sd, int status)
{
	struct supervisor	*sup = sd->sd_sup;
	struct restart_plan	 plan;
	struct timespec		 now;
	enum sup_exit_class	 cls;
	char			 desc[256];
	double			 uptime;
	int64_t			 mono, served_ms = 0;
	bool			 failed, restart, quiet;
	void			(*say)(const char *, ...)
				    __attribute__((format(printf, 1, 2)));

	/* Log what the child said before saying that it is gone. */
	childlog_free(sd->sd_log);
	sd->sd_log = NULL;
	clock_gettime(CLOCK_MONOTONIC, &now);
	mono = ratelimit_now();
	uptime = ts_diff(&now, &sd->sd_started);
	if (sd->sd_served != 0)
		served_ms = (mono - sd->sd_served) / 1000000;
	if (sd->sd_kill != NULL)
		evtimer_del(sd->sd_kill);
	describe_status(status, desc, sizeof(desc));
	cls = restart_classify(status, sup->su_stopping || sd->sd_removing ||
	    sd->sd_ctl != SUP_CTL_NONE);
	if (sd->sd_stats != NULL)
		stats_child_end(sd->sd_stats, (int)cls);
	failed = cls != SUP_EXIT_DISCONNECT && cls != SUP_EXIT_STOPPED;
	/*
	 * While a storm is throttled, the exits a front end causes are
	 * logged at debug level: a peer must not fill the log either.
	 */
	quiet = sd->sd_restart.sr_throttled && (cls == SUP_EXIT_DISCONNECT ||
	    cls == SUP_EXIT_FRONTEND);
	if (quiet)
		say = log_debug;
	else if (failed && !sup->su_stopping)
		say = log_warnx;
	else
		say = log_info;
	say("%s: child %d %s after %.1fs: %s%s (restarts %u)",
	    sd->sd_conf.dc_name, (int)sd->sd_pid, desc, uptime,
	    restart_class_name(cls), sd->sd_served != 0 ? ", had served" : "",
	    sd->sd_restarts);
	sd->sd_pid = 0;
	sd->sd_last_status = status;
	snprintf(sd->sd_conn, sizeof(sd->sd_conn), "none");
	if (sup->su_stopping) {
		sd->sd_run = SUP_DONE;
		return;
	}
	if (sd->sd_removing) {
		sup_device_retire(sup, sd);
		return;
	}
	if (sd->sd_ctl == SUP_CTL_STOP) {
		sd->sd_ctl = SUP_CTL_NONE;
		sup_device_hold(sd);
		return;
	}
	if (sd->sd_ctl == SUP_CTL_RESTART) {
		sd->sd_ctl = SUP_CTL_NONE;
		if (sup_device_spawn(sd) < 0) {
			sd->sd_run = SUP_FAILED;
			sup_device_release(sd);
		}
		return;
	}
	switch (sd->sd_conf.dc_restart) {
	case RESTART_NEVER:
		restart = false;
		break;
	case RESTART_ON_FAILURE:
		restart = failed;
		break;
	case RESTART_ALWAYS:
	default:
		restart = true;
		break;
	}
	/* A connected --fd was the one session: nothing to restart on. */
	if (sd->sd_listener != NULL && listener_is_connected(sd->sd_listener)) {
		sd->sd_run = SUP_DONE;
		if (failed)
			sup->su_failed = true;
		log_info("%s: the connection it was given ended; not "
		    "restarting", sd->sd_conf.dc_name);
		sup_device_release(sd);
		return;
	}
	if (!restart) {
		sd->sd_run = SUP_DONE;
		if (failed)
			sup->su_failed = true;
		log_info("%s: not restarting (restart=%s); removing its socket",
		    sd->sd_conf.dc_name,
		    config_restart_name(sd->sd_conf.dc_restart));
		sup_device_release(sd);
		return;
	}
	restart_plan(&sd->sd_restart, sup->su_opt.so_burst_secs, cls,
	    sd->sd_served != 0, served_ms, (int64_t)(uptime * 1000), mono,
	    &plan);
	if (plan.rp_give_up) {
		log_warnx("%s: %u failures within %us; giving up on this device "
		    "(fix the cause, then restart vhostd)", sd->sd_conf.dc_name,
		    sup->su_opt.so_burst_count, sup->su_opt.so_burst_secs);
		sd->sd_run = SUP_FAILED;
		sup->su_failed = true;
		sup_device_release(sd);
		return;
	}
	if (plan.rp_storm_end > 0)
		log_info("%s: restarts no longer throttled (%lu were delayed)",
		    sd->sd_conf.dc_name, plan.rp_storm_end);
	if (plan.rp_storm_start)
		log_warnx("%s: children end as fast as they start; restarts are "
		    "throttled to %d per second (burst %d) until it stops",
		    sd->sd_conf.dc_name, RESTART_BUCKET_RATE,
		    RESTART_BUCKET_BURST);
	sd->sd_restarts++;
	sd->sd_run = SUP_BACKOFF;
	if (plan.rp_delay_ms == 0) {
		restart_cb(-1, 0, sd);
		return;
	}
	(plan.rp_throttled ? log_debug : log_info)("%s: restarting in %u ms",
	    sd->sd_conf.dc_name, plan.rp_delay_ms);
	if (!restart_later(sd, plan.rp_delay_ms)) {
		sd->sd_run = SUP_FAILED;
		sup->su_failed = true;
	}
}

static void
sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct supervisor	*sup = arg;
	unsigned int		 i;
	pid_t			 pid;
	int			 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		/*
		 * device_exited may free a device, always after taking it out
		 * of su_dev with memmove; the analyzer loses track of that.
		 */
		for (i = 0; i < sup->su_ndev; i++)
			if (sup->su_dev[i]->sd_pid == pid) /* NOLINT */
				break;
		if (i == sup->su_ndev) {
			log_debug("%s: reaped unknown pid %d", __func__,
			    (int)pid);
			continue;
		}
		device_exited(sup->su_dev[i], status);
		if (!sup->su_stopping)
			sup_notify_status(sup);
	}
	ctl_poke(sup);
	/*
	 * A service with a configuration file waits for SIGHUP instead, and
	 * one with a control socket for vhostd ctl.
	 */
	if (!any_alive(sup) && (sup->su_stopping ||
	    (sup->su_opt.so_reload == NULL && sup->su_ctl == NULL)))
		event_base_loopbreak(sup->su_base);
}

static void
grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct supervisor	*sup = arg;
	unsigned int		 i;

	for (i = 0; i < sup->su_ndev; i++)
		if (sup->su_dev[i]->sd_run == SUP_RUNNING) {
			log_warnx("%s: child %d still running after %u ms; "
			    "killing it", sup->su_dev[i]->sd_conf.dc_name,
			    (int)sup->su_dev[i]->sd_pid, sup->su_opt.so_grace_ms);
			kill(sup->su_dev[i]->sd_pid, SIGKILL);
		}
}

static void
sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	struct supervisor	*sup = arg;
	struct timeval		 tv;
	unsigned int		 i;

	if (sup->su_stopping)
		return;
	log_info("received SIG%s; stopping %u device(s)",
	    sigabbrev_np((int)sig), sup->su_ndev);
	sup->su_stopping = true;
	notify_send("STOPPING=1\nSTATUS=stopping");
	for (i = 0; i < sup->su_ndev; i++) {
		struct sup_device *sd = sup->su_dev[i];

		if (sd->sd_timer != NULL)
			evtimer_del(sd->sd_timer);
		if (sd->sd_run == SUP_RUNNING)
			kill(sd->sd_pid, SIGTERM);
		else if (sd->sd_run == SUP_BACKOFF)
			sd->sd_run = SUP_DONE;
	}
	if (!any_alive(sup)) {
		event_base_loopbreak(sup->su_base);
		return;
	}
	tv.tv_sec = sup->su_opt.so_grace_ms / 1000;
	tv.tv_usec = (suseconds_t)(sup->su_opt.so_grace_ms % 1000) * 1000;
	sup->su_grace = evtimer_new(sup->su_base, grace_cb, sup);
	if (sup->su_grace == NULL || evtimer_add(sup->su_grace, &tv) == -1)
		grace_cb(-1, 0, sup);
}

static void
sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct supervisor	*sup = arg;

	if (sup->su_stopping)
		return;
	if (sup->su_opt.so_reload == NULL) {
		log_info("received SIGHUP; nothing to reload without a "
		    "configuration file (-c)");
		return;
	}
	/* main's callback reads the configuration and calls sup_reload. */
	(void)sup->su_opt.so_reload(sup, sup->su_opt.so_reload_arg, NULL);
	sup_notify_status(sup);
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_send("WATCHDOG=1");
}

/*
 * Every listener accepts connections from the moment sup_new() returned
 * (the backlog holds them until the child accepts): tell the managers,
 * before the children are cloned.  A clone with the jail's namespaces
 * costs the parent about a millisecond (the network and mount namespaces
 * most), so with a thousand devices readiness would otherwise wait for
 * a second of clones that a front end does not need to wait for: it
 * connects at once and is served when its child comes up.
 */
static void
announce_ready(struct supervisor *sup)
{
	struct timeval	tv;
	uint64_t	usec;
	char		buf[64];
	int		rc;

	snprintf(buf, sizeof(buf), "READY=1\nMAINPID=%d", (int)getpid());
	if ((rc = notify_send(buf)) < 0)
		log_warnx("sd_notify: %s", strerror(-rc));
	sup_notify_status(sup);
	log_startup_done();
	if (sup->su_opt.so_ready_fd >= 0) {
		if ((rc = notify_ready_fd(sup->su_opt.so_ready_fd)) < 0)
			log_warnx("--ready-fd=%d: %s", sup->su_opt.so_ready_fd,
			    strerror(-rc));
		sup->su_opt.so_ready_fd = -1;
	}
	if ((usec = notify_watchdog_usec()) == 0)
		return;
	usec /= 2;	/* ping at half the interval, as sd_watchdog_enabled(3) */
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	sup->su_watchdog = event_new(sup->su_base, -1, EV_PERSIST, watchdog_cb,
	    sup);
	if (sup->su_watchdog == NULL || event_add(sup->su_watchdog, &tv) == -1)
		log_warnx("cannot arm the systemd watchdog timer");
	notify_send("WATCHDOG=1");
}

int
sup_run(struct supervisor *sup)
{
	static const int	 sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	event_callback_fn	 cbs[] = { sigchld_cb, sigterm_cb, sigterm_cb,
				    sighup_cb };
	unsigned int		 i;

	signal(SIGPIPE, SIG_IGN);
	if ((sup->su_base = event_base_new()) == NULL) {
		log_warnx("%s: cannot create the event loop", __func__);
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		sup->su_sig[i] = evsignal_new(sup->su_base, sigs[i], cbs[i],
		    sup);
		if (sup->su_sig[i] == NULL ||
		    evsignal_add(sup->su_sig[i], NULL) == -1) {
			log_warnx("%s: cannot watch signal %d", __func__,
			    sigs[i]);
			return 1;
		}
	}
	if (sup->su_opt.so_control != NULL) {
		char	err[512];

		if (ctl_listen(sup, sup->su_opt.so_control, err,
		    sizeof(err)) < 0) {
			log_warnx("control socket: %s", err);
			return 1;
		}
	}
	announce_ready(sup);
	for (i = 0; i < sup->su_ndev; i++)
		if (sup_device_spawn(sup->su_dev[i]) < 0) {
			sup->su_dev[i]->sd_run = SUP_FAILED;
			sup->su_failed = true;
		}
	sup_notify_status(sup);
	if (any_alive(sup) || sup->su_opt.so_reload != NULL ||
	    sup->su_ctl != NULL)
		event_base_dispatch(sup->su_base);
	if (sup->su_stopping) {
		log_info("stopped");
		return 0;
	}
	return sup->su_failed ? 1 : 0;
}
