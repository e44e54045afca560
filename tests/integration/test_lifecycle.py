"""Process lifecycle: graceful SIGTERM, SIGHUP policy reload, admin /healthz and /metrics."""

import hashlib
import http.client
import os
import shutil
import socket
import tempfile
import time
import unittest

from harness import (LOCAL, Origin, Proxy, ProxyTestCase, RawClient, RawResponse,
                     curl_request, pattern_sha256, proxied_get, wait_for, write_list)

MiB = 1024 * 1024


def probe_served(proxy, origin_tag):
    """True if a brand-new connection to the proxy gets a 200 within 2 s."""
    try:
        s = socket.create_connection((LOCAL, proxy.port), timeout=2)
    except OSError:
        return False
    try:
        s.settimeout(2)
        s.sendall(b"GET http://slow.test/echo?probe=%s HTTP/1.1\r\nHost: slow.test\r\nConnection: close\r\n\r\n"
                  % origin_tag.encode())
        data = b""
        while b"\r\n" not in data:
            b = s.recv(4096)
            if not b:
                break
            data += b
        return RawResponse(data).status == 200
    except OSError:
        return False
    finally:
        s.close()


class ShutdownTest(ProxyTestCase):
    def setUp(self):
        self.origin = Origin()
        self.addCleanup(self.origin.close)

    def start(self, shutdown):
        self.proxy = Proxy({"timeouts": {"shutdown": shutdown},
                            "upstream": {"resolve": {"slow.test": self.origin.addr}}})
        self.addCleanup(self.proxy.cleanup)
        self.proxy.start()
        return self.proxy

    def wait_stops_accepting(self, proxy):
        counter = [0]

        def stopped():
            counter[0] += 1
            return not probe_served(proxy, "after-term-%d" % counter[0])

        wait_for(stopped, timeout=15, interval=0.05, message="the proxy to stop accepting after SIGTERM")

    def test_sigterm_lets_inflight_download_finish(self):
        proxy = self.start(shutdown=60)
        size = 50 * MiB + 7
        with RawClient(proxy.port, rcvbuf=64 * 1024, timeout=30) as c:
            c.send(b"GET http://slow.test/bytes?n=%d HTTP/1.1\r\nHost: slow.test\r\n\r\n" % size)
            status, headers, _ = c.read_head()
            self.assertEqual(status, 200)
            h = hashlib.sha256()
            first = c.read_exact(MiB)
            h.update(first)
            received = len(first)
            proxy.terminate()
            self.wait_stops_accepting(proxy)
            self.assertTrue(proxy.running(), "the proxy exited with a download in flight")
            while received < size:
                b = c.read_exact(min(256 * 1024, size - received))
                h.update(b)
                received += len(b)
            self.assertEqual(received, size)
            self.assertEqual(h.hexdigest(), pattern_sha256(size))
        rc = proxy.wait(timeout=30)
        self.assertEqual(rc, 0, "exit code after SIGTERM")

    def test_sigterm_shutdown_is_bounded(self):
        proxy = self.start(shutdown=1)
        c = RawClient(proxy.port, timeout=30)
        self.addCleanup(c.close)
        c.send(b"GET http://slow.test/hang HTTP/1.1\r\nHost: slow.test\r\n\r\n")
        self.assertTrue(self.origin.hang_started.wait(10), "the hanging request never reached the origin")
        t0 = time.monotonic()
        proxy.terminate()
        rc = proxy.wait(timeout=20)
        elapsed = time.monotonic() - t0
        self.assertEqual(rc, 0)
        self.assertLess(elapsed, 12, "shutdown took %.1fs with timeouts.shutdown: 1" % elapsed)

    def test_sigterm_does_not_wait_for_idle_keepalive_connections(self):
        proxy = self.start(shutdown=60)
        c = RawClient(proxy.port, timeout=30)
        self.addCleanup(c.close)
        c.send(b"GET http://slow.test/echo?idle=1 HTTP/1.1\r\nHost: slow.test\r\n\r\n")
        status, _, _ = c.read_response()
        self.assertEqual(status, 200)
        t0 = time.monotonic()
        proxy.terminate()
        rc = proxy.wait(timeout=30)
        self.assertEqual(rc, 0)
        self.assertLess(time.monotonic() - t0, 15,
                        "an idle keep-alive connection held shutdown open toward timeouts.shutdown")
        self.assertTrue(c.closed_by_peer(5), "idle client connection left open after exit")


