"""A person's view: headless Chromium browses through the proxy, an allowed page renders,
and a blocked one shows the block page with its reason in plain words. The screenshot is
kept (HALLPASS_ARTIFACTS, default: a temp folder) for a human to look at."""

import os
import shutil
import subprocess
import tempfile
import unittest

from harness import Origin, ProxyTestCase

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags that keep Chromium from reaching the internet on its own (TOOLCHAIN.md), and the
# bypass-list entry without which it never sends loopback names to a proxy.
QUIET = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-features=DnsOverHttps,MediaRouter,OptimizationHints",
         "--proxy-bypass-list=<-loopback>", "--window-size=1024,768"]


class ChromiumMixin:
    """Runs headless Chromium through the test's proxy with ``HOME`` at ``self.home``
    (where its profile, and any NSS database the test made, live)."""

    def chromium(self, *args):
        env = dict(os.environ, HOME=self.home)
        cmd = [CHROMIUM, *QUIET, "--user-data-dir=" + os.path.join(self.home, "profile"),
               "--proxy-server=http://127.0.0.1:%d" % self.proxy.port, *args]
        done = subprocess.run(cmd, env=env, capture_output=True, timeout=90)
        self.assertEqual(done.returncode, 0, done.stderr.decode(errors="replace")[-2000:])
        return done.stdout.decode(errors="replace")


class BrowserTest(ChromiumMixin, ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        o = cls.origin.addr
        cls.proxy = cls.start_proxy({
            "district": {"name": "Testville Public Schools", "contact": "help@testville.example"},
            "buildings": {"default": {"block": ["games.test"]}},
            "upstream": {"resolve": {"games.test": o, "school.test": o}},
        })
        cls.home = tempfile.mkdtemp(prefix="hallpass-chromium-")
        cls.addClassCleanup(shutil.rmtree, cls.home, True)
        cls.artifacts = os.environ.get("HALLPASS_ARTIFACTS") or tempfile.mkdtemp(
            prefix="hallpass-artifacts-")
        os.makedirs(cls.artifacts, exist_ok=True)

    def test_blocked_page_shows_the_reason_in_plain_words(self):
        dom = self.chromium("--dump-dom", "http://games.test/play?level=3")
        self.assertIn("This page is blocked", dom)
        self.assertIn("local block list", dom)
        self.assertIn("building_block", dom)
        self.assertIn("games.test", dom)
        self.assertIn("help@testville.example", dom)
        self.assertFalse([r for r in self.origin.snapshot() if r["path"] == "/play"])

    def test_screenshot_of_the_block_page(self):
        shot = os.path.join(self.artifacts, "block-page.png")
        if os.path.exists(shot):
            os.remove(shot)
        self.chromium("--screenshot=" + shot, "http://games.test/")
        with open(shot, "rb") as f:
            data = f.read()
        self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
        self.assertGreater(len(data), 10000, "an empty-looking screenshot")
        print("block page screenshot: " + shot)

    def test_allowed_page_renders(self):
        dom = self.chromium("--dump-dom", "http://school.test/lesson")
        self.assertIn("ok", dom)
        self.origin.wait_request(lambda r: r["path"] == "/lesson")


if __name__ == "__main__":
    unittest.main()
