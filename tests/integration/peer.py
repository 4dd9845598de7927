#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Clients the integration tests run inside a namespace (via nsenter).

Each command prints one result line and exits 0, or exits 1 with a reason.
"""
import hashlib
import json
import os
import random
import select
import socket
import struct
import sys
import threading
import time


def echo_once(host, port, data, family=socket.AF_INET, timeout=30):
    """Connect, send data and half-close (from a thread, so a large echo
    cannot deadlock), read until EOF: what came back."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    with s:
        s.connect((host, int(port)))
        t = threading.Thread(target=lambda: (s.sendall(data),
                                             s.shutdown(socket.SHUT_WR)))
        t.start()
        got = bytearray()
        while True:
            d = s.recv(1 << 16)
            if not d:
                break
            got += d
        t.join()
    return bytes(got)


def tcp_echo(host, port, nbytes, family=socket.AF_INET):
    """Send nbytes of seeded random data to an echo server, read the echo
    concurrently, print the sha256 of both."""
    data = random.Random(nbytes).randbytes(int(nbytes))
    got = echo_once(host, port, data, family)
    print(hashlib.sha256(data).hexdigest(), hashlib.sha256(got).hexdigest(),
          len(got))


def tcp_echo_many(host, port, count, nbytes, family=socket.AF_INET):
    """COUNT connections at once, each NBYTES of its own seeded data each
    way; print how many came back intact, then the failures."""
    bad = []

    def one(i):
        data = random.Random(i).randbytes(int(nbytes))
        try:
            got = echo_once(host, port, data, family, timeout=60)
        except OSError as e:
            bad.append(f"{i}:{e!r}")
            return
        if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
            bad.append(f"{i}:{len(got)}B")

    ts = [threading.Thread(target=one, args=(i,)) for i in range(int(count))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(int(count) - len(bad), *bad[:5])


def tcp_hold(host, port, count, family=socket.AF_INET):
    """COUNT connections, 16 bytes echoed on each, then held open: print
    how many echoed and wait for stdin to close."""
    held = []
    for i in range(int(count)):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect((host, int(port)))
        msg = b"%016d" % i
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            d = s.recv(len(msg) - len(got))
            if not d:
                break
            got += d
        if got != msg:
            break
        held.append(s)
    print("held", len(held), flush=True)
    sys.stdin.read()


def serve_tcp_stall(addr, port):
    """Accept connections and never read them (their senders fill every
    buffer on the way), until killed."""
    srv = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, int(port)))
    srv.listen(64)
    print("listening", flush=True)
    held = []
    while True:
        held.append(srv.accept()[0])


