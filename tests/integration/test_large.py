"""Large bodies are streamed through Hallpass, never buffered whole.

Each transfer is >= 100 MiB and runs at a pace set by the slow side (curl --limit-rate for
downloads, an origin that reads at a fixed rate for uploads), so a proxy that read the
fast side without back-pressure would have to hold most of the body in memory. The
proxy's peak RSS (VmHWM) is read before and after; growth must stay under 48 MiB.
"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest

from harness import (CURL, Origin, ProxyTestCase, clean_env, curl_request, pattern_chunks,
                     pattern_sha256, write_pattern_file)

MiB = 1024 * 1024
SIZE = 100 * MiB + 13
RATE = 40 * MiB           # bytes per second on the slow side
MAX_GROWTH_KIB = 48 * 1024


class LargeTransferTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.tmp = tempfile.mkdtemp(prefix="hallpass-large-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.proxy = cls.start_proxy({"upstream": {"resolve": {"big.test": cls.origin.addr}}})
        # Warm up every path once so thread pools, buffers and pools exist before the baseline.
        small = os.path.join(cls.tmp, "small.bin")
        write_pattern_file(small, 2 * MiB)
        for args in (("http://big.test/bytes?n=%d" % (2 * MiB),),
                     ("http://big.test/chunked?n=%d" % (2 * MiB),),
                     ("-T", small, "http://big.test/echo"),
                     ("-H", "Transfer-Encoding: chunked", "--data-binary", "@" + small, "http://big.test/echo")):
            r = curl_request(cls.proxy.port, args[-1], *args[:-1], timeout=60)
            if r.status != 200:
                raise AssertionError("warm-up request failed: %r" % r)
        cls.baseline_kib = cls.proxy.vm_hwm_kib()

    def assert_memory_flat(self, what):
        hwm = self.proxy.vm_hwm_kib()
        growth = hwm - self.baseline_kib
        self.assertLess(growth, MAX_GROWTH_KIB,
                        "after %s the proxy's VmHWM grew by %d KiB (baseline %d KiB, now %d KiB): "
                        "bodies are being buffered" % (what, growth, self.baseline_kib, hwm))

    def download(self, path):
        cmd = [CURL, "-q", "-sS", "--max-time", "150", "-x", self.proxy.url, "--limit-rate", str(RATE),
               "-o", "-", "-w", "", "http://big.test" + path]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
        h = hashlib.sha256()
        n = 0
        try:
            while True:
                b = p.stdout.read(1 << 20)
                if not b:
                    break
                h.update(b)
                n += len(b)
            rc = p.wait(60)
            err = p.stderr.read().decode(errors="replace")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()
        return rc, n, h.hexdigest(), err

    def test_download_100mib_content_length(self):
        rc, n, sha, err = self.download("/bytes?n=%d" % SIZE)
        self.assertEqual(rc, 0, err)
        self.assertEqual(n, SIZE)
        self.assertEqual(sha, pattern_sha256(SIZE))
        self.assert_memory_flat("a 100 MiB Content-Length download")

    def test_download_100mib_chunked(self):
        rc, n, sha, err = self.download("/chunked?n=%d" % SIZE)
        self.assertEqual(rc, 0, err)
        self.assertEqual(n, SIZE)
        self.assertEqual(sha, pattern_sha256(SIZE))
        self.assert_memory_flat("a 100 MiB chunked download")

    def test_upload_100mib_content_length(self):
        path = os.path.join(self.tmp, "upload.bin")
        sha = write_pattern_file(path, SIZE)
        try:
            r = curl_request(self.proxy.port, "http://big.test/echo?rate=%d" % RATE, "-T", path,
                             "-H", "Expect:", timeout=150)
        finally:
            os.unlink(path)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.status, 200, r)
        got = json.loads(r.body)
        self.assertEqual(got["method"], "PUT")
        self.assertEqual(got["body_len"], SIZE)
        self.assertEqual(got["body_sha256"], sha)
        self.assert_memory_flat("a 100 MiB Content-Length upload")

    def test_upload_100mib_chunked_from_stdin(self):
        # curl -T - streams stdin as a chunked body; we feed it from a thread.
        cmd = [CURL, "-q", "-sS", "--max-time", "150", "-x", self.proxy.url, "-T", "-", "-H", "Expect:",
               "-X", "POST", "http://big.test/echo?rate=%d" % RATE]
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=clean_env())
        feed_error = []

        def feed():
            try:
                for c in pattern_chunks(SIZE, 256 * 1024):
                    p.stdin.write(c)
                p.stdin.close()
            except (BrokenPipeError, ValueError, OSError) as e:
                feed_error.append(e)

        t = threading.Thread(target=feed, daemon=True)
        t.start()
        try:
            # curl's --max-time bounds these reads; stderr stays tiny with -sS.
            out = p.stdout.read()
            err = p.stderr.read()
            rc = p.wait(30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            for f in (p.stdout, p.stderr):
                f.close()
        t.join(30)
        self.assertEqual(rc, 0, err.decode(errors="replace"))
        self.assertEqual(feed_error, [])
        got = json.loads(out)
        self.assertEqual(got["method"], "POST")
        self.assertEqual(got["body_len"], SIZE)
        self.assertEqual(got["body_sha256"], pattern_sha256(SIZE))
        self.assert_memory_flat("a 100 MiB chunked upload")


if __name__ == "__main__":
    unittest.main()
