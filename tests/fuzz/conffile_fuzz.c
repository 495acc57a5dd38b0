/*
 * conffile_fuzz.c - libFuzzer target for the configuration file parser
 * (src/conffile.c, vhostd.conf(5)): the input is the file.
 *
 * Besides crashes and sanitizer reports, a finding is a result that
 * breaks the parser's contract: a failure without a "name:line" message
 * or with a non-empty table, a success with a device that has no type or
 * name, two devices of the same name, or more devices than the table
 * holds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "util/log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool	 inited;
	struct conffile	 cf;
	char		 err[512];
	unsigned int	 i, j;
	FILE		*f;
	int		 rc;

	if (!inited) {
		log_init(-1, LOG_TO_STDERR, "conffile_fuzz");
		inited = true;
	}
	if (size == 0 || (f = fmemopen((void *)(uintptr_t)data, size,
	    "r")) == NULL)
		return 0;
	err[0] = '\0';
	rc = conffile_parse(f, "fuzz.conf", &cf, err, sizeof(err));
	fclose(f);
	if (rc < 0) {
		if (strncmp(err, "fuzz.conf", 9) != 0 || cf.cf_ndev != 0)
			abort();
		return 0;
	}
	if (rc != 0 || (cf.cf_ndev > 0 && cf.cf_dev == NULL))
		abort();
	for (i = 0; i < cf.cf_ndev; i++) {
		if (cf.cf_dev[i].dc_type == NULL ||
		    cf.cf_dev[i].dc_name == NULL ||
		    !device_conf_equal(&cf.cf_dev[i], &cf.cf_dev[i]))
			abort();
		for (j = 0; j < i; j++)
			if (strcmp(cf.cf_dev[i].dc_name,
			    cf.cf_dev[j].dc_name) == 0)
				abort();
	}
	conffile_free(&cf);
	return 0;
}
