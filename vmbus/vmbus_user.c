/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vmbus-user transport and validating parser (vmbus_user.h): one message
 * per SOCK_SEQPACKET packet, descriptors as SCM_RIGHTS. The parser reads
 * the packet with memcpy only, so it accepts any alignment; it checks the
 * header, each type's exact body size, the counts inside the body, that
 * every name is NUL-terminated within its array and how many descriptors
 * the type carries. Used by vmm (vmm/vsd_link.c) and vswitchd.
 */
#include "vmbus_user.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define VU_PAGE 4096u

static const char *const vu_type_names[VMBUS_USER_TYPE_MAX] = {
	[VMBUS_USER_HELLO] = "HELLO",
	[VMBUS_USER_HELLO_REPLY] = "HELLO_REPLY",
	[VMBUS_USER_MEM] = "MEM",
	[VMBUS_USER_GPADL] = "GPADL",
	[VMBUS_USER_GPADL_DEL] = "GPADL_DEL",
	[VMBUS_USER_CHANNEL_OPEN] = "CHANNEL_OPEN",
	[VMBUS_USER_CHANNEL_CLOSE] = "CHANNEL_CLOSE",
	[VMBUS_USER_CHANNEL_CLOSED] = "CHANNEL_CLOSED",
	[VMBUS_USER_CHANNEL_FAILED] = "CHANNEL_FAILED",
	[VMBUS_USER_SIEF] = "SIEF",
	[VMBUS_USER_NIC_STATE] = "NIC_STATE",
	[VMBUS_USER_STATUS] = "STATUS",
	[VMBUS_USER_REQUEST] = "REQUEST",
	[VMBUS_USER_REQUEST_REPLY] = "REQUEST_REPLY",
};

const char *vmbus_user_type_name(uint32_t type)
{
	if (type >= VMBUS_USER_TYPE_MAX || !vu_type_names[type])
		return "?";
	return vu_type_names[type];
}

/* ---- parser ---- */

static bool vu_terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

/* Number of descriptors each type carries. */
static unsigned int vu_type_fds(uint32_t type)
{
	if (type == VMBUS_USER_MEM)
		return 1;
	if (type == VMBUS_USER_CHANNEL_OPEN)
		return 2;
	return 0;
}

static int vu_parse_nic(const uint8_t *p)
{
	struct vmbus_user_nic n;

	memcpy(&n, p, sizeof(n));
	if (!vu_terminated(n.switch_name, sizeof(n.switch_name)) || n.switch_name[0] == '\0' ||
	    !vu_terminated(n.port_name, sizeof(n.port_name)) || n.vlan > 4094 || n.mtu > 9000)
		return -EPROTO;
	return 0;
}

static int vu_parse_hello(const uint8_t *b, size_t len)
{
	struct vmbus_user_hello h;

	if (len < sizeof(h))
		return -EPROTO;
	memcpy(&h, b, sizeof(h));
	if (h.nr_nics < 1 || h.nr_nics > VMBUS_USER_MAX_NICS ||
	    len != sizeof(h) + h.nr_nics * sizeof(struct vmbus_user_nic) ||
	    !vu_terminated(h.vm_name, sizeof(h.vm_name)) || h.vm_name[0] == '\0')
		return -EPROTO;
	for (uint32_t i = 0; i < h.nr_nics; i++)
		if (vu_parse_nic(b + sizeof(h) + i * sizeof(struct vmbus_user_nic)))
			return -EPROTO;
	return 0;
}

static int vu_parse_hello_reply(const uint8_t *b, size_t len)
{
	struct vmbus_user_hello_reply r;
	struct vmbus_user_nic_reply n;

	if (len < sizeof(r))
		return -EPROTO;
	memcpy(&r, b, sizeof(r));
	if (r.nr_nics > VMBUS_USER_MAX_NICS ||
	    len != sizeof(r) + r.nr_nics * sizeof(struct vmbus_user_nic_reply) ||
	    !vu_terminated(r.message, sizeof(r.message)) || r.status > 0)
		return -EPROTO;
	for (uint32_t i = 0; i < r.nr_nics; i++) {
		memcpy(&n, b + sizeof(r) + i * sizeof(n), sizeof(n));
		if (!vu_terminated(n.port_name, sizeof(n.port_name)) || n.status > 0)
			return -EPROTO;
	}
	return 0;
}

static int vu_parse_mem(const uint8_t *b, size_t len)
{
	struct vmbus_user_mem m;

	if (len != sizeof(m))
		return -EPROTO;
	memcpy(&m, b, sizeof(m));
	if (m.size == 0 || (m.gpa | m.size | m.offset) % VU_PAGE || m.gpa + m.size < m.gpa ||
	    m.offset + m.size < m.offset)
		return -EPROTO;
	return 0;
}

