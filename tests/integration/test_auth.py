"""Proxy authentication for shared machines: 407 with a Basic challenge, a signed-in user's
role applies (a staff member on a student machine), wrong passwords refused, users made
with `hallpass passwd` (salted PBKDF2, never a plain password in the file)."""

import os
import shutil
import subprocess
import tempfile
import unittest

from harness import HALLPASS_BIN, Origin, ProxyTestCase, clean_env, curl_request


def passwd_line(name, role, password):
    done = subprocess.run([HALLPASS_BIN, "passwd", name, role], input=password + "\n",
                          capture_output=True, text=True, timeout=60, env=clean_env())
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class AuthTest(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.tmp = tempfile.mkdtemp(prefix="hallpass-auth-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        users = os.path.join(cls.tmp, "users")
        with open(users, "w") as f:
            f.write("# district users\n")
            f.write(passwd_line("alice", "staff", "correct horse") + "\n")
            f.write(passwd_line("bob", "student", "battery staple") + "\n")
        cls.users = users
        o = cls.origin.addr
        cls.proxy = cls.start_proxy({
            "auth": {"users_file": users, "required": True, "realm": "Testville proxy"},
            "upstream": {"resolve": {"site.test": o, "www.instagram.com": o}},
        })

    def test_the_users_file_holds_no_password(self):
        with open(self.users) as f:
            text = f.read()
        self.assertNotIn("correct horse", text)
        self.assertIn("alice:staff:pbkdf2-sha256$", text)

    def test_no_credentials_get_a_challenge(self):
        r = curl_request(self.proxy.port, "http://site.test/no-creds")
        self.assertEqual(r.status, 407, r)
        self.assertIn('Basic realm="Testville proxy"', r.header("Proxy-Authenticate") or "")
        self.proxy.wait_audit(lambda a: a.get("reason") == "auth_required")
        self.assertFalse([x for x in self.origin.snapshot() if x["path"] == "/no-creds"])

    def test_wrong_password_is_refused(self):
        r = curl_request(self.proxy.port, "http://site.test/wrong", "-U", "alice:guess")
        self.assertEqual(r.status, 407, r)
        self.proxy.wait_audit(lambda a: a.get("reason") == "auth_failed")
        self.assertFalse([x for x in self.origin.snapshot() if x["path"] == "/wrong"])

    def test_a_signed_in_user_brings_their_role(self):
        # 127.0.0.1 is the default building: students there may not use social platforms.
        staff = curl_request(self.proxy.port, "http://www.instagram.com/natgeo/?who=alice", "-U",
                             "alice:correct horse")
        self.assertEqual(staff.status, 200, staff)
        student = curl_request(self.proxy.port, "http://www.instagram.com/natgeo/?who=bob", "-U",
                               "bob:battery staple")
        self.assertEqual(student.status, 403, student)
        line = self.proxy.wait_audit(lambda a: a.get("user") == "alice")
        self.assertEqual(line["role"], "staff")
        line = self.proxy.wait_audit(lambda a: a.get("user") == "bob")
        self.assertEqual(line["role"], "student")
        forwarded = self.origin.wait_request(lambda x: x["query"].get("who") == ["alice"])
        names = [k.lower() for k, _ in forwarded["headers"]]
        self.assertNotIn("proxy-authorization", names, "credentials leaked upstream")

    def test_keep_alive_carries_on_after_the_challenge(self):
        # curl --proxy-anyauth first asks without credentials, then answers the challenge on
        # the same connection.
        r = curl_request(self.proxy.port, "http://site.test/anyauth", "--proxy-anyauth", "-U",
                         "alice:correct horse", "-v")
        self.assertEqual(r.status, 200, r)
        self.assertIn("Re-using existing connection", r.stderr)


if __name__ == "__main__":
    unittest.main()
