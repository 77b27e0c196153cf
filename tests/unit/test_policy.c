/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of policy/: rule value parsers, port-ACL precedence (most
 * specific wins, deny on ties, MAC and IP entries, meters), extended ACLs
 * on rte_acl (weights, port ranges, protocols, IPv6, both directions),
 * connection tracking (stateful return traffic, TCP close, expiry) and the
 * guards, through pol_port_filter on real mbufs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include "policy.h"

static struct rte_mempool *pool;
static const uint8_t VM_MAC[6] = {2, 0, 0, 0, 0, 1}, PEER_MAC[6] = {2, 0, 0, 0, 0, 2};

/* A frame from the VM (src) to the peer (dst), or the reverse when to_vm. */
struct pkt {
	bool v6, to_vm;
	const char *vm_ip, *peer_ip;
	uint8_t proto, tcp_flags, icmp_type;
	uint16_t vm_port, peer_port;
	const uint8_t *smac; /* default: the VM's or the peer's */
};

static struct rte_mbuf *build(const struct pkt *p)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *b = (uint8_t *)rte_pktmbuf_append(m, 128);
	const char *sip = p->to_vm ? p->peer_ip : p->vm_ip, *dip = p->to_vm ? p->vm_ip : p->peer_ip;
	uint16_t sport = p->to_vm ? p->peer_port : p->vm_port;
	uint16_t dport = p->to_vm ? p->vm_port : p->peer_port;
	uint8_t *l4;

	memset(b, 0, 128);
	memcpy(b, p->to_vm ? VM_MAC : PEER_MAC, 6);
	memcpy(b + 6, p->smac ? p->smac : p->to_vm ? PEER_MAC : VM_MAC, 6);
	if (p->v6) {
		b[12] = 0x86, b[13] = 0xdd, b[14] = 0x60, b[20] = p->proto, b[21] = 64;
		inet_pton(AF_INET6, sip, b + 22);
		inet_pton(AF_INET6, dip, b + 38);
		l4 = b + 54;
	} else {
		b[12] = 0x08, b[13] = 0x00, b[14] = 0x45, b[22] = 64, b[23] = p->proto;
		inet_pton(AF_INET, sip, b + 26);
		inet_pton(AF_INET, dip, b + 30);
		l4 = b + 34;
	}
	if (p->proto == POL_PROTO_ICMP || p->proto == POL_PROTO_ICMPV6) {
		l4[0] = p->icmp_type;
		return m;
	}
	l4[0] = (uint8_t)(sport >> 8), l4[1] = (uint8_t)sport;
	l4[2] = (uint8_t)(dport >> 8), l4[3] = (uint8_t)dport;
	l4[13] = p->tcp_flags;
	return m;
}

/* Runs one frame through the port's filter and returns the verdict. */
static uint8_t judge(const struct pol_port *pp, struct pol_ct *ct, const struct pkt *p,
		     uint32_t now)
{
	uint64_t full = 0;
	struct pol_env env = {.ct = ct, .lcore = 0, .now = now, .tsc = rte_rdtsc(),
			      .ct_full = &full};
	struct rte_mbuf *m = build(p);
	uint8_t v;

	pol_port_filter(pp, p->to_vm ? POL_DIR_IN : POL_DIR_OUT, &m, 1, &env, &v);
	rte_pktmbuf_free(m);
	return v;
}

static struct pol_port *compile(struct pol_port_conf *c)
{
	struct ctl_err err;
	struct pol_port *pp = pol_port_compile(c, 3, 1, NULL, false, 0, &err);

	if (!pp)
		fail_msg("compile: %s", err.msg);
	return pp;
}

