"""A three-namespace routed network for the transparent-gateway tests.

    client ns  --veth--  gateway ns  --veth--  internet ns
    eth0 10.77.1.2       lan0 10.77.1.1        eth0 10.77.2.2 (+ extra addresses)
         fd77:1::2            fd77:1::1             fd77:2::2
                         wan0 10.77.2.1
                              fd77:2::1

The client and the internet namespaces route by default via the gateway, which forwards
(no NAT: the internet side sees client addresses unless Hallpass is in the path). Every
name starts with ``hp-<pid>-<n>-``, so concurrent runs never meet, and the addresses exist
only inside these namespaces. ``destroy()`` kills whatever still runs in them and deletes
them (the veths and nftables tables go with them); tests register it with addClassCleanup.

``NetnsProxy`` is harness.Proxy started as ``ip netns exec <ns> hallpass run``.

Needs root, ``ip`` (iproute2) and, for rules, ``nft`` (nftables).
"""

import atexit
import itertools
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time

from harness import DEFAULT_TIMEOUT, HALLPASS_BIN, Proxy, ProxyStartError, clean_env, wait_for

IP = shutil.which("ip") or "/usr/sbin/ip"
NFT = shutil.which("nft") or "/usr/sbin/nft"

CLIENT_NET4, CLIENT_NET6 = "10.77.1.0/24", "fd77:1::/64"
INTERNET_NET4, INTERNET_NET6 = "10.77.2.0/24", "fd77:2::/64"
CLIENT4, CLIENT6 = "10.77.1.2", "fd77:1::2"
GW_LAN4, GW_LAN6 = "10.77.1.1", "fd77:1::1"
GW_WAN4, GW_WAN6 = "10.77.2.1", "fd77:2::1"
INTERNET4, INTERNET6 = "10.77.2.2", "fd77:2::2"

ROLES = ("client", "gateway", "internet")
_serial = itertools.count(1)


