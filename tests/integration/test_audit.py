"""The audit log: nothing lost under load across rotations, retention, restarts, the Squid
format, pseudonymized clients, and write failures that are counted instead of silent."""

import glob
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (Origin, Proxy, ProxyStartError, ProxyTestCase, RawClient, TestCA, TlsOrigin,
                     curl_request, run_hallpass, wait_for)

ALLOWED = "allowed.test"
BLOCKED = "blocked.test"

# Squid's native format: time.millis elapsed client code/status bytes method URL user
# hierarchy/peer type; the elapsed time right-aligned in six columns.
SQUID_LINE = re.compile(
    r"^(?P<time>\d{10}\.\d{3}) (?P<elapsed> {0,5}\d+) (?P<client>\S+) "
    r"(?P<code>[A-Z_]+)/(?P<status>\d{3}) (?P<bytes>\d+) (?P<method>\S+) (?P<url>\S+) "
    r"(?P<user>\S+) (?P<hier>[A-Z_]+)/(?P<peer>\S+) (?P<type>\S+)$")


def base_config(origin, **audit):
    return {
        "buildings": {"default": {"block": [BLOCKED]}},
        "upstream": {"resolve": {ALLOWED: origin.addr, BLOCKED: origin.addr}},
        "audit": audit,
    }


def audit_files(active):
    """The active file and its rotated siblings (spdlog's names: audit.N.jsonl), oldest first."""
    stem, ext = os.path.splitext(active)
    rotated = []
    for path in glob.glob(glob.escape(stem) + ".*" + ext):
        m = re.fullmatch(re.escape(stem) + r"\.(\d+)" + re.escape(ext), path)
        if m:
            rotated.append((int(m.group(1)), path))
    return [p for _, p in sorted(rotated, reverse=True)], active


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def all_lines(active):
    rotated, active = audit_files(active)
    out = []
    for path in rotated + [active]:
        out.extend(read_text(path).splitlines())
    return out


def send_requests(port, tokens, source=None, per_connection=25):
    """GET each token's URL over keep-alive connections; returns {token: status}."""
    statuses = {}
    for start in range(0, len(tokens), per_connection):
        batch = tokens[start:start + per_connection]
        with RawClient(port, source=source, timeout=30) as c:
            for i, (token, host) in enumerate(batch):
                last = i == len(batch) - 1
                c.send(("GET http://%s/r/%s HTTP/1.1\r\nHost: %s\r\n%s\r\n"
                        % (host, token, host, "Connection: close\r\n" if last else "")).encode())
                status, _, _ = c.read_response()
                statuses[token] = status
    return statuses


def metric(proxy, name):
    m = proxy.metrics()
    if not m.has(name):
        raise AssertionError("%s missing from /metrics" % name)
    return m.sum(name)


