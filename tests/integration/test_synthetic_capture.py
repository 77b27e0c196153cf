#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A capture of a whole switch follows its VMs: started on a switch without
ports, it taps each synthetic port as its VM connects, goes on when a VM
leaves (its port is deleted), and a VM that comes back under its name gets
its old pcapng interface again. tshark reads the file without warnings and
names the ports."""
import os
import time

from hvnet import Vswitchd, check, run
from test_capture import capture, finish, tshark
from test_synthetic import Sim, wait_for, wait_ready


def test():
    vs = Vswitchd()
    sims = []
    ok = False
    try:
        vs.ctl("switch", "add", "p", "--type", "private")
        out = vs.path("p.pcapng")
        cap = capture(vs, "p", "--filter", "ether proto 0x88b5", "-c", 40, "-w", out)
        time.sleep(0.5)
        check(cap.poll() is None, "a capture of a switch without ports runs (and waits for ports)")
        b = Sim(vs, "b", ["p"], "--expect", 20, "--timeout", 30)
        sims.append(b)
        for round_ in (1, 2):
            a = Sim(vs, "a", ["p"], "--send", 10, "--rate", 200)
            sims.append(a)
            rc, _ = a.wait(timeout=20)
            check(rc == 0, f"round {round_}: VM a sent 10 frames and left (its port a-nic0 is deleted)")
            wait_for("a-nic0 gone", lambda: not any(p["name"] == "a-nic0" for p in
                                                    vs.ctl("port", "list")["ports"]), timeout=5)
        rc, rep = b.wait(timeout=20)
        check(rc == 0 and rep["rx"] == 20, f"b received the 20 broadcasts (rc {rc})")
        crc, err = finish(cap, interrupt=False, timeout=20)
        check(crc == 0, f"the capture ended by itself after 40 frames ({err.strip()})")
        rows, warn, trc = tshark(out, "frame.interface_name", "frame.packet_flags_direction")
        check(trc == 0 and not warn, f"tshark reads the pcapng without warnings {warn}")
        by = {}
        for name, d in rows:
            by[(name, d)] = by.get((name, d), 0) + 1
        check(len(rows) == 40 and by.get(("a-nic0", "0x00000001"), 0) == 20 and
              by.get(("b-nic0", "0x00000002"), 0) == 20,
              f"20 frames in on a-nic0 (both of its lives, one interface) and 20 out on b-nic0: {by}")
        ok = True
    finally:
        for s in sims:
            s.kill()
        vs.close(ok)


if __name__ == "__main__":
    run(test)
