/*
 * vsock_fuzz.c - libFuzzer target for the virtio-vsock protocol core
 * (src/devices/vsock_proto.c) and the CONNECT line parser
 * (src/devices/vsock_uds.c).
 *
 * The input is a script: each command byte picks an input of the state
 * machine (a guest packet with a raw 44-byte header and payload, an RX
 * buffer of some size, a host CONNECT, a broker answer, host data, EOF,
 * an error, a partial write, time, a transport reset, CONNECT line
 * bytes).  After each command the actions are drained as the glue would.
 *
 * Besides crashes and sanitizer reports, a finding is a broken contract:
 * buffer memory above max_conns * (buf_alloc + rx_buf), more connections
 * than the cap, a packet for the guest that is not from CID 2 to the
 * guest, longer than its buffer or than its credit allows, an action on
 * a host fd that is not open (a double close, a write after close),
 * host data within vsock_host_rx_room refused.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/vsock_proto.h"
#include "devices/vsock_uds.h"
#include "util/log.h"
#include "util/util.h"

#include "fuzz_common.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GCID		5
#define MAXC		8
#define BUFA		4096
#define RXB		2048
#define NFD		256

static uint8_t	 payload[VSOCK_MAX_PKT];
static bool	 fd_open[NFD];
static uint32_t	 fd_conn[NFD];
static uint32_t	 pending[MAXC * 4];
static unsigned int npending;

static void
drain_actions(struct vsock *v)
{
	struct vsock_action	a;
	struct iovec		iov[2];
	int			n;

	while (vsock_action_next(v, &a) == 1) {
		if (a.va_type == VSOCK_ACT_BROKER_CONNECT) {
			if (a.va_fd != -1)
				abort();
			if (npending < MAXC * 4)
				pending[npending++] = a.va_conn;
			continue;
		}
		if (a.va_fd < 0 || a.va_fd >= NFD || !fd_open[a.va_fd])
			abort();	/* action on a closed fd */
		if (fd_conn[a.va_fd] != a.va_conn)
			abort();
		if (a.va_type == VSOCK_ACT_HOST_CLOSE)
			fd_open[a.va_fd] = false;
		else if (a.va_type == VSOCK_ACT_HOST_WRITE &&
		    vsock_host_tx_peek(v, a.va_conn, iov, &n) != 0)
			abort();
	}
}

static void
check(struct vsock *v)
{
	struct vsock_stats	st;

	vsock_get_stats(v, &st);
	if (st.vs_mem > (size_t)MAXC * (BUFA + RXB) || st.vs_conns > MAXC)
		abort();
}

