/*
 * jail_test: configuration parsing, exit-code mapping, the host probe.
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>

#include "jail_harness.h"

Test(jail, defaults)
{
	struct jail_config	jc;
	struct passwd		*pw;

	jail_config_init(&jc);
	cr_assert(jc.jc_enabled);
	cr_assert_eq(jc.jc_userns, geteuid() != 0);
	cr_assert_eq(jc.jc_disabled, 0);
	cr_assert_eq(jc.jc_nofile, JAIL_NOFILE_DEFAULT);
	if ((pw = getpwnam("vhostd")) == NULL)
		pw = getpwnam("nobody");
	cr_assert_not_null(pw);
	cr_assert_eq(jc.jc_uid, pw->pw_uid);
	cr_assert_eq(jc.jc_gid, pw->pw_gid);
	cr_assert_eq(jc.jc_outer_uid, geteuid());
	cr_assert(jc.jc_parent_pidfd >= 0);
	cr_assert(fcntl(jc.jc_parent_pidfd, F_GETFD) & FD_CLOEXEC);
}

Test(jail, disable_parses_every_name)
{
	struct jail_config	jc;
	char			err[256];

	jail_config_init(&jc);
	jc.jc_userns = true;
	cr_assert_eq(jail_config_disable(&jc, "netns", err, sizeof(err)), 0);
	cr_assert_eq(jc.jc_disabled, JAIL_F_NETNS);
	cr_assert(jc.jc_userns);
	cr_assert_eq(jail_config_disable(&jc, "userns,pidns,ipcns,utsns,"
	    "cgroupns,mntns", err, sizeof(err)), 0);
	cr_assert_eq(jc.jc_disabled, JAIL_F_ALL);
	cr_assert(!jc.jc_userns);
	cr_assert_eq(jail_clone_flags(&jc), 0);
}

Test(jail, disable_rejects_bad_lists)
{
	static const char *const bad[] = {
		"", ",", "netns,", ",netns", "netns,,pidns", "bogus",
		"netns,bogus", "NETNS", "net", "netnsx", "userns pidns",
	};
	struct jail_config	jc;
	char			err[256];
	unsigned int		i;

	jail_config_init(&jc);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		cr_assert_eq(jail_config_disable(&jc, bad[i], err,
		    sizeof(err)), -EINVAL, "'%s' accepted", bad[i]);
		cr_assert_neq(err[0], '\0');
		cr_assert_eq(jc.jc_disabled, 0, "'%s' changed the config",
		    bad[i]);
	}
	cr_assert_eq(jail_config_disable(&jc, "netns,bogus", err,
	    sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "'bogus'"), "%s", err);
	cr_assert_not_null(strstr(err, "cgroupns"), "%s", err);
}

Test(jail, set_user)
{
	struct jail_config	jc;
	struct group		*gr;
	char			err[256];

	jail_config_init(&jc);
	cr_assert_eq(jail_config_set_user(&jc, "root", err, sizeof(err)), 0);
	cr_assert_eq(jc.jc_uid, 0);
	cr_assert_eq(jc.jc_gid, 0);
	cr_assert_eq(jail_config_set_user(&jc, "4321", err, sizeof(err)), 0);
	cr_assert_eq(jc.jc_uid, 4321);
	cr_assert_eq(jc.jc_gid, 4321);
	cr_assert_eq(jail_config_set_user(&jc, "4321:99", err, sizeof(err)),
	    0);
	cr_assert_eq(jc.jc_gid, 99);
	gr = getgrnam("nogroup");
	if (gr != NULL) {
		cr_assert_eq(jail_config_set_user(&jc, "root:nogroup", err,
		    sizeof(err)), 0);
		cr_assert_eq(jc.jc_uid, 0);
		cr_assert_eq(jc.jc_gid, gr->gr_gid);
	}
	cr_assert_eq(jail_config_set_user(&jc, "no-such-user-here", err,
	    sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "no-such-user-here"));
	cr_assert_eq(jail_config_set_user(&jc, "root:no-such-group", err,
	    sizeof(err)), -EINVAL);
	cr_assert_eq(jail_config_set_user(&jc, "", err, sizeof(err)),
	    -EINVAL);
	cr_assert_eq(jail_config_set_user(&jc, "root:", err, sizeof(err)),
	    -EINVAL);
	cr_assert_eq(jail_config_set_user(&jc, "-1", err, sizeof(err)),
	    -EINVAL);
	/* Failures leave the last good value. */
	cr_assert_eq(jc.jc_uid, 0);
}

Test(jail, clone_flags)
{
	struct jail_config	jc;
	unsigned long		all = CLONE_NEWPID | CLONE_NEWNET |
	    CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_NEWNS;
	char			err[64];

	jail_config_init(&jc);
	jc.jc_userns = false;
	cr_assert_eq(jail_clone_flags(&jc), all);
	jc.jc_userns = true;
	cr_assert_eq(jail_clone_flags(&jc), all | CLONE_NEWUSER);
	cr_assert_eq(jail_config_disable(&jc, "pidns,netns", err,
	    sizeof(err)), 0);
	cr_assert_eq(jail_clone_flags(&jc),
	    (all | CLONE_NEWUSER) & ~(CLONE_NEWPID | CLONE_NEWNET));
	jc.jc_enabled = false;
	cr_assert_eq(jail_clone_flags(&jc), 0);
}

Test(jail, exit_step_names)
{
	cr_assert_null(jail_exit_step(0));
	cr_assert_null(jail_exit_step(1));
	cr_assert_null(jail_exit_step(-1));
	cr_assert_null(jail_exit_step(JAIL_EXIT_BASE));
	cr_assert_null(jail_exit_step(JAIL_EXIT(JAIL_STEP_MAX) + 1));
	cr_assert_null(jail_exit_step(255));
	cr_assert_str_eq(jail_exit_step(161), "pdeathsig");
	cr_assert_str_eq(jail_exit_step(JAIL_EXIT(JAIL_STEP_FDS)), "close-fds");
	cr_assert_str_eq(jail_exit_step(JAIL_EXIT(JAIL_STEP_USERNS)),
	    "userns");
	cr_assert_str_eq(jail_exit_step(JAIL_EXIT(JAIL_STEP_ROOT)),
	    "pivot_root");
	cr_assert_str_eq(jail_exit_step(JAIL_EXIT(JAIL_STEP_CAPS)),
	    "capabilities");
	cr_assert_str_eq(jail_exit_step(171), "seccomp");
}

Test(jail, probe_succeeds_here)
{
	struct jail_config	jc;
	char			err[512] = "";

	jail_config_init(&jc);
	cr_assert_eq(jail_probe(&jc, err, sizeof(err)), 0, "%s", err);
}

Test(jail, probe_names_the_failing_step)
{
	struct jail_config	jc;
	char			err[512] = "";

	jail_config_init(&jc);
	jc.jc_userns = true;
	jc.jc_outer_uid = 12345;	/* not our uid: the map is refused */
	if (geteuid() == 0)
		jc.jc_outer_uid = 0;	/* root: refused too */
	cr_assert_lt(jail_probe(&jc, err, sizeof(err)), 0);
	cr_assert_not_null(strstr(err, "'userns'"), "%s", err);
	cr_assert_not_null(strstr(err, "--jail-disable=userns"), "%s", err);
}
