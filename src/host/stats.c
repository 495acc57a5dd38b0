/*
 * stats.c - the parent's view of its devices' counters.
 */
#include <stdio.h>

#include "ctl.h"
#include "stats.h"

void
stats_ctl(struct supervisor *sup, const struct ctl_req *req, FILE *f)
{
	(void)sup;
	(void)req;
	fprintf(f, "error: stats: not implemented yet\n");
}
