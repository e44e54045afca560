"""The WebSocket peers checked against each other, without the proxy: WsClient talks to
WsOrigin directly (``direct=True``) or through a minimal relay that stands in for a proxy,
and headless Chromium loads the origin's page directly. If these fail, a WebSocket test of
the proxy would be testing its peers.

    cd tests/integration && python3 -m unittest -v websocket_peers_selftest
"""

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest
import urllib.parse

from harness import LOCAL, RawClient, TestCA, clean_env
from websocket_peers import OP_PONG, WsClient, WsOrigin, chromium_page_log, page_path

CERTUTIL = shutil.which("certutil") or "/usr/bin/certutil"
DEFLATE_OFFER = "permessage-deflate; client_max_window_bits"


class _Relay:
    """A stand-in proxy: CONNECT is answered 200 and tunnelled, an absolute-form request is
    rewritten to origin form; either way to 127.0.0.1:``port``. Records each first line."""

    def __init__(self, port):
        self.target = port
        self.lines = []
        self.cond = threading.Condition()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((LOCAL, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.socks.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        finally:
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _serve(self, c):
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        first = lines[0].decode("iso-8859-1")
        with self.cond:
            self.lines.append(first)
        up = socket.create_connection((LOCAL, self.target), timeout=10)
        up.settimeout(None)
        self.socks.append(up)
        if first.startswith("CONNECT "):
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            up.sendall(rest)
        else:
            method, target, version = first.split(" ")
            u = urllib.parse.urlsplit(target)
            lines[0] = ("%s %s %s" % (method, u.path + ("?" + u.query if u.query else ""),
                                      version)).encode("iso-8859-1")
            up.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + rest)
        threading.Thread(target=self._pipe, args=(up, c), daemon=True).start()
        self._pipe(c, up)

    def close(self):
        self.sock.close()
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class WsPeersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = WsOrigin(close_on=lambda t: 1008 if t == "stop here" else None)
        cls.addClassCleanup(cls.origin.close)
        cls.ca = TestCA(names=("chat.test",), cn="chat.test")
        cls.addClassCleanup(cls.ca.cleanup)
        cls.tls_origin = WsOrigin(tls_ca=cls.ca)
        cls.addClassCleanup(cls.tls_origin.close)

    def client(self, path="/chat", origin=None, **kw):
        origin = origin or self.origin
        c = WsClient(None, "ws://chat.test:%d%s" % (origin.port, path), direct=True, **kw)
        self.addCleanup(c.close)
        return c

    def conn_of(self, c, origin=None):
        """The origin's record of client ``c`` (matched by its Sec-WebSocket-Key)."""
        return (origin or self.origin).wait_connection(
            lambda conn: conn.header("Sec-WebSocket-Key") == c.key, timeout=10)

    def test_plain_text_is_echoed_and_recorded(self):
        c = self.client(headers=[("X-Test", "plain")])
        self.assertEqual(c.status, 101)
        self.assertIsNone(c.extension)
        c.send_text("hello plain")
        self.assertEqual(c.recv_text(), "echo: hello plain")
        conn = self.conn_of(c)
        self.assertEqual(conn.path, "/chat")
        self.assertEqual(conn.header("X-Test"), "plain")
        self.assertEqual(conn.header("Host"), "chat.test:%d" % self.origin.port)
        m = self.origin.wait_message(lambda m: m["data"] == "hello plain")
        self.assertEqual((m["type"], m["compressed"], m["frames"]), ("text", False, 1))
        self.assertIn("hello plain", self.origin.messages())

    def test_fragmented_messages_are_reassembled(self):
        c = self.client(extensions=DEFLATE_OFFER)
        text = "fragment \u00e9\u4e2d " * 200
        c.send_text(text, fragments=5)
        self.assertEqual(c.recv_text(), "echo: " + text)
        c.send_text("compressed " + text, fragments=3, compress=True)
        self.assertEqual(c.recv_text(), "echo: compressed " + text)
        conn = self.conn_of(c)
        self.origin.wait_message(lambda m: m["data"] == "compressed " + text)
        self.assertEqual([(m["frames"], m["compressed"]) for m in conn.messages], [(5, False), (3, True)])

    def test_compressed_with_context_takeover(self):
        c = self.client(extensions=DEFLATE_OFFER)
        self.assertEqual(c.extension, "permessage-deflate")
        text = "the same sentence, long enough to compress well, said twice over " * 3
        c.send_text(text, compress=True)
        first = len(c.last_payload)
        self.assertEqual(c.recv_text(), "echo: " + text)
        c.send_text(text, compress=True)
        second = len(c.last_payload)
        self.assertEqual(c.recv_text(), "echo: " + text)
        # The kept context turns the repeat into a back-reference the origin must resolve.
        self.assertLess(second, first / 3)
        conn = self.conn_of(c)
        self.assertEqual([(m["data"], m["compressed"]) for m in conn.messages], [(text, True)] * 2)

    def test_compressed_without_context_takeover(self):
        origin = WsOrigin(client_no_context_takeover=True)
        self.addCleanup(origin.close)
        c = self.client(origin=origin, extensions=DEFLATE_OFFER)
        self.assertEqual(c.extension, "permessage-deflate; client_no_context_takeover")
        text = "each message compressed on its own, with a fresh window " * 3
        sizes = []
        for _ in range(3):
            c.send_text(text, compress=True)
            sizes.append(len(c.last_payload))
            self.assertEqual(c.recv_text(), "echo: " + text)
        self.assertEqual(len(set(sizes)), 1, sizes)
        conn = self.conn_of(c, origin)
        self.assertEqual([(m["data"], m["compressed"]) for m in conn.messages], [(text, True)] * 3)

    def test_deflate_declined_when_the_origin_says_so(self):
        origin = WsOrigin(deflate=False)
        self.addCleanup(origin.close)
        c = self.client(origin=origin, extensions=DEFLATE_OFFER)
        self.assertEqual(c.status, 101)
        self.assertIsNone(c.extension)
        self.assertEqual(self.conn_of(c, origin).offered_extensions, DEFLATE_OFFER)

    def test_binary_and_ping(self):
        c = self.client()
        c.send_binary(b"\x00\xffbinary\x80")
        c.send_ping(b"are you there")
        self.assertEqual(c.recv(), (OP_PONG, b"are you there"))
        conn = self.conn_of(c)
        m = self.origin.wait_message(lambda m: m["type"] == "binary" and m["conn"] == conn.id)
        self.assertEqual(m["data"], b"\x00\xffbinary\x80")
        self.assertEqual(conn.pings, [b"are you there"])
        self.assertNotIn(b"\x00\xffbinary\x80", self.origin.messages())

    def test_close_code_from_the_client(self):
        c = self.client()
        c.send_text("before closing")
        self.assertEqual(c.recv_text(), "echo: before closing")
        c.send_close(4001, "bye now")
        self.assertEqual(c.recv_close_code(), 4001)
        self.assertTrue(c.wait_eof())
        conn = self.origin.wait_closed(lambda conn: conn.header("Sec-WebSocket-Key") == c.key)
        self.assertEqual((conn.close_code, conn.close_reason), (4001, "bye now"))

    def test_close_on_a_message_from_the_origin(self):
        c = self.client()
        c.send_text("stop here")
        self.assertEqual(c.recv_close_code(), 1008)
        self.assertEqual(c.skipped, [])
        conn = self.origin.wait_closed(lambda conn: conn.header("Sec-WebSocket-Key") == c.key)
        self.assertEqual(conn.close_code, 1008)  # the client's answer
        self.assertEqual([m["data"] for m in conn.messages], ["stop here"])

    def test_origin_initiated_close_reaches_the_client(self):
        c = self.client()
        conn = self.conn_of(c)
        conn.send_text("server says hi")
        self.assertEqual(c.recv_text(), "server says hi")
        conn.send_close(1001, "going away")
        self.assertEqual(c.recv_close_code(), 1001)
        self.assertEqual(c.close_received, (1001, "going away"))

    def test_connection_ending_without_close_frame(self):
        c = self.client()
        conn = self.conn_of(c)
        c.close()
        ended = self.origin.wait_closed(lambda x: x is conn)
        self.assertIsNone(ended.close_code)

    def test_unmasked_client_frame_is_a_protocol_error(self):
        c = self.client()
        c.send_frame(0x1, b"not masked", mask=False)
        self.assertEqual(c.recv_close_code(), 1002)
        conn = self.origin.wait_closed(lambda x: x.header("Sec-WebSocket-Key") == c.key)
        self.assertEqual(conn.errors, ["unmasked client frame"])
        self.assertEqual(conn.messages, [])

    def test_refusals_and_the_page(self):
        c = self.client(path="/page")
        self.assertEqual(c.status, 404)
        self.assertEqual(c.body, b"no WebSocket endpoint here\n")
        with RawClient(self.origin.port) as r:
            r.send(b"GET /nothing HTTP/1.1\r\nHost: chat.test\r\n\r\n")
            status, _, _ = r.read_response()
            self.assertEqual(status, 404)
            r.send(("GET %s HTTP/1.1\r\nHost: chat.test\r\n\r\n" % page_path(["secret phrase"])).encode())
            status, headers, body = r.read_response()
            self.assertEqual(status, 200)
            self.assertIn(("Content-Type", "text/html; charset=utf-8"), headers)
            self.assertIn(b"new WebSocket(", body)
            self.assertNotIn(b"secret phrase", body)
            r.send(("GET %s HTTP/1.1\r\nHost: chat.test\r\n\r\n" % page_path(["a"], raw=True)).encode())
            self.assertEqual(r.read_response()[0], 200)

    def test_wss_direct(self):
        c = WsClient(None, "wss://chat.test:%d/secure" % self.tls_origin.port, ca_file=self.ca.ca_cert,
                     direct=True, extensions=DEFLATE_OFFER)
        self.addCleanup(c.close)
        self.assertEqual(c.status, 101)
        c.send_text("over tls", compress=True)
        self.assertEqual(c.recv_text(), "echo: over tls")
        conn = self.conn_of(c, self.tls_origin)
        self.assertEqual((conn.sni, conn.path), ("chat.test", "/secure"))

    def test_client_through_a_relay_uses_absolute_form_and_connect(self):
        for origin, scheme in ((self.origin, "ws"), (self.tls_origin, "wss")):
            relay = _Relay(origin.port)
            self.addCleanup(relay.close)
            url = "%s://chat.test:%d/relayed?x=1" % (scheme, origin.port)
            c = WsClient(relay.port, url, ca_file=self.ca.ca_cert, extensions=DEFLATE_OFFER)
            self.addCleanup(c.close)
            self.assertEqual(c.status, 101)
            if scheme == "ws":
                self.assertEqual(relay.lines, ["GET http://chat.test:%d/relayed?x=1 HTTP/1.1" % origin.port])
            else:
                self.assertEqual(c.connect_status, 200)
                self.assertEqual(relay.lines, ["CONNECT chat.test:%d HTTP/1.1" % origin.port])
            c.send_text("relayed " + scheme, fragments=2, compress=True)
            self.assertEqual(c.recv_text(), "echo: relayed " + scheme)
            conn = self.conn_of(c, origin)
            self.assertEqual(conn.target, "/relayed?x=1")

    def test_refused_connect_is_reported(self):
        with socket.socket() as s:
            s.bind((LOCAL, 0))
            s.listen(1)

            def refuse():
                c, _ = s.accept()
                with c:
                    c.recv(65536)
                    c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 7\r\n\r\nblocked")
            t = threading.Thread(target=refuse, daemon=True)
            t.start()
            c = WsClient(s.getsockname()[1], "wss://chat.test/x", ca_file=self.ca.ca_cert)
            self.addCleanup(c.close)
            t.join(10)
        self.assertEqual((c.connect_status, c.status, c.body), (403, 403, b"blocked"))


class ChromiumPageTest(unittest.TestCase):
    """Chromium loads the page straight from the origin (no proxy)."""

    @classmethod
    def setUpClass(cls):
        cls.origin = WsOrigin(close_on=lambda t: 1008 if t == "stop here" else None)
        cls.addClassCleanup(cls.origin.close)
        cls.home = tempfile.mkdtemp(prefix="hallpass-ws-chromium-")
        cls.addClassCleanup(shutil.rmtree, cls.home, True)

    def test_page_echoes_compressed_messages(self):
        messages = ["hello from chromium", "a second one, <b>tags</b> & \"quotes\"", "\u00fcnicode \u2603"]
        url = "http://127.0.0.1:%d%s" % (self.origin.port, page_path(messages))
        log, dom = chromium_page_log(url, self.home)
        self.assertEqual(log, ["open"] + ["echo: " + m for m in messages] + ["close 1000"], dom[-2000:])
        conn = self.origin.wait_closed(lambda c: [m["data"] for m in c.messages] == messages)
        self.assertIn("permessage-deflate", conn.offered_extensions)
        self.assertEqual(conn.extension, "permessage-deflate")
        self.assertEqual([m["compressed"] for m in conn.messages], [True] * 3)
        self.assertEqual(conn.close_code, 1000)
        self.assertEqual(conn.header("Origin"), "http://127.0.0.1:%d" % self.origin.port)

    def test_page_logs_a_policy_close(self):
        url = "http://127.0.0.1:%d%s" % (self.origin.port, page_path(["fine", "stop here"]))
        log, dom = chromium_page_log(url, self.home)
        self.assertEqual(log, ["open", "echo: fine", "close 1008"], dom[-2000:])

    def test_page_over_https_uses_wss(self):
        ca = TestCA(names=("chat.test",), cn="chat.test")
        self.addCleanup(ca.cleanup)
        origin = WsOrigin(tls_ca=ca)
        self.addCleanup(origin.close)
        home = tempfile.mkdtemp(prefix="hallpass-ws-chromium-tls-")
        self.addCleanup(shutil.rmtree, home, True)
        nssdb = os.path.join(home, ".pki", "nssdb")
        os.makedirs(nssdb)
        for cmd in (["-N", "--empty-password"], ["-A", "-t", "C,,", "-n", "ws-test", "-i", ca.ca_cert]):
            subprocess.run([CERTUTIL, "-d", "sql:" + nssdb, *cmd], check=True, env=clean_env(),
                           stdout=subprocess.DEVNULL, timeout=60)
        url = "https://chat.test:%d%s" % (origin.port, page_path(["secure hello"]))
        log, dom = chromium_page_log(url, home, extra_args=["--host-resolver-rules=MAP chat.test 127.0.0.1"])
        self.assertEqual(log, ["open", "echo: secure hello", "close 1000"], dom[-2000:])
        conn = origin.wait_closed(lambda c: c.path == "/chat")
        self.assertEqual(conn.sni, "chat.test")
        self.assertEqual([(m["data"], m["compressed"]) for m in conn.messages], [("secure hello", True)])


if __name__ == "__main__":
    unittest.main()
