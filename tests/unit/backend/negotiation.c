/*
 * backend_test: negotiation, acks, unknown requests, sizes and fd counts,
 * config space.
 */

#include <errno.h>
#include <signal.h>
#include <sys/eventfd.h>

#include "backend_harness.h"

Test(backend, init_rejects_bad_arguments)
{
	struct vu_dev	d, *pd;

	cr_assert_eq(vu_dev_init(&d, sv[0], 0, &test_ops, NULL,
	    &fake_watch_ops, NULL), -EINVAL);
	cr_assert_eq(vu_dev_init(&d, sv[0], VU_MAX_QUEUES + 1, &test_ops,
	    NULL, &fake_watch_ops, NULL), -EINVAL);
	cr_assert_eq(vu_dev_init(&d, sv[0], 1, &test_ops, NULL, NULL, NULL),
	    -EINVAL);
	cr_assert_eq(vu_dev_priv(&dev), &rec);
	cr_assert_null(vu_queue(&dev, NQ));
	cr_assert_eq(vu_dev_new(&pd, sv[0], 0, &test_ops, NULL,
	    &fake_watch_ops, NULL), -EINVAL);
	cr_assert_null(pd);
	cr_assert_eq(vu_dev_new(&pd, sv[0], NQ, &test_ops, &rec,
	    &fake_watch_ops, NULL), 0);
	cr_assert_eq(vu_dev_priv(pd), &rec);
	cr_assert_eq(vu_dev_features(pd), 0);
	vu_dev_free(pd);
	vu_dev_free(NULL);
	cr_assert_not_null(vu_queue(&dev, NQ - 1));
}

Test(backend, feature_negotiation)
{
	uint64_t	f;

	f = get_u64(VHOST_USER_GET_FEATURES);
	cr_assert_eq(f, DEV_FEATURES | BIT(VIRTIO_F_VERSION_1) | PF |
	    BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC));

	cr_assert_eq(set_u64(VHOST_USER_SET_FEATURES,
	    BIT(0) | BIT(VIRTIO_F_VERSION_1) | PF), 0);
	cr_assert_eq(rec.set_features_calls, 1);
	cr_assert_eq(rec.features, BIT(0) | BIT(VIRTIO_F_VERSION_1) | PF);
	cr_assert(vu_has_feature(&dev, VIRTIO_F_VERSION_1));
	cr_assert(vu_has_feature(&dev, 0));
	cr_assert_not(vu_has_feature(&dev, 5));
	cr_assert_not(vu_has_feature(&dev, 64));
	cr_assert_eq(vu_dev_features(&dev), BIT(0) | BIT(VIRTIO_F_VERSION_1) |
	    PF);
	assert_no_reply();
}

Test(backend, unoffered_features_fail_loudly)
{
	cr_assert_eq(set_u64(VHOST_USER_SET_FEATURES,
	    BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_RING_PACKED)), -EINVAL);
	cr_assert_eq(rec.set_features_calls, 0);
	cr_assert_not(vu_has_feature(&dev, VIRTIO_F_VERSION_1));
}

Test(backend, protocol_features)
{
	uint64_t	pf;

	pf = get_u64(VHOST_USER_GET_PROTOCOL_FEATURES);
	cr_assert_eq(pf, BIT(VHOST_USER_PROTOCOL_F_MQ) |
	    BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
	    BIT(VHOST_USER_PROTOCOL_F_CONFIG) |
	    BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
	    BIT(VHOST_USER_PROTOCOL_F_RESET_DEVICE) |
	    BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |
	    BIT(VHOST_USER_PROTOCOL_F_STATUS));
	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_MQ)), 0);
	cr_assert(vu_has_protocol_feature(&dev, VHOST_USER_PROTOCOL_F_MQ));
	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS)), -EINVAL);
	cr_assert_eq(get_u64(VHOST_USER_GET_QUEUE_NUM), NQ);
	cr_assert_eq(get_u64(VHOST_USER_GET_MAX_MEM_SLOTS), 509);
}

Test(backend, no_config_without_get_config)
{
	struct vhost_user_config	c;

	teardown();
	setup_ops(&bare_ops);
	cr_assert_eq(get_u64(VHOST_USER_GET_PROTOCOL_FEATURES) &
	    BIT(VHOST_USER_PROTOCOL_F_CONFIG), 0);
	cr_assert_eq(get_u64(VHOST_USER_GET_FEATURES) & DEV_FEATURES, 0);
	memset(&c, 0, sizeof(c));
	c.size = 4;
	cr_assert_lt(req(VHOST_USER_GET_CONFIG, &c, 12 + 4, NULL, 0), 0);
}

