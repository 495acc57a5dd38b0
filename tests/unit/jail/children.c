/*
 * jail_test: real jailed children: what they see, user namespaces, the
 * failures that fail closed, limits, the filter after the set-up.
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "policy.h"

#include "jail_harness.h"

Test(jail, child_is_jailed)
{
	struct jail_config	jc;
	struct jailed		j;
	const char		*msg;

	jail_config_init(&jc);		/* as root: no user namespace */
	msg = run_jailed(&jc, &j);
	cr_assert_null(msg, "%s", msg);
	if (!jc.jc_userns)
		cr_assert_eq(j.j_r.r_ngroups, 0);
	cr_assert_eq(j.j_r.r_nofile, JAIL_NOFILE_DEFAULT);
	cr_assert_eq(finish(&j), 0);
}

/* As seen from outside: one id, mapped to the parent's.  NULL if so. */
static const char *
check_map(pid_t pid, const char *file, unsigned int in, unsigned int out)
{
	static char	why[256];
	char		path[64], buf[128];
	FILE		*f;
	unsigned int	a, b, n;
	int		ok;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	CHECK((f = fopen(path, "re")) != NULL, "%s: %s", path,
	    strerror(errno));
	ok = fgets(buf, sizeof(buf), f) != NULL &&
	    sscanf(buf, "%u %u %u", &a, &b, &n) == 3 && a == in &&
	    b == out && n == 1 && fgets(buf, sizeof(buf), f) == NULL;
	fclose(f);
	CHECK(ok, "%s is not \"%u %u 1\"", path, in, out);
	return NULL;
}

/*
 * The unprivileged set-up: a user namespace whose one uid maps to the
 * parent's.  Run from a helper process that is not root (root refuses a
 * user namespace); the helper reports the first failure on stderr and in
 * its exit status.
 */
static const char *
userns_case(void)
{
	struct jail_config	jc;
	struct jailed		j;
	const char		*msg;
	int			status;

	jail_config_init(&jc);
	if (!jc.jc_userns)
		return "jail_config_init chose no user namespace";
	if ((msg = run_jailed(&jc, &j)) != NULL)
		return msg;
	if (j.j_r.r_nofile != JAIL_NOFILE_DEFAULT)
		return "RLIMIT_NOFILE";
	if ((msg = check_map(j.j_pid, "uid_map", jc.jc_uid, geteuid())) ||
	    (msg = check_map(j.j_pid, "gid_map", jc.jc_gid, getegid())))
		return msg;
	status = finish(&j);
	if (status != 0)
		return "child status";
	return NULL;
}

Test(jail, child_in_user_namespace)
{
	const char	*msg;
	pid_t		pid;
	int		status;

	if (geteuid() != 0) {
		msg = userns_case();
		cr_assert_null(msg, "%s", msg);
		return;
	}
	fflush(NULL);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if (setgroups(0, NULL) == -1 ||
		    setresgid(65534, 65534, 65534) == -1 ||
		    setresuid(65534, 65534, 65534) == -1)
			_exit(2);
		msg = userns_case();
		if (msg != NULL)
			fprintf(stderr, "child_in_user_namespace: %s\n", msg);
		_exit(msg != NULL);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(status, 0, "the unprivileged helper failed (see "
	    "stderr), status 0x%x", (unsigned int)status);
}

Test(jail, root_refuses_a_user_namespace)
{
	struct jail_config	jc;
	struct jailed		j;
	int			status;

	if (geteuid() != 0)
		cr_skip_test("not root");
	jail_config_init(&jc);
	jc.jc_userns = true;
	spawn(&jc, jail_clone_flags(&jc), -1, &j);
	cr_assert_lt(j.j_hold, 0);
	status = finish(&j);
	cr_assert(WIFEXITED(status));
	cr_assert_str_eq(jail_exit_step(WEXITSTATUS(status)), "userns");
}

Test(jail, nofile_covers_high_kept_descriptor)
{
	struct jail_config	jc;
	struct jailed		j;
	int			fd;

	jail_config_init(&jc);
	fd = fcntl(open("/dev/null", O_RDONLY | O_CLOEXEC), F_DUPFD_CLOEXEC,
	    300);
	cr_assert_geq(fd, 300);
	spawn(&jc, jail_clone_flags(&jc), fd, &j);
	cr_assert_geq(j.j_hold, 0);
	cr_assert_eq(j.j_r.r_nofile, (rlim_t)fd + 1 + JAIL_NOFILE_HEADROOM);
	cr_assert_eq(finish(&j), 0);
}

Test(jail, not_cloned_with_the_flags_fails_closed)
{
	struct jail_config	jc;
	struct jailed		j;
	int			status;

	jail_config_init(&jc);
	spawn(&jc, 0, -1, &j);
	cr_assert_lt(j.j_hold, 0, "a child outside its namespaces jailed");
	status = finish(&j);
	cr_assert(WIFEXITED(status));
	if (jc.jc_userns)
		cr_assert_str_eq(jail_exit_step(WEXITSTATUS(status)), "userns");
	else {
		cr_assert_eq(WEXITSTATUS(status),
		    JAIL_EXIT(JAIL_STEP_NAMESPACES));
		cr_assert_str_eq(jail_exit_step(WEXITSTATUS(status)),
		    "namespaces");
	}
}

