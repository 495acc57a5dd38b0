/*
 * listener.c - bind, listen, inherit; the only code that unlinks sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../util/fdinherit.h"
#include "../util/log.h"
#include "../util/ownsock.h"
#include "listener.h"

#define LISTENER_BACKLOG	16
#define PROBE_TIMEOUT_MS	200	/* a socket slower than this is live */

/*
 * Paths are handled through a descriptor of their directory, opened once:
 * every later step (probe, bind, chown, unlink) names the entry relative
 * to that directory and checks the entry it acts on, so nobody who can
 * rename entries in the directory, or the directory itself, can redirect
 * the privileged parent to another file.
 */
struct listener {
	int	 li_fd;
	char	*li_path;	/* NULL when inherited */
	int	 li_dirfd;	/* O_PATH descriptor of li_path's directory */
	char	*li_name;	/* the entry in it */
	dev_t	 li_dev;	/* inode we created at li_path */
	ino_t	 li_ino;
	bool	 li_connected;	/* li_fd is one connection, not a listener */
	bool	 li_inh_own;	/* inherited, li_dev/li_ino in ownsock */
};

struct listener_retained {
	char	*lr_path;
	int	 lr_dirfd;
	char	*lr_name;
	dev_t	 lr_dev;
	ino_t	 lr_ino;
};

static int
sun_fill(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/*
 * Open path's directory (O_PATH, following symlinks there as any lookup
 * does) and return its descriptor; *name points at the last component of
 * path.  -errno; -EINVAL when path ends in '/' or names "." or "..".
 */
static int
dir_open(const char *path, const char **name)
{
	const char	*slash = strrchr(path, '/');
	char		 dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int		 fd;

	*name = slash != NULL ? slash + 1 : path;
	if (**name == '\0' || strcmp(*name, ".") == 0 ||
	    strcmp(*name, "..") == 0)
		return -EINVAL;
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -errno;
	return fd;
}

/*
 * Run bind or connect on the socket fd with the entry name of the
 * directory dirfd: the kernel resolves a relative sun_path from the
 * working directory, so the call is made from inside dirfd and the
 * working directory restored.  (The parent is single-threaded.)  Returns
 * the call's result with errno.
 */
static int
sock_at(int dirfd, const char *name, int fd, bool do_bind)
{
	struct sockaddr_un	 sun;
	int			 cwd, rc, saved;

	if (sun_fill(&sun, name) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (fchdir(dirfd) == -1) {
		saved = errno;
		close_reset(&cwd);
		errno = saved;
		return -1;
	}
	if (do_bind)
		rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	else
		rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	saved = errno;
	if (fchdir(cwd) == -1)
		log_warn("%s: cannot return to the working directory",
		    __func__);
	close_reset(&cwd);
	errno = saved;
	return rc;
}

/*
 * Unlink name in dirfd if it is still the inode dev/ino (checked on the
 * same directory descriptor, without following symlinks).  0, -ESTALE
 * when another file took its place, or -errno.
 */
static int
unlink_ours(int dirfd, const char *name, dev_t dev, ino_t ino)
{
	struct stat	st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -errno;
	if (st.st_dev != dev || st.st_ino != ino)
		return -ESTALE;
	if (unlinkat(dirfd, name, 0) == -1)
		return -errno;
	return 0;
}

/*
 * Does a server answer on the socket name in dirfd?  A non-blocking
 * connect, bounded: 1 live (it accepted, or it is too slow or too busy
 * to: a full backlog), 0 nobody listens, or -errno.
 */
static int
probe_live(int dirfd, const char *name)
{
	struct pollfd	pfd;
	socklen_t	len = sizeof(int);
	int		fd, rc, soerr = 0;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return -errno;
	rc = sock_at(dirfd, name, fd, false);
	if (rc == -1 && errno == EINPROGRESS) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		do
			rc = poll(&pfd, 1, PROBE_TIMEOUT_MS);
		while (rc == -1 && errno == EINTR);
		if (rc <= 0)
			rc = 1;		/* slow: somebody is there */
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
		    &len) == -1 || soerr != 0) {
			errno = soerr != 0 ? soerr : errno;
			rc = -1;
		} else
			rc = 0;
	}
	if (rc == 0 || rc == 1) {
		close_reset(&fd);
		return 1;
	}
	rc = errno;
	close_reset(&fd);
	if (rc == EAGAIN)
		return 1;	/* listening, backlog full: live */
	if (rc == ECONNREFUSED || rc == ENOENT)
		return 0;
	return -rc;
}

