/*
 * main.c - vhostd command line.
 *
 *   vhostd [options] --device TYPE,socket=PATH[,key=value...] ...
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conffile.h"
#include "config.h"
#include "host/ctl.h"
#include "host/supervisor.h"
#include "util/fdinherit.h"
#include "util/log.h"

/* Set by the Makefile (git describe at build time); a plain build: */
#ifndef VHOSTD_VERSION
#define VHOSTD_VERSION	"0.1"
#endif

enum {
	OPT_LOG = 256,
	OPT_NO_SANDBOX,
	OPT_SECCOMP,
	OPT_POLICY_DIR,
	OPT_USER,
	OPT_GRACE,
	OPT_RESTART_LIMIT,
	OPT_JAIL_DISABLE,
	OPT_READY_FD,
	OPT_CONTROL,
	OPT_UID_RANGE,
	OPT_VERSION
};

static const struct option long_opts[] = {
	{ "device",		required_argument,	NULL, 'd' },
	{ "config",		required_argument,	NULL, 'c' },
	{ "check",		no_argument,		NULL, 'n' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "help",		no_argument,		NULL, 'h' },
	{ "log",		required_argument,	NULL, OPT_LOG },
	{ "no-sandbox",		no_argument,		NULL, OPT_NO_SANDBOX },
	{ "seccomp",		required_argument,	NULL, OPT_SECCOMP },
	{ "policy-dir",		required_argument,	NULL, OPT_POLICY_DIR },
	{ "user",		required_argument,	NULL, OPT_USER },
	{ "grace",		required_argument,	NULL, OPT_GRACE },
	{ "restart-limit",	required_argument,	NULL, OPT_RESTART_LIMIT },
	{ "jail-disable",	required_argument,	NULL, OPT_JAIL_DISABLE },
	{ "ready-fd",		required_argument,	NULL, OPT_READY_FD },
	{ "control",		required_argument,	NULL, OPT_CONTROL },
	{ "uid-range",		required_argument,	NULL, OPT_UID_RANGE },
	{ "version",		no_argument,		NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static void
usage(FILE *f)
{
	unsigned int	i;

	fprintf(f,
"usage: vhostd [options] --device TYPE,socket=PATH[,key=value...] ...\n"
"       vhostd TYPE --socket-path=PATH | --fd=N [--print-capabilities] [options]\n"
"       vhostd-TYPE (same as vhostd TYPE; vhostd-TYPE --help lists its keys)\n"
"       vhostd ctl [--control=PATH | -i NAME] VERB [NAME] [--json]\n"
"         (start, stop, restart, reset NAME; reload; status [NAME];\n"
"         stats [NAME] [--json|--prometheus]; --help)\n"
"\n"
"Serve virtio devices over vhost-user sockets, one jailed child per device.\n"
"A comma inside a value is written twice: path=/srv/a,,b.img\n"
"\n"
"Device keys (every type):\n");
	config_print_keys(f, NULL, false);
	for (i = 0; device_types[i] != NULL; i++) {
		fprintf(f, "\nKeys of %s (%s):%s\n", device_types[i]->dt_name,
		    device_types[i]->dt_description,
		    device_types[i]->dt_nkeys == 0 ? " none" : "");
		config_print_keys(f, device_types[i], false);
	}
	fprintf(f,
"\n"
"Options:\n"
"  -d, --device SPEC      add a device (repeatable)\n"
"  -c, --config FILE      read devices and options from FILE (vhostd.conf(5));\n"
"                         SIGHUP re-reads it; options given here win\n"
"  -n, --check            check the configuration and policies, then exit\n"
"  -v, --verbose          more logging (repeatable)\n"
"      --log=DEST         stderr (default) or syslog\n"
"      --no-sandbox       run children without the jail (debugging only)\n"
"      --seccomp=MODE     kill (default), trap, or log (report the first\n"
"                         forbidden system call by name and exit)\n"
"      --policy-dir=DIR   seccomp policies (default %s)\n"
"      --user=USER        one user for every child (default: a uid of its own\n"
"                         per device, from --uid-range)\n"
"      --uid-range=BASE:COUNT  per-device uids (default 65536:34464), or off\n"
"      --jail-disable=LIST  relax single jail features: userns, pidns, netns,\n"
"                         ipcns, utsns, cgroupns, mntns\n"
"      --grace=SECONDS    wait before SIGKILL at shutdown (default 5)\n"
"      --restart-limit=N/SECONDS  give up on a device after N failures\n"
"                         within SECONDS (default 10/60; 0: never)\n"
"      --control=PATH     serve the control socket (vhostd ctl) at PATH\n"
"      --ready-fd=N       write READY=1 to fd N and close it once every\n"
"                         socket accepts (also: systemd Type=notify)\n"
"  -h, --help             this text\n"
"      --version          print the version\n"
"\n"
"See vhostd(8).\n", POLICYDIR);
}

/* vhostd-TYPE --help: the backend-program options of one type. */
static void
backend_usage(FILE *f, const struct device_type *dt)
{
	fprintf(f,
"usage: vhostd-%s --socket-path=PATH | --fd=N [options]\n"
"       vhostd-%s --print-capabilities\n"
"\n"
"Serve one %s (%s) over vhost-user, as the backend program\n"
"conventions of QEMU's vhost-user.rst describe.  Options take --opt=VALUE\n"
"or --opt VALUE; a flag (on|off) alone means on.\n"
"\n"
"Connection and restart:\n", dt->dt_name, dt->dt_name, dt->dt_name,
	    dt->dt_description);
	config_print_keys(f, NULL, true);
	fprintf(f, "\nKeys of %s:%s\n", dt->dt_name,
	    dt->dt_nkeys == 0 ? " none" : "");
	config_print_keys(f, dt, true);
	fprintf(f,
"\n"
"Every option of vhostd (--user, --seccomp, --log, -v, ...) applies too;\n"
"the restart policy defaults to never.  See vhostd(8).\n");
}

/* Devices built by the front ends. */
struct devlist {
	struct device_conf	*dl_dev;
	unsigned int		 dl_n;
	unsigned int		 dl_cap;
};

static int	host_main(int argc, char *argv[], struct devlist *dl,
		    const struct device_type *backend);

/* A fresh slot at the end of dl (not yet counted), or fatal. */
static struct device_conf *
devlist_slot(struct devlist *dl)
{
	struct device_conf	*nd;
	unsigned int		 cap;

	if (dl->dl_n == dl->dl_cap) {
		cap = dl->dl_cap == 0 ? 8 : dl->dl_cap * 2;
		if ((nd = reallocarray(dl->dl_dev, cap, sizeof(*nd))) == NULL)
			fatalx("out of memory");
		dl->dl_dev = nd;
		dl->dl_cap = cap;
	}
	return &dl->dl_dev[dl->dl_n];
}

static void
devlist_free(struct devlist *dl)
{
	unsigned int	i;

	for (i = 0; i < dl->dl_n; i++)
		config_device_free(&dl->dl_dev[i]);
	free(dl->dl_dev);
	memset(dl, 0, sizeof(*dl));
}

static void	usage_errx(const char *fmt, ...)
		    __attribute__((noreturn, format(printf, 1, 2)));

/*
 * A usage error: log what is wrong and exit 2 (vhostd(8) EXIT STATUS).
 * An error in the configuration file is fatalx's 1.
 */
static void
usage_errx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(2);
}

/*
 * SIGHUP (through the supervisor): read the configuration file again and
 * hand its devices to the supervisor.
 */
static int
reload_config(struct supervisor *sup, void *arg, FILE *report)
{
	const char	*path = arg;
	struct conffile	 cf;
	char		 err[1024];
	int		 rc;

	log_info("%s; reloading %s", report != NULL ? "vhostd ctl reload" :
	    "received SIGHUP", path);
	if (conffile_load(path, &cf, err, sizeof(err)) < 0) {
		log_warnx("reload failed: %s; keeping the running "
		    "configuration", err);
		if (report != NULL)
			fprintf(report, "reload failed: %s; keeping the "
			    "running configuration\n", err);
		return -EINVAL;
	}
	rc = sup_reload(sup, cf.cf_dev, cf.cf_ndev, report);
	if (rc >= 0) {
		log_info("reload: %d device(s) added, removed or changed", rc);
		if (report != NULL)
			fprintf(report, "reload: %d device(s) added, removed "
			    "or changed\n", rc);
	}
	conffile_free(&cf);
	return rc < 0 ? rc : 0;
}

/*
 * vhost-user.rst "Backend program conventions": --print-capabilities.
 * The features are the backend-program options of the keys flagged
 * DKF_CAPS in the type's table.
 */
static void
print_capabilities(const struct device_type *dt)
{
	unsigned int	i, n = 0;

	printf("{\n  \"type\": \"%s\",\n  \"features\": [", dt->dt_caps_type);
	for (i = 0; i < dt->dt_nkeys; i++) {
		if (!(dt->dt_keys[i].dk_flags & DKF_CAPS) ||
		    dt->dt_keys[i].dk_alias == NULL)
			continue;
		printf("%s\n    \"%s\"", n ? "," : "", dt->dt_keys[i].dk_alias);
		n++;
	}
	printf("%s]\n}\n", n ? "\n  " : "");
}

/*
 * One process per device, launched by a VM manager: "vhostd-TYPE ARGS" or
 * "vhostd TYPE ARGS".  The conventions' options (--socket-path, --fd, the
 * type's aliases such as --blk-file, and every key as --KEY) go straight
 * into the configuration builder, as --opt=VALUE or --opt VALUE (a flag
 * alone is "on"); everything else is an option of the host.  Defaults to
 * restart=never: the process ends with its front end, as VM managers
 * expect.
 */
static int
backend_main(const struct device_type *dt, int argc, char *argv[])
{
	struct devlist		 dl;
	struct device_conf	*dc;
	const struct dev_key	*k;
	char			**nargv, *name, *val, *eq, err[1024];
	unsigned int		 idx;
	bool			 common;
	int			 i, nargc = 0, rc;

	/* Questions first: they need no device. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--print-capabilities") == 0) {
			print_capabilities(dt);
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			backend_usage(stdout, dt);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("vhostd-%s %s\n", dt->dt_name, VHOSTD_VERSION);
			return 0;
		}
	}
	memset(&dl, 0, sizeof(dl));
	dc = devlist_slot(&dl);
	dl.dl_n = 1;		/* devlist_free releases it on every path */
	if (config_device_init(dc, dt->dt_name, RESTART_NEVER, "command line",
	    err, sizeof(err)) < 0)
		fatalx("%s", err);
	if ((nargv = calloc((size_t)argc + 1, sizeof(*nargv))) == NULL)
		fatalx("out of memory");
	nargv[nargc++] = argv[0];
	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
			nargv[nargc++] = argv[i];	/* -v, ... */
			continue;
		}
		name = argv[i] + 2;
		val = NULL;
		if ((eq = strchr(name, '=')) != NULL) {
			*eq = '\0';
			val = eq + 1;
		}
		if ((k = config_key_find(dt, name, CONFIG_ALIAS, &common,
		    &idx)) == NULL) {
			if (eq != NULL)
				*eq = '=';
			nargv[nargc++] = argv[i];	/* a host option */
			continue;
		}
		if (val == NULL && k->dk_kind == DK_BOOL)
			val = (char *)"on";
		else if (val == NULL && i + 1 < argc)
			val = argv[++i];
		else if (val == NULL) {
			fprintf(stderr, "vhostd-%s: --%s needs a value\n",
			    dt->dt_name, name);
			goto usage;
		}
		if (config_device_set(dc, name, val, NULL, CONFIG_ALIAS, err,
		    sizeof(err)) < 0) {
			fprintf(stderr, "vhostd-%s: --%s\n", dt->dt_name, err);
			goto usage;
		}
	}
	if (dc->dc_common[CK_SOCKET].dv_set == dc->dc_common[CK_FD].dv_set) {
		fprintf(stderr, "vhostd-%s: give exactly one of "
		    "--socket-path=PATH or --fd=FDNUM (--help lists the "
		    "options)\n", dt->dt_name);
		goto usage;
	}
	if (config_device_finish(dc, err, sizeof(err)) < 0) {
		fprintf(stderr, "vhostd-%s: %s\n", dt->dt_name, err);
		goto usage;
	}
	nargv[nargc] = NULL;
	rc = host_main(nargc, nargv, &dl, dt);
	free(nargv);
	return rc;
