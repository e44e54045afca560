"""Only clients inside `clients:` may use the proxy: never an open proxy."""

import unittest

from harness import (Origin, ProxyTestCase, RawRecorder, RawResponse, client_hello, curl_request,
                     raw_exchange)


class ClientAclTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.recorder = RawRecorder()
        cls.addClassCleanup(cls.recorder.close)
        cls.proxy = cls.start_proxy({
            "clients": ["127.0.0.2/32", "127.0.0.8/30"],
            "upstream": {"resolve": {"acl.test": cls.origin.addr, "tunnel.test:443": cls.recorder.addr}},
        })

    def from_(self, source, url, *args):
        return curl_request(self.proxy.port, url, "--interface", source, *args)

    def sanity(self, tag):
        r = self.from_("127.0.0.2", "http://acl.test/echo?sanity=%s" % tag)
        self.assertEqual(r.status, 200, r)
        self.origin.wait_request(lambda x: x["query"].get("sanity") == [tag])

    def assert_origin_never_saw(self, marker):
        seen = [x["target"] for x in self.origin.snapshot() if x["query"].get("m") == [marker]]
        self.assertEqual(seen, [], "a request from a refused client reached the upstream")

    def test_curl_from_outside_gets_403(self):
        r = curl_request(self.proxy.port, "http://acl.test/echo?m=outside-curl")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.status, 403, r)
        self.sanity("after-outside-curl")
        self.assert_origin_never_saw("outside-curl")

    def test_raw_from_outside_gets_403_and_close(self):
        data = raw_exchange(self.proxy.port, b"GET http://acl.test/echo?m=outside-raw HTTP/1.1\r\n"
                                             b"Host: acl.test\r\n\r\n", source="127.0.0.1")
        self.assertEqual(RawResponse(data).status, 403, data)
        self.sanity("after-outside-raw")
        self.assert_origin_never_saw("outside-raw")

    def test_connect_from_outside_gets_403(self):
        before = self.recorder.connection_count()
        data = raw_exchange(self.proxy.port, b"CONNECT tunnel.test:443 HTTP/1.1\r\nHost: tunnel.test:443\r\n\r\n"
                            + client_hello("tunnel.test"), source="127.0.0.1")
        self.assertEqual(RawResponse(data).status, 403, data)
        self.sanity("after-outside-connect")
        self.assertEqual(self.recorder.connection_count(), before, "a refused client's CONNECT reached upstream")

    def test_allowed_client_is_served(self):
        r = self.from_("127.0.0.2", "http://acl.test/echo?m=inside")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.status, 200, r)
        self.origin.wait_request(lambda x: x["query"].get("m") == ["inside"])

    def test_cidr_boundaries(self):
        for source in ("127.0.0.8", "127.0.0.11"):
            r = self.from_(source, "http://acl.test/echo?m=in-" + source)
            self.assertEqual(r.status, 200, "%s is inside 127.0.0.8/30: %r" % (source, r))
        for source in ("127.0.0.7", "127.0.0.12", "127.0.0.3"):
            r = self.from_(source, "http://acl.test/echo?m=out-" + source)
            self.assertEqual(r.status, 403, "%s is outside the client networks: %r" % (source, r))
        self.sanity("after-boundaries")
        for source in ("127.0.0.7", "127.0.0.12", "127.0.0.3"):
            self.assert_origin_never_saw("out-" + source)


if __name__ == "__main__":
    unittest.main()
