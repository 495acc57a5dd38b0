/*
 * escape_test: the escape device (tests/devices/escape.c) under the rng
 * policy: the jail alone, the filter.
 */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "escape_harness.h"

Test(escape, the_jail_alone_holds)
{
	char		 policydir[4096], target[256], victim[256], sock[256];
	char		 abstract[64], spec[2048], *p;
	const char	*prog = env("VHOSTD_TEST");
	struct stat	 before, after;
	struct run	*r;
	unsigned int	 n = 0, got = 1;
	int		 fd, vfd, afd;
	char		 buf[128];

	layer_policydir(policydir, sizeof(policydir), "escape-policy");
	snprintf(target, sizeof(target), "%s/other-disk.img", tmpdir);
	snprintf(victim, sizeof(victim), "%s/other-device.sock", tmpdir);
	snprintf(sock, sizeof(sock), "%s/escape.sock", tmpdir);
	snprintf(abstract, sizeof(abstract), "vhostd-escape-%d", (int)getpid());
	fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, TARGET_TEXT, strlen(TARGET_TEXT)),
	    (ssize_t)strlen(TARGET_TEXT));
	close(fd);
	chmod(target, 0666);		/* writable by anybody, on purpose */
	cr_assert_eq(stat(target, &before), 0);
	vfd = listen_unix(victim, false);
	chmod(victim, 0777);
	afd = listen_unix(abstract, true);

	snprintf(spec, sizeof(spec), "escape,socket=%s,restart=never,"
	    "target=%s,victim=%s,abstract=%s", sock, target, victim, abstract);
	r = run_device(prog, policydir, spec, 0);

	p = strstr(r->ru_err, "escape: ");
	while (p != NULL && sscanf(p, "escape: %u attempts, %u succeeded",
	    &n, &got) != 2)
		p = strstr(p + 1, "escape: ");
	cr_assert_not_null(p, "no report from the escape device; stderr:\n%s",
	    r->ru_err);
	cr_assert_geq(n, 20, "only %u attempts", n);
	cr_assert_eq(got, 0, "escapes succeeded:\n%s", r->ru_err);
	cr_assert_null(strstr(r->ru_err, "SUCCEEDED"), "%s", r->ru_err);
	cr_assert(WIFEXITED(r->ru_status) && WEXITSTATUS(r->ru_status) == 0,
	    "vhostd status 0x%x:\n%s", (unsigned int)r->ru_status, r->ru_err);

	cr_assert_eq(stat(target, &after), 0, "the target is gone");
	cr_assert_eq(after.st_size, before.st_size);
	cr_assert_eq(after.st_ino, before.st_ino);
	cr_assert_eq(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	cr_assert_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	fd = open(target, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(read(fd, buf, sizeof(buf)), (ssize_t)strlen(TARGET_TEXT));
	cr_assert_eq(memcmp(buf, TARGET_TEXT, strlen(TARGET_TEXT)), 0);
	close(fd);
	untouched(vfd, "the victim socket");
	untouched(afd, "the abstract victim socket");
	close(vfd);
	close(afd);
	free(r);
}
/*
 * Single attempts under the real policy: the filter must kill the child
 * (or, if the policy lets the call through, the jail must stop it).
 * Filter-layer attempts have nothing but the filter: SIGSYS is required.
 */
static void
one_attempt(const char *name, bool need_sigsys)
{
	char		 sock[256], spec[1024];
	struct run	*r;

	snprintf(sock, sizeof(sock), "%s/escape-%s.sock", tmpdir, name);
	snprintf(spec, sizeof(spec), "escape,socket=%s,restart=never,"
	    "attempt=%s", sock, name);
	r = filter_attempt(name, spec);
	if (need_sigsys || strstr(r->ru_err, "1 attempts, 0 succeeded") ==
	    NULL)
		cr_assert_not_null(strstr(r->ru_err, "SIGSYS"),
		    "%s: not killed by the filter:\n%s", name, r->ru_err);
	free(r);
}

Test(escape, the_filter_kills_what_the_kernel_allows)
{
	static const char *const names[] = {
		"ptrace-traceme", "keyctl", "bpf", "perf-event-open",
		"io-uring-setup", "netlink-socket", "inet-socket",
		"userfaultfd",
	};
	unsigned int	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		one_attempt(names[i], true);
}

Test(escape, the_filter_also_covers_jail_attempts)
{
	static const char *const names[] = {
		"exec-shell", "fork", "mount", "open-host-file",
		"nested-namespace", "ptrace-attach", "init-module",
		"capset", "setuid-root",
	};
	unsigned int	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		one_attempt(names[i], false);
}
/*
 * The release filter, in every pass: the rng policy has no openat, so
 * opening a host file ends in SIGSYS before the jail is even asked.  (A
 * sanitizer build's own filter lets openat through.)
 */
Test(escape, the_suite_tests_the_release_filter)
{
	one_attempt("open-host-file", true);
}