static struct pol_acl_rule acl(enum pol_dir dir, enum pol_action a, const char *lip,
			       const char *rip, const uint8_t *rmac)
{
	struct pol_acl_rule r = {.dir = dir, .action = a};

	if (lip)
		assert_int_equal(pol_parse_prefix("local-ip", lip, &r.local_ip, NULL), 0);
	if (rip)
		assert_int_equal(pol_parse_prefix("remote-ip", rip, &r.remote_ip, NULL), 0);
	if (rmac) {
		r.has_remote_mac = true;
		memcpy(r.remote_mac, rmac, 6);
	}
	return r;
}

static void test_values(void **state)
{
	struct pol_prefix p;
	struct ctl_err err;
	uint16_t lo, hi;
	char buf[64];
	int proto;

	(void)state;
	assert_int_equal(pol_parse_prefix("remote-ip", "10.1.2.3/16", &p, &err), 0);
	pol_format_prefix(&p, buf);
	assert_string_equal(buf, "10.1.0.0/16");
	assert_int_equal(pol_parse_prefix("remote-ip", "fd00::1", &p, &err), 0);
	assert_int_equal(p.len, 128);
	assert_int_equal(pol_parse_prefix("remote-ip", "10.0.0.0/33", &p, &err), -EINVAL);
	assert_string_equal(err.msg, "remote-ip: prefix length of '10.0.0.0/33' must be 0-32");
	assert_int_equal(pol_parse_prefix("remote-ip", "10.0.0", &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "is not an address or prefix"));
	assert_int_equal(pol_parse_prefix("remote-ip", "10.0.0.0/", &p, &err), -EINVAL);
	assert_int_equal(pol_parse_port_range("local-port", "1024-2047", &lo, &hi, &err), 0);
	assert_true(lo == 1024 && hi == 2047);
	assert_int_equal(pol_parse_port_range("local-port", "80", &lo, &hi, &err), 0);
	assert_true(lo == 80 && hi == 80);
	assert_int_equal(pol_parse_port_range("local-port", "90-80", &lo, &hi, &err), -EINVAL);
	assert_string_equal(err.msg, "local-port: range 90-80 is descending (want low-high)");
	assert_int_equal(pol_parse_port_range("local-port", "65536", &lo, &hi, &err), -EINVAL);
	assert_int_equal(pol_parse_port_range("local-port", "1-", &lo, &hi, &err), -EINVAL);
	assert_int_equal(pol_parse_protocol("TCP", &proto, &err), 0);
	assert_int_equal(proto, 6);
	assert_int_equal(pol_parse_protocol("47", &proto, &err), 0);
	assert_int_equal(pol_parse_protocol("sctpish", &proto, &err), -EINVAL);
	assert_string_equal(err.msg, "protocol: 'sctpish' is not one of tcp|udp|icmp|icmpv6|0-255");
	assert_int_equal(pol_parse_protocol("256", &proto, &err), -EINVAL);
}

