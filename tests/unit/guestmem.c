/*
 * guestmem.c - the unit tests' guest memory fixture (guestmem.h).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "guestmem.h"

void
guestmem_create(struct guestmem *g, size_t size, uint64_t uva)
{
	int	fd = guestmem_fd(size);
	void	*p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(p, MAP_FAILED, "mmap of the guest memory");
	g->gm_fd = fd;
	g->gm_base = p;
	g->gm_size = size;
	g->gm_uva = uva;
}

void
guestmem_destroy(struct guestmem *g)
{
	if (g->gm_size == 0)
		return;		/* never created, or destroyed already */
	munmap(g->gm_base, g->gm_size);
	close(g->gm_fd);
	memset(g, 0, sizeof(*g));
	g->gm_fd = -1;
}

void *
guestmem_ptr(const struct guestmem *g, uint64_t gpa)
{
	cr_assert_lt(gpa, g->gm_size, "gpa 0x%llx outside the guest memory",
	    (unsigned long long)gpa);
	return g->gm_base + gpa;
}

struct gmem_desc
guestmem_desc(const struct guestmem *g, uint64_t off, uint64_t len)
{
	struct gmem_desc	d = {
		.gd_gpa = off,
		.gd_size = len,
		.gd_uva = g->gm_uva + off,
		.gd_offset = off,
	};

	return d;
}

struct vhost_user_mem_region
guestmem_wire(const struct guestmem *g, uint64_t off, uint64_t len)
{
	struct vhost_user_mem_region	r = {
		.guest_phys_addr = off,
		.memory_size = len,
		.userspace_addr = g->gm_uva + off,
		.mmap_offset = off,
	};

	return r;
}

void
guestmem_add(const struct guestmem *g, struct gmem *mem, uint64_t off,
    uint64_t len)
{
	struct gmem_desc	d = guestmem_desc(g, off, len);
	int			fd = dup(g->gm_fd);

	cr_assert_geq(fd, 0);
	cr_assert_eq(gmem_add(mem, &d, fd), 0, "gmem_add [0x%llx, +0x%llx)",
	    (unsigned long long)off, (unsigned long long)len);
}

int
guestmem_fd(size_t size)
{
	int	fd = memfd_create("vhostd-test-guest", MFD_CLOEXEC);

	cr_assert_geq(fd, 0, "memfd_create");
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	return fd;
}

int
guestmem_pattern_fd(size_t len, unsigned int seed)
{
	uint8_t	*buf;
	size_t	 i;
	int	 fd;

	fd = memfd_create("vhostd-test-pattern", MFD_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_not_null(buf = malloc(len));
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + seed);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	free(buf);
	return fd;
}
