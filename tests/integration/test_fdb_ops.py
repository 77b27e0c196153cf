#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""MAC table operations through vswitchd: learned entries age out after
--aging seconds while static ones stay; a station that moves is re-learned
on its new port; static entries steer unicast and never move; deleting a
port or changing its VLAN flushes what it learned; fdb flush empties the
switch's table."""
import time

from hvnet import Vswitchd, check, frame, run, write_pcap

BC = "ff:ff:ff:ff:ff:ff"
M1, M2, M3 = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"


def entries(vs, sw="s"):
    return {(e["mac"], e["vlan"]): e for e in vs.ctl("fdb", "show", sw)["entries"]}


def replay(vs, port, frames):
    """Adds a pcap port that replays frames (all at once) and waits for it."""
    path = vs.path(port + ".pcap")
    write_pcap(path, [(0, f) for f in frames])
    vs.ctl("port", "add", "s", port, "--kind", "pcap", "--rx", path, "--tx",
           vs.path(port + "-out.pcap"))
    vs.wait_replayed([port])


def test():
    vs = Vswitchd(extra=("--aging", "2"))
    ok = False
    try:
        vs.ctl("switch", "add", "s", "--type", "private")
        vs.ctl("port", "add", "s", "sink", "--kind", "pcap", "--tx", vs.path("sink.pcap"))
        replay(vs, "a", [frame(BC, M1), frame(BC, M2)])
        e = entries(vs)
        check(e[(M1, 0)]["port"] == "a" and e[(M1, 0)]["type"] == "learned", "M1 learned on a")
        vs.ctl("fdb", "add", "s", M3, "sink")
        check(entries(vs)[(M3, 0)]["type"] == "static", "static entry added")
        replay(vs, "b", [frame(BC, M1), frame(M3, M1, payload=b"to-static")])
        e = entries(vs)
        check(e[(M1, 0)]["port"] == "b", "M1 moved to b when it sent from there")
        check(e[(M2, 0)]["port"] == "a", "M2 stayed on a")
        check(vs.stats("sink")["tx_packets"] == 4,
              "sink got the 3 broadcasts and the unicast to its static MAC")
        check(vs.stats("a")["tx_packets"] == 1, "a got b's broadcast but not the unicast")
        replay(vs, "c", [frame(BC, M3)])
        check(entries(vs)[(M3, 0)]["port"] == "sink", "a static entry never moves")
        vs.ctl("port", "del", "b")
        check((M1, 0) not in entries(vs), "deleting port b flushed M1")
        vs.ctl("port", "vlan", "a", "access", 5)
        check((M2, 0) not in entries(vs), "a VLAN change flushed what a had learned")
        replay(vs, "d", [frame(BC, "02:00:00:00:00:0d")])
        check(("02:00:00:00:00:0d", 0) in entries(vs), "d learned")
        time.sleep(4.2)
        e = entries(vs)
        check(("02:00:00:00:00:0d", 0) not in e, "learned entries aged out after 2 s")
        check((M3, 0) in e, "static entries do not age")
        r = vs.ctl("fdb", "flush", "s")
        check(r["flushed"] == 1 and entries(vs) == {}, "fdb flush emptied the table")
        ok = True
    finally:
        vs.close(ok)


run(test)
