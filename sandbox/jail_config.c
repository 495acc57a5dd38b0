/*
 * jail_config.c - the parent's side of the jail: defaults, --user,
 * --jail-disable, the clone flags, and the start-up probe that names a
 * missing kernel feature and the option that relaxes only that one.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/util/log.h"
#include "jail.h"

#define JAIL_FALLBACK_ID	65534	/* "nobody" on most systems */

struct jail_feature {
	const char	*jf_name;	/* --jail-disable word */
	unsigned int	 jf_bit;
	unsigned long	 jf_clone;	/* CLONE_NEW* */
	const char	*jf_what;	/* for messages */
};

static const struct jail_feature jail_features[] = {
	{ "userns",	JAIL_F_USERNS,	CLONE_NEWUSER,	 "user" },
	{ "pidns",	JAIL_F_PIDNS,	CLONE_NEWPID,	 "pid" },
	{ "netns",	JAIL_F_NETNS,	CLONE_NEWNET,	 "network" },
	{ "ipcns",	JAIL_F_IPCNS,	CLONE_NEWIPC,	 "IPC" },
	{ "utsns",	JAIL_F_UTSNS,	CLONE_NEWUTS,	 "UTS" },
	{ "cgroupns",	JAIL_F_CGROUPNS, CLONE_NEWCGROUP, "cgroup" },
	{ "mntns",	JAIL_F_MNTNS,	CLONE_NEWNS,	 "mount" },
};

/* A pidfd of this process, reopened after a fork.  -1 if unsupported. */
static int
self_pidfd(void)
{
	static int	fd = -1;
	static pid_t	owner = -1;
	pid_t		self = getpid();

	if (owner == self)
		return fd;
	/* Inherited from the process we were forked from: not ours. */
	if (owner != -1)
		close_reset(&fd);
	owner = self;
	fd = (int)syscall(SYS_pidfd_open, self, 0);
	if (fd < 0)
		fd = -1;
	else if (fd_set_cloexec(fd, 1) < 0)
		close_reset(&fd);
	return fd;
}

void
jail_config_init(struct jail_config *jc)
{
	struct passwd	*pw;

	memset(jc, 0, sizeof(*jc));
	jc->jc_enabled = true;
	jc->jc_userns = geteuid() != 0;
	jc->jc_disabled = 0;
	jc->jc_uid = JAIL_FALLBACK_ID;
	jc->jc_gid = JAIL_FALLBACK_ID;
	if ((pw = getpwnam("vhostd")) != NULL ||
	    (pw = getpwnam("nobody")) != NULL) {
		jc->jc_uid = pw->pw_uid;
		jc->jc_gid = pw->pw_gid;
	}
	jc->jc_nofile = JAIL_NOFILE_DEFAULT;
	jc->jc_nproc = 0;
	jc->jc_memlock = 0;
	jc->jc_fsize = 0;
	jc->jc_data = 0;
	jc->jc_user_given = false;
	jc->jc_id_base = JAIL_ID_BASE_DEFAULT;
	jc->jc_id_count = JAIL_ID_COUNT_DEFAULT;
	jc->jc_outer_uid = geteuid();
	jc->jc_outer_gid = getegid();
	jc->jc_parent_pidfd = self_pidfd();
}

static int
parse_id(const char *s, unsigned int *out)
{
	uint64_t	v;

	if (parse_u64(s, 0, 0xfffffffeU, &v) < 0)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

int
jail_config_set_user(struct jail_config *jc, const char *user, char *err,
    size_t errlen)
{
	char		 name[256];
	const char	*colon, *group = NULL;
	struct passwd	*pw;
	struct group	*gr;
	unsigned int	 uid, gid, id;
	size_t		 len;

	colon = strchr(user, ':');
	len = colon != NULL ? (size_t)(colon - user) : strlen(user);
	if (len == 0 || len >= sizeof(name)) {
		snprintf(err, errlen, "expected USER or UID, optionally "
		    "followed by :GROUP or :GID");
		return -EINVAL;
	}
	memcpy(name, user, len);
	name[len] = '\0';
	if (colon != NULL)
		group = colon + 1;
	if ((pw = getpwnam(name)) != NULL) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	} else if (parse_id(name, &id) == 0) {
		uid = id;
		pw = getpwuid(id);
		gid = pw != NULL ? pw->pw_gid : id;
	} else {
		snprintf(err, errlen, "no such user '%s'", name);
		return -EINVAL;
	}
	if (group != NULL) {
		if (*group == '\0') {
			snprintf(err, errlen, "empty group after ':'");
			return -EINVAL;
		}
		if ((gr = getgrnam(group)) != NULL)
			gid = gr->gr_gid;
		else if (parse_id(group, &id) == 0)
			gid = id;
		else {
			snprintf(err, errlen, "no such group '%s'", group);
			return -EINVAL;
		}
	}
	jc->jc_uid = uid;
	jc->jc_gid = gid;
	jc->jc_user_given = true;
	return 0;
}

