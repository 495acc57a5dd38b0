/*
 * blk_probe.c - what an image holds before vhostd serves it as a raw
 * disk.  A qcow2 (or vmdk, vhdx, vdi, ...) file served raw shows the
 * guest the format's metadata as its disk, and a guest that writes to it
 * destroys the image; a LUKS volume served raw shows the guest the
 * encrypted bytes.  Both are nearly always a mistake, so dt_open refuses
 * them unless format=raw says the user means it (blk.c), and says how to
 * convert the image.  Only magic numbers at fixed offsets, as qemu-img's
 * probes read them; nothing here trusts the header beyond its magic.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk.h"

struct blk_magic {
	const char	*bm_name;	/* for messages */
	size_t		 bm_off;
	const char	*bm_bytes;
	size_t		 bm_len;
	bool		 bm_crypt;	/* encrypted, not an image format */
};

#define MAGIC(name, off, bytes, crypt) \
	{ name, off, bytes, sizeof(bytes) - 1, crypt }

static const struct blk_magic blk_magics[] = {
	MAGIC("qcow2", 0, "QFI\xfb", false),	/* qcow and qcow2 */
	MAGIC("QED", 0, "QED\0", false),
	MAGIC("vmdk", 0, "KDMV", false),	/* sparse extent */
	MAGIC("vmdk", 0, "COWD", false),	/* ESX sparse */
	MAGIC("vmdk", 0, "# Disk DescriptorFile", false),
	MAGIC("vhdx", 0, "vhdxfile", false),
	MAGIC("vpc (VHD)", 0, "conectix", false), /* dynamic: copy at 0 */
	/* VirtualBox: the signature 0xbeda107f, little endian, at 0x40. */
	MAGIC("vdi", 0x40, "\x7f\x10\xda\xbe", false),
	MAGIC("LUKS", 0, "LUKS\xba\xbe", true),
};

const char *
blk_format_probe(const uint8_t *buf, size_t len, bool *crypt)
{
	const struct blk_magic	*m;
	unsigned int		 i;

	for (i = 0; i < sizeof(blk_magics) / sizeof(blk_magics[0]); i++) {
		m = &blk_magics[i];
		if (m->bm_off + m->bm_len <= len &&
		    memcmp(buf + m->bm_off, m->bm_bytes, m->bm_len) == 0) {
			if (crypt != NULL)
				*crypt = m->bm_crypt;
			return m->bm_name;
		}
	}
	return NULL;
}

int
blk_format_check(int fd, const char *path, char *err, size_t errlen)
{
	const char	*name;
	uint8_t		*buf;
	ssize_t		 n;
	bool		 crypt = false;
	int		 e;

	/* Aligned: fd may be a block device opened with O_DIRECT. */
	if (posix_memalign((void **)&buf, BLK_PROBE_BYTES,
	    BLK_PROBE_BYTES) != 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	do
		n = pread(fd, buf, BLK_PROBE_BYTES, 0);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		e = errno;
		snprintf(err, errlen, "%s: reading its first bytes: %s", path,
		    strerror(e));
		free(buf);
		return -e;
	}
	name = blk_format_probe(buf, (size_t)n, &crypt);
	free(buf);
	if (name == NULL)
		return 0;
	if (crypt)
		snprintf(err, errlen, "%s is a %s encrypted volume, not a "
		    "plain disk: open it on the host (cryptsetup open %s "
		    "NAME) and serve /dev/mapper/NAME, or give format=raw to "
		    "serve the encrypted bytes to the guest", path, name,
		    path);
	else
		snprintf(err, errlen, "%s is a %s image, not a raw disk: "
		    "convert it (qemu-img convert -O raw %s %s.raw) and "
		    "serve the copy, or give format=raw to serve its bytes "
		    "as they are", path, name, path, path);
	return -EMEDIUMTYPE;
}
