/*
 * virtq_harness.h - the set-up shared by the virtq_test files: guest
 * memory in two regions, one ring at fixed addresses, descriptor and
 * avail-ring writers.
 */
#ifndef VIRTQ_HARNESS_H
#define VIRTQ_HARNESS_H

#include <stdint.h>

#include <criterion/criterion.h>

#include "mem/gmem.h"
#include "virtio/virtio.h"
#include "virtio/virtq.h"
#include "../guestmem.h"

#define GUEST_SIZE	(1024 * 1024)
#define REGION_SIZE	(GUEST_SIZE / 2)
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x2000
#define USED_GPA	0x3000
#define ITAB_GPA	0x8000		/* indirect tables */
#define BUF_GPA		0x40000		/* data buffers */
#define UNMAPPED_GPA	0x200000

#define F_INDIRECT	(1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX	(1ull << VIRTIO_RING_F_EVENT_IDX)

extern struct gmem		 mem;
extern uint8_t			*guest;
extern struct virtq		 vq;
extern struct virtq_elem	 elem;

struct virtq_desc	*gdesc(void);

struct virtq_avail	*gavail(void);

struct virtq_used	*gused(void);

/* The u16 after the avail ring (used_event) / used ring (avail_event). */
uint16_t	*used_event_p(void);

uint16_t	*avail_event_p(void);

void	vq_start(uint16_t num, uint16_t last_avail, uint64_t features);

void	set_desc(struct virtq_desc *t, uint16_t i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next);

struct virtq_desc	*itab(void);

void	post(uint16_t head);

/* Pop must fail, break the queue, and not advance. */
void	expect_broken(void);

struct virtq_inflight	*inflight_region(uint16_t num);

/* Chains 0..n-1, one writable 16-byte buffer each. */
void	post_simple(uint16_t n);

/*
 * A ring of 8 with chains 0 and 1 available, attached to an inflight
 * region (the caller frees it) in which a dead back end left head 1 in
 * flight (counter 5): one resubmission.
 */
struct virtq_inflight	*inflight_head1_resubmitted(void);

#endif