/*
 * Something may be at name in dirfd: decide whether it is a stale socket
 * we may replace, and remove it.  0: removed (or nothing there); else
 * -errno with a message naming path in err (-EADDRINUSE: a live server,
 * -ENOTSOCK: not a socket).
 */
static int
clear_stale(int dirfd, const char *name, const char *path, char *err,
    size_t errlen)
{
	struct stat	st;
	int		rc;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a socket; "
		    "refusing to replace it", path);
		return -ENOTSOCK;
	}
	if ((rc = probe_live(dirfd, name)) != 0) {
		if (rc == 1) {
			snprintf(err, errlen, "%s: another process is "
			    "listening on this socket (or it does not answer "
			    "within %d ms); stop it or choose another path",
			    path, PROBE_TIMEOUT_MS);
			return -EADDRINUSE;
		}
		snprintf(err, errlen, "%s: connect: %s", path, strerror(-rc));
		return rc;
	}
	/* Only the socket that was checked goes, never what replaced it. */
	rc = unlink_ours(dirfd, name, st.st_dev, st.st_ino);
	if (rc == -ENOENT)
		return 0;
	if (rc == -ESTALE) {
		snprintf(err, errlen, "%s: replaced by another file while "
		    "checking it; refusing to touch it", path);
		return -EADDRINUSE;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: unlink: %s", path, strerror(-rc));
		return rc;
	}
	log_info("%s: replaced stale socket %s", __func__, path);
	return 0;
}

int
listener_check_path(const char *path, struct listener_id *id, char *err,
    size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	const char		*name;
	int			 dirfd, rc;

	memset(id, 0, sizeof(*id));
	if (sun_fill(&sun, path) < 0) {
		snprintf(err, errlen, "%s: socket path too long (max %zu bytes)",
		    path, sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	if ((dirfd = dir_open(path, &name)) < 0) {
		snprintf(err, errlen, "%s: %s", path, dirfd == -EINVAL ?
		    "not a socket file name" : dirfd == -ENOENT ?
		    "the directory does not exist" : strerror(-dirfd));
		return dirfd;
	}
	if (fstat(dirfd, &st) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close_reset(&dirfd);
		return rc;
	}
	id->lid_dev = st.st_dev;
	id->lid_ino = st.st_ino;
	snprintf(id->lid_name, sizeof(id->lid_name), "%s", name);
	rc = 0;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno != ENOENT) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		}
	} else if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a socket; "
		    "refusing to replace it", path);
		rc = -ENOTSOCK;
	} else if ((rc = probe_live(dirfd, name)) < 0) {
		snprintf(err, errlen, "%s: connect: %s", path, strerror(-rc));
	} else if (rc == 1)
		snprintf(err, errlen, "%s: another process is listening on "
		    "this socket", path);
	close_reset(&dirfd);
	return rc;
}

bool
listener_id_equal(const struct listener_id *a, const struct listener_id *b)
{
	return a->lid_dev == b->lid_dev && a->lid_ino == b->lid_ino &&
	    strcmp(a->lid_name, b->lid_name) == 0;
}

static struct listener *
listener_alloc(int fd)
{
	struct listener	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->li_fd = fd;
	l->li_dirfd = -1;
	return l;
}

