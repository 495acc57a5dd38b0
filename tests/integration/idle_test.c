/*
 * idle_test.c - an idle device costs no wake-ups: a jailed blk child
 * whose front end stays connected without I/O must not be woken
 * periodically, neither its main thread (the child's SIGALRM watchdog,
 * src/host/child.c) nor its queue thread (its own watchdog timer,
 * src/devices/blk_thread.c).  Both watchdogs run only while the threads
 * have work; the device must still answer (and the watchdog guard a
 * call) once it is busy again.
 *
 * The measure is each thread's voluntary_ctxt_switches in
 * /proc/CHILD/task/TID/status: a sleeping thread's count grows by one at
 * each wake-up.  Idle is waited for through the same counts (stable for
 * longer than a watchdog period), then the count may grow by at most
 * IDLE_MAX_WAKES per thread over IDLE_WINDOW_MS: with the old periodic
 * timers each thread woke twice a second (4 in the window).  io_uring's
 * kernel workers (iou-wrk-*) are not the child's own threads and are
 * left out.
 */
#include "itest.h"

#include <dirent.h>
#include <time.h>

#include "vuf_blk.h"

#define IMG_SIZE	(8u << 20)
#define IDLE_STABLE_MS	1200	/* > 2 watchdog periods (500 ms) */
#define IDLE_WAIT_MS	15000	/* for the stable state, at most */
#define IDLE_WINDOW_MS	2000
#define IDLE_MAX_WAKES	2
#define IDLE_MAX_TASKS	16

static void
idle_setup(void)
{
	it_setup();
}

static void
idle_teardown(void)
{
	it_teardown();
}

TestSuite(idle, .init = idle_setup, .fini = idle_teardown, .timeout = 90);

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

struct task_wakes {
	pid_t		tw_tid[IDLE_MAX_TASKS];
	long		tw_n[IDLE_MAX_TASKS];
	unsigned int	tw_count;
};

/* voluntary_ctxt_switches of task tid of pid, -1 if it is gone. */
static long
task_switches(pid_t pid, pid_t tid)
{
	char	path[96], line[128];
	long	n = -1;
	FILE	*f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid,
	    (int)tid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* The child's own threads (not io_uring's workers) and their counts. */
static void
task_wakes_read(pid_t pid, struct task_wakes *tw)
{
	char		 path[96], comm[64];
	struct dirent	*de;
	DIR		*d;
	FILE		*f;
	pid_t		 tid;

	tw->tw_count = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	cr_assert_not_null(d = opendir(path), "%s: %s", path,
	    strerror(errno));
	while ((de = readdir(d)) != NULL && tw->tw_count < IDLE_MAX_TASKS) {
		if (de->d_name[0] == '.')
			continue;
		tid = (pid_t)strtol(de->d_name, NULL, 10);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm",
		    (int)pid, (int)tid);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) == NULL)
			comm[0] = '\0';
		fclose(f);
		if (strncmp(comm, "iou-", 4) == 0)
			continue;
		tw->tw_tid[tw->tw_count] = tid;
		tw->tw_n[tw->tw_count++] = task_switches(pid, tid);
	}
	closedir(d);
}

static bool
task_wakes_same(const struct task_wakes *a, const struct task_wakes *b)
{
	unsigned int	i;

	if (a->tw_count != b->tw_count)
		return false;
	for (i = 0; i < a->tw_count; i++)
		if (a->tw_tid[i] != b->tw_tid[i] || a->tw_n[i] != b->tw_n[i])
			return false;
	return true;
}

/*
 * Until no thread of pid woke for IDLE_STABLE_MS (polled every 50 ms),
 * at most IDLE_WAIT_MS; how long it took, or -1 (the measure then shows
 * how often they wake).
 */
static long
wait_idle(pid_t pid)
{
	struct task_wakes	prev, cur;
	long			t0 = now_ms(), since = t0;

	task_wakes_read(pid, &prev);
	while (now_ms() - t0 < IDLE_WAIT_MS) {
		usleep(50 * 1000);
		task_wakes_read(pid, &cur);
		if (!task_wakes_same(&prev, &cur)) {
			prev = cur;
			since = now_ms();
		} else if (now_ms() - since >= IDLE_STABLE_MS)
			return now_ms() - t0;
	}
	return -1;
}

