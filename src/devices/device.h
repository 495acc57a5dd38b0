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

/*
 * Device keys: one row per key, parsed and validated by common code
 * (src/config.c) for every front end (--device, the backend-program
 * options, the configuration file), and shown by --help and
 * --print-capabilities.  A device declares an enum of key indices and a
 * table indexed by it; dt_prepare reads the typed values by index.
 */
enum dev_key_kind {
	DK_STRING,	/* any text, at most dk_max bytes (0: no limit) */
	DK_PATH,	/* a file name, not empty */
	DK_BOOL,	/* on | off; value 0 or 1 */
	DK_UINT,	/* decimal, dk_min..dk_max */
	DK_SIZE,	/* bytes, optional K/M/G/T suffix, dk_min..dk_max */
	DK_ENUM,	/* one of dk_choices; value: its index */
	DK_OCTAL,	/* octal, dk_min..dk_max (permissions) */
	DK_NAME		/* 1-32 of [A-Za-z0-9._-] */
};

/* dk_flags */
#define DKF_CAPS	0x1	/* dk_alias is a --print-capabilities feature */

struct dev_key {
	const char		*dk_name;	/* key=value */
	enum dev_key_kind	 dk_kind;
	uint64_t		 dk_min;
	uint64_t		 dk_max;
	/* Parsed like a given value when the key is absent; NULL: none. */
	const char		*dk_default;
	const char		*dk_help;	/* one line for --help */
	/* Backend-program option (vhost-user.rst), e.g. "blk-file". */
	const char		*dk_alias;
	const char *const	*dk_choices;	/* DK_ENUM, NULL-terminated */
	unsigned int		 dk_flags;
};

#define DEV_MAX_KEYS	24

/* One key's typed value. */
struct dev_value {
	bool		 dv_set;	/* given (not the default) */
	uint64_t	 dv_u;		/* BOOL, UINT, SIZE, ENUM, OCTAL */
	char		*dv_text;	/* the text (owned); STRING, PATH, NAME */
	char		 dv_src[96];	/* where it was given: "f.conf:3" */
};

/* A device's keys with their values, indexed like the type's table. */
struct dev_options {
	const struct dev_key	*do_keys;
	unsigned int		 do_nkeys;
	struct dev_value	 do_val[DEV_MAX_KEYS];
};

/* Value of key k (an index into the type's table). */
static inline uint64_t
dev_opt_u64(const struct dev_options *o, unsigned int k)
{
	return o->do_val[k].dv_u;
}

/* Text of key k, or NULL when neither given nor defaulted. */
static inline const char *
dev_opt_str(const struct dev_options *o, unsigned int k)
{
	return o->do_val[k].dv_text;
}

/* Whether key k was given (a default does not count). */
static inline bool
dev_opt_given(const struct dev_options *o, unsigned int k)
{
	return o->do_val[k].dv_set;
}

struct device_type {
	const char		*dt_name;	/* "rng", "blk" (--device TYPE) */
	const char		*dt_caps_type;	/* vhost-user JSON "type" */
	const char		*dt_description;
	/* Keys besides the common ones (config.c), indexed by the
	 * device's own enum; dt_nkeys rows, at most DEV_MAX_KEYS. */
	const struct dev_key	*dt_keys;
	unsigned int		 dt_nkeys;
	const struct vu_dev_ops	*dt_ops;
	/*
	 * Jail rlimits above the default 0, for devices whose kernel
	 * interfaces need them (io_uring: locked ring memory, kernel worker
	 * threads counted as processes).  Fork stays forbidden by seccomp.
	 */
	unsigned long		 dt_rlimit_nproc;
	unsigned long		 dt_rlimit_memlock;
	/*
	 * Parent, before fork.  opts holds the typed values of dt_keys,
	 * each already checked against its row (kind, range); prepare
	 * checks what spans keys.  On success *statep owns the device state
	 * and fds; returns 0.  On error writes a message naming the key to
	 * err and returns -errno.  Must not fork or exit.
	 */
	int	(*dt_prepare)(const struct dev_options *opts,
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
