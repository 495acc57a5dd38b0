/* backend_test: mapping lifetimes under started rings, inflight. */

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>

#include "backend_harness.h"

/*
 * Mapping lifetimes (issue 8.1): a started ring points only into live
 * front-end mappings, a stopped ring points nowhere, and a message that
 * would unmap what a started ring points into is refused (or the ring is
 * re-pointed first).
 */

/* [p, p + len) inside one region of the current table. */
static bool
in_guest_mapping(const void *p, size_t len)
{
	const struct gmem_region	*r;
	const uint8_t			*q = p;
	unsigned int			 i;

	for (i = 0; i < dev.vd_mem.mm_nregions; i++) {
		r = &dev.vd_mem.mm_regions[i];
		if (q >= r->mr_host && q < r->mr_host + r->mr_size &&
		    len <= (size_t)(r->mr_host + r->mr_size - q))
			return true;
	}
	return false;
}

static void
assert_ring_pointers(void)
{
	const struct virtq	*vq;
	const uint8_t		*in;
	unsigned int		 q;

	for (q = 0; q < NQ; q++) {
		vq = &dev.vd_vring[q].vr_vq;
		if (!dev.vd_vring[q].vr_started) {
			cr_assert(vq->vq_desc == NULL && vq->vq_avail == NULL &&
			    vq->vq_used == NULL && vq->vq_inflight == NULL,
			    "stopped ring %u still points into a mapping", q);
			continue;
		}
		if (vq->vq_desc != NULL) {
			cr_assert(in_guest_mapping(vq->vq_desc,
			    virtq_desc_size(vq->vq_num)), "ring %u desc", q);
			cr_assert(in_guest_mapping(vq->vq_avail,
			    virtq_avail_size(vq->vq_num)), "ring %u avail", q);
			cr_assert(in_guest_mapping(vq->vq_used,
			    virtq_used_size(vq->vq_num)), "ring %u used", q);
		} else
			cr_assert(vq->vq_avail == NULL && vq->vq_used == NULL);
		if (vq->vq_inflight != NULL) {
			in = (const uint8_t *)(uintptr_t)vq->vq_inflight;
			cr_assert(dev.vd_inflight != NULL &&
			    in >= dev.vd_inflight && in +
			    VIRTQ_INFLIGHT_SIZE(vq->vq_num) <= dev.vd_inflight +
			    dev.vd_inflight_size,
			    "ring %u inflight pointer outside the region", q);
		}
	}
}
/* GET_INFLIGHT_FD for NQ rings of QSZ; the fd (or -1) and mmap_size. */
static int
get_inflight(uint64_t *size)
{
	struct vhost_user_inflight	in;
	struct vhost_user_msg		m;
	int				fds[VHOST_USER_MAX_FDS];
	unsigned int			nfds;

	memset(&in, 0, sizeof(in));
	in.num_queues = NQ;
	in.queue_size = QSZ;
	cr_assert_eq(req(VHOST_USER_GET_INFLIGHT_FD, &in, sizeof(in), NULL,
	    0), 0);
	cr_assert_eq(vu_msg_recv(sv[1], &m, fds, &nfds), 0);
	cr_assert_eq(m.hdr.request, VHOST_USER_GET_INFLIGHT_FD);
	*size = m.payload.inflight.mmap_size;
	cr_assert_leq(nfds, 1);
	return nfds == 1 ? fds[0] : -1;
}

/* A front-end inflight memfd of NQ regions; sealed if asked. */
static int
inflight_memfd(bool sealable, bool sealed, uint64_t preset_counter)
{
	size_t			 size = NQ * VIRTQ_INFLIGHT_SIZE(QSZ);
	struct virtq_inflight	*r;
	unsigned int		 q, i;
	int			 fd;

	fd = memfd_create("fe-inflight", MFD_CLOEXEC |
	    (sealable ? MFD_ALLOW_SEALING : 0));
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	if (preset_counter != 0) {
		r = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		cr_assert_neq(r, MAP_FAILED);
		for (q = 0; q < NQ; q++) {
			struct virtq_inflight *qr = (void *)((uint8_t *)r +
			    q * VIRTQ_INFLIGHT_SIZE(QSZ));

			qr->version = 1;
			qr->desc_num = QSZ;
			for (i = 0; i < QSZ; i++)
				qr->desc[i].counter = preset_counter + i;
		}
		munmap(r, size);
	}
	if (sealed)
		cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW |
		    F_SEAL_SHRINK | F_SEAL_SEAL), 0);
	return fd;
}

