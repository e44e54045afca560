"""The command line: check, validate, run with a bad config, --version."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import HALLPASS_BIN, SOURCE_DIR, clean_env, require_binary, run_hallpass, write_list

CHECK_KEYS = {"action", "category", "rule", "building", "role", "reason", "flags"}

CONFIG = """\
extends: default
buildings:
  default:
    block: [blocked.test]
lists:
  clicat: lists/clicat
policies:
  student-strict:
    categories:
      clicat: block
  high-school-student:
    schedules:
      - name: school-hours
        days: [mon, tue, wed, thu, fri]
        from: "07:30"
        to: "14:30"
        categories: {social: block}
"""


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.tmp = tempfile.mkdtemp(prefix="hallpass-cli-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        write_list(os.path.join(cls.tmp, "lists", "clicat"), ["catblocked.test"])
        cls.config = os.path.join(cls.tmp, "site.yaml")
        with open(cls.config, "w") as f:
            f.write(CONFIG)

    def test_check_at_a_time_applies_schedules(self):
        during = self.check("--client", "10.10.16.5", "--at", "mon 10:00", "http://www.instagram.com/")
        self.assertEqual(during["action"], "block")
        self.assertEqual(during["schedule"], "school-hours")
        after = self.check("--client", "10.10.16.5", "--at", "mon 15:00", "http://www.instagram.com/")
        self.assertEqual(after["action"], "allow")
        weekend = self.check("--client", "10.10.16.5", "--at", "sat 10:00", "http://www.instagram.com/")
        self.assertEqual(weekend["action"], "allow")
        rc, _, err = run_hallpass("check", "--config", self.config, "--client", "10.10.16.5", "--at",
                                  "someday", "http://www.instagram.com/")
        self.assertEqual(rc, 2)
        self.assertIn("--at", err)

    def test_check_explain_names_the_deciding_step(self):
        rc, out, err = run_hallpass("check", "--config", self.config, "--explain", "--client",
                                    "10.10.0.5", "https://www.instagram.com/direct/inbox/")
        self.assertEqual(rc, 0, err)
        first, _, rest = out.partition("\n")
        self.assertEqual(json.loads(first)["reason"], "social_function_block")
        self.assertIn("social_function: matched instagram-direct-web", rest)

    def check(self, *args, config=True):
        cmd = ["check"] + (["--config", self.config] if config else []) + list(args)
        rc, out, err = run_hallpass(*cmd)
        self.assertEqual(rc, 0, "hallpass %s exited %d: %s" % (" ".join(cmd), rc, err))
        try:
            result = json.loads(out)
        except ValueError:
            self.fail("check did not print one JSON object: %r (stderr %r)" % (out, err))
        self.assertIsInstance(result, dict)
        self.assertTrue(CHECK_KEYS <= set(result), "missing keys %s in %r" % (CHECK_KEYS - set(result), result))
        self.assertIsInstance(result["flags"], list)
        return result

    def combined(self, out, err):
        return out + "\n" + err

    # -- check ---------------------------------------------------------------------------
    def test_check_allowed_url(self):
        r = self.check("--client", "127.0.0.1", "http://fine.test/page")
        self.assertEqual(r["action"], "allow")
        self.assertEqual(r["flags"], [])

    def test_check_building_blocked_url(self):
        for url in ("http://blocked.test/x", "http://www.blocked.test/y?z=1", "http://BLOCKED.test./"):
            with self.subTest(url=url):
                r = self.check("--client", "127.0.0.1", url)
                self.assertEqual(r["action"], "block")
                self.assertEqual(r["reason"], "building_block")
                self.assertEqual((r["building"], r["role"]), ("default", "student"))

    def test_check_category_blocked_url(self):
        r = self.check("--client", "127.0.0.1", "http://www.catblocked.test/")
        self.assertEqual(r["action"], "block")
        self.assertEqual(r["reason"], "category_block")
        self.assertEqual(r["category"], "clicat")

    def test_check_lookalike_not_blocked(self):
        r = self.check("--client", "127.0.0.1", "http://notblocked.test/")
        self.assertEqual(r["action"], "allow")

    def test_check_connect(self):
        r = self.check("--client", "127.0.0.1", "--method", "CONNECT", "blocked.test:443")
        self.assertEqual(r["action"], "block")
        r = self.check("--client", "127.0.0.1", "--method", "CONNECT", "fine.test:443")
        self.assertEqual(r["action"], "allow")

    def test_check_rules_are_per_building(self):
        # The default building's block list does not apply to high-school clients, and
        # student-strict's category block applies to elementary students only.
        r = self.check("--client", "10.10.16.5", "http://blocked.test/")
        self.assertEqual((r["building"], r["action"]), ("high-school", "allow"))
        r = self.check("--client", "10.10.16.5", "http://catblocked.test/")
        self.assertEqual(r["action"], "allow")
        r = self.check("--client", "10.20.16.5", "http://catblocked.test/")
        self.assertEqual((r["building"], r["role"], r["action"]), ("elementary", "student", "block"))

    def test_check_identity_on_embedded_default(self):
        cases = {
            "10.10.16.5": ("high-school", "student"),
            "10.10.0.5": ("high-school", "staff"),
            "10.20.16.9": ("elementary", "student"),
            "10.20.0.9": ("elementary", "staff"),
            "127.0.0.1": ("default", "student"),
            "192.168.7.7": ("default", "student"),
        }
        for ip, want in cases.items():
            with self.subTest(client=ip):
                r = self.check("--client", ip, "http://fine.test/", config=False)
                self.assertEqual((r["building"], r["role"]), want)

    def test_check_method_flag(self):
        r = self.check("--client", "10.10.0.5", "--method", "POST", "http://fine.test/form")
        self.assertEqual(r["action"], "allow")

    # -- validate ------------------------------------------------------------------------
    def test_validate_good_config(self):
        rc, out, err = run_hallpass("validate", "--config", self.config)
        self.assertEqual(rc, 0, err)
        self.assertRegex(self.combined(out, err), r"\d", "validate printed no counts")

    def test_validate_shipped_default_config(self):
        path = os.path.join(SOURCE_DIR, "deploy", "hallpass.yaml")
        rc, out, err = run_hallpass("validate", "--config", path)
        self.assertEqual(rc, 0, out + err)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    BAD_CIDR = "extends: default\nclients:\n  - 127.0.0.0/8\n  - 10.0.0.0/99\n"

    def assert_names_cidr_error(self, text):
        self.assertIn("bad_cidr.yaml", text)
        self.assertRegex(text, r"bad_cidr\.yaml\W{1,3}(line\s*)?4\b", "message does not name line 4")
        self.assertIn("10.0.0.0/99", text)

    def test_validate_bad_cidr(self):
        path = self.write("bad_cidr.yaml", self.BAD_CIDR)
        rc, out, err = run_hallpass("validate", "--config", path)
        self.assertNotEqual(rc, 0)
        self.assert_names_cidr_error(self.combined(out, err))

    def test_validate_bad_list_line(self):
        folder = os.path.join(self.tmp, "badlist", "lists", "broken")
        os.makedirs(folder)
        with open(os.path.join(folder, "domains"), "w") as f:
            f.write("# comment\ngood.test\nexa mple.com\nalso-good.test\n")
        path = os.path.join(self.tmp, "badlist", "site.yaml")
        with open(path, "w") as f:
            f.write("extends: default\nlists:\n  broken: lists/broken\n")
        rc, out, err = run_hallpass("validate", "--config", path)
        self.assertNotEqual(rc, 0, "a list with 'exa mple.com' validated")
        text = self.combined(out, err)
        self.assertIn("domains", text)
        self.assertRegex(text, r"domains\W{1,3}(line\s*)?3\b", "message does not name line 3")
        self.assertIn("exa mple.com", text)

    def test_validate_missing_list_folder(self):
        path = self.write("missing_list.yaml", "extends: default\nlists:\n  ghost: does/not/exist\n")
        rc, out, err = run_hallpass("validate", "--config", path)
        self.assertNotEqual(rc, 0)
        self.assertIn("does/not/exist", self.combined(out, err))

    def test_run_with_bad_config_refuses_to_start(self):
        audit = os.path.join(self.tmp, "run-audit.jsonl")
        path = self.write("bad_cidr.yaml", self.BAD_CIDR + "listen: [\"127.0.0.1:0\"]\nadmin:\n  listen: \"127.0.0.1:0\"\n"
                          "audit:\n  path: %s\n" % json.dumps(audit))
        try:
            p = subprocess.run([HALLPASS_BIN, "run", "--config", path], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, env=clean_env())
        except subprocess.TimeoutExpired:
            self.fail("hallpass run with a bad config kept running")
        text = self.combined(p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"))
        self.assertNotEqual(p.returncode, 0)
        self.assertNotIn("hallpass ready", text)
        self.assert_names_cidr_error(text)

    # -- misc ----------------------------------------------------------------------------
    def test_version(self):
        rc, out, err = run_hallpass("--version")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out + err, r"\d+\.\d+")

    def test_unknown_subcommand_fails(self):
        rc, out, err = run_hallpass("no-such-subcommand")
        self.assertNotEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()
