/*
 * listener.h - the vhost-user listening socket of one device (the seed's
 * VhostUserListener) and the resources the parent keeps for it.
 *
 * This is the only code that unlinks socket paths.
 */
#ifndef VHOSTD_LISTENER_H
#define VHOSTD_LISTENER_H

#include <stdbool.h>
#include <sys/types.h>

#include "../util/util.h"

struct listener;
struct listener_retained;

/*
 * Bind and listen on a unix socket at path, mode (e.g. 0600) and, when gid
 * is not (gid_t)-1, that group.  A stale socket at path (nothing answers a
 * connect) is replaced; a live one (it accepts, or does not answer within
 * a bounded non-blocking probe: a full backlog), or a path that is not a
 * socket, is an error naming the path.  Never blocks on the path.
 *
 * Safe in a directory other users can write to: path's directory is
 * opened once and every later step works on that descriptor (bind from
 * inside it, the mode set by umask before bind, the group changed through
 * an O_PATH descriptor of the entry after checking that it is a socket of
 * ours, unlinks only after fstatat shows the inode that was checked), so
 * no symlink swapped in for the socket or its directory redirects a
 * privileged vhostd to another file.  The listener keeps the directory
 * descriptor (CLOEXEC, not in keep) until
 * listener_take_parent_resources() moves it to the retained resources.
 *
 * Appends the listening fd to keep.  On error writes a message to err and
 * returns -errno.
 */
int	listener_new_path(struct listener **out, const char *path, mode_t mode,
	    gid_t gid, struct fdset *keep, char *err, size_t errlen);

/*
 * Where a socket path leads: its directory's inode and the entry in it,
 * so that every spelling of one path (./x, a/../x, through a symlinked
 * directory) compares equal (listener_id_equal).
 */
struct listener_id {
	dev_t	lid_dev;
	ino_t	lid_ino;
	char	lid_name[108];
};

/*
 * The checks listener_new_path makes before it binds, without binding or
 * removing anything (vhostd -n, and every device before it is opened):
 * the path fits a socket address, its directory exists, and what is
 * there now is nothing, or a socket.  Fills id.  0: nothing there or a
 * stale socket (start replaces it); 1: a live socket (start refuses it,
 * unless it is the running vhostd's own); -errno with a message naming
 * path in err.
 */
int	listener_check_path(const char *path, struct listener_id *id,
	    char *err, size_t errlen);
bool	listener_id_equal(const struct listener_id *a,
	    const struct listener_id *b);

/*
 * Adopt an inherited unix stream socket (QEMU backend-program conventions,
 * --fd; systemd socket activation): a listening one (SO_ACCEPTCONN), whose
 * children accept one connection after another, or a connected one (the
 * end of a socket pair libvirt or QEMU passes to a back end it launches),
 * which is the one connection to serve (listener_is_connected).  A socket
 * that is neither is refused.  Takes ownership of fd.  Appends it to keep.
 */
int	listener_new_fd(struct listener **out, int fd, struct fdset *keep,
	    char *err, size_t errlen);

/* The listening descriptor (owned by the listener). */
int	listener_fd(const struct listener *l);
/* Path it is bound to, or NULL for an inherited fd. */
const char *listener_path(const struct listener *l);
/*
 * Whether the descriptor is a connected socket (one front end, served
 * once, never restarted) rather than a listening one.
 */
bool	listener_is_connected(const struct listener *l);

/*
 * The retained resources the parent keeps for a device (the seed's
 * take_parent_process_resources): releasing them unlinks the socket file,
 * but only if the path still names the inode this listener created.  The
 * listener keeps its fd; the directory descriptor moves to the returned
 * object, which is independent of the listener.  Call once.  NULL when
 * there is nothing to keep (inherited fd) or on allocation failure.
 */
struct listener_retained *listener_take_parent_resources(struct listener *l);

/*
 * Unlink the socket file if it is still ours (same inode, checked on the
 * directory descriptor opened at bind time, not by path); free r.  NULL is
 * a no-op.
 */
void	listener_retained_release(struct listener_retained *r);

/*
 * Give the socket file of r (still ours: same inode) mode and, unless
 * gid is (gid_t)-1, that group: a reload that changes only mode= or
 * group= keeps the listening socket.  0 or -errno with a message.
 */
int	listener_retained_set_mode(struct listener_retained *r, mode_t mode,
	    gid_t gid, char *err, size_t errlen);

/* Close the listening fd and free l (does not unlink).  NULL is a no-op. */
void	listener_free(struct listener *l);

/*
 * systemd socket activation (sd_listen_fds(3), plain protocol): when
 * LISTEN_PID names this process, return the number of passed fds (they
 * start at 3) and store LISTEN_FDNAMES split at ':' into names (up to max,
 * NULL where absent; the strings point into a static copy).  Unsets the
 * variables.  0 when not socket-activated.
 */
int	listener_systemd_fds(const char **names, int max);

#endif /* VHOSTD_LISTENER_H */
