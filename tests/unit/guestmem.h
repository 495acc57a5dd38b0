/*
 * guestmem.h - guest memory for unit tests: one memfd the test maps
 * itself (guest physical address == offset into it) and hands to the
 * code under test, as a front end shares guest RAM.
 *
 * The memory table (gmem_add), the vhost-user engine (SET_MEM_TABLE,
 * ADD_MEM_REG) and the devices' tests all start from it; the test writes
 * rings and buffers through gm_base while the code under test reads the
 * same pages through its own mapping.  Failures are Criterion assertions.
 */
#ifndef VHOSTD_TESTS_GUESTMEM_H
#define VHOSTD_TESTS_GUESTMEM_H

#include <stddef.h>
#include <stdint.h>

#include "mem/gmem.h"
#include "vhost/proto.h"

struct guestmem {
	int		 gm_fd;		/* the memfd, size gm_size */
	uint8_t		*gm_base;	/* the test's mapping: gpa == offset */
	size_t		 gm_size;
	uint64_t	 gm_uva;	/* the front end's address of offset 0 */
};

/* A zeroed memfd of size bytes, mapped shared at g->gm_base. */
void	guestmem_create(struct guestmem *g, size_t size, uint64_t uva);

/* Unmap and close.  Idempotent. */
void	guestmem_destroy(struct guestmem *g);

/* Host pointer of the test's mapping for guest physical gpa. */
void	*guestmem_ptr(const struct guestmem *g, uint64_t gpa);

/* [off, off + len) as a region: gpa = off, uva = gm_uva + off. */
struct gmem_desc guestmem_desc(const struct guestmem *g, uint64_t off,
	    uint64_t len);
/* The same in the vhost-user wire layout (SET_MEM_TABLE, ADD_MEM_REG). */
struct vhost_user_mem_region guestmem_wire(const struct guestmem *g,
	    uint64_t off, uint64_t len);

/* Map [off, off + len) into mem as one region (through a dup of gm_fd). */
void	guestmem_add(const struct guestmem *g, struct gmem *mem, uint64_t off,
	    uint64_t len);

/* Another zeroed memfd of size bytes (a second backing), not mapped. */
int	guestmem_fd(size_t size);

/* A memfd of len bytes where byte i holds (i * 7 + seed) & 0xff. */
int	guestmem_pattern_fd(size_t len, unsigned int seed);

#endif /* VHOSTD_TESTS_GUESTMEM_H */