static uint64_t
set_inflight(int fd)
{
	struct vhost_user_inflight	in;

	memset(&in, 0, sizeof(in));
	in.mmap_size = NQ * VIRTQ_INFLIGHT_SIZE(QSZ);
	in.num_queues = NQ;
	in.queue_size = QSZ;
	return req_ack(VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1);
}

/* Ring 0 started, tracking into the inflight region, one request done. */
static void
start_tracked_ring(void)
{
	uint64_t	size;

	if (dev.vd_inflight == NULL)
		close(get_inflight(&size));
	rec.pop = true;
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);
	kick(0);
	cr_assert_not_null(dev.vd_vring[0].vr_vq.vq_inflight);
	add_avail(0, 1);
	fire(0);
	cr_assert_eq(((struct virtq_used *)(guest + USED_GPA(0)))->idx, 1);
	assert_ring_pointers();
}

/* Ring 0 still works through its pointers (a dangling one would crash). */
static void
ring_still_works(uint16_t used_idx)
{
	add_avail(0, 2);
	fire(0);
	cr_assert_eq(((struct virtq_used *)(guest + USED_GPA(0)))->idx,
	    used_idx);
	assert_ring_pointers();
}

Test(backend, get_inflight_refused_while_a_started_ring_records)
{
	uint64_t	size;
	int		fd;

	reply_ack_on();
	fd = get_inflight(&size);
	cr_assert_geq(fd, 0);
	cr_assert_eq(size, NQ * VIRTQ_INFLIGHT_SIZE(QSZ));
	/* Ours is sealed: the front end cannot shrink it under us. */
	cr_assert_eq(fcntl(fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_SEAL),
	    F_SEAL_SHRINK | F_SEAL_SEAL);
	close(fd);
	start_tracked_ring();

	/* A second GET would unmap the region ring 0 writes into. */
	fd = get_inflight(&size);
	cr_assert_eq(fd, -1, "GET_INFLIGHT_FD answered a new region");
	cr_assert_eq(size, 0);
	ring_still_works(2);

	/* Stopped rings point nowhere: then it is allowed (QEMU's restart). */
	cr_assert_eq(get_vring_base(0), 2);
	assert_ring_pointers();
	fd = get_inflight(&size);
	cr_assert_geq(fd, 0);
	cr_assert_gt(size, 0);
	close(fd);
}

Test(backend, set_inflight_refused_while_a_started_ring_records)
{
	int	fd, evil;

	reply_ack_on();
	fd = inflight_memfd(true, true, 0);
	cr_assert_eq(set_inflight(fd), 0);
	close(fd);
	start_tracked_ring();

	/* The front end's own region with preset counters: refused. */
	evil = inflight_memfd(false, false, 0x4141414141414141ull);
	cr_assert_neq(set_inflight(evil), 0,
	    "SET_INFLIGHT_FD replaced the region under a started ring");
	close(evil);
	ring_still_works(2);

	cr_assert_eq(get_vring_base(0), 2);
	assert_ring_pointers();
	fd = inflight_memfd(false, false, 0);
	cr_assert_eq(set_inflight(fd), 0);
	close(fd);
}

Test(backend, sealable_but_unsealed_inflight_memfd_refused)
{
	int	fd;

	reply_ack_on();
	fd = inflight_memfd(true, false, 0);
	cr_assert_neq(set_inflight(fd), 0);
	cr_assert_null(dev.vd_inflight);
	close(fd);
	/* Sealed, or not sealable at all (a tmpfs file): accepted. */
	fd = inflight_memfd(true, true, 0);
	cr_assert_eq(set_inflight(fd), 0);
	close(fd);
	fd = inflight_memfd(false, false, 0);
	cr_assert_eq(set_inflight(fd), 0);
	close(fd);
}

