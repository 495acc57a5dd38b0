/*
 * net_test: rx without buffers waits without spinning; a tap fd passed
 * in; the backend program (vhostd-net).
 */

#include <sys/ioctl.h>

#include <linux/if_tun.h>

#include "../itest.h"

#include "net_harness.h"

static long
cpu_ticks(pid_t pid)
{
	char		 buf[1024], *p;
	long		 ut = 0, st = 0;
	FILE		*fp;

	snprintf(buf, sizeof(buf), "/proc/%d/stat", (int)pid);
	cr_assert_not_null(fp = fopen(buf, "r"));
	cr_assert_not_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	cr_assert_not_null(p = strrchr(buf, ')'));
	cr_assert_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
	    "%*u %ld %ld", &ut, &st), 2);
	return ut + st;
}

/*
 * Frames for a guest that has posted no rx buffers: the child stops
 * reading the tap (no busy loop on a readable tap) until the guest kicks
 * the ring with buffers; then the frames waiting in the tap arrive.
 */
Test(net, rx_without_buffers_waits_for_a_kick_without_spinning)
{
	const char	*sock = it_path("net.sock");
	struct vuf	 f;
	struct vuf_net	 n;
	struct vuf_opts	 o;
	uint8_t		 hdr[12], frame[300], got[2048];
	const char	*rx;
	unsigned int	 nb, i, seen = 0;
	uint32_t	 seq;
	size_t		 len;
	long		 t0, c0, c1;
	pid_t		 c;
	int		 s;

	s = net_up(sock, "", 0);
	c = vproc_child_pid(&it_vp, "net", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(c, 0);
	vuf_init(&f);
	memset(&o, 0, sizeof(o));
	o.o_mem_size = NET_MEM;
	o.o_features = F_MRG;
	o.o_nqueues = 2;
	cr_assert_eq(vuf_setup(&f, sock, &o), 0, "%s", vuf_error(&f));
	vuf_net_init(&n, &f);
	for (i = 0; i < 5; i++) {
		fill_frame(frame, sizeof(frame), 1000 + i);
		packet_send(s, frame, sizeof(frame));
	}
	/* A measuring window, not a synchronisation: the tap stays readable. */
	c0 = cpu_ticks(c);
	t0 = now_ms();
	usleep(2000 * 1000);
	c1 = cpu_ticks(c);
	fprintf(stderr, "net_test: child cpu with a readable tap and no rx "
	    "buffers: %ld ticks in %ld ms\n", c1 - c0, now_ms() - t0);
	cr_assert_leq(c1 - c0, 10, "the child spins: %ld ticks", c1 - c0);
	cr_assert_eq(vuf_net_post_rx(&n, 0, 16, 2048), 0, "%s",
	    vuf_error(&f));
	while (seen < 5) {
		cr_assert_eq(vuf_net_recv(&n, 0, hdr, got, sizeof(got), &len,
		    &nb, 5000), 0, "%u of 5 frames: %s", seen, vuf_error(&f));
		if (is_test_frame(got, len, &seq)) {
			cr_assert_eq(seq, 1000 + seen, "in order");
			seen++;
		}
	}
	close(s);
	rx = stats_after(&f, 0, "rx", 0);
	fprintf(stderr, "net_test: rx %s\n", rx);
	cr_assert_geq(stat_of(rx, "rx_waits"), 1, "%s", rx);
	it_stop(&it_vp);
}

/* A tap the test opens itself, as a VM manager does (IFF_VNET_HDR...). */
static int
open_tap_fd(const char *name)
{
	struct ifreq	ifr;
	int		fd;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0, "TUNSETIFF: %s",
	    strerror(errno));
	return fd;
}

/* tap-fd=: a tap fd passed in (libvirt's way) is served. */
Test(net, a_tap_fd_passed_in_is_served)
{
	const char		*sock = it_path("net.sock");
	struct vproc_opts	 o = { .o_stdout = -1 };
	int			 fd, s;

	enter_netns();
	fd = open_tap_fd(tap_name);
	/* Persistent: it outlives its fds, unless vhostd removed it. */
	cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	o.o_fds = &fd;
	o.o_nfds = 1;			/* fd 3 in vhostd */
	it_start_opts(&it_vp, true, &o, "--device", it_fmt("net,socket=%s,"
	    "tap-fd=3", sock), NULL);
	close(fd);			/* vhostd holds it now */
	if_up(tap_name, 0);
	s = packet_socket(tap_name);
	one_frame_each_way(sock, s, 1100);
	close(s);
	it_stop(&it_vp);
	cr_assert_neq(if_nametoindex(tap_name), 0, "a tap passed in is the "
	    "manager's: vhostd removed it");
}

/* The backend program: vhostd net --socket-path=... --tap=... */
Test(net, the_backend_program_serves)
{
	const char	*sock = it_path("net.sock");
	char		*argv[8];
	long		 deadline;
	int		 s, fd;

	enter_netns();
	fd = open_tap_fd(tap_name);
	cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	if_up(tap_name, 0);
	argv[0] = (char *)it_env("VHOSTD");
	argv[1] = (char *)"net";
	argv[2] = it_fmt("--socket-path=%s", sock);
	argv[3] = it_fmt("--tap=%s", tap_name);
	argv[4] = (char *)"--policy-dir";
	argv[5] = (char *)it_env("VHOSTD_POLICYDIR");
	argv[6] = NULL;
	cr_assert_eq(vproc_start(&it_vp, argv, NULL), 0);
	deadline = now_ms() + VPROC_TIMEOUT_MS;
	while (!it_connects(sock) && now_ms() < deadline)
		usleep(10 * 1000);
	cr_assert(it_connects(sock), "not serving:\n%s", it_vp.vp_log);
	s = packet_socket(tap_name);
	one_frame_each_way(sock, s, 1200);
	close(s);
	/* One front end, then the process ends (restart=never). */
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, NULL), 0,
	    "still running:\n%s", it_vp.vp_log);
}

/*
 * rx buffers smaller than the virtio-net header (5.1.6.3.1 forbids them):
 * the device sets NEEDS_RESET and stops, the child stays up, nothing is
 * written past the buffers.
 */
