/*
 * vsock_conn_test.c - the virtio-vsock protocol core, continued:
 * shutdown in both directions and close, host-initiated connections
 * (CONNECT), the connection cap and the host-port allocator, many
 * connections, transport reset.
 */
#include "vsock_test.h"

static void
setup(void)
{
	open_table(16, 0);
}

static void
teardown(void)
{
	vsock_free(V);
	V = NULL;
}

TestSuite(vsock_conn, .init = setup, .fini = teardown);

Test(vsock_conn, guest_shutdown_send_after_the_drain)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;
	uint8_t			out[64];

	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 4);
	cr_assert_eq(gsend(h, "last"), 0);
	act(VSOCK_ACT_HOST_WRITE);
	h = ghdr(VIRTIO_VSOCK_OP_SHUTDOWN, 1, 2, 0);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
	cr_assert_eq(gsend(h, NULL), 0);
	noact();			/* data first */
	cr_assert_eq(host_drain(id, out, sizeof(out)), 4);
	cr_assert_eq(act(VSOCK_ACT_HOST_SHUT_WR).va_fd, 40);
	noact();
	cr_assert_eq(info(id).ci_peer_shut, VIRTIO_VSOCK_SHUTDOWN_SEND);
	/* The other direction still works. */
	cr_assert_eq(vsock_host_data(V, id, "back", 4), 0);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RW);
	/* Data after SHUTDOWN(SEND): a violation. */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 1);
	cr_assert_eq(gsend(h, "x"), -EPROTO);
	act(VSOCK_ACT_HOST_CLOSE);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
}

Test(vsock_conn, guest_shutdown_rcv_drops_staged_data)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;

	cr_assert_eq(vsock_host_data(V, id, "unread", 6), 0);
	h = ghdr(VIRTIO_VSOCK_OP_SHUTDOWN, 1, 2, 0);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_RCV;
	cr_assert_eq(gsend(h, NULL), 0);
	cr_assert_eq(act(VSOCK_ACT_HOST_SHUT_RD).va_fd, 40);
	cr_assert_eq(info(id).ci_rx_buffered, 0);
	cr_assert_eq(vsock_host_rx_room(V, id), 0);
	gnone();
	/* Guest -> host still works. */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 2);
	cr_assert_eq(gsend(h, "ok"), 0);
	act(VSOCK_ACT_HOST_WRITE);
}

Test(vsock_conn, guest_close_is_answered_with_rst_after_the_drain)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;
	struct vsock_stats	st;
	uint8_t			out[64];

	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 3);
	cr_assert_eq(gsend(h, "bye"), 0);
	act(VSOCK_ACT_HOST_WRITE);
	h = ghdr(VIRTIO_VSOCK_OP_SHUTDOWN, 1, 2, 0);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_MASK;
	cr_assert_eq(gsend(h, NULL), 0);
	noact();
	gnone();			/* not before "bye" is written */
	cr_assert_eq(host_drain(id, out, sizeof(out)), 3);
	cr_assert_eq(act(VSOCK_ACT_HOST_CLOSE).va_fd, 40);
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_RST);
	gnone();
	vsock_get_stats(V, &st);
	cr_assert_eq(st.vs_conns, 0);
	cr_assert_eq(st.vs_rst_sent, 0, "a clean close is not an error");
}

Test(vsock_conn, guest_close_in_two_steps)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;

	h = ghdr(VIRTIO_VSOCK_OP_SHUTDOWN, 1, 2, 0);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_RCV;
	cr_assert_eq(gsend(h, NULL), 0);
	act(VSOCK_ACT_HOST_SHUT_RD);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND | 0x80;	/* unknown bit */
	cr_assert_eq(gsend(h, NULL), 0);
	act(VSOCK_ACT_HOST_CLOSE);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	cr_assert_eq(vsock_conn_info(V, id, &(struct vsock_conn_info){0}),
	    -ENOENT);
}

Test(vsock_conn, guest_close_with_a_host_that_never_drains_times_out)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;
	struct vsock_stats	st;

	vsock_tick(V, 1000);
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 3);
	cr_assert_eq(gsend(h, "bye"), 0);
	act(VSOCK_ACT_HOST_WRITE);
	h = ghdr(VIRTIO_VSOCK_OP_SHUTDOWN, 1, 2, 0);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_MASK;
	cr_assert_eq(gsend(h, NULL), 0);
	vsock_tick(V, 1000 + VSOCK_DEF_CLOSE_MS);
	noact();
	vsock_tick(V, 1001 + VSOCK_DEF_CLOSE_MS);
	act(VSOCK_ACT_HOST_CLOSE);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	vsock_get_stats(V, &st);
	cr_assert_eq(st.vs_timeouts, 1);
	cr_assert_eq(vsock_conn_info(V, id, &(struct vsock_conn_info){0}),
	    -ENOENT);
}

