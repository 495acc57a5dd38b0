/*
 * fault_test: front ends that hang up mid-message or with requests in
 * flight, that never say anything or stall mid-header, a 1 GiB length.
 */

#include "../itest.h"

#include "host/supervisor.h"

#include "fault_harness.h"

Test(fault, frontend_hangs_up_mid_message)
{
	const char	*sock = it_path("rng.sock");
	const uint8_t	 part[3] = { 1, 2, 3 };
	struct vuf	 f;
	pid_t		 c0, c1;

	it_start(&it_vp, "--device", it_fmt("rng,socket=%s", sock), NULL);
	c0 = vproc_child_pid(&it_vp, "rng", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(c0, 0);
	vuf_init(&f);
	cr_assert_eq(vuf_connect(&f, sock), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_handshake(&f, 0), 0, "%s", vuf_error(&f));
	/* SET_FEATURES says 8 bytes follow; 3 come, then the hang-up. */
	send_header(&f, VHOST_USER_SET_FEATURES, 8);
	cr_assert_eq(send(f.f_sock, part, sizeof(part), MSG_NOSIGNAL), 3);
	vuf_fini(&f);
	assert_exited_cleanly(&it_vp, c0);
	c1 = vproc_child_pid(&it_vp, "rng", 1, VPROC_TIMEOUT_MS);
	cr_assert_gt(c1, 0, "not restarted:\n%s", it_vp.vp_log);
	it_assert_entropy(sock);

	/* A header cut in half, then the hang-up. */
	vuf_init(&f);
	cr_assert_eq(vuf_connect(&f, sock), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_handshake(&f, 0), 0, "%s", vuf_error(&f));
	cr_assert_eq(send(f.f_sock, part, sizeof(part), MSG_NOSIGNAL), 3);
	vuf_fini(&f);
	/* it_assert_entropy above ended c1; c2 served the half header. */
	cr_assert_gt(vproc_child_pid(&it_vp, "rng", 3, VPROC_TIMEOUT_MS), 0,
	    "not restarted after a half header:\n%s", it_vp.vp_log);
	assert_exited_cleanly(&it_vp, vproc_child_pid(&it_vp, "rng", 2, 0));
	it_assert_entropy(sock);
	cr_assert_eq(vproc_count(&it_vp, "killed by signal"), 0, "%s",
	    it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "giving up"), 0, "%s", it_vp.vp_log);
	it_stop(&it_vp);
}

Test(fault, frontend_hangs_up_with_requests_in_flight)
{
	const char	*sock = it_path("blk.sock");
	const char	*img = make_image(it_path("disk.img"), IMG_SIZE);
	struct vuf_blk	 b[BLK_SLOTS], bb;
	struct vuf	 f;
	unsigned int	 i, round;
	pid_t		 c;

	it_start(&it_vp, "--device", it_fmt("blk,socket=%s,path=%s", sock, img),
	    NULL);
	for (round = 0; round < 3; round++) {
		c = vproc_child_pid(&it_vp, "blk", round, VPROC_TIMEOUT_MS);
		cr_assert_gt(c, 0, "%s", it_vp.vp_log);
		blk_open(&f, &b[0], sock);
		for (i = 1; i < BLK_SLOTS; i++)
			cr_assert_eq(vuf_blk_init(&b[i], &f, 0, 65536), 0);
		/* 16 writes of 64 KiB kicked, and gone before any answer. */
		for (i = 0; i < BLK_SLOTS; i++) {
			memset(b[i].b_data, 0x40 + (int)i, 65536);
			cr_assert_geq(vuf_blk_submit(&b[i], VUF_BLK_T_OUT,
			    (uint64_t)i * 128, 65536), 0, "%s", vuf_error(&f));
		}
		vuf_fini(&f);
		assert_exited_cleanly(&it_vp, c);
	}
	/* The next front end is served, by a fresh child. */
	cr_assert_gt(vproc_child_pid(&it_vp, "blk", 3, VPROC_TIMEOUT_MS), 0,
	    "not restarted:\n%s", it_vp.vp_log);
	blk_open(&f, &bb, sock);
	blk_write_check(&bb, 4096, 0xa5);
	vuf_fini(&f);
	cr_assert_eq(vproc_count(&it_vp, "giving up"), 0, "%s", it_vp.vp_log);
	it_stop(&it_vp);
}