def probe(s):
    """What a connected socket leads to: "PEER echo", "PEER eof" or the
    errno of the step that failed."""
    import errno
    try:
        peer = s.getpeername()[0]
        s.settimeout(2)
        s.sendall(b"?")
        return peer + (" echo" if s.recv(1) == b"?" else " eof")
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def tcp_connect_error(host, port, secs=10, family=socket.AF_INET):
    """Try to connect for up to secs; print the errno name, "timeout", or
    "connected"."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(float(secs))
    try:
        s.connect((host, int(port)))
        # what answered: enough to tell a real path from a stray one
        print("connected", s.getsockname()[0], "->", probe(s))
    except socket.timeout:
        print("timeout")
    except OSError as e:
        import errno
        print(errno.errorcode.get(e.errno, str(e.errno)))


def udp_echo(host, port, count, size, family=socket.AF_INET):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(2)
    ok = 0
    for i in range(int(count)):
        msg = random.Random(i).randbytes(int(size))
        for _ in range(3):  # UDP: allow a retry
            s.sendto(msg, (host, int(port)))
            try:
                d, _ = s.recvfrom(65536)
            except socket.timeout:
                continue
            if d == msg:
                ok += 1
                break
    print(ok)


def _udp_exchange(s, msg, tries=5):
    """msg to the connected s and its echo back, sent again on silence:
    (reply or None, where it came from)"""
    for _ in range(tries):
        s.send(msg)
        try:
            return s.recvfrom(65536)
        except socket.timeout:
            continue
    return None, None


def udp_check(host, port, sizes, count, family=socket.AF_INET):
    """Echo one datagram of each size in sizes (comma-separated), then
    count datagrams of 1400 bytes, one at a time, on one connected socket:
    print the sizes that came back whole, the sha256 of all that was sent
    and of all that came back, and the addresses the answers came from."""
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(1)
    s.connect((host, int(port)))
    rnd = random.Random(5)
    whole, sent, got, src = [], hashlib.sha256(), hashlib.sha256(), set()
    for size in map(int, sizes.split(",")):
        msg = rnd.randbytes(size)
        d, a = _udp_exchange(s, msg)
        if d == msg:
            whole.append(size)
            src.add(f"{a[0]}:{a[1]}")
    for _ in range(int(count)):
        msg = rnd.randbytes(1400)
        sent.update(msg)
        d, a = _udp_exchange(s, msg)
        if d is not None:
            got.update(d)
            src.add(f"{a[0]}:{a[1]}")
    print(json.dumps({"whole": whole, "sent": sent.hexdigest(),
                      "got": got.hexdigest(), "from": sorted(src)}))


def udp_refused(host, port, family=socket.AF_INET):
    """What a connected socket's recv ends with after a datagram to
    host:port: the errno's name, "timeout" or "data"."""
    import errno
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect((host, int(port)))
    s.send(b"anyone?")
    try:
        s.recv(100)
        print("data")
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))


def udp_many(dests, rounds, family=socket.AF_INET):
    """One socket, one port, datagrams to each of dests (comma-separated
    host/port) in turn, rounds times, each naming where it went: print,
    per destination, how many answers came from there with its own name,
    and how many came from anywhere else or with another's."""
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(1)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
    to = [(h, int(p)) for h, p in (d.split("/") for d in dests.split(","))]
    right = {f"{h}/{p}": 0 for h, p in to}
    wrong = 0
    for r in range(int(rounds)):
        for h, p in to:
            name = f"{h}/{p}"
            msg = f"{name} {r}".encode()
            s.sendto(msg, (h, p))
            try:
                d, a = s.recvfrom(65536)
            except socket.timeout:
                continue
            if d == msg and (a[0], a[1]) == (h, p):
                right[name] += 1
            else:
                wrong += 1
    print(json.dumps({"right": right, "wrong": wrong}))


def udp_flood(host, port, count, every, family=socket.AF_INET):
    """A datagram from each of count new sockets (new flows), and meanwhile
    one client that keeps its socket asks for an echo after every `every`:
    print how many of its echoes came back."""
    keep = socket.socket(family, socket.SOCK_DGRAM)
    keep.settimeout(2)
    keep.connect((host, int(port)))
    answered = asked = 0
    for i in range(int(count)):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.sendto(b"flood", (host, int(port)))
        s.close()
        if i % int(every) == 0:
            asked += 1
            msg = b"me %d" % i
            d, _ = _udp_exchange(keep, msg, tries=3)
            answered += d == msg
    print(json.dumps({"asked": asked, "answered": answered}))


def dns_query(server, name, port=53, tcp=False):
    """An A query by hand; prints the first address or "timeout"."""
    qid = 0x1234
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    try:
        d = _dns_tcp(server, int(port), q) if tcp else _dns_udp(server,
                                                                int(port), q)
    except (socket.timeout, ConnectionError) as e:
        print("timeout" if isinstance(e, socket.timeout) else repr(e))
        return
    # answer: skip header + question, read the first A record
    off = len(q)
    off += 2 + 2 + 2 + 4  # name pointer, type, class, ttl
    rdlen = struct.unpack(">H", d[off:off + 2])[0]
    print(socket.inet_ntoa(d[off + 2:off + 2 + rdlen]))


def _dns_udp(server, port, q):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, (server, port))
    return s.recvfrom(4096)[0]


