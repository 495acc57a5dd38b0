/*
 * vuf.c - in-tree vhost-user front end: connection, wire, negotiation and
 * guest memory.  The split ring driver is in vuf_vq.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "util/util.h"
#include "vuf.h"

#define VUF_PAGE	4096u

int
vuf_fail(struct vuf *f, int rc, const char *fmt, ...)
{
	char	buf[sizeof(f->f_err)];
	va_list	ap;

	/* Through a copy: callers may prefix the previous message. */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memcpy(f->f_err, buf, sizeof(buf));
	return rc;
}

void
vuf_init(struct vuf *f)
{
	unsigned int	i;

	memset(f, 0, sizeof(*f));
	f->f_sock = -1;
	f->f_memfd = -1;
	f->f_timeout_ms = VUF_TIMEOUT_MS;
	f->f_nqueues = 1;
	f->f_reply_ack = true;
	for (i = 0; i < VUF_MAX_QUEUES; i++) {
		f->f_vq[i].q_kick_fd = -1;
		f->f_vq[i].q_call_fd = -1;
	}
}

void
vuf_fini(struct vuf *f)
{
	unsigned int	i;

	close_reset(&f->f_sock);
	for (i = 0; i < VUF_MAX_QUEUES; i++) {
		close_reset(&f->f_vq[i].q_kick_fd);
		close_reset(&f->f_vq[i].q_call_fd);
		free(f->f_vq[i].q_ndesc);
		free(f->f_vq[i].q_cookie);
		f->f_vq[i].q_ndesc = NULL;
		f->f_vq[i].q_cookie = NULL;
	}
	if (f->f_mem != NULL)
		munmap(f->f_mem, f->f_mem_size);
	f->f_mem = NULL;
	close_reset(&f->f_memfd);
}

const char *
vuf_error(const struct vuf *f)
{
	return f->f_err;
}

bool
vuf_has_feature(const struct vuf *f, unsigned int bit)
{
	return bit < 64 && (f->f_features & (1ull << bit)) != 0;
}

bool
vuf_has_protocol(const struct vuf *f, unsigned int bit)
{
	return bit < 64 && (f->f_protocol & (1ull << bit)) != 0;
}

int
vuf_connect(struct vuf *f, const char *path)
{
	struct sockaddr_un	sun;
	int			fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return vuf_fail(f, -ENAMETOOLONG, "connect %s: path too long",
		    path);
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return vuf_fail(f, -errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		rc = -errno;
		close(fd);
		return vuf_fail(f, rc, "connect %s: %s", path, strerror(-rc));
	}
	vuf_set_sock(f, fd);
	return 0;
}

void
vuf_set_sock(struct vuf *f, int fd)
{
	close_reset(&f->f_sock);
	f->f_sock = fd;
}

void
vuf_disconnect(struct vuf *f)
{
	close_reset(&f->f_sock);
}

int
vuf_mem_create(struct vuf *f, size_t size, uint64_t gpa_base)
{
	int	rc;

	if (f->f_mem != NULL)
		return vuf_fail(f, -EBUSY, "guest memory already exists");
	size = (size + VUF_PAGE - 1) & ~(size_t)(VUF_PAGE - 1);
	if (size == 0 || gpa_base + size < gpa_base)
		return vuf_fail(f, -EINVAL, "guest memory of %zu bytes at "
		    "0x%llx", size, (unsigned long long)gpa_base);
	/* QEMU's memory-backend-memfd: sealed unless seal=off. */
	f->f_memfd = memfd_create("vuf-guest", MFD_CLOEXEC |
	    (f->f_mem_unsealed ? 0 : MFD_ALLOW_SEALING));
	if (f->f_memfd == -1)
		return vuf_fail(f, -errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(f->f_memfd, (off_t)size) == -1) {
		rc = -errno;
		close_reset(&f->f_memfd);
		return vuf_fail(f, rc, "ftruncate memfd to %zu: %s", size,
		    strerror(-rc));
	}
	if (!f->f_mem_unsealed && fcntl(f->f_memfd, F_ADD_SEALS,
	    F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) == -1) {
		rc = -errno;
		close_reset(&f->f_memfd);
		return vuf_fail(f, rc, "seal the guest memfd: %s",
		    strerror(-rc));
	}
	f->f_mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    f->f_memfd, 0);
	if (f->f_mem == MAP_FAILED) {
		rc = -errno;
		f->f_mem = NULL;
		close_reset(&f->f_memfd);
		return vuf_fail(f, rc, "mmap guest memory: %s", strerror(-rc));
	}
	f->f_mem_size = size;
	f->f_gpa_base = gpa_base;
	f->f_brk = 0;
	return 0;
}

