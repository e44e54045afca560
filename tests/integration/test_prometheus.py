"""The Grafana dashboards and the Prometheus alert rules, run by the real Prometheus.

promtool checks the shipped `deploy/prometheus/` files. Then a real Hallpass (with TLS
interception, content scanning, three buildings) serves a mix of traffic while the real
Prometheus (`/usr/bin/prometheus`) scrapes its admin endpoint every second and evaluates the
shipped alert rules. Every PromQL expression of both dashboards (panel targets, template
variable queries, annotations) and of the rules file is then run through Prometheus' HTTP
API, with Grafana's variables substituted, and must return a non-empty, finite result
carrying the labels and values the traffic implies (the building filter must keep other
buildings out). The alerts the traffic must raise are checked in `/api/v1/alerts`.

The traffic is sent twice with a scrape in between: a counter series is born with its first
increment, and rate()/increase() only see what happens after a series' first sample. The
self-harm alert is checked after the first round already: the first alert after a start
must page.

Python 3 standard library only; everything listens on 127.0.0.1.
"""

import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from harness import (LOCAL, SOURCE_DIR, Origin, Proxy, RawClient, RawRecorder, TestCA, TlsOrigin,
                     clean_env, client_hello, curl_request, refused_port, wait_for, write_list)
from test_tls import first_anonymizer_domain, make_district_ca

PROMETHEUS = "/usr/bin/prometheus" if os.path.exists("/usr/bin/prometheus") else shutil.which("prometheus")
PROMTOOL = "/usr/bin/promtool" if os.path.exists("/usr/bin/promtool") else shutil.which("promtool")
PROM_DIR = os.path.join(SOURCE_DIR, "deploy", "prometheus")
SHIPPED_CONFIG = os.path.join(PROM_DIR, "prometheus.yml")
SHIPPED_RULES = os.path.join(PROM_DIR, "hallpass-alerts.yml")
GRAFANA_DIR = os.path.join(SOURCE_DIR, "grafana")
DASHBOARDS = ("district-overview.json", "building-drilldown.json")

HS_STAFF = "127.0.0.2"
HS_STUDENT = "127.0.0.3"
EL_STUDENT = "127.0.0.4"
OUTSIDER = "127.0.0.9"  # not in `clients:`: refused before any request
BUILDING = "high-school"  # what $building is set to

# Grafana's built-in variables, as Grafana would expand them for a short time range.
GRAFANA_BUILTINS = {"__rate_interval": "1m", "__interval": "1m", "__range": "1m"}
DEADLINE = 30.0  # for the queries to reach their expected result, all of them together

SELF_HARM_BODY = json.dumps({"text": "honestly i want to kill myself"}).encode()
PHONE_BODY = b"message=call+me+at+617-555-0123+after+practice"


def require_tool(path, name):
    if not path or not os.access(path, os.X_OK):
        raise AssertionError("%s not found (Debian package `prometheus`; deploy/install-deps.sh "
                             "installs it)" % name)


