/*
 * conffile.c - "key = value" lines, [NAME] sections, # comments.
 *
 * Each section becomes one --device specification
 * "TYPE,name=NAME,key=value,..." parsed by config_parse_device(), so the
 * file and the command line accept exactly the same keys.  Errors name the
 * line of the offending key.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"

#define SPEC_MAX	4096
#define KEYS_MAX	(CONFIG_MAX_OPTS + 8)

struct section {
	char		 name[64];
	int		 line;		/* of the [NAME] header */
	char		*type;
	int		 type_line;
	char		*keys[KEYS_MAX];
	char		*vals[KEYS_MAX];
	int		 lines[KEYS_MAX];
	unsigned int	 n;
};

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static void
section_clear(struct section *sec)
{
	unsigned int	i;

	free(sec->type);
	for (i = 0; i < sec->n; i++) {
		free(sec->keys[i]);
		free(sec->vals[i]);
	}
	memset(sec, 0, sizeof(*sec));
}

/* Turn a finished section into a device. */
static int
section_finish(struct section *sec, struct conffile *cf, const char *name,
    char *err, size_t errlen)
{
	char		spec[SPEC_MAX], msg[512];
	size_t		used;
	unsigned int	i;
	int		line;

	if (sec->name[0] == '\0')
		return 0;
	if (sec->type == NULL) {
		snprintf(err, errlen, "%s:%d: [%s] has no type = line", name,
		    sec->line, sec->name);
		return -EINVAL;
	}
	if (cf->cf_ndev == CONFFILE_MAX_DEVICES) {
		snprintf(err, errlen, "%s:%d: too many devices (max %d)", name,
		    sec->line, CONFFILE_MAX_DEVICES);
		return -EINVAL;
	}
	used = (size_t)snprintf(spec, sizeof(spec), "%s,name=%s", sec->type,
	    sec->name);
	for (i = 0; i < sec->n; i++) {
		if (strchr(sec->vals[i], ',') != NULL) {
			snprintf(err, errlen, "%s:%d: %s: commas are not "
			    "allowed in values", name, sec->lines[i],
			    sec->keys[i]);
			return -EINVAL;
		}
		used += (size_t)snprintf(spec + used, sizeof(spec) - used,
		    ",%s=%s", sec->keys[i], sec->vals[i]);
		if (used >= sizeof(spec)) {
			snprintf(err, errlen, "%s:%d: section too long", name,
			    sec->line);
			return -EINVAL;
		}
	}
	if (config_parse_device(spec, RESTART_ALWAYS,
	    &cf->cf_dev[cf->cf_ndev], msg, sizeof(msg)) < 0) {
		/* Point at the line of the key the message names. */
		line = sec->line;
		if (strstr(msg, "device type") != NULL)
			line = sec->type_line;
		for (i = 0; i < sec->n; i++) {
			char	pat[80];

			snprintf(pat, sizeof(pat), "'%s'", sec->keys[i]);
			if (strstr(msg, pat) != NULL ||
			    strncmp(msg, sec->keys[i], strlen(sec->keys[i])) == 0)
				line = sec->lines[i];
		}
		snprintf(err, errlen, "%s:%d: [%s] %s", name, line, sec->name,
		    msg);
		return -EINVAL;
	}
	cf->cf_ndev++;
	return 0;
}

