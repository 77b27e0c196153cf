/* SPDX-License-Identifier: BSD-3-Clause */
/* vswitchd's vmbus-user server: see vsw_vmbus.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl_parse.h"
#include "log.h"
#include "port_synth.h"
#include "vlan.h"
#include "vmbus_user.h"
#include "vsw.h"
#include "vsw_private.h"
#include "vsw_vm.h"
#include "vsw_vmbus.h"

#define VB_MAX_CONNS 64

struct vb_nic {
	struct vsw_synth *synth;
	char port[CTL_NAME_MAX + 1];
	char sw[CTL_NAME_MAX + 1];
	uint16_t vlan;
	bool port_added;
};

struct vb_conn {
	int fd;
	bool hello;
	char name[VMBUS_USER_NAME_LEN];
	uint32_t seq;
	struct vsw_gmem *gm;
	unsigned int n_nics;
	struct vb_nic nics[VMBUS_USER_MAX_NICS];
};

struct vsw_vmbus {
	struct vsw *vsw;
	int listen_fd;
	char path[108];
	struct vb_conn *conns[VB_MAX_CONNS];
	uint8_t buf[VMBUS_USER_MAX_MSG] __attribute__((aligned(8)));
};

const char *vsw_vmbus_default_path(const char *ctl_path, char *buf, size_t len)
{
	size_t n = strlen(ctl_path);

	if (n > 5 && !strcmp(ctl_path + n - 5, ".sock"))
		snprintf(buf, len, "%.*s-vmbus.sock", (int)(n - 5), ctl_path);
	else
		snprintf(buf, len, "%s.vmbus", ctl_path);
	return buf;
}

struct vsw_vmbus *vsw_vmbus_new(struct vsw *vsw, const char *path, struct ctl_err *err)
{
	struct vsw_vmbus *vb = calloc(1, sizeof(*vb));
	int fd;

	if (!vb) {
		ctl_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	if (strlen(path) >= sizeof(vb->path)) {
		ctl_err_set(err, ENAMETOOLONG, "vmbus socket: path '%s' is too long", path);
		goto free_vb;
	}
	fd = vmbus_user_listen(path);
	if (fd < 0) {
		ctl_err_set(err, -fd, "vmbus socket: cannot listen on %s: %s", path, strerror(-fd));
		goto free_vb;
	}
	vb->vsw = vsw;
	vb->listen_fd = fd;
	snprintf(vb->path, sizeof(vb->path), "%s", path);
	vsw->vmbus = vb;
	return vb;
free_vb:
	free(vb);
	return NULL;
}

const char *vsw_vmbus_path(struct vsw *vsw)
{
	return vsw->vmbus ? vsw->vmbus->path : NULL;
}

static int vb_send(struct vb_conn *c, uint32_t type, uint32_t nic, uint32_t seq, const void *body,
		   size_t len)
{
	return vmbus_user_send(c->fd, type, nic, seq ? seq : ++c->seq, body, len, NULL, 0);
}

/* ---- HELLO ---- */

/* A MAC in Hyper-V's dynamic range 00:15:5D, derived from the VM name and NIC index. */
static void default_mac(const char *vm, unsigned int nic, uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (const char *p = vm; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ nic) * 16777619u;
	mac[0] = 0x00;
	mac[1] = 0x15;
	mac[2] = 0x5d;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)(h ^ nic);
}

static bool mac_is_zero(const uint8_t *m)
{
	return !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]);
}

static void vb_remove_nics(struct vsw_vmbus *vb, struct vb_conn *c)
{
	struct ctl_err err;

	for (unsigned int i = 0; i < c->n_nics; i++) {
		struct vb_nic *n = &c->nics[i];

		if (n->port_added && vsw_port_del(vb->vsw, n->port, &err) < 0)
			vsw_log(VSW_LOG_WARN, "vm %s: %s", c->name, err.msg);
		vsw_synth_free(n->synth);
		*n = (struct vb_nic){0};
	}
	c->n_nics = 0;
}

