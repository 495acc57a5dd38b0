/*
 * frontend_mem_test.c - guest memory that shrinks under a device child
 * (issue 8.5).  A front end that truncates a region's file after
 * SET_MEM_TABLE makes the child's next access fault (SIGBUS): the child
 * must log that guest memory was truncated under it and end the session
 * with CHILD_EXIT_MEMORY (a front-end fault), not die by the signal.  Any
 * other SIGBUS stays a crash.  vhostd runs with its real jail and seccomp
 * filter, so the handler is exercised under the policy.
 */
#include <sys/eventfd.h>

#include "itest.h"
#include "host/supervisor.h"

TestSuite(frontend_mem, .init = it_setup, .fini = it_teardown,
    .timeout = 60);

/* An rng child with one ring started on memory QEMU's seal=off makes. */
static void
start_rng(const char *sock, struct vuf *f)
{
	struct vuf_opts	o;

	it_start(&it_vp, "--device", it_fmt("rng,socket=%s,restart=never",
	    sock), NULL);
	memset(&o, 0, sizeof(o));
	o.o_mem_unsealed = true;
	o.o_queue_size = 8;
	vuf_init(f);
	cr_assert_eq(vuf_setup(f, sock, &o), 0, "%s", vuf_error(f));
}

Test(frontend_mem, truncated_guest_memory_ends_the_session_as_a_frontend_fault)
{
	const char	*sock = it_path("rng.sock");
	struct vuf	 f;
	struct vuf_seg	 seg;
	struct vuf_vq	*q;
	uint64_t	 gpa;
	char		 want[64];

	start_rng(sock, &f);
	cr_assert_not_null(vuf_alloc(&f, 64, 64, &gpa));
	seg.sg_gpa = gpa;
	seg.sg_len = 64;
	seg.sg_write = true;
	cr_assert_geq(vuf_vq_add(&f, 0, &seg, 1, false, NULL), 0, "%s",
	    vuf_error(&f));
	/* Publish the chain by hand: after the truncation we must not touch
	 * the memory ourselves. */
	q = &f.f_vq[0];
	__atomic_store_n(&q->q_avail->idx, q->q_avail_idx, __ATOMIC_RELEASE);

	cr_assert_eq(ftruncate(f.f_memfd, 0), 0);
	cr_assert_eq(eventfd_write(q->q_kick_fd, 1), 0);

	cr_assert_geq(vproc_wait_log(&it_vp, "guest memory was truncated", 0,
	    VPROC_TIMEOUT_MS), 0, "no truncation message; stderr:\n%s",
	    it_vp.vp_log);
	snprintf(want, sizeof(want), "exited with status %d",
	    CHILD_EXIT_MEMORY);
	cr_assert_geq(vproc_wait_log(&it_vp, want, 0, VPROC_TIMEOUT_MS), 0,
	    "child did not exit with CHILD_EXIT_MEMORY; stderr:\n%s",
	    it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "killed by signal"), 0, "%s",
	    it_vp.vp_log);
	vuf_fini(&f);
}

Test(frontend_mem, sigbus_outside_frontend_memory_stays_a_crash)
{
	const char	*sock = it_path("rng.sock");
	struct vuf	 f;
	pid_t		 child;

	start_rng(sock, &f);
	child = vproc_child_pid(&it_vp, "rng", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(child, 0);
	/* Not a fault in front-end memory: a crash, no CHILD_EXIT_MEMORY. */
	cr_assert_eq(kill(child, SIGBUS), 0);
	cr_assert_geq(vproc_wait_log(&it_vp, "exited with status", 0,
	    VPROC_TIMEOUT_MS), 0, "stderr:\n%s", it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "guest memory was truncated"), 0);
	cr_assert_eq(vproc_count(&it_vp, it_fmt("exited with status %d ",
	    CHILD_EXIT_FAILURE)), 1, "stderr:\n%s", it_vp.vp_log);
	vuf_fini(&f);
}
