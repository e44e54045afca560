"""Malformed or ambiguous requests are refused (400/431), the connection closed, nothing forwarded.

Each request is sent whole in one write on a raw socket (curl cannot send these bytes).
After each refusal a well-formed request for the same upstream is sent on a new connection
and must arrive; only then is the upstream checked for any trace of the refused request,
so a proxy that forwarded first and refused later is caught too.
"""

import time
import unittest

from harness import (ProxyTestCase, RawClient, RawRecorder, RawResponse, proxied_get, raw_exchange,
                     wait_for)

LIMITS = {"max_head_bytes": 16384, "max_header_count": 20, "max_line_bytes": 4096}
LIMIT_STATUSES = (400, 431)


class FramingTest(ProxyTestCase):
    sanity_count = 0

    @classmethod
    def setUpClass(cls):
        cls.recorder = RawRecorder(respond=True)
        cls.addClassCleanup(cls.recorder.close)
        cls.proxy = cls.start_proxy({
            "limits": LIMITS,
            "upstream": {"resolve": {"frame.test": cls.recorder.addr}},
        })

    def request(self, marker, headers, body=b"", method=b"POST"):
        head = b"%s http://frame.test/%s HTTP/1.1\r\nHost: frame.test\r\n" % (method, marker.encode())
        return head + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body

    def refused(self, marker, data, statuses=(400,)):
        raw = raw_exchange(self.proxy.port, data, timeout=10)  # asserts the proxy closes
        resp = RawResponse(raw)
        self.assertIn(resp.status, statuses, "expected %s for %s, got %r" % (statuses, marker, raw[:300]))
        FramingTest.sanity_count += 1
        sanity = "sanity-%d" % FramingTest.sanity_count
        ok = proxied_get(self.proxy.port, "http://frame.test/" + sanity)
        self.assertEqual(ok.status, 200, "the sanity request after %s was not served: %r" % (marker, ok))
        self.recorder.wait_bytes(sanity.encode())
        got = self.recorder.all_bytes()
        self.assertNotIn(("/" + marker + " ").encode(), got, "%s was forwarded upstream" % marker)
        return resp

    # -- controls: the same machinery with well-formed requests ----------------------------
    def test_control_valid_content_length_post_is_forwarded(self):
        data = self.request("ok-cl", [b"Content-Length: 5"], b"hello")
        with_close = data.replace(b"Host: frame.test\r\n", b"Host: frame.test\r\nConnection: close\r\n")
        resp = RawResponse(raw_exchange(self.proxy.port, with_close))
        self.assertEqual(resp.status, 200, resp)
        self.recorder.wait_bytes(b"/ok-cl ")

    def test_control_valid_chunked_post_is_forwarded(self):
        data = self.request("ok-chunked", [b"Transfer-Encoding: chunked", b"Connection: close"],
                            b"5\r\nhello\r\n0\r\n\r\n")
        resp = RawResponse(raw_exchange(self.proxy.port, data))
        self.assertEqual(resp.status, 200, resp)
        self.recorder.wait_bytes(b"/ok-chunked ")

    def test_control_ten_headers_is_fine(self):
        headers = [b"X-H%d: v" % i for i in range(10)] + [b"Connection: close"]
        resp = RawResponse(raw_exchange(self.proxy.port, self.request("ok-ten", headers, method=b"GET")))
        self.assertEqual(resp.status, 200, resp)

    # -- ambiguous framing ---------------------------------------------------------------
    def test_content_length_and_transfer_encoding(self):
        m = "cl-and-te"
        self.refused(m, self.request(m, [b"Content-Length: 5", b"Transfer-Encoding: chunked"],
                                     b"0\r\n\r\nGET http://frame.test/smuggled-cl-te HTTP/1.1\r\n\r\n"))
        self.assertNotIn(b"smuggled-cl-te", self.recorder.all_bytes())

    def test_transfer_encoding_and_content_length_reversed(self):
        m = "te-and-cl"
        self.refused(m, self.request(m, [b"Transfer-Encoding: chunked", b"Content-Length: 5"], b"0\r\n\r\n"))

    def test_two_differing_content_lengths(self):
        m = "two-cl"
        self.refused(m, self.request(m, [b"Content-Length: 5", b"Content-Length: 6"], b"hello!"))

    def test_non_numeric_content_length(self):
        for i, value in enumerate((b"abc", b"12abc", b"-1", b"+5", b"0x5")):
            with self.subTest(content_length=value):
                m = "bad-cl-%d" % i
                self.refused(m, self.request(m, [b"Content-Length: " + value], b"hello"))

    def test_transfer_encoding_not_exactly_chunked(self):
        cases = ([b"Transfer-Encoding: gzip"],
                 [b"Transfer-Encoding: chunked, identity"],
                 [b"Transfer-Encoding: gzip, chunked"],
                 [b"Transfer-Encoding: identity"],
                 [b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"])
        for i, headers in enumerate(cases):
            with self.subTest(headers=headers):
                m = "bad-te-%d" % i
                self.refused(m, self.request(m, headers, b"5\r\nhello\r\n0\r\n\r\n"))

    def test_transfer_encoding_in_http10(self):
        # RFC 9112 §6.1: faulty framing; kept alive, the bytes after the body would be read as
        # the next request by this proxy and as body by a 1.0 hop.
        m = "http10-te"
        data = self.request(m, [b"Transfer-Encoding: chunked", b"Connection: keep-alive"],
                            b"5\r\nhello\r\n0\r\n\r\nGET http://frame.test/smuggled-10 HTTP/1.1\r\n\r\n")
        self.refused(m, data.replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1))
        self.assertNotIn(b"smuggled-10", self.recorder.all_bytes())

    def test_invalid_chunk_size(self):
        m = "bad-chunk"
        self.refused(m, self.request(m, [b"Transfer-Encoding: chunked"], b"zz\r\nhello\r\n0\r\n\r\n"))

    # -- header syntax -------------------------------------------------------------------
    def test_control_bytes_in_header_value(self):
        for i, ch in enumerate((b"\x01", b"\x00", b"\x1b", b"\x7f", b"\r")):
            with self.subTest(byte=ch):
                m = "ctl-%d" % i
                self.refused(m, self.request(m, [b"X-Bad: a" + ch + b"b"], method=b"GET"))

    def test_obs_fold(self):
        for i, lead in enumerate((b" ", b"\t")):
            with self.subTest(lead=lead):
                m = "fold-%d" % i
                self.refused(m, self.request(m, [b"X-Folded: first", lead + b"continued"], method=b"GET"))

    def test_whitespace_between_name_and_colon(self):
        for i, sep in enumerate((b" :", b"\t:")):
            with self.subTest(sep=sep):
                m = "ws-colon-%d" % i
                self.refused(m, self.request(m, [b"X-Space" + sep + b" v"], method=b"GET"))

    # -- limits --------------------------------------------------------------------------
    def test_head_larger_than_max_head_bytes(self):
        m = "big-head"
        headers = [b"X-Big-%d: " % i + b"a" * 3000 for i in range(6)]  # ~18 KB, each line < 4096
        self.refused(m, self.request(m, headers, method=b"GET"), LIMIT_STATUSES)

    def test_more_headers_than_max_header_count(self):
        m = "many-headers"
        headers = [b"X-N%d: v" % i for i in range(30)]
        self.refused(m, self.request(m, headers, method=b"GET"), LIMIT_STATUSES)

    def test_header_line_longer_than_max_line_bytes(self):
        m = "long-line"
        self.refused(m, self.request(m, [b"X-Long: " + b"b" * 6000], method=b"GET"), (431,))

    def test_request_line_longer_than_max_line_bytes(self):
        m = "long-target-" + "c" * 6000
        self.refused(m, self.request(m, [], method=b"GET"), (414,))


class TimeoutsTest(ProxyTestCase):
    """timeouts.head and timeouts.idle."""

    @classmethod
    def setUpClass(cls):
        cls.recorder = RawRecorder(respond=True)
        cls.addClassCleanup(cls.recorder.close)
        cls.proxy = cls.start_proxy({
            "timeouts": {"head": 1, "idle": 1},
            "upstream": {"resolve": {"frame.test": cls.recorder.addr}},
        })

    def test_partial_head_is_cut_after_head_timeout(self):
        t0 = time.monotonic()
        raw = raw_exchange(self.proxy.port, b"GET http://frame.test/slow-head HTTP/1.1\r\nHost: fra", timeout=10)
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 0.9, "closed before timeouts.head (1 s)")
        self.assertIn(RawResponse(raw).status, (None, 408), raw)
        self.assertNotIn(b"/slow-head", self.recorder.all_bytes())

    def test_silent_connection_is_cut_after_head_timeout(self):
        t0 = time.monotonic()
        raw = raw_exchange(self.proxy.port, b"", timeout=10)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assertIn(RawResponse(raw).status, (None, 408), raw)

    def test_idle_keepalive_connection_is_closed_after_idle_timeout(self):
        with RawClient(self.proxy.port) as c:
            c.send(b"GET http://frame.test/idle HTTP/1.1\r\nHost: frame.test\r\n\r\n")
            status, _, body = c.read_response()
            self.assertEqual((status, body), (200, b"ok"))
            t0 = time.monotonic()
            self.assertTrue(c.closed_by_peer(10), "idle keep-alive connection not closed within 10 s")
            self.assertGreaterEqual(time.monotonic() - t0, 0.9, "closed before timeouts.idle (1 s)")



