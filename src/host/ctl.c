/*
 * ctl.c - control socket server and client.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "../listener/listener.h"
#include "../util/log.h"
#include "ctl.h"
#include "host.h"

struct ctl_conn {
	struct supervisor	*cc_sup;
	int			 cc_fd;
	struct event		*cc_ev;
	char			 cc_buf[128];
	size_t			 cc_len;
};

static const char *const state_names[] = {
	[SUP_STOPPED] = "stopped",
	[SUP_RUNNING] = "running",
	[SUP_BACKOFF] = "restarting",
	[SUP_FAILED] = "failed",
	[SUP_DONE] = "done",
};

static void
json_str(FILE *f, const char *s)
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

void
ctl_status(const struct supervisor *sup, bool json, FILE *f)
{
	const struct sup_device	*sd;
	struct timespec		 now;
	unsigned int		 i;
	double			 up;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (json)
		fprintf(f, "{\"pid\": %d, \"devices\": [", (int)getpid());
	else
		fprintf(f, "%-16s %-6s %-10s %7s %8s %9s %-10s %s\n", "NAME",
		    "TYPE", "STATE", "PID", "RESTARTS", "UPTIME", "CONNECTION",
		    "SOCKET");
	for (i = 0; i < sup->su_ndev; i++) {
		sd = sup->su_dev[i];
		up = sd->sd_run == SUP_RUNNING ?
		    (double)(now.tv_sec - sd->sd_started.tv_sec) +
		    (double)(now.tv_nsec - sd->sd_started.tv_nsec) / 1e9 : 0;
		if (!json) {
			fprintf(f, "%-16s %-6s %-10s %7d %8u %8.0fs %-10s %s\n",
			    sd->sd_conf.dc_name, sd->sd_conf.dc_type->dt_name,
			    state_names[sd->sd_run], (int)sd->sd_pid,
			    sd->sd_restarts, up,
			    sd->sd_run == SUP_RUNNING ? sd->sd_conn : "none",
			    sd->sd_conf.dc_socket != NULL ?
			    sd->sd_conf.dc_socket : "(inherited fd)");
			continue;
		}
		fprintf(f, "%s\n  {\"name\": ", i ? "," : "");
		json_str(f, sd->sd_conf.dc_name);
		fprintf(f, ", \"type\": ");
		json_str(f, sd->sd_conf.dc_type->dt_name);
		fprintf(f, ", \"state\": \"%s\", \"pid\": %d, \"restarts\": %u, "
		    "\"uptime\": %.3f, \"connection\": ", state_names[sd->sd_run],
		    (int)sd->sd_pid, sd->sd_restarts, up);
		json_str(f, sd->sd_run == SUP_RUNNING ? sd->sd_conn : "none");
		fprintf(f, ", \"socket\": ");
		if (sd->sd_conf.dc_socket != NULL)
			json_str(f, sd->sd_conf.dc_socket);
		else
			fprintf(f, "null");
		fprintf(f, ", \"restart\": \"%s\"}",
		    config_restart_name(sd->sd_conf.dc_restart));
	}
	if (json)
		fprintf(f, "%s]}\n", sup->su_ndev ? "\n" : "");
}

static void
conn_free(struct ctl_conn *cc)
{
	if (cc->cc_ev != NULL)
		event_free(cc->cc_ev);
	close_reset(&cc->cc_fd);
	free(cc);
}

static void
conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn	*cc = arg;
	char		*reply = NULL, *nl;
	size_t		 rlen = 0, off;
	ssize_t		 n;
	FILE		*f;

	if (what & EV_TIMEOUT) {
		conn_free(cc);
		return;
	}
	n = read(cc->cc_fd, cc->cc_buf + cc->cc_len,
	    sizeof(cc->cc_buf) - 1 - cc->cc_len);
	if (n <= 0) {
		if (n == -1 && errno == EAGAIN)
			return;
		conn_free(cc);
		return;
	}
	cc->cc_len += (size_t)n;
	cc->cc_buf[cc->cc_len] = '\0';
	if ((nl = strchr(cc->cc_buf, '\n')) == NULL) {
		if (cc->cc_len == sizeof(cc->cc_buf) - 1)
			conn_free(cc);
		return;
	}
	*nl = '\0';
	if ((f = open_memstream(&reply, &rlen)) == NULL) {
		conn_free(cc);
		return;
	}
	if (strcmp(cc->cc_buf, "status") == 0)
		ctl_status(cc->cc_sup, false, f);
	else if (strcmp(cc->cc_buf, "status-json") == 0)
		ctl_status(cc->cc_sup, true, f);
	else
		fprintf(f, "error: unknown command (try status)\n");
	fclose(f);
	/* The reply is small; a blocking write with a send timeout. */
	fd_set_nonblock(cc->cc_fd, 0);
	for (off = 0; off < rlen; off += (size_t)n)
		if ((n = write(cc->cc_fd, reply + off, rlen - off)) <= 0)
			break;
	free(reply);
	conn_free(cc);
}

static void
accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct supervisor	*sup = arg;
	struct ctl_conn		*cc;
	struct ucred		 cred;
	struct timeval		 tv = { 2, 0 };
	socklen_t		 len = sizeof(cred);
	int			 fd;

	fd = accept4((int)lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd == -1)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		log_warnx("control: refused uid %u", (unsigned int)cred.uid);
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((cc = calloc(1, sizeof(*cc))) == NULL) {
		close(fd);
		return;
	}
	cc->cc_sup = sup;
	cc->cc_fd = fd;
	cc->cc_ev = event_new(sup->su_base, fd, EV_READ | EV_PERSIST, conn_cb,
	    cc);
	if (cc->cc_ev == NULL || event_add(cc->cc_ev, &tv) == -1)
		conn_free(cc);
}

int
ctl_listen(struct supervisor *sup, const char *path, char *err,
    size_t errlen)
{
	struct fdset	unused;
	int		rc;

	fdset_init(&unused);
	if ((rc = listener_new_path(&sup->su_ctl, path, 0600, (gid_t)-1,
	    &unused, err, errlen)) < 0)
		return rc;
	sup->su_ctl_retained = listener_take_parent_resources(sup->su_ctl);
	sup->su_ctl_ev = event_new(sup->su_base, listener_fd(sup->su_ctl),
	    EV_READ | EV_PERSIST, accept_cb, sup);
	if (sup->su_ctl_ev == NULL || event_add(sup->su_ctl_ev, NULL) == -1) {
		snprintf(err, errlen, "%s: cannot watch the control socket",
		    path);
		ctl_close(sup);
		return -ENOMEM;
	}
	return 0;
}

void
ctl_close(struct supervisor *sup)
{
	if (sup->su_ctl_ev != NULL)
		event_free(sup->su_ctl_ev);
	sup->su_ctl_ev = NULL;
	listener_free(sup->su_ctl);
	sup->su_ctl = NULL;
	listener_retained_release(sup->su_ctl_retained);
	sup->su_ctl_retained = NULL;
}

int
ctl_client(const char *path, const char *cmd, FILE *out)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	char			buf[4096];
	ssize_t			n;
	int			fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "vhostd ctl: %s: path too long\n", path);
		return 1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "vhostd ctl: %s: %s (is vhostd running with "
		    "--control=%s?)\n", path, strerror(errno), path);
		if (fd != -1)
			close(fd);
		return 1;
	}
	if (dprintf(fd, "%s\n", cmd) < 0) {
		fprintf(stderr, "vhostd ctl: %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, out);
	close(fd);
	return 0;
}