Test(backend, set_vring_addr_on_a_started_ring_refused)
{
	struct vhost_user_vring_addr	a;
	struct virtq_desc		*desc;

	reply_ack_on();
	start_tracked_ring();
	desc = dev.vd_vring[0].vr_vq.vq_desc;
	memset(&a, 0, sizeof(a));
	a.index = 0;
	a.desc_user_addr = GUEST_UVA + DESC_GPA(1);
	a.avail_user_addr = GUEST_UVA + AVAIL_GPA(1);
	a.used_user_addr = GUEST_UVA + USED_GPA(1);
	cr_assert_neq(req_ack(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL,
	    0), 0, "a started ring was moved");
	cr_assert_eq(dev.vd_vring[0].vr_vq.vq_desc, desc);
	/* The same addresses again change nothing. */
	a.desc_user_addr = GUEST_UVA + DESC_GPA(0);
	a.avail_user_addr = GUEST_UVA + AVAIL_GPA(0);
	a.used_user_addr = GUEST_UVA + USED_GPA(0);
	cr_assert_eq(req_ack(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL,
	    0), 0);
	ring_still_works(2);
	/* Stopped: it may move. */
	cr_assert_eq(get_vring_base(0), 2);
	a.desc_user_addr = GUEST_UVA + DESC_GPA(1);
	a.avail_user_addr = GUEST_UVA + AVAIL_GPA(1);
	a.used_user_addr = GUEST_UVA + USED_GPA(1);
	cr_assert_eq(req_ack(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL,
	    0), 0);
}

Test(backend, stopped_ring_points_nowhere)
{
	int	fd2;

	start_tracked_ring();
	cr_assert_eq(get_vring_base(0), 1);
	assert_ring_pointers();
	/* Memory replaced while stopped; the device may still publish. */
	fd2 = guestmem_fd(GUEST_SIZE);
	cr_assert_eq(set_mem_table_at(0, GUEST_SIZE, GUEST_UVA, fd2), 0);
	vu_queue_publish(&dev, 0);
	assert_ring_pointers();
	close(fd2);
}

Test(backend, set_mem_table_under_a_started_ring)
{
	struct vhost_user_memory	mt;
	struct virtq_desc		*desc;
	int				fd2, fds[2];

	reply_ack_on();
	start_tracked_ring();
	desc = dev.vd_vring[0].vr_vq.vq_desc;

	/* A table whose second region cannot map: refused, nothing moved. */
	memset(&mt, 0, sizeof(mt));
	mt.nregions = 2;
	mt.regions[0].memory_size = GUEST_SIZE;
	mt.regions[0].userspace_addr = GUEST_UVA;
	mt.regions[1].guest_phys_addr = 4ull * GUEST_SIZE;
	mt.regions[1].memory_size = 2ull * GUEST_SIZE;	/* beyond the file */
	mt.regions[1].userspace_addr = GUEST_UVA + 4ull * GUEST_SIZE;
	fds[0] = dup(memfd);
	fds[1] = dup(memfd);
	cr_assert_lt(req(VHOST_USER_SET_MEM_TABLE, &mt, 8 + 2 * 32, fds, 2),
	    0);
	close(fds[0]);
	close(fds[1]);
	cr_assert_eq(dev.vd_vring[0].vr_vq.vq_desc, desc,
	    "a refused table still replaced the ring's memory");
	cr_assert(vu_queue_ready(&dev, 0));
	assert_ring_pointers();

	/* A good one: the ring follows into the new mapping. */
	fd2 = guestmem_fd(GUEST_SIZE);
	cr_assert_eq(set_mem_table_at(0, GUEST_SIZE, GUEST_UVA, fd2), 0);
	assert_ring_pointers();
	cr_assert(vu_queue_ready(&dev, 0));
	close(fd2);
}

