/*
 * stats_test.c - vhostd ctl stats: counters move with I/O through the
 * in-tree front end (rng, blk), survive restarts, parse as JSON, pass
 * promtool (or a strict format check), and a child that writes anything
 * at all into its counters region (a taken-over child; here root through
 * /proc/PID/map_files) cannot crash the parent, make a counter go
 * backwards, or change another device's numbers.
 */
#include "itest.h"

#include <ctype.h>
#include <inttypes.h>
#include <time.h>
#include <sys/mman.h>

#include "vuf_blk.h"

TestSuite(stats, .init = it_setup, .fini = it_teardown, .timeout = 120);

#define OUT_MAX		(4 * 1024 * 1024)

static char	out_buf[OUT_MAX];

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* vhostd ctl --control=ctl stats [opt] [name]: stdout, exit 0 asserted. */
static const char *
ctl_stats(const char *ctl, const char *opt, const char *name)
{
	char	*argv[8], err[512];
	int	 n = 0, st;

	argv[n++] = (char *)it_env("VHOSTD");
	argv[n++] = (char *)"ctl";
	argv[n++] = it_fmt("--control=%s", ctl);
	argv[n++] = (char *)"stats";
	if (opt != NULL)
		argv[n++] = (char *)opt;
	if (name != NULL)
		argv[n++] = (char *)name;
	argv[n] = NULL;
	st = vproc_run(argv, out_buf, sizeof(out_buf), err, sizeof(err),
	    VPROC_TIMEOUT_MS);
	cr_assert_eq(st, 0, "vhostd ctl stats %s: status %d: %s\nvhostd:\n%s",
	    opt != NULL ? opt : "", st, err, it_vp.vp_log);
	return out_buf;
}

/* One device's numbers, from stats --json parsed by python3's json. */
struct snap {
	uint64_t	s_req, s_rbytes, s_wbytes, s_inflight, s_errors;
	uint64_t	s_lat, s_disc, s_dev, s_restarts, s_nq, s_qinflight;
	uint64_t	s_invalid, s_unsupp;
};

