#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Port policy end to end with crafted pcaps: each scenario gets its own
private switch with a "vm" port (the guarded side) and a "peer" port, and
asserts the exact frames that cross and the drop counters:
port ACLs (precedence, both directions, meter), extended ACLs with
stateful return traffic, the MAC-spoofing, DHCP and router guards, the
storm limit and the maximum bandwidth."""
from hvnet import (Vswitchd, check, frame, icmp, ip4, ip6, ip_frame, read_pcap, run, tcp, udp,
                   write_pcap)

BC = "ff:ff:ff:ff:ff:ff"
VM, PEER, SPOOF = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:66"
VM_IP, T0, T1 = "192.168.0.1", 0.3, 0.8


def anchor():
    """The first frame of every file: dropped by its own port (VLAN 99 on an
    untagged port), it starts the file's replay clock; traffic follows at T0."""
    return (0, frame(BC, "02:00:00:00:99:99", tag=99))


def scenario(vs, n, vm_frames, peer_frames, setup):
    """Creates switch sN with ports vmN and peerN, applies setup(vm_port),
    replays the frames (lists of (time, frame)), returns (frames out of vm,
    frames out of peer, vm stats, peer stats)."""
    sw, vm, peer = f"s{n}", f"vm{n}", f"peer{n}"
    vs.ctl("switch", "add", sw, "--type", "private")
    for port, frames in ((vm, vm_frames), (peer, peer_frames)):
        write_pcap(vs.path(port + "-in.pcap"), [anchor()] + frames)
        vs.ctl("port", "add", sw, port, "--kind", "pcap", "--rx", vs.path(port + "-in.pcap"),
               "--tx", vs.path(port + "-out.pcap"), "--down")
    vs.ctl("port", "set", vm, "--static-mac", VM)
    setup(vm)
    vs.ctl("port", "set", peer, "--admin", "up")
    vs.ctl("port", "set", vm, "--admin", "up")
    vs.wait_replayed([vm, peer])
    return (read_pcap(vs.path(vm + "-out.pcap")), read_pcap(vs.path(peer + "-out.pcap")),
            vs.stats(vm), vs.stats(peer))


def ids(frames):
    """The markers of frames (the last 8 bytes before any Ethernet padding)."""
    return sorted(f.rstrip(b"\0")[-8:].decode(errors="replace").strip("_") for f in frames)


def tagged(ident):
    """An 8-byte marker naming a frame, last in its payload."""
    return ident.encode().ljust(8, b"_")


def test_port_acl(vs):
    def setup(vm):
        vs.ctl("acl", "add", vm, "--direction", "both", "--action", "deny", "--remote-ip", "10.0.0.0/8")
        vs.ctl("acl", "add", vm, "--direction", "out", "--action", "allow", "--remote-ip", "10.1.0.0/16")
        vs.ctl("acl", "add", vm, "--direction", "out", "--action", "meter", "--remote-ip", "10.0.0.0/8")
    out = [(T0, ip_frame(PEER, VM, ip4(VM_IP, dst, 17, udp(1, 2, tagged(name)))))
           for dst, name in (("10.2.2.2", "deny8"), ("10.1.1.1", "allow16"), ("172.16.0.1", "other"))]
    inbound = [(T1, ip_frame(VM, PEER, ip4(src, VM_IP, 17, udp(2, 1, tagged(name)))))
               for src, name in (("10.9.9.9", "in-deny"), ("172.16.0.9", "in-ok"))]
    vm_out, peer_out, vst, _ = scenario(vs, 1, out, inbound, setup)
    check(ids(peer_out) == ["allow16", "other"], f"port ACL: peer got {ids(peer_out)}")
    check(ids(vm_out) == ["in-ok"], f"port ACL inbound: vm got {ids(vm_out)}")
    check(vst["drops"]["acl_deny"] == 2, "port ACL: 2 frames counted acl_deny on vm")
    rules = vs.ctl("acl", "list", "vm1")["rules"]
    hits = {(r["direction"], r["action"]): r["hits"]["packets"] for r in rules}
    check(hits == {("both", "deny"): 2, ("out", "allow"): 1, ("out", "meter"): 2},
          f"port ACL hit counters {hits}")
    # a change recompiles the port's ACLs; the counts of the other entries carry over
    vs.ctl("acl", "add", "vm1", "--direction", "in", "--action", "meter", "--remote-ip", "any")
    vs.ctl("acl", "del", "vm1", "--direction", "out", "--action", "allow", "--remote-ip", "10.1.0.0/16")
    rules = vs.ctl("acl", "list", "vm1")["rules"]
    hits = {(r["direction"], r["action"]): r["hits"]["packets"] for r in rules}
    check(hits == {("both", "deny"): 2, ("out", "meter"): 2, ("in", "meter"): 0},
          f"hit counters survive adding and deleting entries {hits}")


