"""The Debian package: built with CPack from the build folder, read with dpkg-deb, and (as
root) installed, run the way its systemd unit runs it, removed and purged.

* Contents and control fields need no root: paths, modes, conffiles, dependencies, the
  installed config pointing only at files the package ships, the unit passing
  ``systemd-analyze verify``.
* As root, on a machine without a hallpass package of its own (the test skips rather than
  touch one it did not install): ``dpkg -i``, the user, folders and modes, the unit enabled,
  ``hallpass validate`` of the installed config, then the installed binary run as the
  ``hallpass`` user with what the unit gives it (no capabilities, no new privileges, umask
  0077, no writable-and-executable memory) serving plain, blocked and intercepted requests
  with a district CA whose key postinst handed to ``hallpass``; its system calls, socket
  families and written paths checked against the unit's filters under strace. Then
  ``dpkg -r`` keeps the config, ``dpkg --purge`` removes the rest but the user and the CA.

Environment: HALLPASS_BUILD_DIR (default: the build folder holding HALLPASS_BIN, else
build/ under the source folder); HALLPASS_BUILD_LOCK (default /tmp/hallpass-build.lock,
taken around cpack; empty: no lock). The machine is changed while the test runs (a package
installed and purged, a system user left behind only if it existed before): meant for
throwaway CI machines, cleaned up on failure too.
"""

import ctypes
import grp
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

import harness
from harness import (SOURCE_DIR, Origin, Proxy, TestCA, TlsOrigin, clean_env, curl_request,
                     header_values)
from test_tls import make_district_ca

PACKAGE = "hallpass"
UNIT = "/lib/systemd/system/hallpass.service"
CONFIG = "/etc/hallpass/hallpass.yaml"
CA_DIR = "/etc/hallpass/ca"
LOG_DIR = "/var/log/hallpass"
STATE_DIR = "/var/lib/hallpass"
ENABLED_LINK = "/etc/systemd/system/multi-user.target.wants/hallpass.service"
BIN = "/usr/bin/hallpass"
LOCK = os.environ.get("HALLPASS_BUILD_LOCK", "/tmp/hallpass-build.lock")
STRACE = shutil.which("strace")

# Source folders shipped whole, and where they land.
SHIPPED_FOLDERS = {
    "grafana": "usr/share/hallpass/grafana",
    "deploy/prometheus": "usr/share/hallpass/prometheus",
    "deploy/haproxy": "usr/share/hallpass/haproxy",
    "deploy/gateway": "usr/share/hallpass/gateway",
    "deploy/pac": "usr/share/hallpass/pac",
    "deploy/clients": "usr/share/hallpass/clients",
    "filters/rules": "usr/share/hallpass/rules",
    "filters/patterns": "usr/share/hallpass/patterns",
    "certs/guides": "usr/share/hallpass/certs/guides",
}


def build_dir():
    if os.environ.get("HALLPASS_BUILD_DIR"):
        return os.environ["HALLPASS_BUILD_DIR"]
    from_bin = os.path.dirname(os.path.dirname(os.path.abspath(harness.HALLPASS_BIN)))
    if os.path.exists(os.path.join(from_bin, "CPackConfig.cmake")):
        return from_bin
    return os.path.join(SOURCE_DIR, "build")


def run(cmd, timeout=120, check=True, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       env=kw.pop("env", clean_env()), **kw)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\n%s%s" % (" ".join(cmd), p.returncode, out, err))
    return p.returncode, out, err


_deb = {}


def the_deb():
    """Builds the .deb once per run (cpack under the build lock) into a temporary folder."""
    if "path" not in _deb:
        bdir = build_dir()
        if not os.path.exists(os.path.join(bdir, "CPackConfig.cmake")):
            raise AssertionError("no CPackConfig.cmake in %s: configure it (cmake -S . -B build) with "
                                 "include(Packaging) in CMakeLists.txt" % bdir)
        out = tempfile.mkdtemp(prefix="hallpass-deb-")
        _deb["dir"] = out
        cmd = ["cpack", "-G", "DEB", "-B", out]
        if LOCK:
            cmd = ["flock", "-w", "1800", LOCK] + cmd
        run(cmd, cwd=bdir, timeout=2400)
        debs = [f for f in os.listdir(out) if f.endswith(".deb")]
        if len(debs) != 1:
            raise AssertionError("cpack made %r in %s" % (debs, out))
        _deb["path"] = os.path.join(out, debs[0])
    return _deb["path"]


