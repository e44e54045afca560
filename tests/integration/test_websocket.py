"""WebSockets through the proxy: upgrades relayed in plain HTTP and inside intercepted HTTPS,
each text message the client sends scanned before the server sees it. A blocked message
closes the connection with 1008 on both sides and never reaches the server; a flagged one
goes on and is recorded on its own audit line. Fragmented and permessage-deflate messages are
read like any other. Headless Chromium (which compresses its messages) is the real client
for the intercepted case."""

import os
import shutil
import subprocess
import tempfile

from harness import ProxyTestCase, TestCA, clean_env
from test_content import TEST_WORDS
from test_tls import make_district_ca
from websocket_peers import OP_TEXT, WsClient, WsOrigin, chromium_page_log, page_path

CERTUTIL = shutil.which("certutil") or "/usr/bin/certutil"
SOCIAL = "www.instagram.com"  # intercepted by the default policy (category social)


class WebSocketTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hallpass-websocket-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        with open(os.path.join(cls.tmp, "testwords.yaml"), "w") as f:
            f.write(TEST_WORDS)
        district = os.path.join(cls.tmp, "district")
        make_district_ca(district)
        cls.root = os.path.join(district, "root.pem")
        cls.origin = WsOrigin()
        cls.addClassCleanup(cls.origin.close)
        cls.upstream_ca = TestCA(names=(SOCIAL,), cn=SOCIAL)
        cls.addClassCleanup(cls.upstream_ca.cleanup)
        cls.tls_origin = WsOrigin(tls_ca=cls.upstream_ca)
        cls.addClassCleanup(cls.tls_origin.close)
        cls.proxy = cls.start_proxy({
            "buildings": {"default": {"policy": {"staff": "staff", "student": "staff"}}},
            "content": {
                "patterns": {"testwords": os.path.join(cls.tmp, "testwords.yaml")},
                "thresholds": {"testwords": {"flag": 10, "block": 100}},
                "hold_bytes": 4096,
            },
            "tls": {"ca_cert": os.path.join(district, "ca.pem"),
                    "ca_key": os.path.join(district, "ca.key")},
            "upstream": {"ca_file": cls.upstream_ca.ca_cert, "resolve": {
                "chat.test": cls.origin.addr,
                SOCIAL + ":443": cls.tls_origin.addr,
            }},
        })

    def connect(self, path, **kwargs):
        client = WsClient(self.proxy.port, "ws://chat.test%s" % path, **kwargs)
        self.addCleanup(client.close)
        self.assertEqual(client.status, 101, client.body)
        return client

    def test_an_allowed_message_is_relayed_both_ways(self):
        client = self.connect("/allowed")
        client.send_text("hello class")
        self.assertEqual(client.recv_text(), "echo: hello class")
        client.send_close(1000)
        conn = self.origin.wait_closed(lambda c: c.path == "/allowed")
        self.assertEqual(conn.texts(), ["hello class"])
        line = self.proxy.wait_audit(lambda e: e.get("path") == "/allowed" and e["method"] == "GET",
                                     message="upgrade audited")
        self.assertEqual(line["status"], 101)
        self.assertEqual(line["ws_messages"], 1)
        self.assertNotIn("ws_close", line)

    def test_a_blocked_message_closes_with_1008_and_never_reaches_the_server(self):
        client = self.connect("/blocked")
        client.send_text("first, harmless")
        self.assertEqual(client.recv_text(), "echo: first, harmless")
        client.send_text("now a forbidden phrase")
        self.assertEqual(client.recv_close_code(), 1008)
        conn = self.origin.wait_closed(lambda c: c.path == "/blocked")
        self.assertEqual(conn.texts(), ["first, harmless"])
        self.assertEqual(conn.close_code, 1008)
        message = self.proxy.wait_audit(
            lambda e: e.get("path") == "/blocked" and e["method"] == "WEBSOCKET",
            message="blocked message audited")
        self.assertEqual(message["action"], "block")
        self.assertEqual(message["reason"], "content_block")
        self.assertEqual(message["rule"], "testwords-forbidden")
        self.assertEqual(message["ws_message"], 2)
        upgrade = self.proxy.wait_audit(
            lambda e: e.get("path") == "/blocked" and e["method"] == "GET",
            message="upgrade audited")
        self.assertEqual(upgrade["ws_close"], 1008)

    def test_fragmented_and_compressed_messages_are_read_before_judging(self):
        client = self.connect("/deflate", extensions="permessage-deflate")
        self.assertTrue(client.deflate_negotiated)
        client.send_text("a warm-up line about the forbidden zone", compress=True)
        self.assertEqual(client.recv_text(), "echo: a warm-up line about the forbidden zone")
        # Compressed against the first message's window and split across three frames.
        client.send_text("this forbidden phrase hides in fragments", fragments=3, compress=True)
        self.assertEqual(client.recv_close_code(), 1008)
        conn = self.origin.wait_closed(lambda c: c.path == "/deflate")
        self.assertEqual([(m["data"], m["compressed"]) for m in conn.messages],
                         [("a warm-up line about the forbidden zone", True)])

    def test_a_flagged_message_goes_through_and_is_recorded(self):
        client = self.connect("/flagged")
        client.send_text('{"text": "just a mild\\u0020word"}')
        self.assertEqual(client.recv_text(), 'echo: {"text": "just a mild\\u0020word"}')
        line = self.proxy.wait_audit(
            lambda e: e.get("path") == "/flagged" and e["method"] == "WEBSOCKET",
            message="flagged message audited")
        self.assertEqual(line["action"], "allow")
        self.assertEqual(line["reason"], "content_flag")
        self.assertEqual(line["flags"], [{"category": "testwords", "pattern": "testwords-mild",
                                          "severity": "low"}])

    def test_only_extensions_the_proxy_can_read_reach_the_server(self):
        client = self.connect("/extensions",
                              extensions="x-webkit-deflate-frame, permessage-deflate; "
                                         "client_max_window_bits")
        conn = self.origin.wait_connection(lambda c: c.path == "/extensions")
        self.assertEqual(conn.offered_extensions, "permessage-deflate; client_max_window_bits")
        client.send_text("ok")
        self.assertEqual(client.recv_text(), "echo: ok")

    def test_a_client_breaking_the_protocol_is_closed_with_1002(self):
        client = self.connect("/unmasked")
        client.send_frame(OP_TEXT, b"unmasked forbidden phrase", mask=False)
        self.assertEqual(client.recv_close_code(), 1002)
        conn = self.origin.wait_closed(lambda c: c.path == "/unmasked")
        self.assertEqual(conn.messages, [])

    def test_inside_intercepted_https_a_blocked_message_never_reaches_the_site(self):
        client = WsClient(self.proxy.port, "wss://%s/live/socket" % SOCIAL, ca_file=self.root)
        self.addCleanup(client.close)
        self.assertEqual(client.status, 101, client.body)
        client.send_text("hi")
        self.assertEqual(client.recv_text(), "echo: hi")
        client.send_text("a forbidden phrase")
        self.assertEqual(client.recv_close_code(), 1008)
        conn = self.tls_origin.wait_closed(lambda c: c.path == "/live/socket")
        self.assertEqual(conn.texts(), ["hi"])

    def test_chromium_sends_compressed_messages_through_the_intercepted_tunnel(self):
        home = os.path.join(self.tmp, "home")
        nssdb = os.path.join(home, ".pki", "nssdb")
        os.makedirs(nssdb)
        for cmd in (["-N", "--empty-password"],
                    ["-A", "-t", "C,,", "-n", "district-root", "-i", self.root]):
            subprocess.run([CERTUTIL, "-d", "sql:" + nssdb, *cmd], check=True, env=clean_env(),
                           stdout=subprocess.DEVNULL, timeout=60)
        url = "https://%s%s" % (SOCIAL, page_path(["hello from chromium", "a forbidden phrase",
                                                   "never sent"]))
        log, dom = chromium_page_log(url, home, proxy_port=self.proxy.port)
        # The page sends all three at once: the first goes on (its echo may or may not beat
        # the close), the second closes the socket, the third is never read.
        self.assertEqual(log[0], "open", dom[-2000:])
        self.assertEqual(log[-1], "close 1008", dom[-2000:])
        conn = self.tls_origin.wait_closed(lambda c: c.path == "/chat")
        self.assertEqual([(m["data"], m["compressed"]) for m in conn.messages],
                         [("hello from chromium", True)])
