/*
 * blk_probe_test.c - blk's image format probe (blk_probe.c): each known
 * header is named from a crafted first sector, nothing else is (raw data,
 * a magic at the wrong offset or cut short); dt_open refuses such an
 * image unless format=raw, and says how to convert it; and what a reload
 * relies on: a device opened with dr_prev set to a running device of the
 * same image takes its lock over instead of being refused, and dt_commit
 * moves a lock between shared and exclusive, with no moment at which
 * another process could take the image.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/blk.h"
#include "devices/device.h"
#include "kvprep.h"

static char	img[64];

static void
teardown(void)
{
	if (img[0] != '\0')
		unlink(img);
	img[0] = '\0';
}

TestSuite(blk_probe, .fini = teardown, .timeout = 30);

/* A 1 MiB image whose first bytes are head (len), at img. */
static void
img_with(const void *head, size_t off, size_t len)
{
	uint8_t	sector[512];
	int	fd;

	snprintf(img, sizeof(img), "/var/tmp/blkprobe-XXXXXX");
	cr_assert_geq(fd = mkostemp(img, O_CLOEXEC), 0);
	memset(sector, 0, sizeof(sector));
	memcpy(sector + off, head, len);
	cr_assert_eq(write(fd, sector, sizeof(sector)), 512);
	cr_assert_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
}

static const struct {
	const char	*name;
	size_t		 off;
	const char	*magic;
	size_t		 len;
	bool		 crypt;
} known[] = {
	{ "qcow2", 0, "QFI\xfb\0\0\0\3", 8, false },
	{ "qcow2", 0, "QFI\xfb\0\0\0\1", 8, false },	/* qcow v1 */
	{ "QED", 0, "QED\0", 4, false },
	{ "vmdk", 0, "KDMV\1\0\0\0", 8, false },
	{ "vmdk", 0, "COWD", 4, false },
	{ "vmdk", 0, "# Disk DescriptorFile\nversion=1\n", 32, false },
	{ "vhdx", 0, "vhdxfile", 8, false },
	{ "vpc (VHD)", 0, "conectix", 8, false },
	{ "vdi", 0x40, "\x7f\x10\xda\xbe", 4, false },
	{ "LUKS", 0, "LUKS\xba\xbe\0\2", 8, true },
};

Test(blk_probe, names_each_known_header)
{
	uint8_t		buf[512];
	const char	*name;
	unsigned int	i;
	bool		crypt;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf + known[i].off, known[i].magic, known[i].len);
		crypt = !known[i].crypt;
		name = blk_format_probe(buf, sizeof(buf), &crypt);
		cr_assert_not_null(name, "%s not recognised", known[i].name);
		cr_assert_str_eq(name, known[i].name);
		cr_assert_eq(crypt, known[i].crypt, "%s", known[i].name);
	}
}

Test(blk_probe, raw_data_is_not_a_format)
{
	uint8_t	buf[512];

	memset(buf, 0, sizeof(buf));
	cr_assert_null(blk_format_probe(buf, sizeof(buf), NULL));
	/* An MBR, a file system, text: raw disks. */
	buf[510] = 0x55;
	buf[511] = 0xaa;
	cr_assert_null(blk_format_probe(buf, sizeof(buf), NULL));
	memcpy(buf, "hello, world", 12);
	cr_assert_null(blk_format_probe(buf, sizeof(buf), NULL));
	/* A magic elsewhere than its offset is not the format. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 1, "QFI\xfb", 4);
	memcpy(buf + 0x41, "\x7f\x10\xda\xbe", 4);
	cr_assert_null(blk_format_probe(buf, sizeof(buf), NULL));
	/* Cut short: a 3-byte image cannot hold "QFI\xfb". */
	memcpy(buf, "QFI\xfb", 4);
	cr_assert_null(blk_format_probe(buf, 3, NULL));
	cr_assert_not_null(blk_format_probe(buf, 4, NULL));
	/* The vdi signature beyond a short image's end is not read. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 0x40, "\x7f\x10\xda\xbe", 4);
	cr_assert_null(blk_format_probe(buf, 0x43, NULL));
}

static int
open_blk(const char *path, const char *format, const char *ro,
    struct device_res *res, char *err, size_t errlen)
{
	struct device_opt	o[3];
	unsigned int		n = 0;

	o[n].key = "path";
	o[n++].value = path;
	if (format != NULL) {
		o[n].key = "format";
		o[n++].value = format;
	}
	if (ro != NULL) {
		o[n].key = "read-only";
		o[n++].value = ro;
	}
	return kv_open(&blk_device_type, o, n, false, res, err, errlen);
}

Test(blk_probe, dt_open_refuses_unless_format_raw)
{
	struct device_res	res;
	char			err[512];

	img_with("QFI\xfb\0\0\0\3", 0, 8);
	device_res_init(&res);
	cr_assert_eq(open_blk(img, NULL, NULL, &res, err, sizeof(err)),
	    -EMEDIUMTYPE, "%s", err);
	cr_assert_not_null(strstr(err, "is a qcow2 image, not a raw disk"),
	    "%s", err);
	cr_assert_not_null(strstr(err, "qemu-img convert -O raw"), "%s", err);
	cr_assert_not_null(strstr(err, "format=raw"), "%s", err);
	cr_assert_eq(res.dr_errkey, BLK_K_PATH);
	device_res_release(&blk_device_type, &res);
	/* The same in check mode (vhostd -n). */
	{
		struct device_opt	o = { "path", img };

		cr_assert_eq(kv_open(&blk_device_type, &o, 1, true, &res, err,
		    sizeof(err)), -EMEDIUMTYPE, "%s", err);
		device_res_release(&blk_device_type, &res);
	}
	cr_assert_eq(open_blk(img, "raw", NULL, &res, err, sizeof(err)), 0,
	    "%s", err);
	device_res_release(&blk_device_type, &res);
	cr_assert_eq(open_blk(img, "auto", NULL, &res, err, sizeof(err)),
	    -EMEDIUMTYPE);
	device_res_release(&blk_device_type, &res);
}

