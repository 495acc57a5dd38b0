/*
 * proto.h - vhost-user wire format (QEMU docs/interop/vhost-user.rst).
 *
 * Shared by the back-end engine (src/vhost) and the in-tree front end
 * (tests/frontend).  Plain little-endian x86_64 layout, packed as the spec
 * shows.
 */
#ifndef VHOSTD_VHOST_PROTO_H
#define VHOSTD_VHOST_PROTO_H

#include <stdint.h>

#include "../virtio/virtio.h"

/* Front-end requests. */
enum vhost_user_request {
	VHOST_USER_NONE = 0,
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SEND_RARP = 19,
	VHOST_USER_NET_SET_MTU = 20,
	VHOST_USER_SET_BACKEND_REQ_FD = 21,
	VHOST_USER_IOTLB_MSG = 22,
	VHOST_USER_SET_VRING_ENDIAN = 23,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_CREATE_CRYPTO_SESSION = 26,
	VHOST_USER_CLOSE_CRYPTO_SESSION = 27,
	VHOST_USER_POSTCOPY_ADVISE = 28,
	VHOST_USER_POSTCOPY_LISTEN = 29,
	VHOST_USER_POSTCOPY_END = 30,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_GPU_SET_SOCKET = 33,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_VRING_KICK = 35,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
	VHOST_USER_GET_SHARED_OBJECT = 41,
	VHOST_USER_SET_DEVICE_STATE_FD = 42,
	VHOST_USER_CHECK_DEVICE_STATE = 43,
	VHOST_USER_MAX
};

/* Header flags. */
#define VHOST_USER_VERSION_MASK		0x3u
#define VHOST_USER_VERSION		0x1u
#define VHOST_USER_REPLY_MASK		(1u << 2)
#define VHOST_USER_NEED_REPLY_MASK	(1u << 3)

/* Protocol feature bits. */
#define VHOST_USER_PROTOCOL_F_MQ			0
#define VHOST_USER_PROTOCOL_F_LOG_SHMFD			1
#define VHOST_USER_PROTOCOL_F_RARP			2
#define VHOST_USER_PROTOCOL_F_REPLY_ACK			3
#define VHOST_USER_PROTOCOL_F_MTU			4
#define VHOST_USER_PROTOCOL_F_BACKEND_REQ		5
#define VHOST_USER_PROTOCOL_F_CROSS_ENDIAN		6
#define VHOST_USER_PROTOCOL_F_CRYPTO_SESSION		7
#define VHOST_USER_PROTOCOL_F_PAGEFAULT			8
#define VHOST_USER_PROTOCOL_F_CONFIG			9
#define VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD		10
#define VHOST_USER_PROTOCOL_F_HOST_NOTIFIER		11
#define VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD		12
#define VHOST_USER_PROTOCOL_F_RESET_DEVICE		13
#define VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS	14
#define VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS	15
#define VHOST_USER_PROTOCOL_F_STATUS			16
#define VHOST_USER_PROTOCOL_F_XEN_MMAP			17
#define VHOST_USER_PROTOCOL_F_SHARED_OBJECT		18
#define VHOST_USER_PROTOCOL_F_DEVICE_STATE		19

/*
 * The vhost-user transport's own virtio feature bit; the ring and
 * transport bits are in virtio/virtio.h.
 */
#define VHOST_USER_F_PROTOCOL_FEATURES		30

/* Limits. */
#define VHOST_USER_MAX_FDS		8
#define VHOST_USER_MEMORY_MAX_NREGIONS	8	/* SET_MEM_TABLE */
#define VHOST_USER_MAX_MEM_SLOTS	509	/* GET_MAX_MEM_SLOTS */
#define VHOST_USER_MAX_CONFIG_SIZE	256
#define VHOST_USER_VRING_IDX_MASK	0xffu
#define VHOST_USER_VRING_NOFD_MASK	(1u << 8)

struct vhost_user_header {
	uint32_t	request;
	uint32_t	flags;
	uint32_t	size;	/* payload bytes following the header */
} __attribute__((packed));

struct vhost_user_vring_state {
	uint32_t	index;
	uint32_t	num;
} __attribute__((packed));

#define VHOST_VRING_F_LOG	0
struct vhost_user_vring_addr {
	uint32_t	index;
	uint32_t	flags;
	uint64_t	desc_user_addr;
	uint64_t	used_user_addr;
	uint64_t	avail_user_addr;
	uint64_t	log_guest_addr;
} __attribute__((packed));

struct vhost_user_mem_region {
	uint64_t	guest_phys_addr;
	uint64_t	memory_size;
	uint64_t	userspace_addr;
	uint64_t	mmap_offset;
} __attribute__((packed));

struct vhost_user_memory {
	uint32_t	nregions;
	uint32_t	padding;
	struct vhost_user_mem_region regions[VHOST_USER_MEMORY_MAX_NREGIONS];
} __attribute__((packed));

/* ADD_MEM_REG / REM_MEM_REG payload. */
struct vhost_user_mem_reg {
	uint64_t	padding;
	struct vhost_user_mem_region region;
} __attribute__((packed));

struct vhost_user_config {
	uint32_t	offset;
	uint32_t	size;
	uint32_t	flags;
	uint8_t		region[VHOST_USER_MAX_CONFIG_SIZE];
} __attribute__((packed));
#define VHOST_USER_CONFIG_HDR_SIZE	12u

struct vhost_user_inflight {
	uint64_t	mmap_size;
	uint64_t	mmap_offset;
	uint16_t	num_queues;
	uint16_t	queue_size;
} __attribute__((packed));

struct vhost_user_log {
	uint64_t	mmap_size;
	uint64_t	mmap_offset;
} __attribute__((packed));

union vhost_user_payload {
	uint64_t			u64;
	struct vhost_user_vring_state	state;
	struct vhost_user_vring_addr	addr;
	struct vhost_user_memory	memory;
	struct vhost_user_mem_reg	mem_reg;
	struct vhost_user_config	config;
	struct vhost_user_inflight	inflight;
	struct vhost_user_log		log;
	uint8_t				raw[4096];
};

/* Largest payload the engine accepts. */
#define VHOST_USER_PAYLOAD_MAX	sizeof(union vhost_user_payload)

struct vhost_user_msg {
	struct vhost_user_header	hdr;
	union vhost_user_payload	payload;
} __attribute__((packed));

/* Name of a request for logs ("SET_MEM_TABLE"), "UNKNOWN" if out of range. */
const char	*vu_request_name(uint32_t request);

#endif /* VHOSTD_VHOST_PROTO_H */
