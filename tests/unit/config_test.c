/*
 * config_test.c - --device specification parsing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "config.h"

Test(config, minimal_rng)
{
	struct device_conf	dc;
	char			err[256];

	cr_assert_eq(config_parse_device("rng,socket=/run/a.sock",
	    RESTART_ALWAYS, &dc, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(dc.dc_type->dt_name, "rng");
	cr_assert_str_eq(dc.dc_socket, "/run/a.sock");
	cr_assert_str_eq(dc.dc_name, "rng");
	cr_assert_eq(dc.dc_restart, RESTART_ALWAYS);
	cr_assert_eq(dc.dc_mode, 0600);
	cr_assert_eq(dc.dc_fd, -1);
	cr_assert_eq(dc.dc_opts.do_nkeys, 0);
	config_device_free(&dc);
}

Test(config, common_keys)
{
	struct device_conf	dc;
	char			err[256];

	cr_assert_eq(config_parse_device("rng,fd=5,restart=on-failure,"
	    "name=vm1-rng,mode=0660", RESTART_ALWAYS, &dc, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(dc.dc_fd, 5);
	cr_assert_null(dc.dc_socket);
	cr_assert_eq(dc.dc_restart, RESTART_ON_FAILURE);
	cr_assert_str_eq(dc.dc_name, "vm1-rng");
	cr_assert_eq(dc.dc_mode, 0660);
	config_device_free(&dc);
}

static void
expect_error(const char *spec, const char *msg)
{
	struct device_conf	dc;
	char			err[256] = "";

	cr_assert_eq(config_parse_device(spec, RESTART_ALWAYS, &dc, err,
	    sizeof(err)), -EINVAL, "accepted '%s'", spec);
	cr_assert_not_null(strstr(err, msg), "'%s': got '%s', want '%s'",
	    spec, err, msg);
}

Test(config, errors)
{
	expect_error("floppy,socket=/a", "unknown device type 'floppy'");
	expect_error("rng,socket=/a,fd=4", "only one of socket=PATH or fd=N");
	expect_error("rng,socket=/a,restart=sometimes", "restart=sometimes");
	expect_error("rng,socket=/a,colour=blue", "unknown key 'colour'");
	expect_error("rng,socket=/a,junk", "'junk': expected key=value");
	expect_error("rng,fd=1", "fd=1");
	expect_error("rng,socket=/a,mode=999", "mode=999");
	expect_error("rng,socket=/a,name=a/b", "name=a/b");
	expect_error("rng,socket=/a,group=no-such-group-xyz",
	    "no such group");
	expect_error("", "empty device specification");
	expect_error("rng,socket=/a,", "'': expected key=value");
	expect_error("rng,socket=", "socket=: needs a path");
	expect_error("blk,queues=x", "queues=x: expected a number from 1 to 16");
	expect_error("blk,null=1", "null=1: expected a size");
	expect_error("blk,serial=123456789012345678901",
	    "serial=123456789012345678901: at most 20 bytes");
	expect_error("blk,direct=yes", "direct=yes: expected on or off");
	expect_error("blk,logical-block-size=1024",
	    "logical-block-size=1024: expected 512 or 4096");
	/* Aliases are for the backend-program options only. */
	expect_error("blk,blk-file=/x", "blk: unknown key 'blk-file'");
}

Test(config, restart_names)
{
	cr_assert_str_eq(config_restart_name(RESTART_NEVER), "never");
	cr_assert_str_eq(config_restart_name(RESTART_ON_FAILURE), "on-failure");
	cr_assert_str_eq(config_restart_name(RESTART_ALWAYS), "always");
}

