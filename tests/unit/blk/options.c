/* blk_test: the type table, options, config space. */

#include <unistd.h>

#include "blk_harness.h"

Test(blk, type_table)
{
	const struct dev_key	*k;
	bool			 file = false, ro = false;
	unsigned int		 i, ncaps = 0;

	cr_assert_eq(device_type_find("blk"), &blk_device_type);
	cr_assert_str_eq(blk_device_type.dt_name, "blk");
	cr_assert_str_eq(blk_device_type.dt_caps_type, "block");
	cr_assert_gt(blk_device_type.dt_nkeys, 0);
	for (i = 0; i < blk_device_type.dt_nkeys; i++) {
		k = &blk_device_type.dt_keys[i];
		cr_assert_not_null(k->dk_name);
		cr_assert_not_null(k->dk_help, "%s has no help", k->dk_name);
		if (k->dk_flags & DKF_CAPS)
			ncaps++;
		if (k->dk_alias != NULL && strcmp(k->dk_alias, "blk-file") == 0 &&
		    strcmp(k->dk_name, "path") == 0)
			file = (k->dk_flags & DKF_CAPS) != 0;
		if (k->dk_alias != NULL && strcmp(k->dk_alias, "read-only") == 0 &&
		    strcmp(k->dk_name, "read-only") == 0)
			ro = (k->dk_flags & DKF_CAPS) != 0;
	}
	cr_assert_eq(ncaps, 2);
	cr_assert(file && ro, "--blk-file and --read-only aliases, features");
	cr_assert_str_eq(blk_device_type.dt_description,
	    "virtio block device");
	cr_assert_not_null(blk_device_type.dt_init);
	cr_assert_not_null(blk_device_type.dt_spawn);
	cr_assert_not_null(blk_device_type.dt_close);
}

/* vhostd blk --print-capabilities, when the binary is next to us. */
Test(blk, print_capabilities)
{
	char	exe[PATH_MAX], cmd[PATH_MAX + 64], out[512], norm[512];
	FILE	*p;
	size_t	n, i, k = 0;
	ssize_t	len;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(len, 0);
	exe[len] = '\0';
	*strrchr(exe, '/') = '\0';	/* BUILD/tests/unit */
	snprintf(cmd, sizeof(cmd), "%s/../../vhostd", exe);
	if (access(cmd, X_OK) != 0)
		cr_skip_test("no vhostd binary at %s", cmd);
	strcat(cmd, " blk --print-capabilities");
	cr_assert_not_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	cr_assert_eq(pclose(p), 0);
	for (i = 0; i < n; i++)
		if (out[i] != ' ' && out[i] != '\n')
			norm[k++] = out[i];
	norm[k] = '\0';
	cr_assert_str_eq(norm,
	    "{\"type\":\"block\",\"features\":[\"blk-file\",\"read-only\"]}");
}

Test(blk, prepare_errors)
{
	const char *const bad[][3] = {
		{ "logical-block-size", "1024", "logical-block-size" },
		{ "queues", "17", "queues" },
		{ "queues", "0", "queues" },
		{ "serial", "123456789012345678901", "serial" },
		{ "direct", "yes", "direct" },
		{ "poll-us", "-1", "poll-us" },
		{ "colour", "blue", "colour" },
	};
	const char *const	ro_discard[] = { "read-only", "on", "discard",
				    "on", NULL };
	struct device_opt	o[2];
	struct device_res	res;
	char			err[256];
	unsigned int		i;

	img_create("/var/tmp", IMG_SIZE);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		o[0].key = "path";
		o[0].value = img;
		o[1].key = bad[i][0];
		o[1].value = bad[i][1];
		err[0] = '\0';
		device_res_init(&res);
		cr_assert_lt(t_open(o, 2, false, &res, err,
		    sizeof(err)), 0, "%s=%s accepted", bad[i][0], bad[i][1]);
		/* Refused by the options: nothing opened yet. */
		cr_assert_eq(res.dr_nfds, 0);
		cr_assert_null(res.dr_data);
		device_res_release(&blk_device_type, &res);
		cr_assert_not_null(strstr(err, bad[i][2]), "%s", err);
	}
	/* path is required; directories and missing files are refused. */
	cr_assert_eq(t_open(o + 1, 0, false, &res, err, sizeof(err)),
	    -EINVAL);
	cr_assert_not_null(strstr(err, "path"));
	o[0].value = "/var/tmp";
	o[1].key = "read-only";
	o[1].value = "on";
	cr_assert_eq(t_open(o, 2, false, &res, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "not a regular file"), "%s", err);
	o[0].value = "/nonexistent/img";
	cr_assert_eq(t_open(o, 1, false, &res, err, sizeof(err)), -ENOENT);
	/* discard=on where it cannot work fails early. */
	cr_assert_eq(be_start_opts(ro_discard, err, sizeof(err)), -EOPNOTSUPP);
	cr_assert_not_null(strstr(err, "discard"), "%s", err);
	/* An image smaller than one block. */
	cr_assert_eq(ftruncate(imgfd, 511), 0);
	o[0].value = img;
	cr_assert_eq(t_open(o, 1, false, &res, err, sizeof(err)), -EINVAL);
	cr_assert_eq(res.dr_nfds, 0);
}