static void
snap(const char *ctl, const char *name, struct snap *s)
{
	static const char	 prog[] =
	    "import json,sys\n"
	    "def bad(c): sys.exit('not JSON: ' + c)\n"
	    "d = json.load(open(sys.argv[1]), parse_constant=bad)\n"
	    "x = [v for v in d['devices'] if v['name'] == sys.argv[2]][0]\n"
	    "t = x['total']\n"
	    "v = [t['requests'], t['read_bytes'], t['written_bytes'],\n"
	    "     t['inflight'], sum(t['errors'].values()),\n"
	    "     t.get('latency', {}).get('count', 0),\n"
	    "     x['exits']['disconnect'], x['exits']['device'],\n"
	    "     x['restarts'], len(x['queues']),\n"
	    "     max(q['inflight'] for q in x['queues']),\n"
	    "     t['errors']['invalid'], t['errors']['unsupported']]\n"
	    "assert all(type(n) is int and n >= 0 for n in v), v\n"
	    "print(*v)\n";
	char		 path[256], out[1024], err[1024];
	char		*argv[6];
	const char	*json;
	FILE		*f;
	int		 st;

	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("python3 is missing: cannot parse JSON");
	json = ctl_stats(ctl, "--json", NULL);
	snprintf(path, sizeof(path), "%s/stats.json", it_dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(json, f);
	fclose(f);
	argv[0] = (char *)"/usr/bin/python3";
	argv[1] = (char *)"-c";
	argv[2] = (char *)prog;
	argv[3] = path;
	argv[4] = (char *)name;
	argv[5] = NULL;
	st = vproc_run(argv, out, sizeof(out), err, sizeof(err),
	    VPROC_TIMEOUT_MS);
	cr_assert_eq(st, 0, "stats --json: %s\n%s", err, json);
	cr_assert_eq(sscanf(out, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
	    " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %"
	    SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &s->s_req, &s->s_rbytes,
	    &s->s_wbytes, &s->s_inflight, &s->s_errors, &s->s_lat, &s->s_disc,
	    &s->s_dev, &s->s_restarts, &s->s_nq, &s->s_qinflight,
	    &s->s_invalid, &s->s_unsupp), 13, "%s", out);
	printf("stats: %s: requests %" PRIu64 " read %" PRIu64 " written %"
	    PRIu64 " inflight %" PRIu64 " errors %" PRIu64 " latency %" PRIu64
	    " queues %" PRIu64 " exits disconnect %" PRIu64 " device %" PRIu64
	    " restarts %" PRIu64 "\n", name, s->s_req, s->s_rbytes,
	    s->s_wbytes, s->s_inflight, s->s_errors, s->s_lat, s->s_nq,
	    s->s_disc, s->s_dev, s->s_restarts);
}

/* Poll until device name's child restarted nth times (exits counted). */
static void
wait_exits(const char *ctl, const char *name, uint64_t want, struct snap *s)
{
	int	i;

	for (i = 0; i < 500; i++) {
		snap(ctl, name, s);
		if (s->s_disc + s->s_dev >= want)
			return;
		usleep(10000);
	}
	cr_assert_fail("%s: %" PRIu64 " child exits, not %" PRIu64, name,
	    s->s_disc + s->s_dev, want);
}

Test(stats, rng_counters_move_with_io_and_survive_restarts)
{
	const char	*sock = it_path("rng.sock"), *ctl = it_path("ctl");
	struct snap	 s;
	int		 i;

	it_start(&it_vp, "--control", ctl, "--device",
	    it_fmt("rng,name=r,socket=%s", sock), NULL);
	snap(ctl, "r", &s);
	cr_assert_eq(s.s_req, 0);
	cr_assert_eq(s.s_rbytes, 0);
	/* Three sessions, 256 bytes each: each child ends, the sum stays. */
	for (i = 1; i <= 3; i++) {
		it_assert_entropy(sock);
		wait_exits(ctl, "r", (uint64_t)i, &s);
		cr_assert_eq(s.s_req, (uint64_t)i, "requests after session %d",
		    i);
		cr_assert_eq(s.s_rbytes, 256u * (uint64_t)i);
	}
	cr_assert_eq(s.s_disc, 3);
	cr_assert_eq(s.s_wbytes, 0);
	cr_assert_eq(s.s_errors, 0);
	cr_assert_eq(s.s_inflight, 0);
	cr_assert_eq(s.s_nq, 1);
	/* A crash is counted by its class, and the numbers stay. */
	cr_assert_eq(kill(vproc_child_pid(&it_vp, "r", 3, VPROC_TIMEOUT_MS),
	    SIGKILL), 0);
	cr_assert_gt(vproc_child_pid(&it_vp, "r", 4, VPROC_TIMEOUT_MS), 0);
	wait_exits(ctl, "r", 4, &s);
	cr_assert_eq(s.s_dev, 1);
	cr_assert_eq(s.s_req, 3);
	cr_assert_eq(s.s_rbytes, 768);
	cr_assert_eq(s.s_restarts, 4);
	it_stop(&it_vp);
}

Test(stats, blk_counters_bytes_errors_latency)
{
	const char	*sock = it_path("blk.sock"), *ctl = it_path("ctl");
	const char	*img = it_path("disk.img");
	struct vuf	 f;
	struct vuf_blk	 b;
	struct vuf_opts	 o;
	struct snap	 s;
	uint8_t		 st;
	int		 fd, i;

	cr_assert_geq(fd = open(img, O_RDWR | O_CREAT | O_CLOEXEC, 0600), 0);
	cr_assert_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	it_start(&it_vp, "--control", ctl, "--device",
	    it_fmt("blk,name=d,socket=%s,path=%s", sock, img), NULL);
	memset(&o, 0, sizeof(o));
	o.o_mem_size = 2u << 20;
	o.o_queue_size = 64;
	vuf_init(&f);
	cr_assert_eq(vuf_setup(&f, sock, &o), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_blk_init(&b, &f, 0, 65536), 0, "%s", vuf_error(&f));
	for (i = 0; i < 3; i++) {
		memset(b.b_data, 0x5a, 4096);
		cr_assert_eq(vuf_blk_io(&b, VUF_BLK_T_OUT, (uint64_t)i * 8,
		    4096, &st), 0, "%s", vuf_error(&f));
		cr_assert_eq(st, VUF_BLK_S_OK);
	}
	for (i = 0; i < 2; i++) {
		cr_assert_eq(vuf_blk_io(&b, VUF_BLK_T_IN, 0, 8192, &st), 0);
		cr_assert_eq(st, VUF_BLK_S_OK);
	}
	/* Past the end: refused (invalid); an unknown type: unsupported. */
	cr_assert_eq(vuf_blk_io(&b, VUF_BLK_T_IN, 4096, 4096, &st), 0);
	cr_assert_eq(st, VUF_BLK_S_IOERR);
	cr_assert_eq(vuf_blk_io(&b, 99, 0, 512, &st), 0);
	cr_assert_eq(st, VUF_BLK_S_UNSUPP);
	snap(ctl, "d", &s);
	cr_assert_eq(s.s_req, 7);
	cr_assert_eq(s.s_wbytes, 3 * 4096);
	cr_assert_eq(s.s_rbytes, 2 * 8192);
	cr_assert_eq(s.s_errors, 2);
	cr_assert_eq(s.s_invalid, 1);
	cr_assert_eq(s.s_unsupp, 1);
	cr_assert_eq(s.s_lat, 7, "every request has a latency");
	cr_assert_eq(s.s_inflight, 0);
	/* A request the front end left in the ring shows in flight. */
	memset(b.b_data, 0, 4096);
	cr_assert_geq(vuf_blk_submit(&b, VUF_BLK_T_IN, 0, 4096), 0);
	vuf_fini(&f);
	wait_exits(ctl, "d", 1, &s);
	cr_assert_geq(s.s_req, 7);
	cr_assert_eq(s.s_inflight, 0, "a gone child has nothing in flight");
	cr_assert_eq(s.s_wbytes, 3 * 4096);
	it_stop(&it_vp);
}

/*
 * The counters region of pid as root sees it: an fd of the memfd.  The
 * "started child" line comes at the clone; the exec'd child maps the
 * region a moment later (child_counters_map): polled, with a deadline.
 */
static int
region_open(pid_t pid)
{
	char		 line[512], path[128];
	unsigned long	 a, e;
	FILE		*f;
	long		 deadline = now_ms() + VPROC_TIMEOUT_MS;
	int		 fd = -1;

	for (;;) {
		snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
		cr_assert_not_null(f = fopen(path, "r"), "%s", path);
		while (fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, "memfd:vhostd-counters") != NULL &&
			    sscanf(line, "%lx-%lx", &a, &e) == 2) {
				snprintf(path, sizeof(path),
				    "/proc/%d/map_files/%lx-%lx", (int)pid, a,
				    e);
				fd = open(path, O_RDWR | O_CLOEXEC);
				cr_assert_geq(fd, 0, "%s: %s", path,
				    strerror(errno));
				break;
			}
		fclose(f);
		if (fd >= 0 || now_ms() > deadline)
			break;
		usleep(5000);
	}
	cr_assert_geq(fd, 0, "child %d maps no counters region", (int)pid);
	return fd;
}

