/*
 * device.h - device types behind one small table.
 *
 * A device type has two halves that share no state (docs/devices.md):
 *
 *   parent (privileged, before any child): dt_open() takes the typed
 *   options (struct dev_options, built from the type's key table by
 *   config.c), opens every resource and describes them as a struct
 *   device_res: descriptors plus plain data (no pointers, no descriptor
 *   numbers), which crosses the exec of a child unchanged.  Anything only the
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
#include <sys/stat.h>
#include <sys/types.h>

#include "../util/util.h"
#include "../vhost/vhost.h"

/*
 * Device keys: one row per key, parsed and validated by common code
 * (src/config.c) for every front end (--device, the backend-program
 * options, the configuration file), and shown by --help and
 * --print-capabilities.  A device declares an enum of key indices and a
 * table indexed by it; dt_open reads the typed values by index.
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
#define DKF_STATUS	0x2	/* shown by vhostd ctl status (the device's
				   summary: what it serves, and how) */
/*
 * DK_PATH: a unix socket the host binds and listens on for the device,
 * like the vhost-user socket (src/listener: race-free in its directory,
 * the device's mode= and group=, removed when the device goes).  The
 * host opens it before dt_open and appends its listening fd to res in
 * key order, so dt_open finds it in res->dr_fds (vsock: uds-path).  Not
 * bound in check_only mode (vhostd -n).
 */
#define DKF_LISTEN	0x4

/* Rows are written with designated initializers; the order packs them. */
struct dev_key {
	const char		*dk_name;	/* key=value */
	uint64_t		 dk_min;
	uint64_t		 dk_max;
	/* Parsed like a given value when the key is absent; NULL: none. */
	const char		*dk_default;
	const char		*dk_help;	/* one line for --help */
	/* Backend-program option (vhost-user.rst), e.g. "blk-file". */
	const char		*dk_alias;
	const char *const	*dk_choices;	/* DK_ENUM, NULL-terminated */
	enum dev_key_kind	 dk_kind;
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

/* Most descriptors one device hands its child. */
#define DEVICE_RES_FDS		8
/* Most files one device claims (device_res_add_claim). */
#define DEVICE_RES_CLAIMS	4

/*
 * A file a device uses that no other device of this vhostd may use
 * (exclusively), or that others may use only shared: blk's image with
 * lock=on.  The identity is the inode (st_dev, st_ino), or for a block
 * device the device number, so every spelling of a path (./, .., a
 * symlink, another device node) is the same claim.  The host compares
 * the claims of all its devices (start, vhostd -n, reload) without
 * knowing what they are.
 *
 * Or a network interface (net's tap): every tap fd is an fd of the one
 * inode /dev/net/tun, so the identity is the interface, the inode of its
 * network namespace (st_dev, st_ino of the namespace's nsfs file) and
 * its name there, which is unique within the namespace at any time.
 */
enum device_claim_kind {
	DEVICE_CLAIM_FILE,	/* an inode or a block device */
	DEVICE_CLAIM_IFACE	/* a network interface in a namespace */
};

struct device_claim {
	enum device_claim_kind cl_kind;
	uint64_t	 cl_dev;	/* st_dev; a block device: st_rdev;
					   an interface: its netns' st_dev */
	uint64_t	 cl_ino;	/* st_ino; a block device: 0;
					   an interface: its netns' st_ino */
	char		 cl_ifname[16];	/* an interface: its name (IFNAMSIZ) */
	bool		 cl_blkdev;
	bool		 cl_shared;	/* shared claims do not conflict */
	/*
	 * No lock of the kernel refuses a second user (a multi_queue tap
	 * takes any number of queues, an adopted tap fd is just an fd): the
	 * host compares this claim after every open, not only after a
	 * refused one.
	 */
	bool		 cl_unlocked;
	unsigned int	 cl_key;	/* the key that names the file */
	const char	*cl_hint;	/* how to share it on purpose, or NULL */
};
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
	/*
	 * The parent's end of a broker channel (vsock: the child asks the
	 * parent for connections it may not make itself), or -1.  The host
	 * watches it while a child runs and calls dt_broker when it is
	 * readable; dt_spawn may replace it (a fresh channel per child).
	 * Owned by res (closed by device_res_release).
	 */
	int		 dr_broker_fd;
	/* Files the device claims (set by dt_open, also on error). */
	struct device_claim dr_claims[DEVICE_RES_CLAIMS];
	unsigned int	 dr_nclaims;
	/* On error: the index of the key at fault, or -1 (dt_open). */
	int		 dr_errkey;
	/*
	 * Input to dt_open, set by the caller: the resources of the running
	 * device of the same name and type that this one is to replace (a
	 * reload), or NULL.  A device may take over what both would hold
	 * (blk: the image lock of the same file); until dt_commit the old
	 * device keeps running with everything it has.
	 */
	const struct device_res *dr_prev;
};

