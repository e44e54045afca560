"""Scale-out: the real HAProxy (TCP mode, PROXY protocol) in front of two Hallpass instances.

Every instance runs the same config: `proxy_protocol.trusted: [127.0.0.9/32]` (the address
HAProxy connects from: `source 127.0.0.9`), two buildings told apart by the students'
addresses 127.0.0.2 and 127.0.0.3, each with a local block the other does not have, so a
verdict shows which address the instance judged. Clients reach HAProxy with
`curl --interface`; the instances only ever see 127.0.0.9 on the wire.

`ScaleOutTest` drives traffic through HAProxy (v2 and v1 headers). `ProxyProtocolTest`
speaks the protocol itself over raw sockets to one instance: headers Hallpass must believe
(v1, v2 with TLVs, LOCAL, byte by byte, keep-alive) and headers it must refuse (from an
untrusted address, missing from the balancer, malformed).
"""

import csv
import io
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import unittest

from harness import (DEFAULT_TIMEOUT, LOCAL, Origin, ProxyTestCase, RawClient, RawRecorder, RawResponse,
                     TlsOrigin, curl_request, raw_exchange, wait_for)

HAPROXY = os.environ.get("HAPROXY_BIN") or "/usr/sbin/haproxy"

NORTH = "127.0.0.2"      # north-elementary, student
SOUTH = "127.0.0.3"      # south-high, staff
OUTSIDE = "127.0.0.4"    # in no building and not in `clients:`
BALANCER = "127.0.0.9"   # the only trusted PROXY protocol sender
UNTRUSTED = "127.0.0.1"  # a client (inside `clients:`) that is not a balancer

# address -> (building, role) as every instance must judge it
IDENTITY = {
    NORTH: ("north-elementary", "student"),
    SOUTH: ("south-high", "staff"),
    BALANCER: ("default", "student"),
}
# host -> the address whose building blocks it (its own `block:` list)
BLOCKED_FOR = {"games.test": NORTH, "news.test": SOUTH}

REFUSED = "hallpass_connections_refused_total"


def instance_config(origin, tls_origin=None):
    o = origin.addr
    resolve = {h: o for h in ("open.test", "games.test", "news.test", "v1.test", "outside.test", "raw.test")}
    if tls_origin is not None:
        resolve["secure.test:443"] = tls_origin.addr
    return {
        "proxy_protocol": {"trusted": [BALANCER + "/32"]},
        # The students, one plain client to play the untrusted sender, and the balancer
        # itself (its health checks are connections "from the balancer": README of
        # deploy/haproxy). 127.0.0.4 is left out to show `clients:` is checked on the
        # carried address.
        "clients": [UNTRUSTED + "/32", NORTH + "/32", SOUTH + "/32", BALANCER + "/32"],
        "buildings": {
            "north-elementary": {"networks": {"student": [NORTH + "/32"]},
                                 "policy": {"staff": "staff", "student": "student-strict"},
                                 "block": ["games.test"]},
            "south-high": {"networks": {"staff": [SOUTH + "/32"]},
                           "policy": {"staff": "staff", "student": "high-school-student"},
                           "block": ["news.test"]},
        },
        "upstream": {"resolve": resolve},
    }


# ---------------------------------------------------------------------------------------
# PROXY protocol bytes (https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt)
# ---------------------------------------------------------------------------------------

PP2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def pp2(src, dst, sport, dport, tlvs=b"", ver_cmd=0x21, family=0x11):
    """A v2 header: PROXY command (0x21), TCP over IPv4 (0x11) unless told otherwise."""
    body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport) + tlvs
    return PP2_SIGNATURE + bytes([ver_cmd, family]) + struct.pack("!H", len(body)) + body


def pp2_local():
    """What HAProxy's `check-send-proxy` sends with send-proxy-v2: LOCAL, UNSPEC, no address."""
    return PP2_SIGNATURE + b"\x20\x00\x00\x00"


