/*
 * vsock_dev.c - the child's device: set-up from the parent's resources,
 * the three queues (rx 0, tx 1, event 2), the config space (guest_cid,
 * le64) and the engine's callbacks.
 *
 * tx: each chain is a 44-byte header and its payload, copied out of
 * guest memory once (the header decoded from the copy) and handed to the
 * protocol core, which checks it (vsock_hdr_check) and runs the state
 * machine; the chain is returned at once.  A guest that keeps sending is
 * held by credit: data beyond the buf_alloc we advertised resets that
 * connection.
 * rx: packets the core has for the guest (control packets, RSTs, data
 * within the guest's credit) go into the guest's buffers, one packet per
 * chain, under the work budget (vu_budget): what is left runs again
 * after the front end's messages had their turn.  With no buffer the
 * device waits for the guest's kick.
 * event: VIRTIO_VSOCK_EVENT_TRANSPORT_RESET once per child, when the
 * event queue first comes up, and again after a device reset: a guest
 * whose previous back end died drops the connections that back end
 * had (their host ends are gone with it).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/util.h"
#include "../virtio/iov.h"
#include "../virtio/virtq.h"
#include "vsock_child.h"

#define VSOCK_NQUEUES	3

/* The device's epoll set is readable (watched through the engine). */
static void
vsock_epoll_cb(int fd, void *arg)
{
	struct vsock_child	*vc = arg;

	vsock_host_events(vc);
}

/*
 * From the first callback of a session on: the engine is known, the
 * host side is watched.  Host clients wait in the listener's backlog
 * until then.
 */
static void
vsock_bind(struct vu_dev *dev, struct vsock_child *vc)
{
	int	rc;

	vc->vc_dev = dev;
	if (vc->vc_watching)
		return;
	if ((rc = vu_dev_watch(dev, vc->vc_epfd, vsock_epoll_cb, vc)) < 0) {
		log_warnx("vsock: cannot watch the host side: %s",
		    strerror(-rc));
		return;
	}
	vc->vc_watching = true;
}

static void	vsock_event_run(struct vu_dev *, struct vsock_child *);

void
vsock_rx_run(struct vsock_child *vc)
{
	struct virtio_vsock_hdr	 h;
	struct vu_budget	 budget;
	struct virtq		*vq;
	struct virtq_elem	*e = &vc->vc_elem;
	unsigned int		 n = 0;
	size_t			 len, cap;
	int			 rc;

	if (vc->vc_dev == NULL || !vu_queue_ready(vc->vc_dev, VSOCK_QUEUE_RX) ||
	    (vq = vu_queue(vc->vc_dev, VSOCK_QUEUE_RX)) == NULL)
		return;
	/* The reset goes first when it can: it must not drop new ones. */
	if (vc->vc_event_due)
		vsock_event_run(vc->vc_dev, vc);
	vu_budget_init(&budget);
	while (vsock_guest_pending(vc->vc_core)) {
		if ((rc = virtq_pop(vq, e)) == 0)
			break;		/* the guest kicks when it adds some */
		if (rc < 0) {
			vu_dev_set_broken(vc->vc_dev,
			    "vsock: malformed rx descriptor chain");
			break;
		}
		if (e->out_num != 0 || e->in_len < VSOCK_HDR_SIZE) {
			virtq_push(vq, e->head, 0);
			n++;
			vu_dev_set_broken(vc->vc_dev, "vsock: an rx buffer "
			    "smaller than a packet header or not writable");
			break;
		}
		cap = MIN(e->in_len - VSOCK_HDR_SIZE, (size_t)VSOCK_MAX_PKT);
		if (vsock_guest_next(vc->vc_core, &h, vc->vc_buf +
		    VSOCK_HDR_SIZE, cap, &len) < 0) {
			(void)virtq_unpop(vq);
			break;
		}
		vsock_hdr_encode(&h, vc->vc_buf);
		len += VSOCK_HDR_SIZE;
		iov_from_buf(e->in, e->in_num, 0, vc->vc_buf, len);
		virtq_push(vq, e->head, (uint32_t)len);
		n++;
		if (vu_budget_charge(&budget, len) &&
		    vsock_guest_pending(vc->vc_core) &&
		    vu_queue_reschedule(vc->vc_dev, VSOCK_QUEUE_RX) == 0)
			break;
	}
	if (n > 0)
		vu_queue_notify(vc->vc_dev, VSOCK_QUEUE_RX);
	/* Sending may have given the guest credit back: read again. */
	vsock_host_actions(vc);
}