Test(backend, reply_ack)
{
	struct vhost_user_msg	m;

	/* Not negotiated: no ack even when asked. */
	cr_assert_eq(req_flags(VHOST_USER_SET_OWNER,
	    VHOST_USER_NEED_REPLY_MASK, NULL, 0, NULL, 0), 0);
	assert_no_reply();

	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK)), 0);
	cr_assert_eq(req_flags(VHOST_USER_SET_OWNER,
	    VHOST_USER_NEED_REPLY_MASK, NULL, 0, NULL, 0), 0);
	recv_reply(VHOST_USER_SET_OWNER, &m);
	cr_assert_eq(m.hdr.size, 8);
	cr_assert_eq(m.payload.u64, 0);

	/* Without need_reply: nothing. */
	cr_assert_eq(req(VHOST_USER_SET_OWNER, NULL, 0, NULL, 0), 0);
	assert_no_reply();

	/* A request with its own reply gets only that one. */
	cr_assert_eq(req_flags(VHOST_USER_GET_QUEUE_NUM,
	    VHOST_USER_NEED_REPLY_MASK, NULL, 0, NULL, 0), 0);
	recv_reply(VHOST_USER_GET_QUEUE_NUM, &m);
	cr_assert_eq(m.payload.u64, NQ);
	assert_no_reply();
}

Test(backend, unknown_request)
{
	struct vhost_user_msg	m;
	uint64_t		v = 0;
	int			efd = eventfd(0, EFD_CLOEXEC), base;

	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK)), 0);
	/* Asked to reply: refused with a failure status, connection kept. */
	base = count_fds();
	cr_assert_eq(req_flags(VHOST_USER_SET_LOG_BASE,
	    VHOST_USER_NEED_REPLY_MASK, &v, 8, &efd, 1), 0);
	cr_assert_eq(count_fds(), base);
	recv_reply(VHOST_USER_SET_LOG_BASE, &m);
	cr_assert_neq(m.payload.u64, 0);
	cr_assert_eq(req_flags(999, VHOST_USER_NEED_REPLY_MASK, NULL, 0,
	    NULL, 0), 0);
	recv_reply(999, &m);
	cr_assert_neq(m.payload.u64, 0);
	/* Not asked to reply: the connection must go. */
	cr_assert_lt(req(999, NULL, 0, NULL, 0), 0);
	assert_no_reply();
	close(efd);
}

