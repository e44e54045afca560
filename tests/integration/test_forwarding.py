"""Plain HTTP forwarding through Hallpass with real curl and raw sockets."""

import hashlib
import json
import os
import shutil
import tempfile
import unittest

from harness import (Origin, ProxyTestCase, RawClient, curl, curl_request, header_values,
                     pattern_sha256, proxied_get, write_pattern_file)


class ForwardingTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.tmp = tempfile.mkdtemp(prefix="hallpass-fwd-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        # ka.test has an origin of its own so connection counts there are exact.
        cls.ka_origin = Origin()
        cls.addClassCleanup(cls.ka_origin.close)
        cls.proxy = cls.start_proxy({
            "upstream": {"resolve": {"origin.test": cls.origin.addr, "other.test": cls.origin.addr,
                                     "ka.test": cls.ka_origin.addr}},
        })

    def via(self, url, *args, **kw):
        return curl_request(self.proxy.port, url, *args, **kw)

    def echo(self, result):
        self.assertEqual(result.status, 200, result)
        return json.loads(result.body)

    def test_get(self):
        r = self.via("http://origin.test/echo?q=get")
        self.assertEqual(r.rc, 0, r.stderr)
        got = self.echo(r)
        self.assertEqual(got["method"], "GET")
        self.assertEqual(got["query"], {"q": ["get"]})
        self.assertEqual(header_values(got["headers"], "Host"), ["origin.test"])
        self.assertEqual(got["body_len"], 0)

    def test_get_forwarded_in_origin_form(self):
        got = self.echo(self.via("http://origin.test/echo?a=1&b=two"))
        self.assertEqual(got["target"], "/echo?a=1&b=two",
                         "the origin should get origin-form, not the absolute-form the client sent")

    def test_explicit_port_kept_in_host_header(self):
        got = self.echo(self.via("http://origin.test:8080/echo"))
        self.assertEqual(header_values(got["headers"], "Host"), ["origin.test:8080"])

    def test_head(self):
        with RawClient(self.proxy.port) as c:
            c.send(b"HEAD http://origin.test/bytes?n=1234 HTTP/1.1\r\nHost: origin.test\r\n\r\n")
            status, headers, body = c.read_response(method="HEAD")
            self.assertEqual(status, 200)
            self.assertEqual(header_values(headers, "Content-Length"), ["1234"])
            # No body may follow a HEAD response: the next response on the connection must parse.
            c.send(b"GET http://origin.test/echo?q=after-head HTTP/1.1\r\nHost: origin.test\r\n\r\n")
            status, headers, body = c.read_response()
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["query"], {"q": ["after-head"]})
        rec = self.origin.wait_request(lambda x: x["method"] == "HEAD" and x["path"] == "/bytes")
        self.assertEqual(rec["body_len"], 0)

    def test_post_body_echo(self):
        body = os.path.join(self.tmp, "post.bin")
        sha = write_pattern_file(body, 200_003)
        r = self.via("http://origin.test/echo?q=post", "--data-binary", "@" + body)
        got = self.echo(r)
        self.assertEqual(got["method"], "POST")
        self.assertEqual(got["body_len"], 200_003)
        self.assertEqual(got["body_sha256"], sha)

    def test_put_and_delete_methods(self):
        body = os.path.join(self.tmp, "put.bin")
        sha = write_pattern_file(body, 4097)
        got = self.echo(self.via("http://origin.test/echo", "-X", "PUT", "--data-binary", "@" + body))
        self.assertEqual((got["method"], got["body_len"], got["body_sha256"]), ("PUT", 4097, sha))
        got = self.echo(self.via("http://origin.test/echo", "-X", "DELETE"))
        self.assertEqual(got["method"], "DELETE")

    def test_chunked_upload(self):
        body = os.path.join(self.tmp, "chunked.bin")
        sha = write_pattern_file(body, 1_000_037)
        r = self.via("http://origin.test/echo?q=chunked", "-H", "Transfer-Encoding: chunked",
                     "--data-binary", "@" + body, "-v")
        self.assertIn("Transfer-Encoding: chunked", r.stderr, "curl did not send a chunked body")
        got = self.echo(r)
        self.assertEqual(got["body_len"], 1_000_037)
        self.assertEqual(got["body_sha256"], sha)

    def test_expect_100_continue_answered_by_proxy(self):
        body = os.path.join(self.tmp, "expect.bin")
        sha = write_pattern_file(body, 300_001)
        r = self.via("http://origin.test/echo?q=expect", "-H", "Expect: 100-continue",
                     "--expect100-timeout", "30", "--data-binary", "@" + body)
        got = self.echo(r)
        self.assertEqual(got["body_sha256"], sha)
        self.assertEqual(header_values(got["headers"], "Expect"), [],
                         "Expect: 100-continue must not be forwarded")
        self.assertIn(100, [s for s, _ in r.all_heads], "client never got 100 Continue: %r" % r.all_heads)

    def test_content_length_download(self):
        r = self.via("http://origin.test/bytes?n=5000000")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.body), 5_000_000)
        self.assertEqual(hashlib.sha256(r.body).hexdigest(), pattern_sha256(5_000_000))

    def test_chunked_download(self):
        r = self.via("http://origin.test/chunked?n=3000017")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.body), 3_000_017)
        self.assertEqual(hashlib.sha256(r.body).hexdigest(), pattern_sha256(3_000_017))

    def test_until_close_download(self):
        r = self.via("http://origin.test/close?n=2500009")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.body), 2_500_009)
        self.assertEqual(hashlib.sha256(r.body).hexdigest(), pattern_sha256(2_500_009))

    def test_hop_by_hop_request_headers_removed_and_via_added(self):
        resp = proxied_get(self.proxy.port, "http://origin.test/echo?q=hop", headers=[
            ("Connection", "X-Drop-Me"),
            ("X-Drop-Me", "must-not-arrive"),
            ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"),
            ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
            ("TE", "trailers"),
            ("Trailer", "X-Checksum"),
            ("Upgrade", "example/1"),
            ("X-Keep-Me", "end-to-end"),
        ])
        self.assertEqual(resp.status, 200, resp)
        got = json.loads(resp.body)
        names = {k.lower() for k, _ in got["headers"]}
        for hop in ("x-drop-me", "keep-alive", "proxy-connection", "proxy-authorization",
                    "te", "trailer", "upgrade"):
            self.assertNotIn(hop, names, "hop-by-hop header %s was forwarded: %r" % (hop, got["headers"]))
        for k, v in got["headers"]:
            if k.lower() == "connection":
                self.assertNotIn("x-drop-me", v.lower())
        self.assertEqual(header_values(got["headers"], "X-Keep-Me"), ["end-to-end"])
        vias = header_values(got["headers"], "Via")
        self.assertTrue(any("1.1 hallpass" in v for v in vias), "no 'Via: 1.1 hallpass' in %r" % vias)

    def test_hop_by_hop_response_headers_removed(self):
        r = self.via("http://origin.test/hop")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"hop")
        self.assertIsNone(r.header("X-Resp-Hop"), "header named in the origin's Connection was forwarded")
        self.assertFalse(any("4321" in v for v in r.header_all("Keep-Alive")),
                         "the origin's Keep-Alive header was forwarded")
        self.assertEqual(r.header("X-Resp-End"), "kept")

    def test_keep_alive_client_and_upstream_reuse(self):
        a = os.path.join(self.tmp, "ka1")
        b = os.path.join(self.tmp, "ka2")
        rc, out, err = curl("-x", self.proxy.url, "-w", "%{http_code} %{num_connects}\n",
                            "-o", a, "http://ka.test/echo?q=ka1", "-o", b, "http://ka.test/echo?q=ka2")
        self.assertEqual(rc, 0, err)
        lines = out.decode().split()
        self.assertEqual(lines, ["200", "1", "200", "0"],
                         "second request should reuse the client connection (curl -w num_connects)")
        with open(a) as f:
            first = json.load(f)
        with open(b) as f:
            second = json.load(f)
        self.assertEqual(first["query"], {"q": ["ka1"]})
        self.assertEqual(second["query"], {"q": ["ka2"]})
        self.assertEqual(first["conn_id"], second["conn_id"],
                         "upstream saw two connections (peer ports %d, %d): the pool did not reuse"
                         % (first["peer_port"], second["peer_port"]))
        self.assertEqual(first["peer_port"], second["peer_port"])
        self.assertEqual(self.ka_origin.connections, 1)

    def test_keep_alive_raw_three_requests_one_connection(self):
        with RawClient(self.proxy.port) as c:
            for i in range(3):
                c.send(b"GET http://origin.test/echo?q=raw%d HTTP/1.1\r\nHost: origin.test\r\n\r\n" % i)
                status, headers, body = c.read_response()
                self.assertEqual(status, 200)
                self.assertEqual(json.loads(body)["query"], {"q": ["raw%d" % i]})
            c.send(b"GET http://other.test/echo?q=other HTTP/1.1\r\nHost: other.test\r\n\r\n")
            status, headers, body = c.read_response()
            self.assertEqual(status, 200)
            got = json.loads(body)
            self.assertEqual(header_values(got["headers"], "Host"), ["other.test"])

    def test_http10_client(self):
        r = self.via("http://origin.test/echo?q=http10", "--http1.0")
        got = self.echo(r)
        self.assertEqual(got["query"], {"q": ["http10"]})


if __name__ == "__main__":
    unittest.main()
