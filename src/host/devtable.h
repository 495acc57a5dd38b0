/*
 * devtable.h - the device table, shared by devtable.c (opening and freeing
 * entries) and supervisor.c (running them).  Internal to src/host.
 */
#ifndef VHOSTD_HOST_DEVTABLE_H
#define VHOSTD_HOST_DEVTABLE_H

#include "supervisor.h"

/*
 * Two devices may not share a socket path or a name.  0, or -EINVAL with
 * a message in err.
 */
int	sup_check_devices(struct device_conf *devs, unsigned int ndev,
	    char *err, size_t errlen);

/*
 * Open dc's listener, device state and filter and add it to the table
 * (not started).  Takes dc over (left empty).  NULL with err set.
 */
struct sup_device *sup_device_add(struct supervisor *sup,
	    struct device_conf *dc, char *err, size_t errlen);

/*
 * Close what the parent keeps for sd (log pipe, restart timer, listener,
 * device state, filter; the socket file goes with the listener's retained
 * resources).  The entry stays in the table.
 */
void	sup_device_release(struct sup_device *sd);

/*
 * Right before sd's next child is cloned: the device's dt_spawn (fresh
 * open file descriptions of its files).  0 or -errno (logged): do not
 * start the child.
 */
int	sup_device_before_spawn(struct sup_device *sd);

/* Take sd out of the table, release and free it. */
void	sup_device_free(struct supervisor *sup, struct sup_device *sd);

#endif /* VHOSTD_HOST_DEVTABLE_H */
