#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""rootlesskit 1.1.0 (Debian 12) driving this binary, as a real non-root
user: --net=slirp4netns with the slirp4netns and builtin port drivers,
--disable-host-loopback, sandbox and seccomp, --cidr, IPv6. Data both ways:
from inside to a server on the (isolated) host's loopback, and from the host
through a published port to a service inside, and from a container behind
a masqueraded veth inside rootlesskit's namespace. rootlesskit passes only
the options it knows, so what it gets is our default: outbound TCP takes
the kernel path (next to nothing crosses the TAP), from the container too,
with IPv6, where rootlesskit brings lo up only after we are ready, and
under the sandbox, where the forwarder keeps CAP_NET_ADMIN in rootlesskit's
user namespace for the kernel path's verdicts. With --disable-tcp-bypass
(a wrapper as --slirp4netns-binary) the bytes cross the TAP, and the
sandboxed forwarder keeps nothing but CAP_NET_BIND_SERVICE."""
import json
from nslib import *

stage = sys.argv[1] if len(sys.argv) > 1 else "host"

if stage == "host":
    if not shutil.which("rootlesskit"):
        skip("rootlesskit not installed")
    sys.exit(as_test_user(__file__, "user"))

if stage == "child":
    # inside rootlesskit: fake root in its user, network and mount namespaces
    cfg = json.loads(sys.argv[2])
    addr = subprocess.run(["ip", "-o", "addr", "show", "tap0"],
                          capture_output=True, text=True).stdout
    print("ADDR", json.dumps(addr), flush=True)
    a6 = ""
    for _ in range(100 if cfg["v6"] else 0):
        a6 = subprocess.run(["ip", "-6", "-o", "addr", "show", "tap0",
                             "scope", "global"], capture_output=True,
                            text=True).stdout
        if "fd00:" in a6:
            break
        time.sleep(0.1)
    print("ADDR6", json.dumps(a6), flush=True)
    os.environ["PATH"] += ":/usr/sbin:/sbin"  # nft, sysctl

    def tap_bytes():
        return sum(int(open(f"/sys/class/net/tap0/statistics/{k}").read())
                   for k in ("rx_bytes", "tx_bytes"))

    if cfg["kernel"]:
        time.sleep(1.5)  # the kernel path waits for lo (rootlesskit's)
    before = tap_bytes()
    r = subprocess.run([sys.executable, PEER, "tcp-connect" if
                        cfg["no_loopback"] else "tcp-echo", cfg["gw"],
                        str(cfg["port"])] + ([] if cfg["no_loopback"] else
                                             ["300000"]),
                       capture_output=True, text=True)
    print("OUT", json.dumps(r.stdout.strip()), flush=True)
    print("TAP", tap_bytes() - before, flush=True)
    if not cfg["no_loopback"]:
        # a container behind a veth in here, masqueraded, as rootless
        # Docker's: root in rootlesskit's user namespace may make one
        ctr = subprocess.Popen(["unshare", "--net", "sleep", "infinity"],
                               preexec_fn=die_with_parent)
        time.sleep(0.3)
        sh = lambda c: subprocess.run(c, shell=True, check=True)  # noqa
        enter = f"nsenter -t {ctr.pid} -n"
        sh(f"ip link add vb0 type veth peer name vc0 netns {ctr.pid}")
        sh("ip addr add 10.88.0.1/24 dev vb0 && ip link set vb0 up && "
           "sysctl -qw net.ipv4.ip_forward=1")
        sh(f"{enter} sh -c 'ip link set lo up && ip addr add 10.88.0.2/24 "
           "dev vc0 && ip link set vc0 up && ip route add default via "
           "10.88.0.1'")
        sh("nft add table ip ctr && nft add chain ip ctr post '{ type nat "
           "hook postrouting priority srcnat; }' && nft add rule ip ctr "
           "post ip saddr 10.88.0.0/24 oifname != vb0 masquerade")
        before = tap_bytes()
        r = subprocess.run([*enter.split(), sys.executable, PEER,
                            "tcp-echo", cfg["gw"], str(cfg["port"]),
                            "300000"], capture_output=True, text=True)
        print("CTR", json.dumps(r.stdout.strip()), tap_bytes() - before,
              flush=True)
        ctr.kill()
        ctr.wait()
    # the namespace's own account of that connect, for a failure message
    r = subprocess.run(["nstat", "-az", "TcpActiveOpens", "TcpAttemptFails",
                        "TcpInSegs", "TcpEstabResets", "IcmpInDestUnreachs",
                        "TcpExtLockDroppedIcmps"], capture_output=True,
                       text=True)
    print("NSTAT", json.dumps(" ".join(r.stdout.split()[1:])), flush=True)
    srv = subprocess.Popen([sys.executable, PEER, "serve-tcp-echo", "0.0.0.0",
                            "80", "1"], stdout=subprocess.PIPE, text=True,
                           preexec_fn=die_with_parent)
    srv.stdout.readline()
    r = subprocess.run(["rootlessctl", "--socket", cfg["api"], "add-ports",
                        "127.0.0.1:18080:80/tcp"], capture_output=True,
                       text=True)
    print("PORT", json.dumps(r.stdout.strip() + r.stderr.strip()), flush=True)
    print("READY", flush=True)
    print("PEER", srv.stdout.readline().strip(), flush=True)
    sys.stdin.read()  # until the test is done
    sys.exit(0)

# stage "user": unprivileged, in the isolated network namespace
assert_isolated()
check(os.geteuid() != 0, f"running as uid {os.geteuid()}, not root")
tmp = os.environ["S4_TMP"]
host = TcpEchoServer()


# libslirp's path: rootlesskit passes what it knows, so a wrapper
SLIRP = os.path.join(tmp, "s4-slirp-path")
with open(SLIRP, "w") as fh:
    fh.write(f'#!/bin/sh\nexec "{S4}" --disable-tcp-bypass "$@"\n')
os.chmod(SLIRP, 0o755)
CAP_NET_BIND_SERVICE, CAP_NET_ADMIN = 1 << 10, 1 << 12


def forwarder_caps(pid):
    """CapEff of the slirp4netns that rootlesskit (pid) started: the
    first of that name among its descendants, not its helper"""
    todo = [pid]
    while todo:
        p = todo.pop(0)
        try:
            comm = open(f"/proc/{p}/comm").read().strip()
        except OSError:
            continue
        if comm == "slirp4netns":
            for line in open(f"/proc/{p}/status"):
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
        try:  # every thread's (rootlesskit's are Go's); not the
            # forwarder's, which is never dumpable
            for task in os.listdir(f"/proc/{p}/task"):
                todo += open(f"/proc/{p}/task/{task}/children").read().split()
        except OSError:
            pass
    fail(f"no slirp4netns under rootlesskit {pid}")


def run(name, flags, port_driver="slirp4netns", gw="10.0.2.2",
        no_loopback=False, v6=False, binary=S4):
    state = os.path.join(tmp, "state-" + name)
    cfg = {"gw": gw, "port": host.port, "no_loopback": no_loopback, "v6": v6,
           "kernel": binary != SLIRP,
           "api": os.path.join(state, "api.sock")}
    seen = len(host.peers)
    p = subprocess.Popen(
        ["rootlesskit", "--net=slirp4netns", "--slirp4netns-binary=" + binary,
         "--state-dir=" + state, "--copy-up=/etc",
         "--port-driver=" + port_driver, *flags,
         sys.executable, os.path.abspath(__file__), "child", json.dumps(cfg)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        preexec_fn=die_with_parent)
    out = {}
    for line in p.stdout:
        k, _, v = line.strip().partition(" ")
        out[k] = v
        if k == "READY":
            break
    if "READY" not in out:
        p.kill()
        fail(f"{name}: rootlesskit did not get ready: {out}")
    addr = json.loads(out["ADDR"])
    check(gw.rsplit(".", 1)[0] + ".100/" in addr,
          f"{name}: tap0 configured ({addr.split()[3]})")
    if v6:
        check("fd00:" in json.loads(out["ADDR6"]),
              f"{name}: an IPv6 address from fd00::/64 (SLAAC)")
    res = json.loads(out["OUT"])
    if no_loopback:
        # What must hold: nothing reaches the host's loopback. The errno is
        # ENETUNREACH, which test_host_loopback checks strictly; here, about
        # one run in twenty (seen twice, never outside rootlesskit), the
        # child's connect() returned success on a socket that was closed an
        # instant later (getpeername: ENOTCONN) while the host's server saw
        # nothing. Cause not found; such a run passes with a note.
        collapsed = res.startswith("connected") and res.endswith("ENOTCONN")
        why = (f"{res}; the host's server saw {host.peers[seen:]}; "
               f"{json.loads(out['NSTAT'])}")
        check(res == "ENETUNREACH" or (collapsed and not host.peers[seen:]),
              f"{name}: host loopback refused ({why})")
        if collapsed:
            log(f"note: {name}: connect() reported success, then ENOTCONN")
    else:
        sent, got, n = res.split()
        check(sent == got, f"{name}: inside -> host loopback, 300 kB echoed")
        cres, _, ctapped = out["CTR"].rpartition(" ")
        sent, got, n = json.loads(cres).split()
        check(sent == got, f"{name}: from a container behind a veth "
              "inside, 300 kB echoed")
        tapped = int(out["TAP"])
        if cfg["kernel"]:
            check(tapped < 100000 and int(ctapped) < 100000,
                  f"{name}: both by the kernel path ({tapped} and "
                  f"{ctapped} B through the TAP)")
        else:
            check(tapped > 600000 and int(ctapped) > 600000,
                  f"{name}: both through libslirp ({tapped} and "
                  f"{ctapped} B through the TAP)")
    if "--slirp4netns-sandbox=true" in flags:
        caps, want = forwarder_caps(p.pid), CAP_NET_BIND_SERVICE
        if cfg["kernel"]:
            want |= CAP_NET_ADMIN
        check(caps == want, f"{name}: the sandboxed forwarder's "
              f"capabilities are {caps:#x} (want {want:#x})")
    data = os.urandom(200000)
    check(tcp_roundtrip("127.0.0.1", 18080, data) == data,
          f"{name}: host -> published port, 200 kB echoed")
    peer_addr = p.stdout.readline().strip().partition(" ")[2]
    if port_driver == "slirp4netns":
        check(peer_addr == "10.0.2.2" or peer_addr == gw,
              f"{name}: the service sees the gateway ({peer_addr})")
    p.stdin.close()
    check(p.wait(20) == 0, f"{name}: rootlesskit exits cleanly")


run("slirp4netns-port-driver", ["--disable-host-loopback=false"])
run("builtin-port-driver", [], port_driver="builtin")
run("disable-host-loopback", ["--disable-host-loopback"], no_loopback=True)
run("sandbox-seccomp", ["--slirp4netns-sandbox=true",
                        "--slirp4netns-seccomp=true"])
run("cidr", ["--cidr=10.41.0.0/16"], gw="10.41.0.2")
run("ipv6", ["--ipv6"], v6=True)
run("slirp-path", [], binary=SLIRP)
run("slirp-path-sandbox", ["--slirp4netns-sandbox=true",
                           "--slirp4netns-seccomp=true"], binary=SLIRP)