static void
vsock_tx_run(struct vu_dev *dev, struct vsock_child *vc)
{
	struct virtio_vsock_hdr	 h;
	struct vu_budget	 budget;
	struct virtq		*vq = vu_queue(dev, VSOCK_QUEUE_TX);
	struct virtq_elem	*e = &vc->vc_elem;
	unsigned int		 n = 0;
	size_t			 got, avail;
	int			 rc;

	if (vq == NULL)
		return;
	vu_budget_init(&budget);
	while ((rc = virtq_pop(vq, e)) == 1) {
		n++;
		got = iov_to_buf(e->out, e->out_num, 0, vc->vc_buf,
		    sizeof(vc->vc_buf));
		if (got < VSOCK_HDR_SIZE) {
			ratelimit_warnx(&vc->vc_log, ratelimit_now(), "vsock: "
			    "tx chain %u shorter than a header; dropped",
			    (unsigned int)e->head);
			virtq_push(vq, e->head, 0);
			continue;
		}
		/* The copy is what counts: decode once, check the copy. */
		vsock_hdr_decode(vc->vc_buf, &h);
		avail = got - VSOCK_HDR_SIZE;
		if (vsock_guest_packet(vc->vc_core, &h, vc->vc_buf +
		    VSOCK_HDR_SIZE, avail) < 0)
			log_debug("vsock: tx packet op %u %u -> %u refused",
			    h.op, h.src_port, h.dst_port);
		virtq_push(vq, e->head, 0);
		vsock_host_actions(vc);
		if (vu_budget_charge(&budget, got) && virtq_has_avail(vq) &&
		    vu_queue_reschedule(dev, VSOCK_QUEUE_TX) == 0)
			break;
	}
	if (n > 0)
		vu_queue_notify(dev, VSOCK_QUEUE_TX);
	if (rc < 0)
		vu_dev_set_broken(dev, "vsock: malformed tx descriptor chain");
	vsock_rx_run(vc);
}

static void
vsock_event_run(struct vu_dev *dev, struct vsock_child *vc)
{
	struct virtq	*vq = vu_queue(dev, VSOCK_QUEUE_EVENT);
	uint8_t		 ev[VSOCK_EVENT_SIZE];
	int		 rc;

	if (!vc->vc_event_due || vq == NULL ||
	    !vu_queue_ready(dev, VSOCK_QUEUE_EVENT))
		return;
	if ((rc = virtq_pop(vq, &vc->vc_elem)) != 1) {
		if (rc < 0)
			vu_dev_set_broken(dev, "vsock: malformed event chain");
		return;
	}
	if (vc->vc_elem.in_len < VSOCK_EVENT_SIZE) {
		virtq_push(vq, vc->vc_elem.head, 0);
		vu_queue_notify(dev, VSOCK_QUEUE_EVENT);
		vu_dev_set_broken(dev, "vsock: event buffer too small");
		return;
	}
	vsock_event_reset_encode(ev);
	iov_from_buf(vc->vc_elem.in, vc->vc_elem.in_num, 0, ev, sizeof(ev));
	virtq_push(vq, vc->vc_elem.head, sizeof(ev));
	vu_queue_notify(dev, VSOCK_QUEUE_EVENT);
	vc->vc_event_due = false;
	log_debug("vsock: transport reset sent to the guest");
}

static void
vsock_queue_handler(struct vu_dev *dev, unsigned int qidx)
{
	struct vsock_child	*vc = vu_dev_priv(dev);

	if (vc == NULL)
		return;
	vsock_bind(dev, vc);
	switch (qidx) {
	case VSOCK_QUEUE_RX:
		vsock_rx_run(vc);
		break;
	case VSOCK_QUEUE_TX:
		vsock_tx_run(dev, vc);
		break;
	case VSOCK_QUEUE_EVENT:
		vsock_event_run(dev, vc);
		break;
	default:
		break;
	}
}

static void
vsock_queue_state(struct vu_dev *dev, unsigned int qidx, bool ready)
{
	struct vsock_child	*vc = vu_dev_priv(dev);

	if (vc == NULL || !ready)
		return;
	vsock_bind(dev, vc);
	if (qidx == VSOCK_QUEUE_EVENT)
		vsock_event_run(dev, vc);
	else if (qidx == VSOCK_QUEUE_RX)
		vsock_rx_run(vc);
}

