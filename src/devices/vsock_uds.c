/*
 * vsock_uds.c - the hybrid vsock convention's text protocol and the
 * broker records (vsock_uds.h).  No system calls.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vsock_uds.h"

static const char	connect_prefix[] = "CONNECT ";
#define PREFIX_LEN	(sizeof(connect_prefix) - 1)
#define DIGITS_MAX	10

/*
 * Check the bytes seen so far of a line (no '\n' among them) for a
 * prefix of a valid line: -EINVAL as soon as one byte is wrong.
 */
static int
check_partial(const char *s, size_t len)
{
	size_t	i, nd;

	for (i = 0; i < len && i < PREFIX_LEN; i++)
		if (s[i] != connect_prefix[i])
			return -EINVAL;
	if (len <= PREFIX_LEN)
		return 0;
	nd = len - PREFIX_LEN;
	if (nd > DIGITS_MAX)
		return -ERANGE;
	for (i = PREFIX_LEN; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
	if (s[PREFIX_LEN] == '0' && nd > 1)
		return -EINVAL;		/* leading zero */
	return 0;
}

/*
 * Parse a complete CONNECT line.
 */
int
vsock_uds_parse_connect(const char *line, size_t len, uint32_t *port)
{
	uint64_t	v = 0;
	size_t		i;
	int		rc;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len <= PREFIX_LEN || len > PREFIX_LEN + DIGITS_MAX)
		return len > PREFIX_LEN + DIGITS_MAX ? -ERANGE : -EINVAL;
	if ((rc = check_partial(line, len)) < 0)
		return rc;
	for (i = PREFIX_LEN; i < len; i++)
		v = v * 10 + (uint64_t)(line[i] - '0');
	if (v >= 0xffffffffu)
		return -ERANGE;
	*port = (uint32_t)v;
	return 0;
}

/* Start a new line. */
void
vsock_uds_line_init(struct vsock_uds_line *ul)
{
	memset(ul, 0, sizeof(*ul));
}

/*
 * Feed bytes of a CONNECT line.
 */
int
vsock_uds_line_feed(struct vsock_uds_line *ul, const void *buf, size_t n,
    size_t *used, uint32_t *port)
{
	const char	*p = buf;
	size_t		 i;
	int		 rc;

	*used = 0;
	if (ul->ul_err != 0)
		return ul->ul_err;
	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			*used = i + 1;
			rc = vsock_uds_parse_connect(ul->ul_buf, ul->ul_len,
			    port);
			ul->ul_err = rc < 0 ? rc : 0;
			ul->ul_len = 0;
			return rc < 0 ? rc : 1;
		}
		if (ul->ul_len == sizeof(ul->ul_buf)) {
			*used = i;
			return ul->ul_err = -EMSGSIZE;
		}
		ul->ul_buf[ul->ul_len++] = p[i];
		if ((rc = check_partial(ul->ul_buf, ul->ul_len)) < 0) {
			*used = i + 1;
			return ul->ul_err = rc;
		}
	}
	*used = n;
	return 0;
}

/* "OK <port>\n". */
int
vsock_uds_format_ok(uint32_t port, char *buf, size_t cap)
{
	int	n = snprintf(buf, cap, "OK %u\n", port);

	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

/* "<base>_<port>". */
int
vsock_uds_port_path(const char *base, uint32_t port, char *out, size_t cap)
{
	int	n;

	if (base == NULL || base[0] == '\0' || port == 0xffffffffu ||
	    cap == 0)
		return -EINVAL;
	n = snprintf(out, cap, "%s_%u", base, port);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= cap || n >= VSOCK_UDS_PATH_MAX) {
		out[0] = '\0';
		return -ENAMETOOLONG;
	}
	return n;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Request record: magic, seq, port, 0. */
void
vsock_broker_req_encode(const struct vsock_broker_req *r,
    uint8_t wire[VSOCK_BROKER_REC_SIZE])
{
	put32(wire, VSOCK_BROKER_MAGIC_REQ);
	put32(wire + 4, r->br_seq);
	put32(wire + 8, r->br_port);
	put32(wire + 12, 0);
}

/*
 * Parse a request from the child (untrusted).
 */
int
vsock_broker_req_decode(const void *buf, size_t n, struct vsock_broker_req *r)
{
	const uint8_t	*p = buf;

	if (n != VSOCK_BROKER_REC_SIZE || get32(p) != VSOCK_BROKER_MAGIC_REQ ||
	    get32(p + 12) != 0 || get32(p + 8) == 0xffffffffu)
		return -EINVAL;
	r->br_seq = get32(p + 4);
	r->br_port = get32(p + 8);
	return 0;
}

/* Answer record: magic, seq, error, 0. */
void
vsock_broker_resp_encode(const struct vsock_broker_resp *r,
    uint8_t wire[VSOCK_BROKER_REC_SIZE])
{
	put32(wire, VSOCK_BROKER_MAGIC_RESP);
	put32(wire + 4, r->bp_seq);
	put32(wire + 8, (uint32_t)r->bp_error);
	put32(wire + 12, 0);
}

/*
 * Parse the parent's answer.
 */
int
vsock_broker_resp_decode(const void *buf, size_t n,
    struct vsock_broker_resp *r)
{
	const uint8_t	*p = buf;
	uint32_t	 err;

	if (n != VSOCK_BROKER_REC_SIZE ||
	    get32(p) != VSOCK_BROKER_MAGIC_RESP || get32(p + 12) != 0)
		return -EINVAL;
	err = get32(p + 8);
	if (err > VSOCK_BROKER_ERR_MAX)
		return -EINVAL;
	r->bp_seq = get32(p + 4);
	r->bp_error = (int32_t)err;
	return 0;
}
