/*
 * conffile.h - the configuration file of the long-running service
 * (vhostd -c FILE), see vhostd.conf(5).
 *
 *   # global options, before any section
 *   user = vhostd
 *   seccomp = kill
 *   [vm1-rng]                 # one section per device, named
 *   type = rng
 *   socket = /run/vhostd/vm1-rng.sock
 *   restart = always
 */
#ifndef VHOSTD_CONFFILE_H
#define VHOSTD_CONFFILE_H

#include <stdio.h>

#include "config.h"

#define CONFFILE_MAX_DEVICES	64

struct conffile {
	/* Global options (NULL / -1 when absent). */
	char			*cf_user;
	char			*cf_seccomp;
	char			*cf_policy_dir;
	char			*cf_jail_disable;
	char			*cf_log;
	char			*cf_restart_limit;	/* N/SECONDS */
	int			 cf_grace;
	int			 cf_verbose;
	int			 cf_no_sandbox;
	struct device_conf	 cf_dev[CONFFILE_MAX_DEVICES];
	unsigned int		 cf_ndev;
};

/*
 * Parse f (name used in messages).  On error writes "name:line: message"
 * to err and returns -EINVAL; cf is then empty.  Release with
 * conffile_free().
 */
int	conffile_parse(FILE *f, const char *name, struct conffile *cf,
	    char *err, size_t errlen);
int	conffile_load(const char *path, struct conffile *cf, char *err,
	    size_t errlen);
void	conffile_free(struct conffile *cf);

#endif /* VHOSTD_CONFFILE_H */