static void
snap_eq(const struct snap *a, const struct snap *b, const char *what)
{
	cr_assert(a->s_req == b->s_req && a->s_rbytes == b->s_rbytes &&
	    a->s_wbytes == b->s_wbytes && a->s_errors == b->s_errors &&
	    a->s_inflight == b->s_inflight && a->s_nq == b->s_nq,
	    "%s: the other device's numbers changed", what);
}

Test(stats, forged_region_cannot_crash_the_parent_or_touch_another_device)
{
	const char	*sa = it_path("a.sock"), *sb = it_path("b.sock");
	const char	*ctl = it_path("ctl");
	struct snap	 a0, a1, b0, b1;
	uint64_t	*p, *old;
	size_t		 len, i;
	pid_t		 pa;
	int		 fd, k, rc, e;

	it_start(&it_vp, "--control", ctl, "--device",
	    it_fmt("rng,name=a,socket=%s", sa), "--device",
	    it_fmt("rng,name=b,socket=%s", sb), NULL);
	it_assert_entropy(sb);
	wait_exits(ctl, "b", 1, &b0);
	pa = vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(pa, 0);
	fd = region_open(pa);
	len = (size_t)lseek(fd, 0, SEEK_END);
	printf("stats: child %d's region: %zu bytes\n", (int)pa, len);

	/* Shrinking it would make the parent's next read fault (SIGBUS). */
	rc = ftruncate(fd, 0);
	e = errno;
	snap(ctl, "a", &a0);
	cr_assert_eq(kill(it_vp.vp_pid, 0), 0, "vhostd died:\n%s",
	    it_vp.vp_log);
	cr_assert_eq(rc, -1, "the region could be shrunk");
	cr_assert_eq(e, EPERM, "ftruncate: %s", strerror(e));
	cr_assert_eq(fallocate(fd, 0, 0, (off_t)len * 4), -1,
	    "the region could be grown");

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(p, MAP_FAILED);
	/*
	 * Garbage of plausible size, rewritten while the parent reads (torn
	 * reads): counters only go up, gauges stay in range.
	 */
	srandom(1);
	for (k = 0; k < 20; k++) {
		for (i = 0; i < len / sizeof(*p); i++)
			p[i] = ((uint64_t)random() << 9) ^ (uint64_t)random();
		(void)ctl_stats(ctl, k & 1 ? "--prometheus" : NULL, NULL);
		snap(ctl, "a", &a1);
		cr_assert_geq(a1.s_req, a0.s_req, "round %d: backwards", k);
		cr_assert_geq(a1.s_rbytes, a0.s_rbytes, "round %d: backwards",
		    k);
		cr_assert_leq(a1.s_qinflight, 32768, "in-flight clamped");
		cr_assert_eq(a1.s_nq, 16, "queue count clamped");
		a0 = a1;
	}
	/* Every bit set: the largest values a child can claim. */
	memset(p, 0xff, len);
	snap(ctl, "a", &a1);
	cr_assert_leq(a1.s_qinflight, 32768, "in-flight clamped");
	cr_assert_leq(a1.s_req, (uint64_t)16 << 56, "requests capped");
	cr_assert_geq(a1.s_req, a0.s_req);
	(void)ctl_stats(ctl, "--prometheus", NULL);
	(void)ctl_stats(ctl, NULL, NULL);
	/* Zeros: a counter never goes back; a gauge follows the child. */
	memset(p, 0, len);
	snap(ctl, "a", &a0);
	cr_assert_eq(a0.s_req, a1.s_req, "requests went backwards");
	cr_assert_eq(a0.s_rbytes, a1.s_rbytes, "bytes went backwards");
	cr_assert_eq(a0.s_inflight, 0);
	snap(ctl, "b", &b1);
	snap_eq(&b0, &b1, "garbage");

	/* The child ends; the next one has a region of its own. */
	cr_assert_eq(kill(pa, SIGKILL), 0);
	cr_assert_gt(vproc_child_pid(&it_vp, "a", 1, VPROC_TIMEOUT_MS), 0);
	wait_exits(ctl, "a", 1, &a1);
	cr_assert_geq(a1.s_req, a0.s_req, "backwards across the restart");
	old = p;
	memset(old, 0x11, len);
	snap(ctl, "a", &a0);
	cr_assert_eq(a0.s_req, a1.s_req, "the dead child's region still "
	    "counts");
	cr_assert_eq(a0.s_rbytes, a1.s_rbytes);
	/* And the device still serves. */
	it_assert_entropy(sa);
	snap(ctl, "b", &b1);
	snap_eq(&b0, &b1, "restart");
	munmap(p, len);
	close(fd);
	cr_assert_eq(kill(it_vp.vp_pid, 0), 0);
	it_stop(&it_vp);
}