Test(blk, config_space)
{
	const char *const	kv[] = { "queues", "3", "serial", "x", NULL };
	struct virtio_blk_config c;
	uint64_t		 want;

	img_create("/var/tmp", IMG_SIZE + 100);	/* partial last block */
	be_start(kv, 1, 256);
	want = (1ull << VIRTIO_BLK_F_SIZE_MAX) |
	    (1ull << VIRTIO_BLK_F_SEG_MAX) |
	    (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_TOPOLOGY) |
	    (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_CONFIG_WCE) |
	    (1ull << VIRTIO_BLK_F_MQ) | (1ull << VIRTIO_BLK_F_DISCARD) |
	    (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
	cr_assert_eq(f.f_dev_features & want, want, "features 0x%llx",
	    (unsigned long long)f.f_dev_features);
	cr_assert_eq(f.f_dev_features & (1ull << VIRTIO_BLK_F_RO), 0);
	cr_assert_eq(f.f_nqueues, 3);
	cr_assert(vuf_has_protocol(&f, VHOST_USER_PROTOCOL_F_CONFIG));
	memset(&c, 0xa5, sizeof(c));
	cr_assert_eq(vuf_get_config(&f, 0, &c, sizeof(c)), 0, "%s",
	    vuf_error(&f));
	cr_assert_eq(c.capacity, IMG_SECTORS);
	cr_assert_eq(c.size_max, 64u << 10);
	/* SeaBIOS: (u16)(seg_max * size_max / 512) must not be 0. */
	cr_assert_lt((uint64_t)c.seg_max * c.size_max / 512, 65536);
	cr_assert_eq(c.seg_max, 126);
	cr_assert_eq(c.geometry.cylinders, 0);
	cr_assert_eq(c.blk_size, 512);
	cr_assert_eq(c.physical_block_exp, 3);	/* 4096 / 512 */
	cr_assert_eq(c.alignment_offset, 0);
	cr_assert_eq(c.min_io_size, 8);
	cr_assert_eq(c.opt_io_size, 0);
	cr_assert_eq(c.wce, 1);
	cr_assert_eq(c.num_queues, 3);
	cr_assert_eq(c.max_discard_sectors, 1u << 22);
	cr_assert_eq(c.max_discard_seg, 16);
	cr_assert_eq(c.discard_sector_alignment, 1);
	cr_assert_eq(c.max_write_zeroes_sectors, 1u << 22);
	cr_assert_eq(c.max_write_zeroes_seg, 16);
	cr_assert_eq(c.write_zeroes_may_unmap, 1);
	cr_assert_eq(c.max_secure_erase_sectors, 0);
	/* A read at an offset gets that part. */
	cr_assert_eq(vuf_get_config(&f, 34, &c.num_queues, 2), 0);
	cr_assert_eq(c.num_queues, 3);
}

Test(blk, config_4k_read_only)
{
	const char *const	 kv[] = { "logical-block-size", "4096",
				     "read-only", "on", NULL };
	struct virtio_blk_config c;
	struct rq		 q;

	img_create("/var/tmp", IMG_SIZE + 2048);
	be_start(kv, 1, 64);
	cr_assert(f.f_dev_features & (1ull << VIRTIO_BLK_F_RO));
	cr_assert_eq(f.f_dev_features & ((1ull << VIRTIO_BLK_F_DISCARD) |
	    (1ull << VIRTIO_BLK_F_WRITE_ZEROES)), 0);
	cr_assert_eq(vuf_get_config(&f, 0, &c, sizeof(c)), 0);
	cr_assert_eq(c.capacity, IMG_SECTORS);
	cr_assert_eq(c.blk_size, 4096);
	cr_assert_eq(c.physical_block_exp, 0);
	cr_assert_eq(c.max_discard_sectors, 0);
	cr_assert_eq(c.max_write_zeroes_sectors, 0);
	/* 4 KiB blocks: sectors and lengths must be whole blocks. */
	rq_alloc(&q, 4096, 4096);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_IN, 8), VIRTIO_BLK_S_OK);
	cr_assert_eq(q.used, 4097);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_IN, 1), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(q.used, 1);
	q.len = 512;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_IN, 8), VIRTIO_BLK_S_IOERR);
}
