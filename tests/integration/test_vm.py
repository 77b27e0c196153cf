#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""vswitchctl vm: vswitchd defines VMs, spawns their vmm (here fake_vmm.py
through HVNET_VMM, which speaks vmbus-user like vmm), shows their state,
heartbeat and NICs, shuts them down through the guest's shutdown service,
powers them off (escalating to SIGTERM and SIGKILL), reaps them, streams
their serial console, deletes them; every bad input is one error line
naming the field and changes nothing; standalone vmm processes appear as
VMs; vmm processes outlive vswitchd and reconnect to the next one."""
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_vmm.py")
os.environ["HVNET_VMM"] = FAKE  # inherited by vswitchd

from hvnet import VSWITCHCTL, VSWITCHD, Failure, Vswitchd, check, run, skip  # noqa: E402

PIDS = set()  # every vmm pid seen, killed at the end whatever happens
SHOWN_MACS = []  # MACs vm show reported for running NICs


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


def fd_links(pid):
    """{fd: what it points to} of a process."""
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[fd] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            pass
    return out


def wait_for(what, cond, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise Failure(f"timed out waiting for {what}")


def show(vs, name):
    r = vs.ctl("vm", "show", name)
    if r.get("pid"):
        PIDS.add(r["pid"])
    return r


def running(vs, name):
    """The VM's vm show once it runs with a heartbeat (None before, or while it does not exist)."""
    r = vs.ctl("vm", "show", name, check_rc=None)
    if "error" in r:
        return None
    PIDS.add(r["pid"]) if r.get("pid") else None
    return r if r["state"] == "running" and r["heartbeat"] == "ok" else None


def state(vs):
    """What a rejected command must leave as it was."""
    vms = vs.ctl("vm", "list")["vms"]
    for v in vms:
        v.pop("uptime", None)
    return vms, vs.ctl("port", "list")


