#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Switch types: an internal switch has a host vNIC (tap vs-NAME) the host
OS sends and receives through; an external switch has an uplink ethdev
(here DPDK's own pcap PMD) and, with --allow-management-os, a host vNIC
too. Deleting a switch removes its host vNIC."""
import os
import socket
import subprocess
import time

from hvnet import Vswitchd, check, decode, frame, read_pcap, run, write_pcap

HOST_MAC = "02:00:00:00:00:11"


def ours(frames):
    """Payload names of the test's own frames (EtherType 0x88b5), in order."""
    return [decode(f)[0] for f in frames if f[12:14] == b"\x88\xb5"]


def link_exists(name):
    return os.path.exists(f"/sys/class/net/{name}")


def test_internal(vs):
    vs.ctl("switch", "add", "int", "--type", "internal")
    sw = vs.ctl("switch", "show", "int")
    check(sw["host_vnic"] == "vs-int" and link_exists("vs-int"), "internal switch made tap vs-int")
    subprocess.run(["ip", "link", "set", "vs-int", "up"], check=True)
    write_pcap(vs.path("vm.pcap"), [(0, frame("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:22",
                                              payload=b"to-host"))])
    vs.ctl("port", "add", "int", "vm", "--kind", "pcap", "--rx", vs.path("vm.pcap"),
           "--tx", vs.path("vm-out.pcap"), "--down")
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88B5))
    rx.bind(("vs-int", 0))
    rx.settimeout(5)
    vs.ctl("port", "set", "vm", "--admin", "up")
    got = None
    deadline = time.time() + 5
    while time.time() < deadline:
        data = rx.recv(2048)
        if decode(data)[0] == "to-host":
            got = data
            break
    check(got is not None, "the host received a VM's frame on vs-int")
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    tx.bind(("vs-int", 0))
    tx.send(frame("02:00:00:00:00:22", HOST_MAC, payload=b"from-host"))
    deadline = time.time() + 5
    while time.time() < deadline and vs.stats("vm")["tx_packets"] < 1:
        time.sleep(0.05)
    check(vs.stats("vm")["tx_packets"] >= 1, "the VM port received the host's frame")
    names = ours(read_pcap(vs.path("vm-out.pcap")))
    check("from-host" in names, "host frame reached the VM port, unicast by the learned MAC")
    vs.ctl("switch", "del", "int")
    check(not link_exists("vs-int"), "deleting the switch removed vs-int")


def test_external(vs):
    write_pcap(vs.path("wire-in.pcap"), [(0, frame("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:33",
                                                   payload=b"from-wire"))])
    uplink = f"net_pcap_up0,rx_pcap={vs.path('wire-in.pcap')},tx_pcap={vs.path('wire-out.pcap')}"
    write_pcap(vs.path("vm2.pcap"), [(0, frame("02:00:00:00:00:33", "02:00:00:00:00:44",
                                               payload=b"to-wire"))])
    vs.ctl("port", "add", "int2", "dummy", "--kind", "pcap", "--tx", "/dev/null", check_rc=1)
    vs.ctl("switch", "add", "ext", "--type", "external", "--uplink", uplink,
           "--allow-management-os")
    sw = vs.ctl("switch", "show", "ext")
    check(sw["uplink"] == "uplink-ext" and sw["host_vnic"] == "vs-ext" and link_exists("vs-ext"),
          "external switch with management OS has an uplink and vs-ext")
    vs.ctl("port", "add", "ext", "vm2", "--kind", "pcap", "--rx", vs.path("vm2.pcap"),
           "--tx", vs.path("vm2-out.pcap"), "--down")
    deadline = time.time() + 5
    while time.time() < deadline and vs.stats("uplink-ext")["rx_packets"] < 1:
        time.sleep(0.05)
    vs.ctl("port", "set", "vm2", "--admin", "up")
    vs.wait_replayed(["vm2"])
    time.sleep(0.3)
    check(vs.stats("uplink-ext")["rx_packets"] == 1, "uplink received the wire frame")
    # The host OS may send its own frames (IPv6 router solicitations) from
    # vs-ext too; they flood to the uplink, so count ours by their payload.
    fdb = vs.ctl("fdb", "show", "ext")["entries"]
    check({"mac": "02:00:00:00:00:33", "port": "uplink-ext"}.items() <=
          next((e for e in fdb if e["mac"] == "02:00:00:00:00:33"), {}).items(),
          "the wire's sender was learned on the uplink")
    vs.ctl("switch", "del", "ext")
    check(not link_exists("vs-ext"), "deleting the switch removed vs-ext")
    out = ours(read_pcap(vs.path("wire-out.pcap")))
    check(out == ["to-wire"], "the VM's unicast left through the uplink (its pcap PMD file)")


def test():
    vs = Vswitchd()
    ok = False
    try:
        test_internal(vs)
        test_external(vs)
        ok = True
    finally:
        vs.close(ok)


run(test)