def _dns_tcp(server, port, q, timeout=3):
    """RFC 1035 4.2.2: each message after its 2-byte length"""
    s = socket.create_connection((server, port), timeout=timeout)
    s.sendall(struct.pack(">H", len(q)) + q)
    d = b""
    while len(d) < 2 or len(d) < 2 + struct.unpack(">H", d[:2])[0]:
        more = s.recv(4096)
        if not more:
            raise ConnectionError("EOF")
        d += more
    return d[2:]


def dns_message(name, qid=0x1234, edns=0):
    """An A query for name; with an OPT record offering edns bytes"""
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    if edns:
        q += b"\0" + struct.pack(">HHIH", 41, int(edns), 0, 0)
    return q


def dns_ask(server, name, transport="udp", edns="0"):
    """One query; prints JSON: rcode, tc, len, the first A record (or
    "timeout"), ms"""
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    q = dns_message(name, edns=int(edns))
    t0 = time.monotonic()
    try:
        if transport == "tcp":
            d = _dns_tcp(server, 53, q, timeout=5)
        else:
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.settimeout(5)
            s.sendto(q, (server, 53))
            d = s.recv(65536)
    except (socket.timeout, OSError) as e:
        print(json.dumps({"error": "timeout" if isinstance(e, socket.timeout)
                          else repr(e),
                          "ms": (time.monotonic() - t0) * 1000}))
        return
    out = {"rcode": d[3] & 15, "tc": bool(d[2] & 2), "len": len(d),
           "id": struct.unpack(">H", d[:2])[0],
           "ms": (time.monotonic() - t0) * 1000, "a": None}
    an = struct.unpack(">H", d[6:8])[0]
    if an and out["rcode"] == 0:
        qend = len(q) - (11 if int(edns) else 0)  # without the OPT
        out["a"] = socket.inet_ntoa(d[qend + 12:qend + 16])
    print(json.dumps(out))


def dns_burst(server, n, name="burst.test"):
    """n queries from one socket as fast as it sends them, each with its
    own ID, answers read meanwhile; then, as a stub resolver does, the
    unanswered ones again after a second, up to 5 times. Prints JSON:
    sent, answered, retried, secs"""
    n = int(n)
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    s.setblocking(False)
    got, retried, t0 = set(), 0, time.monotonic()

    def drain():
        while True:
            try:
                d = s.recv(65536)
            except BlockingIOError:
                return
            if d[3] & 15 == 0:
                got.add(struct.unpack(">H", d[:2])[0])

    def send_all(ids):
        for i in ids:
            while True:
                try:
                    s.sendto(dns_message(name, qid=i), (server, 53))
                    break
                except BlockingIOError:
                    drain()
            drain()

    send_all(range(n))
    for _ in range(6):
        end = time.monotonic() + 1
        while len(got) < n and time.monotonic() < end:
            select.select([s], [], [], 0.05)
            drain()
        left = [i for i in range(n) if i not in got]
        if not left or _ == 5:
            break
        retried += len(left)
        send_all(left)
    print(json.dumps({"sent": n, "answered": len(got), "retried": retried,
                      "secs": time.monotonic() - t0}))

def dns_tcp(server, name, port=53):
    dns_query(server, name, port, tcp=True)


def tap_offloads(iface):
    """What the device offloads, by SIOCETHTOOL: "csum=0|1 tso=0|1"."""
    import ctypes
    import fcntl
    s = socket.socket()
    got = []
    for cmd in (0x16, 0x1e):  # ETHTOOL_GTXCSUM, ETHTOOL_GTSO
        val = ctypes.create_string_buffer(struct.pack("II", cmd, 0))
        ifr = struct.pack("16sP", iface.encode(), ctypes.addressof(val))
        fcntl.ioctl(s, 0x8946, ifr)  # SIOCETHTOOL
        got.append(struct.unpack("II", val.raw[:8])[1])
    print(f"csum={got[0]} tso={got[1]}")


def tap_mac(iface):
    """The MAC address of iface (SIOCGIFHWADDR: /sys shows another netns)."""
    import fcntl
    req = struct.pack("16s16x", iface.encode())
    return fcntl.ioctl(socket.socket(), 0x8927, req)[18:24]


