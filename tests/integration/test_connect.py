"""CONNECT tunnels: real TLS end to end to a local origin; ports outside connect_ports refused."""

import re
import ssl
import subprocess
import unittest

from harness import (OPENSSL, ProxyTestCase, RawClient, RawRecorder, TestCA, TlsOrigin, clean_env,
                     client_hello, curl_request)


class ConnectTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ca = TestCA(names=("secure.test",))
        cls.addClassCleanup(cls.ca.cleanup)
        cls.tls = TlsOrigin(cls.ca)
        cls.addClassCleanup(cls.tls.close)
        cls.recorder = RawRecorder()
        cls.addClassCleanup(cls.recorder.close)
        cls.proxy = cls.start_proxy({
            "upstream": {"resolve": {
                "secure.test:443": cls.tls.addr,
                "closed.test:22": cls.recorder.addr,
                "closed.test:443": cls.recorder.addr,
                "closed.test:8443": cls.recorder.addr,
            }},
        })

    def test_curl_https_through_tunnel_sees_origin_certificate(self):
        r = curl_request(self.proxy.port, "https://secure.test/hello", "-p", "--cacert", self.ca.ca_cert, "-v")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"hello from secure.test /hello")
        self.assertRegex(r.stderr, r"subject: CN ?= ?secure\.test")
        self.assertRegex(r.stderr, r"issuer: CN ?= ?Hallpass Integration Test CA")
        self.assertIn("secure.test", self.tls.snis, "the origin did not get the client's SNI")

    def test_curl_https_without_proxytunnel_flag(self):
        # curl tunnels https through an HTTP proxy with CONNECT even without -p.
        r = curl_request(self.proxy.port, "https://secure.test/plain", "--cacert", self.ca.ca_cert)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.body, b"hello from secure.test /plain")

    def test_openssl_s_client_gets_the_origin_certificate(self):
        cmd = [OPENSSL, "s_client", "-proxy", "127.0.0.1:%d" % self.proxy.port, "-connect", "secure.test:443",
               "-servername", "secure.test", "-CAfile", self.ca.ca_cert, "-verify_return_error", "-showcerts"]
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30, env=clean_env())
        out = p.stdout.decode(errors="replace")
        self.assertIn("Verify return code: 0 (ok)", out, out + p.stderr.decode(errors="replace"))
        pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out, re.S)
        self.assertTrue(pems, out)
        self.assertEqual(TestCA.cert_fingerprint(pems[0]), self.ca.fingerprint,
                         "the certificate seen through the tunnel is not the origin's own")

    def test_raw_connect_then_tls_both_directions(self):
        with RawClient(self.proxy.port) as c:
            c.send(b"CONNECT secure.test:443 HTTP/1.1\r\nHost: secure.test:443\r\n\r\n")
            status, headers, _ = c.read_head()
            self.assertEqual(status, 200)
            self.assertEqual(c.buf, b"", "bytes after the CONNECT response before the client spoke")
            ctx = ssl.create_default_context(cafile=self.ca.ca_cert)
            with ctx.wrap_socket(c.sock, server_hostname="secure.test") as t:
                t.settimeout(10)
                for i in range(3):
                    t.sendall(b"GET /raw%d HTTP/1.1\r\nHost: secure.test\r\n\r\n" % i)
                    data = b""
                    want = b"hello from secure.test /raw%d" % i
                    while not data.endswith(want):
                        b = t.recv(4096)
                        self.assertTrue(b, "tunnel closed early: %r" % data)
                        data += b
                    self.assertTrue(data.startswith(b"HTTP/1.1 200"), data)

    def test_connect_to_port_22_is_refused(self):
        before = self.recorder.connection_count()
        with RawClient(self.proxy.port) as c:
            c.send(b"CONNECT closed.test:22 HTTP/1.1\r\nHost: closed.test:22\r\n\r\n")
            status, _, _ = c.read_head()
        self.assertEqual(status, 403)
        r = curl_request(self.proxy.port, "http://closed.test:22/", "-p")
        self.assertNotEqual(r.rc, 0)
        self.assertTrue(403 in [s for s, _ in r.all_heads] or "response 403" in r.stderr, r)
        with RawClient(self.proxy.port) as c:
            c.send(b"CONNECT closed.test:8443 HTTP/1.1\r\nHost: closed.test:8443\r\n\r\n")
            status, _, _ = c.read_head()
        self.assertEqual(status, 403, "8443 is not in the default connect_ports")
        # Sanity: the same recorder is reachable on an allowed port; it then holds one connection.
        with RawClient(self.proxy.port) as c:
            c.send(b"CONNECT closed.test:443 HTTP/1.1\r\nHost: closed.test:443\r\n\r\n")
            status, _, _ = c.read_head()
            self.assertEqual(status, 200)
            c.send(client_hello("closed.test"))
            self.recorder.wait_bytes(b"closed.test")
        self.assertEqual(self.recorder.connection_count(), before + 1,
                         "the port-22 CONNECT reached the upstream")


class ConnectPortsConfigTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.ca = TestCA(names=("secure.test",))
        cls.addClassCleanup(cls.ca.cleanup)
        cls.tls = TlsOrigin(cls.ca)
        cls.addClassCleanup(cls.tls.close)
        cls.recorder = RawRecorder()
        cls.addClassCleanup(cls.recorder.close)
        cls.proxy = cls.start_proxy({
            "connect_ports": [8443],
            "upstream": {"resolve": {"secure.test:8443": cls.tls.addr, "secure.test:443": cls.tls.addr,
                                     "raw.test:8443": cls.recorder.addr}},
        })

    def test_other_protocols_pass_on_ports_other_than_443(self):
        # Only 443 is held to TLS; elsewhere the first bytes are spliced as they are.
        with RawClient(self.proxy.port) as c:
            c.send(b"CONNECT raw.test:8443 HTTP/1.1\r\nHost: raw.test:8443\r\n\r\n")
            status, _, _ = c.read_head()
            self.assertEqual(status, 200)
            c.send(b"SSH-2.0-OpenSSH_9.2p1\r\n")
            self.recorder.wait_bytes(b"SSH-2.0-OpenSSH_9.2p1\r\n")

    def test_configured_port_is_allowed(self):
        r = curl_request(self.proxy.port, "https://secure.test:8443/alt", "-p", "--cacert", self.ca.ca_cert)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.body, b"hello from secure.test /alt")

    def test_port_443_refused_when_not_listed(self):
        with RawClient(self.proxy.port) as c:
            c.send(b"CONNECT secure.test:443 HTTP/1.1\r\nHost: secure.test:443\r\n\r\n")
            status, _, _ = c.read_head()
        self.assertEqual(status, 403, "connect_ports replaces the default list")


if __name__ == "__main__":
    unittest.main()
