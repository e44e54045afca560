"""The policy model through the running proxy: buildings and roles by client address,
social-platform functions (DMs) blocked while the rest of a platform works, anonymizer
detection (IP-literal CONNECT, DNS-over-HTTPS, web-proxy signatures), monitor mode.

Clients are told apart by source address: the test maps 127.0.0.2-4 to buildings and roles
and sends with curl --interface. Every host is mapped to a local server with
upstream.resolve, so nothing ever leaves 127.0.0.1 even if a block failed.
"""

import unittest

from harness import Origin, ProxyTestCase, RawClient, RawRecorder, curl_request

HS_STAFF = "127.0.0.2"
HS_STUDENT = "127.0.0.3"
EL_STUDENT = "127.0.0.4"


class PolicyTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.recorder = RawRecorder()
        cls.addClassCleanup(cls.recorder.close)
        o = cls.origin.addr
        hosts = ["www.instagram.com", "i.instagram.com", "www.tiktok.com", "freeproxy.example",
                 "doh.unlisted.example", "plain.example"]
        resolve = {h: o for h in hosts}
        resolve.update({"www.messenger.com:443": cls.recorder.addr,
                        "203.0.113.9:443": cls.recorder.addr,
                        "plain.example:443": cls.recorder.addr})
        cls.proxy = cls.start_proxy({
            "buildings": {
                "high-school": {"networks": {"staff": [HS_STAFF + "/32"],
                                             "student": [HS_STUDENT + "/32"]}},
                "elementary": {"networks": {"staff": [], "student": [EL_STUDENT + "/32"]}},
            },
            "policies": {"high-school-student": {"categories": {"social-post": "monitor"}}},
            "upstream": {"resolve": resolve},
        })

    def get(self, source, url, *args):
        return curl_request(self.proxy.port, url, "--interface", source, *args)

    def assert_blocked(self, result, reason, rule=None):
        self.assertEqual(result.status, 403, result)
        html = result.body.decode("utf-8", "replace")
        self.assertIn(reason, html)
        if rule:
            self.assertIn(rule, html)

    sanity_count = 0

    def assert_never_reached(self, marker):
        # A later request must arrive first, so a forward that came late would show up too.
        PolicyTest.sanity_count += 1
        path = "/sanity/%d" % PolicyTest.sanity_count
        sanity = curl_request(self.proxy.port, "http://plain.example" + path, "--interface", HS_STAFF)
        self.assertEqual(sanity.status, 200, sanity)
        self.origin.wait_request(lambda r: r["path"] == path)
        self.assertFalse([r for r in self.origin.snapshot() if marker in r["target"]],
                         "%s reached the upstream" % marker)

    def test_staff_may_view_a_platform_but_not_its_direct_messages(self):
        ok = self.get(HS_STAFF, "http://www.instagram.com/natgeo/?view-ok")
        self.assertEqual(ok.status, 200, ok)
        self.origin.wait_request(lambda r: r["target"] == "/natgeo/?view-ok")
        dm = self.get(HS_STAFF, "http://www.instagram.com/direct/inbox/?dm-staff")
        self.assert_blocked(dm, "social_function_block", "instagram-direct-web")
        self.assert_never_reached("dm-staff")
        line = self.proxy.wait_audit(lambda a: a.get("path") == "/direct/inbox/")
        self.assertEqual(line["building"], "high-school")
        self.assertEqual(line["role"], "staff")
        self.assertEqual(line["category"], "social-dm")
        self.assertEqual(line["step"], "social_function")

    def test_path_tricks_do_not_bypass_a_function_rule(self):
        for url in ["http://www.instagram.com//direct//inbox?trick-1",
                    "http://www.instagram.com/%64irect/inbox?trick-2",
                    "http://www.instagram.com/explore/../direct/inbox?trick-3"]:
            result = self.get(HS_STAFF, url, "--path-as-is")
            self.assert_blocked(result, "social_function_block")
        self.assert_never_reached("trick-")

    def test_roles_and_buildings_differ(self):
        student_post = self.get(HS_STUDENT, "http://i.instagram.com/api/v1/media/configure/?hs-post",
                                "--data-binary", "caption=hello")
        self.assertEqual(student_post.status, 200, student_post)
        elementary = self.get(EL_STUDENT, "http://www.instagram.com/natgeo/?el-view")
        self.assert_blocked(elementary, "category_block")
        self.assert_never_reached("el-view")
        live = self.get(HS_STUDENT, "http://www.tiktok.com/live?hs-live")
        self.assert_blocked(live, "social_function_block", "tiktok-live")

    def test_monitor_mode_forwards_and_audits_would_block(self):
        result = self.get(HS_STUDENT, "http://i.instagram.com/api/v1/media/configure/?monitored",
                          "--data-binary", "caption=trial")
        self.assertEqual(result.status, 200, result)
        self.origin.wait_request(lambda r: "monitored" in r["target"])
        line = self.proxy.wait_audit(lambda a: a.get("reason") == "social_function_monitor")
        self.assertEqual(line["action"], "allow")
        self.assertIs(line.get("would_block"), True)
        self.assertEqual(line["category"], "social-post")

    def test_connect_to_a_bare_ip_is_an_anonymizer(self):
        before = self.recorder.connection_count()
        with RawClient(self.proxy.port, source=HS_STAFF) as c:
            c.send(b"CONNECT 203.0.113.9:443 HTTP/1.1\r\nHost: 203.0.113.9:443\r\n\r\n")
            status, _, _ = c.read_response(method="CONNECT")
        self.assertEqual(status, 403)
        self.proxy.wait_audit(lambda a: a.get("reason") == "anonymizer_ip_literal")
        self.assertEqual(self.recorder.connection_count(), before)
        metrics = self.proxy.metrics()
        self.assertGreaterEqual(
            metrics.sum("hallpass_anonymizer_detections_total", method="ip_literal"), 1)

    def test_other_notations_of_an_address_are_the_address(self):
        # 3405803785 and 0xcb.0.0x71.9 are 203.0.113.9 to browsers and to getaddrinfo.
        for target in (b"3405803785:443", b"0xcb.0.0x71.9:443", b"0313.0.0161.011:443"):
            before = self.recorder.connection_count()
            with RawClient(self.proxy.port, source=HS_STAFF) as c:
                c.send(b"CONNECT " + target + b" HTTP/1.1\r\nHost: " + target + b"\r\n\r\n")
                status, _, body = c.read_response(method="CONNECT")
            self.assertEqual(status, 403, target)
            self.assertIn(b"anonymizer_ip_literal", body, target)
            self.assertEqual(self.recorder.connection_count(), before, target)

    def test_connect_to_a_chat_only_host_is_refused(self):
        before = self.recorder.connection_count()
        with RawClient(self.proxy.port, source=HS_STAFF) as c:
            c.send(b"CONNECT www.messenger.com:443 HTTP/1.1\r\nHost: www.messenger.com:443\r\n\r\n")
            status, _, body = c.read_response(method="CONNECT")
        self.assertEqual(status, 403)
        self.assertIn(b"messenger-site", body)
        self.assertEqual(self.recorder.connection_count(), before)

    def test_dns_over_https_and_web_proxy_signatures(self):
        doh = self.get(HS_STAFF, "http://doh.unlisted.example/resolve?doh-1", "-H",
                       "Content-Type: application/dns-message", "--data-binary", "abc")
        self.assert_blocked(doh, "anonymizer_doh")
        glype = self.get(HS_STUDENT, "http://freeproxy.example/browse.php?u=aHR0cDovL2E&glype=1")
        self.assert_blocked(glype, "anonymizer_signature", "glype-browse")
        # The path the DoH server reads, whatever the spelling, and the JSON flavour.
        for url in ("http://doh.unlisted.example//dns-query?dns=AAAB&doh-2",
                    "http://doh.unlisted.example/%64ns-query?dns=AAAB&doh-3",
                    "http://doh.unlisted.example/resolve?name=example.com&doh-4"):
            self.assert_blocked(self.get(HS_STAFF, url), "anonymizer_doh")
        self.assert_never_reached("doh-1")
        for marker in ("doh-2", "doh-3", "doh-4"):
            self.assert_never_reached(marker)
        self.assert_never_reached("glype=1")


if __name__ == "__main__":
    unittest.main()
