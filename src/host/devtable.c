/*
 * devtable.c - the supervisor's device table: what the parent opens for a
 * device before any fork (listener, device state, seccomp filter, socket-
 * activated fds), adding and freeing entries, sup_init and sup_fini.
 * Running the children is supervisor.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "../listener/listener.h"
#include "../util/log.h"
#include "childlog.h"
#include "ctl.h"
#include "devtable.h"
#include "restart.h"

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

void
sup_device_release(struct sup_device *sd)
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

int
sup_device_before_spawn(struct sup_device *sd)
{
	const struct device_type	*dt = sd->sd_conf.dc_type;
	int				 rc;

	if (dt->dt_spawn == NULL || sd->sd_state == NULL)
		return 0;
	if ((rc = dt->dt_spawn(sd->sd_state)) < 0 && rc != -EAGAIN)
		log_warnx("%s: not started: the device could not prepare "
		    "its files for a new child: %s", sd->sd_conf.dc_name,
		    strerror(-rc));
	return rc;
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

int
sup_check_devices(struct device_conf *devs, unsigned int ndev, char *err,
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
struct sup_device *
sup_device_add(struct supervisor *sup, struct device_conf *dc, char *err,
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
	if (restart_init(&sd->sd_restart, sup->su_opt.so_burst_count) < 0) {
		snprintf(err, errlen, "out of memory");
		config_device_free(&sd->sd_conf);
		free(sd);
		return NULL;
	}
	if (device_open(sd, &sup->su_opt, err, errlen) < 0) {
		restart_fini(&sd->sd_restart);
		sup_device_release(sd);
		config_device_free(&sd->sd_conf);
		free(sd);
		return NULL;
	}
	sup->su_dev[sup->su_ndev++] = sd;
	return sd;
}

void
sup_device_free(struct supervisor *sup, struct sup_device *sd)
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
	sup_device_release(sd);
	restart_fini(&sd->sd_restart);
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
	if ((rc = sup_check_devices(devs, ndev, err, errlen)) < 0)
		return rc;
	activated.n = listener_systemd_fds(activated.names, SUP_MAX_ACTIVATED);
	if (opt->so_jail.jc_enabled &&
	    (rc = jail_probe(&opt->so_jail, err, errlen)) < 0)
		return rc;
	for (i = 0; i < ndev; i++)
		if (sup_device_add(sup, &devs[i], err, errlen) == NULL) {
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
		sup_device_free(sup, sup->su_dev[sup->su_ndev - 1]);
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