static int vu_parse_gpadl(const uint8_t *b, size_t len)
{
	struct vmbus_user_gpadl g;

	if (len < sizeof(g))
		return -EPROTO;
	memcpy(&g, b, sizeof(g));
	if (g.gpadl == 0 || g.npfns < 1 || g.npfns > VMBUS_USER_MAX_PFNS ||
	    len != sizeof(g) + (size_t)g.npfns * sizeof(uint64_t))
		return -EPROTO;
	return 0;
}

static int vu_parse_channel_open(const uint8_t *b, size_t len)
{
	struct vmbus_user_channel_open o;

	if (len < sizeof(o))
		return -EPROTO;
	memcpy(&o, b, sizeof(o));
	if (o.npfns < 2 || o.npfns > VMBUS_USER_MAX_PFNS ||
	    len != sizeof(o) + (size_t)o.npfns * sizeof(uint64_t) || o.out_offset < 1 ||
	    o.out_offset >= o.npfns || o.relid == 0 || o.relid > VMBUS_USER_MAX_RELID ||
	    o.ring_gpadl == 0 || o.sief_gpa % VU_PAGE)
		return -EPROTO;
	return 0;
}

/* CHANNEL_FAILED may say relid 0: "the NIC's channel, whichever is open". */
static int vu_parse_event(uint32_t type, const uint8_t *b, size_t len)
{
	struct vmbus_user_channel_event e;

	if (len != sizeof(e))
		return -EPROTO;
	memcpy(&e, b, sizeof(e));
	if ((e.relid == 0 && type != VMBUS_USER_CHANNEL_FAILED) ||
	    !vu_terminated(e.message, sizeof(e.message)) || e.reason > 0)
		return -EPROTO;
	return 0;
}

static int vu_parse_sief(const uint8_t *b, size_t len)
{
	struct vmbus_user_sief s;

	if (len != sizeof(s))
		return -EPROTO;
	memcpy(&s, b, sizeof(s));
	return s.gpa % VU_PAGE ? -EPROTO : 0;
}

static int vu_parse_nic_state(const uint8_t *b, size_t len)
{
	struct vmbus_user_nic_state s;

	if (len < sizeof(s))
		return -EPROTO;
	memcpy(&s, b, sizeof(s));
	if (s.len > VMBUS_USER_MAX_STATE || len != sizeof(s) + s.len)
		return -EPROTO;
	return 0;
}

static int vu_parse_status(const uint8_t *b, size_t len)
{
	struct vmbus_user_status s;

	if (len != sizeof(s))
		return -EPROTO;
	memcpy(&s, b, sizeof(s));
	if (s.state > VMBUS_USER_VM_SHUTTING_DOWN || s.heartbeat > VMBUS_USER_HB_LOST_CONTACT)
		return -EPROTO;
	return 0;
}

static int vu_parse_request(const uint8_t *b, size_t len, bool reply)
{
	struct vmbus_user_request r;

	if (len != sizeof(r))
		return -EPROTO;
	memcpy(&r, b, sizeof(r));
	if (!vu_terminated(r.message, sizeof(r.message)) || r.status > 0)
		return -EPROTO;
	if (!reply && r.op != VMBUS_USER_REQ_SHUTDOWN && r.op != VMBUS_USER_REQ_POWEROFF)
		return -EPROTO;
	return 0;
}

static int vu_parse_body(uint32_t type, const uint8_t *b, size_t len)
{
	switch (type) {
	case VMBUS_USER_HELLO:
		return vu_parse_hello(b, len);
	case VMBUS_USER_HELLO_REPLY:
		return vu_parse_hello_reply(b, len);
	case VMBUS_USER_MEM:
		return vu_parse_mem(b, len);
	case VMBUS_USER_GPADL:
		return vu_parse_gpadl(b, len);
	case VMBUS_USER_GPADL_DEL:
		return len == sizeof(struct vmbus_user_gpadl_del) ? 0 : -EPROTO;
	case VMBUS_USER_CHANNEL_OPEN:
		return vu_parse_channel_open(b, len);
	case VMBUS_USER_CHANNEL_CLOSE:
	case VMBUS_USER_CHANNEL_CLOSED:
	case VMBUS_USER_CHANNEL_FAILED:
		return vu_parse_event(type, b, len);
	case VMBUS_USER_SIEF:
		return vu_parse_sief(b, len);
	case VMBUS_USER_NIC_STATE:
		return vu_parse_nic_state(b, len);
	case VMBUS_USER_STATUS:
		return vu_parse_status(b, len);
	case VMBUS_USER_REQUEST:
	case VMBUS_USER_REQUEST_REPLY:
		return vu_parse_request(b, len, type == VMBUS_USER_REQUEST_REPLY);
	default:
		return -EPROTO;
	}
}