/* Creates the synthetic port of NIC i as the VM asked. */
static int vb_add_nic(struct vsw_vmbus *vb, struct vb_conn *c, unsigned int i,
		      const struct vmbus_user_nic *req, struct ctl_err *err)
{
	struct vb_nic *n = &c->nics[i];
	struct vsw_port_params p = {.kind = "synthetic"};
	struct vsw_vlan_cfg vlan;
	uint8_t mac[6];

	if (req->port_name[0])
		snprintf(n->port, sizeof(n->port), "%s", req->port_name);
	else if ((size_t)snprintf(n->port, sizeof(n->port), "%s-nic%u", c->name, i) >=
		 sizeof(n->port))
		return ctl_err_set(err, ENAMETOOLONG,
				   "nic %u: port name '%s-nic%u' is longer than %d characters; "
				   "name the port (port=NAME)", i, c->name, i, CTL_NAME_MAX);
	snprintf(n->sw, sizeof(n->sw), "%s", req->switch_name);
	if (ctl_parse_name("port", n->port, CTL_NAME_MAX, err) < 0 ||
	    !vsw_find_switch(vb->vsw, n->sw, err))
		return -EINVAL;
	if (vsw_find_port(vb->vsw, n->port, &(struct ctl_err){0}))
		return ctl_err_set(err, EEXIST, "nic %u: a port named '%s' exists already", i,
				   n->port);
	if (req->mtu && (req->mtu < 68 || req->mtu > 9000))
		return ctl_err_set(err, EINVAL, "nic %u: mtu %u is outside 68..9000", i, req->mtu);
	if (req->vlan > 4094)
		return ctl_err_set(err, EINVAL, "nic %u: vlan %u is outside 1..4094", i, req->vlan);
	if (mac_is_zero(req->mac))
		default_mac(c->name, i, mac);
	else
		memcpy(mac, req->mac, 6);
	if (mac[0] & 1)
		return ctl_err_set(err, EINVAL, "nic %u: mac is a multicast address", i);
	n->vlan = req->vlan;
	n->synth = vsw_synth_new(c->gm, n->port, mac, req->mtu);
	if (!n->synth)
		return ctl_err_set(err, ENOMEM, "out of memory");
	p.name = n->port;
	p.synth = n->synth;
	if (vsw_port_add(vb->vsw, n->sw, &p, false, err) < 0)
		return -EINVAL;
	n->port_added = true;
	if (n->vlan && (vsw_vlan_set_access(&vlan, n->vlan, err) < 0 ||
			vsw_port_set_vlan(vb->vsw, n->port, &vlan, err) < 0))
		return -EINVAL;
	return vsw_port_set_static_mac(vb->vsw, n->port, mac, err);
}

static int vb_check_hello(struct vsw_vmbus *vb, const struct vmbus_user_hello *h,
			  struct ctl_err *err)
{
	if (h->version >> 16 != VMBUS_USER_VERSION_MAJOR)
		return ctl_err_set(err, EPROTO, "vmbus-user version %u.%u is not supported (%u.x)",
				   h->version >> 16, h->version & 0xffff,
				   VMBUS_USER_VERSION_MAJOR);
	if (ctl_parse_name("vm name", h->vm_name, VMBUS_USER_NAME_LEN - 1, err) < 0)
		return -EINVAL;
	for (unsigned int i = 0; i < VB_MAX_CONNS; i++) {
		if (vb->conns[i] && vb->conns[i]->hello &&
		    !strcmp(vb->conns[i]->name, h->vm_name))
			return ctl_err_set(err, EEXIST, "a VM named '%s' is connected already",
					   h->vm_name);
	}
	return 0;
}

static void vb_hello(struct vsw_vmbus *vb, struct vb_conn *c, const struct vmbus_user_msg *m)
{
	const struct vmbus_user_hello *h = m->body;
	struct {
		struct vmbus_user_hello_reply r;
		struct vmbus_user_nic_reply nics[VMBUS_USER_MAX_NICS];
	} rep = {.r = {.version = VMBUS_USER_VERSION, .nr_nics = h->nr_nics}};
	const char *ports[VMBUS_USER_MAX_NICS];
	struct ctl_err err = {{0}};
	int rc = c->hello ? ctl_err_set(&err, EALREADY, "HELLO sent twice") : 0;

	if (!rc)
		rc = vb_check_hello(vb, h, &err);
	if (!rc) {
		snprintf(c->name, sizeof(c->name), "%s", h->vm_name);
		c->gm = vsw_gmem_new();
		rc = c->gm ? 0 : ctl_err_set(&err, ENOMEM, "out of memory");
	}
	for (unsigned int i = 0; !rc && i < h->nr_nics; i++) {
		c->n_nics = i + 1;
		rc = vb_add_nic(vb, c, i, &h->nics[i], &err);
		ports[i] = c->nics[i].port;
	}
	if (!rc)
		rc = vsw_vm_connected(vb->vsw, c->name, h->pid, h->nr_vcpus, h->memory_mib, ports,
				      h->nr_nics, &err);
	if (rc) {
		vb_remove_nics(vb, c);
		rep.r.status = rc < 0 ? rc : -EINVAL;
		snprintf(rep.r.message, sizeof(rep.r.message), "%s", err.msg);
		vsw_log(VSW_LOG_WARN, "vmbus: refused VM '%.31s' (pid %llu): %s", h->vm_name,
			(unsigned long long)h->pid, err.msg);
	} else {
		c->hello = true;
		for (unsigned int i = 0; i < h->nr_nics; i++) {
			memcpy(rep.nics[i].mac, vsw_synth_mac(c->nics[i].synth), 6);
			snprintf(rep.nics[i].port_name, sizeof(rep.nics[i].port_name), "%s",
				 c->nics[i].port);
		}
		vsw_log(VSW_LOG_INFO, "vmbus: VM %s (pid %llu) connected with %u NIC(s)", c->name,
			(unsigned long long)h->pid, h->nr_nics);
	}
	vb_send(c, VMBUS_USER_HELLO_REPLY, 0, m->hdr.seq, &rep,
		sizeof(rep.r) + h->nr_nics * sizeof(rep.nics[0]));
}

