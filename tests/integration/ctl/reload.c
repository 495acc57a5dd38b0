/*
 * reload.c - reloads as transactions: a change whose new resources do not open
 * leaves the running device as it was (its child, its socket inode), a
 * change on the same image takes the lock over, a socket kept or moved, a
 * device renamed, one of three devices changed.
 */
#include <time.h>

#include "ctl_harness.h"

/*
 * A reload with a mistyped image path: the running disk is untouched
 * (the same child, the same socket inode, still served) and the error
 * names the file and line of the path.  vhostd ctl reload says so too.
 */
Test(ctl, reload_with_a_mistyped_image_keeps_the_disk)
{
	const char	*img = make_image("d.img"), *sock = it_path("d.sock");
	const char	*ctl = it_path("ctl.sock"), *conf;
	pid_t		 c0, c1;
	ino_t		 ino;

	conf = write_file("v.conf", it_fmt("[d]\ntype = blk\nsocket = %s\n"
	    "path = %s\n", sock, img));
	it_start(&it_vp, "--control", ctl, "-c", conf, NULL);
	c0 = vproc_child_pid(&it_vp, "d", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(c0, 0, "%s", it_vp.vp_log);
	ino = inode(sock);

	write_file("v.conf", it_fmt("[d]\ntype = blk\nsocket = %s\n"
	    "path = %s.typo\n", sock, img));
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_geq(vproc_wait_log(&it_vp, it_fmt("v.conf:4: [d] path: "
	    "%s.typo: No such file or directory", img), 0, VPROC_TIMEOUT_MS),
	    0, "no file:line error:\n%s", it_vp.vp_log);
	cr_assert_geq(vproc_wait_log(&it_vp, "d keeps running with its "
	    "previous configuration", 0, VPROC_TIMEOUT_MS), 0, "%s",
	    it_vp.vp_log);
	cr_assert_eq(kill(c0, 0), 0, "the running child was stopped:\n%s",
	    it_vp.vp_log);
	cr_assert_eq(inode(sock), ino, "the socket was replaced");
	assert_disk_serves(sock, 8, 0x5a);
	/* The child that served is the one from before the reload. */
	cr_assert_eq(vproc_child_pid(&it_vp, "d", 0, 0), c0);

	/* The same through vhostd ctl reload: exit 1, the error shown. */
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 1);
	cr_assert_neq(strstr(ctl_err, "v.conf:4: [d] path:"), NULL, "%s",
	    ctl_err);
	/* The next child (after the session above) serves the old image. */
	c1 = vproc_child_pid(&it_vp, "d", 1, VPROC_TIMEOUT_MS);
	cr_assert_gt(c1, 0, "%s", it_vp.vp_log);
	cr_assert_eq(inode(sock), ino);
	assert_disk_serves(sock, 16, 0x6b);
	cr_assert_eq(vproc_count(&it_vp, "configuration changed"), 0, "%s",
	    it_vp.vp_log);
	it_stop(&it_vp);
}

/*
 * A reload that changes a disk but keeps its image and socket: the new
 * configuration opens although the running device holds the image lock
 * (taken over, not taken twice), the listener is the same (socket
 * inode), and the data written before is there.  Then read-only=on
 * (exclusive lock to shared) and back (shared to exclusive).
 */
