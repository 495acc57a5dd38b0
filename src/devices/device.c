/*
 * device.c - the table of device types.
 *
 * Compiled twice: as is for vhostd, and with VHOSTD_TESTING for
 * vhostd_test, which adds test-only devices (tests/devices/).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"

#ifdef VHOSTD_TESTING
extern const struct device_type escape_device_type;
extern const struct device_type escape_blk_device_type;
extern const struct device_type escape_net_device_type;
extern const struct device_type escape_vsock_device_type;
#endif

const struct device_type *const device_types[] = {
	&rng_device_type,
	&blk_device_type,
	&net_device_type,
	&vsock_device_type,
#ifdef VHOSTD_TESTING
	&escape_device_type,
	&escape_blk_device_type,
	&escape_net_device_type,
	&escape_vsock_device_type,
#endif
	NULL
};

const struct device_type *
device_type_find(const char *name)
{
	unsigned int	i;

	for (i = 0; device_types[i] != NULL; i++)
		if (strcmp(device_types[i]->dt_name, name) == 0)
			return device_types[i];
	return NULL;
}

void
device_res_init(struct device_res *res)
{
	unsigned int	i;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < DEVICE_RES_FDS; i++)
		res->dr_fds[i] = -1;
	res->dr_broker_fd = -1;
	res->dr_errkey = -1;
}

int
device_res_add_claim(struct device_res *res, const struct stat *st,
    bool shared, unsigned int key, const char *hint)
{
	struct device_claim	*cl;

	if (res->dr_nclaims == DEVICE_RES_CLAIMS)
		return -ENOSPC;
	cl = &res->dr_claims[res->dr_nclaims++];
	memset(cl, 0, sizeof(*cl));
	cl->cl_blkdev = S_ISBLK(st->st_mode);
	cl->cl_dev = cl->cl_blkdev ? (uint64_t)st->st_rdev :
	    (uint64_t)st->st_dev;
	cl->cl_ino = cl->cl_blkdev ? 0 : (uint64_t)st->st_ino;
	cl->cl_shared = shared;
	cl->cl_key = key;
	cl->cl_hint = hint;
	return 0;
}

int
device_res_add_iface_claim(struct device_res *res, const struct stat *netns,
    const char *ifname, unsigned int key, const char *hint)
{
	struct device_claim	*cl;
	size_t			 len;

	if (ifname == NULL || (len = strlen(ifname)) == 0 ||
	    len >= sizeof(cl->cl_ifname))
		return -EINVAL;
	if (res->dr_nclaims == DEVICE_RES_CLAIMS)
		return -ENOSPC;
	cl = &res->dr_claims[res->dr_nclaims++];
	memset(cl, 0, sizeof(*cl));
	cl->cl_kind = DEVICE_CLAIM_IFACE;
	cl->cl_dev = (uint64_t)netns->st_dev;
	cl->cl_ino = (uint64_t)netns->st_ino;
	memcpy(cl->cl_ifname, ifname, len + 1);
	cl->cl_unlocked = true;
	cl->cl_key = key;
	cl->cl_hint = hint;
	return 0;
}

bool
device_res_unlocked(const struct device_res *res)
{
	unsigned int	i;

	for (i = 0; i < res->dr_nclaims; i++)
		if (res->dr_claims[i].cl_unlocked)
			return true;
	return false;
}

bool
device_res_conflict(const struct device_res *a, const struct device_res *b,
    const struct device_claim **ca, const struct device_claim **cb)
{
	const struct device_claim	*x, *y;
	unsigned int			 i, j;

	for (i = 0; i < a->dr_nclaims; i++)
		for (j = 0; j < b->dr_nclaims; j++) {
			x = &a->dr_claims[i];
			y = &b->dr_claims[j];
			if (x->cl_kind != y->cl_kind ||
			    x->cl_blkdev != y->cl_blkdev ||
			    x->cl_dev != y->cl_dev || x->cl_ino != y->cl_ino ||
			    strcmp(x->cl_ifname, y->cl_ifname) != 0 ||
			    (x->cl_shared && y->cl_shared))
				continue;
			*ca = x;
			*cb = y;
			return true;
		}
	return false;
}

int
device_res_add_fd(struct device_res *res, int fd)
{
	if (res->dr_nfds == DEVICE_RES_FDS) {
		close_reset(&fd);
		return -ENOSPC;
	}
	res->dr_fds[res->dr_nfds] = fd;
	return (int)res->dr_nfds++;
}

int
device_res_set_data(struct device_res *res, const void *data, size_t len)
{
	void	*p;

	if (len > DEVICE_RES_DATA_MAX)
		return -E2BIG;
	if ((p = malloc(len > 0 ? len : 1)) == NULL)
		return -ENOMEM;
	memcpy(p, data, len);
	free(res->dr_data);
	res->dr_data = p;
	res->dr_len = len;
	return 0;
}

void
device_res_release(const struct device_type *dt, struct device_res *res)
{
	unsigned int	i;

	if (dt != NULL && dt->dt_close != NULL)
		dt->dt_close(res);
	for (i = 0; i < DEVICE_RES_FDS; i++)
		close_reset(&res->dr_fds[i]);
	close_reset(&res->dr_broker_fd);
	free(res->dr_data);
	device_res_init(res);
}

void
device_res_view(const struct device_res *res, struct device_child_res *cr)
{
	cr->cr_data = res->dr_data;
	cr->cr_len = res->dr_len;
	cr->cr_fds = res->dr_fds;
	cr->cr_nfds = res->dr_nfds;
}

const void *
device_child_data(const struct device_child_res *cr, size_t len)
{
	if (cr == NULL || cr->cr_data == NULL || cr->cr_len != len)
		return NULL;
	return cr->cr_data;
}
