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

struct conffile {
	/* Global options (NULL / -1 when absent); strings owned. */
	struct global_opts	 cf_opts;
	struct device_conf	*cf_dev;	/* cf_ndev of them */
	unsigned int		 cf_ndev;
	unsigned int		 cf_cap;
};

/*
 * Parse f (name used in messages).  Each section is built key by key into
 * a typed device configuration (config_device_set), so every error names
 * "name:line" and the key as written.  On error writes the message to err
 * and returns -EINVAL (or -ENOMEM, -EIO); cf is then empty.  Release with
 * conffile_free() in either case.
 */
int	conffile_parse(FILE *f, const char *name, struct conffile *cf,
	    char *err, size_t errlen);
int	conffile_load(const char *path, struct conffile *cf, char *err,
	    size_t errlen);
void	conffile_free(struct conffile *cf);

#endif /* VHOSTD_CONFFILE_H */