def test_stateful_xacl(vs):
    def setup(vm):
        vs.ctl("xacl", "add", vm, "--direction", "out", "--action", "allow", "--weight", 100,
               "--protocol", "tcp", "--remote-port", "80", "--stateful", "--idle-timeout", 120)
        vs.ctl("xacl", "add", vm, "--direction", "out", "--action", "deny", "--weight", 1)
        vs.ctl("xacl", "add", vm, "--direction", "in", "--action", "deny", "--weight", 1)
    peer_ip = "192.168.0.2"
    vm_frames = [(T0, ip_frame(PEER, VM, ip4(VM_IP, peer_ip, 6, tcp(40000, 80, 0x02, tagged("syn80"))))),
                 (T0, ip_frame(PEER, VM, ip4(VM_IP, peer_ip, 6, tcp(40001, 22, 0x02, tagged("syn22")))))]
    peer_frames = [(T1, ip_frame(VM, PEER, ip4(peer_ip, VM_IP, 6, tcp(80, 40000, 0x12, tagged("synack"))))),
                   (T1, ip_frame(VM, PEER, ip4(peer_ip, VM_IP, 6, tcp(22, 40001, 0x12, tagged("ack22"))))),
                   (T1, ip_frame(VM, PEER, ip4(peer_ip, VM_IP, 17, udp(53, 5353, tagged("udp53")))))]
    vm_out, peer_out, vst, _ = scenario(vs, 2, vm_frames, peer_frames, setup)
    check(ids(peer_out) == ["syn80"], f"xACL: only the allowed SYN left ({ids(peer_out)})")
    check(ids(vm_out) == ["synack"], f"xACL: only the tracked reply came back ({ids(vm_out)})")
    check(vst["drops"]["acl_deny"] == 3, "xACL: 3 frames denied on vm")
    conns = vs.ctl("conntrack", "show", "vm2")["connections"]
    check(len(conns) == 1 and conns[0]["remote_port"] == 80 and conns[0]["local_port"] == 40000
          and conns[0]["timeout"] == 120, f"conntrack shows the connection: {conns}")
    rules = {(r["direction"], r["weight"]): r["hits"]["packets"]
             for r in vs.ctl("xacl", "list", "vm2")["rules"]}
    check(rules == {("out", 100): 1, ("out", 1): 1, ("in", 1): 2}, f"xACL hit counters {rules}")
    check(vs.ctl("conntrack", "flush", "vm2")["flushed"] == 1, "conntrack flush")


def test_guards(vs):
    def setup(vm):
        vs.ctl("port", "set", vm, "--dhcp-guard", "on", "--router-guard", "on")
    v = [(T0, ip_frame(BC, SPOOF, ip4(VM_IP, "192.168.0.9", 17, udp(9, 9, tagged("spoof"))))),
         (T0, ip_frame(BC, VM, ip4(VM_IP, "255.255.255.255", 17, udp(67, 68, tagged("offer"))))),
         (T0, ip_frame(BC, VM, ip4("0.0.0.0", "255.255.255.255", 17, udp(68, 67, tagged("discover"))))),
         (T0, ip_frame("33:33:00:00:00:01", VM, ip6("fe80::1", "ff02::1", 58, icmp(134, payload=tagged("ra"))), v6=True)),
         (T0, ip_frame(PEER, VM, ip4(VM_IP, "192.168.0.2", 1, icmp(5, payload=tagged("redirect"))))),
         (T0, ip_frame("33:33:00:01:00:02", VM, ip6("fe80::1", "ff02::1:2", 17, udp(547, 546, tagged("dhcp6"))), v6=True))]
    _, peer_out, vst, _ = scenario(vs, 3, v, [], setup)
    check(ids(peer_out) == ["discover"], f"guards: only the DHCP discover passed ({ids(peer_out)})")
    d = vst["drops"]
    check((d["mac_spoofing"], d["dhcp_guard"], d["router_guard"]) == (1, 2, 2),
          f"guards: drop counters {d}")


def test_storm_and_bandwidth(vs):
    def storm(vm):
        vs.ctl("port", "set", vm, "--storm-limit", 10)
    v = [(T0, frame(BC, VM, payload=tagged(f"b{i}"))) for i in range(100)]
    v += [(T1, frame(PEER, VM, payload=tagged(f"u{i}"))) for i in range(50)]
    peer_learn = [(T0 - 0.1, frame(BC, PEER, payload=tagged("hello")))]
    _, peer_out, vst, _ = scenario(vs, 4, v, peer_learn, storm)
    bcast = [i for i in ids(peer_out) if i.startswith("b")]
    check(1 <= len(bcast) <= 10, f"storm limit 10/s let {len(bcast)} of 100 broadcasts through")
    check(vst["drops"]["storm"] == 100 - len(bcast), "storm drops counted")
    check(len([i for i in ids(peer_out) if i.startswith("u")]) == 50,
          "known unicast is not subject to the storm limit")

    def bw(vm):
        vs.ctl("port", "set", vm, "--max-bandwidth", 1000000)
    v = [(T0, frame(PEER, VM, payload=b"x" * 986 + tagged(f"f{i}"))) for i in range(200)]
    _, peer_out, vst, _ = scenario(vs, 5, v, peer_learn, bw)
    n = len(peer_out)
    check(2 <= n <= 10, f"1 Mbit/s let {n} of 200 back-to-back 1000-byte frames through")
    check(vst["drops"]["rate_limit"] == 200 - n, "rate_limit drops counted")
    show = vs.ctl("port", "show", "vm5")
    check(show["max_bandwidth"] == 1000000 and show["storm_limit"] == 0, "port show reports limits")


def test():
    vs = Vswitchd(extra=("--conntrack-size", "4096"))
    ok = False
    try:
        test_port_acl(vs)
        test_stateful_xacl(vs)
        test_guards(vs)
        test_storm_and_bandwidth(vs)
        ok = True
    finally:
        vs.close(ok)


run(test)
