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
#include "util/log.h"

#define VHOSTD_VERSION	"0.1"

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
"       vhostd-TYPE (same as vhostd TYPE)\n"
"       vhostd ctl [--control=PATH] status [--json]\n"
"\n"
"Serve virtio devices over vhost-user sockets, one jailed child per device.\n"
"\n"
"Device keys (every type):\n"
"  socket=PATH        listen on a unix socket at PATH (created mode 0600)\n"
"  fd=N               use inherited listening socket N instead\n"
"  restart=POLICY     never | on-failure | always (default always)\n"
"  name=NAME          name in logs (default: the type)\n"
"  mode=OCTAL         socket file permissions (default 0600)\n"
"  group=GROUP        socket file group\n"
"\n"
"Options:\n"
"  -d, --device SPEC      add a device (repeatable)\n"
"  -c, --config FILE      read devices and options from FILE (vhostd.conf(5));\n"
"                         SIGHUP re-reads it\n"
"  -n, --check            check the configuration and policies, then exit\n"
"  -v, --verbose          more logging (repeatable)\n"
"      --log=DEST         stderr (default) or syslog\n"
"      --no-sandbox       run children without the jail (debugging only)\n"
"      --seccomp=MODE     kill (default), trap, or log (report the first\n"
"                         forbidden system call by name and exit)\n"
"      --policy-dir=DIR   seccomp policies (default %s)\n"
"      --user=USER        user the children run as (default vhostd or nobody)\n"
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
"Device types:", POLICYDIR);
	for (i = 0; device_types[i] != NULL; i++)
		fprintf(f, " %s", device_types[i]->dt_name);
	fprintf(f, "\nSee vhostd(8).\n");
}

static int	host_main(int argc, char *argv[]);

static void	usage_errx(const char *fmt, ...)
		    __attribute__((noreturn, format(printf, 1, 2)));

/*
 * A usage error: log what is wrong and exit 2 (vhostd(8) EXIT STATUS).
 * An error in the configuration file is fatalx's 1; FROM_FILE tells a
 * setting the file gave from one the command line gave.
 */
#define FROM_FILE(v, file_v)	(conf_path != NULL && (v) == (file_v))
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
static void
reload_config(struct supervisor *sup, void *arg)
{
	const char	*path = arg;
	struct conffile	 cf;
	char		 err[1024];
	int		 rc;

	log_info("received SIGHUP; reloading %s", path);
	if (conffile_load(path, &cf, err, sizeof(err)) < 0) {
		log_warnx("reload failed: %s; keeping the running "
		    "configuration", err);
		return;
	}
	rc = sup_reload(sup, cf.cf_dev, cf.cf_ndev);
	if (rc >= 0)
		log_info("reload: %d device(s) added, removed or changed", rc);
	conffile_free(&cf);
}

/*
 * vhost-user.rst "Backend program conventions": --print-capabilities.
 */
static void
print_capabilities(const struct device_type *dt)
{
	unsigned int	i;

	printf("{\n  \"type\": \"%s\",\n  \"features\": [", dt->dt_caps_type);
	for (i = 0; dt->dt_caps_features != NULL &&
	    dt->dt_caps_features[i] != NULL; i++)
		printf("%s\n    \"%s\"", i ? "," : "", dt->dt_caps_features[i]);
	printf("%s]\n}\n", i ? "\n  " : "");
}

static const char *
alias_key(const struct device_type *dt, const char *opt)
{
	unsigned int	i;

	for (i = 0; dt->dt_cli_aliases != NULL &&
	    dt->dt_cli_aliases[i] != NULL; i += 2)
		if (strcmp(dt->dt_cli_aliases[i], opt) == 0)
			return dt->dt_cli_aliases[i + 1];
	for (i = 0; dt->dt_keys != NULL && dt->dt_keys[i] != NULL; i++)
		if (strcmp(dt->dt_keys[i], opt) == 0)
			return dt->dt_keys[i];
	return NULL;
}

static int
spec_append(char *spec, size_t len, const char *key, const char *val)
{
	size_t	used = strlen(spec);

	if (strchr(val, ',') != NULL) {
		fprintf(stderr, "vhostd: --%s=%s: commas are not supported in "
		    "values\n", key, val);
		return -1;
	}
	if ((size_t)snprintf(spec + used, len - used, ",%s=%s", key, val) >=
	    len - used) {
		fprintf(stderr, "vhostd: arguments too long\n");
		return -1;
	}
	return 0;
}

/*
 * One process per device, launched by a VM manager: "vhostd-TYPE ARGS" or
 * "vhostd TYPE ARGS".  Translates the conventions' options into one
 * --device and runs the host with the remaining options, so both paths
 * share one code path.  Defaults to restart=never: the process ends with
 * its front end, as VM managers expect.
 */