/* ",," is a comma inside a value (QEMU's escape), anywhere in it. */
Test(config, comma_escape)
{
	struct device_conf	dc;
	char			err[256];

	cr_assert_eq(config_parse_device("blk,path=/srv/a,,b,,.img,"
	    "socket=/run/x,,y.sock,serial=,,,,", RESTART_ALWAYS, &dc, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(dev_opt_str(&dc.dc_opts, 0), "/srv/a,b,.img");
	cr_assert_str_eq(dc.dc_socket, "/run/x,y.sock");
	cr_assert_str_eq(dev_opt_str(&dc.dc_opts, 5), ",,");
	cr_assert_str_eq(dc.dc_type->dt_keys[5].dk_name, "serial");
	config_device_free(&dc);
	/* ",,," is a comma, then the next key. */
	cr_assert_eq(config_parse_device("rng,socket=/a,,,name=b",
	    RESTART_ALWAYS, &dc, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(dc.dc_socket, "/a,");
	cr_assert_str_eq(dc.dc_name, "b");
	config_device_free(&dc);
}

/* A key given twice is an error naming both occurrences. */
Test(config, duplicate_key)
{
	expect_error("rng,socket=a,socket=b",
	    "socket=b: socket given twice (first socket=a)");
	expect_error("blk,path=/x,queues=2,queues=2",
	    "queues=2: queues given twice");
}

/* Typed values, defaults from the table, and the builder's sources. */
Test(config, typed_values)
{
	struct device_conf	dc;
	char			err[256];

	cr_assert_eq(config_parse_device("blk,path=/x,null=2M,queues=4,"
	    "read-only=on", RESTART_NEVER, &dc, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(dev_opt_u64(&dc.dc_opts, 1), 2u << 20);
	cr_assert_eq(dev_opt_u64(&dc.dc_opts, 4), 4);
	cr_assert_eq(dev_opt_u64(&dc.dc_opts, 2), 1);
	cr_assert(dev_opt_given(&dc.dc_opts, 2));
	/* Defaults: given false, value from the row. */
	cr_assert(!dev_opt_given(&dc.dc_opts, 8));	/* lock */
	cr_assert_eq(dev_opt_u64(&dc.dc_opts, 8), 1);
	cr_assert_eq(dev_opt_u64(&dc.dc_opts, 9), 32);	/* poll-us */
	cr_assert_null(dev_opt_str(&dc.dc_opts, 7));	/* discard: auto */
	cr_assert_eq(dc.dc_restart, RESTART_NEVER);
	cr_assert_eq(dc.dc_gid, (gid_t)-1);
	config_device_free(&dc);

	/* The builder, as the file front end uses it. */
	cr_assert_eq(config_device_init(&dc, "rng", RESTART_ALWAYS, "f:1",
	    err, sizeof(err)), 0);
	cr_assert_eq(config_device_set(&dc, "socket", "/a", "f:2", 0, err,
	    sizeof(err)), 0);
	cr_assert_eq(config_device_set(&dc, "socket", "/b", "f:7", 0, err,
	    sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "f:7: socket=/b: socket given twice (first "
	    "socket=/a at f:2)");
	cr_assert_eq(config_device_set(&dc, "colour", "red", "f:8", 0, err,
	    sizeof(err)), -ENOENT);
	cr_assert_str_eq(err, "f:8: rng: unknown key 'colour'");
	cr_assert_eq(config_device_set(&dc, "socket-path", "/c", "f:9",
	    CONFIG_ALIAS, err, sizeof(err)), -EINVAL, "alias of a set key");
	cr_assert_eq(config_device_finish(&dc, err, sizeof(err)), 0);
	cr_assert_str_eq(dc.dc_socket, "/a");
	config_device_free(&dc);
}

/* Backend-program aliases resolve only when asked for. */
Test(config, aliases)
{
	bool		common;
	unsigned int	idx;

	cr_assert_null(config_key_find(&blk_device_type, "blk-file", 0,
	    &common, &idx));
	cr_assert_not_null(config_key_find(&blk_device_type, "blk-file",
	    CONFIG_ALIAS, &common, &idx));
	cr_assert(!common);
	cr_assert_str_eq(blk_device_type.dt_keys[idx].dk_name, "path");
	cr_assert_not_null(config_key_find(&blk_device_type, "socket-path",
	    CONFIG_ALIAS, &common, &idx));
	cr_assert(common);
	cr_assert_eq(idx, CK_SOCKET);
	cr_assert_not_null(config_key_find(&blk_device_type, "read-only",
	    CONFIG_ALIAS, &common, &idx));
	cr_assert_str_eq(blk_device_type.dt_keys[idx].dk_name, "read-only");
}

/*
 * Every table: names unique (also against the common keys and the other
 * keys' aliases), help present, defaults valid (the builder parses them),
 * ranges sane, and the table fits DEV_MAX_KEYS.
 */
Test(config, key_tables)
{
	const struct device_type	*dt;
	struct device_conf		 dc;
	const struct dev_key		*k, *f;
	char				 err[256];
	unsigned int			 t, i, idx;
	bool				 common;

	for (t = 0; (dt = device_types[t]) != NULL; t++) {
		cr_assert_leq(dt->dt_nkeys, DEV_MAX_KEYS, "%s", dt->dt_name);
		for (i = 0; i < dt->dt_nkeys; i++) {
			k = &dt->dt_keys[i];
			cr_assert_not_null(k->dk_help, "%s: %s", dt->dt_name,
			    k->dk_name);
			cr_assert_leq(k->dk_min, k->dk_max == 0 ? k->dk_min :
			    k->dk_max);
			cr_assert(k->dk_kind != DK_ENUM || k->dk_choices);
			f = config_key_find(dt, k->dk_name, 0, &common, &idx);
			cr_assert_eq(f, k, "%s: %s shadowed", dt->dt_name,
			    k->dk_name);
			if (k->dk_alias != NULL) {
				f = config_key_find(dt, k->dk_alias,
				    CONFIG_ALIAS, &common, &idx);
				cr_assert_eq(f, k, "%s: alias %s", dt->dt_name,
				    k->dk_alias);
			}
		}
		cr_assert_eq(config_device_init(&dc, dt->dt_name,
		    RESTART_ALWAYS, NULL, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(config_device_finish(&dc, err, sizeof(err)), 0,
		    "%s", err);
		for (i = 0; i < dt->dt_nkeys; i++)
			if (dt->dt_keys[i].dk_default != NULL)
				cr_assert_not_null(dev_opt_str(&dc.dc_opts, i));
		config_device_free(&dc);
	}
}

static struct global_opts
gopts(char *user, char *log, int grace, int verbose, int nosb)
{
	struct global_opts	g;

	config_global_init(&g);
	g.go_user = user;
	g.go_log = log;
	g.go_grace = grace;
	g.go_verbose = verbose;
	g.go_no_sandbox = nosb;
	return g;
}

/* vhostd.conf(5): the command line wins, field by field. */
Test(config, global_merge_command_line_wins)
{
	struct global_opts	cli, file, out;

	cli = gopts(NULL, (char *)"stderr", 7, -1, -1);
	snprintf(cli.go_user_where, sizeof(cli.go_user_where), "--user");
	file = gopts((char *)"vhostd", (char *)"syslog", 3, 2, 1);
	file.go_seccomp = (char *)"trap";
	file.go_control = (char *)"/run/f.ctl";
	snprintf(file.go_user_where, sizeof(file.go_user_where), "f:1");
	config_global_merge(&cli, &file, &out);
	cr_assert_str_eq(out.go_log, "stderr");		/* both: cli */
	cr_assert_eq(out.go_grace, 7);			/* both: cli */
	cr_assert_str_eq(out.go_user, "vhostd");	/* file only */
	cr_assert_str_eq(out.go_user_where, "f:1");
	cr_assert_eq(out.go_verbose, 2);
	cr_assert_eq(out.go_no_sandbox, 1);
	cr_assert_str_eq(out.go_seccomp, "trap");
	cr_assert_str_eq(out.go_control, "/run/f.ctl");
	cr_assert_null(out.go_policy_dir);		/* neither */
	/* grace = 0 on the command line is given, not absent. */
	cli = gopts((char *)"u", NULL, 0, 1, -1);
	snprintf(cli.go_user_where, sizeof(cli.go_user_where), "--user=u");
	config_global_merge(&cli, &file, &out);
	cr_assert_eq(out.go_grace, 0);
	cr_assert_eq(out.go_verbose, 1);
	cr_assert_str_eq(out.go_user, "u");
	cr_assert_str_eq(out.go_user_where, "--user=u");
	cr_assert_str_eq(out.go_log, "syslog");
	/* Nothing anywhere: nothing. */
	config_global_init(&cli);
	config_global_init(&file);
	config_global_merge(&cli, &file, &out);
	cr_assert_eq(out.go_grace, -1);
	cr_assert_null(out.go_log);
}

/*
 * user= and memory-max= (issue 9.5): typed, defaulted from the type, and
 * part of what a reload compares; uid-range merges like every global
 * option.
 */
Test(config, user_and_memory_max)
{
	struct device_conf	a, b;
	struct global_opts	cli, file, out;
	char			err[256];

	cr_assert_eq(config_parse_device("rng,socket=/r", RESTART_ALWAYS, &a,
	    err, sizeof(err)), 0, "%s", err);
	cr_assert_null(a.dc_user);
	cr_assert_eq(a.dc_mem_max, rng_device_type.dt_mem_limit);
	cr_assert_gt(rng_device_type.dt_mem_limit, 0);
	cr_assert_gt(blk_device_type.dt_mem_limit,
	    rng_device_type.dt_mem_limit);
	cr_assert_eq(config_parse_device("rng,socket=/r,user=nobody:nogroup,"
	    "memory-max=8M", RESTART_ALWAYS, &b, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_str_eq(b.dc_user, "nobody:nogroup");
	cr_assert_eq(b.dc_mem_max, 8u << 20);
	cr_assert(!device_conf_equal(&a, &b));
	config_device_free(&b);
	cr_assert_eq(config_parse_device("rng,socket=/r,memory-max=0",
	    RESTART_ALWAYS, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(b.dc_mem_max, 0);
	cr_assert(!device_conf_equal(&a, &b), "memory-max=0 is a change");
	config_device_free(&b);
	/* The default spelled out is no change. */
	cr_assert_eq(config_parse_device("rng,socket=/r,memory-max=16M",
	    RESTART_ALWAYS, &b, err, sizeof(err)), 0, "%s", err);
	cr_assert(device_conf_equal(&a, &b));
	config_device_free(&b);
	cr_assert_eq(config_parse_device("rng,socket=/r,memory-max=lots",
	    RESTART_ALWAYS, &b, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "memory-max=lots"), "%s", err);
	config_device_free(&a);

	config_global_init(&cli);
	config_global_init(&file);
	file.go_uid_range = (char *)"200000:10";
	snprintf(file.go_uid_range_where, sizeof(file.go_uid_range_where),
	    "f:2");
	config_global_merge(&cli, &file, &out);
	cr_assert_str_eq(out.go_uid_range, "200000:10");
	cr_assert_str_eq(out.go_uid_range_where, "f:2");
	cli.go_uid_range = (char *)"off";
	snprintf(cli.go_uid_range_where, sizeof(cli.go_uid_range_where),
	    "--uid-range=off");
	config_global_merge(&cli, &file, &out);
	cr_assert_str_eq(out.go_uid_range, "off");
	cr_assert_str_eq(out.go_uid_range_where, "--uid-range=off");
}
