#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Side-by-side iperf3 benchmark: this slirp4netns and others, interleaved,
repeated, medians. Everything runs inside a namespace made for it.

Usage: bench.py [--rounds N] [--time S] [--quick] [--cases TEXT[,TEXT]...]
                [--out DIR] [BINARY]...
Default binaries: this build and /usr/bin/slirp4netns. BINARY:MODE makes
the forward cases send that "mode" (splice, slirp); BINARY+nobypass runs
it with --disable-tcp-bypass, BINARY+nobusy with --busy-poll=0 (both:
BINARY:MODE+nobypass+nobusy); the word rootlesskit
stands for rootlesskit's builtin port driver in the forward cases (run
first, as a real user: it needs subuids).
"""
import argparse
import json
import os
import shutil
import statistics
import tempfile
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests",
                                "integration"))
from nslib import *  # noqa: E402

# iperf3's UDP: as fast as it can send, datagrams that fit a 1500 MTU
UDP = ["-u", "-b", "0", "-l", "1400"]
CASES = [
    # name, mtu, kind, iperf3 extra args
    ("ns->host 65520", 65520, "iperf", []),
    ("ns->host 65520 -P4", 65520, "iperf", ["-P", "4"]),
    ("host->ns 65520 (-R)", 65520, "iperf", ["-R"]),
    ("ns->host 1500", 1500, "iperf", []),
    ("ns->host 1500 -P4", 1500, "iperf", ["-P", "4"]),
    ("host->ns 1500 (-R)", 1500, "iperf", ["-R"]),
    ("ns->host UDP 1500", 1500, "iperf", UDP),
    # from a container on a bridge inside the namespace (br_netfilter on),
    # masqueraded, as rootless Docker, podman's bridge networks and
    # usernetes pods sit
    ("bridged ns->host 65520", 65520, "bridged", []),
    ("bridged ns->host UDP 1500", 1500, "bridged", UDP),
    # connect, 1-byte request and answer, close: from the namespace
    ("ns->host conn/s", 1500, "connrate-out", []),
    # through a port forward: host client, server in the ns
    ("fwd host->ns 65520", 65520, "fwd", []),
    ("fwd host->ns 65520 -P4", 65520, "fwd", ["-P", "4"]),
    ("fwd ns->host 65520 (-R)", 65520, "fwd", ["-R"]),
    ("fwd host->ns 1500", 1500, "fwd", []),
    ("fwd host->ns UDP 1500", 1500, "fwd", UDP),
    ("fwd conn/s", 1500, "connrate", []),
    ("rr latency ns->host", 1500, "latency", []),
    # a 1-byte datagram each way, one at a time
    ("udp rr latency ns->host", 1500, "udp-latency", []),
    ("fwd udp rr latency", 1500, "fwd-udp-latency", []),
    # how long the loop makes others wait while it moves a bulk transfer
    # (iperf3 -P4) through a forward or out of the namespace: an API call,
    # a new connection through a forward (1 byte each way), a ping from
    # the namespace to the gateway; and the same with nothing moving
    ("api idle", 65520, "probe", [None, "api"]),
    ("api under fwd -P4", 65520, "probe", ["fwd", "api"]),
    ("connect idle", 65520, "probe", [None, "conn"]),
    ("connect under fwd -P4", 65520, "probe", ["fwd", "conn"]),
    ("ping idle", 65520, "probe", [None, "ping"]),
    ("ping under fwd -P4", 65520, "probe", ["fwd", "ping"]),
    ("ping under ns->host -P4", 65520, "probe", ["out", "ping"]),
    ("api under ns->host -P4", 65520, "probe", ["out", "api"]),
    ("connect under ns->host -P4", 65520, "probe", ["out", "conn"]),
    # DNS through the DNS address to a resolver on the host's loopback
    # (bench/dnsq): 32 queries in flight, then one at a time
    ("dns queries/s", 1500, "dns-rate", ["32"]),
    ("dns latency", 1500, "dns-latency", ["1"]),
]
UNITS = {"iperf": ("Gbit/s", "CPU s/GB"), "fwd": ("Gbit/s", "CPU s/GB"),
         "bridged": ("Gbit/s", "CPU s/GB"),
         "connrate": ("conn/s", "CPU ms/1k conn"),
         "connrate-out": ("conn/s", "CPU ms/1k conn"),
         "latency": ("p50 us", "p99 us"),
         "udp-latency": ("p50 us", "p99 us"),
         "fwd-udp-latency": ("p50 us", "p99 us"),
         "probe": ("p50 ms", "p99 ms"),
         "dns-rate": ("q/s", "p50 us"),
         "dns-latency": ("p50 us", "p99 us")}
TCP_RR = os.environ.get("TCP_RR") or os.path.join(
    os.path.dirname(S4), "bench", "tcp_rr")
DNSQ = os.path.join(os.path.dirname(TCP_RR), "dnsq")
RK = "rootlesskit"  # pseudo-binary: rootlesskit's builtin port driver
PASTA = "pasta"     # pseudo-binary: passt's pasta
VETH = "veth"       # pseudo-binary: a veth pair, the kernel's ceiling
FWDS = ((15201, 5201), (15202, 5202))  # host port -> iperf3, tcp_rr inside
# iperf3 -u (its control connection is TCP), tcp_rr's UDP echo
UDP_FWDS = ((15201, 5201), (15202, 5202))
# pasta wants a host interface with a default route to copy: a veth pair
# whose far end nobody answers, inside the isolated namespace
EXT, EXT_GW = "198.51.100.1/25", "198.51.100.126"
CEIL_HOST, CEIL_NS = "198.51.100.129", "198.51.100.130"


def family(pid):
    """pid and its children: our helper lives as long as the forwarder, so
    its CPU and memory count too."""
    try:
        kids = open(f"/proc/{pid}/task/{pid}/children").read().split()
    except OSError:
        kids = []
    return [pid] + [int(k) for k in kids]


def cpu_s(pid):
    total = 0.0
    for p in family(pid):
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    return total


def mem_kib(pid, file, field):
    """A memory figure of pid and its children, KiB: Pss from smaps_rollup
    (shared library pages counted once, not once per process) or VmHWM,
    the peak, from status."""
    total = 0
    for p in family(pid):
        try:
            for line in open(f"/proc/{p}/{file}"):
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def api(sock, req):
    """One request; its answer, however long, or {"error": ...} if none
    whole comes within 10 s"""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(sock)
        s.sendall(json.dumps(req).encode())
        data = b""
        while True:
            try:
                return json.loads(data)
            except ValueError:
                pass
            try:
                more = s.recv(65536)
            except socket.timeout:
                more = b""
            if not more:
                return {"error": f"no whole answer ({len(data)} bytes)"}
            data += more


class LoopbackForwards:
    """Forwarders that publish FWDS on the host's loopback."""

    def fwd_addr(self, guest_port):
        return "127.0.0.1", guest_port + 10000


