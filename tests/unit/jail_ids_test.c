/*
 * jail_ids_test.c - the per-device id range (sandbox/jail_ids.c) and its
 * option (--uid-range): ids stable per name, never one the system uses,
 * collisions resolved, a full range shared, bad ranges refused.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jail.h"

static struct jail_config
root_config(uint32_t base, uint32_t count)
{
	struct jail_config	jc;

	jail_config_init(&jc);
	/* The range applies to a root parent (no user namespace). */
	jc.jc_userns = false;
	jc.jc_id_base = base;
	jc.jc_id_count = count;
	return jc;
}

Test(jail_ids, the_same_name_gets_the_same_id_and_names_differ)
{
	struct jail_config	 jc = root_config(3000000, 1000);
	struct jail_ids		*a, *b;
	uint32_t		 x, y, z;

	cr_assert_not_null(a = jail_ids_new(&jc));
	cr_assert_not_null(b = jail_ids_new(&jc));
	cr_assert_eq(jail_ids_take(a, "disk0", &x), 0);
	cr_assert_eq(jail_ids_take(a, "disk1", &y), 0);
	cr_assert_neq(x, y);
	cr_assert(x >= 3000000 && x < 3001000 && y >= 3000000 && y < 3001000);
	/* Another vhostd (a restart) with the same names: the same ids. */
	cr_assert_eq(jail_ids_take(b, "disk1", &z), 0);
	cr_assert_eq(z, y);
	cr_assert_eq(jail_ids_take(b, "disk0", &z), 0);
	cr_assert_eq(z, x);
	/* Given back and taken again (a reload replacing it): the same. */
	jail_ids_put(a, x);
	cr_assert_eq(jail_ids_take(a, "disk0", &z), 0);
	cr_assert_eq(z, x);
	jail_ids_free(a);
	jail_ids_free(b);
}

Test(jail_ids, ids_the_system_uses_are_skipped)
{
	/* 0..63: root, daemon, bin, sys, ... are in the user database. */
	struct jail_config	 jc = root_config(0, 64);
	struct jail_ids		*ji;
	unsigned int		 i;
	uint32_t		 id;
	int			 rc;

	cr_assert_not_null(ji = jail_ids_new(&jc));
	cr_assert_geq(jail_ids_reserved(ji), 1, "root is not reserved");
	fprintf(stderr, "jail_ids: %u of 0..63 used by the system\n",
	    jail_ids_reserved(ji));
	for (i = 0; i < 64; i++) {
		rc = jail_ids_take(ji, "x", &id);
		if (rc == 1)
			break;
		cr_assert_eq(rc, 0);
		cr_assert_null(getpwuid(id), "id %u is a user", id);
		cr_assert_neq(id, 0);
	}
	/* All free ones taken: the next shares one (never a system id). */
	cr_assert_eq(i, 64 - jail_ids_reserved(ji));
	cr_assert_eq(jail_ids_take(ji, "y", &id), 1);
	cr_assert_null(getpwuid(id));
	jail_ids_free(ji);
}

Test(jail_ids, collisions_take_the_next_free_id)
{
	struct jail_config	 jc = root_config(3000000, 4);
	struct jail_ids		*ji;
	uint32_t		 id[4];
	unsigned int		 i, j;

	cr_assert_not_null(ji = jail_ids_new(&jc));
	for (i = 0; i < 4; i++) {
		cr_assert_eq(jail_ids_take(ji, i % 2 ? "same" : "other", &id[i]),
		    0);
		for (j = 0; j < i; j++)
			cr_assert_neq(id[i], id[j]);
	}
	jail_ids_free(ji);
}

Test(jail_ids, no_allocator_where_ids_do_not_apply)
{
	struct jail_config	jc = root_config(3000000, 16);
	char			err[256];

	jc.jc_userns = true;
	cr_assert_null(jail_ids_new(&jc), "a user namespace maps one uid");
	jc = root_config(3000000, 16);
	cr_assert_eq(jail_config_set_user(&jc, "nobody", err, sizeof(err)), 0);
	cr_assert_null(jail_ids_new(&jc), "--user names every child's user");
	jc = root_config(3000000, 16);
	cr_assert_eq(jail_config_set_id_range(&jc, "off", err, sizeof(err)),
	    0);
	cr_assert_null(jail_ids_new(&jc));
	jc = root_config(3000000, 16);
	jc.jc_enabled = false;
	cr_assert_null(jail_ids_new(&jc));
}

Test(jail_ids, the_option_refuses_unsafe_ranges)
{
	struct jail_config	jc;
	char			err[256];

	jail_config_init(&jc);
	cr_assert_eq(jc.jc_id_base, JAIL_ID_BASE_DEFAULT);
	cr_assert_eq(jc.jc_id_count, JAIL_ID_COUNT_DEFAULT);
	/* The default range holds neither nobody nor 16-bit -1. */
	cr_assert_gt(JAIL_ID_BASE_DEFAULT, 65535);
	cr_assert_eq(jail_config_set_id_range(&jc, "200000:100", err,
	    sizeof(err)), 0);
	cr_assert_eq(jc.jc_id_base, 200000);
	cr_assert_eq(jc.jc_id_count, 100);
	cr_assert_eq(jail_config_set_id_range(&jc, "0:10", err, sizeof(err)),
	    -EINVAL, "holds root");
	cr_assert_eq(jail_config_set_id_range(&jc, "65000:1000", err,
	    sizeof(err)), -EINVAL, "holds nobody");
	cr_assert_not_null(strstr(err, "65534"), "%s", err);
	cr_assert_eq(jail_config_set_id_range(&jc, "2147483600:100", err,
	    sizeof(err)), -EINVAL, "past 2^31");
	cr_assert_eq(jail_config_set_id_range(&jc, "100000", err,
	    sizeof(err)), -EINVAL);
	cr_assert_eq(jail_config_set_id_range(&jc, "100000:0", err,
	    sizeof(err)), -EINVAL);
	cr_assert_eq(jail_config_set_id_range(&jc, "100000:65537", err,
	    sizeof(err)), -EINVAL);
	/* Refused values change nothing. */
	cr_assert_eq(jc.jc_id_base, 200000);
	cr_assert_eq(jc.jc_id_count, 100);
}