int
listener_new_path(struct listener **out, const char *path, mode_t mode,
    gid_t gid, struct fdset *keep, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct listener		*l = NULL;
	struct stat		 st;
	const char		*name;
	char			 proc[64];
	mode_t			 oldmask;
	bool			 bound = false;
	int			 fd = -1, dirfd = -1, pfd = -1, rc;

	*out = NULL;
	if ((rc = sun_fill(&sun, path)) < 0) {
		snprintf(err, errlen, "%s: socket path too long (max %zu bytes)",
		    path, sizeof(sun.sun_path) - 1);
		return rc;
	}
	if ((dirfd = dir_open(path, &name)) < 0) {
		rc = dirfd;
		snprintf(err, errlen, "%s: %s", path, rc == -EINVAL ?
		    "not a socket file name" : strerror(-rc));
		return rc;
	}
	if ((rc = clear_stale(dirfd, name, path, err, errlen)) < 0)
		goto fail;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: socket: %s", path, strerror(errno));
		goto fail;
	}
	/* The file is born with its final mode: nothing to chmod by name. */
	oldmask = umask(~mode & 0777);
	rc = sock_at(dirfd, name, fd, true);
	umask(oldmask);
	if (rc == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: bind: %s", path, strerror(errno));
		goto fail;
	}
	bound = true;
	/*
	 * What is at the name now must be a socket of ours; anything else
	 * was put there by somebody else and is left alone.  pfd pins the
	 * inode for the ownership change.
	 */
	if ((pfd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1 || fstat(pfd, &st) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: stat: %s", path, strerror(errno));
		bound = false;
		goto fail;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
		rc = -EADDRINUSE;
		snprintf(err, errlen, "%s: replaced by another file right "
		    "after bind; is somebody else writing to this directory? "
		    "Refusing to touch it", path);
		bound = false;
		goto fail;
	}
	if ((l = listener_alloc(fd)) == NULL ||
	    (l->li_path = strdup(path)) == NULL ||
	    (l->li_name = strdup(name)) == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	l->li_dev = st.st_dev;
	l->li_ino = st.st_ino;
	if (gid != (gid_t)-1 && fchownat(pfd, "", (uid_t)-1, gid,
	    AT_EMPTY_PATH) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: chown to group %u: %s", path,
		    (unsigned int)gid, strerror(errno));
		goto fail;
	}
	/*
	 * A default ACL on the directory overrides the umask: then fix the
	 * mode through the pinned inode (/proc/self/fd leads to it, not to
	 * whatever the name holds now).
	 */
	if ((st.st_mode & 0777) != (mode & 0777)) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
		if (chmod(proc, mode & 0777) == -1) {
			rc = -errno;
			snprintf(err, errlen, "%s: chmod: %s", path,
			    strerror(errno));
			goto fail;
		}
	}
	close_reset(&pfd);
	if (listen(fd, LISTENER_BACKLOG) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: listen: %s", path, strerror(errno));
		goto fail;
	}
	if ((rc = fdset_add(keep, fd)) < 0) {
		snprintf(err, errlen, "%s: too many descriptors to keep", path);
		goto fail;
	}
	/* The vsock broker never connects a guest to it. */
	if ((rc = ownsock_add(l->li_dev, l->li_ino)) < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	l->li_dirfd = dirfd;
	*out = l;
	return 0;

fail:
	if (bound)
		(void)unlink_ours(dirfd, name, st.st_dev, st.st_ino);
	if (l != NULL) {
		free(l->li_path);
		free(l->li_name);
		free(l);
	}
	close_reset(&pfd);
	close_reset(&fd);
	close_reset(&dirfd);
	return rc;
}

/*
 * An inherited listener bound at an absolute path: the socket file there
 * is one of ours for the vsock broker too (util/ownsock.h), so a guest is
 * never connected to it.  By name, once: a wrong inode only means one
 * more socket the broker refuses.
 */
