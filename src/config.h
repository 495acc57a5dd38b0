/*
 * config.h - typed device configurations and the global options.
 *
 * One builder (config_device_init, _set, _finish) turns keys and their
 * text into a typed struct device_conf, checking each value against its
 * row of a key table: config_common_keys for the keys every device has,
 * the type's dt_keys for its own.  Three thin front ends feed it: a
 * --device TYPE,key=value,... specification (config_parse_device), the
 * backend-program options (main.c) and the configuration file
 * (conffile.c).  Nothing is printed into a string to be parsed again.
 * Returns errors, never exits.
 */
#ifndef VHOSTD_CONFIG_H
#define VHOSTD_CONFIG_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "devices/device.h"

enum restart_policy {
	RESTART_NEVER,
	RESTART_ON_FAILURE,
	RESTART_ALWAYS
};

/* The keys every device type accepts: rows of config_common_keys. */
enum config_common_key {
	CK_NAME,
	CK_SOCKET,
	CK_FD,
	CK_RESTART,
	CK_MODE,
	CK_GROUP,
	CK_USER,
	CK_MEMORY_MAX,
	CK_COUNT
};

extern const struct dev_key config_common_keys[CK_COUNT];

struct device_conf {
	const struct device_type *dc_type;
	const char		*dc_name;	/* name=, default TYPE */
	const char		*dc_socket;	/* socket=PATH */
	int			 dc_fd;		/* fd=N, or -1 */
	enum restart_policy	 dc_restart;
	mode_t			 dc_mode;	/* mode=0600 */
	gid_t			 dc_gid;	/* group=, or (gid_t)-1 */
	const char		*dc_user;	/* user=: the child's user
						   (USER[:GROUP]), or NULL: one
						   of the uid range */
	uint64_t		 dc_mem_max;	/* memory-max= in bytes (0: no
						   cap); the type's
						   dt_mem_limit if not given */
	struct dev_value	 dc_common[CK_COUNT];	/* owns the texts */
	struct dev_options	 dc_opts;	/* the type's keys */
	char			 dc_where[96];	/* "--device", "f.conf:3" */
};

/*
 * Start a configuration of device type `type'.  restart_default applies
 * when no restart= is given; where names the source in messages (copied).
 * 0, or -EINVAL with a message in err (dc is then empty).  Release with
 * config_device_free() in either case.
 */
int	config_device_init(struct device_conf *dc, const char *type,
	    enum restart_policy restart_default, const char *where, char *err,
	    size_t errlen);

/* config_device_set() flags */
#define CONFIG_ALIAS	0x1	/* key may be a backend-program alias */

/*
 * Set one key to the text val (copied), checked against the key's row.
 * src names where it was written ("f.conf:3"; NULL on the command line)
 * and starts the message.  A key given twice is an error naming both
 * occurrences.  0; -ENOENT for a key the type does not have; -EINVAL
 * for a bad value; -ENOMEM.  Messages name the key as written.
 */
int	config_device_set(struct device_conf *dc, const char *key,
	    const char *val, const char *src, unsigned int flags, char *err,
	    size_t errlen);

/*
 * After the last key: defaults, and the rules that span keys (socket=
 * and fd= exclude each other).  0 or -EINVAL with a message.
 */
int	config_device_finish(struct device_conf *dc, char *err,
	    size_t errlen);

/*
 * The --device front end: TYPE,key=value,...  A comma inside a value is
 * written twice (",,", as QEMU's -device).  On error writes a message
 * naming the offending key to err and returns -EINVAL or -ENOMEM (dc is
 * left empty).  dc must be released with config_device_free().
 */
int	config_parse_device(const char *spec, enum restart_policy restart_default,
	    struct device_conf *dc, char *err, size_t errlen);
void	config_device_free(struct device_conf *dc);

/*
 * Whether a and b configure the same device: type, every common key and
 * every device key compared by typed value (where a key was written, and
 * whether a default was spelled out, do not count).  A reload keeps a
 * device whose configuration is equal.
 */
bool	device_conf_equal(const struct device_conf *a,
	    const struct device_conf *b);

/*
 * The row of key `name' for type dt (NULL: common keys only), also
 * matching backend-program aliases with CONFIG_ALIAS.  Sets *common and
 * *idx.  NULL when there is none.
 */
const struct dev_key *config_key_find(const struct device_type *dt,
	    const char *name, unsigned int flags, bool *common,
	    unsigned int *idx);

/*
 * --help lines for the keys of dt (NULL: the common keys): "  key=VALUE
 * help (default D)"; with backend, as the backend-program options
 * (--alias or --key).
 */
void	config_print_keys(FILE *f, const struct device_type *dt, bool backend);

/* The name of r as written in restart= ("?" for a value out of range). */
const char *config_restart_name(enum restart_policy r);

/*
 * "N/SECONDS" (restart-limit): give up on a device after N failures within
 * SECONDS; "0" disables the limit.  Either pointer may be NULL.  0 or
 * -EINVAL.
 */
int	config_parse_restart_limit(const char *s, unsigned int *count,
	    unsigned int *secs);

/*
 * Options of the host, from the command line or the file's global
 * section.  NULL / -1: not given.  The strings belong to whoever filled
 * the struct (argv, or the conffile).  *_where: where the value was given
 * ("--user", "f.conf:2"), for messages.
 */
#define CONFIG_GRACE_MAX_S	3600	/* --grace, grace =: SIGTERM -> SIGKILL */

struct global_opts {
	char	*go_user;
	char	*go_seccomp;		/* kill | trap | log */
	char	*go_policy_dir;
	char	*go_jail_disable;
	char	*go_log;		/* stderr | syslog */
	char	*go_restart_limit;	/* N/SECONDS */
	char	*go_control;
	char	*go_uid_range;		/* BASE:COUNT | off */
	int	 go_grace;		/* seconds, <= CONFIG_GRACE_MAX_S */
	int	 go_verbose;
	int	 go_no_sandbox;		/* 0/1 */
	char	 go_user_where[96];
	char	 go_jail_disable_where[96];
	char	 go_uid_range_where[96];
};

/* Every field "not given". */
void	config_global_init(struct global_opts *g);

/*
 * The options in effect: each field from cli when given there, else from
 * file (vhostd.conf(5): "the command line wins").  Pure: out points to
 * the strings of cli and file.
 */
void	config_global_merge(const struct global_opts *cli,
	    const struct global_opts *file, struct global_opts *out);

#endif /* VHOSTD_CONFIG_H */
