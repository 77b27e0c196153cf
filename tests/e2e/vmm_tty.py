#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""vmm's console on a terminal (run by vmm_cli_errors.sh where vmm can run a
guest, inside the sandbox when the host's KVM cannot): the terminal is raw
while vmm runs (Ctrl-C still signals it), vmm exits 4 on Ctrl-C and the
terminal's mode is restored afterwards. Prints one line; exit 0 when so.

    vmm_tty.py VMM KERNEL
"""
import fcntl
import os
import pty
import subprocess
import sys
import termios
import time


def openpty():
    """A pty; mounts devpts first where /dev has none (the sandbox's /dev)."""
    try:
        return pty.openpty()
    except OSError:
        os.makedirs("/dev/pts", exist_ok=True)
        subprocess.run(["mount", "-t", "devpts", "devpts", "/dev/pts"], check=True)
        return pty.openpty()


def main():
    vmm, kernel = sys.argv[1], sys.argv[2]
    m, s = openpty()
    before = termios.tcgetattr(s)

    def ctty():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen([vmm, "--kernel", kernel, "--memory", "128"], stdin=s, stdout=s,
                         stderr=subprocess.DEVNULL, preexec_fn=ctty)
    for _ in range(200):  # until vmm has switched the terminal
        if not termios.tcgetattr(s)[3] & termios.ICANON or p.poll() is not None:
            break
        time.sleep(0.05)
    during = termios.tcgetattr(s)
    time.sleep(0.2)  # the guest runs; Ctrl-C while it does
    os.write(m, b"\x03")
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = "hung"
    ok = (not during[3] & termios.ICANON) and during[3] & termios.ISIG and rc == 4 \
        and termios.tcgetattr(s) == before
    print("raw=%s isig=%s rc=%s restored=%s" % (not during[3] & termios.ICANON,
          bool(during[3] & termios.ISIG), rc, termios.tcgetattr(s) == before))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
