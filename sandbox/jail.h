/*
 * jail.h - the jail a device child enters right after clone(2).
 *
 * The parent fills a struct jail_config (jail_config_init, then the
 * command line), checks once that the host supports it (jail_probe),
 * clones each child with jail_clone_flags() and has the child call
 * jail_enter() first thing.  jail_enter runs the steps of DESIGN.md "The
 * jail, in order", one small function each; the filter either last in
 * jail_enter or, after the device's pre-filter set-up (its restricted
 * io_uring rings), through jail_seccomp().  A step that fails logs
 * "jail: STEP: reason" and jail_enter returns JAIL_EXIT_BASE + step, which
 * the child passes to _exit() and the parent turns back into the step name
 * with jail_exit_step().  The sandbox fails closed.
 *
 * Only this module knows about namespaces, capabilities and securebits.
 */
#ifndef VHOSTD_SANDBOX_JAIL_H
#define VHOSTD_SANDBOX_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "../src/util/util.h"

struct policy_filter;
struct jail_ids;

/* Jail features the operator can relax one by one (--jail-disable). */
#define JAIL_F_USERNS		0x0001	/* "userns" */
#define JAIL_F_PIDNS		0x0002	/* "pidns" */
#define JAIL_F_NETNS		0x0004	/* "netns" */
#define JAIL_F_IPCNS		0x0008	/* "ipcns" */
#define JAIL_F_UTSNS		0x0010	/* "utsns" */
#define JAIL_F_CGROUPNS		0x0020	/* "cgroupns" */
#define JAIL_F_MNTNS		0x0040	/* "mntns": mount ns, tmpfs root,
					   pivot_root */
#define JAIL_F_ALL		0x007f

/*
 * RLIMIT_NOFILE default.  A device child holds 0-2, its kept descriptors
 * (at most FDSET_MAX), the event loop's own (epoll, signal pipe: ~4), one
 * connection, up to 3 per ring (kick, call, err: 48 for VU_MAX_QUEUES) and
 * up to VHOST_USER_MAX_FDS (8) that arrive with one message (memory region
 * fds are mapped and closed at once, so the 509 slots never coexist as
 * fds).  128 covers that; jail_enter raises the limit to the highest kept
 * descriptor + JAIL_NOFILE_HEADROOM when the kept descriptors are numbered
 * higher, because new descriptors must be numbered below the limit.
 */
#define JAIL_NOFILE_DEFAULT	128
#define JAIL_NOFILE_HEADROOM	80

struct jail_config {
	bool		jc_enabled;	/* false: --no-sandbox */
	bool		jc_userns;	/* create a user namespace */
	unsigned int	jc_disabled;	/* JAIL_F_* the operator relaxed */
	uid_t		jc_uid;		/* the child's uid (inside the userns) */
	gid_t		jc_gid;
	rlim_t		jc_nofile;	/* RLIMIT_NOFILE for the child */
	rlim_t		jc_nproc;	/* RLIMIT_NPROC (default 0) */
	rlim_t		jc_memlock;	/* RLIMIT_MEMLOCK (default 0) */
	rlim_t		jc_fsize;	/* RLIMIT_FSIZE; 0 (default): left
					   as it is */
	rlim_t		jc_data;	/* RLIMIT_DATA (the child's private
					   memory); 0 (default): left as it
					   is.  Not applied in sanitizer
					   builds (VHOSTD_SANITIZE) */
	bool		jc_user_given;	/* --user: every child is jc_uid */
	uint32_t	jc_id_base;	/* per-device uids/gids: the range */
	uint32_t	jc_id_count;	/* BASE .. BASE+COUNT-1; 0: off */
	uid_t		jc_outer_uid;	/* euid/egid of the parent: the ids the */
	gid_t		jc_outer_gid;	/* child has outside its user ns */
	int		jc_parent_pidfd; /* pidfd of the parent, or -1 */
};

/*
 * Per-device ids (jail_ids.c): by default each device child runs as a uid
 * (and the gid of the same number) of its own from this range, so that
 * the limits the kernel keeps per uid (RLIMIT_NPROC: io_uring's io-wq
 * workers; locked memory of io_uring rings) are per device.  65536..99999
 * lies in the range systemd leaves unused (systemd.io/UIDS-GIDS:
 * 65536..524287) and below the first subordinate id that shadow's useradd
 * hands out (SUB_UID_MIN 100000), and overlaps none of systemd's
 * DynamicUser (61184..65519), homed (60001..60513) or container ranges;
 * ids of the range that the user database or /etc/subuid, /etc/subgid
 * name are skipped at start-up.
 */
