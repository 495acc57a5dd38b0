/*
 * vuf-rng - read entropy from a vhost-user rng back end, as a guest would.
 *
 *	vuf-rng SOCKET [BYTES]
 *
 * Connects to SOCKET, negotiates like QEMU, hands the device one
 * device-writable buffer of BYTES (default 64, at most 1 MiB) and writes
 * what the device filled in to stdout.  Exit 0 on success, 1 with a message
 * on stderr otherwise.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vuf.h"

int
main(int argc, char *argv[])
{
	struct vuf_opts	 opts;
	struct vuf_seg	 seg;
	struct vuf	 f;
	unsigned long	 want = 64;
	uint32_t	 got = 0, done = 0;
	uint8_t		*buf;
	char		*end;
	int		 rc;

	if (argc < 2 || argc > 3)
		errx(1, "usage: vuf-rng SOCKET [BYTES]");
	if (argc == 3) {
		want = strtoul(argv[2], &end, 10);
		if (*end != '\0' || want == 0 || want > 1024 * 1024)
			errx(1, "BYTES must be 1 to 1048576");
	}
	vuf_init(&f);
	memset(&opts, 0, sizeof(opts));
	opts.o_mem_size = 4 * 1024 * 1024;
	if ((rc = vuf_setup(&f, argv[1], &opts)) < 0)
		errx(1, "%s: %s", argv[1], vuf_error(&f));
	if ((buf = vuf_alloc(&f, want, 64, &seg.sg_gpa)) == NULL)
		errx(1, "%s", vuf_error(&f));
	/* The device may fill less than asked per request: ask again. */
	while (done < want) {
		seg.sg_gpa = vuf_ptr_to_gpa(&f, buf + done);
		seg.sg_len = (uint32_t)(want - done);
		seg.sg_write = true;
		if ((rc = vuf_vq_exec(&f, 0, &seg, 1, false, &got)) < 0)
			errx(1, "%s: %s", argv[1], vuf_error(&f));
		if (got == 0 || got > want - done)
			errx(1, "%s: the device returned %u bytes for a %lu byte "
			    "buffer", argv[1], got, want - done);
		done += got;
	}
	if (fwrite(buf, 1, want, stdout) != want || fflush(stdout) != 0)
		err(1, "stdout");
	vuf_fini(&f);
	return 0;
}
