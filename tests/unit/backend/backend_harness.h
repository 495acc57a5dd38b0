/*
 * backend_harness.h - the set-up shared by the backend_test files: a
 * vu_dev over a socketpair with recording device ops, guest memory, and
 * hand-built messages.
 */
#ifndef BACKEND_HARNESS_H
#define BACKEND_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <criterion/criterion.h>

#include "vhost/vhost_int.h"
#include "../guestmem.h"

#define GUEST_SIZE	(1u << 20)
#define GUEST_UVA	0x7f0000000000ull
#define QSZ		8
#define NQ		2
#define BUF_GPA		0x80000ull

/* Ring q lives at gpa 0x10000 * (q + 1): desc, avail, used one page apart. */
#define DESC_GPA(q)	(0x10000ull * ((q) + 1))
#define AVAIL_GPA(q)	(DESC_GPA(q) + 0x1000)
#define USED_GPA(q)	(DESC_GPA(q) + 0x2000)

#define DEV_FEATURES	((1ull << 0) | (1ull << 5))

struct fake_watch {
	int	  fd;
	void	(*cb)(int, void *);
	void	 *arg;
};

#define BIT(n)	(1ull << (n))
#define PF	BIT(VHOST_USER_F_PROTOCOL_FEATURES)

struct backend_watches {
	struct fake_watch w[32];
	unsigned int	  n;
};

struct backend_rec {
	unsigned int	handler[NQ];
	unsigned int	state_calls[NQ];
	bool		state[NQ];
	unsigned int	resets;
	unsigned int	set_features_calls;
	uint64_t	features;
	bool		pop;		/* handler pops, pushes and notifies */
	bool		hold;		/* handler pops and keeps the chains */
	uint8_t		config_set[8];
};

extern struct backend_watches	 watches;
extern struct backend_rec	 rec;
extern int		 sv[2];
extern int		 memfd;
extern uint8_t		*guest;
extern struct vu_dev	 dev;
extern int		 kickfd[NQ];
extern int		 callfd[NQ];
extern const struct vu_watch_ops fake_watch_ops;
extern const struct vu_dev_ops test_ops;
extern const struct vu_dev_ops bare_ops;

struct fake_watch	*ring_watch(unsigned int q);

void	t_queue_handler(struct vu_dev *d, unsigned int q);

void	setup_ops(const struct vu_dev_ops *ops);

void	teardown(void);

int	count_fds(void);

/* Send a request; return what vu_dev_dispatch says about it. */
int	req_flags(uint32_t request, uint32_t flags, const void *payload,
    uint32_t size, const int *fds, unsigned int nfds);

int	req(uint32_t request, const void *payload, uint32_t size,
    const int *fds, unsigned int nfds);

void	recv_reply(uint32_t request, struct vhost_user_msg *m);

void	assert_no_reply(void);

uint64_t	get_u64(uint32_t request);

int	set_u64(uint32_t request, uint64_t v);

int	vring_state(uint32_t request, uint32_t idx, uint32_t num);

uint32_t	get_vring_base(uint32_t idx);

int	set_mem_table_at(uint64_t gpa, uint64_t size, uint64_t uva, int fd);

void	set_mem_table(void);

int	set_vring_addr(uint32_t q, uint32_t flags);

void	setup_ring(uint32_t q, uint32_t base);

/* SET_VRING_{KICK,CALL} with a fresh eventfd; keeps our copy in *keep. */
int	set_vring_fd(uint32_t request, uint32_t q, int *keep);

void	kick(uint32_t q);

/* The guest kicks ring q; the event loop runs the watch callback. */
void	fire(uint32_t q);

struct virtq_avail	*avail_ring(uint32_t q);

/* Make chain `head` (one writable 16-byte buffer) available on ring q. */
void	add_avail(uint32_t q, uint16_t head);

void	negotiate(uint64_t features, uint64_t protocol);

void	reply_ack_on(void);

/* A request with need_reply; the u64 status of the ack. */
uint64_t	req_ack(uint32_t request, const void *payload, uint32_t size,
    const int *fds, unsigned int nfds);

#endif
