/*
 * device.c - the table of device types.
 *
 * Compiled twice: as is for vhostd, and with VHOSTD_TESTING for
 * vhostd_test, which adds test-only devices (tests/devices/).
 */
#include <string.h>

#include "device.h"

#ifdef VHOSTD_TESTING
extern const struct device_type escape_device_type;
extern const struct device_type escape_blk_device_type;
#endif

bool	device_check_only;

const struct device_type *const device_types[] = {
	&rng_device_type,
	&blk_device_type,
#ifdef VHOSTD_TESTING
	&escape_device_type,
	&escape_blk_device_type,
#endif
	NULL
};

const struct device_type *
device_type_find(const char *name)
{
	unsigned int	i;

	for (i = 0; device_types[i] != NULL; i++)
		if (strcmp(device_types[i]->dt_name, name) == 0)
			return device_types[i];
	return NULL;
}
