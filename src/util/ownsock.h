/*
 * ownsock.h - the socket files this process bound (by st_dev, st_ino of
 * the file), so that code connecting on a peer's behalf (the vsock
 * broker) can refuse vhostd's own sockets: another device's vhost-user
 * socket or uds-path, the control socket.  The listener adds each socket
 * file it binds and removes it when it unlinks it.
 */
#ifndef VHOSTD_UTIL_OWNSOCK_H
#define VHOSTD_UTIL_OWNSOCK_H

#include <stdbool.h>
#include <sys/types.h>

/* Add a socket file; 0 or -ENOMEM. */
int	ownsock_add(dev_t dev, ino_t ino);
/* Remove it (a no-op if absent). */
void	ownsock_del(dev_t dev, ino_t ino);
/* Was this file bound by this process (and is it still registered)? */
bool	ownsock_has(dev_t dev, ino_t ino);

#endif /* VHOSTD_UTIL_OWNSOCK_H */