/* ---- per-message handlers ---- */

static struct vb_nic *vb_nic(struct vb_conn *c, const struct vmbus_user_msg *m)
{
	return c->hello && m->hdr.nic < c->n_nics ? &c->nics[m->hdr.nic] : NULL;
}

static void vb_channel_failed(struct vb_conn *c, unsigned int nic, uint32_t relid, int reason,
			      const char *why)
{
	struct vmbus_user_channel_event ev = {.relid = relid, .reason = reason};

	snprintf(ev.message, sizeof(ev.message), "%s", why);
	vsw_log(VSW_LOG_WARN, "vm %s nic %u: channel %u failed: %s", c->name, nic, relid, why);
	vb_send(c, VMBUS_USER_CHANNEL_FAILED, nic, 0, &ev, sizeof(ev));
}

static void vb_channel_open(struct vsw_vmbus *vb, struct vb_conn *c, struct vmbus_user_msg *m)
{
	const struct vmbus_user_channel_open *o = m->body;
	struct vb_nic *n = vb_nic(c, m);
	int rc;

	if (!n || m->nfds != 2) {
		vsw_log(VSW_LOG_WARN, "vm %s: CHANNEL_OPEN for unknown NIC %u", c->name, m->hdr.nic);
		return;
	}
	rc = vsw_synth_open(n->synth, o, m->fds[0], m->fds[1]);
	m->nfds = 0; /* taken over, even on failure */
	if (rc < 0)
		vb_channel_failed(c, m->hdr.nic, o->relid, rc,
				  rc == -EPROTO ? "corrupt ring header" : "ring pages outside guest RAM");
	else
		vsw_log(VSW_LOG_INFO, "vm %s: NIC %s channel %u open (%u ring pages)", c->name,
			n->port, o->relid, o->npfns);
	vsw_dp_wake(vb->vsw->dp); /* a sleeping datapath learns of the channel's doorbell */
}

static void vb_channel_close(struct vb_conn *c, const struct vmbus_user_msg *m)
{
	const struct vmbus_user_channel_event *ev = m->body;
	struct vmbus_user_channel_event rep = {.relid = ev->relid};
	struct vb_nic *n = vb_nic(c, m);

	if (n)
		vsw_synth_close(n->synth);
	vb_send(c, VMBUS_USER_CHANNEL_CLOSED, m->hdr.nic, m->hdr.seq, &rep, sizeof(rep));
}

static void vb_gpadl(struct vb_conn *c, const struct vmbus_user_msg *m)
{
	const struct vmbus_user_gpadl *g = m->body;
	struct vb_nic *n = vb_nic(c, m);
	int rc = n ? vsw_synth_add_gpadl(n->synth, g->gpadl, g->pfns, g->npfns) : -ENOENT;

	if (rc < 0)
		vsw_log(VSW_LOG_WARN, "vm %s: GPADL %u (%u pages) for NIC %u refused: %s", c->name,
			g->gpadl, g->npfns, m->hdr.nic, strerror(-rc));
}