def tearDownModule():
    if "dir" in _deb:
        shutil.rmtree(_deb["dir"], ignore_errors=True)


def project_version():
    with open(os.path.join(SOURCE_DIR, "CMakeLists.txt")) as f:
        return re.search(r"project\(hallpass\s+VERSION\s+([0-9.]+)", f.read()).group(1)


def unit_directives(text, key):
    return [l.split("=", 1)[1].strip() for l in text.splitlines() if l.startswith(key + "=")]


def configured_audit_path(config_text):
    m = re.search(r"^audit:\s*\n(?:[ \t]+.*\n)*?[ \t]+path:\s*(\S+)", config_text, re.M)
    if not m:
        raise AssertionError("no audit.path in the installed config")
    return m.group(1).strip("\"'")


# ---------------------------------------------------------------------------------------
# The package as a file
# ---------------------------------------------------------------------------------------

class PackageContentsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deb = the_deb()
        cls.tmp = tempfile.mkdtemp(prefix="hallpass-deb-x-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.root = os.path.join(cls.tmp, "root")
        cls.control = os.path.join(cls.tmp, "control")
        run(["dpkg-deb", "-x", cls.deb, cls.root])
        run(["dpkg-deb", "-e", cls.deb, cls.control])
        _, listing, _ = run(["dpkg-deb", "-c", cls.deb])
        cls.entries = {}  # path without "./" -> (mode string, owner)
        for line in listing.splitlines():
            parts = line.split()
            path = parts[5][2:] if parts[5].startswith("./") else parts[5]
            cls.entries[path.rstrip("/")] = (parts[0], parts[1])

    def field(self, name):
        _, out, _ = run(["dpkg-deb", "-f", self.deb, name])
        return out.strip()

    def test_control_fields(self):
        self.assertEqual(self.field("Package"), PACKAGE)
        self.assertEqual(self.field("Version"), project_version())
        self.assertEqual(self.field("Architecture"), run(["dpkg", "--print-architecture"])[1].strip())
        self.assertEqual(self.field("Section"), "net")
        self.assertTrue(self.field("Maintainer"))
        self.assertTrue(self.field("Description").startswith("web proxy"))
        depends = self.field("Depends")
        for dep in ("adduser", "libhyperscan5", "libssl3", "libyaml-cpp0.7", "libboost-url1.81.0",
                    "libspdlog1.10", "libprometheus-cpp-core1.0", "libc6"):
            self.assertIn(dep, depends)
        self.assertNotRegex(depends, r"libasan|libubsan", "packaged a sanitizer build")
        self.assertIn("ca-certificates", self.field("Recommends"))

    def test_paths_and_modes(self):
        expected = {
            "usr/bin/hallpass": "-rwxr-xr-x",
            "etc/hallpass/hallpass.yaml": "-rw-r--r--",
            "etc/hallpass/lists/district-approved/domains": "-rw-r--r--",
            "lib/systemd/system/hallpass.service": "-rw-r--r--",
            "usr/share/hallpass/certs/make-district-ca.sh": "-rwxr-xr-x",
            "usr/share/hallpass/certs/README.md": "-rw-r--r--",
            "usr/share/hallpass/lists/anonymizer/domains": "-rw-r--r--",
            "usr/share/hallpass/lists/never-inspect/domains": "-rw-r--r--",
            "usr/share/hallpass/pac/proxy.pac": "-rw-r--r--",
            "usr/share/doc/hallpass/README.md": "-rw-r--r--",
            "usr/share/doc/hallpass/deploy/README.md": "-rw-r--r--",
        }
        for path, mode in expected.items():
            self.assertIn(path, self.entries)
            self.assertEqual(self.entries[path][0], mode, path)
        for path, (mode, owner) in self.entries.items():
            self.assertEqual(owner, "root/root", path)
            self.assertNotRegex(mode, r"^.....w|^........w", "group/world-writable: " + path)
        # The district's own list lives in /etc only.
        self.assertNotIn("usr/share/hallpass/lists/district-approved", self.entries)
        self.assertFalse([p for p in self.entries if p.startswith("var/")], "postinst makes /var")

    def test_shipped_folders_are_whole(self):
        for src, dest in SHIPPED_FOLDERS.items():
            top = os.path.join(SOURCE_DIR, src)
            self.assertTrue(os.path.isdir(top), src)
            for folder, _, files in os.walk(top):
                for name in files:
                    rel = os.path.relpath(os.path.join(folder, name), top)
                    self.assertIn(os.path.join(dest, rel), self.entries, "%s/%s not shipped" % (src, rel))
        lists = os.path.join(SOURCE_DIR, "filters", "lists")
        for category in os.listdir(lists):
            if category != "district-approved":
                self.assertIn("usr/share/hallpass/lists/%s/domains" % category, self.entries)

    def test_binary_is_stripped(self):
        _, sections, _ = run(["readelf", "-S", "--wide", os.path.join(self.root, "usr/bin/hallpass")])
        self.assertNotIn(".debug_info", sections)

    def test_conffiles_are_every_file_under_etc(self):
        with open(os.path.join(self.control, "conffiles")) as f:
            conffiles = set(f.read().split())
        under_etc = {"/" + p for p, (mode, _) in self.entries.items()
                     if p.startswith("etc/") and mode.startswith("-")}
        self.assertEqual(conffiles, under_etc)

    def test_maintainer_scripts(self):
        for script in ("postinst", "prerm", "postrm"):
            path = os.path.join(self.control, script)
            self.assertTrue(os.stat(path).st_mode & stat.S_IXUSR, script)
            run(["sh", "-n", path])
            with open(path) as f:
                text = f.read()
            # Never start or stop anything where systemd is not the running init.
            for line in text.splitlines():
                if re.search(r"deb-systemd-invoke|systemctl", line) and not line.lstrip().startswith("#"):
                    self.assertRegex(text[:text.index(line)], r"\[ -d /run/systemd/system \]", line)

    def test_installed_config_names_only_shipped_files(self):
        with open(os.path.join(self.root, CONFIG[1:])) as f:
            text = f.read()
        body = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
        self.assertNotRegex(body, r":\s+\.\.?/", "a relative path the package does not install")
        named = re.findall(r":\s+\"?(/(?:usr/share|etc)/hallpass/[^\s\"]+)", body)
        self.assertGreater(len(named), 10, named)
        for path in named:
            self.assertIn(path[1:].rstrip("/"), self.entries, path)

    def test_unit_and_config_agree_on_the_log_folder(self):
        with open(os.path.join(self.root, CONFIG[1:])) as f:
            audit = configured_audit_path(f.read())
        with open(os.path.join(self.root, UNIT[1:])) as f:
            unit = f.read()
        self.assertEqual(os.path.dirname(audit), "/var/log/" + unit_directives(unit, "LogsDirectory")[0])
        self.assertEqual(unit_directives(unit, "ExecStart"), [BIN + " run --config " + CONFIG])
        self.assertEqual(unit_directives(unit, "User"), ["hallpass"])

    def test_unit_passes_systemd_analyze_verify(self):
        # Before installing, the unit's binary is the extracted one.
        with open(os.path.join(self.root, UNIT[1:])) as f:
            unit = f.read().replace(BIN + " ", os.path.join(self.root, "usr/bin/hallpass") + " ")
        path = os.path.join(self.tmp, "hallpass.service")
        with open(path, "w") as f:
            f.write(unit)
        rc, out, err = run(["systemd-analyze", "verify", path], check=False)
        self.assertEqual((rc, out + err), (0, ""))


# ---------------------------------------------------------------------------------------
# Installed
# ---------------------------------------------------------------------------------------

def dpkg_status():
    rc, out, _ = run(["dpkg-query", "-W", "-f=${Status}", PACKAGE], check=False)
    return out.strip() if rc == 0 else "not-installed"


def dpkg(*args):
    """dpkg, waiting (bounded) while another dpkg or apt holds its lock."""
    deadline = time.monotonic() + 300
    while True:
        rc, out, err = run(["dpkg", *args], check=False, timeout=300,
                           env=clean_env({"DEBIAN_FRONTEND": "noninteractive"}))
        if rc == 0:
            return out
        if "lock" in err and time.monotonic() < deadline:
            time.sleep(2)  # someone else's apt run: no event to wait on
            continue
        raise AssertionError("dpkg %s exited %d\n%s%s" % (" ".join(args), rc, out, err))


class Installed(unittest.TestCase):
    """Base: skip unless root on a machine without a hallpass of its own; install; always
    purge afterwards (and remove what the test itself created)."""

    @classmethod
    def install(cls, before_install=None):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: installs the package with dpkg (CI machines run as root)")
        status = dpkg_status()
        if not status.endswith("not-installed"):
            raise unittest.SkipTest("a hallpass package is on this machine (%s) that this test did "
                                    "not install; not touching it" % status)
        for path in ("/etc/hallpass", BIN, UNIT):
            if os.path.lexists(path):
                raise unittest.SkipTest("%s exists but no hallpass package is installed (a hand "
                                        "installation?); not touching it" % path)
        deb = the_deb()
        cls.user_existed = _user_exists()
        cls.moved = []
        cls.addClassCleanup(cls.uninstall)
        # An audit folder left by a hallpass run by hand on the embedded default (its audit
        # path is /var/log/hallpass/audit.jsonl): purge would delete it, so it waits aside.
        for path in (LOG_DIR, STATE_DIR):
            if os.path.lexists(path):
                aside = "%s.before-test-package-%d" % (path, os.getpid())
                os.rename(path, aside)
                cls.moved.append((aside, path))
                print("test_package: moved %s aside to %s until the test ends" % (path, aside))
        if before_install:
            before_install()
        dpkg("-i", deb)

    @classmethod
    def uninstall(cls):
        if not dpkg_status().endswith("not-installed"):
            dpkg("--purge", PACKAGE)
        shutil.rmtree("/etc/hallpass", ignore_errors=True)
        for aside, path in cls.moved:
            shutil.rmtree(path, ignore_errors=True)
            os.rename(aside, path)
        if not cls.user_existed and _user_exists():
            run(["userdel", "hallpass"], check=False)
            run(["groupdel", "hallpass"], check=False)


def _user_exists():
    try:
        pwd.getpwnam("hallpass")
        return True
    except KeyError:
        return False


def mdwe_then(umask):
    """preexec_fn: the kernel's no-write-and-execute rule (PR_SET_MDWE, what
    MemoryDenyWriteExecute= enforces) and the unit's umask, both kept across exec."""
    def apply():
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
            os._exit(121)
        os.umask(umask)
    return apply


def as_service_user(cmd):
    """``cmd`` run the way the unit runs it: User=hallpass, CapabilityBoundingSet= (empty),
    AmbientCapabilities= (empty), NoNewPrivileges=yes."""
    return ["setpriv", "--reuid=hallpass", "--regid=hallpass", "--init-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs", "--", *cmd]


class InstalledHallpass(Proxy):
    """The installed binary on a site config that extends the installed one, started like
    the unit starts it (plus strace when ``trace`` names a file)."""

    def __init__(self, config, trace=None):
        super().__init__(dict(config, extends=CONFIG), startup_timeout=60)
        # The installed config's audit log, not the harness's temporary one.
        self.config.pop("audit", None)
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)
        with open(CONFIG) as f:
            self.audit_path = configured_audit_path(f.read())
        os.chmod(self.dir, 0o755)
        os.chmod(self.config_path, 0o644)
        self.trace = trace

    def command(self):
        cmd = as_service_user([BIN, "run", "--config", self.config_path])
        if self.trace:
            # strace stays root outside setpriv: Hallpass makes itself not dumpable, and an
            # unprivileged tracer then cannot read the paths and strings of its calls.
            cmd = [STRACE, "-f", "-qq", "-o", self.trace] + cmd
        return cmd

    def popen_options(self):
        return {"cwd": "/", "preexec_fn": mdwe_then(0o077)}

    def start(self):
        super().start()
        self._target = self._find_target()
        return self

    def _find_target(self):
        """The hallpass process: the one started, or under strace, strace's child."""
        if not self.trace:
            return self.proc.pid
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open("/proc/%s/stat" % name) as f:
                        stat_line = f.read()
                except OSError:
                    continue
                if int(stat_line.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    return int(name)
        raise AssertionError("strace has no child")

    # Signals go to hallpass itself (strace would take them for itself).
    @property
    def pid(self):
        return self._target

    def sighup(self):
        m = self.mark()
        os.kill(self._target, signal.SIGHUP)
        return m

    def terminate(self):
        if self.running():
            os.kill(self._target, signal.SIGTERM)

    def kill(self):
        target = getattr(self, "_target", None)
        if target and self.running():
            try:
                os.kill(target, signal.SIGKILL)
            except ProcessLookupError:
                pass
        super().kill()

    def stop(self):
        if self.proc is None:
            return None
        if self.running():
            self.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        for t in self._threads:
            t.join(5)
        return self.proc.returncode


class InstalledPackageTest(Installed):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hallpass-pkg-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        os.chmod(cls.tmp, 0o755)

        def district_ca_with_loose_modes():
            # An admin's district CA already in place, its keys readable by everyone: postinst
            # must fix that (Hallpass refuses such a key) and hand ca.key to hallpass.
            made = os.path.join(cls.tmp, "district")
            make_district_ca(made)
            os.makedirs(CA_DIR)
            for name in ("ca.pem", "ca.key", "root.pem", "root.key"):
                shutil.copy(os.path.join(made, name), os.path.join(CA_DIR, name))
                os.chmod(os.path.join(CA_DIR, name), 0o644)
            cls.district_root = os.path.join(made, "root.pem")

        cls.install(before_install=district_ca_with_loose_modes)
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.upstream_ca = TestCA(names=("www.instagram.com", "splice.test"), cn="www.instagram.com")
        cls.addClassCleanup(cls.upstream_ca.cleanup)
        os.chmod(cls.upstream_ca.dir, 0o755)
        os.chmod(cls.upstream_ca.ca_cert, 0o644)
        cls.tls_origin = TlsOrigin(cls.upstream_ca)
        cls.addClassCleanup(cls.tls_origin.close)
        o = cls.origin.addr
        cls.site = {
            "buildings": {"default": {"block": ["games.test"],
                                      "policy": {"staff": "staff", "student": "staff"}}},
            "tls": {"ca_cert": CA_DIR + "/ca.pem", "ca_key": CA_DIR + "/ca.key"},
            "upstream": {"resolve": {"school.test": o, "games.test": o,
                                     "www.instagram.com:443": cls.tls_origin.addr,
                                     "splice.test:443": cls.tls_origin.addr},
                         "ca_file": cls.upstream_ca.ca_cert,
                         # Names outside `resolve` go through the system resolver (NSS):
                         # the test asks only for localhost, answered from /etc/hosts.
                         "dns": True},
        }

    def start_service(self, trace=None):
        service = InstalledHallpass(self.site, trace=trace)
        self.addCleanup(service.cleanup)
        return service.start()

    def exercise(self, service, tag):
        """Plain, blocked and intercepted requests, a reload and a stop: what a day asks."""
        try:
            self._exercise(service, tag)
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, service.log_tail()))

    def _exercise(self, service, tag):
        r = curl_request(service.port, "http://school.test/%s" % tag)
        self.assertEqual((r.status, r.body), (200, b"ok"), r)
        rec = self.origin.wait_request(lambda q: q["path"] == "/" + tag)
        self.assertEqual(header_values(rec["headers"], "Via"), ["1.1 hallpass"])
        r = curl_request(service.port, "http://games.test/%s" % tag)
        self.assertEqual(r.status, 403, r)
        self.assertIn("building_block", r.text)
        r = curl_request(service.port, "http://localhost:9/%s" % tag)
        self.assertEqual(r.status, 403, r)
        self.assertIn("loopback_destination", r.text)  # resolved, then refused: the gateway itself
        # The district CA's key, readable by hallpass only, loaded by the service user.
        service.wait_for_line(r"district CA .* loaded", 5)
        r = curl_request(service.port, "https://splice.test/%s" % tag, "--cacert", self.upstream_ca.ca_cert)
        self.assertEqual((r.rc, r.text), (0, "hello from secure.test /%s" % tag), r)
        service.wait_audit(lambda e: e.get("sni") == "splice.test" and e.get("tls") == "splice",
                           message="spliced tunnel audited")
        r = curl_request(service.port, "https://www.instagram.com/p/%s" % tag, "--cacert", self.district_root)
        self.assertEqual((r.rc, r.text), (0, "hello from secure.test /p/%s" % tag), r)
        service.wait_audit(lambda e: e.get("path") == "/p/%s" % tag and e.get("tls") == "intercept",
                           message="intercepted request audited")
        ok, line = service.reload()
        self.assertTrue(ok, line)
        service.terminate()
        self.assertEqual(service.wait(30), 0, service.log_tail())

    # -- what dpkg -i left ----------------------------------------------------------------
    def test_service_user_and_group(self):
        user = pwd.getpwnam("hallpass")
        self.assertLess(user.pw_uid, 1000, "a system user")
        self.assertEqual(user.pw_shell, "/usr/sbin/nologin")
        self.assertEqual(user.pw_dir, STATE_DIR)
        self.assertEqual(grp.getgrgid(user.pw_gid).gr_name, "hallpass")

    def test_folders_and_modes(self):
        user = pwd.getpwnam("hallpass")
        for path in (LOG_DIR, STATE_DIR):
            st = os.stat(path)
            self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                             (user.pw_uid, user.pw_gid, 0o750), path)
        for path, mode in ((BIN, 0o755), (CONFIG, 0o644), (UNIT, 0o644)):
            st = os.stat(path)
            self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, mode), path)

    def test_conffiles_registered(self):
        _, out, _ = run(["dpkg-query", "-W", "-f=${Conffiles}", PACKAGE])
        self.assertIn(CONFIG, out)
        self.assertIn("/etc/hallpass/lists/district-approved/domains", out)
        self.assertEqual(dpkg_status(), "install ok installed")

    def test_unit_enabled_without_a_running_systemd(self):
        self.assertEqual(os.readlink(ENABLED_LINK), UNIT)

    def test_systemd_analyze_verify(self):
        rc, out, err = run(["systemd-analyze", "verify", UNIT], check=False)
        self.assertEqual((rc, out + err), (0, ""))

    def test_district_ca_key_given_to_hallpass(self):
        user = pwd.getpwnam("hallpass")
        st = os.stat(CA_DIR)
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)), (0, user.pw_gid, 0o750))
        key = os.stat(CA_DIR + "/ca.key")
        self.assertEqual(key.st_uid, user.pw_uid)
        self.assertEqual(stat.S_IMODE(key.st_mode) & 0o077, 0)
        root_key = os.stat(CA_DIR + "/root.key")  # not the service's: stays root's, closed
        self.assertEqual((root_key.st_uid, stat.S_IMODE(root_key.st_mode) & 0o077), (0, 0))

    def test_validate_installed_config_finds_what_the_default_has(self):
        rc, out, err = run(as_service_user([BIN, "validate", "--config", CONFIG]), check=False)
        self.assertEqual(rc, 0, out + err)
        _, embedded, _ = run([BIN, "validate"])
        # Same counts (categories, list domains, rules, ...) as the embedded default.
        self.assertEqual(out.splitlines()[1:], embedded.splitlines()[1:])

    def test_installed_tool_makes_a_district_ca(self):
        out = os.path.join(self.tmp, "tool-ca")
        run(["/usr/share/hallpass/certs/make-district-ca.sh", "--out", out])
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(out, "ca.key")).st_mode), 0o600)

    # -- the installed binary, run as the unit runs it ------------------------------------
    def test_runs_as_the_service_user_and_serves(self):
        # The wrapper really applies the no-write-and-execute rule through setpriv's exec.
        probe = subprocess.run(
            as_service_user(["python3", "-c", "import mmap; mmap.mmap(-1, 4096, prot=7)"]),
            preexec_fn=mdwe_then(0o077), capture_output=True, timeout=30)
        self.assertNotEqual(probe.returncode, 0, "PR_SET_MDWE not in force")
        self.assertIn(b"PermissionError", probe.stderr)

        service = self.start_service()
        with open("/proc/%d/status" % service.pid) as f:
            status = f.read()
        user = pwd.getpwnam("hallpass")
        self.assertRegex(status, r"Uid:\s+%d\s" % user.pw_uid)
        for field in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
            self.assertRegex(status, r"%s:\s+0+\n" % field)
        self.assertRegex(status, r"NoNewPrivs:\s+1")
        self.exercise(service, "as-service")
        st = os.stat(service.audit_path)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (user.pw_uid, 0o600))
        with open(service.audit_path) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        self.assertTrue([l for l in lines if l.get("host") == "games.test" and l["action"] == "block"])

    def test_system_calls_fit_the_unit(self):
        if not STRACE:
            self.skipTest("strace is not installed (apt-get install strace)")
        trace_dir = tempfile.mkdtemp(prefix="hallpass-trace-", dir=self.tmp)
        os.chown(trace_dir, pwd.getpwnam("hallpass").pw_uid, -1)
        trace = os.path.join(trace_dir, "trace")
        service = self.start_service(trace=trace)
        self.exercise(service, "traced")
        with open(trace) as f:
            text = f.read()
        # Only Hallpass's own calls: setpriv's, before it execs the binary, are not the unit's.
        text = text[text.index('execve("%s"' % BIN):]
        with open(UNIT) as f:
            unit = f.read()
        calls = set(re.findall(r"^\d+\s+([a-z0-9_]+)\(", text, re.M))
        self.assertIn("accept", " ".join(calls))
        allowed = allowed_syscalls(unit_directives(unit, "SystemCallFilter"))
        self.assertEqual(sorted(calls - allowed), [], "system calls the unit's filter refuses")
        families = set(re.findall(r"socket\((AF_[A-Z0-9]+)", text))
        self.assertTrue(families)
        self.assertLessEqual(families, set(unit_directives(unit, "RestrictAddressFamilies")[0].split()))
        # ProtectSystem=strict: writes only under the unit's writable folders.
        written = set(re.findall(r'open(?:at)?\((?:AT_FDCWD, )?"([^"]+)", [^)]*O_(?:WRONLY|RDWR|CREAT)',
                                 text))
        self.assertTrue(written)
        self.assertEqual([p for p in written if p != "/dev/null"
                          and not p.startswith((LOG_DIR + "/", STATE_DIR + "/"))], [])
        # ProcSubset=pid, PrivateDevices=yes: only the process's own /proc, only harmless /dev.
        # glibc's malloc opens /proc/sys/vm/overcommit_memory once, the first time a thread's
        # arena shrinks (the content sets compile on a second thread); when the open fails, as
        # it does under ProcSubset=pid, glibc releases memory with madvise instead.
        opened = set(re.findall(r'open(?:at)?\((?:AT_FDCWD, )?"([^"]+)"', text))
        self.assertEqual([p for p in opened if p.startswith("/proc/")
                          and not re.match(r"/proc/(self|thread-self|\d+)/", p)
                          and p != "/proc/sys/vm/overcommit_memory"], [])
        self.assertEqual([p for p in opened if p.startswith("/dev/") and p not in
                          ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")], [])


def allowed_syscalls(filters):
    """The set of system calls a unit's SystemCallFilter= lines allow (allow list first, then
    ~deny lines), with groups expanded by systemd-analyze itself."""
    _, out, _ = run(["systemd-analyze", "syscall-filter"])
    groups, current = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif current is not None and line.strip() and not line.strip().startswith("#"):
            current.append(line.strip())

    def expand(names):
        out = set()
        for name in names:
            out |= expand(groups[name]) if name.startswith("@") else {name}
        return out

    allowed = None
    for value in filters:
        if value.startswith("~"):
            allowed -= expand(value[1:].split())
        else:
            allowed = (allowed or set()) | expand(value.split())
    return allowed


class PackageRemovalTest(Installed):
    @classmethod
    def setUpClass(cls):
        cls.install()

    def test_remove_keeps_the_config_and_purge_removes_the_rest(self):
        audit = os.path.join(LOG_DIR, "audit.jsonl")
        with open(audit, "w") as f:
            f.write("{}\n")
        os.makedirs(CA_DIR)
        with open(os.path.join(CA_DIR, "ca.pem"), "w") as f:
            f.write("the district's CA\n")

        dpkg("-r", PACKAGE)
        self.assertEqual(dpkg_status(), "deinstall ok config-files")
        self.assertFalse(os.path.exists(BIN))
        self.assertFalse(os.path.exists(UNIT))
        self.assertTrue(os.path.exists(CONFIG))
        self.assertTrue(os.path.exists(audit))

        dpkg("--purge", PACKAGE)
        self.assertTrue(dpkg_status().endswith("not-installed"))
        for gone in (CONFIG, "/etc/hallpass/lists", LOG_DIR, STATE_DIR, "/usr/share/hallpass",
                     "/usr/share/doc/hallpass"):
            self.assertFalse(os.path.exists(gone), gone)
        self.assertFalse(os.path.lexists(ENABLED_LINK))
        self.assertTrue(_user_exists(), "the user stays (Debian practice)")
        self.assertTrue(os.path.exists(os.path.join(CA_DIR, "ca.pem")), "purge keeps the district CA")


if __name__ == "__main__":
    unittest.main()
