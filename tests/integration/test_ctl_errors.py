#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Bad input to vswitchctl and to the control socket: every error is one
line naming the field (and the allowed values), exit status 1 (2 for usage
errors), and changes nothing; malformed, oversized or silent socket
clients get an error or are ignored, and never crash or block vswitchd."""
import json
import os
import socket
import stat

from hvnet import Vswitchd, check, run


def state(vs):
    """Everything the errors must leave unchanged."""
    return (vs.ctl("switch", "list"), vs.ctl("port", "list"), vs.ctl("port", "show", "p1"),
            vs.ctl("fdb", "show", "s"), vs.ctl("acl", "list", "p1"), vs.ctl("xacl", "list", "p1"))


# (arguments, text the error must contain)
ERRORS = [
    (["port", "add", "nosw", "px", "--kind", "pcap", "--tx", "/tmp/x.pcap"],
     "switch: no switch named 'nosw'"),
    (["port", "del", "nope"], "port: no port named 'nope'"),
    (["port", "set", "nope", "--admin", "up"], "port: no port named 'nope'"),
    (["switch", "show", "nosw"], "switch: no switch named 'nosw'"),
    (["switch", "add", "s", "--type", "private"], "switch: a switch named 's' exists already"),
    (["port", "add", "s", "p1", "--kind", "pcap", "--tx", "/tmp/y.pcap"],
     "port: a port named 'p1' exists already"),
    (["switch", "add", "x", "--type", "bogus"],
     "type: unknown switch type 'bogus' (want external|internal|private)"),
    (["switch", "add", "waytoolongname", "--type", "private"], "switch: name must be 1-12"),
    (["switch", "add", "a/b", "--type", "private"], "switch: name 'a/b' may use only"),
    (["switch", "add", "e", "--type", "external"], "uplink: an external switch needs --uplink"),
    (["switch", "add", "x", "--type", "private", "--uplink", "net_null9"],
     "uplink: only an external switch has an uplink"),
    (["switch", "add", "e", "--type", "external", "--uplink", "net_bogus0"],
     "uplink: DPDK rejected 'net_bogus0'"),
    (["switch", "add", "e2", "--type", "external", "--uplink", "net_null0"],
     "uplink: the device of 'net_null0' is already used"),
    (["port", "vlan", "p1", "access", "0"], "vlan: VLAN id must be 1-4094, got 0"),
    (["port", "vlan", "p1", "access", "4095"], "vlan: VLAN id must be 1-4094, got 4095"),
    (["port", "vlan", "p1", "access"], "vid: required"),
    (["port", "vlan", "p1", "trunk", "--allowed", "10,5000"],
     "allowed: VLAN id must be 1-4094, got 5000"),
    (["port", "vlan", "p1", "trunk", "--allowed", "10,,20"], "allowed: '10,,20' is not a VLAN list"),
    (["port", "vlan", "p1", "trunk", "--allowed", "30-20"], "allowed: range 30-20 is descending"),
    (["port", "vlan", "p1", "trunk", "--allowed", "10", "--native", "4095"],
     "native: VLAN id must be 1-4094, got 4095"),
    (["port", "vlan", "p1", "sideways"], "mode: 'sideways' is not one of untagged|access|trunk"),
    (["port", "vlan", "p1", "untagged", "--allowed", "10"], "allowed: only trunk mode takes it"),
    (["port", "vlan", "p1", "access", "abc"], "VID: want a whole number, got 'abc'"),
    (["fdb", "add", "s", "02:00:00:00:00:zz", "p1"], "mac: '02:00:00:00:00:zz' is not a MAC address"),
    (["fdb", "add", "s", "01:00:5e:00:00:01", "p1"], "mac: a multicast address cannot be"),
    (["fdb", "add", "s", "02:00:00:00:00:01", "p1", "--vlan", "7"],
     "vlan: port 'p1' does not carry VLAN 7"),
    (["fdb", "del", "s", "02:00:00:00:00:99"], "mac: no entry for 02:00:00:00:00:99"),
    (["port", "set", "p1", "--static-mac", "1:2:3"], "static-mac: '1:2:3' is not a MAC address"),
    (["port", "set", "p1", "--admin", "sideways"], "admin: 'sideways' is not one of up|down"),
    (["port", "add", "s", "p9", "--kind", "floppy"], "kind: unknown port kind 'floppy'"),
    (["port", "add", "s", "p9", "--kind", "memif", "--rx", "/tmp/x"],
     "rx: not an option of port kind memif"),
    (["port", "add", "s", "p9", "--kind", "memif"], "memif-socket: required"),
    (["port", "add", "s", "p9", "--kind", "pcap"], "rx: a pcap port needs --rx FILE and/or --tx FILE"),
    (["port", "add", "s", "p9", "--kind", "pcap", "--rx", "/nonexistent.pcap"],
     "rx: cannot read '/nonexistent.pcap'"),
    (["port", "add", "s", "p9", "--kind", "ethdev", "--devargs", "net_nothing0"],
     "devargs: DPDK rejected 'net_nothing0'"),
    (["port", "del", "uplink-e1"], "port: 'uplink-e1' is the uplink of switch 'e1'"),
    (["acl", "add", "p1", "--direction", "in", "--action", "deny", "--remote-ip", "10.0.0.0/33"],
     "remote-ip: prefix length of '10.0.0.0/33' must be 0-32"),
    (["acl", "add", "p1", "--direction", "in", "--action", "deny", "--local-ip", "10.0.0"],
     "local-ip: '10.0.0' is not an address or prefix"),
    (["acl", "add", "p1", "--direction", "sideways", "--action", "deny", "--remote-ip", "any"],
     "direction: 'sideways' is not one of in|out|both"),
    (["acl", "add", "p1", "--direction", "in", "--action", "drop", "--remote-ip", "any"],
     "action: 'drop' is not one of allow|deny|meter"),
    (["acl", "add", "p1", "--direction", "in", "--action", "deny"], "acl: name an address"),
    (["acl", "add", "p1", "--direction", "in", "--action", "deny", "--remote-mac", "02:00"],
     "remote-mac: '02:00' is not a MAC address"),
    (["acl", "add", "p1", "--direction", "both", "--action", "deny", "--remote-ip", "10.0.0.0/8"],
     "acl: port 'p1' has this entry already"),
    (["acl", "del", "p1", "--direction", "in", "--action", "allow", "--remote-ip", "1.2.3.4"],
     "acl: port 'p1' has no such entry"),
    (["acl", "list", "nope"], "port: no port named 'nope'"),
    (["xacl", "add", "p1", "--direction", "in", "--action", "deny", "--weight", "5",
      "--protocol", "tcp", "--local-port", "90-80"], "local-port: range 90-80 is descending"),
    (["xacl", "add", "p1", "--direction", "in", "--action", "deny", "--weight", "5",
      "--protocol", "tcp", "--local-port", "70000"], "local-port: '70000' is not a port or range"),
    (["xacl", "add", "p1", "--direction", "in", "--action", "deny", "--weight", "5",
      "--protocol", "bogus"], "protocol: 'bogus' is not one of tcp|udp|icmp|icmpv6|0-255"),
    (["xacl", "add", "p1", "--direction", "in", "--action", "deny", "--weight", "7"],
     "weight: port 'p1' has an inbound rule with weight 7 already"),
    (["xacl", "add", "p1", "--direction", "in", "--action", "deny", "--weight", "0"],
     "weight: want 1-65535, got 0"),
    (["xacl", "add", "p1", "--direction", "both", "--action", "deny", "--weight", "3"],
     "direction: 'both' is not one of in|out"),
    (["xacl", "add", "p1", "--direction", "in", "--action", "deny", "--weight", "3", "--stateful"],
     "stateful: only an allow rule can be stateful"),
    (["xacl", "add", "p1", "--direction", "in", "--action", "allow", "--weight", "3",
      "--remote-port", "80"], "remote-port: ports need --protocol tcp or udp"),
    (["xacl", "add", "p1", "--direction", "in", "--action", "allow", "--weight", "3",
      "--local-ip", "10.0.0.0/8", "--remote-ip", "fd00::/8"],
     "remote-ip: the local and remote prefixes must be of one family"),
    (["xacl", "del", "p1", "--direction", "in", "--weight", "99"],
     "weight: port 'p1' has no in rule with weight 99"),
    (["port", "set", "p1", "--mac-spoofing", "maybe"], "mac-spoofing: want on or off, got 'maybe'"),
    (["port", "set", "p1", "--mirror", "sideways"],
     "mirror: 'sideways' is not one of none|source|destination"),
    (["capture", "nope"], "capture: no port or switch named 'nope'"),
    (["ext", "del", "s", "nope"], "name: switch 's' has no extension 'nope'"),
    (["conntrack", "show", "nope"], "port: no port named 'nope'"),
]

USAGE = [
    ["frobnicate"],
    ["switch"],
    ["switch", "add"],
    ["port", "add", "s", "p9", "--kind"],
    ["port", "add", "s", "p9", "--colour", "red"],
    ["port", "stats"],
    ["xacl", "load", "p1"],
    ["acl"],
]


def raw_request(vs, data, read=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(vs.sock)
    s.sendall(data)
    reply = b""
    while read and not reply.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        reply += chunk
    s.close()
    return json.loads(reply) if reply else None


def test_socket(vs):
    mode = stat.S_IMODE(os.stat(vs.sock).st_mode)
    check(mode == 0o600, f"control socket mode is 0600 (is {oct(mode)})")
    check("error" in raw_request(vs, b"this is not json\n"), "malformed JSON gets an error reply")
    check("error" in raw_request(vs, b"[1,2,3]\n"), "a JSON array gets an error reply")
    check("error" in raw_request(vs, b'{"cmd": 7}\n'), "a non-string cmd gets an error reply")
    check("error" in raw_request(vs, b'{"cmd": "status", "args": []}\n'),
          "non-object args get an error reply")
    r = raw_request(vs, b'{"cmd": "reboot"}\n')
    check(r == {"error": "cmd: unknown command 'reboot'"}, f"unknown command: {r}")
    r = raw_request(vs, b'{"cmd": "port.vlan", "args": {"name": "p1", "mode": "access", "vid": "10"}}\n')
    check(r.get("error", "").startswith("vid: want an integer"), f"string VID rejected: {r}")
    big = b'{"cmd": "status", "args": {"x": "' + b"a" * 70000 + b'"}}\n'
    r = raw_request(vs, big)
    check(r == {"error": "request: larger than 65536 bytes"}, "an oversized request is refused")
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(vs.sock)
    silent.sendall(b'{"cmd": "sta')  # never finished
    check(vs.ctl("status")["switches"] == 2, "a silent half-request does not block others")
    silent.close()
    many = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(100)]
    for s in many:
        try:
            s.connect(vs.sock)
        except OSError:
            pass
    check(vs.ctl("status")["switches"] == 2, "status works while 100 idle clients hold connections")
    for s in many:
        s.close()
    check(vs.ctl("status")["ports"] == 2, "vswitchd still serves after the abuse")


def test():
    vs = Vswitchd()
    ok = False
    try:
        vs.ctl("switch", "add", "s", "--type", "private")
        vs.ctl("switch", "add", "e1", "--type", "external", "--uplink", "net_null0")
        vs.ctl("port", "add", "s", "p1", "--kind", "pcap", "--tx", vs.path("p1.pcap"))
        vs.ctl("acl", "add", "p1", "--direction", "both", "--action", "deny", "--remote-ip", "10.0.0.0/8")
        vs.ctl("xacl", "add", "p1", "--direction", "in", "--action", "deny", "--weight", "7")
        before = state(vs)
        for args, text in ERRORS:
            r = vs.ctl(*args, check_rc=1)
            err = vs.last_stderr.strip()
            check(err == "vswitchctl: error: " + r["error"] and len(err.splitlines()) == 1,
                  f"one-line error for {' '.join(args)}")
            check(text in r["error"], f"'{r['error']}' says '{text}'")
        check(state(vs) == before, "the rejected requests changed nothing")
        for args in USAGE:
            vs.ctl(*args, check_rc=2)
            check(vs.last_stderr.startswith("vswitchctl: usage:"),
                  f"usage error (exit 2) for {' '.join(args)}")
        test_socket(vs)
        check(state(vs) == before, "socket abuse changed nothing")
        check(vs.stop() == 0, "vswitchd exits 0 on SIGTERM")
        ok = True
    finally:
        vs.close(ok)


run(test)