static void test_acl_precedence(void **state)
{
	struct pol_acl_rule rules[] = {
		acl(POL_DIR_OUT, POL_DENY, NULL, "10.0.0.0/8", NULL),
		acl(POL_DIR_OUT, POL_ALLOW, NULL, "10.1.0.0/16", NULL),
		acl(POL_DIR_OUT, POL_DENY, NULL, "10.1.2.3", NULL),
		acl(POL_DIR_OUT, POL_ALLOW, NULL, "10.1.2.3", NULL), /* tie: deny wins */
		acl(POL_DIR_BOTH, POL_METER, NULL, "10.0.0.0/8", NULL),
		acl(POL_DIR_IN, POL_DENY, NULL, NULL, PEER_MAC),
	};
	struct pol_port_conf c = {.acl = rules, .n_acl = 6};
	struct pol_port *pp = compile(&c);
	struct pkt p = {.vm_ip = "192.168.0.1", .proto = POL_PROTO_UDP, .vm_port = 1, .peer_port = 2};

	(void)state;
	p.peer_ip = "10.9.9.9";
	assert_int_equal(judge(pp, NULL, &p, 1), POL_DROP_ACL); /* /8 deny */
	p.peer_ip = "10.1.9.9";
	assert_int_equal(judge(pp, NULL, &p, 1), POL_PASS); /* /16 allow beats /8 deny */
	p.peer_ip = "10.1.2.3";
	assert_int_equal(judge(pp, NULL, &p, 1), POL_DROP_ACL); /* /32: deny wins the tie */
	p.peer_ip = "11.0.0.1";
	assert_int_equal(judge(pp, NULL, &p, 1), POL_PASS); /* no match: allow */
	p.to_vm = true; /* inbound: the MAC entry denies the peer */
	assert_int_equal(judge(pp, NULL, &p, 1), POL_DROP_ACL);
	assert_int_equal(pol_acl_hits(pp->acl, 0).packets, 1);
	assert_int_equal(pol_acl_hits(pp->acl, 1).packets, 1);
	assert_int_equal(pol_acl_hits(pp->acl, 2).packets, 1);
	assert_int_equal(pol_acl_hits(pp->acl, 3).packets, 0);
	assert_int_equal(pol_acl_hits(pp->acl, 4).packets, 3); /* meter: the three 10/8 frames */
	assert_int_equal(pol_acl_hits(pp->acl, 4).bytes, 3 * 128);
	assert_int_equal(pol_acl_hits(pp->acl, 5).packets, 1);
	pol_port_free(pp);
}

static void test_acl_ipv6_and_mac(void **state)
{
	struct pol_acl_rule rules[] = {
		acl(POL_DIR_OUT, POL_DENY, NULL, "any", NULL),
		acl(POL_DIR_OUT, POL_ALLOW, "fd00::/64", NULL, NULL),
	};
	struct pol_port_conf c = {.acl = rules, .n_acl = 2};
	struct pol_port *pp = compile(&c);
	struct pkt p = {.v6 = true, .vm_ip = "fd00::1", .peer_ip = "fd01::1", .proto = 17};

	(void)state;
	assert_int_equal(judge(pp, NULL, &p, 1), POL_PASS);
	p.vm_ip = "fd02::1";
	assert_int_equal(judge(pp, NULL, &p, 1), POL_DROP_ACL); /* "any" covers IPv6 */
	p.v6 = false;
	p.vm_ip = "1.1.1.1", p.peer_ip = "2.2.2.2";
	assert_int_equal(judge(pp, NULL, &p, 1), POL_DROP_ACL); /* ... and IPv4 */
	pol_port_free(pp);
}

static struct pol_xacl_rule xrule(enum pol_dir dir, enum pol_action a, uint32_t weight,
				  int proto, const char *rip, const char *rport, bool stateful)
{
	struct pol_xacl_rule r = {.dir = dir, .action = a, .weight = weight, .proto = proto,
				  .stateful = stateful};

	if (rip)
		assert_int_equal(pol_parse_prefix("remote-ip", rip, &r.remote_ip, NULL), 0);
	if (rport) {
		r.has_remote_port = true;
		assert_int_equal(pol_parse_port_range("remote-port", rport, &r.remote_lo,
						      &r.remote_hi, NULL),
				 0);
	}
	assert_int_equal(pol_xacl_rule_check(&r, NULL), 0);
	return r;
}

