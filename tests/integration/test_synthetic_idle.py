#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A datapath that sleeps when idle (vswitchd --idle-sleep) is woken by the
guest's doorbell: with naps of up to 3 s, two simulated VMs still finish
their NVSP/RNDIS handshakes and exchange 20 frames within 2.5 s, which
would take many naps if only the timer woke the datapath."""
import time

from hvnet import Vswitchd, check, run
from test_synthetic import Sim, wait_ready


def test():
    vs = Vswitchd(extra=("--idle-sleep", "3000000"))
    sims = []
    ok = False
    try:
        vs.ctl("switch", "add", "p", "--type", "private")
        time.sleep(1)  # let the datapath fall asleep
        t0 = time.time()
        b = Sim(vs, "b", ["p"], "--expect", 20)
        a = Sim(vs, "a", ["p"], "--linger")
        sims += [a, b]
        wait_ready(vs, "a-nic0", "b-nic0", timeout=10)
        handshake = time.time() - t0
        a.kill()
        sims.remove(a)
        a = Sim(vs, "a2", ["p"], "--send", 20, "--rate", 100)
        sims.append(a)
        rc, rep = b.wait(timeout=20)
        took = time.time() - t0
        check(rc == 0 and rep["rx"] == 20, f"b received the 20 frames (rc {rc})")
        check(took < 2.5 + handshake,
              f"handshakes in {handshake:.2f} s and frames in {took - handshake:.2f} s "
              "with a datapath that naps up to 3 s: the doorbell woke it")
        check(handshake < 2.5, f"two NVSP/RNDIS handshakes took {handshake:.2f} s (< 2.5 s)")
        ok = True
    finally:
        for s in sims:
            s.kill()
        vs.close(ok)


if __name__ == "__main__":
    run(test)
