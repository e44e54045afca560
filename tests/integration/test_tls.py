"""HTTPS: the ClientHello peek, splice vs interception with the district CA, verified
upstream TLS, block pages inside TLS, and the CA key's protection.

The district CA is made by certs/make-district-ca.sh (with an intermediate, so the chain is
exercised); the upstream servers have their own test CA that only Hallpass trusts
(upstream.ca_file) — a client that sees the origin's certificate must have been spliced.
"""

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

from harness import (SOURCE_DIR, Proxy, ProxyStartError, ProxyTestCase, RawClient, RawRecorder,
                     TestCA, TlsOrigin, clean_env, curl_request)

DISTRICT = "Test District"


def make_district_ca(out):
    script = os.path.join(SOURCE_DIR, "certs", "make-district-ca.sh")
    p = subprocess.run(["bash", script, "--out", out, "--name", DISTRICT, "--intermediate"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=clean_env(), timeout=60)
    if p.returncode != 0:
        raise AssertionError("make-district-ca.sh failed:\n" + p.stdout.decode(errors="replace"))


def first_anonymizer_domain():
    with open(os.path.join(SOURCE_DIR, "filters", "lists", "anonymizer", "domains")) as f:
        return next(l.strip() for l in f if l.strip() and not l.startswith("#"))


class MemoryTls:
    """A client TLS session over a raw tunnel socket, driven by hand through memory BIOs so
    the test decides how the ClientHello is written."""

    def __init__(self, sock, server_name, cafile):
        ctx = ssl.create_default_context(cafile=cafile)
        self.sock = sock
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_hostname=server_name)

    def hello(self):
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return self.outgoing.read()

    def _pump(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the tunnel closed")
        self.incoming.write(data)

    def finish_handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self.sock.sendall(self.outgoing.read())
                return self.obj.getpeercert()
            except ssl.SSLWantReadError:
                self.sock.sendall(self.outgoing.read())
                self._pump()

    def request(self, raw, until):
        self.obj.write(raw)
        self.sock.sendall(self.outgoing.read())
        data = b""
        while until not in data:
            try:
                data += self.obj.read(65536)
            except ssl.SSLWantReadError:
                self._pump()
        return data


class InterceptionTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hallpass-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.district = os.path.join(cls.tmp, "district")
        make_district_ca(cls.district)
        cls.root = os.path.join(cls.district, "root.pem")
        cls.good_ca = TestCA(names=("www.instagram.com", "splice.test"), cn="www.instagram.com")
        cls.addClassCleanup(cls.good_ca.cleanup)
        cls.bad_ca = TestCA(names=("bad.instagram.com",), cn="bad.instagram.com")
        cls.addClassCleanup(cls.bad_ca.cleanup)
        cls.origin = TlsOrigin(cls.good_ca)
        cls.addClassCleanup(cls.origin.close)
        cls.untrusted = TlsOrigin(cls.bad_ca)
        cls.addClassCleanup(cls.untrusted.close)
        cls.recorder = RawRecorder()
        cls.addClassCleanup(cls.recorder.close)
        cls.anonymizer = first_anonymizer_domain()
        cls.proxy = cls.start_proxy({
            # Loopback clients get the staff policy: social platforms open, DMs blocked.
            "buildings": {"default": {"policy": {"staff": "staff", "student": "staff"}}},
            "tls": {"ca_cert": os.path.join(cls.district, "ca.pem"),
                    "ca_key": os.path.join(cls.district, "ca.key")},
            "upstream": {"ca_file": cls.good_ca.ca_cert, "resolve": {
                "www.instagram.com:443": cls.origin.addr,
                "splice.test:443": cls.origin.addr,
                "bad.instagram.com:443": cls.untrusted.addr,
                "raw.test:443": cls.recorder.addr,
            }},
        })

    def fetch(self, url, *args):
        return curl_request(self.proxy.port, url, "-v", *args)

    def test_spliced_destination_shows_the_origins_own_certificate(self):
        r = self.fetch("https://splice.test/spliced", "--cacert", self.good_ca.ca_cert)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.body, b"hello from secure.test /spliced")
        self.assertRegex(r.stderr, r"issuer: CN ?= ?Hallpass Integration Test CA")
        self.proxy.wait_audit(lambda e: e.get("sni") == "splice.test" and e.get("tls") == "splice",
                              message="spliced tunnel audited with its SNI")

    def test_intercepted_destination_shows_a_minted_leaf_chaining_to_the_district_root(self):
        r = self.fetch("https://www.instagram.com/p/abc/", "--cacert", self.root)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"hello from secure.test /p/abc/")
        self.assertRegex(r.stderr, r"subject: CN ?= ?www\.instagram\.com")
        self.assertIn("%s Hallpass Intermediate CA" % DISTRICT, r.stderr)
        # The origin's own CA is not enough: the client really saw a Hallpass certificate.
        direct_trust = self.fetch("https://www.instagram.com/p/abc/", "--cacert", self.good_ca.ca_cert)
        self.assertNotEqual(direct_trust.rc, 0, direct_trust)
        self.proxy.wait_audit(lambda e: e.get("method") == "GET" and e.get("path") == "/p/abc/"
                              and e.get("tls") == "intercept", message="the request inside TLS audited")

    def test_dm_path_inside_tls_gets_the_block_page_and_never_reaches_the_origin(self):
        r = self.fetch("https://www.instagram.com/direct/inbox/", "--cacert", self.root)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.status, 403, r)
        self.assertIn("social_function_block", r.text)
        self.assertNotIn("/direct/inbox/", [rec["path"] for rec in self.origin.records])

    def test_keep_alive_inside_an_intercepted_tunnel(self):
        r = self.fetch("https://www.instagram.com/one", "--cacert", self.root,
                       "https://www.instagram.com/two")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("hello from secure.test /two", r.text)
        self.assertIn("Re-using existing connection", r.stderr)

    def test_upstream_with_an_untrusted_certificate_is_blocked_with_the_reason(self):
        r = self.fetch("https://bad.instagram.com/", "--cacert", self.root)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.status, 403, r)
        self.assertIn("cannot be trusted", r.text)
        self.assertIn("upstream_certificate", r.text)
        self.assertEqual(self.untrusted.records, [], "a request went to an unverified server")
        self.proxy.wait_audit(lambda e: e.get("upstream_error") == "upstream_certificate",
                              message="certificate failure audited")

    def test_blocked_connect_answers_the_block_page_inside_tls(self):
        r = self.fetch("https://%s/" % self.anonymizer, "--cacert", self.root)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.status, 403, r)
        self.assertIn("anonymizer", r.text)
        self.assertIn("%s Hallpass Intermediate CA" % DISTRICT, r.stderr)
        self.proxy.wait_audit(lambda e: e.get("host") == self.anonymizer and e.get("tls") == "block_page",
                              message="blocked tunnel audited once with its fate")

    def test_non_tls_bytes_on_443_are_refused(self):
        before = self.recorder.connection_count()
        with RawClient(self.proxy.port) as c:
            c.send(b"CONNECT raw.test:443 HTTP/1.1\r\nHost: raw.test:443\r\n\r\n")
            status, _, _ = c.read_head()
            self.assertEqual(status, 200)
            c.send(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
            c.sock.settimeout(10)
            self.assertEqual(c.sock.recv(100), b"", "the tunnel stayed open")
        self.proxy.wait_audit(lambda e: e.get("reason") == "anonymizer_not_tls",
                              message="non-TLS tunnel audited")
        with self.recorder.cond:
            forwarded = b"".join(bytes(b) for b in self.recorder.conns[before:])
        self.assertEqual(forwarded, b"", "SSH bytes reached the upstream")

    def test_sni_for_another_site_than_the_connect_host_is_refused(self):
        with RawClient(self.proxy.port) as c:
            c.send(b"CONNECT splice.test:443 HTTP/1.1\r\nHost: splice.test:443\r\n\r\n")
            status, _, _ = c.read_head()
            self.assertEqual(status, 200)
            tls = MemoryTls(c.sock, "fronted.example", self.root)
            c.sock.sendall(tls.hello())
            c.sock.settimeout(10)
            tls.finish_handshake()  # the block page comes inside TLS, from a minted leaf
            page = tls.request(b"GET / HTTP/1.1\r\nHost: fronted.example\r\nConnection: close\r\n\r\n",
                               b"</html>")
        self.assertTrue(page.startswith(b"HTTP/1.1 403"), page[:200])
        self.assertIn(b"anonymizer_fronting", page)
        self.assertNotIn("fronted.example", self.origin.snis)
        self.proxy.wait_audit(lambda e: e.get("reason") == "anonymizer_fronting"
                              and e.get("sni") == "fronted.example", message="fronting audited")

    def test_a_host_header_for_another_site_inside_the_tunnel_is_misdirected(self):
        with RawClient(self.proxy.port) as c:
            c.send(b"CONNECT www.instagram.com:443 HTTP/1.1\r\nHost: www.instagram.com:443\r\n\r\n")
            status, _, _ = c.read_head()
            self.assertEqual(status, 200)
            tls = MemoryTls(c.sock, "www.instagram.com", self.root)
            c.sock.sendall(tls.hello())
            c.sock.settimeout(10)
            tls.finish_handshake()
            answer = tls.request(b"GET /carried HTTP/1.1\r\nHost: elsewhere.example\r\n\r\n", b"</html>")
        self.assertTrue(answer.startswith(b"HTTP/1.1 421"), answer[:200])
        self.assertNotIn("/carried", [rec["path"] for rec in self.origin.records])

    def test_client_hello_written_one_byte_at_a_time_still_works(self):
        with RawClient(self.proxy.port) as c:
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c.send(b"CONNECT splice.test:443 HTTP/1.1\r\nHost: splice.test:443\r\n\r\n")
            status, _, _ = c.read_head()
            self.assertEqual(status, 200)
            tls = MemoryTls(c.sock, "splice.test", self.good_ca.ca_cert)
            for byte in tls.hello():
                c.sock.send(bytes([byte]))
            c.sock.settimeout(10)
            cert = tls.finish_handshake()
            body = tls.request(b"GET /dripped HTTP/1.1\r\nHost: splice.test\r\nConnection: close\r\n\r\n",
                               b"/dripped")
        self.assertIn(("commonName", "www.instagram.com"), [n for rdn in cert["subject"] for n in rdn])
        self.assertIn(b"hello from secure.test /dripped", body)

    def test_tls_metrics_count_fates_and_tunnel_detections(self):
        self.fetch("https://www.instagram.com/metrics-probe", "--cacert", self.root)
        with RawClient(self.proxy.port) as c:
            c.send(b"CONNECT raw.test:443 HTTP/1.1\r\nHost: raw.test:443\r\n\r\n")
            c.read_head()
            c.send(b"\x00\x0e\x38not-a-tls-hello")
            c.sock.settimeout(10)
            c.sock.recv(100)
        self.proxy.wait_audit(lambda e: e.get("path") == "/metrics-probe", message="probe audited")
        m = self.proxy.metrics()
        self.assertGreaterEqual(m.sum("hallpass_tls_tunnels_total", fate="intercept"), 1)
        self.assertGreaterEqual(m.sum("hallpass_anonymizer_detections_total", method="not_tls"), 1)
        self.assertGreaterEqual(m.sum("hallpass_tls_leaf_cache", value="hits")
                                + m.sum("hallpass_tls_leaf_cache", value="misses"), 1)


class InspectFailureTest(ProxyTestCase):
    """A client that refuses the district certificate (a pinned app, or a device without the
    CA): counted by reason, and with `on_inspect_failure: splice` that host is spliced for
    that client from then on so the app keeps working."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hallpass-tls-fail-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        district = os.path.join(cls.tmp, "district")
        make_district_ca(district)
        cls.upstream_ca = TestCA(names=("www.instagram.com", "pinned.instagram.com"),
                                 cn="www.instagram.com")
        cls.addClassCleanup(cls.upstream_ca.cleanup)
        cls.origin = TlsOrigin(cls.upstream_ca)
        cls.addClassCleanup(cls.origin.close)
        cls.proxy = cls.start_proxy({
            "buildings": {"default": {"policy": {"staff": "kiosk", "student": "kiosk"}}},
            "policies": {"kiosk": {"extends": "staff", "on_inspect_failure": "splice"}},
            "tls": {"ca_cert": os.path.join(district, "ca.pem"),
                    "ca_key": os.path.join(district, "ca.key")},
            "upstream": {"ca_file": cls.upstream_ca.ca_cert, "resolve": {
                "pinned.instagram.com:443": cls.origin.addr}},
        })

    def test_rejected_certificate_is_counted_then_the_host_is_spliced(self):
        # The "app" trusts only its own server's CA, as a pinning app does.
        url = "https://pinned.instagram.com/feed"
        first = curl_request(self.proxy.port, url, "--cacert", self.upstream_ca.ca_cert)
        self.assertNotEqual(first.rc, 0, first)
        self.proxy.wait_audit(lambda e: e.get("inspect_failure") == "client_rejected_certificate"
                              and e.get("sni") == "pinned.instagram.com",
                              message="the failed interception audited with its reason")
        m = self.proxy.metrics()
        self.assertGreaterEqual(m.sum("hallpass_tls_inspect_failures_total",
                                      reason="client_rejected_certificate"), 1)
        second = curl_request(self.proxy.port, url, "--cacert", self.upstream_ca.ca_cert)
        self.assertEqual(second.rc, 0, second)
        self.assertEqual(second.body, b"hello from secure.test /feed")
        self.proxy.wait_audit(lambda e: e.get("sni") == "pinned.instagram.com"
                              and e.get("tls") == "splice", message="the retry spliced")
        # Only for that client: anyone can fail a handshake on purpose, and that must not
        # turn off inspection of the host for everyone else.
        other = curl_request(self.proxy.port, url, "--cacert", self.upstream_ca.ca_cert,
                             "--interface", "127.0.0.5")
        self.assertNotEqual(other.rc, 0, other)
        self.proxy.wait_audit(lambda e: e.get("client") == "127.0.0.5"
                              and e.get("inspect_failure") == "client_rejected_certificate",
                              message="another client's tunnel to the host still intercepted")


class CaKeyProtectionTest(unittest.TestCase):
    def test_a_ca_key_readable_by_others_stops_the_start_naming_the_file(self):
        tmp = tempfile.mkdtemp(prefix="hallpass-tls-key-")
        self.addCleanup(shutil.rmtree, tmp, True)
        make_district_ca(os.path.join(tmp, "ca"))
        key = os.path.join(tmp, "ca", "ca.key")
        os.chmod(key, 0o644)
        proxy = Proxy({"tls": {"ca_cert": os.path.join(tmp, "ca", "ca.pem"), "ca_key": key}})
        self.addCleanup(proxy.cleanup)
        with self.assertRaises(ProxyStartError):
            proxy.start()
        self.assertEqual(proxy.wait(), 1)
        log = proxy.log_tail()
        self.assertIn(key, log)
        self.assertIn("others", log)


if __name__ == "__main__":
    unittest.main()
