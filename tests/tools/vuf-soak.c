/*
 * vuf-soak - a soak of vhostd (issue 8 point 10; `make soak`, not part of
 * `make check`): many devices (half rng, half blk) with a front end each,
 * all connected at once, traffic for a while with random child kills
 * (SIGKILL) and front-end reconnects, then SIGTERM.
 *
 *	vuf-soak --vhostd=PATH --policy-dir=DIR [--devices=64] [--secs=180]
 *	    [--chaos-ms=200] [--samples=10] [--seed=N] [--keep]
 *
 * Checks, each one printed: the time from exec to READY on --ready-fd
 * with all devices, and until every front end is served; every request
 * of a front end whose child was not killed succeeds and blk data read
 * back is what was last written (a write cut by a kill may or may not
 * have landed); a device whose child was killed is served again within
 * 15 s; at every sample (chaos paused, every front end connected and
 * served) the parent's open fd count and RSS, printed as a series: the
 * fd count stays flat and the RSS grows by at most 1 MiB (a few pages of
 * allocator noise) from the first sample to the last; after SIGTERM
 * vhostd exits 0 within 30 s, no process outlives it (vuf-soak is the
 * child subreaper: an orphan would land here) and no socket file is left.
 *
 * Bounded: every wait has a deadline, the run ends after --secs plus at
 * most a minute of set-up and shut-down.  Exit 0 when every check holds.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>

#include "vproc.h"
#include "vuf.h"
#include "vuf_blk.h"

#define SOAK_MAX_DEVICES	128
#define SOAK_BLOCKS		256	/* 4 KiB blocks exercised per disk */
#define SOAK_IMG_SIZE		(4u << 20)
#define SOAK_SERVED_MS		15000	/* killed -> served again */
#define SOAK_KILLS_PER_MIN	4	/* per device: under any burst limit */
#define SOAK_MAX_SAMPLES	64
#define SOAK_RSS_SLACK_KB	1024

enum dev_state { D_DOWN, D_PENDING, D_UP };

struct dev {
	char		 d_name[16];
	char		 d_sock[300];
	char		 d_img[300];
	bool		 d_blk;
	enum dev_state	 d_state;
	struct vuf	 d_f;
	struct vuf_blk	 d_b;		/* blk: the request slot */
	uint8_t		*d_buf;		/* rng: the buffer */
	uint64_t	 d_buf_gpa;
	pid_t		 d_pid;		/* current child, from the log */
	bool		 d_killed;	/* we killed it since it was served */
	long		 d_down_ms;	/* when it went down */
	long		 d_kill_ms[SOAK_KILLS_PER_MIN];
	uint32_t	 d_gen[SOAK_BLOCKS];
	bool		 d_known[SOAK_BLOCKS];
	unsigned long	 d_reqs;
};

static struct {
	const char	*vhostd;
	const char	*policy_dir;
	unsigned int	 ndev;
	unsigned int	 secs;
	unsigned int	 chaos_ms;
	unsigned int	 samples;
	unsigned int	 seed;
	bool		 keep;
} cfg = { NULL, NULL, 64, 180, 200, 10, 0, false };

static struct dev	 devs[SOAK_MAX_DEVICES];
static struct vproc	 vp;
static char		 dir[64];
static size_t		 log_off;	/* parsed up to here */
static unsigned long	 n_kills, n_reconnects, n_reqs, n_failures;
static unsigned long	 n_expected_errors;
static long		 max_served_ms;
static uint32_t		 gen_counter;

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void fail(const char *, ...) __attribute__((format(printf, 1, 2)));

