"""Upstream failures become clear HTML error pages: 502 for refused, 504 for silence."""

import socket
import threading
import time
import unittest

from harness import LOCAL, Origin, ProxyTestCase, curl_request, refused_port, strip_tags


class CloseAfterHead:
    """Accepts, reads a request head, closes without answering."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind((LOCAL, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.got_head = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(10)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    b = c.recv(4096)
                    if not b:
                        break
                    data += b
                if b"\r\n\r\n" in data:
                    self.got_head.set()
            except OSError:
                pass
            c.close()

    def close(self):
        self.sock.close()


class UpstreamErrorsTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.refused_sock, refused = refused_port()
        cls.addClassCleanup(cls.refused_sock.close)
        cls.closer = CloseAfterHead()
        cls.addClassCleanup(cls.closer.close)
        cls.proxy = cls.start_proxy({
            "timeouts": {"upstream": 1},
            "upstream": {"resolve": {
                "refused.test": "127.0.0.1:%d" % refused,
                "hang.test": cls.origin.addr,
                "closer.test": "127.0.0.1:%d" % cls.closer.port,
            }},
        })

    def assert_html_error(self, r, status):
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.status, status, r)
        self.assertIn("text/html", (r.header("Content-Type") or "").lower())
        return strip_tags(r.text)

    def test_connection_refused_gives_502(self):
        r = curl_request(self.proxy.port, "http://refused.test/x")
        text = self.assert_html_error(r, 502)
        self.assertRegex(text, r"(?i)refused", "the 502 page does not name the cause")

    def test_silent_upstream_gives_504(self):
        self.origin.hang_started.clear()
        t0 = time.monotonic()
        r = curl_request(self.proxy.port, "http://hang.test/hang", timeout=30)
        elapsed = time.monotonic() - t0
        self.assert_html_error(r, 504)
        self.assertTrue(self.origin.hang_started.is_set(), "the request never reached the origin")
        self.assertGreaterEqual(elapsed, 0.9, "504 came before timeouts.upstream (1 s) could pass")
        self.assertLess(elapsed, 15, "504 took %.1fs with timeouts.upstream: 1" % elapsed)

    def test_upstream_closing_without_answer_gives_502(self):
        r = curl_request(self.proxy.port, "http://closer.test/x")
        self.assert_html_error(r, 502)
        self.assertTrue(self.closer.got_head.is_set())

    def test_proxy_serves_normally_after_errors(self):
        for url in ("http://refused.test/again", "http://hang.test/echo?after=errors"):
            curl_request(self.proxy.port, url, timeout=30)
        r = curl_request(self.proxy.port, "http://hang.test/echo?after=errors2")
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    unittest.main()
