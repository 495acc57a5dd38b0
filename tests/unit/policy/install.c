/* policy_test: where vhostd looks for policies; the shipped policies. */

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "policy_harness.h"

/* Copy file from to to (mode 0755). */
static void
copy_file(const char *from, const char *to)
{
	char	buf[65536];
	ssize_t	n;
	int	in, out;

	in = open(from, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(in, 0, "%s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	cr_assert_geq(out, 0, "%s: %s", to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(out, buf, (size_t)n), n);
	cr_assert_eq(n, 0);
	close(in);
	close(out);
}

/* Run argv, its stdout and stderr into out; the exit status. */
static int
run_capture(char *const argv[], char *out, size_t len)
{
	size_t	got = 0;
	ssize_t	n;
	pid_t	pid;
	int	p[2], st;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (got + 1 < len && (n = read(p[0], out + got,
	    len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0)
		cr_assert_eq(errno, EINTR);
	return st;
}

/*
 * An installed vhostd reads the installed policies (or --policy-dir),
 * never a policies/ directory that happens to sit next to the binary:
 * whoever can write there would choose the filter of every device.
 */
Test(policy, installed_binary_ignores_policies_next_to_it)
{
	char	 exe[1024], prog[1100], dir[] = "/tmp/policy_test.XXXXXX";
	char	 path[256], sock[128], pdir[128], spec[256], out[8192];
	char	 cmd[128];
	char	*argv[8], *slash;
	ssize_t	 n;
	int	 i;

	/* build/tests/unit/policy_test -> build/vhostd */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	for (i = 0; i < 3 && (slash = strrchr(exe, '/')) != NULL; i++)
		*slash = '\0';
	snprintf(prog, sizeof(prog), "%s/vhostd", exe);
	if (access(prog, X_OK) != 0)
		cr_skip_test("%s is not built (make)", prog);

	/* DIR/bin/vhostd next to DIR/policies/x86_64/rng.policy */
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bin", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/bin/vhostd", dir);
	copy_file(prog, path);
	snprintf(pdir, sizeof(pdir), "%s/policies", dir);
	cr_assert_eq(mkdir(pdir, 0755), 0);
	snprintf(pdir, sizeof(pdir), "%s/policies/x86_64", dir);
	cr_assert_eq(mkdir(pdir, 0755), 0);
	snprintf(path, sizeof(path), "%s/rng.policy", pdir);
	write_file(path, "planted_by_the_test: 1\n", 23);
	snprintf(sock, sizeof(sock), "%s/rng.sock", dir);
	snprintf(spec, sizeof(spec), "rng,socket=%s", sock);

	snprintf(path, sizeof(path), "%s/bin/vhostd", dir);
	argv[0] = path;
	argv[1] = (char *)"-n";
	argv[2] = (char *)"--device";
	argv[3] = spec;
	argv[4] = NULL;
	run_capture(argv, out, sizeof(out));
	cr_expect_null(strstr(out, "planted_by_the_test"),
	    "vhostd used the policies next to its binary:\n%s", out);
	cr_expect(strstr(out, POLICYDIR) != NULL ||
	    strstr(out, "configuration OK") != NULL,
	    "not the installed directory " POLICYDIR ":\n%s", out);

	/* --policy-dir is still obeyed (and the planted file is seen) */
	argv[1] = (char *)"--policy-dir";
	argv[2] = pdir;
	argv[3] = (char *)"-n";
	argv[4] = (char *)"--device";
	argv[5] = spec;
	argv[6] = NULL;
	run_capture(argv, out, sizeof(out));
	cr_expect_not_null(strstr(out, "unknown syscall "
	    "'planted_by_the_test'"), "--policy-dir ignored:\n%s", out);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

/* --- the shipped policies --- */

Test(policy, shipped_policies_compile)
{
	static const enum policy_mode modes[] = {
		POLICY_MODE_KILL, POLICY_MODE_LOG, POLICY_MODE_TRAP,
	};
	struct policy_filter	*pf;
	glob_t			 g;
	size_t			 i, m;
	bool			 common = false;

	cr_assert_eq(glob("policies/x86_64/*.policy", 0, NULL, &g), 0);
	cr_assert_geq(g.gl_pathc, 2);
	for (i = 0; i < g.gl_pathc; i++) {
		if (strcmp(g.gl_pathv[i], "policies/x86_64/common.policy") == 0)
			common = true;
		for (m = 0; m < NCASES(modes); m++) {
			pf = file_ok(g.gl_pathv[i], modes[m]);
			policy_filter_free(pf);
		}
	}
	cr_expect(common);
	globfree(&g);
}