#define JAIL_ID_BASE_DEFAULT	65536u
#define JAIL_ID_COUNT_DEFAULT	34464u
#define JAIL_ID_COUNT_MAX	65536u

/*
 * Defaults: enabled; every namespace; a user namespace only when not
 * running as root; uid/gid of user "vhostd" if it exists, else "nobody"
 * (else 65534), resolved here, in the parent (the ids of a child when
 * per-device ids do not apply: a user namespace, --uid-range=off); the
 * per-device id range JAIL_ID_BASE_DEFAULT:JAIL_ID_COUNT_DEFAULT;
 * RLIMIT_NOFILE JAIL_NOFILE_DEFAULT.  Also opens a pidfd of the calling
 * process (the parent of every child), CLOEXEC, that jail_enter uses to
 * notice a parent that died before PR_SET_PDEATHSIG took effect even
 * inside a new pid namespace; the descriptor lives as long as the process (one per process:
 * later calls reuse it).  Cannot fail.
 */
void	jail_config_init(struct jail_config *jc);

/*
 * --user: USER or UID, optionally ":GROUP" or ":GID".  Without a group the
 * user's primary group (a bare number: gid = uid).  Sets jc_user_given:
 * every child then runs as that user, not as one of the range.  0, or
 * -EINVAL with a message in err.
 */
int	jail_config_set_user(struct jail_config *jc, const char *user,
	    char *err, size_t errlen);

/*
 * --uid-range: "BASE:COUNT" (decimal; COUNT 1..JAIL_ID_COUNT_MAX; the
 * range may not hold 0, 65534, 65535 or ids from 2^31 on), or "off" (every
 * child runs as jc_uid).  0, or -EINVAL with a message in err.
 */
int	jail_config_set_id_range(struct jail_config *jc, const char *range,
	    char *err, size_t errlen);

/*
 * The per-device id allocator (jail_ids.c), parent only.  NULL when
 * per-device ids do not apply to jc: sandbox off, --user given, the range
 * off, or a user namespace (an unprivileged parent can map only its own
 * uid: every child is that uid outside, whatever it is inside).  Reads the
 * user and group databases and /etc/subuid, /etc/subgid once, and skips
 * the ids of the range they name (logged).  NULL also when out of memory
 * (logged; children then share jc_uid).
 */
struct jail_ids	*jail_ids_new(const struct jail_config *jc);

/*
 * The id for the device called name: BASE + a hash of the name modulo
 * COUNT, or the next free id after it (wrapping) when another device or
 * the system holds that one.  So a device keeps its id across restarts of
 * its child, reloads and restarts of vhostd, as long as no other device
 * took its slot first (devices are added in configuration order).  0, or
 * 1 when every id of the range is in use: the id is then shared (logged
 * by the caller); -ENOSPC when the system holds every id of the range.
 */
int	jail_ids_take(struct jail_ids *ji, const char *name, uint32_t *id);

/*
 * One more user of id (a device replacing another in a reload keeps its
 * uid); given back with jail_ids_put.  No-op for ids outside the range.
 */
void	jail_ids_hold(struct jail_ids *ji, uint32_t id);

/* Give back an id jail_ids_take returned (no-op for ids outside). */
void	jail_ids_put(struct jail_ids *ji, uint32_t id);

/* How many ids of the range the system holds (skipped). */
unsigned int	jail_ids_reserved(const struct jail_ids *ji);

/* Free ji and its table (NULL: no-op). */
void	jail_ids_free(struct jail_ids *ji);

/*
 * --jail-disable: a comma-separated list of userns pidns netns ipcns utsns
 * cgroupns mntns.  Sets the JAIL_F_* bits (userns also clears jc_userns).
 * 0, or -EINVAL with a message naming the bad word (nothing changed).
 */
int	jail_config_disable(struct jail_config *jc, const char *features,
	    char *err, size_t errlen);

/*
 * The CLONE_NEW* flags the supervisor passes to clone(2) for a child, so
 * that the namespaces exist from the start and the child is pid 1 of its
 * pid namespace (CLONE_NEWUSER comes with them when jc_userns, which is
 * what lets an unprivileged parent create the others).  0 when disabled.
 */
unsigned long	jail_clone_flags(const struct jail_config *jc);

