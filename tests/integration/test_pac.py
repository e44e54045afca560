"""The shipped PAC file (deploy/pac/proxy.pac) in a real browser: headless Chromium fetches
it over HTTP (served with the PAC MIME type) with --proxy-pac-url, and its own PAC engine
decides. A copy is served with only the proxy address changed (hallpass.district.example:3128
-> 127.0.0.1:<the test proxy's port>); the district's domains and the rules stay as shipped.

* the internet goes through Hallpass: the origin sees Hallpass's Via, the audit has a line;
* a blocked site shows Hallpass's block page;
* a look-alike of the district's domain is not the district: through Hallpass;
* the district's own hosts and single-label intranet names go DIRECT: the origin sees no
  Via and Hallpass has no audit line for them;
* fail closed: with the proxy unreachable the page fails, it is never fetched DIRECT.

Host names are mapped to 127.0.0.1 with --host-resolver-rules (for DIRECT) and with
upstream.resolve (for Hallpass); everything else fails to resolve, so nothing leaves the box.
The shipped client policies in deploy/clients/ are checked to name what the PAC names."""

import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import unittest

from harness import SOURCE_DIR, Origin, ProxyTestCase, clean_env, header_values, refused_port
from test_browser import CHROMIUM, QUIET

PAC_SOURCE = os.path.join(SOURCE_DIR, "deploy", "pac", "proxy.pac")
CLIENTS_DIR = os.path.join(SOURCE_DIR, "deploy", "clients")
SHIPPED_PROXY = "hallpass.district.example:3128"
PAC_MIME = "application/x-ns-proxy-autoconfig"

# The PAC file decides here, not a bypass list.
CHROMIUM_FLAGS = [f for f in QUIET if not f.startswith("--proxy-bypass-list")]