/*
 * Strict check of the text exposition format: comment lines are HELP or
 * TYPE, every sample belongs to a TYPE declared before it (histograms:
 * _bucket, _sum, _count), names and labels well formed, values numbers.
 * Returns NULL or what is wrong.
 */
static const char *
prom_check(char *text)
{
	static char	 why[512];
	char		 types[64][96], *line, *save = NULL, *p, *q, *end;
	unsigned int	 nt = 0, i;
	size_t		 n;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			p = line + 7;
			q = strchr(p, ' ');
			if (q == NULL || (strcmp(q + 1, "counter") != 0 &&
			    strcmp(q + 1, "gauge") != 0 &&
			    strcmp(q + 1, "histogram") != 0) || nt == 64)
				goto bad;
			snprintf(types[nt++], sizeof(types[0]), "%.*s",
			    (int)(q - p), p);
			continue;
		}
		if (line[0] == '#')
			goto bad;
		p = line;
		if (!isalpha((unsigned char)*p) && *p != '_')
			goto bad;
		while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
			p++;
		n = (size_t)(p - line);
		for (i = 0; i < nt; i++)
			if ((strlen(types[i]) == n &&
			    strncmp(types[i], line, n) == 0) ||
			    (strncmp(types[i], line, strlen(types[i])) == 0 &&
			    (strncmp(line + strlen(types[i]), "_bucket", 7) ==
			    0 || strncmp(line + strlen(types[i]), "_sum", 4) ==
			    0 || strncmp(line + strlen(types[i]), "_count", 6) ==
			    0)))
				break;
		if (i == nt)
			goto bad;
		if (*p == '{') {
			p++;
			while (*p != '}') {
				if (!isalpha((unsigned char)*p) && *p != '_')
					goto bad;
				while (isalnum((unsigned char)*p) || *p == '_')
					p++;
				if (p[0] != '=' || p[1] != '"')
					goto bad;
				for (p += 2; *p != '"'; p++) {
					if (*p == '\0')
						goto bad;
					if (*p == '\\' && p[1] != '\\' &&
					    p[1] != '"' && p[1] != 'n')
						goto bad;
					if (*p == '\\')
						p++;
				}
				p++;
				if (*p == ',')
					p++;
				else if (*p != '}')
					goto bad;
			}
			p++;
		}
		if (*p++ != ' ')
			goto bad;
		(void)strtod(p, &end);
		if (end == p || *end != '\0')
			goto bad;
	}
	return NULL;
