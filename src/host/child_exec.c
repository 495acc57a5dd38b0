/*
 * child_exec.c - exec'd device children (DESIGN.md "Children are exec'd,
 * not just forked").
 *
 * Right after clone, before any jail step, the child writes what it needs
 * (struct child_wire: its name and type, the jail configuration, the
 * device's plain data, the compiled seccomp filter) into a sealed memfd,
 * renumbers the descriptors it keeps to 3..n in a fixed order and execs
 * vhostd again (through a descriptor of the binary opened at start-up, as
 * the child may be in another mount namespace) with the arguments
 * SUP_CHILD_ARG and the memfd's number.  The new image reads the memfd,
 * closes it and runs
 * child_main: jail, device init, filter, serve.  So every child gets fresh
 * load addresses and stack canaries, and no copy of the parent's heap
 * (other devices' configurations and filters).
 *
 * Descriptors of the new image:
 *   0, 1     as the parent's (the jail points them at /dev/null)
 *   2        the log pipe (childlog.c)
 *   3        the listener
 *   4..      the device's descriptors, in the order of its resources
 *   next     the parent's pidfd (jail_enter's parent check), if any
 *   next     the counters' memfd (struct ctr_region), if any, mapped and
 *            closed before the jail (child_counters_map)
 *   last     the memfd with struct child_wire, closed once read
 * The jail then keeps exactly 3 .. 3 + device fds: contiguous.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../util/log.h"
#include "child.h"
#include "supervisor.h"

#define CHILD_WIRE_MAGIC	0x76686431u	/* "vhd1" */
#define CHILD_FD_LISTEN		3
#define CHILD_FD_DEVICE		4

/* The plain data an exec'd child starts from (the same binary reads it). */
struct child_wire {
	uint32_t		cw_magic;
	uint32_t		cw_size;	/* sizeof(struct child_wire) */
	char			cw_name[128];	/* for log lines */
	char			cw_type[64];	/* device_type_find */
	struct jail_config	cw_jail;	/* jc_parent_pidfd renumbered */
	uint32_t		cw_nfds;	/* device fds at CHILD_FD_DEVICE */
	uint32_t		cw_data_len;	/* device data, follows */
	uint32_t		cw_filter_len;	/* BPF bytes, follow; 0: none */
	uint32_t		cw_filter_mode;	/* enum policy_mode */
	int32_t			cw_wire_fd;	/* this memfd's number */
	int32_t			cw_verbose;	/* the parent's -v count */
	int32_t			cw_stats_fd;	/* counters' memfd, or -1 */
};

