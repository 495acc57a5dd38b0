/*
 * ctl.c - the control socket's server in the supervisor's loop (accept,
 * SO_PEERCRED, one request line per connection, non-blocking replies,
 * requests that wait for a device), the verb table and its handlers, and
 * the request parser the client shares.  The status table is
 * ctl_status.c, the stats verb stats.c, the client ctl_client.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
/* How long a request that waits for a device may wait, past the grace. */
#define CTL_WAIT_EXTRA_MS	10000
/* How long a client may take to send its request, and to read the reply. */
#define CTL_IO_TIMEOUT_MS	2000
/*
 * Most connections open at once; more are closed as they come, so a
 * client that opens them without end cannot take the descriptors the
 * parent needs for its children (each costs one until it times out).
 */
#define CTL_CONN_MAX		32
/* How long the listener rests when an accept finds no descriptor. */
#define CTL_PAUSE_MS		100

/* What a waiting request waits for (ctl_poke checks it). */
enum ctl_wait {
	CTL_WAIT_NONE,
	CTL_WAIT_STOPPED,	/* the child is gone */
	CTL_WAIT_STARTED	/* a new child runs */
};

struct ctl_conn {
	struct supervisor	*cc_sup;
	int			 cc_fd;
	struct event		*cc_ev;
	char			 cc_buf[128];
	size_t			 cc_len;
	/* A request waiting for a device (on su_ctl_wait). */
	enum ctl_wait		 cc_wait;
	char			 cc_name[64];
	pid_t			 cc_pid;	/* the child it was at */
	const char		*cc_done;	/* "started", "restarted" */
	struct ctl_conn		*cc_next;
	/* The reply still to send (non-blocking: the loop never waits). */
	char			*cc_out;
	size_t			 cc_outlen;
	size_t			 cc_outoff;
	/* Every connection (ctl_close frees the ones still open). */
	struct ctl_conn		*cc_all_next;
	struct ctl_conn		**cc_all_prev;
};

/* The open connections: requests being read, waiting or being answered. */
static struct ctl_conn	*ctl_conns;
static unsigned int	 ctl_nconns;
/* Re-arms the listener after a pause (accept without descriptors). */
static struct event	*ctl_pause_ev;

/* Park the request's connection until the device gets there. */
static void
ctl_wait(const struct ctl_req *req, const struct sup_device *sd,
    enum ctl_wait what)
{
	struct ctl_conn	*cc = req->cr_conn;

	cc->cc_wait = what;
	snprintf(cc->cc_name, sizeof(cc->cc_name), "%s", sd->sd_conf.dc_name);
	cc->cc_pid = sd->sd_pid;
	cc->cc_done = strcmp(req->cr_verb->cv_name, "restart") == 0 ?
	    "restarted" : "started";
	cc->cc_next = cc->cc_sup->su_ctl_wait;
	cc->cc_sup->su_ctl_wait = cc;
}

/* The device the request names, or NULL with an error reply. */
static struct sup_device *
req_device(struct supervisor *sup, const struct ctl_req *req, FILE *f)
{
	struct sup_device	*sd;

	if ((sd = sup_device_find(sup, req->cr_name)) == NULL)
		fprintf(f, "error: no device '%s' (vhostd ctl status lists "
		    "them)\n", req->cr_name);
	return sd;
}

static void
status_run(struct supervisor *sup, const struct ctl_req *req, FILE *f)
{
	if (req->cr_name != NULL && req_device(sup, req, f) == NULL)
		return;
	ctl_status(sup, req->cr_opts & CTL_OPT_JSON, req->cr_name, f);
}

static void
start_run(struct supervisor *sup, const struct ctl_req *req, FILE *f)
{
	struct sup_device	*sd;
	char			 err[1024];
	bool			 reset;

	if ((sd = req_device(sup, req, f)) == NULL)
		return;
	reset = strcmp(req->cr_verb->cv_name, "reset") == 0;
	if (sup_ctl_start(sd, reset, err, sizeof(err)) < 0) {
		fprintf(f, "error: %s\n", err);
		return;
	}
	if (sd->sd_run == SUP_BACKOFF)
		/* Waiting for the previous child's I/O (blk's fence). */
		ctl_wait(req, sd, CTL_WAIT_STARTED);
	else if (sd->sd_run == SUP_RUNNING)
		fprintf(f, "%s: %s, child %d\n", sd->sd_conf.dc_name,
		    reset ? "restart counters cleared" : "started",
		    (int)sd->sd_pid);
	else
		fprintf(f, "%s: %s\n", sd->sd_conf.dc_name,
		    ctl_state_name(sd->sd_run));
}