def tap_raw(iface):
    """A raw socket on iface, and the destination and source MAC addresses
    frames sent on it start with (libslirp does not look at the first)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    return s, bytes.fromhex("525500000002") + tap_mac(iface)


def _names(data):
    """RFC 1035 names, one after the other, compression pointers within
    data (DHCP option 119, RFC 3397)"""
    out, i = [], 0
    while i < len(data):
        labels, j, end = [], i, None
        while data[j]:
            if data[j] >= 0xc0:
                end = end or j + 2
                j = (data[j] & 0x3f) << 8 | data[j + 1]
                continue
            labels.append(data[j + 1:j + 1 + data[j]].decode())
            j += 1 + data[j]
        out.append(".".join(labels))
        i = end or j + 1
    return out


def dhcp(iface, what="addresses"):
    """DHCPDISCOVER from 0.0.0.0 on iface; prints offered address, router,
    DNS (or, with "search", the domain search list, option 119)."""
    chaddr = tap_mac(iface)
    xid = random.getrandbits(32)
    pkt = struct.pack(">BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0,
                      0x8000, b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4,
                      chaddr, b"", b"")
    pkt += b"\x63\x82\x53\x63" + b"\x35\x01\x01" + b"\xff"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    s.bind(("0.0.0.0", 68))
    s.settimeout(3)
    for _ in range(3):
        s.sendto(pkt, ("255.255.255.255", 67))
        try:
            d, _ = s.recvfrom(4096)
        except socket.timeout:
            continue
        if struct.unpack(">I", d[4:8])[0] != xid:
            continue
        yiaddr = socket.inet_ntoa(d[16:20])
        opts, i = {}, 240
        while i < len(d) and d[i] != 255:
            if d[i] == 0:
                i += 1
                continue
            opts[d[i]] = opts.get(d[i], b"") + d[i + 2:i + 2 + d[i + 1]]
            i += 2 + d[i + 1]
        if what == "search":
            print(" ".join(_names(opts.get(119, b""))))
            return
        print(yiaddr, socket.inet_ntoa(opts.get(3, b"\0" * 4)[:4]),
              socket.inet_ntoa(opts.get(6, b"\0" * 4)[:4]))
        return
    print("timeout")


def wait_addr6(addr, timeout):
    """Wait until an IPv6 address can be bound (DAD done)."""
    end = time.time() + float(timeout)
    while time.time() < end:
        try:
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.bind((addr, 0))
            print("ok")
            return
        except OSError:
            time.sleep(0.1)
    print("timeout")


def echo_conn(c):
    """Echo everything on connection c until EOF, then half-close."""
    with c:
        while True:
            try:
                d = c.recv(1 << 16)
            except OSError:
                return
            if not d:
                c.shutdown(socket.SHUT_WR)
                return
            c.sendall(d)


def serve_tcp_echo(addr, port, count):
    """Echo COUNT connections (0: forever), each in a thread; print each
    peer address as it connects."""
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, int(port)))
    # a burst of 2,000 connects (test_splice) overflowed a backlog of 128:
    # dropped handshakes came back only after the kernel's backoff, at
    # times beyond the client's 30 s
    ls.listen(4096)
    print("listening", flush=True)
    n, threads = int(count), []
    while n == 0 or len(threads) < n:
        c, a = ls.accept()
        print(a[0], flush=True)
        t = threading.Thread(target=echo_conn, args=(c,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


def _serve_udp(addr, port, with_port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    print("listening", flush=True)
    seen = set()
    while True:
        d, a = s.recvfrom(65536)
        who = a[:2] if with_port else a[:1]
        if who not in seen:
            seen.add(who)
            print(*who, flush=True)
        if with_port and d.startswith(b"late "):
            threading.Timer(float(d[5:]), s.sendto, (d, a)).start()
        else:
            s.sendto(d, a)


def serve_udp_echo(addr, port):
    """Echo datagrams forever; print each new peer address."""
    _serve_udp(addr, port, False)


def serve_udp_peers(addr, port):
    """Echo datagrams forever; print "host port" for each new peer. A
    datagram "late N" is answered N seconds later."""
    _serve_udp(addr, port, True)


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def _l4(kind, sport, dport, payload):
    if kind == "udp":
        return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + \
            payload
    # a SYN, no options
    return struct.pack("!HHIIBBHHH", sport, dport, 12345, 0, 5 << 4, 0x02,
                       65535, 0, 0)


def _ipv4(kind, src, dst, l4):
    """An IPv4 packet around l4 (checksummed if TCP; UDP goes without)."""
    s4, d4 = socket.inet_aton(src), socket.inet_aton(dst)
    nh = 17 if kind == "udp" else 6
    if kind == "tcp":
        ck = _csum(s4 + d4 + struct.pack("!xBH", nh, len(l4)) + l4)
        l4 = l4[:16] + struct.pack("!H", ck) + l4[18:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4),
                      random.randrange(65536), 0, 64, nh, 0, s4, d4)
    return hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:] + l4


def syn_flood(dst, port, count, iface="tap0"):
    """COUNT TCP SYNs to dst:port from our address, each from its own
    port, as fast as possible: no socket here answers what comes back,
    so the kernel resets each connection libslirp opens."""
    s, macs = tap_raw(iface)
    src = "10.0.2.100"
    for i in range(int(count)):
        l4 = _l4("tcp", 1024 + i % 60000, int(port), b"")
        try:
            s.send(macs + b"\x08\x00" + _ipv4("tcp", src, dst, l4))
        except OSError:
            pass
    print("sent")


def raw_frames(proto, src, dst, port, iface="tap0"):
    """Hand-made frames, as a hostile container could send them, to dst."""
    s, macs = tap_raw(iface)
    sport, port = 40000 + random.randrange(1000), int(port)
    kind = proto[:3]
    l4 = _l4(kind, sport, port, b"leak")
    nh = 17 if kind == "udp" else 6
    if ":" in dst:
        s6, d6 = socket.inet_pton(socket.AF_INET6, src), \
            socket.inet_pton(socket.AF_INET6, dst)
        pseudo = s6 + d6 + struct.pack("!IxxxB", len(l4), nh)
        ck = _csum(pseudo + l4)
        l4 = l4[:6] + struct.pack("!H", ck) + l4[8:] if kind == "udp" else \
            l4[:16] + struct.pack("!H", ck) + l4[18:]
        ip = struct.pack("!IHBB", 6 << 28, len(l4), nh, 64) + s6 + d6
        eth = macs + b"\x86\xdd"
    else:
        ip = _ipv4(kind, src, dst, l4)
        eth = macs + b"\x08\x00"
    for _ in range(3):
        s.send(eth + ip)
        time.sleep(0.05)
    print("sent")


def raw_fragment(src, dst, offset8, mf, ident, size, iface="tap0"):
    """One IPv4 UDP fragment: offset in 8-byte units, MF flag, id, size of
    its payload. Sent once."""
    payload = bytes([int(ident) & 0xff]) * int(size)
    frag = (int(mf) << 13) | int(offset8)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload),
                      int(ident), frag, 64, 17, 0, socket.inet_aton(src),
                      socket.inet_aton(dst))
    ip = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:] + payload
    s, macs = tap_raw(iface)
    s.send(macs + b"\x08\x00" + ip)
    print("sent")


def flood(kind, count, iface="tap0"):
    """Send COUNT junk frames of one kind as fast as possible."""
    s, eth = tap_raw(iface)
    rnd = random.Random(int(count))
    for _ in range(int(count)):
        if kind == "runt":
            # the kernel refuses frames shorter than the header: the
            # shortest it takes are 14-byte frames with nothing after it
            fr = eth + rnd.choice([b"\x08\x00", b"\x86\xdd", b"\x08\x06"])
            fr += rnd.randbytes(rnd.randrange(0, 20))
        elif kind == "arp":
            fr = eth + b"\x08\x06" + rnd.randbytes(rnd.randrange(0, 60))
        elif kind == "ipv4":
            fr = eth + b"\x08\x00" + bytes([0x40 | rnd.randrange(16)]) + \
                rnd.randbytes(rnd.randrange(0, 80))
        else:
            fr = eth + rnd.randbytes(rnd.randrange(2, 1500))
        try:
            s.send(fr)
        except OSError:
            pass
    print("sent")


def _try(fn):
    """What fn() came to: "ok ..." or the errno's name."""
    import errno
    try:
        return "ok " + str(fn())[:60]
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def _ptrace_seize(pid):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                            ctypes.c_void_p]
    if libc.ptrace(0x4206, pid, None, None) < 0:  # PTRACE_SEIZE
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return "attached"