static void vb_mem(struct vb_conn *c, struct vmbus_user_msg *m)
{
	const struct vmbus_user_mem *mem = m->body;
	int rc;

	if (!c->hello || m->nfds != 1) {
		vsw_log(VSW_LOG_WARN, "vmbus: MEM before HELLO");
		return;
	}
	rc = vsw_gmem_add(c->gm, m->fds[0], mem->gpa, mem->size, mem->offset);
	m->nfds = 0;
	if (rc < 0)
		vsw_log(VSW_LOG_WARN, "vm %s: guest memory [0x%llx, +0x%llx) refused: %s", c->name,
			(unsigned long long)mem->gpa, (unsigned long long)mem->size,
			rc == -EPERM ? "the memfd is not sealed against shrinking (F_SEAL_SHRINK)"
			: rc == -ERANGE ? "the region runs past the end of the memfd"
					: strerror(-rc));
}

static void vb_dispatch(struct vsw_vmbus *vb, struct vb_conn *c, struct vmbus_user_msg *m)
{
	struct vb_nic *n = vb_nic(c, m);

	if (!c->hello && m->hdr.type != VMBUS_USER_HELLO) {
		vsw_log(VSW_LOG_WARN, "vmbus: %s before HELLO ignored",
			vmbus_user_type_name(m->hdr.type));
		return;
	}
	switch (m->hdr.type) {
	case VMBUS_USER_HELLO: vb_hello(vb, c, m); break;
	case VMBUS_USER_MEM: vb_mem(c, m); break;
	case VMBUS_USER_GPADL: vb_gpadl(c, m); break;
	case VMBUS_USER_GPADL_DEL:
		if (n)
			vsw_synth_del_gpadl(n->synth, ((const struct vmbus_user_gpadl_del *)m->body)->gpadl);
		break;
	case VMBUS_USER_CHANNEL_OPEN: vb_channel_open(vb, c, m); break;
	case VMBUS_USER_CHANNEL_CLOSE: vb_channel_close(c, m); break;
	case VMBUS_USER_SIEF:
		for (unsigned int i = 0; i < c->n_nics; i++)
			vsw_synth_set_sief(c->nics[i].synth, ((const struct vmbus_user_sief *)m->body)->vp,
					   ((const struct vmbus_user_sief *)m->body)->gpa);
		break;
	case VMBUS_USER_NIC_STATE:
		if (n)
			vsw_synth_set_restore(n->synth, ((const struct vmbus_user_nic_state *)m->body)->data,
					      ((const struct vmbus_user_nic_state *)m->body)->len);
		break;
	case VMBUS_USER_STATUS: vsw_vm_status(vb->vsw, c->name, m->body); break;
	case VMBUS_USER_REQUEST_REPLY: vsw_vm_request_done(vb->vsw, c->name, m->body); break;
	default:
		vsw_log(VSW_LOG_WARN, "vm %s: unexpected %s ignored", c->name,
			vmbus_user_type_name(m->hdr.type));
	}
}

/* ---- connections ---- */

static void vb_drop(struct vsw_vmbus *vb, unsigned int i, const char *why)
{
	struct vb_conn *c = vb->conns[i];

	if (c->hello) {
		vsw_log(VSW_LOG_INFO, "vmbus: VM %s disconnected (%s)", c->name, why);
		vsw_vm_disconnected(vb->vsw, c->name);
	}
	vb_remove_nics(vb, c);
	vsw_gmem_free(c->gm);
	close(c->fd);
	free(c);
	vb->conns[i] = NULL;
}