static void
stop_run(struct supervisor *sup, const struct ctl_req *req, FILE *f)
{
	struct sup_device	*sd;
	char			 err[1024];
	bool			 restart;
	int			 rc;

	if ((sd = req_device(sup, req, f)) == NULL)
		return;
	restart = strcmp(req->cr_verb->cv_name, "restart") == 0;
	if ((rc = sup_ctl_stop(sd, restart, err, sizeof(err))) < 0)
		fprintf(f, "error: %s\n", err);
	else if (rc == 1)
		ctl_wait(req, sd, restart ? CTL_WAIT_STARTED :
		    CTL_WAIT_STOPPED);
	else if (restart)
		fprintf(f, "%s: started, child %d\n", sd->sd_conf.dc_name,
		    (int)sd->sd_pid);
	else
		fprintf(f, "%s: stopped\n", sd->sd_conf.dc_name);
}

static void
reload_run(struct supervisor *sup, const struct ctl_req *req, FILE *f)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*m;
	int	 rc;

	if ((m = open_memstream(&text, &len)) == NULL) {
		fprintf(f, "error: out of memory\n");
		return;
	}
	rc = sup_reload_now(sup, m);
	fclose(m);
	fprintf(f, "%s%s", rc < 0 ? "error: " : "", text != NULL ? text : "");
	free(text);
}

