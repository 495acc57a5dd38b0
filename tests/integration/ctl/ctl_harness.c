/*
 * ctl_harness.c - ctl_test's harness (see ctl_harness.h).  ctl_test
 * operates a running vhostd (issue 14): vhostd ctl start, stop, restart,
 * reset, reload and status NAME, each checked against what is served;
 * reloads that are transactions; devices stopped by ctl that stay stopped
 * through reloads.
 */
#include <time.h>

#include "ctl_harness.h"

TestSuite(ctl, .init = it_setup, .fini = it_teardown, .timeout = 120);

char	ctl_out[16384], ctl_err[4096];

int
ctl_run(const char *ctl, ...)
{
	char		*argv[IT_MAX_ARGS];
	const char	*a;
	unsigned int	 n = 0;
	va_list		 ap;
	int		 st;

	argv[n++] = (char *)it_env("VHOSTD");
	argv[n++] = (char *)"ctl";
	argv[n++] = it_fmt("--control=%s", ctl);
	va_start(ap, ctl);
	while ((a = va_arg(ap, const char *)) != NULL && n < IT_MAX_ARGS - 1)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	st = vproc_run(argv, ctl_out, sizeof(ctl_out), ctl_err,
	    sizeof(ctl_err), 30000);
	return it_code(st);
}

/* Whether the JSON status of ctl satisfies expr (Python, over d). */
bool
status_is(const char *ctl, const char *expr)
{
	char		 script[256], cmd[300];
	FILE		*p;
	int		 rc;

	/* Not it_path: its rotating buffers hold the callers' paths. */
	snprintf(script, sizeof(script), "%s/check.py", it_dir);
	snprintf(cmd, sizeof(cmd), "python3 '%s'", script);
	cr_assert_eq(ctl_run(ctl, "status", "--json", NULL), 0, "%s",
	    ctl_err);
	cr_assert_not_null(p = fopen(script, "w"));
	fprintf(p, "import json, sys\nd = json.load(sys.stdin)\n"
	    "sys.exit(0 if (%s) else 1)\n", expr);
	cr_assert_eq(fclose(p), 0);
	cr_assert_not_null(p = popen(cmd, "w"));
	fputs(ctl_out, p);
	rc = pclose(p);
	return rc == 0;
}

void
assert_status(const char *ctl, const char *expr)
{
	cr_assert(status_is(ctl, expr), "status does not satisfy %s:\n%s\n"
	    "vhostd:\n%s", expr, ctl_out, it_vp.vp_log);
}

/*
 * Poll the status until it satisfies expr (a new child may wait some
 * milliseconds for the old one's I/O: blk's fence), with a deadline.
 */
void
wait_status(const char *ctl, const char *expr)
{
	struct timespec	ts = { 0, 20 * 1000 * 1000 };
	int		i;

	for (i = 0; i < VPROC_TIMEOUT_MS / 20; i++) {
		if (status_is(ctl, expr))
			return;
		nanosleep(&ts, NULL);
	}
	assert_status(ctl, expr);
}

const char *
write_file(const char *name, const char *text)
{
	const char	*path = it_path(name);
	FILE		*f;

	cr_assert_not_null(f = fopen(path, "w"), "%s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	return path;
}

const char *
make_image(const char *name)
{
	const char	*path = it_path(name);
	int		 fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, IMG_SIZE), 0);
	close(fd);
	return path;
}

ino_t
inode(const char *path)
{
	struct stat	st;

	cr_assert_eq(lstat(path, &st), 0, "%s: %s", path, strerror(errno));
	return st.st_ino;
}

/* Write a block of v at sector through the disk at sock, read it back. */
void
assert_disk_serves(const char *sock, uint64_t sector, uint8_t v)
{
	struct vuf_opts	 o;
	struct vuf_blk	 b;
	struct vuf	 f;
	uint8_t		 st = VUF_BLK_S_NONE;
	unsigned int	 i;

	memset(&o, 0, sizeof(o));
	o.o_mem_size = 2u << 20;
	o.o_queue_size = 64;
	vuf_init(&f);
	cr_assert_eq(vuf_setup(&f, sock, &o), 0, "disk at %s: %s\nvhostd:\n%s",
	    sock, vuf_error(&f), it_vp.vp_log);
	cr_assert_eq(vuf_blk_init(&b, &f, 0, 4096), 0, "%s", vuf_error(&f));
	memset(b.b_data, v, 4096);
	cr_assert_eq(vuf_blk_io(&b, VUF_BLK_T_OUT, sector, 4096, &st), 0,
	    "%s", vuf_error(&f));
	cr_assert_eq(st, VUF_BLK_S_OK);
	memset(b.b_data, 0, 4096);
	cr_assert_eq(vuf_blk_io(&b, VUF_BLK_T_IN, sector, 4096, &st), 0,
	    "%s", vuf_error(&f));
	cr_assert_eq(st, VUF_BLK_S_OK);
	for (i = 0; i < 4096; i++)
		cr_assert_eq(b.b_data[i], v, "byte %u read back as %u", i,
		    b.b_data[i]);
	vuf_fini(&f);
}

long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}
