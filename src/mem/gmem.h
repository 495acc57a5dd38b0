/*
 * gmem.h - guest memory table: regions mmapped from fds a front end
 * provides, and address translation with range checks.
 *
 * The bottom layer (guest memory <- virtqueue <- vhost-user engine <-
 * devices): it knows nothing of the vhost-user wire format, only plain
 * region descriptions.  Every translation either returns a host pointer
 * whose whole range [ptr, ptr + len) lies inside one mapped region, or
 * NULL.
 */
#ifndef VHOSTD_MEM_GMEM_H
#define VHOSTD_MEM_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most regions one table holds (vhost-user GET_MAX_MEM_SLOTS answers it). */
#define GMEM_MAX_REGIONS	509

/* A region as a front end describes it (vhost-user memory region). */
struct gmem_desc {
	uint64_t	gd_gpa;		/* guest physical start */
	uint64_t	gd_size;	/* bytes */
	uint64_t	gd_uva;		/* front end's virtual address */
	uint64_t	gd_offset;	/* offset into the fd */
};

struct gmem_region {
	uint64_t	 mr_gpa;	/* guest physical start */
	uint64_t	 mr_size;	/* bytes */
	uint64_t	 mr_uva;	/* front end's virtual address */
	uint64_t	 mr_offset;	/* mmap offset into the fd */
	uint8_t		*mr_host;	/* host address of mr_gpa */
	void		*mr_map;	/* what mmap returned */
	size_t		 mr_maplen;	/* and its length */
	/* The same region added again (ADD_MEM_REG): removals it takes
	 * before the region goes. */
	uint32_t	 mr_dups;
};

struct gmem {
	struct gmem_region	mm_regions[GMEM_MAX_REGIONS];
	unsigned int		mm_nregions;	/* sorted by mr_gpa */
};

/* An empty table: no regions, nothing mapped. */
void	gmem_init(struct gmem *mem);

/*
 * Map a region described by the front end.  Takes ownership of fd: it is
 * closed whether or not the call succeeds (the mapping keeps the memory).
 * Rejects zero sizes, wrapping ranges, overlaps with an existing region
 * and a full table.  0 or -errno.
 */
int	gmem_add(struct gmem *mem, const struct gmem_desc *r,
	    int fd);

/* Unmap the region matching r (gpa, size, uva).  0 or -ENOENT. */
int	gmem_remove(struct gmem *mem, const struct gmem_desc *r);
/*
 * The region exactly as r describes it (start, size, front-end address;
 * with offset also the mmap offset), or NULL.
 */
struct gmem_region *gmem_find(struct gmem *mem, const struct gmem_desc *r,
	    bool offset);

/*
 * Take the region matching r out of the table without unmapping it: the
 * caller re-points whatever holds pointers into it, then unmaps it with
 * gmem_region_unmap().  0 or -ENOENT.
 */
int	gmem_take(struct gmem *mem, const struct gmem_desc *r,
	    struct gmem_region *out);
void	gmem_region_unmap(struct gmem_region *mr);

/* Exchange two tables (no mapping changes). */
void	gmem_swap(struct gmem *a, struct gmem *b);

/*
 * Whether addr lies in one of the table's mappings.  Async-signal-safe:
 * reads the table only (the SIGBUS handler of a device child uses it).
 */
bool	gmem_maps(const struct gmem *mem, const void *addr);

/* Unmap everything. */
void	gmem_clear(struct gmem *mem);

/*
 * Host pointer for guest physical [gpa, gpa + len), NULL unless the whole
 * range lies in one region (len 0 is treated as 1).
 */
void	*gmem_gpa(const struct gmem *mem, uint64_t gpa, uint64_t len);

/*
 * Host pointer for gpa and, in *avail, how many bytes from gpa (at most
 * len) are contiguous in that region; NULL if gpa is not mapped.  Lets a
 * caller split a buffer that spans adjacent regions.
 */
void	*gmem_gpa_span(const struct gmem *mem, uint64_t gpa, uint64_t len,
	    uint64_t *avail);

/* Same as gmem_gpa() for a front-end virtual address (ring addresses). */
void	*gmem_uva(const struct gmem *mem, uint64_t uva, uint64_t len);

#endif /* VHOSTD_MEM_GMEM_H */
