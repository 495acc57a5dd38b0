/*
 * main.c - vhostd command line.
 *
 *   vhostd [options] --device TYPE,socket=PATH[,key=value...] ...
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "host/supervisor.h"
#include "util/log.h"

#define VHOSTD_VERSION	"0.1"
#define MAX_DEVICES	64

enum {
	OPT_LOG = 256,
	OPT_NO_SANDBOX,
	OPT_SECCOMP,
	OPT_POLICY_DIR,
	OPT_USER,
	OPT_GRACE,
	OPT_JAIL_DISABLE,
	OPT_VERSION
};

static const struct option long_opts[] = {
	{ "device",		required_argument,	NULL, 'd' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "help",		no_argument,		NULL, 'h' },
	{ "log",		required_argument,	NULL, OPT_LOG },
	{ "no-sandbox",		no_argument,		NULL, OPT_NO_SANDBOX },
	{ "seccomp",		required_argument,	NULL, OPT_SECCOMP },
	{ "policy-dir",		required_argument,	NULL, OPT_POLICY_DIR },
	{ "user",		required_argument,	NULL, OPT_USER },
	{ "grace",		required_argument,	NULL, OPT_GRACE },
	{ "jail-disable",	required_argument,	NULL, OPT_JAIL_DISABLE },
	{ "version",		no_argument,		NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static void
usage(FILE *f)
{
	unsigned int	i;

	fprintf(f,
"usage: vhostd [options] --device TYPE,socket=PATH[,key=value...] ...\n"
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
"  -h, --help             this text\n"
"      --version          print the version\n"
"\n"
"Device types:", POLICYDIR);
	for (i = 0; device_types[i] != NULL; i++)
		fprintf(f, " %s", device_types[i]->dt_name);
	fprintf(f, "\nSee vhostd(8).\n");
}

static int
is_dir(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * Default policy directory: the installed one, or, when running from a
 * build tree, ../policies/x86_64 next to the binary.
 */
static const char *
default_policy_dir(void)
{
	static char	path[PATH_MAX];
	char		exe[PATH_MAX];
	ssize_t		n;

	if (is_dir(POLICYDIR))
		return POLICYDIR;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(path, sizeof(path), "%s/../policies/x86_64",
		    dirname(exe));
		if (is_dir(path))
			return path;
	}
	return POLICYDIR;
}

int
main(int argc, char *argv[])
{
	static struct device_conf devs[MAX_DEVICES];
	struct sup_options	 opt;
	struct supervisor	 sup;
	unsigned int		 ndev = 0, i;
	char			 err[1024];
	const char		*user = NULL, *disable = NULL;
	int			 ch, verbose = 0, logdest = LOG_TO_STDERR;
	int			 no_sandbox = 0, rc;
	uint64_t		 v;

	log_init(0, LOG_TO_STDERR, "vhostd");
	sup_options_init(&opt);
	while ((ch = getopt_long(argc, argv, "d:vh", long_opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (ndev == MAX_DEVICES)
				fatalx("too many devices (max %d)", MAX_DEVICES);
			if (config_parse_device(optarg, RESTART_ALWAYS,
			    &devs[ndev], err, sizeof(err)) < 0)
				fatalx("--device %s: %s", optarg, err);
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
				fatalx("--log=%s: expected stderr or syslog",
				    optarg);
			break;
		case OPT_NO_SANDBOX:
			no_sandbox = 1;
			break;
		case OPT_SECCOMP:
			if (strcmp(optarg, "kill") == 0)
				opt.so_seccomp = POLICY_MODE_KILL;
			else if (strcmp(optarg, "trap") == 0)
				opt.so_seccomp = POLICY_MODE_TRAP;
			else if (strcmp(optarg, "log") == 0)
				opt.so_seccomp = POLICY_MODE_LOG;
			else
				fatalx("--seccomp=%s: expected kill, trap or "
				    "log", optarg);
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
				fatalx("--grace=%s: expected seconds (0-3600)",
				    optarg);
			opt.so_grace_ms = (unsigned int)v * 1000;
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
	log_init(verbose, logdest, "vhostd");
	if (ndev == 0) {
		usage(stderr);
		return 2;
	}
	if (user != NULL &&
	    jail_config_set_user(&opt.so_jail, user, err, sizeof(err)) < 0)
		fatalx("--user=%s: %s", user, err);
	if (disable != NULL &&
	    jail_config_disable(&opt.so_jail, disable, err, sizeof(err)) < 0)
		fatalx("--jail-disable=%s: %s", disable, err);
	if (no_sandbox) {
		opt.so_jail.jc_enabled = false;
		log_warnx("WARNING: --no-sandbox: device children run with the "
		    "parent's privileges, files and system calls; a hostile "
		    "guest that takes over a device owns this host. Use only "
		    "for debugging.");
	}
	if (opt.so_policy_dir == NULL)
		opt.so_policy_dir = default_policy_dir();

	if (sup_init(&sup, &opt, devs, ndev, err, sizeof(err)) < 0) {
		for (i = 0; i < ndev; i++)
			config_device_free(&devs[i]);
		fatalx("%s", err);
	}
	rc = sup_run(&sup);
	sup_fini(&sup);
	return rc;
}
