/*
 * fault_test: a SIGKILLed parent, a policy broken while the device
 * restarts or reloads, queue threads under the filter.
 */

#include "../itest.h"

#include <sys/eventfd.h>

#include "host/supervisor.h"

#include "fault_harness.h"

/*
 * vhostd is SIGKILLed while one device serves a front end and another
 * waits: every child ends with it (PR_SET_PDEATHSIG), the front end sees
 * its connection close, and the next vhostd replaces the stale socket
 * files and serves both devices, the disk with its data.
 */
Test(fault, sigkilled_parent_takes_its_children_and_restarts_clean)
{
	const char	*r = it_path("rng.sock"), *k = it_path("blk.sock");
	const char	*img = make_image(it_path("disk.img"), IMG_SIZE);
	struct vuf_blk	 b;
	struct vuf	 f;
	pid_t		 cr, ck;
	int		 st;

	it_start(&it_vp, "--device", it_fmt("rng,socket=%s", r), "--device",
	    it_fmt("blk,socket=%s,path=%s", k, img), NULL);
	cr = vproc_child_pid(&it_vp, "rng", 0, VPROC_TIMEOUT_MS);
	ck = vproc_child_pid(&it_vp, "blk", 0, VPROC_TIMEOUT_MS);
	cr_assert(cr > 0 && ck > 0, "%s", it_vp.vp_log);
	blk_open(&f, &b, k);
	blk_write_check(&b, 256, 0x9e);

	cr_assert_eq(kill(it_vp.vp_pid, SIGKILL), 0);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st), 0);
	cr_assert_eq(vproc_wait_gone(cr, VPROC_TIMEOUT_MS), 0,
	    "rng child %d outlived its parent", (int)cr);
	cr_assert_eq(vproc_wait_gone(ck, VPROC_TIMEOUT_MS), 0,
	    "blk child %d (serving) outlived its parent", (int)ck);
	cr_assert_eq(vuf_wait_hangup(&f, VPROC_TIMEOUT_MS), 0,
	    "the front end's connection outlived the device");
	vuf_fini(&f);
	cr_assert(it_exists(r) && it_exists(k),
	    "a SIGKILLed parent cannot clean up: the files must be stale");
	cr_assert(!it_connects(r) && !it_connects(k), "a stale socket answers");
	fprintf(stderr, "fault: the image was locked for %ld ms after the "
	    "children were gone\n", wait_image_unlocked(img));

	it_start(&fault_vp2, "--device", it_fmt("rng,socket=%s", r),
	    "--device", it_fmt("blk,socket=%s,path=%s", k, img), NULL);
	it_assert_entropy(r);
	blk_open(&f, &b, k);
	memset(b.b_data, 0, 4096);
	cr_assert_eq(blk_rw(&b, VUF_BLK_T_IN, 256, 4096), VUF_BLK_S_OK);
	cr_assert_eq(b.b_data[0], 0x9e, "the data written before the kill "
	    "is gone");
	vuf_fini(&f);
	it_stop(&fault_vp2);
	cr_assert(!it_exists(r) && !it_exists(k), "sockets left behind");
}

/* Copy the shipped policies into dir. */
static void
copy_policies(const char *dir)
{
	cr_assert_eq(system(it_fmt("cp -r '%s' '%s'",
	    it_env("VHOSTD_POLICYDIR"), dir)), 0);
}