Test(fault, silent_frontend_does_not_block_others_or_sigterm)
{
	const char	*a = it_path("a.sock"), *b = it_path("b.sock");
	struct vuf	 f, g;
	pid_t		 ca, cb;
	long		 t0, ms;
	int		 st, i;

	/* A 30 s grace: a child that does not answer SIGTERM shows. */
	it_start(&it_vp, "--grace=30", "--device",
	    it_fmt("rng,name=a,socket=%s", a), "--device",
	    it_fmt("rng,name=b,socket=%s", b), NULL);
	ca = vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS);
	cb = vproc_child_pid(&it_vp, "b", 0, VPROC_TIMEOUT_MS);
	cr_assert(ca > 0 && cb > 0, "%s", it_vp.vp_log);
	/* Two front ends on a that never send a byte. */
	vuf_init(&f);
	vuf_init(&g);
	cr_assert_eq(vuf_connect(&f, a), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_connect(&g, a), 0, "%s", vuf_error(&g));
	/* b is served again and again meanwhile (a fresh child each time). */
	for (i = 0; i < 3; i++)
		it_assert_entropy(b);
	cr_assert_eq(vproc_count(&it_vp, "a: started child"), 1, "%s",
	    it_vp.vp_log);
	t0 = now_ms();
	cr_assert_eq(kill(it_vp.vp_pid, SIGTERM), 0);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st), 0,
	    "vhostd did not stop within %d ms with a silent front end:\n%s",
	    VPROC_TIMEOUT_MS, it_vp.vp_log);
	ms = now_ms() - t0;
	fprintf(stderr, "fault: SIGTERM to exit with a silent front end "
	    "connected: %ld ms\n", ms);
	cr_assert_eq(it_code(st), 0, "%s", it_vp.vp_log);
	/* The child answered SIGTERM itself: no SIGKILL after the grace. */
	cr_assert_eq(vproc_count(&it_vp, "still running"), 0, "%s",
	    it_vp.vp_log);
	cr_assert_eq(vuf_wait_hangup(&f, VPROC_TIMEOUT_MS), 0,
	    "the silent front end's connection stayed open");
	vuf_fini(&f);
	vuf_fini(&g);
	cr_assert(!it_exists(a) && !it_exists(b), "socket files left behind");
	cr_assert_eq(vproc_wait_gone(ca, VPROC_TIMEOUT_MS), 0);
	cr_assert(kill(ca, 0) == -1 && errno == ESRCH, "child %d alive",
	    (int)ca);
}

/*
 * A front end that sends half a header and then nothing: the child must
 * not block in a read forever (issue 8 point 4): it ends the session
 * with CHILD_EXIT_TIMEOUT and the device is served again.  Meanwhile the
 * other device is served.
 */
