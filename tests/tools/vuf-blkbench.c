/*
 * vuf-blkbench - drive a vhost-user-blk back end as a guest driver would
 * and measure it: the same requests, the same ring handling, whatever the
 * back end (vhostd, qemu-storage-daemon, ...).
 *
 *	vuf-blkbench [options] SOCKET
 *	  --rw=randread|randwrite|read|write   (default randread)
 *	  --bs=BYTES       request size (default 4096)
 *	  --qd=N           requests in flight per queue (default 32, at most
 *	                   256)
 *	  --queues=N       N rings (at most 16), each driven by a thread of
 *	                   its own as by a vCPU of its own, qd requests each
 *	                   (default 1)
 *	  --time=SECONDS   measured run (default 5), after --ramp (default 1)
 *	  --span=BYTES     offsets within the first BYTES of the disk
 *	  --cpu-pid=PID    add PID's CPU time (utime+stime, all threads) to
 *	                   the back end's; repeatable
 *	  --idle=SECONDS   after the run, stay connected that long without
 *	                   I/O (the back end's idle cost)
 *
 * Prints one line of key=value pairs: iops, mib_s, lat_mean_us,
 * lat_p50_us, lat_p99_us, cpu_us_per_req (when --cpu-pid was given),
 * fe_cpu_us_per_req (this front end's own CPU time), errors.
 * Exit 1 on any failure, including an I/O error from the device.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include "vuf.h"

#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_F_SEG_MAX	2
#define VIRTIO_BLK_F_BLK_SIZE	6
#define VIRTIO_BLK_F_FLUSH	9
#define MAX_QD			256
#define HIST_US			100000	/* 1 us buckets up to 100 ms */
#define MAX_PIDS		8
#define MAX_QUEUES		16

struct blk_req_hdr {
	uint32_t	type;
	uint32_t	ioprio;
	uint64_t	sector;
};

struct slot {
	struct blk_req_hdr	*s_hdr;
	uint8_t			*s_data;
	uint8_t			*s_status;
	uint64_t		 s_hdr_gpa;
	uint64_t		 s_data_gpa;
	uint64_t		 s_status_gpa;
	uint64_t		 s_start_ns;
};

static struct {
	const char	*rw;
	uint32_t	 bs;
	unsigned int	 qd;
	unsigned int	 secs;
	unsigned int	 ramp;
	uint64_t	 span;
	int		 pids[MAX_PIDS];
	unsigned int	 npids;
	unsigned int	 idle;
	unsigned int	 queues;
} cfg = { "randread", 4096, 32, 5, 1, 0, { 0 }, 0, 0, 1 };

/* One ring and the thread that drives it. */
struct bq {
	struct vuf	*q_f;
	unsigned int	 q_idx;
	pthread_t	 q_thread;
	struct slot	 q_slots[MAX_QD];
	uint32_t	 q_hist[HIST_US + 1];
	uint64_t	 q_seq_next;
	uint64_t	 q_rand;
	uint64_t	 q_blocks;
	uint64_t	 q_tramp, q_tend;
	uint64_t	 q_n, q_sum_ns, q_errors;
	const char	*q_fail;	/* why the thread gave up, or NULL */
};