usage:
	free(nargv);
	devlist_free(&dl);
	return 2;
}

/*
 * vhostd compile-policy IN.policy OUT.bpf: a precompiled filter (kill
 * mode), as minijail's compile_seccomp_policy makes, for policy
 * directories that ship TYPE.bpf instead of TYPE.policy.
 */
static int
compile_policy_main(int argc, char *argv[])
{
	struct policy_filter	*pf;
	char			 err[1024];
	int			 fd, rc;

	if (argc != 3) {
		fprintf(stderr, "usage: vhostd compile-policy IN.policy "
		    "OUT.bpf\n");
		return 2;
	}
	if ((pf = policy_compile_file(argv[1], POLICY_MODE_KILL, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "vhostd: %s\n", err);
		return 1;
	}
	rc = 0;
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || (rc = policy_filter_write(pf, fd)) < 0 ||
	    close(fd) == -1) {
		fprintf(stderr, "vhostd: %s: %s\n", argv[2],
		    strerror(rc < 0 ? -rc : errno));
		policy_filter_free(pf);
		return 1;
	}
	printf("%s: %zu instructions\n", argv[2], policy_filter_len(pf));
	policy_filter_free(pf);
	return 0;
}

int
main(int argc, char *argv[])
{
	const struct device_type	*dt;
	const char			*prog;

	/* An exec'd device child (src/host/child_exec.c). */
	if (argc > 1 && strcmp(argv[1], SUP_CHILD_ARG) == 0)
		sup_child_exec_main(argc, argv);
	/* Before anything is opened: what tap-fd= and fd= may name. */
	fd_inherited_record();
	prog = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 :
	    argv[0];
	if (strncmp(prog, "vhostd-", 7) == 0) {
		if ((dt = device_type_find(prog + 7)) == NULL) {
			fprintf(stderr, "vhostd: no device type '%s' (from the "
			    "program name %s)\n", prog + 7, prog);
			return 2;
		}
		return backend_main(dt, argc, argv);
	}
	if (argc > 1 && strcmp(argv[1], "ctl") == 0)
		return ctl_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "compile-policy") == 0)
		return compile_policy_main(argc - 1, argv + 1);
	if (argc > 1 && argv[1][0] != '-' &&
	    (dt = device_type_find(argv[1])) != NULL)
		return backend_main(dt, argc - 1, argv + 1);
	return host_main(argc, argv, NULL, NULL);
}

