/*
 * escape_vsock.c - a test-only device (vhostd_test "escape-vsock"): the
 * real vsock device (vsock.c: same keys, the uds-path listener the host
 * binds, a fresh broker channel per child, the parent's broker, the same
 * child set-up, policy file escape-vsock.policy including vsock.policy),
 * taken over once jailed and filtered.  Instead of serving, it turns
 * what a hijacked vsock child has against the host: its broker channel
 * to the privileged parent, and the system calls of its policy.
 *
 * Keys: every vsock key and attempt=NAME (run only that attempt; default:
 * every attempt of the broker layer).
 *
 * Layers.  "broker" attempts use only what the policy allows (write and
 * recvmsg on the channel) and are stopped by the parent's broker alone
 * (vsock_broker.c): the test plants what they aim at in uds-path's
 * directory (tests/integration/escape_test.c, vsock_*):
 *
 *   port 7000  a socket of root's at <uds-path>_7000: the control, the
 *              one request that must be served (else the channel is
 *              broken and the refusals prove nothing);
 *   port 7001  a symbolic link to another socket (the victim);
 *   port 7002  a hard link to the victim;
 *   port 7003  a socket of another user, mode 0600 (the device's user
 *              cannot connect to it);
 *   port 7004  a regular file;
 *   and malformed records, a record with a descriptor attached, and a
 *   flood beyond the broker's budget.
 *
 * "filter" attempts are stopped only by vsock.policy: the test runs each
 * alone and expects SIGSYS (or EPERM where the policy says so).
 *
 * Reports "escape: N attempts, M succeeded" like escape.c and exits 0
 * iff M is 0 (and the control was served).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "devices/device.h"
#include "devices/vsock_dev.h"
#include "devices/vsock_uds.h"
#include "util/log.h"
#include "util/util.h"

#include "escape_common.h"

enum ev_layer { EV_BROKER, EV_FILTER };

struct ev_state {
	void	*ev_vsock;		/* the real device's child state */
	int	 ev_listen;		/* uds-path listener */
	int	 ev_chan;		/* broker channel */
	char	 ev_only[ESCAPE_ONLY_LEN];
	uint32_t ev_seq;
};

/* The plain data: this header, then vsock's own. */
struct ev_res {
	char	er_only[ESCAPE_ONLY_LEN];
};

struct ev_attempt {
	const char	*ea_name;
	enum ev_layer	 ea_layer;
	bool		(*ea_fn)(struct ev_state *es);
};

/*
 * Wait up to ms for one answer: 1 with *err (and *fd, -1 if none), 0 when
 * none came.
 */
static int
ev_answer(struct ev_state *es, int ms, int *err, int *fd)
{
	struct vsock_broker_resp	 r;
	uint8_t				 wire[VSOCK_BROKER_REC_SIZE];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}				 cm;
	struct iovec			 iov = { wire, sizeof(wire) };
	struct msghdr			 msg;
	struct cmsghdr			*c;
	struct pollfd			 pfd = { .fd = es->ev_chan,
					     .events = POLLIN };
	ssize_t				 n;

	*fd = -1;
	if (poll(&pfd, 1, ms) != 1)
		return 0;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	if ((n = recvmsg(es->ev_chan, &msg, MSG_CMSG_CLOEXEC)) <= 0)
		return 0;
	c = CMSG_FIRSTHDR(&msg);
	if (c != NULL && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	if (vsock_broker_resp_decode(wire, (size_t)n, &r) < 0) {
		*err = EPROTO;
		return 1;
	}
	*err = r.bp_error;
	return 1;
}

/* Ask for port; true when the parent handed a socket back. */
static bool
ev_ask(struct ev_state *es, uint32_t port)
{
	struct vsock_broker_req	req = { .br_seq = ++es->ev_seq,
					.br_port = port };
	uint8_t			wire[VSOCK_BROKER_REC_SIZE];
	int			err = 0, fd = -1;

	vsock_broker_req_encode(&req, wire);
	if (write(es->ev_chan, wire, sizeof(wire)) != (ssize_t)sizeof(wire)) {
		log_info("escape: port %u: cannot write: %s", port,
		    strerror(errno));
		return false;
	}
	if (ev_answer(es, 5000, &err, &fd) == 0) {
		log_info("escape: port %u: no answer", port);
		return false;
	}
	log_info("escape: port %u: %s", port, err == 0 ? "connected" :
	    strerror(err));
	if (fd >= 0) {
		close(fd);
		return true;
	}
	return false;
}

static bool
try_symlink(struct ev_state *es)
{
	return ev_ask(es, 7001);
}

static bool
try_hardlink(struct ev_state *es)
{
	return ev_ask(es, 7002);
}

static bool
try_other_users_socket(struct ev_state *es)
{
	return ev_ask(es, 7003);
}