static void test_xacl_weights_and_ranges(void **state)
{
	struct pol_xacl_rule rules[] = {
		xrule(POL_DIR_OUT, POL_DENY, 10, POL_PROTO_ANY, NULL, NULL, false),
		xrule(POL_DIR_OUT, POL_ALLOW, 100, POL_PROTO_TCP, "10.0.0.0/8", "80", false),
		xrule(POL_DIR_OUT, POL_ALLOW, 90, POL_PROTO_UDP, NULL, "1000-1999", false),
		xrule(POL_DIR_OUT, POL_DENY, 200, POL_PROTO_TCP, "10.0.0.66", NULL, false),
		xrule(POL_DIR_OUT, POL_ALLOW, 50, POL_PROTO_ICMP_ANY, NULL, NULL, false),
		xrule(POL_DIR_OUT, POL_ALLOW, 60, POL_PROTO_TCP, "fd00::/16", "443", false),
	};
	struct pol_port_conf c = {.xacl = rules, .n_xacl = 6};
	struct pol_port *pp = compile(&c);
	struct pkt tcp = {.vm_ip = "192.168.1.1", .peer_ip = "10.2.3.4", .proto = POL_PROTO_TCP,
			  .vm_port = 40000, .peer_port = 80};
	struct pkt udp = {.vm_ip = "192.168.1.1", .peer_ip = "8.8.8.8", .proto = POL_PROTO_UDP,
			  .vm_port = 5, .peer_port = 1000};

	(void)state;
	assert_int_equal(judge(pp, NULL, &tcp, 1), POL_PASS);	  /* weight 100 allow */
	tcp.peer_port = 81;
	assert_int_equal(judge(pp, NULL, &tcp, 1), POL_DROP_ACL); /* falls to weight 10 deny */
	tcp.peer_port = 80, tcp.peer_ip = "10.0.0.66";
	assert_int_equal(judge(pp, NULL, &tcp, 1), POL_DROP_ACL); /* weight 200 deny first */
	assert_int_equal(judge(pp, NULL, &udp, 1), POL_PASS);	  /* range low end */
	udp.peer_port = 1999;
	assert_int_equal(judge(pp, NULL, &udp, 1), POL_PASS);	  /* range high end */
	udp.peer_port = 2000;
	assert_int_equal(judge(pp, NULL, &udp, 1), POL_DROP_ACL);
	udp.peer_port = 999;
	assert_int_equal(judge(pp, NULL, &udp, 1), POL_DROP_ACL);
	struct pkt icmp = {.vm_ip = "192.168.1.1", .peer_ip = "1.1.1.1", .proto = POL_PROTO_ICMP,
			   .icmp_type = 8};
	assert_int_equal(judge(pp, NULL, &icmp, 1), POL_PASS);
	struct pkt icmp6 = {.v6 = true, .vm_ip = "fd00::1", .peer_ip = "fe80::1",
			    .proto = POL_PROTO_ICMPV6, .icmp_type = 128};
	assert_int_equal(judge(pp, NULL, &icmp6, 1), POL_PASS); /* "icmp" means ICMPv6 there */
	struct pkt tcp6 = {.v6 = true, .vm_ip = "fd00::1", .peer_ip = "fd00:1::2",
			   .proto = POL_PROTO_TCP, .vm_port = 50000, .peer_port = 443};
	assert_int_equal(judge(pp, NULL, &tcp6, 1), POL_PASS);
	tcp6.peer_ip = "fe00::2";
	assert_int_equal(judge(pp, NULL, &tcp6, 1), POL_DROP_ACL);
	tcp.to_vm = true; /* no inbound rules: inbound passes */
	assert_int_equal(judge(pp, NULL, &tcp, 1), POL_PASS);
	assert_int_equal(pol_xacl_hits(pp->xacl, 0).packets, 4);
	assert_int_equal(pol_xacl_hits(pp->xacl, 3).packets, 1);
	pol_port_free(pp);
}

static void test_xacl_rule_errors(void **state)
{
	struct pol_xacl_rule r = {.dir = POL_DIR_IN, .action = POL_DENY, .weight = 0,
				  .proto = POL_PROTO_ANY};
	struct ctl_err err;

	(void)state;
	assert_int_equal(pol_xacl_rule_check(&r, &err), -EINVAL);
	assert_string_equal(err.msg, "weight: want 1-65535, got 0");
	r.weight = 5;
	r.has_local_port = true;
	assert_int_equal(pol_xacl_rule_check(&r, &err), -EINVAL);
	assert_string_equal(err.msg, "local-port: ports need --protocol tcp or udp");
	r.has_local_port = false;
	r.stateful = true;
	assert_int_equal(pol_xacl_rule_check(&r, &err), -EINVAL);
	assert_string_equal(err.msg, "stateful: only an allow rule can be stateful");
	r.stateful = false;
	pol_parse_prefix("local-ip", "10.0.0.0/8", &r.local_ip, NULL);
	pol_parse_prefix("remote-ip", "fd00::/8", &r.remote_ip, NULL);
	assert_int_equal(pol_xacl_rule_check(&r, &err), -EINVAL);
}

