#!/usr/bin/env python3
"""A simulated F5 BIG-IP for lbfleet's device lab: the forced command of one sshd.

sshd runs this for every session with the client's command in SSH_ORIGINAL_COMMAND. The device's
state lives in DEVDIR/state.json (version, volumes, HA role, sync, disk, memory, faults); files it
holds live under DEVDIR/root/ (so /shared/images/X is DEVDIR/root/shared/images/X). Output shapes
follow shared/reference/cli-output.md. Every command is appended to DEVDIR/commands.log, the lab's
own record for tests.
"""

import json
import os
import sys
import time

# Other modules are imported where they are used: every command starts this script anew, and
# startup time is lab overhead the rollout benchmark would count.

DEV = sys.argv[1]
STATE = os.path.join(DEV, "state.json")


def load(path=STATE):
    with open(path) as f:
        return json.load(f)


def save(s, path=STATE):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(s, f, indent=1)
    os.replace(tmp, path)


class Locked:
    """One writer at a time across the lab (failover changes two devices)."""

    def __enter__(self):
        import fcntl

        self.f = open(os.path.join(os.path.dirname(DEV), ".lock"), "w")
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *a):
        import fcntl

        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


def event(text):
    """The lab's own event log (service state changes), for tests that check HA safety."""
    with open(os.path.join(os.path.dirname(DEV), "events.log"), "a") as f:
        f.write("%.3f %s %s\n" % (time.time(), os.path.basename(DEV), text))


def sftp(s):
    """The real sftp-server, started in the device's root; with the drop-mid-upload fault the
    connection is cut once after 256 KiB of client data (the next upload resumes)."""
    import select
    import subprocess

    root = os.path.join(DEV, "root")
    os.chdir(root)
    argv = ["/usr/lib/openssh/sftp-server", "-d", root]
    if "drop-mid-upload" not in s.get("faults", []):
        os.execv(argv[0], argv)
    with Locked():
        st = load()
        st["faults"].remove("drop-mid-upload")
        save(st)
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    seen = 0
    fds = [0, child.stdout.fileno()]
    while True:
        r, _, _ = select.select(fds, [], [])
        if 0 in r:
            data = os.read(0, 65536)
            if not data:
                break
            seen += len(data)
            if seen > 256 * 1024:
                child.kill()
                os._exit(1)
            child.stdin.write(data)
            child.stdin.flush()
        if child.stdout.fileno() in r:
            data = os.read(child.stdout.fileno(), 65536)
            if not data:
                break
            os.write(1, data)
    child.wait()