def tlv(kind, value):
    return bytes([kind]) + struct.pack("!H", len(value)) + value


def pp1(src, dst, sport, dport, proto="TCP4"):
    return ("PROXY %s %s %s %d %d\r\n" % (proto, src, dst, sport, dport)).encode("ascii")


def get(host, path, close=True):
    head = "GET http://%s%s HTTP/1.1\r\nHost: %s\r\n" % (host, path, host)
    if close:
        head += "Connection: close\r\n"
    return (head + "\r\n").encode("ascii")


def refused_by_reason(proxy):
    out = {}
    for name, labels, value in proxy.metrics().samples:
        if name == REFUSED:
            out[labels.get("reason", "")] = out.get(labels.get("reason", ""), 0) + value
    return out


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((LOCAL, 0))
        return s.getsockname()[1]
    finally:
        s.close()


# ---------------------------------------------------------------------------------------
# The real HAProxy
# ---------------------------------------------------------------------------------------

class HAProxy:
    """``haproxy -f CFG -db`` (foreground) on a generated config; stderr to a file.

    ``frontends`` maps a name to (proxy protocol keyword, [instance ports]); each gets a
    TCP frontend on a free 127.0.0.1 port and a round-robin backend connecting from
    127.0.0.9, every server health-checked with the same header it gets for traffic.
    ``check_probe`` (a port) adds a backend of one server that only gets health checks,
    on the same schedule: counting its connections counts the rounds of checks.
    """

    def __init__(self, frontends, check_probe=None):
        if not os.access(HAPROXY, os.X_OK):
            raise AssertionError("HAProxy not found at %s (apt-get install haproxy)" % HAPROXY)
        self.dir = tempfile.mkdtemp(prefix="hallpass-haproxy-")
        self.cfg_path = os.path.join(self.dir, "haproxy.cfg")
        self.log_path = os.path.join(self.dir, "haproxy.log")
        self.sock_path = os.path.join(self.dir, "admin.sock")
        self.ports = {}
        self.proc = None
        lines = [
            "global",
            "    log stderr format raw local0",
            "    stats socket %s mode 600 level admin" % self.sock_path,
            "    maxconn 2000",
            "",
            "defaults",
            "    log global",
            "    mode tcp",
            "    option tcplog",
            "    option dontlognull",
            "    timeout connect 5s",
            "    timeout client 60s",
            "    timeout server 60s",
            "    timeout check 5s",
        ]
        for name, (keyword, instance_ports) in frontends.items():
            port = free_port()
            self.ports[name] = port
            lines += [
                "",
                "frontend %s" % name,
                "    bind %s:%d" % (LOCAL, port),
                "    default_backend be_%s" % name,
                "",
                "backend be_%s" % name,
                "    balance roundrobin",
                "    source %s" % BALANCER,
                "    default-server check %s check-send-proxy inter 500" % keyword,
            ]
            for i, p in enumerate(instance_ports, 1):
                lines.append("    server hallpass%d %s:%d" % (i, LOCAL, p))
        if check_probe is not None:
            lines += [
                "",
                "backend be_check_probe",
                "    source %s" % BALANCER,
                "    server probe %s:%d check send-proxy-v2 check-send-proxy inter 500"
                % (LOCAL, check_probe),
            ]
        with open(self.cfg_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, timeout=DEFAULT_TIMEOUT):
        check = subprocess.run([HAPROXY, "-c", "-f", self.cfg_path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
        if check.returncode != 0:
            raise AssertionError("haproxy -c refused the test config:\n%s"
                                 % check.stdout.decode(errors="replace"))
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([HAPROXY, "-f", self.cfg_path, "-db"], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)

        # The runtime socket and the frontends are bound in the same startup step, before
        # the event loop runs: once `show stat` answers with every frontend OPEN, they
        # accept. (Not probed by connecting: that would open a connection to an instance.)
        def frontends_open():
            if self.proc.poll() is not None:
                raise AssertionError("haproxy exited with %s:\n%s" % (self.proc.returncode, self.log_text()))
            try:
                rows = self.stats()
            except OSError:
                return False
            open_ = {r["pxname"] for r in rows if r["svname"] == "FRONTEND" and r["status"] == "OPEN"}
            return open_ >= set(self.ports)

        try:
            wait_for(frontends_open, timeout, interval=0.05, message="haproxy's frontends")
        except AssertionError as e:
            self.stop()
            raise AssertionError("%s\n---- haproxy log ----\n%s" % (e, self.log_text()))
        return self

    def command(self, text, timeout=5):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(timeout)
            s.connect(self.sock_path)
            s.sendall(text.encode() + b"\n")
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
            return b"".join(chunks).decode(errors="replace")
        finally:
            s.close()

    def stats(self):
        """`show stat` as a list of dicts (pxname, svname, status, stot, check_status, ...)."""
        text = self.command("show stat").lstrip("# ")
        return [row for row in csv.DictReader(io.StringIO(text)) if row.get("pxname")]

    def servers(self, frontend):
        return {r["svname"]: r for r in self.stats()
                if r["pxname"] == "be_" + frontend and r["svname"] not in ("FRONTEND", "BACKEND")}

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # hard stop: close everything now
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if getattr(self, "log", None):
            self.log.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class LogsOnFailure(ProxyTestCase):
    """Print HAProxy's log and every instance's stderr when a test fails."""

    instances = ()
    haproxy = None

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            sys.stderr.write("\n[%s]\n" % self.id())
            if self.haproxy is not None:
                sys.stderr.write("---- haproxy log (tail) ----\n%s\n" % self.haproxy.log_text()[-6000:])
            for i, p in enumerate(self.instances, 1):
                if p.proc is not None:
                    sys.stderr.write("[instance %d]\n%s\n" % (i, p.log_tail(40)))
        return out

    def assert_identity(self, line, client):
        self.assertEqual(line.get("client"), client, line)
        self.assertEqual((line.get("building"), line.get("role")), IDENTITY[client],
                         "%s judged as the wrong building/role: %r" % (client, line))


# ---------------------------------------------------------------------------------------
# Through HAProxy
# ---------------------------------------------------------------------------------------

class ScaleOutTest(LogsOnFailure):
    outside_sent = 0

    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.tls_origin = TlsOrigin()
        cls.addClassCleanup(cls.tls_origin.close)
        config = instance_config(cls.origin, cls.tls_origin)
        cls.instances = (cls.start_proxy(config), cls.start_proxy(config))
        ports = [p.port for p in cls.instances]
        cls.check_probe = RawRecorder()
        cls.addClassCleanup(cls.check_probe.close)
        cls.haproxy = HAProxy({"v2": ("send-proxy-v2", ports), "v1": ("send-proxy", ports)},
                              check_probe=cls.check_probe.port)
        cls.addClassCleanup(cls.haproxy.cleanup)
        cls.haproxy.start()

    # -- helpers -------------------------------------------------------------------------
    def via(self, frontend, source, url, *args):
        return curl_request(self.haproxy.ports[frontend], url, "--interface", source, *args)

    def lines_for(self, hosts):
        """[(instance index, audit line)] for the given hosts, over both instances."""
        out = []
        for i, p in enumerate(self.instances):
            for rec in p.audit_lines():
                self.assertIsInstance(rec, dict, "unparseable audit line on instance %d: %r" % (i + 1, rec))
                if rec.get("host") in hosts:
                    out.append((i, rec))
        return out

    def wait_lines(self, hosts, count):
        wait_for(lambda: len(self.lines_for(hosts)) >= count,
                 message="%d audit lines for %s" % (count, hosts))
        lines = self.lines_for(hosts)
        self.assertEqual(len(lines), count, "audit lines for %s: %r" % (hosts, lines))
        return lines

    def refused_total(self, reason):
        return sum(refused_by_reason(p).get(reason, 0) for p in self.instances)

    # -- tests ---------------------------------------------------------------------------
    def test_two_instances_share_the_traffic_and_judge_the_carried_address(self):
        hosts = ("open.test", "games.test", "news.test")
        sent = []  # (source, host, path, expected status)
        for rnd in range(2):
            for source in (NORTH, SOUTH):
                for host in hosts:
                    path = "/hp/%s/%s/%d" % (source, host, rnd)
                    blocked = BLOCKED_FOR.get(host) == source
                    r = self.via("v2", source, "http://%s%s" % (host, path))
                    self.assertEqual(r.rc, 0, r.stderr)
                    self.assertEqual(r.status, 403 if blocked else 200, "%s from %s: %r" % (host, source, r))
                    if blocked:
                        self.assertIn("building_block", r.text, r)
                    sent.append((source, host, path, blocked))
        tunnels = 0
        for source in (NORTH, SOUTH):
            for rnd in range(2):
                r = self.via("v2", source, "https://secure.test/tunnel/%s/%d" % (source, rnd),
                             "--cacert", self.tls_origin.ca.ca_cert)
                self.assertEqual(r.rc, 0, r.stderr)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.text, "hello from secure.test /tunnel/%s/%d" % (source, rnd))
                tunnels += 1

        lines = self.wait_lines(set(hosts) | {"secure.test"}, len(sent) + tunnels)
        served_by = {0: 0, 1: 0}
        for i, line in lines:
            served_by[i] += 1
            self.assertIn(line.get("client"), (NORTH, SOUTH),
                          "the audit line names the balancer or another address, not the student: %r" % line)
            self.assert_identity(line, line["client"])
        self.assertTrue(served_by[0] and served_by[1], "one instance served everything: %r" % served_by)

        by_path = {line.get("path"): line for _, line in lines}
        for source, host, path, blocked in sent:
            line = by_path.get(path)
            self.assertIsNotNone(line, "no audit line for %s" % path)
            self.assert_identity(line, source)
            self.assertEqual(line.get("action"), "block" if blocked else "allow", line)
            if blocked:
                self.assertEqual(line.get("reason"), "building_block", line)
        connects = [line for _, line in lines if line.get("host") == "secure.test"]
        self.assertEqual(sorted(l.get("client") for l in connects), [NORTH, NORTH, SOUTH, SOUTH], connects)
        for line in connects:
            self.assertEqual(line.get("method"), "CONNECT", line)
            self.assertEqual(line.get("action"), "allow", line)

        reached = {r["path"] for r in self.origin.snapshot()}
        for source, host, path, blocked in sent:
            self.assertEqual(path in reached, not blocked, "%s from %s: %s the origin"
                             % (host, source, "reached" if blocked else "never reached"))
        self.assertEqual(len(self.tls_origin.wait_requests(tunnels)), tunnels)

        # HAProxy's own account agrees: both servers up and both given connections.
        servers = self.haproxy.servers("v2")
        self.assertEqual(sorted(servers), ["hallpass1", "hallpass2"], servers)
        for name, row in servers.items():
            self.assertTrue(row["status"].startswith("UP"), "%s: %r" % (name, row["status"]))
            self.assertGreater(int(row["stot"]), 0, "HAProxy sent no connection to %s" % name)

    def test_proxy_protocol_v1_through_haproxy(self):
        sent = []
        for rnd in range(2):
            for source in (NORTH, SOUTH):
                path = "/v1/%s/%d" % (source, rnd)
                r = self.via("v1", source, "http://v1.test" + path)
                self.assertEqual(r.rc, 0, r.stderr)
                self.assertEqual(r.status, 200, r)
                sent.append((source, path))
        lines = self.wait_lines({"v1.test"}, len(sent))
        by_path = {line.get("path"): line for _, line in lines}
        for source, path in sent:
            self.assertIn(path, by_path)
            self.assert_identity(by_path[path], source)
        self.assertEqual({i for i, _ in lines}, {0, 1}, "v1 traffic did not reach both instances")

    def test_carried_address_outside_clients_is_refused(self):
        before = self.refused_total("client_not_allowed")
        ScaleOutTest.outside_sent += 1
        r = self.via("v2", OUTSIDE, "http://outside.test/outside/haproxy")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.status, 403, "127.0.0.4 is outside `clients:` (the balancer is inside): %r" % r)
        wait_for(lambda: self.refused_total("client_not_allowed") >= before + 1,
                 message="client_not_allowed counted on an instance")
        self.assertEqual(self.refused_total("client_not_allowed"), before + 1)
        ok = self.via("v2", NORTH, "http://outside.test/outside/sanity")
        self.assertEqual(ok.status, 200, ok)
        self.origin.wait_request(lambda x: x["path"] == "/outside/sanity")
        self.assertNotIn("/outside/haproxy", {x["path"] for x in self.origin.snapshot()},
                         "a request from an address outside `clients:` reached the origin")

    def test_health_checks_are_not_refusals(self):
        # The probe server is checked on the same schedule as the instances: once it has
        # seen six checks (3 s at `inter 500`), so has each instance, give or take one.
        self.check_probe.wait_connections(6)
        self.check_probe.wait_bytes(pp2_local())
        with self.check_probe.cond:
            sent = {bytes(b) for b in self.check_probe.conns if b}
        self.assertEqual(sent, {pp2_local()}, "HAProxy's v2 health check is not a bare LOCAL header")

        def all_up():
            rows = list(self.haproxy.servers("v2").values()) + list(self.haproxy.servers("v1").values())
            return len(rows) == 4 and all(r["check_status"] == "L4OK" and r["status"].startswith("UP")
                                          for r in rows)

        wait_for(all_up, message="HAProxy's health checks to pass on all four servers")
        # No instance counted a refusal no test caused: a v2 check (LOCAL: the balancer
        # itself, which is in `clients:`) and a v1 check (HAProxy's own addresses) are
        # connections that say who they are and close.
        for i, p in enumerate(self.instances, 1):
            reasons = refused_by_reason(p)
            others = {k: v for k, v in reasons.items() if k != "client_not_allowed" and v}
            self.assertEqual(others, {}, "instance %d counted refusals no test caused (health checks?)" % i)
        self.assertEqual(self.refused_total("client_not_allowed"), ScaleOutTest.outside_sent,
                         "health checks counted as clients outside `clients:`")
        for i, p in enumerate(self.instances, 1):
            refusals = [l for l in p.audit_lines() if isinstance(l, dict) and l.get("client") == BALANCER]
            self.assertEqual(refusals, [], "instance %d wrote audit lines for health checks" % i)


