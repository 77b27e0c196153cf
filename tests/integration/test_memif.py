#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""memif ports: two vswitchd instances joined by a memif link (A is the
server, B the client). Frames replayed into A cross the link and leave B
through a pcap port, with counters on both sides, in both directions."""
import os
import struct
import time

from hvnet import Vswitchd, check, frame, read_pcap, run, write_pcap

N = 500


def wait_link(vs, port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if vs.ctl("port", "show", port).get("link") == "up":
            return
        time.sleep(0.1)
    raise AssertionError(f"memif link of {port} did not come up")


def test():
    a = Vswitchd(lcores="1")
    b = Vswitchd(lcores="0")
    ok = False
    try:
        sock = a.path("memif.sock")
        for vs, role in ((a, "server"), (b, "client")):
            vs.ctl("switch", "add", "s", "--type", "private")
            vs.ctl("port", "add", "s", "m", "--kind", "memif", "--memif-socket", sock,
                   "--memif-id", 7, "--role", role)
        write_pcap(a.path("in.pcap"), [(i * 0.0005, frame("02:00:00:00:00:0b", "02:00:00:00:00:0a",
                                                       payload=struct.pack("!I", i)))
                                       for i in range(N)])
        write_pcap(b.path("in.pcap"), [(0, frame("02:00:00:00:00:0a", "02:00:00:00:00:0b",
                                                 payload=b"reply"))])
        a.ctl("port", "add", "s", "p", "--kind", "pcap", "--rx", a.path("in.pcap"),
              "--tx", a.path("out.pcap"), "--down")
        b.ctl("port", "add", "s", "p", "--kind", "pcap", "--tx", b.path("out.pcap"))
        b.ctl("port", "add", "s", "reply", "--kind", "pcap", "--rx", b.path("in.pcap"), "--down")
        wait_link(a, "m")
        wait_link(b, "m")
        check(True, "memif link is up on both sides")
        a.ctl("port", "set", "p", "--admin", "up")
        a.wait_replayed(["p"])
        deadline = time.time() + 10
        while b.stats("p")["tx_packets"] < N and time.time() < deadline:
            time.sleep(0.1)
        b.ctl("port", "set", "reply", "--admin", "up")  # B answers once A's MAC is learned
        b.wait_replayed(["reply"])
        time.sleep(0.5)
        check(a.stats("m")["tx_packets"] == N, "A sent every frame into the memif link")
        check(b.stats("m")["rx_packets"] == N, "B received every frame from the memif link")
        check(b.stats("p")["tx_packets"] == N, "B delivered every frame to its pcap port")
        check(a.stats("p")["tx_packets"] == 1, "B's reply came back to A over memif")
        a.stop()
        b.stop()
        seq = [struct.unpack("!I", f[14:18])[0] for f in read_pcap(b.path("out.pcap"))]
        check(seq == list(range(N)), "frames crossed memif intact and in order")
        ok = True
    finally:
        b.close(ok)
        a.close(ok)


run(test)
