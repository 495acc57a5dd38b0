/*
 * backend_test: memory tables and regions, status and reset, a broken
 * device, fini, EOF.
 */

#include <errno.h>
#include <signal.h>

#include "util/util.h"

#include "backend_harness.h"

Test(backend, addresses_before_memory_translated_at_start)
{
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 0, QSZ), 0);
	cr_assert_eq(set_vring_addr(0, 0), 0);
	set_mem_table();
	kick(0);
	cr_assert(vu_queue_ready(&dev, 0));
	cr_assert_eq((uint8_t *)dev.vd_vring[0].vr_vq.vq_avail,
	    (uint8_t *)gmem_gpa(&dev.vd_mem, AVAIL_GPA(0), 1));
}

Test(backend, mem_table_replacement_retranslates_rings)
{
	int			 fd2;

	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);
	kick(0);

	/* Same layout, new backing: ring pointers follow the new mapping. */
	fd2 = guestmem_fd(GUEST_SIZE);
	cr_assert_eq(set_mem_table_at(0, GUEST_SIZE, GUEST_UVA, fd2), 0);
	cr_assert(vu_queue_ready(&dev, 0));
	cr_assert_eq((uint8_t *)dev.vd_vring[0].vr_vq.vq_desc,
	    (uint8_t *)gmem_gpa(&dev.vd_mem, DESC_GPA(0), 1));

	/* A table without the ring's memory pauses the ring... */
	cr_assert_eq(set_mem_table_at(0x100000, GUEST_SIZE, GUEST_UVA +
	    0x100000, fd2), 0);
	cr_assert_not(vu_queue_ready(&dev, 0));
	cr_assert_null(dev.vd_vring[0].vr_vq.vq_desc);
	cr_assert_eq(rec.state_calls[0], 2);
	fire(0);
	cr_assert_eq(rec.handler[0], 0);
	/* ...until the memory is back; pending buffers then run. */
	add_avail(0, 0);
	cr_assert_eq(set_mem_table_at(0, GUEST_SIZE, GUEST_UVA, memfd), 0);
	cr_assert(vu_queue_ready(&dev, 0));
	cr_assert_eq(rec.state_calls[0], 3);
	cr_assert_eq(rec.handler[0], 1);
	cr_assert_eq(get_u64(VHOST_USER_GET_STATUS) &
	    VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	close(fd2);
}

Test(backend, add_and_remove_mem_regions)
{
	struct vhost_user_mem_reg	r;
	struct vhost_user_msg		m;
	int				fd = dup(memfd), base;

	memset(&r, 0, sizeof(r));
	r.region.guest_phys_addr = 0;
	r.region.memory_size = GUEST_SIZE;
	r.region.userspace_addr = GUEST_UVA;
	cr_assert_eq(req(VHOST_USER_ADD_MEM_REG, &r, sizeof(r), &fd, 1), 0);
	close(fd);
	cr_assert_eq(dev.vd_mem.mm_nregions, 1);
	/* Overlap: protocol violation. */
	fd = dup(memfd);
	r.region.guest_phys_addr = 4096;
	cr_assert_lt(req(VHOST_USER_ADD_MEM_REG, &r, sizeof(r), &fd, 1), 0);
	close(fd);
	r.region.guest_phys_addr = 0;

	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	setup_ring(0, 0);
	kick(0);
	cr_assert(vu_queue_ready(&dev, 0));

	/*
	 * The same region again (QEMU 7.2 sends it once per queue pair of a
	 * multiqueue NIC): counted, and it stays until the last removal.
	 */
	fd = dup(memfd);
	base = count_fds();
	cr_assert_eq(req(VHOST_USER_ADD_MEM_REG, &r, sizeof(r), &fd, 1), 0);
	cr_assert_eq(count_fds(), base, "the duplicate's fd is closed");
	close(fd);
	cr_assert_eq(dev.vd_mem.mm_nregions, 1);
	cr_assert_eq(req(VHOST_USER_REM_MEM_REG, &r, sizeof(r), NULL, 0), 0);
	cr_assert_eq(dev.vd_mem.mm_nregions, 1, "removed with a reference "
	    "left");
	cr_assert(vu_queue_ready(&dev, 0));

	/* QEMU sends the fd with REM_MEM_REG; it must be closed. */
	fd = dup(memfd);
	base = count_fds();
	cr_assert_eq(req(VHOST_USER_REM_MEM_REG, &r, sizeof(r), &fd, 1), 0);
	cr_assert_eq(count_fds(), base);
	close(fd);
	cr_assert_eq(dev.vd_mem.mm_nregions, 0);
	/* The running ring lost its memory: paused, not failed. */
	cr_assert_not(vu_queue_ready(&dev, 0));
	fd = dup(memfd);
	cr_assert_eq(req(VHOST_USER_ADD_MEM_REG, &r, sizeof(r), &fd, 1), 0);
	close(fd);
	cr_assert(vu_queue_ready(&dev, 0));
	cr_assert_eq(rec.state_calls[0], 3);
	/* Without the optional fd too. */
	cr_assert_eq(req(VHOST_USER_REM_MEM_REG, &r, sizeof(r), NULL, 0), 0);
	cr_assert_not(vu_queue_ready(&dev, 0));

	/* Unknown region: refused, connection kept. */
	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK)), 0);
	cr_assert_eq(req_flags(VHOST_USER_REM_MEM_REG,
	    VHOST_USER_NEED_REPLY_MASK, &r, sizeof(r), NULL, 0), 0);
	recv_reply(VHOST_USER_REM_MEM_REG, &m);
	cr_assert_neq(m.payload.u64, 0);
}

