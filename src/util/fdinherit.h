/*
 * fdinherit.h - the descriptors a process was started with.  tap-fd=N
 * and fd=N name numbers in vhostd's own descriptor table, meant for what
 * a manager passed in at exec; a number vhostd opened itself (another
 * device's tap or listener, the control socket) must not be adopted, or
 * one guest gets another's tap or front end.  main records the table
 * before it opens anything; adopting code asks.
 */
#ifndef VHOSTD_UTIL_FDINHERIT_H
#define VHOSTD_UTIL_FDINHERIT_H

/*
 * Record every descriptor >= 3 open now (its number and file: st_dev,
 * st_ino).  Call once, first thing in main.
 */
void	fd_inherited_record(void);

/*
 * 0 if fd was open when fd_inherited_record ran and still names the same
 * file (or if nothing was recorded: library use, tests); -EBADF if not,
 * or if it was closed since (fd_inherited_forget: the same st_dev/st_ino
 * at the same number is not proof, every /dev/net/tun fd is one inode);
 * -EBUSY if a listener took it (fd_inherited_take).
 */
int	fd_inherited_check(int fd);

/* fd is a device's listener now: a second one may not have it. */
void	fd_inherited_take(int fd);

/*
 * fd is closed (or about to be): whatever gets that number next is not
 * what vhostd was started with.  A no-op for a number not recorded.
 */
void	fd_inherited_forget(int fd);

#endif /* VHOSTD_UTIL_FDINHERIT_H */