static void vb_accept(struct vsw_vmbus *vb)
{
	int fd = accept4(vb->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct vb_conn *c;

	if (fd < 0)
		return;
	for (unsigned int i = 0; i < VB_MAX_CONNS; i++) {
		if (vb->conns[i])
			continue;
		c = calloc(1, sizeof(*c));
		if (!c)
			break;
		c->fd = fd;
		vb->conns[i] = c;
		return;
	}
	vsw_log(VSW_LOG_WARN, "vmbus: too many VM connections (%d); refused one", VB_MAX_CONNS);
	close(fd);
}

/* Reads what the connection has; false when it must be dropped. */
static bool vb_read(struct vsw_vmbus *vb, struct vb_conn *c, const char **why)
{
	for (int budget = 256; budget > 0; budget--) {
		struct vmbus_user_msg m;
		int rc = vmbus_user_recv(c->fd, vb->buf, sizeof(vb->buf), &m);

		if (rc == -EAGAIN)
			return true;
		if (rc < 0) {
			*why = rc == -ECONNRESET ? "closed" : rc == -EPROTO ? "malformed message"
									: strerror(-rc);
			return false;
		}
		vb_dispatch(vb, c, &m);
		for (unsigned int k = 0; k < m.nfds; k++)
			close(m.fds[k]);
		if (m.hdr.type == VMBUS_USER_HELLO && !c->hello) {
			*why = "refused";
			return false;
		}
	}
	return true;
}

/* Sends changed NetVSP state and channel failures of every NIC. */
static void vb_report(struct vb_conn *c)
{
	struct {
		struct vmbus_user_nic_state s;
		uint8_t data[VMBUS_USER_MAX_STATE];
	} st;
	char why[96];

	for (unsigned int i = 0; c->hello && i < c->n_nics; i++) {
		struct vsw_synth *s = c->nics[i].synth;
		int n;

		vsw_synth_service(s);
		n = vsw_synth_take_state(s, st.data, sizeof(st.data));

		if (n > 0) {
			st.s = (struct vmbus_user_nic_state){.len = (uint32_t)n};
			vb_send(c, VMBUS_USER_NIC_STATE, i, 0, &st, sizeof(st.s) + (size_t)n);
		}
		if (vsw_synth_take_failure(s, why, sizeof(why)))
			vb_channel_failed(c, i, vsw_synth_relid(s), -EPROTO, why);
	}
}

void vsw_vmbus_poll(struct vsw_vmbus *vb, int timeout_ms)
{
	struct pollfd pfd[VB_MAX_CONNS + 1];
	unsigned int idx[VB_MAX_CONNS + 1], n = 0;

	pfd[n++] = (struct pollfd){.fd = vb->listen_fd, .events = POLLIN};
	for (unsigned int i = 0; i < VB_MAX_CONNS; i++) {
		if (!vb->conns[i])
			continue;
		idx[n] = i;
		pfd[n++] = (struct pollfd){.fd = vb->conns[i]->fd, .events = POLLIN};
	}
	if (poll(pfd, n, timeout_ms) > 0) {
		for (unsigned int k = 1; k < n; k++) {
			const char *why = "closed";

			if (pfd[k].revents && !vb_read(vb, vb->conns[idx[k]], &why))
				vb_drop(vb, idx[k], why);
		}
		if (pfd[0].revents & POLLIN)
			vb_accept(vb);
	}
	for (unsigned int i = 0; i < VB_MAX_CONNS; i++) {
		if (vb->conns[i])
			vb_report(vb->conns[i]);
	}
}

void vsw_vmbus_free(struct vsw_vmbus *vb)
{
	if (!vb)
		return;
	for (unsigned int i = 0; i < VB_MAX_CONNS; i++) {
		if (vb->conns[i])
			vb_drop(vb, i, "vswitchd stopping");
	}
	close(vb->listen_fd);
	unlink(vb->path);
	vb->vsw->vmbus = NULL;
	free(vb);
}

static struct vb_conn *vb_find_vm(struct vsw_vmbus *vb, const char *name)
{
	for (unsigned int i = 0; vb && i < VB_MAX_CONNS; i++) {
		if (vb->conns[i] && vb->conns[i]->hello && !strcmp(vb->conns[i]->name, name))
			return vb->conns[i];
	}
	return NULL;
}

int vsw_vmbus_request(struct vsw *vsw, const char *vm_name, uint32_t op)
{
	struct vb_conn *c = vb_find_vm(vsw->vmbus, vm_name);
	struct vmbus_user_request rq = {.op = op};

	if (!c)
		return -ENOTCONN;
	return vb_send(c, VMBUS_USER_REQUEST, 0, 0, &rq, sizeof(rq));
}

json_t *vsw_vmbus_nic_json(struct vsw *vsw, const char *port)
{
	struct vsw_vmbus *vb = vsw->vmbus;
	char mac[18];

	for (unsigned int i = 0; vb && i < VB_MAX_CONNS; i++) {
		struct vb_conn *c = vb->conns[i];

		for (unsigned int k = 0; c && k < c->n_nics; k++) {
			struct vb_nic *n = &c->nics[k];
			struct vsw_port *p;

			if (strcmp(n->port, port))
				continue;
			p = vsw_find_port(vsw, port, &(struct ctl_err){0});
			ctl_format_mac(vsw_synth_mac(n->synth), mac);
			return json_pack("{s:s, s:s, s:s, s:i, s:s}", "port", n->port, "switch", n->sw,
					 "mac", mac, "vlan", n->vlan, "link",
					 p && p->up && vsw_synth_open_p(n->synth) ? "up" : "down");
		}
	}
	return NULL;
}
