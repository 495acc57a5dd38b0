/*
 * fdinherit.c - the descriptors a process was started with
 * (fdinherit.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fdinherit.h"

/* Beyond this many, the rest are not recorded (and not adoptable). */
#define FDINH_MAX	256

struct fdinh {
	dev_t	fi_dev;
	ino_t	fi_ino;
	int	fi_fd;
	bool	fi_taken;	/* a listener's (fd_inherited_take) */
};

static struct fdinh	fdinh[FDINH_MAX];
static unsigned int	nfdinh;
static bool		recorded;

static void
record_one(int fd)
{
	struct stat	st;

	if (fd < 3 || nfdinh == FDINH_MAX || fstat(fd, &st) == -1)
		return;
	fdinh[nfdinh].fi_fd = fd;
	fdinh[nfdinh].fi_dev = st.st_dev;
	fdinh[nfdinh].fi_ino = st.st_ino;
	fdinh[nfdinh].fi_taken = false;
	nfdinh++;
}

void
fd_inherited_record(void)
{
	struct dirent	*e;
	DIR		*d;
	long		 fd;
	char		*end;
	int		 own;

	recorded = true;
	nfdinh = 0;
	if ((d = opendir("/proc/self/fd")) == NULL) {
		/* No /proc: the numbers below 1024 one by one. */
		for (fd = 3; fd < 1024; fd++)
			record_one((int)fd);
		return;
	}
	own = dirfd(d);
	while ((e = readdir(d)) != NULL) {
		errno = 0;
		fd = strtol(e->d_name, &end, 10);
		if (errno != 0 || *end != '\0' || end == e->d_name ||
		    fd == own || fd > 65535)
			continue;
		record_one((int)fd);
	}
	closedir(d);
}

int
fd_inherited_check(int fd)
{
	struct stat	st;
	unsigned int	i;

	if (!recorded)
		return 0;
	if (fstat(fd, &st) == -1)
		return -EBADF;
	for (i = 0; i < nfdinh; i++)
		if (fdinh[i].fi_fd == fd && fdinh[i].fi_dev == st.st_dev &&
		    fdinh[i].fi_ino == st.st_ino)
			return fdinh[i].fi_taken ? -EBUSY : 0;
	return -EBADF;
}

void
fd_inherited_take(int fd)
{
	unsigned int	i;

	for (i = 0; i < nfdinh; i++)
		if (fdinh[i].fi_fd == fd)
			fdinh[i].fi_taken = true;
}

void
fd_inherited_forget(int fd)
{
	unsigned int	i;

	for (i = 0; i < nfdinh; i++)
		if (fdinh[i].fi_fd == fd) {
			fdinh[i] = fdinh[--nfdinh];
			return;
		}
}
