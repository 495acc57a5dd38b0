/*
 * fault_test: an image that runs out of space or starts failing
 * (device-mapper error target).
 */

#include "../itest.h"

#include <sys/mount.h>

#include "fault_harness.h"

/* Fill the file system of dir: a filler file until ENOSPC. */
static void
fill_fs(const char *path)
{
	static uint8_t	buf[65536];
	ssize_t		n;
	int		fd;

	memset(buf, 0x77, sizeof(buf));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	while ((n = write(fd, buf, sizeof(buf))) > 0)
		;
	cr_assert_eq(n, -1);
	cr_assert_eq(errno, ENOSPC, "filling %s: %s", path, strerror(errno));
	/* A partial page may still fit: fill it too. */
	while (write(fd, buf, 1) == 1)
		;
	close(fd);
}

/*
 * The guest writes to an image on a file system that is full: the
 * request answers VIRTIO_BLK_S_IOERR (no hang, no crash), reads still
 * work, and once space is back, writes work again in the same session.
 */
Test(fault, full_file_system_gives_the_guest_an_io_error)
{
	const char	*mnt = it_path("small"), *sock = it_path("blk.sock");
	const char	*img;
	struct vuf_blk	 b;
	struct vuf	 f;
	uint8_t		 st;
	long		 t0, ms;
	pid_t		 c;

	if (geteuid() != 0)
		cr_skip_test("mounting a small tmpfs needs root");
	/* A private mount namespace: the tmpfs goes away with the test. */
	if (unshare(CLONE_NEWNS) == -1)
		cr_skip_test("unshare(CLONE_NEWNS): %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	cr_assert_eq(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV,
	    "size=1m,mode=0700") == -1)
		cr_skip_test("mount tmpfs: %s", strerror(errno));
	snprintf(fault_mnt, sizeof(fault_mnt), "%s", mnt);
	img = make_image(it_fmt("%s/disk.img", mnt), IMG_SIZE);

	it_start(&it_vp, "--device", it_fmt("blk,socket=%s,path=%s", sock, img),
	    NULL);
	c = vproc_child_pid(&it_vp, "blk", 0, VPROC_TIMEOUT_MS);
	blk_open(&f, &b, sock);
	blk_write_check(&b, 0, 0x5a);

	/* The file system fills up under the running device. */
	fill_fs(it_fmt("%s/filler", mnt));
	memset(b.b_data, 0xc3, 65536);
	t0 = now_ms();
	st = blk_rw(&b, VUF_BLK_T_OUT, 4096, 65536);
	ms = now_ms() - t0;
	fprintf(stderr, "fault: write to a full file system answered status "
	    "%u in %ld ms\n", st, ms);
	cr_assert_eq(st, VUF_BLK_S_IOERR, "a write to a full file system "
	    "answered status %u, not VIRTIO_BLK_S_IOERR", st);
	cr_assert_geq(vproc_wait_log(&it_vp, "No space left on device", 0,
	    VPROC_TIMEOUT_MS), 0, "the error is not logged:\n%s",
	    it_vp.vp_log);
	/* What was written reads back; the device is still there. */
	memset(b.b_data, 0, 4096);
	cr_assert_eq(blk_rw(&b, VUF_BLK_T_IN, 0, 4096), VUF_BLK_S_OK);
	cr_assert_eq(b.b_data[0], 0x5a);
	cr_assert_eq(b.b_data[4095], 0x5a);
	/* Space comes back: the same session writes again. */
	cr_assert_eq(unlink(it_fmt("%s/filler", mnt)), 0);
	blk_write_check(&b, 4096 + 128, 0x3c);
	vuf_fini(&f);
	/* The child did not crash over it. */
	assert_exited_cleanly(&it_vp, c);
	cr_assert_eq(vproc_count(&it_vp, "killed by signal"), 0, "%s",
	    it_vp.vp_log);
	it_stop(&it_vp);
}

