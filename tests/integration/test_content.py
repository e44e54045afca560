"""Content flagging: request bodies and query strings scanned with Hyperscan pattern sets,
in plain HTTP and inside intercepted HTTPS. A blocking score stops the request before
anything reaches the server; a flag or an alert lets it through and records it.

The mechanics use a small pattern set the test writes (so the assertions do not depend on
the shipped sets' weights); the shipped self-harm set is checked for its one promise: the
first match alerts.
"""

import gzip
import json
import os
import shutil
import subprocess
import tempfile
import zlib

from harness import (HALLPASS_BIN, Origin, ProxyTestCase, TestCA, TlsOrigin, clean_env,
                     curl_request)
from test_tls import make_district_ca

TEST_WORDS = """category: testwords
normalize: true
patterns:
  - id: testwords-forbidden
    regex: '\\bforbidden phrase\\b'
    flags: [caseless]
    weight: 100
    severity: high
    examples: {match: ["a forbidden phrase", "f0rbidden phrase"], no_match: ["forbidden", "phrase"]}
  - id: testwords-mild
    regex: '\\bmild word\\b'
    flags: [caseless]
    weight: 10
    severity: low
    examples: {match: ["a mild word", "MILD WORD"], no_match: ["mild", "word"]}
"""


STRICT = "127.0.0.2"  # a client whose policy blocks what it cannot judge


class ContentTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hallpass-content-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        with open(os.path.join(cls.tmp, "testwords.yaml"), "w") as f:
            f.write(TEST_WORDS)
        district = os.path.join(cls.tmp, "district")
        make_district_ca(district)
        cls.root = os.path.join(district, "root.pem")
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.upstream_ca = TestCA(names=("www.instagram.com",), cn="www.instagram.com")
        cls.addClassCleanup(cls.upstream_ca.cleanup)
        cls.tls_origin = TlsOrigin(cls.upstream_ca)
        cls.addClassCleanup(cls.tls_origin.close)
        cls.proxy = cls.start_proxy({
            "buildings": {
                "default": {"policy": {"staff": "staff", "student": "staff"}},
                "lab": {"policy": {"staff": "strict", "student": "strict"},
                        "networks": {"student": [STRICT + "/32"]}},
            },
            "policies": {"strict": {"extends": "staff", "on_oversize": "block"}},
            "content": {
                "patterns": {"testwords": os.path.join(cls.tmp, "testwords.yaml")},
                "thresholds": {"testwords": {"flag": 10, "block": 100}},
                "hold_bytes": 4096,
            },
            "tls": {"ca_cert": os.path.join(district, "ca.pem"),
                    "ca_key": os.path.join(district, "ca.key")},
            "upstream": {"ca_file": cls.upstream_ca.ca_cert, "resolve": {
                "forum.test": cls.origin.addr,
                "www.instagram.com:443": cls.tls_origin.addr,
            }},
        })

    def post(self, url, body, content_type, *args):
        return curl_request(self.proxy.port, url, "--data-binary", "@-", "-H",
                            "Content-Type: " + content_type, *args, input=body)

    def origin_paths(self):
        return [r["path"] for r in self.origin.snapshot()]

    def test_a_blocking_form_post_gets_the_block_page_and_reaches_nobody(self):
        r = self.post("http://forum.test/post-blocked", b"title=hi&message=a+forbidden+phrase",
                      "application/x-www-form-urlencoded")
        self.assertEqual(r.status, 403, r)
        self.assertIn("content_block", r.text)
        self.assertIn("Nothing was sent", r.text)
        line = self.proxy.wait_audit(lambda e: e.get("path") == "/post-blocked",
                                     message="blocked post audited")
        self.assertEqual(line["reason"], "content_block")
        self.assertEqual(line["category"], "testwords")
        self.assertEqual(line["rule"], "testwords-forbidden")
        self.assertIn({"category": "testwords", "pattern": "testwords-forbidden", "severity": "high"},
                      line["flags"])
        self.assertNotIn("/post-blocked", self.origin_paths())

    def test_json_chat_message_with_escapes_and_leetspeak_is_blocked(self):
        body = json.dumps({"message": {"text": "F0RBIDDEN\u0020phrase"}}).encode()
        r = self.post("http://forum.test/chat", body, "application/json")
        self.assertEqual(r.status, 403, r)
        self.assertNotIn("/chat", self.origin_paths())

    def test_a_chunked_upload_is_held_and_judged_before_it_is_sent(self):
        r = curl_request(self.proxy.port, "http://forum.test/chunked-post", "--data-binary", "@-",
                         "-H", "Transfer-Encoding: chunked", "-H", "Content-Type: text/plain",
                         input=b"x" * 1000 + b" forbidden phrase " + b"y" * 1000)
        self.assertEqual(r.status, 403, r)
        self.assertNotIn("/chunked-post", self.origin_paths())

    def test_a_multipart_post_is_judged_on_its_text_fields_not_its_files(self):
        photo = os.path.join(self.tmp, "photo.jpg")
        with open(photo, "wb") as f:
            f.write(b"\xff\xd8\xff forbidden phrase inside the image bytes")
        ok = curl_request(self.proxy.port, "http://forum.test/upload-ok", "-F", "caption=field trip",
                          "-F", "photo=@%s;type=image/jpeg" % photo)
        self.assertEqual(ok.status, 200, ok)
        blocked = curl_request(self.proxy.port, "http://forum.test/upload-blocked",
                               "-F", "caption=a forbidden phrase", "-F",
                               "photo=@%s;type=image/jpeg" % photo)
        self.assertEqual(blocked.status, 403, blocked)
        self.assertNotIn("/upload-blocked", self.origin_paths())

    def test_a_flag_lets_the_post_through_and_records_it(self):
        r = self.post("http://forum.test/post-flagged", b"message=just+a+mild+word",
                      "application/x-www-form-urlencoded")
        self.assertEqual(r.status, 200, r)
        self.origin.wait_request(lambda rec: rec["path"] == "/post-flagged")
        line = self.proxy.wait_audit(lambda e: e.get("path") == "/post-flagged",
                                     message="flagged post audited")
        self.assertEqual(line["action"], "allow")
        self.assertEqual(line["reason"], "content_flag")
        self.assertEqual(line["flags"], [{"category": "testwords", "pattern": "testwords-mild",
                                          "severity": "low"}])
        self.assertTrue(line["snippet"].endswith("mild word"), line)
        self.assertGreater(line["offset"], 0)
        self.assertGreaterEqual(self.proxy.metrics().sum("hallpass_content_flags_total",
                                                         category="testwords", severity="low"), 1)

    def test_a_body_over_the_hold_limit_goes_through_flagged_not_blocked(self):
        # Larger than the hold limit and than one read, so it cannot be judged whole.
        body = b"z" * 200000 + b" forbidden phrase"
        r = self.post("http://forum.test/post-oversize", body, "text/plain")
        self.assertEqual(r.status, 200, r)
        line = self.proxy.wait_audit(lambda e: e.get("path") == "/post-oversize",
                                     message="oversize post audited")
        self.assertEqual(line.get("content_unjudged"), "oversize", line)
        self.assertEqual(line["reason"], "content_flag")
        received = self.origin.wait_request(lambda rec: rec["path"] == "/post-oversize")
        self.assertEqual(received["body_len"], len(body))

    def test_under_on_oversize_block_a_body_over_the_hold_limit_is_not_sent(self):
        body = b"z" * 200000
        r = self.post("http://forum.test/post-oversize-strict", body, "text/plain",
                      "--interface", STRICT)
        self.assertEqual(r.status, 403, r)
        self.assertIn("content_unjudged", r.text)
        line = self.proxy.wait_audit(lambda e: e.get("path") == "/post-oversize-strict",
                                     message="strict oversize post audited")
        self.assertEqual(line["action"], "block")
        self.assertEqual(line["reason"], "content_unjudged")
        self.assertEqual(line["content_unjudged"], "oversize")
        self.assertNotIn("/post-oversize-strict", self.origin_paths())

    def test_a_gzip_body_is_inflated_and_judged(self):
        body = gzip.compress(b"title=hi&message=a+forbidden+phrase")
        r = self.post("http://forum.test/post-gzip", body, "application/x-www-form-urlencoded",
                      "-H", "Content-Encoding: gzip")
        self.assertEqual(r.status, 403, r)
        self.assertNotIn("/post-gzip", self.origin_paths())
        line = self.proxy.wait_audit(lambda e: e.get("path") == "/post-gzip",
                                     message="gzip post audited")
        self.assertEqual(line["rule"], "testwords-forbidden")

    def test_a_deflate_body_is_inflated_flagged_and_forwarded_as_sent(self):
        body = zlib.compress(json.dumps({"text": "only a mild word"}).encode())
        r = self.post("http://forum.test/post-deflate", body, "application/json",
                      "-H", "Content-Encoding: deflate")
        self.assertEqual(r.status, 200, r)
        received = self.origin.wait_request(lambda rec: rec["path"] == "/post-deflate")
        self.assertEqual(received["body_len"], len(body))  # forwarded compressed, unchanged
        line = self.proxy.wait_audit(lambda e: e.get("path") == "/post-deflate",
                                     message="deflate post audited")
        self.assertEqual(line["reason"], "content_flag")
        self.assertNotIn("content_unjudged", line)

    def test_a_coding_the_scanner_cannot_read_is_recorded_or_blocked_by_policy(self):
        body = b"\x1b\x00\x00 not really brotli"
        r = self.post("http://forum.test/post-br", body, "text/plain", "-H", "Content-Encoding: br")
        self.assertEqual(r.status, 200, r)
        line = self.proxy.wait_audit(lambda e: e.get("path") == "/post-br",
                                     message="br post audited")
        self.assertEqual(line["content_unjudged"], "coding")
        strict = self.post("http://forum.test/post-br-strict", body, "text/plain", "-H",
                           "Content-Encoding: br", "--interface", STRICT)
        self.assertEqual(strict.status, 403, strict)
        self.assertNotIn("/post-br-strict", self.origin_paths())

    def test_corrupt_gzip_is_unjudged_and_blocked_under_on_oversize_block(self):
        # A gzip header, then a DEFLATE block of the reserved type 3.
        body = gzip.compress(b"message=a+mild+word")[:10] + b"\xff" * 40
        r = self.post("http://forum.test/post-corrupt", body, "text/plain",
                      "-H", "Content-Encoding: gzip", "--interface", STRICT)
        self.assertEqual(r.status, 403, r)
        line = self.proxy.wait_audit(lambda e: e.get("path") == "/post-corrupt",
                                     message="corrupt post audited")
        self.assertEqual(line["content_unjudged"], "corrupt")
        self.assertNotIn("/post-corrupt", self.origin_paths())

    def test_truncated_gzip_is_unjudged(self):
        body = gzip.compress(b"message=a+mild+word" * 50)[:-20]
        r = self.post("http://forum.test/post-truncated", body, "text/plain",
                      "-H", "Content-Encoding: gzip")
        self.assertEqual(r.status, 200, r)
        line = self.proxy.wait_audit(lambda e: e.get("path") == "/post-truncated",
                                     message="truncated post audited")
        self.assertEqual(line["content_unjudged"], "corrupt")

    def test_a_phone_number_is_flagged_forwarded_and_masked_in_the_audit_line(self):
        r = self.post("http://forum.test/post-phone", b"message=text+me+at+617-555-0123+after+school",
                      "application/x-www-form-urlencoded")
        self.assertEqual(r.status, 200, r)
        self.origin.wait_request(lambda rec: rec["path"] == "/post-phone")
        line = self.proxy.wait_audit(lambda e: e.get("path") == "/post-phone",
                                     message="phone post audited")
        self.assertEqual(line["category"], "pii", line)
        self.assertIn("###-###-####", line["snippet"])
        self.assertNotIn("617", json.dumps(line))
        self.assertNotIn("0123", json.dumps(line))

    def test_the_query_string_is_scanned(self):
        r = curl_request(self.proxy.port, "http://forum.test/search?q=forbidden+phrase")
        self.assertEqual(r.status, 403, r)
        self.assertNotIn("/search", self.origin_paths())

    def test_binary_uploads_are_not_scanned_only_counted(self):
        def counted(scanned):
            return self.proxy.metrics().sum("hallpass_request_body_bytes_total", scanned=scanned)

        before_no, before_yes = counted("no"), counted("yes")
        body = b"\x89PNG forbidden phrase" + b"\0" * 1000
        r = self.post("http://forum.test/upload-image", body, "image/png")
        self.assertEqual(r.status, 200, r)
        line = self.proxy.wait_audit(lambda e: e.get("path") == "/upload-image",
                                     message="upload audited")
        self.assertEqual(line["flags"], [])
        self.assertEqual(counted("no") - before_no, len(body))
        # A text body of the same client is read by the scanner, and counted as such.
        text = b"comment=" + b"a+perfectly+ordinary+remark+" * 20
        before_no = counted("no")
        r = self.post("http://forum.test/comment-counted", text, "application/x-www-form-urlencoded")
        self.assertEqual(r.status, 200, r)
        self.proxy.wait_audit(lambda e: e.get("path") == "/comment-counted", message="comment audited")
        self.assertEqual(counted("yes") - before_yes, len(text))
        self.assertEqual(counted("no"), before_no)

    def test_inside_intercepted_https_a_blocking_comment_never_reaches_the_site(self):
        r = self.post("https://www.instagram.com/api/v1/web/comments/1/add/",
                      b"comment_text=a+forbidden+phrase", "application/x-www-form-urlencoded",
                      "--cacert", self.root)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.status, 403, r)
        self.assertIn("content_block", r.text)
        self.assertEqual([rec for rec in self.tls_origin.records if "comments" in rec["path"]], [])

    def test_the_shipped_self_harm_set_alerts_on_the_first_match_and_lets_it_through(self):
        body = json.dumps({"text": "honestly i want to kill myself"}).encode()
        r = self.post("http://forum.test/post-selfharm", body, "application/json")
        self.assertEqual(r.status, 200, r)
        line = self.proxy.wait_audit(lambda e: e.get("path") == "/post-selfharm",
                                     message="self-harm post audited")
        self.assertEqual(line["reason"], "content_alert")
        self.assertEqual(line["category"], "self-harm")
        self.assertEqual(line["severity"], "critical")
        self.assertTrue(any(f["category"] == "self-harm" for f in line["flags"]), line)
        self.assertGreaterEqual(self.proxy.metrics().sum("hallpass_content_alerts_total",
                                                         category="self-harm"), 1)

    def test_check_reports_the_same_verdict_for_a_body_file(self):
        body = os.path.join(self.tmp, "body.json")
        with open(body, "w") as f:
            json.dump({"text": "a forbidden phrase"}, f)
        p = subprocess.run([HALLPASS_BIN, "check", "--config", self.proxy.config_path,
                            "--client", "127.0.0.1", "--method", "POST", "--content-type",
                            "application/json", "--body-file", body, "http://forum.test/post"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        verdict = json.loads(p.stdout.decode().splitlines()[0])
        self.assertEqual(verdict["action"], "block")
        self.assertEqual(verdict["category"], "testwords")
        self.assertEqual(verdict["reason"], "content_block")
        self.assertEqual(verdict["flags"], [{"category": "testwords",
                                             "pattern": "testwords-forbidden", "severity": "high"}])


class HeldBudgetTest(ProxyTestCase):
    """limits.max_held_bytes: the bodies held for judging, all connections together. A
    request that would pass it gets 503 and is never forwarded unjudged; what a request
    held is given back when it is done."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hallpass-held-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        with open(os.path.join(cls.tmp, "testwords.yaml"), "w") as f:
            f.write(TEST_WORDS)
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.proxy = cls.start_proxy({
            "limits": {"max_held_bytes": 16384},
            "content": {
                "patterns": {"testwords": os.path.join(cls.tmp, "testwords.yaml")},
                "thresholds": {"testwords": {"flag": 10, "block": 100}},
                "hold_bytes": 1048576,
            },
            "upstream": {"resolve": {"forum.test": cls.origin.addr}},
        })

    def post(self, path, body):
        return curl_request(self.proxy.port, "http://forum.test" + path, "--data-binary", "@-",
                            "-H", "Content-Type: text/plain", input=body)

    def test_a_body_past_the_shared_budget_gets_503_and_is_not_sent(self):
        r = self.post("/held-too-much", b"y" * 100000)
        self.assertEqual(r.status, 503, r)
        self.assertIn("held_bytes_limit", r.text)
        line = self.proxy.wait_audit(lambda e: e.get("path") == "/held-too-much",
                                     message="the refused post audited")
        self.assertEqual((line["action"], line["reason"]), ("block", "held_bytes_limit"))
        self.assertNotIn("/held-too-much", [rec["path"] for rec in self.origin.snapshot()])

    def test_bodies_within_it_pass_and_give_their_bytes_back(self):
        # Each holds 12 KB of the 16 KB budget: the second and third fit only if the first
        # gave its bytes back.
        for n in range(3):
            r = self.post("/held-%d" % n, b"x" * 12000)
            self.assertEqual(r.status, 200, r)
            got = self.origin.wait_request(lambda rec, n=n: rec["path"] == "/held-%d" % n)
            self.assertEqual(got["body_len"], 12000)


if __name__ == "__main__":
    import unittest
    unittest.main()
