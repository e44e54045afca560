"""WebSocket test peers for the Hallpass integration tests (standard library only).

* ``WsOrigin`` -- a recording RFC 6455 server on 127.0.0.1:0 (TLS with a ``harness.TestCA``
  when given one). Non-upgrade ``GET /page?...`` returns an HTML page whose script opens a
  WebSocket back to the same host on ``/chat``, sends messages and logs what happens into
  ``<pre id="log">``; ``/_hold`` and ``/_release`` serve that page (below); every other
  non-upgrade request gets 404. An upgrade on any path but those is accepted,
  ``permessage-deflate`` is negotiated when offered, each text message is echoed back as
  ``"echo: <text>"``, and everything received is recorded.
* ``WsClient`` -- a raw client that drives the proxy: absolute-form ``ws://`` upgrades as
  plain HTTP, ``wss://`` upgrades inside a CONNECT tunnel, or (``direct=True``) straight to
  the origin.
* ``chromium_page_log()`` -- runs headless Chromium on a page and returns the lines it logged.

How headless Chromium is made to wait for WebSocket traffic: ``--dump-dom`` dumps once the
page's ``load`` event has fired, and that event waits for every image the document has
started. The page carries ``<img src="/_hold?t=TOKEN">``, which the origin does not answer
until the page's script requests ``/_release?t=TOKEN`` -- which it does from ``onclose``,
after logging ``close <code>``. So the dump happens after the WebSocket closed (or after
``hold_timeout`` seconds if the script never gets that far: the log then shows how far it
got). No sleeps, no virtual time: ``--virtual-time-budget`` does not wait for WebSocket
traffic (checked on Chromium 156: with the echo delayed 2 s and a 60 s budget the dump came
after 2.5 s holding only "open").

Chromium through an HTTP proxy does not send a ``ws://`` upgrade in absolute form: it opens
``CONNECT host:80`` and sends the origin-form upgrade inside the tunnel (``wss://``: CONNECT
host:443 and TLS, as for https). Only ``WsClient`` sends the absolute form.

Synchronisation is on ``threading.Condition``s; every blocking wait has a timeout.
"""

import base64
import hashlib
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
import urllib.parse
import zlib

from harness import DEFAULT_TIMEOUT, LOCAL, RawClient

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
DEFLATE_TAIL = b"\x00\x00\xff\xff"
MAX_MESSAGE = 16 * 1024 * 1024


