#!/usr/bin/env bash
# The proxy's request rate with request bodies scanned next to the same bodies not scanned
# (issue 5: "the proxy's request rate with scanning on within 10% of off").
#
# Usage: bench/content_rate.sh [--duration S] [--rounds N] [--connections N] [--out FILE]
# Environment: HALLPASS (default build/proxy/hallpass), SHARED_BENCH (default ../shared/bench).
#
# One Hallpass (bench/hallpass-bench.yaml), the shared nginx origin, and wrk POSTing the same
# ~1 KiB form body (an ordinary school comment that matches no pattern, the common case) as:
#   scanned  Content-Type: application/x-www-form-urlencoded (decoded, normalized, scanned)
#   counted  Content-Type: application/octet-stream (binary: counted, never scanned)
# The origin answers 404 to the POST after reading the body (nginx `location /`), the same
# for both. Rounds alternate the two so drift hits both alike. Checks: no socket errors;
# hallpass_request_body_bytes_total{scanned="yes"} grows by at least the body bytes of the
# requests wrk completed in a scanned round, and {scanned="no"} in a counted one (proof the
# scan ran, and only there).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
HALLPASS=${HALLPASS:-$ROOT/build/proxy/hallpass}
DURATION=10
ROUNDS=3
CONNECTIONS=50
OUT=

die() { echo "content_rate.sh: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
while [ $# -gt 0 ]; do
  case $1 in
  --duration) DURATION=$2; shift 2 ;;
  --rounds) ROUNDS=$2; shift 2 ;;
  --connections) CONNECTIONS=$2; shift 2 ;;
  --out) OUT=$2; shift 2 ;;
  *) die "unknown argument '$1'" ;;
  esac
done
command -v wrk >/dev/null || die "wrk is missing: bash deploy/install-deps.sh --bench"
[ -x "$HALLPASS" ] || die "no $HALLPASS: build first"

TMP=$(mktemp -d)
PROXY_PID=
cleanup() {
  [ -z "$PROXY_PID" ] || kill "$PROXY_PID" 2>/dev/null || true
  "$SHARED/origin.sh" stop >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

"$SHARED/origin.sh" start
mkdir -p /tmp/proxybench
"$HALLPASS" run --config "$ROOT/bench/hallpass-bench.yaml" 2>"$TMP/hallpass.log" &
PROXY_PID=$!
for _ in $(seq 100); do
  curl -sf http://127.0.0.1:9130/readyz >/dev/null && break
  kill -0 "$PROXY_PID" 2>/dev/null || die "hallpass exited: $(tail -5 "$TMP/hallpass.log")"
  sleep 0.1
done
curl -sf http://127.0.0.1:9130/readyz >/dev/null || die "hallpass not ready"

# ~1 KiB of an ordinary post, form-encoded.
text="The science fair project is due next Friday and our group still needs to finish the poster about photosynthesis and the water cycle. "
body="comment="
while [ ${#body} -lt 1000 ]; do body+=$(printf '%s' "$text" | sed 's/ /+/g'); done
printf '%s' "${body:0:1024}" >"$TMP/body"

body_bytes() {  # scanned=yes|no
  curl -s http://127.0.0.1:9130/metrics |
    awk -v want="scanned=\"$1\"" 'index($0, "hallpass_request_body_bytes_total{" want "}") == 1 {printf "%d", $2}'
}

# The proxy's CPU time so far (user + system, clock ticks): the rate is shared with wrk and
# nginx on the same cores and moves with them, the proxy's CPU per request much less.
proxy_ticks() {
  awk '{print $14 + $15}' "/proc/$PROXY_PID/stat"
}

run_one() {  # content-type → "requests rps p99_us cpu_us_per_request"
  local before after out which ticks_before ticks_after
  which=$([ "$1" = application/octet-stream ] && echo no || echo yes)
  before=$(body_bytes "$which")
  ticks_before=$(proxy_ticks)
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s "$ROOT/bench/wrk-post.lua" \
    http://127.0.0.1:3128/ -- http://127.0.0.1:18080/post "$1" "$TMP/body" | grep '^WRKJSON')
  ticks_after=$(proxy_ticks)
  after=$(body_bytes "$which")
  python3 - "$out" "$before" "$after" "$(wc -c <"$TMP/body")" \
    "$((ticks_after - ticks_before))" "$(getconf CLK_TCK)" <<'PY'
import json, sys
r = json.loads(sys.argv[1].split(" ", 1)[1])
grew = int(sys.argv[3]) - int(sys.argv[2])
if r["socket_errors"]:
    sys.exit("socket errors under load: %r" % r)
if grew < r["requests"] * int(sys.argv[4]):
    sys.exit("body bytes counted grew by %d for %d requests" % (grew, r["requests"]))
cpu_us = int(sys.argv[5]) / int(sys.argv[6]) * 1e6 / r["requests"]
print(r["requests"], "%.0f" % (r["requests"] / (r["duration_us"] / 1e6)), r["lat_p99_us"],
      "%.1f" % cpu_us)
PY
}

declare -a scanned counted scanned_cpu counted_cpu
for round in $(seq "$ROUNDS"); do
  s=$(run_one application/x-www-form-urlencoded) || die "scanned round $round: $s"
  c=$(run_one application/octet-stream) || die "counted round $round: $c"
  log "round $round: scanned ${s#* } / counted ${c#* } (req/s, p99 µs, proxy CPU µs/request)"
  scanned+=("$(echo "$s" | cut -d' ' -f2)")
  counted+=("$(echo "$c" | cut -d' ' -f2)")
  scanned_cpu+=("$(echo "$s" | cut -d' ' -f4)")
  counted_cpu+=("$(echo "$c" | cut -d' ' -f4)")
done

table=$(python3 - "${scanned[*]}" "${counted[*]}" "$(wc -c <"$TMP/body")" "$CONNECTIONS" "$DURATION" \
  "${scanned_cpu[*]}" "${counted_cpu[*]}" <<'PY'
import statistics, sys
s = [float(x) for x in sys.argv[1].split()]
c = [float(x) for x in sys.argv[2].split()]
sc = [float(x) for x in sys.argv[6].split()]
cc = [float(x) for x in sys.argv[7].split()]
ms, mc = statistics.median(s), statistics.median(c)
msc, mcc = statistics.median(sc), statistics.median(cc)
print("| body (%s bytes, wrk -c%s -d%s) | req/s per round | median | proxy CPU µs/request per round | median |" % (sys.argv[3], sys.argv[4], sys.argv[5]))
print("|---|---|---|---|---|")
print("| form, scanned | %s | %.0f | %s | %.1f |" % (", ".join("%.0f" % x for x in s), ms, ", ".join("%.1f" % x for x in sc), msc))
print("| octet-stream, not scanned | %s | %.0f | %s | %.1f |" % (", ".join("%.0f" % x for x in c), mc, ", ".join("%.1f" % x for x in cc), mcc))
print()
print("Scanning costs %.1f %% of the request rate, and %.1f µs of proxy CPU per request (%.1f %% of its CPU per request)."
      % (100 * (1 - ms / mc), msc - mcc, 100 * (msc - mcc) / msc))
PY
)
echo "$table"
if [ -n "$OUT" ]; then
  { echo "# Request rate with bodies scanned vs not ($(date -u +%Y-%m-%d))"; echo
    echo "\`bench/content_rate.sh --duration $DURATION --rounds $ROUNDS --connections $CONNECTIONS\`"; echo
    echo "$table"; } >"$OUT"
fi
