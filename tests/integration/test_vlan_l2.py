#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Four pcap ports on one private switch: a1, a2 access VLAN 10, b1 access
VLAN 20, t trunk allowing 10,20 with native VLAN 1. Every port replays a
crafted pcap (broadcasts at t=0 to learn, unicasts at t=0.6) and the test
asserts the exact frames and tags that leave every port, and the counters:
learned unicast goes only to its port, floods stay within the VLAN, the
trunk carries correct 802.1Q tags, wrong tags are dropped and counted.

Replay time starts when a port goes up, relative to the first frame of its
file, and the ports go up one command after another; so every file starts
with a frame the port itself drops (tagged with VLAN 99, which no port
carries) and the real traffic starts 0.3 s later, when all ports are up."""
from collections import Counter

from hvnet import Vswitchd, check, decode, frame, read_pcap, retag, run, write_pcap

BC = "ff:ff:ff:ff:ff:ff"
A1, A2, B1 = "02:00:00:00:00:a1", "02:00:00:00:00:a2", "02:00:00:00:00:b1"
T10, T20, TN = "02:00:00:00:10:10", "02:00:00:00:20:20", "02:00:00:00:01:01"
START, LATER = 0.3, 0.9

# What each port sends: (time, frame). The payload names the frame.
SENDS = {
    "a1": [(START, frame(BC, A1, payload=b"a1-bcast")),
           (LATER, frame(A2, A1, payload=b"a1-to-a2")),
           (LATER, frame(T10, A1, payload=b"a1-to-t10")),
           (LATER, frame(A2, A1, tag=10, payload=b"a1-tagged"))],
    "a2": [(START, frame(BC, A2, payload=b"a2-bcast")),
           (LATER, frame(B1, A2, payload=b"a2-to-b1"))],
    "b1": [(START, frame(BC, B1, payload=b"b1-bcast")),
           (LATER, frame(T20, B1, payload=b"b1-to-t20"))],
    "t": [(START, frame(BC, T10, tag=10, payload=b"t10-bcast")),
          (START, frame(BC, T20, tag=20, payload=b"t20-bcast")),
          (START, frame(BC, TN, payload=b"tn-bcast")),
          (LATER, frame(A1, T10, tag=10, payload=b"t-to-a1")),
          (LATER, frame(B1, T20, tag=20, payload=b"t-to-b1")),
          (LATER, frame(A1, T10, tag=30, payload=b"t-vlan30")),
          (LATER, frame(T10, T10, tag=10, payload=b"t-to-self")),
          (LATER, frame(A1, TN, payload=b"t-native-to-a1"))],
}

# What must leave each port: (payload, tag or None), as a multiset.
EXPECT = {
    "a1": [("a2-bcast", None), ("t10-bcast", None), ("a2-to-b1", None), ("t-to-a1", None)],
    "a2": [("a1-bcast", None), ("t10-bcast", None), ("a1-to-a2", None)],
    "b1": [("t20-bcast", None), ("t-to-b1", None)],
    "t": [("a1-bcast", 10), ("a2-bcast", 10), ("b1-bcast", 20), ("a1-to-t10", 10),
          ("a2-to-b1", 10), ("b1-to-t20", 20)],
}


def with_start_frame(port, sends):
    """Prepends the frame that anchors the replay clock (dropped by the port)."""
    return [(0, frame(BC, "02:00:00:00:99:99", tag=99, payload=b"start-" + port.encode()))] + sends


def test():
    vs = Vswitchd()
    ok = False
    try:
        vs.ctl("switch", "add", "s", "--type", "private")
        for p, sends in SENDS.items():
            write_pcap(vs.path(p + "-in.pcap"), with_start_frame(p, sends))
            vs.ctl("port", "add", "s", p, "--kind", "pcap", "--rx", vs.path(p + "-in.pcap"),
                   "--tx", vs.path(p + "-out.pcap"), "--down")
        vs.ctl("port", "vlan", "a1", "access", 10)
        vs.ctl("port", "vlan", "a2", "access", 10)
        vs.ctl("port", "vlan", "b1", "access", 20)
        vs.ctl("port", "vlan", "t", "trunk", "--allowed", "10,20", "--native", 1)
        show = vs.ctl("port", "show", "t")
        check(show["vlan"] == {"mode": "trunk", "allowed": "10,20", "native_vid": 1},
              "port show reports the trunk config")
        for p in SENDS:
            vs.ctl("port", "set", p, "--admin", "up")
        vs.wait_replayed(list(SENDS))
        fdb = vs.ctl("fdb", "show", "s")["entries"]
        learned = {(e["mac"], e["vlan"], e["port"]) for e in fdb}
        for m, v, p in [(A1, 10, "a1"), (A2, 10, "a2"), (B1, 20, "b1"), (T10, 10, "t"),
                        (T20, 20, "t"), (TN, 1, "t")]:
            check((m, v, p) in learned, f"MAC table: {m} learned on {p} in VLAN {v}")
        check(all(e["type"] == "learned" for e in fdb), "all entries are learned")
        vlan10 = vs.ctl("fdb", "show", "s", "--vlan", 10)["entries"]
        check(sorted(e["mac"] for e in vlan10) == sorted([A1, A2, T10]),
              "fdb show --vlan 10 lists only VLAN 10")
        stats = {p: vs.stats(p) for p in SENDS}
        vs.stop()
        sent = {decode(f)[0]: f for sends in SENDS.values() for _, f in sends}
        for p, want in EXPECT.items():
            out = read_pcap(vs.path(p + "-out.pcap"))
            got = Counter(decode(f) for f in out)
            check(got == Counter(want), f"frames leaving {p}: {sorted(got.items())}")
            exact = Counter(retag(sent[name], tag) for name, tag in want)
            check(Counter(out) == exact, f"frames leaving {p} are byte-exact")
        for p in SENDS:
            check(stats[p]["rx_packets"] == len(SENDS[p]) + 1,
                  f"{p}: rx_packets {stats[p]['rx_packets']} == {len(SENDS[p]) + 1}")
            check(stats[p]["tx_packets"] == len(EXPECT[p]),
                  f"{p}: tx_packets {stats[p]['tx_packets']} == {len(EXPECT[p])}")
        check(stats["t"]["drops"]["vlan_filtered"] == 2,
              "t: the VLAN 30 frame (and the start frame) are vlan_filtered")
        check(stats["t"]["drops"]["same_port"] == 1, "t: a frame to its own MAC is dropped")
        check(stats["a1"]["drops"]["vlan_filtered"] == 2,
              "a1: a tagged frame on an access port (and the start frame) are vlan_filtered")
        check(all(stats[p]["drops"]["vlan_filtered"] == 1 for p in ("a2", "b1")),
              "a2, b1: only the start frame is vlan_filtered")
        check(stats["a2"]["flood_packets"] == 2, "a2: broadcast and unknown unicast flooded")
        ok = True
    finally:
        vs.close(ok)


run(test)
