/*
 * virtio.h - virtio numbers every layer above the ring shares: the
 * feature bits of the transport and the ring, device status bits, and the
 * queue size limit (virtio 1.x, sections 2.1, 2.7 and 6).
 *
 * Defined here once; the vhost-user engine, the devices and the in-tree
 * front end take them from this header.
 */
#ifndef VHOSTD_VIRTIO_VIRTIO_H
#define VHOSTD_VIRTIO_VIRTIO_H

/* Feature bits of the ring and the transport (virtio 1.x 6). */
#define VIRTIO_F_NOTIFY_ON_EMPTY	24
#define VIRTIO_RING_F_INDIRECT_DESC	28
#define VIRTIO_RING_F_EVENT_IDX		29
#define VIRTIO_F_VERSION_1		32
#define VIRTIO_F_ACCESS_PLATFORM	33
#define VIRTIO_F_RING_PACKED		34

/* Device status bits (virtio 1.x 2.1). */
#define VIRTIO_CONFIG_S_ACKNOWLEDGE	1
#define VIRTIO_CONFIG_S_DRIVER		2
#define VIRTIO_CONFIG_S_DRIVER_OK	4
#define VIRTIO_CONFIG_S_FEATURES_OK	8
#define VIRTIO_CONFIG_S_NEEDS_RESET	0x40
#define VIRTIO_CONFIG_S_FAILED		0x80

/*
 * Largest queue (virtio 1.x 2.7: Queue Size <= 32768).  It also bounds an
 * indirect table: the spec bounds a chain by the queue size, but Linux
 * drivers build indirect tables longer than the ring, so the bound is the
 * largest possible ring.
 */
#define VIRTQ_MAX_SIZE			32768u

#endif /* VHOSTD_VIRTIO_VIRTIO_H */