/* Config space: struct virtio_vsock_config { le64 guest_cid; }. */
static int
vsock_get_config(struct vu_dev *dev, uint8_t *buf, uint32_t offset,
    uint32_t len)
{
	struct vsock_child	*vc = vu_dev_priv(dev);
	uint64_t		 cid;

	if (vc == NULL || offset > sizeof(cid) || len > sizeof(cid) - offset)
		return -EINVAL;
	cid = htole64(vc->vc_res.vsr_guest_cid);
	memcpy(buf, (uint8_t *)&cid + offset, len);
	return 0;
}

static uint64_t
vsock_get_features(struct vu_dev *dev)
{
	/* Stream only: no feature bit means VIRTIO_VSOCK_TYPE_STREAM. */
	return 0;
}

/* The driver reset the device: every connection goes, the guest is told. */
static void
vsock_reset_cb(struct vu_dev *dev)
{
	struct vsock_child	*vc = vu_dev_priv(dev);

	if (vc == NULL)
		return;
	vsock_reset(vc->vc_core);
	vsock_host_actions(vc);
	vsock_host_close_all(vc);
	vc->vc_event_due = true;
}

const struct vu_dev_ops vsock_ops = {
	.get_features = vsock_get_features,
	.get_config = vsock_get_config,
	.queue_handler = vsock_queue_handler,
	.queue_state = vsock_queue_state,
	.reset = vsock_reset_cb,
};

/*
 * Child, before the filter: the core's table, the epoll set and the
 * timer (timerfd_create and timerfd_settime are not in vsock.policy).
 */
int
vsock_dev_init(const struct device_child_res *res, void **statep)
{
	const struct vsock_res	*vr = device_child_data(res, sizeof(*vr));
	struct vsock_params	 p;
	struct vsock_child	*vc;
	struct itimerspec	 its;
	unsigned int		 i;
	int			 rc;

	if (vr == NULL || res->cr_nfds != VSOCK_NFDS)
		return -EINVAL;
	if ((vc = calloc(1, sizeof(*vc))) == NULL)
		return -ENOMEM;
	vc->vc_res = *vr;
	vc->vc_listen_fd = res->cr_fds[VSOCK_FD_LISTEN];
	vc->vc_broker_fd = res->cr_fds[VSOCK_FD_BROKER];
	vc->vc_epfd = vc->vc_timerfd = -1;
	vc->vc_event_due = true;
	ratelimit_log_init(&vc->vc_log, 0, 0);
	for (i = 0; i < VSOCK_PENDING_MAX; i++)
		vc->vc_pending[i].pc_fd = -1;
	vsock_params_default(&p);
	p.vp_guest_cid = vr->vsr_guest_cid;
	p.vp_max_conns = vr->vsr_max_conns;
	p.vp_buf_alloc = vr->vsr_buf_alloc;
	p.vp_rx_buf = vr->vsr_rx_buf;
	p.vp_connect_ms = vr->vsr_connect_ms;
	rc = -ENOMEM;
	if ((vc->vc_hfd = calloc(vr->vsr_max_conns, sizeof(*vc->vc_hfd))) ==
	    NULL)
		goto fail;
	for (i = 0; i < vr->vsr_max_conns; i++)
		vc->vc_hfd[i].hf_fd = -1;
	if ((rc = vsock_new(&p, &vc->vc_core)) < 0)
		goto fail;
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_nsec = VSOCK_TICK_MS * 1000000L;
	its.it_value = its.it_interval;
	if ((vc->vc_epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (vc->vc_timerfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) == -1 ||
	    timerfd_settime(vc->vc_timerfd, 0, &its, NULL) == -1) {
		rc = -errno;
		goto fail;
	}
	if ((rc = vsock_host_setup(vc)) < 0)
		goto fail;
	vsock_tick(vc->vc_core, vsock_now_ms());
	*statep = vc;
	return 0;
fail:
	vsock_dev_free(vc);
	return rc;
}

uint16_t
vsock_dev_num_queues(void *state)
{
	return VSOCK_NQUEUES;
}

void
vsock_dev_free(void *state)
{
	struct vsock_child	*vc = state;

	if (vc == NULL)
		return;
	if (vc->vc_hfd != NULL && vc->vc_epfd >= 0)
		vsock_host_close_all(vc);
	vsock_free(vc->vc_core);
	free(vc->vc_hfd);
	close_reset(&vc->vc_epfd);
	close_reset(&vc->vc_timerfd);
	free(vc);
}