/* A check failed: say so, count it, carry on. */
static void
fail(const char *fmt, ...)
{
	va_list	ap;

	n_failures++;
	if (n_failures > 20)
		return;
	fputs("soak: FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Read what vhostd logged; note each "NAME: started child PID". */
static void
pump_log(void)
{
	char		*p, *nl, name[32];
	unsigned int	 i;
	int		 pid;

	vproc_wait_log(&vp, "\001never\001", vp.vp_len, 0);
	while (log_off < vp.vp_len &&
	    (nl = strchr(vp.vp_log + log_off, '\n')) != NULL) {
		p = vp.vp_log + log_off;
		*nl = '\0';
		if (sscanf(p, "%31[^:]: started child %d", name, &pid) == 2)
			for (i = 0; i < cfg.ndev; i++)
				if (strcmp(devs[i].d_name, name) == 0)
					devs[i].d_pid = pid;
		*nl = '\n';
		log_off = (size_t)(nl - vp.vp_log) + 1;
	}
}

/* The pattern of block b of disk d at generation g (g 0: zeroes). */
static void
pattern(uint8_t *buf, unsigned int d, unsigned int b, uint32_t g)
{
	uint64_t	tag = ((uint64_t)d << 40) | ((uint64_t)b << 24) | 0x50414b;

	if (g == 0) {
		memset(buf, 0, 4096);
		return;
	}
	memset(buf, (int)((g * 31 + b) & 0xff), 4096);
	memcpy(buf, &tag, sizeof(tag));
	memcpy(buf + 8, &g, sizeof(g));
}

static void
dev_down(struct dev *d)
{
	vuf_fini(&d->d_f);
	vuf_init(&d->d_f);
	d->d_state = D_DOWN;
	d->d_down_ms = now_ms();
}

/* Start connecting: the first request waits in the backlog. */
static void
dev_connect(struct dev *d)
{
	struct vhost_user_header	hdr;

	vuf_init(&d->d_f);
	d->d_f.f_timeout_ms = 5000;
	if (vuf_connect(&d->d_f, d->d_sock) < 0) {
		fail("%s: %s", d->d_name, vuf_error(&d->d_f));
		dev_down(d);
		return;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.request = VHOST_USER_GET_FEATURES;
	hdr.flags = VHOST_USER_VERSION;
	if (vuf_send_raw(&d->d_f, &hdr, NULL, 0, NULL, 0) < 0) {
		dev_down(d);
		return;
	}
	d->d_state = D_PENDING;
}

/* A pending connection got its first answer: bring the device up. */
static void
dev_finish_setup(struct dev *d)
{
	struct vhost_user_msg	msg;
	struct vuf_opts		o;
	int			rc;

	if ((rc = vuf_recv(&d->d_f, &msg, NULL, NULL)) < 0) {
		/* The child died before answering: go again. */
		dev_down(d);
		return;
	}
	memset(&o, 0, sizeof(o));
	o.o_mem_size = d->d_blk ? 1u << 20 : 256u << 10;
	o.o_queue_size = 32;
	if ((rc = vuf_setup(&d->d_f, d->d_sock, &o)) < 0)
		goto out;
	if (d->d_blk)
		rc = vuf_blk_init(&d->d_b, &d->d_f, 0, 4096);
	else if ((d->d_buf = vuf_alloc(&d->d_f, 256, 64, &d->d_buf_gpa)) ==
	    NULL)
		rc = -ENOMEM;
out:
	if (rc < 0) {
		if (!d->d_killed)
			fail("%s: set-up: %s", d->d_name, vuf_error(&d->d_f));
		dev_down(d);
		return;
	}
	if (d->d_killed && now_ms() - d->d_down_ms > max_served_ms)
		max_served_ms = now_ms() - d->d_down_ms;
	d->d_killed = false;
	d->d_state = D_UP;
}

/* One request; false when the connection is gone. */
static bool
dev_request(struct dev *d, unsigned int idx)
{
	static uint8_t	want[4096];
	struct vuf_seg	seg;
	uint32_t	got = 0, g;
	unsigned int	b;
	uint8_t		st;
	int		rc;
	bool		wr;

	if (!d->d_blk) {
		seg.sg_gpa = d->d_buf_gpa;
		seg.sg_len = 256;
		seg.sg_write = true;
		rc = vuf_vq_exec(&d->d_f, 0, &seg, 1, false, &got);
		if (rc == 0 && (got == 0 || got > 256)) {
			fail("%s: the device wrote %u bytes", d->d_name, got);
			rc = -EPROTO;
		}
		goto done;
	}
	b = (unsigned int)random() % SOAK_BLOCKS;
	wr = random() % 2 == 0;
	if (wr) {
		g = ++gen_counter;
		pattern(d->d_b.b_data, idx, b, g);
		rc = vuf_blk_io(&d->d_b, VUF_BLK_T_OUT, (uint64_t)b * 8, 4096,
		    &st);
		/* Cut by a kill or not, it may have landed. */
		d->d_known[b] = false;
		if (rc == 0 && st == VUF_BLK_S_OK) {
			d->d_gen[b] = g;
			d->d_known[b] = true;
		} else if (rc == 0) {
			fail("%s: write of block %u: status %u", d->d_name, b,
			    st);
		}
		goto done;
	}
	memset(d->d_b.b_data, 0xee, 4096);
	rc = vuf_blk_io(&d->d_b, VUF_BLK_T_IN, (uint64_t)b * 8, 4096, &st);
	if (rc == 0 && st != VUF_BLK_S_OK)
		fail("%s: read of block %u: status %u", d->d_name, b, st);
	else if (rc == 0 && d->d_known[b]) {
		pattern(want, idx, b, d->d_gen[b]);
		if (memcmp(want, d->d_b.b_data, 4096) != 0)
			fail("%s: block %u does not hold generation %u",
			    d->d_name, b, d->d_gen[b]);
	} else if (rc == 0) {
		/* After an uncertain write: adopt what is there. */
		memcpy(&g, d->d_b.b_data + 8, sizeof(g));
		if (d->d_b.b_data[0] == 0 && d->d_b.b_data[100] == 0)
			g = 0;
		pattern(want, idx, b, g);
		if (memcmp(want, d->d_b.b_data, 4096) != 0)
			fail("%s: block %u holds neither pattern (torn?)",
			    d->d_name, b);
		d->d_gen[b] = g;
		d->d_known[b] = true;
	}
done:
	if (rc == 0) {
		d->d_reqs++;
		n_reqs++;
		return true;
	}
	if (d->d_killed)
		n_expected_errors++;
	else
		fail("%s: request failed without a kill: %s", d->d_name,
		    vuf_error(&d->d_f));
	dev_down(d);
	return false;
}

/* Move every device on: pending -> up when answered, down -> pending. */
static void
step(bool traffic)
{
	struct pollfd	pfd;
	unsigned int	i;
	struct dev	*d;

	pump_log();
	for (i = 0; i < cfg.ndev; i++) {
		d = &devs[i];
		switch (d->d_state) {
		case D_DOWN:
			dev_connect(d);
			n_reconnects++;
			break;
		case D_PENDING:
			pfd.fd = d->d_f.f_sock;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, 0) == 1)
				dev_finish_setup(d);
			else if (now_ms() - d->d_down_ms > SOAK_SERVED_MS) {
				fail("%s: not served again within %d ms "
				    "(child %d)", d->d_name, SOAK_SERVED_MS,
				    (int)d->d_pid);
				d->d_down_ms = now_ms();
			}
			break;
		case D_UP:
			if (traffic)
				dev_request(d, i);
			break;
		}
	}
}

/* May device d be killed now (its per-minute budget)? */
static bool
kill_budget(struct dev *d, long now)
{
	unsigned int	i, oldest = 0;

	for (i = 0; i < SOAK_KILLS_PER_MIN; i++) {
		if (d->d_kill_ms[i] == 0 || now - d->d_kill_ms[i] > 61000) {
			d->d_kill_ms[i] = now;
			return true;
		}
		if (d->d_kill_ms[i] < d->d_kill_ms[oldest])
			oldest = i;
	}
	return false;
}

/*
 * SIGKILL pid if it is a child of vhostd, through a pidfd: a pid read
 * from the log may be stale, and must not hit another process.
 */
static bool
kill_child(pid_t pid)
{
	char	 path[64], buf[512], *p;
	FILE	*fp;
	int	 pfd, ppid = -1;
	bool	 ok = false;

	if ((pfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "re")) != NULL) {
		if (fgets(buf, sizeof(buf), fp) != NULL &&
		    (p = strrchr(buf, ')')) != NULL)
			sscanf(p + 2, "%*c %d", &ppid);
		fclose(fp);
	}
	if (ppid == (int)vp.vp_pid)
		ok = syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) == 0;
	close(pfd);
	return ok;
}