/*
 * Apply the options in effect (the command line merged over the file by
 * config_global_merge) to opt; logs are set up here.  Exits on a bad
 * value, naming where it was given: 1 when file gave it (a configuration
 * error), 2 when the command line did (a usage error).
 */
#define FROM_FILE(field)	(g->field != NULL && g->field == file->field)
static void
apply_options(const struct global_opts *g, const struct global_opts *file,
    struct sup_options *opt)
{
	char	err[1024];
	int	logdest = LOG_TO_STDERR;

	if (g->go_log != NULL && strcmp(g->go_log, "syslog") == 0)
		logdest = LOG_TO_SYSLOG;
	log_init(g->go_verbose > 0 ? g->go_verbose : 0, logdest, "vhostd");
	if (g->go_seccomp == NULL || strcmp(g->go_seccomp, "kill") == 0)
		opt->so_seccomp = POLICY_MODE_KILL;
	else if (strcmp(g->go_seccomp, "trap") == 0)
		opt->so_seccomp = POLICY_MODE_TRAP;
	else if (strcmp(g->go_seccomp, "log") == 0)
		opt->so_seccomp = POLICY_MODE_LOG;
	else
		(FROM_FILE(go_seccomp) ? fatalx : usage_errx)(
		    "seccomp mode '%s': expected kill, trap or log",
		    g->go_seccomp);
	if (g->go_policy_dir != NULL)
		opt->so_policy_dir = g->go_policy_dir;
	if (g->go_grace >= 0)
		opt->so_grace_ms = (unsigned int)g->go_grace * 1000;
	if (g->go_restart_limit != NULL)
		(void)config_parse_restart_limit(g->go_restart_limit,
		    &opt->so_burst_count, &opt->so_burst_secs);
	if (g->go_user != NULL &&
	    jail_config_set_user(&opt->so_jail, g->go_user, err,
	    sizeof(err)) < 0)
		(FROM_FILE(go_user) ? fatalx : usage_errx)("%s: %s",
		    g->go_user_where, err);
	if (g->go_uid_range != NULL &&
	    jail_config_set_id_range(&opt->so_jail, g->go_uid_range, err,
	    sizeof(err)) < 0)
		(FROM_FILE(go_uid_range) ? fatalx : usage_errx)("%s: %s",
		    g->go_uid_range_where, err);
	if (g->go_jail_disable != NULL &&
	    jail_config_disable(&opt->so_jail, g->go_jail_disable, err,
	    sizeof(err)) < 0)
		(FROM_FILE(go_jail_disable) ? fatalx : usage_errx)("%s: %s",
		    g->go_jail_disable_where, err);
	if (g->go_no_sandbox == 1) {
		opt->so_jail.jc_enabled = false;
		log_warnx("WARNING: --no-sandbox: device children run with the "
		    "parent's privileges, files and system calls; a hostile "
		    "guest that takes over a device owns this host. Use only "
		    "for debugging.");
	}
}

