/*
 * supervisor.c - the privileged parent: open every device's resources
 * before forking, fork one jailed child per device, reap, log, restart by
 * policy with capped exponential back-off, shut down cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "../conffile.h"
#include "../listener/listener.h"
#include "../util/log.h"
#include "childlog.h"
#include "ctl.h"
#include "notify.h"
#include "supervisor.h"

#define BACKOFF_MIN_MS		100
#define BACKOFF_MAX_MS		10000
#define STABLE_SECS		10	/* a run this long resets back-off */

void
sup_options_init(struct sup_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	jail_config_init(&opt->so_jail);
	opt->so_seccomp = POLICY_MODE_KILL;
	opt->so_policy_dir = NULL;
	opt->so_grace_ms = 5000;
	opt->so_burst_count = 10;
	opt->so_burst_secs = 60;
	opt->so_ready_fd = -1;
}

static double
ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(a->tv_sec - b->tv_sec) +
	    (double)(a->tv_nsec - b->tv_nsec) / 1e9;
}

static void
device_release(struct sup_device *sd)
{
	childlog_free(sd->sd_log);
	sd->sd_log = NULL;
	if (sd->sd_timer != NULL) {
		event_free(sd->sd_timer);
		sd->sd_timer = NULL;
	}
	if (sd->sd_state != NULL && sd->sd_conf.dc_type->dt_release != NULL)
		sd->sd_conf.dc_type->dt_release(sd->sd_state);
	sd->sd_state = NULL;
	listener_free(sd->sd_listener);
	sd->sd_listener = NULL;
	listener_retained_release(sd->sd_retained);
	sd->sd_retained = NULL;
	policy_filter_free(sd->sd_filter);
	sd->sd_filter = NULL;
}

/* systemd socket activation: the passed fds and their names. */
#define SUP_MAX_ACTIVATED	64
static struct {
	int		 n;
	const char	*names[SUP_MAX_ACTIVATED];
	bool		 used[SUP_MAX_ACTIVATED];
} activated;

/*
 * The socket-activated fd for the device called name: the one whose
 * LISTEN_FDNAMES entry (FileDescriptorName=) is name, else the only one
 * passed.  -1 if none.
 */
static int
activated_fd(const char *name)
{
	int	i;

	for (i = 0; i < activated.n && i < SUP_MAX_ACTIVATED; i++)
		if (!activated.used[i] && activated.names[i] != NULL &&
		    strcmp(activated.names[i], name) == 0)
			break;
	if (i == activated.n && activated.n == 1 && !activated.used[0])
		i = 0;
	if (i >= activated.n || i >= SUP_MAX_ACTIVATED)
		return -1;
	activated.used[i] = true;
	return 3 + i;
}

static int
device_open(struct sup_device *sd, const struct sup_options *opt,
    char *err, size_t errlen)
{
	const struct device_type	*dt = sd->sd_conf.dc_type;
	struct device_conf		*dc = &sd->sd_conf;
	char				 msg[512];
	int				 rc, fd;

	fdset_init(&sd->sd_keep);
	if (dc->dc_socket != NULL)
		rc = listener_new_path(&sd->sd_listener, dc->dc_socket,
		    dc->dc_mode, dc->dc_gid, &sd->sd_keep, msg, sizeof(msg));
	else if (dc->dc_fd >= 0)
		rc = listener_new_fd(&sd->sd_listener, dc->dc_fd,
		    &sd->sd_keep, msg, sizeof(msg));
	else if ((fd = activated_fd(dc->dc_name)) >= 0)
		rc = listener_new_fd(&sd->sd_listener, fd, &sd->sd_keep, msg,
		    sizeof(msg));
	else {
		snprintf(err, errlen, "%s: no socket=PATH or fd=N, and no "
		    "socket-activated fd named '%s' (LISTEN_FDNAMES)",
		    dc->dc_name, dc->dc_name);
		return -EINVAL;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", dc->dc_name, msg);
		return rc;
	}
	sd->sd_retained = listener_take_parent_resources(sd->sd_listener);
	if ((rc = dt->dt_prepare(dc->dc_opts, dc->dc_nopts, &sd->sd_keep,
	    &sd->sd_state, msg, sizeof(msg))) < 0) {
		snprintf(err, errlen, "%s: %s", dc->dc_name, msg);
		return rc;
	}
	if (opt->so_jail.jc_enabled) {
		sd->sd_filter = sup_policy_load(opt, dt, msg, sizeof(msg));
		if (sd->sd_filter == NULL) {
			snprintf(err, errlen, "%s: seccomp policy: %s",
			    dc->dc_name, msg);
			return -EINVAL;
		}
	}
	return 0;
}