Test(vsock_conn, host_eof_is_shutdown_send_after_the_data)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;

	cr_assert_eq(vsock_host_data(V, id, "tail", 4), 0);
	cr_assert_eq(vsock_host_eof(V, id), 0);
	cr_assert_eq(vsock_host_data(V, id, "x", 1), -EPIPE);
	cr_assert_eq(vsock_host_rx_room(V, id), 0);
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_RW);
	cr_assert_eq(memcmp(pbuf, "tail", 4), 0);
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	cr_assert_eq(h.flags, VIRTIO_VSOCK_SHUTDOWN_SEND);
	gnone();
	cr_assert_eq(info(id).ci_local_shut, VIRTIO_VSOCK_SHUTDOWN_SEND);
	/* The guest may still send; then closes. */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 2);
	cr_assert_eq(gsend(h, "ok"), 0);
	act(VSOCK_ACT_HOST_WRITE);
	h = ghdr(VIRTIO_VSOCK_OP_RST, 1, 2, 0);
	cr_assert_eq(gsend(h, NULL), 0);
	act(VSOCK_ACT_HOST_CLOSE);
	gnone();
}

Test(vsock_conn, host_error_resets)
{
	uint32_t	id = guest_connect(1, 2, 40, 4096);

	cr_assert_eq(vsock_host_data(V, id, "x", 1), 0);
	cr_assert_eq(vsock_host_closed(V, id), 0);
	cr_assert_eq(act(VSOCK_ACT_HOST_CLOSE).va_fd, 40);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST,
	    "RST, not the staged data");
	gnone();
	cr_assert_eq(vsock_host_closed(V, id), -ENOENT);
	cr_assert_eq(vsock_host_data(V, id, "x", 1), -ENOENT);
	cr_assert_eq(vsock_host_eof(V, id), -ENOENT);
}

/* --- host-initiated (CONNECT) ----------------------------------------- */

static uint32_t
host_connect(int fd, uint32_t P, uint32_t *hp)
{
	struct virtio_vsock_hdr	h;
	uint32_t		id;
	char			want[32], out[64];
	size_t			n;

	cr_assert_eq(vsock_host_connect(V, fd, P, &id), 0);
	noact();
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_REQUEST);
	cr_assert_eq(h.dst_port, P);
	*hp = h.src_port;
	cr_assert_eq(info(id).ci_state, VSOCK_S_CONNECTING_GUEST);
	h = ghdr(VIRTIO_VSOCK_OP_RESPONSE, P, *hp, 0);
	cr_assert_eq(gsend(h, NULL), 0);
	cr_assert_eq(act(VSOCK_ACT_HOST_READ).va_fd, fd);
	cr_assert_eq(act(VSOCK_ACT_HOST_WRITE).va_fd, fd);
	noact();
	n = host_drain(id, (uint8_t *)out, sizeof(out) - 1);
	out[n] = '\0';
	snprintf(want, sizeof(want), "OK %u\n", *hp);
	cr_assert_str_eq(out, want);
	return id;
}

Test(vsock_conn, host_connect_accepted)
{
	uint32_t		hp, id = host_connect(9, 1234, &hp);
	struct virtio_vsock_hdr	h;
	uint8_t			out[64];

	cr_assert_eq(hp, VSOCK_DEF_PORT_MIN);
	cr_assert_eq(info(id).ci_state, VSOCK_S_ESTABLISHED);
	/* Data both ways. */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1234, hp, 4);
	cr_assert_eq(gsend(h, "ping"), 0);
	act(VSOCK_ACT_HOST_WRITE);
	cr_assert_eq(host_drain(id, out, sizeof(out)), 4);
	cr_assert_eq(info(id).ci_fwd_cnt, 4, "the OK line is not counted");
	cr_assert_eq(vsock_host_data(V, id, "pong", 4), 0);
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.src_port, hp);
	cr_assert_eq(h.dst_port, 1234);
	cr_assert_eq(memcmp(pbuf, "pong", 4), 0);
}