def _fds(pid):
    """Follow every /proc/PID/fd link: what the first one opened gives."""
    base = f"/proc/{pid}/fd"
    names = os.listdir(base)
    for n in names:
        with open(os.path.join(base, n), "rb", buffering=0):
            return f"opened fd {n} ({os.readlink(os.path.join(base, n))})"
    return f"{len(names)} fds"


def _write(path):
    with open(path, "w") as fh:
        fh.write("planted\n")
    return "written"


def _read(path):
    with open(path, "rb") as fh:
        return fh.read(64)


def _mem(pid):
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as fh:
        return "opened"


def probe_proc(pid, secret):
    """What root here gets of process PID: one line per way in, each
    "NAME RESULT". secret is a file of the host's that this namespace
    cannot see; its folder is where a write is tried."""
    pid = int(pid)
    root, cwd = f"/proc/{pid}/root", f"/proc/{pid}/cwd"
    folder = os.path.dirname(secret)
    probes = {
        "root-list": lambda: sorted(os.listdir(root)),
        "root-read": lambda: _read(root + secret),
        "root-write": lambda: _write(root + folder + "/planted"),
        "cwd-list": lambda: sorted(os.listdir(cwd)),
        "cwd-write": lambda: _write(cwd + "/planted"),
        "fd": lambda: _fds(pid),
        "mem": lambda: _mem(pid),
        "ptrace": lambda: _ptrace_seize(pid),
    }
    for name, fn in probes.items():
        print(name, _try(fn), flush=True)