static void test_stateful(void **state)
{
	struct pol_xacl_rule rules[] = {
		xrule(POL_DIR_OUT, POL_ALLOW, 100, POL_PROTO_TCP, NULL, "80", true),
		xrule(POL_DIR_OUT, POL_DENY, 1, POL_PROTO_ANY, NULL, NULL, false),
		xrule(POL_DIR_IN, POL_DENY, 1, POL_PROTO_ANY, NULL, NULL, false),
	};
	struct pol_port_conf c = {.xacl = rules, .n_xacl = 3};
	struct pol_port *pp = compile(&c);
	struct pol_ct *ct = pol_ct_create("test_ct", 1024, NULL, 0);
	struct pkt syn = {.vm_ip = "192.168.1.1", .peer_ip = "10.2.3.4", .proto = POL_PROTO_TCP,
			  .vm_port = 40000, .peer_port = 80, .tcp_flags = POL_TCP_SYN};
	struct pkt reply = syn;

	(void)state;
	assert_non_null(ct);
	reply.to_vm = true;
	reply.tcp_flags = POL_TCP_SYN | POL_TCP_ACK;
	assert_int_equal(judge(pp, ct, &reply, 100), POL_DROP_ACL); /* nothing tracked yet */
	assert_int_equal(judge(pp, ct, &syn, 100), POL_PASS);
	assert_int_equal(pol_ct_count(ct), 1);
	assert_int_equal(judge(pp, ct, &reply, 101), POL_PASS);	 /* return traffic passes */
	struct pkt other = reply;
	other.vm_port = 40001;
	assert_int_equal(judge(pp, ct, &other, 101), POL_DROP_ACL); /* another flow does not */
	/* idle expiry: the default TCP timeout is 300 s after the last frame */
	assert_int_equal(pol_ct_expire(ct, 401), 0);
	assert_int_equal(pol_ct_expire(ct, 402), 1);
	assert_int_equal(judge(pp, ct, &reply, 402), POL_DROP_ACL);
	/* FINs from both sides close; closed connections expire in 10 s */
	assert_int_equal(judge(pp, ct, &syn, 500), POL_PASS);
	syn.tcp_flags = POL_TCP_FIN | POL_TCP_ACK;
	reply.tcp_flags = POL_TCP_FIN | POL_TCP_ACK;
	assert_int_equal(judge(pp, ct, &syn, 501), POL_PASS);
	assert_int_equal(judge(pp, ct, &reply, 501), POL_PASS);
	assert_int_equal(pol_ct_expire(ct, 511), 0);
	assert_int_equal(pol_ct_expire(ct, 512), 1);
	/* a new connection; flushing another port leaves it, flushing its port removes it */
	assert_int_equal(judge(pp, ct, &(struct pkt){.vm_ip = "192.168.1.1", .peer_ip = "10.2.3.4",
						     .proto = POL_PROTO_TCP, .vm_port = 1,
						     .peer_port = 80, .tcp_flags = POL_TCP_SYN},
			       600),
			 POL_PASS);
	assert_int_equal(pol_ct_flush(ct, 4), 0);
	assert_int_equal(pol_ct_flush(ct, 3), 1);
	pol_ct_free(ct);
	pol_port_free(pp);
}

