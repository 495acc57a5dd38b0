/*
 * vuf_inflight.c - the inflight region (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)
 * as QEMU keeps it: asked for once with GET_INFLIGHT_FD, handed back with
 * SET_INFLIGHT_FD to every back end that connects after a crash, so the
 * new one runs again what the old one had taken and not completed.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "vuf.h"

void
vuf_inflight_init(struct vuf_inflight *in)
{
	memset(in, 0, sizeof(*in));
	in->in_fd = -1;
}

int
vuf_inflight_get(struct vuf *f, uint16_t nqueues, uint16_t qsize,
    struct vuf_inflight *in)
{
	struct vhost_user_header	hdr;
	struct vhost_user_inflight	req;
	struct vhost_user_msg		reply;
	unsigned int			nfds = 1;
	void				*p;
	int				fd = -1, rc;

	memset(&req, 0, sizeof(req));
	req.num_queues = nqueues;
	req.queue_size = qsize;
	hdr.request = VHOST_USER_GET_INFLIGHT_FD;
	hdr.flags = VHOST_USER_VERSION;
	hdr.size = sizeof(req);
	if ((rc = vuf_send_raw(f, &hdr, &req, sizeof(req), NULL, 0)) < 0 ||
	    (rc = vuf_recv(f, &reply, &fd, &nfds)) < 0)
		return rc;
	if (reply.hdr.request != VHOST_USER_GET_INFLIGHT_FD ||
	    reply.hdr.size != sizeof(req) || nfds != 1 || fd < 0) {
		if (nfds == 1)
			close(fd);
		return vuf_fail(f, -EPROTO, "GET_INFLIGHT_FD: a reply of %u "
		    "bytes with %u fds", reply.hdr.size, nfds);
	}
	p = mmap(NULL, reply.payload.inflight.mmap_size,
	    PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    (off_t)reply.payload.inflight.mmap_offset);
	if (p == MAP_FAILED) {
		rc = -errno;
		close(fd);
		return vuf_fail(f, rc, "GET_INFLIGHT_FD: mmap: %s",
		    strerror(-rc));
	}
	in->in_fd = fd;
	in->in_addr = p;
	in->in_size = reply.payload.inflight.mmap_size;
	in->in_offset = reply.payload.inflight.mmap_offset;
	in->in_nqueues = nqueues;
	in->in_qsize = qsize;
	return 0;
}

int
vuf_inflight_set(struct vuf *f, const struct vuf_inflight *in)
{
	struct vhost_user_inflight	req;

	memset(&req, 0, sizeof(req));
	req.mmap_size = in->in_size;
	req.mmap_offset = in->in_offset;
	req.num_queues = in->in_nqueues;
	req.queue_size = in->in_qsize;
	return vuf_request(f, VHOST_USER_SET_INFLIGHT_FD, &req, sizeof(req),
	    &in->in_fd, 1, NULL, 0);
}

unsigned int
vuf_inflight_count(const struct vuf_inflight *in, unsigned int q)
{
	const volatile struct virtq_inflight	*r;
	unsigned int				 i, n = 0;

	if (in->in_addr == NULL || q >= in->in_nqueues)
		return 0;
	r = (const volatile struct virtq_inflight *)(const void *)
	    ((const uint8_t *)in->in_addr + q * VIRTQ_INFLIGHT_SIZE(in->in_qsize));
	if (r->version == 0)
		return 0;
	for (i = 0; i < in->in_qsize && i < r->desc_num; i++)
		if (r->desc[i].inflight == 1)
			n++;
	return n;
}

void
vuf_inflight_fini(struct vuf_inflight *in)
{
	if (in->in_addr != NULL)
		munmap(in->in_addr, in->in_size);
	in->in_addr = NULL;
	if (in->in_fd >= 0)
		close(in->in_fd);
	in->in_fd = -1;
}