static struct bq	queues[MAX_QUEUES];
static uint32_t		hist[HIST_US + 1];

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* utime + stime of pid in clock ticks, all threads. */
static uint64_t
cpu_ticks(int pid)
{
	char		 path[64], buf[1024], *p;
	unsigned long	 ut = 0, st = 0;
	FILE		*f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "re")) == NULL)
		err(1, "%s", path);
	if (fgets(buf, sizeof(buf), f) == NULL)
		errx(1, "%s: empty", path);
	fclose(f);
	/* After the ")" of comm: state is field 3; utime 14, stime 15. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		errx(1, "%s: cannot parse", path);
	return ut + st;
}

static uint64_t
all_cpu_ticks(void)
{
	uint64_t	t = 0;
	unsigned int	i;

	for (i = 0; i < cfg.npids; i++)
		t += cpu_ticks(cfg.pids[i]);
	return t;
}

/* This process's CPU time (user + system), microseconds. */
static uint64_t
self_cpu_us(void)
{
	struct rusage	ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		err(1, "getrusage");
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
	    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* xorshift64*: each queue its own sequence, no lock. */
static uint64_t
q_random(struct bq *q)
{
	q->q_rand ^= q->q_rand >> 12;
	q->q_rand ^= q->q_rand << 25;
	q->q_rand ^= q->q_rand >> 27;
	return q->q_rand * 2685821657736338717ull;
}

static uint64_t
next_offset(struct bq *q, uint64_t blocks)
{
	uint64_t	b;

	if (strncmp(cfg.rw, "rand", 4) == 0)
		b = (q_random(q) >> 11) % blocks;
	else
		b = (q->q_seq_next++ + q->q_idx * (blocks / cfg.queues)) %
		    blocks;
	return b * cfg.bs;
}

static int
submit(struct bq *q, unsigned int i, uint64_t blocks)
{
	struct slot	*s = &q->q_slots[i];
	struct vuf_seg	 seg[3];
	bool		 wr = strstr(cfg.rw, "write") != NULL;

	s->s_hdr->type = wr ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	s->s_hdr->ioprio = 0;
	s->s_hdr->sector = next_offset(q, blocks) / 512;
	*s->s_status = 0xff;
	seg[0].sg_gpa = s->s_hdr_gpa;
	seg[0].sg_len = sizeof(*s->s_hdr);
	seg[0].sg_write = false;
	seg[1].sg_gpa = s->s_data_gpa;
	seg[1].sg_len = cfg.bs;
	seg[1].sg_write = !wr;
	seg[2].sg_gpa = s->s_status_gpa;
	seg[2].sg_len = 1;
	seg[2].sg_write = true;
	s->s_start_ns = now_ns();
	/* Indirect, as Linux does: one ring slot per request. */
	return vuf_vq_add(q->q_f, q->q_idx, seg, 3, true, s);
}

/*
 * One queue's driver: qd requests in flight, each completion answered
 * with a new request and one kick per batch; waits on the call eventfd.
 * Counts what completes between q_tramp and q_tend.
 */
static void *
q_main(void *arg)
{
	struct bq	*q = arg;
	struct vuf_used	 used[MAX_QD];
	struct vuf	*f = q->q_f;
	uint64_t	 t, lat;
	unsigned int	 i;
	int		 r, k;

	for (i = 0; i < cfg.qd; i++)
		if (submit(q, i, q->q_blocks) < 0) {
			q->q_fail = "submit";
			return NULL;
		}
	if (vuf_vq_kick(f, q->q_idx, false) < 0) {
		q->q_fail = "kick";
		return NULL;
	}
	for (;;) {
		if ((r = vuf_vq_reap(f, q->q_idx, used, MAX_QD)) < 0) {
			q->q_fail = "reap";
			return NULL;
		}
		if (r == 0) {
			if (vuf_vq_wait(f, q->q_idx, 10000) < 0) {
				q->q_fail = "wait (no completion in 10 s)";
				return NULL;
			}
			continue;
		}
		t = now_ns();
		for (k = 0; k < r; k++) {
			struct slot	*s = used[k].u_cookie;

			if (t < q->q_tramp || t >= q->q_tend)
				continue;
			if (*s->s_status != 0)
				q->q_errors++;
			lat = t - s->s_start_ns;
			q->q_n++;
			q->q_sum_ns += lat;
			q->q_hist[lat / 1000 > HIST_US ? HIST_US :
			    lat / 1000]++;
		}
		if (t >= q->q_tend)
			break;
		for (k = 0; k < r; k++)
			if (submit(q, (unsigned int)(((struct slot *)
			    used[k].u_cookie) - q->q_slots), q->q_blocks) < 0) {
				q->q_fail = "submit";
				return NULL;
			}
		if (vuf_vq_kick(f, q->q_idx, false) < 0) {
			q->q_fail = "kick";
			return NULL;
		}
	}
	return NULL;
}

static void
sleep_until(uint64_t t)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)(t / 1000000000ull);
	ts.tv_nsec = (long)(t % 1000000000ull);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR)
		;
}

/* The latency (us) below which a fraction pct/100 of n requests finished. */
static double
pct_us(uint64_t n, unsigned int pct)
{
	uint64_t	want = n - n * (100 - pct) / 100, c = 0;
	unsigned int	i;

	for (i = 0; i <= HIST_US; i++)
		if ((c += hist[i]) >= want)
			return i;
	return HIST_US;
}

