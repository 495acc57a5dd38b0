/*
 * escape_common.c - shared by the escape devices: attempt= before a real
 * device's plain data, and the child's run of its attempts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

#include "escape_common.h"

int
escape_res_wrap(struct device_res *res, const char *only, char *err,
    size_t errlen)
{
	char		 hdr[ESCAPE_ONLY_LEN];
	unsigned char	*blob;
	int		 rc;

	memset(hdr, 0, sizeof(hdr));
	snprintf(hdr, sizeof(hdr), "%s", only);
	if ((blob = malloc(sizeof(hdr) + res->dr_len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(blob, hdr, sizeof(hdr));
	memcpy(blob + sizeof(hdr), res->dr_data, res->dr_len);
	rc = device_res_set_data(res, blob, sizeof(hdr) + res->dr_len);
	free(blob);
	return rc;
}

int
escape_res_unwrap(const struct device_child_res *res, char *only,
    struct device_child_res *rest)
{
	if (res->cr_len < ESCAPE_ONLY_LEN)
		return -EINVAL;
	memcpy(only, res->cr_data, ESCAPE_ONLY_LEN);
	only[ESCAPE_ONLY_LEN - 1] = '\0';
	*rest = *res;
	rest->cr_data = (const unsigned char *)res->cr_data + ESCAPE_ONLY_LEN;
	rest->cr_len = res->cr_len - ESCAPE_ONLY_LEN;
	return 0;
}

bool
escape_selected(const char *only, const char *name, bool in_run)
{
	if (only[0] != '\0' ? strcmp(only, name) != 0 : !in_run)
		return false;
	log_info("escape: trying %s", name);
	return true;
}

void
escape_tried(const char *name, bool succeeded, unsigned int *n,
    unsigned int *got)
{
	(*n)++;
	if (succeeded) {
		(*got)++;
		log_warnx("escape: attempt %s SUCCEEDED", name);
	}
}

int
escape_report(unsigned int n, unsigned int got)
{
	log_info("escape: %u attempts, %u succeeded", n, got);
	if (got == 0)
		_exit(0);
	return -EPERM;
}