static void test_guards(void **state)
{
	static const uint8_t spoof[6] = {2, 0, 0, 0, 0, 0x66};
	struct pol_port_conf c = {.has_mac = true, .dhcp_guard = true, .router_guard = true};
	struct pol_port *pp;
	struct pkt p = {.vm_ip = "192.168.1.1", .peer_ip = "192.168.1.255", .proto = POL_PROTO_UDP,
			.vm_port = 67, .peer_port = 68};

	(void)state;
	memcpy(c.mac, VM_MAC, 6);
	pp = compile(&c);
	assert_int_equal(judge(pp, NULL, &p, 1), POL_DROP_DHCP); /* a DHCP server reply */
	p.vm_port = 68, p.peer_port = 67;
	assert_int_equal(judge(pp, NULL, &p, 1), POL_PASS);	 /* a DHCP client request */
	p.smac = spoof;
	assert_int_equal(judge(pp, NULL, &p, 1), POL_DROP_SPOOF);
	p.to_vm = true; /* guards apply only to frames from the port */
	assert_int_equal(judge(pp, NULL, &p, 1), POL_PASS);
	struct pkt ra = {.v6 = true, .vm_ip = "fe80::1", .peer_ip = "ff02::1",
			 .proto = POL_PROTO_ICMPV6, .icmp_type = 134};
	assert_int_equal(judge(pp, NULL, &ra, 1), POL_DROP_ROUTER);
	ra.icmp_type = 135; /* neighbour solicitation is fine */
	assert_int_equal(judge(pp, NULL, &ra, 1), POL_PASS);
	struct pkt dhcp6 = {.v6 = true, .vm_ip = "fe80::1", .peer_ip = "fe80::2",
			    .proto = POL_PROTO_UDP, .vm_port = 547, .peer_port = 546};
	assert_int_equal(judge(pp, NULL, &dhcp6, 1), POL_DROP_DHCP);
	pol_port_free(pp);
	c.mac_spoofing = true; /* spoofing allowed: no MAC check */
	pp = compile(&c);
	assert_int_equal(judge(pp, NULL, &(struct pkt){.vm_ip = "1.1.1.1", .peer_ip = "2.2.2.2",
							.proto = 17, .smac = spoof},
			       1),
			 POL_PASS);
	pol_port_free(pp);
}

static void test_bandwidth(void **state)
{
	struct pol_meters meters;
	struct pol_port_conf c = {.max_bandwidth = 1000000}; /* 125 kB/s, 2.5 kB burst min 3028 */
	struct ctl_err err;
	struct pol_port *pp = pol_port_compile(&c, 3, 1, &meters, true, 0, &err);
	struct pkt p = {.vm_ip = "1.1.1.1", .peer_ip = "2.2.2.2", .proto = 17};
	int passed = 0;

	(void)state;
	assert_non_null(pp);
	for (int i = 0; i < 100; i++)
		passed += judge(pp, NULL, &p, 1) == POL_PASS;
	/* a burst of 100 x 128 B at once: only the bucket (3028 B) passes */
	assert_in_range(passed, 20, 26);
	pol_port_free(pp);
}

int main(void)
{
	char prefix[64];
	char *argv[] = {"test_policy", "--no-huge", "-m", "256", "--no-shconf", "--no-pci",
			"--log-level", "error", "-l", "0", prefix, NULL};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_acl_precedence),
		cmocka_unit_test(test_acl_ipv6_and_mac),
		cmocka_unit_test(test_xacl_weights_and_ranges),
		cmocka_unit_test(test_xacl_rule_errors),
		cmocka_unit_test(test_stateful),
		cmocka_unit_test(test_guards),
		cmocka_unit_test(test_bandwidth),
	};

	snprintf(prefix, sizeof(prefix), "--file-prefix=unit%d", (int)getpid());
	if (rte_eal_init(11, argv) < 0)
		return 1;
	pool = rte_pktmbuf_pool_create("test_policy", 1024, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (!pool)
		return 1;
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