def log(cmd):
    with open(os.path.join(DEV, "commands.log"), "a") as f:
        f.write("%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), cmd))


def local(path):
    return os.path.join(DEV, "root", path.lstrip("/"))


def out(text):
    sys.stdout.write(text)
    sys.stdout.flush()


def fail(text, code=1):
    sys.stderr.write(text + "\n")
    sys.exit(code)


def main():
    cmd = os.environ.get("SSH_ORIGINAL_COMMAND", "").strip()
    log(cmd or "<shell>")
    s = load()
    if "slow" in s.get("faults", []):
        time.sleep(float(s.get("slow_seconds", 2)))
    if cmd in ("internal-sftp", "sftp") or cmd.endswith("sftp-server"):
        sftp(s)
        return
    active = [v for v in s["volumes"] if v["active"]][0]
    if cmd == "tmsh show sys version":
        out(
            "Sys::Version\nMain Package\n  Product      BIG-IP\n  Version      %s\n  Build        %s\n"
            "  Edition      Final\n  Date         Tue Jul 14 05:03:24 PDT 2026\n\n" % (active["version"], active["build"])
        )
    elif cmd == "tmsh show sys software status":
        rows = "".join(
            "HD1.%d    BIG-IP  %8s  %5s  %9s  %20s\n"
            % (i + 1, v["version"], v["build"], "yes" if v["active"] else "no", v["status"])
            for i, v in enumerate(s["volumes"])
        )
        out("-" * 64 + "\nSys::Software Status\nVolume  Product   Version  Build  Active    Status\n" + "-" * 64 + "\n" + rows)
    elif cmd == "df -Pk /shared/images":
        free = 0 if "disk-full" in s.get("faults", []) else s["disk_free_kib"]
        out(
            "Filesystem                      1024-blocks     Used Available Capacity Mounted on\n"
            "/dev/mapper/vg--db--vda-dat.share  20971520 %8d %9d      %d%% /shared\n"
            % (20971520 - free, free, 100 - free * 100 // 20971520)
        )
    elif cmd == "tmsh show cm failover-status":
        out("Status   %s\nSummary  1/1 %s\n" % (s["role"].upper(), s["role"]))
    elif cmd == "tmsh show cm sync-status":
        status = "Changes Pending" if "out-of-sync" in s.get("faults", []) else "In Sync"
        out("Status   %s\nMode     high-availability\nSummary  %s\n" % (status, status))
    elif cmd == "free -b":
        out(
            "               total        used        free      shared  buff/cache   available\n"
            "Mem:    %11d %11d %11d           0           0 %11d\n"
            % (s["mem_total"], s["mem_used"], s["mem_total"] - s["mem_used"], s["mem_total"] - s["mem_used"])
        )
    elif cmd.startswith("sha256sum ") and "shared/images/" in cmd:
        import hashlib

        name = cmd[len("sha256sum "):]
        try:
            h = hashlib.sha256()
            with open(local(name), "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        except OSError:
            fail("sha256sum: %s: No such file or directory" % name)
        digest = h.hexdigest()
        if "checksum-mismatch" in s.get("faults", []):
            digest = ("0" if digest[0] != "0" else "1") + digest[1:]
        out("%s  %s\n" % (digest, name))
    elif cmd.startswith("tmsh install sys software image "):
        install(s, cmd)
    elif cmd.startswith("tmsh reboot volume "):
        reboot(s, cmd)
    elif cmd == "tmsh run sys failover standby":
        failover(s)
    elif cmd == "tmsh load sys config verify":
        out("Validating system configuration...\n  /defaults/config_base.conf\nValidating configuration...\n  /config/bigip.conf\n")
    else:
        fail("Syntax Error: \"%s\" unknown command" % cmd)


def install(s, cmd):
    import re

    m = re.fullmatch(r"tmsh install sys software image (\S+) volume HD1\.(\d+) create-volume", cmd)
    if not m:
        fail("Syntax Error: install")
    image, vol = m.group(1), int(m.group(2))
    if not os.path.exists(local("/shared/images/" + image)):
        fail("01070712:3: Software image %s not found" % image)
    v = re.match(r"BIGIP-(\d+(?:\.\d+){1,3})-(\d+\.\d+\.\d+)\.iso$", image)
    if not v:
        fail("01070712:3: %s is not a BIG-IP image" % image)
    if "install-fails" in s.get("faults", []):
        fail("01071d0e:3: Installation of %s failed" % image)
    with Locked():
        s = load()
        while len(s["volumes"]) < vol:
            s["volumes"].append({"version": "none", "build": "none", "active": False, "status": "complete"})
        target = s["volumes"][vol - 1]
        if target["active"]:
            fail("01070712:3: cannot install to the active volume HD1.%d" % vol)
        target.update({"version": v.group(1), "build": v.group(2), "status": "complete"})
        save(s)


def reboot(s, cmd):
    import re
    import signal
    import subprocess

    m = re.fullmatch(r"tmsh reboot volume HD1\.(\d+)", cmd)
    if not m or int(m.group(1)) > len(s["volumes"]):
        fail("Syntax Error: reboot")
    vol = int(m.group(1))
    with Locked():
        s = load()
        if "wrong-version" not in s.get("faults", []):
            for i, v in enumerate(s["volumes"]):
                v["active"] = i == vol - 1
        # A reboot gives back what a leak took, unless the fault says otherwise.
        if "memory-stays" not in s.get("faults", []):
            s["mem_used"] = s.get("mem_baseline", s["mem_used"])
        save(s)
    down = float(s.get("reboot_seconds", 2))
    back = "never-returns" not in s.get("faults", [])
    out("Rebooting...\n")
    # Detach: the session ends, then sshd really goes away for `down` seconds.
    if os.fork() == 0:
        os.setsid()
        # Let go of the session's stdin/stdout/stderr so the command returns at once, as a real
        # reboot command does, instead of when this helper ends.
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        if os.fork() == 0:
            time.sleep(0.3)
            pidfile = os.path.join(DEV, "sshd.pid")
            try:
                pid = int(open(pidfile).read())
                os.kill(pid, signal.SIGTERM)
            except (OSError, ValueError):
                pass
            # Sessions of this device go too, as on a real reboot (all but this helper).
            for pid in os.listdir("/proc"):
                if not pid.isdigit() or int(pid) == os.getpid():
                    continue
                try:
                    argv = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
                except OSError:
                    continue
                if len(argv) >= 3 and argv[-2].endswith(b"lab-device.py") and argv[-1] == DEV.encode():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except OSError:
                        pass
            event("down")
            if back:
                time.sleep(down)
                subprocess.run(["/usr/sbin/sshd", "-f", os.path.join(DEV, "sshd_config"), "-E", os.path.join(DEV, "sshd.log")], check=False)
                event("up")
        os._exit(0)


def failover(s):
    if s["role"] != "active":
        fail("01070734:3: this device is not active")
    if "failover-fails" in s.get("faults", []):
        fail("01070734:3: failover failed")
    peer = s.get("peer")
    with Locked():
        me = load()
        me["role"] = "standby"
        save(me)
        if peer:
            path = os.path.join(os.path.dirname(DEV), peer, "state.json")
            p = load(path)
            p["role"] = "active"
            save(p, path)
    event("failover to %s" % peer)


if __name__ == "__main__":
    main()
