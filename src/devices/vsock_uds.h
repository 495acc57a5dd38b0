/*
 * vsock_uds.h - the host side of the hybrid vsock convention (the one
 * Firecracker and vhost-device-vsock use), as pure functions:
 *
 *   host -> guest: a host program connects to the device's unix socket
 *   uds-path and writes "CONNECT <port>\n"; once the guest's listener on
 *   <port> accepted it reads "OK <host_port>\n", then the stream is the
 *   connection.
 *   guest -> host: a guest connection to CID 2 port P reaches the unix
 *   socket listening at "<uds-path>_<P>".
 *
 * The jailed child cannot connect by path; it asks the parent (the
 * broker) over a socketpair with fixed-format records, which the parent
 * parses as untrusted input (STYLE.md: small fixed-format records).
 */
#ifndef VHOSTD_DEVICES_VSOCK_UDS_H
#define VHOSTD_DEVICES_VSOCK_UDS_H

#include <stddef.h>
#include <stdint.h>

/* "CONNECT 4294967294\n" is 19 bytes; anything longer is refused. */
#define VSOCK_UDS_LINE_MAX	32
/* sizeof(((struct sockaddr_un *)0)->sun_path), including the NUL. */
#define VSOCK_UDS_PATH_MAX	108

/*
 * Parse one CONNECT line (without or with its final '\n': len counts the
 * bytes given).  Strict: "CONNECT", one space, 1 to 10 decimal digits
 * without sign or leading zero, the port < 0xffffffff, then '\n' or the
 * end; nothing else (no '\r', no NUL, no second space).  0 and *port, or
 * -EINVAL / -ERANGE.
 */
int	vsock_uds_parse_connect(const char *line, size_t len, uint32_t *port);

/* A CONNECT line arriving in pieces (reads of any size). */
struct vsock_uds_line {
	char	ul_buf[VSOCK_UDS_LINE_MAX];
	size_t	ul_len;
	int	ul_err;		/* sticky: once bad, always bad */
};

/* An empty line, no error. */
void	vsock_uds_line_init(struct vsock_uds_line *ul);

/*
 * Feed n bytes.  *used is how many were taken: on completion the bytes
 * after the '\n' are not taken (they belong to the stream; the glue reads
 * with MSG_PEEK and consumes *used bytes).  Returns 1 and *port when the
 * line is complete, 0 when more is needed (all n taken), -EMSGSIZE when
 * VSOCK_UDS_LINE_MAX bytes came without '\n', -EINVAL/-ERANGE for a bad
 * line (as soon as it is known: a wrong prefix fails on its first byte).
 */
int	vsock_uds_line_feed(struct vsock_uds_line *ul, const void *buf,
	    size_t n, size_t *used, uint32_t *port);

/* "OK <port>\n" into buf: its length (no NUL counted), or -ENOSPC. */
int	vsock_uds_format_ok(uint32_t port, char *buf, size_t cap);

/*
 * "<base>_<port>" into out (NUL-terminated, cap bytes): its length, or
 * -EINVAL (empty base, port 0xffffffff) or -ENAMETOOLONG (longer than
 * cap - 1 or than a sun_path can hold).
 */
int	vsock_uds_port_path(const char *base, uint32_t port, char *out,
	    size_t cap);

/*
 * Broker records on the child <-> parent socketpair (SOCK_SEQPACKET so
 * one record is one message).  Request: the child asks for a connection
 * to <uds-path>_<port>; the answer carries the fd as SCM_RIGHTS when
 * error is 0.  Fields are little endian on the wire, 16 bytes each.
 */
#define VSOCK_BROKER_MAGIC_REQ	0x31716b76u	/* "vkq1" */
#define VSOCK_BROKER_MAGIC_RESP	0x31706b76u	/* "vkp1" */
#define VSOCK_BROKER_REC_SIZE	16
/* Highest errno an answer may carry. */
#define VSOCK_BROKER_ERR_MAX	4095

struct vsock_broker_req {
	uint32_t	br_seq;		/* echoed in the answer */
	uint32_t	br_port;
};

struct vsock_broker_resp {
	uint32_t	bp_seq;
	int32_t		bp_error;	/* 0 or a positive errno */
};

/* r as the fixed-size record the child writes to the broker pipe. */
void	vsock_broker_req_encode(const struct vsock_broker_req *r,
	    uint8_t wire[VSOCK_BROKER_REC_SIZE]);
/*
 * Parse a request from the (untrusted) child: exactly
 * VSOCK_BROKER_REC_SIZE bytes, the magic, zero padding, port !=
 * 0xffffffff.  0 or -EINVAL.
 */
int	vsock_broker_req_decode(const void *buf, size_t n,
	    struct vsock_broker_req *r);
void	vsock_broker_resp_encode(const struct vsock_broker_resp *r,
	    uint8_t wire[VSOCK_BROKER_REC_SIZE]);
/* Parse the parent's answer: size, magic, padding, 0 <= error <= MAX. */
int	vsock_broker_resp_decode(const void *buf, size_t n,
	    struct vsock_broker_resp *r);

#endif /* VHOSTD_DEVICES_VSOCK_UDS_H */
