/*
 * stats.h - the parent's view of its devices' counters: "vhostd ctl
 * stats".  Internal to src/host.
 */
#ifndef VHOSTD_HOST_STATS_H
#define VHOSTD_HOST_STATS_H

#include <stdio.h>

struct supervisor;
struct ctl_req;

/* The "stats" verb (ctl_verbs): text, --json or --prometheus. */
void	stats_ctl(struct supervisor *sup, const struct ctl_req *req, FILE *f);

#endif /* VHOSTD_HOST_STATS_H */