def errors(vs, kernel, tmpdir):
    bad = ["vm", "create", "x1", "--kernel", kernel]
    cases = [
        (["vm", "create", "a/b", "--kernel", kernel],
         "vm: name 'a/b' may use only letters, digits, '_', '.' and '-'"),
        (["vm", "create", "a" * 27, "--kernel", kernel], "vm: name must be 1-26 characters, got 27"),
        (["vm", "create", "x1"], "kernel: required"),
        (["vm", "create", "x1", "--kernel", "/nonexistent/bzImage"],
         "kernel: cannot read '/nonexistent/bzImage': No such file or directory"),
        (["vm", "create", "x1", "--kernel", tmpdir], f"kernel: '{tmpdir}' is not a regular file"),
        (bad + ["--initrd", "/nonexistent/initrd"], "initrd: cannot read '/nonexistent/initrd'"),
        (bad + ["--disk", "/nonexistent/disk.img"], "disk: cannot read '/nonexistent/disk.img'"),
        (bad + ["--memory", "10"], "memory: want 64-1048576 MiB, got 10"),
        (bad + ["--memory", "2000000"], "memory: want 64-1048576 MiB, got 2000000"),
        (bad + ["--memory", "lots"], "memory: want a whole number, got 'lots'"),
        (bad + ["--cpus", "0"], "cpus: want 1-64, got 0"),
        (bad + ["--cpus", "65"], "cpus: want 1-64, got 65"),
        (bad + ["--nic", "nosw"], "nic: no switch named 'nosw'"),
        (bad + ["--nic", "s1", "--nic", "nosw,vlan=5"], "nic: no switch named 'nosw'"),
        (bad + ["--nic", "s1,vlan=4095"], "nic vlan: VLAN id must be 1-4094, got 4095"),
        (bad + ["--nic", "s1,vlan=0"], "nic vlan: VLAN id must be 1-4094, got 0"),
        (bad + ["--nic", "s1,vlan=ten"], "nic vlan: 'ten' is not a VLAN id (1-4094)"),
        (bad + ["--nic", "s1,mac=02:00:00:00:00:zz"], "nic mac: '02:00:00:00:00:zz' is not a MAC"),
        (bad + ["--nic", "s1,mac=01:00:5e:00:00:01"],
         "nic mac: 01:00:5e:00:00:01 is a multicast address; want a unicast one"),
        (bad + ["--nic", "s1,speed=10"],
         "nic: 'speed=10' in 's1,speed=10' is not an option or repeats one "
         "(want SWITCH[,mac=MAC][,vlan=VID])"),
        (bad + ["--nic", "s1,vlan=5,vlan=6"], "nic: 'vlan=6' in 's1,vlan=5,vlan=6' is not an option"),
        (bad + ["--nic", "s1,,vlan=5"], "nic: 's1,,vlan=5' has an empty field"),
        (bad + ["--nic", "a/b"], "nic: name 'a/b' may use only"),
        (bad + sum([["--nic", "s1"] for _ in range(9)], []), "nic: at most 8 NICs, got 9"),
        (bad + ["--nic", "s1,mac=02:00:00:00:00:09", "--nic", "s2,mac=02:00:00:00:00:09"],
         "nic mac: 02:00:00:00:00:09 is given twice"),
        (["vm", "create", "web1", "--kernel", kernel], "vm: a VM named 'web1' exists already"),
        (bad + ["--nic", "s2,mac=02:00:00:00:00:01"],
         "nic mac: 02:00:00:00:00:01 is used by VM 'web1' already"),
        (["vm", "start", "nope"], "vm: no VM named 'nope'"),
        (["vm", "show", "nope"], "vm: no VM named 'nope'"),
        (["vm", "del", "nope"], "vm: no VM named 'nope'"),
        (["vm", "stop", "nope"], "vm: no VM named 'nope'"),
        (["vm", "shutdown", "nope"], "vm: no VM named 'nope'"),
        (["vm", "console", "nope"], "vm: no VM named 'nope'"),
        (["vm", "stop", "web1"], "vm: 'web1' is off already"),
        (["vm", "shutdown", "web1"], "vm: 'web1' is off"),
        (["vm", "shutdown", "web1", "--timeout", "0"], "timeout: want 1-3600 seconds, got 0"),
        (["vm", "console", "web1"], "console: 'web1' has not run yet (no console log)"),
    ]
    before = state(vs)
    for args, msg in cases:
        r = vs.ctl(*args, check_rc=1)
        err = vs.last_stderr.strip()
        if msg not in err or err.count("\n") or r != {"error": err[len("vswitchctl: error: "):]}:
            raise Failure(f"{' '.join(args)}: want an error containing {msg!r}, got {err!r} / {r}")
    check(state(vs) == before, f"{len(cases)} bad vm commands: precise errors, nothing changed")
    for args in (["vm", "create"], ["vm", "frobnicate", "x"], ["vm", "create", "x", "--bogus", "1"]):
        vs.ctl(*args, check_rc=2)
    check(state(vs) == before, "usage errors exit 2 and change nothing")


