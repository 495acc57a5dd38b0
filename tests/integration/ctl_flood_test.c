/*
 * ctl_flood_test.c - a control-socket client opening connections without
 * end (a buggy monitoring script running as root, or one of vhostd's own
 * user: nobody else may connect).  Each connection used to cost the
 * parent a descriptor for as long as the client kept sending a byte now
 * and then: the parent ran out of descriptors, could not start the next
 * child of a device, and its loop spun on a listener it could not accept
 * from.  Now at most CTL_CONN_MAX (32) connections are open at once, the
 * rest are closed as they come, and an accept that fails for want of
 * descriptors pauses the listener instead of spinning.
 */
#include "itest.h"

#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <dirent.h>
#include <sys/resource.h>

TestSuite(ctl_flood, .init = it_setup, .fini = it_teardown, .timeout = 120);

#define FLOOD		400
#define NOFILE		160	/* the parent's limit in this test */

static int		flood[FLOOD];
static unsigned int	nflood;
static volatile bool	stop_keepalive;

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One byte (no newline: the request never ends) every 300 ms to each. */
static void *
keepalive(void *arg)
{
	unsigned int	i;

	(void)arg;
	while (!stop_keepalive) {
		for (i = 0; i < nflood; i++)
			if (flood[i] >= 0)
				(void)send(flood[i], "x", 1,
				    MSG_DONTWAIT | MSG_NOSIGNAL);
		usleep(300 * 1000);
	}
	return NULL;
}

static int
count_fds(pid_t pid)
{
	char		 path[64];
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* utime + stime of pid, in ms. */
static long
cpu_ms(pid_t pid)
{
	char		 path[64], buf[1024], *p;
	unsigned long	 ut = 0, st = 0;
	FILE		*f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	cr_assert_not_null(f = fopen(path, "r"));
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_assert_not_null(p = strrchr(buf, ')'));
	cr_assert_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
	    "%*u %lu %lu", &ut, &st), 2);
	return (long)((ut + st) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

/* Open as many connections as the socket takes, up to FLOOD. */
static void
flood_open(const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	long			deadline = now_ms() + 3000;
	int			fd;

	cr_assert_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	while (nflood < FLOOD && now_ms() < deadline) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
		cr_assert_geq(fd, 0);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			cr_assert_eq(errno, EAGAIN, "%s", strerror(errno));
			close(fd);
			usleep(5 * 1000);	/* the backlog is full */
			continue;
		}
		(void)send(fd, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		flood[nflood++] = fd;
	}
}

/* How many flood connections the parent has not closed (not at EOF). */
static unsigned int
flood_open_count(void)
{
	unsigned int	i, n = 0;

	for (i = 0; i < nflood; i++) {
		struct pollfd	pfd = { .fd = flood[i], .events = POLLIN };

		n += poll(&pfd, 1, 0) == 0;
	}
	return n;
}

Test(ctl_flood, a_connection_flood_leaves_the_parent_its_descriptors)
{
	const char	*sock = it_path("rng.sock");
	char		 ctl[256];
	struct rlimit	 rl = { NOFILE, NOFILE };
	pthread_t	 th;
	long		 c0, c1, until;
	unsigned int	 i, open_now;
	int		 nfd;

	if (geteuid() != 0)
		cr_skip_test("needs root (the control socket is root's)");
	snprintf(ctl, sizeof(ctl), "%s", it_path("ctl.sock"));
	it_start(&it_vp, "--control", ctl, "--device",
	    it_fmt("rng,socket=%s", sock), NULL);
	cr_assert_eq(prlimit(it_vp.vp_pid, RLIMIT_NOFILE, &rl, NULL), 0,
	    "prlimit: %s", strerror(errno));
	it_assert_entropy(sock);

	flood_open(ctl);
	cr_assert_eq(pthread_create(&th, NULL, keepalive, NULL), 0);
	fprintf(stderr, "ctl_flood: %u connections opened\n", nflood);
	/*
	 * The parent has had its turn at every one of them once all but
	 * its cap are closed (readable with EOF); 10 s at most (a parent
	 * that keeps them all fails below).
	 */
	until = now_ms() + 10000;
	while (flood_open_count() > 32 && now_ms() < until)
		usleep(20 * 1000);
	nfd = count_fds(it_vp.vp_pid);
	c0 = cpu_ms(it_vp.vp_pid);
	usleep(1500 * 1000);
	c1 = cpu_ms(it_vp.vp_pid);
	open_now = flood_open_count();
	fprintf(stderr, "ctl_flood: parent %d fds, %ld ms of CPU in 1.5 s, "
	    "%u connections still open\n", nfd, c1 - c0, open_now);
	cr_assert_lt(nfd, NOFILE - 16, "the flood took the parent's "
	    "descriptors (%d of %d)", nfd, NOFILE);
	cr_assert_leq(open_now, 32, "%u connections open at once", open_now);
	cr_assert_lt(c1 - c0, 300, "the parent's loop spun: %ld ms of CPU in "
	    "1.5 s", c1 - c0);
	/* A device's next child still gets its descriptors. */
	it_assert_entropy(sock);
	it_assert_entropy(sock);

	stop_keepalive = true;
	pthread_join(th, NULL);
	for (i = 0; i < nflood; i++)
		close(flood[i]);
	/* Once the flood is gone the control socket answers again. */
	{
		char	*argv[] = { (char *)it_env("VHOSTD"), (char *)"ctl",
			    it_fmt("--control=%s", ctl), (char *)"status",
			    NULL };
		char	 out[4096], err[4096];
		long	 deadline = now_ms() + 5000;
		int	 st;

		do {
			st = vproc_run(argv, out, sizeof(out), err,
			    sizeof(err), 10000);
		} while (it_code(st) != 0 && now_ms() < deadline &&
		    usleep(100 * 1000) == 0);
		cr_assert_eq(it_code(st), 0, "status: %s", err);
	}
	it_stop(&it_vp);
}
