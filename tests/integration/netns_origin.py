"""Servers for the transparent-gateway tests, run INSIDE a network namespace.

    ip netns exec NS python3 netns_origin.py --log FILE [listeners...]

Listeners (each repeatable, ADDR is an IPv4 or IPv6 literal):
  --http ADDR PORT     HTTP/1.1: answers 200 "hello from HOST PATH"
  --https ADDR PORT    the same over TLS with --cert/--key (a harness.TestCA pair)
  --tcp ADDR PORT      accepts and records, says nothing
  --udp ADDR PORT      records each datagram
  --sink ADDR PORT     records each connection's original destination (SO_ORIGINAL_DST /
                       IP6T_SO_ORIGINAL_DST) and, with --transparent, its local address (TPROXY)

Every event is one JSON line appended to --log, written and flushed before the client sees
an answer: {"event": "accept"|"sni"|"request"|"datagram"|"redirected", "addr", "port", "peer",
"peer_port", ...}. When every socket listens, "ready" is printed on stdout; the test waits
for that line. Python 3 standard library only.
"""

import argparse
import http.server
import json
import socket
import socketserver
import ssl
import struct
import sys
import threading

SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h; IP6T_SO_ORIGINAL_DST has the same value
IP_TRANSPARENT = 19


class Log:
    def __init__(self, path):
        self.f = open(path, "a", encoding="utf-8")
        self.lock = threading.Lock()

    def write(self, **event):
        with self.lock:
            self.f.write(json.dumps(event) + "\n")
            self.f.flush()


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def peer_fields(peer):
    return {"peer": peer[0], "peer_port": peer[1]}


def original_destination(sock):
    """The pre-NAT destination conntrack kept for this accepted connection."""
    if sock.family == socket.AF_INET:
        raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
        port, packed = struct.unpack("!2xH4s8x", raw)
        return socket.inet_ntop(socket.AF_INET, packed), port
    raw = sock.getsockopt(socket.IPPROTO_IPV6, SO_ORIGINAL_DST, 28)
    port, packed = struct.unpack("!2xH4x16s4x", raw)
    return socket.inet_ntop(socket.AF_INET6, packed), port


def make_server(addr, port, handler, log, tls_context=None, transparent=False):
    class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
        address_family = family(addr)
        daemon_threads = True
        allow_reuse_address = True
        block_on_close = False

        def server_bind(self):
            if transparent:
                level = socket.SOL_IP if self.address_family == socket.AF_INET else socket.IPPROTO_IPV6
                option = IP_TRANSPARENT if level == socket.SOL_IP else 75  # IPV6_TRANSPARENT
                self.socket.setsockopt(level, option, 1)
            if self.address_family == socket.AF_INET6:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            super().server_bind()

        def get_request(self):
            sock, peer = self.socket.accept()
            log.write(event="accept", addr=addr, port=port, **peer_fields(peer))
            if tls_context is not None:
                sock = tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            return sock, peer

        def handle_error(self, request, client_address):
            pass  # refused handshakes and resets are part of the tests

    return Server((addr, port), handler)


def http_handler(addr, port, scheme, log):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "netns-origin"
        sys_version = ""

        def log_message(self, *a):
            pass

        def setup(self):
            self.request.settimeout(30)
            if scheme == "https":
                self.request.do_handshake()
            super().setup()

        def _handle(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            host = self.headers.get("Host") or ""
            if not host.startswith("["):
                host = host.split(":")[0]
            log.write(event="request", scheme=scheme, addr=addr, port=port, method=self.command,
                      path=self.path, host=self.headers.get("Host"), headers=list(self.headers.items()),
                      **peer_fields(self.client_address))
            body = ("hello from %s %s" % (host, self.path)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _handle

    return Handler


def silent_handler(addr, port, log, sink, transparent):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            if sink:
                event = {"event": "redirected", "addr": addr, "port": port}
                event.update(peer_fields(self.client_address))
                try:
                    event["original_dst"], event["original_port"] = original_destination(self.request)
                except OSError as e:
                    event["original_error"] = str(e)
                if transparent:
                    local = self.request.getsockname()
                    event["local"], event["local_port"] = local[0], local[1]
                log.write(**event)
                return  # closing at once lets the client's attempt end now
            self.request.settimeout(30)
            try:
                while self.request.recv(65536):
                    pass
            except OSError:
                pass

    return Handler


def serve_udp(addr, port, log):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.bind((addr, port))

    def loop():
        while True:
            data, peer = s.recvfrom(65536)
            log.write(event="datagram", addr=addr, port=port, data=data.decode("utf-8", "replace"),
                      **peer_fields(peer))

    threading.Thread(target=loop, daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--transparent", action="store_true")
    for kind in ("http", "https", "tcp", "udp", "sink"):
        ap.add_argument("--" + kind, nargs=2, action="append", default=[], metavar=("ADDR", "PORT"))
    args = ap.parse_args()
    log = Log(args.log)

    servers = []
    for addr, port in args.http:
        servers.append(make_server(addr, int(port), http_handler(addr, int(port), "http", log), log))
    for addr, port in args.https:
        port = int(port)

        def on_sni(sock, name, _ctx, addr=addr, port=port):
            log.write(event="sni", addr=addr, port=port, sni=name, **peer_fields(sock.getpeername()))

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        ctx.set_alpn_protocols(["http/1.1"])
        ctx.sni_callback = on_sni
        servers.append(make_server(addr, port, http_handler(addr, port, "https", log), log, ctx))
    for addr, port in args.tcp:
        servers.append(make_server(addr, int(port), silent_handler(addr, int(port), log, False, False), log))
    for addr, port in args.sink:
        handler = silent_handler(addr, int(port), log, True, args.transparent)
        servers.append(make_server(addr, int(port), handler, log, transparent=args.transparent))
    for addr, port in args.udp:
        serve_udp(addr, int(port), log)

    for server in servers:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    print("ready", flush=True)
    # Run until the test closes stdin (or kills the namespace's processes).
    sys.stdin.read()


if __name__ == "__main__":
    main()