static void
inherited_own(struct listener *l, const struct sockaddr_un *sun,
    socklen_t len)
{
	struct stat	st;
	char		path[sizeof(sun->sun_path) + 1];
	size_t		n;

	if (l->li_connected || len <= offsetof(struct sockaddr_un, sun_path) ||
	    sun->sun_path[0] != '/')
		return;
	n = MIN((size_t)len - offsetof(struct sockaddr_un, sun_path),
	    sizeof(sun->sun_path));
	memcpy(path, sun->sun_path, n);
	path[n] = '\0';
	if (stat(path, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    ownsock_add(st.st_dev, st.st_ino) < 0)
		return;
	l->li_dev = st.st_dev;
	l->li_ino = st.st_ino;
	l->li_inh_own = true;
}

int
listener_new_fd(struct listener **out, int fd, struct fdset *keep,
    char *err, size_t errlen)
{
	struct sockaddr_un	sun;
	socklen_t		len = sizeof(sun);
	int			val = 0, rc;
	socklen_t		vlen = sizeof(val);
	bool			connected = false;

	memset(&sun, 0, sizeof(sun));

	*out = NULL;
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == -1) {
		rc = -errno;
		snprintf(err, errlen, "fd %d: not a socket: %s", fd,
		    strerror(errno));
		goto fail;
	}
	if (sun.sun_family != AF_UNIX) {
		rc = -EAFNOSUPPORT;
		snprintf(err, errlen, "fd %d: not a unix socket", fd);
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &val, &vlen) == -1 ||
	    val != SOCK_STREAM) {
		rc = -EPROTOTYPE;
		snprintf(err, errlen, "fd %d: not a stream socket", fd);
		goto fail;
	}
	/*
	 * A listening socket serves one connection after another; a
	 * connected one (libvirt and QEMU pass one end of a socket pair to
	 * a back end they launch) is that one connection.
	 */
	vlen = sizeof(val);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &vlen) == -1) {
		rc = -errno;
		snprintf(err, errlen, "fd %d: SO_ACCEPTCONN: %s", fd,
		    strerror(errno));
		goto fail;
	}
	if (val == 0) {
		len = sizeof(sun);
		if (getpeername(fd, (struct sockaddr *)&sun, &len) == -1) {
			rc = -EINVAL;
			snprintf(err, errlen, "fd %d: socket is not "
			    "listening and not connected (pass a listening "
			    "socket, or one end of a connected pair)", fd);
			goto fail;
		}
		connected = true;
	}
	if ((rc = fd_set_cloexec(fd, 1)) < 0 ||
	    (rc = fd_set_nonblock(fd, 1)) < 0) {
		snprintf(err, errlen, "fd %d: fcntl: %s", fd, strerror(-rc));
		goto fail;
	}
	if ((*out = listener_alloc(fd)) == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "fd %d: out of memory", fd);
		goto fail;
	}
	(*out)->li_connected = connected;
	inherited_own(*out, &sun, len);
	if ((rc = fdset_add(keep, fd)) < 0) {
		snprintf(err, errlen, "fd %d: too many descriptors to keep", fd);
		if ((*out)->li_inh_own)
			ownsock_del((*out)->li_dev, (*out)->li_ino);
		free(*out);
		*out = NULL;
		goto fail;
	}
	return 0;
fail:
	fd_inherited_forget(fd);
	close_reset(&fd);
	return rc;
}

int
listener_fd(const struct listener *l)
{
	return l->li_fd;
}

const char *
listener_path(const struct listener *l)
{
	return l->li_path;
}

bool
listener_is_connected(const struct listener *l)
{
	return l->li_connected;
}

