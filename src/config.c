/*
 * config.c - --device TYPE,key=value,... parsing.
 *
 * Common keys: socket=PATH or fd=N (exactly one), restart=never|on-failure|
 * always, name=NAME, mode=OCTAL (socket permissions), group=GROUP.  Every
 * other key must be one the device type declares.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static const char *const restart_names[] = {
	[RESTART_NEVER] = "never",
	[RESTART_ON_FAILURE] = "on-failure",
	[RESTART_ALWAYS] = "always",
};

const char *
config_restart_name(enum restart_policy r)
{
	if ((unsigned int)r >= ARRAY_SIZE(restart_names))
		return "?";
	return restart_names[r];
}

static int
type_has_key(const struct device_type *dt, const char *key)
{
	unsigned int	i;

	if (dt->dt_keys == NULL)
		return 0;
	for (i = 0; dt->dt_keys[i] != NULL; i++)
		if (strcmp(dt->dt_keys[i], key) == 0)
			return 1;
	return 0;
}

static int
valid_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 32)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.'))
			return 0;
	return 1;
}

static int
parse_common(struct device_conf *dc, const char *key, const char *val,
    char *err, size_t errlen)
{
	struct group	*gr;
	uint64_t	 v;
	char		*end;
	unsigned long	 mode;
	unsigned int	 i;

	if (strcmp(key, "socket") == 0) {
		if (*val == '\0') {
			snprintf(err, errlen, "socket= needs a path");
			return -EINVAL;
		}
		dc->dc_socket = val;
	} else if (strcmp(key, "fd") == 0) {
		if (parse_u64(val, 3, 65535, &v) < 0) {
			snprintf(err, errlen, "fd=%s: not a descriptor number "
			    ">= 3", val);
			return -EINVAL;
		}
		dc->dc_fd = (int)v;
	} else if (strcmp(key, "restart") == 0) {
		for (i = 0; i < ARRAY_SIZE(restart_names); i++)
			if (strcmp(val, restart_names[i]) == 0)
				break;
		if (i == ARRAY_SIZE(restart_names)) {
			snprintf(err, errlen, "restart=%s: expected never, "
			    "on-failure or always", val);
			return -EINVAL;
		}
		dc->dc_restart = (enum restart_policy)i;
	} else if (strcmp(key, "name") == 0) {
		if (!valid_name(val)) {
			snprintf(err, errlen, "name=%s: use 1-32 letters, "
			    "digits, '-', '_' or '.'", val);
			return -EINVAL;
		}
		dc->dc_name = val;
	} else if (strcmp(key, "mode") == 0) {
		errno = 0;
		mode = strtoul(val, &end, 8);
		if (*val == '\0' || *end != '\0' || errno != 0 ||
		    mode > 0777) {
			snprintf(err, errlen, "mode=%s: expected an octal "
			    "permission such as 0660", val);
			return -EINVAL;
		}
		dc->dc_mode = (mode_t)mode;
	} else if (strcmp(key, "group") == 0) {
		if ((gr = getgrnam(val)) != NULL)
			dc->dc_gid = gr->gr_gid;
		else if (parse_u64(val, 0, UINT32_MAX - 1, &v) == 0)
			dc->dc_gid = (gid_t)v;
		else {
			snprintf(err, errlen, "group=%s: no such group", val);
			return -EINVAL;
		}
	} else
		return 1;	/* not a common key */
	return 0;
}

int
config_parse_device(const char *spec, enum restart_policy restart_default,
    struct device_conf *dc, char *err, size_t errlen)
{
	char		*p, *tok, *save = NULL, *eq;
	int		 rc, first = 1;

	memset(dc, 0, sizeof(*dc));
	dc->dc_fd = -1;
	dc->dc_restart = restart_default;
	dc->dc_mode = 0600;
	dc->dc_gid = (gid_t)-1;
	if ((dc->dc_spec = strdup(spec)) == NULL ||
	    (dc->dc_orig = strdup(spec)) == NULL) {
		free(dc->dc_spec);
		dc->dc_spec = NULL;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (p = dc->dc_spec; (tok = strtok_r(p, ",", &save)) != NULL;
	    p = NULL) {
		if (first) {
			first = 0;
			if ((dc->dc_type = device_type_find(tok)) == NULL) {
				snprintf(err, errlen, "unknown device type "
				    "'%s'", tok);
				goto fail;
			}
			continue;
		}
		if ((eq = strchr(tok, '=')) == NULL) {
			snprintf(err, errlen, "'%s': expected key=value", tok);
			goto fail;
		}
		*eq = '\0';
		rc = parse_common(dc, tok, eq + 1, err, errlen);
		if (rc < 0)
			goto fail;
		if (rc == 0)
			continue;
		if (!type_has_key(dc->dc_type, tok)) {
			snprintf(err, errlen, "%s: unknown key '%s'",
			    dc->dc_type->dt_name, tok);
			goto fail;
		}
		if (dc->dc_nopts == CONFIG_MAX_OPTS) {
			snprintf(err, errlen, "too many keys");
			goto fail;
		}
		dc->dc_opts[dc->dc_nopts].key = tok;
		dc->dc_opts[dc->dc_nopts].value = eq + 1;
		dc->dc_nopts++;
	}
	if (dc->dc_type == NULL) {
		snprintf(err, errlen, "empty device specification");
		goto fail;
	}
	/* Neither: a socket-activated fd named after the device. */
	if (dc->dc_socket != NULL && dc->dc_fd >= 0) {
		snprintf(err, errlen, "%s: 'socket' and 'fd' both given; "
		    "give only one of socket=PATH or fd=N",
		    dc->dc_type->dt_name);
		goto fail;
	}
	if (dc->dc_name == NULL)
		dc->dc_name = dc->dc_type->dt_name;
	return 0;
fail:
	config_device_free(dc);
	return -EINVAL;
}

void
config_device_free(struct device_conf *dc)
{
	free(dc->dc_spec);
	free(dc->dc_orig);
	memset(dc, 0, sizeof(*dc));
	dc->dc_fd = -1;
}

int
config_parse_restart_limit(const char *s, unsigned int *count,
    unsigned int *secs)
{
	char		 buf[64], *slash;
	uint64_t	 n, t = 1;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, strlen(s) + 1);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash = '\0';
	if (parse_u64(buf, 0, 1000, &n) < 0)
		return -EINVAL;
	if (slash != NULL && parse_u64(slash + 1, 1, 86400, &t) < 0)
		return -EINVAL;
	if (slash == NULL && n != 0)
		return -EINVAL;
	if (count != NULL)
		*count = (unsigned int)n;
	if (secs != NULL)
		*secs = (unsigned int)t;
	return 0;
}
