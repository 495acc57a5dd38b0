/*
 * kvprep.h - unit tests: open a device from key=value pairs through
 * the common configuration builder (config.h), as every front end does,
 * so a test exercises the key table and the typed values.
 */
#ifndef VHOSTD_TESTS_KVPREP_H
#define VHOSTD_TESTS_KVPREP_H

#include <errno.h>
#include <stdbool.h>

#include "config.h"

/* One key=value as a test writes it. */
struct device_opt {
	const char	*key;
	const char	*value;
};

/*
 * Build dt's configuration from the n pairs in o, then dt_open it into
 * res (initialised by the caller with device_res_init).  The builder's
 * error (naming the key) or dt_open's.
 */
static inline int
kv_open(const struct device_type *dt, const struct device_opt *o,
    unsigned int n, bool check_only, struct device_res *res, char *err,
    size_t errlen)
{
	static struct device_conf	dc;
	unsigned int			i;
	int				rc;

	if ((rc = config_device_init(&dc, dt->dt_name, RESTART_ALWAYS, NULL,
	    err, errlen)) < 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((rc = config_device_set(&dc, o[i].key, o[i].value, NULL, 0,
		    err, errlen)) < 0)
			goto out;
	if ((rc = config_device_finish(&dc, err, errlen)) < 0)
		goto out;
	rc = dt->dt_open(&dc.dc_opts, check_only, res, err, errlen);
out:
	config_device_free(&dc);
	return rc;
}

#endif /* VHOSTD_TESTS_KVPREP_H */
