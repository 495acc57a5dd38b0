/*
 * rng.c - virtio-rng (virtio 1.x, 5.4): one request queue; the driver
 * posts device-writable buffers and the device fills them with random
 * bytes from getrandom(2), which needs no descriptor and no file system.
 *
 * Each request is filled up to RNG_MAX_REQ bytes (the driver accepts short
 * answers).  A chain without writable segments is a guest error that
 * does not hurt anyone: it is answered with 0 bytes and logged once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../util/log.h"
#include "../util/ratelimit.h"
#include "../util/util.h"
#include "../virtio/virtq.h"
#include "device.h"

/* Most bytes written for one request. */
#define RNG_MAX_REQ	((size_t)64 << 10)

struct rng_state {
	struct virtq_elem	rs_elem;	/* too big for the stack */
	struct ratelimit_log	rs_warnlog;	/* what the guest can cause */
};

/*
 * Fill the writable segments of elem with up to RNG_MAX_REQ random bytes.
 * Returns the bytes written.
 */
static uint32_t
rng_fill(struct rng_state *rs, const struct virtq_elem *elem,
    struct ctr_queue *cq)
{
	unsigned int	 i;
	size_t		 want, done = 0;
	ssize_t		 n;
	uint8_t		*p;

	if (elem->in_num == 0) {
		ctr_error(cq, CTR_ERR_INVALID);
		ratelimit_warnx(&rs->rs_warnlog, ratelimit_now(), "rng: request %u has no "
		    "writable buffer; answered with 0 bytes",
		    (unsigned int)elem->head);
		return 0;
	}
	for (i = 0; i < elem->in_num && done < RNG_MAX_REQ; i++) {
		p = elem->in[i].iov_base;
		want = MIN(elem->in[i].iov_len, RNG_MAX_REQ - done);
		while (want > 0) {
			n = getrandom(p, want, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				ctr_error(cq, CTR_ERR_IO);
				ratelimit_warnx(&rs->rs_warnlog,
				    ratelimit_now(), "rng: getrandom failed: %s",
				    n < 0 ? strerror(errno) : "no data");
				return (uint32_t)done;
			}
			p += n;
			want -= (size_t)n;
			done += (size_t)n;
		}
	}
	return (uint32_t)done;
}

/*
 * Answer the available requests, then signal the driver once.  At most one
 * budget per wake-up (vu_budget): what is left runs from
 * vu_queue_reschedule, after the front end's messages had their turn.
 */
static void
rng_queue_handler(struct vu_dev *dev, unsigned int qidx)
{
	struct rng_state	*rs = vu_dev_priv(dev);
	struct virtq		*vq;
	struct ctr_queue	*cq;
	struct vu_budget	 budget;
	unsigned int		 n = 0;
	uint32_t		 len;
	int			 rc;

	if (rs == NULL || (vq = vu_queue(dev, qidx)) == NULL)
		return;
	cq = vu_queue_counters(dev, qidx);
	vu_budget_init(&budget);
	while ((rc = virtq_pop(vq, &rs->rs_elem)) == 1) {
		len = rng_fill(rs, &rs->rs_elem, cq);
		ctr_add(&cq->cq_read_bytes, len);
		virtq_push(vq, rs->rs_elem.head, len);
		n++;
		if (vu_budget_charge(&budget, len) && virtq_has_avail(vq) &&
		    vu_queue_reschedule(dev, qidx) == 0)
			break;
	}
	if (n > 0)
		vu_queue_notify(dev, qidx);
	if (rc < 0)
		vu_dev_set_broken(dev, "rng: malformed descriptor chain");
}

static uint64_t
rng_get_features(struct vu_dev *dev)
{
	return 0;
}

static const struct vu_dev_ops rng_ops = {
	.get_features = rng_get_features,
	.queue_handler = rng_queue_handler,
};

/* Parent: no keys (config.c refuses any), no descriptors, no data. */
static int
rng_open(const struct dev_options *opts, bool check_only,
    struct device_res *res, char *err, size_t errlen)
{
	return 0;
}

/* Child: a fresh state; nothing comes from the parent. */
static int
rng_init(const struct device_child_res *res, void **statep)
{
	struct rng_state	*rs;

	if (res->cr_nfds != 0 || res->cr_len != 0)
		return -EINVAL;
	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		return -ENOMEM;
	ratelimit_log_init(&rs->rs_warnlog, 0, 0);
	*statep = rs;
	return 0;
}

static uint16_t
rng_num_queues(void *state)
{
	return 1;
}

static void
rng_free(void *state)
{
	free(state);
}

const struct device_type rng_device_type = {
	.dt_name = "rng",
	.dt_caps_type = "rng",
	.dt_description = "virtio entropy source",
	.dt_keys = NULL,	/* the common keys only */
	.dt_nkeys = 0,
	.dt_ops = &rng_ops,
	/* Private memory: well under 1 MiB serving; 16 MiB of room. */
	.dt_mem_limit = 16ull << 20,
	.dt_open = rng_open,
	.dt_init = rng_init,
	.dt_num_queues = rng_num_queues,
	.dt_free = rng_free,
};
