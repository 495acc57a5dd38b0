/*
 * vsock_ownsock_test.c - a guest asking the broker for a socket vhostd
 * itself serves.  The broker connects to "<uds-path>_<P>" in uds-path's
 * directory; another device's socket there may have a name of that form
 * (uds-path=.../vs and, for the next VM, socket=.../vs_2 or
 * uds-path=.../vs_3 - operators number their VMs).  Those sockets belong
 * to vhostd's user, so the owner rule let them through: the guest of one
 * device became the front end of another device (its vhost-user socket:
 * memory table, rings, the disk behind it) or a host client of another
 * guest (its uds-path: CONNECT to any of that guest's ports).  Now a
 * socket vhostd bound itself is never a broker target.
 */
#include "vsock_itest.h"

static void
vt_fini(void)
{
	vsv_stop(&vt_v);
	it_teardown();
}

TestSuite(vsock_ownsock, .init = it_setup, .fini = vt_fini, .timeout = 120);

Test(vsock_ownsock, a_socket_vhostd_serves_is_not_a_broker_target)
{
	int	c;

	it_start(&it_vp, "--device", it_fmt("vsock,name=vs,socket=%s,"
	    "guest-cid=%u,uds-path=%s", it_path("vu"), VT_CID,
	    it_path("vs")), "--device", it_fmt("rng,name=r,socket=%s",
	    it_path("vs_2")), "--device", it_fmt("vsock,name=vs3,socket=%s,"
	    "guest-cid=%u,uds-path=%s", it_path("vu3"), VT_CID + 1,
	    it_path("vs_3")), NULL);
	vt_start_guest(0);
	/* Another device's vhost-user socket. */
	c = vsv_connect(&vt_v, 2, 10000);
	cr_assert_eq(c, -ECONNREFUSED, "the guest reached rng's vhost-user "
	    "socket (%d); vhostd:\n%s", c, vt_log());
	/* Another vsock device's host listener. */
	c = vsv_connect(&vt_v, 3, 10000);
	cr_assert_eq(c, -ECONNREFUSED, "the guest reached vs3's uds-path "
	    "(%d); vhostd:\n%s", c, vt_log());
	/* The others are untouched: rng still serves. */
	it_assert_entropy(it_path("vs_2"));
	it_stop(&it_vp);
}

/*
 * The same for a listener vhostd was given (fd=, socket activation)
 * whose file is <uds-path>_<P>: vhostd serves it, the broker refuses it.
 */
Test(vsock_ownsock, an_inherited_listener_is_not_a_broker_target)
{
	struct vproc_opts	 o = { .o_stdout = -1 };
	int			 fd, c;

	fd = it_unix_socket(it_path("vs_4"), true);
	o.o_fds = &fd;
	o.o_nfds = 1;			/* fd 3 in vhostd */
	it_start_opts(&it_vp, true, &o, "--device", it_fmt("vsock,name=vs,"
	    "socket=%s,guest-cid=%u,uds-path=%s", it_path("vu"), VT_CID,
	    it_path("vs")), "--device", "rng,name=r,fd=3", NULL);
	close(fd);
	vt_start_guest(0);
	c = vsv_connect(&vt_v, 4, 10000);
	cr_assert_eq(c, -ECONNREFUSED, "the guest reached rng's inherited "
	    "socket (%d); vhostd:\n%s", c, vt_log());
	it_assert_entropy(it_path("vs_4"));
	it_stop(&it_vp);
}