bad:
	snprintf(why, sizeof(why), "bad line: %s", line);
	return why;
}

Test(stats, json_parses_and_prometheus_is_well_formed)
{
	const char	*sa = it_path("r.sock"), *sb = it_path("d.sock");
	const char	*ctl = it_path("ctl"), *img = it_path("img");
	const char	*why;
	char		*text, path[256], *argv[5], out[4096], err[4096];
	struct snap	 s;
	FILE		*f;
	int		 fd, st;

	cr_assert_geq(fd = open(img, O_RDWR | O_CREAT | O_CLOEXEC, 0600), 0);
	cr_assert_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	it_start(&it_vp, "--control", ctl, "--device",
	    it_fmt("rng,name=r,socket=%s", sa), "--device",
	    it_fmt("blk,name=d,socket=%s,path=%s,queues=2", sb, img), NULL);
	it_assert_entropy(sa);
	wait_exits(ctl, "r", 1, &s);
	snap(ctl, "d", &s);
	cr_assert_eq(s.s_nq, 2, "blk with queues=2 shows 2 queues");
	/* One device by name, and an unknown name is an error. */
	text = (char *)ctl_stats(ctl, NULL, "r");
	cr_assert_neq(strstr(text, "r (rng, running)"), NULL, "%s", text);
	cr_assert_eq(strstr(text, "d (blk"), NULL, "%s", text);
	argv[0] = (char *)it_env("VHOSTD");
	argv[1] = (char *)"ctl";
	argv[2] = it_fmt("--control=%s", ctl);
	argv[3] = (char *)"stats";
	{
		char	*a[6] = { argv[0], argv[1], argv[2], argv[3],
			    (char *)"nosuch", NULL };

		st = vproc_run(a, out, sizeof(out), err, sizeof(err),
		    VPROC_TIMEOUT_MS);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1,
		    "unknown device: wait status %d", st);
		cr_assert_neq(strstr(err, "no device 'nosuch'"), NULL, "%s",
		    err);
	}

	text = strdup(ctl_stats(ctl, "--prometheus", NULL));
	cr_assert_not_null(text);
	printf("stats: --prometheus: %zu bytes\n", strlen(text));
	cr_assert_neq(strstr(text, "vhostd_read_bytes_total{device=\"r\","
	    "queue=\"0\"} 256\n"), NULL, "%s", text);
	cr_assert_neq(strstr(text, "vhostd_request_duration_seconds_bucket{"
	    "device=\"d\",queue=\"1\",le=\"+Inf\"} 0\n"), NULL, "%s", text);
	cr_assert_neq(strstr(text, "vhostd_child_exits_total{device=\"r\","
	    "class=\"disconnect\"} 1\n"), NULL, "%s", text);
	snprintf(path, sizeof(path), "%s/stats.prom", it_dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	why = prom_check(text);
	cr_assert_null(why, "%s", why);
	free(text);
	if (access("/usr/bin/promtool", X_OK) != 0) {
		printf("stats: promtool is missing (apt-get install "
		    "prometheus): the strict check alone ran\n");
		it_stop(&it_vp);
		return;
	}
	{
		char	*a[4] = { (char *)"/bin/sh", (char *)"-c",
			    it_fmt("/usr/bin/promtool check metrics < '%s' 2>&1",
			    path), NULL };

		st = vproc_run(a, out, sizeof(out), NULL, 0, VPROC_TIMEOUT_MS);
		cr_assert_eq(st, 0, "promtool check metrics: %s", out);
		printf("stats: promtool check metrics: ok%s%s\n",
		    out[0] ? ": " : "", out);
	}
	it_stop(&it_vp);
}