/* "Seccomp:" of /proc/pid/status: 2 when a filter is loaded. */
static int
seccomp_mode(pid_t pid)
{
	char	 line[256];
	FILE	*fp;
	int	 mode = -1;

	if ((fp = fopen(it_fmt("/proc/%d/status", (int)pid), "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(fp);
	return mode;
}

/* Overwrite path with text. */
static void
write_file(const char *path, const char *text)
{
	FILE	*fp;

	cr_assert_not_null(fp = fopen(path, "w"), "%s", path);
	fputs(text, fp);
	cr_assert_eq(fclose(fp), 0);
}

/*
 * The policy file breaks while the device runs; the child crashes and is
 * restarted.  The filter is compiled once, before the first fork, and
 * every restart loads that filter: the new child runs under seccomp
 * (mode 2) and serves.  (Restarts do not read the policy file again, so
 * there is no error to log here; a reload that has to compile it again
 * is the test below.)
 */
Test(fault, broken_policy_at_restart_keeps_the_filter)
{
	const char	*pol = it_path("pol"), *sock = it_path("rng.sock");
	struct vuf	 f;
	pid_t		 c0, c1, c2;

	copy_policies(pol);
	it_start(&it_vp, "--policy-dir", pol, "--device",
	    it_fmt("rng,socket=%s", sock), NULL);
	c0 = vproc_child_pid(&it_vp, "rng", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(c0, 0, "%s", it_vp.vp_log);
	it_assert_entropy(sock);
	c1 = vproc_child_pid(&it_vp, "rng", 1, VPROC_TIMEOUT_MS);
	cr_assert_gt(c1, 0, "%s", it_vp.vp_log);

	write_file(it_fmt("%s/rng.policy", pol), "this is: not a policy\n");
	cr_assert_eq(unlink(it_fmt("%s/common.policy", pol)), 0);
	cr_assert_eq(kill(c1, SIGKILL), 0);
	c2 = vproc_child_pid(&it_vp, "rng", 2, VPROC_TIMEOUT_MS);
	cr_assert_gt(c2, 0, "not restarted:\n%s", it_vp.vp_log);
	/* Once it answers, the new child is jailed and filtered. */
	vuf_init(&f);
	cr_assert_eq(vuf_connect(&f, sock), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_handshake(&f, 0), 0, "%s\n%s", vuf_error(&f),
	    it_vp.vp_log);
	cr_assert_eq(seccomp_mode(c2), 2, "restarted child %d runs without "
	    "its seccomp filter (Seccomp: %d)", (int)c2, seccomp_mode(c2));
	vuf_fini(&f);
	assert_exited_cleanly(&it_vp, c2);
	/* And the device serves entropy again. */
	it_assert_entropy(sock);
	cr_assert_eq(vproc_count(&it_vp, "SIGSYS"), 0, "%s", it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "giving up"), 0, "%s", it_vp.vp_log);
	it_stop(&it_vp);
}

/*
 * A reload changes a device while its policy file is broken: the policy
 * error is logged with file:line and the device keeps what it had (its
 * child, untouched), instead of being removed (issue 14.1: the new
 * configuration is opened and checked before the old child is stopped).
 */
Test(fault, reload_with_broken_policy_keeps_the_device)
{
	const char	*pol = it_path("pol"), *sock = it_path("rng.sock");
	const char	*conf = it_path("vhostd.conf");
	pid_t		 c0;

	copy_policies(pol);
	write_file(conf, it_fmt("[a]\ntype = rng\nsocket = %s\n", sock));
	it_start(&it_vp, "--policy-dir", pol, "-c", conf, NULL);
	c0 = vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(c0, 0, "%s", it_vp.vp_log);
	write_file(it_fmt("%s/rng.policy", pol), "read: 1\nbogus_call: 1\n");
	write_file(conf, it_fmt("[a]\ntype = rng\nsocket = %s\n"
	    "restart = on-failure\n", sock));
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_geq(vproc_wait_log(&it_vp, "rng.policy:2", 0,
	    VPROC_TIMEOUT_MS), 0, "the policy error is not logged:\n%s",
	    it_vp.vp_log);
	cr_assert(it_exists(sock), "the device lost its socket:\n%s",
	    it_vp.vp_log);
	/* The very child that ran before the reload still serves. */
	cr_assert_eq(kill(c0, 0), 0, "the running child was stopped:\n%s",
	    it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "a: started child"), 1, "%s",
	    it_vp.vp_log);
	it_assert_entropy(sock);
	cr_assert_eq(vproc_count(&it_vp, "SIGSYS"), 0, "%s", it_vp.vp_log);
	it_stop(&it_vp);
}

/*
 * A call fd that blocks (a blocking eventfd at its maximum count) on a
 * ring served by a blk queue thread (threads=1): the child's SIGALRM
 * watchdog interrupts only its main thread, so the queue thread has a
 * timer of its own; the write fails with EINTR, the engine calls it a
 * stall, and the session ends with CHILD_EXIT_TIMEOUT instead of hanging.
 */
Test(fault, blocking_call_fd_on_a_queue_thread_ends_the_session)
{
	const char	*sock = it_path("blk.sock");
	const char	*img = make_image(it_path("disk.img"), IMG_SIZE);
	struct vuf_blk	 b;
	struct vuf	 f;
	uint64_t	 ring = 0;
	char		 want[64];
	long		 t0;
	int		 efd;

	it_start(&it_vp, "--device", it_fmt("blk,socket=%s,path=%s,"
	    "threads=1,restart=never", sock, img), NULL);
	blk_open(&f, &b, sock);
	blk_write_check(&b, 0, 0x5a);
	cr_assert_geq(efd = eventfd(0, EFD_CLOEXEC), 0);
	cr_assert_eq(eventfd_write(efd, 0xfffffffffffffffeull), 0);
	cr_assert_eq(vuf_request(&f, VHOST_USER_SET_VRING_CALL, &ring,
	    sizeof(ring), &efd, 1, NULL, 0), 0, "%s", vuf_error(&f));
	close(efd);
	t0 = now_ms();
	cr_assert_geq(vuf_blk_submit(&b, VUF_BLK_T_IN, 0, 4096), 0, "%s",
	    vuf_error(&f));
	snprintf(want, sizeof(want), "exited with status %d",
	    CHILD_EXIT_TIMEOUT);
	cr_assert_geq(vproc_wait_log(&it_vp, want, 0, VPROC_TIMEOUT_MS), 0,
	    "the child did not end the session as a stall; stderr:\n%s",
	    it_vp.vp_log);
	fprintf(stderr, "fault: blocking call fd on a queue thread: session "
	    "ended after %ld ms\n", now_ms() - t0);
	cr_assert_geq(vproc_wait_log(&it_vp, "call fd blocked the device", 0,
	    VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "killed by signal"), 0, "%s",
	    it_vp.vp_log);
	vuf_fini(&f);
}

/*
 * O_DIRECT I/O through io_uring on a queue thread, under the real
 * filter: with poll-us=0 the thread waits in poll(2) while the ring's
 * completion is run as task work on it, which interrupts the poll and
 * restarts it through restart_syscall(2): the policy must allow that (it
 * killed the child before).  An image outside tmpfs, so O_DIRECT is
 * asynchronous.
 */
Test(fault, direct_io_on_a_queue_thread_under_the_filter)
{
	const char	*sock = it_path("blk.sock");
	char		 img[64];
	struct vuf_blk	 b;
	struct vuf	 f;
	unsigned int	 i;
	int		 fd;
	pid_t		 c;

	snprintf(img, sizeof(img), "/var/tmp/vhostd-fault-XXXXXX");
	cr_assert_geq(fd = mkstemp(img), 0);
	cr_assert_eq(ftruncate(fd, IMG_SIZE), 0);
	close(fd);
	it_start(&it_vp, "--device", it_fmt("blk,socket=%s,path=%s,"
	    "direct=on,threads=1,poll-us=0,restart=never", sock, img), NULL);
	c = vproc_child_pid(&it_vp, "blk", 0, VPROC_TIMEOUT_MS);
	blk_open(&f, &b, sock);
	for (i = 0; i < 200; i++)
		blk_write_check(&b, (i % 64) * 8, (uint8_t)i);
	vuf_fini(&f);
	unlink(img);
	assert_exited_cleanly(&it_vp, c);
	cr_assert_eq(vproc_count(&it_vp, "killed by signal"), 0, "%s",
	    it_vp.vp_log);
}