Test(backend, add_and_remove_regions_under_a_started_ring)
{
	struct vhost_user_mem_reg	r;
	int				fd;

	reply_ack_on();
	start_tracked_ring();
	/* A region after the ring's, then removed again. */
	memset(&r, 0, sizeof(r));
	r.region.guest_phys_addr = 2ull * GUEST_SIZE;
	r.region.memory_size = GUEST_SIZE;
	r.region.userspace_addr = GUEST_UVA + 2ull * GUEST_SIZE;
	fd = dup(memfd);
	cr_assert_eq(req_ack(VHOST_USER_ADD_MEM_REG, &r, sizeof(r), &fd, 1),
	    0);
	close(fd);
	assert_ring_pointers();
	cr_assert_eq(req_ack(VHOST_USER_REM_MEM_REG, &r, sizeof(r), NULL, 0),
	    0);
	assert_ring_pointers();
	ring_still_works(2);
	/* The ring's own region: the ring is paused, pointing nowhere. */
	r.region.guest_phys_addr = 0;
	r.region.userspace_addr = GUEST_UVA;
	cr_assert_eq(req_ack(VHOST_USER_REM_MEM_REG, &r, sizeof(r), NULL, 0),
	    0);
	cr_assert_null(dev.vd_vring[0].vr_vq.vq_desc);
	assert_ring_pointers();
	vu_queue_publish(&dev, 0);
}

/*
 * A back end dies with every available chain in flight; the driver waits
 * and does not kick again.  The next back end must run the chains left
 * in the inflight region as soon as the ring is ready, without a kick.
 */
Test(backend, inflight_resubmissions_run_without_a_kick)
{
	int	fd;

	reply_ack_on();
	fd = inflight_memfd(false, false, 0);
	cr_assert_eq(set_inflight(fd), 0);
	rec.pop = true;
	rec.hold = true;
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);
	kick(0);
	add_avail(0, 1);
	add_avail(0, 3);
	fire(0);
	cr_assert_eq(dev.vd_vring[0].vr_vq.vq_last_avail, 2);

	/* The child is gone; a new one gets the same region. */
	vu_dev_fini(&dev);
	memset(&watches, 0, sizeof(watches));
	cr_assert_eq(vu_dev_init(&dev, sv[0], NQ, &test_ops, &rec,
	    &fake_watch_ops, NULL), 0);
	rec.hold = false;
	rec.handler[0] = 0;
	reply_ack_on();
	cr_assert_eq(set_inflight(fd), 0);
	close(fd);
	negotiate(BIT(VIRTIO_F_VERSION_1), 0);
	set_mem_table();
	setup_ring(0, 0);		/* QEMU: base = used idx */
	kick(0);
	cr_assert_eq(rec.handler[0], 1, "resubmissions waited for a kick");
	cr_assert_eq(((struct virtq_used *)(guest + USED_GPA(0)))->idx, 2);
}

/* What the child's SIGBUS handler asks: is this front-end memory? */
Test(backend, dev_maps_front_end_memory_only)
{
	const struct gmem_region	*r;
	uint64_t			 size;
	int				 local = 0;

	cr_assert_not(vu_dev_maps(&dev, guest));
	set_mem_table();
	r = &dev.vd_mem.mm_regions[0];
	cr_assert(vu_dev_maps(&dev, r->mr_host));
	cr_assert(vu_dev_maps(&dev, r->mr_host + GUEST_SIZE - 1));
	cr_assert_not(vu_dev_maps(&dev, r->mr_host + GUEST_SIZE));
	cr_assert_not(vu_dev_maps(&dev, guest), "our own mapping of it");
	cr_assert_not(vu_dev_maps(&dev, &local));
	cr_assert_not(vu_dev_maps(&dev, &dev));
	close(get_inflight(&size));
	cr_assert(vu_dev_maps(&dev, dev.vd_inflight));
	cr_assert(vu_dev_maps(&dev, dev.vd_inflight + size - 1));
	cr_assert_not(vu_dev_maps(&dev, dev.vd_inflight + size));
}
