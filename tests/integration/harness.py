"""Shared helpers for the Hallpass integration tests.

Everything here uses the Python 3 standard library only and talks to 127.0.0.x only.

* ``Proxy``       -- starts the real ``hallpass run`` binary on a temporary config.
* ``Origin``      -- a recording HTTP/1.1 upstream (threaded, keep-alive capable).
* ``RawRecorder`` -- a TCP server that records every connection and every byte.
* ``TlsOrigin``   -- an HTTPS upstream for ``secure.test`` with a CA made by the openssl CLI.
* ``curl()``, ``curl_request()``, ``raw_exchange()``, ``RawClient`` -- real clients.

Synchronisation is always on events: a line on the proxy's stderr, a server-side
``threading.Condition``, a socket read, or a polled condition with a deadline. Every
blocking wait has a timeout so a broken proxy fails a test instead of hanging it.
"""

import hashlib
import http.client
import http.server
import json
import os
import random
import re
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("HALLPASS_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
HALLPASS_BIN = os.environ.get("HALLPASS_BIN") or os.path.join(SOURCE_DIR, "build", "proxy", "hallpass")


def _sanitized_build():
    """True when the binary under test was built with HALLPASS_SANITIZE (ctest says which
    build folder it came from): ASan runs it several times slower and keeps freed memory in
    quarantine, so a test's own timing margins and RSS bounds must know."""
    build_dir = os.environ.get("HALLPASS_BUILD_DIR")
    if not build_dir:
        return False
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as cache:
            return any(line.strip() == "HALLPASS_SANITIZE:BOOL=ON" for line in cache)
    except OSError:
        return False


SANITIZED = _sanitized_build()
CURL = "/usr/bin/curl" if os.path.exists("/usr/bin/curl") else (shutil.which("curl") or "curl")
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

LOCAL = "127.0.0.1"
STARTUP_TIMEOUT = 30.0
DEFAULT_TIMEOUT = 20.0

# Proxy settings in the environment would make curl (and urllib) go elsewhere.
_PROXY_ENV = {"http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy"}


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_ENV}
    env.pop("CURL_HOME", None)
    if extra:
        env.update(extra)
    return env