def missing_tools():
    """Why namespace tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool, path in (("ip", IP), ("nft", NFT)):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return "`%s` not found (install %s)" % (tool, "iproute2" if tool == "ip" else "nftables")
    return None


class Topology:
    def __init__(self):
        self.prefix = "hp-%d-%d-" % (os.getpid(), next(_serial))
        self.names = {role: self.prefix + role for role in ROLES}
        self.procs = []
        self.created = []
        self._atexit = False

    # -- commands --------------------------------------------------------------------
    def ns(self, role):
        return self.names.get(role, role)

    def exec_prefix(self, role):
        return [IP, "netns", "exec", self.ns(role)]

    def run(self, role, argv, check=True, timeout=30, input=None):
        """Run ``argv`` in a namespace; returns CompletedProcess with str stdout/stderr."""
        cmd = self.exec_prefix(role) + [str(a) for a in argv]
        p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=clean_env(), timeout=timeout, text=True)
        if check and p.returncode != 0:
            raise AssertionError("%s failed (%d): %s%s" % (" ".join(cmd), p.returncode, p.stderr, p.stdout))
        return p

    def popen(self, role, argv, **kwargs):
        """Start ``argv`` in a namespace; destroy() kills it if the test has not."""
        kwargs.setdefault("env", clean_env())
        p = subprocess.Popen(self.exec_prefix(role) + [str(a) for a in argv], **kwargs)
        self.procs.append(p)
        return p

    def _ip(self, *args):
        p = subprocess.run([IP] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=30)
        if p.returncode != 0:
            raise AssertionError("ip %s failed: %s" % (" ".join(args), p.stderr))

    # -- life ------------------------------------------------------------------------
    def create(self):
        if not self._atexit:
            atexit.register(self.destroy)  # a Ctrl-C between tests still removes them
            self._atexit = True
        try:
            self._build()
        except BaseException:
            self.destroy()
            raise
        return self

    def _build(self):
        for role in ROLES:
            self._ip("netns", "add", self.ns(role))
            self.created.append(self.ns(role))
            # Addresses usable at once: no duplicate address detection on links made later
            # (link-local ones included); `nodad` below covers the global ones.
            self.run(role, ["sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0",
                            "net.ipv6.conf.all.accept_dad=0"])
            self.run(role, [IP, "link", "set", "lo", "up"])
        c, g, i = (self.ns(r) for r in ROLES)
        # Made directly inside the namespaces: no name in the root namespace, even briefly.
        self._ip("link", "add", "eth0", "netns", c, "type", "veth", "peer", "name", "lan0", "netns", g)
        self._ip("link", "add", "wan0", "netns", g, "type", "veth", "peer", "name", "eth0", "netns", i)
        for role, dev, v4, v6 in (("client", "eth0", CLIENT4, CLIENT6), ("gateway", "lan0", GW_LAN4, GW_LAN6),
                                  ("gateway", "wan0", GW_WAN4, GW_WAN6),
                                  ("internet", "eth0", INTERNET4, INTERNET6)):
            self.run(role, [IP, "addr", "add", v4 + "/24", "dev", dev])
            self.run(role, [IP, "-6", "addr", "add", v6 + "/64", "dev", dev, "nodad"])
            self.run(role, [IP, "link", "set", dev, "up"])
        self.run("gateway", ["sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"])
        for role, v4, v6 in (("client", GW_LAN4, GW_LAN6), ("internet", GW_WAN4, GW_WAN6)):
            self.run(role, [IP, "route", "add", "default", "via", v4])
            self.run(role, [IP, "-6", "route", "add", "default", "via", v6])

    def add_address(self, role, cidr, dev="eth0"):
        args = [IP, "addr", "add", cidr, "dev", dev]
        if ":" in cidr:
            args.append("nodad")
        self.run(role, args)

    def destroy(self):
        """Kill what runs in the namespaces, then delete them. Safe to call twice."""
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass
            for s in (p.stdin, p.stdout, p.stderr):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass
        self.procs = []
        for name in reversed(self.created):
            pids = subprocess.run([IP, "netns", "pids", name], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run([IP, "netns", "del", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.created = []

    # -- rules -----------------------------------------------------------------------
    @staticmethod
    def nft_defines(defines):
        args = []
        for name, value in defines.items():
            args += ["-D", "%s=%s" % (name, value)]
        return args

    def load_nft(self, path, defines, role="gateway", check_only=False):
        """``nft [-c] -D name=value ... -f path`` inside the namespace."""
        argv = [NFT] + (["-c"] if check_only else []) + self.nft_defines(defines) + ["-f", path]
        return self.run(role, argv)

    # -- waiting ---------------------------------------------------------------------
    def wait_listening(self, role, port, timeout=DEFAULT_TIMEOUT, proto="t"):
        """Wait until something in the namespace listens on ``port`` (TCP; proto "u": UDP)."""
        def listening():
            out = self.run(role, ["ss", "-Hln" + proto, "sport = :%d" % port], check=False).stdout
            return out.strip()
        return wait_for(listening, timeout, message="a listener on port %d in %s" % (port, self.ns(role)))


def start_servers(topology, role, log_path, args, timeout=DEFAULT_TIMEOUT):
    """Start netns_origin.py in a namespace and wait for its "ready" line; returns the Popen.

    Closing its stdin (or destroy()) stops it.
    """
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "netns_origin.py")
    p = topology.popen(role, [sys.executable, script, "--log", log_path] + list(args),
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([p.stdout], [], [], max(0, left))
        if not ready:
            p.kill()
            raise AssertionError("servers in %s not ready within %.0fs" % (topology.ns(role), timeout))
        b = os.read(p.stdout.fileno(), 1)
        if not b:
            raise AssertionError("servers in %s exited: %s" % (topology.ns(role),
                                                               p.stderr.read().decode(errors="replace")))
        line += b
    if line.strip() != b"ready":
        raise AssertionError("servers in %s said %r" % (topology.ns(role), line))
    return p


class NetnsProxy(Proxy):
    """harness.Proxy whose ``hallpass run`` runs inside a network namespace.

    ``ip netns exec`` execs the binary in place, so ``proc`` is hallpass itself: signals,
    exit codes and the stderr drain work as in harness.Proxy. The explicit and admin
    listeners stay on 127.0.0.1:0 inside the namespace (reachable only from there).
    """

    def __init__(self, topology, role, config=None, **kwargs):
        super().__init__(config, **kwargs)
        self.topology = topology
        self.role = role

    def start(self):
        cmd = self.topology.exec_prefix(self.role) + [HALLPASS_BIN, "run", "--config", self.config_path]
        self.proc = subprocess.Popen(cmd + self.extra_args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=clean_env(), cwd=self.dir)
        for stream, sink, is_err in ((self.proc.stderr, self.stderr_lines, True),
                                     (self.proc.stdout, self.stdout_lines, False)):
            t = threading.Thread(target=self._drain, args=(stream, sink, is_err), daemon=True)
            t.start()
            self._threads.append(t)
        try:
            self.wait_for_line(r"hallpass ready", self.startup_timeout)
        except AssertionError as e:
            self.kill()
            raise ProxyStartError("proxy did not start in %s: %s\n%s"
                                  % (self.topology.ns(self.role), e, self.log_tail()))
        return self