# ---------------------------------------------------------------------------------------
# The protocol itself, over raw sockets, to one instance
# ---------------------------------------------------------------------------------------

class ProxyProtocolTest(LogsOnFailure):
    sanity_count = 0

    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.proxy = cls.start_proxy(instance_config(cls.origin))
        cls.instances = (cls.proxy,)

    # -- helpers -------------------------------------------------------------------------
    def exchange(self, data, source=BALANCER):
        return RawResponse(raw_exchange(self.proxy.port, data, source=source))

    def audit_for(self, path):
        return self.proxy.wait_audit(lambda a: a.get("path") == path, message="an audit line for %s" % path)

    def reason(self, reason):
        return refused_by_reason(self.proxy).get(reason, 0)

    def sanity_then_never_reached(self, path):
        """A later good request reaches the origin; ``path`` never did."""
        ProxyProtocolTest.sanity_count += 1
        good = "/sanity/%d" % ProxyProtocolTest.sanity_count
        r = self.exchange(pp1(NORTH, LOCAL, 40000, self.proxy.port) + get("raw.test", good))
        self.assertEqual(r.status, 200, r)
        self.origin.wait_request(lambda x: x["path"] == good)
        self.assertNotIn(path, {x["path"] for x in self.origin.snapshot()}, "%s reached the origin" % path)

    def assert_refused(self, data, path, source, reason=None):
        before = self.reason(reason) if reason else None
        r = self.exchange(data, source=source)  # raises unless the connection is closed
        self.assertEqual(r.status, 400, r)
        if reason:
            wait_for(lambda: self.reason(reason) >= before + 1, message="%s counted" % reason)
            self.assertEqual(self.reason(reason), before + 1, "counted more than once")
        self.sanity_then_never_reached(path)
        for line in self.proxy.audit_lines():
            if isinstance(line, dict) and line.get("path") == path:
                self.assertNotEqual(line.get("action"), "allow", line)

    # -- believed ------------------------------------------------------------------------
    def test_v1_header_from_the_balancer(self):
        r = self.exchange(pp1(SOUTH, LOCAL, 5555, 3128) + get("raw.test", "/raw/v1"))
        self.assertEqual(r.status, 200, r)
        self.assert_identity(self.audit_for("/raw/v1"), SOUTH)

    def test_v2_header_with_tlvs_from_the_balancer(self):
        # Receivers must skip TLVs they do not use: ALPN, AUTHORITY, NOOP and a custom type.
        tlvs = (tlv(0x01, b"http/1.1") + tlv(0x02, b"raw.test") + tlv(0x04, b"\x00\x00\x00")
                + tlv(0xE0, b"district-extension"))
        r = self.exchange(pp2(NORTH, LOCAL, 5555, self.proxy.port, tlvs) + get("raw.test", "/raw/v2-tlv"))
        self.assertEqual(r.status, 200, r)
        self.assert_identity(self.audit_for("/raw/v2-tlv"), NORTH)

    def test_v2_local_is_the_balancer_itself(self):
        r = self.exchange(pp2_local() + get("raw.test", "/raw/v2-local"))
        self.assertEqual(r.status, 200, r)
        self.assert_identity(self.audit_for("/raw/v2-local"), BALANCER)

    def test_v1_unknown_is_the_balancer_itself(self):
        r = self.exchange(b"PROXY UNKNOWN\r\n" + get("raw.test", "/raw/v1-unknown"))
        self.assertEqual(r.status, 200, r)
        self.assert_identity(self.audit_for("/raw/v1-unknown"), BALANCER)

    def test_v2_ipv4_mapped_address_is_the_ipv4_client(self):
        # A dual-stack HAProxy frontend (`bind :::3128 v4v6`) carries IPv4 clients as
        # ::ffff:a.b.c.d; the building is still the IPv4 network's.
        body = (socket.inet_pton(socket.AF_INET6, "::ffff:" + NORTH)
                + socket.inet_pton(socket.AF_INET6, "::1") + struct.pack("!HH", 5555, self.proxy.port))
        header = PP2_SIGNATURE + b"\x21\x21" + struct.pack("!H", len(body)) + body
        r = self.exchange(header + get("raw.test", "/raw/v2-mapped"))
        self.assertEqual(r.status, 200, r)
        self.assert_identity(self.audit_for("/raw/v2-mapped"), NORTH)

    def test_v2_header_then_keep_alive_requests(self):
        with RawClient(self.proxy.port, source=BALANCER) as c:
            c.send(pp2(SOUTH, LOCAL, 5555, self.proxy.port) + get("raw.test", "/raw/ka/1", close=False))
            status, _, _ = c.read_response()
            self.assertEqual(status, 200)
            c.send(get("raw.test", "/raw/ka/2", close=False))
            status, _, _ = c.read_response()
            self.assertEqual(status, 200)
            c.send(get("news.test", "/raw/ka/3", close=False))  # south-high's own block
            status, _, _ = c.read_response()
            self.assertEqual(status, 403)
        for path in ("/raw/ka/1", "/raw/ka/2", "/raw/ka/3"):
            self.assert_identity(self.audit_for(path), SOUTH)
        self.assertEqual(self.audit_for("/raw/ka/3").get("reason"), "building_block")

    def test_header_written_one_byte_at_a_time(self):
        for name, header in (("v1", pp1(NORTH, LOCAL, 5555, 3128)),
                             ("v2", pp2(NORTH, LOCAL, 5555, self.proxy.port))):
            with self.subTest(version=name):
                path = "/raw/bytewise-" + name
                with RawClient(self.proxy.port, source=BALANCER) as c:
                    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    for i in range(len(header)):
                        c.send(header[i:i + 1])
                    c.send(get("raw.test", path))
                    status, _, _ = c.read_response()
                    self.assertEqual(status, 200)
                self.assert_identity(self.audit_for(path), NORTH)

    def test_carried_address_outside_clients_gets_403(self):
        before = self.reason("client_not_allowed")
        r = self.exchange(pp2(OUTSIDE, LOCAL, 5555, self.proxy.port) + get("raw.test", "/raw/outside"))
        self.assertEqual(r.status, 403, r)
        wait_for(lambda: self.reason("client_not_allowed") >= before + 1,
                 message="client_not_allowed counted")
        self.sanity_then_never_reached("/raw/outside")

    # -- refused -------------------------------------------------------------------------
    def test_header_from_an_untrusted_address_is_refused(self):
        cases = (
            ("v2-from-127.0.0.1", UNTRUSTED, pp2(SOUTH, LOCAL, 5555, self.proxy.port)),
            ("v1-from-127.0.0.1", UNTRUSTED, pp1(SOUTH, LOCAL, 5555, 3128)),
            # a student claiming to be another student
            ("v1-from-a-student", NORTH, pp1(SOUTH, LOCAL, 5555, 3128)),
            ("v2-local-from-a-student", NORTH, pp2_local()),
        )
        for name, source, header in cases:
            with self.subTest(case=name):
                path = "/raw/untrusted/" + name
                self.assert_refused(header + get("raw.test", path), path, source,
                                    reason="proxy_protocol_untrusted")
                for line in self.proxy.audit_lines():
                    if isinstance(line, dict) and line.get("client") == SOUTH:
                        self.assertNotEqual(line.get("path"), path, "the claimed address was believed")

    def test_balancer_connection_without_header_is_refused(self):
        path = "/raw/no-header"
        self.assert_refused(get("raw.test", path), path, BALANCER)

    def test_malformed_headers_are_refused(self):
        port = self.proxy.port
        cases = (
            ("v1-bad-address", pp1("127.0.0.300", LOCAL, 5555, 3128)),
            ("v1-bad-protocol", b"PROXY TCP5 127.0.0.3 127.0.0.1 5555 3128\r\n"),
            ("v1-port-out-of-range", pp1(SOUTH, LOCAL, 70000, 3128)),
            ("v1-family-mismatch", pp1(SOUTH, LOCAL, 5555, 3128, proto="TCP6")),
            ("v1-no-crlf-in-107-bytes", b"PROXY TCP4 " + b"1" * 120 + b"\r\n"),
            ("v2-version-3", pp2(SOUTH, LOCAL, 5555, port, ver_cmd=0x31)),
            ("v2-unknown-command", pp2(SOUTH, LOCAL, 5555, port, ver_cmd=0x2F)),
            ("v2-tcp4-address-too-short",
             PP2_SIGNATURE + b"\x21\x11" + struct.pack("!H", 4) + socket.inet_aton(SOUTH)),
        )
        for name, header in cases:
            with self.subTest(case=name):
                path = "/raw/malformed/" + name
                self.assert_refused(header + get("raw.test", path), path, BALANCER,
                                    reason="proxy_protocol_invalid")


if __name__ == "__main__":
    unittest.main()
