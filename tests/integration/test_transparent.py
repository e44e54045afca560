"""Transparent gateway mode: a routed gateway redirects client web traffic to Hallpass.

Three network namespaces (netns.py): a client, the gateway running Hallpass with
deploy/gateway/hallpass-redirect.nft loaded, and an "internet" holding the origins
(netns_origin.py, which records every connection, SNI, request and datagram to a JSON-lines
file). The client is real curl with no proxy settings and `--resolve`, so it needs no DNS;
every address is one the test assigns inside its own namespaces.

* GatewayRulesTest and TproxyRulesTest check the shipped nftables files with a recording
  listener in Hallpass's place: what is redirected (with its original destination), what is
  routed untouched, what is dropped (QUIC, DNS over TLS/QUIC).
* TransparentProxyTest runs `hallpass run` in the gateway with `transparent.listen`.

Skipped only without root, `ip` or `nft`.
"""

import json
import os
import re
import shutil
import sys
import tempfile
import unittest

import netns
from harness import (CURL, SOURCE_DIR, CurlResult, ProxyTestCase, TestCA, parse_header_blocks, wait_for)

SKIP = netns.missing_tools()
REDIRECT_RULES = os.path.join(SOURCE_DIR, "deploy", "gateway", "hallpass-redirect.nft")
TPROXY_RULES = os.path.join(SOURCE_DIR, "deploy", "gateway", "hallpass-tproxy.nft")
# A fixed port: the rules must name it, and it lives in a namespace this test just made.
PORT = 3129
EXPLICIT_PORT = 3130  # an explicit listener on the gateway's LAN address, for clients
BLOCKED4 = "10.77.2.3"  # the blocked site's address, beside INTERNET4 on the internet side
ALLOWED, ALLOWED6, BLOCKED = "allowed.test", "allowed6.test", "blocked-by-list.test"
GATEWAY_ADDRESSES = {netns.GW_LAN4, netns.GW_LAN6, netns.GW_WAN4, netns.GW_WAN6, "127.0.0.1", "::1"}


def rule_defines(**extra):
    defines = {"client_if": '{ "lan0" }', "client_v4": "{ %s }" % netns.CLIENT_NET4,
               "client_v6": "{ %s }" % netns.CLIENT_NET6, "hallpass_port": PORT}
    defines.update(extra)
    return defines


def bracket(address):
    return "[%s]" % address if ":" in address else address


