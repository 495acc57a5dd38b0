/*
 * ctl_client.c - "vhostd ctl VERB ...": the client side of the control
 * socket.  Finds the socket (--control=PATH, -i INSTANCE, or the only
 * INSTANCE.ctl that answers in CTL_DIR), checks the request against the
 * verb table (ctl_parse, ctl.c), sends it and copies the reply out (an
 * error reply to stderr).  Runs unprivileged, in its own process.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

int
ctl_client(const char *path, int argc, char *const argv[], FILE *out)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	struct ctl_req		req;
	char			buf[4096], err[128], line[128], *reply = NULL;
	size_t			len = 0, rlen = 0;
	ssize_t			n;
	bool			failed;
	FILE			*mf;
	int			fd, i;

	if (ctl_parse(argc, argv, &req, err, sizeof(err)) < 0) {
		fprintf(stderr, "vhostd ctl: %s\nusage:\n", err);
		ctl_usage(stderr, "  vhostd ctl [--control=PATH | -i NAME] ");
		return 2;
	}
	for (i = 0; i < argc; i++) {
		n = snprintf(line + len, sizeof(line) - len, "%s%s",
		    i ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - len - 1) {
			fprintf(stderr, "vhostd ctl: request too long\n");
			return 2;
		}
		len += (size_t)n;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "vhostd ctl: %s: path too long\n", path);
		return 1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "vhostd ctl: %s: %s (is vhostd running with "
		    "--control=%s?)\n", path, strerror(errno), path);
		if (fd != -1)
			close(fd);
		return 1;
	}
	if (dprintf(fd, "%s\n", line) < 0) {
		fprintf(stderr, "vhostd ctl: %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	/* The whole reply first: an error reply goes to stderr. */
	if ((mf = open_memstream(&reply, &rlen)) == NULL) {
		close(fd);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, mf);
	close(fd);
	fclose(mf);
	failed = rlen >= 7 && memcmp(reply, "error: ", 7) == 0;
	if (rlen == 0) {
		fprintf(stderr, "vhostd ctl: %s: vhostd closed the connection "
		    "without a reply\n", path);
		failed = true;
	} else if (failed)
		fprintf(stderr, "vhostd ctl: %s", reply + 7);
	else
		fwrite(reply, 1, rlen, out);
	free(reply);
	return failed ? 1 : 0;
}

/* Whether a vhostd answers on CTL_DIR/name (a stale socket does not). */
static bool
ctl_alive(const char *name)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd, rc;

	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
	    CTL_DIR, name) >= sizeof(sun.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return false;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return rc == 0;
}

/*
 * No --control and no -i: the only INSTANCE.ctl socket in CTL_DIR.
 * Its path in buf, or NULL with a message on stderr.
 */
static const char *
ctl_default_path(char *buf, size_t len)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	size_t		 n;
	unsigned int	 found = 0;
	char		 names[512] = "";

	if ((d = opendir(CTL_DIR)) == NULL) {
		fprintf(stderr, "vhostd ctl: %s: %s (give --control=PATH, or "
		    "-i NAME for %s/NAME%s)\n", CTL_DIR, strerror(errno),
		    CTL_DIR, CTL_SUFFIX);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n <= strlen(CTL_SUFFIX) || strcmp(de->d_name + n -
		    strlen(CTL_SUFFIX), CTL_SUFFIX) != 0 ||
		    fstatat(dirfd(d), de->d_name, &st, 0) == -1 ||
		    !S_ISSOCK(st.st_mode) || !ctl_alive(de->d_name))
			continue;
		if (found++ == 0 && (size_t)snprintf(buf, len, "%s/%.200s",
		    CTL_DIR, de->d_name) >= len)
			found--;	/* too long for a socket address */
		n = strlen(names);
		snprintf(names + n, sizeof(names) - n, " %.*s",
		    (int)(strlen(de->d_name) - strlen(CTL_SUFFIX)),
		    de->d_name);
	}
	closedir(d);
	if (found == 1)
		return buf;
	if (found == 0)
		fprintf(stderr, "vhostd ctl: no vhostd answers in %s (is "
		    "vhostd running with --control?  give --control=PATH)\n",
		    CTL_DIR);
	else
		fprintf(stderr, "vhostd ctl: %u vhostd instances run "
		    "(%s ): choose one with -i NAME\n", found, names);
	return NULL;
}

int
ctl_main(int argc, char *argv[])
{
	static const struct option	 opts[] = {
		{ "control",	required_argument,	NULL, 'C' },
		{ "instance",	required_argument,	NULL, 'i' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char			*path = NULL;
	struct ctl_req			 req;
	char				 buf[256], err[128];
	int				 ch;

	/* "+": the verb's own words (--json) are not ours. */
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+i:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			path = optarg;
			break;
		case 'i':
			if (strchr(optarg, '/') != NULL || *optarg == '\0') {
				fprintf(stderr, "vhostd ctl: -i %s: an instance "
				    "name, not a path\n", optarg);
				return 2;
			}
			snprintf(buf, sizeof(buf), "%s/%s%s", CTL_DIR, optarg,
			    CTL_SUFFIX);
			path = buf;
			break;
		case 'h':
			printf("usage:\n");
			ctl_usage(stdout, "  vhostd ctl [--control=PATH | "
			    "-i NAME] ");
			return 0;
		default:
			fprintf(stderr, "usage:\n");
			ctl_usage(stderr, "  vhostd ctl [--control=PATH | "
			    "-i NAME] ");
			return 2;
		}
	}
	if (optind >= argc || ctl_parse(argc - optind, argv + optind, &req,
	    err, sizeof(err)) < 0) {
		fprintf(stderr, "vhostd ctl: %s\nusage:\n", optind >= argc ?
		    "no command" : err);
		ctl_usage(stderr, "  vhostd ctl [--control=PATH | -i NAME] ");
		return 2;
	}
	if (path == NULL && (path = ctl_default_path(buf, sizeof(buf))) ==
	    NULL)
		return 1;
	return ctl_client(path, argc - optind, argv + optind, stdout);
}
