/*
 * config.c - the builder of typed device configurations, the --device
 * front end, and the merge of global options.
 *
 * Every key is one row of a key table (struct dev_key): the common keys
 * below, and the type's dt_keys.  A value is checked against its row
 * once, here, for every front end; devices read typed values.
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
	NULL
};

const struct dev_key config_common_keys[CK_COUNT] = {
	[CK_NAME] = { .dk_name = "name", .dk_kind = DK_NAME,
	    .dk_help = "name in logs, status and LISTEN_FDNAMES (default: "
	    "the type)" },
	[CK_SOCKET] = { .dk_name = "socket", .dk_kind = DK_PATH,
	    .dk_alias = "socket-path",
	    .dk_help = "listen on a unix socket at this path" },
	[CK_FD] = { .dk_name = "fd", .dk_kind = DK_UINT, .dk_min = 3,
	    .dk_max = 65535, .dk_alias = "fd",
	    .dk_help = "serve this inherited listening socket instead" },
	[CK_RESTART] = { .dk_name = "restart", .dk_kind = DK_ENUM,
	    .dk_choices = restart_names, .dk_alias = "restart",
	    .dk_help = "start a new child when one exits (default always; "
	    "never for vhostd-TYPE)" },
	[CK_MODE] = { .dk_name = "mode", .dk_kind = DK_OCTAL, .dk_max = 0777,
	    .dk_default = "0600", .dk_help = "permissions of the socket file" },
	[CK_GROUP] = { .dk_name = "group", .dk_kind = DK_STRING,
	    .dk_help = "group of the socket file (name or number)" },
	[CK_USER] = { .dk_name = "user", .dk_kind = DK_STRING, .dk_max = 255,
	    .dk_help = "user[:group] the child runs as (default: a uid of "
	    "its own from --uid-range)" },
	[CK_MEMORY_MAX] = { .dk_name = "memory-max", .dk_kind = DK_SIZE,
	    .dk_max = 1ULL << 40,
	    .dk_help = "cap on the child's private memory, 0: none "
	    "(default: the type's, vhostd(8))" },
};

const char *
config_restart_name(enum restart_policy r)
{
	if ((unsigned int)r >= ARRAY_SIZE(restart_names) - 1)
		return "?";
	return restart_names[r];
}

const struct dev_key *
config_key_find(const struct device_type *dt, const char *name,
    unsigned int flags, bool *common, unsigned int *idx)
{
	const struct dev_key	*k;
	unsigned int		 i, pass;

	/* The names first, so an alias never hides a key. */
	for (pass = 0; pass < ((flags & CONFIG_ALIAS) ? 2 : 1); pass++) {
		for (i = 0; i < CK_COUNT; i++) {
			k = &config_common_keys[i];
			if (strcmp(pass ? (k->dk_alias ? k->dk_alias : "") :
			    k->dk_name, name) == 0) {
				*common = true;
				*idx = i;
				return k;
			}
		}
		for (i = 0; dt != NULL && i < dt->dt_nkeys; i++) {
			k = &dt->dt_keys[i];
			if (strcmp(pass ? (k->dk_alias ? k->dk_alias : "") :
			    k->dk_name, name) == 0) {
				*common = false;
				*idx = i;
				return k;
			}
		}
	}
	return NULL;
}

/* "SIZE" with an optional K, M, G or T suffix (powers of 1024). */
static int
parse_size(const char *v, uint64_t *out)
{
	char		 num[32];
	size_t		 n = strlen(v);
	unsigned int	 shift = 0;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, v, n + 1);
	switch (num[n - 1]) {
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	case 'T': case 't': shift = 40; break;
	default: break;
	}
	if (shift != 0)
		num[n - 1] = '\0';
	if (parse_u64(num, 0, UINT64_MAX >> shift, out) != 0)
		return -EINVAL;
	*out <<= shift;
	return 0;
}

static bool
valid_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 32)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.'))
			return false;
	return true;
}

/* "a, b or c" */
static void
choices_text(const struct dev_key *k, const char *sep,
    const char *sep_last, char *buf, size_t len)
{
	size_t		used = 0;
	unsigned int	i, n;

	buf[0] = '\0';
	for (n = 0; k->dk_choices[n] != NULL; n++)
		;
	for (i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
		    i == 0 ? "" : i + 1 == n ? sep_last : sep,
		    k->dk_choices[i]);
}

