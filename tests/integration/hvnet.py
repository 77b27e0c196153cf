# SPDX-License-Identifier: BSD-3-Clause
"""Helpers for hvnet's integration tests: run a vswitchd, drive it with
vswitchctl, craft and read pcap files.

Paths to the binaries come from the environment meson sets
(HVNET_VSWITCHD, HVNET_VSWITCHCTL). HVNET_NO_HUGE=1 runs DPDK without
hugepages (scripts/lib.sh sets it when hugepages cannot be reserved)."""

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

VSWITCHD = os.environ.get("HVNET_VSWITCHD", "build/vswitch/vswitchd")
VSWITCHCTL = os.environ.get("HVNET_VSWITCHCTL", "build/cli/vswitchctl")


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print(f"ok - {what}")


class Vswitchd:
    """A vswitchd in the foreground with its own socket in a temp dir."""

    def __init__(self, lcores="1", extra=(), dir=None):
        """dir: run in that directory (a vswitchd killed there before: same
        sockets, so its VMs can reconnect) instead of a new temp dir."""
        if os.geteuid() != 0:
            skip("needs root (DPDK, tap devices)")
        self.dir = dir or tempfile.mkdtemp(prefix="hvnet-test-")
        self.sock = os.path.join(self.dir, "vswitchd.sock")
        if dir and os.path.exists(self.sock):
            os.unlink(self.sock)  # left by a killed vswitchd
        args = [VSWITCHD, "--socket", self.sock, "--foreground", "--lcores", lcores,
                "--fdb-size", "65536", "--mbufs", "8192", *extra]
        if os.environ.get("HVNET_NO_HUGE") == "1":
            args += ["--no-huge", "--memory", "256"]
        self.log = open(os.path.join(self.dir, "vswitchd.log"), "a+")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None or time.time() > deadline:
                self.log.seek(0)
                raise Failure("vswitchd did not start:\n" + self.log.read())
            time.sleep(0.05)

    def path(self, name):
        return os.path.join(self.dir, name)

    def ctl(self, *args, check_rc=0):
        """Runs vswitchctl --json ARGS; returns the parsed reply. Fails unless
        the exit status is check_rc (None: any)."""
        r = subprocess.run([VSWITCHCTL, "--socket", self.sock, "--json", *map(str, args)],
                           capture_output=True, text=True, timeout=60)
        if check_rc is not None and r.returncode != check_rc:
            raise Failure(f"vswitchctl {' '.join(map(str, args))}: exit {r.returncode}, "
                          f"want {check_rc}\nstdout: {r.stdout}\nstderr: {r.stderr}")
        self.last_stderr = r.stderr
        self.last_rc = r.returncode
        return json.loads(r.stdout) if r.stdout.strip() else None

    def stats(self, port):
        return self.ctl("port", "stats", port)

    def wait_replayed(self, ports, timeout=20):
        """Waits until every pcap port has replayed its whole rx file."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(self.ctl("port", "show", p)["replay_done"] for p in ports):
                return
            time.sleep(0.05)
        raise Failure(f"pcap replay did not finish on {ports}")

    def kill(self):
        """SIGKILL (a crash): sockets stay behind, nothing is cleaned up."""
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise Failure("vswitchd did not exit on SIGTERM")
        return self.proc.returncode

    def close(self, ok=True):
        self.stop()
        self.log.seek(0)
        if not ok:
            print(self.log.read())
        shutil.rmtree(self.dir, ignore_errors=True)


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def frame(dst, src, tag=None, payload=b"", ethertype=0x88B5):
    """An Ethernet frame (padded to 60 bytes), optionally 802.1Q tagged."""
    f = mac(dst) + mac(src)
    if tag is not None:
        f += struct.pack("!HH", 0x8100, tag)
    f += struct.pack("!H", ethertype) + payload
    return f + b"\0" * max(0, 60 - len(f))


def ip4(src, dst, proto, l4):
    """An IPv4 header (no options, checksum 0) followed by l4."""
    import socket as _s
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0,
                       _s.inet_aton(src), _s.inet_aton(dst)) + l4


def ip6(src, dst, proto, l4):
    import socket as _s
    return struct.pack("!IHBB16s16s", 0x60000000, len(l4), proto, 255,
                       _s.inet_pton(_s.AF_INET6, src), _s.inet_pton(_s.AF_INET6, dst)) + l4


def udp(sport, dport, payload=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, flags, payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, flags, 65535, 0, 0) + payload


def icmp(icmp_type, code=0, ident=0, payload=b""):
    return struct.pack("!BBHHH", icmp_type, code, 0, ident, 0) + payload


def ip_frame(dst_mac, src_mac, l3, v6=False, tag=None):
    """An Ethernet frame carrying an IPv4 (or IPv6) packet."""
    return frame(dst_mac, src_mac, tag=tag, ethertype=0x86DD if v6 else 0x0800, payload=l3)


def write_pcap(path, frames):
    """frames: list of (seconds from the first frame, bytes)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, data in frames:
            sec, usec = int(t), int(round((t - int(t)) * 1e6))
            f.write(struct.pack("<IIII", 1700000000 + sec, usec, len(data), len(data)))
            f.write(data)


def read_pcap(path):
    """Returns the frames of a classic pcap file as a list of bytes."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return out
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def decode(f):
    """(payload id, VLAN tag or None) of a frame made by frame()."""
    tag = None
    off = 12
    if f[12:14] == b"\x81\x00":
        tag = struct.unpack("!H", f[14:16])[0] & 0xFFF
        off = 16
    body = f[off + 2:].rstrip(b"\0")
    return body.decode(errors="replace"), tag


def retag(f, tag):
    """The frame f as it must leave a port: untagged (tag None) or with an
    802.1Q tag of VLAN tag (keeping the priority bits of an existing tag)."""
    pcp = 0
    if f[12:14] == b"\x81\x00":
        pcp = struct.unpack("!H", f[14:16])[0] & 0xF000
        f = f[:12] + f[16:]
    if tag is None:
        return f
    return f[:12] + struct.pack("!HH", 0x8100, pcp | tag) + f[12:]


def run(test):
    """Runs test() and exits 0, or 1 printing the failure."""
    try:
        test()
    except Failure as e:
        print(f"not ok - {e}")
        sys.exit(1)
    sys.exit(0)
