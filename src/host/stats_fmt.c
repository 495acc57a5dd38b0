/*
 * stats_fmt.c - "vhostd ctl stats" as text, JSON and the Prometheus text
 * exposition format (for node_exporter's textfile collector).  Every
 * number printed here was validated by stats_take; every name comes from
 * the parent's own tables (vhostd(8), METRICS, lists them).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "stats.h"

static const char *const class_labels[STATS_NCLASSES] = {
	[SUP_EXIT_DISCONNECT] = "disconnect",
	[SUP_EXIT_FRONTEND] = "frontend",
	[SUP_EXIT_DEVICE] = "device",
	[SUP_EXIT_JAIL] = "jail",
	[SUP_EXIT_STOPPED] = "stopped",
};

const char *
stats_class_label(unsigned int cls)
{
	return cls < STATS_NCLASSES ? class_labels[cls] : NULL;
}

/* The sum of every queue shown, in the first queue's layout. */
static void
stats_total(const struct stats_view *v, struct ctr_queue *t)
{
	const uint64_t	*a;
	uint64_t	*s = (uint64_t *)(void *)t;
	unsigned int	 q;
	size_t		 i;

	memset(t, 0, sizeof(*t));
	for (q = 0; q < v->sv_ctr->rg_nqueues && q < CTR_MAX_QUEUES; q++) {
		a = (const uint64_t *)(const void *)&v->sv_ctr->rg_q[q];
		for (i = 0; i < sizeof(*t) / sizeof(uint64_t); i++)
			s[i] = stats_sat_add(s[i], a[i]);
	}
}

static uint64_t
stats_errors(const struct ctr_queue *cq)
{
	uint64_t	n = 0;
	unsigned int	i;

	for (i = 0; i < CTR_ERR_MAX; i++)
		n = stats_sat_add(n, cq->cq_errors[i]);
	return n;
}

static uint64_t
stats_lat_count(const struct ctr_queue *cq)
{
	uint64_t	n = 0;
	unsigned int	i;

	for (i = 0; i < CTR_LAT_BUCKETS; i++)
		n = stats_sat_add(n, cq->cq_lat[i]);
	return n;
}

/* Text. */

static void
text_queue(FILE *f, const char *label, const struct ctr_queue *cq)
{
	fprintf(f, "  %-6s %12" PRIu64 " %14" PRIu64 " %14" PRIu64 " %8" PRIu64
	    " %8" PRIu64 "\n", label, cq->cq_requests, cq->cq_read_bytes,
	    cq->cq_write_bytes, cq->cq_inflight, stats_errors(cq));
}

static void
text_device(FILE *f, const struct stats_view *v)
{
	const struct ctr_desc	*cd = &v->sv_type->dt_counters;
	struct ctr_queue	 t;
	unsigned int		 q, i;
	uint64_t		 n;
	char			 label[16];

	fprintf(f, "%s (%s, %s): restarts %" PRIu64 "; child exits:",
	    v->sv_name, v->sv_type->dt_name, v->sv_state, v->sv_restarts);
	for (i = 0; i < STATS_NCLASSES; i++)
		fprintf(f, "%s %s %" PRIu64, i ? "," : "", class_labels[i],
		    v->sv_exits[i]);
	fprintf(f, "\n  %-6s %12s %14s %14s %8s %8s\n", "QUEUE", "REQUESTS",
	    "READ_BYTES", "WRITTEN_BYTES", "INFLIGHT", "ERRORS");
	for (q = 0; q < v->sv_ctr->rg_nqueues; q++) {
		snprintf(label, sizeof(label), "%u", q);
		text_queue(f, label, &v->sv_ctr->rg_q[q]);
	}
	stats_total(v, &t);
	if (v->sv_ctr->rg_nqueues > 1)
		text_queue(f, "total", &t);
	fprintf(f, "  errors:");
	for (i = 0; i < CTR_ERR_MAX; i++)
		fprintf(f, "%s %s %" PRIu64, i ? "," : "", ctr_err_names[i],
		    t.cq_errors[i]);
	fputc('\n', f);
	if (v->sv_type->dt_latency) {
		n = stats_lat_count(&t);
		fprintf(f, "  latency (%" PRIu64 " requests", n);
		if (n > 0)
			fprintf(f, ", mean %.1f us",
			    (double)t.cq_lat_sum_ns / 1e3 / (double)n);
		fprintf(f, "):");
		for (i = 0; i < CTR_LAT_BUCKETS; i++) {
			if (t.cq_lat[i] == 0)
				continue;
			if (i < CTR_LAT_FINITE)
				fprintf(f, " <=%" PRIu64 "us %" PRIu64,
				    (uint64_t)1 << i, t.cq_lat[i]);
			else
				fprintf(f, " >%" PRIu64 "us %" PRIu64,
				    (uint64_t)1 << (CTR_LAT_FINITE - 1),
				    t.cq_lat[i]);
		}
		fputc('\n', f);
	}
	if (cd->cd_count > 0) {
		fprintf(f, "  %s:", v->sv_type->dt_name);
		for (i = 0; i < cd->cd_count && i < CTR_DEV_MAX; i++)
			fprintf(f, "%s %s %" PRIu64, i ? "," : "",
			    cd->cd_names[i], t.cq_dev[i]);
		fputc('\n', f);
	}
}

