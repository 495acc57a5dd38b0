/*
 * jail_harness.h - the set-up shared by the jail_test files: jailed
 * children cloned the way the supervisor clones them, reporting what they
 * see (struct report) through a kept pipe.
 */
#ifndef JAIL_HARNESS_H
#define JAIL_HARNESS_H

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <criterion/criterion.h>

#include "jail.h"

#define MAX_OPEN	16

/* What a jailed child sees, sent to the test through a pipe. */
struct report {
	pid_t		r_pid;
	pid_t		r_ppid;
	pid_t		r_sid;
	uid_t		r_uid[3];
	gid_t		r_gid[3];
	int		r_ngroups;
	unsigned int	r_caps;		/* OR of every capget set */
	int		r_bnd;		/* bounding caps left */
	int		r_amb;		/* ambient caps left */
	int		r_securebits;
	int		r_nnp;
	int		r_dumpable;
	int		r_pdeathsig;
	rlim_t		r_nofile;
	rlim_t		r_nproc;
	rlim_t		r_core;
	rlim_t		r_memlock;
	int		r_root_entries;	/* in / besides . and .. */
	int		r_root_ro;
	int		r_passwd_errno;
	int		r_proc_errno;
	int		r_open[MAX_OPEN];	/* open descriptors >= 3 */
	int		r_nopen;
	int		r_fork_errno;
	int		r_userns_errno;	/* unshare(CLONE_NEWUSER) */
	int		r_chroot_errno;
	int		r_sigusr1_default;
	int		r_sigusr2_blocked;
	int		r_stdin_null;
};

struct jailed {
	pid_t		j_pid;
	int		j_report;	/* read end */
	int		j_hold;		/* write end: child exits on EOF */
	struct report	j_r;
};

#define CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		snprintf(why, sizeof(why), __VA_ARGS__);		\
		return why;						\
	}								\
} while (0)

/*
 * Clone a child with flags (the supervisor's pattern), keep extra_fd in
 * it besides the two pipes, jail it and read its report.  With how ==
 * false the child uses fork() instead of clone flags.
 */
void	spawn(const struct jail_config *jc, unsigned long flags, int extra_fd,
    struct jailed *j);

/* Let the child go; its wait status. */
int	finish(struct jailed *j);

bool	has_open(const struct report *r, int fd);

/*
 * Run a jailed child with a leaked and a kept descriptor, an ignored
 * SIGUSR1 and a blocked SIGUSR2; NULL if it is properly jailed.  The child
 * waits in finish().
 */
const char	*run_jailed(const struct jail_config *jc, struct jailed *j);

#endif