struct policy_filter *
sup_policy_load(const struct sup_options *opt, const struct device_type *dt,
    char *err, size_t errlen)
{
	struct stat	st;
	char		path[4096];

	snprintf(path, sizeof(path), "%s/%s.policy", opt->so_policy_dir,
	    dt->dt_name);
	if (stat(path, &st) == -1 && errno == ENOENT) {
		/* A precompiled filter (minijail's compile_seccomp_policy). */
		snprintf(path, sizeof(path), "%s/%s.bpf", opt->so_policy_dir,
		    dt->dt_name);
		if (stat(path, &st) == 0) {
			if (opt->so_seccomp != POLICY_MODE_KILL) {
				snprintf(err, errlen, "%s: a precompiled filter "
				    "has its own actions; --seccomp=log and "
				    "trap need %s.policy", path, dt->dt_name);
				return NULL;
			}
			return policy_load_bpf_file(path, err, errlen);
		}
		snprintf(path, sizeof(path), "%s/%s.policy",
		    opt->so_policy_dir, dt->dt_name);
	}
	return policy_compile_file(path, opt->so_seccomp, err, errlen);
}

static int
check_devices(struct device_conf *devs, unsigned int ndev, char *err,
    size_t errlen)
{
	unsigned int	i, j;

	for (i = 0; i < ndev; i++)
		for (j = i + 1; j < ndev; j++) {
			/* Two devices on one path would unlink each other's. */
			if (devs[i].dc_socket != NULL &&
			    devs[j].dc_socket != NULL &&
			    strcmp(devs[i].dc_socket, devs[j].dc_socket) == 0) {
				snprintf(err, errlen, "%s and %s use the same "
				    "socket %s", devs[i].dc_name,
				    devs[j].dc_name, devs[i].dc_socket);
				return -EINVAL;
			}
			if (strcmp(devs[i].dc_name, devs[j].dc_name) == 0) {
				snprintf(err, errlen, "two devices are named "
				    "'%s'; give each a name=", devs[i].dc_name);
				return -EINVAL;
			}
		}
	return 0;
}

