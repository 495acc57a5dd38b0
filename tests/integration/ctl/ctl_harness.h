/*
 * ctl_harness.h - what the ctl_test files share: vhostd ctl run from the
 * test (its output kept), status checks through python3's json module,
 * images and configuration files in the test's directory, and a disk
 * that must serve what was written.
 */
#ifndef CTL_HARNESS_H
#define CTL_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../itest.h"
#include "vuf_blk.h"

#define IMG_SIZE	(4u << 20)

/* The last ctl_run's stdout and stderr. */
extern char	ctl_out[16384], ctl_err[4096];

/* vhostd ctl --control=ctl ARGS... (NULL-terminated): its exit status. */
int		 ctl_run(const char *ctl, ...);
/* Whether the python expression expr holds for ctl's status --json. */
bool		 status_is(const char *ctl, const char *expr);
/* Asserts status_is now; wait_status waits for it (VPROC_TIMEOUT_MS). */
void		 assert_status(const char *ctl, const char *expr);
void		 wait_status(const char *ctl, const char *expr);
/* A file (name in the test's directory) holding text: its path. */
const char	*write_file(const char *name, const char *text);
/* An image of IMG_SIZE zero bytes in the test's directory: its path. */
const char	*make_image(const char *name);
/* The inode of path (lstat; asserts that it exists). */
ino_t		 inode(const char *path);
/* Writes a block of v at sector through the disk at sock, reads it back. */
void		 assert_disk_serves(const char *sock, uint64_t sector,
		    uint8_t v);
long		 now_ms(void);

#endif
