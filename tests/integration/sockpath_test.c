/*
 * sockpath_test.c - socket paths that must not hang vhostd: a process
 * that listens at the path and never accepts (its backlog full) is a
 * live socket, refused promptly with a message naming the path, at
 * start-up and when a reload adds a device there.
 */
#include <time.h>

#include "itest.h"

TestSuite(sockpath, .init = it_setup, .fini = it_teardown, .timeout = 60);

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define MAX_QUEUED	64

/* Listen at path and never accept: fill the backlog.  Listening fd. */
static int
full_backlog(const char *path, int *cl, unsigned int *ncl)
{
	struct sockaddr_un	sun;
	int			fd, c;

	fd = it_unix_socket(path, false);
	cr_assert_eq(listen(fd, 0), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	for (*ncl = 0; *ncl < MAX_QUEUED; (*ncl)++) {
		c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
		if (connect(c, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			cr_assert_eq(errno, EAGAIN, "%s", strerror(errno));
			close(c);
			break;
		}
		cl[*ncl] = c;
	}
	cr_assert_lt(*ncl, MAX_QUEUED, "the backlog never filled");
	return fd;
}

Test(sockpath, start_up_refuses_a_full_backlog_promptly)
{
	const char	*sock = it_path("busy.sock");
	unsigned int	 n, i;
	long		 t0, el;
	int		 lfd, cl[MAX_QUEUED], st;

	lfd = full_backlog(sock, cl, &n);
	t0 = now_ms();
	it_start_opts(&it_vp, false, NULL, "--device",
	    it_fmt("rng,socket=%s", sock), NULL);
	cr_assert_eq(vproc_wait_exit(&it_vp, 5000, &st), 0,
	    "vhostd hangs on a socket that does not accept:\n%s", it_vp.vp_log);
	el = now_ms() - t0;
	fprintf(stderr, "sockpath: start-up refused a full backlog in %ld ms\n",
	    el);
	cr_assert_neq(it_code(st), 0, "started over a live socket");
	cr_assert_neq(strstr(it_vp.vp_log, sock), NULL, "path not named: %s",
	    it_vp.vp_log);
	cr_assert_neq(strstr(it_vp.vp_log, "another process is listening"),
	    NULL, "%s", it_vp.vp_log);
	cr_assert(it_exists(sock), "the other process's socket was removed");
	for (i = 0; i < n; i++)
		close(cl[i]);
	close(lfd);
}

Test(sockpath, reload_refuses_a_full_backlog_and_keeps_supervising)
{
	const char	*conf = it_path("vhostd.conf"), *a = it_path("a.sock");
	const char	*busy = it_path("busy.sock");
	unsigned int	 n, i;
	long		 t0, el;
	pid_t		 ca;
	FILE		*fp;
	int		 lfd, cl[MAX_QUEUED];

	cr_assert_not_null(fp = fopen(conf, "w"));
	fprintf(fp, "[a]\ntype = rng\nsocket = %s\n", a);
	cr_assert_eq(fclose(fp), 0);
	it_start(&it_vp, "-c", conf, NULL);
	ca = vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(ca, 0, "%s", it_vp.vp_log);

	lfd = full_backlog(busy, cl, &n);
	cr_assert_not_null(fp = fopen(conf, "w"));
	fprintf(fp, "[a]\ntype = rng\nsocket = %s\n\n[b]\ntype = rng\n"
	    "socket = %s\n", a, busy);
	cr_assert_eq(fclose(fp), 0);
	t0 = now_ms();
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_geq(vproc_wait_log(&it_vp, "another process is listening",
	    0, 5000), 0, "the reload hangs on %s:\n%s", busy, it_vp.vp_log);
	el = now_ms() - t0;
	fprintf(stderr, "sockpath: reload refused a full backlog in %ld ms\n",
	    el);
	cr_assert_neq(strstr(it_vp.vp_log, busy), NULL, "%s", it_vp.vp_log);
	/* The supervisor still reaps and restarts... */
	cr_assert_eq(kill(ca, SIGKILL), 0);
	cr_assert_gt(vproc_child_pid(&it_vp, "a", 1, 5000), 0,
	    "not reaped after the reload:\n%s", it_vp.vp_log);
	it_assert_entropy(a);
	/* ...and still stops on SIGTERM. */
	it_stop(&it_vp);
	cr_assert(it_exists(busy), "the other process's socket was removed");
	cr_assert(!it_exists(a));
	for (i = 0; i < n; i++)
		close(cl[i]);
	close(lfd);
}
