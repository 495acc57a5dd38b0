/*
 * clients.c - control clients that never read their replies do not stall vhostd.
 */
#include <time.h>

#include "ctl_harness.h"

/* A connection to the control socket at path that sent line. */
static int
ctl_send_raw(const char *path, const char *line)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	cr_assert_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	cr_assert_geq(fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0,
	    "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	return fd;
}

#define SLOW_DEVICES	12
#define SLOW_READERS	4

/*
 * Clients that ask for a reply bigger than a socket buffer (status
 * --json of disks whose image paths are long, of bytes JSON escapes
 * six-fold) and never read it: the parent's loop must not wait for
 * them, another client's status is answered at once, and each reply is
 * sent whole once its client reads.
 */
Test(ctl, clients_that_never_read_do_not_stall_vhostd)
{
	char		 ctl[256], deep[4096], img[4200], *spec[SLOW_DEVICES], buf[65536];
	size_t		 len, total = 0;
	ssize_t		 n;
	unsigned int	 i;
	long		 t0, ms;
	int		 fd, rc, slow[SLOW_READERS];

	/* Copied: it_path's buffers rotate. */
	snprintf(ctl, sizeof(ctl), "%s", it_path("ctl.sock"));
	/* 18 directories of 200 bytes 0x01: a 3.6 KiB path. */
	len = (size_t)snprintf(deep, sizeof(deep), "%s", it_path("deep"));
	cr_assert_eq(mkdir(deep, 0755), 0);
	for (i = 0; i < 18; i++) {
		deep[len++] = '/';
		memset(deep + len, 1, 200);
		len += 200;
		deep[len] = '\0';
		cr_assert_eq(mkdir(deep, 0755), 0, "%s", strerror(errno));
	}
	for (i = 0; i < SLOW_DEVICES; i++) {
		snprintf(img, sizeof(img), "%s/img%02u", deep, i);
		cr_assert_geq(fd = open(img, O_RDWR | O_CREAT | O_CLOEXEC,
		    0600), 0);
		cr_assert_eq(ftruncate(fd, 1 << 20), 0);
		close(fd);
		cr_assert_gt(asprintf(&spec[i], "blk,name=d%u,socket=%s,path=%s",
		    i, it_path(it_fmt("s%u.sock", i)), img), 0);
	}
	it_start(&it_vp, "--control", ctl, "--device", spec[0], "--device",
	    spec[1], "--device", spec[2], "--device", spec[3], "--device",
	    spec[4], "--device", spec[5], "--device", spec[6], "--device",
	    spec[7], "--device", spec[8], "--device", spec[9], "--device",
	    spec[10], "--device", spec[11], NULL);
	for (i = 0; i < SLOW_READERS; i++)
		slow[i] = ctl_send_raw(ctl, "status --json\n");
	t0 = now_ms();
	rc = ctl_run(ctl, "status", "d0", NULL);
	ms = now_ms() - t0;
	fprintf(stderr, "ctl: status with %u clients not reading their "
	    "replies: %ld ms\n", SLOW_READERS, ms);
	cr_assert_eq(rc, 0, "exit %d after %ld ms: %s", rc, ms, ctl_err);
	cr_assert_neq(strstr(ctl_out, "d0 "), NULL, "%s", ctl_out);
	/* Each non-reading client costs the loop nothing (it was 2 s). */
	cr_assert_lt(ms, 4000, "the loop waited for clients that do not read");
	/* The slow ones get the whole reply once they read. */
	while ((n = read(slow[0], buf, sizeof(buf))) > 0)
		total += (size_t)n;
	fprintf(stderr, "ctl: the reply a slow client read: %zu bytes\n",
	    total);
	cr_assert_gt(total, 212992, "not bigger than a socket buffer: the "
	    "test shows nothing");
	for (i = 0; i < SLOW_READERS; i++)
		close(slow[i]);
	for (i = 0; i < SLOW_DEVICES; i++)
		free(spec[i]);
	it_stop(&it_vp);
}
