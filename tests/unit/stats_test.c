/*
 * stats_test.c - the parent's side of the counters: validation of a
 * child's region (stats_take), sums across children, the latency
 * buckets, the Prometheus text format with its escaping, the device
 * types' name tables, and the ctl verb table.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host/ctl.h"
#include "host/stats.h"

static const char *const t_names[] = {
	"rx_frames", "tx_drops:bad_header", "tx_drops:too_big",
};

static const struct device_type t_type = {
	.dt_name = "tnet",
	.dt_counters = { t_names, NULL, 3 },
	.dt_latency = true,
};

Test(stats, take_clamps_and_keeps_counters_monotonic)
{
	struct ctr_region	*src, last;

	cr_assert_not_null(src = calloc(1, sizeof(*src)));
	memset(&last, 0, sizeof(last));
	src->rg_nqueues = 2;
	src->rg_q[0].cq_requests = 10;
	src->rg_q[0].cq_inflight = 3;
	src->rg_q[1].cq_read_bytes = 4096;
	src->rg_q[0].cq_lat[5] = 7;
	cr_assert_eq(stats_take(src, &last, &t_type), 2);
	cr_assert_eq(last.rg_q[0].cq_requests, 10);
	cr_assert_eq(last.rg_q[0].cq_inflight, 3);
	cr_assert_eq(last.rg_q[1].cq_read_bytes, 4096);
	cr_assert_eq(last.rg_q[0].cq_lat[5], 7);

	/* Going back: the old value stays; a gauge may go down. */
	src->rg_q[0].cq_requests = 4;
	src->rg_q[0].cq_inflight = 1;
	src->rg_nqueues = 1;
	cr_assert_eq(stats_take(src, &last, &t_type), 2, "queues shrank");
	cr_assert_eq(last.rg_q[0].cq_requests, 10);
	cr_assert_eq(last.rg_q[0].cq_inflight, 1);

	/* Huge: cut; past the table's counters and the queues: ignored. */
	memset(src, 0xff, sizeof(*src));
	cr_assert_eq(stats_take(src, &last, &t_type), CTR_MAX_QUEUES);
	cr_assert_eq(last.rg_q[0].cq_requests, CTR_CHILD_MAX);
	cr_assert_eq(last.rg_q[15].cq_lat_sum_ns, CTR_CHILD_MAX);
	cr_assert_eq(last.rg_q[3].cq_inflight, VIRTQ_MAX_SIZE);
	cr_assert_eq(last.rg_q[0].cq_dev[2], CTR_CHILD_MAX);
	cr_assert_eq(last.rg_q[0].cq_dev[3], 0, "counter past cd_count");
	cr_assert_eq(last.rg_q[0].cq_pad[0], 0, "padding copied");
	/* A device type without a table: no device counters at all. */
	memset(&last, 0, sizeof(last));
	(void)stats_take(src, &last, NULL);
	cr_assert_eq(last.rg_q[0].cq_dev[0], 0);
	free(src);
}

/* A fake child: maps the region the parent made, writes, goes away. */
static void
child_counts(struct stats_dev *st, uint64_t reqs, uint64_t inflight, int cls)
{
	struct ctr_region	*r;
	int			 fd;

	cr_assert_geq(fd = stats_child_start(st), 0);
	cr_assert_eq(ftruncate(fd, 0), -1, "the region can be shrunk");
	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(r, MAP_FAILED);
	close(fd);
	cr_assert_eq(r->rg_magic, CTR_MAGIC);
	cr_assert_eq(r->rg_size, sizeof(*r));
	r->rg_nqueues = 1;
	r->rg_q[0].cq_requests = reqs;
	r->rg_q[0].cq_inflight = inflight;
	r->rg_q[0].cq_dev[0] = reqs * 2;
	munmap(r, sizeof(*r));
	stats_child_end(st, cls);
}

