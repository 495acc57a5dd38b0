/*
 * device.h - device types behind one small table.
 *
 * Parent side (before fork): prepare() validates the device's key=value
 * options, opens every resource the device needs and appends the fds the
 * child must keep.  Child side: the state is bound to a vhost-user engine
 * through ops.  Devices include virtio/, vhost/ and util/ headers only.
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

struct device_type {
	const char		*dt_name;	/* "rng", "blk" (--device TYPE) */
	const char		*dt_caps_type;	/* vhost-user JSON "type" */
	const char		*dt_description;
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
	/*
	 * Parent, before fork.  On success *statep owns the device state and
	 * fds; returns 0.  On error writes a message to err and returns
	 * -errno.  Must not fork or exit.
	 */
	int	(*dt_prepare)(const struct device_opt *opts, unsigned int nopts,
		    struct fdset *keep, void **statep, char *err,
		    size_t errlen);
	/* Queues the engine announces for this state. */
	uint16_t (*dt_num_queues)(void *state);
	/*
	 * Parent, right before each child is cloned.  Optional.  Gives the
	 * next child fresh open file descriptions of the device's files,
	 * under the same descriptor numbers (the keep list stays valid), so
	 * that nothing a child changes on its descriptions (flags such as
	 * O_APPEND, offsets) reaches a later child or the parent.  0;
	 * -EAGAIN when the previous child's I/O may still be in flight (the
	 * supervisor tries again a few milliseconds later, blk's I/O fence);
	 * or another -errno after logging why: the child is not started (the
	 * spawn fails like a clone failure).
	 */
	int	(*dt_spawn)(void *state);
	/*
	 * Largest size the child may give any file (RLIMIT_FSIZE in the
	 * jail; writes, fallocate and ftruncate past it fail with EFBIG), or
	 * 0 for no limit.  Optional.  blk: the image's size, so that a
	 * taken-over child cannot grow it.
	 */
	uint64_t (*dt_max_file_size)(void *state);
	/*
	 * Child, jailed (steps 1-10 of DESIGN.md) but before the seccomp
	 * filter is loaded: create what the filter then forbids creating
	 * (blk: the io_uring rings, restricted before they are enabled).
	 * Keep it short: this is the only device code that runs unfiltered.
	 * Optional.  0 or -errno (the child exits).
	 */
	int	(*dt_child_setup)(void *state);
	/* Child, after the jail and the filter, before the first
	 * connection.  Optional.  0 or -errno (the child exits). */
	int	(*dt_child_init)(void *state);
	/* New connection (after reset of the previous one).  Optional. */
	void	(*dt_connect)(void *state, struct vu_dev *dev);
	/* Parent: close fds and free the state. */
	void	(*dt_release)(void *state);
};

/*
 * Set by vhostd -n: dt_prepare checks options and resources but takes no
 * lasting claim on them (blk's image lock), as the running service holds
 * them.
 */
extern bool	device_check_only;

/* The device type called name, or NULL. */
const struct device_type *device_type_find(const char *name);
/* NULL-terminated list of every built-in type. */
extern const struct device_type *const device_types[];

extern const struct device_type rng_device_type;
extern const struct device_type blk_device_type;

#endif /* VHOSTD_DEVICES_DEVICE_H */
