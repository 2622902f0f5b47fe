#!/usr/bin/env bash
# Debian packages gs and its tests use: nats-server, redis-server, protoc with the well-known types
# (libprotobuf-dev: google/protobuf/*.proto, only recommended by protobuf-compiler), tmux (dashboard e2e),
# buildah (image builds without a Docker engine), docker-registry (the push tests' loopback registry),
# openssl (`gs up --secure` makes its local CA and certificates with it) and zsh (the completion
# test syntax-checks the generated zsh script with `zsh -n`), prometheus (with promtool: the metrics tests
# scrape `gs metrics` with a real Prometheus and check docs/prometheus), bsdextrautils (hexdump -C: the
# `gs request --raw` test compares gs's hex dump with it).
set -euo pipefail
pkgs=(nats-server redis-server protobuf-compiler libprotobuf-dev tmux buildah docker-registry openssl zsh prometheus bsdextrautils)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# the Debian redis-server package starts a system redis on :6379; tests start their own on free ports
# likewise docker-registry may start a system registry on :5000; the push tests start their own on free ports
# and prometheus may start a system Prometheus on :9090; the metrics tests start their own on free ports