Test(blk_probe, luks_says_cryptsetup)
{
	struct device_res	res;
	char			err[512];

	img_with("LUKS\xba\xbe\0\1", 0, 8);
	device_res_init(&res);
	cr_assert_eq(open_blk(img, NULL, NULL, &res, err, sizeof(err)),
	    -EMEDIUMTYPE, "%s", err);
	cr_assert_not_null(strstr(err, "cryptsetup open"), "%s", err);
	device_res_release(&blk_device_type, &res);
}

/* Whether another open file description could take a lock of type. */
static bool
lockable(short type)
{
	struct flock	fl;
	bool		ok;
	int		fd;

	fd = open(img, (type == F_WRLCK ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_len = 1;
	ok = fcntl(fd, F_OFD_SETLK, &fl) == 0;
	close(fd);
	return ok;
}

/*
 * A reload of a device on the same image: opened with dr_prev the new
 * device is not refused by the old one's lock, the lock never lapses
 * (the old device's resources released, the lock still held), and the
 * claim is recorded for the host's checks.
 */
Test(blk_probe, reload_takes_the_lock_over)
{
	struct device_res	old, nw, third;
	char			err[512];

	img_with("", 0, 0);
	device_res_init(&old);
	device_res_init(&nw);
	device_res_init(&third);
	cr_assert_eq(open_blk(img, NULL, NULL, &old, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(old.dr_nclaims, 1);
	cr_assert(!lockable(F_RDLCK), "a writable disk's lock is exclusive");
	/* Without dr_prev: our own old device's lock refuses it. */
	cr_assert_eq(open_blk(img, NULL, NULL, &nw, err, sizeof(err)),
	    -EAGAIN);
	device_res_release(&blk_device_type, &nw);
	nw.dr_prev = &old;
	cr_assert_eq(open_blk(img, NULL, NULL, &nw, err, sizeof(err)), 0,
	    "%s", err);
	nw.dr_prev = NULL;
	cr_assert_eq(blk_device_type.dt_commit(&nw, &old, err, sizeof(err)),
	    0, "%s", err);
	device_res_release(&blk_device_type, &old);
	cr_assert(!lockable(F_RDLCK), "the lock lapsed with the old device");

	/* Writable to read-only: exclusive becomes shared at the commit. */
	third.dr_prev = &nw;
	cr_assert_eq(open_blk(img, NULL, "on", &third, err, sizeof(err)), 0,
	    "%s", err);
	third.dr_prev = NULL;
	cr_assert(!lockable(F_RDLCK), "shared before the commit");
	cr_assert_eq(blk_device_type.dt_commit(&third, &nw, err,
	    sizeof(err)), 0, "%s", err);
	device_res_release(&blk_device_type, &nw);
	cr_assert(lockable(F_RDLCK), "a read-only disk's lock is shared");
	cr_assert(!lockable(F_WRLCK), "nor may another process write it");

	/* Read-only to writable: the lock moves to the new description. */
	device_res_init(&nw);
	nw.dr_prev = &third;
	cr_assert_eq(open_blk(img, NULL, "off", &nw, err, sizeof(err)), 0,
	    "%s", err);
	nw.dr_prev = NULL;
	cr_assert_eq(blk_device_type.dt_commit(&nw, &third, err, sizeof(err)),
	    0, "%s", err);
	device_res_release(&blk_device_type, &third);
	cr_assert(!lockable(F_RDLCK), "writable again: exclusive");
	device_res_release(&blk_device_type, &nw);
	cr_assert(lockable(F_WRLCK), "the lock outlived its devices");
}

/* Read-only to writable while another reader holds the image: refused,
 * and the old device keeps its shared lock. */
Test(blk_probe, commit_to_writable_fails_safely)
{
	struct device_res	old, nw;
	struct flock		fl;
	char			err[512];
	int			fd;

	img_with("", 0, 0);
	device_res_init(&old);
	device_res_init(&nw);
	cr_assert_eq(open_blk(img, NULL, "on", &old, err, sizeof(err)), 0,
	    "%s", err);
	/* Another reader (a QEMU with the image open read-only). */
	cr_assert_geq(fd = open(img, O_RDONLY | O_CLOEXEC), 0);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	fl.l_len = 1;
	cr_assert_eq(fcntl(fd, F_OFD_SETLK, &fl), 0);
	nw.dr_prev = &old;
	cr_assert_eq(open_blk(img, NULL, "off", &nw, err, sizeof(err)), 0,
	    "%s", err);
	nw.dr_prev = NULL;
	cr_assert_lt(blk_device_type.dt_commit(&nw, &old, err, sizeof(err)),
	    0);
	cr_assert_not_null(strstr(err, "in use by another process"), "%s",
	    err);
	device_res_release(&blk_device_type, &nw);
	close(fd);
	/* The old device still holds its shared lock: no writer. */
	cr_assert(!lockable(F_WRLCK), "the old device lost its lock");
	cr_assert(lockable(F_RDLCK));
	device_res_release(&blk_device_type, &old);
}

/*
 * Another vhostd (or QEMU) that wants the image for writing, trying an
 * exclusive lock on a description of its own over and over while armed;
 * it counts every success.  At each disarm it says (ack) that no try is
 * under way any more.
 */
static atomic_int	hammer_armed, hammer_stop;
static atomic_uint	hammer_gen, hammer_ack, hammer_got;

static void *
hammer(void *arg)
{
	struct flock	fl;
	int		fd;

	(void)arg;
	fd = open(img, O_RDWR | O_CLOEXEC);
	while (!atomic_load(&hammer_stop)) {
		if (!atomic_load(&hammer_armed)) {
			atomic_store(&hammer_ack, atomic_load(&hammer_gen));
			continue;
		}
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_len = 1;
		if (fd >= 0 && fcntl(fd, F_OFD_SETLK, &fl) == 0) {
			atomic_fetch_add(&hammer_got, 1);
			fl.l_type = F_UNLCK;
			(void)fcntl(fd, F_OFD_SETLK, &fl);
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static long
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Read-only to writable while another process keeps trying to take the
 * image for writing: at no moment of the reload (the new device opened,
 * the commit) may it get the lock, which the old device goes on serving
 * under if the commit fails.
 */
Test(blk_probe, commit_to_writable_leaves_no_window)
{
	struct device_res	old, nw;
	pthread_t		th;
	char			err[512];
	unsigned int		i, gen, ok = 0, refused = 0;
	long			t0;

	img_with("", 0, 0);
	atomic_store(&hammer_got, 0);
	cr_assert_eq(pthread_create(&th, NULL, hammer, NULL), 0);
	t0 = mono_ms();
	for (i = 0; i < 1000 && mono_ms() - t0 < 2000; i++) {
		device_res_init(&old);
		device_res_init(&nw);
		cr_assert_eq(open_blk(img, NULL, "on", &old, err, sizeof(err)),
		    0, "%s", err);
		atomic_store(&hammer_armed, 1);
		nw.dr_prev = &old;
		cr_assert_eq(open_blk(img, NULL, "off", &nw, err, sizeof(err)),
		    0, "%s", err);
		nw.dr_prev = NULL;
		if (blk_device_type.dt_commit(&nw, &old, err, sizeof(err)) == 0)
			ok++;
		else
			refused++;
		/* Held until the hammer has stopped trying. */
		atomic_store(&hammer_armed, 0);
		gen = atomic_fetch_add(&hammer_gen, 1) + 1;
		while (atomic_load(&hammer_ack) != gen)
			sched_yield();
		device_res_release(&blk_device_type, &nw);
		device_res_release(&blk_device_type, &old);
	}
	atomic_store(&hammer_stop, 1);
	pthread_join(th, NULL);
	fprintf(stderr, "blk_probe: %u reloads read-only -> writable in %ld "
	    "ms (%u committed, %u refused); another writer got the image "
	    "%u times\n", i, mono_ms() - t0, ok, refused,
	    atomic_load(&hammer_got));
	cr_assert_eq(atomic_load(&hammer_got), 0, "the image was free for "
	    "another writer during %u reloads", atomic_load(&hammer_got));
	cr_assert_gt(ok, 0);
}
