"""What an allowed request must carry or where it must land: SafeSearch (tunnels sent to the
providers' enforcement hosts, YouTube's header on plain HTTP), account restrictions, client
copies of those headers removed, and the redirect landing check (a redirect to a blocked
site becomes the block page naming that site).

Every name is mapped to a local server with upstream.resolve, the enforcement hosts
included, so the test sees which one the proxy chose and nothing leaves 127.0.0.1.
"""

import unittest

from harness import Origin, ProxyTestCase, RawClient, RawRecorder, curl_request

STAFF = "127.0.0.2"  # high-school staff in this config: SafeSearch off
# 127.0.0.1 is the default building, a student: SafeSearch strict


class EnforcementTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.google = RawRecorder()
        cls.addClassCleanup(cls.google.close)
        cls.safe_google = RawRecorder()
        cls.addClassCleanup(cls.safe_google.close)
        o = cls.origin.addr
        cls.proxy = cls.start_proxy({
            "buildings": {"high-school": {"networks": {"staff": [STAFF + "/32"]}},
                          "default": {"block": ["blocked.test"]}},
            "accounts": {"google_allowed_domains": "district.example"},
            "policies": {"student-strict": {"restrict_accounts": True}},
            "upstream": {"resolve": {
                "www.google.com:443": cls.google.addr,
                "forcesafesearch.google.com:443": cls.safe_google.addr,
                "www.youtube.com": o, "accounts.google.com": o, "short.test": o,
                "landing.test": o, "blocked.test": o,
            }},
        })

    def connect_status(self, host, source=None):
        with RawClient(self.proxy.port, source=source) as c:
            c.send(b"CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n\r\n" % (host, host))
            status, _, _ = c.read_head()
            return status

    def test_student_google_tunnel_goes_to_forcesafesearch(self):
        before_safe = self.safe_google.connection_count()
        before_plain = self.google.connection_count()
        self.assertEqual(self.connect_status(b"www.google.com"), 200)
        self.safe_google.wait_connections(before_safe + 1)
        self.assertEqual(self.google.connection_count(), before_plain)
        line = self.proxy.wait_audit(lambda a: a.get("enforced_via") == "forcesafesearch.google.com")
        self.assertEqual(line["host"], "www.google.com")

    def test_staff_google_tunnel_is_untouched(self):
        before_plain = self.google.connection_count()
        before_safe = self.safe_google.connection_count()
        self.assertEqual(self.connect_status(b"www.google.com", source=STAFF), 200)
        self.google.wait_connections(before_plain + 1)
        self.assertEqual(self.safe_google.connection_count(), before_safe)

    def test_youtube_restrict_header_replaces_the_clients_own(self):
        r = curl_request(self.proxy.port, "http://www.youtube.com/echo?yt=1", "-H",
                         "YouTube-Restrict: Off")
        self.assertEqual(r.status, 200, r)
        got = self.origin.wait_request(lambda x: x["query"].get("yt") == ["1"])
        values = [v for k, v in got["headers"] if k.lower() == "youtube-restrict"]
        self.assertEqual(values, ["Strict"])

    def test_staff_keep_no_youtube_header_and_cannot_inject_one(self):
        r = curl_request(self.proxy.port, "http://www.youtube.com/echo?yt=2", "--interface", STAFF,
                         "-H", "YouTube-Restrict: Moderate")
        self.assertEqual(r.status, 200, r)
        got = self.origin.wait_request(lambda x: x["query"].get("yt") == ["2"])
        self.assertEqual([v for k, v in got["headers"] if k.lower() == "youtube-restrict"], [])

    def test_google_sign_in_is_limited_to_district_accounts(self):
        r = curl_request(self.proxy.port, "http://accounts.google.com/echo?acct=1", "-H",
                         "X-GoogApps-Allowed-Domains: gmail.com")
        self.assertEqual(r.status, 200, r)
        got = self.origin.wait_request(lambda x: x["query"].get("acct") == ["1"])
        values = [v for k, v in got["headers"] if k.lower() == "x-googapps-allowed-domains"]
        self.assertEqual(values, ["district.example"])

    def test_redirect_to_a_blocked_site_becomes_its_block_page(self):
        r = curl_request(self.proxy.port,
                         "http://short.test/redirect?to=http://blocked.test/landing-page")
        self.assertEqual(r.status, 403, r)
        html = r.body.decode()
        self.assertIn("blocked.test", html)
        self.assertIn("building_block", html)
        self.assertIsNone(r.header("Location"))
        line = self.proxy.wait_audit(lambda a: a.get("redirect_to") == "blocked.test")
        self.assertEqual(line["host"], "short.test")
        self.assertEqual(line["action"], "block")
        self.assertFalse([x for x in self.origin.snapshot() if x["path"] == "/landing-page"])

    def test_redirect_to_an_allowed_site_passes_through(self):
        r = curl_request(self.proxy.port, "http://short.test/redirect?to=https://landing.test/ok")
        self.assertEqual(r.status, 302, r)
        self.assertEqual(r.header("Location"), "https://landing.test/ok")

    def test_relative_redirect_to_a_blocked_path_is_judged_too(self):
        # A protocol-relative Location ("//host/path") is resolved and judged as well.
        r = curl_request(self.proxy.port, "http://short.test/redirect?to=//blocked.test/x&status=301")
        self.assertEqual(r.status, 403, r)


if __name__ == "__main__":
    unittest.main()
