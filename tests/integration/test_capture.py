#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Packet capture and port mirroring: several concurrent captures with
tcpdump filters (vlan, icmp, host and port) on ports and on a whole
switch, to files and streamed to tshark through "-w -"; counts, bytes and
VLAN tags read back with tshark; -c, Ctrl-C and port deletion end a capture
with a valid file; mirror sources copy both directions to the destination.
Destinations: vswitchctl hands its -w file (or stdout) to vswitchd, whose
writer thread runs off the datapath's CPU; an unwritable path or a full
device gives a precise error."""
import os
import shutil
import signal
import subprocess
import time

from hvnet import (VSWITCHCTL, Vswitchd, check, frame, icmp, ip4, ip_frame, read_pcap, run,
                   skip, udp, write_pcap)

BC = "ff:ff:ff:ff:ff:ff"
A, B, X = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:99"
VSW_CAPTURE_MAX = 8  # captures at once (vswitch/capture.h)


def capture(vs, *args, stdout=subprocess.DEVNULL):
    p = subprocess.Popen([VSWITCHCTL, "--socket", vs.sock, "capture", *args],
                         stdout=stdout, stderr=subprocess.PIPE, text=stdout != subprocess.PIPE)
    return p


def finish(p, interrupt=True, timeout=20):
    """Ends a capture (Ctrl-C unless it ends by itself); returns (rc, stderr)."""
    if interrupt and p.poll() is None:
        p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError("capture did not end")
    return p.returncode, err if isinstance(err, str) else err.decode()


def tshark(path, *fields, filt=None):
    """Rows of tshark fields for a capture file, and tshark's stderr."""
    args = ["tshark", "-r", path, "-T", "fields"]
    for f in fields:
        args += ["-e", f]
    if filt:
        args += ["-Y", filt]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    warn = [l for l in r.stderr.splitlines() if "Running as user" not in l and l.strip()]
    return [l.split("\t") for l in r.stdout.splitlines()], warn, r.returncode