static int
backend_main(const struct device_type *dt, int argc, char *argv[])
{
	static char	 spec[4096];
	char		**nargv;
	char		*name, *val, *eq;
	const char	*key;
	int		 i, nargc = 0, have_listen = 0, have_restart = 0;

	if ((nargv = calloc((size_t)argc + 4, sizeof(*nargv))) == NULL)
		fatalx("out of memory");
	nargv[nargc++] = argv[0];
	snprintf(spec, sizeof(spec), "%s", dt->dt_name);
	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
			nargv[nargc++] = argv[i];	/* -v, -h, ... */
			continue;
		}
		name = argv[i] + 2;
		val = NULL;
		if ((eq = strchr(name, '=')) != NULL) {
			*eq = '\0';
			val = eq + 1;
		}
		if (strcmp(name, "print-capabilities") == 0) {
			print_capabilities(dt);
			exit(0);
		}
		if (strcmp(name, "socket-path") == 0 ||
		    strcmp(name, "fd") == 0 || strcmp(name, "restart") == 0) {
			if (val == NULL && i + 1 < argc)
				val = argv[++i];
			if (val == NULL)
				usage_errx("--%s needs a value", name);
			if (spec_append(spec, sizeof(spec),
			    strcmp(name, "socket-path") == 0 ? "socket" : name,
			    val) < 0)
				exit(2);
			if (strcmp(name, "restart") == 0)
				have_restart = 1;
			else
				have_listen++;
			continue;
		}
		if ((key = alias_key(dt, name)) != NULL) {
			if (spec_append(spec, sizeof(spec), key,
			    val != NULL ? val : "on") < 0)
				exit(2);
			continue;
		}
		if (eq != NULL)
			*eq = '=';
		nargv[nargc++] = argv[i];	/* a host option */
	}
	if (have_listen != 1) {
		fprintf(stderr, "vhostd-%s: give exactly one of "
		    "--socket-path=PATH or --fd=FDNUM\n", dt->dt_name);
		free(nargv);
		return 2;
	}
	if (!have_restart && spec_append(spec, sizeof(spec), "restart",
	    "never") < 0) {
		free(nargv);
		return 2;
	}
	nargv[nargc++] = "--device";
	nargv[nargc++] = spec;
	nargv[nargc] = NULL;
	i = host_main(nargc, nargv);
	free(nargv);
	return i;
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

/* vhostd ctl [--control=PATH] status [--json] */
static int
ctl_main(int argc, char *argv[])
{
	const char	*path = CTL_DEFAULT_PATH, *cmd = NULL;
	int		 i, json = 0;

	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--control=", 10) == 0)
			path = argv[i] + 10;
		else if (strcmp(argv[i], "--control") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "status") == 0 && cmd == NULL)
			cmd = "status";
		else {
			fprintf(stderr, "usage: vhostd ctl [--control=PATH] "
			    "status [--json]\n");
			return 2;
		}
	}
	if (cmd == NULL) {
		fprintf(stderr, "usage: vhostd ctl [--control=PATH] status "
		    "[--json]\n");
		return 2;
	}
	return ctl_client(path, json ? "status-json" : cmd, stdout);
}

int
main(int argc, char *argv[])
{
	const struct device_type	*dt;
	const char			*prog;

	/* An exec'd device child (src/host/child_exec.c). */
	if (argc > 1 && strcmp(argv[1], SUP_CHILD_ARG) == 0)
		sup_child_exec_main(argc, argv);
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
	return host_main(argc, argv);
}