struct listener_retained *
listener_take_parent_resources(struct listener *l)
{
	struct listener_retained	*r;

	if (l->li_path == NULL)
		return NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if (l->li_dirfd < 0 || (r->lr_path = strdup(l->li_path)) == NULL ||
	    (r->lr_name = strdup(l->li_name)) == NULL) {
		free(r->lr_path);
		free(r);
		return NULL;
	}
	/* Moved, not shared: the listener has no further use for it. */
	r->lr_dirfd = l->li_dirfd;
	l->li_dirfd = -1;
	r->lr_dev = l->li_dev;
	r->lr_ino = l->li_ino;
	return r;
}

void
listener_retained_release(struct listener_retained *r)
{
	int	rc;

	if (r == NULL)
		return;
	rc = unlink_ours(r->lr_dirfd, r->lr_name, r->lr_dev, r->lr_ino);
	ownsock_del(r->lr_dev, r->lr_ino);
	if (rc == -ESTALE)
		log_warnx("%s: %s was replaced by another file; leaving it",
		    __func__, r->lr_path);
	else if (rc < 0 && rc != -ENOENT)
		log_warnx("%s: unlink %s: %s", __func__, r->lr_path,
		    strerror(-rc));
	else if (rc == 0)
		log_debug("%s: removed %s", __func__, r->lr_path);
	close_reset(&r->lr_dirfd);
	free(r->lr_path);
	free(r->lr_name);
	free(r);
}

int
listener_retained_set_mode(struct listener_retained *r, mode_t mode,
    gid_t gid, char *err, size_t errlen)
{
	struct stat	st;
	char		proc[64];
	int		pfd, rc = 0;

	if ((pfd = openat(r->lr_dirfd, r->lr_name, O_PATH | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(pfd, &st) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", r->lr_path, strerror(errno));
		close_reset(&pfd);
		return rc;
	}
	if (st.st_dev != r->lr_dev || st.st_ino != r->lr_ino) {
		snprintf(err, errlen, "%s: replaced by another file; leaving "
		    "it", r->lr_path);
		close_reset(&pfd);
		return -ESTALE;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	if (gid != (gid_t)-1 && st.st_gid != gid &&
	    fchownat(pfd, "", (uid_t)-1, gid, AT_EMPTY_PATH) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: chown to group %u: %s", r->lr_path,
		    (unsigned int)gid, strerror(errno));
	} else if ((st.st_mode & 0777) != (mode & 0777) &&
	    chmod(proc, mode & 0777) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: chmod: %s", r->lr_path,
		    strerror(errno));
	}
	close_reset(&pfd);
	return rc;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	fd_inherited_forget(l->li_fd);
	close_reset(&l->li_fd);
	/* Not handed to a retained object: nothing listens on it now. */
	if (l->li_dirfd >= 0 || l->li_inh_own)
		ownsock_del(l->li_dev, l->li_ino);
	close_reset(&l->li_dirfd);
	free(l->li_path);
	free(l->li_name);
	free(l);
}

int
listener_systemd_fds(const char **names, int max)
{
	static char	 namebuf[4096];
	const char	*pid_s, *fds_s, *names_s;
	char		*p, *rest;
	uint64_t	 pid, n;
	int		 i;

	for (i = 0; i < max; i++)
		names[i] = NULL;
	pid_s = getenv("LISTEN_PID");
	fds_s = getenv("LISTEN_FDS");
	if (pid_s == NULL || fds_s == NULL)
		return 0;
	if (parse_u64(pid_s, 1, INT32_MAX, &pid) < 0 ||
	    (pid_t)pid != getpid() || parse_u64(fds_s, 0, 1024, &n) < 0) {
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
		return 0;
	}
	if ((names_s = getenv("LISTEN_FDNAMES")) != NULL) {
		snprintf(namebuf, sizeof(namebuf), "%s", names_s);
		/* strsep, not strtok: an empty name keeps its place. */
		rest = namebuf;
		for (i = 0; (p = strsep(&rest, ":")) != NULL && i < max; i++)
			names[i] = *p != '\0' ? p : NULL;
	}
	for (i = 0; i < (int)n; i++)
		fd_set_cloexec(3 + i, 1);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return (int)n;
}
