/*
 * vproc.h - run vhostd (or any program) from a test: stderr collected
 * through a pipe, waits on log lines, readiness and exit with deadlines
 * instead of sleeps.  Used by the integration tests and benchmarks.
 */
#ifndef VHOSTD_TESTS_VPROC_H
#define VHOSTD_TESTS_VPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define VPROC_TIMEOUT_MS	10000

struct vproc {
	pid_t	 vp_pid;
	int	 vp_err;	/* read end of the child's stderr */
	int	 vp_pidfd;
	char	*vp_log;	/* everything read from stderr, NUL-ended */
	size_t	 vp_len;
	size_t	 vp_cap;
	bool	 vp_exited;
	int	 vp_status;	/* waitpid status once exited */
};

struct vproc_opts {
	const int	*o_fds;		/* become fds 3, 4, ... in the child */
	unsigned int	 o_nfds;
	char *const	*o_env;		/* "NAME=value" added to the env */
	bool		 o_listen_pid;	/* set LISTEN_PID to the child's pid */
	int		 o_stdout;	/* fd for stdout, or -1 (inherit) */
};

/* Start argv[0] with argv; opts may be NULL.  0 or -errno. */
int	vproc_start(struct vproc *p, char *const argv[],
	    const struct vproc_opts *opts);

/*
 * Read stderr until needle appears at or after offset from, the process
 * exits, or timeout_ms passes.  Returns the offset just past the match, or
 * -1.
 */
long	vproc_wait_log(struct vproc *p, const char *needle, size_t from,
	    int timeout_ms);

/* Count of needle in everything read so far. */
unsigned int	vproc_count(const struct vproc *p, const char *needle);

/*
 * The pid in the nth (0-based) "NAME: started child PID" line, waiting
 * for it up to timeout_ms.  -1 if it does not come.
 */
pid_t	vproc_child_pid(struct vproc *p, const char *name, unsigned int nth,
	    int timeout_ms);

/*
 * Wait for the process to exit (draining stderr); *status gets the wait
 * status.  0, or -ETIMEDOUT.
 */
int	vproc_wait_exit(struct vproc *p, int timeout_ms, int *status);

/* Read a line (up to len) from fd within timeout_ms.  Length or -1. */
ssize_t	vproc_read_line(int fd, char *buf, size_t len, int timeout_ms);

/* SIGKILL if still running, reap, free.  Safe to call twice. */
void	vproc_cleanup(struct vproc *p);

/* Wait until pid (not our child) is gone.  0, or -ETIMEDOUT. */
int	vproc_wait_gone(pid_t pid, int timeout_ms);

/* Run argv to completion, stdout into out (NUL-ended), exit status. */
int	vproc_run(char *const argv[], char *out, size_t outlen,
	    char *errbuf, size_t errlen, int timeout_ms);

#endif /* VHOSTD_TESTS_VPROC_H */
