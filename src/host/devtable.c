/*
 * devtable.c - the supervisor's device table: adding, finding and freeing
 * entries (the table grows by doubling), the checks across devices of a
 * configuration (one socket and one name each), sup_new, sup_free and
 * sup_check (vhostd -n).  What the parent opens for each device is
 * devopen.c; running the children is supervisor.c.  No fixed number of
 * devices, and nothing quadratic in it at start-up or shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "../util/log.h"
#include "ctl.h"
#include "host.h"
#include "stats.h"

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

/* qsort: device configurations by socket path (NULL last), by name. */
static int
by_socket(const void *a, const void *b)
{
	const struct device_conf	*x = *(const struct device_conf *const *)a;
	const struct device_conf	*y = *(const struct device_conf *const *)b;

	if (x->dc_socket == NULL || y->dc_socket == NULL)
		return (x->dc_socket == NULL) - (y->dc_socket == NULL);
	return strcmp(x->dc_socket, y->dc_socket);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp((*(const struct device_conf *const *)a)->dc_name,
	    (*(const struct device_conf *const *)b)->dc_name);
}

int
sup_check_devices(const struct device_conf *devs, unsigned int ndev,
    char *err, size_t errlen)
{
	const struct device_conf	**v, *x, *y;
	unsigned int			  i;
	int				  rc = 0;

	if (ndev < 2)
		return 0;
	/* An array of pointers, on purpose. */
	if ((v = calloc(ndev,
	    sizeof(*v))) == NULL) { /* NOLINT(bugprone-sizeof-expression) */
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < ndev; i++)
		v[i] = &devs[i];
	qsort(v, ndev,
	    sizeof(*v), by_socket); /* NOLINT(bugprone-sizeof-expression) */
	for (i = 0; i + 1 < ndev && rc == 0; i++) {
		x = v[i];
		y = v[i + 1];
		/* Two devices on one path would unlink each other's. */
		if (x->dc_socket != NULL && y->dc_socket != NULL &&
		    strcmp(x->dc_socket, y->dc_socket) == 0) {
			/* In the order given, as the message always was. */
			if (x > y) {
				x = v[i + 1];
				y = v[i];
			}
			snprintf(err, errlen, "%s and %s use the same socket "
			    "%s", x->dc_name, y->dc_name, x->dc_socket);
			rc = -EINVAL;
		}
	}
	qsort(v, ndev,
	    sizeof(*v), by_name); /* NOLINT(bugprone-sizeof-expression) */
	for (i = 0; i + 1 < ndev && rc == 0; i++)
		if (strcmp(v[i]->dc_name, v[i + 1]->dc_name) == 0) {
			snprintf(err, errlen, "two devices are named '%s'; "
			    "give each a name=", v[i]->dc_name);
			rc = -EINVAL;
		}
	free(v);
	return rc;
}