Test(ctl, reload_of_a_disk_on_the_same_image_takes_its_lock_over)
{
	const char	*img = make_image("d.img"), *sock = it_path("d.sock");
	const char	*ctl = it_path("ctl.sock"), *conf;
	char		 base[1024];
	ino_t		 ino;
	long		 off;
	int		 fd;
	struct flock	 fl;

	snprintf(base, sizeof(base), "[d]\ntype = blk\nsocket = %s\n"
	    "path = %s\n", sock, img);
	conf = write_file("v.conf", base);
	it_start(&it_vp, "--control", ctl, "-c", conf, NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "d", 0, VPROC_TIMEOUT_MS), 0);
	ino = inode(sock);
	assert_disk_serves(sock, 24, 0x31);

	write_file("v.conf", it_fmt("%squeues = 2\n", base));
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s\n%s", ctl_err,
	    it_vp.vp_log);
	off = vproc_wait_log(&it_vp, "d: configuration changed; started with "
	    "the new one", 0, VPROC_TIMEOUT_MS);
	cr_assert_geq(off, 0, "%s", it_vp.vp_log);
	cr_assert_eq(inode(sock), ino, "the socket was replaced");
	wait_status(ctl, "d['devices'][0]['device']['queues'] == 2 and "
	    "d['devices'][0]['state'] == 'running'");
	assert_disk_serves(sock, 32, 0x42);
	cr_assert_eq(vproc_count(&it_vp, "in use by"), 0, "%s", it_vp.vp_log);

	/* The lock is still held: another writer is refused. */
	fd = open(img, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_len = 1;
	cr_assert_eq(fcntl(fd, F_OFD_SETLK, &fl), -1, "the image lock was "
	    "lost in the reload");

	/* Read-only: the lock becomes shared (a reader may join). */
	write_file("v.conf", it_fmt("%squeues = 2\nread-only = on\n", base));
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s\n%s", ctl_err,
	    it_vp.vp_log);
	off = vproc_wait_log(&it_vp, "d: configuration changed", (size_t)off,
	    VPROC_TIMEOUT_MS);
	cr_assert_geq(off, 0, "%s", it_vp.vp_log);
	wait_status(ctl, "d['devices'][0]['device']['read-only'] == True "
	    "and d['devices'][0]['state'] == 'running'");
	fl.l_type = F_RDLCK;
	cr_assert_eq(fcntl(fd, F_OFD_SETLK, &fl), 0, "a read-only disk's "
	    "lock should be shared: %s", strerror(errno));
	fl.l_type = F_UNLCK;
	cr_assert_eq(fcntl(fd, F_OFD_SETLK, &fl), 0);

	/* Writable again: exclusive, and served. */
	write_file("v.conf", base);
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s\n%s", ctl_err,
	    it_vp.vp_log);
	off = vproc_wait_log(&it_vp, "d: configuration changed", (size_t)off,
	    VPROC_TIMEOUT_MS);
	cr_assert_geq(off, 0, "%s", it_vp.vp_log);
	wait_status(ctl, "d['devices'][0]['device']['read-only'] == False "
	    "and d['devices'][0]['state'] == 'running'");
	fl.l_type = F_RDLCK;
	cr_assert_eq(fcntl(fd, F_OFD_SETLK, &fl), -1, "a writable disk's "
	    "lock should be exclusive");
	close(fd);
	assert_disk_serves(sock, 40, 0x53);
	cr_assert_eq(inode(sock), ino);
	it_stop(&it_vp);
}


/*
 * A reload that changes only mode= keeps the listening socket (same
 * inode, new mode); one that moves the socket binds the new path before
 * the old child stops, and removes the old path once it is gone.
 */