class Slirp(LoopbackForwards):
    """A slirp4netns binary; BINARY:MODE sends that "mode" with forwards,
    +nobypass, +nobusy (FLAGS) add options."""

    FLAGS = {"bypass": "--enable-tcp-bypass",
             "nobypass": "--disable-tcp-bypass", "nobusy": "--busy-poll=0"}

    def __init__(self, spec):
        spec, *plus = spec.split("+")
        self.extra = [self.FLAGS[p] for p in plus]
        self.path, _, self.mode = spec.partition(":")
        self.host = "10.0.2.2"
        self.dns = "10.0.2.3"

    def up(self, mtu):
        self.t = Netns("bench")
        sock = os.path.join(tempfile.mkdtemp(), "api.sock")
        self.sock = sock
        self.f = start(["-c", f"--mtu={mtu}", "-a", sock, *self.extra],
                       self.t, binary=self.path)
        for proto, hp, gp in [("tcp", *f) for f in FWDS] + \
                [("udp", *f) for f in UDP_FWDS]:
            args = {"proto": proto, "host_addr": "127.0.0.1",
                    "host_port": hp, "guest_port": gp}
            if self.mode:
                args["mode"] = self.mode
            api(sock, {"execute": "add_hostfwd", "arguments": args})
        self.pid = self.f.proc.pid
        return self.t

    def down(self):
        self.f.finish()
        self.t.close()


