/*
 * host.h - the supervisor's device table and the state of one device, as
 * the files of src/host share them (supervisor.c runs the children,
 * devtable.c adds and frees entries, devopen.c opens them, ctl.c and
 * ctl_status.c report them).  Internal to src/host: nothing outside
 * includes it; main sees struct supervisor as an opaque handle
 * (supervisor.h).
 */
#ifndef VHOSTD_HOST_HOST_H
#define VHOSTD_HOST_HOST_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "../config.h"
#include "../listener/listener.h"
#include "restart.h"
#include "supervisor.h"

struct event;
struct event_base;
struct listener;
struct listener_retained;
struct childlog;
struct stats_dev;
struct ctl_conn;

enum sup_state {
	SUP_STOPPED,	/* not started yet, or stopped by vhostd ctl stop */
	SUP_RUNNING,	/* a child serves the listener */
	SUP_BACKOFF,	/* waiting to restart */
	SUP_FAILED,	/* burst limit hit: given up */
	SUP_DONE	/* exited, not restarted */
};

/* A compiled filter shared by the devices of one type (refcounted). */
struct sup_filter {
	struct policy_filter		*sf_filter;
	const struct device_type	*sf_type;
	unsigned int			 sf_refs;
};

struct sup_device {
	struct device_conf	 sd_conf;
	struct device_res	 sd_res;	/* what dt_open opened */
	struct listener		*sd_listener;
	struct listener_retained *sd_retained;
	/* The device's own listeners (DKF_LISTEN keys): their socket files */
	struct listener_retained *sd_key_retained[DEVICE_RES_FDS];
	/* Their paths' identities (listener_check_path). */
	struct listener_id	 sd_key_id[DEVICE_RES_FDS];
	/* A reload keeps the path: the running device's, at commit. */
	bool			 sd_key_take[DEVICE_RES_FDS];
	struct event		*sd_broker_ev;	/* on sd_res.dr_broker_fd */
	struct event		*sd_broker_pause;	/* dt_broker said wait */
	struct sup_filter	*sd_filter;
	struct supervisor	*sd_sup;
	enum sup_state		 sd_run;
	pid_t			 sd_pid;
	unsigned int		 sd_restarts;
	int			 sd_broker_watched;	/* sd_broker_ev's fd */
	struct timespec		 sd_started;	/* CLOCK_MONOTONIC */
	int64_t			 sd_served;	/* ratelimit_now() of the
						   child's "@state connected",
						   0: it has not served */
	struct sup_restart	 sd_restart;
	int			 sd_last_status;	/* wait status */
	struct event		*sd_timer;
	bool			 sd_fence_wait;	/* dt_spawn said -EAGAIN */
	bool			 sd_fence_warned;
	struct timespec		 sd_fence_since;
	bool			 sd_removing;	/* reload dropped or changed
						   it: stopping its child */
	struct childlog		*sd_log;	/* child's stderr */
	char			 sd_conn[16];	/* child's "@state" report */
	/*
	 * A reload changed it: the new device, opened and checked, not in
	 * the table; it takes this one's place once this one's child is
	 * gone (device_commit).
	 */
	struct sup_device	*sd_replacement;
	struct event		*sd_kill;	/* SIGKILL after the grace */
	struct stats_dev	*sd_stats;	/* counters (stats.h), made at
						   the first spawn */
	/* The socket path's identity (sd_has_sockid: socket= given). */
	struct listener_id	 sd_sockid;
	enum sup_ctl_op {
		SUP_CTL_NONE,
		SUP_CTL_STOP,		/* vhostd ctl stop: hold it stopped */
		SUP_CTL_RESTART		/* vhostd ctl restart: a new child */
	}			 sd_ctl;
	bool			 sd_has_sockid;
	/* A replacement: at the commit, take over prev's listener. */
	bool			 sd_take_listener;
	bool			 sd_opened;	/* holds its resources */
	bool			 sd_id_done;	/* sd_uid/sd_gid chosen */
	bool			 sd_id_taken;	/* sd_uid is from su_ids */
	uid_t			 sd_uid;	/* the child's ids (device_ids) */
	gid_t			 sd_gid;
};

struct supervisor {
	struct sup_options	 su_opt;
	struct event_base	*su_base;
	struct sup_device	**su_dev;	/* stable pointers */
	unsigned int		 su_ndev;
	unsigned int		 su_cap;
	int			 su_exe_fd;	/* vhostd's binary (O_PATH),
						   exec'd for each child; -1:
						   children are only cloned */
	struct jail_ids		*su_ids;	/* per-device uids, or NULL */
	struct sup_filter	**su_filters;	/* one per type in use */
	unsigned int		 su_nfilters;
	bool			 su_stopping;
	bool			 su_failed;	/* some device failed */
	bool			 su_check;	/* vhostd -n: bind nothing,
						   claim nothing */
	bool			 su_ids_shared;	/* said: the range is full */
	struct event		*su_sig[4];
	struct event		*su_grace;
	struct event		*su_watchdog;
	struct listener		*su_ctl;
	struct listener_retained *su_ctl_retained;
	struct event		*su_ctl_ev;
	struct ctl_conn		*su_ctl_wait;	/* requests that wait */
};

/*
 * Two devices may not share a socket path or a name.  0, or -EINVAL with
 * a message in err.  O(n log n).
 */
int	sup_check_devices(const struct device_conf *devs, unsigned int ndev,
	    char *err, size_t errlen);