struct sup_device *
sup_device_new(struct supervisor *sup, struct device_conf *dc, char *err,
    size_t errlen)
{
	struct sup_device	*sd;

	if ((sd = calloc(1, sizeof(*sd))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sd->sd_conf = *dc;
	memset(dc, 0, sizeof(*dc));
	sd->sd_sup = sup;
	sd->sd_broker_watched = -1;
	device_res_init(&sd->sd_res);
	if (restart_init(&sd->sd_restart, sup->su_opt.so_burst_count) < 0) {
		snprintf(err, errlen, "out of memory");
		config_device_free(&sd->sd_conf);
		free(sd);
		return NULL;
	}
	return sd;
}

int
sup_device_insert(struct supervisor *sup, struct sup_device *sd)
{
	struct sup_device	**nd;
	unsigned int		  cap;

	if (sup->su_ndev == sup->su_cap) {
		/* Doubling: adding n devices costs O(n). */
		cap = sup->su_cap < 16 ? 16 : sup->su_cap * 2;
		/* An array of pointers, on purpose. */
		nd = reallocarray(sup->su_dev, cap,
		    sizeof(*nd)); /* NOLINT(bugprone-sizeof-expression) */
		if (nd == NULL)
			return -ENOMEM;
		sup->su_dev = nd;
		sup->su_cap = cap;
	}
	sup->su_dev[sup->su_ndev++] = sd;
	return 0;
}

void
sup_device_discard(struct sup_device *sd)
{
	if (sd == NULL)
		return;
	if (sd->sd_kill != NULL)
		event_free(sd->sd_kill);
	sup_device_release(sd);
	restart_fini(&sd->sd_restart);
	if (sd->sd_id_taken)
		jail_ids_put(sd->sd_sup->su_ids, sd->sd_uid);
	config_device_free(&sd->sd_conf);
	sup_device_discard(sd->sd_replacement);
	stats_dev_free(sd->sd_stats);
	free(sd);
}

/* Add a device (taking its configuration) and open its resources. */
struct sup_device *
sup_device_add(struct supervisor *sup, struct device_conf *dc, char *err,
    size_t errlen)
{
	struct sup_device	*sd;

	if ((sd = sup_device_new(sup, dc, err, errlen)) == NULL)
		return NULL;
	if (sup_device_open(sd, NULL, err, errlen) < 0) {
		sup_device_discard(sd);
		return NULL;
	}
	if (sup_device_insert(sup, sd) < 0) {
		snprintf(err, errlen, "out of memory");
		sup_device_discard(sd);
		return NULL;
	}
	return sd;
}

int
sup_device_index(const struct supervisor *sup, const struct sup_device *sd)
{
	unsigned int	i;

	/* From the end: sup_free empties the table in O(n). */
	for (i = sup->su_ndev; i > 0; i--)
		if (sup->su_dev[i - 1] == sd)
			return (int)i - 1;
	return -1;
}

struct sup_device *
sup_device_find(const struct supervisor *sup, const char *name)
{
	unsigned int	i;

	for (i = 0; i < sup->su_ndev; i++)
		if (strcmp(sup->su_dev[i]->sd_conf.dc_name, name) == 0)
			return sup->su_dev[i];
	return NULL;
}

void
sup_device_free(struct supervisor *sup, struct sup_device *sd)
{
	int	i;

	if ((i = sup_device_index(sup, sd)) < 0) {
		/* Never freed while out of the table: keep it, say so. */
		log_warnx("%s: %s is not in the device table", __func__,
		    sd->sd_conf.dc_name);
		return;
	}
	memmove(&sup->su_dev[i], &sup->su_dev[i + 1], (sup->su_ndev -
	    (unsigned int)i - 1) *
	    sizeof(sup->su_dev[0])); /* NOLINT(bugprone-sizeof-expression) */
	sup->su_ndev--;
	sup_device_discard(sd);
}

/*
 * Each device costs the parent a few descriptors (listener, its
 * directory, the child's log pipe, the device's files): a host with many
 * devices needs more than the usual soft limit of 1024.  Raise it to the
 * hard limit; the children get the jail's own tight limit.
 */
static void
nofile_raise(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_debug("%s: setrlimit: %s", __func__, strerror(errno));
}

/* A supervisor with opt and no device yet (sup_new, sup_check). */
static struct supervisor *
sup_alloc(const struct sup_options *opt, bool check, char *err,
    size_t errlen)
{
	struct supervisor	*sup;

	if ((sup = calloc(1, sizeof(*sup))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sup->su_opt = *opt;
	sup->su_check = check;
	sup->su_exe_fd = -1;
	if (opt->so_jail.jc_enabled &&
	    jail_probe(&opt->so_jail, err, errlen) < 0) {
		free(sup);
		return NULL;
	}
	/* vhostd -n runs no child: it checks user= only. */
	if (!check)
		sup->su_ids = jail_ids_new(&opt->so_jail);
	return sup;
}

struct supervisor *
sup_new(const struct sup_options *opt, struct device_conf *devs,
    unsigned int ndev, char *err, size_t errlen)
{
	struct supervisor	*sup;
	unsigned int		 i;

	/* With a configuration file: start and wait for a reload. */
	if (ndev == 0 && opt->so_reload == NULL) {
		snprintf(err, errlen, "no device given (use --device TYPE,"
		    "socket=PATH)");
		return NULL;
	}
	if (sup_check_devices(devs, ndev, err, errlen) < 0)
		return NULL;
	nofile_raise();
	sup_activated_init();
	if ((sup = sup_alloc(opt, false, err, errlen)) == NULL)
		return NULL;
	/*
	 * The binary each child execs (fresh load addresses, no copy of the
	 * parent's heap), opened now: a child may not see the same file
	 * system by the time it execs.
	 */
	if ((sup->su_exe_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC)) < 0)
		log_warnx("cannot open /proc/self/exe (%s): device children "
		    "are cloned from the parent, not exec'd", strerror(errno));
	for (i = 0; i < ndev; i++)
		if (sup_device_add(sup, &devs[i], err, errlen) == NULL) {
			sup_free(sup);
			return NULL;
		}
	sup_filters_forget(sup);
	if (ndev == 0)
		log_warnx("no device in the configuration; waiting for a "
		    "reload (SIGHUP, vhostd ctl reload)");
	return sup;
}

void
sup_free(struct supervisor *sup)
{
	unsigned int	i;

	if (sup == NULL)
		return;
	while (sup->su_ndev > 0)
		sup_device_free(sup, sup->su_dev[sup->su_ndev - 1]);
	sup_filters_forget(sup);
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
	jail_ids_free(sup->su_ids);
	close_reset(&sup->su_exe_fd);
	free(sup);
}

/*
 * vhostd -n: the devices are opened as sup_new opens them (the same
 * functions), in check mode: nothing bound, nothing locked, every device
 * compared with the ones before it; every error is reported, not only
 * the first.
 */
int
sup_check(const struct sup_options *opt, struct device_conf *devs,
    unsigned int ndev, bool have_file)
{
	struct supervisor	*sup;
	struct sup_device	*sd;
	char			 err[1024];
	unsigned int		 i;
	int			 bad = 0;

	if (ndev == 0 && !have_file) {
		fprintf(stderr, "no device given (use --device TYPE,"
		    "socket=PATH)\n");
		return 1;
	}
	if (sup_check_devices(devs, ndev, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		bad = 1;
	}
	if ((sup = sup_alloc(opt, true, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		for (i = 0; i < ndev; i++)
			config_device_free(&devs[i]);
		return 1;
	}
	for (i = 0; i < ndev; i++) {
		if ((sd = sup_device_new(sup, &devs[i], err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "%s\n", err);
			bad = 1;
			continue;
		}
		if (sup_device_open(sd, NULL, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			bad = 1;
		}
		/* Kept, also when it failed: the next ones compare with it. */
		if (sup_device_insert(sup, sd) < 0) {
			fprintf(stderr, "out of memory\n");
			sup_device_discard(sd);
			bad = 1;
		}
	}
	for (i = 0; i < ndev; i++)
		config_device_free(&devs[i]);
	if (!bad && ndev == 0)
		printf("configuration OK: no device; vhostd starts and waits "
		    "for a reload\n");
	else if (!bad)
		printf("configuration OK: %u device(s)\n", ndev);
	sup_free(sup);
	return bad;
}
