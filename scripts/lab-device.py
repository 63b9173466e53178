#!/usr/bin/env python3
"""A simulated F5 BIG-IP for lbfleet's device lab: the forced command of one sshd.

sshd runs this for every session with the client's command in SSH_ORIGINAL_COMMAND. The device's
state lives in DEVDIR/state.json (version, volumes, HA role, sync, disk, memory, faults); files it
holds live under DEVDIR/root/ (so /shared/images/X is DEVDIR/root/shared/images/X). Output shapes
follow shared/reference/cli-output.md. Every command is appended to DEVDIR/commands.log, the lab's
own record for tests.
"""

import hashlib
import json
import os
import sys
import time

DEV = sys.argv[1]
STATE = os.path.join(DEV, "state.json")


def load():
    with open(STATE) as f:
        return json.load(f)


def save(s):
    tmp = STATE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(s, f, indent=1)
    os.replace(tmp, STATE)


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
        os.chdir(os.path.join(DEV, "root"))
        os.execv("/usr/lib/openssh/sftp-server", ["sftp-server", "-d", os.path.join(DEV, "root")])
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
    elif cmd.startswith("sha256sum /shared/images/"):
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
    elif cmd == "tmsh load sys config verify":
        out("Validating system configuration...\n  /defaults/config_base.conf\nValidating configuration...\n  /config/bigip.conf\n")
    else:
        fail("Syntax Error: \"%s\" unknown command" % cmd)


if __name__ == "__main__":
    main()
