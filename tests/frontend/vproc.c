/*
 * vproc.c - run a program from a test and wait on what it says or does.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "vproc.h"

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int
pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int
vproc_start(struct vproc *p, char *const argv[],
    const struct vproc_opts *opts)
{
	struct vproc_opts	 none = { .o_stdout = -1 };
	char			 buf[32];
	unsigned int		 i;
	int			 pipefd[2], e;
	pid_t			 pid;

	if (opts == NULL)
		opts = &none;
	memset(p, 0, sizeof(*p));
	p->vp_err = p->vp_pidfd = -1;
	p->vp_pid = -1;
	p->vp_cap = 65536;
	if ((p->vp_log = calloc(1, p->vp_cap)) == NULL)
		return -ENOMEM;
	if (pipe2(pipefd, O_CLOEXEC) == -1)
		return -errno;
	fflush(NULL);
	if ((pid = fork()) == -1) {
		e = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return -e;
	}
	if (pid == 0) {
		int	tmp[16];

		/* Move the passed fds out of the way, then to 3, 4, ... */
		for (i = 0; i < opts->o_nfds && i < 16; i++)
			tmp[i] = fcntl(opts->o_fds[i], F_DUPFD_CLOEXEC, 64);
		dup2(pipefd[1], STDERR_FILENO);
		if (opts->o_stdout >= 0)
			dup2(opts->o_stdout, STDOUT_FILENO);
		for (i = 0; i < opts->o_nfds && i < 16; i++)
			dup2(tmp[i], 3 + (int)i);	/* without CLOEXEC */
		for (i = 0; opts->o_env != NULL && opts->o_env[i] != NULL; i++)
			putenv(opts->o_env[i]);
		if (opts->o_listen_pid) {
			snprintf(buf, sizeof(buf), "%d", (int)getpid());
			setenv("LISTEN_PID", buf, 1);
		}
		execv(argv[0], argv);
		dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	p->vp_pid = pid;
	p->vp_err = pipefd[0];
	p->vp_pidfd = pidfd_open_(pid);
	fcntl(p->vp_err, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Read what stderr has; false at end of file. */
static bool
drain(struct vproc *p)
{
	ssize_t	n;
	char	*q;

	if (p->vp_err < 0)
		return false;
	for (;;) {
		if (p->vp_cap - p->vp_len < 4096) {
			if ((q = realloc(p->vp_log, p->vp_cap * 2)) == NULL)
				return false;
			p->vp_log = q;
			p->vp_cap *= 2;
		}
		n = read(p->vp_err, p->vp_log + p->vp_len,
		    p->vp_cap - p->vp_len - 1);
		if (n > 0) {
			p->vp_len += (size_t)n;
			p->vp_log[p->vp_len] = '\0';
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return true;
		close(p->vp_err);
		p->vp_err = -1;
		return false;
	}
}

/* Poll stderr (and the pidfd) for at most ms; false when nothing left. */
static bool
wait_some(struct vproc *p, long deadline)
{
	struct pollfd	pfd[2];
	long		left = deadline - now_ms();
	nfds_t		n = 0;

	if (left <= 0)
		return false;
	if (p->vp_err >= 0) {
		pfd[n].fd = p->vp_err;
		pfd[n++].events = POLLIN;
	}
	if (p->vp_pidfd >= 0 && !p->vp_exited) {
		pfd[n].fd = p->vp_pidfd;
		pfd[n++].events = POLLIN;
	}
	if (n == 0)
		return false;
	if (poll(pfd, n, (int)left) == -1 && errno != EINTR)
		return false;
	drain(p);
	return true;
}

static void
reap(struct vproc *p, bool block)
{
	int	st;

	if (p->vp_exited || p->vp_pid <= 0)
		return;
	if (waitpid(p->vp_pid, &st, block ? 0 : WNOHANG) == p->vp_pid) {
		p->vp_exited = true;
		p->vp_status = st;
	}
}

long
vproc_wait_log(struct vproc *p, const char *needle, size_t from,
    int timeout_ms)
{
	long	 deadline = now_ms() + timeout_ms;
	char	*m;

	for (;;) {
		drain(p);
		if (from <= p->vp_len &&
		    (m = strstr(p->vp_log + from, needle)) != NULL)
			return (long)(m - p->vp_log) + (long)strlen(needle);
		if (p->vp_err < 0)
			return -1;	/* end of file: no more lines */
		if (!wait_some(p, deadline))
			return -1;
	}
}

unsigned int
vproc_count(const struct vproc *p, const char *needle)
{
	const char	*m = p->vp_log;
	unsigned int	 n = 0;

	while ((m = strstr(m, needle)) != NULL) {
		n++;
		m += strlen(needle);
	}
	return n;
}

pid_t
vproc_child_pid(struct vproc *p, const char *name, unsigned int nth,
    int timeout_ms)
{
	char	needle[128];
	long	off = 0;
	unsigned int i;

	snprintf(needle, sizeof(needle), "%s: started child ", name);
	for (i = 0; i <= nth; i++)
		if ((off = vproc_wait_log(p, needle, (size_t)off,
		    timeout_ms)) < 0)
			return -1;
	/* The whole number must have arrived: wait for the line's end. */
	if (vproc_wait_log(p, "\n", (size_t)off, timeout_ms) < 0)
		return -1;
	return (pid_t)atoi(p->vp_log + off);
}

int
vproc_wait_exit(struct vproc *p, int timeout_ms, int *status)
{
	long	deadline = now_ms() + timeout_ms;

	for (;;) {
		reap(p, false);
		if (p->vp_exited) {
			while (drain(p))
				if (!wait_some(p, deadline))
					break;
			if (status != NULL)
				*status = p->vp_status;
			return 0;
		}
		if (!wait_some(p, deadline) && now_ms() >= deadline)
			return -ETIMEDOUT;
	}
}

ssize_t
vproc_read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	long		deadline = now_ms() + timeout_ms, left;
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	size_t		n = 0;
	ssize_t		r;

	while (n + 1 < len) {
		left = deadline - now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -1;
		if ((r = read(fd, buf + n, 1)) <= 0)
			return n > 0 ? (ssize_t)n : -1;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

void
vproc_cleanup(struct vproc *p)
{
	if (p->vp_pid > 0 && !p->vp_exited) {
		kill(p->vp_pid, SIGKILL);
		reap(p, true);
	}
	if (p->vp_err >= 0)
		close(p->vp_err);
	if (p->vp_pidfd >= 0)
		close(p->vp_pidfd);
	p->vp_err = p->vp_pidfd = -1;
	free(p->vp_log);
	p->vp_log = NULL;
	p->vp_len = p->vp_cap = 0;
}

int
vproc_wait_gone(pid_t pid, int timeout_ms)
{
	struct pollfd	pfd;
	int		fd, rc;

	if ((fd = pidfd_open_(pid)) == -1)
		return errno == ESRCH ? 0 : -errno;
	pfd.fd = fd;
	pfd.events = POLLIN;
	rc = poll(&pfd, 1, timeout_ms);
	close(fd);
	return rc == 1 ? 0 : -ETIMEDOUT;
}

int
vproc_run(char *const argv[], char *out, size_t outlen, char *errbuf,
    size_t errlen, int timeout_ms)
{
	struct vproc_opts	 o = { .o_stdout = -1 };
	struct vproc		 p;
	int			 pfd[2], st = -1;
	size_t			 n = 0;
	ssize_t			 r;

	if (pipe2(pfd, O_CLOEXEC) == -1)
		return -1;
	o.o_stdout = pfd[1];
	if (vproc_start(&p, argv, &o) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	close(pfd[1]);
	/* Read stdout to the end (what does not fit is dropped). */
	for (;;) {
		char	sink[4096];

		if (out != NULL && n + 1 < outlen)
			r = read(pfd[0], out + n, outlen - n - 1);
		else
			r = read(pfd[0], sink, sizeof(sink));
		if (r <= 0)
			break;
		if (out != NULL && n + 1 < outlen)
			n += (size_t)r;
	}
	if (out != NULL && outlen > 0)
		out[n] = '\0';
	close(pfd[0]);
	if (vproc_wait_exit(&p, timeout_ms, &st) < 0)
		st = -1;
	if (errbuf != NULL && errlen > 0)
		snprintf(errbuf, errlen, "%s", p.vp_log);
	vproc_cleanup(&p);
	return st;
}
