/*
 * devtable.c - the supervisor's device table: what the parent opens for a
 * device before any fork (listener, device resources, the seccomp filter
 * shared by devices of a type, socket-activated fds), adding and freeing
 * entries, sup_new, sup_free and sup_check (vhostd -n).  Running the
 * children is supervisor.c.  No fixed number of devices, and nothing
 * quadratic in it at start-up or shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "../listener/listener.h"
#include "../util/fdinherit.h"
#include "../util/log.h"
#include "childlog.h"
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

static void	filter_put(struct supervisor *, struct sup_filter *);

void
sup_device_release(struct sup_device *sd)
{
	sd->sd_opened = false;
	if (sd->sd_broker_pause != NULL) {
		event_free(sd->sd_broker_pause);
		sd->sd_broker_pause = NULL;
	}
	if (sd->sd_broker_ev != NULL) {
		event_free(sd->sd_broker_ev);
		sd->sd_broker_ev = NULL;
	}
	sd->sd_broker_watched = -1;
	childlog_free(sd->sd_log);
	sd->sd_log = NULL;
	if (sd->sd_timer != NULL) {
		event_free(sd->sd_timer);
		sd->sd_timer = NULL;
	}
	device_res_release(sd->sd_conf.dc_type, &sd->sd_res);
	listener_free(sd->sd_listener);
	sd->sd_listener = NULL;
	listener_retained_release(sd->sd_retained);
	sd->sd_retained = NULL;
	sup_key_listeners_release(sd);
	filter_put(sd->sd_sup, sd->sd_filter);
	sd->sd_filter = NULL;
}

/*
 * systemd socket activation: the passed fds and their names, as many as
 * LISTEN_FDS says (read once, at the first sup_new).
 */
static struct {
	int		 n;
	const char	**names;
	bool		*used;
} activated;

static void
activated_init(void)
{
	const char	*v = getenv("LISTEN_FDS");
	uint64_t	 n;
	int		 max;

	if (activated.names != NULL)
		return;
	max = v != NULL && parse_u64(v, 1, 65536, &n) == 0 ? (int)n : 0;
	activated.names = calloc((size_t)max + 1, sizeof(*activated.names));
	activated.used = calloc((size_t)max + 1, sizeof(*activated.used));
	if (activated.names == NULL || activated.used == NULL) {
		log_warnx("socket activation: out of memory");
		return;
	}
	activated.n = listener_systemd_fds(activated.names, max);
	if (activated.n > max)
		activated.n = max;
}

/*
 * The socket-activated fd for the device called name: the one whose
 * LISTEN_FDNAMES entry (FileDescriptorName=) is name, else the only one
 * passed.  -1 if none.
 */
static int
activated_fd(const char *name)
{
	int	i;

	if (activated.names == NULL)
		return -1;
	for (i = 0; i < activated.n; i++)
		if (!activated.used[i] && activated.names[i] != NULL &&
		    strcmp(activated.names[i], name) == 0)
			break;
	if (i == activated.n && activated.n == 1 && !activated.used[0])
		i = 0;
	if (i >= activated.n)
		return -1;
	activated.used[i] = true;
	return 3 + i;
}

/*
 * The filter of type dt, compiled once for every device of that type
 * opened since the last filter_forget() (start-up, one reload): 1000
 * devices are not 1000 compilations, nor 1000 copies.
 */