static void
blk_rw(struct vuf_blk *b, struct vuf *f, uint64_t sector, uint8_t fill)
{
	uint8_t	st = VUF_BLK_S_NONE;

	memset(b->b_data, fill, 4096);
	cr_assert_eq(vuf_blk_io(b, VUF_BLK_T_OUT, sector, 4096, &st), 0,
	    "%s", vuf_error(f));
	cr_assert_eq(st, VUF_BLK_S_OK);
	memset(b->b_data, 0, 4096);
	cr_assert_eq(vuf_blk_io(b, VUF_BLK_T_IN, sector, 4096, &st), 0,
	    "%s", vuf_error(f));
	cr_assert_eq(st, VUF_BLK_S_OK);
	cr_assert_eq(b->b_data[0], fill);
	cr_assert_eq(b->b_data[4095], fill);
}

static void
idle_case(const char *threads, unsigned int want_tasks)
{
	const char		*sock = it_path("blk.sock");
	const char		*img = it_path("disk.img");
	struct task_wakes	 a, b2;
	struct vuf_opts		 o;
	struct vuf_blk		 b;
	struct vuf		 f;
	unsigned int		 i;
	long			 waited, d;
	pid_t			 c;
	int			 fd;

	fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", img, strerror(errno));
	cr_assert_eq(ftruncate(fd, IMG_SIZE), 0);
	close(fd);
	it_start(&it_vp, "--device", it_fmt("blk,socket=%s,path=%s,"
	    "threads=%s,restart=never", sock, img, threads), NULL);
	c = vproc_child_pid(&it_vp, "blk", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(c, 0, "no child: %s", it_vp.vp_log);
	memset(&o, 0, sizeof(o));
	o.o_mem_size = 2u << 20;
	o.o_queue_size = 64;
	vuf_init(&f);
	cr_assert_eq(vuf_setup(&f, sock, &o), 0, "%s\nvhostd:\n%s",
	    vuf_error(&f), it_vp.vp_log);
	cr_assert_eq(vuf_blk_init(&b, &f, 0, 4096), 0, "%s", vuf_error(&f));
	/* Busy first: every watchdog armed, polling, I/O done. */
	for (i = 0; i < 64; i++)
		blk_rw(&b, &f, (i % 16) * 8, (uint8_t)(i + 1));
	/* Connected and idle: the session holds the child from here on. */
	waited = wait_idle(c);
	task_wakes_read(c, &a);
	cr_assert_eq(a.tw_count, want_tasks, "child %d has %u threads, want "
	    "%u", (int)c, a.tw_count, want_tasks);
	usleep(IDLE_WINDOW_MS * 1000);
	task_wakes_read(c, &b2);
	cr_assert_eq(b2.tw_count, a.tw_count, "the child's threads changed");
	for (i = 0; i < a.tw_count; i++) {
		cr_assert_eq(b2.tw_tid[i], a.tw_tid[i]);
		d = b2.tw_n[i] - a.tw_n[i];
		fprintf(stderr, "idle: threads=%s: task %d woke %ld times in "
		    "%d ms (idle after %ld ms)\n", threads, (int)a.tw_tid[i],
		    d, IDLE_WINDOW_MS, waited);
		cr_assert_leq(d, IDLE_MAX_WAKES, "thread %d of the idle child "
		    "%d woke %ld times in %d ms (a periodic timer?)",
		    (int)a.tw_tid[i], (int)c, d, IDLE_WINDOW_MS);
	}
	/* Busy again after the idle time: served as before. */
	for (i = 0; i < 8; i++)
		blk_rw(&b, &f, (i % 16) * 8, (uint8_t)(0x80 + i));
	vuf_fini(&f);
	unlink(img);
}

/* The default: one queue thread besides the main thread. */
Test(idle, blk_child_with_a_queue_thread_does_not_wake)
{
	idle_case("1", 2);
}

/* The queues on the main thread (threads=0): its watchdog alone. */
Test(idle, blk_child_on_its_main_thread_does_not_wake)
{
	idle_case("0", 1);
}
