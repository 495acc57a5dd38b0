/*
 * vuf-vsock - a guest's vsock stream, without a VM: the in-tree front
 * end's vsock driver (vuf_vsock.h) on a vhost-user vsock back end.
 *
 *	vuf-vsock SOCKET CID listen PORT	accept one connection on guest
 *						port PORT, echo it back
 *	vuf-vsock SOCKET CID connect PORT	connect to CID 2 port PORT,
 *						send stdin, write what comes
 *						back to stdout
 *
 * For trying the hybrid convention by hand (socat on the host side).
 * Exit 0 when the stream ended cleanly, 1 with a message otherwise.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/vsock_proto.h"
#include "vuf_vsock.h"

static struct vsv	v;

/* Echo what the host sends until it shuts down its side. */
static void
do_echo(int c)
{
	static uint8_t	buf[65536];
	ssize_t		n;

	for (;;) {
		n = vsv_recv(&v, c, buf, sizeof(buf), 60000);
		if (n == 0)
			break;
		if (n < 0)
			errx(1, "receive: %s", strerror((int)-n));
		if (vsv_send(&v, c, buf, (size_t)n, 60000) != n)
			errx(1, "send: %s", vuf_error(&v.v_f));
	}
	(void)vsv_shutdown(&v, c, VIRTIO_VSOCK_SHUTDOWN_SEND);
	(void)vsv_poll(&v, 100);
}

/* stdin to the host, the host's bytes to stdout. */
static void
do_cat(int c)
{
	static uint8_t	buf[65536];
	struct pollfd	pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	bool		in_eof = false;
	ssize_t		n;

	(void)fcntl(STDIN_FILENO, F_SETFL, O_NONBLOCK);
	for (;;) {
		if (!in_eof && poll(&pfd, 1, 0) == 1) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				in_eof = true;
				(void)vsv_shutdown(&v, c,
				    VIRTIO_VSOCK_SHUTDOWN_SEND);
			} else if (vsv_send(&v, c, buf, (size_t)n, 60000) !=
			    n)
				errx(1, "send: %s", vuf_error(&v.v_f));
		}
		n = vsv_recv(&v, c, buf, sizeof(buf), 10);
		if (n == 0)
			break;
		if (n == -EAGAIN)
			continue;
		if (n < 0)
			errx(1, "receive: %s", strerror((int)-n));
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n ||
		    fflush(stdout) != 0)
			err(1, "stdout");
	}
}

int
main(int argc, char *argv[])
{
	unsigned long	cid, port;
	int		c;

	if (argc != 5 || (strcmp(argv[3], "listen") != 0 &&
	    strcmp(argv[3], "connect") != 0))
		errx(1, "usage: vuf-vsock SOCKET CID listen|connect PORT");
	cid = strtoul(argv[2], NULL, 10);
	port = strtoul(argv[4], NULL, 10);
	if (vsv_start(&v, argv[1], cid, 0) < 0)
		errx(1, "%s: %s", argv[1], vuf_error(&v.v_f));
	if (strcmp(argv[3], "listen") == 0) {
		if (vsv_listen(&v, (uint32_t)port) < 0 ||
		    (c = vsv_accept(&v, (uint32_t)port, 600000)) < 0)
			errx(1, "accept: %s", vuf_error(&v.v_f));
		do_echo(c);
	} else {
		if ((c = vsv_connect(&v, (uint32_t)port, 10000)) < 0)
			errx(1, "connect to 2:%lu: %s", port,
			    c == -ECONNREFUSED ? "connection reset" :
			    vuf_error(&v.v_f));
		do_cat(c);
	}
	vsv_stop(&v);
	return 0;
}