static void
usage(void)
{
	fprintf(stderr, "usage: vuf-blkbench [--rw=randread|randwrite|read|"
	    "write] [--bs=N] [--qd=N] [--queues=N] [--time=S] [--ramp=S] "
	    "[--span=BYTES] "
	    "[--cpu-pid=PID]... [--idle=S] SOCKET\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "rw", required_argument, NULL, 'r' },
		{ "bs", required_argument, NULL, 'b' },
		{ "qd", required_argument, NULL, 'q' },
		{ "time", required_argument, NULL, 't' },
		{ "ramp", required_argument, NULL, 'R' },
		{ "span", required_argument, NULL, 's' },
		{ "cpu-pid", required_argument, NULL, 'p' },
		{ "idle", required_argument, NULL, 'i' },
		{ "queues", required_argument, NULL, 'Q' },
		{ NULL, 0, NULL, 0 }
	};
	struct vuf_opts	 opts;
	struct vuf	*f;
	struct bq	*q;
	uint64_t	 capacity, blocks, t0, tend, tramp, n = 0, sum_ns = 0;
	uint64_t	 cpu0 = 0, cpu1, errors = 0, fe0 = 0, fe1;
	unsigned int	 i, j;
	int		 ch, rc;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			cfg.rw = optarg;
			if (strcmp(optarg, "randread") != 0 &&
			    strcmp(optarg, "randwrite") != 0 &&
			    strcmp(optarg, "read") != 0 &&
			    strcmp(optarg, "write") != 0)
				usage();
			break;
		case 'b':
			cfg.bs = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'q':
			cfg.qd = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 't':
			cfg.secs = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'R':
			cfg.ramp = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 's':
			cfg.span = strtoull(optarg, NULL, 0);
			break;
		case 'i':
			cfg.idle = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'Q':
			cfg.queues = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'p':
			if (cfg.npids == MAX_PIDS)
				usage();
			cfg.pids[cfg.npids++] = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || cfg.qd == 0 || cfg.qd > MAX_QD ||
	    cfg.queues == 0 || cfg.queues > MAX_QUEUES ||
	    cfg.bs < 512 || cfg.bs % 512 != 0 || cfg.bs > (1u << 20))
		usage();
	if ((f = calloc(1, sizeof(*f))) == NULL)
		err(1, "calloc");
	vuf_init(f);
	memset(&opts, 0, sizeof(opts));
	opts.o_mem_size = (size_t)cfg.queues * cfg.qd * (cfg.bs + 4096) +
	    (8u << 20) * cfg.queues;
	opts.o_features = (1ull << VIRTIO_F_VERSION_1) |
	    (1ull << VIRTIO_RING_F_EVENT_IDX) |
	    (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
	    (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
	    (1ull << VIRTIO_BLK_F_FLUSH);
	opts.o_queue_size = 256;
	opts.o_nqueues = cfg.queues;
	if (vuf_setup(f, argv[optind], &opts) < 0)
		errx(1, "%s: %s", argv[optind], vuf_error(f));
	if (vuf_get_config(f, 0, &capacity, sizeof(capacity)) < 0)
		errx(1, "GET_CONFIG: %s", vuf_error(f));
	capacity *= 512;
	if (cfg.span == 0 || cfg.span > capacity)
		cfg.span = capacity;
	if ((blocks = cfg.span / cfg.bs) == 0)
		errx(1, "the disk (%llu bytes) is smaller than one request",
		    (unsigned long long)capacity);
	t0 = now_ns();
	tramp = t0 + (uint64_t)cfg.ramp * 1000000000ull;
	tend = tramp + (uint64_t)cfg.secs * 1000000000ull;
	for (j = 0; j < cfg.queues; j++) {
		q = &queues[j];
		q->q_f = f;
		q->q_idx = j;
		q->q_blocks = blocks;
		q->q_rand = 0x9e3779b97f4a7c15ull * (j + 1);
		q->q_tramp = tramp;
		q->q_tend = tend;
		for (i = 0; i < cfg.qd; i++) {
			struct slot	*s = &q->q_slots[i];

			s->s_hdr = vuf_alloc(f, sizeof(struct blk_req_hdr),
			    16, &s->s_hdr_gpa);
			s->s_data = vuf_alloc(f, cfg.bs, 4096, &s->s_data_gpa);
			s->s_status = vuf_alloc(f, 1, 1, &s->s_status_gpa);
			if (s->s_hdr == NULL || s->s_data == NULL ||
			    s->s_status == NULL)
				errx(1, "guest memory: %s", vuf_error(f));
			memset(s->s_data, 0xa5, cfg.bs);
		}
	}
	for (j = 0; j < cfg.queues; j++)
		if ((rc = pthread_create(&queues[j].q_thread, NULL, q_main,
		    &queues[j])) != 0)
			errx(1, "pthread_create: %s", strerror(rc));
	sleep_until(tramp);
	cpu0 = all_cpu_ticks();
	fe0 = self_cpu_us();
	sleep_until(tend);
	cpu1 = all_cpu_ticks();
	fe1 = self_cpu_us();
	for (j = 0; j < cfg.queues; j++) {
		q = &queues[j];
		pthread_join(q->q_thread, NULL);
		if (q->q_fail != NULL)
			errx(1, "queue %u: %s: %s", j, q->q_fail,
			    vuf_error(f));
		n += q->q_n;
		sum_ns += q->q_sum_ns;
		errors += q->q_errors;
		for (i = 0; i <= HIST_US; i++)
			hist[i] += q->q_hist[i];
	}
	{
		double	secs = (double)(tend - tramp) / 1e9;
		double	iops = (double)n / secs;

		printf("iops=%.0f mib_s=%.1f lat_mean_us=%.1f lat_p50_us=%.0f "
		    "lat_p99_us=%.0f", iops, iops * cfg.bs / 1048576.0,
		    n ? (double)sum_ns / (double)n / 1000.0 : 0.0,
		    pct_us(n, 50), pct_us(n, 99));
		if (cfg.npids > 0)
			printf(" cpu_us_per_req=%.2f", n ? (double)(cpu1 - cpu0) *
			    1e6 / (double)sysconf(_SC_CLK_TCK) / (double)n : 0.0);
		printf(" fe_cpu_us_per_req=%.2f", n ? (double)(fe1 - fe0) /
		    (double)n : 0.0);
		printf(" errors=%llu\n", (unsigned long long)errors);
	}
	if (cfg.idle > 0) {
		/* What is in flight finishes; then nothing for cfg.idle s. */
		fflush(stdout);
		sleep(cfg.idle);
	}
	vuf_fini(f);
	free(f);
	return errors ? 1 : 0;
}
