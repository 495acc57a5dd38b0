/*
 * ctl.c - control socket server and client, and the verb table.
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
#include "../util/ratelimit.h"
#include "ctl.h"
#include "host.h"
#include "stats.h"

/* Most words in one request line (the verb, options, a name). */
#define CTL_MAX_WORDS	8

struct ctl_conn {
	struct supervisor	*cc_sup;
	int			 cc_fd;
	struct event		*cc_ev;
	char			 cc_buf[128];
	size_t			 cc_len;
	char			*cc_reply;	/* being written, or NULL */
	size_t			 cc_rlen;
	size_t			 cc_off;
};

/*
 * Most time a client may take to read its reply (the stats of many
 * devices are megabytes): written without blocking, from the loop.
 */
#define CTL_REPLY_SECS	10

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
		fprintf(f, "%-16s %-6s %-10s %7s %8s %9s %-10s %s\n", "NAME",
		    "TYPE", "STATE", "PID", "RESTARTS", "UPTIME", "CONNECTION",
		    "SOCKET");
	for (i = 0; i < sup->su_ndev; i++) {
		sd = sup->su_dev[i];
		if (name != NULL && strcmp(sd->sd_conf.dc_name, name) != 0)
			continue;
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
		fprintf(f, "%s\n  {\"name\": ", first ? "" : ",");
		first = false;
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
		fprintf(f, "%s]}\n", first ? "" : "\n");
}

/* The device called name, or NULL. */
static const struct sup_device *
ctl_find(const struct supervisor *sup, const char *name)
{
	unsigned int	i;

	for (i = 0; i < sup->su_ndev; i++)
		if (strcmp(sup->su_dev[i]->sd_conf.dc_name, name) == 0)
			return sup->su_dev[i];
	return NULL;
}

static void
status_run(struct supervisor *sup, const struct ctl_req *req, FILE *f)
{
	if (req->cr_name != NULL && ctl_find(sup, req->cr_name) == NULL) {
		fprintf(f, "error: no device '%s'\n", req->cr_name);
		return;
	}
	ctl_status(sup, req->cr_opts & CTL_OPT_JSON, req->cr_name, f);
}

const struct ctl_verb ctl_verbs[] = {
	{ .cv_name = "status", .cv_arg = CTL_ARG_OPTIONAL,
	  .cv_opts = CTL_OPT_JSON, .cv_run = status_run,
	  .cv_help = "every device (or NAME) with its state" },
	{ .cv_name = "stats", .cv_arg = CTL_ARG_OPTIONAL,
	  .cv_opts = CTL_OPT_JSON | CTL_OPT_PROMETHEUS, .cv_run = stats_ctl,
	  .cv_help = "I/O counters of every device (or NAME)" },
	{ .cv_name = NULL }
};

static const struct {
	const char	*co_name;
	unsigned int	 co_bit;
} ctl_opts[] = {
	{ "--json", CTL_OPT_JSON },
	{ "--prometheus", CTL_OPT_PROMETHEUS },
};

int
ctl_parse(int argc, char *const argv[], struct ctl_req *req, char *err,
    size_t errlen)
{
	const struct ctl_verb	*cv;
	unsigned int		 k;
	int			 i;

	memset(req, 0, sizeof(*req));
	if (argc < 1) {
		snprintf(err, errlen, "no command");
		return -EINVAL;
	}
	for (cv = ctl_verbs; cv->cv_name != NULL; cv++)
		if (strcmp(cv->cv_name, argv[0]) == 0)
			break;
	if (cv->cv_name == NULL) {
		snprintf(err, errlen, "unknown command '%.32s'", argv[0]);
		return -EINVAL;
	}
	req->cr_verb = cv;
	for (i = 1; i < argc; i++) {
		for (k = 0; k < sizeof(ctl_opts) / sizeof(ctl_opts[0]); k++)
			if (strcmp(argv[i], ctl_opts[k].co_name) == 0)
				break;
		if (k < sizeof(ctl_opts) / sizeof(ctl_opts[0])) {
			if ((cv->cv_opts & ctl_opts[k].co_bit) == 0) {
				snprintf(err, errlen, "%s takes no %s",
				    cv->cv_name, ctl_opts[k].co_name);
				return -EINVAL;
			}
			req->cr_opts |= ctl_opts[k].co_bit;
		} else if (argv[i][0] == '-') {
			snprintf(err, errlen, "%s: unknown option '%.32s'",
			    cv->cv_name, argv[i]);
			return -EINVAL;
		} else if (cv->cv_arg == CTL_ARG_NONE ||
		    req->cr_name != NULL) {
			snprintf(err, errlen, "%s: unexpected '%.32s'",
			    cv->cv_name, argv[i]);
			return -EINVAL;
		} else
			req->cr_name = argv[i];
	}
	if (cv->cv_arg == CTL_ARG_REQUIRED && req->cr_name == NULL) {
		snprintf(err, errlen, "%s needs a device NAME", cv->cv_name);
		return -EINVAL;
	}
	if ((req->cr_opts & (CTL_OPT_JSON | CTL_OPT_PROMETHEUS)) ==
	    (CTL_OPT_JSON | CTL_OPT_PROMETHEUS)) {
		snprintf(err, errlen, "%s: --json or --prometheus, not both",
		    cv->cv_name);
		return -EINVAL;
	}
	return 0;
}