const struct ctl_verb ctl_verbs[] = {
	{ .cv_name = "status", .cv_arg = CTL_ARG_OPTIONAL,
	  .cv_opts = CTL_OPT_JSON, .cv_run = status_run,
	  .cv_help = "every device (or NAME) with its state" },
	{ .cv_name = "stats", .cv_arg = CTL_ARG_OPTIONAL,
	  .cv_opts = CTL_OPT_JSON | CTL_OPT_PROMETHEUS, .cv_run = stats_ctl,
	  .cv_help = "I/O counters of every device (or NAME)" },
	{ .cv_name = "start", .cv_arg = CTL_ARG_REQUIRED, .cv_run = start_run,
	  .cv_help = "start a stopped or failed device" },
	{ .cv_name = "stop", .cv_arg = CTL_ARG_REQUIRED, .cv_run = stop_run,
	  .cv_help = "stop the device's child and remove its socket until "
	  "start" },
	{ .cv_name = "restart", .cv_arg = CTL_ARG_REQUIRED, .cv_run = stop_run,
	  .cv_help = "a new child on the same socket" },
	{ .cv_name = "reset", .cv_arg = CTL_ARG_REQUIRED, .cv_run = start_run,
	  .cv_help = "forget the device's failures and start it" },
	{ .cv_name = "reload", .cv_arg = CTL_ARG_NONE, .cv_run = reload_run,
	  .cv_help = "read the configuration file again (as SIGHUP)" },
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
		for (k = 0; k < ARRAY_SIZE(ctl_opts); k++)
			if (strcmp(argv[i], ctl_opts[k].co_name) == 0)
				break;
		if (k < ARRAY_SIZE(ctl_opts)) {
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
		for (k = 0; k < ARRAY_SIZE(ctl_opts); k++)
			if (cv->cv_opts & ctl_opts[k].co_bit)
				fprintf(f, " [%s]", ctl_opts[k].co_name);
		fprintf(f, "\n%6s%s\n", "", cv->cv_help);
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

/* Take cc off the list of requests that wait for a device. */
static void
conn_unwait(struct ctl_conn *cc)
{
	struct ctl_conn	**pp;

	for (pp = &cc->cc_sup->su_ctl_wait; *pp != NULL; pp = &(*pp)->cc_next)
		if (*pp == cc) {
			*pp = cc->cc_next;
			break;
		}
	cc->cc_wait = CTL_WAIT_NONE;
}

static void
conn_free(struct ctl_conn *cc)
{
	conn_unwait(cc);
	if (cc->cc_all_prev != NULL) {
		*cc->cc_all_prev = cc->cc_all_next;
		if (cc->cc_all_next != NULL)
			cc->cc_all_next->cc_all_prev = cc->cc_all_prev;
	}
	if (cc->cc_ev != NULL)
		event_free(cc->cc_ev);
	close_reset(&cc->cc_fd);
	free(cc->cc_out);
	free(cc);
	ctl_nconns--;
}

/* Write what the socket takes of the reply: true once all is sent. */
static bool
conn_flush(struct ctl_conn *cc)
{
	ssize_t	n;

	while (cc->cc_outoff < cc->cc_outlen) {
		n = send(cc->cc_fd, cc->cc_out + cc->cc_outoff,
		    cc->cc_outlen - cc->cc_outoff, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n <= 0)
			return true;	/* gone: nothing more to send */
		cc->cc_outoff += (size_t)n;
	}
	return true;
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn	*cc = arg;

	/* A client that does not read its reply in time is dropped. */
	if ((what & EV_TIMEOUT) || conn_flush(cc))
		conn_free(cc);
}

/*
 * Send the reply (copied) and close.  The parent's loop never waits
 * for a client: what the socket does not take at once is sent as the
 * client reads it, for CTL_IO_TIMEOUT_MS at most.
 */
static void
conn_reply(struct ctl_conn *cc, const char *reply, size_t rlen)
{
	struct timeval	tv = { CTL_IO_TIMEOUT_MS / 1000,
			    (CTL_IO_TIMEOUT_MS % 1000) * 1000L };

	conn_unwait(cc);
	if (cc->cc_ev != NULL)
		event_free(cc->cc_ev);
	cc->cc_ev = NULL;
	if (rlen == 0 || (cc->cc_out = malloc(rlen)) == NULL) {
		conn_free(cc);
		return;
	}
	memcpy(cc->cc_out, reply, rlen);
	cc->cc_outlen = rlen;
	cc->cc_outoff = 0;
	if (conn_flush(cc) || cc->cc_sup->su_ctl_ev == NULL) {
		conn_free(cc);	/* sent, or vhostd is stopping */
		return;
	}
	cc->cc_ev = event_new(cc->cc_sup->su_base, cc->cc_fd,
	    EV_WRITE | EV_PERSIST, conn_write_cb, cc);
	if (cc->cc_ev == NULL || event_add(cc->cc_ev, &tv) == -1)
		conn_free(cc);
}

static void
conn_replyf(struct ctl_conn *cc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
conn_replyf(struct ctl_conn *cc, const char *fmt, ...)
{
	char	buf[512];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	conn_reply(cc, buf, n < 0 ? 0 : MIN((size_t)n, sizeof(buf) - 1));
}

void
ctl_poke(struct supervisor *sup)
{
	struct ctl_conn		*cc, *next;
	struct sup_device	*sd;

	for (cc = sup->su_ctl_wait; cc != NULL; cc = next) {
		next = cc->cc_next;
		if ((sd = sup_device_find(sup, cc->cc_name)) == NULL) {
			conn_replyf(cc, "error: %s was removed meanwhile\n",
			    cc->cc_name);
			continue;
		}
		if (sd->sd_pid == cc->cc_pid && sd->sd_run == SUP_RUNNING)
			continue;	/* the old child still runs */
		if (cc->cc_wait == CTL_WAIT_STOPPED)
			conn_replyf(cc, "%s: %s\n", cc->cc_name,
			    ctl_state_name(sd->sd_run));
		else if (sd->sd_run == SUP_RUNNING)
			conn_replyf(cc, "%s: %s, child %d\n", cc->cc_name,
			    cc->cc_done, (int)sd->sd_pid);
		else if (sd->sd_run == SUP_FAILED)
			conn_replyf(cc, "error: %s: the new child could not be "
			    "started (see the log)\n", cc->cc_name);
	}
}

static void
conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_conn	*cc = arg;
	struct ctl_req	 req;
	char		*reply = NULL, *nl, *words[CTL_MAX_WORDS], err[128];
	size_t		 rlen = 0;
	ssize_t		 n;
	int		 nw;
	FILE		*f;

	if (what & EV_TIMEOUT) {
		if (cc->cc_wait != CTL_WAIT_NONE)
			conn_replyf(cc, "error: %s: still not %s; see the "
			    "log\n", cc->cc_name, cc->cc_wait ==
			    CTL_WAIT_STOPPED ? "stopped" : "restarted");
		else
			conn_free(cc);
		return;
	}
	if (cc->cc_wait != CTL_WAIT_NONE) {
		/* Waiting: the client may only go away. */
		n = read(cc->cc_fd, cc->cc_buf, sizeof(cc->cc_buf));
		if (n == 0 || (n == -1 && errno != EAGAIN))
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
	else {
		req.cr_conn = cc;
		req.cr_verb->cv_run(cc->cc_sup, &req, f);
	}
	fclose(f);
	if (cc->cc_wait != CTL_WAIT_NONE) {
		/* Answered by ctl_poke; bounded by the stop's own timer. */
		struct timeval	tv;
		unsigned int	ms = cc->cc_sup->su_opt.so_grace_ms +
				    CTL_WAIT_EXTRA_MS;

		free(reply);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
		if (event_add(cc->cc_ev, &tv) == -1)
			conn_replyf(cc, "error: cannot wait\n");
		return;
	}
	conn_reply(cc, reply, rlen);
	free(reply);
}

/* Refused clients: a peer-triggered diagnostic, through the budget. */
static struct ratelimit_log	ctl_refused;
static bool			ctl_refused_init;

static struct ratelimit_log *
refused_log(void)
{
	if (!ctl_refused_init) {
		ratelimit_log_init(&ctl_refused, 0, 0);
		ctl_refused_init = true;
	}
	return &ctl_refused;
}

static void
pause_cb(evutil_socket_t fd, short what, void *arg)
{
	struct supervisor	*sup = arg;

	if (sup->su_ctl_ev != NULL)
		(void)event_add(sup->su_ctl_ev, NULL);
}

/*
 * No descriptor for a new client (EMFILE, ENFILE): the pending one stays
 * in the backlog, so the listener stays readable; stop watching it for
 * CTL_PAUSE_MS rather than spin.
 */
static void
accept_pause(struct supervisor *sup)
{
	struct timeval	tv = { 0, CTL_PAUSE_MS * 1000L };

	if (ctl_pause_ev == NULL &&
	    (ctl_pause_ev = evtimer_new(sup->su_base, pause_cb, sup)) == NULL)
		return;
	(void)ratelimit_warnx(refused_log(), ratelimit_now(), "control: no "
	    "descriptor for a client (%s); not accepting for %d ms",
	    strerror(errno), CTL_PAUSE_MS);
	if (event_del(sup->su_ctl_ev) == 0)
		(void)evtimer_add(ctl_pause_ev, &tv);
}

static void
accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct supervisor	*sup = arg;
	struct ctl_conn		*cc;
	struct ucred		 cred;
	struct timeval		 tv = { CTL_IO_TIMEOUT_MS / 1000,
				    (CTL_IO_TIMEOUT_MS % 1000) * 1000L };
	socklen_t		 len = sizeof(cred);
	int			 fd;

	fd = accept4((int)lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			accept_pause(sup);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		(void)ratelimit_warnx(refused_log(), ratelimit_now(),
		    "control: refused uid %u (only root and the owner may "
		    "use the control socket)", (unsigned int)cred.uid);
		close(fd);
		return;
	}
	if (ctl_nconns >= CTL_CONN_MAX) {
		(void)ratelimit_warnx(refused_log(), ratelimit_now(),
		    "control: %d clients at once already; refused one (uid "
		    "%u)", CTL_CONN_MAX, (unsigned int)cred.uid);
		close(fd);
		return;
	}
	if ((cc = calloc(1, sizeof(*cc))) == NULL) {
		close(fd);
		return;
	}
	ctl_nconns++;
	cc->cc_sup = sup;
	cc->cc_fd = fd;
	cc->cc_all_next = ctl_conns;
	if (ctl_conns != NULL)
		ctl_conns->cc_all_prev = &cc->cc_all_next;
	cc->cc_all_prev = &ctl_conns;
	ctl_conns = cc;
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
	struct ctl_conn	*cc, *next;

	if (sup->su_ctl_ev != NULL)
		event_free(sup->su_ctl_ev);
	sup->su_ctl_ev = NULL;
	if (ctl_pause_ev != NULL)
		event_free(ctl_pause_ev);
	ctl_pause_ev = NULL;
	/* A last word where the socket takes it; nothing waits. */
	while (sup->su_ctl_wait != NULL)
		conn_replyf(sup->su_ctl_wait, "error: vhostd is stopping\n");
	for (cc = ctl_conns; cc != NULL; cc = next) {
		next = cc->cc_all_next;
		if (cc->cc_sup == sup)
			conn_free(cc);
	}
	listener_free(sup->su_ctl);
	sup->su_ctl = NULL;
	listener_retained_release(sup->su_ctl_retained);
	sup->su_ctl_retained = NULL;
}
