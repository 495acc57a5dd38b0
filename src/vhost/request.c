/*
 * request.c - the vhost-user request table: one row per front-end
 * request (name, payload size rule, descriptor count rule, where its ring
 * index is, the protocol feature it needs, handler), and the checks every
 * row gets before its handler runs.
 *
 * A new request is one row here and its handler.  Every message is
 * checked against its row: payload size exactly as the rule computes it,
 * descriptor count as the rule says, reserved bits clear, ring index
 * below the number of queues, needed protocol feature negotiated.  A
 * violation is logged (a few times per connection) and -EINVAL tells the
 * dispatcher to drop the connection.  A request without a handler is
 * not supported (-EOPNOTSUPP: refused with a failure status when the
 * front end asked for a reply, otherwise the connection ends).
 */
#include <errno.h>
#include <stddef.h>

#include "../util/util.h"
#include "vhost_int.h"

#define U64	sizeof(uint64_t)
#define STATE	sizeof(struct vhost_user_vring_state)
#define ADDR	sizeof(struct vhost_user_vring_addr)
#define MEMREG	sizeof(struct vhost_user_mem_reg)

/* Shorthands for the rows. */
#define EXACT(n)	.rq_size_rule = VU_SIZE_EXACT, .rq_size = (n)
#define RULE(r)		.rq_size_rule = (r)
#define FDS(r)		.rq_fds = (r)
#define RING(r)		.rq_ring = (r)
#define NEEDS(bit)	.rq_needs = 1ull << (bit)
#define H(fn)		.rq_handler = (fn)
#define NAMED(r)	[VHOST_USER_##r] = { .rq_name = #r }

