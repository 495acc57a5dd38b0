/*
 * vuf-blkbench - drive a vhost-user-blk back end as a guest driver would
 * and measure it: the same requests, the same ring handling, whatever the
 * back end (vhostd, qemu-storage-daemon, ...).
 *
 *	vuf-blkbench [options] SOCKET
 *	  --rw=randread|randwrite|read|write   (default randread)
 *	  --bs=BYTES       request size (default 4096)
 *	  --qd=N           requests in flight (default 32, at most 256)
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
} cfg = { "randread", 4096, 32, 5, 1, 0, { 0 }, 0, 0 };

static struct slot	slots[MAX_QD];
static uint32_t		hist[HIST_US + 1];
static uint64_t		seq_next;

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

static uint64_t
next_offset(uint64_t blocks)
{
	uint64_t	b;

	if (cfg.rw[0] == 'r' && cfg.rw[1] == 'a')	/* randread */
		b = ((uint64_t)random() << 16 ^ (uint64_t)random()) % blocks;
	else if (strcmp(cfg.rw, "randwrite") == 0)
		b = ((uint64_t)random() << 16 ^ (uint64_t)random()) % blocks;
	else
		b = seq_next++ % blocks;
	return b * cfg.bs;
}

static int
submit(struct vuf *f, unsigned int i, uint64_t blocks)
{
	struct slot	*s = &slots[i];
	struct vuf_seg	 seg[3];
	bool		 wr = strstr(cfg.rw, "write") != NULL;

	s->s_hdr->type = wr ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	s->s_hdr->ioprio = 0;
	s->s_hdr->sector = next_offset(blocks) / 512;
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
	return vuf_vq_add(f, 0, seg, 3, true, s);
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
	    "write] [--bs=N] [--qd=N] [--time=S] [--ramp=S] [--span=BYTES] "
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
		{ NULL, 0, NULL, 0 }
	};
	struct vuf_used	 used[MAX_QD];
	struct vuf_opts	 opts;
	struct vuf	*f;
	uint64_t	 capacity, blocks, t0, tend, tramp, n = 0, sum_ns = 0;
	uint64_t	 cpu0 = 0, cpu1, errors = 0, lat, fe0 = 0, fe1;
	unsigned int	 i;
	int		 ch, r, k;
	bool		 measuring = false;

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
	    cfg.bs < 512 || cfg.bs % 512 != 0 || cfg.bs > (1u << 20))
		usage();
	if ((f = calloc(1, sizeof(*f))) == NULL)
		err(1, "calloc");
	vuf_init(f);
	memset(&opts, 0, sizeof(opts));
	opts.o_mem_size = (size_t)cfg.qd * (cfg.bs + 4096) + (8u << 20);
	opts.o_features = (1ull << VIRTIO_F_VERSION_1) |
	    (1ull << VIRTIO_RING_F_EVENT_IDX) |
	    (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
	    (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
	    (1ull << VIRTIO_BLK_F_FLUSH);
	opts.o_queue_size = 256;
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
	for (i = 0; i < cfg.qd; i++) {
		slots[i].s_hdr = vuf_alloc(f, sizeof(struct blk_req_hdr), 16,
		    &slots[i].s_hdr_gpa);
		slots[i].s_data = vuf_alloc(f, cfg.bs, 4096,
		    &slots[i].s_data_gpa);
		slots[i].s_status = vuf_alloc(f, 1, 1, &slots[i].s_status_gpa);
		if (slots[i].s_hdr == NULL || slots[i].s_data == NULL ||
		    slots[i].s_status == NULL)
			errx(1, "guest memory: %s", vuf_error(f));
		memset(slots[i].s_data, 0xa5, cfg.bs);
	}
	srandom(1);
	t0 = now_ns();
	tramp = t0 + (uint64_t)cfg.ramp * 1000000000ull;
	tend = tramp + (uint64_t)cfg.secs * 1000000000ull;
	for (i = 0; i < cfg.qd; i++)
		if (submit(f, i, blocks) < 0)
			errx(1, "submit: %s", vuf_error(f));
	if (vuf_vq_kick(f, 0, false) < 0)
		errx(1, "kick: %s", vuf_error(f));
	for (;;) {
		uint64_t	t;

		if ((r = vuf_vq_reap(f, 0, used, MAX_QD)) < 0)
			errx(1, "reap: %s", vuf_error(f));
		if (r == 0) {
			if (vuf_vq_wait(f, 0, 10000) < 0)
				errx(1, "wait: %s", vuf_error(f));
			continue;
		}
		t = now_ns();
		if (!measuring && t >= tramp) {
			measuring = true;
			cpu0 = all_cpu_ticks();
			fe0 = self_cpu_us();
			tramp = t;
			n = sum_ns = 0;
		}
		for (k = 0; k < r; k++) {
			struct slot	*s = used[k].u_cookie;

			if (*s->s_status != 0)
				errors++;
			lat = t - s->s_start_ns;
			n++;
			sum_ns += lat;
			hist[lat / 1000 > HIST_US ? HIST_US : lat / 1000]++;
		}
		if (t >= tend)
			break;
		for (k = 0; k < r; k++)
			if (submit(f, (unsigned int)(((struct slot *)
			    used[k].u_cookie) - slots), blocks) < 0)
				errx(1, "submit: %s", vuf_error(f));
		if (vuf_vq_kick(f, 0, false) < 0)
			errx(1, "kick: %s", vuf_error(f));
		if (!measuring)
			memset(hist, 0, sizeof(hist));
	}
	cpu1 = all_cpu_ticks();
	fe1 = self_cpu_us();
	{
		double	secs = (double)(now_ns() - tramp) / 1e9;
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