/* One random fault: a SIGKILLed child (3 in 4) or a front end reconnect. */
static void
chaos(void)
{
	struct dev	*d = &devs[(unsigned int)random() % cfg.ndev];

	if (d->d_state != D_UP)
		return;
	if (random() % 4 != 0) {
		if (d->d_pid <= 0 || !kill_budget(d, now_ms()))
			return;
		if (kill_child(d->d_pid)) {
			d->d_killed = true;
			n_kills++;
		}
		return;
	}
	/* A clean hang-up; the next step reconnects. */
	d->d_killed = true;
	dev_down(d);
}

/* Everything up and served once, within 30 s. */
static bool
quiesce(void)
{
	long		deadline = now_ms() + 30000;
	unsigned int	i, up;

	for (;;) {
		step(false);
		for (i = up = 0; i < cfg.ndev; i++)
			up += devs[i].d_state == D_UP;
		if (up == cfg.ndev)
			break;
		if (now_ms() > deadline) {
			fail("only %u of %u devices served within 30 s", up,
			    cfg.ndev);
			return false;
		}
		usleep(2000);
	}
	for (i = 0; i < cfg.ndev; i++)
		if (devs[i].d_state == D_UP)
			dev_request(&devs[i], i);
	pump_log();
	return true;
}

static int
count_fds(pid_t pid)
{
	struct dirent	*de;
	char		 path[64];
	DIR		*dp;
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((dp = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(dp)) != NULL)
		n += de->d_name[0] != '.';
	closedir(dp);
	return n;
}