/*
 * A device for dc (taken over, left empty), not opened and not in the
 * table.  NULL with err set.
 */
struct sup_device *sup_device_new(struct supervisor *sup,
	    struct device_conf *dc, char *err, size_t errlen);

/*
 * Open what the parent holds for sd (its listener, the device's
 * resources, its filter) and check it against the other devices of the
 * table (one socket, one image each).  prev: the running device sd is
 * to replace (a reload), whose listener sd takes over at the commit when
 * the socket is the same, and whose resources the device type may take
 * over (device_res dr_prev); prev is not changed.  With su_check, binds
 * nothing and claims nothing (vhostd -n).  Calling it again on a device
 * whose resources were released (failed, stopped) opens them again.
 * 0, or -errno with the message, starting with where the device was
 * configured ("f.conf:3: [name] ..."), in err; what was opened is
 * released again.
 */
int	sup_device_open(struct sup_device *sd, const struct sup_device *prev,
	    char *err, size_t errlen);

/* Append sd to the table.  0 or -ENOMEM. */
int	sup_device_insert(struct supervisor *sup, struct sup_device *sd);

/* sup_device_new, _open and _insert.  NULL with err set. */
struct sup_device *sup_device_add(struct supervisor *sup,
	    struct device_conf *dc, char *err, size_t errlen);

/* Release and free a device that is not in the table. */
void	sup_device_discard(struct sup_device *sd);

/* sd's index in the table, or -1. */
int	sup_device_index(const struct supervisor *sup,
	    const struct sup_device *sd);

/* The device called name, or NULL. */
struct sup_device *sup_device_find(const struct supervisor *sup,
	    const char *name);

/*
 * Close what the parent keeps for sd (log pipe, restart timer, listener,
 * device resources, filter; the socket file goes with the listener's
 * retained resources).  The entry stays in the table.
 */
void	sup_device_release(struct sup_device *sd);

/*
 * Right before sd's next child is cloned: the device's dt_spawn (fresh
 * open file descriptions of its files).  0 or -errno (logged): do not
 * start the child.
 */
int	sup_device_before_spawn(struct sup_device *sd);

/* Take sd out of the table, release and free it. */
void	sup_device_free(struct supervisor *sup, struct sup_device *sd);

/*
 * Where an error of sd's belongs (devopen.c): err gets the line of key
 * (a common key when common, else the type's) when it came from a file,
 * else where the device was configured, then the key's name and msg.
 */
void	sup_device_err(const struct sup_device *sd, int key, bool common,
	    char *err, size_t errlen, const char *msg);

/*
 * devlisten.c: open sd's DKF_LISTEN keys (their fds first in sd_res, in
 * key order), taking over prev's listener of the same path on a reload;
 * none in check mode.  0, or -errno with err set.  Release: the socket
 * files sd made (not those it is to take over).
 */
int	sup_key_listeners_open(struct sup_device *sd,
	    const struct sup_device *prev, char *err, size_t errlen);
void	sup_key_listeners_release(struct sup_device *sd);

/*
 * device_commit (reload.c): the DKF_LISTEN socket files sd took over
 * from prev (same path) become sd's; prev no longer removes them.
 */
int	sup_device_take_key_listeners(struct sup_device *sd,
	    struct sup_device *prev);

/*
 * Watch sd's broker channel (dr_broker_fd) for the child just started:
 * a new event when dt_spawn gave a fresh channel.  No-op for devices
 * without one.  0 or -errno (logged).
 */
int	sup_broker_watch(struct sup_device *sd);

/*
 * vhostd ctl start|stop|restart|reset NAME (supervisor.c).  start: a
 * device with no child gets one (its resources opened again if it had
 * released them); reset: the same after forgetting its failures (a
 * running one only forgets them).  stop: the child is stopped and the
 * device holds nothing until start (its socket is removed: front ends
 * are refused; a socket it inherited stays, and connections wait);
 * restart: a new child on the same socket.  0 when done, 1 when under
 * way (ctl_poke says when it is done), -errno with a message in err.
 */
int	sup_ctl_start(struct sup_device *sd, bool reset, char *err,
	    size_t errlen);
int	sup_ctl_stop(struct sup_device *sd, bool restart, char *err,
	    size_t errlen);

/* supervisor.c: clone sd's next child.  0 or -errno (logged). */
int	sup_device_spawn(struct sup_device *sd);
/* supervisor.c: tell systemd how the devices are doing (STATUS=). */
void	sup_notify_status(const struct supervisor *sup);
/* reload.c: SIGTERM to sd's child now, SIGKILL after the grace. */
void	sup_device_stop_child(struct sup_device *sd);
/*
 * reload.c: a device a reload removed or changed has no child any more:
 * free it, or put its replacement in its place.
 */
void	sup_device_retire(struct supervisor *sup, struct sup_device *sd);
/* reload.c: a child stopped by vhostd ctl stop is gone: hold the device. */
void	sup_device_hold(struct sup_device *sd);

/* Drop the filter cache: devices opened next compile their policy. */
void	sup_filters_forget(struct supervisor *sup);

/*
 * devopen.c: read the socket-activated fds and their names (LISTEN_FDS,
 * LISTEN_FDNAMES) once, for the devices opened next (sup_new).
 */
void	sup_activated_init(void);


#endif /* VHOSTD_HOST_HOST_H */