void
ctl_usage(FILE *f, const char *prefix)
{
	const struct ctl_verb	*cv;
	unsigned int		 k;

	for (cv = ctl_verbs; cv->cv_name != NULL; cv++) {
		fprintf(f, "%s%s%s", prefix, cv->cv_name,
		    cv->cv_arg == CTL_ARG_OPTIONAL ? " [NAME]" :
		    cv->cv_arg == CTL_ARG_REQUIRED ? " NAME" : "");
		for (k = 0; k < sizeof(ctl_opts) / sizeof(ctl_opts[0]); k++)
			if (cv->cv_opts & ctl_opts[k].co_bit)
				fprintf(f, " [%s]", ctl_opts[k].co_name);
		fprintf(f, "\n%*s%s\n", (int)strlen(prefix) + 4, "",
		    cv->cv_help);
	}
}

/* Split line into at most max words at single spaces (in place). */
static int
ctl_split(char *line, char **words, int max)
{
	char	*save = NULL, *w;
	int	 n = 0;

	for (w = strtok_r(line, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		if (n == max)
			return -1;
		words[n++] = w;
	}
	return n;
}

static void
conn_free(struct ctl_conn *cc)
{
	if (cc->cc_ev != NULL)
		event_free(cc->cc_ev);
	close_reset(&cc->cc_fd);
	free(cc->cc_reply);
	free(cc);
}

/* Write what the socket takes; true when the reply is out (or failed). */
static bool
conn_write(struct ctl_conn *cc)
{
	ssize_t	n;

	while (cc->cc_off < cc->cc_rlen) {
		n = send(cc->cc_fd, cc->cc_reply + cc->cc_off,
		    cc->cc_rlen - cc->cc_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return false;
		if (n <= 0)
			return true;
		cc->cc_off += (size_t)n;
	}
	return true;
}

static void
write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn	*cc = arg;

	if ((what & EV_TIMEOUT) || conn_write(cc))
		conn_free(cc);
}

static void
conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn	*cc = arg;
	struct ctl_req	 req;
	struct timeval	 tv = { CTL_REPLY_SECS, 0 };
	char		*reply = NULL, *nl, *words[CTL_MAX_WORDS], err[128];
	size_t		 rlen = 0;
	ssize_t		 n;
	int		 nw;
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
	if ((nw = ctl_split(cc->cc_buf, words, CTL_MAX_WORDS)) < 0)
		fprintf(f, "error: too many words\n");
	else if (ctl_parse(nw, words, &req, err, sizeof(err)) < 0)
		fprintf(f, "error: %s\n", err);
	else
		req.cr_verb->cv_run(cc->cc_sup, &req, f);
	fclose(f);
	cc->cc_reply = reply;
	cc->cc_rlen = rlen;
	if (conn_write(cc)) {
		conn_free(cc);
		return;
	}
	/* The rest when the client reads it, within CTL_REPLY_SECS. */
	event_free(cc->cc_ev);
	cc->cc_ev = event_new(cc->cc_sup->su_base, cc->cc_fd,
	    EV_WRITE | EV_PERSIST, write_cb, cc);
	if (cc->cc_ev == NULL || event_add(cc->cc_ev, &tv) == -1)
		conn_free(cc);
}

/* Refused clients: a peer-triggered diagnostic, through the budget. */
static struct ratelimit_log	ctl_refused;
static bool			ctl_refused_init;

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
		if (!ctl_refused_init) {
			ratelimit_log_init(&ctl_refused, 0, 0);
			ctl_refused_init = true;
		}
		(void)ratelimit_warnx(&ctl_refused, ratelimit_now(),
		    "control: refused uid %u (only root and the owner may "
		    "use the control socket)", (unsigned int)cred.uid);
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
ctl_client(const char *path, int argc, char *const argv[], FILE *out)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	struct ctl_req		req;
	char			buf[4096], err[128], line[128], *reply = NULL;
	size_t			len = 0, rlen = 0;
	ssize_t			n;
	bool			failed;
	FILE			*mf;
	int			fd, i;

	if (ctl_parse(argc, argv, &req, err, sizeof(err)) < 0) {
		fprintf(stderr, "vhostd ctl: %s\nusage:\n", err);
		ctl_usage(stderr, "  vhostd ctl [--control=PATH] ");
		return 2;
	}
	for (i = 0; i < argc; i++) {
		n = snprintf(line + len, sizeof(line) - len, "%s%s",
		    i ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - len - 1) {
			fprintf(stderr, "vhostd ctl: request too long\n");
			return 2;
		}
		len += (size_t)n;
	}
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
	if (dprintf(fd, "%s\n", line) < 0) {
		fprintf(stderr, "vhostd ctl: %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	/* The whole reply first: an error reply goes to stderr. */
	if ((mf = open_memstream(&reply, &rlen)) == NULL) {
		close(fd);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, mf);
	close(fd);
	fclose(mf);
	failed = rlen >= 7 && memcmp(reply, "error: ", 7) == 0;
	if (rlen == 0) {
		fprintf(stderr, "vhostd ctl: %s: vhostd closed the connection "
		    "without a reply\n", path);
		failed = true;
	} else if (failed)
		fprintf(stderr, "vhostd ctl: %s", reply + 7);
	else
		fwrite(reply, 1, rlen, out);
	free(reply);
	return failed ? 1 : 0;
}