static bool
try_regular_file(struct ev_state *es)
{
	return ev_ask(es, 7004);
}

/* Records the parent must drop without an answer. */
static bool
try_bad_records(struct ev_state *es)
{
	struct vsock_broker_req	 req = { .br_seq = 99, .br_port = 7000 };
	uint8_t			 w[VSOCK_BROKER_REC_SIZE + 8];
	struct iovec		 iov;
	unsigned int		 i, answered = 0;
	int			 err, fd, one = 0;

	for (i = 0; i < 5; i++) {
		vsock_broker_req_encode(&req, w);
		memset(w + VSOCK_BROKER_REC_SIZE, 0, 8);
		switch (i) {
		case 0:		/* short */
			(void)!write(es->ev_chan, w, VSOCK_BROKER_REC_SIZE - 1);
			break;
		case 1:		/* long */
			(void)!write(es->ev_chan, w, VSOCK_BROKER_REC_SIZE + 1);
			break;
		case 2:		/* bad magic */
			w[0] ^= 0xff;
			(void)!write(es->ev_chan, w, VSOCK_BROKER_REC_SIZE);
			break;
		case 3:		/* padding set */
			w[12] = 1;
			(void)!write(es->ev_chan, w, VSOCK_BROKER_REC_SIZE);
			break;
		case 4:		/* port 0xffffffff: "<base>_4294967295" */
			w[8] = w[9] = w[10] = w[11] = 0xff;
			(void)!write(es->ev_chan, w, VSOCK_BROKER_REC_SIZE);
			break;
		default:
			break;
		}
	}
	/* A good record carrying a descriptor: answered, fd dropped. */
	vsock_broker_req_encode(&req, w);
	iov.iov_base = w;
	iov.iov_len = VSOCK_BROKER_REC_SIZE;
	(void)send_fds(es->ev_chan, &iov, 1, &es->ev_listen, 1);
	while (ev_answer(es, 1000, &err, &fd) == 1) {
		answered++;
		if (fd >= 0)
			close(fd);
		(void)one;
	}
	log_info("escape: malformed records: %u answers (1 expected: the "
	    "good record with a descriptor)", answered);
	return answered != 1;
}

/* Beyond the budget: some requests must be refused with EAGAIN. */
static bool
try_flood(struct ev_state *es)
{
	struct vsock_broker_req	req;
	uint8_t			wire[VSOCK_BROKER_REC_SIZE];
	unsigned int		i, eagain = 0, answers = 0;
	int			err, fd;

	for (i = 0; i < 200; i++) {
		req.br_seq = 1000 + i;
		req.br_port = 7999;	/* nobody there: no connect */
		vsock_broker_req_encode(&req, wire);
		if (write(es->ev_chan, wire, sizeof(wire)) != sizeof(wire))
			break;
	}
	while (ev_answer(es, 2000, &err, &fd) == 1) {
		answers++;
		eagain += err == EAGAIN;
		if (fd >= 0)
			close(fd);
	}
	log_info("escape: flood of %u requests: %u answers, %u refused by "
	    "the budget", i, answers, eagain);
	return eagain == 0;
}

