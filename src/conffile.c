/*
 * conffile.c - "key = value" lines, [NAME] sections, # comments.
 *
 * A thin front end of the configuration builder (config.h): each section
 * is collected (so that type = may come anywhere in it), then built key
 * by key with config_device_set(), passing "file:line" as the source, so
 * the file and the command line accept exactly the same keys and values,
 * and every error names the line and the key as written.  Values are
 * taken as written (commas included).  Global options are one row each
 * in global_keys.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "util/log.h"

#define KEYS_MAX	(CK_COUNT + DEV_MAX_KEYS + 8)

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

/* Global options: the value's check, and where it goes. */
enum gkind { G_STR, G_SECCOMP, G_LOG, G_LIMIT, G_SECS, G_LEVEL, G_SANDBOX };

static const struct gkey {
	const char	*g_name;
	enum gkind	 g_kind;
	size_t		 g_off;		/* in struct global_opts */
} global_keys[] = {
	{ "user",		G_STR,	offsetof(struct global_opts, go_user) },
	{ "seccomp",		G_SECCOMP,
	    offsetof(struct global_opts, go_seccomp) },
	{ "policy-dir",		G_STR,
	    offsetof(struct global_opts, go_policy_dir) },
	{ "jail-disable",	G_STR,
	    offsetof(struct global_opts, go_jail_disable) },
	{ "log",		G_LOG,	offsetof(struct global_opts, go_log) },
	{ "restart-limit",	G_LIMIT,
	    offsetof(struct global_opts, go_restart_limit) },
	{ "control",		G_STR,
	    offsetof(struct global_opts, go_control) },
	{ "uid-range",		G_STR,
	    offsetof(struct global_opts, go_uid_range) },
	{ "grace",		G_SECS, offsetof(struct global_opts, go_grace) },
	{ "verbose",		G_LEVEL,
	    offsetof(struct global_opts, go_verbose) },
	{ "sandbox",		G_SANDBOX,
	    offsetof(struct global_opts, go_no_sandbox) },
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

static int
cf_grow(struct conffile *cf)
{
	struct device_conf	*nd;
	unsigned int		 cap;

	if (cf->cf_ndev < cf->cf_cap)
		return 0;
	cap = cf->cf_cap == 0 ? 8 : cf->cf_cap * 2;
	if ((nd = reallocarray(cf->cf_dev, cap, sizeof(*nd))) == NULL)
		return -ENOMEM;
	cf->cf_dev = nd;
	cf->cf_cap = cap;
	return 0;
}

/* msg without its leading "src: ". */
static const char *
strip_src(const char *msg, const char *src)
{
	size_t	n = strlen(src);

	if (strncmp(msg, src, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
		return msg + n + 2;
	return msg;
}

/* Turn a finished section into a device. */
static int
section_finish(struct section *sec, struct conffile *cf, const char *name,
    char *err, size_t errlen)
{
	struct device_conf	*dc;
	char			 src[96], msg[512];
	unsigned int		 i;
	int			 rc;

	if (sec->name[0] == '\0')
		return 0;
	if (sec->type == NULL) {
		snprintf(err, errlen, "%s:%d: [%s] has no type = line", name,
		    sec->line, sec->name);
		return -EINVAL;
	}
	if (cf_grow(cf) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	dc = &cf->cf_dev[cf->cf_ndev];
	snprintf(src, sizeof(src), "%s:%d", name, sec->line);
	if ((rc = config_device_init(dc, sec->type, RESTART_ALWAYS, src, msg,
	    sizeof(msg))) < 0) {
		snprintf(err, errlen, "%s:%d: [%s] %s", name, sec->type_line,
		    sec->name, msg);
		goto fail;
	}
	/* The header names the device. */
	if ((rc = config_device_set(dc, "name", sec->name, src, 0, msg,
	    sizeof(msg))) < 0) {
		snprintf(err, errlen, "%s:%d: [%s] %s", name, sec->line,
		    sec->name, strip_src(msg, src));
		goto fail;
	}
	for (i = 0; i < sec->n; i++) {
		snprintf(src, sizeof(src), "%s:%d", name, sec->lines[i]);
		if ((rc = config_device_set(dc, sec->keys[i], sec->vals[i],
		    src, 0, msg, sizeof(msg))) < 0) {
			snprintf(err, errlen, "%s:%d: [%s] %s", name,
			    sec->lines[i], sec->name, strip_src(msg, src));
			goto fail;
		}
	}
	if ((rc = config_device_finish(dc, msg, sizeof(msg))) < 0) {
		/* Rules across keys: the line of the last key. */
		snprintf(err, errlen, "%s:%d: [%s] %s", name,
		    sec->n > 0 ? sec->lines[sec->n - 1] : sec->line,
		    sec->name, msg);
		goto fail;
	}
	cf->cf_ndev++;
	return 0;
fail:
	config_device_free(dc);
	return rc == -ENOMEM ? -ENOMEM : -EINVAL;
}

static int
global_option(struct conffile *cf, int *seen, const char *key,
    const char *val, const char *name, int line, char *err, size_t errlen)
{
	struct global_opts	*g = &cf->cf_opts;
	const struct gkey	*gk = NULL;
	char			**slot;
	int			*num;
	uint64_t		 v, max;
	unsigned int		 i;

	for (i = 0; i < ARRAY_SIZE(global_keys); i++)
		if (strcmp(global_keys[i].g_name, key) == 0) {
			gk = &global_keys[i];
			break;
		}
	if (gk == NULL) {
		snprintf(err, errlen, "%s:%d: unknown global option '%s' "
		    "(device keys belong in a [NAME] section)", name, line,
		    key);
		return -EINVAL;
	}
	if (seen[i] != 0) {
		snprintf(err, errlen, "%s:%d: %s = %s: %s given twice (first "
		    "at %s:%d)", name, line, key, val, key, name, seen[i]);
		return -EINVAL;
	}
	seen[i] = line;
	slot = (char **)(void *)((char *)g + gk->g_off);
	num = (int *)(void *)((char *)g + gk->g_off);
	switch (gk->g_kind) {
	case G_SECCOMP:
		if (strcmp(val, "kill") != 0 && strcmp(val, "trap") != 0 &&
		    strcmp(val, "log") != 0) {
			snprintf(err, errlen, "%s:%d: seccomp = %s: expected "
			    "kill, trap or log", name, line, val);
			return -EINVAL;
		}
		break;
	case G_LOG:
		if (strcmp(val, "stderr") != 0 && strcmp(val, "syslog") != 0) {
			snprintf(err, errlen, "%s:%d: log = %s: expected "
			    "stderr or syslog", name, line, val);
			return -EINVAL;
		}
		break;
	case G_LIMIT:
		if (config_parse_restart_limit(val, NULL, NULL) < 0) {
			snprintf(err, errlen, "%s:%d: restart-limit = %s: "
			    "expected N/SECONDS, e.g. 10/60", name, line, val);
			return -EINVAL;
		}
		break;
	case G_SECS:
	case G_LEVEL:
		max = gk->g_kind == G_SECS ? CONFIG_GRACE_MAX_S : LOG_V_RING;
		if (parse_u64(val, 0, max, &v) < 0) {
			snprintf(err, errlen, "%s:%d: %s = %s: expected a "
			    "number (%s0-%llu)", name, line, key, val,
			    gk->g_kind == G_SECS ? "seconds, " : "",
			    (unsigned long long)max);
			return -EINVAL;
		}
		*num = (int)v;
		return 0;
	case G_SANDBOX:
		if (strcmp(val, "yes") == 0)
			*num = 0;
		else if (strcmp(val, "no") == 0)
			*num = 1;
		else {
			snprintf(err, errlen, "%s:%d: sandbox = %s: expected "
			    "yes or no", name, line, val);
			return -EINVAL;
		}
		return 0;
	case G_STR:
		if (*val == '\0') {
			snprintf(err, errlen, "%s:%d: %s = needs a value", name,
			    line, key);
			return -EINVAL;
		}
		break;
	}
	if (slot == &g->go_user)
		snprintf(g->go_user_where, sizeof(g->go_user_where),
		    "%s:%d: user = %s", name, line, val);
	if (slot == &g->go_jail_disable)
		snprintf(g->go_jail_disable_where,
		    sizeof(g->go_jail_disable_where),
		    "%s:%d: jail-disable = %s", name, line, val);
	if (slot == &g->go_uid_range)
		snprintf(g->go_uid_range_where,
		    sizeof(g->go_uid_range_where),
		    "%s:%d: uid-range = %s", name, line, val);
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
	int		 seen[ARRAY_SIZE(global_keys)] = { 0 };
	unsigned int	 i;
	int		 lineno = 0, rc = 0;

	memset(cf, 0, sizeof(*cf));
	memset(&sec, 0, sizeof(sec));
	config_global_init(&cf->cf_opts);
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
					    "[%s] defined twice (first at %s)",
					    name, lineno, sec.name,
					    cf->cf_dev[i].dc_where);
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
			if ((rc = global_option(cf, seen, key, val, name,
			    lineno, err, errlen)) < 0)
				goto out;
			continue;
		}
		if (strcmp(key, "type") == 0) {
			if (sec.type != NULL) {
				snprintf(err, errlen, "%s:%d: [%s] type = %s: "
				    "type given twice (first at %s:%d)", name,
				    lineno, sec.name, val, name, sec.type_line);
				rc = -EINVAL;
				goto out;
			}
			if ((sec.type = strdup(val)) == NULL) {
				rc = -ENOMEM;
				snprintf(err, errlen, "out of memory");
				goto out;
			}
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
		if (sec.keys[sec.n] == NULL || sec.vals[sec.n] == NULL) {
			sec.n++;
			rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
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
		config_global_init(&cf->cf_opts);
		return rc;
	}
	rc = conffile_parse(f, path, cf, err, errlen);
	fclose(f);
	return rc;
}

void
conffile_free(struct conffile *cf)
{
	struct global_opts	*g = &cf->cf_opts;
	unsigned int		 i;

	for (i = 0; i < cf->cf_ndev; i++)
		config_device_free(&cf->cf_dev[i]);
	free(cf->cf_dev);
	free(g->go_user);
	free(g->go_seccomp);
	free(g->go_policy_dir);
	free(g->go_jail_disable);
	free(g->go_log);
	free(g->go_restart_limit);
	free(g->go_control);
	free(g->go_uid_range);
	memset(cf, 0, sizeof(*cf));
	config_global_init(&cf->cf_opts);
}
