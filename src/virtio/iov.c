/*
 * iov.c - copies between flat buffers and the iovec arrays a popped
 * element points into (guest memory).
 */
#include <stdint.h>
#include <string.h>

#include "../util/util.h"
#include "iov.h"

size_t
iov_from_buf(const struct iovec *iov, unsigned int n, size_t off,
    const void *buf, size_t len)
{
	const uint8_t	*src = buf;
	size_t		 done = 0, chunk;
	unsigned int	 i;

	for (i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		chunk = MIN(iov[i].iov_len - off, len - done);
		memcpy((uint8_t *)iov[i].iov_base + off, src + done, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

size_t
iov_to_buf(const struct iovec *iov, unsigned int n, size_t off, void *buf,
    size_t len)
{
	uint8_t		*dst = buf;
	size_t		 done = 0, chunk;
	unsigned int	 i;

	for (i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		chunk = MIN(iov[i].iov_len - off, len - done);
		memcpy(dst + done, (const uint8_t *)iov[i].iov_base + off,
		    chunk);
		done += chunk;
		off = 0;
	}
	return done;
}
