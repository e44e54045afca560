#!/usr/bin/env bash
# Hallpass's transparent listener next to its explicit one, in a routed 3-namespace network:
#
#   client ns  --veth--  gateway ns (Hallpass, hallpass-redirect.nft)  --veth--  internet ns (nginx)
#   eth0 10.79.1.2       lan0 10.79.1.1 / wan0 10.79.2.1                         eth0 10.79.2.2
#
# Usage (as root, from anywhere): bench/transparent.sh [options]
#   --duration S         seconds per measurement (default 10)
#   --connections N      wrk connections for the HTTP tests (default 50, as ../shared/bench
#                        CONC_1K) and, unless --tls-connections is given, TLS tunnels in flight
#   --tls-connections N  TLS tunnels in flight (default 20, as ../shared/bench TUNNEL_CONC)
#   --out FILE           also write the table, parameters and checks as Markdown to FILE
#   --note TEXT          a line printed under the Markdown title (e.g. "SMOKE run")
# Environment: HALLPASS (default build/proxy/hallpass), SHARED_BENCH (default ../shared/bench),
#   CONNRATE (a built tools/connrate; else $BENCH_RUN/bin/connrate if not older than its
#   source, else it is compiled into the run's temp dir), WRK_THREADS (1), KEEP_TMP=1.
#
# Figures, each from the client namespace:
#   HTTP   wrk keep-alive GET of a 1 KiB text/html page, ../shared/bench/tools/wrk-proxy.lua:
#          explicit    = absolute-form "GET http://bench.test/1k" to 10.79.1.1:3128
#          transparent = "GET /1k", Host: bench.test, to 10.79.2.2:80, redirected by nftables
#                        to Hallpass's transparent.listen :3129
#          direct      = the same as transparent with the rules not loaded (the client's
#                        packets are only routed by the gateway): the ceiling
#   TLS    ../shared/bench/tools/connrate, new tunnels/s: TCP connect, (CONNECT bench.test:443,)
#          TLS handshake with SNI bench.test, nginx's certificate verified, GET /1k, close
# Checks (the run fails loudly otherwise): every path returns the page (curl) before it is
# measured; no non-2xx answer under load; hallpass_requests_total{mode=...,action="allow"}
# grows by at least what the client completed on each Hallpass path and not at all during
# the direct ones; the audit log holds explicit GET and CONNECT lines and transparent
# plain-HTTP and TLS (splice) lines for bench.test.
#
# Everything (namespaces, nginx, Hallpass, temp files) is removed on exit, also on failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
HALLPASS=${HALLPASS:-$ROOT/build/proxy/hallpass}
BENCH_RUN=${BENCH_RUN:-${TMPDIR:-/tmp}/proxybench}
WRK_THREADS=${WRK_THREADS:-1}
DURATION=10
HTTP_CONC=50
TLS_CONC=
OUT=
NOTE=

die() { echo "transparent.sh: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in
  --duration) DURATION=${2:-}; shift 2 ;;
  --connections) HTTP_CONC=${2:-}; [ -n "$TLS_CONC" ] || TLS_CONC=$HTTP_CONC; shift 2 ;;
  --tls-connections) TLS_CONC=${2:-}; shift 2 ;;
  --out) OUT=${2:-}; shift 2 ;;
  --note) NOTE=${2:-}; shift 2 ;;
  -h | --help) usage ;;
  *) die "unknown argument '$1' (try --help)" ;;
  esac
done
TLS_CONC=${TLS_CONC:-20}
for v in DURATION HTTP_CONC TLS_CONC; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "${v,,} must be a positive integer, got '${!v}'"
done
if [ -n "$OUT" ]; then OUT=$(realpath -m "$OUT"); fi

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, nftables)"
for tool in ip nft nginx wrk openssl curl python3 ss; do
  command -v "$tool" >/dev/null || die "$tool is missing"
done
[ -x "$HALLPASS" ] || die "no Hallpass binary at $HALLPASS (build first, or set HALLPASS)"
LUA=$SHARED/tools/wrk-proxy.lua
PROCSTAT=$SHARED/tools/procstat.py
RULES=$ROOT/deploy/gateway/hallpass-redirect.nft
for f in "$LUA" "$PROCSTAT" "$SHARED/tools/connrate.c" "$RULES"; do
  [ -f "$f" ] || die "$f not found (set SHARED_BENCH to the shared bench folder)"