def accept_key(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def parse_extensions(value):
    """``"a; x=1; y, b"`` -> ``[("a", {"x": "1", "y": None}), ("b", {})]``."""
    out = []
    for offer in (value or "").split(","):
        parts = [p.strip() for p in offer.split(";")]
        if not parts[0]:
            continue
        params = {}
        for p in parts[1:]:
            if not p:
                continue
            k, eq, v = p.partition("=")
            params[k.strip().lower()] = v.strip().strip('"') if eq else None
        out.append((parts[0].lower(), params))
    return out


def encode_frame(opcode, payload, fin=True, rsv1=False, mask=True):
    """One frame; a client's frames are masked with a fresh random key."""
    payload = bytes(payload)
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (opcode & 0x0F)
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + _xor(payload, key)


def _xor(data, key):
    if not data:
        return b""
    k = (key * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(len(data), "big")


def close_payload(code, reason=""):
    return struct.pack("!H", code) + reason.encode("utf-8") if code is not None else b""


class _FrameReader:
    """Reads frames from a socket; ``buf`` may hold bytes read with the HTTP head."""

    def __init__(self, sock, buf=b""):
        self.sock = sock
        self.buf = bytearray(buf)

    def _exact(self, n):
        while len(self.buf) < n:
            b = self.sock.recv(max(65536, n - len(self.buf)))
            if not b:
                raise EOFError("connection closed mid-frame" if self.buf else "connection closed")
            self.buf += b
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def frame(self):
        """(fin, rsv1, rsv23, opcode, masked, payload) with the payload unmasked."""
        b0, b1 = self._exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._exact(8))[0]
        if n > MAX_MESSAGE:
            raise ValueError("frame of %d bytes is over the test limit" % n)
        masked = bool(b1 & 0x80)
        key = self._exact(4) if masked else None
        payload = self._exact(n)
        if masked:
            payload = _xor(payload, key)
        return bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x30, b0 & 0x0F, masked, payload


# ---------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------

class WsConnection:
    """One accepted WebSocket connection as the origin saw it.

    Fields (read them under ``origin.cond`` or from a snapshot once ``ended``):
    ``id``, ``path``, ``target`` (the request-target as received), ``headers`` (list of
    (name, value) in arrival order), ``offered_extensions`` (the request's header value or
    None), ``extension`` (what the origin answered, or None), ``messages`` (list of dicts:
    ``type`` "text"/"binary", ``data`` str/bytes, ``compressed`` (RSV1 was set), ``frames``
    (how many frames carried it)), ``pings`` (payloads), ``close_code`` / ``close_reason``
    (what the peer's close frame said; None if it sent none), ``errors`` (protocol errors
    the origin closed for), ``ended`` (the TCP connection is over), ``sni`` (TLS only).
    """

    def __init__(self, origin, conn_id, sock, target, headers):
        self.origin = origin
        self.id = conn_id
        self.sock = sock
        self.target = target
        self.path = urllib.parse.urlsplit(target).path
        self.headers = headers
        self.offered_extensions = None
        self.extension = None
        self.messages = []
        self.pings = []
        self.close_code = None
        self.close_reason = None
        self.errors = []
        self.ended = False
        self.sni = None
        self._send_lock = threading.Lock()
        self._close_sent = False

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def texts(self):
        with self.origin.cond:
            return [m["data"] for m in self.messages if m["type"] == "text"]

    # Server frames are never masked.
    def send_frame(self, opcode, payload, fin=True, rsv1=False):
        with self._send_lock:
            self.sock.sendall(encode_frame(opcode, payload, fin, rsv1, mask=False))

    def send_text(self, text):
        self.send_frame(OP_TEXT, text.encode("utf-8"))

    def send_binary(self, data):
        self.send_frame(OP_BINARY, data)

    def send_ping(self, data=b""):
        self.send_frame(OP_PING, data)

    def send_close(self, code=1000, reason=""):
        """Start the closing handshake from the origin's side."""
        with self._send_lock:
            if self._close_sent:
                return
            self._close_sent = True
            try:
                self.sock.sendall(encode_frame(OP_CLOSE, close_payload(code, reason), mask=False))
            except OSError:
                pass

    def __repr__(self):
        return "WsConnection(id=%d, path=%r, extension=%r, messages=%d, close_code=%r, ended=%r)" % (
            self.id, self.path, self.extension, len(self.messages), self.close_code, self.ended)


class WsOrigin:
    """A threaded WebSocket (and page) server on 127.0.0.1:0.

    ``tls_ca``: a ``harness.TestCA``; when given, every connection is TLS with its
    certificate (the SNI is recorded). ``client_no_context_takeover``: answer an offer of
    permessage-deflate with ``permessage-deflate; client_no_context_takeover`` (and inflate
    each message with a fresh context) instead of plain ``permessage-deflate``.
    ``deflate``: False to decline permessage-deflate. ``close_on``: a callable given each
    text message; when it returns a close code the origin sends that close frame instead of
    the echo (a stand-in for the proxy's 1008 in self-tests). ``hold_timeout``: the longest the
    page's ``/_hold`` image is held (see the module docstring).

    HTTP endpoints (non-upgrade GET): ``/page?b64=<base64url JSON list>`` or
    ``/page?messages=<urlencoded JSON list>`` (see ``page_path``), ``/_hold?t=``,
    ``/_release?t=``; anything else is 404. ``requests`` records every HTTP request head
    as (method, target, headers).
    """

    def __init__(self, tls_ca=None, client_no_context_takeover=False, deflate=True,
                 close_on=None, hold_timeout=30.0):
        self.client_no_context_takeover = client_no_context_takeover
        self.close_on = close_on
        self.deflate = deflate
        self.hold_timeout = hold_timeout
        self.cond = threading.Condition()
        self._conns = []
        self._texts = []
        self.requests = []
        self._released = set()
        self._open = []
        self._closing = False
        self.ctx = None
        if tls_ca is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_ca.cert, tls_ca.key)
            ctx.set_alpn_protocols(["http/1.1"])
            ctx.sni_callback = lambda s, name, _c: setattr(s, "ws_sni", name)
            self.ctx = ctx
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOCAL, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    # -- observations ----------------------------------------------------------------
    @property
    def connections(self):
        """A snapshot list of every WebSocket connection accepted so far."""
        with self.cond:
            return list(self._conns)

    def messages(self):
        """Every text message received, across connections, in arrival order."""
        with self.cond:
            return list(self._texts)

    def _wait(self, find, timeout, what):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = find()
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("WsOrigin: timed out after %.1fs waiting for %s; connections: %r"
                                         % (timeout, what, self._conns))
                self.cond.wait(left)

    def wait_message(self, predicate=lambda m: True, timeout=DEFAULT_TIMEOUT):
        """Wait for a received message (dict, see WsConnection; plus ``conn``) matching
        ``predicate``; returns it."""
        def find():
            for c in self._conns:
                for m in c.messages:
                    if predicate(m):
                        return m
            return None
        return self._wait(find, timeout, "a matching message")

    def wait_closed(self, predicate=lambda c: True, timeout=DEFAULT_TIMEOUT):
        """Wait for a WebSocket connection that has ended and matches ``predicate``."""
        def find():
            for c in self._conns:
                if c.ended and predicate(c):
                    return c
            return None
        return self._wait(find, timeout, "an ended connection")

    def wait_connection(self, predicate=lambda c: True, timeout=DEFAULT_TIMEOUT):
        """Wait for an accepted (upgraded) connection matching ``predicate``."""
        def find():
            for c in self._conns:
                if predicate(c):
                    return c
            return None
        return self._wait(find, timeout, "an upgraded connection")

    # -- serving ---------------------------------------------------------------------
    def _accept_loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.cond:
                if self._closing:
                    c.close()
                    return
                self._open.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, sock):
        sni = None
        try:
            sock.settimeout(60)
            if self.ctx is not None:
                sock = self.ctx.wrap_socket(sock, server_side=True)
                sni = getattr(sock, "ws_sni", None)
                with self.cond:
                    self._open.append(sock)
            rest = b""
            while True:
                head, rest = self._next_head(sock, rest)
                if head is None:
                    return
                lines = head.decode("iso-8859-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    self._respond(sock, 400, b"bad request line\n", close=True)
                    return
                method, target, _version = parts
                headers = []
                for l in lines[1:]:
                    k, sep, v = l.partition(":")
                    if sep:
                        headers.append((k.strip(), v.strip()))
                with self.cond:
                    self.requests.append((method, target, headers))
                    self.cond.notify_all()
                h = {}
                for k, v in headers:
                    h.setdefault(k.lower(), v)
                if "websocket" in h.get("upgrade", "").lower():
                    self._upgrade(sock, method, target, headers, h, rest, sni)
                    return
                if int(h.get("content-length", "0") or 0) or "transfer-encoding" in h:
                    self._respond(sock, 400, b"no request bodies here\n", close=True)
                    return
                if not self._http(sock, method, target):
                    return
        except (OSError, EOFError, ValueError, ssl.SSLError):
            return
        finally:
            try:
                sock.close()
            except OSError:
                pass

    @staticmethod
    def _next_head(sock, rest):
        buf = rest
        while b"\r\n\r\n" not in buf:
            if len(buf) > 65536:
                raise ValueError("request head too large")
            b = sock.recv(65536)
            if not b:
                return None, b""
            buf += b
        head, _, rest = buf.partition(b"\r\n\r\n")
        return head, rest

    @staticmethod
    def _respond(sock, status, body, ctype="text/plain; charset=utf-8", close=False, extra=()):
        reason = {200: "OK", 204: "No Content", 400: "Bad Request", 404: "Not Found",
                  405: "Method Not Allowed"}.get(status, "Status")
        lines = ["HTTP/1.1 %d %s" % (status, reason), "Content-Type: " + ctype,
                 "Content-Length: %d" % len(body), "Cache-Control: no-store"]
        lines += ["%s: %s" % e for e in extra]
        if close:
            lines.append("Connection: close")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1") + body)

    def _http(self, sock, method, target):
        """Answer one non-upgrade request; returns False when the connection must close."""
        u = urllib.parse.urlsplit(target)
        q = urllib.parse.parse_qs(u.query)
        if method != "GET":
            self._respond(sock, 405, b"GET only\n", close=True)
            return False
        if u.path.startswith("/page"):
            try:
                messages = _page_messages(q)
            except (ValueError, TypeError) as e:
                self._respond(sock, 400, ("bad messages: %s\n" % e).encode())
                return True
            token = base64.urlsafe_b64encode(os.urandom(12)).decode("ascii")
            self._respond(sock, 200, page_html(messages, token), "text/html; charset=utf-8")
        elif u.path == "/_hold":
            token = q.get("t", [""])[0]
            deadline = time.monotonic() + self.hold_timeout
            with self.cond:
                while token not in self._released and not self._closing:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self.cond.wait(left)
            self._respond(sock, 200, _GIF, "image/gif")
        elif u.path == "/_release":
            with self.cond:
                self._released.add(q.get("t", [""])[0])
                self.cond.notify_all()
            self._respond(sock, 200, _GIF, "image/gif")
        else:
            self._respond(sock, 404, b"not found\n")
        return True

    def _upgrade(self, sock, method, target, headers, h, rest, sni):
        if _is_http_path(urllib.parse.urlsplit(target).path):
            self._respond(sock, 404, b"no WebSocket endpoint here\n", close=True)
            return
        key = h.get("sec-websocket-key", "")
        conn_tokens = [t.strip().lower() for t in h.get("connection", "").split(",")]
        version = h.get("sec-websocket-version")
        if method != "GET" or "upgrade" not in conn_tokens or not key or version != "13":
            self._respond(sock, 400, b"not a valid WebSocket upgrade\n", close=True)
            return
        with self.cond:
            conn = WsConnection(self, len(self._conns) + 1, sock, target, headers)
        conn.sni = sni
        conn.offered_extensions = h.get("sec-websocket-extensions")
        deflate = None
        if self.deflate:
            for name, params in parse_extensions(conn.offered_extensions):
                if name == "permessage-deflate":
                    deflate = params
                    break
        resp = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
                "Sec-WebSocket-Accept: " + accept_key(key)]
        no_takeover = False
        if deflate is not None:
            ext = "permessage-deflate"
            if self.client_no_context_takeover:
                ext += "; client_no_context_takeover"
                no_takeover = True
            # We never compress, so any limit on the server's window is fine to accept;
            # RFC 7692 7.1.2.1 wants an offered server_max_window_bits echoed.
            if "server_max_window_bits" in deflate and deflate["server_max_window_bits"]:
                ext += "; server_max_window_bits=" + deflate["server_max_window_bits"]
            conn.extension = ext
            resp.append("Sec-WebSocket-Extensions: " + ext)
        with self.cond:
            self._conns.append(conn)
            self.cond.notify_all()
        try:
            sock.sendall(("\r\n".join(resp) + "\r\n\r\n").encode("iso-8859-1"))
            self._frames(conn, _FrameReader(sock, rest), deflate is not None, no_takeover)
        finally:
            with self.cond:
                conn.ended = True
                self.cond.notify_all()

    def _protocol_error(self, conn, code, why):
        with self.cond:
            conn.errors.append(why)
            self.cond.notify_all()
        conn.send_close(code, why[:100])

    def _frames(self, conn, reader, deflate, no_takeover):
        inflater = zlib.decompressobj(-15)
        parts, first_op, compressed, frames = [], None, False, 0
        while True:
            try:
                fin, rsv1, rsv23, op, masked, payload = reader.frame()
            except (EOFError, OSError, ValueError):
                return
            if not masked:
                return self._protocol_error(conn, 1002, "unmasked client frame")
            if rsv23 or (rsv1 and (not deflate or op in (OP_CONT,) or op >= 0x8)):
                return self._protocol_error(conn, 1002, "unexpected RSV bit on opcode %d" % op)
            if op >= 0x8:
                if not fin or len(payload) > 125:
                    return self._protocol_error(conn, 1002, "bad control frame")
                if op == OP_PING:
                    with self.cond:
                        conn.pings.append(payload)
                        self.cond.notify_all()
                    conn.send_frame(OP_PONG, payload)
                elif op == OP_CLOSE:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    with self.cond:
                        conn.close_code = code
                        conn.close_reason = payload[2:].decode("utf-8", "replace")
                        self.cond.notify_all()
                    conn.send_close(code if code not in (None, 1005, 1006, 1015) else 1000)
                    try:
                        conn.sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                elif op != OP_PONG:
                    return self._protocol_error(conn, 1002, "unknown opcode %d" % op)
                continue
            if op == OP_CONT:
                if first_op is None:
                    return self._protocol_error(conn, 1002, "continuation without a message")
            else:
                if first_op is not None:
                    return self._protocol_error(conn, 1002, "new message inside a fragmented one")
                if op not in (OP_TEXT, OP_BINARY):
                    return self._protocol_error(conn, 1002, "unknown opcode %d" % op)
                first_op, compressed = op, rsv1
            parts.append(payload)
            frames += 1
            if not fin:
                continue
            data = b"".join(parts)
            if compressed:
                if no_takeover:
                    inflater = zlib.decompressobj(-15)
                try:
                    data = inflater.decompress(data + DEFLATE_TAIL)
                except zlib.error as e:
                    return self._protocol_error(conn, 1002, "bad deflate data: %s" % e)
            msg = {"conn": conn.id, "type": "text" if first_op == OP_TEXT else "binary",
                   "data": data, "compressed": compressed, "frames": frames}
            if first_op == OP_TEXT:
                try:
                    msg["data"] = data.decode("utf-8")
                except UnicodeDecodeError:
                    return self._protocol_error(conn, 1007, "text message is not UTF-8")
            with self.cond:
                conn.messages.append(msg)
                if first_op == OP_TEXT:
                    self._texts.append(msg["data"])
                self.cond.notify_all()
            if first_op == OP_TEXT:
                code = self.close_on(msg["data"]) if self.close_on else None
                try:
                    if code is not None:
                        conn.send_close(code)
                    else:
                        conn.send_text("echo: " + msg["data"])
                except OSError:
                    return
            parts, first_op, compressed, frames = [], None, False, 0

    def close(self):
        with self.cond:
            self._closing = True
            opened = list(self._open)
            self.cond.notify_all()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in opened:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False