Test(ctl, reload_keeps_or_moves_the_socket)
{
	const char	*ctl = it_path("ctl.sock"), *conf;
	char		 a[256], b[256];
	struct stat	 st;
	ino_t		 ino;
	long		 off;

	snprintf(a, sizeof(a), "%s", it_path("a.sock"));
	snprintf(b, sizeof(b), "%s", it_path("b.sock"));
	conf = write_file("v.conf", it_fmt("[r]\ntype = rng\nsocket = %s\n", a));
	it_start(&it_vp, "--control", ctl, "-c", conf, NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "r", 0, VPROC_TIMEOUT_MS), 0);
	ino = inode(a);
	write_file("v.conf", it_fmt("[r]\ntype = rng\nsocket = %s\n"
	    "mode = 0640\n", a));
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s", ctl_err);
	off = vproc_wait_log(&it_vp, "r: configuration changed", 0,
	    VPROC_TIMEOUT_MS);
	cr_assert_geq(off, 0, "%s", it_vp.vp_log);
	cr_assert_eq(lstat(a, &st), 0);
	cr_assert_eq(st.st_ino, ino, "the socket was bound again");
	cr_assert_eq(st.st_mode & 0777, 0640, "mode %o", st.st_mode & 0777);
	it_assert_entropy(a);

	write_file("v.conf", it_fmt("[r]\ntype = rng\nsocket = %s\n", b));
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s", ctl_err);
	off = vproc_wait_log(&it_vp, "r: configuration changed", (size_t)off,
	    VPROC_TIMEOUT_MS);
	cr_assert_geq(off, 0, "%s", it_vp.vp_log);
	wait_status(ctl, it_fmt("d['devices'][0]['socket'] == '%s' and "
	    "d['devices'][0]['state'] == 'running'", b));
	cr_assert(!it_exists(a), "the old socket path is left");
	cr_assert_eq(lstat(b, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	it_assert_entropy(b);
	it_stop(&it_vp);
}


/*
 * A reload that renames a running device and keeps its socket (and its
 * image): the device goes on under the new name, on the same socket
 * inode; before, the new name could not bind the socket the old one
 * still served, was "not added", and the old one was removed: no device.
 */
Test(ctl, reload_that_renames_a_device_keeps_it)
{
	const char	*ctl = it_path("ctl.sock"), *conf, *img;
	char		 s[256], d[256], base[1024];
	ino_t		 ino, dino;
	long		 off;

	snprintf(s, sizeof(s), "%s", it_path("r.sock"));
	snprintf(d, sizeof(d), "%s", it_path("d.sock"));
	img = make_image("disk.img");
	snprintf(base, sizeof(base), "type = rng\nsocket = %s\n\n[disk]\n"
	    "type = blk\nsocket = %s\npath = %s\n", s, d, img);
	conf = write_file("v.conf", it_fmt("[old]\n%s", base));
	it_start(&it_vp, "--control", ctl, "-c", conf, NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "old", 0, VPROC_TIMEOUT_MS), 0);
	ino = inode(s);
	dino = inode(d);
	/* The rng and the disk both renamed; nothing else changes. */
	{
		char	*p = strstr(base, "[disk]");

		cr_assert_not_null(p);
		memcpy(p, "[dnew]", 6);
	}
	write_file("v.conf", it_fmt("[new]\n%s", base));
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s\n%s", ctl_err,
	    it_vp.vp_log);
	off = vproc_wait_log(&it_vp, "new: configuration changed", 0,
	    VPROC_TIMEOUT_MS);
	cr_assert_geq(off, 0, "%s", it_vp.vp_log);
	cr_assert_geq(vproc_wait_log(&it_vp, "dnew: configuration changed", 0,
	    VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
	wait_status(ctl, "sorted(x['name'] for x in d['devices']) == "
	    "['dnew', 'new'] and all(x['state'] == 'running' for x in "
	    "d['devices'])");
	cr_assert_eq(inode(s), ino, "the socket was bound again");
	cr_assert_eq(inode(d), dino, "the disk's socket was bound again");
	it_assert_entropy(s);
	assert_disk_serves(d, 8, 0x5a);
	cr_assert_eq(vproc_count(&it_vp, "not added"), 0, "%s", it_vp.vp_log);
	it_stop(&it_vp);
}

/*
 * A reload that changes the middle one of three devices: the device
 * table is matched by name through a sorted index, and a changed entry's
 * configuration moves to its new device; a later lookup must not compare
 * with that moved entry (it did: the root parent died of a NULL name).
 */
Test(ctl, reload_changing_one_of_three_devices)
{
	const char	*ctl = it_path("ctl.sock"), *conf;
	char		 s[3][256], text[2048];
	unsigned int	 i;

	for (i = 0; i < 3; i++)
		snprintf(s[i], sizeof(s[i]), "%s", it_path(it_fmt("%c.sock",
		    'a' + i)));
	snprintf(text, sizeof(text), "[a]\ntype = rng\nsocket = %s\n[b]\n"
	    "type = rng\nsocket = %s\n[c]\ntype = rng\nsocket = %s\n", s[0],
	    s[1], s[2]);
	conf = write_file("v.conf", text);
	it_start(&it_vp, "--control", ctl, "-c", conf, NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "c", 0, VPROC_TIMEOUT_MS), 0);
	snprintf(text, sizeof(text), "[a]\ntype = rng\nsocket = %s\n[b]\n"
	    "type = rng\nsocket = %s\nmode = 0640\n[c]\ntype = rng\n"
	    "socket = %s\n", s[0], s[1], s[2]);
	write_file("v.conf", text);
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s\n%s", ctl_err,
	    it_vp.vp_log);
	cr_assert_geq(vproc_wait_log(&it_vp, "b: configuration changed", 0,
	    VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
	wait_status(ctl, "[x['name'] for x in d['devices']] == ['a', 'b', "
	    "'c'] and all(x['state'] == 'running' for x in d['devices'])");
	for (i = 0; i < 3; i++)
		it_assert_entropy(s[i]);
	it_stop(&it_vp);
}