def wait_for(predicate, timeout=DEFAULT_TIMEOUT, interval=0.02, message="condition"):
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` passes.

    Used only for state that offers no event to wait on (a file another process
    appends to, a metric another process updates). Returns the truthy value.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, message))
        time.sleep(interval)


def binary_available():
    return os.path.isfile(HALLPASS_BIN) and os.access(HALLPASS_BIN, os.X_OK)


def require_binary():
    """Fail loudly (not skip) when the binary is missing: a missing binary is a broken build."""
    if not binary_available():
        raise AssertionError("hallpass binary not found at %s (set HALLPASS_BIN)" % HALLPASS_BIN)


# ---------------------------------------------------------------------------------------
# Deterministic payloads
# ---------------------------------------------------------------------------------------

# A pseudo-random block whose length is a prime, repeated: any shift, duplication, drop or
# reordering of a transport-sized piece changes the sha256 of the stream.
PATTERN_LEN = 1048583
PATTERN = random.Random(20240601).randbytes(PATTERN_LEN)
_PATTERN2 = memoryview(PATTERN + PATTERN)
_sha_cache = {}
_sha_lock = threading.Lock()


def pattern_chunks(n, chunk=PATTERN_LEN):
    """Yield ``n`` bytes of the deterministic pattern in pieces of at most ``chunk`` bytes."""
    pos = 0
    chunk = max(1, min(chunk, PATTERN_LEN))
    while pos < n:
        off = pos % PATTERN_LEN
        take = min(chunk, n - pos)
        yield _PATTERN2[off:off + take]
        pos += take


def pattern_bytes(n):
    return b"".join(bytes(c) for c in pattern_chunks(n))


def pattern_sha256(n):
    with _sha_lock:
        if n in _sha_cache:
            return _sha_cache[n]
    h = hashlib.sha256()
    for c in pattern_chunks(n):
        h.update(c)
    digest = h.hexdigest()
    with _sha_lock:
        _sha_cache[n] = digest
    return digest


def write_pattern_file(path, n):
    with open(path, "wb") as f:
        for c in pattern_chunks(n):
            f.write(c)
    return pattern_sha256(n)


# ---------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------

_LABEL_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Metrics:
    """Parsed Prometheus text exposition: samples are (name, {labels}, value)."""

    def __init__(self, text):
        self.text = text
        self.samples = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.match(r'^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+(\S+)', line)
            if not m:
                continue
            labels = dict(_LABEL_RE.findall(m.group(3) or ""))
            try:
                value = float(m.group(4))
            except ValueError:
                continue
            self.samples.append((m.group(1), labels, value))

    def names(self):
        return {s[0] for s in self.samples}

    def has(self, name):
        return any(s[0] == name for s in self.samples)

    def sum(self, name, **labels):
        """Sum of every sample of ``name`` whose labels include ``labels``."""
        total = 0.0
        for n, l, v in self.samples:
            if n == name and all(l.get(k) == str(val) for k, val in labels.items()):
                total += v
        return total


# ---------------------------------------------------------------------------------------
# The proxy under test
# ---------------------------------------------------------------------------------------

def deep_merge(base, override):
    out = dict(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


class ProxyStartError(AssertionError):
    pass


class Proxy:
    """Runs ``hallpass run --config FILE`` on a generated config.

    ``config`` is a dict of overrides; the file written is ``{"extends": "default", ...}``
    as JSON (valid YAML) with listen/admin on 127.0.0.1:0 and the audit log in the
    temporary folder unless ``config`` says otherwise.
    """

    def __init__(self, config=None, workdir=None, extra_args=(), startup_timeout=STARTUP_TIMEOUT):
        require_binary()
        self._own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="hallpass-it-")
        self.audit_path = os.path.join(self.dir, "audit.jsonl")
        base = {
            "listen": ["127.0.0.1:0"],
            "admin": {"listen": "127.0.0.1:0"},
            "audit": {"path": self.audit_path},
            # Tests reach only names they map; a name they forgot (or one a browser asks
            # for on its own) must fail at the proxy, never become a DNS query off this box.
            "upstream": {"dns": False},
        }
        merged = deep_merge(base, config or {})
        self.config = {"extends": "default"}
        self.config.update(merged)
        if isinstance(self.config.get("audit"), dict) and self.config["audit"].get("path"):
            self.audit_path = self.config["audit"]["path"]
        self.config_path = os.path.join(self.dir, "hallpass.yaml")
        with open(self.config_path, "w") as f:
            f.write(json.dumps(self.config, indent=2))
            f.write("\n")
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.proc = None
        self.port = None
        self.admin_port = None
        self.stderr_lines = []
        self.stdout_lines = []
        self._cond = threading.Condition()
        self._stderr_eof = False
        self._threads = []

    # -- process ---------------------------------------------------------------------
    def command(self):
        """The argv that runs the proxy (a subclass may wrap it: another user, strace)."""
        return [HALLPASS_BIN, "run", "--config", self.config_path] + self.extra_args

    def popen_options(self):
        return {"cwd": self.dir}

    def start(self):
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=clean_env(), **self.popen_options())
        for stream, sink, is_err in ((self.proc.stderr, self.stderr_lines, True),
                                     (self.proc.stdout, self.stdout_lines, False)):
            t = threading.Thread(target=self._drain, args=(stream, sink, is_err), daemon=True)
            t.start()
            self._threads.append(t)
        try:
            _, line = self.wait_for_line(r"proxy listening on 127\.0\.0\.1:(\d+)", self.startup_timeout)
            self.port = int(re.search(r"proxy listening on 127\.0\.0\.1:(\d+)", line).group(1))
            _, line = self.wait_for_line(r"admin listening on 127\.0\.0\.1:(\d+)", self.startup_timeout)
            self.admin_port = int(re.search(r"admin listening on 127\.0\.0\.1:(\d+)", line).group(1))
            self.wait_for_line(r"hallpass ready", self.startup_timeout)
        except AssertionError as e:
            self.kill()
            raise ProxyStartError("proxy did not start: %s\n%s" % (e, self.log_tail()))
        return self

    def _drain(self, stream, sink, is_err):
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self._cond:
                    sink.append(line)
                    self._cond.notify_all()
        finally:
            if is_err:
                with self._cond:
                    self._stderr_eof = True
                    self._cond.notify_all()

    def wait_for_line(self, pattern, timeout=DEFAULT_TIMEOUT, start=0):
        """Wait for a stderr line at index >= ``start`` matching ``pattern``.

        Returns (index, line). Raises AssertionError on timeout or when stderr closes.
        """
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self._cond:
            while True:
                while i < len(self.stderr_lines):
                    if rx.search(self.stderr_lines[i]):
                        return i, self.stderr_lines[i]
                    i += 1
                if self._stderr_eof:
                    raise AssertionError("proxy stderr closed before a line matching %r (exit %s)"
                                         % (pattern, self.proc.poll() if self.proc else None))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no stderr line matching %r within %.1fs" % (pattern, timeout))
                self._cond.wait(left)

    def mark(self):
        """Index of the next stderr line, to wait for lines logged after this point."""
        with self._cond:
            return len(self.stderr_lines)

    def log_tail(self, n=80):
        with self._cond:
            err = list(self.stderr_lines[-n:])
            out = list(self.stdout_lines[-20:])
        text = "---- hallpass stderr (last %d lines) ----\n%s" % (len(err), "\n".join(err))
        if out:
            text += "\n---- hallpass stdout ----\n" + "\n".join(out)
        return text

    @property
    def pid(self):
        return self.proc.pid

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def admin_url(self):
        return "http://127.0.0.1:%d" % self.admin_port

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def sighup(self):
        """Send SIGHUP; returns the stderr mark taken just before sending it."""
        m = self.mark()
        self.proc.send_signal(signal.SIGHUP)
        return m

    def reload(self, timeout=DEFAULT_TIMEOUT):
        """SIGHUP and wait for the outcome line; returns (ok, line)."""
        m = self.sighup()
        _, line = self.wait_for_line(r"policy reloaded|reload failed", timeout, start=m)
        return ("policy reloaded" in line), line

    def terminate(self):
        if self.running():
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout=DEFAULT_TIMEOUT):
        """Wait for exit; returns the exit code (raises AssertionError on timeout)."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("proxy did not exit within %.1fs" % timeout)
        for t in self._threads:
            t.join(5)
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass

    def stop(self):
        """SIGTERM, wait a bounded time, SIGKILL if needed. Returns exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for t in self._threads:
            t.join(5)
        return self.proc.returncode

    def cleanup(self):
        self.stop()
        for s in (self.proc.stdout, self.proc.stderr) if self.proc else ():
            try:
                s.close()
            except OSError:
                pass
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            sys.stderr.write("\n" + self.log_tail() + "\n")
        self.cleanup()
        return False

    # -- observations ----------------------------------------------------------------
    def audit_lines(self):
        """Every JSON object in the audit log so far (unparseable lines are returned as str)."""
        try:
            with open(self.audit_path, "r", encoding="utf-8", errors="replace") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        out = []
        for line in data.splitlines():
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append(line)
        return out

    def wait_audit(self, predicate, timeout=DEFAULT_TIMEOUT, message="audit line"):
        def find():
            for rec in self.audit_lines():
                if isinstance(rec, dict) and predicate(rec):
                    return rec
            return None
        return wait_for(find, timeout, message=message)

    def admin_get(self, path, timeout=10):
        conn = http.client.HTTPConnection(LOCAL, self.admin_port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, dict(resp.getheaders()), body
        finally:
            conn.close()

    def metrics(self):
        status, _, body = self.admin_get("/metrics")
        if status != 200:
            raise AssertionError("/metrics returned %d" % status)
        return Metrics(body.decode("utf-8", "replace"))

    def vm_hwm_kib(self):
        return _proc_status_kib(self.proc.pid, "VmHWM")

    def vm_rss_kib(self):
        return _proc_status_kib(self.proc.pid, "VmRSS")


def _proc_status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError("%s not in /proc/%d/status" % (key, pid))


class ProxyTestCase(unittest.TestCase):
    """TestCase that prints the proxy's log when a test fails or errors.

    Subclasses set ``cls.proxy`` (and keep it running across tests) or ``self.proxy``.
    """

    proxy = None

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            p = getattr(self, "proxy", None)
            if p is not None and p.proc is not None:
                sys.stderr.write("\n[%s]\n%s\n" % (self.id(), p.log_tail()))
        return out

    @classmethod
    def start_proxy(cls, config):
        return cls.start_owned(Proxy(config))

    @classmethod
    def start_owned(cls, proxy):
        """Starts `proxy` (a Proxy or one of its kind, e.g. netns.NetnsProxy) and cleans it
        up with the class, or at once when it fails to start."""
        try:
            proxy.start()
        except BaseException:
            proxy.cleanup()
            raise
        cls.addClassCleanup(proxy.cleanup)
        return proxy


# ---------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------

def curl(*args, timeout=60, input=None, env=None):
    """Run the real curl. Returns (returncode, stdout bytes, stderr str).

    ``-q`` (ignore .curlrc), ``-sS`` and a ``--max-time`` are always added.
    """
    cmd = [CURL, "-q", "-sS", "--max-time", str(int(timeout))] + [str(a) for a in args]
    try:
        p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=clean_env(env), timeout=timeout + 10)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("curl did not finish within %ss: %s" % (timeout + 10, cmd))
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


class CurlResult:
    def __init__(self, rc, status, headers, body, stderr, all_heads):
        self.rc = rc
        self.status = status
        self.headers = headers  # list of (name, value) of the final response
        self.body = body
        self.stderr = stderr
        self.all_heads = all_heads  # every header block curl saw (100, CONNECT 200, final)

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "CurlResult(rc=%r, status=%r, headers=%r, body=%r, stderr=%r)" % (
            self.rc, self.status, self.headers, self.body[:300], self.stderr[-500:])


def parse_header_blocks(raw):
    """Split curl's -D dump into blocks: [(status, [(name, value)])]."""
    blocks = []
    text = raw.decode("iso-8859-1")
    for block in re.split(r"\r?\n\r?\n", text):
        lines = [l for l in re.split(r"\r?\n", block) if l]
        if not lines or not lines[0].startswith("HTTP/"):
            continue
        parts = lines[0].split(None, 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        headers = []
        for l in lines[1:]:
            if ":" in l:
                k, v = l.split(":", 1)
                headers.append((k.strip(), v.strip()))
        blocks.append((status, headers))
    return blocks


def curl_request(proxy_port, url, *args, timeout=60, input=None):
    """curl through the proxy at 127.0.0.1:``proxy_port`` (``-x``); returns a CurlResult.

    ``proxy_port`` may be None for a direct request.
    """
    tmp = tempfile.mkdtemp(prefix="hallpass-curl-")
    try:
        hdr = os.path.join(tmp, "headers")
        body = os.path.join(tmp, "body")
        pre = []
        if proxy_port is not None:
            pre = ["-x", "http://127.0.0.1:%d" % proxy_port]
        rc, _, err = curl(*pre, "-D", hdr, "-o", body, *args, url, timeout=timeout, input=input)
        raw_h = b""
        if os.path.exists(hdr):
            with open(hdr, "rb") as f:
                raw_h = f.read()
        data = b""
        if os.path.exists(body):
            with open(body, "rb") as f:
                data = f.read()
        blocks = parse_header_blocks(raw_h)
        status, headers = blocks[-1] if blocks else (None, [])
        return CurlResult(rc, status, headers, data, err, blocks)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class RawResponse:
    def __init__(self, data):
        self.raw = data
        head, sep, body = data.partition(b"\r\n\r\n")
        self.complete_head = bool(sep)
        lines = head.split(b"\r\n")
        self.status_line = lines[0].decode("iso-8859-1") if lines else ""
        m = re.match(r"HTTP/1\.[01] (\d{3})", self.status_line)
        self.status = int(m.group(1)) if m else None
        self.headers = []
        for l in lines[1:]:
            if b":" in l:
                k, v = l.split(b":", 1)
                self.headers.append((k.decode("iso-8859-1").strip(), v.decode("iso-8859-1").strip()))
        self.body = body

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def __repr__(self):
        return "RawResponse(%r)" % (self.raw[:600],)


def raw_exchange(port, data, timeout=10.0, source=None, host=LOCAL):
    """Send ``data`` to the proxy and read until it closes the connection.

    Returns the bytes received. Raises AssertionError if the connection is still open
    after ``timeout`` seconds (so "the proxy closes the connection" is checked by every
    caller). A reset after some bytes arrived counts as closed.
    """
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if source:
            s.bind((source, 0))
        s.settimeout(timeout)
        s.connect((host, port))
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the proxy may refuse before reading everything; read what it said
        chunks = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("connection not closed by the proxy within %.1fs; received %r"
                                     % (timeout, b"".join(chunks)[:600]))
            s.settimeout(left)
            try:
                b = s.recv(65536)
            except socket.timeout:
                raise AssertionError("connection not closed by the proxy within %.1fs; received %r"
                                     % (timeout, b"".join(chunks)[:600]))
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()


class RawClient:
    """A plain TCP connection to the proxy for keep-alive and CONNECT exchanges."""

    def __init__(self, port, host=LOCAL, source=None, timeout=10.0, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if source:
            self.sock.bind((source, 0))
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.timeout = timeout
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        b = self.sock.recv(65536)
        if not b:
            raise EOFError("connection closed; buffered %r" % self.buf[:300])
        self.buf += b

    def read_head(self):
        """Read one response head; returns (status, [(name, value)], raw_head)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        r = RawResponse(head + b"\r\n\r\n")
        return r.status, r.headers, head

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, method="GET"):
        """Read one full response (Content-Length, chunked or until close)."""
        status, headers, head = self.read_head()
        h = {k.lower(): v for k, v in headers}
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return status, headers, b""
        if "chunked" in h.get("transfer-encoding", "").lower():
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                line, _, self.buf = self.buf.partition(b"\r\n")
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while True:  # trailers
                        while b"\r\n" not in self.buf:
                            self._fill()
                        t, _, self.buf = self.buf.partition(b"\r\n")
                        if not t:
                            break
                    return status, headers, body
                body += self.read_exact(size)
                self.read_exact(2)
        if "content-length" in h:
            return status, headers, self.read_exact(int(h["content-length"]))
        body = self.buf
        self.buf = b""
        while True:
            b = self.sock.recv(65536)
            if not b:
                return status, headers, body
            body += b

    def closed_by_peer(self, timeout=None):
        """True when the peer closes (EOF or reset) within ``timeout``; False if data or timeout."""
        self.sock.settimeout(timeout or self.timeout)
        try:
            b = self.sock.recv(1)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        finally:
            self.sock.settimeout(self.timeout)
        if b:
            self.buf += b
            return False
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False


def proxied_get(port, url, headers=(), method="GET", body=None, timeout=10.0):
    """One absolute-form request over a fresh connection with Connection: close."""
    u = urllib.parse.urlsplit(url)
    host = u.netloc
    lines = ["%s %s HTTP/1.1" % (method, url), "Host: %s" % host, "Connection: close"]
    lines += ["%s: %s" % h for h in headers]
    if body is not None:
        lines.append("Content-Length: %d" % len(body))
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1") + (body or b"")
    return RawResponse(raw_exchange(port, data, timeout=timeout))


# ---------------------------------------------------------------------------------------
# Upstream servers
# ---------------------------------------------------------------------------------------

class _ThreadingServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


class _BodyReader:
    """Reads a request body (Content-Length or chunked) from a buffered file."""

    def __init__(self, rfile, headers):
        self.rfile = rfile
        te = (headers.get("Transfer-Encoding") or "").strip().lower()
        cl = headers.get("Content-Length")
        self.chunked = te == "chunked"
        self.remaining = int(cl) if (cl is not None and not self.chunked) else 0
        self.done = False if (self.chunked or self.remaining) else True
        self.chunk_left = 0

    def read(self, n=65536):
        if self.done:
            return b""
        if not self.chunked:
            b = self.rfile.read(min(n, self.remaining)) if self.remaining else b""
            if not b:
                if self.remaining:
                    raise EOFError("body truncated, %d bytes missing" % self.remaining)
                self.done = True
                return b""
            self.remaining -= len(b)
            if self.remaining == 0:
                self.done = True
            return b
        if self.chunk_left == 0:
            line = self.rfile.readline(1024)
            if not line:
                raise EOFError("chunked body truncated")
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:
                    t = self.rfile.readline(8192)
                    if t in (b"\r\n", b"\n", b""):
                        break
                self.done = True
                return b""
            self.chunk_left = size
        b = self.rfile.read(min(n, self.chunk_left))
        if not b:
            raise EOFError("chunk truncated")
        self.chunk_left -= len(b)
        if self.chunk_left == 0:
            self.rfile.read(2)
        return b


class Origin:
    """Recording HTTP/1.1 upstream on 127.0.0.1:0.

    Every request is recorded as a dict: method, target, path, query, headers (list of
    (name, value) in arrival order), body_len, body_sha256, peer_port, conn_id,
    seq_on_conn. Endpoints:
      /echo[?rate=BYTES_PER_S]  JSON of what it got (reads the body at that rate if given)
      /bytes?n=N                N pattern bytes with Content-Length
      /chunked?n=N              N pattern bytes chunked
      /close?n=N                N pattern bytes, neither length nor chunked, then close
      /hop                      a response carrying hop-by-hop headers
      /redirect?to=URL[&status=N]  a redirect (302 unless given) to URL
      /hang                     never answers until the Origin is closed
      anything else             200 "ok"
    """

    def __init__(self):
        self.records = []
        self.cond = threading.Condition()
        self.release = threading.Event()
        self.connections = 0
        self.hang_started = threading.Event()
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "origin"
            sys_version = ""

            def log_message(self, *a):
                pass

            def setup(self):
                super().setup()
                with origin.cond:
                    origin.connections += 1
                    self.conn_id = origin.connections
                self.seq = 0

            def handle_expect_100(self):
                # Record that an Expect header reached the origin; answer like a server would.
                return super().handle_expect_100()

            def _record(self, body_len, sha, extra=None):
                u = urllib.parse.urlsplit(self.path)
                rec = {
                    "method": self.command,
                    "target": self.path,
                    "path": u.path,
                    "query": urllib.parse.parse_qs(u.query),
                    "version": self.request_version,
                    "headers": list(self.headers.items()),
                    "body_len": body_len,
                    "body_sha256": sha,
                    "peer_port": self.client_address[1],
                    "conn_id": self.conn_id,
                    "seq_on_conn": self.seq,
                }
                if extra:
                    rec.update(extra)
                self.seq += 1
                with origin.cond:
                    origin.records.append(rec)
                    origin.cond.notify_all()
                return rec

            def _consume_body(self, rate=None):
                reader = _BodyReader(self.rfile, self.headers)
                h = hashlib.sha256()
                n = 0
                t0 = time.monotonic()
                while True:
                    b = reader.read(65536)
                    if not b:
                        break
                    h.update(b)
                    n += len(b)
                    if rate:
                        # Throttle (not synchronisation): read no faster than `rate` bytes/s.
                        ahead = n / rate - (time.monotonic() - t0)
                        if ahead > 0:
                            time.sleep(ahead)
                return n, h.hexdigest()

            def _send(self, status, body, ctype="application/octet-stream", headers=()):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self):
                u = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(u.query)
                n = int(q.get("n", ["0"])[0])
                rate = float(q["rate"][0]) if "rate" in q else None
                try:
                    body_len, sha = self._consume_body(rate)
                except (EOFError, ValueError, ConnectionError) as e:
                    self._record(-1, None, {"body_error": str(e)})
                    self.close_connection = True
                    return
                rec = self._record(body_len, sha)
                path = u.path
                if path == "/echo":
                    out = dict(rec)
                    out["query"] = {k: v for k, v in rec["query"].items()}
                    self._send(200, json.dumps(out).encode(), "application/json")
                elif path == "/bytes":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(n))
                    self.end_headers()
                    if self.command != "HEAD":
                        for c in pattern_chunks(n, 256 * 1024):
                            self.wfile.write(c)
                elif path == "/chunked":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    sizes = [1, 7, 4093, 65536, 100003]
                    i = 0
                    pos = 0
                    if self.command == "HEAD":
                        return
                    while pos < n:
                        take = min(sizes[i % len(sizes)], n - pos)
                        data = bytes(_PATTERN2[pos % PATTERN_LEN:pos % PATTERN_LEN + take])
                        self.wfile.write(b"%x\r\n" % take + data + b"\r\n")
                        pos += take
                        i += 1
                    self.wfile.write(b"0\r\n\r\n")
                elif path == "/close":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    if self.command != "HEAD":
                        for c in pattern_chunks(n, 256 * 1024):
                            self.wfile.write(c)
                    self.close_connection = True
                elif path == "/hop":
                    self._send(200, b"hop", "text/plain", headers=[
                        ("Connection", "X-Resp-Hop"),
                        ("X-Resp-Hop", "secret"),
                        ("Keep-Alive", "timeout=4321"),
                        ("X-Resp-End", "kept"),
                    ])
                elif path == "/redirect":
                    self._send(int(q.get("status", ["302"])[0]), b"moved", "text/plain",
                               headers=[("Location", q["to"][0])])
                elif path == "/hang":
                    origin.hang_started.set()
                    origin.release.wait(180)
                    self.close_connection = True
                else:
                    self._send(200, b"ok", "text/plain")

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _handle

        self.server = _ThreadingServer((LOCAL, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def snapshot(self):
        with self.cond:
            return list(self.records)

    def wait_requests(self, count, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.records) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("origin saw %d requests, expected %d" % (len(self.records), count))
                self.cond.wait(left)
            return list(self.records)

    def wait_request(self, predicate, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for r in self.records:
                    if predicate(r):
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("origin never saw the expected request; saw %r"
                                         % [(r["method"], r["target"]) for r in self.records])
                self.cond.wait(left)

    def requests_for_host(self, host):
        out = []
        for r in self.snapshot():
            for k, v in r["headers"]:
                if k.lower() == "host" and v.lower().split(":")[0].rstrip(".") == host.lower():
                    out.append(r)
        return out

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False


def header_values(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


class ConnectionServer:
    """A TCP server on 127.0.0.1:0 that hands each accepted connection to ``serve(sock)`` on
    a thread of its own: the frame of the tests' scripted upstreams. A subclass sets its own
    attributes before calling ``__init__``, which starts accepting."""

    def __init__(self, backlog=64):
        self.sock = socket.create_server((LOCAL, 0), backlog=backlog)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def addr(self):
        return "%s:%d" % (LOCAL, self.port)

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, sock):
        raise NotImplementedError

    def close(self):
        self.sock.close()


class RawRecorder:
    """TCP server that records each connection and every byte it receives.

    With ``respond=True`` it answers each request head it sees (each "\\r\\n\\r\\n") with
    ``200 ok`` (Content-Length: 2, keep-alive), so a proxy can complete a sanity request.
    """

    def __init__(self, respond=False):
        self.respond = respond
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOCAL, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.cond = threading.Condition()
        self.conns = []  # list of bytearray, one per connection
        self.connected = threading.Event()
        self._closing = False
        self._open = []
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def _accept_loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.cond:
                if self._closing:
                    c.close()
                    return
                buf = bytearray()
                self.conns.append(buf)
                self._open.append(c)
                self.cond.notify_all()
            self.connected.set()
            threading.Thread(target=self._serve, args=(c, buf), daemon=True).start()

    def _serve(self, c, buf):
        c.settimeout(120)
        answered = 0
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    return
                with self.cond:
                    buf.extend(b)
                    self.cond.notify_all()
                    heads = bytes(buf).count(b"\r\n\r\n")
                if self.respond:
                    while answered < heads:
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
                        answered += 1
        except OSError:
            return
        finally:
            try:
                c.close()
            except OSError:
                pass

    def total_bytes(self):
        with self.cond:
            return sum(len(b) for b in self.conns)

    def all_bytes(self):
        with self.cond:
            return b"".join(bytes(b) for b in self.conns)

    def connection_count(self):
        with self.cond:
            return len(self.conns)

    def wait_bytes(self, needle, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if any(needle in bytes(b) for b in self.conns):
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("recorder never received %r; got %r" % (needle, self.all_bytes()[:500]))
                self.cond.wait(left)

    def wait_connections(self, n, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.conns) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("recorder saw %d connections, expected %d" % (len(self.conns), n))
                self.cond.wait(left)

    def close(self):
        with self.cond:
            self._closing = True
            opened = list(self._open)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in opened:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False


def refused_port():
    """A socket bound to 127.0.0.1:P that never listens: connecting to P is refused.

    Returns (socket, port); keep the socket open while the port must stay refused.
    """
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((LOCAL, 0))
    return s, s.getsockname()[1]


def _run(cmd, cwd=None, timeout=60):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (cmd, p.returncode, p.stderr.decode(errors="replace")))
    return p.stdout


class TestCA:
    """A throwaway CA and a server certificate for ``names`` made with the openssl CLI."""

    def __init__(self, names=("secure.test",), cn="secure.test"):
        self.dir = tempfile.mkdtemp(prefix="hallpass-ca-")
        d = self.dir
        self.ca_cert = os.path.join(d, "ca.pem")
        self.ca_key = os.path.join(d, "ca.key")
        self.cert = os.path.join(d, "server.pem")
        self.key = os.path.join(d, "server.key")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        _run([OPENSSL, "req", "-x509"] + ec + ["-keyout", self.ca_key, "-out", self.ca_cert, "-days", "3",
              "-subj", "/CN=Hallpass Integration Test CA",
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        csr = os.path.join(d, "server.csr")
        _run([OPENSSL, "req", "-new"] + ec + ["-keyout", self.key, "-out", csr, "-subj", "/CN=%s" % cn])
        ext = os.path.join(d, "server.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n")
            f.write("keyUsage=critical,digitalSignature\n")
            f.write("extendedKeyUsage=serverAuth\n")
            f.write("subjectAltName=%s\n" % ",".join("DNS:%s" % n for n in names))
        _run([OPENSSL, "x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key,
              "-set_serial", str(random.randrange(1, 2 ** 62)), "-days", "3", "-extfile", ext,
              "-out", self.cert])
        self.fingerprint = self.cert_fingerprint(self.cert)

    @staticmethod
    def cert_fingerprint(pem_path_or_text):
        if os.path.exists(pem_path_or_text):
            with open(pem_path_or_text) as f:
                pem = f.read()
        else:
            pem = pem_path_or_text
        der = ssl.PEM_cert_to_DER_cert(pem)
        return hashlib.sha256(der).hexdigest()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class TlsOrigin:
    """HTTPS upstream on 127.0.0.1:0 serving a certificate for secure.test.

    Records requests like ``Origin`` (plus the SNI each TLS connection carried). Every path
    answers ``200`` with body ``hello from secure.test <path>``.
    """

    def __init__(self, ca=None):
        self.ca = ca or TestCA()
        self._own_ca = ca is None
        self.records = []
        self.snis = []
        self.cond = threading.Condition()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.ca.cert, self.ca.key)
        ctx.set_alpn_protocols(["http/1.1"])

        def on_sni(sock, name, _ctx):
            with self.cond:
                self.snis.append(name)

        ctx.sni_callback = on_sni
        self.ctx = ctx
        tls = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def setup(self):
                self.request.settimeout(30)
                self.request.do_handshake()
                super().setup()

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                rec = {"method": self.command, "path": self.path, "headers": list(self.headers.items()),
                       "body_len": len(body)}
                with tls.cond:
                    tls.records.append(rec)
                    tls.cond.notify_all()
                out = ("hello from secure.test %s" % self.path).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_HEAD = _handle

        class Server(_ThreadingServer):
            def get_request(self):
                sock, addr = self.socket.accept()
                return ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

            def handle_error(self, request, client_address):
                pass  # failed handshakes are expected in some tests

        self.server = Server((LOCAL, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def wait_requests(self, count, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.records) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("TLS origin saw %d requests, expected %d" % (len(self.records), count))
                self.cond.wait(left)
            return list(self.records)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        if self._own_ca:
            self.ca.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False


def run_hallpass(*args, timeout=60, cwd=None):
    """Run the binary with a CLI subcommand. Returns (returncode, stdout str, stderr str)."""
    require_binary()
    try:
        p = subprocess.run([HALLPASS_BIN] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           env=clean_env(), cwd=cwd)
    except subprocess.TimeoutExpired:
        raise AssertionError("hallpass %s did not finish within %ss" % (" ".join(map(str, args)), timeout))
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def write_list(folder, domains):
    """Write a squidGuard-style list folder holding a `domains` file; returns the folder."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "domains")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("# written by the integration tests\n")
        for d in domains:
            f.write(d + "\n")
    os.replace(tmp, path)
    return folder


def strip_tags(html):
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    text = re.sub(r"(?s)<[^>]+>", " ", text)
    for a, b in (("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&nbsp;", " ")):
        text = text.replace(a, b)
    return re.sub(r"\s+", " ", text)


REQUEST_ID_RE = re.compile(r"(?i)request[\s_-]*id\W{0,6}([0-9A-Za-z][0-9A-Za-z_.:-]{3,})")


def block_page_request_id(html):
    """The request id a page shows after a "Request id" label (the first one holding a digit)."""
    for m in REQUEST_ID_RE.finditer(strip_tags(html)):
        if re.search(r"\d", m.group(1)):
            return m.group(1)
    return None


def client_hello(sni):
    """The bytes of a real TLS ClientHello for ``sni`` (made by the ssl module, not sent)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()