void *
vuf_alloc(struct vuf *f, size_t len, size_t align, uint64_t *gpa)
{
	size_t	off;

	if (align == 0 || (align & (align - 1)) != 0)
		align = 8;
	off = (f->f_brk + align - 1) & ~(align - 1);
	if (f->f_mem == NULL || off < f->f_brk || off > f->f_mem_size ||
	    len > f->f_mem_size - off) {
		vuf_fail(f, -ENOMEM, "guest memory exhausted: %zu bytes "
		    "wanted, %zu of %zu used", len, f->f_brk, f->f_mem_size);
		return NULL;
	}
	f->f_brk = off + len;
	memset(f->f_mem + off, 0, len);
	if (gpa != NULL)
		*gpa = f->f_gpa_base + off;
	return f->f_mem + off;
}

void *
vuf_gpa_to_ptr(const struct vuf *f, uint64_t gpa, size_t len)
{
	uint64_t	off;

	if (f->f_mem == NULL || gpa < f->f_gpa_base)
		return NULL;
	off = gpa - f->f_gpa_base;
	if (off > f->f_mem_size || len > f->f_mem_size - off)
		return NULL;
	return f->f_mem + off;
}

uint64_t
vuf_ptr_to_gpa(const struct vuf *f, const void *p)
{
	const uint8_t	*b = p;

	if (f->f_mem == NULL || b < f->f_mem || b >= f->f_mem + f->f_mem_size)
		return UINT64_MAX;
	return f->f_gpa_base + (uint64_t)(b - f->f_mem);
}