/*
 * Check val against row k and store it in *v.  The message, for
 * "key=val: ", is what is wrong.  0 or -EINVAL.
 */
static int
key_parse(const struct dev_key *k, const char *val, struct dev_value *v,
    char *err, size_t errlen)
{
	char		 buf[200], *end;
	unsigned long	 ul;
	unsigned int	 i;

	switch (k->dk_kind) {
	case DK_STRING:
		if (k->dk_max != 0 && strlen(val) > k->dk_max) {
			snprintf(err, errlen, "at most %llu bytes",
			    (unsigned long long)k->dk_max);
			return -EINVAL;
		}
		break;
	case DK_PATH:
		if (*val == '\0') {
			snprintf(err, errlen, "needs a path");
			return -EINVAL;
		}
		break;
	case DK_NAME:
		if (!valid_name(val)) {
			snprintf(err, errlen, "use 1-32 letters, digits, '-', "
			    "'_' or '.'");
			return -EINVAL;
		}
		break;
	case DK_BOOL:
		if (strcmp(val, "on") == 0)
			v->dv_u = 1;
		else if (strcmp(val, "off") == 0)
			v->dv_u = 0;
		else {
			snprintf(err, errlen, "expected on or off");
			return -EINVAL;
		}
		break;
	case DK_UINT:
		if (parse_u64(val, k->dk_min, k->dk_max, &v->dv_u) != 0) {
			snprintf(err, errlen, "expected a number from %llu to "
			    "%llu", (unsigned long long)k->dk_min,
			    (unsigned long long)k->dk_max);
			return -EINVAL;
		}
		break;
	case DK_SIZE:
		if (parse_size(val, &v->dv_u) != 0 || v->dv_u < k->dk_min ||
		    v->dv_u > k->dk_max) {
			snprintf(err, errlen, "expected a size such as 1G (at "
			    "least %llu bytes)", (unsigned long long)k->dk_min);
			return -EINVAL;
		}
		break;
	case DK_ENUM:
		for (i = 0; k->dk_choices[i] != NULL; i++)
			if (strcmp(val, k->dk_choices[i]) == 0)
				break;
		if (k->dk_choices[i] == NULL) {
			choices_text(k, ", ", " or ", buf, sizeof(buf));
			snprintf(err, errlen, "expected %s", buf);
			return -EINVAL;
		}
		v->dv_u = i;
		break;
	case DK_OCTAL:
		errno = 0;
		ul = strtoul(val, &end, 8);
		if (*val == '\0' || *val == '-' || *end != '\0' || errno != 0 ||
		    ul < k->dk_min || ul > k->dk_max) {
			snprintf(err, errlen, "expected an octal permission "
			    "such as 0660");
			return -EINVAL;
		}
		v->dv_u = ul;
		break;
	}
	free(v->dv_text);
	if ((v->dv_text = strdup(val)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static void
value_clear(struct dev_value *v)
{
	free(v->dv_text);
	memset(v, 0, sizeof(*v));
}

int
config_device_init(struct device_conf *dc, const char *type,
    enum restart_policy restart_default, const char *where, char *err,
    size_t errlen)
{
	memset(dc, 0, sizeof(*dc));
	dc->dc_fd = -1;
	dc->dc_gid = (gid_t)-1;
	dc->dc_restart = restart_default;
	snprintf(dc->dc_where, sizeof(dc->dc_where), "%s",
	    where != NULL ? where : "");
	if ((dc->dc_type = device_type_find(type)) == NULL) {
		snprintf(err, errlen, "unknown device type '%s'", type);
		return -EINVAL;
	}
	if (dc->dc_type->dt_nkeys > DEV_MAX_KEYS) {
		snprintf(err, errlen, "%s: too many keys in its table",
		    type);
		dc->dc_type = NULL;
		return -EINVAL;
	}
	dc->dc_opts.do_keys = dc->dc_type->dt_keys;
	dc->dc_opts.do_nkeys = dc->dc_type->dt_nkeys;
	return 0;
}

int
config_device_set(struct device_conf *dc, const char *key, const char *val,
    const char *src, unsigned int flags, char *err, size_t errlen)
{
	const struct dev_key	*k;
	struct dev_value	*v, nv;
	char			 why[256];
	const char		*pre = src != NULL ? src : "";
	const char		*sep = src != NULL ? ": " : "";
	unsigned int		 idx;
	bool			 common;
	int			 rc;

	if (dc->dc_type == NULL) {
		snprintf(err, errlen, "%s%sno device type", pre, sep);
		return -EINVAL;
	}
	if ((k = config_key_find(dc->dc_type, key, flags, &common, &idx)) ==
	    NULL) {
		snprintf(err, errlen, "%s%s%s: unknown key '%s'", pre, sep,
		    dc->dc_type->dt_name, key);
		return -ENOENT;
	}
	v = common ? &dc->dc_common[idx] : &dc->dc_opts.do_val[idx];
	if (v->dv_set) {
		snprintf(err, errlen, "%s%s%s=%s: %s given twice (first "
		    "%s=%s%s%s)", pre, sep, key, val, k->dk_name, k->dk_name,
		    v->dv_text, v->dv_src[0] != '\0' ? " at " : "",
		    v->dv_src);
		return -EINVAL;
	}
	memset(&nv, 0, sizeof(nv));
	if ((rc = key_parse(k, val, &nv, why, sizeof(why))) < 0) {
		value_clear(&nv);
		snprintf(err, errlen, "%s%s%s=%s: %s", pre, sep, key, val, why);
		return rc;
	}
	if (common && idx == CK_GROUP) {
		struct group	*gr;
		uint64_t	 g;

		if ((gr = getgrnam(val)) != NULL)
			nv.dv_u = gr->gr_gid;
		else if (parse_u64(val, 0, UINT32_MAX - 1, &g) == 0)
			nv.dv_u = g;
		else {
			value_clear(&nv);
			snprintf(err, errlen, "%s%s%s=%s: no such group", pre,
			    sep, key, val);
			return -EINVAL;
		}
	}
	nv.dv_set = true;
	snprintf(nv.dv_src, sizeof(nv.dv_src), "%s", src != NULL ? src : "");
	value_clear(v);
	*v = nv;
	return 0;
}

/* Defaults of the keys not given, from the rows' text. */
static int
apply_defaults(const struct dev_key *keys, unsigned int n,
    struct dev_value *vals, const char *type, char *err, size_t errlen)
{
	char		why[256];
	unsigned int	i;
	int		rc;

	for (i = 0; i < n; i++) {
		if (vals[i].dv_set || keys[i].dk_default == NULL)
			continue;
		if ((rc = key_parse(&keys[i], keys[i].dk_default, &vals[i],
		    why, sizeof(why))) < 0) {
			snprintf(err, errlen, "%s: default %s=%s: %s", type,
			    keys[i].dk_name, keys[i].dk_default, why);
			return rc;
		}
	}
	return 0;
}

int
config_device_finish(struct device_conf *dc, char *err, size_t errlen)
{
	const struct device_type	*dt = dc->dc_type;
	struct dev_value		*c = dc->dc_common;
	int				 rc;

	if (dt == NULL) {
		snprintf(err, errlen, "no device type");
		return -EINVAL;
	}
	if ((rc = apply_defaults(config_common_keys, CK_COUNT, c, "common",
	    err, errlen)) < 0 ||
	    (rc = apply_defaults(dt->dt_keys, dt->dt_nkeys,
	    dc->dc_opts.do_val, dt->dt_name, err, errlen)) < 0)
		return rc;
	/* Neither: a socket-activated fd named after the device. */
	if (c[CK_SOCKET].dv_set && c[CK_FD].dv_set) {
		snprintf(err, errlen, "%s: 'socket' and 'fd' both given; give "
		    "only one of socket=PATH or fd=N", dt->dt_name);
		return -EINVAL;
	}
	dc->dc_name = c[CK_NAME].dv_text != NULL ? c[CK_NAME].dv_text :
	    dt->dt_name;
	dc->dc_socket = c[CK_SOCKET].dv_text;
	dc->dc_fd = c[CK_FD].dv_set ? (int)c[CK_FD].dv_u : -1;
	if (c[CK_RESTART].dv_set)
		dc->dc_restart = (enum restart_policy)c[CK_RESTART].dv_u;
	dc->dc_mode = (mode_t)c[CK_MODE].dv_u;
	dc->dc_gid = c[CK_GROUP].dv_set ? (gid_t)c[CK_GROUP].dv_u :
	    (gid_t)-1;
	dc->dc_user = c[CK_USER].dv_text;
	dc->dc_mem_max = c[CK_MEMORY_MAX].dv_set ? c[CK_MEMORY_MAX].dv_u :
	    dt->dt_mem_limit;
	return 0;
}

/*
 * The next item of a --device specification from *pp into buf: up to a
 * single comma; ",," is a comma.  0 at the end, 1 with an item.
 */
static int
next_item(const char **pp, char *buf)
{
	const char	*p = *pp;
	size_t		 n = 0;

	if (p == NULL)
		return 0;
	for (;;) {
		if (*p == '\0') {
			*pp = NULL;
			break;
		}
		if (*p == ',') {
			if (p[1] == ',') {
				buf[n++] = ',';
				p += 2;
				continue;
			}
			*pp = p + 1;
			break;
		}
		buf[n++] = *p++;
	}
	buf[n] = '\0';
	return 1;
}

int
config_parse_device(const char *spec, enum restart_policy restart_default,
    struct device_conf *dc, char *err, size_t errlen)
{
	const char	*p = spec;
	char		*item, *eq;
	int		 rc;

	memset(dc, 0, sizeof(*dc));
	dc->dc_fd = -1;
	if (*spec == '\0') {
		snprintf(err, errlen, "empty device specification");
		return -EINVAL;
	}
	if ((item = malloc(strlen(spec) + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	(void)next_item(&p, item);
	if ((rc = config_device_init(dc, item, restart_default, "--device",
	    err, errlen)) < 0)
		goto fail;
	while (next_item(&p, item)) {
		if ((eq = strchr(item, '=')) == NULL) {
			snprintf(err, errlen, "'%s': expected key=value (a "
			    "comma in a value is written ,,)", item);
			rc = -EINVAL;
			goto fail;
		}
		*eq = '\0';
		if ((rc = config_device_set(dc, item, eq + 1, NULL, 0, err,
		    errlen)) < 0)
			goto fail;
	}
	if ((rc = config_device_finish(dc, err, errlen)) < 0)
		goto fail;
	free(item);
	return 0;
fail:
	free(item);
	config_device_free(dc);
	return rc == -ENOMEM ? -ENOMEM : -EINVAL;
}

void
config_device_free(struct device_conf *dc)
{
	unsigned int	i;

	for (i = 0; i < CK_COUNT; i++)
		value_clear(&dc->dc_common[i]);
	for (i = 0; i < DEV_MAX_KEYS; i++)
		value_clear(&dc->dc_opts.do_val[i]);
	memset(dc, 0, sizeof(*dc));
	dc->dc_fd = -1;
}

static bool
str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Equal typed values of row k (present or not, then value or text). */
static bool
value_equal(const struct dev_key *k, const struct dev_value *a,
    const struct dev_value *b)
{
	if ((a->dv_text == NULL) != (b->dv_text == NULL))
		return false;
	if (a->dv_text == NULL)
		return true;
	switch (k->dk_kind) {
	case DK_STRING:
	case DK_PATH:
	case DK_NAME:
		return strcmp(a->dv_text, b->dv_text) == 0;
	default:
		return a->dv_u == b->dv_u;
	}
}

bool
device_conf_equal(const struct device_conf *a, const struct device_conf *b)
{
	unsigned int	i;

	if (a->dc_type != b->dc_type || a->dc_type == NULL)
		return false;
	if (!str_equal(a->dc_name, b->dc_name) ||
	    !str_equal(a->dc_socket, b->dc_socket) || a->dc_fd != b->dc_fd ||
	    a->dc_restart != b->dc_restart || a->dc_mode != b->dc_mode ||
	    a->dc_gid != b->dc_gid || !str_equal(a->dc_user, b->dc_user) ||
	    a->dc_mem_max != b->dc_mem_max)
		return false;
	for (i = 0; i < a->dc_type->dt_nkeys; i++)
		if (!value_equal(&a->dc_type->dt_keys[i],
		    &a->dc_opts.do_val[i], &b->dc_opts.do_val[i]))
			return false;
	return true;
}

/* "PATH", "on|off", "1-16", ... for --help. */
static void
key_meta(const struct dev_key *k, char *buf, size_t len)
{
	switch (k->dk_kind) {
	case DK_STRING:
		snprintf(buf, len, "TEXT");
		break;
	case DK_PATH:
		snprintf(buf, len, "PATH");
		break;
	case DK_NAME:
		snprintf(buf, len, "NAME");
		break;
	case DK_BOOL:
		snprintf(buf, len, "on|off");
		break;
	case DK_UINT:
		snprintf(buf, len, "%llu-%llu", (unsigned long long)k->dk_min,
		    (unsigned long long)k->dk_max);
		break;
	case DK_SIZE:
		snprintf(buf, len, "SIZE");
		break;
	case DK_ENUM:
		choices_text(k, "|", "|", buf, len);
		break;
	case DK_OCTAL:
		snprintf(buf, len, "OCTAL");
		break;
	}
}

void
config_print_keys(FILE *f, const struct device_type *dt, bool backend)
{
	const struct dev_key	*keys = dt != NULL ? dt->dt_keys :
	    config_common_keys;
	unsigned int		 n = dt != NULL ? dt->dt_nkeys : CK_COUNT, i;
	char			 meta[128], left[192];

	for (i = 0; i < n; i++) {
		const struct dev_key *k = &keys[i];

		key_meta(k, meta, sizeof(meta));
		if (backend && k->dk_kind == DK_BOOL)
			snprintf(left, sizeof(left), "--%s[=%s]",
			    k->dk_alias != NULL ? k->dk_alias : k->dk_name,
			    meta);
		else
			snprintf(left, sizeof(left), "%s%s=%s",
			    backend ? "--" : "", backend && k->dk_alias != NULL ?
			    k->dk_alias : k->dk_name, meta);
		if (strlen(left) > 26)
			fprintf(f, "  %s\n  %-26s %s", left, "", k->dk_help);
		else
			fprintf(f, "  %-26s %s", left, k->dk_help);
		if (k->dk_default != NULL)
			fprintf(f, " (default %s)", k->dk_default);
		if (!backend && k->dk_alias != NULL &&
		    strcmp(k->dk_alias, k->dk_name) != 0)
			fprintf(f, " [--%s]", k->dk_alias);
		fputc('\n', f);
	}
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

void
config_global_init(struct global_opts *g)
{
	memset(g, 0, sizeof(*g));
	g->go_grace = -1;
	g->go_verbose = -1;
	g->go_no_sandbox = -1;
}

#define PICK(f)	(out->f = cli->f != NULL ? cli->f : file->f)
#define PICKN(f) (out->f = cli->f >= 0 ? cli->f : file->f)

void
config_global_merge(const struct global_opts *cli,
    const struct global_opts *file, struct global_opts *out)
{
	const struct global_opts	*u, *j;

	PICK(go_user);
	PICK(go_seccomp);
	PICK(go_policy_dir);
	PICK(go_jail_disable);
	PICK(go_log);
	PICK(go_restart_limit);
	PICK(go_control);
	PICK(go_uid_range);
	PICKN(go_grace);
	PICKN(go_verbose);
	PICKN(go_no_sandbox);
	u = cli->go_user != NULL ? cli : file;
	j = cli->go_jail_disable != NULL ? cli : file;
	memcpy(out->go_user_where, u->go_user_where,
	    sizeof(out->go_user_where));
	memcpy(out->go_jail_disable_where, j->go_jail_disable_where,
	    sizeof(out->go_jail_disable_where));
	j = cli->go_uid_range != NULL ? cli : file;
	memcpy(out->go_uid_range_where, j->go_uid_range_where,
	    sizeof(out->go_uid_range_where));
}