# ---------------------------------------------------------------------------------------
# The page Chromium loads
# ---------------------------------------------------------------------------------------

_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _is_http_path(path):
    return path.startswith("/page") or path in ("/_hold", "/_release")


def page_path(messages, raw=False):
    """``/page?...`` for a list of messages.

    By default the list travels as ``b64=`` (base64url of the JSON) so a phrase under test
    appears neither in the URL nor in the page the proxy relays -- only in the WebSocket
    message. ``raw=True`` gives ``messages=<urlencoded JSON>`` instead.
    """
    js = json.dumps(list(messages))
    if raw:
        return "/page?messages=" + urllib.parse.quote(js, safe="")
    return "/page?b64=" + base64.urlsafe_b64encode(js.encode("utf-8")).decode("ascii")


def _page_messages(q):
    if "b64" in q:
        js = base64.urlsafe_b64decode(q["b64"][0].encode("ascii")).decode("utf-8")
    else:
        js = q.get("messages", ["[]"])[0]
    messages = json.loads(js)
    if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
        raise ValueError("want a JSON list of strings")
    return messages


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>websocket page</title></head>
<body>
<pre id="log"></pre>
<img id="hold" src="/_hold?t=%(token)s" width="1" height="1" alt="">
<script>
(function () {
  var log = document.getElementById("log");
  function line(s) { log.appendChild(document.createTextNode(s + "\\n")); }
  var finished = false;
  // The origin holds the image above until this request arrives; the load event (and
  // so --dump-dom) waits for it.
  function finish() {
    if (finished) return;
    finished = true;
    var img = new Image();
    img.src = "/_release?t=%(token)s";
    document.body.appendChild(img);
  }
  var b64 = "%(b64)s", bin = atob(b64), bytes = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  var messages = JSON.parse(new TextDecoder("utf-8").decode(bytes));
  var ws, echoes = 0;
  try {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/chat");
  } catch (e) {
    line("error " + e);
    finish();
    return;
  }
  ws.onopen = function () {
    line("open");
    for (var i = 0; i < messages.length; i++) ws.send(messages[i]);
    if (!messages.length) ws.close(1000, "done");
  };
  ws.onmessage = function (ev) {
    line(String(ev.data));
    echoes++;
    if (echoes === messages.length) ws.close(1000, "done");
  };
  ws.onerror = function () { line("error"); };
  ws.onclose = function (ev) { line("close " + ev.code); finish(); };
})();
</script>
</body></html>
"""


def page_html(messages, token):
    """The page: messages travel base64-encoded so no phrase under test is in the HTML."""
    b64 = base64.b64encode(json.dumps(list(messages)).encode("utf-8")).decode("ascii")
    return (_PAGE % {"token": token, "b64": b64}).encode("utf-8")


def parse_page_log(dom):
    """The lines the page logged into ``<pre id="log">`` of a dumped DOM (unescaped)."""
    start = dom.find('<pre id="log">')
    if start < 0:
        return []
    end = dom.find("</pre>", start)
    text = dom[start + len('<pre id="log">'):end if end >= 0 else len(dom)]
    for a, b in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&nbsp;", "\xa0"),
                 ("&amp;", "&")):
        text = text.replace(a, b)
    return [l for l in text.split("\n") if l]


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def chromium_dump_dom(url, home, proxy_port=None, extra_args=(), timeout=90):
    """Run headless Chromium (the flags of test_browser.QUIET) with ``--dump-dom`` on
    ``url``; through ``127.0.0.1:proxy_port`` when given. ``HOME`` is ``home`` (its NSS
    database is what Chromium trusts). Returns the DOM; raises AssertionError on failure."""
    from test_browser import QUIET  # the flags that keep Chromium off the internet
    cmd = [CHROMIUM, *QUIET, "--user-data-dir=" + os.path.join(home, "profile")]
    if proxy_port is not None:
        cmd.append("--proxy-server=http://127.0.0.1:%d" % proxy_port)
    cmd += [*extra_args, "--dump-dom", url]
    env = dict(os.environ, HOME=home)
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("chromium did not finish within %ss: %s" % (timeout, url))
    if done.returncode != 0:
        raise AssertionError("chromium exited %d: %s" % (done.returncode,
                                                          done.stderr.decode(errors="replace")[-2000:]))
    return done.stdout.decode(errors="replace")


def chromium_page_log(url, home, proxy_port=None, extra_args=(), timeout=90):
    """(log lines, dom) for a ``/page`` URL loaded in headless Chromium."""
    dom = chromium_dump_dom(url, home, proxy_port, extra_args, timeout)
    return parse_page_log(dom), dom


# ---------------------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------------------

class WsClient:
    """A raw WebSocket client driving the proxy at 127.0.0.1:``proxy_port``.

    ``ws://host[:port]/path``: ``GET http://host[:port]/path HTTP/1.1`` (absolute form) to
    the proxy. ``wss://host[:port]/path``: ``CONNECT host:port`` (443 unless given), 200
    expected, TLS with ``ca_file`` and SNI ``host``, then the origin-form upgrade.
    ``direct=True``: no proxy; connect to 127.0.0.1:<url port> and send the origin form
    (TLS for wss, as above).

    After construction: ``status`` (101, or the refusal status of the upgrade -- or of the
    CONNECT, then ``connect_status`` says so), ``response_headers`` ([(name, value)]),
    ``body`` (a refusal's body), ``extension`` (the answered Sec-WebSocket-Extensions or
    None), ``key`` (the Sec-WebSocket-Key sent), ``last_payload`` (the last message's
    payload as framed: compressed bytes when compressed). Messages the peer sends compressed are
    inflated by ``recv``.
    """

    def __init__(self, proxy_port, url, extensions=None, ca_file=None, source=None, timeout=10,
                 direct=False, headers=()):
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("ws", "wss"):
            raise ValueError("want a ws:// or wss:// URL, got %r" % url)
        self.url = url
        self.tls = u.scheme == "wss"
        self.host = u.hostname
        self.port = u.port or (443 if self.tls else 80)
        path = (u.path or "/") + ("?" + u.query if u.query else "")
        default_port = self.port == (443 if self.tls else 80)
        hostport = self.host if default_port else "%s:%d" % (self.host, self.port)
        self.timeout = timeout
        self.status = None
        self.connect_status = None
        self.response_headers = []
        self.body = b""
        self.extension = None
        self.key = base64.b64encode(os.urandom(16)).decode("ascii")
        self.close_sent = False
        self.close_received = None  # (code, reason) once a close frame arrived
        self.last_payload = None
        self._deflater = None
        self._inflater = zlib.decompressobj(-15)
        self._client_wbits = 15
        self._client_reset = False
        self._server_reset = False
        self._send_lock = threading.Lock()

        self.raw = RawClient(self.port if direct else proxy_port, source=source, timeout=timeout)
        if self.tls:
            if not direct:
                target = "%s:%d" % (self.host, self.port)
                self.raw.send(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
                st, hdrs, _ = self.raw.read_head()
                self.connect_status = st
                if st != 200:
                    self.status, self.response_headers = st, hdrs
                    self.body = self._read_refusal_body(hdrs)
                    return
                if self.raw.buf:
                    raise AssertionError("bytes after the CONNECT response: %r" % self.raw.buf[:100])
            ctx = ssl.create_default_context(cafile=ca_file)
            ctx.set_alpn_protocols(["http/1.1"])
            self.raw.sock = ctx.wrap_socket(self.raw.sock, server_hostname=self.host)
            target = path
        else:
            target = path if direct else "http://%s%s" % (hostport, path)
        lines = ["GET %s HTTP/1.1" % target, "Host: " + hostport, "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Key: " + self.key, "Sec-WebSocket-Version: 13"]
        if extensions:
            lines.append("Sec-WebSocket-Extensions: " + extensions)
        lines += ["%s: %s" % h for h in headers]
        self.raw.send(("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1"))
        st, hdrs, _ = self.raw.read_head()
        self.status, self.response_headers = st, hdrs
        if st != 101:
            self.body = self._read_refusal_body(hdrs)
            return
        accept = self.header("Sec-WebSocket-Accept")
        if accept != accept_key(self.key):
            raise AssertionError("bad Sec-WebSocket-Accept %r (want %r)" % (accept, accept_key(self.key)))
        self.extension = self.header("Sec-WebSocket-Extensions")
        for name, params in parse_extensions(self.extension):
            if name == "permessage-deflate":
                self._client_reset = "client_no_context_takeover" in params
                self._server_reset = "server_no_context_takeover" in params
                if params.get("client_max_window_bits"):
                    self._client_wbits = max(9, int(params["client_max_window_bits"]))
        self._reader = _FrameReader(self.raw.sock, self.raw.buf)
        self.raw.buf = b""

    def header(self, name, default=None):
        for k, v in self.response_headers:
            if k.lower() == name.lower():
                return v
        return default

    @property
    def deflate_negotiated(self):
        return any(n == "permessage-deflate" for n, _ in parse_extensions(self.extension))

    def _read_refusal_body(self, hdrs):
        """A refusal's body: by Content-Length, chunked, or up to EOF (bounded by the timeout)."""
        h = {k.lower(): v for k, v in hdrs}
        try:
            if "chunked" in h.get("transfer-encoding", "").lower() or "content-length" in h:
                return self._body_after_head(h)
            data = self.raw.buf
            self.raw.buf = b""
            while True:
                b = self.raw.sock.recv(65536)
                if not b:
                    return data
                data += b
        except (OSError, EOFError):
            return b""

    def _body_after_head(self, h):
        if "content-length" in h:
            return self.raw.read_exact(int(h["content-length"]))
        body = b""
        while True:
            while b"\r\n" not in self.raw.buf:
                self.raw._fill()
            line, _, self.raw.buf = self.raw.buf.partition(b"\r\n")
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                return body
            body += self.raw.read_exact(size)
            self.raw.read_exact(2)

    # -- sending ---------------------------------------------------------------------
    def send_raw(self, data):
        with self._send_lock:
            self.raw.sock.sendall(data)

    def send_frame(self, opcode, payload, fin=True, rsv1=False, mask=True):
        """One frame exactly as given (for protocol tests: unmasked, interleaved, ...)."""
        self.send_raw(encode_frame(opcode, payload, fin, rsv1, mask))

    def _compress(self, payload):
        if self._deflater is None or self._client_reset:
            self._deflater = zlib.compressobj(6, zlib.DEFLATED, -self._client_wbits)
        data = self._deflater.compress(payload) + self._deflater.flush(zlib.Z_SYNC_FLUSH)
        if data.endswith(DEFLATE_TAIL):
            data = data[:-4]
        return data

    def _send_message(self, opcode, payload, fragments, compress):
        data = self._compress(payload) if compress else bytes(payload)
        self.last_payload = data  # the message's payload on the wire (compressed or not)
        n = max(1, int(fragments))
        size = -(-len(data) // n) if data else 0
        pieces = [data[i * size:(i + 1) * size] for i in range(n)] if size else [b""] * n
        out = b""
        for i, piece in enumerate(pieces):
            out += encode_frame(opcode if i == 0 else OP_CONT, piece, fin=(i == n - 1),
                                rsv1=(compress and i == 0))
        self.send_raw(out)

    def send_text(self, text, fragments=1, compress=False):
        """A masked text message in ``fragments`` frames; ``compress``: permessage-deflate
        (RSV1 on the first frame; the context is kept across messages unless the answer
        said client_no_context_takeover). Sent even if deflate was not negotiated."""
        self._send_message(OP_TEXT, text.encode("utf-8"), fragments, compress)

    def send_binary(self, data, fragments=1, compress=False):
        self._send_message(OP_BINARY, data, fragments, compress)

    def send_ping(self, data=b""):
        self.send_frame(OP_PING, data)

    def send_close(self, code=1000, reason=""):
        if not self.close_sent:
            self.close_sent = True
            self.send_frame(OP_CLOSE, close_payload(code, reason))

    # -- receiving -------------------------------------------------------------------
    def recv(self, timeout=None):
        """The next message or control frame as (opcode, payload bytes); fragments are
        joined and compressed messages inflated. None on EOF or reset. Raises
        socket.timeout when nothing arrives within ``timeout`` (default: the client's)."""
        self.raw.sock.settimeout(timeout or self.timeout)
        parts, first_op, compressed = [], None, False
        try:
            while True:
                fin, rsv1, _rsv23, op, masked, payload = self._reader.frame()
                if masked:
                    raise AssertionError("the peer sent a masked frame (server frames must not be)")
                if op >= 0x8:
                    if op == OP_CLOSE:
                        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                        self.close_received = (code, payload[2:].decode("utf-8", "replace"))
                    return op, payload
                if op != OP_CONT:
                    first_op, compressed = op, rsv1
                parts.append(payload)
                if fin:
                    data = b"".join(parts)
                    if compressed:
                        if self._server_reset:
                            self._inflater = zlib.decompressobj(-15)
                        data = self._inflater.decompress(data + DEFLATE_TAIL)
                    return first_op, data
        except (EOFError, ConnectionResetError, ssl.SSLEOFError):
            return None
        except ssl.SSLError as e:
            if "EOF" in str(e) or "closed" in str(e).lower():
                return None
            raise
        finally:
            try:
                self.raw.sock.settimeout(self.timeout)
            except OSError:
                pass

    def recv_text(self, timeout=None):
        """The next text message as str, answering pings and skipping pongs; raises
        AssertionError on a close frame, EOF or a binary message."""
        while True:
            got = self.recv(timeout)
            if got is None:
                raise AssertionError("connection closed while waiting for a text message")
            op, payload = got
            if op == OP_PING:
                self.send_frame(OP_PONG, payload)
            elif op == OP_PONG:
                continue
            elif op == OP_TEXT:
                return payload.decode("utf-8")
            else:
                raise AssertionError("wanted a text message, got opcode %d %r" % (op, payload[:200]))

    def recv_close_code(self, timeout=None):
        """Read until the peer's close frame and return its code (1005 when it carried
        none); answers it with a close frame. None if the connection ends without one.
        Data frames before it are skipped (kept in ``skipped``)."""
        self.skipped = []
        while True:
            got = self.recv(timeout)
            if got is None:
                return None
            op, payload = got
            if op == OP_CLOSE:
                try:
                    self.send_close(self.close_received[0] if self.close_received[0] not in
                                    (1005, 1006, 1015) else 1000)
                except OSError:
                    pass
                return self.close_received[0]
            self.skipped.append((op, payload))

    def wait_eof(self, timeout=None):
        """True when the peer ends the TCP connection (EOF or reset) within ``timeout``;
        frames that arrive first are skipped."""
        try:
            while self.recv(timeout) is not None:
                pass
        except socket.timeout:
            return False
        return True

    def close(self):
        """Close the socket (no closing handshake; ``send_close`` for that)."""
        self.raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False
