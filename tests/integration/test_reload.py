"""Reloads: an edited list takes effect without SIGHUP (the file watch), and reloading
under steady traffic loses no request and mixes no half-built policy into answers."""

import os
import shutil
import tempfile
import threading
import unittest

from harness import Origin, ProxyTestCase, RawClient, curl_request, write_list


class ReloadTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.tmp = tempfile.mkdtemp(prefix="hallpass-reload-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.lists = os.path.join(cls.tmp, "lists")
        write_list(os.path.join(cls.lists, "watched"), ["first.test"])
        o = cls.origin.addr
        cls.proxy = cls.start_proxy({
            "reload": {"watch_interval": 0.1},
            "lists": {"watched": os.path.join(cls.lists, "watched")},
            "policies": {"student-strict": {"categories": {"watched": "block"}}},
            "upstream": {"resolve": {"first.test": o, "second.test": o, "steady.test": o}},
        })

    def status(self, url):
        return curl_request(self.proxy.port, url).status

    def test_an_edited_list_applies_without_sighup(self):
        # Leave the list valid for the next test whatever happens here.
        self.addCleanup(write_list, os.path.join(self.lists, "watched"), ["first.test"])
        self.assertEqual(self.status("http://second.test/before"), 200)
        mark = self.proxy.mark()
        write_list(os.path.join(self.lists, "watched"), ["first.test", "second.test"])
        self.proxy.wait_for_line(r"policy reloaded", start=mark)
        self.assertEqual(self.status("http://second.test/after"), 403)
        self.assertEqual(self.status("http://first.test/still"), 403)
        # A broken edit keeps the last good policy, and says where the problem is.
        mark = self.proxy.mark()
        write_list(os.path.join(self.lists, "watched"), ["first.test", "bad entry"])
        _, line = self.proxy.wait_for_line(r"reload failed", start=mark)
        self.assertIn(os.path.join(self.lists, "watched", "domains") + ":3", line)
        self.assertEqual(self.status("http://second.test/kept"), 403)
        self.assertGreaterEqual(self.proxy.metrics().sum("hallpass_config_reload_failures_total"), 1)

    def test_a_reload_reaches_a_connection_already_open(self):
        # A browser keeps its connection to the proxy open for minutes: what a reload
        # blocks must be blocked on it at its next request, not when it closes.
        self.addCleanup(self.restore_list)
        with RawClient(self.proxy.port, timeout=10) as c:
            c.send(b"GET http://second.test/open-1 HTTP/1.1\r\nHost: second.test\r\n\r\n")
            status, _, _ = c.read_response()
            self.assertEqual(status, 200)
            mark = self.proxy.mark()
            write_list(os.path.join(self.lists, "watched"), ["first.test", "second.test"])
            self.proxy.wait_for_line(r"policy reloaded", start=mark)
            c.send(b"GET http://second.test/open-2 HTTP/1.1\r\nHost: second.test\r\n\r\n")
            status, _, body = c.read_response()
            self.assertEqual(status, 403)
            self.assertIn(b"second.test", body)
        self.assertEqual([r for r in self.origin.snapshot() if "open-2" in r["target"]], [])

    def test_an_edited_urls_file_applies_without_sighup(self):
        urls = os.path.join(self.lists, "watched", "urls")
        self.assertEqual(self.status("http://steady.test/by-url/before"), 200)
        mark = self.proxy.mark()
        with open(urls + ".tmp", "w") as f:
            f.write("steady.test/by-url\n")
        os.replace(urls + ".tmp", urls)
        self.addCleanup(self.remove_and_wait, urls)
        self.proxy.wait_for_line(r"policy reloaded", start=mark)
        self.assertEqual(self.status("http://steady.test/by-url/after"), 403)
        self.assertEqual(self.status("http://steady.test/elsewhere"), 200)

    def remove_and_wait(self, path):
        mark = self.proxy.mark()
        os.remove(path)
        self.proxy.wait_for_line(r"policy reloaded", start=mark)

    def restore_list(self):
        # The next test starts from the first list: wait until the proxy has it too.
        mark = self.proxy.mark()
        write_list(os.path.join(self.lists, "watched"), ["first.test"])
        self.proxy.wait_for_line(r"policy reloaded", start=mark)

    def test_reloads_under_traffic_lose_no_request(self):
        results = []
        stop = threading.Event()
        errors = []

        def traffic():
            try:
                with RawClient(self.proxy.port, timeout=10) as c:
                    n = 0
                    while not stop.is_set() or n < 50:
                        n += 1
                        c.send(b"GET http://steady.test/n%d HTTP/1.1\r\nHost: steady.test\r\n\r\n" % n)
                        status, _, body = c.read_response()
                        results.append(status)
            except Exception as e:  # noqa: BLE001 - reported by the assertion below
                errors.append(repr(e))

        worker = threading.Thread(target=traffic)
        worker.start()
        try:
            for _ in range(20):
                ok, line = self.proxy.reload()
                self.assertTrue(ok, line)
        finally:
            stop.set()
            worker.join(60)
        self.assertFalse(worker.is_alive(), "the traffic thread did not finish")
        self.assertEqual(errors, [])
        self.assertGreaterEqual(len(results), 50)
        self.assertEqual(set(results), {200}, "requests failed during reloads")
        metrics = self.proxy.metrics()
        self.assertGreaterEqual(metrics.sum("hallpass_config_reloads_total", result="success"), 20)


if __name__ == "__main__":
    unittest.main()