/* Add a device (taking its configuration) and open its resources. */
static struct sup_device *
device_add(struct supervisor *sup, struct device_conf *dc, char *err,
    size_t errlen)
{
	struct sup_device	**nd, *sd;

	if (sup->su_ndev == sup->su_cap) {
		/* An array of pointers, on purpose. */
		nd = reallocarray(sup->su_dev, sup->su_cap + 8,
		    sizeof(*nd)); /* NOLINT(bugprone-sizeof-expression) */
		if (nd == NULL) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		sup->su_dev = nd;
		sup->su_cap += 8;
	}
	if ((sd = calloc(1, sizeof(*sd))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sd->sd_conf = *dc;
	memset(dc, 0, sizeof(*dc));
	sd->sd_sup = sup;
	if (device_open(sd, &sup->su_opt, err, errlen) < 0) {
		device_release(sd);
		config_device_free(&sd->sd_conf);
		free(sd);
		return NULL;
	}
	sup->su_dev[sup->su_ndev++] = sd;
	return sd;
}

static void
device_free(struct supervisor *sup, struct sup_device *sd)
{
	unsigned int	i;

	for (i = 0; i < sup->su_ndev; i++)
		if (sup->su_dev[i] == sd)
			break;
	if (i == sup->su_ndev) {
		/* Never freed while out of the table: keep it, say so. */
		log_warnx("%s: %s is not in the device table", __func__,
		    sd->sd_conf.dc_name);
		return;
	}
	memmove(&sup->su_dev[i], &sup->su_dev[i + 1], (sup->su_ndev - i - 1) *
	    sizeof(sup->su_dev[0])); /* NOLINT(bugprone-sizeof-expression) */
	sup->su_ndev--;
	device_release(sd);
	config_device_free(&sd->sd_conf);
	if (sd->sd_replacement != NULL) {
		config_device_free(sd->sd_replacement);
		free(sd->sd_replacement);
	}
	free(sd);
}

int
sup_init(struct supervisor *sup, const struct sup_options *opt,
    struct device_conf *devs, unsigned int ndev, char *err, size_t errlen)
{
	unsigned int	i;
	int		rc;

	memset(sup, 0, sizeof(*sup));
	sup->su_opt = *opt;
	if (ndev == 0) {
		snprintf(err, errlen, "no device given (use --device TYPE,"
		    "socket=PATH)");
		return -EINVAL;
	}
	if ((rc = check_devices(devs, ndev, err, errlen)) < 0)
		return rc;
	activated.n = listener_systemd_fds(activated.names, SUP_MAX_ACTIVATED);
	if (opt->so_jail.jc_enabled &&
	    (rc = jail_probe(&opt->so_jail, err, errlen)) < 0)
		return rc;
	for (i = 0; i < ndev; i++)
		if (device_add(sup, &devs[i], err, errlen) == NULL) {
			sup_fini(sup);
			return -EINVAL;
		}
	return 0;
}

void
sup_fini(struct supervisor *sup)
{
	unsigned int	i;

	while (sup->su_ndev > 0)
		device_free(sup, sup->su_dev[sup->su_ndev - 1]);
	ctl_close(sup);
	for (i = 0; i < ARRAY_SIZE(sup->su_sig); i++)
		if (sup->su_sig[i] != NULL)
			event_free(sup->su_sig[i]);
	if (sup->su_grace != NULL)
		event_free(sup->su_grace);
	if (sup->su_watchdog != NULL)
		event_free(sup->su_watchdog);
	if (sup->su_base != NULL)
		event_base_free(sup->su_base);
	free(sup->su_dev);
	memset(sup, 0, sizeof(*sup));
}

static int	device_spawn(struct sup_device *sd);
static void	device_retire(struct supervisor *sup, struct sup_device *sd);

static void
conn_state_cb(void *arg, const char *state)
{
	struct sup_device	*sd = arg;

	snprintf(sd->sd_conn, sizeof(sd->sd_conn), "%s", state);
}

int
sup_reload(struct supervisor *sup, struct device_conf *devs,
    unsigned int ndev)
{
	struct sup_device	*sd, *nsd;
	char			 err[1024];
	unsigned int		 i, j, changes = 0;
	bool			 seen[CONFFILE_MAX_DEVICES] = { false };
	int			 rc = 0;

	if (ndev > CONFFILE_MAX_DEVICES)
		return -E2BIG;
	if (check_devices(devs, ndev, err, sizeof(err)) < 0) {
		log_warnx("reload: %s; keeping the running configuration", err);
		return -EINVAL;
	}
	for (i = 0; i < sup->su_ndev; ) {
		sd = sup->su_dev[i];
		for (j = 0; j < ndev; j++)
			if (!seen[j] &&
			    strcmp(devs[j].dc_name, sd->sd_conf.dc_name) == 0)
				break;
		if (j < ndev && strcmp(devs[j].dc_orig,
		    sd->sd_conf.dc_orig) == 0) {
			seen[j] = true;		/* unchanged */
			i++;
			continue;
		}
		changes++;
		if (j < ndev) {
			seen[j] = true;
			if ((sd->sd_replacement = malloc(sizeof(*sd->sd_replacement))) == NULL) {
				log_warnx("reload: out of memory");
				i++;
				continue;
			}
			*sd->sd_replacement = devs[j];
			memset(&devs[j], 0, sizeof(devs[j]));
		}
		sd->sd_removing = true;
		if (sd->sd_run == SUP_RUNNING) {
			kill(sd->sd_pid, SIGTERM);
			i++;
		} else
			device_retire(sup, sd);	/* sd is gone from [i] */
	}
	for (j = 0; j < ndev; j++) {
		if (seen[j])
			continue;
		changes++;
		if ((nsd = device_add(sup, &devs[j], err, sizeof(err))) ==
		    NULL) {
			log_warnx("reload: %s", err);
			rc = -EINVAL;
			continue;
		}
		log_info("%s: added by reload", nsd->sd_conf.dc_name);
		if (device_spawn(nsd) < 0)
			nsd->sd_run = SUP_FAILED;
	}
	return rc < 0 ? rc : (int)changes;
}

static int
device_spawn(struct sup_device *sd)
{
	struct supervisor	*sup = sd->sd_sup;
	unsigned long		 flags;
	pid_t			 pid;

	int			 logp[2];
	sigset_t		 term, omask;

	flags = jail_clone_flags(&sup->su_opt.so_jail);
	if (pipe2(logp, O_CLOEXEC) == -1) {
		log_warn("%s: pipe", sd->sd_conf.dc_name);
		return -errno;
	}
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
		log_warn("%s: clone", sd->sd_conf.dc_name);
		close(logp[0]);
		close(logp[1]);
		return -errno;
	}
	if (pid == 0) {
		sd->sd_logfd = logp[1];
		child_main(sd, &sup->su_opt);
	}
	close(logp[1]);
	childlog_free(sd->sd_log);
	snprintf(sd->sd_conn, sizeof(sd->sd_conn), "listening");
	sd->sd_log = childlog_new(sup->su_base, sd->sd_conf.dc_name, pid,
	    logp[0], conn_state_cb, sd);
	sd->sd_pid = pid;
	sd->sd_run = SUP_RUNNING;
	clock_gettime(CLOCK_MONOTONIC, &sd->sd_started);
	log_info("%s: started child %d on %s", sd->sd_conf.dc_name, (int)pid,
	    sd->sd_conf.dc_socket != NULL ? sd->sd_conf.dc_socket : "fd");
	return 0;
}

static void
restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sup_device	*sd = arg;

	if (sd->sd_sup->su_stopping || sd->sd_run != SUP_BACKOFF)
		return;
	if (device_spawn(sd) < 0)
		sd->sd_run = SUP_FAILED;
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

/* Record a failure; true when the burst limit is reached. */
static bool
burst_exceeded(struct sup_device *sd, const struct timespec *now)
{
	const struct sup_options	*opt = &sd->sd_sup->su_opt;
	unsigned int			 i, n = 0;

	if (sd->sd_nburst == ARRAY_SIZE(sd->sd_burst)) {
		memmove(&sd->sd_burst[0], &sd->sd_burst[1],
		    sizeof(sd->sd_burst[0]) * (ARRAY_SIZE(sd->sd_burst) - 1));
		sd->sd_nburst--;
	}
	sd->sd_burst[sd->sd_nburst++] = *now;
	for (i = 0; i < sd->sd_nburst; i++)
		if (ts_diff(now, &sd->sd_burst[i]) <= opt->so_burst_secs)
			n++;
	return opt->so_burst_count > 0 && n >= opt->so_burst_count;
}

/*
 * A device the configuration no longer has (or has changed) is stopped:
 * free it, and start its replacement if there is one.
 */
static void
device_retire(struct supervisor *sup, struct sup_device *sd)
{
	struct device_conf	*repl = sd->sd_replacement;
	struct sup_device	*nsd;
	char			 err[1024];

	sd->sd_replacement = NULL;
	log_info("%s: %s", sd->sd_conf.dc_name, repl != NULL ?
	    "configuration changed; replacing it" :
	    "removed from the configuration; its socket is removed");
	device_free(sup, sd);
	if (repl == NULL)
		return;
	if ((nsd = device_add(sup, repl, err, sizeof(err))) == NULL)
		log_warnx("reload: %s", err);
	else if (device_spawn(nsd) < 0)
		nsd->sd_run = SUP_FAILED;
	free(repl);
}

/* Tell systemd how the devices are doing (STATUS=). */
static void
notify_status(const struct supervisor *sup)
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

static void
device_exited(struct sup_device *sd, int status)
{
	struct supervisor	*sup = sd->sd_sup;
	struct timespec		 now;
	struct timeval		 tv;
	char			 desc[256];
	double			 uptime;
	bool			 failed, restart;

	/* Log what the child said before saying that it is gone. */
	childlog_free(sd->sd_log);
	sd->sd_log = NULL;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uptime = ts_diff(&now, &sd->sd_started);
	describe_status(status, desc, sizeof(desc));
	failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (sup->su_stopping && WIFSIGNALED(status) &&
	    (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGKILL))
		failed = false;
	(failed && !sup->su_stopping ? log_warnx : log_info)(
	    "%s: child %d %s after %.1fs (restarts %u)", sd->sd_conf.dc_name,
	    (int)sd->sd_pid, desc, uptime, sd->sd_restarts);
	sd->sd_pid = 0;
	sd->sd_last_status = status;
	snprintf(sd->sd_conn, sizeof(sd->sd_conn), "none");
	if (sup->su_stopping) {
		sd->sd_run = SUP_DONE;
		return;
	}
	if (sd->sd_removing) {
		device_retire(sup, sd);
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
	if (!restart) {
		sd->sd_run = SUP_DONE;
		if (failed)
			sup->su_failed = true;
		log_info("%s: not restarting (restart=%s); removing its socket",
		    sd->sd_conf.dc_name,
		    config_restart_name(sd->sd_conf.dc_restart));
		device_release(sd);
		return;
	}
	if (failed) {
		if (burst_exceeded(sd, &now)) {
			log_warnx("%s: %u failures within %us; giving up on "
			    "this device (fix the cause, then restart vhostd)",
			    sd->sd_conf.dc_name, sup->su_opt.so_burst_count,
			    sup->su_opt.so_burst_secs);
			sd->sd_run = SUP_FAILED;
			sup->su_failed = true;
			device_release(sd);
			return;
		}
		if (uptime >= STABLE_SECS || sd->sd_backoff_ms == 0)
			sd->sd_backoff_ms = BACKOFF_MIN_MS;
		else
			sd->sd_backoff_ms = MIN(sd->sd_backoff_ms * 2,
			    BACKOFF_MAX_MS);
	} else
		sd->sd_backoff_ms = 0;
	sd->sd_restarts++;
	sd->sd_run = SUP_BACKOFF;
	if (sd->sd_backoff_ms == 0) {
		restart_cb(-1, 0, sd);
		return;
	}
	log_info("%s: restarting in %u ms", sd->sd_conf.dc_name,
	    sd->sd_backoff_ms);
	if (sd->sd_timer == NULL)
		sd->sd_timer = evtimer_new(sup->su_base, restart_cb, sd);
	tv.tv_sec = sd->sd_backoff_ms / 1000;
	tv.tv_usec = (suseconds_t)(sd->sd_backoff_ms % 1000) * 1000;
	if (sd->sd_timer == NULL || evtimer_add(sd->sd_timer, &tv) == -1) {
		log_warnx("%s: cannot schedule restart", sd->sd_conf.dc_name);
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
			notify_status(sup);
	}
	/* A service with a configuration file waits for SIGHUP instead. */
	if (!any_alive(sup) && (sup->su_stopping || sup->su_conffile == NULL))
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
	struct conffile		 cf;
	char			 err[1024];
	int			 rc;

	if (sup->su_stopping)
		return;
	if (sup->su_conffile == NULL) {
		log_info("received SIGHUP; nothing to reload without a "
		    "configuration file (-c)");
		return;
	}
	log_info("received SIGHUP; reloading %s", sup->su_conffile);
	if (conffile_load(sup->su_conffile, &cf, err, sizeof(err)) < 0) {
		log_warnx("reload failed: %s; keeping the running "
		    "configuration", err);
		return;
	}
	rc = sup_reload(sup, cf.cf_dev, cf.cf_ndev);
	if (rc >= 0)
		log_info("reload: %d device(s) added, removed or changed", rc);
	conffile_free(&cf);
	notify_status(sup);
}

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_send("WATCHDOG=1");
}

/*
 * Every listener accepts connections from the moment sup_init() returned
 * (the backlog holds them until the child accepts): tell the managers.
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
	notify_status(sup);
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
	if (sup->su_ctl_path != NULL) {
		char	err[512];

		if (ctl_listen(sup, sup->su_ctl_path, err, sizeof(err)) < 0) {
			log_warnx("control socket: %s", err);
			return 1;
		}
	}
	for (i = 0; i < sup->su_ndev; i++)
		if (device_spawn(sup->su_dev[i]) < 0) {
			sup->su_dev[i]->sd_run = SUP_FAILED;
			sup->su_failed = true;
		}
	if (any_alive(sup) || sup->su_conffile != NULL) {
		announce_ready(sup);
		event_base_dispatch(sup->su_base);
	}
	if (sup->su_stopping) {
		log_info("stopped");
		return 0;
	}
	return sup->su_failed ? 1 : 0;
}