/* JSON. */

void
stats_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void
json_queue(FILE *f, const struct stats_view *v, const struct ctr_queue *cq)
{
	const struct ctr_desc	*cd = &v->sv_type->dt_counters;
	unsigned int		 i;

	fprintf(f, "\"requests\": %" PRIu64 ", \"read_bytes\": %" PRIu64
	    ", \"written_bytes\": %" PRIu64 ", \"inflight\": %" PRIu64
	    ", \"errors\": {", cq->cq_requests, cq->cq_read_bytes,
	    cq->cq_write_bytes, cq->cq_inflight);
	for (i = 0; i < CTR_ERR_MAX; i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "",
		    ctr_err_names[i], cq->cq_errors[i]);
	fprintf(f, "}");
	if (v->sv_type->dt_latency) {
		fprintf(f, ", \"latency\": {\"count\": %" PRIu64 ", \"sum_ns\": %"
		    PRIu64 ", \"buckets_le_us\": [", stats_lat_count(cq),
		    cq->cq_lat_sum_ns);
		for (i = 0; i < CTR_LAT_FINITE; i++)
			fprintf(f, "%s%" PRIu64, i ? ", " : "", (uint64_t)1 << i);
		fprintf(f, "], \"counts\": [");
		for (i = 0; i < CTR_LAT_BUCKETS; i++)
			fprintf(f, "%s%" PRIu64, i ? ", " : "", cq->cq_lat[i]);
		fprintf(f, "]}");
	}
	if (cd->cd_count > 0) {
		fprintf(f, ", \"counters\": {");
		for (i = 0; i < cd->cd_count && i < CTR_DEV_MAX; i++) {
			fprintf(f, "%s", i ? ", " : "");
			stats_json_str(f, cd->cd_names[i]);
			fprintf(f, ": %" PRIu64, cq->cq_dev[i]);
		}
		fprintf(f, "}");
	}
}

static void
json_device(FILE *f, const struct stats_view *v)
{
	struct ctr_queue	t;
	unsigned int		q, i;

	fprintf(f, "{\"name\": ");
	stats_json_str(f, v->sv_name);
	fprintf(f, ", \"type\": ");
	stats_json_str(f, v->sv_type->dt_name);
	fprintf(f, ", \"state\": ");
	stats_json_str(f, v->sv_state);
	fprintf(f, ", \"restarts\": %" PRIu64 ", \"exits\": {",
	    v->sv_restarts);
	for (i = 0; i < STATS_NCLASSES; i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "",
		    class_labels[i], v->sv_exits[i]);
	fprintf(f, "},\n   \"total\": {");
	stats_total(v, &t);
	json_queue(f, v, &t);
	fprintf(f, "},\n   \"queues\": [");
	for (q = 0; q < v->sv_ctr->rg_nqueues; q++) {
		fprintf(f, "%s\n    {\"queue\": %u, ", q ? "," : "", q);
		json_queue(f, v, &v->sv_ctr->rg_q[q]);
		fputc('}', f);
	}
	fprintf(f, "]}");
}

/* Prometheus text exposition format. */

void
stats_prom_label(FILE *f, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void
prom_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s ", name);
	/* HELP text: backslash and newline escaped. */
	for (; *help != '\0'; help++) {
		if (*help == '\\')
			fputs("\\\\", f);
		else if (*help == '\n')
			fputs("\\n", f);
		else
			fputc(*help, f);
	}
	fprintf(f, "\n# TYPE %s %s\n", name, type);
}

