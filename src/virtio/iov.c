/*
 * iov.c - copies between flat buffers and the iovec arrays a popped
 * element points into (guest memory).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../util/util.h"
#include "iov.h"

/*
 * The walk both directions share: skip off bytes of the segments, then
 * copy up to len bytes from in into the segments (to_iov), or from the
 * segments into out.  Returns the bytes copied.
 */
static size_t
iov_copy(const struct iovec *iov, unsigned int n, size_t off, uint8_t *out,
    const uint8_t *in, size_t len, bool to_iov)
{
	size_t		 done = 0, chunk;
	unsigned int	 i;
	uint8_t		*seg;

	for (i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		chunk = MIN(iov[i].iov_len - off, len - done);
		seg = (uint8_t *)iov[i].iov_base + off;
		if (to_iov)
			memcpy(seg, in + done, chunk);
		else
			memcpy(out + done, seg, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

size_t
iov_from_buf(const struct iovec *iov, unsigned int n, size_t off,
    const void *buf, size_t len)
{
	return iov_copy(iov, n, off, NULL, buf, len, true);
}

size_t
iov_to_buf(const struct iovec *iov, unsigned int n, size_t off, void *buf,
    size_t len)
{
	return iov_copy(iov, n, off, buf, buf, len, false);
}
