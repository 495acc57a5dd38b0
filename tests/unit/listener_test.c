/*
 * listener_test.c - socket creation, stale/live detection, inherited fds,
 * retained resources that unlink only our own inode.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "listener/listener.h"

static char	dir[64];
static char	path[100];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vhostd-lt-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dev.sock", dir);
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

TestSuite(listener, .init = setup, .fini = teardown);

static int
try_connect(const char *p)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd, rc;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return rc;
}

Test(listener, creates_socket_0600_and_keeps_fd)
{
	struct listener	*l;
	struct fdset	 keep;
	struct stat	 st;
	char		 err[256];
	int		 flags;

	fdset_init(&keep);
	cr_assert_eq(listener_new_path(&l, path, 0600, (gid_t)-1, &keep, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert(fdset_has(&keep, listener_fd(l)));
	flags = fcntl(listener_fd(l), F_GETFD);
	cr_assert(flags & FD_CLOEXEC);
	cr_assert_eq(try_connect(path), 0, "socket does not accept");
	listener_retained_release(listener_take_parent_resources(l));
	cr_assert_eq(lstat(path, &st), -1, "socket file left behind");
	listener_free(l);
}

Test(listener, mode_is_configurable)
{
	struct listener	*l;
	struct fdset	 keep;
	struct stat	 st;
	char		 err[256];

	fdset_init(&keep);
	cr_assert_eq(listener_new_path(&l, path, 0660, getgid(), &keep, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0660);
	cr_assert_eq(st.st_gid, getgid());
	listener_retained_release(listener_take_parent_resources(l));
	listener_free(l);
}

Test(listener, stale_socket_replaced)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	struct listener		*l;
	struct fdset		 keep;
	char			 err[256];
	int			 fd;

	/* Bound but never listening, then closed: a stale file. */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	fdset_init(&keep);
	cr_assert_eq(listener_new_path(&l, path, 0600, (gid_t)-1, &keep, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(try_connect(path), 0);
	listener_retained_release(listener_take_parent_resources(l));
	listener_free(l);
}

Test(listener, live_socket_refused)
{
	struct listener	*l, *l2;
	struct fdset	 keep;
	char		 err[256];

	fdset_init(&keep);
	cr_assert_eq(listener_new_path(&l, path, 0600, (gid_t)-1, &keep, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(listener_new_path(&l2, path, 0600, (gid_t)-1, &keep, err,
	    sizeof(err)), -EADDRINUSE);
	cr_assert_null(l2);
	cr_assert_not_null(strstr(err, path), "error does not name the path: "
	    "%s", err);
	cr_assert_eq(try_connect(path), 0, "live socket was disturbed");
	listener_retained_release(listener_take_parent_resources(l));
	listener_free(l);
}

Test(listener, regular_file_refused)
{
	struct listener	*l;
	struct fdset	 keep;
	char		 err[256];
	int		 fd;

	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	fdset_init(&keep);
	cr_assert_eq(listener_new_path(&l, path, 0600, (gid_t)-1, &keep, err,
	    sizeof(err)), -ENOTSOCK);
	cr_assert_not_null(strstr(err, "not a socket"), "%s", err);
	cr_assert_eq(access(path, F_OK), 0, "regular file was removed");
}

Test(listener, path_too_long)
{
	struct listener	*l;
	struct fdset	 keep;
	char		 err[256], longp[200];

	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	fdset_init(&keep);
	cr_assert_eq(listener_new_path(&l, longp, 0600, (gid_t)-1, &keep, err,
	    sizeof(err)), -ENAMETOOLONG);
	cr_assert_not_null(strstr(err, "too long"));
}

Test(listener, release_leaves_foreign_inode)
{
	struct listener			*l;
	struct listener_retained	*r;
	struct fdset			 keep;
	char				 err[256];
	int				 fd;

	fdset_init(&keep);
	cr_assert_eq(listener_new_path(&l, path, 0600, (gid_t)-1, &keep, err,
	    sizeof(err)), 0, "%s", err);
	r = listener_take_parent_resources(l);
	cr_assert_not_null(r);
	/* Somebody else replaced the file: we must not delete theirs. */
	cr_assert_eq(unlink(path), 0);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	listener_retained_release(r);
	cr_assert_eq(access(path, F_OK), 0, "foreign file was unlinked");
	listener_free(l);
}

Test(listener, inherited_fd)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	struct listener		*l;
	struct fdset		 keep;
	char			 err[256];
	int			 fd, fd2;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	/* Not listening yet: refused. */
	fd2 = dup(fd);
	fdset_init(&keep);
	cr_assert_lt(listener_new_fd(&l, fd2, &keep, err, sizeof(err)), 0);
	cr_assert_not_null(strstr(err, "not listening"), "%s", err);
	cr_assert_eq(listen(fd, 1), 0);
	cr_assert_eq(listener_new_fd(&l, fd, &keep, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert(fdset_has(&keep, fd));
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cr_assert_null(listener_path(l));
	/* Nothing retained: the path is not ours to remove. */
	cr_assert_null(listener_take_parent_resources(l));
	cr_assert(!listener_is_connected(l));
	listener_free(l);
}

/* A connected socket (one end of a pair, as libvirt passes) is taken. */
Test(listener, inherited_fd_connected)
{
	struct listener	*l;
	struct fdset	 keep;
	char		 err[256];
	int		 sp[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	fdset_init(&keep);
	cr_assert_eq(listener_new_fd(&l, sp[0], &keep, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert(listener_is_connected(l));
	cr_assert(fdset_has(&keep, sp[0]));
	cr_assert(fcntl(sp[0], F_GETFL) & O_NONBLOCK);
	cr_assert_null(listener_take_parent_resources(l));
	listener_free(l);
	close(sp[1]);
}

Test(listener, inherited_fd_not_socket)
{
	struct listener	*l;
	struct fdset	 keep;
	char		 err[256];
	int		 fd = open("/dev/null", O_RDONLY);

	fdset_init(&keep);
	cr_assert_lt(listener_new_fd(&l, fd, &keep, err, sizeof(err)), 0);
	cr_assert_not_null(strstr(err, "not a socket"), "%s", err);
}

Test(listener, systemd_fds)
{
	const char	*names[4];
	char		 pid[32];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "2", 1);
	setenv("LISTEN_FDNAMES", "disk:rng", 1);
	cr_assert_eq(listener_systemd_fds(names, 4), 2);
	cr_assert_str_eq(names[0], "disk");
	cr_assert_str_eq(names[1], "rng");
	cr_assert_null(names[2]);
	cr_assert_null(getenv("LISTEN_FDS"), "variables not unset");
	/* Another process's fds are not ours. */
	setenv("LISTEN_PID", "1", 1);
	setenv("LISTEN_FDS", "2", 1);
	cr_assert_eq(listener_systemd_fds(names, 4), 0);
}

static long
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A process listens at path and never accepts: fill its backlog.  Returns
 * the listening fd; the queued clients are in cl[] (closed by the caller).
 */
static int
full_backlog(const char *p, int *cl, unsigned int max, unsigned int *ncl)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd, c;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(listen(fd, 0), 0);
	for (*ncl = 0; *ncl < max; (*ncl)++) {
		c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
		if (connect(c, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			cr_assert_eq(errno, EAGAIN, "connect: %s",
			    strerror(errno));
			close(c);
			break;
		}
		cl[*ncl] = c;
	}
	cr_assert_lt(*ncl, max, "the backlog never filled");
	return fd;
}

/*
 * Issue 8.7: a blocking liveness probe would hang here for good.  (A
 * per-test .timeout makes Criterion's runner leak under ASan.)
 */
Test(listener, full_backlog_is_live_and_refused_promptly)
{
	struct listener	*l;
	struct fdset	 keep;
	char		 err[256];
	unsigned int	 n, i;
	long		 t0, el;
	int		 lfd, cl[64], rc;

	lfd = full_backlog(path, cl, 64, &n);
	fdset_init(&keep);
	t0 = mono_ms();
	/* A hang ends the test with SIGALRM (not .timeout: see above). */
	alarm(20);
	rc = listener_new_path(&l, path, 0600, (gid_t)-1, &keep, err,
	    sizeof(err));
	alarm(0);
	el = mono_ms() - t0;
	fprintf(stderr, "listener: full backlog refused after %ld ms: %s\n",
	    el, err);
	cr_assert_eq(rc, -EADDRINUSE, "rc %d: %s", rc, err);
	cr_assert_lt(el, 2000, "took %ld ms", el);
	cr_assert_not_null(strstr(err, path), "path not named: %s", err);
	cr_assert_eq(access(path, F_OK), 0, "the live socket was removed");
	for (i = 0; i < n; i++)
		close(cl[i]);
	close(lfd);
}

/*
 * Issue 9.2: the socket's directory is writable by another user, who
 * swaps the freshly bound socket for a symlink (or the directory for a
 * symlink to another one) in a loop while the listener binds and releases
 * many times.  No file outside may change mode, owner or existence.
 */
enum swap_kind { SWAP_SOCKET, SWAP_DIR };

static pid_t
attacker_start(enum swap_kind kind, const char *victim, const char *d,
    const char *sub, const char *sock)
{
	char	 tmp[200], old[200];
	pid_t	 pid;

	snprintf(tmp, sizeof(tmp), "%s/tmp-link", d);
	snprintf(old, sizeof(old), "%s.old", sub);
	if ((pid = fork()) != 0)
		return pid;
	if (setresgid(65534, 65534, 65534) == -1 ||
	    setresuid(65534, 65534, 65534) == -1)
		_exit(2);
	for (;;) {
		struct stat	st;

		if (kind == SWAP_SOCKET) {
			if (lstat(sock, &st) == 0 && S_ISSOCK(st.st_mode) &&
			    symlink(victim, tmp) == 0 &&
			    rename(tmp, sock) == -1)
				unlink(tmp);
		} else if (lstat(sock, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    rename(sub, old) == 0) {
			/* sub now leads to the victim's directory. */
			if (symlink(victim, sub) == 0) {
				sched_yield();
				unlink(sub);
			}
			rename(old, sub);
		}
	}
}

static void
race(enum swap_kind kind)
{
	char			 vdir[64], victim[128], sub[128], sock[160];
	char			 err[256];
	struct listener		*l;
	struct fdset		 keep;
	struct stat		 st;
	unsigned int		 iter, ok = 0, refused = 0;
	long			 t0;
	pid_t			 pid;
	int			 fd, subfd, status;

	if (geteuid() != 0)
		cr_skip_test("needs root (another uid attacks the directory)");
	cr_assert_eq(chmod(dir, 0777), 0);	/* not sticky: renames */
	snprintf(vdir, sizeof(vdir), "/tmp/vhostd-lv-XXXXXX");
	cr_assert_not_null(mkdtemp(vdir));
	/* The victim: root's, 0600, in root's directory. */
	snprintf(victim, sizeof(victim), "%s/dev.sock", vdir);
	fd = open(victim, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(sub, sizeof(sub), "%s/d", dir);
	cr_assert_eq(mkdir(sub, 0777), 0);
	cr_assert_eq(chmod(sub, 0777), 0);
	snprintf(sock, sizeof(sock), "%s/dev.sock", sub);
	/* The test's own clean-up goes through the real directory. */
	subfd = open(sub, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(subfd, 0);
	pid = attacker_start(kind, kind == SWAP_SOCKET ? victim : vdir, dir,
	    sub, sock);
	cr_assert_gt(pid, 0);
	t0 = mono_ms();
	for (iter = 0; mono_ms() - t0 < 2500; iter++) {
		fdset_init(&keep);
		/* mode 0666, group nogroup: what the swap would hand over. */
		if (listener_new_path(&l, sock, 0666, 65534, &keep, err,
		    sizeof(err)) == 0) {
			ok++;
			listener_retained_release(
			    listener_take_parent_resources(l));
			listener_free(l);
		} else
			refused++;
		/* Whatever the attacker left at the name goes. */
		if (fstatat(subfd, "dev.sock", &st, AT_SYMLINK_NOFOLLOW) == 0)
			unlinkat(subfd, "dev.sock", 0);
		if (lstat(victim, &st) == -1 || st.st_uid != 0 ||
		    st.st_gid != 0 || (st.st_mode & 07777) != 0600 ||
		    !S_ISREG(st.st_mode))
			break;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	fprintf(stderr, "listener: %s swap: %u binds+releases in %ld ms (%u "
	    "refused)\n", kind == SWAP_SOCKET ? "socket" : "directory", iter,
	    mono_ms() - t0, refused);
	cr_assert(!WIFEXITED(status), "the attacker could not become nobody");
	cr_assert_eq(lstat(victim, &st), 0, "%s was removed after %u "
	    "iterations", victim, iter);
	cr_assert_eq(st.st_mode & 07777, 0600, "%s: mode %o after %u "
	    "iterations", victim, st.st_mode & 07777, iter);
	cr_assert(st.st_uid == 0 && st.st_gid == 0, "%s: owner %u:%u after %u "
	    "iterations", victim, st.st_uid, st.st_gid, iter);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_gt(ok, 0, "no bind ever succeeded");
	unlink(victim);
	rmdir(vdir);
	unlinkat(subfd, "dev.sock", 0);
	close(subfd);
	if (lstat(sub, &st) == 0 && !S_ISDIR(st.st_mode))
		unlink(sub);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/d.old", dir);
	rmdir(sub);
}

Test(listener, socket_swapped_for_symlink_changes_nothing_outside)
{
	race(SWAP_SOCKET);
}

Test(listener, directory_swapped_for_symlink_changes_nothing_outside)
{
	race(SWAP_DIR);
}

Test(listener, retained_outlives_the_listener_and_follows_the_directory)
{
	struct listener			*l;
	struct listener_retained	*r;
	struct fdset			 keep;
	char				 err[256], moved[80], mpath[128];
	struct stat			 st;

	fdset_init(&keep);
	cr_assert_eq(listener_new_path(&l, path, 0600, (gid_t)-1, &keep, err,
	    sizeof(err)), 0, "%s", err);
	r = listener_take_parent_resources(l);
	cr_assert_not_null(r);
	listener_free(l);
	/* The directory moves: the release acts on the one it bound in. */
	snprintf(moved, sizeof(moved), "%s.moved", dir);
	cr_assert_eq(rename(dir, moved), 0);
	snprintf(mpath, sizeof(mpath), "%s/dev.sock", moved);
	cr_assert_eq(lstat(mpath, &st), 0);
	listener_retained_release(r);
	cr_assert_eq(lstat(mpath, &st), -1, "socket left in the moved "
	    "directory");
	cr_assert_eq(rename(moved, dir), 0);
}