Test(jail, bad_user_namespace_map_fails_closed)
{
	struct jail_config	jc;
	struct jailed		j;
	int			status;

	jail_config_init(&jc);
	jc.jc_userns = true;
	jc.jc_outer_uid = 12345;
	spawn(&jc, jail_clone_flags(&jc), -1, &j);
	cr_assert_lt(j.j_hold, 0);
	status = finish(&j);
	cr_assert(WIFEXITED(status));
	cr_assert_str_eq(jail_exit_step(WEXITSTATUS(status)), "userns");
}

Test(jail, disabled_only_closes_descriptors)
{
	struct jail_config	jc;
	struct jailed		j;
	int			leaked;

	jail_config_init(&jc);
	jc.jc_enabled = false;
	leaked = open("/dev/null", O_RDONLY);
	spawn(&jc, jail_clone_flags(&jc), -1, &j);
	cr_assert_geq(j.j_hold, 0);
	cr_assert_eq(j.j_r.r_uid[0], getuid());
	cr_assert_neq(j.j_r.r_pid, 1);
	cr_assert_eq(j.j_r.r_pdeathsig, SIGKILL);
	cr_assert_eq(j.j_r.r_nnp, 0);
	cr_assert_eq(j.j_r.r_nopen, 2, "open %d %d %d", j.j_r.r_open[0], j.j_r.r_open[1], j.j_r.r_open[2]);
	cr_assert(!has_open(&j.j_r, leaked));
	cr_assert_eq(finish(&j), 0);
	close(leaked);
}

/*
 * Clone a jailed child that runs fn after jail_enter (no filter) and
 * exits with its return value; keep_fd is kept.  Its wait status.
 */
static int
run_in_jail(struct jail_config *jc, int keep_fd, int (*fn)(void *),
    void *arg)
{
	struct fdset	keep;
	pid_t		pid;
	int		status, rc;

	fdset_init(&keep);
	if (keep_fd >= 0)
		fdset_add(&keep, keep_fd);
	fflush(NULL);
	pid = (pid_t)syscall(SYS_clone, SIGCHLD | jail_clone_flags(jc), NULL,
	    NULL, NULL, NULL);
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if ((rc = jail_enter(jc, &keep, NULL)) != 0)
			_exit(rc);
		_exit(fn(arg));
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static int	fsize_fd = -1;

/* 0: growth past RLIMIT_FSIZE failed with EFBIG (and did not kill us). */
static int
grow_past_limit(void *arg)
{
	char	c = 'x';

	if (pwrite(fsize_fd, &c, 1, 4095) != 1)
		return 10;		/* below the limit: fine */
	if (pwrite(fsize_fd, &c, 1, 8192) != -1 || errno != EFBIG)
		return 11;
	if (ftruncate(fsize_fd, 65536) != -1 || errno != EFBIG)
		return 12;
	if (fallocate(fsize_fd, 0, 0, 65536) != -1 || errno != EFBIG)
		return 13;
	return 0;
}

/* jc_fsize: no file grows past it; SIGXFSZ does not kill the child. */
Test(jail, fsize_stops_growth)
{
	struct jail_config	jc;
	char			path[] = "/var/tmp/jail_test.XXXXXX";
	struct stat		st;
	int			status;

	jail_config_init(&jc);
	jc.jc_fsize = 4096;
	cr_assert_geq(fsize_fd = mkstemp(path), 0);
	cr_assert_eq(unlink(path), 0);
	if (jc.jc_userns)
		cr_assert_eq(fchmod(fsize_fd, 0666), 0);
	else
		cr_assert_eq(fchown(fsize_fd, jc.jc_uid, jc.jc_gid), 0);
	status = run_in_jail(&jc, fsize_fd, grow_past_limit, NULL);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status 0x%x", (unsigned int)status);
	cr_assert_eq(fstat(fsize_fd, &st), 0);
	cr_assert_eq(st.st_size, 4096);
	close(fsize_fd);
}

static struct policy_filter	*split_filter;

/*
 * Jailed, unfiltered: what a device sets up before the filter works; then
 * jail_seccomp; then the same call is fatal.
 */
static int
setup_then_filter(void *arg)
{
	int	rc;

	if (syscall(SYS_getppid) == -1)
		return 20;
	if ((rc = jail_seccomp(split_filter)) != 0)
		return rc;
	syscall(SYS_getppid);		/* not in the policy: SIGSYS */
	return 21;
}

Test(jail, seccomp_loads_after_the_setup)
{
	static const char	text[] = "exit_group: 1\nexit: 1\nwrite: 1\n";
	struct jail_config	jc;
	char			err[256] = "";
	FILE			*f;
	int			status;

	cr_assert_eq(jail_seccomp(NULL), 0);
	cr_assert_not_null(f = fmemopen((void *)text, strlen(text), "r"));
	split_filter = policy_compile_stream(f, "split.policy",
	    POLICY_MODE_KILL, err, sizeof(err));
	fclose(f);
	cr_assert_not_null(split_filter, "%s", err);
	jail_config_init(&jc);
	status = run_in_jail(&jc, -1, setup_then_filter, NULL);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	    "status 0x%x", (unsigned int)status);
	policy_filter_free(split_filter);
}