/* Run a command; its exit status (0 = success), its output in out. */
static int
sh_out(const char *cmd, char *out, size_t len)
{
	FILE	*p;
	size_t	 n = 0;
	int	 st;

	if ((p = popen(cmd, "re")) == NULL)
		return -1;
	if (out != NULL && len > 0) {
		n = fread(out, 1, len - 1, p);
		out[n] = '\0';
		out[strcspn(out, "\n")] = '\0';
	} else {
		char	sink[256];

		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	st = pclose(p);
	return st;
}

/*
 * The disk starts failing under the device (a device-mapper table
 * switched to the error target): with O_DIRECT the guest's reads and
 * writes answer VIRTIO_BLK_S_IOERR, no hang.
 */
Test(fault, failing_disk_gives_the_guest_an_io_error)
{
	const char	*sock = it_path("blk.sock");
	const char	*backing = make_image(it_path("backing.img"), IMG_SIZE);
	char		 out[512], dev[128];
	struct vuf_blk	 b;
	struct vuf	 f;
	uint8_t		 st;
	long		 t0;
	pid_t		 c;

	if (geteuid() != 0)
		cr_skip_test("device-mapper needs root");
	if (access("/sbin/dmsetup", X_OK) != 0 &&
	    access("/usr/sbin/dmsetup", X_OK) != 0)
		cr_skip_test("dmsetup is not installed (apt-get install "
		    "dmsetup)");
	/* The last line says why when the kernel has no device-mapper. */
	if (sh_out("dmsetup version >/dev/null 2>&1", NULL, 0) != 0) {
		sh_out("dmsetup version 2>&1 | grep -v '^Library' | head -n 1",
		    out, sizeof(out));
		cr_skip_test("device-mapper does not work here (dmsetup "
		    "version: %s)", out);
	}
	if (sh_out(it_fmt("losetup -f --show '%s' 2>&1", backing), out,
	    sizeof(out)) != 0 || strncmp(out, "/dev/loop", 9) != 0)
		cr_skip_test("no loop device: losetup: %s", out);
	snprintf(fault_loop, sizeof(fault_loop), "%s", out);
	snprintf(fault_dm, sizeof(fault_dm), "vhostd-it-%d", (int)getpid());
	cr_assert_eq(sh_out(it_fmt("dmsetup create --noudevsync %s --table "
	    "'0 %u linear %s 0' 2>&1 && dmsetup mknodes %s 2>&1", fault_dm,
	    IMG_SIZE / 512, fault_loop, fault_dm), out, sizeof(out)), 0,
	    "dmsetup create: %s", out);
	snprintf(dev, sizeof(dev), "/dev/mapper/%s", fault_dm);

	it_start(&it_vp, "--device",
	    it_fmt("blk,socket=%s,path=%s,direct=on", sock, dev), NULL);
	c = vproc_child_pid(&it_vp, "blk", 0, VPROC_TIMEOUT_MS);
	blk_open(&f, &b, sock);
	blk_write_check(&b, 0, 0x6b);

	/* Every sector fails from now on. */
	cr_assert_eq(sh_out(it_fmt("dmsetup suspend --noudevsync %s && "
	    "dmsetup reload %s --table '0 %u error' && dmsetup resume "
	    "--noudevsync %s 2>&1", fault_dm, fault_dm, IMG_SIZE / 512,
	    fault_dm), out, sizeof(out)), 0, "dmsetup reload: %s", out);
	memset(b.b_data, 0xd2, 4096);
	t0 = now_ms();
	st = blk_rw(&b, VUF_BLK_T_OUT, 64, 4096);
	fprintf(stderr, "fault: write to a failing disk answered status %u "
	    "in %ld ms\n", st, now_ms() - t0);
	cr_assert_eq(st, VUF_BLK_S_IOERR, "write: status %u", st);
	st = blk_rw(&b, VUF_BLK_T_IN, 0, 4096);
	cr_assert_eq(st, VUF_BLK_S_IOERR, "read: status %u", st);
	cr_assert_geq(vproc_wait_log(&it_vp, "Input/output error", 0,
	    VPROC_TIMEOUT_MS), 0, "the error is not logged:\n%s",
	    it_vp.vp_log);
	vuf_fini(&f);
	assert_exited_cleanly(&it_vp, c);
	it_stop(&it_vp);
}
