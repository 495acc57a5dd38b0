/*
 * escape_blk.c - a test-only device (vhostd_test "escape-blk"): the real
 * block device (blk.c: same options, same image handling, same rings,
 * same policy file name escape-blk.policy including blk.policy), taken
 * over once jailed and filtered.  Instead of serving, it turns what a
 * hijacked blk child has against the host: its io_uring rings (created
 * before the filter), its image descriptors (shared with later children
 * and the parent unless each child gets its own description), the size
 * and allocation of the image file.
 *
 * Keys: every blk key (path= is the image) and attempt=NAME (run only
 * that attempt; default: every attempt of the jail layer).
 *
 * Layers, as in escape.c.  "jail" attempts are stopped by the kernel
 * alone: the ring's registered restrictions, RLIMIT_FSIZE, the per-child
 * open file description; the test runs them under a policy that lets
 * their system calls through (tests/data/escape-policy/escape-blk.policy:
 * blk.policy plus io_uring_register, fcntl and fallocate).  "filter"
 * attempts are stopped only by blk.policy: the test runs each alone under
 * tests/data/escape-policy-kill/escape-blk.policy and expects SIGSYS (or
 * EPERM where the policy says "return EPERM").
 *
 * An io_uring attempt succeeds when the device's ring carries out the
 * operation at all, whatever the operation's own result: the ring is
 * then a way around the filter.  A restricted ring answers -EACCES.
 *
 * Reports "escape: N attempts, M succeeded" like escape.c, plus
 * "escape: no io_uring ring" when the device has none to attack.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <linux/falloc.h>

#include "devices/blk.h"
#include "devices/device.h"
#include "util/log.h"

#include "escape_common.h"

#define EB_PAST		(1u << 20)	/* how far past the end to go */

enum eb_layer { EB_JAIL, EB_FILTER };

struct eb_state {
	struct blk_state	*eb_blk;
	char			 eb_only[ESCAPE_ONLY_LEN];	/* "" when not given */
};

/* The plain data: this header, then blk's own. */
struct eb_res {
	char	er_only[ESCAPE_ONLY_LEN];
};

struct eb_attempt {
	const char	*ea_name;
	enum eb_layer	 ea_layer;
	bool		(*ea_fn)(struct eb_state *eb);
};

static struct io_uring *
eb_ring(struct eb_state *eb)
{
	return blk_io_ring(eb->eb_blk, 0);
}

static off_t
eb_size(struct eb_state *eb)
{
	struct stat	st;

	return fstat(eb->eb_blk->bs_fd, &st) == 0 ? st.st_size : 0;
}

/*
 * Submit the one SQE prepared in the device's ring and wait for its
 * result.  True when the ring ran it (result not -EACCES); *res gets it.
 */
static bool
eb_ring_ran(struct io_uring *ring, const char *what, int *res)
{
	struct io_uring_cqe	*cqe;
	int			 rc;

	if ((rc = io_uring_submit_and_wait(ring, 1)) < 0) {
		log_info("escape: %s: io_uring_enter: %s", what,
		    strerror(-rc));
		return false;
	}
	if ((rc = io_uring_wait_cqe(ring, &cqe)) < 0) {
		log_info("escape: %s: no completion: %s", what,
		    strerror(-rc));
		return false;
	}
	*res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	log_info("escape: %s through the device's ring: %s", what,
	    *res >= 0 ? "done" : strerror(-*res));
	return *res != -EACCES;
}

static struct io_uring_sqe *
eb_sqe(struct eb_state *eb)
{
	struct io_uring	*ring = eb_ring(eb);

	return ring != NULL ? io_uring_get_sqe(ring) : NULL;
}

static bool
try_uring_openat(struct eb_state *eb)
{
	struct io_uring_sqe	*sqe;
	int			 res;

	if ((sqe = eb_sqe(eb)) == NULL)
		return false;
	io_uring_prep_openat(sqe, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC, 0);
	if (!eb_ring_ran(eb_ring(eb), "IORING_OP_OPENAT(\"/\")", &res))
		return false;
	if (res >= 0)
		close(res);
	return true;
}