static int
pick_fd(struct script *s)
{
	uint8_t	b;

	if (!take(s, &b, 1))
		return -1;
	return b;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool		 inited;
	static int		 next_fd;
	struct script		 s = { data, size };
	struct vsock_params	 p;
	struct vsock		*v;
	struct virtio_vsock_hdr	 h;
	struct vsock_conn_info	 ci;
	struct vsock_uds_line	 ul;
	uint8_t			 wire[VSOCK_HDR_SIZE], cmd, b;
	uint16_t		 cap;
	uint32_t		 port, id, credit;
	uint64_t		 now = 0;
	size_t			 len, room, used;
	int			 fd, i;

	if (!inited) {
		log_init(-1, LOG_TO_STDERR, "vsock_fuzz");
		inited = true;
	}
	memset(fd_open, 0, sizeof(fd_open));
	npending = 0;
	next_fd = 0;
	vsock_params_default(&p);
	p.vp_guest_cid = GCID;
	p.vp_max_conns = MAXC;
	p.vp_buf_alloc = BUFA;
	p.vp_rx_buf = RXB;
	p.vp_port_min = 1000;
	p.vp_port_max = 1003;
	p.vp_connect_ms = 100;
	p.vp_close_ms = 100;
	if (size > 0 && (data[0] & 1))
		p.vp_cnt_base = 0xfffff000u;
	if (vsock_new(&p, &v) != 0)
		return 0;
	vsock_uds_line_init(&ul);

	while (take(&s, &cmd, 1)) {
		switch (cmd % 12) {
		case 0:		/* a guest packet, raw header */
		case 1:		/* ... with the CIDs right */
			if (!take(&s, wire, sizeof(wire)))
				goto out;
			vsock_hdr_decode(wire, &h);
			if (cmd % 12 == 1) {
				h.src_cid = GCID;
				h.dst_cid = VSOCK_CID_HOST;
				h.type = VIRTIO_VSOCK_TYPE_STREAM;
				h.op = 1 + h.op % 7;
				h.src_port %= 4;
				h.dst_port = h.dst_port % 2 ? 1000 +
				    h.dst_port % 4 : h.dst_port % 4;
				h.len %= 2 * BUFA;
				if (h.op != VIRTIO_VSOCK_OP_RW)
					h.len = 0;
			}
			len = MIN((size_t)h.len, s.n);
			memcpy(payload, s.p, MIN(len, sizeof(payload)));
			s.p += len;
			s.n -= len;
			(void)vsock_guest_packet(v, &h, payload, len);
			break;
		case 2:		/* an RX buffer for the guest */
			if (!take(&s, &cap, sizeof(cap)))
				goto out;
			while (vsock_guest_next(v, &h, payload, cap, &len) ==
			    0) {
				/* An RST answers from the address the guest
				 * wrote to (as Linux does), any CID. */
				if ((h.src_cid != VSOCK_CID_HOST &&
				    h.op != VIRTIO_VSOCK_OP_RST) ||
				    h.dst_cid != GCID || len > cap ||
				    h.len != len || h.op < 1 || h.op > 7 ||
				    (h.op != VIRTIO_VSOCK_OP_RW && len != 0))
					abort();
				if (len > 0 && vsock_conn_lookup(v,
				    h.dst_port, h.src_port, &id) != 0)
					abort();	/* data of nobody */
				if (cap % 3 == 0)
					break;
			}
			break;
		case 3:		/* host CONNECT */
			if (!take(&s, &b, 1) || next_fd >= NFD)
				goto out;
			fd = next_fd++;
			if (vsock_host_connect(v, fd, b % 4, &id) == 0) {
				fd_open[fd] = true;
				fd_conn[fd] = id;
			}
			break;
		case 4:		/* broker answers the oldest request */
			if (npending == 0 || !take(&s, &b, 1) ||
			    next_fd >= NFD)
				break;
			id = pending[0];
			memmove(pending, pending + 1,
			    --npending * sizeof(pending[0]));
			if (b & 1) {
				fd = next_fd++;
				if (vsock_host_connected(v, id, fd) == 0) {
					fd_open[fd] = true;
					fd_conn[fd] = id;
				}
			} else
				(void)vsock_host_connect_failed(v, id);
			break;
		case 5:		/* host data */
			if ((fd = pick_fd(&s)) < 0 || !take(&s, &cap,
			    sizeof(cap)))
				goto out;
			if (!fd_open[fd])
				break;
			id = fd_conn[fd];
			room = vsock_host_rx_room(v, id);
			if (vsock_conn_info(v, id, &ci) == 0) {
				credit = ci.ci_peer_credit;
				if (room > RXB || (room > 0 &&
				    room + ci.ci_rx_buffered > credit))
					abort();
			}
			len = MIN((size_t)cap, sizeof(payload));
			if (len <= room && len > 0 &&
			    vsock_host_data(v, id, payload, len) != 0)
				abort();
			if (len > room && vsock_host_data(v, id, payload,
			    len) == 0)
				abort();
			break;
		case 6:
			if ((fd = pick_fd(&s)) >= 0 && fd_open[fd])
				(void)vsock_host_eof(v, fd_conn[fd]);
			break;
		case 7:
			if ((fd = pick_fd(&s)) >= 0 && fd_open[fd])
				(void)vsock_host_closed(v, fd_conn[fd]);
			break;
		case 8:		/* the host fd takes some bytes */
			if ((fd = pick_fd(&s)) < 0 || !take(&s, &cap,
			    sizeof(cap)))
				goto out;
			if (fd_open[fd]) {
				struct iovec	iov[2];
				int		n;
				size_t		tot = 0;

				if (vsock_host_tx_peek(v, fd_conn[fd], iov,
				    &n) != 0)
					break;
				for (i = 0; i < n; i++)
					tot += iov[i].iov_len;
				(void)vsock_host_tx_done(v, fd_conn[fd],
				    MIN(tot, (size_t)cap));
			}
			break;
		case 9:
			if (!take(&s, &b, 1))
				goto out;
			now += b;
			vsock_tick(v, now);
			break;
		case 10:
			vsock_reset(v);
			npending = 0;
			break;
		case 11:	/* CONNECT line bytes */
			if (!take(&s, &b, 1))
				goto out;
			len = MIN((size_t)b % 24, s.n);
			i = vsock_uds_line_feed(&ul, s.p, len, &used, &port);
			if (used > len || (i == 1 && port == VSOCK_PORT_ANY))
				abort();
			if (i != 0)
				vsock_uds_line_init(&ul);
			s.p += len;
			s.n -= len;
			break;
		}
		drain_actions(v);
		check(v);
	}
out:
	vsock_reset(v);
	drain_actions(v);
	for (i = 0; i < NFD; i++)
		if (fd_open[i])
			abort();	/* a reset closes every host fd */
	vsock_free(v);
	return 0;
}
