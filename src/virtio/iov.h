/*
 * iov.h - copy helpers over iovec arrays (the segments of a virtqueue
 * element).
 */
#ifndef VHOSTD_VIRTIO_IOV_H
#define VHOSTD_VIRTIO_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/*
 * Copy len bytes from buf into the n segments of iov, starting off bytes
 * into them (iov_from_buf), or from the segments into buf (iov_to_buf).
 * Return the bytes copied: less than len when the segments end first.
 */
size_t	iov_from_buf(const struct iovec *iov, unsigned int n, size_t off,
	    const void *buf, size_t len);
size_t	iov_to_buf(const struct iovec *iov, unsigned int n, size_t off,
	    void *buf, size_t len);

#endif /* VHOSTD_VIRTIO_IOV_H */
