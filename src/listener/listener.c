/*
 * listener.c - bind, listen, inherit; the only code that unlinks sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../util/log.h"
#include "listener.h"

#define LISTENER_BACKLOG	16

struct listener {
	int	 li_fd;
	char	*li_path;	/* NULL when inherited */
	dev_t	 li_dev;	/* inode we created at li_path */
	ino_t	 li_ino;
};

struct listener_retained {
	char	*lr_path;
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
 * Something is at path: decide whether it is a stale socket we may replace.
 * 0: removed (or was gone); -EADDRINUSE: a live server; -ENOTSOCK: not a
 * socket.
 */
static int
clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat	st;
	int		fd, rc;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close_reset(&fd);
	if (rc == 0)
		return -EADDRINUSE;
	if (errno != ECONNREFUSED && errno != ENOENT)
		return -errno;
	if (unlink(path) == -1 && errno != ENOENT)
		return -errno;
	log_info("%s: replaced stale socket %s", __func__, path);
	return 0;
}

static struct listener *
listener_alloc(int fd)
{
	struct listener	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->li_fd = fd;
	return l;
}

int
listener_new_path(struct listener **out, const char *path, mode_t mode,
    gid_t gid, struct fdset *keep, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct listener		*l = NULL;
	struct stat		 st;
	mode_t			 oldmask;
	int			 fd = -1, rc;

	*out = NULL;
	if ((rc = sun_fill(&sun, path)) < 0) {
		snprintf(err, errlen, "%s: socket path too long (max %zu bytes)",
		    path, sizeof(sun.sun_path) - 1);
		return rc;
	}
	if ((rc = clear_stale(path, &sun)) < 0) {
		if (rc == -EADDRINUSE)
			snprintf(err, errlen, "%s: another process is listening "
			    "on this socket; stop it or choose another path",
			    path);
		else if (rc == -ENOTSOCK)
			snprintf(err, errlen, "%s: exists and is not a socket; "
			    "refusing to replace it", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: socket: %s", path, strerror(errno));
		return rc;
	}
	/* Create the file with no access for anybody, then open it up. */
	oldmask = umask(0777);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(oldmask);
	if (rc == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: bind: %s", path, strerror(errno));
		goto fail_close;
	}
	if (lstat(path, &st) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: stat: %s", path, strerror(errno));
		goto fail_close;
	}
	if ((l = listener_alloc(fd)) == NULL ||
	    (l->li_path = strdup(path)) == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail_unlink;
	}
	l->li_dev = st.st_dev;
	l->li_ino = st.st_ino;
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: chown to group %u: %s", path,
		    (unsigned int)gid, strerror(errno));
		goto fail_unlink;
	}
	if (chmod(path, mode & 0777) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: chmod: %s", path, strerror(errno));
		goto fail_unlink;
	}
	if (listen(fd, LISTENER_BACKLOG) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: listen: %s", path, strerror(errno));
		goto fail_unlink;
	}
	if ((rc = fdset_add(keep, fd)) < 0) {
		snprintf(err, errlen, "%s: too many descriptors to keep", path);
		goto fail_unlink;
	}
	*out = l;
	return 0;

fail_unlink:
	unlink(path);
fail_close:
	if (l != NULL) {
		free(l->li_path);
		free(l);
	}
	close_reset(&fd);
	return rc;
}

int
listener_new_fd(struct listener **out, int fd, struct fdset *keep,
    char *err, size_t errlen)
{
	struct sockaddr_un	sun;
	socklen_t		len = sizeof(sun);
	int			val = 0, rc;
	socklen_t		vlen = sizeof(val);

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
	vlen = sizeof(val);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &vlen) == -1 ||
	    val == 0) {
		rc = -EINVAL;
		snprintf(err, errlen, "fd %d: socket is not listening", fd);
		goto fail;
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
	if ((rc = fdset_add(keep, fd)) < 0) {
		snprintf(err, errlen, "fd %d: too many descriptors to keep", fd);
		free(*out);
		*out = NULL;
		goto fail;
	}
	return 0;
fail:
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

struct listener_retained *
listener_take_parent_resources(struct listener *l)
{
	struct listener_retained	*r;

	if (l->li_path == NULL)
		return NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->lr_path = strdup(l->li_path)) == NULL) {
		free(r);
		return NULL;
	}
	r->lr_dev = l->li_dev;
	r->lr_ino = l->li_ino;
	return r;
}

void
listener_retained_release(struct listener_retained *r)
{
	struct stat	st;

	if (r == NULL)
		return;
	if (lstat(r->lr_path, &st) == -1) {
		if (errno != ENOENT)
			log_warn("%s: %s", __func__, r->lr_path);
	} else if (st.st_dev != r->lr_dev || st.st_ino != r->lr_ino) {
		log_warnx("%s: %s was replaced by another file; leaving it",
		    __func__, r->lr_path);
	} else if (unlink(r->lr_path) == -1) {
		log_warn("%s: unlink %s", __func__, r->lr_path);
	} else {
		log_debug("%s: removed %s", __func__, r->lr_path);
	}
	free(r->lr_path);
	free(r);
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	close_reset(&l->li_fd);
	free(l->li_path);
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