/* CLOCK_MONOTONIC in milliseconds. */
static long
vuf_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait for fd to be readable until deadline.  0, -ETIMEDOUT or -errno. */
static int
vuf_poll_in(int fd, long deadline)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	long		left;
	int		rc;

	for (;;) {
		left = deadline - vuf_now_ms();
		if (left < 0)
			left = 0;
		rc = poll(&pfd, 1, (int)left);
		if (rc > 0)
			return 0;
		if (rc == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int
vuf_send_raw(struct vuf *f, const struct vhost_user_header *hdr,
    const void *payload, size_t len, const int *fds, unsigned int nfds)
{
	struct iovec	iov[2];
	int		rc;

	if (f->f_sock < 0)
		return vuf_fail(f, -ENOTCONN, "not connected");
	if (nfds > VHOST_USER_MAX_FDS * 2)
		return vuf_fail(f, -EINVAL, "too many fds (%u)", nfds);
	iov[0].iov_base = (void *)(uintptr_t)hdr;
	iov[0].iov_len = sizeof(*hdr);
	iov[1].iov_base = (void *)(uintptr_t)payload;
	iov[1].iov_len = len;
	if ((rc = send_fds(f->f_sock, iov, 2, fds, nfds)) < 0)
		return vuf_fail(f, rc, "send %s: %s",
		    vu_request_name(hdr->request), strerror(-rc));
	return 0;
}

/* Read exactly len bytes (after the first recvmsg) before deadline. */
static int
vuf_read_full(struct vuf *f, void *buf, size_t len, long deadline)
{
	size_t	done = 0;
	ssize_t	n;
	int	rc;

	while (done < len) {
		if ((rc = vuf_poll_in(f->f_sock, deadline)) < 0)
			return rc;
		n = read(f->f_sock, (char *)buf + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		done += (size_t)n;
	}
	return 0;
}

int
vuf_recv(struct vuf *f, struct vhost_user_msg *msg, int *fds,
    unsigned int *nfds)
{
	union {
		char		buf[CMSG_SPACE(VHOST_USER_MAX_FDS *
				    sizeof(int))];
		struct cmsghdr	align;
	} ctl;
	struct iovec	 iov;
	struct msghdr	 mh;
	struct cmsghdr	*cm;
	long		 deadline = vuf_now_ms() + f->f_timeout_ms;
	unsigned int	 got = 0, i, k;
	ssize_t		 n;
	int		 rc, fd;

	if (nfds != NULL)
		*nfds = 0;
	if (f->f_sock < 0)
		return vuf_fail(f, -ENOTCONN, "not connected");
	if ((rc = vuf_poll_in(f->f_sock, deadline)) < 0)
		return vuf_fail(f, rc, "no reply within %d ms: %s",
		    f->f_timeout_ms, strerror(-rc));
	iov.iov_base = &msg->hdr;
	iov.iov_len = sizeof(msg->hdr);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	do
		n = recvmsg(f->f_sock, &mh, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return vuf_fail(f, -errno, "recvmsg: %s", strerror(errno));
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (unsigned int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < k; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (fds != NULL && got < VHOST_USER_MAX_FDS)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	if (nfds != NULL)
		*nfds = got;
	rc = 0;
	if (n == 0)
		rc = vuf_fail(f, -ECONNRESET, "the back end closed the "
		    "connection");
	else if ((size_t)n < sizeof(msg->hdr) &&
	    (rc = vuf_read_full(f, (char *)&msg->hdr + n,
	    sizeof(msg->hdr) - (size_t)n, deadline)) < 0)
		vuf_fail(f, rc, "reading a reply header: %s", strerror(-rc));
	else if ((msg->hdr.flags & VHOST_USER_VERSION_MASK) !=
	    VHOST_USER_VERSION)
		rc = vuf_fail(f, -EPROTO, "reply with version %u",
		    msg->hdr.flags & VHOST_USER_VERSION_MASK);
	else if (msg->hdr.size > sizeof(msg->payload))
		rc = vuf_fail(f, -EMSGSIZE, "reply payload of %u bytes",
		    msg->hdr.size);
	else if ((rc = vuf_read_full(f, &msg->payload, msg->hdr.size,
	    deadline)) < 0)
		vuf_fail(f, rc, "reading a %u-byte reply payload: %s",
		    msg->hdr.size, strerror(-rc));
	if (rc < 0 && nfds != NULL) {
		for (i = 0; i < got; i++)
			close(fds[i]);
		*nfds = 0;
	}
	return rc;
}

bool
vuf_request_has_reply(uint32_t request)
{
	switch (request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_GET_MAX_MEM_SLOTS:
	case VHOST_USER_GET_INFLIGHT_FD:
	case VHOST_USER_GET_STATUS:
		return true;
	default:
		return false;
	}
}

int
vuf_request(struct vuf *f, uint32_t request, const void *payload,
    size_t len, const int *fds, unsigned int nfds,
    struct vhost_user_msg *reply, size_t reply_len)
{
	struct vhost_user_header	hdr;
	struct vhost_user_msg		ack;
	const char			*name = vu_request_name(request);
	bool				 has_reply, want_ack;
	int				 rc;

	has_reply = vuf_request_has_reply(request);
	want_ack = !has_reply && f->f_reply_ack &&
	    vuf_has_protocol(f, VHOST_USER_PROTOCOL_F_REPLY_ACK);
	hdr.request = request;
	hdr.flags = VHOST_USER_VERSION |
	    (want_ack ? VHOST_USER_NEED_REPLY_MASK : 0);
	hdr.size = (uint32_t)len;
	if ((rc = vuf_send_raw(f, &hdr, payload, len, fds, nfds)) < 0)
		return rc;
	if (!has_reply && !want_ack)
		return 0;
	if (reply == NULL)
		reply = &ack;
	if ((rc = vuf_recv(f, reply, NULL, NULL)) < 0)
		return vuf_fail(f, rc, "%s: %s", name, vuf_error(f));
	if (reply->hdr.request != request)
		return vuf_fail(f, -EPROTO, "%s: reply is for request %u",
		    name, reply->hdr.request);
	if (!(reply->hdr.flags & VHOST_USER_REPLY_MASK))
		return vuf_fail(f, -EPROTO, "%s: reply flag not set", name);
	if (want_ack) {
		if (reply->hdr.size != sizeof(uint64_t))
			return vuf_fail(f, -EPROTO, "%s: ack of %u bytes",
			    name, reply->hdr.size);
		if (reply->payload.u64 != 0)
			return vuf_fail(f, -EIO, "%s: the back end answered "
			    "failure (%llu)", name,
			    (unsigned long long)reply->payload.u64);
		return 0;
	}
	if (reply_len != 0 && reply->hdr.size != reply_len)
		return vuf_fail(f, -EPROTO, "%s: reply of %u bytes, expected "
		    "%zu", name, reply->hdr.size, reply_len);
	return 0;
}

int
vuf_wait_hangup(struct vuf *f, int timeout_ms)
{
	long	deadline = vuf_now_ms() + timeout_ms;
	char	buf[4096];
	ssize_t	n;
	int	rc;

	if (f->f_sock < 0)
		return 0;
	for (;;) {
		if ((rc = vuf_poll_in(f->f_sock, deadline)) < 0)
			return vuf_fail(f, rc, "the back end kept the "
			    "connection open for %d ms", timeout_ms);
		n = recv(f->f_sock, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN))
			return 0;
	}
}

/* Request with a u64 reply. */
static int
vuf_get_u64(struct vuf *f, uint32_t request, uint64_t *v)
{
	struct vhost_user_msg	reply;
	int			rc;

	rc = vuf_request(f, request, NULL, 0, NULL, 0, &reply,
	    sizeof(uint64_t));
	if (rc == 0)
		*v = reply.payload.u64;
	return rc;
}

static int
vuf_set_u64(struct vuf *f, uint32_t request, uint64_t v)
{
	return vuf_request(f, request, &v, sizeof(v), NULL, 0, NULL, 0);
}

int
vuf_handshake(struct vuf *f, uint64_t want_protocol)
{
	uint64_t	v;
	int		rc;

	if ((rc = vuf_get_u64(f, VHOST_USER_GET_FEATURES,
	    &f->f_dev_features)) < 0)
		return rc;
	f->f_protocol = 0;
	if (f->f_dev_features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) {
		if ((rc = vuf_get_u64(f, VHOST_USER_GET_PROTOCOL_FEATURES,
		    &f->f_dev_protocol)) < 0)
			return rc;
		v = f->f_dev_protocol & want_protocol;
		if ((rc = vuf_set_u64(f, VHOST_USER_SET_PROTOCOL_FEATURES,
		    v)) < 0)
			return rc;
		f->f_protocol = v;
	}
	f->f_nqueues = 1;
	if (vuf_has_protocol(f, VHOST_USER_PROTOCOL_F_MQ)) {
		if ((rc = vuf_get_u64(f, VHOST_USER_GET_QUEUE_NUM, &v)) < 0)
			return rc;
		if (v == 0 || v > VUF_MAX_QUEUES)
			return vuf_fail(f, -EPROTO, "GET_QUEUE_NUM answered "
			    "%llu", (unsigned long long)v);
		f->f_nqueues = (uint16_t)v;
	}
	if (vuf_has_protocol(f, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
		if ((rc = vuf_get_u64(f, VHOST_USER_GET_MAX_MEM_SLOTS, &v)) < 0)
			return rc;
		f->f_max_slots = (uint32_t)MIN(v, UINT32_MAX);
	}
	return vuf_request(f, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, NULL, 0);
}

int
vuf_set_features(struct vuf *f, uint64_t want)
{
	uint64_t	v = f->f_dev_features & want;
	int		rc;

	v |= f->f_dev_features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	if ((rc = vuf_set_u64(f, VHOST_USER_SET_FEATURES, v)) < 0)
		return rc;
	f->f_features = v;
	return 0;
}

int
vuf_get_config(struct vuf *f, uint32_t offset, void *buf, uint32_t len)
{
	struct vhost_user_config	cfg;
	struct vhost_user_msg		reply;
	int				rc;

	if (len > VHOST_USER_MAX_CONFIG_SIZE)
		return vuf_fail(f, -EINVAL, "GET_CONFIG of %u bytes", len);
	memset(&cfg, 0, sizeof(cfg));
	cfg.offset = offset;
	cfg.size = len;
	rc = vuf_request(f, VHOST_USER_GET_CONFIG, &cfg,
	    VHOST_USER_CONFIG_HDR_SIZE + len, NULL, 0, &reply,
	    VHOST_USER_CONFIG_HDR_SIZE + len);
	if (rc < 0)
		return rc;
	memcpy(buf, reply.payload.config.region, len);
	return 0;
}

int
vuf_get_status(struct vuf *f, uint8_t *status)
{
	uint64_t	v;
	int		rc;

	if ((rc = vuf_get_u64(f, VHOST_USER_GET_STATUS, &v)) == 0)
		*status = (uint8_t)v;
	return rc;
}

int
vuf_set_status(struct vuf *f, uint8_t status)
{
	return vuf_set_u64(f, VHOST_USER_SET_STATUS, status);
}

/* Region i of n over the whole memfd, page aligned. */
static void
vuf_region(const struct vuf *f, unsigned int i, unsigned int n,
    struct vhost_user_mem_region *r)
{
	size_t	pages = f->f_mem_size / VUF_PAGE;
	size_t	start = pages * i / n, end = pages * (i + 1) / n;

	r->guest_phys_addr = f->f_gpa_base + start * VUF_PAGE;
	r->memory_size = (end - start) * VUF_PAGE;
	r->userspace_addr = (uint64_t)(uintptr_t)(f->f_mem + start * VUF_PAGE);
	r->mmap_offset = start * VUF_PAGE;
}

int
vuf_send_mem_table(struct vuf *f, unsigned int nregions, bool use_add)
{
	struct vhost_user_memory	mt;
	struct vhost_user_mem_reg	reg;
	int				fds[VHOST_USER_MEMORY_MAX_NREGIONS];
	unsigned int			i;
	int				rc;

	if (f->f_mem == NULL)
		return vuf_fail(f, -EINVAL, "no guest memory");
	if (nregions == 0 || nregions > VUF_MAX_REGIONS ||
	    nregions > f->f_mem_size / VUF_PAGE ||
	    (!use_add && nregions > VHOST_USER_MEMORY_MAX_NREGIONS))
		return vuf_fail(f, -EINVAL, "cannot split guest memory into "
		    "%u regions%s", nregions, use_add ? "" :
		    " for SET_MEM_TABLE");
	if (use_add) {
		if (!vuf_has_protocol(f,
		    VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))
			return vuf_fail(f, -EOPNOTSUPP, "ADD_MEM_REG needs "
			    "CONFIGURE_MEM_SLOTS, not negotiated");
		if (f->f_max_slots != 0 && nregions > f->f_max_slots)
			return vuf_fail(f, -ENOSPC, "%u regions, the back end "
			    "has %u slots", nregions, f->f_max_slots);
		for (i = 0; i < nregions; i++) {
			memset(&reg, 0, sizeof(reg));
			vuf_region(f, i, nregions, &reg.region);
			if ((rc = vuf_request(f, VHOST_USER_ADD_MEM_REG, &reg,
			    sizeof(reg), &f->f_memfd, 1, NULL, 0)) < 0)
				return rc;
		}
		f->f_nregions = nregions;
		return 0;
	}
	memset(&mt, 0, sizeof(mt));
	mt.nregions = nregions;
	for (i = 0; i < nregions; i++) {
		vuf_region(f, i, nregions, &mt.regions[i]);
		fds[i] = f->f_memfd;
	}
	rc = vuf_request(f, VHOST_USER_SET_MEM_TABLE, &mt,
	    offsetof(struct vhost_user_memory, regions) +
	    nregions * sizeof(mt.regions[0]), fds, nregions, NULL, 0);
	if (rc == 0)
		f->f_nregions = nregions;
	return rc;
}

int
vuf_setup(struct vuf *f, const char *path, const struct vuf_opts *opts)
{
	struct vuf_opts	o;
	unsigned int	i;
	int		rc;

	if (opts != NULL)
		o = *opts;
	else
		memset(&o, 0, sizeof(o));
	if (o.o_mem_size == 0)
		o.o_mem_size = 16u << 20;
	if (o.o_gpa_base == 0)
		o.o_gpa_base = 1ull << 30;
	if (o.o_nregions == 0)
		o.o_nregions = 1;
	if (o.o_features == 0)
		o.o_features = (1ull << VIRTIO_F_VERSION_1) |
		    (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
		    (1ull << VIRTIO_RING_F_EVENT_IDX);
	if (o.o_protocol == 0)
		o.o_protocol = (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		    (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |
		    (1ull << VHOST_USER_PROTOCOL_F_MQ) |
		    (1ull << VHOST_USER_PROTOCOL_F_STATUS) |
		    (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
	if (o.o_nqueues == 0)
		o.o_nqueues = 1;
	if (o.o_queue_size == 0)
		o.o_queue_size = 256;
	if (f->f_sock < 0 && (rc = vuf_connect(f, path)) < 0)
		return rc;
	if (o.o_mem_unsealed)
		f->f_mem_unsealed = true;
	if (f->f_mem == NULL &&
	    (rc = vuf_mem_create(f, o.o_mem_size, o.o_gpa_base)) < 0)
		return rc;
	if ((rc = vuf_handshake(f, o.o_protocol)) < 0 ||
	    (rc = vuf_set_features(f, o.o_features)) < 0 ||
	    (rc = vuf_send_mem_table(f, o.o_nregions, o.o_add_mem_reg)) < 0)
		return rc;
	if (o.o_nqueues > f->f_nqueues)
		return vuf_fail(f, -EINVAL, "%u rings wanted, the back end has "
		    "%u", o.o_nqueues, f->f_nqueues);
	for (i = 0; i < o.o_nqueues; i++)
		if ((rc = vuf_vq_alloc(f, i, o.o_queue_size)) < 0 ||
		    (rc = vuf_vq_start(f, i, 0)) < 0)
			return rc;
	return 0;
}