/*
 * Who the broker serves: the child's credentials as the rest of the host
 * sees them (outside its user namespace), and the parent's own.  A
 * broker must not give a child more than these could reach.
 */
struct device_peer {
	uid_t		 dp_uid;	/* the child's uid and gid */
	gid_t		 dp_gid;
	uid_t		 dp_host_uid;	/* the parent's euid */
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
	const char		*dt_description;	/* --help: one line */
	/*
	 * Keys besides the common ones (config.c), indexed by the device's
	 * own enum; dt_nkeys rows, at most DEV_MAX_KEYS.  Each row's
	 * dk_alias is the backend-program option (vhost-user.rst), and
	 * those flagged DKF_CAPS are its --print-capabilities "features".
	 */
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
	 * The type's own per-queue counters (util/counters.h): the names of
	 * cq_dev[0 .. cd_count-1], a device's enum indexing both.  Zero: none.
	 * The parent takes names from here, never from a child.
	 */
	struct ctr_desc		 dt_counters;
	/* Whether the type fills the latency histogram (blk). */
	bool			 dt_latency;
	/*
	 * The child's memory cap when the device sets no memory-max=:
	 * bytes of private memory (RLIMIT_DATA: heap, data segments,
	 * private mappings; not guest memory, which the front end shares,
	 * nor io_uring rings).  Size it for the largest configuration the
	 * type's keys allow (all queues, the deepest rings) with room to
	 * spare: what the child allocates past it fails with ENOMEM, and
	 * the child exits as a device fault.  0: no cap.  Net and vsock,
	 * once wired, declare theirs (rx/tx buffers per queue; vsock's
	 * bounded connection table).
	 */
	uint64_t		 dt_mem_limit;
	/* RLIMIT_NOFILE above the jail's default (vsock: one descriptor
	 * per connection).  0: the default. */
	unsigned long		 dt_rlimit_nofile;

	/* Parent half. */

	/*
	 * Open everything the device needs and fill res (initialised by
	 * the caller with device_res_init).  opts holds the typed values of
	 * dt_keys, each already checked against its row (kind, range):
	 * dt_open checks what spans keys, and copies into res's plain data
	 * whatever the child needs of them (opts has pointers: it does not
	 * reach a child).  check_only (vhostd -n): check options and
	 * resources but take no lasting claim on them (blk's image lock),
	 * as the running service holds them.  0, or -errno with a message
	 * naming the key in err; on error whatever was put in res is
	 * released by the caller.  Must not fork or exit.
	 */
	int	(*dt_open)(const struct dev_options *opts, bool check_only,
		    struct device_res *res, char *err, size_t errlen);
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
	/*
	 * Parent, in the host's event loop: dr_broker_fd is readable.
	 * Optional (required when dt_open sets dr_broker_fd).  Handle at
	 * most a few requests of the (untrusted) child and return; never
	 * block.  0: keep watching; > 0: do not call again for that many
	 * milliseconds (a budget is spent: the child may be flooding);
	 * -errno (the child's end is closed): stop watching until the
	 * next child.
	 */
	int	(*dt_broker)(struct device_res *res,
		    const struct device_peer *peer);
	/*
	 * A reload replaces a running device: res was opened with dr_prev
	 * set to prev, prev's child is gone, prev's resources are still
	 * open.  Optional.  Make what res holds final (blk: a lock that
	 * changes between shared and exclusive moves now).  0; or -errno
	 * with a message in err, and with prev exactly as it was: res is
	 * then released and the old device goes on serving.
	 */
	int	(*dt_commit)(struct device_res *res, struct device_res *prev,
		    char *err, size_t errlen);

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
/*
 * Record that res claims the file of st (opened by the device), named by
 * key; shared claims may coexist.  0 or -ENOSPC.
 */
int	device_res_add_claim(struct device_res *res, const struct stat *st,
	    bool shared, unsigned int key, const char *hint);
/*
 * Record that res claims the network interface ifname of the namespace
 * whose nsfs file is netns (exclusively, unlocked: see struct
 * device_claim), named by key.  0, -EINVAL (no name, or too long) or
 * -ENOSPC.
 */
int	device_res_add_iface_claim(struct device_res *res,
	    const struct stat *netns, const char *ifname, unsigned int key,
	    const char *hint);
/* Whether res has a claim the host must compare after every open. */
bool	device_res_unlocked(const struct device_res *res);
/*
 * Whether a claim of a conflicts with one of b; *ca and *cb get the two
 * claims.
 */
bool	device_res_conflict(const struct device_res *a,
	    const struct device_res *b, const struct device_claim **ca,
	    const struct device_claim **cb);
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
extern const struct device_type net_device_type;
extern const struct device_type vsock_device_type;

#endif /* VHOSTD_DEVICES_DEVICE_H */
