#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Synthetic NIC ports natively: netvsc-sim processes (simulated VMs playing
hv_netvsc over the vmbus-user socket) on a real vswitchd. Unicast with exact
counts on both sides, frame sizes up to jumbo through send sections and GPA
direct, an 802.1Q per-packet info seen tagged on a trunk, access VLANs, the
host vNIC of an internal switch, link down/up seen by the guest, misbehaving
guests failing only their own channel, refusals, and a vswitchd crash and
restart under running VMs (reconnect without a new handshake)."""

import json
import os
import signal
import socket
import struct
import subprocess
import time

from hvnet import Failure, Vswitchd, check, read_pcap, run, write_pcap

SIM = os.environ.get("HVNET_NETVSC_SIM", "build/netvsc/netvsc-sim")
BC = "ff:ff:ff:ff:ff:ff"
ETH_TEST = 0x88B5  # the EtherType netvsc-sim sends and counts as rx_test


class Sim:
    """A netvsc-sim process; stdout (JSON reports) and stderr go to files."""

    count = 0

    def __init__(self, vs, name, nics, *args):
        self.vs, self.name = vs, name
        Sim.count += 1
        self.out_path = vs.path(f"sim{Sim.count}-{name}.out")
        self.err_path = vs.path(f"sim{Sim.count}-{name}.err")
        cmd = [SIM, "--vswitchd", vs.path("vswitchd-vmbus.sock"), "--name", name, "--json",
               "--timeout", "60"]
        for n in nics:
            cmd += ["--nic", n]
        cmd += [str(a) for a in args]
        self.out = open(self.out_path, "w")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err)

    def lines(self):
        with open(self.out_path) as f:
            whole = f.read().split("\n")[:-1]  # complete lines only
        return [ln for ln in whole if ln.strip()]

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def snapshot(self, timeout=5):
        """The sim's report now (SIGUSR1)."""
        n = len(self.lines())
        if self.proc.poll() is not None:
            raise Failure(f"sim {self.name} exited ({self.proc.returncode}): {self.stderr()}")
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.time() + timeout
        while time.time() < deadline:
            ls = self.lines()
            if len(ls) > n:
                return json.loads(ls[n])
            time.sleep(0.02)
        raise Failure(f"sim {self.name} did not report on SIGUSR1")

    def nic(self, i=0):
        return self.snapshot()["nics"][i]

    def wait(self, timeout=20):
        """Exit status and the final report (None when there is none)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure(f"sim {self.name} did not exit: {self.stderr()}")
        ls = self.lines()
        return self.proc.returncode, json.loads(ls[-1]) if ls else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def data_completions(nic):
    """Host completions of the NIC's data frames: every RNDIS message the guest
    sent is completed, frames and control requests (one per control message
    the guest got, except link indications)."""
    return nic["tx_completions"] - (nic["rx_ctrl_msgs"] - nic["link_changes"])


def wait_for(what, cond, timeout=10, step=0.05):
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.time() > deadline:
            raise Failure(f"timed out waiting for: {what}")
        time.sleep(step)


def wait_ready(vs, *ports, timeout=10):
    def ready():
        for p in ports:
            r = vs.ctl("port", "show", p, check_rc=None)
            if vs.last_rc != 0 or r.get("netvsp_state") != "ready":
                return False
        return True
    wait_for(f"{', '.join(ports)} ready", ready, timeout)
    return {p: vs.ctl("port", "show", p) for p in ports}


def sim_run(vs, sims, name, nics, *args, timeout=20):
    """Runs a sim to its end; returns (exit status, report, stderr)."""
    s = Sim(vs, name, nics, *args)
    rc, rep = s.wait(timeout)
    return rc, rep, s.stderr()


def test_unicast(vs, sims):
    vs.ctl("switch", "add", "p", "--type", "private")
    b = Sim(vs, "b", ["p"], "--linger")
    sims.append(b)
    bshow = wait_ready(vs, "b-nic0")["b-nic0"]
    bmac = bshow["mac"].lower()
    check(bshow["kind"] == "synthetic" and bshow["nvsp_version"] == 0x60001 and
          bshow["channel"] == "open", "b-nic0: synthetic port, NVSP 6.1 negotiated, channel open")
    check(b.nic()["mac"] == bmac, f"the sim's NIC has the MAC of port show ({bmac})")
    vm = vs.ctl("vm", "show", "b")
    check(vm["state"] == "running" and vm["connected"] and not vm["managed"] and
          vm["pid"] == b.proc.pid and [(n["port"], n["switch"], n["mac"].lower(), n["link"])
                                       for n in vm["nics"]] == [("b-nic0", "p", bmac, "up")],
          "vm show b: a standalone, connected VM with its pid and one NIC b-nic0 on p")
    n = 200
    a = Sim(vs, "a", ["p"], "--linger", "--send", n, "--dst", bmac)
    sims.append(a)
    amac = wait_ready(vs, "a-nic0")["a-nic0"]["mac"].lower()
    wait_for("b received 200 frames", lambda: b.nic()["rx_test"] >= n)
    time.sleep(0.2)
    bn, an = b.nic(), a.nic()
    check(bn["rx"] == n and bn["rx_test"] == n and bn["rx_bytes"] == 64 * n,
          f"b received exactly {n} frames of 64 bytes (rx {bn['rx']}, bytes {bn['rx_bytes']})")
    check(an["tx_frames"] == n and data_completions(an) == n and an["rx"] == 0,
          f"a sent {n}, all completed, and got nothing back (unicast, no flooding)")
    sa, sb = vs.stats("a-nic0"), vs.stats("b-nic0")
    check(sa["rx_packets"] == n and sa["rx_bytes"] == 64 * n,
          f"a-nic0: switch received {sa['rx_packets']} frames / {sa['rx_bytes']} bytes from a")
    check(sb["tx_packets"] == n and sb["tx_bytes"] == 64 * n,
          f"b-nic0: switch sent {sb['tx_packets']} frames / {sb['tx_bytes']} bytes to b")
    check(sa["tx_packets"] == 0 and sb["rx_packets"] == 0 and sa["flood_packets"] == 0,
          "nothing went the other way and nothing was flooded")
    nv = vs.ctl("port", "show", "b-nic0")["netvsp"]
    check(nv.get("tx_frames") == n and nv.get("tx_bytes") == 64 * n,
          "b-nic0 NetVSP counters: tx_frames/tx_bytes match")
    fdb = {e["mac"].lower(): e for e in vs.ctl("fdb", "show", "p")["entries"]}
    check(fdb.get(amac, {}).get("type") == "static" and fdb[amac]["port"] == "a-nic0" and
          fdb.get(bmac, {}).get("type") == "static" and fdb[bmac]["port"] == "b-nic0",
          f"fdb: {amac} -> a-nic0 and {bmac} -> b-nic0 are static entries")
    rc, rep = a.stop()
    check(rc == 0 and rep["tx"] == n and rep["ok"], "a exits 0 on SIGTERM with its report")
    sims.remove(a)
    wait_for("a-nic0 gone", lambda: vs.ctl("port", "show", "a-nic0", check_rc=None) is not None
             and vs.last_rc != 0)
    check(amac not in {e["mac"].lower() for e in vs.ctl("fdb", "show", "p")["entries"]},
          "a's static MAC left the FDB with its port")
    return b, bmac


def test_sizes(vs, sims):
    vs.ctl("switch", "add", "j", "--type", "private")
    r = Sim(vs, "r", ["j,mtu=9000"], "--linger")
    sims.append(r)
    rshow = wait_ready(vs, "r-nic0")["r-nic0"]
    rmac = rshow["mac"].lower()
    check(rshow["mtu"] == 9000, "r-nic0: MTU 9000")
    n, total, bytes_ = 40, 0, 0
    for gpa in (False, True):
        for size in (64, 1514, 9000, 9014):
            mode = "gpa" if gpa else "sec"
            extra = ["--gpa-direct"] if gpa else []
            rc, rep, err = sim_run(vs, sims, f"s{size}{mode}", ["j,mtu=9000"], "--send", n,
                                   "--size", size, "--dst", rmac, *extra)
            check(rc == 0 and rep["tx"] == n and data_completions(rep["nics"][0]) == n,
                  f"{size}-byte frames via {'GPA direct' if gpa else 'send sections'}: "
                  f"{n} sent and completed")
            total += n
            bytes_ += n * size
            wait_for(f"r received {total}", lambda: r.nic()["rx_test"] >= total)
            rn = r.nic()
            check(rn["rx_test"] == total and rn["rx_bytes"] == bytes_,
                  f"r has exactly {total} frames, {bytes_} bytes")
    st = vs.stats("r-nic0")
    check(st["tx_packets"] == total and st["tx_bytes"] == bytes_,
          f"r-nic0: switch counts {st['tx_packets']} frames / {st['tx_bytes']} bytes")
    # a frame larger than the NIC's MTU allows is refused by the guest driver itself
    rc, rep, err = sim_run(vs, sims, "big", ["j"], "--send", 1, "--size", 9000, "--dst", rmac,
                           "--timeout", 3)
    check(rc == 1 and rep["tx"] == 0, "a 9000-byte frame on an MTU 1500 NIC is not sent")
    # a jumbo frame to a NIC of MTU 1500: the port refuses it (a tx drop of the port, not
    # counted as sent), the guest never sees it
    small = Sim(vs, "small", ["j"], "--linger")
    sims.append(small)
    smac = wait_ready(vs, "small-nic0")["small-nic0"]["mac"].lower()
    rc, rep, err = sim_run(vs, sims, "jumbo", ["j,mtu=9000"], "--send", 10, "--size", 4000,
                           "--dst", smac)
    check(rc == 0 and rep["tx"] == 10, "10 frames of 4000 bytes sent to an MTU 1500 NIC")
    wait_for("too-big drops", lambda: vs.stats("small-nic0")["drops"]["tx_full"] >= 10, timeout=5)
    time.sleep(0.1)
    st = vs.stats("small-nic0")
    check(st["drops"]["tx_full"] == 10 and st["tx_packets"] == 0 and small.nic()["rx"] == 0,
          f"small-nic0 refused all 10 (tx drops {st['drops']['tx_full']}, sent {st['tx_packets']}); "
          "the guest got none")
    for x in (r, small):
        x.stop()
        sims.remove(x)
    # VLAN per-packet info: the guest tags in the RNDIS message; a trunk sees the tag
    vs.ctl("switch", "add", "t", "--type", "private")
    write_pcap(vs.path("empty.pcap"), [])
    vs.ctl("port", "add", "t", "trunk", "--kind", "pcap", "--rx", vs.path("empty.pcap"),
           "--tx", vs.path("trunk-out.pcap"))
    vs.ctl("port", "vlan", "trunk", "trunk", "--allowed", "10,20")
    # on an untagged port the guest may not tag: the switch drops it
    u = Sim(vs, "ppiu", ["t"], "--linger", "--send", 5, "--vlan-ppi", 10)
    sims.append(u)
    wait_ready(vs, "ppiu-nic0")
    wait_for("ppiu sent 5", lambda: u.snapshot()["tx"] == 5)
    wait_for("ppiu frames counted", lambda: vs.stats("ppiu-nic0")["rx_packets"] == 5)
    st = vs.stats("ppiu-nic0")
    check(st["drops"]["vlan_filtered"] == 5 and vs.stats("trunk")["tx_packets"] == 0,
          "frames tagged by PPI on an untagged port are dropped (vlan_filtered 5)")
    u.stop()
    sims.remove(u)
    # a guest's trunk port: the PPI tag is the frame's VLAN
    for gpa in ([], ["--gpa-direct"]):
        name = "ppi" + ("g" if gpa else "s")
        x = Sim(vs, name, ["t"], "--linger", "--hold", "--send", 5,
                "--vlan-ppi", 10, "--size", 100, *gpa)
        sims.append(x)
        wait_ready(vs, name + "-nic0")
        vs.ctl("port", "vlan", name + "-nic0", "trunk", "--allowed", "10")
        x.proc.send_signal(signal.SIGUSR2)  # now send
        wait_for(f"{name}-nic0 took 5", lambda: vs.stats(name + "-nic0")["rx_packets"] == 5)
        check(vs.stats(name + "-nic0")["drops"]["vlan_filtered"] == 0,
              f"{name}-nic0 (trunk of VLAN 10) took the PPI-tagged frames")
        rc, rep = x.stop()
        sims.remove(x)
        check(rc == 0 and rep["tx"] == 5, f"5 frames with an 802.1Q PPI (VLAN 10) sent {gpa}")
    wait_for("trunk sent 10", lambda: vs.stats("trunk")["tx_packets"] >= 10)
    vs.ctl("port", "del", "trunk")
    out = [f for f in read_pcap(vs.path("trunk-out.pcap"))
           if len(f) >= 18 and struct.unpack("!H", f[16:18])[0] == ETH_TEST]
    tags = [struct.unpack("!HH", f[12:16]) for f in out]
    check(len(out) == 10 and all(t == (0x8100, 10) for t in tags) and
          all(len(f) == 104 for f in out),
          f"the trunk sent 10 frames tagged VLAN 10, 104 bytes each (got {len(out)}: {tags[:3]})")


def test_access_vlans(vs, sims):
    vs.ctl("switch", "add", "v", "--type", "private")
    b = Sim(vs, "vb", ["v,vlan=20"], "--linger")
    c = Sim(vs, "vc", ["v,vlan=10"], "--linger")
    sims += [b, c]
    shows = wait_ready(vs, "vb-nic0", "vc-nic0")
    check(shows["vb-nic0"]["vlan"] == {"mode": "access", "access_vid": 20} and
          shows["vc-nic0"]["vlan"] == {"mode": "access", "access_vid": 10},
          "the NICs' vlan= made vb-nic0 an access port of VLAN 20, vc-nic0 of VLAN 10")
    n = 30
    rc, rep, err = sim_run(vs, sims, "va", ["v,vlan=10"], "--send", n)
    check(rc == 0 and rep["tx"] == n, f"va (VLAN 10) broadcast {n} frames")
    wait_for("vc received", lambda: c.nic()["rx_test"] >= n)
    time.sleep(0.2)
    check(c.nic()["rx_test"] == n, f"vc (VLAN 10) received exactly {n}")
    check(b.nic()["rx"] == 0 and vs.stats("vb-nic0")["tx_packets"] == 0,
          "vb (VLAN 20) received nothing")
    for s in (b, c):
        s.stop()
        sims.remove(s)


def test_internal(vs, sims):
    vs.ctl("switch", "add", "hi", "--type", "internal")
    check(os.path.exists("/sys/class/net/vs-hi"), "internal switch hi has tap vs-hi")
    subprocess.run(["sysctl", "-qw", "net.ipv6.conf.vs-hi.disable_ipv6=1"], check=False)
    subprocess.run(["ip", "link", "set", "vs-hi", "up"], check=True)
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_TEST))
    rx.bind(("vs-hi", 0))
    rx.settimeout(0.2)
    h = Sim(vs, "h", ["hi"], "--linger", "--send", 5)
    sims.append(h)
    hmac = wait_ready(vs, "h-nic0")["h-nic0"]["mac"].lower()
    got = []
    deadline = time.time() + 5
    while time.time() < deadline and len(got) < 5:
        try:
            f = rx.recv(65536)
        except socket.timeout:
            continue
        if f[6:12] == bytes.fromhex(hmac.replace(":", "")):
            got.append(f)
    time.sleep(0.2)
    while True:
        try:
            f = rx.recv(65536)
        except socket.timeout:
            break
        if f[6:12] == bytes.fromhex(hmac.replace(":", "")):
            got.append(f)
    check(len(got) == 5 and all(f[:6] == b"\xff" * 6 and len(f) == 64 for f in got),
          f"the host received the sim's 5 broadcasts on vs-hi (got {len(got)})")
    with open("/sys/class/net/vs-hi/address") as f:
        host_mac = bytes.fromhex(f.read().strip().replace(":", ""))
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    tx.bind(("vs-hi", 0))
    for i in range(3):
        tx.send(bytes.fromhex(hmac.replace(":", "")) + host_mac +
                struct.pack("!HI", ETH_TEST, i) + b"\0" * 44)
    wait_for("h got 3 host frames", lambda: h.nic()["rx_test"] >= 3, timeout=5)
    time.sleep(0.2)
    check(h.nic()["rx_test"] == 3, "the sim received exactly the host's 3 frames from vs-hi")
    rx.close()
    tx.close()
    h.stop()
    sims.remove(h)
    vs.ctl("switch", "del", "hi")


def test_link(vs, sims, b, bmac):
    a = Sim(vs, "la", ["p"], "--linger", "--rate", 1000, "--duration", 120, "--dst", bmac)
    sims.append(a)
    wait_ready(vs, "la-nic0")
    wait_for("traffic to b", lambda: b.nic()["rx_test"] > 250)
    n0 = b.nic()
    check(n0["link_up"] and n0["link_changes"] == 0, "b sees its link up, no changes so far")
    vs.ctl("port", "set", "b-nic0", "--admin", "down")
    wait_for("b sees link down", lambda: not b.nic()["link_up"], timeout=5)
    show = vs.ctl("port", "show", "b-nic0")
    check(b.nic()["link_changes"] == 1 and show["link"] == "down" and show["admin"] == "down",
          "admin down: the guest got one link indication (down), port show says link down")
    time.sleep(0.1)
    r1 = b.nic()["rx_test"]
    time.sleep(0.4)
    r2 = b.nic()["rx_test"]
    check(r2 == r1, f"no frames reach b while its port is down ({r1} -> {r2})")
    vs.ctl("port", "set", "b-nic0", "--admin", "up")
    wait_for("b sees link up", lambda: b.nic()["link_up"], timeout=5)
    check(b.nic()["link_changes"] == 2 and vs.ctl("port", "show", "b-nic0")["link"] == "up",
          "admin up: a second indication (up), port show says link up")
    wait_for("traffic resumes", lambda: b.nic()["rx_test"] > r2 + 100, timeout=5)
    check(True, "traffic to b resumed after the link came back")
    return a


FAULTS = {
    "bad-section": "err_section",
    "bad-range": "err_range",
    "bad-rndis-len": "err_rndis_len",
    "ring-corrupt": "err_ring",
    "many-msgs": "err_rndis_count",  # 16 RNDIS messages in a section (8 advertised)
    "gpa-many-msgs": "err_rndis_count",  # ... in a GPA-direct range
}


def test_faults(vs, sims, b):
    for kind, counter in FAULTS.items():
        name = "f" + kind.split("-")[1][:5]
        x = Sim(vs, name, ["p"], "--linger", "--inject", kind)
        sims.append(x)
        port = name + "-nic0"
        def failed():
            s = vs.ctl("port", "show", port, check_rc=None)
            return s if vs.last_rc == 0 and s.get("netvsp_state") == "failed" else None
        show = wait_for(f"{port} failed", failed, timeout=5)
        check(show["netvsp_failure"] == counter and show["netvsp"].get(counter) == 1,
              f"{kind}: {port} failed with {counter} = 1")
        xn = wait_for("sim told", lambda: (lambda n: n if n["failed"] else None)(x.nic()),
                      timeout=5)
        check("channel failed" in x.stderr() and xn["failure"],
              f"{kind}: the sim got CHANNEL_FAILED ({xn['failure']!r})")
        vs.log.flush()
        with open(vs.path("vswitchd.log")) as f:
            log = f.read()
        check(f"protocol violation ({counter})" in log, f"{kind}: vswitchd logged the violation")
        r0 = b.nic()["rx_test"]
        wait_for("b still receives", lambda: b.nic()["rx_test"] > r0 + 50, timeout=5)
        check(vs.ctl("port", "show", "b-nic0")["netvsp_state"] == "ready" and
              vs.ctl("port", "show", "la-nic0")["netvsp_state"] == "ready",
              f"{kind}: b-nic0 and la-nic0 stay ready and keep switching")
        rc, rep = x.stop()
        check(rc == 1 and not rep["ok"] and rep["nics"][0]["failed"],
              f"{kind}: the misbehaving sim exits 1, its NIC failed")
        sims.remove(x)


def test_refusals(vs, sims):
    rc, rep, err = sim_run(vs, sims, "nosw", ["nosuch"], "--send", 1, timeout=10)
    check(rc == 1 and "nosuch" in err and "refused" in err,
          f"HELLO for a missing switch is refused, naming it: {err.strip()!r}")
    rc, rep, err = sim_run(vs, sims, "b", ["p"], "--send", 1, timeout=10)
    check(rc == 1 and "refused the VM: a VM named 'b' is connected already" in err,
          f"a second VM named b is refused: {err.strip()!r}")
    check(vs.ctl("port", "show", "b-nic0")["netvsp_state"] == "ready",
          "the first VM b keeps its port")
    r = subprocess.run([SIM, "--vswitchd", vs.path("vswitchd-vmbus.sock"), "--nic",
                        "p,vlan=5000"], capture_output=True, text=True, timeout=10)
    check(r.returncode == 2 and "nic: vlan=5000 is out of range (1..4094)" in r.stderr,
          f"vlan=5000 is a usage error: {r.stderr.strip()!r}")


def test_reconnect(vs, sims, b, a):
    before = vs.ctl("port", "show", "b-nic0")
    bn0, an0 = b.nic(), a.nic()
    vs.kill()
    check(True, "vswitchd killed with SIGKILL under running VMs")
    time.sleep(0.3)
    vs2 = Vswitchd(dir=vs.dir)
    vs2.ctl("switch", "add", "p", "--type", "private")
    after = wait_ready(vs2, "b-nic0", "la-nic0", timeout=15)["b-nic0"]
    wait_for("reconnects counted",
             lambda: b.snapshot()["reconnects"] >= 1 and a.snapshot()["reconnects"] >= 1)
    bn1 = b.nic()
    check(after["nvsp_version"] == before["nvsp_version"] and
          after["mac"] == before["mac"] and after["recv_sections"] == before["recv_sections"],
          "the new vswitchd restored b-nic0's NVSP version, MAC and receive buffer")
    nv = after["netvsp"]
    check(nv.get("nvsp_msgs", 0) == 0,
          f"no new handshake: b sent no NVSP message to the new vswitchd ({nv})")
    check(nv.get("rndis_ctrl_msgs", 0) == 2 and nv.get("link_indications", 0) == 2,
          "the only RNDIS messages to b were the restore link flap (down, up)")
    check(bn1["rx_ctrl_msgs"] - bn0["rx_ctrl_msgs"] == 2 and
          bn1["link_changes"] - bn0["link_changes"] == 2 and bn1["link_up"] and bn1["ready"],
          f"b saw exactly the 2 link indications ({bn0['rx_ctrl_msgs']} -> "
          f"{bn1['rx_ctrl_msgs']} control messages) and kept its negotiated state")
    r0 = bn1["rx_test"]
    wait_for("frames flow again", lambda: b.nic()["rx_test"] > r0 + 100, timeout=10)
    check(True, "frames flow from la to b again after the restart")
    return vs2


def test():
    if not os.path.exists(SIM):
        raise Failure(f"netvsc-sim not found at {SIM}")
    vs = Vswitchd()
    sims = []
    ok = False
    t0 = time.time()
    try:
        b, bmac = test_unicast(vs, sims)
        test_sizes(vs, sims)
        test_access_vlans(vs, sims)
        test_internal(vs, sims)
        a = test_link(vs, sims, b, bmac)
        test_faults(vs, sims, b)
        test_refusals(vs, sims)
        vs = test_reconnect(vs, sims, b, a)
        for s in (a, b):
            rc, rep = s.stop()
            check(rc == 0 and rep["reconnects"] >= 1 and rep["ok"],
                  f"{s.name} exits 0 after {rep['reconnects']} reconnect(s)")
            sims.remove(s)
        print(f"# {time.time() - t0:.1f} s")
        ok = True
    finally:
        for s in sims:
            s.kill()
        if not ok:
            for s in sims:
                print(f"--- sim {s.name} stderr:\n{s.stderr()}")
        vs.close(ok)


if __name__ == "__main__":
    run(test)
