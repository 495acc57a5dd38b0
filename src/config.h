/*
 * config.h - device specifications (--device TYPE,key=value,...) parsed
 * into plain structs.  Returns errors, never exits.
 */
#ifndef VHOSTD_CONFIG_H
#define VHOSTD_CONFIG_H

#include <sys/types.h>

#include "devices/device.h"

enum restart_policy {
	RESTART_NEVER,
	RESTART_ON_FAILURE,
	RESTART_ALWAYS
};

#define CONFIG_MAX_OPTS	32

struct device_conf {
	char			*dc_spec;	/* owned copy; strings point in */
	char			*dc_orig;	/* the spec as given (reload) */
	const struct device_type *dc_type;
	const char		*dc_name;	/* name=, default TYPE[-N] */
	const char		*dc_socket;	/* socket=PATH */
	int			 dc_fd;		/* fd=N, or -1 */
	enum restart_policy	 dc_restart;
	mode_t			 dc_mode;	/* mode=0600 */
	gid_t			 dc_gid;	/* group=, or (gid_t)-1 */
	struct device_opt	 dc_opts[CONFIG_MAX_OPTS];	/* type keys */
	unsigned int		 dc_nopts;
};

/*
 * Parse one device specification.  restart_default applies when no
 * restart= is given.  On error writes a message naming the offending key
 * to err and returns -EINVAL (dc is left empty).  dc must be released with
 * config_device_free().
 */
int	config_parse_device(const char *spec, enum restart_policy restart_default,
	    struct device_conf *dc, char *err, size_t errlen);
void	config_device_free(struct device_conf *dc);

const char *config_restart_name(enum restart_policy r);

/*
 * "N/SECONDS" (restart-limit): give up on a device after N failures within
 * SECONDS; "0" disables the limit.  Either pointer may be NULL.  0 or
 * -EINVAL.
 */
int	config_parse_restart_limit(const char *s, unsigned int *count,
	    unsigned int *secs);

#endif /* VHOSTD_CONFIG_H */