class AuditUnderLoadTest(ProxyTestCase):
    THREADS = 20
    PER_THREAD = 200
    MAX_FILES = 50
    MAX_SIZE_MB = 0.1

    def setUp(self):
        self.origin = Origin()
        self.addCleanup(self.origin.close)

    def start(self, **audit):
        self.proxy = Proxy(base_config(self.origin, **audit))
        self.addCleanup(self.proxy.cleanup)
        self.proxy.start()
        return self.proxy

    def test_every_request_has_exactly_one_line_across_rotations(self):
        proxy = self.start(max_size_mb=self.MAX_SIZE_MB, max_files=self.MAX_FILES)
        self.assertEqual(metric(proxy, "hallpass_audit_lines_total"), 0)
        self.assertEqual(metric(proxy, "hallpass_audit_dropped_total"), 0)

        expected = {}
        plans = []
        for t in range(self.THREADS):
            plan = []
            for i in range(self.PER_THREAD):
                token = "t%02d-%04d" % (t, i)
                host = BLOCKED if (t + i) % 4 == 0 else ALLOWED
                expected[token] = host
                plan.append((token, host))
            plans.append(plan)
        results, errors = {}, []

        def client(plan):
            try:
                results.update(send_requests(proxy.port, plan))
            except Exception as e:  # reported below: a thread cannot fail the test itself
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(p,)) for p in plans]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        self.assertEqual(errors, [])
        total = len(expected)
        self.assertEqual(len(results), total)
        for token, host in expected.items():
            self.assertEqual(results[token], 403 if host == BLOCKED else 200, token)

        # Lines reach the file within a flush interval; both views must agree on the total.
        wait_for(lambda: metric(proxy, "hallpass_audit_lines_total") == total
                 and len(all_lines(proxy.audit_path)) == total,
                 timeout=30, interval=0.1, message="%d audit lines" % total)
        self.assertEqual(metric(proxy, "hallpass_audit_dropped_total"), 0)

        proxy.terminate()
        self.assertEqual(proxy.wait(30), 0)

        rotated, active = audit_files(proxy.audit_path)
        self.assertGreaterEqual(len(rotated), 3, "expected several rotations for %d lines" % total)
        self.assertLessEqual(len(rotated), self.MAX_FILES)
        max_bytes = int(self.MAX_SIZE_MB * 1024 * 1024)
        seen_tokens, seen_ids = {}, set()
        for path in rotated + [active]:
            data = read_text(path)
            self.assertTrue(data.endswith("\n"), "%s ends inside a line" % path)
            self.assertLessEqual(len(data.encode()), max_bytes, path)
            for line in data.splitlines():
                record = json.loads(line)  # a partial or merged line fails here
                self.assertNotIn(record["request_id"], seen_ids, "request id twice")
                seen_ids.add(record["request_id"])
                token = record["path"].rsplit("/", 1)[-1]
                self.assertNotIn(token, seen_tokens, "%s logged twice" % token)
                seen_tokens[token] = record
        self.assertEqual(set(seen_tokens), set(expected), "requests without a line, or strays")
        for token, record in seen_tokens.items():
            blocked = expected[token] == BLOCKED
            self.assertEqual(record["action"], "block" if blocked else "allow", token)
            self.assertEqual(record["status"], 403 if blocked else 200, token)

    def test_retention_keeps_max_files_and_the_newest_lines(self):
        proxy = self.start(max_size_mb=0.01, max_files=2)
        # Mostly block pages: they need no origin round trip, so the test stays quick.
        tokens = [("seq-%04d" % i, ALLOWED if i % 20 == 0 else BLOCKED) for i in range(200)]
        send_requests(proxy.port, tokens, per_connection=200)
        wait_for(lambda: metric(proxy, "hallpass_audit_lines_total") == len(tokens),
                 timeout=20, message="200 lines handed to the file")
        proxy.terminate()
        self.assertEqual(proxy.wait(30), 0)
        rotated, active = audit_files(proxy.audit_path)
        self.assertEqual([os.path.basename(p) for p in rotated], ["audit.2.jsonl", "audit.1.jsonl"])
        kept = [json.loads(line)["path"].rsplit("/", 1)[-1] for line in all_lines(active)]
        self.assertLess(len(kept), len(tokens), "nothing rotated away")
        self.assertEqual(kept, [t for t, _ in tokens[-len(kept):]],
                         "the kept lines are not the newest, in order")

    def test_restart_appends_to_the_active_file(self):
        workdir = tempfile.mkdtemp(prefix="hallpass-audit-")
        self.addCleanup(shutil.rmtree, workdir, True)
        for run, count in ((1, 3), (2, 2)):
            proxy = Proxy(base_config(self.origin), workdir=workdir)
            self.addCleanup(proxy.cleanup)
            proxy.start()
            send_requests(proxy.port, [("run%d-%d" % (run, i), ALLOWED) for i in range(count)])
            proxy.terminate()
            self.assertEqual(proxy.wait(30), 0)
        paths = [json.loads(line)["path"] for line in all_lines(os.path.join(workdir, "audit.jsonl"))]
        self.assertEqual(paths, ["/r/run1-0", "/r/run1-1", "/r/run1-2", "/r/run2-0", "/r/run2-1"])
        self.assertEqual(audit_files(os.path.join(workdir, "audit.jsonl"))[0], [],
                         "a restart rotated the log")


class SquidFormatTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.ca = TestCA(names=("secure.test",))
        cls.addClassCleanup(cls.ca.cleanup)
        cls.tls = TlsOrigin(cls.ca)
        cls.addClassCleanup(cls.tls.close)
        cls.logdir = tempfile.mkdtemp(prefix="hallpass-squid-")
        cls.addClassCleanup(shutil.rmtree, cls.logdir, True)
        config = base_config(cls.origin, format="squid", path=os.path.join(cls.logdir, "access.log"))
        config["upstream"]["resolve"]["secure.test:443"] = cls.tls.addr
        cls.proxy = cls.start_proxy(config)

    def squid_line(self, needle):
        def find():
            for line in read_text(self.proxy.audit_path).splitlines():
                if needle in line:
                    return line
            return None
        line = wait_for(find, message="a squid line with %r" % needle)
        m = SQUID_LINE.match(line)
        self.assertIsNotNone(m, "not Squid's native format: %r" % line)
        self.assertLess(abs(float(m.group("time")) - time.time()), 120, line)
        self.assertEqual(len(m.group("elapsed")), 6, "elapsed not right-aligned in 6: %r" % line)
        self.assertEqual(m.group("client"), "127.0.0.1", line)
        self.assertEqual(m.group("user"), "-", line)
        self.assertEqual(m.group("type"), "-", line)
        return m

    def test_allowed_request(self):
        r = curl_request(self.proxy.port, "http://%s/sq/allowed?secret=1" % ALLOWED)
        self.assertEqual(r.status, 200, r)
        m = self.squid_line("/sq/allowed")
        self.assertEqual((m.group("code"), m.group("status")), ("TCP_MISS", "200"))
        self.assertEqual(m.group("method"), "GET")
        self.assertEqual(m.group("url"), "http://%s/sq/allowed" % ALLOWED, "query not stripped")
        self.assertEqual((m.group("hier"), m.group("peer")), ("HIER_DIRECT", ALLOWED))
        self.assertGreater(int(m.group("bytes")), 0)

    def test_blocked_request(self):
        r = curl_request(self.proxy.port, "http://%s/sq/blocked" % BLOCKED)
        self.assertEqual(r.status, 403, r)
        m = self.squid_line("/sq/blocked")
        self.assertEqual((m.group("code"), m.group("status")), ("TCP_DENIED", "403"))
        self.assertEqual((m.group("hier"), m.group("peer")), ("HIER_NONE", "-"))

    def test_connect_tunnel(self):
        r = curl_request(self.proxy.port, "https://secure.test/sq/tunnel", "-p", "--cacert",
                         self.ca.ca_cert)
        self.assertEqual(r.status, 200, r)
        m = self.squid_line(" CONNECT secure.test:443 ")
        self.assertEqual((m.group("code"), m.group("status")), ("TCP_TUNNEL", "200"))
        self.assertEqual((m.group("hier"), m.group("peer")), ("HIER_DIRECT", "secure.test"))
        self.assertGreater(int(m.group("bytes")), 0, "the tunnel's bytes to the client")

    def test_no_json_in_the_file(self):
        curl_request(self.proxy.port, "http://%s/sq/only" % ALLOWED)
        self.squid_line("/sq/only")
        for line in read_text(self.proxy.audit_path).splitlines():
            self.assertRegex(line, SQUID_LINE)


class PseudonymTest(ProxyTestCase):
    KEY = b"0123456789abcdef0123456789abcdef-integration-test-key"

    def setUp(self):
        self.origin = Origin()
        self.addCleanup(self.origin.close)
        self.tmp = tempfile.mkdtemp(prefix="hallpass-key-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.key_file = os.path.join(self.tmp, "audit.key")
        with open(self.key_file, "wb") as f:
            f.write(self.KEY + b"\n")
        os.chmod(self.key_file, 0o600)

    def config(self, key_file):
        return base_config(self.origin, pseudonymize=True, pseudonym_key_file=key_file)

    def expected(self, address):
        return "c-" + hmac.new(self.KEY, b"client:" + address.encode(), hashlib.sha256).hexdigest()[:16]

    def test_client_addresses_become_stable_keyed_pseudonyms(self):
        self.proxy = Proxy(self.config(self.key_file))
        self.addCleanup(self.proxy.cleanup)
        self.proxy.start()
        for source in ("127.0.0.2", "127.0.0.3"):
            tag = source.rsplit(".", 1)[-1]
            send_requests(self.proxy.port, [("ps%s-a" % tag, ALLOWED), ("ps%s-b" % tag, BLOCKED)],
                          source=source)
        r = curl_request(self.proxy.port, "http://%s/r/ps2-curl" % ALLOWED, "--interface", "127.0.0.2")
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: len(self.proxy.audit_lines()) >= 5, message="5 audit lines")
        text = read_text(self.proxy.audit_path)
        self.assertNotIn("127.0.0.", text, "a client address reached the audit log")
        by_token = {rec["path"].rsplit("/", 1)[-1]: rec for rec in self.proxy.audit_lines()}
        two = {by_token[t]["client"] for t in ("ps2-a", "ps2-b", "ps2-curl")}
        three = {by_token[t]["client"] for t in ("ps3-a", "ps3-b")}
        self.assertEqual(two, {self.expected("127.0.0.2")})
        self.assertEqual(three, {self.expected("127.0.0.3")})
        self.assertEqual(by_token["ps2-a"]["building"], "default", "the building must stay")
        self.assertEqual(by_token["ps2-b"]["action"], "block")

    def refused(self, key_file, expected):
        proxy = Proxy(self.config(key_file))
        self.addCleanup(proxy.cleanup)
        with self.assertRaises(ProxyStartError):
            proxy.start()
        log = "\n".join(proxy.stderr_lines)
        self.assertIn("refusing to start", log)
        self.assertIn(key_file, log, "the message does not name the key file")
        self.assertIn(expected, log)
        rc, out, err = run_hallpass("validate", "--config", proxy.config_path)
        self.assertNotEqual(rc, 0, "validate accepted it")
        self.assertIn(key_file, out + err)

    def test_missing_key_file_refuses_to_start(self):
        self.refused(os.path.join(self.tmp, "absent.key"), "No such file")

    def test_world_readable_key_file_refuses_to_start(self):
        os.chmod(self.key_file, 0o644)
        self.refused(self.key_file, "readable by every user or writable by more than its owner")


