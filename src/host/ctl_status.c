/*
 * ctl_status.c - "vhostd ctl status": the device table as text or JSON
 * (each device's state, child, restarts, uptime, connection, socket, and
 * the summary its type flags DKF_STATUS), and the names of the states.
 * The verbs and the socket are ctl.c; the counters are stats_fmt.c.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "host.h"
#include "stats.h"

static const char *const state_names[SUP_DONE + 1] = {
	[SUP_STOPPED] = "stopped",
	[SUP_RUNNING] = "running",
	[SUP_BACKOFF] = "restarting",
	[SUP_FAILED] = "failed",
	[SUP_DONE] = "done",
};

const char *
ctl_state_name(unsigned int state)
{
	return state < sizeof(state_names) / sizeof(state_names[0]) ?
	    state_names[state] : "?";
}

/*
 * The device's summary: the keys its type flags DKF_STATUS (blk: the
 * image, read-only, queues) that have a value, given or default, as
 * "key=value ..." or as JSON members.  The host reads the typed values
 * through the key table; it knows nothing of blk.
 */
static void
summary(const struct sup_device *sd, bool json, FILE *f)
{
	const struct dev_options	*o = &sd->sd_conf.dc_opts;
	const struct dev_key		*k;
	const struct dev_value		*v;
	unsigned int			 i, n = 0;

	if (json)
		fprintf(f, "{");
	for (i = 0; i < o->do_nkeys; i++) {
		k = &o->do_keys[i];
		v = &o->do_val[i];
		if (!(k->dk_flags & DKF_STATUS) ||
		    (!v->dv_set && k->dk_default == NULL))
			continue;
		if (json) {
			fprintf(f, "%s", n ? ", " : "");
			stats_json_str(f, k->dk_name);
			fprintf(f, ": ");
		} else
			fprintf(f, "%s%s=", n ? "," : "", k->dk_name);
		n++;
		switch (k->dk_kind) {
		case DK_BOOL:
			fprintf(f, "%s", json ? (v->dv_u ? "true" : "false") :
			    (v->dv_u ? "on" : "off"));
			break;
		case DK_UINT:
		case DK_SIZE:
		case DK_OCTAL:
			fprintf(f, "%llu", (unsigned long long)v->dv_u);
			break;
		case DK_ENUM:
			if (json)
				stats_json_str(f, k->dk_choices[v->dv_u]);
			else
				fprintf(f, "%s", k->dk_choices[v->dv_u]);
			break;
		default:
			if (json)
				stats_json_str(f, v->dv_text);
			else
				fprintf(f, "%s", v->dv_text != NULL ?
				    v->dv_text : "");
			break;
		}
	}
	if (json)
		fprintf(f, "}");
	else if (n == 0)
		fprintf(f, "-");
}

void
ctl_status(const struct supervisor *sup, bool json, const char *name,
    FILE *f)
{
	const struct sup_device	*sd;
	struct timespec		 now;
	unsigned int		 i;
	double			 up;
	bool			 first = true;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (json)
		fprintf(f, "{\"pid\": %d, \"devices\": [", (int)getpid());
	else
		fprintf(f, "%-16s %-6s %-10s %7s %8s %9s %-10s %s %s\n", "NAME",
		    "TYPE", "STATE", "PID", "RESTARTS", "UPTIME", "CONNECTION",
		    "SOCKET", "DEVICE");
	for (i = 0; i < sup->su_ndev; i++) {
		sd = sup->su_dev[i];
		if (name != NULL && strcmp(sd->sd_conf.dc_name, name) != 0)
			continue;
		up = sd->sd_run == SUP_RUNNING ?
		    (double)(now.tv_sec - sd->sd_started.tv_sec) +
		    (double)(now.tv_nsec - sd->sd_started.tv_nsec) / 1e9 : 0;
		if (!json) {
			fprintf(f, "%-16s %-6s %-10s %7d %8u %8.0fs %-10s %s ",
			    sd->sd_conf.dc_name, sd->sd_conf.dc_type->dt_name,
			    state_names[sd->sd_run], (int)sd->sd_pid,
			    sd->sd_restarts, up,
			    sd->sd_run == SUP_RUNNING ? sd->sd_conn : "none",
			    sd->sd_conf.dc_socket != NULL ?
			    sd->sd_conf.dc_socket : "(inherited-fd)");
			summary(sd, false, f);
			fputc('\n', f);
			continue;
		}
		fprintf(f, "%s\n  {\"name\": ", first ? "" : ",");
		first = false;
		stats_json_str(f, sd->sd_conf.dc_name);
		fprintf(f, ", \"type\": ");
		stats_json_str(f, sd->sd_conf.dc_type->dt_name);
		fprintf(f, ", \"state\": \"%s\", \"pid\": %d, \"restarts\": %u, "
		    "\"uptime\": %.3f, \"connection\": ", state_names[sd->sd_run],
		    (int)sd->sd_pid, sd->sd_restarts, up);
		stats_json_str(f, sd->sd_run == SUP_RUNNING ? sd->sd_conn :
		    "none");
		fprintf(f, ", \"socket\": ");
		if (sd->sd_conf.dc_socket != NULL)
			stats_json_str(f, sd->sd_conf.dc_socket);
		else
			fprintf(f, "null");
		fprintf(f, ", \"restart\": \"%s\", \"device\": ",
		    config_restart_name(sd->sd_conf.dc_restart));
		summary(sd, true, f);
		fprintf(f, "}");
	}
	if (json)
		fprintf(f, "%s]}\n", first ? "" : "\n");
}