static int
host_main(int argc, char *argv[])
{
	struct device_conf	*devs = NULL, *nd;
	struct sup_options	 opt;
	struct supervisor	*sup;
	unsigned int		 ndev = 0, cap = 0, i;
	char			 err[1024];
	const char		*user = NULL, *disable = NULL;
	const char		*conf_path = NULL, *seccomp = NULL;
	int			 check_only = 0;
	const char		*control = NULL;
	static struct conffile	 cf;
	int			 ch, verbose = 0, logdest = LOG_TO_STDERR;
	int			 no_sandbox = 0, limit_set = 0, rc;
	uint64_t		 v;

	log_init(0, LOG_TO_STDERR, "vhostd");
	sup_options_init(&opt);
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
			/* Any number of devices (the supervisor has no limit). */
			if (ndev == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				if ((nd = reallocarray(devs, cap,
				    sizeof(*devs))) == NULL)
					fatalx("out of memory");
				devs = nd;
			}
			if (config_parse_device(optarg, RESTART_ALWAYS,
			    &devs[ndev], err, sizeof(err)) < 0)
				usage_errx("--device %s: %s", optarg, err);
			ndev++;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_LOG:
			if (strcmp(optarg, "stderr") == 0)
				logdest = LOG_TO_STDERR;
			else if (strcmp(optarg, "syslog") == 0)
				logdest = LOG_TO_SYSLOG;
			else
				usage_errx("--log=%s: expected stderr or syslog",
				    optarg);
			break;
		case OPT_NO_SANDBOX:
			no_sandbox = 1;
			break;
		case OPT_SECCOMP:
			seccomp = optarg;
			break;
		case OPT_POLICY_DIR:
			opt.so_policy_dir = optarg;
			break;
		case OPT_USER:
			user = optarg;
			break;
		case OPT_JAIL_DISABLE:
			disable = optarg;
			break;
		case OPT_GRACE:
			if (parse_u64(optarg, 0, 3600, &v) < 0)
				usage_errx("--grace=%s: expected seconds (0-3600)",
				    optarg);
			opt.so_grace_ms = (unsigned int)v * 1000;
			break;
		case OPT_RESTART_LIMIT:
			if (config_parse_restart_limit(optarg,
			    &opt.so_burst_count, &opt.so_burst_secs) < 0)
				usage_errx("--restart-limit=%s: expected "
				    "N/SECONDS, e.g. 10/60, or 0", optarg);
			limit_set = 1;
			break;
		case OPT_CONTROL:
			control = optarg;
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
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vhostd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	if (conf_path != NULL) {
		if (ndev > 0)
			usage_errx("-c and --device cannot be combined: put "
			    "the devices in %s", conf_path);
		if (conffile_load(conf_path, &cf, err, sizeof(err)) < 0)
			fatalx("%s", err);
		/* The command line wins over the file. */
		if (user == NULL)
			user = cf.cf_user;
		if (seccomp == NULL)
			seccomp = cf.cf_seccomp;
		if (disable == NULL)
			disable = cf.cf_jail_disable;
		if (opt.so_policy_dir == NULL)
			opt.so_policy_dir = cf.cf_policy_dir;
		if (cf.cf_grace >= 0)
			opt.so_grace_ms = (unsigned int)cf.cf_grace * 1000;
		if (!limit_set && cf.cf_restart_limit != NULL)
			(void)config_parse_restart_limit(cf.cf_restart_limit,
			    &opt.so_burst_count, &opt.so_burst_secs);
		if (verbose == 0 && cf.cf_verbose > 0)
			verbose = cf.cf_verbose;
		if (!no_sandbox && cf.cf_no_sandbox == 1)
			no_sandbox = 1;
		if (cf.cf_log != NULL && strcmp(cf.cf_log, "syslog") == 0)
			logdest = LOG_TO_SYSLOG;
		else if (cf.cf_log != NULL && strcmp(cf.cf_log, "stderr") != 0)
			fatalx("%s: log = %s: expected stderr or syslog",
			    conf_path, cf.cf_log);
		if ((devs = calloc(cf.cf_ndev + 1, sizeof(*devs))) == NULL)
			fatalx("out of memory");
		for (i = 0; i < cf.cf_ndev; i++) {
			devs[ndev++] = cf.cf_dev[i];
			memset(&cf.cf_dev[i], 0, sizeof(cf.cf_dev[i]));
		}
		cf.cf_ndev = 0;
	}
	log_init(verbose, logdest, "vhostd");
	if (seccomp == NULL || strcmp(seccomp, "kill") == 0)
		opt.so_seccomp = POLICY_MODE_KILL;
	else if (strcmp(seccomp, "trap") == 0)
		opt.so_seccomp = POLICY_MODE_TRAP;
	else if (strcmp(seccomp, "log") == 0)
		opt.so_seccomp = POLICY_MODE_LOG;
	else
		(FROM_FILE(seccomp, cf.cf_seccomp) ? fatalx : usage_errx)(
		    "seccomp mode '%s': expected kill, trap or log", seccomp);
	if (ndev == 0 && conf_path == NULL) {
		usage(stderr);
		return 2;
	}
	if (user != NULL &&
	    jail_config_set_user(&opt.so_jail, user, err, sizeof(err)) < 0)
		(FROM_FILE(user, cf.cf_user) ? fatalx : usage_errx)(
		    "--user=%s: %s", user, err);
	if (disable != NULL &&
	    jail_config_disable(&opt.so_jail, disable, err, sizeof(err)) < 0)
		(FROM_FILE(disable, cf.cf_jail_disable) ? fatalx : usage_errx)(
		    "--jail-disable=%s: %s", disable, err);
	if (no_sandbox) {
		opt.so_jail.jc_enabled = false;
		log_warnx("WARNING: --no-sandbox: device children run with the "
		    "parent's privileges, files and system calls; a hostile "
		    "guest that takes over a device owns this host. Use only "
		    "for debugging.");
	}
	/*
	 * The installed directory, never one found next to the binary:
	 * whoever could write there would choose every device's filter.
	 * A build tree passes --policy-dir=policies/x86_64.
	 */
	if (opt.so_policy_dir == NULL)
		opt.so_policy_dir = POLICYDIR;
	if (check_only) {
		rc = sup_check(&opt, devs, ndev);
		free(devs);
		return rc;
	}
	opt.so_control = control;
	if (conf_path != NULL) {
		opt.so_reload = reload_config;
		opt.so_reload_arg = (void *)conf_path;
	}
	if ((sup = sup_new(&opt, devs, ndev, err, sizeof(err))) == NULL) {
		for (i = 0; i < ndev; i++)
			config_device_free(&devs[i]);
		fatalx("%s", err);
	}
	free(devs);
	rc = sup_run(sup);
	sup_free(sup);
	return rc;
}