static long
rss_kb(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*fp;
	long	 kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

/* Our children (vhostd, and any orphan that came to the subreaper). */
static unsigned int
our_children(char *buf, size_t len)
{
	char		 path[64];
	FILE		*fp;
	unsigned int	 n = 0;
	size_t		 k;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/self/task/%d/children",
	    (int)getpid());
	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	k = fread(buf, 1, len - 1, fp);
	buf[k] = '\0';
	fclose(fp);
	for (k = 0; buf[k] != '\0'; k++)
		if (buf[k] != ' ' && (k == 0 || buf[k - 1] == ' '))
			n++;
	return n;
}

static void
usage(void)
{
	fprintf(stderr, "usage: vuf-soak --vhostd=PATH --policy-dir=DIR "
	    "[--devices=N] [--secs=N] [--chaos-ms=N] [--samples=N] "
	    "[--seed=N] [--keep]\n");
	exit(2);
}

static unsigned int
num(const char *s, unsigned int lo, unsigned int hi)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		errx(2, "%s: expected a number %u..%u", s, lo, hi);
	return (unsigned int)v;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "vhostd", required_argument, NULL, 'v' },
		{ "policy-dir", required_argument, NULL, 'p' },
		{ "devices", required_argument, NULL, 'n' },
		{ "secs", required_argument, NULL, 's' },
		{ "chaos-ms", required_argument, NULL, 'c' },
		{ "samples", required_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 'r' },
		{ "keep", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	struct vproc_opts	 o = { .o_stdout = -1 };
	char			**av, line[64], rfd[32], kids[4096];
	long			 t0, t_ready, t_served, t_end, next_chaos;
	long			 next_sample, sample_every, t_stop;
	long			 rss[SOAK_MAX_SAMPLES], t_s[SOAK_MAX_SAMPLES];
	int			 fds[SOAK_MAX_SAMPLES], rp[2], st, fd, ch;
	unsigned int		 i, n = 0, ns = 0, nleft;
	int			 fmin, fmax;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			cfg.vhostd = optarg;
			break;
		case 'p':
			cfg.policy_dir = optarg;
			break;
		case 'n':
			cfg.ndev = num(optarg, 2, SOAK_MAX_DEVICES);
			break;
		case 's':
			cfg.secs = num(optarg, 5, 24 * 3600);
			break;
		case 'c':
			cfg.chaos_ms = num(optarg, 10, 60000);
			break;
		case 'S':
			cfg.samples = num(optarg, 2, SOAK_MAX_SAMPLES - 2);
			break;
		case 'r':
			cfg.seed = num(optarg, 0, 0x7fffffff);
			break;
		case 'k':
			cfg.keep = true;
			break;
		default:
			usage();
		}
	}
	if (cfg.vhostd == NULL || cfg.policy_dir == NULL || optind != argc)
		usage();
	if (cfg.seed == 0)
		cfg.seed = (unsigned int)getpid();
	srandom(cfg.seed);
	signal(SIGPIPE, SIG_IGN);
	/* Orphans of vhostd come to us: nothing may outlive it unseen. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		err(1, "PR_SET_CHILD_SUBREAPER");

	snprintf(dir, sizeof(dir), "/tmp/vhostd-soak-XXXXXX");
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	if ((av = calloc(2 * cfg.ndev + 8, sizeof(*av))) == NULL)
		err(1, "calloc");
	av[n++] = (char *)cfg.vhostd;
	av[n++] = (char *)"--policy-dir";
	av[n++] = (char *)cfg.policy_dir;
	av[n++] = rfd;
	snprintf(rfd, sizeof(rfd), "--ready-fd=3");
	for (i = 0; i < cfg.ndev; i++) {
		struct dev	*d = &devs[i];
		char		*spec, nm[16];

		d->d_blk = i % 2 == 1;
		snprintf(nm, sizeof(nm), "%s%u", d->d_blk ? "blk" : "rng", i);
		memcpy(d->d_name, nm, sizeof(nm));
		snprintf(d->d_sock, sizeof(d->d_sock), "%s/%s.sock", dir, nm);
		if (d->d_blk) {
			snprintf(d->d_img, sizeof(d->d_img), "%s/%s.img", dir,
			    nm);
			fd = open(d->d_img, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
			if (fd == -1 || ftruncate(fd, SOAK_IMG_SIZE) == -1)
				err(1, "%s", d->d_img);
			close(fd);
			if (asprintf(&spec, "blk,name=%s,socket=%s,path=%s",
			    d->d_name, d->d_sock, d->d_img) == -1)
				err(1, "asprintf");
		} else if (asprintf(&spec, "rng,name=%s,socket=%s", d->d_name,
		    d->d_sock) == -1)
			err(1, "asprintf");
		av[n++] = (char *)"--device";
		av[n++] = spec;
		vuf_init(&d->d_f);
		d->d_state = D_DOWN;
	}
	av[n] = NULL;
	printf("soak: %u devices (%u rng, %u blk), %u s, a fault every %u ms, "
	    "seed %u, in %s\n", cfg.ndev, (cfg.ndev + 1) / 2, cfg.ndev / 2,
	    cfg.secs, cfg.chaos_ms, cfg.seed, dir);
	fflush(stdout);

	if (pipe2(rp, O_CLOEXEC) == -1)
		err(1, "pipe2");
	o.o_fds = &rp[1];
	o.o_nfds = 1;
	t0 = now_ms();
	if (vproc_start(&vp, av, &o) < 0)
		errx(1, "cannot start %s", cfg.vhostd);
	close(rp[1]);
	if (vproc_read_line(rp[0], line, sizeof(line), 60000) <= 0) {
		vproc_wait_exit(&vp, 5000, NULL);
		errx(1, "vhostd did not become ready within 60 s:\n%s",
		    vp.vp_log);
	}
	close(rp[0]);
	t_ready = now_ms() - t0;
	/* The served-again deadline of the first connections runs from here. */
	for (i = 0; i < cfg.ndev; i++)
		devs[i].d_down_ms = now_ms();
	printf("soak: start-up: %u devices ready (READY on --ready-fd) in "
	    "%ld ms\n", cfg.ndev, t_ready);
	quiesce();
	t_served = now_ms() - t0;
	printf("soak: start-up: %u front ends connected and served in %ld ms "
	    "from exec\n", cfg.ndev, t_served);
	fflush(stdout);

	sample_every = (long)cfg.secs * 1000 / cfg.samples;
	t0 = now_ms();
	t_end = t0 + (long)cfg.secs * 1000;
	next_chaos = t0 + cfg.chaos_ms;
	next_sample = t0;
	printf("soak: %8s %6s %9s %8s %10s %10s\n", "t(s)", "fds", "rss(kB)",
	    "kills", "reconnect", "requests");
	for (;;) {
		long	now = now_ms();

		if (now >= next_sample || now >= t_end) {
			quiesce();
			if (ns < SOAK_MAX_SAMPLES) {
				t_s[ns] = now_ms() - t0;
				fds[ns] = count_fds(vp.vp_pid);
				rss[ns] = rss_kb(vp.vp_pid);
				printf("soak: %8.1f %6d %9ld %8lu %10lu %10lu\n",
				    (double)t_s[ns] / 1000, fds[ns], rss[ns],
				    n_kills, n_reconnects, n_reqs);
				fflush(stdout);
				ns++;
			}
			next_sample += sample_every;
			if (now >= t_end)
				break;
		}
		if (now >= next_chaos) {
			chaos();
			next_chaos += cfg.chaos_ms;
		}
		step(true);
		if (vp.vp_err < 0 || kill(vp.vp_pid, 0) == -1) {
			fail("vhostd is gone");
			break;
		}
	}

	/* The series: flat fds, RSS within the slack. */
	fmin = fmax = fds[0];
	for (i = 1; i < ns; i++) {
		fmin = fds[i] < fmin ? fds[i] : fmin;
		fmax = fds[i] > fmax ? fds[i] : fmax;
	}
	printf("soak: parent fds %d..%d over %u samples; RSS %ld kB -> %ld kB "
	    "(%+ld kB)\n", fmin, fmax, ns, rss[0], rss[ns - 1],
	    rss[ns - 1] - rss[0]);
	if (fmax != fmin)
		fail("the parent's fd count moved: %d..%d", fmin, fmax);
	if (rss[ns - 1] - rss[0] > SOAK_RSS_SLACK_KB)
		fail("the parent's RSS grew by %ld kB (more than %d)",
		    rss[ns - 1] - rss[0], SOAK_RSS_SLACK_KB);
	printf("soak: %lu requests, %lu kills, %lu reconnects, %lu requests "
	    "cut by a fault, longest kill-to-served %ld ms\n", n_reqs,
	    n_kills, n_reconnects, n_expected_errors, max_served_ms);
	if (n_kills == 0)
		fail("no child was killed");
	(void)t_s;

	/* Shut down with the front ends connected. */
	t_stop = now_ms();
	kill(vp.vp_pid, SIGTERM);
	if (vproc_wait_exit(&vp, 30000, &st) < 0) {
		fail("vhostd did not exit within 30 s of SIGTERM");
		vproc_cleanup(&vp);
	} else {
		printf("soak: SIGTERM to exit: %ld ms\n", now_ms() - t_stop);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail("vhostd exited with wait status 0x%x after "
			    "SIGTERM", st);
	}
	for (i = 0; i < cfg.ndev; i++)
		vuf_fini(&devs[i].d_f);
	/* Orphans, if any, were reparented to us. */
	nleft = our_children(kids, sizeof(kids));
	if (nleft > 0) {
		fail("%u processes outlived vhostd: %s", nleft, kids);
		for (i = 0; i < 50 && waitpid(-1, NULL, WNOHANG) >= 0; i++)
			usleep(100000);
	}
	for (i = 0, nleft = 0; i < cfg.ndev; i++)
		if (access(devs[i].d_sock, F_OK) == 0)
			nleft++;
	if (nleft > 0)
		fail("%u socket files left behind", nleft);
	printf("soak: after SIGTERM: %u processes left, %u socket files "
	    "left\n", our_children(kids, sizeof(kids)), nleft);
	if (vproc_count(&vp, "killed by signal SIGSEGV") +
	    vproc_count(&vp, "killed by signal SIGSYS") +
	    vproc_count(&vp, "killed by signal SIGBUS") +
	    vproc_count(&vp, "giving up") > 0)
		fail("vhostd logged a crash or gave a device up");

	if (n_failures > 0 || cfg.keep) {
		char	path[128];
		FILE	*fp;

		snprintf(path, sizeof(path), "%s/vhostd.log", dir);
		if ((fp = fopen(path, "w")) != NULL) {
			fputs(vp.vp_log, fp);
			fclose(fp);
		}
		printf("soak: vhostd's log is in %s\n", path);
	} else {
		char	cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			warnx("cannot remove %s", dir);
	}
	vproc_cleanup(&vp);
	printf("soak: %s\n", n_failures == 0 ? "PASS" : "FAIL");
	printf("soak: %d passed, %d failed\n", n_failures == 0,
	    n_failures != 0);
	return n_failures == 0 ? 0 : 1;
}
