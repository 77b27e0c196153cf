#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A stand-in for vmm in tests of `vswitchctl vm`: takes vmm's command line,
prints a few console lines on stdout (the serial console), connects to
vswitchd's vmbus-user socket (vmbus/vmbus_user.h: AF_UNIX SOCK_SEQPACKET,
descriptors as SCM_RIGHTS), says HELLO with its --nic list, shares a memfd
as guest RAM (MEM), sends STATUS every 0.3 s and answers REQUEST:
SHUTDOWN -> "guest" shuts down and the process exits 0; POWEROFF -> exits 5;
SIGTERM -> exits 4 (vmm's statuses).
It reconnects every second when vswitchd goes away, like vmm.

Behaviour switches, as words in --cmdline:
  fake.no_shutdown      refuse SHUTDOWN (-EOPNOTSUPP, no message)
  fake.stubborn         ignore POWEROFF and SIGTERM (only SIGKILL ends it)
  fake.no_heartbeat     the heartbeat stays no-contact
  fake.exit=N           exit with status N right after printing the banner
  fake.chatty=N         print N MiB of console lines after the banner
"""
import array
import fcntl
import os
import signal
import socket
import struct
import sys
import time

HDR = struct.Struct("<IIII")
HELLO = struct.Struct("<IIQ32sII")
NIC = struct.Struct("<32s32s6sHII")
HELLO_REPLY = struct.Struct("<Ii128sII")
NIC_REPLY = struct.Struct("<i6sH32s")
MEM = struct.Struct("<QQQ")
STATUS = struct.Struct("<IIQII")
REQUEST = struct.Struct("<Ii96s")

T_HELLO, T_HELLO_REPLY, T_MEM, T_STATUS, T_REQUEST, T_REQUEST_REPLY = 1, 2, 3, 12, 13, 14
REQ_SHUTDOWN, REQ_POWEROFF = 1, 2
VM_RUNNING, VM_SHUTTING_DOWN = 1, 2
HB_NO_CONTACT, HB_OK = 0, 1
EOPNOTSUPP = 95
MEM_SIZE = 2 << 20


def console(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def parse_args(argv):
    opts = {"nic": [], "memory": "256", "cpus": "1", "cmdline": ""}
    i = 0
    while i < len(argv):
        key = argv[i][2:]
        if key in ("quiet", "hugepages", "hyperv", "no-hyperv", "vmbus-acpi"):
            i += 1
            continue
        val = argv[i + 1]
        if key == "nic":
            opts["nic"].append(val)
        else:
            opts[key] = val
        i += 2
    return opts


def nic_struct(spec):
    parts = spec.split(",")
    mac, vlan = b"\0" * 6, 0
    for p in parts[1:]:
        k, v = p.split("=", 1)
        if k == "mac":
            mac = bytes(int(x, 16) for x in v.split(":"))
        elif k == "vlan":
            vlan = int(v)
    return NIC.pack(parts[0].encode(), b"", mac, vlan, 0, 0)


class Vm:
    def __init__(self, opts):
        self.o = opts
        self.words = opts["cmdline"].split()
        self.seq = 0
        self.sock = None
        self.state = VM_RUNNING
        self.start = time.monotonic()
        self.mem = os.memfd_create("fake-guest-ram", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.ftruncate(self.mem, MEM_SIZE)
        # vswitchd maps guest memory only from memfds sealed against shrinking
        fcntl.fcntl(self.mem, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)

    def send(self, mtype, body, fds=(), seq=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        data = HDR.pack(mtype, HDR.size + len(body), 0, seq) + body
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        self.sock.sendmsg([data], anc)

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(self.o["vswitchd"])
        self.sock = s
        nics = b"".join(nic_struct(n) for n in self.o["nic"])
        hello = HELLO.pack(0x10000, len(self.o["nic"]), os.getpid(), self.o["name"].encode(),
                           int(self.o["cpus"]), int(self.o["memory"]))
        self.send(T_HELLO, hello + nics)
        s.settimeout(5)
        while True:
            data = s.recv(300000)
            if not data:
                raise ConnectionError("vswitchd closed the connection")
            mtype = HDR.unpack_from(data)[0]
            if mtype == T_HELLO_REPLY:
                break
        _, status, msg, nr, _ = HELLO_REPLY.unpack_from(data, HDR.size)
        if status < 0:
            raise ConnectionError("HELLO refused: " + msg.split(b"\0")[0].decode())
        ports = []
        for i in range(nr):
            r = NIC_REPLY.unpack_from(data, HDR.size + HELLO_REPLY.size + i * NIC_REPLY.size)
            ports.append(r[3].split(b"\0")[0].decode())
        console(f"fake-vmm: connected to vswitchd, ports {' '.join(ports)}")
        self.send(T_MEM, MEM.pack(0, MEM_SIZE, 0), fds=[self.mem])
        s.settimeout(0.3)

    def status(self):
        hb = HB_NO_CONTACT if "fake.no_heartbeat" in self.words or \
            time.monotonic() - self.start < 0.2 else HB_OK
        up = int((time.monotonic() - self.start) * 1000)
        self.send(T_STATUS, STATUS.pack(self.state, hb, up, 0, 0))

    def request(self, seq, body):
        op = REQUEST.unpack_from(body)[0]
        if op == REQ_SHUTDOWN and "fake.no_shutdown" in self.words:
            self.send(T_REQUEST_REPLY, REQUEST.pack(op, -EOPNOTSUPP, b""), seq=seq)
            return
        if op == REQ_POWEROFF and "fake.stubborn" in self.words:
            console("fake-vmm: ignoring the power-off request")
            self.send(T_REQUEST_REPLY, REQUEST.pack(op, 0, b""), seq=seq)
            return
        self.send(T_REQUEST_REPLY, REQUEST.pack(op, 0, b""), seq=seq)
        if op == REQ_SHUTDOWN:
            console("guest: shutdown requested by the host; powering off")
            self.state = VM_SHUTTING_DOWN
            self.status()
            time.sleep(0.3)
            sys.exit(0)
        console("fake-vmm: powered off by vswitchd")
        sys.exit(5)

    def serve(self):
        while True:
            try:
                data = self.sock.recv(300000)
            except socket.timeout:
                self.status()
                continue
            if not data:
                raise ConnectionError("vswitchd went away")
            mtype, _, _, seq = HDR.unpack_from(data)
            if mtype == T_REQUEST:
                self.request(seq, data[HDR.size:])


def main():
    opts = parse_args(sys.argv[1:])
    words = opts["cmdline"].split()
    if "fake.stubborn" in words:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(4))
    console(f"fake-vmm: booting {opts['name']} kernel={opts['kernel']} "
            f"memory={opts['memory']} cpus={opts['cpus']} nics={','.join(opts['nic'])}")
    print("fake-vmm: a line on stderr", file=sys.stderr, flush=True)
    for w in words:
        if w.startswith("fake.exit="):
            sys.exit(int(w.split("=")[1]))
        if w.startswith("fake.chatty="):
            line = "guest: " + "x" * 1015 + "\n"
            for _ in range(int(w.split("=")[1]) * 1024):
                sys.stdout.write(line)
            console("guest: done chatting")
    if ("vswitchd" in opts) != bool(opts["nic"]):
        print("fake-vmm: --vswitchd and --nic go together (like vmm)", file=sys.stderr)
        sys.exit(2)
    vm = Vm(opts)
    if not opts["nic"]:
        while True:  # like vmm: no NICs, no vswitchd connection
            time.sleep(1)
    while True:
        try:
            vm.connect()
            vm.serve()
        except (OSError, ConnectionError) as e:
            console(f"fake-vmm: {e}; reconnecting")
            if vm.sock:
                vm.sock.close()
                vm.sock = None
            time.sleep(1)


if __name__ == "__main__":
    main()