/* A connected control client that sent line and reads nothing. */
static int
ctl_stall(const char *ctl, const char *line)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd, rcv = 4096;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", ctl);
	cr_assert_geq(fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	return fd;
}

static double
mono_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Replies of megabytes (16 queues each) to clients that do not read them
 * do not hold up the supervisor: another client's request is answered at
 * once, and the stalled ones are dropped after their deadline.
 */
Test(stats, a_client_that_does_not_read_does_not_block_the_parent)
{
	const char	*ctl = it_path("ctl");
	const char	*argv[2 * 8 + 4];
	static char	 specs[8][256];
	char		 out[8192], err[512], *cargv[6];
	double		 t0, dt;
	int		 fds[4], i, n = 0, st;
	size_t		 big;

	argv[n++] = "--control";
	argv[n++] = ctl = strdup(ctl);
	for (i = 0; i < 8; i++) {
		argv[n++] = "--device";
		snprintf(specs[i], sizeof(specs[i]), "blk,name=d%d,socket=%s/d%d."
		    "sock,null=1M,queues=16", i, it_dir, i);
		argv[n++] = specs[i];
	}
	argv[n] = NULL;
	it_start(&it_vp, argv[0], argv[1], argv[2], argv[3], argv[4], argv[5],
	    argv[6], argv[7], argv[8], argv[9], argv[10], argv[11], argv[12],
	    argv[13], argv[14], argv[15], argv[16], argv[17], NULL);
	/* Every child announced its 16 queues (polled, with a deadline). */
	for (i = 0; i < 500; i++) {
		big = strlen(ctl_stats(ctl, "--prometheus", NULL));
		if (big > 256 * 1024)
			break;
		usleep(20000);
	}
	printf("stats: --prometheus for 8 devices of 16 queues: %zu bytes\n",
	    big);
	cr_assert_gt(big, 256 * 1024, "the reply fits in a socket buffer");
	for (i = 0; i < 4; i++)
		fds[i] = ctl_stall(ctl, "stats --prometheus\n");
	cargv[0] = (char *)it_env("VHOSTD");
	cargv[1] = (char *)"ctl";
	cargv[2] = it_fmt("--control=%s", ctl);
	cargv[3] = (char *)"status";
	cargv[4] = NULL;
	t0 = mono_s();
	st = vproc_run(cargv, out, sizeof(out), err, sizeof(err),
	    VPROC_TIMEOUT_MS);
	dt = mono_s() - t0;
	printf("stats: status answered in %.3f s beside 4 stalled clients\n",
	    dt);
	cr_assert_eq(st, 0, "%s", err);
	cr_assert_neq(strstr(out, "d7"), NULL, "%s", out);
	/* Blocking writes would take 2 s per stalled client. */
	cr_assert_lt(dt, 4.0, "the parent waited for the stalled clients");
	for (i = 0; i < 4; i++)
		close(fds[i]);
	it_stop(&it_vp);
}