class WriteFailureTest(ProxyTestCase):
    """A full file system: lines are counted as dropped and reported, the proxy keeps serving,
    and once there is room again the file holds exactly the lines not counted as dropped."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a small tmpfs needs root")
        self.mnt = tempfile.mkdtemp(prefix="hallpass-full-")
        self.addCleanup(shutil.rmtree, self.mnt, True)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", self.mnt],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            self.skipTest("cannot mount tmpfs: %s" % p.stderr.decode(errors="replace").strip())
        self.addCleanup(subprocess.run, ["umount", "-l", self.mnt])
        self.origin = Origin()
        self.addCleanup(self.origin.close)

    def fill(self):
        filler = os.path.join(self.mnt, "filler")
        with open(filler, "wb", buffering=0) as f:
            for size in (4096, 1):
                while True:
                    try:
                        f.write(b"x" * size)
                    except OSError:
                        break
        return filler

    def test_full_disk_drops_are_counted_and_the_proxy_serves_on(self):
        audit = os.path.join(self.mnt, "audit.jsonl")
        self.proxy = Proxy(base_config(self.origin, path=audit))
        self.addCleanup(self.proxy.cleanup)
        self.proxy.start()
        # A few lines first: the file's last page then has room for part of the next write,
        # which the disk cuts short mid-line.
        send_requests(self.proxy.port, [("before-%d" % i, BLOCKED) for i in range(5)])
        wait_for(lambda: len(self.proxy.audit_lines()) == 5, message="5 lines written")
        filler = self.fill()
        first = [("full-%03d" % i, ALLOWED if i % 10 == 0 else BLOCKED) for i in range(300)]
        statuses = send_requests(self.proxy.port, first)
        self.assertEqual(sorted(set(statuses.values())), [200, 403], "the proxy stopped serving")
        wait_for(lambda: metric(self.proxy, "hallpass_audit_lines_total") == 5 + len(first)
                 and metric(self.proxy, "hallpass_audit_dropped_total") > 0,
                 timeout=20, message="dropped lines counted")
        self.proxy.wait_for_line(r"audit log %s: cannot write: No space left on device"
                                 % re.escape(audit))

        os.unlink(filler)
        after = [("room-%03d" % i, ALLOWED if i % 10 == 0 else BLOCKED) for i in range(20)]
        self.assertEqual(set(send_requests(self.proxy.port, after).values()), {200, 403})
        total = 5 + len(first) + len(after)

        def settled():
            lines = metric(self.proxy, "hallpass_audit_lines_total")
            dropped = metric(self.proxy, "hallpass_audit_dropped_total")
            valid = [r for r in self.proxy.audit_lines() if isinstance(r, dict)]
            return lines == total and len(valid) == lines - dropped and (valid, dropped)
        valid, dropped = wait_for(settled, timeout=20, message="written == handed - dropped")
        self.assertGreater(dropped, 0)
        tokens = [r["path"].rsplit("/", 1)[-1] for r in valid]
        self.assertEqual(tokens[-len(after):], [t for t, _ in after],
                         "lines written after the disk had room again are missing")
        self.assertEqual(len(tokens), len(set(tokens)))
        self.proxy.wait_for_line(r"audit log %s: writing again" % re.escape(audit))
        self.proxy.terminate()
        self.assertEqual(self.proxy.wait(30), 0)


if __name__ == "__main__":
    unittest.main()