/*
 * The host: options from argv, devices from dl (the backend program's,
 * or NULL) plus --device and -c FILE.
 */
static int
host_main(int argc, char *argv[], struct devlist *pre,
    const struct device_type *backend)
{
	static struct conffile	 cf;
	struct devlist		 own = { 0 }, *dl = pre != NULL ? pre : &own;
	struct global_opts	 cli, g;
	struct sup_options	 opt;
	struct supervisor	*sup;
	struct device_conf	*dc;
	unsigned int		 i;
	char			 err[1024];
	const char		*conf_path = NULL;
	int			 check_only = 0, ch, verbose = 0, rc;
	uint64_t		 v;

	log_init(0, LOG_TO_STDERR, "vhostd");
	sup_options_init(&opt);
	config_global_init(&cli);
	config_global_init(&cf.cf_opts);
	while ((ch = getopt_long(argc, argv, "c:d:nvh", long_opts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'd':
			dc = devlist_slot(dl);
			if (config_parse_device(optarg, RESTART_ALWAYS, dc, err,
			    sizeof(err)) < 0)
				usage_errx("--device %s: %s", optarg, err);
			dl->dl_n++;
			break;
		case 'v':
			verbose++;
			cli.go_verbose = verbose;
			break;
		case 'h':
			if (backend != NULL)
				backend_usage(stdout, backend);
			else
				usage(stdout);
			devlist_free(dl);
			return 0;
		case OPT_LOG:
			if (strcmp(optarg, "stderr") != 0 &&
			    strcmp(optarg, "syslog") != 0)
				usage_errx("--log=%s: expected stderr or syslog",
				    optarg);
			cli.go_log = optarg;
			break;
		case OPT_NO_SANDBOX:
			cli.go_no_sandbox = 1;
			break;
		case OPT_SECCOMP:
			if (strcmp(optarg, "kill") != 0 &&
			    strcmp(optarg, "trap") != 0 &&
			    strcmp(optarg, "log") != 0)
				usage_errx("--seccomp=%s: expected kill, trap "
				    "or log", optarg);
			cli.go_seccomp = optarg;
			break;
		case OPT_POLICY_DIR:
			cli.go_policy_dir = optarg;
			break;
		case OPT_USER:
			cli.go_user = optarg;
			snprintf(cli.go_user_where, sizeof(cli.go_user_where),
			    "--user=%s", optarg);
			break;
		case OPT_UID_RANGE:
			cli.go_uid_range = optarg;
			snprintf(cli.go_uid_range_where,
			    sizeof(cli.go_uid_range_where), "--uid-range=%s",
			    optarg);
			break;
		case OPT_JAIL_DISABLE:
			cli.go_jail_disable = optarg;
			snprintf(cli.go_jail_disable_where,
			    sizeof(cli.go_jail_disable_where),
			    "--jail-disable=%s", optarg);
			break;
		case OPT_GRACE:
			if (parse_u64(optarg, 0, 3600, &v) < 0)
				usage_errx("--grace=%s: expected seconds (0-3600)",
				    optarg);
			cli.go_grace = (int)v;
			break;
		case OPT_RESTART_LIMIT:
			if (config_parse_restart_limit(optarg, NULL, NULL) < 0)
				usage_errx("--restart-limit=%s: expected "
				    "N/SECONDS, e.g. 10/60, or 0", optarg);
			cli.go_restart_limit = optarg;
			break;
		case OPT_CONTROL:
			cli.go_control = optarg;
			break;
		case OPT_READY_FD:
			if (parse_u64(optarg, 0, 65535, &v) < 0 ||
			    fcntl((int)v, F_GETFD) == -1)
				usage_errx("--ready-fd=%s: not an open descriptor",
				    optarg);
			opt.so_ready_fd = (int)v;
			fd_set_cloexec((int)v, 1);
			break;
		case OPT_VERSION:
			printf("vhostd %s\n", VHOSTD_VERSION);
			devlist_free(dl);
			return 0;
		default:
			if (backend != NULL)
				backend_usage(stderr, backend);
			else
				usage(stderr);
			devlist_free(dl);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vhostd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		devlist_free(dl);
		return 2;
	}
	if (conf_path != NULL) {
		if (dl->dl_n > 0)
			usage_errx("-c and --device cannot be combined: put "
			    "the devices in %s", conf_path);
		if (conffile_load(conf_path, &cf, err, sizeof(err)) < 0)
			fatalx("%s", err);
		for (i = 0; i < cf.cf_ndev; i++) {
			*devlist_slot(dl) = cf.cf_dev[i];
			dl->dl_n++;
		}
		free(cf.cf_dev);
		cf.cf_dev = NULL;
		cf.cf_ndev = cf.cf_cap = 0;
	}
	/* The command line wins over the file (vhostd.conf(5)). */
	config_global_merge(&cli, &cf.cf_opts, &g);
	apply_options(&g, &cf.cf_opts, &opt);
	if (dl->dl_n == 0 && conf_path == NULL) {
		usage(stderr);
		devlist_free(dl);
		return 2;
	}
	/*
	 * The installed directory, never one found next to the binary:
	 * whoever could write there would choose every device's filter.
	 * A build tree passes --policy-dir=policies/x86_64.
	 */
	if (opt.so_policy_dir == NULL)
		opt.so_policy_dir = POLICYDIR;
	if (check_only) {
		/* sup_check frees the configurations; the list goes too. */
		rc = sup_check(&opt, dl->dl_dev, dl->dl_n, conf_path != NULL);
		devlist_free(dl);
		return rc;
	}
	opt.so_control = g.go_control;
	if (conf_path != NULL) {
		opt.so_reload = reload_config;
		opt.so_reload_arg = (void *)conf_path;
	}
	/*
	 * sup_new takes each configuration it opens (the entry is left
	 * empty); devlist_free releases whatever is left, either way.
	 */
	if ((sup = sup_new(&opt, dl->dl_dev, dl->dl_n, err,
	    sizeof(err))) == NULL) {
		devlist_free(dl);
		fatalx("%s", err);
	}
	devlist_free(dl);
	rc = sup_run(sup);
	sup_free(sup);
	return rc;
}
