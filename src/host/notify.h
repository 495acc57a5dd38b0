/*
 * notify.h - readiness and status for service managers: systemd's notify
 * protocol (plain datagrams to $NOTIFY_SOCKET, no libsystemd) and a
 * --ready-fd for VM managers.
 */
#ifndef VHOSTD_HOST_NOTIFY_H
#define VHOSTD_HOST_NOTIFY_H

#include <stdint.h>

/*
 * Send "KEY=VALUE\n..." to $NOTIFY_SOCKET (path or @abstract).  0 when
 * sent or when not running under systemd; -errno on failure.
 */
int	notify_send(const char *state);

/*
 * Watchdog interval in microseconds from $WATCHDOG_USEC (when
 * $WATCHDOG_PID is absent or names this process), else 0.
 */
uint64_t notify_watchdog_usec(void);

/* Write "READY=1\n" to fd and close it.  0 or -errno. */
int	notify_ready_fd(int fd);

#endif /* VHOSTD_HOST_NOTIFY_H */