/* Filter layer: the policy has no socket, socketpair, connect. */
static bool
try_socket(struct ev_state *es)
{
	int	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

static bool
try_socketpair(struct ev_state *es)
{
	int	sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return false;
	close(sv[0]);
	close(sv[1]);
	return true;
}

/* connect() on a descriptor it has (the listener), to a host path. */
static bool
try_connect(struct ev_state *es)
{
	struct sockaddr_un	sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/run/systemd/private");
	return connect(es->ev_listen, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0;
}

/* The shared listener must survive this child: shutdown is refused. */
static bool
try_shutdown_listener(struct ev_state *es)
{
	return shutdown(es->ev_listen, SHUT_RDWR) == 0;
}

static bool
try_shutdown_channel(struct ev_state *es)
{
	return shutdown(es->ev_chan, SHUT_RDWR) == 0;
}

static const struct ev_attempt ev_attempts[] = {
	{ "broker-symlink",		EV_BROKER,	try_symlink },
	{ "broker-hardlink",		EV_BROKER,	try_hardlink },
	{ "broker-other-users-socket",	EV_BROKER,	try_other_users_socket },
	{ "broker-regular-file",	EV_BROKER,	try_regular_file },
	{ "broker-bad-records",		EV_BROKER,	try_bad_records },
	{ "broker-flood",		EV_BROKER,	try_flood },
	{ "socket",			EV_FILTER,	try_socket },
	{ "socketpair",			EV_FILTER,	try_socketpair },
	{ "connect",			EV_FILTER,	try_connect },
	{ "shutdown-listener",		EV_FILTER,	try_shutdown_listener },
	{ "shutdown-channel",		EV_FILTER,	try_shutdown_channel },
};

enum { EV_K_ATTEMPT = VSOCK_K_COUNT, EV_K_COUNT };

static const struct dev_key ev_keys[EV_K_COUNT] = {
	VSOCK_KEY_ROWS
	[EV_K_ATTEMPT] = { .dk_name = "attempt", .dk_kind = DK_STRING,
	    .dk_help = "test only: run only this attempt" },
};

/* Parent: vsock's resources, with attempt= put first in the plain data. */
static int
ev_open(const struct dev_options *opts, bool check_only,
    struct device_res *res, char *err, size_t errlen)
{
	struct ev_res	 er;
	const char	*v;
	unsigned int	 j;
	int		 rc;

	memset(&er, 0, sizeof(er));
	if ((v = dev_opt_str(opts, EV_K_ATTEMPT)) != NULL) {
		for (j = 0; j < ARRAY_SIZE(ev_attempts); j++)
			if (strcmp(v, ev_attempts[j].ea_name) == 0)
				break;
		if (j == ARRAY_SIZE(ev_attempts)) {
			snprintf(err, errlen, "attempt=%s: no such attempt",
			    v);
			return -EINVAL;
		}
		snprintf(er.er_only, sizeof(er.er_only), "%s", v);
	}
	if ((rc = vsock_device_type.dt_open(opts, check_only, res, err,
	    errlen)) != 0 || check_only)
		return rc;
	return escape_res_wrap(res, er.er_only, err, errlen);
}

static int
ev_init(const struct device_child_res *res, void **statep)
{
	struct device_child_res	 vres = *res;
	struct ev_state		*es;
	int			 rc;

	if (res->cr_nfds != VSOCK_NFDS)
		return -EINVAL;
	if ((es = calloc(1, sizeof(*es))) == NULL)
		return -ENOMEM;
	if (escape_res_unwrap(res, es->ev_only, &vres) != 0) {
		free(es);
		return -EINVAL;
	}
	es->ev_listen = res->cr_fds[VSOCK_FD_LISTEN];
	es->ev_chan = res->cr_fds[VSOCK_FD_BROKER];
	if ((rc = vsock_device_type.dt_init(&vres, &es->ev_vsock)) < 0) {
		free(es);
		return rc;
	}
	*statep = es;
	return 0;
}

/* Child, jailed and filtered: the control first, then the attempts. */
static int
ev_start(void *state)
{
	struct ev_state			*es = state;
	const struct ev_attempt		*ea;
	unsigned int			 i, n = 0, got = 0;

	if (es->ev_only[0] == '\0') {
		log_info("escape: trying the control (port 7000)");
		if (!ev_ask(es, 7000)) {
			log_warnx("escape: the control was not served: the "
			    "broker does not work, the refusals prove "
			    "nothing");
			return -EIO;
		}
		log_info("escape: control served");
	}
	for (i = 0; i < ARRAY_SIZE(ev_attempts); i++) {
		ea = &ev_attempts[i];
		if (escape_selected(es->ev_only, ea->ea_name,
		    ea->ea_layer == EV_BROKER))
			escape_tried(ea->ea_name, ea->ea_fn(es), &n, &got);
	}
	return escape_report(n, got);
}

static uint16_t
ev_num_queues(void *state)
{
	return 3;
}

static void
ev_free(void *state)
{
	struct ev_state	*es = state;

	if (es == NULL)
		return;
	vsock_device_type.dt_free(es->ev_vsock);
	free(es);
}

static void
ev_queue(struct vu_dev *dev, unsigned int qidx)
{
}

/* Never serves: the attempts end the child before any connection. */
static const struct vu_dev_ops ev_ops = {
	.queue_handler = ev_queue,
};

static int
ev_spawn(struct device_res *res)
{
	return vsock_device_type.dt_spawn(res);
}

static void
ev_close(struct device_res *res)
{
	vsock_device_type.dt_close(res);
}

static int
ev_broker(struct device_res *res, const struct device_peer *peer)
{
	return vsock_device_type.dt_broker(res, peer);
}

const struct device_type escape_vsock_device_type = {
	.dt_name = "escape-vsock",
	.dt_caps_type = "escape",
	.dt_description = "test only: a hijacked vsock device trying to "
	    "escape",
	.dt_keys = ev_keys,
	.dt_nkeys = EV_K_COUNT,
	.dt_ops = &ev_ops,
	.dt_rlimit_nofile = 256,
	.dt_open = ev_open,
	.dt_spawn = ev_spawn,
	.dt_close = ev_close,
	.dt_broker = ev_broker,
	.dt_init = ev_init,
	.dt_start = ev_start,
	.dt_num_queues = ev_num_queues,
	.dt_free = ev_free,
};