/* Write text to it_dir/name; its path (not it_path's rotating buffers). */
static const char *
conf_write(const char *name, const char *text)
{
	static char	path[256];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", it_dir, name);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	return path;
}

/* A reload that changes a device keeps its counters; one it adds: zero. */
Test(stats, counters_survive_a_reload_that_changes_the_device)
{
	static char	 conf[256], ctl[256], sa[256], sb[256];
	char		*argv[5], out[4096], err[4096];
	struct snap	 s;
	int		 st;

	snprintf(ctl, sizeof(ctl), "%s", it_path("ctl"));
	snprintf(sa, sizeof(sa), "%s", it_path("a.sock"));
	snprintf(sb, sizeof(sb), "%s", it_path("b.sock"));
	snprintf(conf, sizeof(conf), "%s", conf_write("v.conf",
	    it_fmt("[a]\ntype = rng\nsocket = %s\n", sa)));
	it_start(&it_vp, "--control", ctl, "-c", conf, NULL);
	it_assert_entropy(sa);
	wait_exits(ctl, "a", 1, &s);
	cr_assert_eq(s.s_req, 1);
	(void)conf_write("v.conf", it_fmt("[a]\ntype = rng\nsocket = %s\n"
	    "restart = on-failure\n[b]\ntype = rng\nsocket = %s\n", sa, sb));
	argv[0] = (char *)it_env("VHOSTD");
	argv[1] = (char *)"ctl";
	argv[2] = it_fmt("--control=%s", ctl);
	argv[3] = (char *)"reload";
	argv[4] = NULL;
	st = vproc_run(argv, out, sizeof(out), err, sizeof(err),
	    VPROC_TIMEOUT_MS);
	cr_assert_eq(st, 0, "reload: %s%s\nvhostd:\n%s", out, err,
	    it_vp.vp_log);
	printf("stats: reload: %s", out);
	/* The changed device is replaced once its old child is gone. */
	cr_assert_geq(vproc_wait_log(&it_vp, "a: configuration changed", 0,
	    VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
	snap(ctl, "a", &s);
	cr_assert_eq(s.s_req, 1, "the changed device lost its counters");
	cr_assert_eq(s.s_rbytes, 256);
	cr_assert_eq(s.s_disc, 1);
	cr_assert_eq(s.s_restarts, 2, "restarts went backwards");
	snap(ctl, "b", &s);
	cr_assert_eq(s.s_req, 0);
	it_stop(&it_vp);
}
