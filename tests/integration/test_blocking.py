"""Blocked destinations get a block page (HTTP) or 403 (CONNECT), and nothing goes upstream."""

import os
import shutil
import tempfile
import unittest

from harness import (Origin, ProxyTestCase, RawClient, RawRecorder, block_page_request_id,
                     client_hello, curl_request, proxied_get, strip_tags, write_list)


class BlockingTest(ProxyTestCase):
    sanity_count = 0

    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.recorder = RawRecorder()
        cls.addClassCleanup(cls.recorder.close)
        cls.tmp = tempfile.mkdtemp(prefix="hallpass-block-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        lists = os.path.join(cls.tmp, "lists")
        write_list(os.path.join(lists, "itcat"), ["catblocked.test", "# a comment line"])
        o = cls.origin.addr
        cls.proxy = cls.start_proxy({
            "buildings": {"default": {"block": ["blocked.test"]}},
            "lists": {"itcat": os.path.join(lists, "itcat")},
            "policies": {"student-strict": {"categories": {"itcat": "block"}}},
            "upstream": {"resolve": {
                "blocked.test": o, "sub.blocked.test": o, "notblocked.test": o,
                "catblocked.test": o, "www.catblocked.test": o, "allowed.test": o,
                "blocked.test:443": cls.recorder.addr, "allowed.test:443": cls.recorder.addr,
            }},
        })

    # -- helpers -------------------------------------------------------------------------
    def sanity_then_assert_nothing_for(self, host, marker=None):
        """A later allowed request reaches the origin; nothing for ``host`` ever did."""
        BlockingTest.sanity_count += 1
        tag = str(BlockingTest.sanity_count)
        r = curl_request(self.proxy.port, "http://notblocked.test/echo?sanity=" + tag)
        self.assertEqual(r.status, 200, r)
        self.origin.wait_request(lambda x: x["query"].get("sanity") == [tag])
        self.assertEqual(self.origin.requests_for_host(host), [],
                         "a request for %s reached the upstream" % host)
        if marker:
            self.assertFalse([x for x in self.origin.snapshot() if marker in x["target"]],
                             "the blocked request (%s) reached the upstream" % marker)

    def assert_block_page(self, status, headers_get, body, host, reason):
        self.assertEqual(status, 403)
        ctype = headers_get("Content-Type") or ""
        self.assertIn("text/html", ctype.lower())
        html = body.decode("utf-8", "replace")
        text = strip_tags(html)
        self.assertIn(host, text.lower(), "block page does not name the host")
        self.assertIn("blocked", text.lower())
        self.assertIn(reason, html, "block page does not carry the reason code %s" % reason)
        rid = block_page_request_id(html)
        self.assertIsNotNone(rid, "block page shows no request id: %r" % text[:800])
        return rid

    # -- HTTP ----------------------------------------------------------------------------
    def test_blocked_domain_gets_block_page(self):
        r = curl_request(self.proxy.port, "http://blocked.test/page?m=plain")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assert_block_page(r.status, r.header, r.body, "blocked.test", "building_block")
        self.sanity_then_assert_nothing_for("blocked.test")

    def test_subdomain_of_blocked_domain_is_blocked(self):
        r = curl_request(self.proxy.port, "http://sub.blocked.test/deep/path?m=sub")
        self.assert_block_page(r.status, r.header, r.body, "sub.blocked.test", "building_block")
        self.sanity_then_assert_nothing_for("sub.blocked.test")

    def test_uppercase_and_trailing_dot_are_blocked(self):
        resp = proxied_get(self.proxy.port, "http://BLOCKED.TEST./?m=dot")
        self.assert_block_page(resp.status, resp.header, resp.body, "blocked.test", "building_block")
        self.sanity_then_assert_nothing_for("blocked.test", marker="m=dot")

    def test_mixed_case_host_header_only_casing(self):
        resp = proxied_get(self.proxy.port, "http://Sub.Blocked.Test/?m=case")
        self.assertEqual(resp.status, 403, resp)
        self.sanity_then_assert_nothing_for("sub.blocked.test", marker="m=case")

    def test_explicit_port_is_blocked(self):
        r = curl_request(self.proxy.port, "http://blocked.test:8080/?m=port")
        self.assert_block_page(r.status, r.header, r.body, "blocked.test", "building_block")
        self.sanity_then_assert_nothing_for("blocked.test", marker="m=port")

    def test_lookalike_is_not_blocked(self):
        r = curl_request(self.proxy.port, "http://notblocked.test/echo?m=lookalike")
        self.assertEqual(r.status, 200, r)
        self.origin.wait_request(lambda x: x["query"].get("m") == ["lookalike"])

    def test_category_list_block(self):
        for host in ("catblocked.test", "www.catblocked.test"):
            r = curl_request(self.proxy.port, "http://%s/?m=cat" % host)
            self.assert_block_page(r.status, r.header, r.body, host, "category_block")
        self.sanity_then_assert_nothing_for("catblocked.test", marker="m=cat")
        self.assertEqual(self.origin.requests_for_host("www.catblocked.test"), [])

    def test_request_ids_differ(self):
        a = curl_request(self.proxy.port, "http://blocked.test/?m=id1")
        b = curl_request(self.proxy.port, "http://blocked.test/?m=id2")
        ida = block_page_request_id(a.text)
        idb = block_page_request_id(b.text)
        self.assertIsNotNone(ida, a.text[:500])
        self.assertIsNotNone(idb, b.text[:500])
        self.assertNotEqual(ida, idb, "two blocked requests share a request id")

    def test_blocked_post_body_is_not_parsed_as_a_request(self):
        smuggled = b"GET http://notblocked.test/smuggled HTTP/1.1\r\nHost: notblocked.test\r\n\r\n"
        with RawClient(self.proxy.port) as c:
            c.send(b"POST http://blocked.test/upload HTTP/1.1\r\nHost: blocked.test\r\n"
                   b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(smuggled) + smuggled)
            status, headers, body = c.read_response()
            self.assertEqual(status, 403)
            try:
                c.send(b"GET http://notblocked.test/echo?m=after-post HTTP/1.1\r\nHost: notblocked.test\r\n\r\n")
                status2, _, _ = c.read_response()
                self.assertEqual(status2, 200, "the request after a blocked POST was not served")
            except (EOFError, ConnectionError):
                pass  # closing the connection after a block is fine too
        self.sanity_then_assert_nothing_for("blocked.test")
        self.assertFalse([x for x in self.origin.snapshot() if x["path"] == "/smuggled"],
                         "the blocked request's body was parsed as a request and forwarded")

    def test_audit_log_records_block_and_allow(self):
        r = curl_request(self.proxy.port, "http://blocked.test/audit-block-marker")
        self.assertEqual(r.status, 403)
        rec = self.proxy.wait_audit(lambda a: a.get("action") == "block" and a.get("host") == "blocked.test",
                                    message="a block line for blocked.test")
        self.assertEqual(rec.get("method"), "GET")
        self.assertEqual(rec.get("reason"), "building_block")
        self.assertEqual(str(rec.get("status")), "403")
        self.assertEqual(rec.get("building"), "default")
        self.assertEqual(rec.get("role"), "student")
        r = curl_request(self.proxy.port, "http://allowed.test/echo?m=audit-allow")
        self.assertEqual(r.status, 200)
        rec = self.proxy.wait_audit(lambda a: a.get("action") == "allow" and a.get("host") == "allowed.test",
                                    message="an allow line for allowed.test")
        self.assertEqual(str(rec.get("status")), "200")
        for line in self.proxy.audit_lines():
            self.assertIsInstance(line, dict, "audit line is not a JSON object: %r" % (line,))

    # -- CONNECT -------------------------------------------------------------------------
    def test_connect_to_blocked_host_is_refused(self):
        before = self.origin.connections
        rec_before = self.recorder.connection_count()
        with RawClient(self.proxy.port) as c:
            c.send(b"CONNECT blocked.test:443 HTTP/1.1\r\nHost: blocked.test:443\r\n\r\n")
            status, _, _ = c.read_head()
        self.assertEqual(status, 403)
        with RawClient(self.proxy.port) as c:
            c.send(b"CONNECT sub.blocked.test:443 HTTP/1.1\r\nHost: sub.blocked.test:443\r\n\r\n")
            status, _, _ = c.read_head()
        self.assertEqual(status, 403)
        # Sanity: an allowed CONNECT to the same recorder does get through.
        with RawClient(self.proxy.port) as c:
            c.send(b"CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test:443\r\n\r\n")
            status, _, _ = c.read_head()
            self.assertEqual(status, 200)
            c.send(client_hello("allowed.test"))
            self.recorder.wait_bytes(b"allowed.test")
        self.assertEqual(self.recorder.connection_count(), rec_before + 1,
                         "the recorder behind blocked.test:443 was contacted")
        self.assertEqual(self.origin.connections, before)
        self.proxy.wait_audit(lambda a: a.get("action") == "block" and a.get("method") == "CONNECT"
                              and str(a.get("host")) in ("blocked.test", "blocked.test:443"),
                              message="a CONNECT block line")

    def test_connect_via_curl_to_blocked_host(self):
        r = curl_request(self.proxy.port, "https://blocked.test/", "-p")
        self.assertNotEqual(r.rc, 0)
        self.assertTrue(403 in [s for s, _ in r.all_heads] or "response 403" in r.stderr, r)


if __name__ == "__main__":
    unittest.main()