static int
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
read_all(int fd, void *buf, size_t len)
{
	uint8_t	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		if ((n = read(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPROTO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The memfd: wire, data, filter; sealed, at offset 0.  fd or -errno. */
static int
wire_make(const struct child_args *ca, struct child_wire *w)
{
	off_t	filter_start;
	int	fd, rc;

	if ((fd = memfd_create("vhostd-child", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) < 0)
		return -errno;
	if ((rc = write_all(fd, w, sizeof(*w))) < 0 ||
	    (rc = write_all(fd, ca->ca_res.cr_data, ca->ca_res.cr_len)) < 0)
		goto fail;
	if (ca->ca_filter != NULL) {
		filter_start = lseek(fd, 0, SEEK_CUR);
		if ((rc = policy_filter_write(ca->ca_filter, fd)) < 0)
			goto fail;
		w->cw_filter_len = (uint32_t)(lseek(fd, 0, SEEK_CUR) -
		    filter_start);
		w->cw_filter_mode = (uint32_t)policy_filter_mode(ca->ca_filter);
		if (pwrite(fd, w, sizeof(*w), 0) != (ssize_t)sizeof(*w)) {
			rc = -EIO;
			goto fail;
		}
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) < 0 || lseek(fd, 0, SEEK_SET) != 0) {
		rc = -errno;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return rc;
}

void
child_exec(const struct child_args *ca, int exe_fd)
{
	static struct child_wire	 w;
	static char			 wire_arg[16];
	char				*argv[] = { (char *)"vhostd",
					    (char *)SUP_CHILD_ARG, wire_arg,
					    NULL };
	extern char			**environ;
	int				 src[DEVICE_RES_FDS + 4];
	int				 dst[DEVICE_RES_FDS + 4];
	int				 high = exe_fd, exe, wfd, rc;
	unsigned int			 i, n = 0;

	/* stderr is the log pipe from here on, also for the messages. */
	if (dup2(ca->ca_log_fd, STDERR_FILENO) == -1)
		_exit(CHILD_EXIT_FAILURE);
	memset(&w, 0, sizeof(w));
	w.cw_magic = CHILD_WIRE_MAGIC;
	w.cw_size = sizeof(w);
	snprintf(w.cw_name, sizeof(w.cw_name), "%s", ca->ca_name);
	snprintf(w.cw_type, sizeof(w.cw_type), "%s", ca->ca_type->dt_name);
	w.cw_jail = ca->ca_jail;
	w.cw_nfds = ca->ca_res.cr_nfds;
	w.cw_data_len = (uint32_t)ca->ca_res.cr_len;
	w.cw_verbose = log_getverbose();
	/* The order of the table at the top of the file. */
	src[n] = ca->ca_listen_fd;
	dst[n] = CHILD_FD_LISTEN;
	n++;
	for (i = 0; i < ca->ca_res.cr_nfds; i++, n++) {
		src[n] = ca->ca_res.cr_fds[i];
		dst[n] = CHILD_FD_DEVICE + (int)i;
	}
	if (ca->ca_jail.jc_parent_pidfd >= 0) {
		src[n] = ca->ca_jail.jc_parent_pidfd;
		w.cw_jail.jc_parent_pidfd = dst[n] = CHILD_FD_LISTEN + (int)n;
		n++;
	}
	w.cw_stats_fd = -1;
	if (ca->ca_stats_fd >= 0) {
		src[n] = ca->ca_stats_fd;
		w.cw_stats_fd = dst[n] = CHILD_FD_LISTEN + (int)n;
		n++;
	}
	w.cw_wire_fd = CHILD_FD_LISTEN + (int)n;
	if ((wfd = wire_make(ca, &w)) < 0) {
		log_warnx("exec: cannot pass the child its resources: %s",
		    strerror(-wfd));
		_exit(CHILD_EXIT_FAILURE);
	}
	src[n] = wfd;
	dst[n] = w.cw_wire_fd;
	n++;
	snprintf(wire_arg, sizeof(wire_arg), "%d", w.cw_wire_fd);
	/*
	 * Out of the way first (above every source and target), then into
	 * place without FD_CLOEXEC: only these survive the exec.
	 */
	for (i = 0; i < n; i++) {
		if (src[i] > high)
			high = src[i];
		if (dst[i] > high)
			high = dst[i];
	}
	if ((exe = fcntl(exe_fd, F_DUPFD_CLOEXEC, high + 1)) < 0) {
		log_warn("exec: fcntl F_DUPFD");
		_exit(CHILD_EXIT_FAILURE);
	}
	for (i = 0; i < n; i++)
		if ((src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, high + 1)) < 0) {
			log_warn("exec: fcntl F_DUPFD");
			_exit(CHILD_EXIT_FAILURE);
		}
	for (i = 0; i < n; i++)
		if (dup3(src[i], dst[i], 0) < 0) {
			log_warn("exec: dup3");
			_exit(CHILD_EXIT_FAILURE);
		}
	if ((rc = jail_exec_prepare(&ca->ca_jail)) < 0) {
		log_warnx("exec: cannot keep the jail's capabilities across "
		    "the exec: %s", strerror(-rc));
		_exit(CHILD_EXIT_INIT);
	}
	(void)syscall(SYS_execveat, exe, "", argv, environ, AT_EMPTY_PATH);
	log_warn("exec: cannot run vhostd again for the child");
	_exit(CHILD_EXIT_INIT);
}

void
sup_child_exec_main(int argc, char *argv[])
{
	static struct child_args	 ca;
	static int			 fds[DEVICE_RES_FDS];
	struct policy_filter		*pf = NULL;
	struct child_wire		 w;
	struct stat			 st;
	unsigned int			 i;
	void				*data = NULL;
	char				 err[256];
	uint64_t			 v;
	int				 wfd = -1;

	log_init(0, LOG_TO_STDERR, "vhostd");
	log_setchild();
	/* The memfd, sealed by the parent's clone: nothing else will do. */
	if (argc == 3 && parse_u64(argv[2], CHILD_FD_LISTEN + 1,
	    CHILD_FD_LISTEN + DEVICE_RES_FDS + 3, &v) == 0)
		wfd = (int)v;
	if (wfd < 0 || fstat(wfd, &st) < 0 ||
	    fcntl(wfd, F_GET_SEALS) != (F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) ||
	    read_all(wfd, &w, sizeof(w)) < 0 ||
	    w.cw_magic != CHILD_WIRE_MAGIC || w.cw_size != sizeof(w) ||
	    w.cw_wire_fd != wfd || w.cw_nfds > DEVICE_RES_FDS ||
	    (w.cw_stats_fd != -1 && (w.cw_stats_fd <= CHILD_FD_LISTEN ||
	    w.cw_stats_fd >= wfd)) ||
	    w.cw_data_len > DEVICE_RES_DATA_MAX ||
	    (uint64_t)st.st_size != sizeof(w) + (uint64_t)w.cw_data_len +
	    w.cw_filter_len) {
		log_warnx("exec: %s is for vhostd's own device children",
		    SUP_CHILD_ARG);
		_exit(CHILD_EXIT_FAILURE);
	}
	/* The parent's verbosity: -vv and -vvv lines come from children. */
	log_setverbose(w.cw_verbose);
	w.cw_name[sizeof(w.cw_name) - 1] = '\0';
	w.cw_type[sizeof(w.cw_type) - 1] = '\0';
	if ((ca.ca_type = device_type_find(w.cw_type)) == NULL) {
		log_warnx("exec: no device type '%s'", w.cw_type);
		_exit(CHILD_EXIT_FAILURE);
	}
	if (w.cw_data_len > 0 && ((data = malloc(w.cw_data_len)) == NULL ||
	    read_all(wfd, data, w.cw_data_len) < 0)) {
		log_warnx("exec: cannot read the device's resources");
		_exit(CHILD_EXIT_FAILURE);
	}
	if (w.cw_filter_len > 0 && (pf = policy_read_bpf_fd(wfd,
	    w.cw_filter_len, (enum policy_mode)w.cw_filter_mode,
	    "the parent's filter", err, sizeof(err))) == NULL) {
		log_warnx("exec: %s", err);
		_exit(CHILD_EXIT_FAILURE);
	}
	close(wfd);
	for (i = 0; i < w.cw_nfds; i++)
		fds[i] = CHILD_FD_DEVICE + (int)i;
	ca.ca_name = w.cw_name;
	ca.ca_listen_fd = CHILD_FD_LISTEN;
	ca.ca_log_fd = STDERR_FILENO;
	ca.ca_res.cr_data = data;
	ca.ca_res.cr_len = w.cw_data_len;
	ca.ca_res.cr_fds = fds;
	ca.ca_res.cr_nfds = w.cw_nfds;
	ca.ca_jail = w.cw_jail;
	ca.ca_filter = pf;
	ca.ca_stats_fd = w.cw_stats_fd;
	child_main(&ca);
}
