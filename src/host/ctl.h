/*
 * ctl.h - the control socket: "vhostd ctl VERB [NAME] [--json]".
 *
 * A unix socket (mode 0600, only root or vhostd's own user may talk to it,
 * checked with SO_PEERCRED).  One request line per connection: the verb,
 * then its words separated by single spaces ("status --json a"); the reply
 * is the text, then the connection closes.  A reply that starts with
 * "error: " is a failure (the client prints it on stderr and exits 1).
 * A verb that waits (stop, restart) replies once the device got there.
 *
 * Verbs are rows of one table (ctl_verbs, ctl.c): name, what it takes,
 * help, handler.  Client and server check a request against the same row.
 */
#ifndef VHOSTD_HOST_CTL_H
#define VHOSTD_HOST_CTL_H

#include <stdbool.h>
#include <stdio.h>

struct supervisor;
struct sup_device;
struct ctl_conn;

/*
 * Where the control sockets live: the unit serves
 * /run/vhostd/INSTANCE.ctl (--control=/run/vhostd/%i.ctl), and vhostd
 * ctl finds it there (-i INSTANCE, or the only one).
 */
#define CTL_DIR		"/run/vhostd"
#define CTL_SUFFIX	".ctl"

/* Start serving path in sup's loop.  0, or -errno with a message. */
int	ctl_listen(struct supervisor *sup, const char *path, char *err,
	    size_t errlen);
/* Stop serving and remove the socket file. */
void	ctl_close(struct supervisor *sup);

/*
 * A device changed state (a child exited or started, a reload): answer
 * the requests that waited for it.
 */
void	ctl_poke(struct supervisor *sup);

/* What a verb takes besides its name. */
enum ctl_arg {
	CTL_ARG_NONE,		/* no NAME */
	CTL_ARG_OPTIONAL,	/* [NAME] */
	CTL_ARG_REQUIRED	/* NAME */
};

/* Options a verb accepts (cv_opts), and a request carries (cr_opts). */
#define CTL_OPT_JSON		0x1	/* --json */
#define CTL_OPT_PROMETHEUS	0x2	/* --prometheus */

/* A parsed request: the verb's row, its options, the device name. */
struct ctl_req {
	const struct ctl_verb	*cr_verb;
	unsigned int		 cr_opts;	/* CTL_OPT_* */
	const char		*cr_name;	/* NULL: none given */
	struct ctl_conn		*cr_conn;	/* server: the connection */
};

/* One verb: a row of ctl_verbs. */
struct ctl_verb {
	const char	*cv_name;	/* "status" */
	enum ctl_arg	 cv_arg;
	unsigned int	 cv_opts;	/* CTL_OPT_* it accepts */
	const char	*cv_help;	/* one line for the usage text */
	/*
	 * Server: answer req into f.  An error reply starts with "error: ".
	 * Runs in the supervisor's loop; must not block (a verb that waits
	 * for a device calls ctl_wait and writes nothing).
	 */
	void		(*cv_run)(struct supervisor *sup,
			    const struct ctl_req *req, FILE *f);
};

/* NULL-terminated by a row with cv_name NULL. */
extern const struct ctl_verb ctl_verbs[];

/*
 * Parse words (argv[0] is the verb) against the table into req; names
 * point into words.  0, or -EINVAL with a message in err.
 */
int	ctl_parse(int argc, char *const argv[], struct ctl_req *req,
	    char *err, size_t errlen);

/* The usage lines of every verb, one per line, each after prefix. */
void	ctl_usage(FILE *f, const char *prefix);

/* ctl_status.c: "running", "restarting", ... for an enum sup_state. */
const char *ctl_state_name(unsigned int state);

/*
 * ctl_status.c: write the device table to f, as text or JSON; name: only
 * that one.
 */
void	ctl_status(const struct supervisor *sup, bool json, const char *name,
	    FILE *f);

/*
 * Client (ctl_client.c): send the request words argv (checked with
 * ctl_parse first) to path and copy the reply to out (an error reply to
 * stderr).  Exit status: 0, 1 (no daemon, an error reply) or 2 (usage).
 */
int	ctl_client(const char *path, int argc, char *const argv[], FILE *out);

/*
 * vhostd ctl [--control=PATH | -i INSTANCE] VERB ...: which control
 * socket (the only INSTANCE.ctl in CTL_DIR when neither is given), then
 * ctl_client.  Exit status.
 */
int	ctl_main(int argc, char *argv[]);

#endif /* VHOSTD_HOST_CTL_H */
