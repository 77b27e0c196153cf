#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""KNOWN BUG (registered with should_fail): a synthetic port that is admin
down is not polled at all (vswitch/datapath.c, vsw_dp_run_once() skips ports
that are not up), so its NetVSP channel is not serviced: the guest's frames
are neither completed nor dropped while the port is down, and they reach the
other ports when it comes back up. Control requests the guest sends then go
unanswered as well. Expected: frames a guest sends on a down port are
completed and dropped (port_down), never delivered later.

When this test passes, the bug is fixed: drop should_fail in meson.build."""

import signal
import time

from hvnet import Vswitchd, check, run
from test_synthetic import Sim, data_completions, wait_for, wait_ready


def test():
    vs = Vswitchd()
    sims = []
    ok = False
    try:
        vs.ctl("switch", "add", "p", "--type", "private")
        r = Sim(vs, "r", ["p"], "--linger")
        b = Sim(vs, "b", ["p"], "--linger", "--hold", "--send", 10)
        sims += [r, b]
        wait_ready(vs, "r-nic0", "b-nic0")
        vs.ctl("port", "set", "b-nic0", "--admin", "down")
        wait_for("b sees link down", lambda: not b.nic()["link_up"], timeout=5)
        b.proc.send_signal(signal.SIGUSR2)  # b sends 10 frames on its down port
        wait_for("b sent 10", lambda: b.snapshot()["tx"] == 10, timeout=5)
        time.sleep(0.5)
        check(data_completions(b.nic()) == 10,
              "the down port completed (dropped) the 10 frames b sent")
        vs.ctl("port", "set", "b-nic0", "--admin", "up")
        wait_for("b sees link up", lambda: b.nic()["link_up"], timeout=5)
        time.sleep(0.5)
        check(r.nic()["rx_test"] == 0, "frames sent while b's port was down never reach r")
        drops = vs.ctl("port", "show", "b-nic0")["netvsp"].get("rx_drop_port_down", 0)
        check(drops == 10, f"b-nic0 counted the 10 frames dropped while down ({drops})")
        ok = True
    finally:
        for s in sims:
            s.kill()
        vs.close(ok)


if __name__ == "__main__":
    run(test)
