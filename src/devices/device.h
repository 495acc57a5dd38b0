/*
 * device.h - device types behind one small table.
 *
 * A device type has two halves that share no state (docs/devices.md):
 *
 *   parent (privileged, before any child): dt_open() validates the
 *   options, opens every resource and describes them as a struct
 *   device_res: descriptors plus plain data (no pointers, no descriptor
 *   numbers), which could cross an exec unchanged.  Anything only the
 *   parent needs between children (blk: the locked description of the
 *   image) hangs off dr_parent and never reaches a child.
 *
 *   child (jailed): dt_init() builds the device's state from a struct
 *   device_child_res (the same data, the descriptors as the child has
 *   them, in the same order) before the seccomp filter is loaded; the
 *   state is then bound to a vhost-user engine through dt_ops.
 *
 * Devices include virtio/, vhost/ and util/ headers only.
 */
#ifndef VHOSTD_DEVICES_DEVICE_H
#define VHOSTD_DEVICES_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/util.h"
#include "../vhost/vhost.h"

struct device_opt {
	const char	*key;
	const char	*value;
};

/* Most descriptors one device hands its child. */
#define DEVICE_RES_FDS		8
/* Largest plain-data blob (a device's fixed-size resource struct). */
#define DEVICE_RES_DATA_MAX	4096

/*
 * What the parent half opened for one device: owned by the parent,
 * released with device_res_release().
 */
struct device_res {
	int		 dr_fds[DEVICE_RES_FDS];	/* the child's, in order */
	unsigned int	 dr_nfds;
	void		*dr_data;	/* plain data, dr_len bytes */
	size_t		 dr_len;
	/*
	 * Largest size the child may give any file (RLIMIT_FSIZE in the
	 * jail: writes, fallocate and ftruncate past it fail with EFBIG), or
	 * 0 for no limit.  blk: the image's size.
	 */
	uint64_t	 dr_max_file_size;
	void		*dr_parent;	/* parent-only; freed by dt_close */
};

/* The child half's view of its resources (read-only, not owned). */
struct device_child_res {
	const void	*cr_data;	/* the parent's dr_data, copied */
	size_t		 cr_len;
	const int	*cr_fds;	/* dr_fds as numbered in the child */
	unsigned int	 cr_nfds;
};

struct device_type {
	const char		*dt_name;	/* "rng", "blk" (--device TYPE) */
	const char		*dt_caps_type;	/* vhost-user JSON "type" */
	/* Device keys accepted besides the common ones, NULL-terminated. */
	const char *const	*dt_keys;
	/* Extra "features" for --print-capabilities, NULL-terminated. */
	const char *const	*dt_caps_features;
	/*
	 * Backend-program options (QEMU vhost-user.rst conventions) mapped
	 * to device keys: pairs { "blk-file", "path", ..., NULL }.  A flag
	 * without a value sets the key to "on".
	 */
	const char *const	*dt_cli_aliases;
	const struct vu_dev_ops	*dt_ops;
	/*
	 * Jail rlimits above the default 0, for devices whose kernel
	 * interfaces need them (io_uring: locked ring memory, kernel worker
	 * threads counted as processes).  Fork stays forbidden by seccomp.
	 */
	unsigned long		 dt_rlimit_nproc;
	unsigned long		 dt_rlimit_memlock;

	/* Parent half. */

	/*
	 * Validate opts, open everything the device needs and fill res
	 * (initialised by the caller with device_res_init).  check_only
	 * (vhostd -n): check options and resources but take no lasting
	 * claim on them (blk's image lock), as the running service holds
	 * them.  0, or -errno with a message in err; on error whatever was
	 * put in res is released by the caller.  Must not fork or exit.
	 */
	int	(*dt_open)(const struct device_opt *opts, unsigned int nopts,
		    bool check_only, struct device_res *res, char *err,
		    size_t errlen);
	/*
	 * Right before each child is cloned.  Optional.  Gives the next
	 * child fresh open file descriptions of the device's files, under
	 * the same descriptor numbers in dr_fds, so that nothing a child
	 * changes on its descriptions (flags such as O_APPEND, offsets)
	 * reaches a later child or the parent.  0; -EAGAIN when the
	 * previous child's I/O may still be in flight (the supervisor tries
	 * again a few milliseconds later, blk's I/O fence); or another
	 * -errno after logging why: the child is not started (the spawn
	 * fails like a clone failure).
	 */
	int	(*dt_spawn)(struct device_res *res);
	/* Free dr_parent (the fds and data are device_res_release's). */
	void	(*dt_close)(struct device_res *res);

	/* Child half. */

	/*
	 * Child, jailed (steps 1-8 of DESIGN.md) but before the seccomp
	 * filter is loaded: build the state from res, and create what the
	 * filter then forbids creating (blk: the io_uring rings, restricted
	 * before they are enabled).  Keep it short: this is the only device
	 * code that runs unfiltered.  0 with *statep set, or -errno (the
	 * child exits).
	 */
	int	(*dt_init)(const struct device_child_res *res, void **statep);
	/* Child, after the filter, before the first connection.  Optional.
	 * 0 or -errno (the child exits). */
	int	(*dt_start)(void *state);
	/* Queues the engine announces for this state. */
	uint16_t (*dt_num_queues)(void *state);
	/* Free the state (tests; a child just exits).  Optional. */
	void	(*dt_free)(void *state);
};

/* An empty res: no fds, no data. */
void	device_res_init(struct device_res *res);
/*
 * Append fd to res (takes ownership, also on error).  Its index, or
 * -ENOSPC (fd closed).
 */
int	device_res_add_fd(struct device_res *res, int fd);
/* Copy len bytes of plain data into res.  0, -E2BIG or -ENOMEM. */
int	device_res_set_data(struct device_res *res, const void *data,
	    size_t len);
/* dt_close, then close every fd and free the data; res is left empty. */
void	device_res_release(const struct device_type *dt,
	    struct device_res *res);
/*
 * The child's view of res when the child has the parent's descriptor
 * numbers (a forked child; tests).
 */
void	device_res_view(const struct device_res *res,
	    struct device_child_res *cr);
/*
 * The plain data of cr as a struct of exactly len bytes, or NULL (the
 * child half refuses resources it did not expect).
 */
const void *device_child_data(const struct device_child_res *cr,
	    size_t len);

/* The device type called name, or NULL. */
const struct device_type *device_type_find(const char *name);
/* NULL-terminated list of every built-in type. */
extern const struct device_type *const device_types[];

extern const struct device_type rng_device_type;
extern const struct device_type blk_device_type;

#endif /* VHOSTD_DEVICES_DEVICE_H */
