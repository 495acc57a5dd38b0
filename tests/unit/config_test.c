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
	cr_assert_eq(dc.dc_nopts, 0);
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
}

Test(config, restart_names)
{
	cr_assert_str_eq(config_restart_name(RESTART_NEVER), "never");
	cr_assert_str_eq(config_restart_name(RESTART_ON_FAILURE), "on-failure");
	cr_assert_str_eq(config_restart_name(RESTART_ALWAYS), "always");
}
