/*
 * config_fuzz.c - libFuzzer target for the --device front end of the
 * configuration builder (src/config.c): the input, up to its first NUL,
 * is one device specification (TYPE,key=value,..., ",," a comma); the
 * same string also goes through the restart-limit parser.
 *
 * Besides crashes and sanitizer reports, a finding is a result that
 * breaks the contract: a failure without a message or that leaves the
 * struct holding memory, a success without a type or name, with both
 * socket= and fd=, with a value outside its key's row (kind, range), a
 * defaulted key without its value, or a configuration not equal to
 * itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util/log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether v fits row k. */
static bool
value_fits(const struct dev_key *k, const struct dev_value *v)
{
	unsigned int	n;

	if (v->dv_text == NULL)
		return !v->dv_set && k->dk_default == NULL;
	switch (k->dk_kind) {
	case DK_BOOL:
		return v->dv_u <= 1;
	case DK_UINT:
	case DK_SIZE:
	case DK_OCTAL:
		return v->dv_u >= k->dk_min && v->dv_u <= k->dk_max;
	case DK_ENUM:
		for (n = 0; k->dk_choices[n] != NULL; n++)
			;
		return v->dv_u < n;
	case DK_STRING:
		return k->dk_max == 0 || strlen(v->dv_text) <= k->dk_max;
	case DK_PATH:
	case DK_NAME:
		return v->dv_text[0] != '\0';
	}
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
		if (err[0] == '\0' || dc.dc_type != NULL ||
		    dc.dc_common[CK_NAME].dv_text != NULL)
			abort();
	} else {
		if (rc != 0 || dc.dc_type == NULL || dc.dc_name == NULL ||
		    (dc.dc_socket != NULL && dc.dc_fd >= 0) ||
		    dc.dc_opts.do_nkeys != dc.dc_type->dt_nkeys ||
		    !device_conf_equal(&dc, &dc))
			abort();
		for (i = 0; i < CK_COUNT; i++)
			if (!value_fits(&config_common_keys[i],
			    &dc.dc_common[i]))
				abort();
		for (i = 0; i < dc.dc_type->dt_nkeys; i++)
			if (!value_fits(&dc.dc_type->dt_keys[i],
			    &dc.dc_opts.do_val[i]))
				abort();
	}
	config_device_free(&dc);

	(void)config_parse_restart_limit(spec, &count, &secs);
	free(spec);
	return 0;
}
