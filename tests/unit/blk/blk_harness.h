/*
 * blk_harness.h - the set-up shared by the blk_test files: the device and
 * the vhost-user engine in a thread of their own (be_main), the image,
 * and the guest's requests (struct rq).
 */
#ifndef BLK_HARNESS_H
#define BLK_HARNESS_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <criterion/criterion.h>
#include <linux/virtio_blk.h>

#include "devices/device.h"
#include "../kvprep.h"
#include "vhost/vhost.h"
#include "vuf.h"

#define IMG_SIZE	(4u << 20)		/* 8192 sectors */
#define IMG_SECTORS	(IMG_SIZE / 512)
#define MAX_WATCH	64
#define ST_POISON	0xee

struct watch {
	int	  fd;
	void	(*cb)(int, void *);
	void	 *arg;
};

/* The back end: engine + device, served by one thread. */
struct blk_be {
	struct vu_dev	*dev;
	struct device_res res;		/* the parent half's */
	void		*state;		/* the child half's */
	int		 sock;
	pthread_t	 thr;
	bool		 running;
	struct watch	 w[MAX_WATCH];
	unsigned int	 nw;
	/* Deferred runs (vu_queue_reschedule), after the next poll. */
	void		(*dcb[VU_MAX_QUEUES])(void *);
	void		*darg[VU_MAX_QUEUES];
	unsigned int	 ndefer;	/* asked for, in all */
};

/* From src/devices/blk.h, which clashes with <linux/virtio_blk.h>. */
struct blk_state;
unsigned int	blk_threads_deferred(struct blk_state *bs);

/*
 * A data-path test, run three times: with the queues on the control
 * thread (suite blk, threads=0: the engine's thread, be_main), on one
 * queue thread (blk_t1, threads=1) and on two (blk_t2, threads=2: two
 * threads only where the test has two queues; with one, threads= is
 * capped at queues=).
 */
#define BLK_DATA_TEST(name)						\
	static void name##_body(void);					\
	Test(blk, name) { t_threads = "0"; name##_body(); }		\
	Test(blk_t1, name) { t_threads = "1"; name##_body(); }		\
	Test(blk_t2, name) { t_threads = "2"; name##_body(); }		\
	static void name##_body(void)

/* One request in flight: everything the guest needs to build and check. */
struct rq {
	struct virtio_blk_outhdr	*hdr;
	uint8_t				*data;
	uint8_t				*status;
	uint64_t			 hdr_gpa;
	uint64_t			 data_gpa;
	uint64_t			 st_gpa;
	uint32_t			 len;
	uint32_t			 used;
	int				 head;
};

extern struct blk_be	 be;
extern struct vuf	 f;
extern bool		 indirect_all;
extern char		 img[PATH_MAX];
extern bool		 img_is_dev;
extern int		 imgfd;
extern const char	*t_threads;

int img_create(const char *dir, size_t size);
int t_open(const struct device_opt *o, unsigned int n, bool check_only,
    struct device_res *res, char *err, size_t errlen);
void *t_init(const struct device_res *res);
int be_start_opts(const char *const *kv, char *err, size_t errlen);
void be_start(const char *const *kv, unsigned int nqueues, uint16_t qsize);
void rq_alloc(struct rq *q, uint32_t len, size_t align);
void rq_add(struct rq *q, unsigned int idx, uint32_t type, uint64_t sector);
void rq_reap(unsigned int idx, unsigned int n);
uint8_t rq_do(struct rq *q, unsigned int idx, uint32_t type, uint64_t sector);
void fill(uint8_t *p, size_t len, unsigned int seed);
bool all(const uint8_t *p, size_t len, uint8_t v);
void img_read(void *buf, size_t len, off_t off);
uint8_t *img_snapshot(void);
void img_unchanged(uint8_t *snap);
blkcnt_t img_blocks(void);
void dev_write(unsigned int idx, uint64_t sector, uint32_t len,
    unsigned int seed);
uint8_t dwz(uint32_t type, uint64_t sector, uint32_t num, uint32_t flags);
void check_zeroed(bool blocks_drop, blkcnt_t before);
void many(unsigned int n);

#endif
