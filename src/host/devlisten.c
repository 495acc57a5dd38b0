/*
 * devlisten.c - the device's own listeners: keys flagged DKF_LISTEN
 * (device.h; vsock's uds-path), unix sockets the host binds for the
 * device like its vhost-user socket (src/listener: race-free in the
 * directory, the device's mode and group, the file removed when the
 * device goes and only if it is still ours), handed to dt_open as the
 * first descriptors of its resources, and taken over by a reload that
 * keeps the path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../listener/listener.h"
#include "host.h"

/* The socket files of the device's own listeners (DKF_LISTEN keys). */
void
sup_key_listeners_release(struct sup_device *sd)
{
	unsigned int	i;

	for (i = 0; i < DEVICE_RES_FDS; i++) {
		listener_retained_release(sd->sd_key_retained[i]);
		sd->sd_key_retained[i] = NULL;
		sd->sd_key_take[i] = false;
	}
}

/*
 * The device's own listeners (keys flagged DKF_LISTEN): bound like the
 * vhost-user socket (same mode and group), their fds appended to sd_res
 * in key order before dt_open (the j-th such key's at dr_fds[j]), their
 * socket files retained in sd_key_retained[j].  A reload that keeps the
 * path takes the running device's listener over (a descriptor of it
 * now, its socket file at device_commit: sd_key_take), so the new
 * device is not refused by its predecessor and host programs waiting in
 * the backlog are served by the new child.  None in check mode.
 */
int
sup_key_listeners_open(struct sup_device *sd, const struct sup_device *prev,
    char *err, size_t errlen)
{
	const struct device_type	*dt = sd->sd_conf.dc_type;
	struct device_conf		*dc = &sd->sd_conf;
	struct listener			*l;
	struct fdset			 unused;
	const char			*path;
	char				 msg[512];
	unsigned int			 k, j = 0;
	int				 rc, fd;

	for (k = 0; k < dt->dt_nkeys; k++) {
		if (!(dt->dt_keys[k].dk_flags & DKF_LISTEN) ||
		    (path = dev_opt_str(&dc->dc_opts, k)) == NULL)
			continue;
		if (j == DEVICE_RES_FDS) {
			snprintf(err, errlen, "%s: [%s] too many listeners",
			    dc->dc_where, dc->dc_name);
			return -ENOSPC;
		}
		/* The checks of socket=, in check mode too (vhostd -n). */
		if ((rc = listener_check_path(path, &sd->sd_key_id[j], msg,
		    sizeof(msg))) < 0) {
			sup_device_err(sd, (int)k, false, err, errlen, msg);
			return rc;
		}
		if (sd->sd_has_sockid &&
		    listener_id_equal(&sd->sd_key_id[j], &sd->sd_sockid)) {
			sup_device_err(sd, (int)k, false, err, errlen,
			    "is the device's own socket=");
			return -EINVAL;
		}
		if (sd->sd_sup->su_check) {
			j++;
			continue;
		}
		if (prev != NULL && prev->sd_conf.dc_type == dt &&
		    prev->sd_key_retained[j] != NULL &&
		    prev->sd_res.dr_fds[j] >= 0 &&
		    listener_id_equal(&sd->sd_key_id[j], &prev->sd_key_id[j])) {
			fd = fcntl(prev->sd_res.dr_fds[j], F_DUPFD_CLOEXEC, 3);
			sd->sd_key_take[j] = true;
		} else {
			fdset_init(&unused);
			if ((rc = listener_new_path(&l, path, dc->dc_mode,
			    dc->dc_gid, &unused, msg, sizeof(msg))) < 0) {
				sup_device_err(sd, (int)k, false, err, errlen,
				    msg);
				return rc;
			}
			sd->sd_key_retained[j] =
			    listener_take_parent_resources(l);
			fd = fcntl(listener_fd(l), F_DUPFD_CLOEXEC, 3);
			listener_free(l);
			if (sd->sd_key_retained[j] == NULL) {
				close_reset(&fd);
				errno = ENOMEM;
			}
		}
		if (fd < 0) {
			snprintf(err, errlen, "%s: [%s] %s: %s", dc->dc_where,
			    dc->dc_name, dt->dt_keys[k].dk_name,
			    strerror(errno));
			return -errno;
		}
		if ((rc = device_res_add_fd(&sd->sd_res, fd)) < 0) {
			snprintf(err, errlen, "%s: [%s] too many descriptors",
			    dc->dc_where, dc->dc_name);
			return rc;
		}
		j++;
	}
	return 0;
}

int
sup_device_take_key_listeners(struct sup_device *sd, struct sup_device *prev)
{
	unsigned int	j;

	for (j = 0; j < DEVICE_RES_FDS; j++) {
		if (!sd->sd_key_take[j])
			continue;
		sd->sd_key_retained[j] = prev->sd_key_retained[j];
		prev->sd_key_retained[j] = NULL;
		sd->sd_key_take[j] = false;
	}
	return 0;
}