int
jail_config_set_id_range(struct jail_config *jc, const char *range,
    char *err, size_t errlen)
{
	char		 buf[64], *colon;
	uint64_t	 base, count, last;

	if (strcmp(range, "off") == 0) {
		jc->jc_id_count = 0;
		return 0;
	}
	if (strlen(range) >= sizeof(buf) ||
	    (colon = strchr(memcpy(buf, range, strlen(range) + 1), ':')) ==
	    NULL) {
		snprintf(err, errlen, "expected BASE:COUNT or off");
		return -EINVAL;
	}
	*colon = '\0';
	if (parse_u64(buf, 1, 0x7fffffffULL, &base) < 0 ||
	    parse_u64(colon + 1, 1, JAIL_ID_COUNT_MAX, &count) < 0) {
		snprintf(err, errlen, "expected BASE:COUNT with BASE from 1 "
		    "and COUNT from 1 to %u", JAIL_ID_COUNT_MAX);
		return -EINVAL;
	}
	last = base + count - 1;
	if (last > 0x7fffffffULL) {
		snprintf(err, errlen, "the range ends at %llu: ids from 2^31 "
		    "on are not safe to use", (unsigned long long)last);
		return -EINVAL;
	}
	if (base <= 65535 && last >= 65534) {
		snprintf(err, errlen, "the range holds 65534 (nobody) or "
		    "65535 (the 16-bit -1)");
		return -EINVAL;
	}
	jc->jc_id_base = (uint32_t)base;
	jc->jc_id_count = (uint32_t)count;
	return 0;
}

