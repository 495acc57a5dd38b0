/*
 * supervisor.h - the privileged parent: device table, spawn, reap, restart
 * with back-off, reload, shutdown.  Only src/host forks and waits.  The
 * table is private to src/host (host.h): callers hold an opaque handle.
 */
#ifndef VHOSTD_HOST_SUPERVISOR_H
#define VHOSTD_HOST_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../config.h"
#include "jail.h"
#include "policy.h"

struct supervisor;

struct sup_options {
	struct jail_config	 so_jail;
	enum policy_mode	 so_seccomp;
	const char		*so_policy_dir;
	unsigned int		 so_grace_ms;	/* SIGTERM -> SIGKILL */
	unsigned int		 so_burst_count;	/* failures ... */
	unsigned int		 so_burst_secs;	/* ... within this window */
	int			 so_ready_fd;	/* --ready-fd, or -1 */
	const char		*so_control;	/* --control PATH, or NULL */
	/*
	 * SIGHUP or vhostd ctl reload: called from the loop with the
	 * supervisor; it reads the configuration again and hands it over
	 * with sup_reload(), passing report on (NULL for SIGHUP; vhostd ctl
	 * gets what is written there).  <0 when something could not be
	 * applied.  NULL: nothing to reload (no configuration file).  A
	 * supervisor with a reload callback keeps running when no device is
	 * left, waiting for the next reload.
	 */
	int			(*so_reload)(struct supervisor *sup, void *arg,
				    FILE *report);
	void			*so_reload_arg;
};

/* Defaults for options (jail defaults, kill mode, 5 s grace). */
void	sup_options_init(struct sup_options *opt);

/*
 * The seccomp filter of device type dt: TYPE.policy in the policy
 * directory, compiled for opt's mode, or, when there is none, TYPE.bpf, a
 * precompiled filter (kill mode only).  NULL with a message in err.
 */
struct policy_filter *sup_policy_load(const struct sup_options *opt,
	    const struct device_type *dt, char *err, size_t errlen);

/*
 * vhostd -n: everything start-up checks, through the same functions,
 * without creating sockets, taking locks or starting children: the jail's
 * features, names unique, each socket path (its directory exists, what
 * is there is a socket or nothing), one socket and one image per device
 * however the paths are spelt, device options and resources (dt_open in
 * check-only mode), every policy.  Every error goes to stderr.  Frees the
 * device configurations.  No device is fine with a configuration file
 * (have_file: vhostd starts and waits for a reload).  0 when all is well,
 * else 1.
 */
int	sup_check(const struct sup_options *opt, struct device_conf *devs,
	    unsigned int ndev, bool have_file);

/*
 * Take ownership of the parsed devices (each entry of devs is left
 * empty), open every listener and device resource and compile every
 * policy.  Any number of devices.  On error writes a message to err and
 * returns NULL; nothing is left behind (sockets created are removed).
 */
struct supervisor *sup_new(const struct sup_options *opt,
	    struct device_conf *devs, unsigned int ndev, char *err,
	    size_t errlen);

/*
 * Apply a re-read configuration (from the so_reload callback), device by
 * device, each as a transaction: devices added are opened and started;
 * devices removed are stopped and their sockets removed; a changed
 * device's new configuration is opened and checked (its socket, files,
 * policy) while it runs on, and only then is its child stopped and the
 * new device put in its place (the same listening socket when the path
 * is unchanged; the image lock taken over), so that any error leaves the
 * running device as it was; unchanged ones are left alone, except a
 * device that was given up (failed), which is started again.  Takes the
 * device configurations out of devs (entries left empty).  Each outcome
 * is logged, and written to report when not NULL.  Returns how many
 * devices changed, or -errno when some change could not be made.
 */
int	sup_reload(struct supervisor *sup, struct device_conf *devs,
	    unsigned int ndev, FILE *report);

/* Run the reload callback now (vhostd ctl reload).  Its result. */
int	sup_reload_now(struct supervisor *sup, FILE *report);

/* Fork every device child and run the loop until shutdown.  Exit status. */
int	sup_run(struct supervisor *sup);

/* Release everything (sockets unlinked if still ours), free sup. */
void	sup_free(struct supervisor *sup);

/*
 * vhostd SUP_CHILD_ARG N: an exec'd device child (the supervisor runs
 * it; N is the descriptor of its resources).  main calls
 * sup_child_exec_main(argc, argv) first thing when argv[1] is
 * SUP_CHILD_ARG; it never returns.
 */
#define SUP_CHILD_ARG	"--device-child"
__attribute__((noreturn)) void sup_child_exec_main(int argc, char *argv[]);

/*
 * Exit codes of a device child (besides jail_enter's JAIL_EXIT_*), and the
 * class each one belongs to (see enum sup_exit_class, vhostd(8) EXIT
 * CLASSES).  A child that dies by a signal is a device fault.
 */
#define CHILD_EXIT_OK		0	/* front end disconnected */
#define CHILD_EXIT_FAILURE	1	/* internal error: device fault */
#define CHILD_EXIT_PROTOCOL	2	/* front end broke the protocol */
#define CHILD_EXIT_INIT		3	/* device init failed: device fault */
#define CHILD_EXIT_MEMORY	4	/* guest memory truncated under the
					   device (SIGBUS): front-end fault */
#define CHILD_EXIT_TIMEOUT	5	/* front end stalled mid-message:
					   front-end fault */

/* Why a child ended; only device faults and jail failures are counted. */
enum sup_exit_class {
	SUP_EXIT_DISCONNECT,	/* front end went away; a clean end */
	SUP_EXIT_FRONTEND,	/* the front end misbehaved */
	SUP_EXIT_DEVICE,	/* crash, internal error */
	SUP_EXIT_JAIL,		/* a jail step failed */
	SUP_EXIT_STOPPED	/* the parent stopped it (SIGTERM, reload) */
};

#endif /* VHOSTD_HOST_SUPERVISOR_H */
