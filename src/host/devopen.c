/*
 * devopen.c - what the parent opens for a device before any fork: its
 * listener (a socket path, an inherited fd, or a socket-activated fd
 * named after it), the device type's resources (dt_open, and dt_spawn
 * before each child), the ids its children run as, and the seccomp
 * filter shared by the devices of a type (compiled once per start or
 * reload); the check that no other device of the table holds the same
 * socket or files, and where an error of a device's belongs
 * (sup_device_err).  The table itself is devtable.c, the device's own
 * DKF_LISTEN listeners devlisten.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "../listener/listener.h"
#include "../util/fdinherit.h"
#include "../util/log.h"
#include "childlog.h"
#include "host.h"

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

void
sup_activated_init(void)
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
 * What sd's claim cl names, for a conflict: the key's value (a file as
 * it was given); an interface by its name too, as a tap-fd= number does
 * not say which tap it is.
 */
static void
claim_what(const struct sup_device *sd, const struct device_claim *cl,
    char *buf, size_t len)
{
	const char	*v = dev_opt_str(&sd->sd_conf.dc_opts, cl->cl_key);

	if (cl->cl_kind != DEVICE_CLAIM_IFACE)
		snprintf(buf, len, "%s", v != NULL ? v : "the same file");
	else if (v == NULL || strcmp(v, cl->cl_ifname) == 0)
		snprintf(buf, len, "interface %s", cl->cl_ifname);
	else
		snprintf(buf, len, "%s (interface %s)", v, cl->cl_ifname);
}

/*
 * Another device of the table (not sd, not prev) on sd's socket, or
 * claiming a file sd claims: say which (err) and return true.  O(n):
 * run for every device only by vhostd -n; at start and reload when
 * opening failed (a second bind or lock of our own is refused by the
 * kernel first), to name our own device instead of "another process",
 * and after every open of a device with an unlocked claim (a tap: the
 * kernel lets a second device attach, or adopt a tap fd), as only this
 * check refuses it.
 */
static bool
device_conflicts(const struct sup_device *sd, const struct sup_device *prev,
    char *err, size_t errlen)
{
	const struct supervisor		*sup = sd->sd_sup;
	const struct sup_device		*o;
	const struct device_claim	*ca, *cb;
	unsigned int			 i;
	char				 msg[512], what[320];

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
			claim_what(sd, ca, what, sizeof(what));
			snprintf(msg, sizeof(msg), "%s is used by device %s "
			    "(%s) too%s%s", what, o->sd_conf.dc_name,
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

/*
 * An inherited fd (fd=N, socket activation) as sd's listener: one vhostd
 * was started with and has not closed since, and no other device's (two
 * devices accepting on one socket serve each other's front ends).
 */
static int
listen_inherited(struct sup_device *sd, int fd, char *msg, size_t msglen)
{
	struct fdset	unused;
	int		rc;

	if ((rc = fd_inherited_check(fd)) < 0) {
		snprintf(msg, msglen, rc == -EBUSY ? "fd %d: the listener of "
		    "another device already (fd= or socket activation)" :
		    "fd %d: not a descriptor vhostd was started with", fd);
		return rc;
	}
	fdset_init(&unused);
	if ((rc = listener_new_fd(&sd->sd_listener, fd, &unused, msg,
	    msglen)) == 0)
		fd_inherited_take(fd);
	return rc;
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
		rc = listen_inherited(sd, dc->dc_fd, msg, sizeof(msg));
	} else if ((fd = activated_fd(dc->dc_name)) >= 0)
		rc = listen_inherited(sd, fd, msg, sizeof(msg));
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
	if ((sup->su_check || device_res_unlocked(&sd->sd_res)) &&
	    device_conflicts(sd, prev, err, errlen)) {
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
