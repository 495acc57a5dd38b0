/*
 * inflight.c - vhost-user INFLIGHT_SHMFD: memory, shared with the front
 * end, where each ring records the requests the back end has taken and
 * not yet completed (virtq_inflight_attach and friends keep it).  The
 * front end keeps it across back-end restarts and hands it to the next
 * back end (SET_INFLIGHT_FD), which runs those requests again.  QEMU
 * asks for it once (GET_INFLIGHT_FD) and sends it back at every start.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../util/log.h"
#include "../util/util.h"
#include "vhost_int.h"

/* Check num_queues and queue_size; the regions' total size. */
static int
inflight_size(struct vu_dev *dev, const struct vhost_user_inflight *in,
    const char *name, size_t *size)
{
	if (in->num_queues == 0 || in->num_queues > VU_MAX_QUEUES ||
	    in->queue_size == 0 || in->queue_size > VIRTQ_MAX_SIZE ||
	    (in->queue_size & (in->queue_size - 1)) != 0) {
		vu_warn(dev, "%s: %u queues of %u entries: not a ring layout",
		    name, in->num_queues, in->queue_size);
		return -EINVAL;
	}
	*size = (size_t)in->num_queues * VIRTQ_INFLIGHT_SIZE(in->queue_size);
	return 0;
}

void
vu_inflight_clear(struct vu_dev *dev)
{
	if (dev->vd_inflight != NULL)
		munmap(dev->vd_inflight, dev->vd_inflight_size);
	dev->vd_inflight = NULL;
	dev->vd_inflight_size = 0;
	dev->vd_inflight_nq = dev->vd_inflight_qsize = 0;
}

static int
inflight_map(struct vu_dev *dev, int fd, off_t off, size_t size,
    const struct vhost_user_inflight *in)
{
	void	*p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	if (p == MAP_FAILED)
		return -errno;
	vu_inflight_clear(dev);
	dev->vd_inflight = p;
	dev->vd_inflight_size = size;
	dev->vd_inflight_nq = in->num_queues;
	dev->vd_inflight_qsize = in->queue_size;
	return 0;
}

/*
 * The regions are replaced only while no started ring records into them
 * (rings hold pointers into the mapping: pop, push and flush write there).
 * QEMU sends both requests before it starts the rings, and again after
 * GET_VRING_BASE has stopped them.
 */
static bool
inflight_busy(struct vu_dev *dev, const char *name)
{
	if (!vu_vring_uses_inflight(dev))
		return false;
	vu_warn(dev, "%s: a started ring records into the inflight region; "
	    "stop the rings (GET_VRING_BASE) first; refused", name);
	return true;
}

int
vu_req_get_inflight_fd(struct vu_dev *dev, struct vhost_user_msg *msg, int *fds,
    unsigned int nfds)
{
	struct vhost_user_inflight	*in = &msg->payload.inflight;
	size_t				 size;
	int				 fd, rc;

	if ((rc = inflight_size(dev, in, "GET_INFLIGHT_FD", &size)) != 0)
		return rc;
	if (inflight_busy(dev, "GET_INFLIGHT_FD")) {
		in->mmap_size = 0;
		return VU_HANDLED_REPLY;	/* size 0: no buffer */
	}
	/*
	 * Sized by writing its last byte, not ftruncate: the device
	 * policies forbid ftruncate, which could shrink a disk image.
	 * Sealed as QEMU seals guest memory: the front end keeps the fd and
	 * could otherwise shrink the file under our mapping (SIGBUS).
	 */
	fd = memfd_create("vhostd-inflight", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1 || lseek(fd, (off_t)size - 1, SEEK_SET) == -1 ||
	    write(fd, "", 1) != 1 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK |
	    F_SEAL_SEAL) == -1 ||
	    inflight_map(dev, fd, 0, size, in) != 0) {
		log_warn("GET_INFLIGHT_FD: %zu bytes of shared memory", size);
		close_reset(&fd);
		in->mmap_size = 0;
		return VU_HANDLED_REPLY;	/* size 0: no buffer */
	}
	/* A fresh memfd reads as zeroes: every region is version 0. */
	in->mmap_size = size;
	in->mmap_offset = 0;
	close_reset(&dev->vd_reply_fd);
	dev->vd_reply_fd = fd;
	return VU_HANDLED_REPLY;
}

int
vu_req_set_inflight_fd(struct vu_dev *dev, struct vhost_user_msg *msg, int *fds,
    unsigned int nfds)
{
	const struct vhost_user_inflight	*in = &msg->payload.inflight;
	struct stat				 st;
	size_t					 size;
	int					 rc, seals;

	if ((rc = inflight_size(dev, in, "SET_INFLIGHT_FD", &size)) != 0)
		return rc;
	if (inflight_busy(dev, "SET_INFLIGHT_FD"))
		return VU_HANDLED_FAIL;
	/* As for guest memory (gmem_add): sealable means sealed. */
	if ((seals = fcntl(fds[0], F_GET_SEALS)) != -1 &&
	    (seals & (F_SEAL_SHRINK | F_SEAL_SEAL)) == 0) {
		vu_warn(dev, "SET_INFLIGHT_FD: the memfd is not sealed against "
		    "shrinking (F_SEAL_SHRINK); refused");
		return VU_HANDLED_FAIL;
	}
	if (in->mmap_size < size || in->mmap_offset > INT64_MAX - size ||
	    fstat(fds[0], &st) == -1 ||
	    (S_ISREG(st.st_mode) && (uint64_t)st.st_size <
	    in->mmap_offset + size)) {
		vu_warn(dev, "SET_INFLIGHT_FD: %llu bytes at offset %llu do not "
		    "hold %u queues of %u entries", (unsigned long long)
		    in->mmap_size, (unsigned long long)in->mmap_offset,
		    in->num_queues, in->queue_size);
		return VU_HANDLED_FAIL;
	}
	if ((rc = inflight_map(dev, fds[0], (off_t)in->mmap_offset, size,
	    in)) != 0) {
		vu_warn(dev, "SET_INFLIGHT_FD: mmap: %s", strerror(-rc));
		return VU_HANDLED_FAIL;
	}
	return 0;
}

struct virtq_inflight *
vu_inflight_region(struct vu_dev *dev, unsigned int idx)
{
	if (dev->vd_inflight == NULL || idx >= dev->vd_inflight_nq)
		return NULL;
	return (struct virtq_inflight *)(void *)(dev->vd_inflight +
	    idx * VIRTQ_INFLIGHT_SIZE(dev->vd_inflight_qsize));
}
