"""A person's view of HTTPS: headless Chromium, trusting the district root through an NSS
database the test makes with certutil, browses through the proxy. An ordinary page on an
intercepted host renders; a DM page there shows the block page, not a browser error. The
screenshot is kept (HALLPASS_ARTIFACTS, default: a temp folder) for a human to look at."""

import os
import shutil
import subprocess
import tempfile
import unittest

from harness import ProxyTestCase, TestCA, TlsOrigin, clean_env
from test_browser import ChromiumMixin
from test_tls import make_district_ca

CERTUTIL = shutil.which("certutil") or "/usr/bin/certutil"


class BrowserTlsTest(ChromiumMixin, ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hallpass-chromium-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        district = os.path.join(cls.tmp, "district")
        make_district_ca(district)
        cls.upstream_ca = TestCA(names=("www.instagram.com",), cn="www.instagram.com")
        cls.addClassCleanup(cls.upstream_ca.cleanup)
        cls.origin = TlsOrigin(cls.upstream_ca)
        cls.addClassCleanup(cls.origin.close)
        cls.proxy = cls.start_proxy({
            "district": {"name": "Testville Public Schools", "contact": "help@testville.example"},
            "buildings": {"default": {"policy": {"staff": "staff", "student": "staff"}}},
            "tls": {"ca_cert": os.path.join(district, "ca.pem"),
                    "ca_key": os.path.join(district, "ca.key")},
            "upstream": {"ca_file": cls.upstream_ca.ca_cert,
                         "resolve": {"www.instagram.com:443": cls.origin.addr}},
        })
        # Chromium on Linux takes its trust anchors from $HOME/.pki/nssdb.
        cls.home = os.path.join(cls.tmp, "home")
        nssdb = os.path.join(cls.home, ".pki", "nssdb")
        os.makedirs(nssdb)
        for cmd in (["-N", "--empty-password"],
                    ["-A", "-t", "C,,", "-n", "district-root", "-i", os.path.join(district, "root.pem")]):
            subprocess.run([CERTUTIL, "-d", "sql:" + nssdb, *cmd], check=True, env=clean_env(),
                           stdout=subprocess.DEVNULL, timeout=60)
        cls.artifacts = os.environ.get("HALLPASS_ARTIFACTS") or tempfile.mkdtemp(
            prefix="hallpass-artifacts-")
        os.makedirs(cls.artifacts, exist_ok=True)

    def test_an_ordinary_page_on_an_intercepted_host_renders(self):
        dom = self.chromium("--dump-dom", "https://www.instagram.com/p/lesson-photo/")
        self.assertIn("hello from secure.test /p/lesson-photo/", dom)
        self.proxy.wait_audit(lambda e: e.get("path") == "/p/lesson-photo/"
                              and e.get("tls") == "intercept", message="intercepted request audited")

    def test_a_dm_page_shows_the_block_page_inside_https(self):
        dom = self.chromium("--dump-dom", "https://www.instagram.com/direct/inbox/")
        self.assertIn("This page is blocked", dom)
        self.assertIn("social_function_block", dom)
        self.assertIn("help@testville.example", dom)
        self.assertNotIn("/direct/inbox/", [r["path"] for r in self.origin.records])

    def test_screenshot_of_the_https_block_page(self):
        shot = os.path.join(self.artifacts, "https-block-page.png")
        if os.path.exists(shot):
            os.remove(shot)
        self.chromium("--screenshot=" + shot, "https://www.instagram.com/direct/t/12345/")
        with open(shot, "rb") as f:
            data = f.read()
        self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
        self.assertGreater(len(data), 10000, "an empty-looking screenshot")
        print("HTTPS block page screenshot: " + shot)


if __name__ == "__main__":
    unittest.main()