static bool
uring_socket(struct eb_state *eb, int domain, const char *what, int *fd)
{
	struct io_uring_sqe	*sqe;
	int			 res;

	*fd = -1;
	if ((sqe = eb_sqe(eb)) == NULL)
		return false;
	io_uring_prep_socket(sqe, domain, SOCK_STREAM | SOCK_CLOEXEC, 0, 0);
	if (!eb_ring_ran(eb_ring(eb), what, &res))
		return false;
	*fd = res;
	return true;
}

static bool
try_uring_socket(struct eb_state *eb, int domain, const char *what)
{
	bool	ran;
	int	fd;

	ran = uring_socket(eb, domain, what, &fd);
	if (fd >= 0)
		close(fd);
	return ran;
}

static bool
try_uring_socket_inet(struct eb_state *eb)
{
	return try_uring_socket(eb, AF_INET, "IORING_OP_SOCKET(AF_INET)");
}

static bool
try_uring_socket_unix(struct eb_state *eb)
{
	return try_uring_socket(eb, AF_UNIX, "IORING_OP_SOCKET(AF_UNIX)");
}

static bool
try_uring_socket_vsock(struct eb_state *eb)
{
	return try_uring_socket(eb, AF_VSOCK, "IORING_OP_SOCKET(AF_VSOCK)");
}

/* A socket from the ring if it gives one, else fd 0: the opcode counts. */
static bool
try_uring_connect(struct eb_state *eb)
{
	struct io_uring_sqe	*sqe;
	struct sockaddr_in	 sin;
	int			 fd, res;
	bool			 ran;

	(void)uring_socket(eb, AF_INET, "IORING_OP_SOCKET(AF_INET)", &fd);
	if ((sqe = eb_sqe(eb)) == NULL) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(22);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	io_uring_prep_connect(sqe, fd >= 0 ? fd : 0,
	    (struct sockaddr *)&sin, sizeof(sin));
	ran = eb_ring_ran(eb_ring(eb), "IORING_OP_CONNECT(127.0.0.1:22)",
	    &res);
	if (fd >= 0)
		close(fd);
	return ran;
}

/* An opcode blk never issues. */
static bool
try_uring_nop(struct eb_state *eb)
{
	struct io_uring_sqe	*sqe;
	int			 res;

	if ((sqe = eb_sqe(eb)) == NULL)
		return false;
	io_uring_prep_nop(sqe);
	return eb_ring_ran(eb_ring(eb), "IORING_OP_NOP", &res);
}

/* fallocate on the image through the ring: no seccomp to check its mode. */
static bool
try_uring_fallocate(struct eb_state *eb)
{
	struct io_uring_sqe	*sqe;
	int			 res;

	if ((sqe = eb_sqe(eb)) == NULL)
		return false;
	io_uring_prep_fallocate(sqe, 0, 0, (uint64_t)eb_size(eb), EB_PAST);
	sqe->flags |= IOSQE_FIXED_FILE;
	return eb_ring_ran(eb_ring(eb), "IORING_OP_FALLOCATE(grow the image)",
	    &res);
}

/* An opcode blk does issue, on a descriptor it did not register. */
static bool
try_uring_nonfixed(struct eb_state *eb)
{
	struct io_uring_sqe	*sqe;
	char			 buf[16];
	struct iovec		 iov = { buf, sizeof(buf) };
	int			 res;

	if ((sqe = eb_sqe(eb)) == NULL)
		return false;
	io_uring_prep_readv(sqe, 0, &iov, 1, 0);
	return eb_ring_ran(eb_ring(eb), "IORING_OP_READV(fd 0, not fixed)",
	    &res);
}

/* Writes past the end through the ring: RLIMIT_FSIZE binds io-wq too. */
static bool
try_uring_write_past_end(struct eb_state *eb)
{
	struct io_uring_sqe	*sqe;
	static char		 buf[4096];
	struct iovec		 iov = { buf, sizeof(buf) };
	int			 res;

	if ((sqe = eb_sqe(eb)) == NULL)
		return false;
	io_uring_prep_writev(sqe, 0, &iov, 1, (uint64_t)eb_size(eb) + EB_PAST);
	sqe->flags |= IOSQE_FIXED_FILE;
	/* Ran is not enough here: the write must not have happened. */
	return eb_ring_ran(eb_ring(eb), "IORING_OP_WRITEV(past the end)",
	    &res) && res > 0;
}

