/*
 * mem_test.c - guest memory table: mapping, translation bounds, overlap and
 * wrap rejection, 509 slots, removal, and spans across adjacent regions.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "mem/gmem.h"
#include "guestmem.h"

#define PG	4096u

static struct gmem	mem;

static void
setup(void)
{
	gmem_init(&mem);
}

static void
teardown(void)
{
	gmem_clear(&mem);
}

TestSuite(mem, .init = setup, .fini = teardown);

static struct gmem_desc
region(uint64_t gpa, uint64_t size, uint64_t uva, uint64_t off)
{
	struct gmem_desc	r = { gpa, size, uva, off };

	return r;
}

static int
fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

Test(mem, add_and_translate)
{
	struct gmem_desc	r;
	uint8_t				*p;
	int				 fd;

	fd = guestmem_pattern_fd(16 * PG, 0);
	/* Offset not page aligned: the engine maps the page below it. */
	r = region(0x100000, 4 * PG, 0x7f0000000000, 2 * PG + 0x100);
	cr_assert_eq(gmem_add(&mem, &r, fd), 0);
	cr_assert_not(fd_is_open(fd), "gmem_add must close the fd");
	cr_assert_eq(mem.mm_nregions, 1);

	cr_assert_not_null(p = gmem_gpa(&mem, 0x100000, 16));
	cr_assert_eq(p[0], (uint8_t)((2 * PG + 0x100) * 7));
	cr_assert_eq(p[5], (uint8_t)((2 * PG + 0x105) * 7));
	cr_assert_eq(gmem_uva(&mem, 0x7f0000000000 + 5, 1), p + 5);
	cr_assert_eq(gmem_gpa(&mem, 0x100000 + 4 * PG - 1, 0),
	    p + 4 * PG - 1);

	/* Writes go to the shared file. */
	p[1] = 0xaa;
	cr_assert_eq(((uint8_t *)gmem_gpa(&mem, 0x100001, 1))[0], 0xaa);
}

Test(mem, bounds)
{
	struct gmem_desc	r = region(0x10000, PG, 0x5000, 0);

	cr_assert_eq(gmem_add(&mem, &r, guestmem_pattern_fd(PG, 1)), 0);
	cr_assert_null(gmem_gpa(&mem, 0xffff, 1));
	cr_assert_not_null(gmem_gpa(&mem, 0x10000, PG));
	cr_assert_null(gmem_gpa(&mem, 0x10000, PG + 1));
	cr_assert_not_null(gmem_gpa(&mem, 0x10000 + PG - 1, 1));
	cr_assert_null(gmem_gpa(&mem, 0x10000 + PG - 1, 2));
	cr_assert_null(gmem_gpa(&mem, 0x10000 + PG, 1));
	cr_assert_null(gmem_gpa(&mem, 0x10001, UINT64_MAX));
	cr_assert_null(gmem_uva(&mem, 0x4fff, 1));
	cr_assert_null(gmem_uva(&mem, 0x5000, PG + 1));
	cr_assert_null(gmem_uva(&mem, 0x5000 + PG, 1));
	cr_assert_null(gmem_uva(&mem, 0x5001, UINT64_MAX));
}

Test(mem, invalid_regions_rejected_and_fd_closed)
{
	struct gmem_desc	r;
	int				fd;

	r = region(0, 0, 0, 0);
	fd = guestmem_pattern_fd(PG, 0);
	cr_assert_eq(gmem_add(&mem, &r, fd), -EINVAL);
	cr_assert_not(fd_is_open(fd));

	r = region(UINT64_MAX - PG + 2, PG, 0, 0);		/* gpa wraps */
	fd = guestmem_pattern_fd(PG, 0);
	cr_assert_eq(gmem_add(&mem, &r, fd), -EINVAL);
	cr_assert_not(fd_is_open(fd));

	r = region(0, PG, UINT64_MAX - 10, 0);			/* uva wraps */
	cr_assert_eq(gmem_add(&mem, &r, guestmem_pattern_fd(PG, 0)), -EINVAL);

	r = region(0, PG, 0, UINT64_MAX - 10);			/* offset wraps */
	cr_assert_eq(gmem_add(&mem, &r, guestmem_pattern_fd(PG, 0)), -EINVAL);

	r = region(0, PG, 0, 0);
	cr_assert_eq(gmem_add(&mem, &r, -1), -EINVAL);
	cr_assert_eq(mem.mm_nregions, 0);
}

