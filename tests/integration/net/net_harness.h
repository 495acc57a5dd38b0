/*
 * net_harness.h - the set-up shared by the net_test files: the test's own
 * network namespace, the tap's kernel side (a raw AF_PACKET socket),
 * vhostd with a net device, the guest (vuf_net) and the child's counters.
 */
#ifndef NET_HARNESS_H
#define NET_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <sys/types.h>

#include "../itest.h"
#include "vuf_net.h"

#define ETH_P_TEST	0x88b5		/* IEEE local experimental */
#define NET_MEM		(8u << 20)

#define F_BASE	((1ull << VIRTIO_F_VERSION_1) | \
		 (1ull << VIRTIO_RING_F_EVENT_IDX) | \
		 (1ull << VUF_NET_F_MAC) | (1ull << VUF_NET_F_STATUS))
#define F_MRG	(F_BASE | (1ull << VUF_NET_F_MRG_RXBUF))

extern char	tap_name[IFNAMSIZ];

long	now_ms(void);

/* This test process into a network namespace of its own. */
void	enter_netns(void);

void	if_up(const char *name, unsigned int mtu);

/* The tap's kernel side: frames the guest sent, frames for the guest. */
int	packet_socket(const char *name);

/* A test frame: broadcast, our ethertype, seq and a pattern. */
void	fill_frame(uint8_t *f, size_t len, uint32_t seq);

bool	is_test_frame(const uint8_t *f, size_t len, uint32_t *seq);

/*
 * Read frames on the packet socket until one of ours comes (the stack of
 * a fresh interface sends IPv6 frames of its own), within timeout_ms.
 * Its length, or -1.
 */
ssize_t	packet_recv(int s, uint8_t *buf, size_t len, uint32_t *seq,
    int timeout_ms);

/* A frame from the kernel side into the tap: it goes to the guest. */
void	packet_send(int s, const uint8_t *f, size_t len);

/*
 * Start vhostd with a net device on a tap it creates, and bring the tap
 * up (with mtu when not 0).  extra: more keys (",queues=2"), or "".
 */
void	start_net(const char *sock, const char *extra, unsigned int tap_mtu);

/*
 * The usual start: this process in a namespace of its own, vhostd
 * serving a tap there (start_net), and the tap's packet socket.
 */
int	net_up(const char *sock, const char *extra, unsigned int tap_mtu);

/*
 * Receive on pair 0 until a frame of this test arrives (the kernel sends
 * IPv6 frames of its own); its sequence number.
 */
uint32_t	recv_test_frame(struct vuf *f, struct vuf_net *n, uint8_t *hdr,
    uint8_t *got, size_t size, size_t *len, unsigned int *nb);

/* The guest side: rings of npairs up, rx buffers posted. */
void	guest_up(struct vuf *f, struct vuf_net *n, const char *sock,
    uint64_t features, unsigned int npairs, uint32_t rxsize);
/* The same with the protocol features wanted (0: the front end's). */
void	guest_up_proto(struct vuf *f, struct vuf_net *n, const char *sock,
    uint64_t features, unsigned int npairs, uint32_t rxsize,
    uint64_t protocol);

/*
 * Disconnect the guest and wait for the child's counters of ring dir
 * ("rx" or "tx") of pair; the line's text after "net: pair P DIR: ".
 */
const char	*stats_after(struct vuf *f, unsigned int pair, const char *dir,
    size_t from);

uint64_t	stat_of(const char *line, const char *name);

/* One frame each way through the device at sock. */
void	one_frame_each_way(const char *sock, int s, uint32_t mark);

#endif
