/*
 * vsock_plant_test.c - an unprivileged local user planting a socket at
 * <uds-path>_<P> for the parent's broker (src/devices/vsock_broker.c).
 * uds-path lies in a directory everyone may write to (a sticky 1777
 * one, as /tmp is); a user who is not vhostd's binds a world-writable
 * socket there under the name a guest connects to.  Before the fix the
 * broker, running as root, connected the guest to it: the device's uid
 * could reach a 0777 socket, and whose it was did not count.  Now a
 * socket in such a directory is used only if vhostd's user or the
 * directory's owner made it; in a directory only its owner can write to
 * nothing changes (only trusted users could have put a socket there).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "devices/device.h"
#include "devices/vsock_dev.h"

TestSuite(vsock_plant);

#define ATTACKER	54321	/* a local user, not vhostd's, not the device's */
#define DEVUID		65534	/* the device's child */

static char	pdir[64];

static void
pdir_make(mode_t mode)
{
	snprintf(pdir, sizeof(pdir), "/tmp/vhostd-plant-XXXXXX");
	cr_assert_not_null(mkdtemp(pdir));
	cr_assert_eq(chmod(pdir, mode), 0);
}

static void
pdir_remove(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", pdir);
}

/* The parent half of a device on pdir/vs, as dt_open leaves it. */
static struct vsock_parent *
popen_vsock(struct device_res *res)
{
	struct device_conf	dc;
	char			spec[256], err[256];

	snprintf(spec, sizeof(spec), "vsock,socket=%s/vu,uds-path=%s/vs",
	    pdir, pdir);
	device_res_init(res);
	cr_assert_eq(config_parse_device(spec, RESTART_ALWAYS, &dc, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(dc.dc_type->dt_open(&dc.dc_opts, true, res, err,
	    sizeof(err)), 0, "%s", err);
	config_device_free(&dc);
	cr_assert_not_null(res->dr_parent);
	return res->dr_parent;
}

static struct sockaddr_un
paddr(const char *name)
{
	struct sockaddr_un	sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", pdir, name);
	return sun;
}

/*
 * The attacker binds pdir/name as uid ATTACKER (a forked process that
 * dropped root: bind makes the inode the caller's) with mode 0777 and
 * listens; the socket comes back to this process over a socketpair
 * so the test can see whether anything connected to it.
 */
static int
plant(const char *name)
{
	struct sockaddr_un	 sun = paddr(name);
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}			 cm;
	struct iovec		 iov;
	struct msghdr		 msg;
	struct cmsghdr		*c;
	char			 b = 0;
	int			 sp[2], fd, st;
	pid_t			 pid;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp), 0);
	if ((pid = fork()) == 0) {
		if (setgroups(0, NULL) == -1 || setgid(ATTACKER) == -1 ||
		    setuid(ATTACKER) == -1)
			_exit(2);
		umask(0);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1 || bind(fd, (struct sockaddr *)&sun,
		    sizeof(sun)) == -1 || listen(fd, 8) == -1)
			_exit(3);
		iov.iov_base = &b;
		iov.iov_len = 1;
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		_exit(sendmsg(sp[1], &msg, 0) == 1 ? 0 : 4);
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "attacker: %#x", st);
	iov.iov_base = &b;
	iov.iov_len = 1;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	cr_assert_eq(recvmsg(sp[0], &msg, MSG_CMSG_CLOEXEC), 1);
	c = CMSG_FIRSTHDR(&msg);
	cr_assert_not_null(c);
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	close(sp[0]);
	close(sp[1]);
	return fd;
}

/* A socket of the test's own (root, vhostd's user here) at pdir/name. */
static int
own(const char *name, mode_t mode)
{
	struct sockaddr_un	sun = paddr(name);
	int			fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(chmod(sun.sun_path, mode), 0);
	return fd;
}

static int
bconnect(struct vsock_parent *vp, uint32_t port)
{
	struct device_peer	peer = { .dp_uid = DEVUID, .dp_gid = DEVUID,
					 .dp_host_uid = 0 };
	int			fd = vsock_broker_connect(vp, port, &peer);

	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : fd;
}

/* Did anything connect to the listening socket l? */
static bool
reached(int l)
{
	struct pollfd	pfd = { .fd = l, .events = POLLIN };
	int		c;

	if (poll(&pfd, 1, 0) != 1)
		return false;
	c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (c >= 0)
		close(c);
	return c >= 0;
}

Test(vsock_plant, socket_planted_in_a_world_writable_directory_is_refused)
{
	struct device_res	 res;
	struct vsock_parent	*vp;
	int			 evil, good;

	if (geteuid() != 0)
		cr_skip_test("needs root (an attacker of another uid)");
	pdir_make(01777);
	vp = popen_vsock(&res);
	evil = plant("vs_1234");
	good = own("vs_80", 0755);
	/* The guest's connection must not reach the attacker. */
	cr_assert_eq(bconnect(vp, 1234), -EACCES, "the broker connected "
	    "the guest to a socket a local user planted");
	cr_assert_not(reached(evil));
	/* vhostd's own sockets there still work. */
	cr_assert_eq(bconnect(vp, 80), 0);
	cr_assert(reached(good));
	close(evil);
	close(good);
	device_res_release(&vsock_device_type, &res);
	pdir_remove();
}

/* The directory's owner is trusted: it could replace anything there. */
Test(vsock_plant, the_directory_owners_socket_is_used)
{
	struct device_res	 res;
	struct vsock_parent	*vp;
	int			 l;

	if (geteuid() != 0)
		cr_skip_test("needs root (an attacker of another uid)");
	pdir_make(01777);
	cr_assert_eq(chown(pdir, ATTACKER, ATTACKER), 0);
	vp = popen_vsock(&res);
	l = plant("vs_7");
	cr_assert_eq(bconnect(vp, 7), 0);
	cr_assert(reached(l));
	close(l);
	device_res_release(&vsock_device_type, &res);
	pdir_remove();
}

/*
 * A directory others cannot write to: whoever owns a socket there was
 * let in by its owner (root chowned it, or it is the owner's); the mode
 * bits rule as before.
 */
Test(vsock_plant, a_private_directory_keeps_the_mode_rules)
{
	struct device_res	 res;
	struct vsock_parent	*vp;
	int			 l;

	if (geteuid() != 0)
		cr_skip_test("needs root (an attacker of another uid)");
	pdir_make(01777);
	vp = popen_vsock(&res);
	l = plant("vs_9");
	cr_assert_eq(chmod(pdir, 0755), 0);	/* closed after the bind */
	cr_assert_eq(bconnect(vp, 9), 0);
	cr_assert(reached(l));
	/* ... and opened again: the check is made at each connect. */
	cr_assert_eq(chmod(pdir, 0777), 0);
	cr_assert_eq(bconnect(vp, 9), -EACCES);
	cr_assert_not(reached(l));
	close(l);
	device_res_release(&vsock_device_type, &res);
	pdir_remove();
}