Test(mem, overlap_rejected)
{
	struct gmem_desc	r;
	int				fd;

	r = region(0x10000, 4 * PG, 0x100000, 0);
	cr_assert_eq(gmem_add(&mem, &r, guestmem_pattern_fd(4 * PG, 0)), 0);

	r = region(0x10000 + 3 * PG, 2 * PG, 0x200000, 0);	/* tail */
	fd = guestmem_pattern_fd(2 * PG, 0);
	cr_assert_eq(gmem_add(&mem, &r, fd), -EINVAL);
	cr_assert_not(fd_is_open(fd));
	r = region(0x10000 - PG, 2 * PG, 0x200000, 0);		/* head */
	cr_assert_eq(gmem_add(&mem, &r, guestmem_pattern_fd(2 * PG, 0)), -EINVAL);
	r = region(0x10000 + PG, PG, 0x200000, 0);		/* inside */
	cr_assert_eq(gmem_add(&mem, &r, guestmem_pattern_fd(PG, 0)), -EINVAL);
	r = region(0, 32 * PG, 0x200000, 0);			/* around */
	cr_assert_eq(gmem_add(&mem, &r, guestmem_pattern_fd(32 * PG, 0)), -EINVAL);
	cr_assert_eq(mem.mm_nregions, 1);

	/* Adjacent on both sides is fine. */
	r = region(0x10000 - PG, PG, 0x200000, 0);
	cr_assert_eq(gmem_add(&mem, &r, guestmem_pattern_fd(PG, 0)), 0);
	r = region(0x10000 + 4 * PG, PG, 0x300000, 0);
	cr_assert_eq(gmem_add(&mem, &r, guestmem_pattern_fd(PG, 0)), 0);
	cr_assert_eq(mem.mm_nregions, 3);
}

Test(mem, all_509_slots_sorted_and_found)
{
	struct gmem_desc	r;
	unsigned int			i, k;
	uint8_t				*p;
	int				fd;

	fd = guestmem_pattern_fd(GMEM_MAX_REGIONS * PG, 3);
	/* Insert in a scrambled order (509 is prime, 200 is a generator
	 * of a permutation), leaving a one-page hole after each region. */
	for (k = 0; k < GMEM_MAX_REGIONS; k++) {
		i = (k * 200) % GMEM_MAX_REGIONS;
		r = region((uint64_t)i * 2 * PG, PG, 0x10000000 + i * PG,
		    (uint64_t)i * PG);
		cr_assert_eq(gmem_add(&mem, &r, dup(fd)), 0, "slot %u", k);
	}
	cr_assert_eq(mem.mm_nregions, GMEM_MAX_REGIONS);
	for (i = 1; i < mem.mm_nregions; i++)
		cr_assert_lt(mem.mm_regions[i - 1].mr_gpa,
		    mem.mm_regions[i].mr_gpa);

	r = region(1ull << 40, PG, 0x90000000, 0);
	cr_assert_eq(gmem_add(&mem, &r, dup(fd)), -ENOSPC);

	for (i = 0; i < GMEM_MAX_REGIONS; i++) {
		p = gmem_gpa(&mem, (uint64_t)i * 2 * PG + 9, 1);
		cr_assert_not_null(p, "region %u", i);
		cr_assert_eq(*p, (uint8_t)(((uint64_t)i * PG + 9) * 7 + 3));
		cr_assert_null(gmem_gpa(&mem, (uint64_t)i * 2 * PG + PG,
		    1), "hole after %u", i);
		cr_assert_eq(gmem_uva(&mem, 0x10000000 + i * PG + 9, 1), p);
	}
	close(fd);
}

Test(mem, remove)
{
	struct gmem_desc	a = region(0, PG, 0x1000000, 0);
	struct gmem_desc	b = region(PG, PG, 0x2000000, 0);
	struct gmem_desc	c = region(2 * PG, PG, 0x3000000, 0);
	struct gmem_desc	wrong = b;

	cr_assert_eq(gmem_add(&mem, &a, guestmem_pattern_fd(PG, 0)), 0);
	cr_assert_eq(gmem_add(&mem, &b, guestmem_pattern_fd(PG, 1)), 0);
	cr_assert_eq(gmem_add(&mem, &c, guestmem_pattern_fd(PG, 2)), 0);

	wrong.gd_uva++;
	cr_assert_eq(gmem_remove(&mem, &wrong), -ENOENT);
	cr_assert_eq(gmem_remove(&mem, &b), 0);
	cr_assert_eq(mem.mm_nregions, 2);
	cr_assert_null(gmem_gpa(&mem, PG, 1));
	cr_assert_eq(*(uint8_t *)gmem_gpa(&mem, 2 * PG, 1), 2);
	cr_assert_eq(*(uint8_t *)gmem_gpa(&mem, 0, 1), 0);
	cr_assert_eq(gmem_remove(&mem, &b), -ENOENT);

	/* The slot can be used again. */
	cr_assert_eq(gmem_add(&mem, &b, guestmem_pattern_fd(PG, 5)), 0);
	cr_assert_eq(*(uint8_t *)gmem_gpa(&mem, PG, 1), 5);

	gmem_clear(&mem);
	cr_assert_eq(mem.mm_nregions, 0);
	cr_assert_null(gmem_gpa(&mem, 0, 1));
}