/*
 * Parent, at start-up: check that every requested namespace and the whole
 * jail work on this host, by cloning probe children: one per namespace
 * type, then one that runs jail_enter() (no seccomp) to the end.  0, or
 * -errno with a message that names the missing feature and the option that
 * relaxes only that one (e.g. "... pass --jail-disable=userns").  Reaps its
 * children; must run before any thread is started.
 */
int	jail_probe(const struct jail_config *jc, char *err, size_t errlen);

/*
 * Child, first thing after clone(SIGCHLD | jail_clone_flags(jc)): run the
 * jail steps in order (see JAIL_EXIT_*).  keep: descriptors to keep
 * besides 0-2 (not owned).  filter: precompiled seccomp filter, loaded
 * last; NULL for none (then the caller loads it with jail_seccomp, after
 * the device set-up that must precede the filter).  Returns 0 when
 * jailed, or, after logging "jail: STEP: reason", JAIL_EXIT_BASE + step
 * for the caller to pass to _exit() (the process is then half-jailed: do
 * nothing else).
 * When !jc_enabled: logs that the sandbox is disabled, sets PDEATHSIG,
 * closes the other descriptors and returns 0.
 * When jc_fsize is set, SIGXFSZ is ignored, so that a write past the
 * limit fails with EFBIG instead of killing the child.
 */
int	jail_enter(const struct jail_config *jc, const struct fdset *keep,
	    const struct policy_filter *filter);

/*
 * Child, after clone and before it execs itself (an exec'd device child,
 * src/host/child_exec.c), before jail_enter.  In a user namespace made by
 * clone the child is not root inside (its maps are written by step 4,
 * after the exec), so the exec would drop the capabilities the jail steps
 * need: carry them across in the ambient set.  Step 9 empties it with
 * every other set.  A no-op without a user namespace (root keeps its
 * capabilities across exec).  0 or -errno.
 */
int	jail_exec_prepare(const struct jail_config *jc);

/*
 * Child, after jail_enter(..., NULL) and whatever must exist before the
 * filter (a device's restricted io_uring rings: device.h dt_init):
 * the last jail step, loading filter (NULL: none, for --no-sandbox).
 * Nothing unfiltered may follow it.  0, or after logging
 * "jail: seccomp: reason", JAIL_EXIT(JAIL_STEP_SECCOMP) for _exit().
 */
int	jail_seccomp(const struct policy_filter *filter);

/*
 * Exit codes of jail_enter, in step order.  Each step that fails ends the
 * child with one of these (through the caller's _exit).
 */
#define JAIL_EXIT_BASE		160
enum jail_step {
	JAIL_STEP_PARENT = 1,	/* 161 PR_SET_PDEATHSIG, parent still alive,
				   setsid (re-armed after step 10: the
				   kernel clears it on credential changes) */
	JAIL_STEP_SIGNALS,	/* 162 default handlers, only SIGTERM blocked */
	JAIL_STEP_FDS,		/* 163 close fds not kept; 0,1 -> /dev/null */
	JAIL_STEP_USERNS,	/* 164 uid/gid maps of the new user ns */
	JAIL_STEP_NAMESPACES,	/* 165 pid ns check, mounts made private */
	JAIL_STEP_ROOT,		/* 166 read-only tmpfs root, pivot_root,
				   detach old root, chdir / */
	JAIL_STEP_RLIMITS,	/* 167 CORE 0, NOFILE, NPROC 0, MEMLOCK 0,
				   FSIZE, DATA (when set) */
	JAIL_STEP_IDS,		/* 168 setgroups, setresgid, setresuid */
	JAIL_STEP_CAPS,		/* 169 securebits locked, every cap dropped
				   (bounding, ambient) */
	JAIL_STEP_NNP,		/* 170 PR_SET_NO_NEW_PRIVS, not dumpable */
	JAIL_STEP_SECCOMP,	/* 171 policy_filter_load (in jail_enter, or
				   jail_seccomp after the device set-up) */
	JAIL_STEP_MAX = JAIL_STEP_SECCOMP
};
#define JAIL_EXIT(step)		(JAIL_EXIT_BASE + (step))

/*
 * Parent: the name of the jail step an exit code (WEXITSTATUS) of a child
 * stands for ("pdeathsig", ..., "seccomp"), or NULL if it is none.
 */
const char	*jail_exit_step(int status);

#endif /* VHOSTD_SANDBOX_JAIL_H */