class KeptAliveHeadTimeoutTest(ProxyTestCase):
    """A kept-alive connection may wait timeouts.idle for its next request, but once that
    request's first byte arrives, its head gets timeouts.head like any other."""

    @classmethod
    def setUpClass(cls):
        cls.recorder = RawRecorder(respond=True)
        cls.addClassCleanup(cls.recorder.close)
        cls.proxy = cls.start_proxy({
            "timeouts": {"head": 1, "idle": 8},
            "upstream": {"resolve": {"frame.test": cls.recorder.addr}},
        })

    def test_next_head_is_cut_at_head_timeout_not_idle(self):
        with RawClient(self.proxy.port) as c:
            c.send(b"GET http://frame.test/first HTTP/1.1\r\nHost: frame.test\r\n\r\n")
            self.assertEqual(c.read_response()[0], 200)
            c.send(b"GET http://frame.test/dripped HTTP/1.1\r\nHost: fr")
            t0 = time.monotonic()
            # Under timeouts.idle (8 s) this would stay open; timeouts.head (1 s) cuts it.
            self.assertTrue(c.closed_by_peer(5), "the unfinished head outlived 5 s")
            self.assertGreaterEqual(time.monotonic() - t0, 0.9, "closed before timeouts.head (1 s)")
        self.assertNotIn(b"/dripped", self.recorder.all_bytes())

    def test_quiet_kept_alive_connection_waits_for_idle(self):
        with RawClient(self.proxy.port) as c:
            c.send(b"GET http://frame.test/quiet HTTP/1.1\r\nHost: frame.test\r\n\r\n")
            self.assertEqual(c.read_response()[0], 200)
            self.assertFalse(c.closed_by_peer(2), "closed within 2 s, before timeouts.idle (8 s)")
            c.send(b"GET http://frame.test/after-quiet HTTP/1.1\r\nHost: frame.test\r\n\r\n")
            self.assertEqual(c.read_response()[0], 200)


