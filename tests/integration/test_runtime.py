#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Runtime changes never stop traffic on other ports: while 4000 frames
stream from one pcap port to another on switch s, another switch is
created and deleted with ports, VLANs are changed and static MAC entries
come and go. Every frame must arrive, in order."""
import struct

from hvnet import Vswitchd, check, frame, read_pcap, run, write_pcap

N = 4000
RATE = 1000.0  # frames per second: 4 s of traffic


def test():
    vs = Vswitchd()
    ok = False
    try:
        vs.ctl("switch", "add", "s", "--type", "private")
        frames = [(i / RATE, frame("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01",
                                    payload=struct.pack("!I", i))) for i in range(N)]
        write_pcap(vs.path("in.pcap"), frames)
        vs.ctl("port", "add", "s", "dst", "--kind", "pcap", "--tx", vs.path("out.pcap"))
        vs.ctl("port", "add", "s", "src", "--kind", "pcap", "--rx", vs.path("in.pcap"), "--down")
        vs.ctl("port", "set", "src", "--admin", "up")
        changes = 0  # rounds finished while the source was still replaying
        while changes < 10 and not vs.ctl("port", "show", "src")["replay_done"]:
            vs.ctl("switch", "add", "x", "--type", "private")
            for i in range(4):
                vs.ctl("port", "add", "x", f"x{i}", "--kind", "pcap", "--tx", vs.path(f"x{i}.pcap"))
                vs.ctl("port", "vlan", f"x{i}", "access", 100 + i)
            vs.ctl("fdb", "add", "s", "02:00:00:00:99:01", "dst")
            vs.ctl("port", "vlan", "x0", "trunk", "--allowed", "100-110")
            vs.ctl("port", "del", "x1")
            vs.ctl("fdb", "del", "s", "02:00:00:00:99:01")
            vs.ctl("switch", "del", "x")
            if not vs.ctl("port", "show", "src")["replay_done"]:
                changes += 1
        check(changes >= 2, f"{changes} rounds of changes ran while traffic flowed")
        vs.wait_replayed(["src"])
        st = vs.stats("dst")
        check(st["tx_packets"] == N, f"dst sent all {N} frames ({st['tx_packets']})")
        check(sum(vs.stats("src")["drops"].values()) == 0, "no drops on src")
        vs.stop()
        seq = [struct.unpack("!I", f[14:18])[0] for f in read_pcap(vs.path("out.pcap"))]
        check(seq == list(range(N)), "every frame arrived, in order")
        ok = True
    finally:
        vs.close(ok)


run(test)
