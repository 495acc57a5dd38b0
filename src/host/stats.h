/*
 * stats.h - the parent's side of the device counters (util/counters.h):
 * one region per child, copied out as untrusted input, accumulated across
 * children, and reported by "vhostd ctl stats".  Internal to src/host.
 *
 * Transport.  Before each child is cloned the parent creates a memfd of
 * exactly sizeof(struct ctr_region), writes its header, seals it against
 * shrinking and growing (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, so no
 * ftruncate can make the parent's reads fault) and maps it read-only; the
 * child gets the descriptor, maps it read-write before its jail and
 * closes it.  A region serves one child: the next child gets a fresh one,
 * so nothing a child (or a front end it handed the descriptor to) writes
 * after its end reaches a later child's numbers.
 *
 * Validation (stats_take).  The parent copies the region out with one
 * 64-bit load per field and believes nothing: the queue count is clamped
 * to CTR_MAX_QUEUES (queues past the largest count the child announced
 * are not read), a device's own counters past its type's cd_count are
 * ignored, a counter below what this child showed before keeps the old
 * value (counters never go backwards), one above CTR_CHILD_MAX is cut to
 * it, the in-flight gauge is clamped to 0..VIRTQ_MAX_SIZE per queue.
 * Names, types and the layout come from the parent's own tables.  The
 * parent never waits for the child and reads only when asked, so a child
 * cannot block it, flood it, make it fault, or change another device's
 * numbers (each device has its own region and accumulator).
 *
 * Accumulation.  What a device shows is the sum of its finished children
 * (their last validated values, taken once more when the parent reaps
 * them) plus the running child's, added with saturation, so a counter
 * never goes backwards across restarts.  The in-flight gauge is the
 * running child's only.  Exits are counted by class (restart.c), and
 * children started: restarts are the children after the first, whatever
 * started them, which vhostd ctl reset does not clear (the status's
 * restart count it does).
 */
#ifndef VHOSTD_HOST_STATS_H
#define VHOSTD_HOST_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../devices/device.h"
#include "../util/counters.h"
#include "supervisor.h"

struct supervisor;
struct ctl_req;

/* Most a child may claim for one counter; more is cut to this. */
#define CTR_CHILD_MAX	((uint64_t)1 << 56)

/* Exit classes counted (enum sup_exit_class). */
#define STATS_NCLASSES	(SUP_EXIT_STOPPED + 1)

/* One device's counters, kept by the parent across its children. */
struct stats_dev {
	const struct device_type *st_type;
	const struct ctr_region	*st_map;	/* running child's, read-only */
	struct ctr_region	 st_base;	/* finished children, summed */
	struct ctr_region	 st_last;	/* running child, validated */
	uint64_t		 st_exits[STATS_NCLASSES];
	uint64_t		 st_starts;	/* children started */
	unsigned int		 st_nqueues;	/* most any child announced */
	bool			 st_warned;	/* could not make a region */
};

/* A fresh accumulator for a device of type dt.  NULL: no memory. */
struct stats_dev *stats_dev_new(const struct device_type *dt);
/* Unmap and free.  NULL is a no-op. */
void	stats_dev_free(struct stats_dev *st);

/*
 * Before a child is cloned: a fresh region for it.  The descriptor to
 * hand the child (CLOEXEC; the caller closes it once the child has it),
 * or -1 (logged once): the child counts nothing.  Counts a start.
 */
int	stats_child_start(struct stats_dev *st);
/*
 * The child is gone (reaped: cls is its class; or never cloned:
 * STATS_NOT_STARTED, the start is not counted): take its numbers a last
 * time into the finished children's sum, unmap its region, count its
 * exit class.
 */
#define STATS_NOT_STARTED	(-1)
void	stats_child_end(struct stats_dev *st, int cls);

/* Children started after the first. */
static inline uint64_t
stats_restarts(const struct stats_dev *st)
{
	return st->st_starts > 0 ? st->st_starts - 1 : 0;
}

/*
 * Copy src (a child's region, as it is now) into last, validating every
 * field against the type's table and against last (this child's previous
 * snapshot, all zero at first), as the head of this file says.  The queue
 * count it announced, clamped, is returned.
 */
unsigned int stats_take(const struct ctr_region *src, struct ctr_region *last,
	    const struct device_type *dt);

/* a + b, saturating at UINT64_MAX. */
static inline uint64_t
stats_sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/*
 * The device's numbers now: finished children plus the running one
 * (taken again first), into out; out->rg_nqueues is the number of queues
 * to show (at least 1).  live: whether the in-flight gauges count.
 */
void	stats_current(struct stats_dev *st, bool live, struct ctr_region *out);

/* What the formats show of one device. */
struct stats_view {
	const char			*sv_name;
	const struct device_type	*sv_type;
	const char			*sv_state;	/* "running", ... */
	uint64_t			 sv_restarts;	/* stats_restarts */
	const uint64_t			*sv_exits;	/* STATS_NCLASSES */
	const struct ctr_region		*sv_ctr;	/* stats_current's */
};

enum stats_format {
	STATS_TEXT,
	STATS_JSON,
	STATS_PROMETHEUS	/* text exposition format 0.0.4 */
};

/* Write n devices' numbers to f (stats_fmt.c). */
void	stats_write(FILE *f, enum stats_format fmt,
	    const struct stats_view *v, unsigned int n);

/* "disconnect", "frontend", ... for the class= label; NULL past the end. */
const char *stats_class_label(unsigned int cls);

/*
 * A label value as the exposition format wants it: backslash, double
 * quote and newline escaped (\\, \", \n).
 */
void	stats_prom_label(FILE *f, const char *s);

/*
 * s as a JSON string, quotes included: '"' and '\\' escaped, control
 * characters as \u00XX; NULL as "" (also the status table, ctl_status.c).
 */
void	stats_json_str(FILE *f, const char *s);

/* The "stats" verb (ctl_verbs): text, --json or --prometheus. */
void	stats_ctl(struct supervisor *sup, const struct ctl_req *req, FILE *f);

#endif /* VHOSTD_HOST_STATS_H */
