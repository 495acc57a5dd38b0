/*
 * ctl.h - the control socket: "vhostd ctl status [--json]".
 *
 * A unix socket (mode 0600, only root or vhostd's own user may talk to it,
 * checked with SO_PEERCRED).  One request line per connection: "status" or
 * "status-json"; the reply is the text, then the connection closes.
 */
#ifndef VHOSTD_HOST_CTL_H
#define VHOSTD_HOST_CTL_H

#include <stdbool.h>
#include <stdio.h>

struct supervisor;

#define CTL_DEFAULT_PATH	"/run/vhostd/control.sock"

/* Start serving path in sup's loop.  0, or -errno with a message. */
int	ctl_listen(struct supervisor *sup, const char *path, char *err,
	    size_t errlen);
/* Stop serving and remove the socket file. */
void	ctl_close(struct supervisor *sup);

/* Write the device table to f, as text or JSON. */
void	ctl_status(const struct supervisor *sup, bool json, FILE *f);

/* Client: send cmd to path and copy the reply to out.  Exit status. */
int	ctl_client(const char *path, const char *cmd, FILE *out);

#endif /* VHOSTD_HOST_CTL_H */