static int
global_option(struct conffile *cf, const char *key, const char *val,
    const char *name, int line, char *err, size_t errlen)
{
	char	**slot = NULL;
	uint64_t v;

	if (strcmp(key, "user") == 0)
		slot = &cf->cf_user;
	else if (strcmp(key, "seccomp") == 0)
		slot = &cf->cf_seccomp;
	else if (strcmp(key, "policy-dir") == 0)
		slot = &cf->cf_policy_dir;
	else if (strcmp(key, "jail-disable") == 0)
		slot = &cf->cf_jail_disable;
	else if (strcmp(key, "log") == 0)
		slot = &cf->cf_log;
	else if (strcmp(key, "restart-limit") == 0) {
		if (config_parse_restart_limit(val, NULL, NULL) < 0) {
			snprintf(err, errlen, "%s:%d: restart-limit = %s: "
			    "expected N/SECONDS, e.g. 10/60", name, line, val);
			return -EINVAL;
		}
		slot = &cf->cf_restart_limit;
	}
	else if (strcmp(key, "grace") == 0 || strcmp(key, "verbose") == 0) {
		if (parse_u64(val, 0, 3600, &v) < 0) {
			snprintf(err, errlen, "%s:%d: %s = %s: expected a "
			    "number", name, line, key, val);
			return -EINVAL;
		}
		if (key[0] == 'g')
			cf->cf_grace = (int)v;
		else
			cf->cf_verbose = (int)v;
		return 0;
	} else if (strcmp(key, "sandbox") == 0) {
		if (strcmp(val, "yes") == 0)
			cf->cf_no_sandbox = 0;
		else if (strcmp(val, "no") == 0)
			cf->cf_no_sandbox = 1;
		else {
			snprintf(err, errlen, "%s:%d: sandbox = %s: expected "
			    "yes or no", name, line, val);
			return -EINVAL;
		}
		return 0;
	} else {
		snprintf(err, errlen, "%s:%d: unknown global option '%s' "
		    "(device keys belong in a [NAME] section)", name, line,
		    key);
		return -EINVAL;
	}
	free(*slot);
	if ((*slot = strdup(val)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int
conffile_parse(FILE *f, const char *name, struct conffile *cf, char *err,
    size_t errlen)
{
	struct section	 sec;
	char		 buf[4096], *line, *eq, *key, *val, *end, *hash;
	unsigned int	 i;
	int		 lineno = 0, rc = 0;

	memset(cf, 0, sizeof(*cf));
	memset(&sec, 0, sizeof(sec));
	cf->cf_grace = -1;
	cf->cf_verbose = -1;
	cf->cf_no_sandbox = -1;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		lineno++;
		if (strchr(buf, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", name,
			    lineno);
			rc = -EINVAL;
			goto out;
		}
		if ((hash = strchr(buf, '#')) != NULL)
			*hash = '\0';
		line = trim(buf);
		if (*line == '\0')
			continue;
		if (*line == '[') {
			if ((rc = section_finish(&sec, cf, name, err,
			    errlen)) < 0)
				goto out;
			section_clear(&sec);
			end = strchr(line, ']');
			if (end == NULL || end[1] != '\0' || end == line + 1 ||
			    (size_t)(end - line - 1) >= sizeof(sec.name)) {
				snprintf(err, errlen, "%s:%d: expected [NAME]",
				    name, lineno);
				rc = -EINVAL;
				goto out;
			}
			*end = '\0';
			snprintf(sec.name, sizeof(sec.name), "%s", trim(line + 1));
			sec.line = lineno;
			for (i = 0; i < cf->cf_ndev; i++)
				if (strcmp(cf->cf_dev[i].dc_name, sec.name) == 0) {
					snprintf(err, errlen, "%s:%d: device "
					    "[%s] defined twice", name, lineno,
					    sec.name);
					rc = -EINVAL;
					goto out;
				}
			continue;
		}
		if ((eq = strchr(line, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected key = value or "
			    "[NAME]", name, lineno);
			rc = -EINVAL;
			goto out;
		}
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		if (*key == '\0') {
			snprintf(err, errlen, "%s:%d: missing key before '='",
			    name, lineno);
			rc = -EINVAL;
			goto out;
		}
		if (sec.name[0] == '\0') {
			if ((rc = global_option(cf, key, val, name, lineno,
			    err, errlen)) < 0)
				goto out;
			continue;
		}
		if (strcmp(key, "type") == 0) {
			free(sec.type);
			sec.type = strdup(val);
			sec.type_line = lineno;
			continue;
		}
		if (strcmp(key, "name") == 0) {
			snprintf(err, errlen, "%s:%d: the section header names "
			    "the device; remove name =", name, lineno);
			rc = -EINVAL;
			goto out;
		}
		if (sec.n == KEYS_MAX) {
			snprintf(err, errlen, "%s:%d: too many keys", name,
			    lineno);
			rc = -EINVAL;
			goto out;
		}
		sec.keys[sec.n] = strdup(key);
		sec.vals[sec.n] = strdup(val);
		sec.lines[sec.n] = lineno;
		sec.n++;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", name);
		rc = -EIO;
		goto out;
	}
	rc = section_finish(&sec, cf, name, err, errlen);
out:
	section_clear(&sec);
	if (rc < 0)
		conffile_free(cf);
	return rc;
}

int
conffile_load(const char *path, struct conffile *cf, char *err,
    size_t errlen)
{
	FILE	*f;
	int	 rc;

	if ((f = fopen(path, "re")) == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		memset(cf, 0, sizeof(*cf));
		return rc;
	}
	rc = conffile_parse(f, path, cf, err, errlen);
	fclose(f);
	return rc;
}

void
conffile_free(struct conffile *cf)
{
	unsigned int	i;

	for (i = 0; i < cf->cf_ndev; i++)
		config_device_free(&cf->cf_dev[i]);
	free(cf->cf_user);
	free(cf->cf_seccomp);
	free(cf->cf_policy_dir);
	free(cf->cf_jail_disable);
	free(cf->cf_log);
	free(cf->cf_restart_limit);
	memset(cf, 0, sizeof(*cf));
}