def run_promtool(*args):
    require_tool(PROMTOOL, "promtool")
    p = subprocess.run([PROMTOOL] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=clean_env(), timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def free_port():
    s = socket.socket()
    s.bind((LOCAL, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def load_dashboard(name):
    with open(os.path.join(GRAFANA_DIR, "dashboards", name)) as f:
        return json.load(f)


def all_panels(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        for inner in panel.get("panels", []):
            yield inner


def variable_query(variable):
    q = variable.get("query")
    return q.get("query") if isinstance(q, dict) else q


def dashboard_expressions(dashboard):
    """(where, expr) for every PromQL expression a dashboard runs: "panel/refId",
    "variable:name", "annotation:name"."""
    out = []
    for panel in all_panels(dashboard):
        for t in panel.get("targets", []):
            if t.get("expr"):
                out.append(("%s/%s" % (panel["title"], t["refId"]), t["expr"]))
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            out.append(("variable:" + v["name"], variable_query(v)))
    for a in dashboard.get("annotations", {}).get("list", []):
        if a.get("expr"):
            out.append(("annotation:" + a["name"], a["expr"]))
    return out


VAR_RE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")


def substitute(expr, values):
    def one(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in values:
            raise AssertionError("unknown Grafana variable $%s in %r" % (name, expr))
        return values[name]
    return VAR_RE.sub(one, expr)


# ---------------------------------------------------------------------------------------
# Expected results. A check takes the result vector (list of {"metric", "value"}) and
# returns None when satisfied, else a sentence saying what is missing.
# ---------------------------------------------------------------------------------------

def _value(sample):
    return float(sample["value"][1])


def _matches(sample, labels):
    return all(sample["metric"].get(k) == v for k, v in labels.items())


def positive(**labels):
    def check(result):
        if any(_matches(s, labels) and _value(s) > 0 for s in result):
            return None
        return "no sample with %s and a value > 0" % (labels or "any labels")
    return check


def present(**labels):
    def check(result):
        if any(_matches(s, labels) and not math.isnan(_value(s)) for s in result):
            return None
        return "no sample with %s" % labels
    return check


def absent(**labels):
    def check(result):
        bad = [s["metric"] for s in result if _matches(s, labels)]
        return "unexpected sample(s) %s" % bad if bad else None
    return check


EMPTY = "expected no samples"  # as the only check: the expression must return nothing


def value(pred, text, **labels):
    def check(result):
        for s in result:
            if _matches(s, labels) and pred(_value(s)):
                return None
        return "no sample with %s whose value is %s" % (labels or "any labels", text)
    return check


class Prometheus:
    """The real Prometheus on 127.0.0.1:<free port>, logging to a file in ``workdir``."""

    def __init__(self, workdir, targets, rule_file, interval="1s"):
        require_tool(PROMETHEUS, "prometheus")
        self.dir = workdir
        self.port = free_port()
        self.config_path = os.path.join(workdir, "prometheus.yml")
        self.log_path = os.path.join(workdir, "prometheus.log")
        with open(self.config_path, "w") as f:
            f.write("global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: %s\n"
                    % (interval, interval, interval))
            f.write("rule_files:\n  - %s\n" % json.dumps(rule_file))
            f.write("scrape_configs:\n  - job_name: hallpass\n    static_configs:\n      - targets: %s\n"
                    % json.dumps(targets))
        self.proc = None
        self._log = None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def start(self):
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + self.config_path,
             "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=%s:%d" % (LOCAL, self.port), "--log.level=info"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=clean_env(),
            cwd=self.dir)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("prometheus exited with %s\n%s" % (self.proc.returncode, self.log_tail()))
            try:
                return self._get("/-/ready")[0] == 200
            except OSError:
                return False
        wait_for(ready, timeout=30, interval=0.1, message="prometheus ready")
        return self

    def _get(self, path, params=None):
        url = "http://%s:%d%s" % (LOCAL, self.port, path)
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        try:
            with self._opener.open(url, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def api(self, path, params=None):
        status, body = self._get("/api/v1/" + path, params)
        doc = json.loads(body)
        if status != 200 or doc.get("status") != "success":
            raise AssertionError("prometheus %s %r: %s %s" % (path, params, status, body[:500]))
        return doc["data"]

    def query(self, expr):
        """Instant query; returns the result vector (a scalar becomes one sample)."""
        data = self.api("query", {"query": expr})
        if data["resultType"] == "vector":
            return data["result"]
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        raise AssertionError("%r returned a %s" % (expr, data["resultType"]))

    def label_values(self, label, match=None):
        return self.api("label/%s/values" % label, {"match[]": [match]} if match else None)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._log:
            self._log.close()
            self._log = None

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            lines = []
        return "---- prometheus log (last %d lines) ----\n%s" % (min(n, len(lines)), "\n".join(lines[-n:]))


class ShippedFilesTest(unittest.TestCase):
    """promtool on the shipped Prometheus files; the Grafana files are well formed."""

    def test_promtool_accepts_the_shipped_config_and_its_rule_file(self):
        rc, out = run_promtool("check", "config", SHIPPED_CONFIG)
        self.assertEqual(rc, 0, out)
        self.assertIn("1 rule files found", out)

    def test_promtool_accepts_the_shipped_rules(self):
        rc, out = run_promtool("check", "rules", SHIPPED_RULES)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"SUCCESS: [1-9]\d* rules found")

    def test_every_alert_has_a_severity_summary_and_description(self):
        with open(SHIPPED_RULES) as f:
            text = f.read()
        blocks = re.split(r"\n\s*- alert: ", text)[1:]
        self.assertGreaterEqual(len(blocks), 4)
        for block in blocks:
            name = block.split()[0]
            for key in ("severity:", "summary:", "description:"):
                self.assertIn(key, block, "%s has no %s" % (name, key))

    def test_dashboards_are_well_formed(self):
        uids = set()
        for name in DASHBOARDS:
            d = load_dashboard(name)
            self.assertGreaterEqual(d["schemaVersion"], 36, name)
            self.assertNotIn(d["uid"], uids)
            uids.add(d["uid"])
            variables = {v["name"]: v for v in d["templating"]["list"]}
            ds = variables.get("datasource")
            self.assertIsNotNone(ds, "%s has no datasource variable" % name)
            self.assertEqual(ds["type"], "datasource")
            self.assertEqual(ds["query"], "prometheus")
            ids, rects = set(), []
            titles = [p["title"] for p in all_panels(d) if p["type"] != "row"]
            self.assertEqual(len(titles), len(set(titles)), "%s: panel titles must be unique" % name)
            for panel in all_panels(d):
                self.assertNotIn(panel["id"], ids, "%s: duplicate panel id" % name)
                ids.add(panel["id"])
                g = panel["gridPos"]
                self.assertLessEqual(g["x"] + g["w"], 24, panel["title"])
                for other_title, o in rects:
                    overlap = (g["x"] < o["x"] + o["w"] and o["x"] < g["x"] + g["w"]
                               and g["y"] < o["y"] + o["h"] and o["y"] < g["y"] + g["h"])
                    self.assertFalse(overlap, "%s: %r overlaps %r" % (name, panel["title"], other_title))
                rects.append((panel["title"], g))
                if panel["type"] == "row":
                    continue
                self.assertTrue(panel.get("targets"), "%s: %r has no query" % (name, panel["title"]))
                self.assertEqual(panel["datasource"]["uid"], "${datasource}", panel["title"])
                for t in panel["targets"]:
                    self.assertEqual(t["datasource"]["uid"], "${datasource}", panel["title"])
            for where, expr in dashboard_expressions(d):
                for m in VAR_RE.finditer(expr):
                    var = m.group(1) or m.group(2) or m.group(3)
                    self.assertTrue(var in variables or var in GRAFANA_BUILTINS,
                                    "%s %s uses undefined $%s" % (name, where, var))

    def test_building_drilldown_filters_every_decision_panel_by_building(self):
        d = load_dashboard("building-drilldown.json")
        variables = {v["name"]: v for v in d["templating"]["list"]}
        self.assertTrue(variable_query(variables["building"]).startswith(
            "label_values(hallpass_requests_total"))
        for where, expr in dashboard_expressions(d):
            if where.startswith("variable:"):
                continue
            for m in re.finditer(r"(hallpass_\w+)\{([^}]*)\}", expr):
                self.assertIn('building=~"$building"', m.group(2), "%s: %s" % (where, m.group(0)))

    def test_provisioning_points_at_the_dashboards_data_source_and_folder(self):
        with open(os.path.join(GRAFANA_DIR, "provisioning", "datasources", "hallpass.yaml")) as f:
            ds = f.read()
        with open(os.path.join(GRAFANA_DIR, "provisioning", "dashboards", "hallpass.yaml")) as f:
            provider = f.read()
        self.assertRegex(ds, r"(?m)^\s+type: prometheus$")
        uid = re.search(r"(?m)^\s+uid: (\S+)$", ds).group(1)
        for name in DASHBOARDS:
            variables = {v["name"]: v for v in load_dashboard(name)["templating"]["list"]}
            self.assertEqual(variables["datasource"]["current"]["value"], uid, name)
        self.assertRegex(provider, r"(?m)^\s+path: /usr/share/hallpass/grafana/dashboards$")
        self.assertRegex(provider, r"(?m)^\s+type: file$")


class PrometheusQueriesTest(unittest.TestCase):
    """Every dashboard and rule expression against a real Prometheus scraping a real Hallpass."""

    prometheus = None
    proxy = None

    @classmethod
    def setUpClass(cls):
        try:
            cls._set_up()
        except BaseException:
            cls._print_logs("setUpClass")
            raise

    @classmethod
    def _print_logs(cls, where):
        if cls.proxy is not None and cls.proxy.proc is not None:
            sys.stderr.write("\n[%s]\n%s\n" % (where, cls.proxy.log_tail(40)))
        if cls.prometheus is not None:
            sys.stderr.write("\n[%s]\n%s\n" % (where, cls.prometheus.log_tail()))

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            self._print_logs(self.id())
        return out

    @classmethod
    def _set_up(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hallpass-prom-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        district = os.path.join(cls.tmp, "district")
        make_district_ca(district)
        cls.root = os.path.join(district, "root.pem")
        cls.origin = Origin()
        cls.addClassCleanup(cls.origin.close)
        cls.upstream_ca = TestCA(names=("www.instagram.com", "pinned.instagram.com"), cn="www.instagram.com")
        cls.addClassCleanup(cls.upstream_ca.cleanup)
        cls.tls_origin = TlsOrigin(cls.upstream_ca)
        cls.addClassCleanup(cls.tls_origin.close)
        cls.recorder = RawRecorder()  # the far end of the tunnel held open during the queries
        cls.addClassCleanup(cls.recorder.close)
        cls.refused_sock, refused = refused_port()
        cls.addClassCleanup(cls.refused_sock.close)
        cls.dead_sock, dead = refused_port()  # a second "instance" that never answers
        cls.addClassCleanup(cls.dead_sock.close)
        cls.list_dir = write_list(os.path.join(cls.tmp, "hupcat"), ["hupcat.test"])
        cls.anonymizer = first_anonymizer_domain()
        o = cls.origin.addr
        resolve = {h: o for h in ("plain.test", "blocked.test", "pornhub.com", cls.anonymizer,
                                  "www.instagram.com", "i.instagram.com", "forum.test")}
        resolve.update({
            "refused.test": "127.0.0.1:%d" % refused,
            "203.0.113.9:443": "127.0.0.1:%d" % refused,
            "www.instagram.com:443": cls.tls_origin.addr,
            "pinned.instagram.com:443": cls.tls_origin.addr,
            "raw.test:443": cls.recorder.addr,
        })
        cls.proxy = Proxy({
            "clients": ["127.0.0.1/32", "127.0.0.2/31", "127.0.0.4/32"],
            "buildings": {
                "high-school": {"networks": {"staff": [HS_STAFF + "/32"], "student": [HS_STUDENT + "/32"]},
                                "block": ["blocked.test"]},
                "elementary": {"networks": {"staff": [], "student": [EL_STUDENT + "/32"]}},
            },
            "policies": {"high-school-student": {"categories": {"social-post": "monitor",
                                                                "hupcat": "block"}}},
            "lists": {"hupcat": cls.list_dir},
            "reload": {"watch_interval": 0},  # reloads happen when the test says
            "tls": {"ca_cert": os.path.join(district, "ca.pem"), "ca_key": os.path.join(district, "ca.key")},
            "upstream": {"ca_file": cls.upstream_ca.ca_cert, "resolve": resolve},
        })
        cls.addClassCleanup(cls.proxy.cleanup)
        cls.proxy.start()
        cls.live = "127.0.0.1:%d" % cls.proxy.admin_port
        cls.dead = "127.0.0.1:%d" % dead

        os.makedirs(os.path.join(cls.tmp, "prometheus"))
        cls.prometheus = Prometheus(os.path.join(cls.tmp, "prometheus"), [cls.live, cls.dead], SHIPPED_RULES)
        rc, out = run_promtool("check", "config", cls.prometheus.config_path)
        if rc != 0:
            raise AssertionError("promtool rejects the test's Prometheus config:\n" + out)
        cls.addClassCleanup(cls.prometheus.stop)
        cls.prometheus.start()
        # The pre-created zero series must be in the TSDB before anything happens, as they
        # are in production: increase() then sees the first reload failure.
        cls.wait_prom('up{instance="%s"} == 1' % cls.live, "the first scrape of the proxy")
        cls.wait_prom('hallpass_config_reload_failures_total{instance="%s"} == 0' % cls.live,
                      "the reload failure counter at 0")

        cls.send_traffic(1)
        cls.wait_scraped()
        # The first self-harm post after the start already pages.
        rule = cls.rule("HallpassSelfHarmContent")
        cls.first_self_harm = cls.poll(rule["query"], positive(category="self-harm",
                                                               building="high-school"), 15)

        cls.send_traffic(2)
        cls.audit_drops = cls.fail_audit_writes()
        cls.hold_tunnel()
        cls.wait_scraped()

    # -- helpers --------------------------------------------------------------------------
    @classmethod
    def wait_prom(cls, expr, message, timeout=DEADLINE):
        return wait_for(lambda: cls.prometheus.query(expr), timeout, interval=0.2, message=message)

    @classmethod
    def poll(cls, expr, check, timeout):
        """Poll ``expr`` until ``check`` is satisfied; returns (result, None) or (last, why)."""
        deadline = time.monotonic() + timeout
        while True:
            result = cls.prometheus.query(expr)
            why = check(result)
            if why is None or time.monotonic() >= deadline:
                return result, why
            time.sleep(0.2)

    @classmethod
    def rule(cls, name):
        for group in cls.prometheus.api("rules")["groups"]:
            for r in group["rules"]:
                if r["name"] == name:
                    return r
        raise AssertionError("rule %s is not loaded" % name)

    @classmethod
    def get(cls, source, url, *args, expect=None, **kw):
        r = curl_request(cls.proxy.port, url, "--interface", source, *args, **kw)
        if expect is not None and r.status != expect:
            raise AssertionError("%s %s: expected %s, got %r" % (source, url, expect, r))
        return r

    @classmethod
    def send_traffic(cls, n):
        """One round of the district's day in miniature; every decision's audit line is
        awaited, so its metrics are counted (the recorder counts before it logs)."""
        p = "/r%d" % n
        audit = []  # predicates, each must match n audit lines after round n

        def expect(pred):
            audit.append(pred)

        # allowed, in every building
        for source in ("127.0.0.1", HS_STAFF, HS_STUDENT, EL_STUDENT):
            cls.get(source, "http://plain.test%s/ok" % p, expect=200)
            expect(lambda a, source=source: a.get("host") == "plain.test" and a.get("client") == source)
        # the high school's own block list, a category list, an anonymizer list
        cls.get(HS_STUDENT, "http://blocked.test%s/" % p, expect=403)
        expect(lambda a: a.get("host") == "blocked.test")
        cls.get(HS_STUDENT, "http://pornhub.com%s/" % p, expect=403)
        expect(lambda a: a.get("host") == "pornhub.com")
        cls.get(HS_STUDENT, "http://%s%s/" % (cls.anonymizer, p), expect=403)
        expect(lambda a: a.get("reason") == "anonymizer_list")
        # an IP-literal CONNECT: an anonymizer by method. With a district CA the policy
        # answers it with the block page inside TLS (a leaf for an address the client cannot
        # verify: -k; the page is what is checked).
        cls.get(HS_STUDENT, "https://203.0.113.9%s/" % p, "-k", expect=403)
        expect(lambda a: a.get("reason") == "anonymizer_ip_literal")
        # a social DM (blocked for everyone), a post in monitor mode, social for the elementary
        cls.get(HS_STAFF, "http://www.instagram.com/direct/inbox%s/" % p, expect=403)
        expect(lambda a: a.get("reason") == "social_function_block")
        cls.get(HS_STUDENT, "http://i.instagram.com/api/v1/media/configure/?r=%d" % n,
                "--data-binary", "caption=trial", expect=200)
        expect(lambda a: a.get("reason") == "social_function_monitor")
        cls.get(EL_STUDENT, "http://www.instagram.com/natgeo%s/" % p, expect=403)
        expect(lambda a: a.get("building") == "elementary" and a.get("category") == "social")
        # content: a phone number (pii flag) and a self-harm message (alert), both let through
        cls.get(HS_STUDENT, "http://forum.test%s/post" % p, "--data-binary", "@-", "-H",
                "Content-Type: application/x-www-form-urlencoded", input=PHONE_BODY, expect=200)
        expect(lambda a: a.get("reason") == "content_flag" and a.get("category") == "pii")
        cls.get(HS_STUDENT, "http://forum.test%s/chat" % p, "--data-binary", "@-", "-H",
                "Content-Type: application/json", input=SELF_HARM_BODY, expect=200)
        expect(lambda a: a.get("reason") == "content_alert" and a.get("category") == "self-harm")
        # upstream refused: 502, twice (the error ratio must pass the alert's 5%)
        for i in range(2):
            cls.get(HS_STUDENT, "http://refused.test%s/%d" % (p, i), expect=502)
        expect(lambda a: a.get("upstream_error") == "upstream_refused" and a.get("path", "").endswith("/1"))
        # HTTPS: intercepted (staff on a social platform), a client refusing the district
        # certificate (as a pinning app does), a spliced tunnel
        r = cls.get(HS_STAFF, "https://www.instagram.com/p/x%s/" % p, "--cacert", cls.root, expect=200)
        expect(lambda a: a.get("tls") == "intercept" and a.get("method") == "GET")
        r = cls.get(HS_STAFF, "https://pinned.instagram.com/feed%s" % p, "--cacert", cls.upstream_ca.ca_cert)
        if r.rc == 0:
            raise AssertionError("a client trusting only its site's CA accepted the district leaf: %r" % r)
        expect(lambda a: a.get("inspect_failure") == "client_rejected_certificate")
        with RawClient(cls.proxy.port, source=HS_STAFF) as c:
            c.send(b"CONNECT raw.test:443 HTTP/1.1\r\nHost: raw.test:443\r\n\r\n")
            status, _, _ = c.read_head()
            if status != 200:
                raise AssertionError("CONNECT raw.test: %s" % status)
            hello = client_hello("raw.test")
            c.send(hello)
            cls.recorder.wait_bytes(hello)  # judged by its server name, then spliced
        expect(lambda a: a.get("tls") == "splice" and a.get("host") == "raw.test")
        # a client outside `clients:`: refused, counted by reason (no audit line)
        cls.get(OUTSIDER, "http://plain.test%s/outsider" % p)
        # reloads: a good one in the first round, a broken list in the second
        if n == 1:
            write_list(cls.list_dir, ["hupcat.test", "hup1.test"])
            ok, line = cls.proxy.reload()
            if not ok:
                raise AssertionError("reload failed: " + line)
        else:
            write_list(cls.list_dir, ["hupcat.test", "exa mple.com"])
            ok, line = cls.proxy.reload()
            if ok:
                raise AssertionError("a broken list was accepted: " + line)

        for pred in audit:
            wait_for(lambda: sum(1 for a in cls.proxy.audit_lines() if isinstance(a, dict) and pred(a)) >= n,
                     message="round %d audited" % n)

    @classmethod
    def fail_audit_writes(cls):
        """Make the audit file refuse writes (the immutable attribute: EPERM even on the open
        descriptor, as a full disk would refuse them), then make one more decision: its line
        is dropped and counted. False when the filesystem has no immutable attribute."""
        path = cls.proxy.audit_path
        chattr = shutil.which("chattr") or "/usr/bin/chattr"
        try:
            p = subprocess.run([chattr, "+i", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            why = p.stdout.decode(errors="replace").strip() if p.returncode else None
        except OSError as e:
            why = str(e)
        if why is not None:
            sys.stderr.write("\nchattr +i %s failed (%s): the audit-drop checks are reduced to "
                             "'nothing dropped, nothing fires'\n" % (path, why))
            return False
        cls.addClassCleanup(subprocess.run, [chattr, "-i", path])
        cls.get(HS_STAFF, "http://plain.test/after-audit-broke", expect=200)
        wait_for(lambda: cls.proxy.metrics().sum("hallpass_audit_dropped_total") >= 1,
                 message="the audit line counted as dropped")
        return True

    @classmethod
    def hold_tunnel(cls):
        """A spliced tunnel left open while the queries run (active connections and tunnels)."""
        cls.held = RawClient(cls.proxy.port, source=HS_STAFF, timeout=120)
        cls.addClassCleanup(cls.held.close)
        cls.held.send(b"CONNECT raw.test:443 HTTP/1.1\r\nHost: raw.test:443\r\n\r\n")
        status, _, _ = cls.held.read_head()
        if status != 200:
            raise AssertionError("CONNECT raw.test: %s" % status)
        hello = client_hello("raw.test")
        cls.held.send(hello)
        cls.recorder.wait_bytes(hello)
        wait_for(lambda: cls.proxy.metrics().sum("hallpass_tunnels_active") >= 1, message="tunnel open")

    @classmethod
    def wait_scraped(cls):
        """Wait until Prometheus holds a scrape taken after everything the proxy counted."""
        m = cls.proxy.metrics()
        sentinels = {
            "sum(hallpass_requests_total{instance=\"%s\"})": m.sum("hallpass_requests_total"),
            "sum(hallpass_connections_refused_total{instance=\"%s\"})":
                m.sum("hallpass_connections_refused_total"),
            "sum(hallpass_config_reloads_total{instance=\"%s\"})": m.sum("hallpass_config_reloads_total"),
            "sum(hallpass_tunnels_active{instance=\"%s\"})": m.sum("hallpass_tunnels_active"),
            "sum(hallpass_audit_dropped_total{instance=\"%s\"})": m.sum("hallpass_audit_dropped_total"),
        }
        for expr, want in sentinels.items():
            e = expr % cls.live
            cls.wait_prom("%s >= %s" % (e, want), "Prometheus to scrape %s >= %s" % (e, want))

    def run_checks(self, cases):
        """Poll every (where, expr, checks) together until all pass or the deadline."""
        pending = {where: (expr, checks) for where, expr, checks in cases}
        last = {}
        deadline = time.monotonic() + DEADLINE
        while pending:
            for where, (expr, checks) in list(pending.items()):
                result = self.prometheus.query(expr)
                if checks == [EMPTY]:
                    why = EMPTY if result else None
                else:
                    why = self.baseline(result) or next(
                        (w for w in (c(result) for c in checks) if w), None)
                last[where] = (expr, why, result)
                if why is None:
                    del pending[where]
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        failures = ["%s\n    %s\n    -> %s\n    result: %s" % (w, last[w][0], last[w][1],
                                                          json.dumps(last[w][2])[:600])
                    for w in pending]
        if failures:
            self.fail("%d of %d expressions did not return what the traffic implies:\n%s"
                      % (len(failures), len(cases), "\n".join(failures)))

    @staticmethod
    def baseline(result):
        if not result:
            return "empty result"
        if all(math.isnan(_value(s)) for s in result):
            return "only NaN"
        return None

    def dashboard_cases(self, name, expected, values):
        cases = []
        seen = set()
        for where, expr in dashboard_expressions(load_dashboard(name)):
            if where.startswith("variable:"):
                continue
            self.assertTrue(where in expected, "%s: no expectation for %r (%s); add one" % (name, where, expr))
            seen.add(where)
            cases.append((where, substitute(expr, values), expected[where]))
        self.assertEqual(set(expected) - seen, set(), "expectations for panels that no longer exist")
        return cases

    # -- tests ----------------------------------------------------------------------------
    def test_district_overview(self):
        live, dead = self.live, self.dead
        between = lambda lo, hi: value(lambda v: lo < v < hi, "in (%s, %s)" % (lo, hi))
        expected = {
            "Requests / s/A": [positive()],
            "Blocked share/A": [between(0, 1)],
            "Self-harm alerts (time range)/A": [positive()],
            "Instances up/A": [value(lambda v: v == 1, "1 (the live instance)")],
            "Instances up/B": [value(lambda v: v == 2, "2 (configured)")],
            "Policy age/A": [value(lambda v: 0 <= v < 300, "a fresh policy's age")],
            "Reload failures (time range)/A": [positive()],
            "Decisions by action/A": [positive(action="allow"), positive(action="block")],
            "Blocks by building/A": [positive(building="high-school"), positive(building="elementary"),
                                     absent(building="default")],
            "Blocks by category/A": [positive(category=c) for c in
                                     ("adult", "anonymizer", "social-dm", "social", "none")],
            "Top blocked domains/A": [positive(domain=d) for d in
                                      ("blocked.test", "pornhub.com", self.anonymizer, "instagram.com")]
                                     + [absent(domain="other")],
            "Blocks by building, category and reason (time range)/A": [
                positive(building="high-school", category="none", reason="building_block"),
                positive(building="high-school", category="adult", reason="category_block"),
                positive(building="high-school", category="anonymizer", reason="anonymizer_list"),
                positive(building="high-school", reason="anonymizer_ip_literal"),
                positive(building="high-school", category="social-dm", reason="social_function_block"),
                positive(building="elementary", category="social", reason="category_block")],
            "Monitor mode: would have blocked (time range)/A": [
                positive(building="high-school", category="social-post", reason="social_function_monitor")],
            "Anonymizer attempts by method/A": [positive(method="list"), positive(method="ip_literal"),
                                                present(method="doh")],
            "Content flags by category and severity/A": [positive(category="pii", severity="medium"),
                                                         positive(category="self-harm", severity="critical")],
            "Content alerts by category (time range)/A": [positive(category="self-harm")],
            "Content decisions by building (time range)/A": [
                positive(building="high-school", category="pii", reason="content_flag"),
                positive(building="high-school", category="self-harm", reason="content_alert")],
            "Request rate by instance/A": [positive(instance=live)],
            "Request latency/A": [positive()],
            "Request latency/B": [positive()],
            "Request latency/C": [positive()],
            "Decision time/A": [positive()],
            "Decision time/B": [positive()],
            "Upstream errors by cause/A": [positive(cause="upstream_refused")],
            "Upstream error ratio/A": [between(0.05, 1)],
            "Connections refused by reason/A": [positive(reason="client_not_allowed")],
            "Active connections and tunnels/A": [value(lambda v: v >= 1, ">= 1", instance=live)],
            "Active connections and tunnels/B": [value(lambda v: v >= 1, ">= 1", instance=live)],
            "Scrape status by instance/A": [value(lambda v: v == 1, "1", instance=live),
                                            value(lambda v: v == 0, "0", instance=dead)],
            "Versions running/A": [value(lambda v: v == 1, "1", instance=live)],
            "Reloads by result (time range)/A": [positive(result="success"), positive(result="failure")],
            "Policy age by instance/A": [present(instance=live)],
            "Audit lines written/A": [positive(instance=live)],
            "Audit lines dropped (time range)/A": [positive()] if self.audit_drops
                                                  else [value(lambda v: v == 0, "0")],
            "List entries by category/A": [positive(category="adult"), positive(category="anonymizer"),
                                           positive(category="hupcat")],
            "TLS tunnels by fate/A": [positive(fate="intercept"), positive(fate="splice"),
                                      positive(fate="block_page")],
            "Inspect failures by reason/A": [positive(reason="client_rejected_certificate")],
            "Leaf cache hit ratio/A": [between(0, 1)],
            "Leaf cache size/A": [value(lambda v: v >= 1, ">= 1")],
            "annotation:Policy reloads": [positive(instance=live)],
            "annotation:Self-harm alerts": [present(alertname="HallpassSelfHarmContent", instance=live)],
        }
        values = dict(GRAFANA_BUILTINS, instance=".*")
        cases = self.dashboard_cases("district-overview.json", expected, values)
        self.run_checks(cases)

    def test_building_drilldown(self):
        expected = {
            "Requests / s/A": [positive()],
            "Blocked share/A": [value(lambda v: 0 < v < 1, "in (0, 1)")],
            "Self-harm alerts (time range)/A": [positive()],
            "Content flags (time range)/A": [positive()],
            "Anonymizer attempts (time range)/A": [positive()],
            "Would block (time range)/A": [positive()],
            "Decisions by action/A": [positive(action="allow"), positive(action="block")],
            "Decisions by role and action/A": [positive(role="staff", action="allow"),
                                               positive(role="staff", action="block"),
                                               positive(role="student", action="allow"),
                                               positive(role="student", action="block")],
            # social is blocked only in the elementary: the building filter must keep it out
            "Blocks by category/A": [positive(category=c) for c in ("adult", "anonymizer", "social-dm", "none")]
                                    + [absent(category="social")],
            "Blocks by reason and category (time range)/A": [
                positive(reason="building_block", category="none", role="student"),
                positive(reason="category_block", category="adult"),
                positive(reason="social_function_block", category="social-dm", role="staff"),
                positive(reason="anonymizer_list"), positive(reason="anonymizer_ip_literal"),
                absent(category="social")],
            "Top blocked domains/A": [positive(domain=d) for d in
                                      ("blocked.test", "pornhub.com", self.anonymizer, "instagram.com")]
                                     + [absent(domain="other")],
            # fewer than ten blocked domains: nothing outside the top ten
            "Blocks outside the top 10/A": [value(lambda v: v == 0, "0")],
            "Anonymizer attempts by method/A": [positive(reason="anonymizer_list"),
                                                positive(reason="anonymizer_ip_literal")],
            "Social platforms and functions (time range)/A": [
                positive(category="social-dm", action="block", reason="social_function_block"),
                positive(category="social-post", action="allow", reason="social_function_monitor"),
                positive(category="social", action="allow"),
                absent(action="block", category="social")],
            "Content decisions by category (time range)/A": [
                positive(category="pii", reason="content_flag"),
                positive(category="self-harm", reason="content_alert")],
            "Monitor mode: would have blocked (time range)/A": [
                positive(category="social-post", reason="social_function_monitor", role="student")],
            "Requests by mode/A": [positive(mode="explicit")],
        }
        values = dict(GRAFANA_BUILTINS, instance=".*", building=BUILDING)
        self.run_checks(self.dashboard_cases("building-drilldown.json", expected, values))
        # The same panels for the elementary: its one kind of block, none of the high school's.
        values["building"] = "elementary"
        d = load_dashboard("building-drilldown.json")
        exprs = dict(dashboard_expressions(d))
        self.run_checks([
            ("elementary: Blocks by category/A", substitute(exprs["Blocks by category/A"], values),
             [positive(category="social"), absent(category="adult"), absent(category="none")]),
            ("elementary: Top blocked domains/A", substitute(exprs["Top blocked domains/A"], values),
             [positive(domain="instagram.com"), absent(domain="blocked.test")]),
        ])

    def test_template_variables_list_what_the_traffic_used(self):
        values = dict(GRAFANA_BUILTINS, instance=".*")
        wanted = {"instance": {self.live, self.dead},
                  "building": {"default", "high-school", "elementary"}}
        n = 0
        for name in DASHBOARDS:
            for where, query in dashboard_expressions(load_dashboard(name)):
                if not where.startswith("variable:"):
                    continue
                n += 1
                m = re.fullmatch(r"label_values\((?:(.+),\s*)?(\w+)\)", query.strip())
                self.assertIsNotNone(m, "%s %s: not a label_values() query: %s" % (name, where, query))
                match, label = m.group(1), m.group(2)
                got = set(self.prometheus.label_values(label, substitute(match, values) if match else None))
                self.assertLessEqual(wanted[label], got, "%s %s: %s" % (name, where, query))
        self.assertGreaterEqual(n, 3)

    def test_the_first_self_harm_post_after_a_start_already_pages(self):
        result, why = self.first_self_harm
        self.assertIsNone(why, "the alert expression missed the first self-harm post: %s" % result)

    def test_every_alert_rule_expression(self):
        with open(SHIPPED_RULES) as f:
            names = set(re.findall(r"(?m)^\s*- alert: (\w+)\s*$", f.read()))
        loaded = {r["name"]: r for g in self.prometheus.api("rules")["groups"] for r in g["rules"]}
        self.assertEqual(set(loaded), names, "Prometheus did not load every rule of the file")
        for r in loaded.values():
            self.assertEqual(r["health"], "ok", r)
        live = self.live
        expected = {
            "HallpassSelfHarmContent": [positive(category="self-harm", building="high-school",
                                                 instance=live),
                                        absent(category="self-harm", building="elementary")],
            "HallpassDown": [value(lambda v: v == 0, "0", instance=self.dead), absent(instance=live)],
            "HallpassReloadFailing": [positive(instance=live)],
            "HallpassUpstreamErrors": [value(lambda v: v > 0.05, "> 0.05", instance=live)],
            # without the immutable attribute nothing is dropped: the alert must stay silent
            "HallpassAuditDropped": [positive(instance=live)] if self.audit_drops else [EMPTY],
        }
        self.assertEqual(set(expected), names, "an alert without an expectation here")
        self.run_checks([(n, loaded[n]["query"], expected[n]) for n in sorted(names)])

    def test_the_traffic_raises_the_alerts(self):
        # for: 0 fires at once; `for:` holds the others pending for the test's lifetime.
        want = {("HallpassSelfHarmContent", self.live): {"firing"},
                ("HallpassReloadFailing", self.live): {"firing"},
                ("HallpassDown", self.dead): {"pending", "firing"},
                ("HallpassUpstreamErrors", self.live): {"pending", "firing"}}
        if self.audit_drops:
            want[("HallpassAuditDropped", self.live)] = {"firing"}

        def states():
            alerts = self.prometheus.api("alerts")["alerts"]
            return {(a["labels"]["alertname"], a["labels"].get("instance")): a["state"] for a in alerts}

        def satisfied():
            got = states()
            return all(got.get(k) in v for k, v in want.items())
        try:
            wait_for(satisfied, DEADLINE, interval=0.2, message="the alerts")
        except AssertionError:
            self.fail("alerts: want %s, got %s" % (want, states()))
        self.assertNotIn(("HallpassDown", self.live), states())
        firing = [a for a in self.prometheus.api("alerts")["alerts"]
                  if a["labels"]["alertname"] == "HallpassSelfHarmContent"][0]
        self.assertEqual(firing["labels"]["severity"], "critical")
        self.assertEqual(firing["labels"]["building"], "high-school")
        self.assertIn(self.live, firing["annotations"]["summary"])
        self.assertIn("high-school", firing["annotations"]["summary"])


if __name__ == "__main__":
    unittest.main()
