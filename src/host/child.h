/*
 * child.h - what a device child gets from the supervisor: a small struct
 * of plain values and descriptors, not the supervisor's record of the
 * device.  Internal to src/host.
 */
#ifndef VHOSTD_HOST_CHILD_H
#define VHOSTD_HOST_CHILD_H

#include "../devices/device.h"
#include "jail.h"

struct policy_filter;

struct child_args {
	const char			*ca_name;	/* for log lines */
	const struct device_type	*ca_type;
	int				 ca_listen_fd;
	int				 ca_log_fd;	/* becomes stderr */
	struct device_child_res		 ca_res;	/* the device's */
	/* The jail with the device's rlimits applied (child_args_init). */
	struct jail_config		 ca_jail;
	const struct policy_filter	*ca_filter;	/* NULL: none */
	/*
	 * The memfd of the child's counters (struct ctr_region, sealed
	 * against resizing; stats.c), mapped by the child before its jail
	 * and closed; -1: the child counts nothing.
	 */
	int				 ca_stats_fd;
};

/*
 * Fill ca for a child of type dt: the jail of jc with dt's rlimits and
 * res's file size limit, the descriptors and data of res as the child
 * will have them (the same numbers: the child is cloned).
 */
void	child_args_init(struct child_args *ca, const char *name,
	    const struct device_type *dt, const struct jail_config *jc,
	    const struct device_res *res, int listen_fd, int log_fd,
	    const struct policy_filter *filter);

/*
 * Child: map the counters memfd fd (read-write, shared) if it is what the
 * parent makes (the size of struct ctr_region, sealed against resizing)
 * and close it.  The region, or NULL (fd < 0, or not a region).
 */
struct ctr_region *child_counters_map(int fd);

/*
 * Child, first thing after clone: renumber the kept descriptors to 3..n,
 * pass ca's plain values through a sealed memfd and exec the vhostd
 * binary open at exe_fd in child mode (child_exec.c); the new image runs
 * child_main.  Never returns (exits on failure).
 */
__attribute__((noreturn)) void child_exec(const struct child_args *ca,
	    int exe_fd);

/* Child side: jail, device init, filter, serve; never returns. */
__attribute__((noreturn)) void child_main(const struct child_args *ca);

#endif /* VHOSTD_HOST_CHILD_H */