done
# A proxy variable in the environment would send curl somewhere we did not ask for.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

# ---- names and addresses (inside our own namespaces only) ----------------------------
PREFIX=hpbench-$$
NS_C=$PREFIX-client NS_G=$PREFIX-gateway NS_I=$PREFIX-internet
CLIENT_NET=10.79.1.0/24
CLIENT=10.79.1.2 GW_LAN=10.79.1.1 GW_WAN=10.79.2.1 INET=10.79.2.2
NAME=bench.test
EXPLICIT_PORT=3128 TRANSPARENT_PORT=3129 ADMIN=127.0.0.1:9130
PAGE=/1k

T=$(mktemp -d "${TMPDIR:-/tmp}/hallpass-transparent.XXXXXX")
CREATED_NS=()
PIDS=()
RULES_LOADED=
OK=

cleanup() {
  local rc=$? pid ns p
  trap - EXIT INT TERM
  if [ -z "$OK" ]; then
    echo "transparent.sh: FAILED (exit $rc); last lines of the logs:" >&2
    for f in "$T/hallpass.log" "$T/nginx/error.log"; do
      [ -s "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
    done
  fi
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  # Whatever else still runs in our namespaces (a wrk cut short), then the namespaces:
  # their veths and nftables table go with them.
  for ((i = ${#CREATED_NS[@]} - 1; i >= 0; i--)); do
    ns=${CREATED_NS[$i]}
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || echo "transparent.sh: could not delete netns $ns" >&2
  done
  if [ -n "${KEEP_TMP:-}" ]; then echo "transparent.sh: kept $T" >&2; else rm -rf "$T"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ---- topology (as tests/integration/netns.py, IPv4 only) ------------------------------
log "namespaces $PREFIX-{client,gateway,internet}; temp dir $T"
for ns in "$NS_C" "$NS_G" "$NS_I"; do
  ip netns add "$ns"
  CREATED_NS+=("$ns")
  in_ns "$ns" ip link set lo up
done
# Made directly inside the namespaces: no name in the root namespace, even briefly.
ip link add eth0 netns "$NS_C" type veth peer name lan0 netns "$NS_G"
ip link add wan0 netns "$NS_G" type veth peer name eth0 netns "$NS_I"
while read -r ns dev addr; do
  in_ns "$ns" ip addr add "$addr/24" dev "$dev"
  in_ns "$ns" ip link set "$dev" up
done <<EOF
$NS_C eth0 $CLIENT
$NS_G lan0 $GW_LAN
$NS_G wan0 $GW_WAN
$NS_I eth0 $INET
EOF
in_ns "$NS_G" sysctl -qw net.ipv4.ip_forward=1
in_ns "$NS_C" ip route add default via "$GW_LAN"
in_ns "$NS_I" ip route add default via "$GW_WAN"

wait_listen() { # NS PORT: something listens on the TCP port in NS (10 s)
  for ((i = 0; i < 100; i++)); do
    [ -n "$(in_ns "$1" ss -Hltn "sport = :$2")" ] && return 0
    sleep 0.1
  done
  return 1
}

# ---- nginx in the internet namespace ---------------------------------------------------
mkdir -p "$T/nginx/www" "$T/nginx/tmp"
chmod 755 "$T" "$T/nginx" "$T/nginx/www" # nginx workers run as nobody
# The same 1 KiB text page as ../shared/bench/origin.sh.
line='<p>The quick brown fox jumps over the lazy dog near the school library.</p>'
page=$'<!doctype html><html><head><title>bench</title></head><body>\n'
for ((i = 0; i < 14; i++)); do page+="$line"$'\n'; done
printf '%s' "${page:0:1024}" >"$T/nginx/www/1k"
chmod 644 "$T/nginx/www/1k"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=$NAME" -addext "subjectAltName=DNS:$NAME" \
  -keyout "$T/nginx/key.pem" -out "$T/nginx/cert.pem" 2>/dev/null || die "openssl could not make the certificate"
CERT=$T/nginx/cert.pem
cat >"$T/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $T/nginx/tmp/body;
    proxy_temp_path $T/nginx/tmp/proxy;
    fastcgi_temp_path $T/nginx/tmp/fastcgi;
    uwsgi_temp_path $T/nginx/tmp/uwsgi;
    scgi_temp_path $T/nginx/tmp/scgi;
    sendfile on; tcp_nopush on; tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 100000000;
    types { }
    default_type application/octet-stream;
    server {
        listen $INET:80 backlog=4096;
        listen $INET:443 ssl backlog=4096;
        server_name $NAME;
        ssl_certificate $CERT;
        ssl_certificate_key $T/nginx/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $T/nginx/www;
        location = /1k { default_type text/html; }
        location / { return 404; }
    }
}
EOF
in_ns "$NS_I" nginx -q -t -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf"
in_ns "$NS_I" nginx -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" -g 'daemon off;' \
  </dev/null >"$T/nginx/stdout.log" 2>&1 &
PIDS+=($!)
wait_listen "$NS_I" 80 && wait_listen "$NS_I" 443 || die "nginx did not come up"

# ---- Hallpass in the gateway namespace -------------------------------------------------
cat >"$T/hallpass.yaml" <<EOF
extends: default
listen: ["$GW_LAN:$EXPLICIT_PORT"]
admin: {listen: "$ADMIN"}
transparent: {listen: ["0.0.0.0:$TRANSPARENT_PORT"]}
clients: [$CLIENT_NET]
upstream:
  resolve: {$NAME: $INET}
audit: {path: $T/audit.jsonl}
EOF
(cd "$T" && exec ip netns exec "$NS_G" "$HALLPASS" run --config "$T/hallpass.yaml") \
  </dev/null >"$T/hallpass.log" 2>&1 &
HP_PID=$!
PIDS+=("$HP_PID")
for ((i = 0; i < 300; i++)); do
  grep -q 'hallpass ready' "$T/hallpass.log" 2>/dev/null && break
  kill -0 "$HP_PID" 2>/dev/null || die "hallpass exited at start"
  sleep 0.1
done
grep -q 'hallpass ready' "$T/hallpass.log" || die "hallpass not ready within 30 s"
wait_listen "$NS_G" "$EXPLICIT_PORT" && wait_listen "$NS_G" "$TRANSPARENT_PORT" ||
  die "hallpass does not listen on :$EXPLICIT_PORT and :$TRANSPARENT_PORT"

load_rules() {
  in_ns "$NS_G" nft -D "client_if={ \"lan0\" }" -D "client_v4={ $CLIENT_NET }" \
    -D "client_v6={ ::/128 }" -D "hallpass_port=$TRANSPARENT_PORT" -f "$RULES"
  RULES_LOADED=1
}

# ---- tools -----------------------------------------------------------------------------
if [ -n "${CONNRATE:-}" ]; then
  [ -x "$CONNRATE" ] || die "CONNRATE=$CONNRATE is not executable"
elif [ -x "$BENCH_RUN/bin/connrate" ] && ! [ "$SHARED/tools/connrate.c" -nt "$BENCH_RUN/bin/connrate" ]; then
  CONNRATE=$BENCH_RUN/bin/connrate
else
  command -v cc >/dev/null || die "cc is missing (to build connrate)"
  CONNRATE=$T/connrate
  cc -O2 -Wall -o "$CONNRATE" "$SHARED/tools/connrate.c" -lssl -lcrypto || die "could not build connrate"
fi
log "connrate: $CONNRATE"

# ---- counting what passed through Hallpass ----------------------------------------------
metrics() { in_ns "$NS_G" curl -s --max-time 5 "http://$ADMIN/metrics"; }
allowed() { # MODE: hallpass_requests_total summed over the allowed requests of MODE
  metrics | awk -v m="mode=\"$1\"" '/^hallpass_requests_total\{/ && index($0, m) && index($0, "action=\"allow\"") { s += $NF }
    END { printf "%d\n", s }'
}

# ---- checks before measuring ------------------------------------------------------------
fetch() { # PATH-NAME CURL-ARGS...: the page must come back whole
  local what=$1 got
  shift
  got=$(in_ns "$NS_C" curl -s -o /dev/null -w '%{http_code}:%{size_download}' --max-time 10 "$@") || true
  [ "$got" = 200:1024 ] || die "$what: curl $* gave '$got', expected 200:1024"
}
check() { # TARGET: plain HTTP and HTTPS both
  case $1 in
  explicit)
    fetch "$1 http" -x "http://$GW_LAN:$EXPLICIT_PORT" "http://$NAME$PAGE"
    fetch "$1 https" -p -x "http://$GW_LAN:$EXPLICIT_PORT" --cacert "$CERT" "https://$NAME$PAGE"
    ;;
  *)
    fetch "$1 http" --resolve "$NAME:80:$INET" "http://$NAME$PAGE"
    fetch "$1 https" --resolve "$NAME:443:$INET" --cacert "$CERT" "https://$NAME$PAGE"
    ;;
  esac
}

# ---- measurements -----------------------------------------------------------------------
RAW=$T/results.jsonl
: >"$RAW"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

wrk_run() { # TARGET SECONDS: prints the WRKJSON object
  local args
  if [ "$1" = explicit ]; then
    args=("http://$GW_LAN:$EXPLICIT_PORT/" -- "http://$NAME$PAGE")
  else
    args=(-H "Host: $NAME" "http://$INET$PAGE")
  fi
  in_ns "$NS_C" wrk -t"$WRK_THREADS" -c"$HTTP_CONC" -d"${2}s" -s "$LUA" "${args[@]}" | sed -n 's/^WRKJSON //p'
}
tls_run() { # TARGET: prints connrate's JSON line
  local via=()
  [ "$1" != explicit ] || via=(-x "$GW_LAN:$EXPLICIT_PORT")
  in_ns "$NS_C" "$CONNRATE" "${via[@]}" -t "$INET:443" --host "$NAME" --cacert "$CERT" -p "$PAGE" \
    -c "$TLS_CONC" -d "$DURATION"
}

# measure TEST TARGET: one measurement, Hallpass's CPU sampled meanwhile and its counters
# read before and after; appends one JSON line to $RAW.
measure() {
  local test=$1 target=$2 res sampler before_e before_t after_e after_t proc=null
  [ "$test" != http ] || wrk_run "$target" 1 >/dev/null # warm the connections and pools
  before_e=$(allowed explicit) before_t=$(allowed transparent)
  python3 "$PROCSTAT" sample "$HP_PID" "$DURATION" >"$T/proc.json" &
  sampler=$!
  if [ "$test" = http ]; then res=$(wrk_run "$target" "$DURATION"); else res=$(tls_run "$target"); fi
  wait "$sampler" && proc=$(cat "$T/proc.json")
  sleep 0.3 # the last answers' counters
  after_e=$(allowed explicit) after_t=$(allowed transparent)
  [ -n "$res" ] || die "$test $target: no result from the client"
  printf '{"test":"%s","target":"%s","rules":%s,"result":%s,"proc":%s,"hallpass_allowed":{"explicit":%d,"transparent":%d}}\n' \
    "$test" "$target" "${RULES_LOADED:-0}" "$res" "$proc" $((after_e - before_e)) $((after_t - before_t)) >>"$RAW"
  log "$test $target: $res"
  # Refuse figures that did not come from the path they claim.
  python3 - "$RAW" <<'PY' || die "$test $target: the check above failed; figures not trusted"
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
res, test, target, seen = r["result"], r["test"], r["target"], r["hallpass_allowed"]
done = res["requests"] if test == "http" else res["completed"]
problems = []
if done <= 0:
    problems.append("nothing completed")
if test == "http" and (res["status_errors"] or res["connect_errors"]):
    problems.append("%d non-2xx answers, %d connect errors" % (res["status_errors"], res["connect_errors"]))
if test == "tls":
    errs = sum(res["errors"].values())
    if errs > max(1, done // 100):
        problems.append("%d failed tunnels (%s)" % (errs, res["errors"]))
    if not res["verified"]:
        problems.append("certificate not verified")
if target == "direct":
    if seen["explicit"] or seen["transparent"]:
        problems.append("Hallpass counted %s during a direct run" % seen)
else:
    other = "transparent" if target == "explicit" else "explicit"
    if seen[target] < done:
        problems.append("Hallpass allowed %d %s requests, the client completed %d: not all went through it"
                        % (seen[target], target, done))
    if seen[other]:
        problems.append("Hallpass counted %d %s requests during a %s run" % (seen[other], other, target))
if problems:
    print("transparent.sh: %s %s: %s" % (test, target, "; ".join(problems)), file=sys.stderr)
    sys.exit(1)
PY
}

log "checks: direct (no rules), explicit"
check direct
check explicit
[ "$(allowed explicit)" -ge 2 ] || die "the explicit checks passed but Hallpass counted no explicit request"
measure http direct
measure tls direct

log "loading $RULES in the gateway"
load_rules
check transparent
[ "$(allowed transparent)" -ge 2 ] || die "the transparent checks passed but Hallpass counted no transparent request: the rules did not redirect"
check explicit
measure http explicit
measure http transparent
measure tls explicit
measure tls transparent
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the audit log must show both modes ------------------------------------------------
sleep 1 # the audit is flushed every 200 ms
# (spdlog's rotation names the older files audit.1.jsonl, audit.2.jsonl, ...)
python3 - "$T" "$NAME" <<'PY' | tee "$T/audit-summary.txt" || die "audit check failed"
import collections, glob, json, os, sys
folder, name = sys.argv[1], sys.argv[2]
seen = collections.Counter()
for path in glob.glob(os.path.join(folder, "audit*.jsonl")):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("host") != name and e.get("sni") != name:
                continue
            kind = str(e.get("method")) + ("/" + e["tls"] if e.get("tls") else "")
            seen[(e.get("mode"), kind, e.get("action"))] += 1
need = [("explicit", "GET", "allow"), ("explicit", "CONNECT/splice", "allow"),
        ("transparent", "GET", "allow"), ("transparent", "CONNECT/splice", "allow")]
print("audit lines for %s (mode, kind, action: count): %s" % (name, ", ".join(
    "%s %s %s: %d" % (k + (v,)) for k, v in sorted(seen.items(), key=str))), flush=True)
missing = [k for k in need if not seen[k]]
if not any(m == "transparent" for m, _, _ in seen) or not any(m == "explicit" for m, _, _ in seen) or missing:
    print("transparent.sh: the audit log lacks %s: traffic did not go through Hallpass as claimed" % missing,
          file=sys.stderr)
    sys.exit(1)
PY

# ---- report ------------------------------------------------------------------------------
versions="Hallpass $("$HALLPASS" --version 2>&1 | head -n1); $(nginx -v 2>&1 | sed 's/^nginx version: //'); \
$(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2); $(openssl version | cut -d' ' -f1-2); $(nft --version | cut -d' ' -f1-2); \
kernel $(uname -r); $(nproc) CPU ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1))"
python3 - "$RAW" "$OUT" <<PY
import json, sys
raw, out = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(raw)]
by = {(r["test"], r["target"]): r for r in rows}
targets = ("explicit", "transparent", "direct")

def fmt(x, d=0):
    return "{:,.{}f}".format(x, d)

def cell(test, target, f):
    r = by.get((test, target))
    return f(r) if r else "—"

def ratio(test, target, v):
    d = by.get((test, "direct"))
    if target == "direct" or not d:
        return ""
    base = rate(d)
    return " (%.2f×)" % (v / base) if base else ""

def rate(r):
    res = r["result"]
    return res["requests"] / (res["duration_us"] / 1e6) if r["test"] == "http" else res["rate"]

def per_cpu(r):
    p = r["proc"]
    if r["target"] == "direct" or not p or not p.get("cpu_s"):
        return "—"
    done = r["result"]["requests"] if r["test"] == "http" else r["result"]["completed"]
    return fmt(done / p["cpu_s"])

def cpu_pct(r):
    p = r["proc"]
    return "—" if r["target"] == "direct" or not p else fmt(p["cpu_pct"])

def lat(r):
    res = r["result"]
    return "%.2f / %.2f" % (res["lat_p50_us"] / 1000, res["lat_p99_us"] / 1000)

metrics = [
    ("HTTP keep-alive req/s (1 KiB, $HTTP_CONC conns)", "http", lambda r: fmt(rate(r)) + ratio("http", r["target"], rate(r))),
    ("HTTP latency p50 / p99 ms", "http", lat),
    ("HTTP: Hallpass CPU %", "http", cpu_pct),
    ("HTTP: requests per Hallpass CPU-s", "http", per_cpu),
    ("new TLS tunnels/s ($TLS_CONC in flight)", "tls", lambda r: fmt(rate(r)) + ratio("tls", r["target"], rate(r))),
    ("TLS tunnel p50 / p99 ms", "tls", lat),
    ("TLS: Hallpass CPU %", "tls", cpu_pct),
    ("TLS: tunnels per Hallpass CPU-s", "tls", per_cpu),
]
table = ["| metric | explicit | transparent | direct |", "|---|---|---|---|"]
for title, test, f in metrics:
    table.append("| %s | %s |" % (title, " | ".join(cell(test, t, f) for t in targets)))
print("\n".join(table))
if not out:
    sys.exit(0)
errs = []
for r in rows:
    res = r["result"]
    e = ({k: res[k] for k in ("read_errors", "write_errors", "timeouts") if res.get(k)} if r["test"] == "http"
         else {k: v for k, v in res["errors"].items() if v})
    if e:
        errs.append("%s %s: %s" % (r["test"], r["target"], e))
note = """$NOTE"""
tls = by.get(("tls", "transparent"), {}).get("result", {})
md = ["# Transparent vs explicit listener: bench/transparent.sh", ""]
if note:
    md += ["**%s**" % note, ""]
md += [
    "$(date -u +%Y-%m-%dT%H:%M:%SZ); \`bench/transparent.sh --duration $DURATION --connections $HTTP_CONC --tls-connections $TLS_CONC\`; "
    "one measurement per cell, load average $LOAD_START at start, $LOAD_END at end.",
    "",
    "$versions.",
    "",
] + table + [
    "",
    "- Client, gateway (Hallpass, \`deploy/gateway/hallpass-redirect.nft\`) and internet (nginx, 1 worker) are "
    "network namespaces on one host, linked by veth pairs; all share the same CPUs.",
    "- HTTP: \`wrk -t$WRK_THREADS -c$HTTP_CONC\` with \`../shared/bench/tools/wrk-proxy.lua\`, keep-alive GET of a 1 KiB "
    "text/html page. explicit: absolute-form \`GET http://$NAME$PAGE\` to $GW_LAN:$EXPLICIT_PORT; transparent: "
    "\`GET $PAGE\` with \`Host: $NAME\` to $INET:80, redirected to :$TRANSPARENT_PORT; direct: the same with no rules "
    "loaded (routed only). 1 s warm-up before each.",
    "- TLS: \`../shared/bench/tools/connrate\`, $TLS_CONC in flight: TCP connect, (CONNECT $NAME:443,) TLS handshake "
    "with SNI $NAME and nginx's certificate verified (Hallpass splices), GET $PAGE, close. %s, %s." % (
        tls.get("tls_version", "?"), tls.get("cipher", "?")),
    "- Ratios are to the direct figure of the same run. Hallpass CPU is its process over the measurement "
    "(\`../shared/bench/tools/procstat.py\`).",
    "- Direct ran first with no rules loaded; explicit and transparent ran after the rules were loaded "
    "(conntrack active in the gateway for both).",
    "- Checks passed: each path served the page (curl) before measuring; no non-2xx answers; Hallpass's "
    "\`hallpass_requests_total{mode,action=\"allow\"}\` grew by at least the completed count on each Hallpass path "
    "and not during the direct runs; " + open("$T/audit-summary.txt").read().strip() + ".",
]
if errs:
    md.append("- Client-side errors (reconnects, timeouts): " + "; ".join(errs) + ".")
with open(out, "w") as f:
    f.write("\n".join(md) + "\n")
PY
if [ -n "$OUT" ]; then log "wrote $OUT"; fi
OK=1