Test(fault, stalled_frontend_mid_header_is_dropped)
{
	const char	*a = it_path("a.sock"), *b = it_path("b.sock");
	const uint8_t	 part[6] = { 1, 0, 0, 0, 1, 0 };
	struct vuf	 f;
	pid_t		 ca;
	long		 t0, off;

	it_start(&it_vp, "--device", it_fmt("rng,name=a,socket=%s", a),
	    "--device", it_fmt("rng,name=b,socket=%s", b), NULL);
	ca = vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(ca, 0, "%s", it_vp.vp_log);
	vuf_init(&f);
	cr_assert_eq(vuf_connect(&f, a), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_handshake(&f, 0), 0, "%s", vuf_error(&f));
	t0 = now_ms();
	cr_assert_eq(send(f.f_sock, part, sizeof(part), MSG_NOSIGNAL), 6);
	it_assert_entropy(b);
	/* Generous: the read timeout is seconds, the machine is shared. */
	off = vproc_wait_log(&it_vp, it_fmt("child %d exited with status %d",
	    (int)ca, CHILD_EXIT_TIMEOUT), 0, 25000);
	cr_assert_geq(off, 0, "a child stalled mid-header did not end with "
	    "CHILD_EXIT_TIMEOUT (%d) within 25 s:\n%s", CHILD_EXIT_TIMEOUT,
	    it_vp.vp_log);
	fprintf(stderr, "fault: stalled front end dropped after %ld ms\n",
	    now_ms() - t0);
	cr_assert_eq(vuf_wait_hangup(&f, VPROC_TIMEOUT_MS), 0);
	vuf_fini(&f);
	cr_assert_gt(vproc_child_pid(&it_vp, "a", 1, VPROC_TIMEOUT_MS), 0,
	    "%s", it_vp.vp_log);
	it_assert_entropy(a);
	it_stop(&it_vp);
}

Test(fault, huge_length_field_drops_only_the_session)
{
	static const uint32_t	sizes[] = { 1u << 30, 0xffffffffu };
	const char		*r = it_path("rng.sock");
	const char		*k = it_path("blk.sock");
	const char		*img = make_image(it_path("disk.img"), IMG_SIZE);
	const char		*sock, *name;
	struct vuf_blk		 b;
	struct vuf		 f;
	unsigned int		 i, j, nth[2] = { 0, 0 };
	pid_t			 c;
	long			 t0;

	it_start(&it_vp, "--device", it_fmt("rng,socket=%s", r), "--device",
	    it_fmt("blk,socket=%s,path=%s", k, img), NULL);
	for (i = 0; i < 2; i++)
		for (j = 0; j < ARRAY_SIZE(sizes); j++) {
			sock = i == 0 ? r : k;
			name = i == 0 ? "rng" : "blk";
			c = vproc_child_pid(&it_vp, name, nth[i], VPROC_TIMEOUT_MS);
			cr_assert_gt(c, 0, "%s", it_vp.vp_log);
			vuf_init(&f);
			cr_assert_eq(vuf_connect(&f, sock), 0, "%s",
			    vuf_error(&f));
			cr_assert_eq(vuf_handshake(&f, 0), 0, "%s",
			    vuf_error(&f));
			t0 = now_ms();
			send_header(&f, VHOST_USER_SET_MEM_TABLE, sizes[j]);
			cr_assert_eq(vuf_wait_hangup(&f, VPROC_TIMEOUT_MS), 0,
			    "%s kept a session with a %u-byte length field",
			    name, sizes[j]);
			fprintf(stderr, "fault: %s dropped a %u-byte length "
			    "field in %ld ms\n", name, sizes[j], now_ms() - t0);
			vuf_fini(&f);
			/* A clear line: the request, the size, the verdict. */
			cr_assert_geq(vproc_wait_log(&it_vp, it_fmt(
			    "SET_MEM_TABLE: payload of %u bytes is too large",
			    sizes[j]), 0, VPROC_TIMEOUT_MS), 0, "%s",
			    it_vp.vp_log);
			assert_exited_cleanly(&it_vp, c);
			nth[i]++;
			/* Served again afterwards. */
			cr_assert_gt(vproc_child_pid(&it_vp, name, nth[i],
			    VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
			if (i == 0)
				it_assert_entropy(r);
			else {
				blk_open(&f, &b, k);
				blk_write_check(&b, 8 * j, 0x11 + (uint8_t)j);
				vuf_fini(&f);
			}
			nth[i]++;
		}
	cr_assert_eq(kill(it_vp.vp_pid, 0), 0);
	cr_assert_eq(vproc_count(&it_vp, "giving up"), 0, "%s", it_vp.vp_log);
	it_stop(&it_vp);
}
