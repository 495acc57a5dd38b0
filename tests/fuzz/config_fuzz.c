/*
 * config_fuzz.c - libFuzzer target for the --device parser
 * (src/config.c): the input, up to its first NUL, is one device
 * specification (TYPE,key=value,...); the same string also goes through
 * the restart-limit parser.
 *
 * Besides crashes and sanitizer reports, a finding is a result that
 * breaks the contract: a failure without a message or that leaves the
 * struct holding memory, a success without a type or name, with both
 * socket= and fd=, with more keys than the table holds, or with a key
 * the type does not have.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util/log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether key is one of the type's own keys. */
static bool
type_key(const struct device_type *dt, const char *key)
{
	unsigned int	i;

	for (i = 0; dt->dt_keys != NULL && dt->dt_keys[i] != NULL; i++)
		if (strcmp(dt->dt_keys[i], key) == 0)
			return true;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool		 inited;
	struct device_conf	 dc;
	unsigned int		 count, secs, i;
	char			*spec, err[512];
	int			 rc;

	if (!inited) {
		log_init(-1, LOG_TO_STDERR, "config_fuzz");
		inited = true;
	}
	if ((spec = malloc(size + 1)) == NULL)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';

	err[0] = '\0';
	rc = config_parse_device(spec, RESTART_ON_FAILURE, &dc, err,
	    sizeof(err));
	if (rc < 0) {
		if (err[0] == '\0' || dc.dc_spec != NULL || dc.dc_orig != NULL)
			abort();
	} else {
		if (rc != 0 || dc.dc_type == NULL || dc.dc_name == NULL ||
		    dc.dc_nopts > CONFIG_MAX_OPTS ||
		    (dc.dc_socket != NULL && dc.dc_fd >= 0) ||
		    strcmp(dc.dc_orig, spec) != 0)
			abort();
		for (i = 0; i < dc.dc_nopts; i++)
			if (dc.dc_opts[i].key == NULL ||
			    dc.dc_opts[i].value == NULL ||
			    !type_key(dc.dc_type, dc.dc_opts[i].key))
				abort();
	}
	config_device_free(&dc);

	(void)config_parse_restart_limit(spec, &count, &secs);
	free(spec);
	return 0;
}
