#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Synthetic NICs under the load shapes of Linux guests: two simulated VMs
(netvsc-sim) that batch up to 8 frames per send section and VMBus packet, as
hv_netvsc does under load (xmit_more, with partial copies of frames that do
not fit a batch's section), take interrupts NAPI-style and stop their queues
when the ring runs low, send to each other at full rate through a private
switch, both directions at once, while every other port kind is polled by
the same datapath lcore. Counts are exact: every frame a guest handed to its
ring was received by the switch or counted as dropped, every frame the switch
sent to a guest arrived; vswitchd stays alive and no channel fails. Run with
a busy-polling datapath and again with --idle-sleep. And TCP-like traffic
(window-limited both ways, cumulative ACKs) between two NICs: every data
frame arrives once and is acknowledged."""

import contextlib
import os
import signal
import time

from hvnet import Failure, Vswitchd, check, frame, run, write_pcap
from test_synthetic import Sim, wait_for, wait_ready

N = int(os.environ.get("HVNET_LOAD_FRAMES", "30000"))
MACS = {"a": "00:15:5d:01:00:0a", "b": "00:15:5d:01:00:0b"}
PCAP_FRAMES = 2000
# drops a port counts on the way in (from its guest) and on the way out (to it)
RX_DROPS = ("malformed", "vlan_filtered", "same_port", "no_buffer", "acl_deny", "mac_spoofing",
            "dhcp_guard", "router_guard", "storm", "rate_limit")
TX_DROPS = ("tx_full", "port_down")
NVSP_RX_DROPS = ("rx_drop_sink", "rx_drop_not_ready", "rx_drop_too_big")


def other_ports(vs):
    """Every other port kind, on a second switch polled by the same lcore."""
    vs.ctl("switch", "add", "q", "--type", "internal")  # a tap: the host vNIC
    pcap_in = vs.path("q-in.pcap")
    write_pcap(pcap_in, [(i * 0.001, frame("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:%02x" %
                                           (i % 200 + 1), payload=bytes(46)))
                         for i in range(PCAP_FRAMES)])
    vs.ctl("port", "add", "q", "qpcap", "--kind", "pcap", "--rx", pcap_in,
           "--tx", vs.path("q-out.pcap"))
    vs.ctl("port", "add", "q", "qmemif", "--kind", "memif", "--memif-socket",
           vs.path("q-memif.sock"), "--memif-id", "0", "--role", "server")
    vs.ctl("port", "add", "q", "qvhost", "--kind", "vhostuser", "--path",
           vs.path("q-vhost.sock"), "--server")
    vs.ctl("port", "add", "q", "qnull", "--kind", "ethdev", "--devargs", "net_null0")
    return ["vs-q (tap)", "qpcap", "qmemif", "qvhost", "qnull (ethdev)"]


def total(st, keys):
    return sum(st.get(k, 0) for k in keys)


def settled(vs, ports):
    """Port counters once they stop moving."""
    last = None
    for _ in range(100):
        now = {p: vs.stats(p) for p in ports}
        if now == last:
            return now
        last = now
        time.sleep(0.2)
    raise Failure("port counters never settled")


@contextlib.contextmanager
def session(label, extra):
    """A vswitchd and the list of sims the caller starts on it; at the end every
    sim still listed must exit 0 on SIGTERM."""
    vs = Vswitchd(extra=extra)
    sims, ok = [], False
    try:
        yield vs, sims
        while sims:
            rc, rep = sims[0].stop()
            sims.pop(0)
            check(rc == 0 and rep["ok"], f"{label}: sim {rep['name']} exits 0")
        ok = True
    finally:
        for x in sims:
            x.kill()
        vs.close(ok)


def exchange(label, extra, size):
    """size 64: eight frames to a send section and VMBus packet; 1514: four fit
    a 6 KiB section, the fifth of a batch is a partial copy."""
    with session(label, extra) as (vs, sims):
        vs.ctl("switch", "add", "p", "--type", "private")
        others = other_ports(vs)
        for me, peer in (("a", "b"), ("b", "a")):
            sims.append(Sim(vs, me, [f"p,mac={MACS[me]}"], "--linger", "--hold", "--batch", 8,
                            "--size", size, "--send", N, "--dst", MACS[peer], "--timeout",
                            120))
        a, b = sims
        wait_ready(vs, "a-nic0", "b-nic0")
        check(True, f"{label}: a and b at --batch 8 on private switch p; "
                    f"{', '.join(others)} on switch q, polled by the same lcore")
        t0 = time.time()
        for s in sims:
            s.proc.send_signal(signal.SIGUSR2)

        def all_out():
            ns = [s.nic() for s in sims]
            return ns if all(n["tx_frames"] == N and n["tx_in_flight"] == 0
                             for n in ns) else None
        try:
            an, bn = wait_for(f"both sims sent and had completed {N} frames", all_out,
                              timeout=60)
        except Failure as e:
            raise Failure(f"{label}: {e}\n" + "\n".join(
                f"sim {s.name}: {s.nic()}\n{s.name}-nic0: {vs.stats(s.name + '-nic0')}\n"
                f"{vs.ctl('port', 'show', s.name + '-nic0')}" for s in sims))
        secs = time.time() - t0
        st = settled(vs, ["a-nic0", "b-nic0"])
        wait_for("qpcap replayed", lambda: vs.ctl("port", "show", "qpcap")["replay_done"])
        st["qpcap"] = vs.stats("qpcap")
        an, bn = a.nic(), b.nic()
        check(an["tx_batches"] > 0 and bn["tx_batches"] > 0 and
              (size < 1000 or (an["tx_partial"] > 0 and bn["tx_partial"] > 0)),
              f"{label}: the guests batched (send sections with several frames: a "
              f"{an['tx_batches']}, b {bn['tx_batches']}; partial copies: a "
              f"{an['tx_partial']}, b {bn['tx_partial']}; queue stops a {an['tx_stops']}, "
              f"b {bn['tx_stops']}); {2 * N} frames in {secs:.1f} s")
        for me, peer, mine, theirs in (("a", "b", an, bn), ("b", "a", bn, an)):
            sm, sp = st[f"{me}-nic0"], st[f"{peer}-nic0"]
            nv = vs.ctl("port", "show", f"{me}-nic0")
            nvrx = total(nv["netvsp"], NVSP_RX_DROPS) + nv["netvsp"].get("rx_nombuf", 0)
            check(sm["rx_packets"] + nvrx == N,
                  f"{label}: {me} sent {N}: the switch received {sm['rx_packets']} from "
                  f"{me}-nic0, NetVSP dropped {nvrx}")
            rxd, txd = total(sm["drops"], RX_DROPS), total(sp["drops"], TX_DROPS)
            check(sm["rx_packets"] == sp["tx_packets"] + rxd + txd,
                  f"{label}: of those, {sp['tx_packets']} went to {peer}-nic0, {rxd} were "
                  f"dropped on the way in, {txd} on the way out (ring or receive buffer full)")
            check(theirs["rx_test"] == sp["tx_packets"] and
                  theirs["rx_bytes"] == sp["tx_bytes"],
                  f"{label}: {peer} received exactly the {sp['tx_packets']} frames "
                  f"({sp['tx_bytes']} bytes) the switch sent it")
            check(nv["netvsp_state"] == "ready" and not mine["failed"],
                  f"{label}: {me}-nic0 ready, no channel failed")
        check(st["qpcap"]["rx_packets"] == PCAP_FRAMES,
              f"{label}: qpcap replayed its {PCAP_FRAMES} frames on the same lcore meanwhile")
        check(vs.proc.poll() is None and vs.ctl("status") is not None,
              f"{label}: vswitchd alive and answering")


def tcp_like(label, extra):
    """Window-limited both ways (netvsc-sim --window, cumulative ACKs) between two NICs
    of one VM: every data frame arrives and is acknowledged, none is given up as lost."""
    with session(label, extra) as (vs, sims):
        vs.ctl("switch", "add", "p", "--type", "private")
        sims.append(Sim(vs, "t", [f"p,mac={MACS['a']}", f"p,mac={MACS['b']}"], "--linger",
                        "--batch", 8, "--size", 1514, "--window", 128, "--send", N,
                        "--dst", MACS["b"], "--timeout", 120))
        t = sims[0]
        wait_ready(vs, "t-nic0", "t-nic1")

        def done():
            r = t.snapshot()
            return r if r["tx"] >= N and all(n["acked"] == n["data_tx"] and
                                              n["tx_in_flight"] == 0 for n in r["nics"]) \
                else None
        try:
            r = wait_for(f"{N} data frames sent and acknowledged", done, timeout=60)
        except Failure as e:
            raise Failure(f"{label}: {e}\n{t.snapshot()}")
        n0, n1 = r["nics"]
        check(n0["rx_test"] == n1["data_tx"] and n1["rx_test"] == n0["data_tx"] and
              n0["rto"] == 0 and n1["rto"] == 0,
              f"{label}: TCP-like, window 128 both ways: {n0['data_tx']} + {n1['data_tx']} "
              f"data frames, each received once and acknowledged ({n0['acks_tx']} + "
              f"{n1['acks_tx']} ACKs), none given up as lost")


def main():
    tcp_like("tcp-like, busy-poll", ())
    tcp_like("tcp-like, idle-sleep", ("--idle-sleep", "20000"))
    exchange("busy-poll, 64 B", (), 64)
    exchange("busy-poll, 1514 B", (), 1514)
    exchange("idle-sleep, 1514 B", ("--idle-sleep", "20000"), 1514)


if __name__ == "__main__":
    run(main)