class PacServer:
    """Serves named PAC texts over HTTP on 127.0.0.1:0 and records each request's headers."""

    def __init__(self, files):
        self.files = dict(files)
        self.requests = []
        self.cond = threading.Condition()
        pac = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                with pac.cond:
                    pac.requests.append((self.path, list(self.headers.items())))
                    pac.cond.notify_all()
                body = pac.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", PAC_MIME)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def fetched(self, path):
        with self.cond:
            return [h for p, h in self.requests if p == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def pac_for(proxy_addr):
    with open(PAC_SOURCE) as f:
        text = f.read()
    assert text.count('"PROXY %s"' % SHIPPED_PROXY) == 1, "the shipped PAC's proxy line moved"
    return text.replace('"PROXY %s"' % SHIPPED_PROXY, '"PROXY %s"' % proxy_addr)


class PacTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        o = cls.origin.addr
        cls.proxy = cls.start_proxy({
            "district": {"name": "Testville Public Schools", "contact": "help@testville.example"},
            "buildings": {"default": {"block": ["games.test"]}},
            "upstream": {"resolve": {"school.test": o, "games.test": o, "notdistrict.example": o}},
        })
        cls.refused_sock, refused = refused_port()
        cls.addClassCleanup(cls.refused_sock.close)
        cls.pac = PacServer({
            "/proxy.pac": pac_for("127.0.0.1:%d" % cls.proxy.port),
            "/down.pac": pac_for("127.0.0.1:%d" % refused),
        })
        cls.addClassCleanup(cls.pac.close)
        cls.home = tempfile.mkdtemp(prefix="hallpass-chromium-pac-")
        cls.addClassCleanup(shutil.rmtree, cls.home, True)

    def chromium(self, url, pac="/proxy.pac", expect_ok=True):
        """--dump-dom of ``url`` with the PAC at ``pac``. Names the PAC sends DIRECT resolve to
        127.0.0.1; every other name fails in Chromium's resolver (Hallpass resolves its own)."""
        # EXCLUDE: the rules apply to address literals too (the PAC URL, the proxy).
        rules = ("MAP www.district.example 127.0.0.1, MAP intranet 127.0.0.1, "
                 "MAP school.test 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
        cmd = [CHROMIUM, *CHROMIUM_FLAGS, "--user-data-dir=" + os.path.join(self.home, "profile"),
               "--proxy-pac-url=" + self.pac.url(pac), "--host-resolver-rules=" + rules,
               "--dump-dom", url]
        done = subprocess.run(cmd, env=clean_env({"HOME": self.home}), capture_output=True, timeout=90)
        if expect_ok:
            self.assertEqual(done.returncode, 0, done.stderr.decode(errors="replace")[-2000:])
        return done.stdout.decode(errors="replace")

    def origin_requests(self, path):
        return [r for r in self.origin.snapshot() if r["path"] == path]

    def audit_hosts(self):
        return [r.get("host") for r in self.proxy.audit_lines() if isinstance(r, dict)]

    def assert_no_audit_line_for(self, host):
        """Hallpass writes audit lines in order: once a later request's line is there, a line
        for ``host`` would be too."""
        marker = "/marker-%s" % host
        dom = self.chromium("http://school.test%s" % marker)
        self.assertIn("ok", dom)
        self.proxy.wait_audit(lambda e: e.get("path") == marker, message="marker request audited")
        self.assertNotIn(host, self.audit_hosts())

    # -- through Hallpass -----------------------------------------------------------------
    def test_internet_goes_through_hallpass(self):
        dom = self.chromium("http://school.test/lesson")
        self.assertIn("ok", dom)
        [rec] = self.origin_requests("/lesson")
        self.assertTrue(any("hallpass" in v.lower() for v in header_values(rec["headers"], "Via")),
                        rec["headers"])
        line = self.proxy.wait_audit(lambda e: e.get("path") == "/lesson", message="audit line")
        self.assertEqual(line["host"], "school.test")
        self.assertEqual(line["action"], "allow")
        # The browser fetched the PAC itself, directly (not through any proxy).
        [headers] = self.pac.fetched("/proxy.pac")[:1]
        self.assertFalse(header_values(headers, "Via"))

    def test_a_blocked_site_shows_the_block_page(self):
        dom = self.chromium("http://games.test/play")
        self.assertIn("This page is blocked", dom)
        self.assertIn("building_block", dom)
        self.assertIn("help@testville.example", dom)
        self.assertFalse(self.origin_requests("/play"))
        self.proxy.wait_audit(lambda e: e.get("host") == "games.test" and e.get("action") == "block",
                              message="block audited")

    def test_a_look_alike_of_the_district_domain_is_not_the_district(self):
        dom = self.chromium("http://notdistrict.example/lookalike")
        self.assertIn("ok", dom)
        [rec] = self.origin_requests("/lookalike")
        self.assertTrue(header_values(rec["headers"], "Via"), rec["headers"])
        self.proxy.wait_audit(lambda e: e.get("host") == "notdistrict.example", message="audit line")

    # -- DIRECT ---------------------------------------------------------------------------
    def test_the_district_own_hosts_go_direct(self):
        dom = self.chromium("http://www.district.example:%d/intranet-page" % self.origin.port)
        self.assertIn("ok", dom)
        [rec] = self.origin_requests("/intranet-page")
        self.assertEqual(header_values(rec["headers"], "Via"), [])
        self.assertEqual(header_values(rec["headers"], "Host"), ["www.district.example:%d" % self.origin.port])
        self.assertEqual(rec["target"], "/intranet-page")  # origin-form: not a proxy request
        self.assert_no_audit_line_for("www.district.example")

    def test_single_label_intranet_names_go_direct(self):
        dom = self.chromium("http://intranet:%d/printers" % self.origin.port)
        self.assertIn("ok", dom)
        [rec] = self.origin_requests("/printers")
        self.assertEqual(header_values(rec["headers"], "Via"), [])
        self.assert_no_audit_line_for("intranet")

    # -- fail closed ----------------------------------------------------------------------
    def test_unreachable_proxy_fails_closed(self):
        # school.test resolves for Chromium too, so a DIRECT fallback would reach the origin.
        dom = self.chromium("http://school.test:%d/fallback" % self.origin.port, pac="/down.pac",
                            expect_ok=False)
        self.assertTrue(self.pac.fetched("/down.pac"), "Chromium never fetched the PAC")
        self.assertFalse(self.origin_requests("/fallback"), "fetched DIRECT with the proxy down")
        self.assertNotIn(">ok<", dom)


class ClientPoliciesTest(unittest.TestCase):
    """deploy/clients/ names the same proxy and the same PAC file as deploy/pac/."""

    def read(self, *parts):
        with open(os.path.join(CLIENTS_DIR, *parts), encoding="utf-8") as f:
            return f.read()

    def test_chrome_policies(self):
        pac = json.loads(self.read("chrome", "hallpass-pac.json"))["ProxySettings"]
        self.assertEqual(pac["ProxyMode"], "pac_script")
        self.assertTrue(pac["ProxyPacUrl"].startswith("http://"), pac)
        self.assertIs(pac["ProxyPacMandatory"], True)  # no DIRECT when the PAC is unreachable
        fixed = json.loads(self.read("chrome", "hallpass-fixed.json"))["ProxySettings"]
        self.assertEqual(fixed["ProxyMode"], "fixed_servers")
        self.assertEqual(fixed["ProxyServer"], SHIPPED_PROXY)

    def test_firefox_policies(self):
        proxy = json.loads(self.read("firefox", "policies.json"))["policies"]["Proxy"]
        self.assertEqual(proxy["Mode"], "autoConfig")
        self.assertTrue(proxy["Locked"])
        self.assertTrue(proxy["AutoConfigURL"].startswith("http://"), proxy)

    def test_firefox_never_fails_over_to_direct(self):
        prefs = json.loads(self.read("firefox", "policies.json"))["policies"]["Preferences"]
        self.assertEqual(prefs["network.proxy.failover_direct"], {"Value": False, "Status": "locked"})

    def test_windows_registry_file(self):
        with open(os.path.join(CLIENTS_DIR, "windows", "hallpass-proxy.reg"), "rb") as f:
            raw = f.read()
        self.assertTrue(raw.startswith(b"Windows Registry Editor Version 5.00\r\n"), raw[:60])
        self.assertNotIn(b"\n", raw.replace(b"\r\n", b""), "regedit wants CRLF line ends")
        text = raw.decode("ascii")
        self.assertIn('"ProxyServer"="%s"' % SHIPPED_PROXY, text)
        self.assertIn('"ProxyEnable"=dword:00000001', text)
        # The browsers' own policy, as a JSON string value: the same as the Chrome file.
        chrome = json.loads(self.read("chrome", "hallpass-pac.json"))["ProxySettings"]
        values = re.findall(r'^"ProxySettings"="(.*)"\r?$', text, re.M)
        self.assertEqual(len(values), 2, "Edge and Chrome")
        for value in values:
            self.assertEqual(json.loads(value.replace('\\"', '"')), chrome)

    def test_every_client_names_the_same_pac_url(self):
        urls = {
            json.loads(self.read("chrome", "hallpass-pac.json"))["ProxySettings"]["ProxyPacUrl"],
            json.loads(self.read("firefox", "policies.json"))["policies"]["Proxy"]["AutoConfigURL"],
            re.search(r'"AutoConfigURL"="([^"]+)"', self.read("windows", "hallpass-proxy.reg")).group(1),
        }
        self.assertEqual(len(urls), 1, urls)


if __name__ == "__main__":
    unittest.main()