Test(vsock_conn, host_connect_refused_by_guest)
{
	struct virtio_vsock_hdr	h;
	uint32_t		id;

	cr_assert_eq(vsock_host_connect(V, 9, 1234, &id), 0);
	h = gnext(sizeof(pbuf), NULL);
	h = ghdr(VIRTIO_VSOCK_OP_RST, 1234, h.src_port, 0);
	cr_assert_eq(gsend(h, NULL), 0);
	cr_assert_eq(act(VSOCK_ACT_HOST_CLOSE).va_fd, 9);
	noact();
	gnone();
	cr_assert_eq(vsock_host_eof(V, id), -ENOENT);
}

Test(vsock_conn, host_connect_wrong_answers)
{
	struct virtio_vsock_hdr	h;
	uint32_t		id, hp;

	/* A RESPONSE guessed before our REQUEST went out. */
	cr_assert_eq(vsock_host_connect(V, 9, 1234, &id), 0);
	h = ghdr(VIRTIO_VSOCK_OP_RESPONSE, 1234, VSOCK_DEF_PORT_MIN, 0);
	cr_assert_eq(gsend(h, NULL), -EPROTO);
	act(VSOCK_ACT_HOST_CLOSE);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	gnone();
	/* Data instead of a RESPONSE. */
	cr_assert_eq(vsock_host_connect(V, 10, 1234, &id), 0);
	hp = gnext(sizeof(pbuf), NULL).src_port;
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1234, hp, 1);
	cr_assert_eq(gsend(h, "x"), -EPROTO);
	cr_assert_eq(act(VSOCK_ACT_HOST_CLOSE).va_fd, 10);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	/* A bad port. */
	cr_assert_eq(vsock_host_connect(V, 11, VSOCK_PORT_ANY, &id), -EINVAL);
}

Test(vsock_conn, host_connect_times_out)
{
	struct vsock_stats	st;
	uint32_t		id;

	vsock_tick(V, 50);
	cr_assert_eq(vsock_host_connect(V, 9, 1234, &id), 0);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_REQUEST);
	vsock_tick(V, 50 + VSOCK_DEF_CONNECT_MS);
	noact();
	vsock_tick(V, 51 + VSOCK_DEF_CONNECT_MS);
	cr_assert_eq(act(VSOCK_ACT_HOST_CLOSE).va_fd, 9);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	vsock_get_stats(V, &st);
	cr_assert_eq(st.vs_timeouts, 1);
}

Test(vsock_conn, host_client_gives_up_before_the_guest_answers)
{
	uint32_t	id;

	cr_assert_eq(vsock_host_connect(V, 9, 1234, &id), 0);
	cr_assert_eq(vsock_host_eof(V, id), 0);
	cr_assert_eq(act(VSOCK_ACT_HOST_CLOSE).va_fd, 9);
	/* The REQUEST never went out; the RST tells the guest anyway. */
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	gnone();
}

/* --- caps, allocator, many connections, reset ------------------------- */

Test(vsock_conn, connection_cap)
{
	struct virtio_vsock_hdr	h;
	struct vsock_stats	st;
	uint32_t		id, c;

	teardown();
	open_table(4, 0);
	for (c = 0; c < 4; c++)
		guest_connect(c, 2, 10 + (int)c, 4096);
	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 99, 2, 0);
	cr_assert_eq(gsend(h, NULL), 0);	/* handled: refused */
	noact();
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	cr_assert_eq(vsock_host_connect(V, 5, 1, &id), -ENOSPC);
	vsock_get_stats(V, &st);
	cr_assert_eq(st.vs_refused, 2);
	cr_assert_eq(st.vs_conns, 4);
	/* One closes: room for one more. */
	h = ghdr(VIRTIO_VSOCK_OP_RST, 0, 2, 0);
	cr_assert_eq(gsend(h, NULL), 0);
	act(VSOCK_ACT_HOST_CLOSE);
	cr_assert_eq(vsock_host_connect(V, 5, 1, &id), 0);
}

Test(vsock_conn, host_port_allocator_is_bounded_and_reuses)
{
	struct vsock_params	p;
	struct virtio_vsock_hdr	h;
	uint32_t		id[4], hp[3], i;

	teardown();
	vsock_params_default(&p);
	p.vp_guest_cid = GCID;
	p.vp_max_conns = 8;
	p.vp_port_min = 100;
	p.vp_port_max = 102;
	cr_assert_eq(vsock_new(&p, &V), 0);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(vsock_host_connect(V, 1, 7, &id[i]), 0);
		hp[i] = gnext(sizeof(pbuf), NULL).src_port;
		cr_assert_eq(hp[i], 100 + i);
	}
	cr_assert_eq(vsock_host_connect(V, 1, 7, &id[3]), -EADDRNOTAVAIL,
	    "three ports for guest port 7");
	/* Another guest port can use the same host ports. */
	cr_assert_eq(vsock_host_connect(V, 1, 8, &id[3]), 0);
	/* A freed port is found again. */
	h = ghdr(VIRTIO_VSOCK_OP_RST, 7, 101, 0);
	cr_assert_eq(gsend(h, NULL), 0);
	act(VSOCK_ACT_HOST_CLOSE);
	gnext(sizeof(pbuf), NULL);	/* the REQUEST for port 8 */
	cr_assert_eq(vsock_host_connect(V, 1, 7, &id[3]), 0);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).src_port, 101);
}

