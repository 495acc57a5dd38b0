/* escape_test: the block device (tests/devices/escape_blk.c). */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/io_uring.h>

#include "escape_harness.h"

/* The block device's escape runs: an image of IMG_BYTES, sparse. */
#define IMG_BYTES	(16u << 20)
#define IMG_MARK	"first sector of the guest's disk"
/* st_blocks the parent's own probing may leave (512-byte blocks). */
#define IMG_SLACK	64

static void
need_io_uring(void)
{
	struct io_uring_params	p;
	int			fd;

	memset(&p, 0, sizeof(p));
	fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (fd < 0)
		cr_skip_test("io_uring_setup: %s (no io_uring on this host)",
		    strerror(errno));
	close(fd);
}

static void
img_make(const char *path, struct stat *st)
{
	int	fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, IMG_MARK, strlen(IMG_MARK), 0),
	    (ssize_t)strlen(IMG_MARK));
	cr_assert_eq(ftruncate(fd, IMG_BYTES), 0);
	cr_assert_eq(fstat(fd, st), 0);
	close(fd);
}

/* Size, allocation and first bytes as before the run. */
static void
img_unchanged(const char *path, const struct stat *before, const char *who)
{
	struct stat	st;
	char		buf[64];
	int		fd;

	cr_assert_eq(stat(path, &st), 0);
	fprintf(stderr, "escape-blk %s: image %lld bytes, %lld blocks "
	    "(before: %lld, %lld)\n", who, (long long)st.st_size,
	    (long long)st.st_blocks, (long long)before->st_size,
	    (long long)before->st_blocks);
	cr_assert_eq(st.st_size, before->st_size, "%s: the image's size "
	    "changed: %lld -> %lld", who, (long long)before->st_size,
	    (long long)st.st_size);
	cr_assert_leq(st.st_blocks, before->st_blocks + IMG_SLACK, "%s: "
	    "blocks allocated: %lld -> %lld", who,
	    (long long)before->st_blocks, (long long)st.st_blocks);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(read(fd, buf, strlen(IMG_MARK)), (ssize_t)strlen(IMG_MARK));
	cr_assert_eq(memcmp(buf, IMG_MARK, strlen(IMG_MARK)), 0);
	close(fd);
}

/*
 * The kernel alone: the ring's restrictions (no opcode, file or
 * registration but blk's own), RLIMIT_FSIZE (no growth, by write or
 * fallocate, in the child or through the ring) and a description of the
 * image per child (the second child must not get the O_APPEND the first
 * set).  Two children, each must report every attempt failed.
 */
Test(escape, blk_jail_alone_holds)
{
	char		 policydir[4096], img[256], sock[256], spec[1024];
	struct stat	 before;
	struct run	*r;

	need_io_uring();
	layer_policydir(policydir, sizeof(policydir), "escape-policy");
	snprintf(img, sizeof(img), "%s/disk.img", tmpdir);
	snprintf(sock, sizeof(sock), "%s/escape-blk.sock", tmpdir);
	img_make(img, &before);
	snprintf(spec, sizeof(spec), "escape-blk,socket=%s,path=%s,"
	    "restart=always", sock, img);
	r = run_device(env("VHOSTD_TEST"), policydir, spec, 2);
	cr_assert_null(strstr(r->ru_err, "no io_uring ring"), "the device "
	    "has no ring to attack, although io_uring works here:\n%s",
	    r->ru_err);
	jail_reports(r, 13);
	img_unchanged(img, &before, "jail layer");
	free(r);
}

/* One filter-layer attempt under the real blk.policy; extra: more keys. */
static void
one_blk_attempt_with(const char *name, bool need_sigsys, const char *extra)
{
	char		 img[256], sock[256], spec[1024];
	struct stat	 before;
	struct run	*r;

	snprintf(img, sizeof(img), "%s/disk-%s.img", tmpdir, name);
	snprintf(sock, sizeof(sock), "%s/escape-blk-%s.sock", tmpdir, name);
	img_make(img, &before);
	snprintf(spec, sizeof(spec), "escape-blk,socket=%s,path=%s,"
	    "restart=never,attempt=%s%s", sock, img, name, extra);
	r = filter_attempt(name, spec);
	killed_or_refused(r, name, need_sigsys);
	img_unchanged(img, &before, name);
	free(r);
}

static void
one_blk_attempt(const char *name, bool need_sigsys)
{
	one_blk_attempt_with(name, need_sigsys, "");
}

/*
 * Queue threads (threads=2): made before the filter, they are filtered
 * all the same (a fork from one is killed), and none can be made after
 * it (blk.policy has no clone or clone3).
 */
Test(escape, blk_queue_threads_are_filtered)
{
	need_io_uring();
	one_blk_attempt_with("thread-fork", true, ",queues=2,threads=2");
	one_blk_attempt_with("thread-create", true, ",queues=2,threads=2");
}

/*
 * blk.policy: no new ring, no registration on the device's rings, no
 * ftruncate, no fallocate that allocates past the end (KEEP_SIZE), no
 * O_APPEND (refused with EPERM).
 */
Test(escape, blk_filter_holds)
{
	static const char *const kill[] = {
		"uring-setup", "uring-register", "ftruncate",
		"fallocate-keep-size",
	};
	unsigned int	i;

	need_io_uring();
	for (i = 0; i < sizeof(kill) / sizeof(kill[0]); i++)
		one_blk_attempt(kill[i], true);
	one_blk_attempt("set-append", false);
}