/* name{device="D"[,queue="Q"] then the caller's labels and "} value". */
static void
prom_series(FILE *f, const char *name, const struct stats_view *v, int q)
{
	fprintf(f, "%s{device=\"", name);
	stats_prom_label(f, v->sv_name);
	fputc('"', f);
	if (q >= 0)
		fprintf(f, ",queue=\"%d\"", q);
}

/* The per-queue generic counters, one field each. */
static const struct {
	const char	*pm_name;
	const char	*pm_type;
	const char	*pm_help;
	size_t		 pm_off;
} prom_fields[] = {
	{ "vhostd_requests_total", "counter",
	  "Requests the device completed.",
	  offsetof(struct ctr_queue, cq_requests) },
	{ "vhostd_read_bytes_total", "counter",
	  "Data bytes the device gave the guest (blk reads, rng entropy).",
	  offsetof(struct ctr_queue, cq_read_bytes) },
	{ "vhostd_written_bytes_total", "counter",
	  "Data bytes the guest gave the device (blk writes).",
	  offsetof(struct ctr_queue, cq_write_bytes) },
	{ "vhostd_inflight_requests", "gauge",
	  "Requests taken from the ring and not yet completed.",
	  offsetof(struct ctr_queue, cq_inflight) },
};

static uint64_t
field(const struct ctr_queue *cq, size_t off)
{
	uint64_t	v;

	memcpy(&v, (const char *)cq + off, sizeof(v));
	return v;
}

/* Length of the METRIC part of a device counter name ("a:b" -> 1). */
static size_t
metric_len(const char *name)
{
	const char	*c = strchr(name, ':');

	return c != NULL ? (size_t)(c - name) : strlen(name);
}

/* Device-specific counters of every device of type dt. */
static void
prom_device_counters(FILE *f, const struct device_type *dt,
    const struct stats_view *v, unsigned int n)
{
	const struct ctr_desc	*cd = &dt->dt_counters;
	unsigned int		 i, j, k, q, count;
	size_t			 len;
	char			 name[160];
	bool			 seen;

	count = cd->cd_count < CTR_DEV_MAX ? cd->cd_count : CTR_DEV_MAX;
	for (i = 0; i < count; i++) {
		len = metric_len(cd->cd_names[i]);
		/* Once per METRIC, at its first name. */
		for (seen = false, j = 0; j < i && !seen; j++)
			seen = metric_len(cd->cd_names[j]) == len &&
			    strncmp(cd->cd_names[j], cd->cd_names[i], len) == 0;
		if (seen)
			continue;
		snprintf(name, sizeof(name), "vhostd_%s_%.*s_total",
		    dt->dt_name, (int)len, cd->cd_names[i]);
		prom_head(f, name, "counter", cd->cd_help != NULL &&
		    cd->cd_help[i] != NULL ? cd->cd_help[i] :
		    "A counter of the device type (vhostd(8), METRICS).");
		for (k = 0; k < n; k++) {
			if (v[k].sv_type != dt)
				continue;
			for (q = 0; q < v[k].sv_ctr->rg_nqueues; q++)
				for (j = i; j < count; j++) {
					if (metric_len(cd->cd_names[j]) !=
					    len || strncmp(cd->cd_names[j],
					    cd->cd_names[i], len) != 0)
						continue;
					prom_series(f, name, &v[k], (int)q);
					if (cd->cd_names[j][len] == ':') {
						fprintf(f, ",kind=\"");
						stats_prom_label(f,
						    cd->cd_names[j] + len + 1);
						fputc('"', f);
					}
					fprintf(f, "} %" PRIu64 "\n",
					    v[k].sv_ctr->rg_q[q].cq_dev[j]);
				}
		}
	}
}