Test(backend, status_and_reset)
{
	negotiate(BIT(VIRTIO_F_VERSION_1) | PF, 0);
	cr_assert_eq(get_u64(VHOST_USER_GET_STATUS), 0);
	cr_assert_eq(set_u64(VHOST_USER_SET_STATUS, 0xf), 0);
	cr_assert_eq(get_u64(VHOST_USER_GET_STATUS), 0xf);

	set_mem_table();
	setup_ring(0, 4);
	kick(0);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
	cr_assert(vu_queue_ready(&dev, 0));

	/* Status 0 (QEMU: before GET_VRING_BASE) stops the rings but keeps
	 * the index GET_VRING_BASE answers. */
	cr_assert_eq(set_u64(VHOST_USER_SET_STATUS, 0), 0);
	cr_assert_eq(rec.resets, 1);
	cr_assert_not(vu_queue_ready(&dev, 0));
	cr_assert_null(ring_watch(0));
	cr_assert_eq(get_vring_base(0), 4);

	/* RESET_DEVICE forgets the ring set-up. */
	setup_ring(0, 4);
	kick(0);
	cr_assert(vu_queue_ready(&dev, 0));
	cr_assert_eq(req(VHOST_USER_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	cr_assert_eq(rec.resets, 2);
	cr_assert_not(vu_queue_ready(&dev, 0));
	cr_assert_not(dev.vd_vring[0].vr_enabled);
	cr_assert_eq(watches.n, 0);
	cr_assert_eq(get_vring_base(0), 0);
}

Test(backend, broken_device_keeps_answering)
{
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);
	kick(0);
	cr_assert(vu_queue_ready(&dev, 0));
	vu_dev_set_broken(&dev, "test");
	cr_assert_not(vu_queue_ready(&dev, 0));
	cr_assert_eq(watches.n, 0);
	cr_assert(rec.state_calls[0] == 2 && !rec.state[0]);
	cr_assert(get_u64(VHOST_USER_GET_STATUS) &
	    VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(get_u64(VHOST_USER_GET_FEATURES) & BIT(32), BIT(32));
	/* The front end resets the device and starts over. */
	cr_assert_eq(set_u64(VHOST_USER_SET_STATUS, 0), 0);
	cr_assert_eq(get_u64(VHOST_USER_GET_STATUS), 0);
	setup_ring(0, 0);
	kick(0);
	cr_assert(vu_queue_ready(&dev, 0));
}

Test(backend, fini_closes_everything)
{
	int	base;

	base = count_fds();
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);
	kick(0);
	cr_assert_eq(set_vring_fd(VHOST_USER_SET_VRING_CALL, 0, &callfd[0]),
	    0);
	cr_assert_eq(set_vring_fd(VHOST_USER_SET_VRING_ERR, 1, &callfd[1]),
	    0);
	/* Ours (kickfd, callfd[0..1]) plus the engine's three. */
	cr_assert_eq(count_fds(), base + 6);
	vu_dev_fini(&dev);
	cr_assert_eq(watches.n, 0);
	cr_assert_eq(count_fds(), base + 3);
	cr_assert_eq(dev.vd_mem.mm_nregions, 0);
	cr_assert_not(rec.state[0]);
}

Test(backend, eof_is_connreset)
{
	close_reset(&sv[1]);
	cr_assert_eq(vu_dev_dispatch(&dev), -ECONNRESET);
}