class ReloadTest(ProxyTestCase):
    def setUp(self):
        self.origin = Origin()
        self.addCleanup(self.origin.close)
        self.tmp = tempfile.mkdtemp(prefix="hallpass-hup-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.list_dir = write_list(os.path.join(self.tmp, "hupcat"), ["other.test"])
        o = self.origin.addr
        self.proxy = Proxy({
            "lists": {"hupcat": self.list_dir},
            "policies": {"student-strict": {"categories": {"hupcat": "block"}}},
            "upstream": {"resolve": {"reload.test": o, "other.test": o, "stay.test": o}},
        })
        self.addCleanup(self.proxy.cleanup)
        self.proxy.start()

    def status(self, host):
        r = curl_request(self.proxy.port, "http://%s/echo" % host)
        self.assertEqual(r.rc, 0, r.stderr)
        return r.status

    def test_sighup_applies_an_edited_list(self):
        self.assertEqual(self.status("reload.test"), 200)
        self.assertEqual(self.status("other.test"), 403)
        write_list(self.list_dir, ["other.test", "reload.test"])
        ok, line = self.proxy.reload()
        self.assertTrue(ok, line)
        r = curl_request(self.proxy.port, "http://reload.test/echo")
        self.assertEqual(r.status, 403, r)
        self.assertIn("category_block", r.text)
        self.assertEqual(self.status("other.test"), 403)
        self.assertEqual(self.status("stay.test"), 200)
        # and back
        write_list(self.list_dir, ["other.test"])
        ok, line = self.proxy.reload()
        self.assertTrue(ok, line)
        self.assertEqual(self.status("reload.test"), 200)

    def test_sighup_with_broken_list_keeps_old_policy(self):
        self.assertEqual(self.status("reload.test"), 200)
        # Line 1 is write_list's comment, line 2 other.test, line 3 the bad entry.
        write_list(self.list_dir, ["other.test", "exa mple.com", "reload.test"])
        ok, line = self.proxy.reload()
        self.assertFalse(ok, "a list with 'exa mple.com' was accepted: %s" % line)
        failure = "\n".join(self.proxy.stderr_lines[self.proxy.stderr_lines.index(line):][:5])
        self.assertIn("domains", failure, "reload failure does not name the file")
        self.assertRegex(failure, r"domains\W{1,3}(line\s*)?3\b", "reload failure does not name line 3")
        self.assertTrue(self.proxy.running())
        self.assertEqual(self.status("reload.test"), 200, "the broken list was partly applied")
        self.assertEqual(self.status("other.test"), 403, "the old policy was dropped")
        write_list(self.list_dir, ["other.test", "reload.test"])
        ok, line = self.proxy.reload()
        self.assertTrue(ok, line)
        self.assertEqual(self.status("reload.test"), 403)

    def test_sighup_keeps_serving_established_connections(self):
        with RawClient(self.proxy.port) as c:
            c.send(b"GET http://stay.test/echo?n=1 HTTP/1.1\r\nHost: stay.test\r\n\r\n")
            self.assertEqual(c.read_response()[0], 200)
            ok, line = self.proxy.reload()
            self.assertTrue(ok, line)
            c.send(b"GET http://stay.test/echo?n=2 HTTP/1.1\r\nHost: stay.test\r\n\r\n")
            self.assertEqual(c.read_response()[0], 200)


class AdminTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.proxy = cls.start_proxy({
            "buildings": {"default": {"block": ["metrics-blocked.test"] +
                                                  ["spread%d.test" % i for i in range(30)]}},
            "upstream": {"resolve": {"metrics-ok.test": cls.origin.addr,
                                     "metrics-blocked.test": cls.origin.addr}},
        })

    def test_healthz(self):
        status, _, _ = self.proxy.admin_get("/healthz")
        self.assertEqual(status, 200)

    def test_metrics_count_requests(self):
        m = self.proxy.metrics()
        self.assertTrue(m.has("hallpass_requests_total") or "hallpass_requests_total" in m.text, m.text[:2000])
        allow0 = m.sum("hallpass_requests_total", action="allow")
        block0 = m.sum("hallpass_requests_total", action="block")
        self.assertEqual(proxied_get(self.proxy.port, "http://metrics-ok.test/echo").status, 200)
        self.assertEqual(proxied_get(self.proxy.port, "http://metrics-blocked.test/").status, 403)
        self.assertEqual(proxied_get(self.proxy.port, "http://metrics-blocked.test/again").status, 403)

        def counted():
            m = self.proxy.metrics()
            return (m.sum("hallpass_requests_total", action="allow") >= allow0 + 1 and
                    m.sum("hallpass_requests_total", action="block") >= block0 + 2) and m

        m = wait_for(counted, message="hallpass_requests_total to count 1 allow and 2 blocks")
        self.assertEqual(m.sum("hallpass_requests_total", action="allow"), allow0 + 1)
        self.assertEqual(m.sum("hallpass_requests_total", action="block"), block0 + 2)

    def test_metrics_have_no_unbounded_labels(self):
        self.assertEqual(proxied_get(self.proxy.port, "http://metrics-ok.test/echo?secret=q").status, 200)
        self.assertEqual(proxied_get(self.proxy.port, "http://metrics-blocked.test/secret-path").status, 403)
        wait_for(lambda: self.proxy.metrics().sum("hallpass_requests_total") > 0, message="any counted request")
        text = self.proxy.metrics().text
        # The top blocked domains family is the one place a domain is a label, bounded by
        # construction (test_top_blocked_domains_stay_bounded); no other family has one.
        top = "hallpass_top_blocked_domains{"
        rest = "\n".join(line for line in text.splitlines() if not line.startswith(top))
        for needle in ("metrics-ok.test", "metrics-blocked.test", "secret-path", "secret=q"):
            self.assertNotIn(needle, rest, "a host, URL or address became a metric label")
        self.assertIn('domain="metrics-blocked.test"', text)
        for needle in ("metrics-ok.test", "secret-path", "secret=q"):
            self.assertNotIn(needle, text)

    def test_top_blocked_domains_stay_bounded(self):
        # 30 distinct blocked sites, one of them 5 times: 10 domains are labels, the rest
        # are `other`, and the heavy one is among the shown.
        for i in range(30):
            host = "www.spread%d.test" % i
            for _ in range(5 if i == 0 else 1):
                self.assertEqual(proxied_get(self.proxy.port, "http://%s/" % host).status, 403)
        wait_for(lambda: self.proxy.metrics().sum("hallpass_requests_total", reason="building_block") >= 34,
                 message="34 counted blocks")
        rows = [line for line in self.proxy.metrics().text.splitlines()
                if line.startswith('hallpass_top_blocked_domains{building="default"')]
        self.assertLessEqual(len(rows), 11, rows)
        self.assertTrue(any('domain="other"' in row for row in rows), rows)
        self.assertIn('hallpass_top_blocked_domains{building="default",domain="spread0.test"} 5', rows)

    def test_connections_active_gauge(self):
        self.assertTrue(self.proxy.metrics().has("hallpass_connections_active"))

        def active():
            return self.proxy.metrics().sum("hallpass_connections_active")

        # Connections of earlier tests in this class are all closed: the gauge settles at 0.
        wait_for(lambda: active() == 0, message="hallpass_connections_active to settle at 0")
        clients = []
        try:
            for i in range(2):
                c = RawClient(self.proxy.port)
                clients.append(c)
                c.send(b"GET http://metrics-ok.test/echo?c=%d HTTP/1.1\r\nHost: metrics-ok.test\r\n\r\n" % i)
                self.assertEqual(c.read_response()[0], 200)
            self.assertEqual(active(), 2, "two open keep-alive client connections")
        finally:
            for c in clients:
                c.close()
        wait_for(lambda: active() == 0, message="hallpass_connections_active to drop back to 0")

    def test_admin_connections_are_capped(self):
        # The admin endpoint serves at most 64 connections; past them a new one is closed at
        # once rather than served, and a freed slot serves again.
        healthz = b"GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n"
        held = []
        try:
            for _ in range(64):
                c = RawClient(self.proxy.admin_port)
                held.append(c)
                c.send(healthz)
                self.assertEqual(c.read_response()[0], 200)
            with RawClient(self.proxy.admin_port) as over:
                self.assertTrue(over.closed_by_peer(5), "a 65th admin connection was kept open")
            held.pop().close()

            def served():
                try:
                    return self.proxy.admin_get("/healthz")[0] == 200
                except (OSError, http.client.HTTPException):
                    return False  # closed: the freed slot is not seen free yet

            wait_for(served, interval=0.05, message="an admin connection served once a slot is free")
        finally:
            for c in held:
                c.close()


if __name__ == "__main__":
    unittest.main()