static const struct vu_request vu_requests[VHOST_USER_MAX] = {
	NAMED(NONE),
	[VHOST_USER_GET_FEATURES] = { "GET_FEATURES", EXACT(0),
	    H(vu_req_get_features) },
	[VHOST_USER_SET_FEATURES] = { "SET_FEATURES", EXACT(U64),
	    H(vu_req_set_features) },
	[VHOST_USER_SET_OWNER] = { "SET_OWNER", EXACT(0),
	    H(vu_req_set_owner) },
	[VHOST_USER_RESET_OWNER] = { "RESET_OWNER", EXACT(0),
	    H(vu_req_reset) },
	[VHOST_USER_SET_MEM_TABLE] = { "SET_MEM_TABLE",
	    RULE(VU_SIZE_MEM_TABLE), FDS(VU_FDS_REGIONS),
	    H(vu_req_set_mem_table) },
	NAMED(SET_LOG_BASE),
	NAMED(SET_LOG_FD),
	[VHOST_USER_SET_VRING_NUM] = { "SET_VRING_NUM", EXACT(STATE),
	    RING(VU_RING_STATE), H(vu_req_set_vring_num) },
	[VHOST_USER_SET_VRING_ADDR] = { "SET_VRING_ADDR", EXACT(ADDR),
	    RING(VU_RING_ADDR), H(vu_req_set_vring_addr) },
	[VHOST_USER_SET_VRING_BASE] = { "SET_VRING_BASE", EXACT(STATE),
	    RING(VU_RING_STATE), H(vu_req_set_vring_base) },
	[VHOST_USER_GET_VRING_BASE] = { "GET_VRING_BASE", EXACT(STATE),
	    RING(VU_RING_STATE), H(vu_req_get_vring_base) },
	[VHOST_USER_SET_VRING_KICK] = { "SET_VRING_KICK", EXACT(U64),
	    FDS(VU_FDS_VRING), RING(VU_RING_U64), H(vu_req_set_vring_kick) },
	[VHOST_USER_SET_VRING_CALL] = { "SET_VRING_CALL", EXACT(U64),
	    FDS(VU_FDS_VRING), RING(VU_RING_U64), H(vu_req_set_vring_call) },
	[VHOST_USER_SET_VRING_ERR] = { "SET_VRING_ERR", EXACT(U64),
	    FDS(VU_FDS_VRING), RING(VU_RING_U64), H(vu_req_set_vring_err) },
	[VHOST_USER_GET_PROTOCOL_FEATURES] = { "GET_PROTOCOL_FEATURES",
	    EXACT(0), H(vu_req_get_protocol_features) },
	[VHOST_USER_SET_PROTOCOL_FEATURES] = { "SET_PROTOCOL_FEATURES",
	    EXACT(U64), H(vu_req_set_protocol_features) },
	[VHOST_USER_GET_QUEUE_NUM] = { "GET_QUEUE_NUM", EXACT(0),
	    H(vu_req_get_queue_num) },
	[VHOST_USER_SET_VRING_ENABLE] = { "SET_VRING_ENABLE", EXACT(STATE),
	    RING(VU_RING_STATE), H(vu_req_set_vring_enable) },
	/* Net: routed to the device when it declared them (ops->requests). */
	[VHOST_USER_SEND_RARP] = { "SEND_RARP", EXACT(U64),
	    NEEDS(VHOST_USER_PROTOCOL_F_RARP), .rq_device = true,
	    H(vu_req_device) },
	[VHOST_USER_NET_SET_MTU] = { "NET_SET_MTU", EXACT(U64),
	    NEEDS(VHOST_USER_PROTOCOL_F_MTU), .rq_device = true,
	    H(vu_req_device) },
	NAMED(SET_BACKEND_REQ_FD),
	NAMED(IOTLB_MSG),
	NAMED(SET_VRING_ENDIAN),
	[VHOST_USER_GET_CONFIG] = { "GET_CONFIG", RULE(VU_SIZE_CONFIG),
	    H(vu_req_get_config) },
	[VHOST_USER_SET_CONFIG] = { "SET_CONFIG", RULE(VU_SIZE_CONFIG),
	    H(vu_req_set_config) },
	NAMED(CREATE_CRYPTO_SESSION),
	NAMED(CLOSE_CRYPTO_SESSION),
	NAMED(POSTCOPY_ADVISE),
	NAMED(POSTCOPY_LISTEN),
	NAMED(POSTCOPY_END),
	[VHOST_USER_GET_INFLIGHT_FD] = { "GET_INFLIGHT_FD",
	    RULE(VU_SIZE_INFLIGHT), H(vu_req_get_inflight_fd) },
	[VHOST_USER_SET_INFLIGHT_FD] = { "SET_INFLIGHT_FD",
	    RULE(VU_SIZE_INFLIGHT), FDS(VU_FDS_ONE),
	    H(vu_req_set_inflight_fd) },
	NAMED(GPU_SET_SOCKET),
	[VHOST_USER_RESET_DEVICE] = { "RESET_DEVICE", EXACT(0),
	    H(vu_req_reset) },
	NAMED(VRING_KICK),
	[VHOST_USER_GET_MAX_MEM_SLOTS] = { "GET_MAX_MEM_SLOTS", EXACT(0),
	    H(vu_req_get_max_mem_slots) },
	[VHOST_USER_ADD_MEM_REG] = { "ADD_MEM_REG", EXACT(MEMREG),
	    FDS(VU_FDS_ONE), H(vu_req_add_mem_reg) },
	/* QEMU sends the region's fd along; it is not needed. */
	[VHOST_USER_REM_MEM_REG] = { "REM_MEM_REG", EXACT(MEMREG),
	    FDS(VU_FDS_OPTIONAL), H(vu_req_rem_mem_reg) },
	[VHOST_USER_SET_STATUS] = { "SET_STATUS", EXACT(U64),
	    H(vu_req_set_status) },
	[VHOST_USER_GET_STATUS] = { "GET_STATUS", EXACT(0),
	    H(vu_req_get_status) },
	NAMED(GET_SHARED_OBJECT),
	NAMED(SET_DEVICE_STATE_FD),
	NAMED(CHECK_DEVICE_STATE),
};

const struct vu_request *
vu_request_lookup(uint32_t request)
{
	if (request >= ARRAY_SIZE(vu_requests) ||
	    vu_requests[request].rq_name == NULL)
		return NULL;
	return &vu_requests[request];
}

const char *
vu_request_name(uint32_t request)
{
	const struct vu_request	*rq = vu_request_lookup(request);

	return rq != NULL ? rq->rq_name : "UNKNOWN";
}

/*
 * The payload size the row's rule asks for (in *want), computed from the
 * bytes received.  0, or -EINVAL after a warning when the payload's own
 * counts are out of range (region count, config window).
 */
