/*
 * escape_common.h - shared by the escape devices (escape.c, escape_blk.c,
 * escape_net.c, escape_vsock.c): attempt= carried before a real device's
 * plain data, and the child's run of its attempts.
 */
#ifndef VHOSTD_TESTS_ESCAPE_COMMON_H
#define VHOSTD_TESTS_ESCAPE_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "devices/device.h"

#define ESCAPE_ONLY_LEN	64

/*
 * Parent: put only (attempt=, "" for every attempt of the run) before the
 * plain data the real device's dt_open left in res.  0, or -ENOMEM with
 * err set.
 */
int	escape_res_wrap(struct device_res *res, const char *only, char *err,
	    size_t errlen);

/*
 * Child: split res into only (ESCAPE_ONLY_LEN bytes, NUL-terminated) and
 * rest, the real device's resources.  0, or -EINVAL when res is too short.
 */
int	escape_res_unwrap(const struct device_child_res *res, char *only,
	    struct device_child_res *rest);

/*
 * Whether the attempt name runs: the one attempt= named (only), or else
 * every attempt of the run's layer (in_run).  Logs those that run.
 */
bool	escape_selected(const char *only, const char *name, bool in_run);

/* An attempt that ran: counted (n), and logged and counted if it got out. */
void	escape_tried(const char *name, bool succeeded, unsigned int *n,
	    unsigned int *got);

/*
 * The report the escape suite reads ("N attempts, M succeeded"); exits 0
 * when nothing got out, else -EPERM.
 */
int	escape_report(unsigned int n, unsigned int got);

#endif /* VHOSTD_TESTS_ESCAPE_COMMON_H */