Test(backend, invalid_sizes_and_fd_counts_rejected)
{
	struct vhost_user_memory	mt;
	uint8_t				big[8 + 9 * 32];
	uint64_t			v = 0;
	int				efd = eventfd(0, EFD_CLOEXEC);
	int				two[2], base;

	two[0] = efd;
	two[1] = efd;
	base = count_fds();
	cr_assert_eq(req(VHOST_USER_SET_FEATURES, &v, 4, NULL, 0), -EINVAL);
	cr_assert_eq(req(VHOST_USER_GET_FEATURES, &v, 8, NULL, 0), -EINVAL);
	cr_assert_eq(req(VHOST_USER_SET_OWNER, NULL, 0, &efd, 1), -EINVAL);
	cr_assert_eq(req(VHOST_USER_SET_VRING_NUM, &v, 4, NULL, 0), -EINVAL);
	cr_assert_eq(req(VHOST_USER_SET_VRING_ADDR, &v, 8, NULL, 0), -EINVAL);

	memset(&mt, 0, sizeof(mt));
	cr_assert_eq(req(VHOST_USER_SET_MEM_TABLE, &mt, 8, NULL, 0),
	    -EINVAL);					/* 0 regions */
	memset(big, 0, sizeof(big));
	big[0] = 9;
	cr_assert_eq(req(VHOST_USER_SET_MEM_TABLE, big, sizeof(big), NULL, 0),
	    -EINVAL);
	mt.nregions = 1;
	mt.regions[0].memory_size = 4096;
	cr_assert_eq(req(VHOST_USER_SET_MEM_TABLE, &mt, 8 + 32, NULL, 0),
	    -EINVAL);					/* no fd */
	cr_assert_eq(req(VHOST_USER_SET_MEM_TABLE, &mt, 8 + 32, two, 2),
	    -EINVAL);					/* two fds */
	cr_assert_eq(req(VHOST_USER_SET_MEM_TABLE, &mt, 8 + 64, &efd, 1),
	    -EINVAL);					/* size */

	cr_assert_eq(req(VHOST_USER_ADD_MEM_REG, &mt, 40, NULL, 0), -EINVAL);
	cr_assert_eq(req(VHOST_USER_ADD_MEM_REG, &mt, 32, &efd, 1), -EINVAL);

	v = 0;						/* fd expected */
	cr_assert_eq(req(VHOST_USER_SET_VRING_KICK, &v, 8, NULL, 0), -EINVAL);
	v = VHOST_USER_VRING_NOFD_MASK;			/* none expected */
	cr_assert_eq(req(VHOST_USER_SET_VRING_CALL, &v, 8, &efd, 1), -EINVAL);
	v = NQ;						/* index */
	cr_assert_eq(req(VHOST_USER_SET_VRING_CALL, &v, 8, &efd, 1), -EINVAL);
	v = 1ull << 9;					/* reserved */
	cr_assert_eq(req(VHOST_USER_SET_VRING_ERR, &v, 8, &efd, 1), -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, NQ, 8), -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_GET_VRING_BASE, 255, 0), -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_ENABLE, 0, 2), -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 0, 0), -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 0, 6), -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 0, 65536),
	    -EINVAL);
	cr_assert_eq(vring_state(VHOST_USER_SET_VRING_NUM, 0, 32768), 0);
	cr_assert_eq(set_u64(VHOST_USER_SET_STATUS, 0x100), -EINVAL);

	/* A request carrying the reply flag is not a request. */
	cr_assert_eq(req_flags(VHOST_USER_GET_FEATURES, VHOST_USER_REPLY_MASK,
	    NULL, 0, NULL, 0), -EINVAL);

	/* Every descriptor sent along was closed. */
	cr_assert_eq(count_fds(), base);
	assert_no_reply();
	close(efd);
}

Test(backend, config_space)
{
	struct vhost_user_config	c;
	struct vhost_user_msg		m;
	unsigned int			i;

	memset(&c, 0, sizeof(c));
	c.offset = 4;
	c.size = 8;
	cr_assert_eq(req(VHOST_USER_GET_CONFIG, &c, 12 + 8, NULL, 0), 0);
	recv_reply(VHOST_USER_GET_CONFIG, &m);
	cr_assert_eq(m.hdr.size, 12 + 8);
	cr_assert_eq(m.payload.config.offset, 4);
	cr_assert_eq(m.payload.config.size, 8);
	for (i = 0; i < 8; i++)
		cr_assert_eq(m.payload.config.region[i], 0xa0 + 4 + i);

	c.offset = 250;		/* past 256 */
	cr_assert_eq(req(VHOST_USER_GET_CONFIG, &c, 12 + 8, NULL, 0),
	    -EINVAL);
	c.offset = 0;		/* size does not match the payload */
	cr_assert_eq(req(VHOST_USER_GET_CONFIG, &c, 12 + 4, NULL, 0),
	    -EINVAL);
	c.offset = 0xffffffffu;	/* no wrap */
	cr_assert_eq(req(VHOST_USER_GET_CONFIG, &c, 12 + 8, NULL, 0),
	    -EINVAL);

	c.offset = 2;
	c.size = 2;
	c.region[0] = 0x11;
	c.region[1] = 0x22;
	cr_assert_eq(req(VHOST_USER_SET_CONFIG, &c, 12 + 2, NULL, 0), 0);
	cr_assert_eq(rec.config_set[2], 0x11);
	cr_assert_eq(rec.config_set[3], 0x22);
	/* Device refuses: failure ack, connection kept. */
	cr_assert_eq(set_u64(VHOST_USER_SET_PROTOCOL_FEATURES,
	    BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK)), 0);
	c.offset = 100;
	cr_assert_eq(req_flags(VHOST_USER_SET_CONFIG,
	    VHOST_USER_NEED_REPLY_MASK, &c, 12 + 2, NULL, 0), 0);
	recv_reply(VHOST_USER_SET_CONFIG, &m);
	cr_assert_neq(m.payload.u64, 0);
}