int
jail_config_disable(struct jail_config *jc, const char *features, char *err,
    size_t errlen)
{
	const char	*p = features;
	unsigned int	 bits = 0, i;
	size_t		 len;

	for (;;) {
		len = strcspn(p, ",");
		for (i = 0; i < ARRAY_SIZE(jail_features); i++)
			if (strlen(jail_features[i].jf_name) == len &&
			    strncmp(p, jail_features[i].jf_name, len) == 0)
				break;
		if (i == ARRAY_SIZE(jail_features)) {
			if (len == 0)
				snprintf(err, errlen, "empty feature name");
			else
				snprintf(err, errlen, "unknown jail feature "
				    "'%.*s' (expected userns, pidns, netns, "
				    "ipcns, utsns, cgroupns or mntns)",
				    (int)MIN(len, 64), p);
			return -EINVAL;
		}
		bits |= jail_features[i].jf_bit;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	jc->jc_disabled |= bits;
	if (bits & JAIL_F_USERNS)
		jc->jc_userns = false;
	return 0;
}

unsigned long
jail_clone_flags(const struct jail_config *jc)
{
	unsigned long	flags = 0;
	unsigned int	i;

	if (!jc->jc_enabled)
		return 0;
	for (i = 0; i < ARRAY_SIZE(jail_features); i++) {
		if (jail_features[i].jf_bit == JAIL_F_USERNS) {
			if (jc->jc_userns &&
			    !(jc->jc_disabled & JAIL_F_USERNS))
				flags |= CLONE_NEWUSER;
		} else if (!(jc->jc_disabled & jail_features[i].jf_bit))
			flags |= jail_features[i].jf_clone;
	}
	return flags;
}

/*
 * Clone a child with flags that exits at once or (jail) runs
 * jail_enter.  Returns the wait status, or -errno when clone failed.
 */
static int
probe_child(const struct jail_config *jc, unsigned long flags, bool jail)
{
	struct fdset	keep;
	pid_t		pid, w;
	int		status;

	fflush(NULL);
	pid = (pid_t)syscall(SYS_clone, SIGCHLD | flags, NULL, NULL, NULL,
	    NULL);
	if (pid == -1)
		return -errno;
	if (pid == 0) {
		if (!jail)
			_exit(0);
		fdset_init(&keep);
		_exit(jail_enter(jc, &keep, NULL));
	}
	while ((w = waitpid(pid, &status, 0)) == -1 && errno == EINTR)
		;
	if (w == -1)
		return -errno;
	return status;
}

/* The value of a sysctl file for a message, or "?". */
static void
read_sysctl(const char *path, char *buf, size_t len)
{
	ssize_t	n;
	int	fd;

	snprintf(buf, len, "?");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, buf, len - 1);
	close_reset(&fd);
	if (n <= 0) {
		snprintf(buf, len, "?");
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* Why user namespaces fail, as far as the usual sysctls tell. */
static void
userns_reason(int errnum, char *buf, size_t len)
{
	char	v[32];

	read_sysctl("/proc/sys/kernel/unprivileged_userns_clone", v,
	    sizeof(v));
	if (strcmp(v, "0") == 0) {
		snprintf(buf, len, "kernel.unprivileged_userns_clone=0");
		return;
	}
	read_sysctl("/proc/sys/user/max_user_namespaces", v, sizeof(v));
	if (strcmp(v, "0") == 0) {
		snprintf(buf, len, "user.max_user_namespaces=0");
		return;
	}
	read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
	    v, sizeof(v));
	if (strcmp(v, "1") == 0) {
		snprintf(buf, len,
		    "kernel.apparmor_restrict_unprivileged_userns=1");
		return;
	}
	snprintf(buf, len, "clone: %s", strerror(errnum));
}

/* The option that relaxes a failing jail step, for the probe's message. */
static const char *
step_hint(const struct jail_config *jc, int step)
{
	if (geteuid() != 0 && !jc->jc_userns)
		return "without root the jail needs a user namespace: do not "
		    "pass --jail-disable=userns";
	switch (step) {
	case JAIL_STEP_USERNS:
		return "run as root or pass --jail-disable=userns";
	case JAIL_STEP_NAMESPACES:
		return "pass --jail-disable=pidns or --jail-disable=mntns, "
		    "as the message says";
	case JAIL_STEP_ROOT:
		return "pass --jail-disable=mntns";
	case JAIL_STEP_IDS:
		return "choose another --user";
	default:
		return "the host lacks a basic security feature; "
		    "--no-sandbox only for debugging";
	}
}

int
jail_probe(const struct jail_config *jc, char *err, size_t errlen)
{
	const struct jail_feature	*jf;
	unsigned long			 user = 0, all;
	char				 why[128];
	unsigned int			 i;
	int				 st;

	if (!jc->jc_enabled)
		return 0;
	all = jail_clone_flags(jc);
	if (all & CLONE_NEWUSER) {
		if ((st = probe_child(jc, CLONE_NEWUSER, false)) < 0) {
			userns_reason(-st, why, sizeof(why));
			snprintf(err, errlen, "user namespaces are unavailable "
			    "(%s); run as root or pass --jail-disable=userns",
			    why);
			return st;
		}
		user = CLONE_NEWUSER;
	}
	for (i = 0; i < ARRAY_SIZE(jail_features); i++) {
		jf = &jail_features[i];
		if (jf->jf_clone == CLONE_NEWUSER || !(all & jf->jf_clone))
			continue;
		if ((st = probe_child(jc, user | jf->jf_clone, false)) >= 0)
			continue;
		snprintf(err, errlen, "%s namespaces are unavailable (clone: "
		    "%s%s); pass --jail-disable=%s", jf->jf_what,
		    strerror(-st), user == 0 && geteuid() != 0 ?
		    "; without root they need a user namespace" : "",
		    jf->jf_name);
		return st;
	}
	st = probe_child(jc, all, true);
	if (st < 0) {
		snprintf(err, errlen, "cannot clone a jailed child: %s",
		    strerror(-st));
		return st;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st) && jail_exit_step(WEXITSTATUS(st)) != NULL) {
		snprintf(err, errlen, "the jail fails on this host at step "
		    "'%s' (logged above); %s", jail_exit_step(WEXITSTATUS(st)),
		    step_hint(jc, WEXITSTATUS(st) - JAIL_EXIT_BASE));
		return -EPERM;
	}
	snprintf(err, errlen, "the jail probe child ended with status 0x%x",
	    (unsigned int)st);
	return -EPERM;
}