static long
eb_register(struct io_uring *ring, unsigned int op, void *arg,
    unsigned int nr)
{
	return syscall(__NR_io_uring_register, ring->ring_fd, op, arg, nr);
}

/* Put a descriptor of our choice in the ring's fixed-file table. */
static bool
try_uring_register_files(struct eb_state *eb)
{
	struct io_uring			*ring = eb_ring(eb);
	struct io_uring_files_update	 up;
	int				 fds[2] = { 0, 0 };
	long				 rc;

	if (ring == NULL)
		return false;
	memset(&up, 0, sizeof(up));
	up.offset = 0;
	up.fds = (uintptr_t)fds;
	rc = eb_register(ring, IORING_REGISTER_FILES_UPDATE, &up, 1);
	log_info("escape: IORING_REGISTER_FILES_UPDATE: %s",
	    rc >= 0 ? "done" : strerror(errno));
	if (rc >= 0)
		return true;
	rc = eb_register(ring, IORING_UNREGISTER_FILES, NULL, 0);
	log_info("escape: IORING_UNREGISTER_FILES: %s",
	    rc >= 0 ? "done" : strerror(errno));
	rc = eb_register(ring, IORING_REGISTER_FILES, fds, 2);
	log_info("escape: IORING_REGISTER_FILES: %s",
	    rc >= 0 ? "done" : strerror(errno));
	return rc >= 0;
}

/* Grow the image with an ordinary write past its end. */
static bool
try_write_past_end(struct eb_state *eb)
{
	static char	buf[4096];
	struct iovec	iov = { buf, sizeof(buf) };
	ssize_t		n;

	n = pwritev(eb->eb_blk->bs_fd, &iov, 1, eb_size(eb) + EB_PAST);
	log_info("escape: pwritev past the end: %s",
	    n >= 0 ? "written" : strerror(errno));
	return n > 0;
}

/* Grow the image with fallocate (no KEEP_SIZE). */
static bool
try_fallocate_grow(struct eb_state *eb)
{
	int	rc;

	rc = fallocate(eb->eb_blk->bs_fd, 0, eb_size(eb), EB_PAST);
	log_info("escape: fallocate(0) past the end: %s",
	    rc == 0 ? "done" : strerror(errno));
	return rc == 0;
}

/*
 * Poison the image's open file description for the next child: O_APPEND
 * makes every pwrite land at the end of the file.  Succeeds when this
 * child's description came with it, i.e. an earlier child's change
 * reached this one (run twice: the test restarts the device).
 */
static bool
try_inherit_flags(struct eb_state *eb)
{
	int	fl, fd = eb->eb_blk->bs_fd;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return false;
	if (fl & O_APPEND) {
		log_warnx("escape: the image's description came with "
		    "O_APPEND from an earlier child");
		return true;
	}
	if (fcntl(fd, F_SETFL, fl | O_APPEND) == -1)
		log_info("escape: F_SETFL O_APPEND: %s", strerror(errno));
	return false;
}

/* Filter layer: a ring of our own, without restrictions. */
static bool
try_uring_setup(struct eb_state *eb)
{
	struct io_uring	ring;

	if (io_uring_queue_init(4, &ring, 0) < 0)
		return false;
	io_uring_queue_exit(&ring);
	return true;
}

/* Filter layer: more kernel workers than blk allows itself. */
static bool
try_uring_register(struct eb_state *eb)
{
	struct io_uring	*ring = eb_ring(eb);
	unsigned int	 w[2] = { 1024, 1024 };

	return ring != NULL &&
	    eb_register(ring, IORING_REGISTER_IOWQ_MAX_WORKERS, w, 2) == 0;
}

