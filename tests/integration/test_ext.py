#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""eBPF extensions with pcap ports: the three examples (drop_telnet as a
switch-wide filter, syn_count as a port capture program, steer_vlan as a
forward program) change exactly the frames they should; a program
replaced under its name while traffic flows loses no frame; bad objects
are refused with the reason."""
import os
import struct
import time

from hvnet import Vswitchd, check, frame, ip4, ip_frame, read_pcap, run, skip, tcp, udp, write_pcap

BC = "ff:ff:ff:ff:ff:ff"
A, B, C = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c"
EXT = os.environ.get("HVNET_EXT_DIR", "")


def obj(name):
    return os.path.join(EXT, name + ".o")


def marks(frames):
    return sorted(f.rstrip(b"\0")[-6:].decode(errors="replace") for f in frames)


def m(s):
    return s.encode().ljust(6, b"_")


def test_examples(vs):
    vs.ctl("switch", "add", "s", "--type", "private")
    t0, t1 = 0.3, 0.8
    a = [(t0, frame(BC, A, payload=b"hello")),
         (t1, ip_frame(B, A, ip4("10.0.0.1", "10.0.0.2", 6, tcp(40000, 23, 0x02, m("tel1"))))),
         (t1, ip_frame(B, A, ip4("10.0.0.1", "10.0.0.2", 6, tcp(40001, 80, 0x02, m("web1"))))),
         (t1, ip_frame(B, A, ip4("10.0.0.1", "10.0.0.2", 6, tcp(40002, 80, 0x02, m("web2"))))),
         (t1, ip_frame(B, A, ip4("10.0.0.1", "10.0.0.2", 6, tcp(40002, 80, 0x12, m("ack1"))))),
         (t1, ip_frame(B, A, ip4("10.0.0.1", "10.0.0.2", 17, udp(5, 23, m("udp23")))))]
    b = [(t0, frame(BC, B, payload=b"hello"))]
    c = [(t0, frame(BC, C, payload=b"hello")),
         (t1, ip_frame(B, C, ip4("10.0.2.1", "10.0.2.2", 17, udp(1, 2, m("v20a"))))),
         (t1, ip_frame(B, C, ip4("10.0.2.1", "10.0.2.2", 17, udp(1, 2, m("v20b")))))]
    for port, frames in (("a", a), ("b", b), ("c", c)):
        write_pcap(vs.path(port + ".pcap"), [(0, frame(BC, "02:00:00:00:99:99", tag=99))] + frames)
        vs.ctl("port", "add", "s", port, "--kind", "pcap", "--rx", vs.path(port + ".pcap"),
               "--tx", vs.path(port + "-out.pcap"), "--down")
    vs.ctl("port", "add", "s", "mon", "--kind", "pcap", "--tx", vs.path("mon-out.pcap"))
    vs.ctl("port", "vlan", "c", "access", 20)
    vs.ctl("port", "vlan", "mon", "trunk", "--allowed", "20")
    vs.ctl("ext", "add", "s", "telnet", "--object", obj("drop_telnet"), "--hook", "filter")
    vs.ctl("ext", "add", "s", "syns", "--object", obj("syn_count"), "--hook", "capture", "--port", "a")
    vs.ctl("ext", "add", "s", "steer", "--object", obj("steer_vlan"), "--hook", "forward",
           "--args", "20,mon")
    for p in ("b", "c", "a"):
        vs.ctl("port", "set", p, "--admin", "up")
    vs.wait_replayed(["a", "b", "c"])
    time.sleep(0.3)
    got_b = [x for x in marks(read_pcap(vs.path("b-out.pcap"))) if "hello" not in x]
    check(got_b == sorted(["web1__", "web2__", "ack1__", "udp23_"]),
          f"drop_telnet: b got everything but the telnet SYN ({got_b})")
    exts = {e["name"]: e for e in vs.ctl("ext", "list", "s")["extensions"]}
    check(exts["telnet"]["drops"] == 1 and exts["telnet"]["counters"] == {"23": 1},
          f"drop_telnet counted its drop: {exts['telnet']}")
    check(vs.stats("a")["drops"]["ext_drop"] == 1, "a's stats count the ext_drop")
    check(exts["syns"]["counters"] == {str(0x0A000001): 3} and exts["syns"]["port"] == "a",
          f"syn_count: 3 SYNs from 10.0.0.1 on port a ({exts['syns']['counters']})")
    mon = marks(read_pcap(vs.path("mon-out.pcap")))
    check([x for x in mon if x.startswith("v20")] == ["v20a__", "v20b__"],
          f"steer_vlan: VLAN 20 frames went to mon ({mon})")
    check(exts["steer"]["steered"] >= 2, "steer_vlan counted what it steered")
    check(not any(x.startswith("v20") for x in marks(read_pcap(vs.path("b-out.pcap")))),
          "steered frames did not reach their MAC-table destination")
    vs.ctl("ext", "del", "s", "steer")
    check("steer" not in {e["name"] for e in vs.ctl("ext", "list")["extensions"]}, "ext del")


def test_hot_swap(vs):
    n = 3000
    vs.ctl("switch", "add", "h", "--type", "private")
    frames = [(i / 1500.0, ip_frame(BC, A, ip4("10.0.0.1", "10.0.0.2", 6,
                                                 tcp(1000, 80, 0x10, struct.pack("!I", i)))))
              for i in range(n)]
    write_pcap(vs.path("h-in.pcap"), frames)
    vs.ctl("port", "add", "h", "hsink", "--kind", "pcap", "--tx", vs.path("h-out.pcap"))
    vs.ctl("port", "add", "h", "hsrc", "--kind", "pcap", "--rx", vs.path("h-in.pcap"), "--down")
    vs.ctl("ext", "add", "h", "f", "--object", obj("drop_telnet"), "--hook", "filter")
    vs.ctl("port", "set", "hsrc", "--admin", "up")
    swaps = 0
    while not vs.ctl("port", "show", "hsrc")["replay_done"] and swaps < 20:
        vs.ctl("ext", "add", "h", "f", "--object", obj("drop_telnet"), "--hook", "filter")
        swaps += 1
    vs.wait_replayed(["hsrc"])
    time.sleep(0.3)
    got = len(read_pcap(vs.path("h-out.pcap")))
    check(swaps >= 3 and got == n, f"{swaps} hot swaps under traffic, {got} of {n} frames arrived")


def test_errors(vs):
    for args, text in (
            (["s", "x", "--object", "/nonexistent.o", "--hook", "filter"], "object: cannot read"),
            (["s", "x", "--object", obj("drop_telnet"), "--hook", "forward"],
             "has no program in section 'forward'"),
            (["s", "x", "--object", obj("drop_telnet"), "--section", "filter", "--hook", "capture"],
             "section: 'filter' holds a filter program; it cannot run at the capture hook"),
            (["s", "x", "--object", obj("drop_telnet"), "--hook", "sideways"],
             "hook: 'sideways' is not one of capture|filter|forward"),
            (["s", "x", "--object", obj("steer_vlan"), "--hook", "forward", "--args", "1,nope"],
             "args: 'nope' is neither a number nor a port of the switch"),
            (["nosw", "x", "--object", obj("drop_telnet"), "--hook", "filter"], "switch: no switch named 'nosw'")):
        vs.ctl("ext", "add", *args, check_rc=1)
        check(text in vs.last_stderr, f"ext add {' '.join(args[1:3])}: {vs.last_stderr.strip()}")
    vs.ctl("ext", "del", "s", "nope", check_rc=1)
    check("name: switch 's' has no extension 'nope'" in vs.last_stderr, "ext del of a missing name")


def test():
    if not os.path.exists(obj("drop_telnet")):
        skip("example extensions not built (clang with the BPF target is missing)")
    vs = Vswitchd()
    ok = False
    try:
        test_examples(vs)
        test_hot_swap(vs)
        test_errors(vs)
        ok = True
    finally:
        vs.close(ok)


run(test)