class MaxConnectionsTest(ProxyTestCase):
    """limits.max_connections (timeouts stay long so held connections stay held)."""

    @classmethod
    def setUpClass(cls):
        cls.recorder = RawRecorder(respond=True)
        cls.addClassCleanup(cls.recorder.close)
        cls.proxy = cls.start_proxy({
            "limits": {"max_connections": 2},
            "upstream": {"resolve": {"frame.test": cls.recorder.addr}},
        })

    def test_max_connections(self):
        def active():
            return self.proxy.metrics().sum("hallpass_connections_active")

        wait_for(lambda: active() == 0, message="earlier connections of this class to be gone")
        held = []
        try:
            for i in range(2):
                c = RawClient(self.proxy.port)
                held.append(c)
                c.send(b"GET http://frame.test/held-%d HTTP/1.1\r\nHost: frame.test\r\n\r\n" % i)
                self.assertEqual(c.read_response()[0], 200)
            # Both held connections are inside the proxy; a third one is over the cap. It may be
            # refused (closed, with or without an error status) or left waiting; never served.
            with RawClient(self.proxy.port, timeout=3) as third:
                third.send(b"GET http://frame.test/over-cap HTTP/1.1\r\nHost: frame.test\r\n\r\n")
                try:
                    status, _, _ = third.read_head()
                except (EOFError, ConnectionError, TimeoutError, OSError):
                    status = None
                self.assertNotEqual(status, 200, "a third connection was served with max_connections: 2")
            self.assertNotIn(b"/over-cap ", self.recorder.all_bytes())
        finally:
            for c in held:
                c.close()
        # With the held connections gone, new connections are served again.
        wait_for(lambda: proxied_get(self.proxy.port, "http://frame.test/after-cap").status == 200,
                 timeout=10, interval=0.1, message="a connection to be served after the cap freed up")

if __name__ == "__main__":
    unittest.main()
