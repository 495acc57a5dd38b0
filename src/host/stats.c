/*
 * stats.c - the parent's side of the device counters: a region per child,
 * validated copies, sums across children (stats.h says how and why).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../util/log.h"
#include "../virtio/virtq.h"
#include "ctl.h"
#include "host.h"
#include "stats.h"

struct stats_dev *
stats_dev_new(const struct device_type *dt)
{
	struct stats_dev	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->st_type = dt;
	return st;
}

static void
stats_unmap(struct stats_dev *st)
{
	if (st->st_map != NULL)
		munmap((void *)st->st_map, sizeof(struct ctr_region));
	st->st_map = NULL;
}

void
stats_dev_free(struct stats_dev *st)
{
	if (st == NULL)
		return;
	stats_unmap(st);
	free(st);
}

int
stats_child_start(struct stats_dev *st)
{
	struct ctr_region	 hdr;
	void			*p;
	int			 fd;

	/* A region left by a child whose end we did not see: its numbers. */
	if (st->st_map != NULL)
		stats_child_end(st, SUP_EXIT_STOPPED);
	st->st_starts++;
	memset(&hdr, 0, sizeof(hdr));
	hdr.rg_magic = CTR_MAGIC;
	hdr.rg_size = sizeof(hdr);
	if ((fd = memfd_create("vhostd-counters", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1)
		goto fail;
	/* The header only: the rest stays a hole until the child counts. */
	if (ftruncate(fd, sizeof(hdr)) == -1 ||
	    pwrite(fd, &hdr, offsetof(struct ctr_region, rg_q), 0) !=
	    (ssize_t)offsetof(struct ctr_region, rg_q) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_SEAL) == -1)
		goto fail;
	p = mmap(NULL, sizeof(hdr), PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	st->st_map = p;
	memset(&st->st_last, 0, sizeof(st->st_last));
	/* At least the queues its predecessors announced are read. */
	st->st_last.rg_nqueues = st->st_nqueues;
	return fd;
fail:
	if (!st->st_warned)
		log_warn("counters: cannot make a region for the child (its "
		    "I/O is not counted)");
	st->st_warned = true;
	if (fd != -1)
		close(fd);
	return -1;
}

/* Add the validated numbers of one child to the sum. */
static void
stats_sum(struct ctr_region *sum, const struct ctr_region *add)
{
	const uint64_t	*a = (const uint64_t *)(const void *)add->rg_q;
	uint64_t	*s = (uint64_t *)(void *)sum->rg_q;
	size_t		 i;

	for (i = 0; i < CTR_MAX_QUEUES * sizeof(struct ctr_queue) /
	    sizeof(uint64_t); i++)
		s[i] = stats_sat_add(s[i], a[i]);
}

void
stats_child_end(struct stats_dev *st, int cls)
{
	unsigned int	q;

	if (st->st_map != NULL) {
		(void)stats_take(st->st_map, &st->st_last, st->st_type);
		if (st->st_last.rg_nqueues > st->st_nqueues)
			st->st_nqueues = st->st_last.rg_nqueues;
		/* A gauge: nothing of a dead child is in flight. */
		for (q = 0; q < CTR_MAX_QUEUES; q++)
			st->st_last.rg_q[q].cq_inflight = 0;
		stats_sum(&st->st_base, &st->st_last);
		memset(&st->st_last, 0, sizeof(st->st_last));
	}
	stats_unmap(st);
	if (cls == STATS_NOT_STARTED && st->st_starts > 0)
		st->st_starts--;
	if (cls >= 0 && cls < STATS_NCLASSES)
		st->st_exits[cls]++;
}

/* One counter: monotonic for this child, at most CTR_CHILD_MAX. */
static inline uint64_t
stats_counter(uint64_t v, uint64_t prev)
{
	if (v > CTR_CHILD_MAX)
		v = CTR_CHILD_MAX;
	return v < prev ? prev : v;
}

unsigned int
stats_take(const struct ctr_region *src, struct ctr_region *last,
    const struct device_type *dt)
{
	const volatile struct ctr_region	*s = src;
	const volatile struct ctr_queue		*sq;
	struct ctr_queue			*lq;
	unsigned int				 q, i, nq, ndev;

	/* Only numbers cross: one load each, then checks on the copy. */
	nq = s->rg_nqueues;
	if (nq > CTR_MAX_QUEUES)
		nq = CTR_MAX_QUEUES;
	if (nq > last->rg_nqueues)
		last->rg_nqueues = nq;
	ndev = dt != NULL ? dt->dt_counters.cd_count : 0;
	if (ndev > CTR_DEV_MAX)
		ndev = CTR_DEV_MAX;
	/* Only the queues it announced: the rest is not even read. */
	for (q = 0; q < last->rg_nqueues; q++) {
		sq = &s->rg_q[q];
		lq = &last->rg_q[q];
		lq->cq_requests = stats_counter(sq->cq_requests,
		    lq->cq_requests);
		lq->cq_read_bytes = stats_counter(sq->cq_read_bytes,
		    lq->cq_read_bytes);
		lq->cq_write_bytes = stats_counter(sq->cq_write_bytes,
		    lq->cq_write_bytes);
		for (i = 0; i < CTR_ERR_MAX; i++)
			lq->cq_errors[i] = stats_counter(sq->cq_errors[i],
			    lq->cq_errors[i]);
		for (i = 0; i < CTR_LAT_BUCKETS; i++)
			lq->cq_lat[i] = stats_counter(sq->cq_lat[i],
			    lq->cq_lat[i]);
		lq->cq_lat_sum_ns = stats_counter(sq->cq_lat_sum_ns,
		    lq->cq_lat_sum_ns);
		for (i = 0; i < ndev; i++)
			lq->cq_dev[i] = stats_counter(sq->cq_dev[i],
			    lq->cq_dev[i]);
		/* A gauge: any value in range, nothing else. */
		lq->cq_inflight = sq->cq_inflight;
		if (lq->cq_inflight > VIRTQ_MAX_SIZE)
			lq->cq_inflight = VIRTQ_MAX_SIZE;
	}
	return last->rg_nqueues;
}

void
stats_current(struct stats_dev *st, bool live, struct ctr_region *out)
{
	unsigned int	q, nq;

	if (st->st_map != NULL) {
		(void)stats_take(st->st_map, &st->st_last, st->st_type);
		if (st->st_last.rg_nqueues > st->st_nqueues)
			st->st_nqueues = st->st_last.rg_nqueues;
	}
	*out = st->st_base;
	stats_sum(out, &st->st_last);
	for (q = 0; q < CTR_MAX_QUEUES; q++)
		out->rg_q[q].cq_inflight = live && st->st_map != NULL ?
		    st->st_last.rg_q[q].cq_inflight : 0;
	nq = st->st_nqueues;
	out->rg_nqueues = nq < 1 ? 1 : nq;
}

void
stats_ctl(struct supervisor *sup, const struct ctl_req *req, FILE *f)
{
	static const uint64_t	 no_exits[STATS_NCLASSES];
	struct stats_view	*v;
	struct ctr_region	*cur;
	struct sup_device	*sd;
	unsigned int		 i, n = 0;

	v = calloc(sup->su_ndev ? sup->su_ndev : 1, sizeof(*v));
	cur = calloc(sup->su_ndev ? sup->su_ndev : 1, sizeof(*cur));
	if (v == NULL || cur == NULL) {
		fprintf(f, "error: out of memory\n");
		goto out;
	}
	for (i = 0; i < sup->su_ndev; i++) {
		sd = sup->su_dev[i];
		if (req->cr_name != NULL &&
		    strcmp(sd->sd_conf.dc_name, req->cr_name) != 0)
			continue;
		if (sd->sd_stats != NULL)
			stats_current(sd->sd_stats, sd->sd_run == SUP_RUNNING,
			    &cur[n]);
		else
			cur[n].rg_nqueues = 1;
		v[n].sv_name = sd->sd_conf.dc_name;
		v[n].sv_type = sd->sd_conf.dc_type;
		v[n].sv_state = ctl_state_name(sd->sd_run);
		v[n].sv_restarts = sd->sd_stats != NULL ?
		    stats_restarts(sd->sd_stats) : 0;
		v[n].sv_exits = sd->sd_stats != NULL ? sd->sd_stats->st_exits :
		    no_exits;
		v[n].sv_ctr = &cur[n];
		n++;
	}
	if (req->cr_name != NULL && n == 0)
		fprintf(f, "error: no device '%s'\n", req->cr_name);
	else
		stats_write(f, req->cr_opts & CTL_OPT_PROMETHEUS ?
		    STATS_PROMETHEUS : req->cr_opts & CTL_OPT_JSON ? STATS_JSON :
		    STATS_TEXT, v, n);
out:
	free(v);
	free(cur);
}
