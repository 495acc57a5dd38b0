/* backend_test: the device contract hooks (suite hooks). */

#include <errno.h>
#include <signal.h>
#include <sys/eventfd.h>

#include "backend_harness.h"

/*
 * Device contract hooks a net or vsock device needs: protocol features
 * it adds, device-specific requests routed to it, the largest ring size.
 */
#define MTU_MAX	9000

static struct {
	unsigned int	calls;
	uint32_t	request;
	uint64_t	value;
	uint32_t	size;
} hk;

static uint64_t
h_get_protocol_features(struct vu_dev *d)
{
	/* LOG_SHMFD is not the device's to offer: the engine drops it. */
	return BIT(VHOST_USER_PROTOCOL_F_MTU) |
	    BIT(VHOST_USER_PROTOCOL_F_RARP) |
	    BIT(VHOST_USER_PROTOCOL_F_LOG_SHMFD);
}

static int
h_request(struct vu_dev *d, uint32_t request, const void *payload,
    uint32_t size)
{
	hk.calls++;
	hk.request = request;
	hk.size = size;
	memcpy(&hk.value, payload, sizeof(hk.value));
	if (request == VHOST_USER_NET_SET_MTU && hk.value > MTU_MAX)
		return -EINVAL;
	return 0;
}

static uint16_t
h_max_queue_size(struct vu_dev *d, unsigned int q)
{
	return q == 0 ? 256 : 0;
}

static const struct vu_dev_ops hook_ops = {
	.queue_handler = t_queue_handler,
	.get_protocol_features = h_get_protocol_features,
	.requests = VU_REQUEST_BIT(VHOST_USER_NET_SET_MTU) |
	    VU_REQUEST_BIT(VHOST_USER_SEND_RARP),
	.request = h_request,
	.max_queue_size = h_max_queue_size,
};

static void
setup_hooks(void)
{
	memset(&hk, 0, sizeof(hk));
	setup_ops(&hook_ops);
}

TestSuite(hooks, .init = setup_hooks, .fini = teardown);

Test(hooks, device_adds_protocol_features)
{
	uint64_t	f = get_u64(VHOST_USER_GET_PROTOCOL_FEATURES);

	cr_assert(f & BIT(VHOST_USER_PROTOCOL_F_MTU));
	cr_assert(f & BIT(VHOST_USER_PROTOCOL_F_RARP));
	cr_assert(f & BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK), "engine's kept");
	cr_assert_not(f & BIT(VHOST_USER_PROTOCOL_F_LOG_SHMFD),
	    "only MTU and RARP are a device's to add");
	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES, f), 0);
}

/* Without the hook nothing is added. */
Test(backend, no_device_protocol_features)
{
	uint64_t	f = get_u64(VHOST_USER_GET_PROTOCOL_FEATURES);

	cr_assert_not(f & BIT(VHOST_USER_PROTOCOL_F_MTU));
	cr_assert_not(f & BIT(VHOST_USER_PROTOCOL_F_RARP));
	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_MTU)), -EINVAL);
}

Test(hooks, device_requests_routed_after_checks)
{
	uint64_t	mtu = 1500, mac = 0x665544332211ull, big = MTU_MAX + 1;
	uint32_t	small = 1500;
	int		efd;

	/* MTU not negotiated: the engine refuses before the device. */
	cr_assert_eq(set_u64(VHOST_USER_NET_SET_MTU, mtu), -EINVAL);
	cr_assert_eq(hk.calls, 0);

	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_MTU) | BIT(VHOST_USER_PROTOCOL_F_RARP) |
	    BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK)), 0);
	cr_assert_eq(req_ack(VHOST_USER_NET_SET_MTU, &mtu, sizeof(mtu), NULL,
	    0), 0);
	cr_assert_eq(hk.calls, 1);
	cr_assert_eq(hk.request, VHOST_USER_NET_SET_MTU);
	cr_assert_eq(hk.size, 8);
	cr_assert_eq(hk.value, 1500);

	/* The device refuses: failure status, the connection stays. */
	cr_assert_eq(req_ack(VHOST_USER_NET_SET_MTU, &big, sizeof(big), NULL,
	    0), 1);
	cr_assert_eq(hk.calls, 2);

	cr_assert_eq(req_ack(VHOST_USER_SEND_RARP, &mac, sizeof(mac), NULL,
	    0), 0);
	cr_assert_eq(hk.request, VHOST_USER_SEND_RARP);
	cr_assert_eq(hk.value, mac);

	/* Generic checks: size and descriptors, before the device. */
	cr_assert_eq(req(VHOST_USER_NET_SET_MTU, &small, sizeof(small), NULL,
	    0), -EINVAL);
	efd = eventfd(0, EFD_CLOEXEC);
	cr_assert_eq(req(VHOST_USER_SEND_RARP, &mac, sizeof(mac), &efd, 1),
	    -EINVAL);
	close(efd);
	cr_assert_eq(hk.calls, 3, "malformed requests reached the device");
}

/* A device that did not declare them: not supported, as before. */
Test(backend, undeclared_device_requests_not_supported)
{
	uint64_t	mtu = 1500;

	cr_assert_eq(set_u64(VHOST_USER_NET_SET_MTU, mtu), -EOPNOTSUPP);
	reply_ack_on();
	cr_assert_eq(req_ack(VHOST_USER_SEND_RARP, &mtu, sizeof(mtu), NULL,
	    0), 1);
}

Test(hooks, max_queue_size)
{
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 0, 512), -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 0, 256), 0);
	cr_assert_eq(dev.vd_vring[0].vr_num, 256);
	/* 0: no limit of the device's, only the virtio one. */
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 1, 32768), 0);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 1, 65536),
	    -EINVAL);
}

/*
 * The request table: every request the engine serves has its size rule
 * checked before its handler (one byte more or less is refused), and the
 * names come from the same rows.
 */
Test(backend, table_checks_every_request)
{
	const struct vu_request	*rq;
	uint8_t			 payload[64];
	uint32_t		 r, want;
	unsigned int		 served = 0;

	memset(payload, 0, sizeof(payload));
	for (r = 0; r < VHOST_USER_MAX; r++) {
		rq = vu_request_lookup(r);
		cr_assert_not_null(rq, "request %u has no row", r);
		cr_assert_str_eq(vhost_user_request_name(r), rq->rq_name);
		if (rq->rq_handler == NULL || rq->rq_device ||
		    rq->rq_size_rule != VU_SIZE_EXACT)
			continue;
		served++;
		want = rq->rq_size;
		cr_assert_eq(req(r, payload, want + 1, NULL, 0), -EINVAL,
		    "%s with %u bytes", rq->rq_name, want + 1);
		if (want > 0)
			cr_assert_eq(req(r, payload, want - 1, NULL, 0),
			    -EINVAL, "%s with %u bytes", rq->rq_name,
			    want - 1);
	}
	cr_assert_geq(served, 20);
	cr_assert_null(vu_request_lookup(VHOST_USER_MAX));
	cr_assert_eq(rec.set_features_calls, 0);
	cr_assert_eq(rec.resets, 0);
}
