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
	listener_free(l);
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