int vmbus_user_parse(const void *buf, size_t len, unsigned int nfds, struct vmbus_user_msg *msg)
{
	const uint8_t *b = buf;
	struct vmbus_user_hdr h;

	if (len < sizeof(h) || len > VMBUS_USER_MAX_MSG)
		return -EPROTO;
	memcpy(&h, b, sizeof(h));
	if (h.len != len || h.type == 0 || h.type >= VMBUS_USER_TYPE_MAX ||
	    h.nic >= VMBUS_USER_MAX_NICS || nfds != vu_type_fds(h.type))
		return -EPROTO;
	if (vu_parse_body(h.type, b + sizeof(h), len - sizeof(h)))
		return -EPROTO;
	memset(msg, 0, sizeof(*msg));
	msg->hdr = h;
	msg->body = b + sizeof(h);
	msg->body_len = len - sizeof(h);
	for (unsigned int i = 0; i < VMBUS_USER_MAX_FDS; i++)
		msg->fds[i] = -1;
	return 0;
}

/* ---- transport ---- */

static ssize_t vu_sendmsg(int sock, const struct msghdr *mh)
{
	ssize_t n;

	do
		n = sendmsg(sock, mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n;
}

int vmbus_user_send(int sock, uint32_t type, uint32_t nic, uint32_t seq, const void *body,
		    size_t body_len, const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VMBUS_USER_MAX_FDS)];
		struct cmsghdr align;
	} cm;
	struct vmbus_user_hdr h = {.type = type, .nic = nic, .seq = seq};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)body, body_len}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = body_len ? 2 : 1};
	ssize_t n;

	if (body_len > VMBUS_USER_MAX_MSG - sizeof(h) || nfds > VMBUS_USER_MAX_FDS ||
	    (body_len && !body) || (nfds && !fds))
		return -EINVAL;
	h.len = (uint32_t)(sizeof(h) + body_len);
	if (nfds) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	n = vu_sendmsg(sock, &mh);
	if (n < 0 && errno == EMSGSIZE) {
		/* the default send buffer (wmem_default) is below the largest
		 * message; the kernel doubles what we ask and caps at wmem_max */
		int sz = VMBUS_USER_MAX_MSG + 4096;

		if (setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == 0)
			n = vu_sendmsg(sock, &mh);
	}
	if (n < 0)
		return errno == ECONNRESET ? -EPIPE : -errno;
	return (size_t)n == h.len ? 0 : -EIO;
}

/* Moves the SCM_RIGHTS descriptors of mh into fds; returns how many there
 * were in total (more than max: the extra ones are closed). */
static unsigned int vu_take_fds(struct msghdr *mh, int *fds, unsigned int max)
{
	unsigned int n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n < max)
				fds[n] = fd;
			else
				close(fd);
			n++;
		}
	}
	return n;
}

static void vu_close_fds(const int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]);
}

int vmbus_user_recv(int sock, void *buf, size_t buf_len, struct vmbus_user_msg *msg)
{
	union {
		/* room for more than a message may carry, so extras are seen */
		char buf[CMSG_SPACE(sizeof(int) * (VMBUS_USER_MAX_FDS + 4))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = {buf, buf_len};
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cm.buf,
		.msg_controllen = sizeof(cm.buf),
	};
	int fds[VMBUS_USER_MAX_FDS];
	unsigned int nfds;
	ssize_t n;
	int rc;

	if (buf_len < VMBUS_USER_MAX_MSG)
		return -EINVAL;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	nfds = vu_take_fds(&mh, fds, VMBUS_USER_MAX_FDS);
	if (n == 0 && nfds == 0)
		return -ECONNRESET;
	if (nfds > VMBUS_USER_MAX_FDS || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		vu_close_fds(fds, nfds < VMBUS_USER_MAX_FDS ? nfds : VMBUS_USER_MAX_FDS);
		return -EPROTO;
	}
	rc = vmbus_user_parse(buf, (size_t)n, nfds, msg);
	if (rc) {
		vu_close_fds(fds, nfds);
		return rc;
	}
	memcpy(msg->fds, fds, nfds * sizeof(int));
	msg->nfds = nfds;
	return 0;
}

static int vu_addr(const char *path, struct sockaddr_un *sa)
{
	size_t n = strlen(path);

	if (n == 0)
		return -EINVAL;
	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

int vmbus_user_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc;

	rc = vu_addr(path, &sa);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* Removes a socket file nobody listens on; -EADDRINUSE when someone does. */
static int vu_remove_stale(const char *path)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = vmbus_user_connect(path);
	if (fd >= 0) {
		close(fd);
		return -EADDRINUSE;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int vmbus_user_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc;

	rc = vu_addr(path, &sa);
	if (!rc)
		rc = vu_remove_stale(path);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 16) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}
