/*
 * reload.c - changing the running supervisor: a reload, device by device
 * as transactions (the new configuration opened and checked before the
 * old child is stopped, then committed in its place), and vhostd ctl's
 * start, stop, restart and reset of one device.  supervisor.c runs and
 * reaps the children; devopen.c opens them.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "../listener/listener.h"
#include "../util/log.h"
#include "ctl.h"
#include "host.h"

static void	device_commit(struct supervisor *, struct sup_device *);

/*
 * qsort of indexes into the names of a device_conf array.  The names are
 * a copy: a changed entry's configuration moves to its new device
 * (sup_device_new), and later lookups still pass through its index.
 */
static char *const	*reload_names;

static int
reload_by_name(const void *a, const void *b)
{
	return strcmp(reload_names[*(const unsigned int *)a],
	    reload_names[*(const unsigned int *)b]);
}

/* The entry named name, through idx sorted by name, or -1. */
static int
reload_find(char *const *names, const unsigned int *idx, unsigned int ndev,
    const char *name)
{
	unsigned int	lo = 0, hi = ndev, mid;
	int		c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, names[idx[mid]]);
		if (c == 0)
			return (int)idx[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/*
 * A device the new configuration does not name: is it renamed?  The
 * entry of devs not matched yet, on sd's socket (path, or fd number),
 * whose name no running device has; or -1.  Only for devices not found
 * by name: a rename keeps the socket (and the image) instead of failing
 * to bind what the old name still serves and then removing the old one.
 */
static int
reload_renamed(const struct supervisor *sup, const struct device_conf *devs,
    const bool *seen, unsigned int ndev, const struct sup_device *sd)
{
	const struct device_conf	*a = &sd->sd_conf, *b;
	unsigned int			 k;

	if (a->dc_socket == NULL && a->dc_fd < 0)
		return -1;	/* socket activation: found by name */
	for (k = 0; k < ndev; k++) {
		b = &devs[k];
		if (seen[k] || (a->dc_socket != NULL ? b->dc_socket == NULL ||
		    strcmp(a->dc_socket, b->dc_socket) != 0 :
		    b->dc_socket != NULL || b->dc_fd != a->dc_fd))
			continue;
		return sup_device_find(sup, b->dc_name) == NULL ? (int)k : -1;
	}
	return -1;
}

/* A line of a reload's outcome: to the log, and to the report. */
static void	reload_say(FILE *report, bool warn, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

static void
reload_say(FILE *report, bool warn, const char *fmt, ...)
{
	char	buf[1536];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	(warn ? log_warnx : log_info)("%s", buf);
	if (report != NULL)
		fprintf(report, "%s\n", buf);
}

/*
 * Stop sd's child: SIGTERM now, SIGKILL after the grace.  Its exit
 * comes to device_exited.
 */
static void
kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sup_device	*sd = arg;

	if (sd->sd_run != SUP_RUNNING || sd->sd_pid <= 0)
		return;
	log_warnx("%s: child %d still running %u ms after SIGTERM; killing "
	    "it", sd->sd_conf.dc_name, (int)sd->sd_pid,
	    sd->sd_sup->su_opt.so_grace_ms);
	kill(sd->sd_pid, SIGKILL);
}

void
sup_device_stop_child(struct sup_device *sd)
{
	struct timeval	tv;
	unsigned int	ms = sd->sd_sup->su_opt.so_grace_ms;

	kill(sd->sd_pid, SIGTERM);
	if (sd->sd_kill == NULL)
		sd->sd_kill = evtimer_new(sd->sd_sup->su_base, kill_cb, sd);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	if (sd->sd_kill == NULL || evtimer_add(sd->sd_kill, &tv) == -1)
		log_warnx("%s: cannot arm the stop timer", sd->sd_conf.dc_name);
}

/*
 * (Re)start a device that has no child: with reset, forget its failures
 * first.  Resources a failed or stopped device released are opened
 * again.  0, or -errno with the message in err (the device stays as it
 * was).
 */
static int
device_start(struct sup_device *sd, bool reset, char *err, size_t errlen)
{
	struct supervisor	*sup = sd->sd_sup;
	int			 rc;

	if (reset) {
		restart_fini(&sd->sd_restart);
		if (restart_init(&sd->sd_restart,
		    sup->su_opt.so_burst_count) < 0) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		sd->sd_restarts = 0;
	}
	if (sd->sd_timer != NULL)
		evtimer_del(sd->sd_timer);
	if (!sd->sd_opened) {
		rc = sup_device_open(sd, NULL, err, errlen);
		sup_filters_forget(sup);
		if (rc < 0)
			return rc;
	}
	if ((rc = sup_device_spawn(sd)) < 0) {
		snprintf(err, errlen, "%s: cannot start a child: %s",
		    sd->sd_conf.dc_name, strerror(-rc));
		sd->sd_run = SUP_FAILED;
		return rc;
	}
	return 0;
}


int
sup_reload(struct supervisor *sup, struct device_conf *devs,
    unsigned int ndev, FILE *report)
{
	struct sup_device	*sd, *nsd;
	const struct device_conf *cur;
	char			 err[1024];
	unsigned int		 i, *idx = NULL, changes = 0;
	char			**names = NULL;
	bool			*seen = NULL;
	int			 j, rc = 0;

	if (sup_check_devices(devs, ndev, err, sizeof(err)) < 0) {
		reload_say(report, true, "reload: %s; keeping the running "
		    "configuration", err);
		return -EINVAL;
	}
	if (ndev > 0 && ((seen = calloc(ndev, sizeof(*seen))) == NULL ||
	    (idx = calloc(ndev, sizeof(*idx))) == NULL ||
	    (names = calloc(ndev, sizeof(*names))) == NULL)) {
		free(seen);
		free(idx);
		reload_say(report, true, "reload: out of memory; keeping the "
		    "running configuration");
		return -ENOMEM;
	}
	/* Names are unique (sup_check_devices): match by binary search. */
	for (i = 0; i < ndev; i++) {
		idx[i] = i;
		if ((names[i] = strdup(devs[i].dc_name)) == NULL) {
			while (i > 0)
				free(names[--i]);
			free(names);
			free(seen);
			free(idx);
			reload_say(report, true, "reload: out of memory; "
			    "keeping the running configuration");
			return -ENOMEM;
		}
	}
	reload_names = names;
	if (ndev > 0)
		qsort(idx, ndev, sizeof(*idx), reload_by_name);
	for (i = 0; i < sup->su_ndev; ) {
		sd = sup->su_dev[i];
		j = reload_find(names, idx, ndev, sd->sd_conf.dc_name);
		if (j < 0 && ndev > 0 && (j = reload_renamed(sup, devs, seen,
		    ndev, sd)) >= 0 && !seen[j])
			reload_say(report, false, "%s: renamed %s (the same "
			    "socket)", sd->sd_conf.dc_name, devs[j].dc_name);
		/* A change still waiting for the old child: compare to it. */
		cur = sd->sd_replacement != NULL ?
		    &sd->sd_replacement->sd_conf : &sd->sd_conf;
		if (j >= 0 && seen[j]) {
			i++;
			continue;
		}
		/* Typed values, not how they were written. */
		if (j >= 0 && device_conf_equal(&devs[j], cur)) {
			seen[j] = true;		/* unchanged */
			i++;
			if (sd->sd_removing && sd->sd_replacement == NULL) {
				/*
				 * Removed by the last reload, back now: a new
				 * child once the old one is gone, unless an
				 * operator's stop waits for it.
				 */
				sd->sd_removing = false;
				if (sd->sd_ctl != SUP_CTL_STOP)
					sd->sd_ctl = SUP_CTL_RESTART;
				continue;
			}
			/* A device that was given up is tried again. */
			if (sd->sd_run != SUP_FAILED || sd->sd_removing)
				continue;
			changes++;
			if (device_start(sd, true, err, sizeof(err)) < 0) {
				reload_say(report, true, "reload: %s; %s "
				    "stays failed", err, sd->sd_conf.dc_name);
				rc = -EINVAL;
			} else
				reload_say(report, false, "%s: failed; "
				    "started again by the reload",
				    sd->sd_conf.dc_name);
			continue;
		}
		changes++;
		sup_device_discard(sd->sd_replacement);
		sd->sd_replacement = NULL;
		if (j < 0) {
			sd->sd_removing = true;
			if (sd->sd_run == SUP_RUNNING) {
				sup_device_stop_child(sd);
				i++;
			} else
				sup_device_retire(sup, sd);	/* gone from [i] */
			continue;
		}
		seen[j] = true;
		/*
		 * Changed: the new configuration is opened and checked while
		 * the device runs on; only when all of it is there is the
		 * old child stopped (transactional: an error leaves the
		 * device as it was).
		 */
		i++;
		if ((nsd = sup_device_new(sup, &devs[j], err,
		    sizeof(err))) == NULL ||
		    sup_device_open(nsd, sd, err, sizeof(err)) < 0) {
			sup_device_discard(nsd);
			reload_say(report, true, "reload: %s; %s keeps running "
			    "with its previous configuration", err,
			    sd->sd_conf.dc_name);
			rc = -EINVAL;
			if (sd->sd_removing && sd->sd_run == SUP_RUNNING) {
				/* An earlier change was under way: undone. */
				sd->sd_removing = false;
				if (sd->sd_ctl != SUP_CTL_STOP)
					sd->sd_ctl = SUP_CTL_RESTART;
			}
			continue;
		}
		sd->sd_replacement = nsd;
		sd->sd_removing = true;
		if (sd->sd_run == SUP_RUNNING) {
			if (sd->sd_kill == NULL ||
			    !evtimer_pending(sd->sd_kill, NULL))
				sup_device_stop_child(sd);
		} else
			device_commit(sup, sd);
	}
	for (i = 0; i < ndev; i++) {
		if (seen[i])
			continue;
		changes++;
		if ((nsd = sup_device_add(sup, &devs[i], err, sizeof(err))) ==
		    NULL) {
			reload_say(report, true, "reload: %s; not added", err);
			rc = -EINVAL;
			continue;
		}
		reload_say(report, false, "%s: added by reload",
		    nsd->sd_conf.dc_name);
		if (sup_device_spawn(nsd) < 0)
			nsd->sd_run = SUP_FAILED;
	}
	sup_filters_forget(sup);
	for (i = 0; i < ndev; i++)
		free(names[i]);
	free(names);
	free(seen);
	free(idx);
	ctl_poke(sup);
	return rc < 0 ? rc : (int)changes;
}

/*
 * A changed device's old child is gone (or it had none): the new device,
 * opened and checked by sup_reload, takes its place, its socket (the
 * same listener when the path is unchanged: front ends that wait in the
 * backlog are served by the new child) and, through dt_commit, what the
 * device type takes over (blk: the image lock).  If dt_commit fails the
 * old device goes on as it was.
 */
static void
device_commit(struct supervisor *sup, struct sup_device *sd)
{
	struct sup_device	*nsd = sd->sd_replacement;
	const struct device_type *dt = nsd->sd_conf.dc_type;
	char			 msg[512], err[1024];
	/* Stopped by ctl, or its child going for a ctl stop: it stays so. */
	bool			 held = sd->sd_run == SUP_STOPPED ||
				    sd->sd_ctl == SUP_CTL_STOP;
	int			 i;

	sd->sd_replacement = NULL;
	sd->sd_removing = false;
	msg[0] = '\0';
	if (dt->dt_commit != NULL && sd->sd_conf.dc_type == dt &&
	    dt->dt_commit(&nsd->sd_res, &sd->sd_res, msg, sizeof(msg)) < 0) {
		log_warnx("reload: %s: [%s] %s; %s goes on with its previous "
		    "configuration", nsd->sd_conf.dc_where,
		    nsd->sd_conf.dc_name, msg, sd->sd_conf.dc_name);
		sup_device_discard(nsd);
		if (sd->sd_ctl == SUP_CTL_STOP) {
			/* Its child went for a ctl stop: held as asked. */
			sd->sd_ctl = SUP_CTL_NONE;
			sup_device_hold(sd);
		} else if (sd->sd_listener != NULL && !held &&
		    device_start(sd, false, err, sizeof(err)) < 0)
			log_warnx("%s", err);
		return;
	}
	(void)sup_device_take_key_listeners(nsd, sd);
	if (nsd->sd_take_listener) {
		nsd->sd_listener = sd->sd_listener;
		nsd->sd_retained = sd->sd_retained;
		sd->sd_listener = NULL;
		sd->sd_retained = NULL;
		nsd->sd_take_listener = false;
		if (nsd->sd_retained != NULL &&
		    (nsd->sd_conf.dc_mode != sd->sd_conf.dc_mode ||
		    nsd->sd_conf.dc_gid != sd->sd_conf.dc_gid) &&
		    listener_retained_set_mode(nsd->sd_retained,
		    nsd->sd_conf.dc_mode, nsd->sd_conf.dc_gid, msg,
		    sizeof(msg)) < 0)
			log_warnx("%s: %s", nsd->sd_conf.dc_name, msg);
	}
	if ((i = sup_device_index(sup, sd)) < 0) {
		log_warnx("%s: %s is not in the device table", __func__,
		    sd->sd_conf.dc_name);
		sup_device_discard(nsd);
		return;
	}
	/* The same device with a new configuration: its counters go on. */
	if (nsd->sd_stats == NULL && nsd->sd_conf.dc_type == sd->sd_conf.dc_type) {
		nsd->sd_stats = sd->sd_stats;
		sd->sd_stats = NULL;
	}
	sup->su_dev[i] = nsd;
	sup_device_discard(sd);
	log_info("%s: configuration changed; %s", nsd->sd_conf.dc_name,
	    held ? "it stays stopped (vhostd ctl start)" :
	    "started with the new one");
	if (held) {
		sup_device_release(nsd);
		nsd->sd_run = SUP_STOPPED;
		return;
	}
	if (sup_device_spawn(nsd) < 0)
		nsd->sd_run = SUP_FAILED;
}

/*
 * A device the configuration no longer has (or has changed) is stopped:
 * free it, or let its replacement take its place.
 */
void
sup_device_retire(struct supervisor *sup, struct sup_device *sd)
{
	char	name[256];

	if (sd->sd_replacement != NULL) {
		device_commit(sup, sd);
		return;
	}
	/* Said once it is done: a reader of the log may look at once. */
	snprintf(name, sizeof(name), "%s", sd->sd_conf.dc_name);
	sup_device_free(sup, sd);
	log_info("%s: removed from the configuration; its socket is removed",
	    name);
}

/*
 * vhostd ctl stop: the device holds nothing until it is started again
 * (its socket is removed, front ends are refused), except an inherited
 * socket, which cannot be opened again: connections wait in its backlog.
 */
void
sup_device_hold(struct sup_device *sd)
{
	struct listener	*keep = NULL;

	if (sd->sd_timer != NULL)
		evtimer_del(sd->sd_timer);
	if (sd->sd_listener != NULL && sd->sd_retained == NULL) {
		keep = sd->sd_listener;
		sd->sd_listener = NULL;
	}
	sup_device_release(sd);
	sd->sd_listener = keep;
	sd->sd_run = SUP_STOPPED;
	log_info("%s: stopped (vhostd ctl); %s until vhostd ctl start",
	    sd->sd_conf.dc_name, keep != NULL ? "connections wait" :
	    "its socket is removed");
}

int
sup_ctl_stop(struct sup_device *sd, bool restart, char *err, size_t errlen)
{
	if (sd->sd_removing) {
		snprintf(err, errlen, "%s is being replaced or removed by a "
		    "reload; try again once that is done", sd->sd_conf.dc_name);
		return -EBUSY;
	}
	if (sd->sd_run == SUP_RUNNING) {
		sd->sd_ctl = restart ? SUP_CTL_RESTART : SUP_CTL_STOP;
		sup_device_stop_child(sd);
		return 1;
	}
	if (restart)
		return sup_ctl_start(sd, false, err, errlen);
	if (sd->sd_run != SUP_STOPPED)
		sup_device_hold(sd);
	return 0;
}

int
sup_ctl_start(struct sup_device *sd, bool reset, char *err, size_t errlen)
{
	if (sd->sd_removing) {
		snprintf(err, errlen, "%s is being replaced or removed by a "
		    "reload; try again once that is done", sd->sd_conf.dc_name);
		return -EBUSY;
	}
	if (sd->sd_run == SUP_RUNNING || sd->sd_run == SUP_BACKOFF) {
		if (reset) {
			restart_fini(&sd->sd_restart);
			if (restart_init(&sd->sd_restart,
			    sd->sd_sup->su_opt.so_burst_count) < 0) {
				snprintf(err, errlen, "out of memory");
				return -ENOMEM;
			}
			sd->sd_restarts = 0;
			return 0;
		}
		snprintf(err, errlen, "%s is %s already", sd->sd_conf.dc_name,
		    sd->sd_run == SUP_RUNNING ? "running" : "restarting");
		return -EALREADY;
	}
	if (device_start(sd, reset, err, errlen) < 0)
		return -EIO;
	log_info("%s: started (vhostd ctl %s)", sd->sd_conf.dc_name,
	    reset ? "reset" : "start");
	sup_notify_status(sd->sd_sup);
	return 0;
}

int
sup_reload_now(struct supervisor *sup, FILE *report)
{
	int	rc;

	if (sup->su_opt.so_reload == NULL) {
		fprintf(report, "nothing to reload without a configuration "
		    "file (-c)\n");
		return -ENOENT;
	}
	rc = sup->su_opt.so_reload(sup, sup->su_opt.so_reload_arg, report);
	sup_notify_status(sup);
	return rc;
}