class EventLog:
    """The JSON lines netns_origin.py writes; each is flushed before the peer is answered."""

    def __init__(self, path):
        self.path = path

    def events(self, predicate=None, **fields):
        try:
            with open(self.path, encoding="utf-8") as f:
                lines = [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []
        return [e for e in lines if all(e.get(k) == v for k, v in fields.items())
                and (predicate is None or predicate(e))]

    def wait(self, message, predicate=None, **fields):
        return wait_for(lambda: self.events(predicate, **fields), message=message)[0]


def read_if_present(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def curl_in(topology, role, url, *args, timeout=20):
    """Real curl inside a namespace (no proxy): a harness.CurlResult plus ``stdout``."""
    tmp = tempfile.mkdtemp(prefix="hallpass-curl-")
    try:
        hdr, body = os.path.join(tmp, "headers"), os.path.join(tmp, "body")
        argv = [CURL, "-q", "-sS", "--max-time", str(timeout), "-D", hdr, "-o", body] + list(args) + [url]
        p = topology.run(role, argv, check=False, timeout=timeout + 10)
        blocks = parse_header_blocks(read_if_present(hdr))
        data = read_if_present(body)
        status, headers = blocks[-1] if blocks else (None, [])
        result = CurlResult(p.returncode, status, headers, data, p.stderr, blocks)
        result.stdout = p.stdout
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def start_topology(case):
    """A fresh topology for a test class, removed by a class cleanup whatever happens."""
    topology = netns.Topology()
    case.addClassCleanup(topology.destroy)
    topology.create()
    topology.add_address("internet", BLOCKED4 + "/24")
    case.tmp = tempfile.mkdtemp(prefix="hallpass-netns-")
    case.addClassCleanup(shutil.rmtree, case.tmp, True)
    return topology


def origin_args(ca):
    """Web origins on both internet addresses and families, plus UDP/TCP probes."""
    args = ["--cert", ca.cert, "--key", ca.key]
    for address in (netns.INTERNET4, BLOCKED4, netns.INTERNET6):
        args += ["--http", address, "80", "--https", address, "443"]
    for address in (netns.INTERNET4, netns.INTERNET6):
        args += ["--http", address, "8080", "--udp", address, "443", "--udp", address, "853",
                 "--udp", address, "5353"]
    args += ["--tcp", netns.INTERNET4, "853", "--tcp", netns.INTERNET4, "8853"]
    return args


SEND_PROBES = r"""
import socket, sys
token = sys.argv[1]
for address, family in (("%s", socket.AF_INET), ("%s", socket.AF_INET6)):
    u = socket.socket(family, socket.SOCK_DGRAM)
    for port in (443, 853, 5353):  # the control (5353) last: once it arrives, the others had their chance
        u.sendto(("%%s-%%d" %% (token, port)).encode(), (address, port))
    u.close()
dot = socket.socket()
dot.setblocking(False)
dot.connect_ex(("%s", 853))  # the SYN leaves now; the control connection below follows it
control = socket.create_connection(("%s", 8853), timeout=10)
control.close()
dot.close()
""" % (netns.INTERNET4, netns.INTERNET6, netns.INTERNET4, netns.INTERNET4)


@unittest.skipIf(SKIP, SKIP or "")
class GatewayRulesTest(unittest.TestCase):
    """hallpass-redirect.nft in a routed gateway, a recording listener in Hallpass's place."""

    @classmethod
    def setUpClass(cls):
        cls.net = start_topology(cls)
        cls.ca = TestCA(names=(ALLOWED, ALLOWED6, BLOCKED), cn=ALLOWED)
        cls.addClassCleanup(cls.ca.cleanup)
        cls.origin = EventLog(os.path.join(cls.tmp, "origin.jsonl"))
        netns.start_servers(cls.net, "internet", cls.origin.path, origin_args(cls.ca))
        cls.net.load_nft(REDIRECT_RULES, rule_defines())
        cls.sink = EventLog(os.path.join(cls.tmp, "sink.jsonl"))
        netns.start_servers(cls.net, "gateway", cls.sink.path,
                            ["--sink", "0.0.0.0", str(PORT), "--sink", "::", str(PORT)])

    def test_both_rulesets_pass_nft_check(self):
        self.net.load_nft(REDIRECT_RULES, rule_defines(), check_only=True)
        self.net.load_nft(TPROXY_RULES, rule_defines(hallpass_mark="0x1"), check_only=True)
        p = self.net.run("gateway", [netns.NFT, "-c", "-f", REDIRECT_RULES], check=False)
        self.assertNotEqual(p.returncode, 0, "the file loaded without its -D variables")
        self.assertIn("client_if", p.stderr)

    def test_client_web_traffic_reaches_the_port_with_its_original_destination(self):
        for host, address, port in ((ALLOWED, netns.INTERNET4, 80), (ALLOWED, BLOCKED4, 443),
                                    (ALLOWED6, netns.INTERNET6, 80), (ALLOWED6, netns.INTERNET6, 443)):
            with self.subTest(address=address, port=port):
                scheme = "https" if port == 443 else "http"
                path = "/redirect-%s-%d" % (address, port)
                r = curl_in(self.net, "client", "%s://%s%s" % (scheme, host, path),
                            "--resolve", "%s:%d:%s" % (host, port, bracket(address)))
                self.assertNotEqual(r.rc, 0, "the sink answers nothing, yet curl got %r" % r)
                event = self.sink.wait("the redirected connection", event="redirected",
                                       original_dst=address, original_port=port)
                self.assertIn(event["peer"], (netns.CLIENT4, netns.CLIENT6))
                self.assertEqual(self.origin.events(port=port, addr=address, peer=event["peer"],
                                                    peer_port=event["peer_port"]), [])

    def test_other_ports_are_routed_untouched(self):
        r = curl_in(self.net, "client", "http://%s:8080/routed" % netns.INTERNET4)
        self.assertEqual((r.rc, r.status), (0, 200), r)
        self.assertEqual(self.origin.events(path="/routed")[0]["peer"], netns.CLIENT4)

    def test_connections_from_the_gateway_itself_are_not_redirected(self):
        before = len(self.sink.events())
        r = curl_in(self.net, "gateway", "http://%s/from-gateway" % netns.INTERNET4)
        self.assertEqual((r.rc, r.status), (0, 200), r)
        self.assertEqual(self.origin.events(path="/from-gateway")[0]["peer"], netns.GW_WAN4)
        self.assertEqual(len(self.sink.events()), before, "a gateway connection was redirected")

    def test_connections_to_the_gateways_own_address_are_not_redirected(self):
        before = len(self.sink.events())
        r = curl_in(self.net, "client", "http://%s/" % netns.GW_LAN4, timeout=10)
        self.assertEqual(r.rc, 7, "nothing listens on the gateway's port 80: %r" % r)
        self.assertEqual(len(self.sink.events()), before)

    def test_quic_and_dns_over_tls_from_clients_are_dropped(self):
        token = "probe%d" % os.getpid()
        self.net.run("client", [sys.executable, "-c", SEND_PROBES, token])
        for address in (netns.INTERNET4, netns.INTERNET6):
            self.origin.wait("the control datagram to %s" % address, event="datagram",
                             addr=address, data="%s-5353" % token)
            self.assertEqual(self.origin.events(event="datagram", addr=address, data="%s-443" % token), [],
                             "UDP 443 (QUIC) was forwarded")
            self.assertEqual(self.origin.events(event="datagram", addr=address, data="%s-853" % token), [],
                             "UDP 853 (DNS over QUIC) was forwarded")
        self.origin.wait("the control connection", event="accept", port=8853)
        self.assertEqual(self.origin.events(event="accept", port=853), [], "TCP 853 (DNS over TLS) was forwarded")


@unittest.skipIf(SKIP, SKIP or "")
class TproxyRulesTest(unittest.TestCase):
    """hallpass-tproxy.nft plus the `ip rule` / `ip route local` lines its comments give."""

    @classmethod
    def setUpClass(cls):
        cls.net = start_topology(cls)
        cls.net.load_nft(TPROXY_RULES, rule_defines(hallpass_mark="0x1"))
        for ip in ([netns.IP], [netns.IP, "-6"]):
            cls.net.run("gateway", ip + ["rule", "add", "fwmark", "0x1", "lookup", "100"])
        cls.net.run("gateway", [netns.IP, "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "100"])
        cls.net.run("gateway", [netns.IP, "-6", "route", "add", "local", "::/0", "dev", "lo", "table", "100"])
        cls.sink = EventLog(os.path.join(cls.tmp, "sink.jsonl"))
        netns.start_servers(cls.net, "gateway", cls.sink.path,
                            ["--transparent", "--sink", "0.0.0.0", str(PORT), "--sink", "::", str(PORT)])

    def test_a_transparent_socket_sees_the_original_destination_as_its_own_address(self):
        for host, address, port in ((ALLOWED, netns.INTERNET4, 80), (ALLOWED, BLOCKED4, 443),
                                    (ALLOWED6, netns.INTERNET6, 443)):
            with self.subTest(address=address, port=port):
                scheme = "https" if port == 443 else "http"
                curl_in(self.net, "client", "%s://%s/" % (scheme, host),
                        "--resolve", "%s:%d:%s" % (host, port, bracket(address)))
                event = self.sink.wait("the diverted connection", event="redirected", local=address,
                                       local_port=port)
                self.assertIn(event["peer"], (netns.CLIENT4, netns.CLIENT6))


@unittest.skipIf(SKIP, SKIP or "")
class TransparentProxyTest(ProxyTestCase):
    """Hallpass in the gateway with `transparent.listen` and the redirect rules. The contract:
    the original destination comes from SO_ORIGINAL_DST; plain HTTP is decided on its Host,
    which must resolve (upstream.resolve) to that destination, and is forwarded only there;
    TLS is decided on its SNI (which must resolve to that destination too) and spliced to it,
    or refused with an alert; every audit line
    says "mode": "transparent"; a destination that is one of Hallpass's listeners is refused."""

    @classmethod
    def setUpClass(cls):
        cls.net = start_topology(cls)
        cls.ca = TestCA(names=(ALLOWED, ALLOWED6, BLOCKED), cn=ALLOWED)
        cls.addClassCleanup(cls.ca.cleanup)
        cls.origin = EventLog(os.path.join(cls.tmp, "origin.jsonl"))
        netns.start_servers(cls.net, "internet", cls.origin.path, origin_args(cls.ca))
        cls.net.load_nft(REDIRECT_RULES, rule_defines())
        cls.proxy = netns.NetnsProxy(cls.net, "gateway", {
            "transparent": {"listen": ["0.0.0.0:%d" % PORT, "[::]:%d" % PORT]},
            "listen": ["127.0.0.1:0", "%s:%d" % (netns.GW_LAN4, EXPLICIT_PORT)],
            "clients": [netns.CLIENT_NET4, netns.CLIENT_NET6],
            "buildings": {"default": {"block": [BLOCKED]}},
            "upstream": {"resolve": {ALLOWED: netns.INTERNET4, ALLOWED6: bracket(netns.INTERNET6),
                                     BLOCKED: BLOCKED4}},
        })
        cls.addClassCleanup(cls.proxy.cleanup)
        cls.proxy.start()
        cls.net.wait_listening("gateway", PORT)

    def fetch(self, host, address, path, scheme="http", *args):
        port = 443 if scheme == "https" else 80
        return curl_in(self.net, "client", "%s://%s%s" % (scheme, host, path),
                       "--resolve", "%s:%d:%s" % (host, port, bracket(address)), *args)

    def audit(self, message, **fields):
        return self.proxy.wait_audit(lambda e: all(e.get(k) == v for k, v in fields.items()),
                                     message=message)

    def assert_never_reached_the_blocked_address(self):
        self.assertEqual(self.origin.events(addr=BLOCKED4), [], "a connection reached %s" % BLOCKED4)

    def assert_allowed_page(self, host, address, path, client, gateway):
        r = self.fetch(host, address, path)
        self.assertEqual((r.rc, r.status), (0, 200), r)
        self.assertEqual(r.body, ("hello from %s %s" % (host, path)).encode())
        seen = self.origin.events(event="request", path=path)
        self.assertEqual([(e["addr"], e["peer"]) for e in seen], [(address, gateway)],
                         "not forwarded by Hallpass to the original destination")
        line = self.audit("the allowed request", path=path)
        self.assertEqual((line.get("mode"), line.get("action"), line.get("client"), line.get("host")),
                         ("transparent", "allow", client, host))

    def assert_spliced(self, host, address, path, gateway):
        r = self.fetch(host, address, path, "https", "--cacert", self.ca.ca_cert, "-w", "%{certs}")
        self.assertEqual((r.rc, r.status), (0, 200), r)
        self.assertEqual(r.body, ("hello from %s %s" % (host, path)).encode())
        pem = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", r.stdout, re.S)
        self.assertIsNotNone(pem, "curl printed no certificate: %r" % r.stdout[:300])
        self.assertEqual(TestCA.cert_fingerprint(pem.group(0)), self.ca.fingerprint)
        sni = self.origin.wait("the spliced ClientHello", event="sni", addr=address, sni=host)
        self.assertEqual(sni["peer"], gateway)
        line = self.audit("the spliced tunnel", sni=host, tls="splice")
        self.assertEqual(line.get("mode"), "transparent")

    def test_allowed_http_page_arrives(self):
        self.assert_allowed_page(ALLOWED, netns.INTERNET4, "/page4", netns.CLIENT4, netns.GW_WAN4)

    def test_allowed_http_page_arrives_over_ipv6(self):
        self.assert_allowed_page(ALLOWED6, netns.INTERNET6, "/page6", netns.CLIENT6, netns.GW_WAN6)

    def test_blocked_domain_gets_the_block_page(self):
        r = self.fetch(BLOCKED, BLOCKED4, "/never")
        self.assertEqual((r.rc, r.status), (0, 403), r)
        self.assertIn("building_block", r.text)
        line = self.audit("the blocked request", host=BLOCKED, path="/never")
        self.assertEqual((line.get("mode"), line.get("action"), line.get("reason")),
                         ("transparent", "block", "building_block"))
        self.assert_never_reached_the_blocked_address()

    def test_allowed_https_is_spliced_with_the_origins_certificate(self):
        self.assert_spliced(ALLOWED, netns.INTERNET4, "/secure4", netns.GW_WAN4)

    def test_allowed_https_is_spliced_over_ipv6(self):
        self.assert_spliced(ALLOWED6, netns.INTERNET6, "/secure6", netns.GW_WAN6)

    def test_blocked_https_is_refused_on_its_sni(self):
        r = self.fetch(BLOCKED, BLOCKED4, "/never-tls", "https", "--cacert", self.ca.ca_cert)
        self.assertEqual(r.rc, 35, "expected a TLS handshake failure: %r" % r)
        self.assertRegex(r.stderr, r"(?i)alert", "the client got no TLS alert")
        line = self.audit("the blocked ClientHello", sni=BLOCKED, action="block")
        self.assertEqual(line.get("mode"), "transparent")
        self.assert_never_reached_the_blocked_address()

    def test_host_of_an_allowed_site_sent_to_another_address_is_refused(self):
        r = self.fetch(ALLOWED, BLOCKED4, "/smuggled")
        self.assertEqual((r.rc, r.status), (0, 403), r)
        self.assertIn("anonymizer_host_mismatch", r.text)
        line = self.audit("the host mismatch", reason="anonymizer_host_mismatch")
        self.assertEqual((line.get("mode"), line.get("action")), ("transparent", "block"))
        self.assert_never_reached_the_blocked_address()
        self.assertEqual(self.origin.events(path="/smuggled"), [], "forwarded elsewhere")

    def test_sni_of_an_allowed_site_sent_to_another_address_is_refused(self):
        # The tunnel would be spliced unread: only the SNI's own addresses may be its end.
        r = self.fetch(ALLOWED, BLOCKED4, "/smuggled-tls", "https", "--cacert", self.ca.ca_cert)
        self.assertEqual(r.rc, 35, "expected a TLS handshake failure: %r" % r)
        line = self.audit("the SNI mismatch", sni=ALLOWED, reason="anonymizer_host_mismatch")
        self.assertEqual((line.get("mode"), line.get("action")), ("transparent", "block"))
        self.assert_never_reached_the_blocked_address()

    def test_the_proxy_never_connects_to_the_gateways_own_addresses(self):
        # Through the explicit listener, a client names the gateway's WAN address: a service
        # there (the admin endpoint on a LAN address, say) must not be one request away.
        r = curl_in(self.net, "client", "http://%s/own-address" % netns.GW_WAN4,
                    "-x", "http://%s:%d" % (netns.GW_LAN4, EXPLICIT_PORT))
        self.assertEqual((r.rc, r.status), (0, 403), r)
        self.assertIn("local_destination", r.text)
        line = self.audit("the refused destination", path="/own-address")
        self.assertEqual((line.get("client"), line.get("status")), (netns.CLIENT4, 403))

    def test_hallpass_upstream_connections_are_not_looped_back(self):
        direct = curl_in(self.net, "gateway", "http://%s/from-gateway" % netns.INTERNET4)
        self.assertEqual((direct.rc, direct.status), (0, 200), direct)
        self.assert_allowed_page(ALLOWED, netns.INTERNET4, "/loop-probe", netns.CLIENT4, netns.GW_WAN4)
        # Audit lines are written in order: the gateway's own request came first, so had
        # Hallpass seen it, its line would already be here.
        lines = [e for e in self.proxy.audit_lines() if isinstance(e, dict)]
        self.assertEqual([e for e in lines if e.get("path") == "/from-gateway"], [])
        self.assertEqual([e for e in lines if e.get("client") in GATEWAY_ADDRESSES], [],
                         "Hallpass saw a connection from the gateway itself")

    def test_a_connection_straight_to_the_transparent_port_is_refused(self):
        r = curl_in(self.net, "client", "http://%s:%d/own-listener" % (ALLOWED, PORT),
                    "--resolve", "%s:%d:%s" % (ALLOWED, PORT, netns.GW_LAN4), timeout=10)
        self.assertNotEqual(r.status, 200, r)
        self.assertEqual(self.origin.events(path="/own-listener"), [], "forwarded to an origin")


if __name__ == "__main__":
    unittest.main()
