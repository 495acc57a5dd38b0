/*
 * vuf_blk.h - virtio-blk requests through the in-tree front end: one
 * request slot (header, data buffer, status byte) in guest memory, filled
 * and submitted as a guest driver does (one indirect chain per request),
 * for the fault tests and the soak.
 */
#ifndef VHOSTD_TESTS_VUF_BLK_H
#define VHOSTD_TESTS_VUF_BLK_H

#include <stdint.h>

#include "vuf.h"

#define VUF_BLK_T_IN		0	/* read */
#define VUF_BLK_T_OUT		1	/* write */
#define VUF_BLK_T_FLUSH		4
#define VUF_BLK_S_OK		0
#define VUF_BLK_S_IOERR		1
#define VUF_BLK_S_UNSUPP	2
#define VUF_BLK_S_NONE		0xff	/* preset: the device wrote nothing */

/* struct virtio_blk_outhdr. */
struct vuf_blk_hdr {
	uint32_t	type;
	uint32_t	ioprio;
	uint64_t	sector;
};

/* One request slot; the memory is the front end's guest memory. */
struct vuf_blk {
	struct vuf		*b_f;
	unsigned int		 b_queue;
	struct vuf_blk_hdr	*b_hdr;
	uint8_t			*b_data;
	uint8_t			*b_status;
	uint64_t		 b_hdr_gpa;
	uint64_t		 b_data_gpa;
	uint64_t		 b_status_gpa;
	uint32_t		 b_max;		/* data buffer size */
};

/*
 * Allocate a slot with a data buffer of max bytes in f's guest memory,
 * for ring queue.  0 or -errno (vuf_error says why).
 */
int	vuf_blk_init(struct vuf_blk *b, struct vuf *f, unsigned int queue,
	    uint32_t max);

/*
 * Add the request (type, sector, len bytes of b_data; len 0 for a flush)
 * to the ring and kick; the status byte is preset to VUF_BLK_S_NONE.
 * Returns the head index or -errno.  Reap with vuf_vq_wait/vuf_vq_reap.
 */
int	vuf_blk_submit(struct vuf_blk *b, uint32_t type, uint64_t sector,
	    uint32_t len);

/*
 * Submit, wait (the front end's timeout) and reap one request: *status
 * gets the byte the device wrote.  0 (whatever the status) or -errno when
 * the request did not complete (-ETIMEDOUT, -ECONNRESET...).
 */
int	vuf_blk_io(struct vuf_blk *b, uint32_t type, uint64_t sector,
	    uint32_t len, uint8_t *status);

#endif /* VHOSTD_TESTS_VUF_BLK_H */