static struct sup_filter *
filter_get(struct supervisor *sup, const struct device_type *dt,
    char *err, size_t errlen)
{
	struct sup_filter	**nf, *sf;
	unsigned int		  i;

	for (i = 0; i < sup->su_nfilters; i++)
		if (sup->su_filters[i]->sf_type == dt) {
			sup->su_filters[i]->sf_refs++;
			return sup->su_filters[i];
		}
	if ((sf = calloc(1, sizeof(*sf))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((sf->sf_filter = sup_policy_load(&sup->su_opt, dt, err,
	    errlen)) == NULL) {
		free(sf);
		return NULL;
	}
	/* An array of pointers, on purpose. */
	nf = reallocarray(sup->su_filters, sup->su_nfilters + 1,
	    sizeof(*nf)); /* NOLINT(bugprone-sizeof-expression) */
	if (nf == NULL) {
		policy_filter_free(sf->sf_filter);
		free(sf);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sup->su_filters = nf;
	sf->sf_type = dt;
	sf->sf_refs = 2;	/* the device's and the cache's */
	sup->su_filters[sup->su_nfilters++] = sf;
	return sf;
}

static void
filter_put(struct supervisor *sup, struct sup_filter *sf)
{
	if (sf == NULL || --sf->sf_refs > 0)
		return;
	policy_filter_free(sf->sf_filter);
	free(sf);
}

/*
 * Drop the cache's references: the next device compiles its policy
 * again (a reload picks up edited policy files).
 */
void
sup_filters_forget(struct supervisor *sup)
{
	unsigned int	i;

	for (i = 0; i < sup->su_nfilters; i++)
		filter_put(sup, sup->su_filters[i]);
	free(sup->su_filters);
	sup->su_filters = NULL;
	sup->su_nfilters = 0;
}

/*
 * Where an error of sd's belongs: the line of the key at fault when it
 * came from a file ("f.conf:6"), else where the device was configured
 * ("f.conf:3", "--device").  The message then names the key.
 */
void
sup_device_err(const struct sup_device *sd, int key, bool common, char *err,
    size_t errlen, const char *msg)
{
	const struct device_conf	*dc = &sd->sd_conf;
	const struct dev_value		*v = NULL;
	const struct dev_key		*k = NULL;

	if (key >= 0 && common && key < CK_COUNT) {
		v = &dc->dc_common[key];
		k = &config_common_keys[key];
	} else if (key >= 0 && !common && (unsigned int)key <
	    dc->dc_opts.do_nkeys) {
		v = &dc->dc_opts.do_val[key];
		k = &dc->dc_opts.do_keys[key];
	}
	if (v != NULL && v->dv_src[0] != '\0')
		snprintf(err, errlen, "%s: [%s] %s: %s", v->dv_src,
		    dc->dc_name, k->dk_name, msg);
	else if (k != NULL)
		snprintf(err, errlen, "%s: [%s] %s: %s", dc->dc_where,
		    dc->dc_name, k->dk_name, msg);
	else
		snprintf(err, errlen, "%s: [%s] %s", dc->dc_where,
		    dc->dc_name, msg);
}

/*
 * Another device of the table (not sd, not prev) on sd's socket, or
 * claiming a file sd claims: say which (err) and return true.  O(n):
 * run for every device only by vhostd -n; at start and reload only
 * when opening failed (a second bind or lock of our own is refused by
 * the kernel first), to name our own device instead of "another
 * process".
 */
static bool
device_conflicts(const struct sup_device *sd, const struct sup_device *prev,
    char *err, size_t errlen)
{
	const struct supervisor		*sup = sd->sd_sup;
	const struct sup_device		*o;
	const struct device_claim	*ca, *cb;
	unsigned int			 i;
	char				 msg[512];

	for (i = 0; i < sup->su_ndev; i++) {
		o = sup->su_dev[i];
		if (o == sd || o == prev)
			continue;
		if (sd->sd_has_sockid && o->sd_has_sockid &&
		    listener_id_equal(&sd->sd_sockid, &o->sd_sockid)) {
			snprintf(msg, sizeof(msg), "%s is the socket of device "
			    "%s (%s) too; give each device its own",
			    sd->sd_conf.dc_socket, o->sd_conf.dc_name,
			    o->sd_conf.dc_where);
			sup_device_err(sd, CK_SOCKET, true, err, errlen, msg);
			return true;
		}
		if (o->sd_conf.dc_type == sd->sd_conf.dc_type &&
		    device_res_conflict(&sd->sd_res, &o->sd_res, &ca, &cb)) {
			snprintf(msg, sizeof(msg), "%s is used by device %s "
			    "(%s) too%s%s", dev_opt_str(&sd->sd_conf.dc_opts,
			    ca->cl_key) != NULL ? dev_opt_str(&sd->sd_conf.dc_opts,
			    ca->cl_key) : "the same file", o->sd_conf.dc_name,
			    o->sd_conf.dc_where, ca->cl_hint != NULL ? "; " : "",
			    ca->cl_hint != NULL ? ca->cl_hint : "");
			sup_device_err(sd, (int)ca->cl_key, false, err, errlen,
			    msg);
			return true;
		}
	}
	return false;
}

/*
 * The ids sd's children run as, chosen once per device (a device opened
 * again after a stop keeps them): user= of the device; else the id of
 * prev, the device sd replaces in a reload (the same name: its uid stays);
 * else one of the range of its own (jail_ids.c), stable for its name;
 * else the jail's (--user, or the default user when per-device ids do
 * not apply).  Given back when sd is discarded.
 */
static int
device_ids(struct sup_device *sd, const struct sup_device *prev, char *err,
    size_t errlen)
{
	struct supervisor	*sup = sd->sd_sup;
	struct jail_config	 jc = sup->su_opt.so_jail;
	const char		*user = sd->sd_conf.dc_user;
	char			 msg[256];
	uint32_t		 id;
	int			 rc;

	if (sd->sd_id_done)
		return 0;
	if (user != NULL) {
		if (jail_config_set_user(&jc, user, msg, sizeof(msg)) < 0) {
			sup_device_err(sd, CK_USER, true, err, errlen, msg);
			return -EINVAL;
		}
	} else if (sup->su_ids != NULL && prev != NULL && prev->sd_id_taken) {
		jail_ids_hold(sup->su_ids, prev->sd_uid);
		jc.jc_uid = prev->sd_uid;
		jc.jc_gid = prev->sd_gid;
		sd->sd_id_taken = true;
	} else if (sup->su_ids != NULL &&
	    (rc = jail_ids_take(sup->su_ids, sd->sd_conf.dc_name, &id)) >= 0) {
		if (rc == 1 && !sup->su_ids_shared) {
			log_warnx("%s: every uid of the range is in use: "
			    "devices share uids from now on (their io_uring "
			    "workers then count together); give a larger "
			    "--uid-range", sd->sd_conf.dc_name);
			sup->su_ids_shared = true;
		}
		jc.jc_uid = id;
		jc.jc_gid = id;
		sd->sd_id_taken = true;
	} else if (sup->su_ids != NULL && !sup->su_ids_shared) {
		log_warnx("%s: the system uses every uid of the range: the "
		    "device runs as uid %u; give another --uid-range",
		    sd->sd_conf.dc_name, (unsigned int)jc.jc_uid);
		sup->su_ids_shared = true;
	}
	sd->sd_uid = jc.jc_uid;
	sd->sd_gid = jc.jc_gid;
	sd->sd_id_done = true;
	return 0;
}

/* Whether prev's listener serves what sd's configuration asks for. */
static bool
same_listen_source(const struct sup_device *sd, const struct sup_device *prev)
{
	const struct device_conf	*a = &sd->sd_conf, *b = &prev->sd_conf;

	if (prev->sd_listener == NULL ||
	    listener_is_connected(prev->sd_listener))
		return false;
	if (a->dc_socket != NULL)
		return b->dc_socket != NULL && sd->sd_has_sockid &&
		    prev->sd_has_sockid &&
		    listener_id_equal(&sd->sd_sockid, &prev->sd_sockid);
	if (a->dc_fd >= 0)
		return b->dc_socket == NULL && b->dc_fd == a->dc_fd;
	/* Socket activation: the fd named after the device. */
	return b->dc_socket == NULL && b->dc_fd < 0;
}

/* Open sd's listener (none in check mode).  0 or -errno, message set. */
static int
device_listen(struct sup_device *sd, const struct sup_device *prev,
    char *err, size_t errlen)
{
	struct device_conf	*dc = &sd->sd_conf;
	struct fdset		 unused;
	char			 msg[512];
	int			 rc, fd, key = CK_SOCKET;

	if (dc->dc_socket != NULL) {
		rc = listener_check_path(dc->dc_socket, &sd->sd_sockid, msg,
		    sizeof(msg));
		if (rc < 0) {
			sup_device_err(sd, CK_SOCKET, true, err, errlen, msg);
			return rc;
		}
		sd->sd_has_sockid = true;
		if (sd->sd_sup->su_check && device_conflicts(sd, NULL, err,
		    errlen))
			return -EADDRINUSE;
		if (sd->sd_sup->su_check && rc == 1)
			fprintf(stderr, "%s: [%s] note: %s is served now (by a "
			    "running vhostd of this configuration, or "
			    "another process): a start refuses it, a reload "
			    "keeps it\n", dc->dc_where, dc->dc_name,
			    dc->dc_socket);
	}
	if (prev != NULL && same_listen_source(sd, prev)) {
		sd->sd_take_listener = true;
		return 0;
	}
	if (sd->sd_sup->su_check)
		return 0;
	/* The child's keep list is built from the listener and sd_res. */
	fdset_init(&unused);
	if (sd->sd_listener != NULL)
		return 0;	/* inherited, kept while stopped */
	if (dc->dc_socket != NULL)
		rc = listener_new_path(&sd->sd_listener, dc->dc_socket,
		    dc->dc_mode, dc->dc_gid, &unused, msg, sizeof(msg));
	else if (dc->dc_fd >= 0) {
		key = CK_FD;
		/* Another device's listener, the control socket: never. */
		if ((rc = fd_inherited_check(dc->dc_fd)) < 0)
			snprintf(msg, sizeof(msg), "fd %d: not a descriptor "
			    "vhostd was started with", dc->dc_fd);
		else
			rc = listener_new_fd(&sd->sd_listener, dc->dc_fd,
			    &unused, msg, sizeof(msg));
	} else if ((fd = activated_fd(dc->dc_name)) >= 0)
		rc = listener_new_fd(&sd->sd_listener, fd, &unused, msg,
		    sizeof(msg));
	else {
		snprintf(msg, sizeof(msg), "no socket=PATH or fd=N, and no "
		    "socket-activated fd named '%s' (LISTEN_FDNAMES)",
		    dc->dc_name);
		sup_device_err(sd, -1, true, err, errlen, msg);
		return -EINVAL;
	}
	if (rc < 0) {
		if (!device_conflicts(sd, prev, err, errlen))
			sup_device_err(sd, key, true, err, errlen, msg);
		return rc;
	}
	sd->sd_retained = listener_take_parent_resources(sd->sd_listener);
	return 0;
}

int
sup_device_open(struct sup_device *sd, const struct sup_device *prev,
    char *err, size_t errlen)
{
	const struct device_type	*dt = sd->sd_conf.dc_type;
	struct device_conf		*dc = &sd->sd_conf;
	struct supervisor		*sup = sd->sd_sup;
	char				 msg[512];
	int				 rc;

	bool				 had_listener = sd->sd_listener != NULL;

	if ((rc = device_listen(sd, prev, err, errlen)) < 0 ||
	    (rc = device_ids(sd, prev, err, errlen)) < 0)
		goto fail;
	msg[0] = '\0';
	device_res_release(dt, &sd->sd_res);
	sup_key_listeners_release(sd);
	if ((rc = sup_key_listeners_open(sd, prev, err, errlen)) < 0)
		goto fail;
	/* What the device type may take over from the device it replaces. */
	sd->sd_res.dr_prev = prev != NULL && prev->sd_conf.dc_type == dt ?
	    &prev->sd_res : NULL;
	rc = dt->dt_open(&dc->dc_opts, sup->su_check, &sd->sd_res, msg,
	    sizeof(msg));
	sd->sd_res.dr_prev = NULL;
	if (rc < 0) {
		if (!device_conflicts(sd, prev, err, errlen))
			sup_device_err(sd, sd->sd_res.dr_errkey, false, err, errlen,
			    msg);
		goto fail;
	}
	if (sup->su_check && device_conflicts(sd, prev, err, errlen)) {
		rc = -EBUSY;
		goto fail;
	}
	if (sup->su_opt.so_jail.jc_enabled && sd->sd_filter == NULL) {
		sd->sd_filter = filter_get(sup, dt, msg, sizeof(msg));
		if (sd->sd_filter == NULL) {
			snprintf(err, errlen, "%s: [%s] seccomp policy: %s",
			    dc->dc_where, dc->dc_name, msg);
			rc = -EINVAL;
			goto fail;
		}
	}
	sd->sd_opened = true;
	return 0;
fail:
	sd->sd_take_listener = false;
	device_res_release(dt, &sd->sd_res);
	sup_key_listeners_release(sd);
	filter_put(sup, sd->sd_filter);
	sd->sd_filter = NULL;
	/* An inherited listener a stopped device kept stays with it. */
	if (!had_listener) {
		listener_free(sd->sd_listener);
		sd->sd_listener = NULL;
		listener_retained_release(sd->sd_retained);
		sd->sd_retained = NULL;
	}
	return rc;
}

int
sup_device_before_spawn(struct sup_device *sd)
{
	const struct device_type	*dt = sd->sd_conf.dc_type;
	int				 rc;

	if (dt->dt_spawn == NULL)
		return 0;
	if ((rc = dt->dt_spawn(&sd->sd_res)) < 0 && rc != -EAGAIN)
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
	activated_init();
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