Test(mem, span_across_adjacent_regions)
{
	struct gmem_desc	a = region(0x100000, PG, 0x1000000, 0);
	struct gmem_desc	b = region(0x100000 + PG, PG,
	    0x5000000, 0);
	uint64_t			 avail;
	uint8_t				*p;

	cr_assert_eq(gmem_add(&mem, &a, guestmem_pattern_fd(PG, 10)), 0);
	cr_assert_eq(gmem_add(&mem, &b, guestmem_pattern_fd(PG, 20)), 0);

	/* One lookup may not cross the boundary... */
	cr_assert_null(gmem_gpa(&mem, 0x100000 + PG - 96, 200));
	/* ...but a span lookup splits it. */
	p = gmem_gpa_span(&mem, 0x100000 + PG - 96, 200, &avail);
	cr_assert_not_null(p);
	cr_assert_eq(avail, 96);
	cr_assert_eq(*p, (uint8_t)((PG - 96) * 7 + 10));
	p = gmem_gpa_span(&mem, 0x100000 + PG, 200 - 96, &avail);
	cr_assert_not_null(p);
	cr_assert_eq(avail, 104);
	cr_assert_eq(*p, 20);

	/* Past the last region: nothing. */
	cr_assert_null(gmem_gpa_span(&mem, 0x100000 + 2 * PG, 1, &avail));
	cr_assert_eq(avail, 0);
	p = gmem_gpa_span(&mem, 0x100000 + 2 * PG - 1, 10, &avail);
	cr_assert_not_null(p);
	cr_assert_eq(avail, 1);
}

Test(mem, region_beyond_its_file_rejected)
{
	struct gmem_desc	r;
	int				fd;

	/* Touching a mapping past the end of its file would be SIGBUS. */
	r = region(0x10000, 4 * PG, 0x100000, 0);
	fd = guestmem_pattern_fd(2 * PG, 0);
	cr_assert_eq(gmem_add(&mem, &r, fd), -EINVAL);
	cr_assert_not(fd_is_open(fd));
	r = region(0x10000, 2 * PG, 0x100000, PG);		/* offset */
	cr_assert_eq(gmem_add(&mem, &r, guestmem_pattern_fd(2 * PG, 0)), -EINVAL);
	cr_assert_eq(mem.mm_nregions, 0);
	/* Exactly the file, or a part of it, is fine. */
	r = region(0x10000, PG, 0x100000, PG);
	cr_assert_eq(gmem_add(&mem, &r, guestmem_pattern_fd(2 * PG, 0)), 0);
	cr_assert_eq(mem.mm_nregions, 1);
}

/*
 * Guest memory that can shrink (issue 8.5): a memfd that allows sealing
 * but is not sealed against shrinking is refused.  QEMU's default
 * (seal=on) seals GROW|SHRINK|SEAL; a memfd made without
 * MFD_ALLOW_SEALING (QEMU's seal=off) reads as F_SEAL_SEAL, as any tmpfs
 * file does, and is accepted (its truncation is caught where it faults).
 */
static int
sized_memfd(unsigned int flags, int seals)
{
	int	fd = memfd_create("mem_test", MFD_CLOEXEC | flags);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 4 * PG), 0);
	if (seals != 0)
		cr_assert_eq(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

Test(mem, sealable_memfd_without_shrink_seal_refused)
{
	struct gmem_desc	r = region(0, 4 * PG, 0x10000, 0);

	cr_assert_eq(gmem_add(&mem, &r, sized_memfd(MFD_ALLOW_SEALING, 0)),
	    -EPERM);
	cr_assert_eq(gmem_add(&mem, &r, sized_memfd(MFD_ALLOW_SEALING,
	    F_SEAL_GROW)), -EPERM);
	cr_assert_eq(mem.mm_nregions, 0);
	/* QEMU's default seals. */
	cr_assert_eq(gmem_add(&mem, &r, sized_memfd(MFD_ALLOW_SEALING,
	    F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)), 0);
	/* Not sealable (seal=off, tmpfs): accepted. */
	r = region(0x10000, 4 * PG, 0x20000, 0);
	cr_assert_eq(gmem_add(&mem, &r, sized_memfd(0, 0)), 0);
	cr_assert_eq(mem.mm_nregions, 2);
}