static int
request_size(struct vu_dev *dev, const struct vu_request *rq,
    const struct vhost_user_msg *msg, uint32_t *want, unsigned int *nregions)
{
	const struct vhost_user_memory	*mt = &msg->payload.memory;
	const struct vhost_user_config	*cf = &msg->payload.config;
	uint32_t			 size = msg->hdr.size;

	*nregions = 0;
	switch (rq->rq_size_rule) {
	case VU_SIZE_EXACT:
		*want = rq->rq_size;
		return 0;
	case VU_SIZE_MEM_TABLE:
		*want = offsetof(struct vhost_user_memory, regions);
		if (size < *want)
			return 0;
		if (mt->nregions < 1 ||
		    mt->nregions > VHOST_USER_MEMORY_MAX_NREGIONS) {
			vu_warn(dev, "%s: invalid region count %u", rq->rq_name,
			    mt->nregions);
			return -EINVAL;
		}
		*want += mt->nregions * sizeof(mt->regions[0]);
		*nregions = mt->nregions;
		return 0;
	case VU_SIZE_CONFIG:
		*want = VHOST_USER_CONFIG_HDR_SIZE;
		if (size < *want)
			return 0;
		if ((uint64_t)cf->offset + cf->size >
		    VHOST_USER_MAX_CONFIG_SIZE) {
			vu_warn(dev, "%s: offset %u size %u outside the "
			    "config space", rq->rq_name, cf->offset, cf->size);
			return -EINVAL;
		}
		*want += cf->size;
		return 0;
	case VU_SIZE_INFLIGHT:
		/* 20 bytes packed; QEMU and libvhost-user send 24 (padded). */
		*want = size == 24 ? 24 : sizeof(msg->payload.inflight);
		return 0;
	default:
		return -EINVAL;
	}
}

int
vu_request_check(struct vu_dev *dev, const struct vu_request *rq,
    const struct vhost_user_msg *msg, unsigned int nfds)
{
	const char	*name = rq->rq_name;
	uint32_t	 want;
	uint64_t	 idx = 0, v = msg->payload.u64;
	unsigned int	 minfds = 0, maxfds = 0, nregions;
	int		 rc;

	if ((rc = request_size(dev, rq, msg, &want, &nregions)) != 0)
		return rc;
	if (msg->hdr.size != want) {
		vu_warn(dev, "%s: payload of %u bytes, expected %u", name,
		    msg->hdr.size, want);
		return -EINVAL;
	}
	if (rq->rq_ring == VU_RING_U64 &&
	    (v & ~(uint64_t)(VHOST_USER_VRING_IDX_MASK |
	    VHOST_USER_VRING_NOFD_MASK)) != 0) {
		vu_warn(dev, "%s: reserved bits set in 0x%llx", name,
		    (unsigned long long)v);
		return -EINVAL;
	}
	switch (rq->rq_fds) {
	case VU_FDS_NONE:
		break;
	case VU_FDS_ONE:
		minfds = maxfds = 1;
		break;
	case VU_FDS_OPTIONAL:
		maxfds = 1;
		break;
	case VU_FDS_VRING:
		minfds = maxfds = (v & VHOST_USER_VRING_NOFD_MASK) ? 0 : 1;
		break;
	case VU_FDS_REGIONS:
		minfds = maxfds = nregions;
		break;
	}
	if (nfds < minfds || nfds > maxfds) {
		vu_warn(dev, "%s: %u descriptors, expected %u", name, nfds,
		    minfds);
		return -EINVAL;
	}
	switch (rq->rq_ring) {
	case VU_RING_NONE:
		break;
	case VU_RING_STATE:
		idx = msg->payload.state.index;
		break;
	case VU_RING_ADDR:
		idx = msg->payload.addr.index;
		break;
	case VU_RING_U64:
		idx = v & VHOST_USER_VRING_IDX_MASK;
		break;
	}
	if (rq->rq_ring != VU_RING_NONE && idx >= dev->vd_nqueues) {
		vu_warn(dev, "%s: ring index %llu out of range (%u queues)",
		    name, (unsigned long long)idx, dev->vd_nqueues);
		return -EINVAL;
	}
	if ((dev->vd_protocol_features & rq->rq_needs) != rq->rq_needs) {
		vu_warn(dev, "%s: protocol feature 0x%llx was not negotiated",
		    name, (unsigned long long)rq->rq_needs);
		return -EINVAL;
	}
	return 0;
}

unsigned int
vu_request_ring(const struct vhost_user_msg *msg)
{
	const struct vu_request	*rq = vu_request_lookup(msg->hdr.request);

	if (rq == NULL)
		return 0;
	switch (rq->rq_ring) {
	case VU_RING_STATE:
		return msg->payload.state.index;
	case VU_RING_ADDR:
		return msg->payload.addr.index;
	case VU_RING_U64:
		return (unsigned int)(msg->payload.u64 &
		    VHOST_USER_VRING_IDX_MASK);
	default:
		return 0;
	}
}
