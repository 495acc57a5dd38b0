/*
 * conffile_test.c - vhostd.conf parsing: every construct and every error
 * with its file:line.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conffile.h"

static int
parse_str(const char *text, struct conffile *cf, char *err, size_t len)
{
	FILE	*f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	int	 rc;

	cr_assert_not_null(f);
	rc = conffile_parse(f, "t.conf", cf, err, len);
	fclose(f);
	return rc;
}

Test(conffile, good_file)
{
	struct conffile	cf;
	char		err[512];

	cr_assert_eq(conffile_load("tests/data/conf/good.conf", &cf, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(cf.cf_ndev, 2);
	cr_assert_eq(cf.cf_verbose, 1);
	cr_assert_eq(cf.cf_grace, 3);
	cr_assert_str_eq(cf.cf_seccomp, "kill");
	cr_assert_str_eq(cf.cf_dev[0].dc_name, "vm1-rng");
	cr_assert_str_eq(cf.cf_dev[0].dc_type->dt_name, "rng");
	cr_assert_str_eq(cf.cf_dev[0].dc_socket, "/run/vhostd/vm1-rng.sock");
	cr_assert_eq(cf.cf_dev[0].dc_restart, RESTART_ON_FAILURE);
	cr_assert_str_eq(cf.cf_dev[1].dc_name, "vm2-rng");
	cr_assert_eq(cf.cf_dev[1].dc_mode, 0660);
	cr_assert_eq(cf.cf_dev[1].dc_restart, RESTART_ALWAYS);
	conffile_free(&cf);
}

Test(conffile, empty_is_valid)
{
	struct conffile	cf;
	char		err[512];

	cr_assert_eq(parse_str("# nothing\n\n", &cf, err, sizeof(err)), 0);
	cr_assert_eq(cf.cf_ndev, 0);
	conffile_free(&cf);
}

static void
expect(const char *text, const char *msg)
{
	struct conffile	cf;
	char		err[512] = "";

	cr_assert_lt(parse_str(text, &cf, err, sizeof(err)), 0,
	    "accepted:\n%s", text);
	cr_assert_not_null(strstr(err, msg), "got '%s', want '%s'", err, msg);
	cr_assert_eq(cf.cf_ndev, 0);
}

Test(conffile, errors_name_file_and_line)
{
	expect("[a]\ntype = rng\nsocket = /x\ncolour = red\n",
	    "t.conf:4: [a] rng: unknown key 'colour'");
	expect("[a]\ntype = floppy\nsocket = /x\n",
	    "t.conf:2: [a] unknown device type 'floppy'");
	expect("\n[a]\nsocket = /x\n", "t.conf:2: [a] has no type = line");
	expect("[a]\ntype = rng\nsocket = /x\nfd = 5\n",
	    "t.conf:4: [a] rng: 'socket' and 'fd' both given");
	expect("[a]\ntype = rng\nsocket = /x\nrestart = maybe\n",
	    "t.conf:4: [a] restart=maybe");
	expect("bogus = 1\n", "t.conf:1: unknown global option 'bogus'");
	expect("grace = soon\n", "t.conf:1: grace = soon: expected a number");
	expect("[a\n", "t.conf:1: expected [NAME]");
	expect("[]\n", "t.conf:1: expected [NAME]");
	expect("[a]\njunk\n", "t.conf:2: expected key = value or [NAME]");
	expect("[a]\n= 3\n", "t.conf:2: missing key before '='");
	expect("[a]\ntype = rng\nsocket = /x\n[a]\n",
	    "t.conf:4: device [a] defined twice");
	expect("[a]\ntype = rng\nname = b\n", "t.conf:3: the section header");
	expect("[a]\ntype = rng\nsocket = /x,y\n", "t.conf:3: socket: commas");
	expect("sandbox = maybe\n", "t.conf:1: sandbox = maybe");
}

Test(conffile, missing_file)
{
	struct conffile	cf;
	char		err[512];

	cr_assert_eq(conffile_load("/nonexistent/v.conf", &cf, err,
	    sizeof(err)), -ENOENT);
	cr_assert_not_null(strstr(err, "/nonexistent/v.conf"));
}

Test(conffile, restart_limit)
{
	struct conffile	cf;
	char		err[256];
	FILE		*f;
	const char	*good = "restart-limit = 3/60\n[a]\ntype = rng\n"
			    "socket = /x\n";

	cr_assert_not_null(f = fmemopen((void *)(uintptr_t)good, strlen(good),
	    "r"));
	cr_assert_eq(conffile_parse(f, "t.conf", &cf, err, sizeof(err)), 0,
	    "%s", err);
	fclose(f);
	cr_assert_str_eq(cf.cf_restart_limit, "3/60");
	conffile_free(&cf);
	expect("restart-limit = often\n",
	    "t.conf:1: restart-limit = often: expected N/SECONDS");
}
