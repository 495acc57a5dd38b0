/*
 * conffile_test.c - vhostd.conf parsing: every construct and every error
 * with its file:line.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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
	cr_assert_eq(cf.cf_opts.go_verbose, 1);
	cr_assert_eq(cf.cf_opts.go_grace, 3);
	cr_assert_str_eq(cf.cf_opts.go_seccomp, "kill");
	cr_assert_null(cf.cf_opts.go_log);
	cr_assert_eq(cf.cf_opts.go_no_sandbox, -1);
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

/* The numeric globals take their whole range and not one more. */
Test(conffile, numeric_globals_are_bounded)
{
	struct conffile	cf;
	char		err[512];

	cr_assert_eq(parse_str("grace = 3600\nverbose = 3\n", &cf, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(cf.cf_opts.go_grace, 3600);
	cr_assert_eq(cf.cf_opts.go_verbose, 3);
	conffile_free(&cf);
	expect("grace = 3601\n",
	    "t.conf:1: grace = 3601: expected a number (seconds, 0-3600)");
	expect("verbose = 4\n",
	    "t.conf:1: verbose = 4: expected a number (0-3)");
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
	    "t.conf:4: device [a] defined twice (first at t.conf:1)");
	expect("[a]\ntype = rng\nname = b\n", "t.conf:3: the section header");
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
	cr_assert_str_eq(cf.cf_opts.go_restart_limit, "3/60");
	conffile_free(&cf);
	expect("restart-limit = often\n",
	    "t.conf:1: restart-limit = often: expected N/SECONDS");
}

/* Every error names the file, the line and the key as written. */
Test(conffile, errors_name_key_and_line)
{
	expect("[d]\ntype = blk\npath = /x\nqueues = 99\n",
	    "t.conf:4: [d] queues=99: expected a number from 1 to 16");
	expect("[d]\ntype = blk\npath = /x\nread-only = yes\n",
	    "t.conf:4: [d] read-only=yes: expected on or off");
	expect("[d]\ntype = blk\npath =\n", "t.conf:3: [d] path=: needs a path");
	expect("[d]\ntype = blk\nnull = lots\n",
	    "t.conf:3: [d] null=lots: expected a size");
	expect("[d]\ntype = blk\nlogical-block-size = 1024\n",
	    "t.conf:3: [d] logical-block-size=1024: expected 512 or 4096");
	expect("[d]\ntype = rng\nmode = 0999\n", "t.conf:3: [d] mode=0999");
	expect("[d/e]\ntype = rng\n", "t.conf:1: [d/e] name=d/e: use 1-32");
	expect("seccomp = bogus\n",
	    "t.conf:1: seccomp = bogus: expected kill, trap or log");
	expect("log = journal\n", "t.conf:1: log = journal: expected stderr");
	expect("verbose = 9\n", "t.conf:1: verbose = 9: expected a number");
	expect("user =\n", "t.conf:1: user = needs a value");
}

/* A key given twice is an error naming both lines. */
Test(conffile, duplicate_keys)
{
	expect("[a]\ntype = rng\nsocket = /x\nrestart = never\nsocket = /y\n",
	    "t.conf:5: [a] socket=/y: socket given twice (first "
	    "socket=/x at t.conf:3)");
	expect("[a]\ntype = rng\ntype = blk\n",
	    "t.conf:3: [a] type = blk: type given twice (first at t.conf:2)");
	expect("grace = 1\nuser = a\ngrace = 2\n",
	    "t.conf:3: grace = 2: grace given twice (first at t.conf:1)");
}

/* Values are taken as written: commas, '=' and spaces inside. */
Test(conffile, commas_in_values)
{
	struct conffile	cf;
	char		err[512];
	const char	*text = "[d]\ntype = blk\npath = /srv/a,b=c d.img\n"
			    "serial = x,y\n";

	cr_assert_eq(parse_str(text, &cf, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cf.cf_ndev, 1);
	cr_assert_str_eq(dev_opt_str(&cf.cf_dev[0].dc_opts, 0),
	    "/srv/a,b=c d.img");
	cr_assert_str_eq(cf.cf_dev[0].dc_opts.do_keys[0].dk_name, "path");
	conffile_free(&cf);
}

/* The global options and where they were given. */
Test(conffile, global_options)
{
	struct conffile	cf;
	char		err[512];
	const char	*text = "user = nobody\nlog = syslog\ncontrol = /run/c"
			    "\nsandbox = no\njail-disable = netns\n"
			    "uid-range = 200000:50\n";

	cr_assert_eq(parse_str(text, &cf, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cf.cf_opts.go_user, "nobody");
	cr_assert_str_eq(cf.cf_opts.go_log, "syslog");
	cr_assert_str_eq(cf.cf_opts.go_control, "/run/c");
	cr_assert_eq(cf.cf_opts.go_no_sandbox, 1);
	cr_assert_str_eq(cf.cf_opts.go_user_where, "t.conf:1: user = nobody");
	cr_assert_str_eq(cf.cf_opts.go_jail_disable_where,
	    "t.conf:5: jail-disable = netns");
	cr_assert_str_eq(cf.cf_opts.go_uid_range, "200000:50");
	cr_assert_str_eq(cf.cf_opts.go_uid_range_where,
	    "t.conf:6: uid-range = 200000:50");
	conffile_free(&cf);
}

/*
 * Reload compares typed configurations: the same device written in
 * another order, with other spacing, a default spelled out, or a value
 * spelled differently (0660 / 660) is unchanged; any changed value is a
 * change.
 */
Test(conffile, reload_compares_typed_values)
{
	struct conffile	a, b;
	char		err[512];
	const char	*base = "[d]\ntype = blk\npath = /srv/x.img\n"
			    "mode = 0660\n";
	const char	*same = "# moved\n\n[d]\nmode=660\nrestart = always\n"
			    "type = blk\nqueues = 01\npath=/srv/x.img\n"
			    "lock = on\n";
	const char *const changed[] = {
		"[d]\ntype = blk\npath = /srv/y.img\nmode = 0660\n",
		"[d]\ntype = blk\npath = /srv/x.img\nmode = 0600\n",
		"[d]\ntype = blk\npath = /srv/x.img\nmode = 0660\n"
		    "queues = 2\n",
		"[d]\ntype = blk\npath = /srv/x.img\nmode = 0660\n"
		    "discard = off\n",
		"[d]\ntype = blk\npath = /srv/x.img\nmode = 0660\n"
		    "restart = never\n",
		"[d]\ntype = blk\npath = /srv/x.img\nmode = 0660\n"
		    "socket = /run/d.sock\n",
		"[d]\ntype = rng\nmode = 0660\n",
	};
	unsigned int	i;

	cr_assert_eq(parse_str(base, &a, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(parse_str(same, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert(device_conf_equal(&a.cf_dev[0], &b.cf_dev[0]));
	cr_assert(device_conf_equal(&b.cf_dev[0], &a.cf_dev[0]));
	conffile_free(&b);
	for (i = 0; i < ARRAY_SIZE(changed); i++) {
		cr_assert_eq(parse_str(changed[i], &b, err, sizeof(err)), 0,
		    "%s", err);
		cr_assert(!device_conf_equal(&a.cf_dev[0], &b.cf_dev[0]),
		    "equal: %s", changed[i]);
		conffile_free(&b);
	}
	conffile_free(&a);
}

/* No fixed number of devices. */
Test(conffile, many_devices)
{
	struct conffile	cf;
	char		err[512], *text;
	size_t		len = 0, cap = 300 * 64;
	unsigned int	i;
	FILE		*f;

	cr_assert_not_null(text = malloc(cap));
	for (i = 0; i < 300; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "[r%u]\ntype = rng\nsocket = /run/r%u.sock\n", i, i);
	cr_assert_not_null(f = fmemopen(text, len, "r"));
	cr_assert_eq(conffile_parse(f, "t.conf", &cf, err, sizeof(err)), 0,
	    "%s", err);
	fclose(f);
	cr_assert_eq(cf.cf_ndev, 300);
	cr_assert_str_eq(cf.cf_dev[299].dc_name, "r299");
	conffile_free(&cf);
	free(text);
}
