/*
 * ownsock.c - the socket files this process bound (ownsock.h).  A few
 * per device: a linear array is enough.
 */
#include <errno.h>
#include <stdlib.h>

#include "ownsock.h"

struct ownsock {
	dev_t	os_dev;
	ino_t	os_ino;
};

static struct ownsock	*socks;
static size_t		 nsocks, capsocks;

int
ownsock_add(dev_t dev, ino_t ino)
{
	struct ownsock	*n;
	size_t		 cap;

	if (ownsock_has(dev, ino))
		return 0;
	if (nsocks == capsocks) {
		cap = capsocks ? capsocks * 2 : 16;
		if ((n = realloc(socks, cap * sizeof(*n))) == NULL)
			return -ENOMEM;
		socks = n;
		capsocks = cap;
	}
	socks[nsocks].os_dev = dev;
	socks[nsocks].os_ino = ino;
	nsocks++;
	return 0;
}

void
ownsock_del(dev_t dev, ino_t ino)
{
	size_t	i;

	for (i = 0; i < nsocks; i++)
		if (socks[i].os_dev == dev && socks[i].os_ino == ino) {
			socks[i] = socks[--nsocks];
			return;
		}
}

bool
ownsock_has(dev_t dev, ino_t ino)
{
	size_t	i;

	for (i = 0; i < nsocks; i++)
		if (socks[i].os_dev == dev && socks[i].os_ino == ino)
			return true;
	return false;
}