static bool
try_ftruncate(struct eb_state *eb)
{
	return ftruncate(eb->eb_blk->bs_fd, 0) == 0;
}

/* Allocate past the end without changing the size: unseen, unbounded. */
static bool
try_fallocate_keep_size(struct eb_state *eb)
{
	return fallocate(eb->eb_blk->bs_fd, FALLOC_FL_KEEP_SIZE,
	    eb_size(eb) + EB_PAST, 8 * EB_PAST) == 0;
}

static bool
try_set_append(struct eb_state *eb)
{
	int	fl, fd = eb->eb_blk->bs_fd;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_APPEND) == -1)
		return false;
	return (fcntl(fd, F_GETFL) & O_APPEND) != 0;
}

/* On a queue thread: a process of our own (clone without CLONE_THREAD). */
static void
eb_fork(void *arg)
{
	bool	*ran = arg;
	pid_t	 pid;

	log_info("escape: fork on queue thread 0 (created before the "
	    "filter)");
	if ((pid = fork()) == 0)
		_exit(0);
	*ran = pid > 0;
	log_info("escape: fork on a queue thread: %s", pid > 0 ? "forked" :
	    strerror(errno));
}

/*
 * Filter layer: the queue threads were made before the filter, which
 * must cover them too (SECCOMP_FILTER_FLAG_TSYNC): a fork from one.
 */
static bool
try_thread_fork(struct eb_state *eb)
{
	bool	ran = false;

	if (eb->eb_blk->bs_nthreads == 0) {
		log_warnx("escape: the device has no queue thread");
		return true;
	}
	blk_thread_call(eb->eb_blk, 0, eb_fork, &ran);
	return ran;
}

static void *
eb_thread_main(void *arg)
{
	return arg;
}

/* Filter layer: a thread made after the filter (blk.policy: no clone). */
static bool
try_thread_create(struct eb_state *eb)
{
	pthread_t	t;
	int		rc;

	if ((rc = pthread_create(&t, NULL, eb_thread_main, NULL)) != 0) {
		log_info("escape: pthread_create: %s", strerror(rc));
		return false;
	}
	pthread_join(t, NULL);
	return true;
}

static const struct eb_attempt eb_attempts[] = {
	{ "uring-openat",		EB_JAIL,	try_uring_openat },
	{ "uring-socket-inet",		EB_JAIL,	try_uring_socket_inet },
	{ "uring-socket-unix",		EB_JAIL,	try_uring_socket_unix },
	{ "uring-socket-vsock",		EB_JAIL,	try_uring_socket_vsock },
	{ "uring-connect",		EB_JAIL,	try_uring_connect },
	{ "uring-nop",			EB_JAIL,	try_uring_nop },
	{ "uring-fallocate",		EB_JAIL,	try_uring_fallocate },
	{ "uring-nonfixed-file",	EB_JAIL,	try_uring_nonfixed },
	{ "uring-write-past-end",	EB_JAIL,	try_uring_write_past_end },
	{ "uring-register-files",	EB_JAIL,	try_uring_register_files },
	{ "write-past-end",		EB_JAIL,	try_write_past_end },
	{ "fallocate-grow",		EB_JAIL,	try_fallocate_grow },
	{ "inherit-flags",		EB_JAIL,	try_inherit_flags },
	{ "uring-setup",		EB_FILTER,	try_uring_setup },
	{ "uring-register",		EB_FILTER,	try_uring_register },
	{ "ftruncate",			EB_FILTER,	try_ftruncate },
	{ "fallocate-keep-size",	EB_FILTER,	try_fallocate_keep_size },
	{ "set-append",			EB_FILTER,	try_set_append },
	{ "thread-fork",		EB_FILTER,	try_thread_fork },
	{ "thread-create",		EB_FILTER,	try_thread_create },
};

enum { EB_K_ATTEMPT = BLK_K_COUNT, EB_K_COUNT };

/* Parent: blk's resources, with attempt= put first in the plain data. */
static int
eb_open(const struct dev_options *opts, bool check_only,
    struct device_res *res, char *err, size_t errlen)
{
	struct eb_res		 er;
	const char		*v;
	unsigned int		 j;
	int			 rc;