Test(stats, children_are_summed_and_never_go_backwards)
{
	struct stats_dev	*st;
	struct ctr_region	 cur;
	struct ctr_region	*r;
	int			 fd;

	cr_assert_not_null(st = stats_dev_new(&t_type));
	child_counts(st, 100, 5, SUP_EXIT_DISCONNECT);
	child_counts(st, 30, 2, SUP_EXIT_DEVICE);
	stats_current(st, false, &cur);
	cr_assert_eq(cur.rg_q[0].cq_requests, 130);
	cr_assert_eq(cur.rg_q[0].cq_dev[0], 260);
	cr_assert_eq(cur.rg_q[0].cq_inflight, 0, "dead children in flight");
	cr_assert_eq(cur.rg_nqueues, 1);
	cr_assert_eq(st->st_exits[SUP_EXIT_DISCONNECT], 1);
	cr_assert_eq(st->st_exits[SUP_EXIT_DEVICE], 1);

	/* A running child: its numbers are added, its gauge shown. */
	cr_assert_geq(fd = stats_child_start(st), 0);
	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(r, MAP_FAILED);
	close(fd);
	r->rg_q[0].cq_requests = 7;
	r->rg_q[0].cq_inflight = 4;
	stats_current(st, true, &cur);
	cr_assert_eq(cur.rg_q[0].cq_requests, 137);
	cr_assert_eq(cur.rg_q[0].cq_inflight, 4);
	/* It lies low: the sum does not drop. */
	r->rg_q[0].cq_requests = 0;
	stats_current(st, true, &cur);
	cr_assert_eq(cur.rg_q[0].cq_requests, 137);
	/* It lies high, then dies: saturates, never wraps. */
	memset(r->rg_q, 0xff, sizeof(r->rg_q));
	stats_child_end(st, SUP_EXIT_DEVICE);
	child_counts(st, UINT64_MAX, 0, SUP_EXIT_DEVICE);
	stats_current(st, false, &cur);
	cr_assert_eq(cur.rg_q[0].cq_requests, 130 + 2 * CTR_CHILD_MAX);
	cr_assert_eq(cur.rg_nqueues, 1, "the queues the children announced");
	cr_assert_eq(st->st_exits[SUP_EXIT_DEVICE], 3);
	/* Four children started: three restarts; a clone that failed: none. */
	cr_assert_eq(stats_restarts(st), 3);
	cr_assert_geq(fd = stats_child_start(st), 0);
	close(fd);
	stats_child_end(st, STATS_NOT_STARTED);
	cr_assert_eq(stats_restarts(st), 3);
	munmap(r, sizeof(*r));
	stats_dev_free(st);
	cr_assert_eq(stats_sat_add(UINT64_MAX - 1, 5), UINT64_MAX);
	cr_assert_eq(stats_sat_add(1, 2), 3);
}

Test(stats, latency_buckets_are_log2_microseconds)
{
	cr_assert_eq(ctr_lat_bucket(0), 0);
	cr_assert_eq(ctr_lat_bucket(1000), 0);
	cr_assert_eq(ctr_lat_bucket(1001), 1);
	cr_assert_eq(ctr_lat_bucket(2000), 1);
	cr_assert_eq(ctr_lat_bucket(2001), 2);
	cr_assert_eq(ctr_lat_bucket(4000), 2);
	cr_assert_eq(ctr_lat_bucket(100000), 7);	/* 100 us <= 128 */
	cr_assert_eq(ctr_lat_bucket(1048576000ull), 20);
	cr_assert_eq(ctr_lat_bucket(1048577000ull), CTR_LAT_FINITE);
	cr_assert_eq(ctr_lat_bucket(UINT64_MAX), CTR_LAT_FINITE);
}

static char *
render(enum stats_format fmt, const struct stats_view *v, unsigned int n)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	cr_assert_not_null(f = open_memstream(&buf, &len));
	stats_write(f, fmt, v, n);
	fclose(f);
	return buf;
}

Test(stats, prometheus_format_and_escaping)
{
	static const uint64_t	 exits[STATS_NCLASSES] = { 3, 0, 1, 0, 2 };
	struct ctr_region	*r;
	struct stats_view	 v;
	char			*out;

	cr_assert_not_null(r = calloc(1, sizeof(*r)));
	r->rg_nqueues = 1;
	r->rg_q[0].cq_requests = 5;
	r->rg_q[0].cq_read_bytes = 20480;
	r->rg_q[0].cq_errors[CTR_ERR_IO] = 1;
	r->rg_q[0].cq_lat[0] = 1;
	r->rg_q[0].cq_lat[3] = 4;
	r->rg_q[0].cq_lat_sum_ns = 25000;
	r->rg_q[0].cq_dev[0] = 9;
	r->rg_q[0].cq_dev[2] = 2;
	memset(&v, 0, sizeof(v));
	v.sv_name = "a\"b\\c\nd";
	v.sv_type = &t_type;
	v.sv_state = "running";
	v.sv_restarts = 6;
	v.sv_exits = exits;
	v.sv_ctr = r;
	out = render(STATS_PROMETHEUS, &v, 1);
#define HAS(s)	cr_assert_not_null(strstr(out, s), "no %s in:\n%s", s, out)
	HAS("# HELP vhostd_requests_total ");
	HAS("# TYPE vhostd_requests_total counter\n");
	HAS("vhostd_requests_total{device=\"a\\\"b\\\\c\\nd\",queue=\"0\"} 5\n");
	HAS("# TYPE vhostd_inflight_requests gauge\n");
	HAS("vhostd_errors_total{device=\"a\\\"b\\\\c\\nd\",queue=\"0\","
	    "kind=\"io\"} 1\n");
	HAS("# TYPE vhostd_request_duration_seconds histogram\n");
	/* Cumulative buckets in seconds, then _sum and _count. */
	HAS(",queue=\"0\",le=\"1e-06\"} 1\n");
	HAS(",queue=\"0\",le=\"4e-06\"} 1\n");
	HAS(",queue=\"0\",le=\"8e-06\"} 5\n");
	HAS(",queue=\"0\",le=\"1.048576\"} 5\n");
	HAS(",queue=\"0\",le=\"+Inf\"} 5\n");
	HAS("vhostd_request_duration_seconds_sum{device=\"a\\\"b\\\\c\\nd\","
	    "queue=\"0\"} 0.000025000\n");
	HAS("vhostd_request_duration_seconds_count{device=\"a\\\"b\\\\c\\nd\","
	    "queue=\"0\"} 5\n");
	/* The type's own: one metric per METRIC, kinds as a label. */
	HAS("# TYPE vhostd_tnet_rx_frames_total counter\n");
	HAS("vhostd_tnet_rx_frames_total{device=\"a\\\"b\\\\c\\nd\","
	    "queue=\"0\"} 9\n");
	HAS("# TYPE vhostd_tnet_tx_drops_total counter\n");
	HAS(",queue=\"0\",kind=\"bad_header\"} 0\n");
	HAS(",queue=\"0\",kind=\"too_big\"} 2\n");
	cr_assert_null(strstr(strstr(out, "# TYPE vhostd_tnet_tx_drops_total") +
	    1, "# TYPE vhostd_tnet_tx_drops_total"), "declared twice");
	HAS("vhostd_restarts_total{device=\"a\\\"b\\\\c\\nd\"} 6\n");
	HAS("vhostd_child_exits_total{device=\"a\\\"b\\\\c\\nd\","
	    "class=\"stopped\"} 2\n");
	HAS("vhostd_device_up{device=\"a\\\"b\\\\c\\nd\",type=\"tnet\"} 1\n");
	/* No raw newline inside a label: every line is a sample or a comment. */
	cr_assert_null(strstr(out, "\nd\""), "raw newline in a label");
	free(out);
	/* JSON escapes the same name its own way. */
	out = render(STATS_JSON, &v, 1);
	HAS("\"name\": \"a\\\"b\\\\c\\u000ad\"");
	HAS("\"counters\": {\"rx_frames\": 9, \"tx_drops:bad_header\": 0, "
	    "\"tx_drops:too_big\": 2}");
	HAS("\"counts\": [1, 0, 0, 4, 0");
#undef HAS
	free(out);
	free(r);
}