# command -> (function, takes a family: a "6" suffix on the name asks v6)
COMMANDS = {
    "tcp-echo": (tcp_echo, True),
    "tcp-connect": (tcp_connect_error, True),
    "udp-echo": (udp_echo, True),
    "udp-check": (udp_check, True),
    "udp-refused": (udp_refused, True),
    "udp-flood": (udp_flood, True),
    "udp-many": (udp_many, True),
    "tcp-echo-many": (tcp_echo_many, True),
    "tcp-hold": (tcp_hold, True),
    "dns": (dns_query, False),
    "dns-tcp": (dns_tcp, False),
    "dns-ask": (dns_ask, False),
    "dns-burst": (dns_burst, False),
    "dhcp": (dhcp, False),
    "tap-offloads": (tap_offloads, False),
    "serve-tcp-echo": (serve_tcp_echo, False),
    "serve-udp-echo": (serve_udp_echo, False),
    "serve-udp-peers": (serve_udp_peers, False),
    "serve-tcp-stall": (serve_tcp_stall, False),
    "frag": (raw_fragment, False),
    "flood": (flood, False),
    "syn-flood": (syn_flood, False),
    "raw": (raw_frames, False),
    "wait-addr": (wait_addr6, False),
    "probe-proc": (probe_proc, False),
}


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    fam = socket.AF_INET
    if cmd.endswith("6"):
        cmd, fam = cmd[:-1], socket.AF_INET6
    if cmd not in COMMANDS:
        sys.exit("unknown command " + sys.argv[1])
    fn, takes_family = COMMANDS[cmd]
    if takes_family:
        fn(*args, family=fam)
    else:
        fn(*args)


if __name__ == "__main__":
    main()