class Pasta(LoopbackForwards):
    """passt's pasta, attached to a namespace like slirp4netns -c."""

    def __init__(self, spec):
        self.host = EXT_GW  # pasta maps its gateway to the host's loopback

    def up(self, mtu):
        self.t = Netns("bench", userns=True)  # pasta joins its user ns
        fw = [a for hp, gp in FWDS for a in ("-t", f"{hp}:{gp}")] + \
            [a for hp, gp in UDP_FWDS for a in ("-u", f"{hp}:{gp}")]
        self.p = subprocess.Popen(
            ["pasta", "-f", "-q", "--config-net", "--mtu", str(mtu), *fw,
             "-T", "none", "-U", "none", str(self.t.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent)
        for _ in range(100):
            if "198.51.100." in self.t.sh("ip -4 -o addr", check=False).stdout:
                break
            time.sleep(0.05)
        self.pid = self.p.pid
        return self.t

    def down(self):
        self.p.kill()
        self.p.wait()
        self.t.close()


class Veth:
    """A veth pair into the namespace: no forwarder, the kernel's ceiling."""

    def __init__(self, spec):
        self.host = CEIL_HOST
        self.pid = None

    def up(self, mtu):
        self.t = Netns("bench")
        for cmd in (f"ip link add vb0 mtu {mtu} type veth peer name vb1 "
                    f"mtu {mtu} netns {self.t.pid}",
                    f"ip addr add {CEIL_HOST}/25 dev vb0",
                    "ip link set vb0 up"):
            subprocess.run(cmd.split(), check=True)
        self.t.sh(f"ip addr add {CEIL_NS}/25 dev vb1 && ip link set vb1 up")
        return self.t

    def fwd_addr(self, guest_port):
        return CEIL_NS, guest_port

    def down(self):
        self.t.close()  # the namespace takes vb1, and vb0 with it


def driver(b):
    return {PASTA: Pasta, VETH: Veth}.get(b, Slirp)(b)


def iperf_result(r, cpu):
    """(Gbit/s received, CPU s per GB) from iperf3 -J output, or None."""
    if r.returncode != 0:
        return None
    end = json.loads(r.stdout).get("end", {})
    got, secs = received(end)
    if not got:
        return None  # iperf3 printed an error
    return got * 8 / secs / 1e9, (cpu / (got / 1e9) if cpu is not None
                                  else None)


def received(end):
    """(bytes the server received, seconds) from iperf3 -J's "end": its
    sum_received (TCP; UDP from 3.11 on, which also carries the loss),
    else UDP's sum, less what was lost."""
    s = end.get("sum_received")
    if s:
        return s.get("bytes", 0), s.get("seconds") or 1
    s = end.get("sum") or {}
    return (s.get("bytes", 0) * (1 - s.get("lost_percent", 0) / 100),
            s.get("seconds") or 1)


def probe_once(d, what):
    """Seconds one API call or one new connection through the forward
    takes"""
    t0 = time.monotonic()
    if what == "api":
        api(d.sock, {"execute": "list_hostfwd"})
    else:
        c = socket.create_connection(d.fwd_addr(5202), timeout=10)
        c.sendall(b"x")
        if c.recv(1) != b"x":
            raise OSError("no echo")
        c.close()
    return time.monotonic() - t0


def probe(d, t, what, secs):
    """Samples (ms) of @what for @secs, one every 20 ms"""
    if what == "ping":
        n = max(int(secs / 0.02), 10)
        r = t.run(["ping", "-n", "-c", str(n), "-i", "0.02", "-W", "1",
                   d.host], timeout=secs * 3 + 30)
        return [float(w[5:]) for w in r.stdout.split()
                if w.startswith("time=")]
    if what == "api" and not hasattr(d, "sock"):
        return []  # no API to ask
    out, end = [], time.monotonic() + secs
    while time.monotonic() < end:
        try:
            out.append(probe_once(d, what) * 1e3)
        except OSError:
            return []  # a failed probe fails the case
        time.sleep(0.02)
    return out


def run_probe(d, t, load, what, secs):
    """(p50 ms, p99 ms) of @what while @load moves bulk, or None"""
    bulk = None
    cmd = ["iperf3", "-t", str(secs + 2), "-P", "4"]
    if load == "fwd":
        addr, port = d.fwd_addr(5201)
        bulk = subprocess.Popen(cmd + ["-c", addr, "-p", str(port)],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    elif load == "out":
        bulk = t.popen(cmd + ["-c", d.host, "-p", "5201"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if bulk:
        time.sleep(1)  # under way
    v = sorted(probe(d, t, what, secs))
    ok = bulk is None or bulk.poll() is None  # still moving throughout
    if bulk:
        bulk.wait(secs + 60)
    if not v or not ok:
        return None
    return v[len(v) // 2], v[min(len(v) - 1, len(v) * 99 // 100)]


def run_case(d, t, kind, extra, secs, cpu_of):
    """The client side of one case; cpu_of() is the forwarder's CPU
    seconds so far (None without one). Returns the result pair."""
    if kind == "probe":
        return run_probe(d, t, *extra, secs)
    if kind in ("dns-rate", "dns-latency"):
        r = t.run([DNSQ, "run", d.dns, str(secs), extra[0]],
                  timeout=secs + 60)
        if r.returncode != 0:
            return None
        v = dict(kv.split("=") for kv in r.stdout.split())
        if kind == "dns-rate":
            return float(v["qps"]), float(v["p50_us"])
        return float(v["p50_us"]), float(v["p99_us"])
    c0 = cpu_of()
    used = lambda: (cpu_of() - c0) if c0 is not None else None  # noqa: E731
    if kind == "fwd":
        addr, port = d.fwd_addr(5201)
        r = subprocess.run(["iperf3", "-c", addr, "-p", str(port), "-t",
                            str(secs), "-J", *extra], capture_output=True,
                           text=True, timeout=secs + 60)
        return iperf_result(r, used())
    if kind in ("connrate", "connrate-out"):
        if kind == "connrate":
            addr, port = d.fwd_addr(5202)
            r = subprocess.run([TCP_RR, "connrate", addr, str(port),
                                str(secs)], capture_output=True, text=True,
                               timeout=secs + 60)
        else:
            r = t.run([TCP_RR, "connrate", d.host, "5202", str(secs)],
                      timeout=secs + 60)
        if r.returncode != 0:
            return None
        rate = float(r.stdout.split("=")[1])
        cpu = used()
        return rate, (cpu * 1e3 / (rate * secs / 1e3) if cpu is not None
                      else None)
    if kind in ("latency", "udp-latency", "fwd-udp-latency"):
        if kind == "fwd-udp-latency":
            addr, port = d.fwd_addr(5202)
            r = subprocess.run([TCP_RR, "udp-latency", addr, str(port),
                                str(2000 * secs)], capture_output=True,
                               text=True, timeout=secs * 10 + 60)
        else:
            r = t.run([TCP_RR, kind, d.host, "5202", str(2000 * secs)],
                      timeout=secs * 10 + 60)
        if r.returncode != 0:
            return None
        v = dict(kv.split("=") for kv in r.stdout.split())
        if int(v.get("lost", 0)) > 2000 * secs // 100:
            return None  # more than 1% lost: not a latency any more
        return float(v["p50_us"]), float(v["p99_us"])
    if kind == "bridged":
        c = container_behind(t, bridge=True)
        r = c.run(["iperf3", "-c", d.host, "-p", "5201", "-t", str(secs),
                   "-J", *extra], timeout=secs + 60)
        c.close()
        return iperf_result(r, used())
    r = t.run(["iperf3", "-c", d.host, "-p", "5201", "-t", str(secs), "-J",
               *extra], timeout=secs + 60)
    return iperf_result(r, used())


def one(binary, mtu, kind, extra, secs, rk_results, name):
    """One run through a fresh forwarder: (value, second, idle PSS KiB,
    peak RSS KiB), or None."""
    if binary == RK:
        v = rk_results.get(name)
        return tuple(v.pop(0)) + (None, None) if v else None
    d = driver(binary)
    t = d.up(mtu)
    srvs = [t.popen(["iperf3", "-s", "-p", "5201"],
                    stdout=subprocess.DEVNULL),
            t.popen([TCP_RR, "server", "5202"], stdout=subprocess.DEVNULL)]
    time.sleep(0.3)
    idle = mem_kib(d.pid, "smaps_rollup", "Pss") if d.pid else None
    res = run_case(d, t, kind, extra, secs,
                   (lambda: cpu_s(d.pid)) if d.pid else (lambda: None))
    peak = mem_kib(d.pid, "status", "VmHWM") if d.pid else None
    for p in srvs:
        p.kill()
        p.wait()
    d.down()
    return res + (idle, peak) if res else None


def rootlesskit_prepass(cases, rounds, secs):
    """rootlesskit needs a real user with subuids: run its rounds first,
    as the test user, each in a namespace of its own. Returns
    {case name: [result, ...]}."""
    want = [c for c in cases if c[2] in ("fwd", "connrate")]
    if not want or not shutil.which("rootlesskit"):
        return {}
    out = tempfile.mkdtemp(prefix="s4-rk-")
    os.chmod(out, 0o1777)
    os.environ.update(RK_WANT=json.dumps(want), RK_ROUNDS=str(rounds),
                      RK_SECS=str(secs), RK_OUT=os.path.join(out, "r.json"))
    shutil.copy(TCP_RR, os.path.join(out, "tcp_rr"))
    os.chmod(os.path.join(out, "tcp_rr"), 0o755)
    os.environ["TCP_RR_USER"] = os.path.join(out, "tcp_rr")
    as_test_user(os.path.join(os.path.dirname(__file__),
                              "rootlesskit_fwd.py"), "user",
                 extra_files=(os.path.abspath(__file__),))
    try:
        return json.load(open(os.environ["RK_OUT"]))
    except (OSError, ValueError):
        log("rootlesskit: no results")
        return {}


def host_side():
    """Servers on the (isolated) host, and the interface pasta copies."""
    for cmd in ("ip link add ext0 type veth peer name ext1",
                f"ip addr add {EXT} dev ext0", "ip link set ext0 up",
                "ip link set ext1 up", f"ip route add default via {EXT_GW}"):
        subprocess.run(cmd.split(), check=True)
    srvs = [subprocess.Popen(["iperf3", "-s", "-p", "5201"],
                             stdout=subprocess.DEVNULL,
                             preexec_fn=die_with_parent),
            subprocess.Popen([TCP_RR, "server", "5202"],
                             stdout=subprocess.DEVNULL,
                             preexec_fn=die_with_parent),
            subprocess.Popen([DNSQ, "server", "127.0.0.1"],
                             preexec_fn=die_with_parent)]
    resolv_conf("127.0.0.1")
    time.sleep(0.5)
    return srvs


def measure(cases, bins, rounds, secs, rk):
    """Every case for every binary, interleaved: {(case, binary): [...]}"""
    res = {(c[0], b): [] for c in cases for b in bins}
    for rnd in range(rounds):
        for name, mtu, kind, extra in cases:
            # rotate the order each round, so none always goes first
            order = bins[rnd % len(bins):] + bins[:rnd % len(bins)]
            unit, unit2 = UNITS[kind]
            for b in order:
                if b == RK and kind not in ("fwd", "connrate"):
                    continue
                # pasta and a veth have no DNS address of their own
                if b in (PASTA, VETH) and kind.startswith("dns"):
                    continue
                r = one(b, mtu, kind, extra, secs, rk, name)
                if r:
                    res[(name, b)].append(r)
                second = f"{r[1]:.2f} {unit2}" if r and r[1] is not None \
                    else ""
                log(f"round {rnd + 1} {name:24} {label(b)}: " +
                    (f"{r[0]:.2f} {unit} {second}" if r else "FAILED"))
    return res


def fmt(v):
    return "-" if v is None else f"{v:.2f}"


def median(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def table(cases, bins, res, rounds, secs):
    """The markdown table: medians, and ours / the reference (the last
    slirp4netns binary named)."""
    ours = bins[0]
    ref = [b for b in bins if b not in (RK, PASTA, VETH)][-1]
    out = [f"median of {rounds}, {secs} s each; each cell: value "
           f"(second figure); ratio: {label(ours)} / {label(ref)}", "",
           "| test | units | " + " | ".join(label(b) for b in bins) +
           " | ratio | 2nd ratio |", "|---" * (len(bins) + 4) + "|"]
    meds = {}
    for name, _, kind, _ in cases:
        cells = []
        for b in bins:
            v = res[(name, b)]
            if not v:
                cells.append("-" if b in (RK, VETH, PASTA) else "failed")
                continue
            meds[(name, b)] = (median(x[0] for x in v),
                               median(x[1] for x in v))
            cells.append("%s (%s)" % tuple(map(fmt, meds[(name, b)])))
        ratio = cratio = "-"
        a, z = meds.get((name, ours)), meds.get((name, ref))
        if a and z and ours != ref:
            ratio = f"{a[0] / z[0]:.2f}x"
            if a[1] is not None and z[1]:
                cratio = f"{a[1] / z[1]:.2f}x"
        out.append(f"| {name} | {'%s (%s)' % UNITS[kind]} | " +
                   " | ".join(cells) + f" | {ratio} | {cratio} |")
    for what, i, pick in (("idle PSS", 2, median), ("peak RSS", 3, max)):
        cells = []
        for b in bins:
            v = [r[i] for c in cases for r in res[(c[0], b)]
                 if r[i] is not None]
            cells.append(f"{pick(v) / 1024:.1f}" if v else "-")
        out.append(f"| {what} | MiB | " + " | ".join(cells) + " | | |")
    return "\n".join(out), meds


def chart(cases, bins, meds, path):
    """A PNG of the throughput cases, one bar per binary (gnuplot)."""
    rows = [c[0] for c in cases if c[2] in ("iperf", "fwd")]
    if not rows or not shutil.which("gnuplot"):
        return None
    dat = path + ".dat"
    with open(dat, "w") as f:
        f.write('case ' + " ".join(f'"{label(b)}"' for b in bins) + "\n")
        for n in rows:
            f.write(f'"{n}" ' + " ".join(
                fmt(meds.get((n, b), (None,))[0]) for b in bins) + "\n")
    script = (f'set terminal pngcairo size 1400,700 font ",10"\n'
              f'set output "{path}"\n'
              'set title "Throughput, median (Gbit/s, higher is better)"\n'
              'set style data histograms\n'
              'set style histogram clustered gap 1\n'
              'set style fill solid 0.9 border -1\n'
              'set datafile missing "-"\n'
              'set key top right\nset grid ytics\nset yrange [0:*]\n'
              'set xtics rotate by -25 scale 0\n'
              f'plot for [i=2:{len(bins) + 1}] "{dat}" using i:xtic(1) '
              'title columnheader\n')
    r = subprocess.run(["gnuplot"], input=script, text=True,
                       capture_output=True)
    if r.returncode != 0:
        log(f"gnuplot: {r.stderr.strip()}")
        return None
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--time", type=int, default=5)
    ap.add_argument("--quick", action="store_true",
                    help="one round, 1 s, three cases: a smoke run")
    ap.add_argument("--cases", default="",
                    help="only the cases whose name contains this (or "
                    "one of these, comma-separated)")
    ap.add_argument("--out", default="",
                    help="folder for results.md, results.json, chart.png")
    ap.add_argument("binaries", nargs="*")
    a = ap.parse_args()
    bins = a.binaries or [S4, "/usr/bin/slirp4netns"] + \
        [b for b in (PASTA, RK) if shutil.which(b)] + [VETH]
    cases = CASES
    if a.quick:
        a.rounds, a.time = 1, 1
        cases = [c for c in CASES if c[0] in (
            "ns->host 65520", "fwd host->ns 65520", "rr latency ns->host")]
    cases = [c for c in cases if any(w in c[0] for w in a.cases.split(","))]
    out = a.out or os.environ.get("BENCH_OUT") or tempfile.mkdtemp(
        prefix="s4-bench-", dir="/tmp")
    os.makedirs(out, exist_ok=True)
    os.environ["BENCH_OUT"] = out
    rk = {}
    if RK in bins and os.environ.get("S4_ISOLATED") != "1":
        rk = rootlesskit_prepass(cases, a.rounds, a.time)
        os.environ["RK_RESULTS"] = json.dumps(rk)
    rk = json.loads(os.environ.get("RK_RESULTS", "{}"))
    isolate()
    srvs = host_side()
    res = measure(cases, bins, a.rounds, a.time, rk)
    for p in srvs:
        p.kill()
    text, meds = table(cases, bins, res, a.rounds, a.time)
    log("\n" + text)
    open(os.path.join(out, "results.md"), "w").write(text + "\n")
    json.dump({f"{n} | {label(b)}": v for (n, b), v in res.items()},
              open(os.path.join(out, "results.json"), "w"), indent=1)
    png = chart(cases, bins, meds, os.path.join(out, "chart.png"))
    log(f"\nresults: {out}/results.md" + (f", chart: {png}" if png else ""))


def label(b):
    if b in (RK, PASTA, VETH):
        return {RK: "rootlesskit builtin", PASTA: "pasta",
                VETH: "veth (ceiling)"}[b]
    spec, *plus = b.split("+")
    path, _, mode = spec.partition(":")
    name = os.path.basename(os.path.dirname(path)) + "/" + \
        os.path.basename(path)
    return name + (f" ({mode})" if mode else "") + \
        "".join(" +" + p for p in plus)


if __name__ == "__main__":
    main()
