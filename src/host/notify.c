/*
 * notify.c - sd_notify(3) over a plain datagram socket, --ready-fd.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../util/util.h"
#include "notify.h"

int
notify_send(const char *state)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	const char		*path = getenv("NOTIFY_SOCKET");
	socklen_t		 len;
	size_t			 plen;
	int			 fd, rc = 0;

	if (path == NULL || *path == '\0')
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sun.sun_path))
		return -EINVAL;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		rc = -errno;
	close_reset(&fd);
	return rc;
}

uint64_t
notify_watchdog_usec(void)
{
	const char	*usec = getenv("WATCHDOG_USEC");
	const char	*pid = getenv("WATCHDOG_PID");
	uint64_t	 v, p;

	if (usec == NULL || parse_u64(usec, 1, UINT64_MAX, &v) < 0)
		return 0;
	if (pid != NULL && (parse_u64(pid, 1, INT32_MAX, &p) < 0 ||
	    (pid_t)p != getpid()))
		return 0;
	return v;
}

int
notify_ready_fd(int fd)
{
	static const char	msg[] = "READY=1\n";
	int			rc = 0;

	if (write(fd, msg, sizeof(msg) - 1) != (ssize_t)(sizeof(msg) - 1))
		rc = -errno;
	close_reset(&fd);
	return rc;
}
