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

/*
 * The same on a blk queue thread (queues=2, threads=2): ring 1 is served
 * by the second thread, created before the filter, so the fault is taken
 * there, not on the main thread.  The child's handler (process-wide,
 * SIGBUS unblocked in the threads) still ends the session with
 * CHILD_EXIT_MEMORY.
 */
Test(frontend_mem, truncated_memory_under_a_queue_thread_is_a_frontend_fault)
{
	const char	*sock = it_path("blk.sock"), *img = it_path("disk.img");
	struct vuf_opts	 o;
	struct vuf	 f;
	struct vuf_seg	 seg[2];
	struct vuf_vq	*q;
	uint64_t	 gpa;
	uint8_t		*hdr;
	char		 want[64];
	int		 fd;

	cr_assert_geq(fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600), 0);
	cr_assert_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	it_start(&it_vp, "--device", it_fmt("blk,socket=%s,path=%s,queues=2,"
	    "threads=2,restart=never", sock, img), NULL);
	memset(&o, 0, sizeof(o));
	o.o_mem_unsealed = true;
	o.o_queue_size = 8;
	o.o_nqueues = 2;
	vuf_init(&f);
	cr_assert_eq(vuf_setup(&f, sock, &o), 0, "%s", vuf_error(&f));
	cr_assert_not_null(hdr = vuf_alloc(&f, 17, 16, &gpa));
	memset(hdr, 0, 17);		/* VIRTIO_BLK_T_IN, sector 0, no data */
	seg[0] = (struct vuf_seg){ gpa, 16, false };
	seg[1] = (struct vuf_seg){ gpa + 16, 1, true };
	cr_assert_geq(vuf_vq_add(&f, 1, seg, 2, false, NULL), 0, "%s",
	    vuf_error(&f));
	q = &f.f_vq[1];
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
	unlink(img);
}
