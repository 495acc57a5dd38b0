/* escape_test: the vsock device (tests/devices/escape_vsock.c). */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "escape_harness.h"

/*
 * The vsock device (tests/devices/escape_vsock.c, "escape-vsock"): its
 * broker channel to the privileged parent.  uds-path's directory holds
 * what a local user who can write there might plant: a symbolic link
 * and a hard link to a victim socket (root's, mode 0600, elsewhere), a
 * socket of another user the device's user may not use, a regular file.
 * The victims must see no connection; the control (root's socket at
 * <uds-path>_7000) must.
 */
static void
vsock_plant(int *victim, int *control, int *other)
{
	char	dir[256], path[256];

	snprintf(dir, sizeof(dir), "%s/victim", tmpdir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/victim/root.sock", tmpdir);
	victim[0] = listen_unix(path, false);
	cr_assert_eq(chmod(path, 0600), 0);
	snprintf(dir, sizeof(dir), "%s/vs_7001", tmpdir);
	cr_assert_eq(symlink(path, dir), 0);
	/* Another victim for the hard link: the first keeps one link. */
	snprintf(path, sizeof(path), "%s/victim/root2.sock", tmpdir);
	victim[1] = listen_unix(path, false);
	cr_assert_eq(chmod(path, 0600), 0);
	snprintf(dir, sizeof(dir), "%s/vs_7002", tmpdir);
	cr_assert_eq(link(path, dir), 0, "link: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/vs_7000", tmpdir);
	*control = listen_unix(path, false);
	snprintf(path, sizeof(path), "%s/vs_7003", tmpdir);
	*other = listen_unix(path, false);
	cr_assert_eq(chown(path, 12345, 12345), 0);
	cr_assert_eq(chmod(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/vs_7004", tmpdir);
	close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666));
}

Test(escape, vsock_broker_gives_nothing_beyond_uds_path)
{
	char		 policydir[4096], sock[256], spec[1024];
	struct run	*r;
	unsigned int	 n, got;
	const char	*p;
	int		 victim[2], control, other, c;

	layer_policydir(policydir, sizeof(policydir), "escape-policy-kill");
	snprintf(sock, sizeof(sock), "%s/escape-vsock.sock", tmpdir);
	vsock_plant(victim, &control, &other);
	snprintf(spec, sizeof(spec), "escape-vsock,socket=%s,uds-path=%s/vs,"
	    "restart=never", sock, tmpdir);
	r = run_device(filter_prog(), policydir, spec, 0);
	cr_assert_not_null(strstr(r->ru_err, "escape: control served"),
	    "the broker served nothing:\n%s", r->ru_err);
	cr_assert_not_null(p = strstr(r->ru_err, "attempts, "), "%s",
	    r->ru_err);
	while (p > r->ru_err && p[-1] != ':')
		p--;
	cr_assert_eq(sscanf(p, " %u attempts, %u succeeded", &n, &got), 2);
	cr_assert_geq(n, 6, "%u attempts:\n%s", n, r->ru_err);
	cr_assert_eq(got, 0, "escapes succeeded:\n%s", r->ru_err);
	cr_assert_null(strstr(r->ru_err, "SUCCEEDED"), "%s", r->ru_err);
	/* What each refusal said, as the child logged it. */
	cr_assert_not_null(strstr(r->ru_err, "port 7001: Too many levels of "
	    "symbolic links"), "%s", r->ru_err);
	cr_assert_not_null(strstr(r->ru_err, "port 7002: Operation not "
	    "permitted"), "%s", r->ru_err);
	cr_assert_not_null(strstr(r->ru_err, "port 7003: Permission denied"),
	    "%s", r->ru_err);
	p = strstr(r->ru_err, "escape: flood of");
	fprintf(stderr, "%.*s\n", p != NULL ? (int)strcspn(p, "\n") : 0,
	    p != NULL ? p : "");
	cr_assert_not_null(strstr(r->ru_err, "port 7004: Connection refused"),
	    "%s", r->ru_err);
	untouched(victim[0], "a victim socket through a symbolic link");
	untouched(victim[1], "a victim socket through a hard link");
	untouched(other, "another user's socket");
	/* The control was connected twice (alone, and with a passed fd). */
	c = accept4(control, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(c, 0, "the control saw no connection");
	close(c);
	close(victim[0]);
	close(victim[1]);
	close(control);
	close(other);
	free(r);
}

/* One filter-layer attempt under the real vsock.policy. */
static void
one_vsock_attempt(const char *name, bool need_sigsys)
{
	char		 sock[256], spec[1024];
	struct run	*r;

	snprintf(sock, sizeof(sock), "%s/escape-vsock-%s.sock", tmpdir, name);
	snprintf(spec, sizeof(spec), "escape-vsock,socket=%s,uds-path=%s/vs-%s,"
	    "restart=never,attempt=%s", sock, tmpdir, name, name);
	r = filter_attempt(name, spec);
	killed_or_refused(r, name, need_sigsys);
	free(r);
}

/*
 * vsock.policy: no socket, socketpair or connect (the child reaches host
 * sockets only through the parent), and no shutdown of the listener or
 * the channel it shares with the parent (EPERM).
 */
Test(escape, vsock_filter_holds)
{
	one_vsock_attempt("socket", true);
	one_vsock_attempt("socketpair", true);
	one_vsock_attempt("connect", true);
	one_vsock_attempt("shutdown-listener", false);
	one_vsock_attempt("shutdown-channel", false);
}