def test_captures(vs):
    vs.ctl("switch", "add", "s", "--type", "private")
    a_frames = [(0.5 + i * 0.01, ip_frame(BC, A, ip4("10.0.0.1", "10.0.0.2", 1, icmp(8, ident=i))))
                for i in range(10)]
    a_frames += [(0.7 + i * 0.01, ip_frame(BC, A, ip4("10.0.0.1", "10.0.0.9", 17, udp(5353, 53, b"q" * 20))))
                 for i in range(5)]
    b_frames = [(0.5 + i * 0.01, ip_frame(BC, B, ip4("10.0.1.1", "10.0.1.2", 17, udp(1, 2))))
                for i in range(7)]
    write_pcap(vs.path("a.pcap"), [(0, frame(BC, X, tag=99))] + a_frames)
    write_pcap(vs.path("b.pcap"), [(0, frame(BC, X, tag=99))] + b_frames)
    vs.ctl("port", "add", "s", "a", "--kind", "pcap", "--rx", vs.path("a.pcap"), "--down")
    vs.ctl("port", "add", "s", "b", "--kind", "pcap", "--rx", vs.path("b.pcap"), "--down")
    vs.ctl("port", "add", "s", "t", "--kind", "pcap", "--tx", vs.path("t-out.pcap"))
    vs.ctl("port", "vlan", "a", "access", 10)
    vs.ctl("port", "vlan", "b", "access", 20)
    vs.ctl("port", "vlan", "t", "trunk", "--allowed", "10,20")
    f1, f2, f4, f5 = (vs.path(n) for n in ("vlan10.pcapng", "icmp.pcapng", "b3.pcapng", "all.pcapng"))
    c1 = capture(vs, "t", "--direction", "out", "--filter", "vlan 10", "-w", f1)
    # tcpdump semantics: "icmp" alone does not look inside an 802.1Q tag
    c2 = capture(vs, "s", "--filter", "icmp or (vlan and icmp)", "-w", f2)
    c3 = subprocess.Popen(f"{VSWITCHCTL} --socket {vs.sock} capture a --direction in "
                          f"--filter 'host 10.0.0.1 and udp port 53' -w - | "
                          f"tshark -r - -T fields -e udp.dstport -e frame.len",
                          shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    c4 = capture(vs, "b", "-c", "3", "-w", f4)
    c5 = capture(vs, "s", "-w", f5)
    time.sleep(1.0)
    for p in ("a", "b"):
        vs.ctl("port", "set", p, "--admin", "up")
    vs.wait_replayed(["a", "b"])
    time.sleep(0.5)

    rc, err = finish(c1)
    rows, warn, trc = tshark(f1, "vlan.id", "frame.len", "frame.interface_name")
    check(rc == 0 and "15 packets captured" in err, f"vlan 10 capture summary: {err.strip()}")
    check(trc == 0 and not warn, f"tshark reads the pcapng without warnings {warn}")
    check(len(rows) == 15 and all(r[0] == "10" and r[2] == "t" for r in rows),
          f"15 frames tagged VLAN 10 leaving t: {rows[:3]}")
    check(sum(int(r[1]) for r in rows) == 10 * 64 + 5 * 66,
          "bytes: 10 tagged ICMP frames of 64 and 5 tagged UDP frames of 66")
    rc, err = finish(c2)
    rows, warn, _ = tshark(f2, "frame.interface_name", "frame.packet_flags_direction", "vlan.id",
                           "frame.len")
    dirs = sorted((r[0], r[1]) for r in rows)
    check(len(rows) == 20 and dirs.count(("a", "0x00000001")) == 10
          and dirs.count(("t", "0x00000002")) == 10,
          "switch capture 'icmp or (vlan and icmp)': 10 in on a, 10 tagged out on t")
    # the capture holds the very mbufs the switch then tags for t: what came in stays untagged
    shapes = sorted(set((r[0], r[2], r[3]) for r in rows))
    check(shapes == [("a", "", "60"), ("t", "10", "64")],
          f"frames in on a as received (untagged, 60 bytes), out on t tagged 10 (64): {shapes}")
    err3 = ""
    if c3.poll() is None:
        subprocess.run(["pkill", "-INT", "-f", "capture a --direction in"])
    out3, err3 = c3.communicate(timeout=20)
    lines = [l.split("\t") for l in out3.splitlines() if l.strip()]
    check(len(lines) == 5 and all(l == ["53", "62"] for l in lines),
          f"'-w - | tshark -r -' streamed the 5 DNS queries ({lines}; {err3.strip()})")
    rc, err = finish(c4, interrupt=False)
    rows, _, _ = tshark(f4, "frame.len")
    check(rc == 0 and len(rows) == 3 and "(count reached)" in err, "-c 3 ends after 3 frames")
    rc, err = finish(c5)
    rows, warn, _ = tshark(f5, "frame.interface_name")
    names = sorted(set(r[0] for r in rows))
    check(rc == 0 and "stopped by the client" in err and names == ["a", "b", "t"] and not warn,
          f"Ctrl-C leaves a valid file with interfaces {names}")
    # a capture ends when its port goes away, and its file stays valid
    c6 = capture(vs, "b", "-w", vs.path("gone.pcapng"))
    time.sleep(0.5)
    vs.ctl("port", "del", "b")
    rc, err = finish(c6, interrupt=False)
    _, warn, trc = tshark(vs.path("gone.pcapng"), "frame.len")
    check(rc == 0 and "(port deleted)" in err and trc == 0, f"port deletion ends the capture: {err.strip()}")


def test_bad_capture(vs):
    for args, text in ((["nope"], "capture: no port or switch named 'nope'"),
                       (["a", "--filter", "udp port"], "filter: "),
                       (["a", "--direction", "sideways"], "direction: 'sideways' is not one of in|out|both"),
                       (["a", "--snaplen", "5"], "snaplen: want 14-262144 bytes"),
                       (["a", "--duration", "-1"], "duration: want a number of seconds > 0")):
        r = subprocess.run([VSWITCHCTL, "--socket", vs.sock, "capture", *args], capture_output=True,
                           text=True, timeout=20)
        check(r.returncode == 1 and text in r.stderr, f"capture {' '.join(args)}: {r.stderr.strip()}")
    r = subprocess.run([VSWITCHCTL, "--socket", vs.sock, "capture"], capture_output=True, text=True)
    check(r.returncode == 2, "capture without a target is a usage error")
    r = subprocess.run([VSWITCHCTL, "--socket", vs.sock, "capture", "a", "--duration", "0.5",
                        "-w", vs.path("short.pcapng")], capture_output=True, text=True, timeout=20)
    check(r.returncode == 0 and "(duration reached)" in r.stderr, "--duration ends the capture")


def writer_cpus(vs):
    """Cpus_allowed_list of vswitchd's capture writer threads."""
    out = []
    task = f"/proc/{vs.proc.pid}/task"
    for t in os.listdir(task):
        try:
            with open(f"{task}/{t}/comm") as f:
                if f.read().strip() != "capture-writer":
                    continue
            with open(f"{task}/{t}/status") as f:
                out += [l.split()[1] for l in f if l.startswith("Cpus_allowed_list")]
        except OSError:
            pass
    return out


def test_destinations(vs):
    """-w FILE and -w - are written by vswitchd itself (the descriptor is passed)."""
    vs.ctl("switch", "add", "d", "--type", "private")
    frames = [(0.5 + i * 0.01, frame(BC, A, payload=b"dest%d" % i)) for i in range(6)]
    write_pcap(vs.path("d.pcap"), [(0, frame(BC, X, tag=99))] + frames)
    vs.ctl("port", "add", "d", "dsrc", "--kind", "pcap", "--rx", vs.path("d.pcap"), "--down")
    vs.ctl("port", "add", "d", "dsink", "--kind", "pcap", "--tx", vs.path("dsink-out.pcap"))
    # an unwritable path: vswitchctl's own error, and the session ends (9 > 8 at once)
    bad = vs.path("no-such-dir/x.pcapng")
    for i in range(VSW_CAPTURE_MAX + 1):
        r = subprocess.run([VSWITCHCTL, "--socket", vs.sock, "capture", "dsrc", "-w", bad],
                           capture_output=True, text=True, timeout=20)
        check(r.returncode == 1 and f"w: cannot write '{bad}': No such file or directory"
              in r.stderr, f"unwritable -w path #{i}: {r.stderr.strip()}")
        time.sleep(0.2)
    # a device that refuses the bytes: vswitchd's write fails, the client says why
    r = subprocess.run([VSWITCHCTL, "--socket", vs.sock, "capture", "dsrc", "-w", "/dev/full"],
                       capture_output=True, text=True, timeout=20)
    check(r.returncode == 1 and "cannot write the capture: No space left on device" in r.stderr,
          f"-w /dev/full: {r.stderr.strip()}")
    r = subprocess.run([VSWITCHCTL, "--socket", vs.sock, "--json", "capture", "dsrc", "-w",
                        "/dev/full"], capture_output=True, text=True, timeout=20)
    check(r.returncode == 1 and '"error": "cannot write the capture: No space left on device'
          in r.stdout.replace('":"', '": "'), f"--json -w /dev/full: {r.stdout.strip()}")
    # -w - into a regular file (shell redirection), -w FILE: both complete and valid
    fa, fb = vs.path("stdout.pcapng"), vs.path("file.pcapng")
    with open(fa, "wb") as out:
        ca = subprocess.Popen([VSWITCHCTL, "--socket", vs.sock, "capture", "dsrc", "-c", "6",
                               "-w", "-"], stdout=out, stderr=subprocess.PIPE, text=True)
        cb = capture(vs, "d", "--direction", "out", "-w", fb)
        time.sleep(1.0)
        cpus = writer_cpus(vs)
        vs.ctl("port", "set", "dsrc", "--admin", "up")
        vs.wait_replayed(["dsrc"])
        time.sleep(0.5)
        rca, erra = finish(ca, interrupt=False)
    rcb, errb = finish(cb)
    rows, warn, trc = tshark(fa, "frame.interface_name", "frame.len")
    check(rca == 0 and "6 packets captured" in erra and trc == 0 and not warn
          and rows == [["dsrc", "60"]] * 6, f"-w - > file: 6 frames in on dsrc ({rows}; {erra})")
    rows, warn, trc = tshark(fb, "frame.interface_name")
    check(rcb == 0 and "6 packets captured" in errb and trc == 0 and not warn
          and rows == [["dsink"]] * 6, f"-w FILE of switch d, out: 6 frames to dsink ({rows})")
    # the writer stays off the datapath lcore's CPU (vswitchd runs with --lcores 1)
    if os.cpu_count() > 1:
        check(len(cpus) == 2 and all("1" not in c.replace("-", ",").split(",") for c in cpus),
              f"capture writers avoid the datapath's CPU 1: {cpus}")


def test_mirror(vs):
    vs.ctl("switch", "add", "m", "--type", "private")
    src = [(0.5 + i * 0.01, frame(BC if i == 0 else B, A, payload=b"from-src")) for i in range(4)]
    other = [(0.3, frame(BC, B, payload=b"hello")), (0.8, frame(A, B, payload=b"to-src")),
             (0.8, frame(A, B, payload=b"to-src"))]
    write_pcap(vs.path("src.pcap"), [(0, frame(BC, X, tag=99))] + src)
    write_pcap(vs.path("other.pcap"), [(0, frame(BC, X, tag=99))] + other)
    vs.ctl("port", "add", "m", "src", "--kind", "pcap", "--rx", vs.path("src.pcap"),
           "--tx", vs.path("src-out.pcap"), "--down")
    vs.ctl("port", "add", "m", "other", "--kind", "pcap", "--rx", vs.path("other.pcap"),
           "--tx", vs.path("other-out.pcap"), "--down")
    vs.ctl("port", "add", "m", "mon", "--kind", "pcap", "--tx", vs.path("mon-out.pcap"))
    vs.ctl("port", "set", "src", "--mirror", "source")
    vs.ctl("port", "set", "mon", "--mirror", "destination")
    check(vs.ctl("port", "show", "mon")["mirror"] == "destination", "port show reports the mirror role")
    vs.ctl("port", "set", "other", "--admin", "up")
    vs.ctl("port", "set", "src", "--admin", "up")
    vs.wait_replayed(["src", "other"])
    time.sleep(0.3)
    mon = [f[14:].rstrip(b"\0").decode(errors="replace") for f in read_pcap(vs.path("mon-out.pcap"))]
    # mon sees: src's 4 frames (rx), the 2 unicasts to src (tx), and the 2 floods it is a member for
    check(mon.count("from-src") == 4 + 1 and mon.count("to-src") == 2,
          f"mirror destination got both directions of src: {mon}")
    check(vs.stats("mon")["tx_packets"] == len(mon), "mon's counters match its file")


def test():
    if not shutil.which("tshark"):
        skip("tshark is not installed")
    vs = Vswitchd()
    ok = False
    try:
        test_captures(vs)
        test_bad_capture(vs)
        test_destinations(vs)
        test_mirror(vs)
        ok = True
    finally:
        vs.close(ok)


run(test)