static void
prom_write(FILE *f, const struct stats_view *v, unsigned int n)
{
	const struct ctr_queue	*cq;
	unsigned int		 i, k, q, b;
	uint64_t		 cum;
	bool			 lat = false;

	for (i = 0; i < sizeof(prom_fields) / sizeof(prom_fields[0]); i++) {
		prom_head(f, prom_fields[i].pm_name, prom_fields[i].pm_type,
		    prom_fields[i].pm_help);
		for (k = 0; k < n; k++)
			for (q = 0; q < v[k].sv_ctr->rg_nqueues; q++) {
				prom_series(f, prom_fields[i].pm_name, &v[k],
				    (int)q);
				fprintf(f, "} %" PRIu64 "\n",
				    field(&v[k].sv_ctr->rg_q[q],
				    prom_fields[i].pm_off));
			}
	}
	prom_head(f, "vhostd_errors_total", "counter",
	    "Requests that got an error status or were dropped, by kind.");
	for (k = 0; k < n; k++)
		for (q = 0; q < v[k].sv_ctr->rg_nqueues; q++)
			for (i = 0; i < CTR_ERR_MAX; i++) {
				prom_series(f, "vhostd_errors_total", &v[k],
				    (int)q);
				fprintf(f, ",kind=\"%s\"} %" PRIu64 "\n",
				    ctr_err_names[i],
				    v[k].sv_ctr->rg_q[q].cq_errors[i]);
			}
	for (k = 0; k < n; k++)
		lat = lat || v[k].sv_type->dt_latency;
	if (lat) {
		prom_head(f, "vhostd_request_duration_seconds", "histogram",
		    "Time from taking a request off the ring to completing "
		    "it.");
		for (k = 0; k < n; k++) {
			if (!v[k].sv_type->dt_latency)
				continue;
			for (q = 0; q < v[k].sv_ctr->rg_nqueues; q++) {
				cq = &v[k].sv_ctr->rg_q[q];
				for (cum = 0, b = 0; b < CTR_LAT_BUCKETS; b++) {
					cum = stats_sat_add(cum, cq->cq_lat[b]);
					prom_series(f, "vhostd_request_duration_"
					    "seconds_bucket", &v[k], (int)q);
					if (b < CTR_LAT_FINITE)
						fprintf(f, ",le=\"%.7g\"}",
						    (double)((uint64_t)1 << b) *
						    1e-6);
					else
						fprintf(f, ",le=\"+Inf\"}");
					fprintf(f, " %" PRIu64 "\n", cum);
				}
				prom_series(f, "vhostd_request_duration_"
				    "seconds_sum", &v[k], (int)q);
				fprintf(f, "} %.9f\n",
				    (double)cq->cq_lat_sum_ns / 1e9);
				prom_series(f, "vhostd_request_duration_"
				    "seconds_count", &v[k], (int)q);
				fprintf(f, "} %" PRIu64 "\n", cum);
			}
		}
	}
	/* Each type's own counters, once per type. */
	for (k = 0; k < n; k++) {
		for (i = 0; i < k && v[i].sv_type != v[k].sv_type; i++)
			;
		if (i == k && v[k].sv_type->dt_counters.cd_count > 0)
			prom_device_counters(f, v[k].sv_type, v, n);
	}
	prom_head(f, "vhostd_restarts_total", "counter",
	    "Children started for the device after its first (any cause).");
	for (k = 0; k < n; k++) {
		prom_series(f, "vhostd_restarts_total", &v[k], -1);
		fprintf(f, "} %" PRIu64 "\n", v[k].sv_restarts);
	}
	prom_head(f, "vhostd_child_exits_total", "counter",
	    "Ends of the device's children, by exit class (vhostd(8), EXIT "
	    "CLASSES).");
	for (k = 0; k < n; k++)
		for (i = 0; i < STATS_NCLASSES; i++) {
			prom_series(f, "vhostd_child_exits_total", &v[k], -1);
			fprintf(f, ",class=\"%s\"} %" PRIu64 "\n",
			    class_labels[i], v[k].sv_exits[i]);
		}
	prom_head(f, "vhostd_device_up", "gauge",
	    "1 while a child serves the device, else 0.");
	for (k = 0; k < n; k++) {
		prom_series(f, "vhostd_device_up", &v[k], -1);
		fprintf(f, ",type=\"");
		stats_prom_label(f, v[k].sv_type->dt_name);
		fprintf(f, "\"} %d\n", strcmp(v[k].sv_state, "running") == 0);
	}
}

void
stats_write(FILE *f, enum stats_format fmt, const struct stats_view *v,
    unsigned int n)
{
	unsigned int	k;

	switch (fmt) {
	case STATS_PROMETHEUS:
		prom_write(f, v, n);
		break;
	case STATS_JSON:
		fprintf(f, "{\"devices\": [");
		for (k = 0; k < n; k++) {
			fprintf(f, "%s\n  ", k ? "," : "");
			json_device(f, &v[k]);
		}
		fprintf(f, "%s]}\n", n ? "\n" : "");
		break;
	case STATS_TEXT:
	default:
		for (k = 0; k < n; k++)
			text_device(f, &v[k]);
		break;
	}
}