	memset(&er, 0, sizeof(er));
	if ((v = dev_opt_str(opts, EB_K_ATTEMPT)) != NULL) {
		for (j = 0; j < ARRAY_SIZE(eb_attempts); j++)
			if (strcmp(v, eb_attempts[j].ea_name) == 0)
				break;
		if (j == ARRAY_SIZE(eb_attempts)) {
			snprintf(err, errlen, "attempt=%s: no such attempt",
			    v);
			return -EINVAL;
		}
		snprintf(er.er_only, sizeof(er.er_only), "%s", v);
	}
	/* blk's keys come first, under blk's indices. */
	rc = blk_device_type.dt_open(opts, check_only, res, err, errlen);
	if (rc != 0)
		return rc;
	return escape_res_wrap(res, er.er_only, err, errlen);
}

/* Child, before the filter: blk's state (rings) from the rest. */
static int
eb_init(const struct device_child_res *res, void **statep)
{
	struct device_child_res	 bres = *res;
	struct eb_state		*eb;
	int			 rc;

	if ((eb = calloc(1, sizeof(*eb))) == NULL)
		return -ENOMEM;
	if (escape_res_unwrap(res, eb->eb_only, &bres) != 0) {
		free(eb);
		return -EINVAL;
	}
	if ((rc = blk_device_type.dt_init(&bres, (void **)&eb->eb_blk)) < 0) {
		free(eb);
		return rc;
	}
	*statep = eb;
	return 0;
}

static void
eb_free(void *state)
{
	struct eb_state	*eb = state;

	if (eb == NULL)
		return;
	blk_device_type.dt_free(eb->eb_blk);
	free(eb);
}

static uint16_t
eb_num_queues(void *state)
{
	return blk_device_type.dt_num_queues(((struct eb_state *)state)->eb_blk);
}

/* Child, jailed and filtered, rings in place: try everything, report. */
static int
eb_child_init(void *state)
{
	struct eb_state			*eb = state;
	const struct eb_attempt		*ea;
	unsigned int			 i, n = 0, got = 0;

	if (eb_ring(eb) == NULL)
		log_warnx("escape: no io_uring ring");
	for (i = 0; i < ARRAY_SIZE(eb_attempts); i++) {
		ea = &eb_attempts[i];
		if (escape_selected(eb->eb_only, ea->ea_name,
		    ea->ea_layer == EB_JAIL))
			escape_tried(ea->ea_name, ea->ea_fn(eb), &n, &got);
	}
	return escape_report(n, got);
}

static void
eb_queue(struct vu_dev *dev, unsigned int qidx)
{
}

/* Never serves: the attempts end the child before any connection. */
static const struct vu_dev_ops eb_ops = {
	.queue_handler = eb_queue,
};

/* blk's keys, then attempt=. */
static const struct dev_key eb_keys[EB_K_COUNT] = {
	BLK_KEY_ROWS
	[EB_K_ATTEMPT] = { .dk_name = "attempt", .dk_kind = DK_STRING,
	    .dk_help = "test only: run only this attempt" },
};

static int
blk_spawn_of_type(struct device_res *res)
{
	return blk_device_type.dt_spawn(res);
}

static void
blk_close_of_type(struct device_res *res)
{
	blk_device_type.dt_close(res);
}

const struct device_type escape_blk_device_type = {
	.dt_name = "escape-blk",
	.dt_caps_type = "escape",
	.dt_description = "test only: a hijacked block device trying to "
	    "escape",
	.dt_keys = eb_keys,
	.dt_nkeys = EB_K_COUNT,
	.dt_ops = &eb_ops,
	.dt_rlimit_nproc = 4096,
	.dt_rlimit_memlock = 64ul << 20,
	.dt_open = eb_open,
	/* blk's: they see only the fds and blk's dr_parent. */
	.dt_spawn = blk_spawn_of_type,
	.dt_close = blk_close_of_type,
	.dt_init = eb_init,
	.dt_start = eb_child_init,
	.dt_num_queues = eb_num_queues,
	.dt_free = eb_free,
};
