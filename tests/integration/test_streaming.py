"""Responses stream: each piece the server sends reaches the client before the server sends
the next. Server-sent events, long polls and progress pages depend on it.

The upstream here sends a response head and a first piece, then waits until the test has
seen that piece arrive through the proxy before it sends the rest. A proxy that held pieces
back (to fill a buffer, or until the end) never lets the test see the first piece, and the
test fails on its read timeout instead of hanging.
"""

import socket
import threading
import unittest

from harness import ConnectionServer, ProxyTestCase, RawClient

PIECE_TIMEOUT = 10.0


class PacedUpstream(ConnectionServer):
    """Answers each request with `framing`'s response in pieces; piece i+1 is sent only once
    `release` has been set for it by the test."""

    def __init__(self, pieces):
        self.pieces = pieces
        self.releases = []
        self.errors = []
        super().__init__()

    def serve(self, c):
        c.settimeout(PIECE_TIMEOUT * 3)
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(4096)
                if not chunk:
                    return
                data += chunk
            path = data.split(b" ", 2)[1].decode()
            framing = path.strip("/")
            release = [threading.Event() for _ in self.pieces]
            self.releases.append((framing, release))
            c.sendall(self._head(framing))
            for i, piece in enumerate(self.pieces):
                if i > 0 and not release[i].wait(PIECE_TIMEOUT * 2):
                    self.errors.append("%s: piece %d never released" % (framing, i))
                    return
                c.sendall(self._encode(framing, piece))
            if framing == "chunked":
                c.sendall(b"0\r\n\r\n")
        except OSError as e:
            self.errors.append(str(e))
        finally:
            c.close()

    def _head(self, framing):
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        if framing == "chunked":
            head += b"Transfer-Encoding: chunked\r\n"
        elif framing == "length":
            head += b"Content-Length: %d\r\n" % sum(len(p) for p in self.pieces)
        else:
            head += b"Connection: close\r\n"
        return head + b"\r\n"

    @staticmethod
    def _encode(framing, piece):
        if framing == "chunked":
            return b"%x\r\n%s\r\n" % (len(piece), piece)
        return piece

    def release_for(self, framing):
        for name, release in self.releases:
            if name == framing:
                return release
        raise AssertionError("the upstream never got the %s request" % framing)


class StreamedResponseTest(ProxyTestCase):
    pieces = [b"data: first\n\n", b"data: second\n\n", b"data: third\n\n"]

    @classmethod
    def setUpClass(cls):
        cls.upstream = PacedUpstream(cls.pieces)
        cls.addClassCleanup(cls.upstream.close)
        cls.proxy = cls.start_proxy({"upstream": {"resolve": {"events.test": cls.upstream.addr}}})

    def read_until(self, client, needle):
        while needle not in client.buf:
            client._fill()

    def stream(self, framing):
        with RawClient(self.proxy.port, timeout=PIECE_TIMEOUT) as c:
            c.send(b"GET http://events.test/%s HTTP/1.1\r\nHost: events.test\r\n\r\n" % framing.encode())
            status, _, _ = c.read_head()
            self.assertEqual(status, 200)
            for i, piece in enumerate(self.pieces):
                if i > 0:
                    self.upstream.release_for(framing)[i].set()
                try:
                    self.read_until(c, piece)
                except socket.timeout:
                    self.fail("%s: piece %d did not reach the client while the server waited for it"
                              % (framing, i))
        self.assertEqual(self.upstream.errors, [])

    def test_chunked_response_pieces_arrive_as_sent(self):
        self.stream("chunked")

    def test_content_length_response_pieces_arrive_as_sent(self):
        self.stream("length")

    def test_close_delimited_response_pieces_arrive_as_sent(self):
        self.stream("close")


if __name__ == "__main__":
    unittest.main()
