/*
 * gmem.c - guest memory table.
 *
 * Regions are kept sorted by guest physical address and never overlap, so
 * a gpa lookup is a binary search.  Front-end virtual addresses (used only
 * for ring set-up) are looked up linearly.  Every lookup checks that the
 * whole requested range lies inside one region, with wrap-around checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../util/log.h"
#include "../util/util.h"
#include "gmem.h"

void
gmem_init(struct gmem *mem)
{
	memset(mem, 0, sizeof(*mem));
}

/* [a, a + alen) and [b, b + blen) intersect; lengths > 0, no wrap. */
static int
mem_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Index of the first region whose gpa is > gpa (0..nregions). */
static unsigned int
mem_upper_bound(const struct gmem *mem, uint64_t gpa)
{
	unsigned int	lo = 0, hi = mem->mm_nregions, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (mem->mm_regions[mid].mr_gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The region containing gpa, or NULL. */
static const struct gmem_region *
mem_find_gpa(const struct gmem *mem, uint64_t gpa)
{
	const struct gmem_region	*r;
	unsigned int			 i;

	i = mem_upper_bound(mem, gpa);
	if (i == 0)
		return NULL;
	r = &mem->mm_regions[i - 1];
	if (gpa - r->mr_gpa >= r->mr_size)
		return NULL;
	return r;
}

/*
 * gmem_add: validate, mmap MAP_SHARED at the page below mr_offset, and
 * insert in gpa order.  fd is closed in every case.
 */
int
gmem_add(struct gmem *mem, const struct gmem_desc *r,
    int fd)
{
	struct gmem_region	*nr;
	struct stat		 st;
	uint64_t		 pagesz, delta, maplen;
	unsigned int		 i, pos;
	void			*map;
	int			 rc = 0, seals;

	pagesz = (uint64_t)sysconf(_SC_PAGESIZE);
	if (fd < 0 || r->gd_size == 0 ||
	    r->gd_gpa + r->gd_size < r->gd_gpa ||
	    r->gd_uva + r->gd_size < r->gd_uva ||
	    r->gd_offset + r->gd_size < r->gd_offset ||
	    r->gd_size > SIZE_MAX - pagesz) {
		log_warnx("%s: invalid region gpa 0x%llx size 0x%llx "
		    "uva 0x%llx offset 0x%llx", __func__,
		    (unsigned long long)r->gd_gpa,
		    (unsigned long long)r->gd_size,
		    (unsigned long long)r->gd_uva,
		    (unsigned long long)r->gd_offset);
		rc = -EINVAL;
		goto out;
	}
	if (mem->mm_nregions >= GMEM_MAX_REGIONS) {
		log_warnx("%s: memory table full (%u regions)", __func__,
		    mem->mm_nregions);
		rc = -ENOSPC;
		goto out;
	}
	for (i = 0; i < mem->mm_nregions; i++) {
		if (mem_ranges_overlap(mem->mm_regions[i].mr_gpa,
		    mem->mm_regions[i].mr_size, r->gd_gpa,
		    r->gd_size)) {
			log_warnx("%s: region gpa 0x%llx size 0x%llx overlaps "
			    "another", __func__,
			    (unsigned long long)r->gd_gpa,
			    (unsigned long long)r->gd_size);
			rc = -EINVAL;
			goto out;
		}
	}

	/*
	 * A mapping past the end of its file faults (SIGBUS) where the guest
	 * memory is touched: refuse it here, with a message.
	 */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    r->gd_offset + r->gd_size > (uint64_t)st.st_size) {
		log_warnx("%s: region gpa 0x%llx size 0x%llx at offset 0x%llx "
		    "ends beyond its file (0x%llx bytes)", __func__,
		    (unsigned long long)r->gd_gpa,
		    (unsigned long long)r->gd_size,
		    (unsigned long long)r->gd_offset,
		    (unsigned long long)st.st_size);
		rc = -EINVAL;
		goto out;
	}
	/*
	 * A memfd that could be sealed but is not sealed against shrinking
	 * can be truncated under the mapping by its owner at any time.
	 * QEMU's memory-backend-memfd seals GROW, SHRINK and SEAL by default
	 * (seal=on); with seal=off it creates the memfd without
	 * MFD_ALLOW_SEALING, which reads as F_SEAL_SEAL like any tmpfs or
	 * hugetlbfs file, and those stay accepted (truncating them is caught
	 * as a front-end fault where the memory is touched).
	 */
	if ((seals = fcntl(fd, F_GET_SEALS)) != -1 &&
	    (seals & (F_SEAL_SHRINK | F_SEAL_SEAL)) == 0) {
		log_warnx("%s: region gpa 0x%llx: its memfd is not sealed "
		    "against shrinking (F_SEAL_SHRINK); seal it as QEMU's "
		    "memory-backend-memfd does", __func__,
		    (unsigned long long)r->gd_gpa);
		rc = -EPERM;
		goto out;
	}
	delta = r->gd_offset & (pagesz - 1);
	maplen = r->gd_size + delta;
	map = mmap(NULL, (size_t)maplen, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_NORESERVE, fd, (off_t)(r->gd_offset - delta));
	if (map == MAP_FAILED) {
		rc = -errno;
		log_warn("%s: mmap of 0x%llx bytes at offset 0x%llx", __func__,
		    (unsigned long long)maplen,
		    (unsigned long long)(r->gd_offset - delta));
		goto out;
	}

	pos = mem_upper_bound(mem, r->gd_gpa);
	memmove(&mem->mm_regions[pos + 1], &mem->mm_regions[pos],
	    (mem->mm_nregions - pos) * sizeof(mem->mm_regions[0]));
	nr = &mem->mm_regions[pos];
	nr->mr_gpa = r->gd_gpa;
	nr->mr_size = r->gd_size;
	nr->mr_uva = r->gd_uva;
	nr->mr_offset = r->gd_offset;
	nr->mr_map = map;
	nr->mr_maplen = (size_t)maplen;
	nr->mr_host = (uint8_t *)map + delta;
	mem->mm_nregions++;
 out:
	close_reset(&fd);
	return rc;
}

struct gmem_region *
gmem_find(struct gmem *mem, const struct gmem_desc *r, bool offset)
{
	struct gmem_region	*mr;
	unsigned int		 i;

	for (i = 0; i < mem->mm_nregions; i++) {
		mr = &mem->mm_regions[i];
		if (mr->mr_gpa == r->gd_gpa && mr->mr_size == r->gd_size &&
		    mr->mr_uva == r->gd_uva &&
		    (!offset || mr->mr_offset == r->gd_offset))
			return mr;
	}
	return NULL;
}

int
gmem_take(struct gmem *mem, const struct gmem_desc *r,
    struct gmem_region *out)
{
	struct gmem_region	*mr;
	unsigned int		 i;

	for (i = 0; i < mem->mm_nregions; i++) {
		mr = &mem->mm_regions[i];
		if (mr->mr_gpa != r->gd_gpa ||
		    mr->mr_size != r->gd_size ||
		    mr->mr_uva != r->gd_uva)
			continue;
		*out = *mr;
		memmove(&mem->mm_regions[i], &mem->mm_regions[i + 1],
		    (mem->mm_nregions - i - 1) * sizeof(mem->mm_regions[0]));
		mem->mm_nregions--;
		memset(&mem->mm_regions[mem->mm_nregions], 0,
		    sizeof(mem->mm_regions[0]));
		return 0;
	}
	return -ENOENT;
}

void
gmem_region_unmap(struct gmem_region *mr)
{
	if (mr->mr_map != NULL)
		munmap(mr->mr_map, mr->mr_maplen);
	memset(mr, 0, sizeof(*mr));
}

int
gmem_remove(struct gmem *mem, const struct gmem_desc *r)
{
	struct gmem_region	mr;
	int			rc;

	if ((rc = gmem_take(mem, r, &mr)) != 0)
		return rc;
	gmem_region_unmap(&mr);
	return 0;
}

void
gmem_swap(struct gmem *a, struct gmem *b)
{
	struct gmem_region	t;
	unsigned int		i, n, k;

	n = MAX(a->mm_nregions, b->mm_nregions);
	for (i = 0; i < n; i++) {
		t = a->mm_regions[i];
		a->mm_regions[i] = b->mm_regions[i];
		b->mm_regions[i] = t;
	}
	k = a->mm_nregions;
	a->mm_nregions = b->mm_nregions;
	b->mm_nregions = k;
}

bool
gmem_maps(const struct gmem *mem, const void *addr)
{
	const struct gmem_region	*r;
	uintptr_t			 a = (uintptr_t)addr, start;
	unsigned int			 i, n = mem->mm_nregions;

	if (n > GMEM_MAX_REGIONS)
		return false;
	for (i = 0; i < n; i++) {
		r = &mem->mm_regions[i];
		start = (uintptr_t)r->mr_map;
		if (r->mr_map != NULL && a >= start && a - start < r->mr_maplen)
			return true;
	}
	return false;
}

void
gmem_clear(struct gmem *mem)
{
	unsigned int	i;

	for (i = 0; i < mem->mm_nregions; i++)
		munmap(mem->mm_regions[i].mr_map, mem->mm_regions[i].mr_maplen);
	gmem_init(mem);
}

void *
gmem_gpa_span(const struct gmem *mem, uint64_t gpa, uint64_t len,
    uint64_t *avail)
{
	const struct gmem_region	*r;
	uint64_t			 off;

	*avail = 0;
	if ((r = mem_find_gpa(mem, gpa)) == NULL)
		return NULL;
	off = gpa - r->mr_gpa;
	*avail = MIN(len, r->mr_size - off);
	return r->mr_host + off;
}

void *
gmem_gpa(const struct gmem *mem, uint64_t gpa, uint64_t len)
{
	const struct gmem_region	*r;
	uint64_t			 off;

	if (len == 0)
		len = 1;
	if ((r = mem_find_gpa(mem, gpa)) == NULL)
		return NULL;
	off = gpa - r->mr_gpa;
	if (len > r->mr_size - off)
		return NULL;
	return r->mr_host + off;
}

void *
gmem_uva(const struct gmem *mem, uint64_t uva, uint64_t len)
{
	const struct gmem_region	*r;
	unsigned int			 i;
	uint64_t			 off;

	if (len == 0)
		len = 1;
	for (i = 0; i < mem->mm_nregions; i++) {
		r = &mem->mm_regions[i];
		if (uva < r->mr_uva || uva - r->mr_uva >= r->mr_size)
			continue;
		off = uva - r->mr_uva;
		if (len > r->mr_size - off)
			return NULL;
		return r->mr_host + off;
	}
	return NULL;
}
