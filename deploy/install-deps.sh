#!/usr/bin/env bash
# Installs every Debian 12 package Hallpass needs to build and test; with --bench, also the
# load tools and peer proxies that bench/ and ../shared/bench/ compare against.
# Safe to run again: when everything is present it changes nothing and needs no network.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config
  # libraries (Boost 1.81 by versioned names: the unversioned 1.74 packages conflict)
  libboost1.81-dev libboost-url1.81-dev libssl-dev libhyperscan-dev prometheus-cpp-dev
  libspdlog-dev libyaml-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev libidn2-dev
  libpsl-dev publicsuffix libnss3-tools zlib1g-dev
  # real clients and peers for the tests
  curl openssl python3 ca-certificates procps
  # the transparent-mode test builds its own network: namespaces, veths and nftables rules
  nftables iproute2
  # observability and scale-out: the real Prometheus (and promtool) scraping the metrics,
  # the real HAProxy in front of several instances, dpkg-dev to build the .deb
  prometheus haproxy dpkg-dev
  # the package test: systemd-analyze verify on the unit, strace against its syscall filter,
  # adduser (the package's postinst creates the `hallpass` user with it)
  systemd strace adduser
  # a person's view of the block page, in the browser tests
  chromium fonts-dejavu-core
  # the fault tests mount their own small file systems (a read-only tmpfs, an ext4 image)
  e2fsprogs mount
  # libFuzzer targets (tests/fuzz/), run for a bounded time by tests/run.sh
  clang-14 libclang-rt-14-dev llvm-14
)
if [ "${1:-}" = "--bench" ]; then
  # squid-openssl replaces squid (same binary name) and also serves the ssl-bump peer.
  packages+=(nginx wrk hyperfine squid-openssl tinyproxy e2guardian python3-cryptography
             socat iproute2 gcc libssl-dev libre2-dev
             # real English for hallpass_content_bench (bench/content_bodies.hpp)
             fortunes)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root (or with sudo)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
apt-get update
# libhyperscan5 asks a debconf question about CPU support without this.
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
