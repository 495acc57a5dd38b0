/*
 * counters.c - the names of the generic counters, and the sink.
 */
#include "counters.h"

const char *const ctr_err_names[CTR_ERR_MAX] = {
	[CTR_ERR_IO] = "io",
	[CTR_ERR_UNSUPPORTED] = "unsupported",
	[CTR_ERR_INVALID] = "invalid",
	[CTR_ERR_RING] = "ring",
};

struct ctr_queue ctr_sink;

_Static_assert(sizeof(struct ctr_queue) == 64 * sizeof(uint64_t),
    "struct ctr_queue is 64 words");
_Static_assert(sizeof(struct ctr_region) ==
    64 + CTR_MAX_QUEUES * sizeof(struct ctr_queue),
    "struct ctr_region: a 64-byte header, then the queues");
