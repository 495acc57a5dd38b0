/*
 * mem.h - guest memory table: regions mmapped from front-end fds, and
 * address translation with range checks.
 *
 * Every translation either returns a host pointer whose whole range
 * [ptr, ptr + len) lies inside one mapped region, or NULL.
 */
#ifndef VHOSTD_VHOST_MEM_H
#define VHOSTD_VHOST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct vu_mem_region {
	uint64_t	 mr_gpa;	/* guest physical start */
	uint64_t	 mr_size;	/* bytes */
	uint64_t	 mr_uva;	/* front end's virtual address */
	uint64_t	 mr_offset;	/* mmap offset into the fd */
	uint8_t		*mr_host;	/* host address of mr_gpa */
	void		*mr_map;	/* what mmap returned */
	size_t		 mr_maplen;	/* and its length */
};

struct vu_mem {
	struct vu_mem_region	mm_regions[VHOST_USER_MAX_MEM_SLOTS];
	unsigned int		mm_nregions;	/* sorted by mr_gpa */
};

void	vu_mem_init(struct vu_mem *mem);

/*
 * Map a region described by the front end.  Takes ownership of fd: it is
 * closed whether or not the call succeeds (the mapping keeps the memory).
 * Rejects zero sizes, wrapping ranges, overlaps with an existing region
 * and a full table.  0 or -errno.
 */
int	vu_mem_add(struct vu_mem *mem, const struct vhost_user_mem_region *r,
	    int fd);

/* Unmap the region matching r (gpa, size, uva).  0 or -ENOENT. */
int	vu_mem_remove(struct vu_mem *mem, const struct vhost_user_mem_region *r);

/*
 * Take the region matching r out of the table without unmapping it: the
 * caller re-points whatever holds pointers into it, then unmaps it with
 * vu_mem_region_unmap().  0 or -ENOENT.
 */
int	vu_mem_take(struct vu_mem *mem, const struct vhost_user_mem_region *r,
	    struct vu_mem_region *out);
void	vu_mem_region_unmap(struct vu_mem_region *mr);

/* Exchange two tables (no mapping changes). */
void	vu_mem_swap(struct vu_mem *a, struct vu_mem *b);

/*
 * Whether addr lies in one of the table's mappings.  Async-signal-safe:
 * reads the table only (the SIGBUS handler of a device child uses it).
 */
bool	vu_mem_maps(const struct vu_mem *mem, const void *addr);

/* Unmap everything. */
void	vu_mem_clear(struct vu_mem *mem);

/*
 * Host pointer for guest physical [gpa, gpa + len), NULL unless the whole
 * range lies in one region (len 0 is treated as 1).
 */
void	*vu_mem_gpa(const struct vu_mem *mem, uint64_t gpa, uint64_t len);

/*
 * Host pointer for gpa and, in *avail, how many bytes from gpa (at most
 * len) are contiguous in that region; NULL if gpa is not mapped.  Lets a
 * caller split a buffer that spans adjacent regions.
 */
void	*vu_mem_gpa_span(const struct vu_mem *mem, uint64_t gpa, uint64_t len,
	    uint64_t *avail);

/* Same as vu_mem_gpa() for a front-end virtual address (ring addresses). */
void	*vu_mem_uva(const struct vu_mem *mem, uint64_t uva, uint64_t len);

#endif /* VHOSTD_VHOST_MEM_H */