Test(stats, device_counter_names_are_metric_names)
{
	const struct device_type *const	*dtp;
	regex_t				 re;
	unsigned int			 i;

	cr_assert_eq(regcomp(&re, "^[a-z][a-z0-9_]*(:[a-z0-9_]+)?$",
	    REG_EXTENDED | REG_NOSUB), 0);
	for (dtp = device_types; *dtp != NULL; dtp++) {
		cr_assert_leq((*dtp)->dt_counters.cd_count, CTR_DEV_MAX,
		    "%s", (*dtp)->dt_name);
		for (i = 0; i < (*dtp)->dt_counters.cd_count; i++)
			cr_assert_eq(regexec(&re,
			    (*dtp)->dt_counters.cd_names[i], 0, NULL, 0), 0,
			    "%s: counter %u '%s'", (*dtp)->dt_name, i,
			    (*dtp)->dt_counters.cd_names[i]);
	}
	for (i = 0; i < CTR_ERR_MAX; i++)
		cr_assert_eq(regexec(&re, ctr_err_names[i], 0, NULL, 0), 0);
	for (i = 0; i < STATS_NCLASSES; i++)
		cr_assert_not_null(stats_class_label(i));
	cr_assert_null(stats_class_label(STATS_NCLASSES));
	regfree(&re);
}

Test(stats, ctl_requests_are_checked_against_the_verb_table)
{
	struct ctl_req	 req;
	char		 err[128];
	char		*a[] = { (char *)"stats", (char *)"--prometheus",
			    (char *)"d1" };
	char		*b[] = { (char *)"status", (char *)"--prometheus" };
	char		*c[] = { (char *)"stats", (char *)"--json",
			    (char *)"--prometheus" };
	char		*d[] = { (char *)"stats", (char *)"x", (char *)"y" };
	char		*e[] = { (char *)"nosuch" };
	char		*g[] = { (char *)"stats", (char *)"--bogus" };

	cr_assert_eq(ctl_parse(3, a, &req, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(req.cr_verb->cv_name, "stats");
	cr_assert_eq(req.cr_opts, CTL_OPT_PROMETHEUS);
	cr_assert_str_eq(req.cr_name, "d1");
	cr_assert_eq(ctl_parse(1, a, &req, err, sizeof(err)), 0);
	cr_assert_null(req.cr_name);
	cr_assert_eq(ctl_parse(2, b, &req, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "status takes no --prometheus"), "%s",
	    err);
	cr_assert_eq(ctl_parse(3, c, &req, err, sizeof(err)), -EINVAL);
	cr_assert_eq(ctl_parse(3, d, &req, err, sizeof(err)), -EINVAL);
	cr_assert_eq(ctl_parse(1, e, &req, err, sizeof(err)), -EINVAL);
	cr_assert_eq(ctl_parse(2, g, &req, err, sizeof(err)), -EINVAL);
	cr_assert_eq(ctl_parse(0, e, &req, err, sizeof(err)), -EINVAL);
}