Test(vsock_conn, many_connections_round_robin)
{
	struct virtio_vsock_hdr	h;
	uint32_t		ids[VSOCK_MAX_CONNS_LIMIT], c, k;
	uint8_t			seen[VSOCK_MAX_CONNS_LIMIT];
	size_t			n;

	teardown();
	open_table(VSOCK_MAX_CONNS_LIMIT, 0);
	for (c = 0; c < VSOCK_MAX_CONNS_LIMIT; c++)
		ids[c] = guest_connect(c, 5, (int)c + 3, 4096);
	/* Every connection has 2 packets' worth of data. */
	for (c = 0; c < VSOCK_MAX_CONNS_LIMIT; c++)
		cr_assert_eq(vsock_host_data(V, ids[c], pbuf, 200), 0);
	/* With 100-byte buffers, each connection gets one before any
	 * gets its second. */
	memset(seen, 0, sizeof(seen));
	for (k = 0; k < VSOCK_MAX_CONNS_LIMIT; k++) {
		h = gnext(100, &n);
		cr_assert_eq(n, 100);
		cr_assert_eq(seen[h.dst_port], 0, "conn %u twice", h.dst_port);
		seen[h.dst_port] = 1;
	}
	for (k = 0; k < VSOCK_MAX_CONNS_LIMIT; k++)
		gnext(100, &n);
	gnone();
	/* Each finds its own data. */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 4000, 5, 2);
	cr_assert_eq(gsend(h, "hi"), 0);
	cr_assert_eq(act(VSOCK_ACT_HOST_WRITE).va_conn, ids[4000]);
}

Test(vsock_conn, header_only_guest_buffers_do_not_lose_work)
{
	uint32_t	id = guest_connect(1, 2, 40, 4096);
	size_t		n;

	cr_assert_eq(vsock_host_data(V, id, "abc", 3), 0);
	/* No payload room: nothing can go, the work stays queued. */
	cr_assert_eq(vsock_guest_next(V, &(struct virtio_vsock_hdr){0},
	    pbuf, 0, &n), -EAGAIN);
	cr_assert(vsock_guest_pending(V));
	cr_assert_eq(gnext(10, &n).len, 3);
}

Test(vsock_conn, transport_reset_drops_everything)
{
	struct vsock_stats	st;
	struct vsock_action	a;
	uint32_t		id1, id2, id3, hp;
	int			closed = 0;

	id1 = guest_connect(1, 2, 40, 4096);
	id2 = host_connect(41, 7, &hp);
	cr_assert_eq(vsock_host_connect(V, 42, 8, &id3), 0);
	cr_assert_eq(vsock_host_data(V, id1, "x", 1), 0);
	cr_assert_eq(gsend(ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 1), "y"), 0);
	act(VSOCK_ACT_HOST_WRITE);
	cr_assert_eq(gsend(ghdr(VIRTIO_VSOCK_OP_RW, 9, 9, 1), "y"), -EPROTO);
	vsock_reset(V);
	while (vsock_action_next(V, &a) == 1) {
		cr_assert_eq(a.va_type, VSOCK_ACT_HOST_CLOSE);
		closed++;
	}
	cr_assert_eq(closed, 3);
	gnone();
	cr_assert_not(vsock_guest_pending(V));
	vsock_get_stats(V, &st);
	cr_assert_eq(st.vs_conns, 0);
	cr_assert_eq(st.vs_mem, 0);
	cr_assert_eq(vsock_host_data(V, id1, "x", 1), -ENOENT);
	cr_assert_eq(vsock_host_eof(V, id2), -ENOENT);
	cr_assert_eq(vsock_host_closed(V, id3), -ENOENT);
	/* Works again afterwards. */
	guest_connect(1, 2, 50, 4096);
}

/* --- the hybrid convention's text protocol ---------------------------- */