def lifecycle(vs, kernel):
    r = vs.ctl("vm", "start", "web1")
    check(r["state"] == "starting" and r["pid"] > 0, "vm start: state starting with a pid")
    PIDS.add(r["pid"])
    r = wait_for("web1 running with heartbeat ok", lambda: running(vs, "web1"))
    pid = r["pid"]
    check(alive(pid) and r["cpus"] == 2 and r["memory_mib"] == 128 and r["connected"],
          f"web1 running: pid {pid} alive, 2 vCPUs, 128 MiB, connected, heartbeat ok")
    fds = fd_links(pid)
    shared = {v for v in fds.values() if v.startswith("socket:")} & \
        {v for v in fd_links(vs.proc.pid).values() if v.startswith("socket:")}
    check(os.getsid(pid) == pid and fds["0"] == "/dev/null" and fds["1"] == fds["2"] ==
          r["console_log"] and not shared,
          "the vmm runs in its own session, stdin /dev/null, stdout+stderr to the console log, "
          "no socket of vswitchd inherited")
    nics = r["nics"]
    check(len(nics) == 2 and nics[0]["switch"] == "s1" and nics[1]["switch"] == "s2"
          and nics[0]["mac"] == "02:00:00:00:00:01" and nics[0]["vlan"] == 10
          and all(n["port"] for n in nics),
          f"vm show NICs: ports, switches, MAC, VLAN: {nics}")
    SHOWN_MACS.extend(n["mac"] for n in nics)
    ports = [p["name"] for p in vs.ctl("port", "list")["ports"]]
    check(all(n["port"] in ports for n in nics), "the VM's NIC ports are switch ports")
    listed = {v["name"]: v for v in vs.ctl("vm", "list")["vms"]}
    check(listed["web1"]["state"] == "running" and listed["web1"]["pid"] == pid,
          "vm list shows web1 running")
    text = subprocess.run([VSWITCHCTL, "--socket", vs.sock, "vm", "list"], capture_output=True,
                          text=True).stdout
    check(text.split("\n")[0].split() == ["name", "state", "pid", "cpus", "memory_mib",
                                          "heartbeat"] and "web1" in text and "running" in text,
          "vm list as a table")

    vs.ctl("vm", "start", "web1", check_rc=1)
    check(f"vm: 'web1' is running already (pid {pid})" in vs.last_stderr,
          "vm start of a running VM: error")
    vs.ctl("vm", "del", "web1", check_rc=1)
    check(f"vm: 'web1' is running (pid {pid}); stop it first (vm stop web1)" in vs.last_stderr,
          "vm del of a running VM: error, stop it first")

    out = subprocess.run([VSWITCHCTL, "--socket", vs.sock, "vm", "console", "web1",
                          "--no-follow"], capture_output=True, text=True, timeout=10).stdout
    check("fake-vmm: booting web1" in out and "a line on stderr" in out
          and "connected to vswitchd" in out, "vm console --no-follow: the console log")

    follow = subprocess.Popen([VSWITCHCTL, "--socket", vs.sock, "vm", "console", "web1"],
                              stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    t0 = time.time()
    r = vs.ctl("vm", "shutdown", "web1", "--wait")
    check(r["state"] == "off" and r["exit"] == "exit 0: guest powered off",
          f"vm shutdown --wait: the guest shut down, vmm exited 0 ({time.time() - t0:.1f} s)")
    try:
        out = follow.communicate(timeout=5)[0]
    except subprocess.TimeoutExpired:
        follow.kill()
        raise Failure("vm console (follow) did not end when the VM stopped")
    check("booting web1" in out and "guest: shutdown requested by the host" in out,
          "vm console follows new output and ends when the VM is off")
    r = show(vs, "web1")
    check(r["state"] == "off" and r["pid"] is None and r["heartbeat"] == "unknown"
          and not alive(pid) and all(n["port"] is None for n in r["nics"]),
          "after shutdown: off, no pid, no ports, process reaped")
    wait_for("the NIC ports to go", lambda: not any(
        p["name"] in [n["port"] for n in nics] for p in vs.ctl("port", "list")["ports"]))
    check(True, "the VM's ports are gone")

    # shutdown without --wait answers when the guest accepted
    vs.ctl("vm", "start", "web1")
    wait_for("web1 running again", lambda: running(vs, "web1"))
    r = vs.ctl("vm", "shutdown", "web1")
    check(r["state"] in ("shutting-down", "off"), f"vm shutdown: accepted ({r['state']})")
    wait_for("web1 off", lambda: show(vs, "web1")["state"] == "off")
    check(True, "the guest powered off after vm shutdown")


def refusals_and_stops(vs, kernel):
    vs.ctl("vm", "create", "db1", "--kernel", kernel, "--cmdline", "fake.no_shutdown",
           "--nic", "s1")
    vs.ctl("vm", "start", "db1")
    pid = wait_for("db1 running", lambda: running(vs, "db1"))["pid"]
    vs.ctl("vm", "shutdown", "db1", check_rc=1)
    check("shutdown: guest has no shutdown service (heartbeat ok)" in vs.last_stderr,
          "vm shutdown refused by the guest: precise error")
    check(show(vs, "db1")["state"] == "running", "refused shutdown leaves the VM running")
    t0 = time.time()
    r = vs.ctl("vm", "stop", "db1")
    took = time.time() - t0
    check(r["state"] == "off" and r["exit"] == "exit 5: powered off by vswitchd"
          and not alive(pid), f"vm stop: power-off request, off and reaped in {took:.2f} s")

    vs.ctl("vm", "create", "st1", "--kernel", kernel, "--cmdline", "fake.stubborn", "--nic", "s2")
    vs.ctl("vm", "start", "st1")
    pid = wait_for("st1 running", lambda: running(vs, "st1"))["pid"]
    t0 = time.time()
    r = vs.ctl("vm", "stop", "st1")
    took = time.time() - t0
    check(r["state"] == "off" and r["exit"] == "killed by signal 9" and not alive(pid)
          and 5.5 < took < 15, f"vm stop of a vmm ignoring power-off and SIGTERM: SIGKILL "
          f"after {took:.1f} s")

    vs.ctl("vm", "create", "bad1", "--kernel", kernel, "--cmdline", "fake.exit=2")
    vs.ctl("vm", "start", "bad1")
    r = wait_for("bad1 to exit", lambda: (lambda v: v if v["state"] == "off" else None)(
        show(vs, "bad1")))
    check(r["last_exit"] == "exit 2: usage or configuration error",
          "a vmm that fails at start: off, with its exit status")
    out = subprocess.run([VSWITCHCTL, "--socket", vs.sock, "vm", "console", "bad1"],
                         capture_output=True, text=True, timeout=10).stdout
    check("booting bad1" in out, "vm console of an off VM prints its last log and ends")

    vs.ctl("vm", "create", "nonic", "--kernel", kernel)
    r = vs.ctl("vm", "start", "nonic")
    PIDS.add(r["pid"])
    time.sleep(1)
    r = show(vs, "nonic")
    check(r["state"] == "running" and alive(r["pid"]) and r["heartbeat"] == "unknown"
          and not r["connected"], "a VM without NICs runs unconnected (vmm needs no vswitchd)")
    r = vs.ctl("vm", "stop", "nonic")
    check(r["state"] == "off" and r["exit"] == "exit 4: stopped by a signal",
          "vm stop of an unconnected vmm: SIGTERM")
    vs.ctl("vm", "create", "chat1", "--kernel", kernel, "--cmdline", "fake.chatty=9")
    log = vs.ctl("vm", "start", "chat1")["console_log"]
    wait_for("the console log to rotate", lambda: os.path.exists(log + ".1"))
    time.sleep(0.2)
    check(os.path.getsize(log + ".1") > 8 << 20 and os.path.getsize(log) < 1 << 20,
          f"a console log over 8 MiB moves to {os.path.basename(log)}.1 and starts again "
          f"({os.path.getsize(log + '.1') >> 10} KiB moved)")
    vs.ctl("vm", "stop", "chat1")
    for name in ("db1", "st1", "bad1", "nonic", "chat1"):
        vs.ctl("vm", "del", name)
    check(not os.path.exists(log) and not os.path.exists(log + ".1"),
          "vm del removes the console logs")
    log = show(vs, "web1")["console_log"]
    vs.ctl("vm", "del", "web1")
    names = [v["name"] for v in vs.ctl("vm", "list")["vms"]]
    check(names == [] and not os.path.exists(log), "vm del: VMs and console logs gone")


def standalone_vmm(vs, kernel, vmbus_sock, name, *extra):
    p = subprocess.Popen([FAKE, "--name", name, "--vswitchd", vmbus_sock, "--kernel", kernel,
                          "--nic", "s1", *extra], stdout=subprocess.PIPE,
                         stderr=open(vs.path(name + ".stderr"), "w"), text=True)
    PIDS.add(p.pid)
    return p


def standalone(vs, kernel, vmbus_sock):
    p = standalone_vmm(vs, kernel, vmbus_sock, "solo")
    r = wait_for("solo in vm list", lambda: running(vs, "solo"))
    check(r["pid"] == p.pid and r["managed"] is False and len(r["nics"]) == 1,
          "a standalone vmm shows as a VM (not managed)")
    vs.ctl("vm", "del", "solo", check_rc=1)
    check("vm: 'solo' is a standalone vmm" in vs.last_stderr, "vm del of a standalone vmm: error")
    vs.ctl("vm", "start", "solo", check_rc=1)
    dup = standalone_vmm(vs, kernel, vmbus_sock, "solo")
    time.sleep(1.5)
    check(show(vs, "solo")["pid"] == p.pid and dup.poll() is None,
          "a second vmm with the same name is refused (and retries)")
    dup.kill()
    dup.wait()
    r = vs.ctl("vm", "stop", "solo")
    p.wait(timeout=5)
    check(r["state"] == "off" and p.returncode == 5,
          "vm stop powers off a standalone vmm (exit 5)")
    vs.ctl("vm", "show", "solo", check_rc=1)
    check("vm: no VM named 'solo'" in vs.last_stderr, "a stopped standalone vmm leaves no record")


def restart(vs, kernel):
    """vswitchd exits: the vmm keeps running, the next vswitchd restores the definitions
    (vms.json beside the socket), adopts the running vmm and it reconnects."""
    vs.ctl("vm", "create", "web2", "--kernel", kernel, "--nic", "s1,vlan=7", "--memory", "96")
    vs.ctl("vm", "create", "keep1", "--kernel", kernel, "--cmdline", "console=ttyS0 quiet")
    vs.ctl("vm", "start", "web2")
    pid = wait_for("web2 running", lambda: running(vs, "web2"))["pid"]
    before = {v["name"]: v for v in vs.ctl("vm", "list")["vms"]}
    vs.stop()
    time.sleep(0.5)
    check(alive(pid), "vswitchd exit leaves the vmm running")
    args = [VSWITCHD, "--socket", vs.sock, "--foreground", "--lcores", "1", "--fdb-size", "65536",
            "--mbufs", "8192"]
    if os.environ.get("HVNET_NO_HUGE") == "1":
        args += ["--no-huge", "--memory", "256"]
    vs.proc = subprocess.Popen(args, stdout=vs.log, stderr=subprocess.STDOUT)
    wait_for("vswitchd restart", lambda: os.path.exists(vs.sock) and vs.proc.poll() is None, 30)
    after = {v["name"]: v for v in vs.ctl("vm", "list")["vms"]}
    keys = ("kernel", "initrd", "cmdline", "disk", "cpus", "memory_mib", "managed")
    check(sorted(after) == ["keep1", "web2"] and after["keep1"]["state"] == "off"
          and all(after[n][k] == before[n][k] for n in after for k in keys)
          and after["web2"]["state"] == "running" and after["web2"]["pid"] == pid
          and after["web2"]["nics"][0]["vlan"] == 7,
          "the next vswitchd restores the definitions and adopts the running vmm")
    vs.ctl("switch", "add", "s1", "--type", "private")
    r = wait_for("web2 to reconnect", lambda: running(vs, "web2"))
    check(r["connected"] and r["nics"][0]["port"], "the vmm reconnected to the new vswitchd")
    out = subprocess.run([VSWITCHCTL, "--socket", vs.sock, "vm", "console", "web2",
                          "--no-follow"], capture_output=True, text=True, timeout=10).stdout
    check("booting web2" in out and "reconnecting" in out,
          "vm console still reads the console log of the adopted vmm")
    r = vs.ctl("vm", "stop", "web2")
    check(r["state"] == "off" and not alive(pid), "vm stop powers off the adopted vmm")
    r = vs.ctl("vm", "start", "web2")
    PIDS.add(r["pid"])
    wait_for("web2 running again", lambda: running(vs, "web2"))
    check(vs.ctl("vm", "stop", "web2")["state"] == "off", "and it starts and stops again")


def test():
    help_text = subprocess.run([VSWITCHD, "--help"], capture_output=True, text=True).stdout
    if "--vmbus-socket" not in help_text:
        skip("this vswitchd has no vmbus-user server")
    vs = Vswitchd()
    ok = False
    try:
        kernel = vs.path("bzImage")
        with open(kernel, "w") as f:
            f.write("not really a kernel\n")
        vmbus_sock = vs.sock.replace(".sock", "-vmbus.sock")
        vs.ctl("switch", "add", "s1", "--type", "private")
        vs.ctl("switch", "add", "s2", "--type", "private")
        r = vs.ctl("vm", "create", "web1", "--kernel", kernel, "--memory", "128", "--cpus", "2",
                   "--nic", "s1,mac=02:00:00:00:00:01,vlan=10", "--nic", "s2")
        check(r["name"] == "web1" and r["state"] == "off" and r["pid"] is None
              and r["heartbeat"] == "unknown" and len(r["nics"]) == 2
              and r["nics"][0]["mac"] == "02:00:00:00:00:01" and r["nics"][0]["vlan"] == 10,
              "vm create: defined, off")
        errors(vs, kernel, vs.dir)
        lifecycle(vs, kernel)
        refusals_and_stops(vs, kernel)
        standalone(vs, kernel, vmbus_sock)
        restart(vs, kernel)
        check(SHOWN_MACS and all(m == m.lower() for m in SHOWN_MACS),
              f"MAC addresses in vm show are lowercase (docs/vswitchctl.md): {SHOWN_MACS}")
        ok = True
    finally:
        for pid in PIDS:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        vs.close(ok)


if __name__ == "__main__":
    run(test)
