#!/usr/bin/env bash
# Reproduces the README's performance table in one command:
#   bash scripts/bench.sh            (full: ~10 minutes on 2 cores)
#   QUICK=1 bash scripts/bench.sh    (fewer rounds, smaller stores)
# Builds release, runs the in-process benchmarks (crypto alone, store read
# paths, TUI filter/render), then the whole-process comparisons against the
# OpenSSL CLI, measured alternately in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v openssl >/dev/null || { echo "bench needs the openssl CLI"; exit 1; }

cargo build --release --quiet
quick=()
[ "${QUICK:-}" = 1 ] && quick=(--quick)

echo "== machine"
echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "$(openssl version), $(rustc --version)"
echo
echo "== in-process (cargo bench --bench inprocess)"
inproc=$(cargo bench --quiet --bench inprocess -- "${quick[@]}" 2>/dev/null)
echo "$inproc"
echo
# The crypto-only costs, for the "physical limit" column.
to_us() { awk '{ v=$1; u=$2; if (u=="ms") v*=1000; else if (u=="s") v*=1000000; print v }'; }
median_of() { echo "$inproc" | grep -F "$1" | sed -E 's/.*median +([0-9.]+ [µm]?s).*/\1/' | to_us; }
p256_us=$(median_of "crypto of one issue (P-256 key, P-256 CA)")
rsa_us=$(awk -v a="$(median_of "keygen RSA_2048")" -v b="$(median_of "sign one leaf, RSA_2048 CA")" 'BEGIN { print (a + b) / 1000 }')

echo "== TUI on the 100k store (cargo bench --bench tui)"
cargo bench --quiet --bench tui -- "${quick[@]}" 2>/dev/null
echo
echo "== 30,000 sites (cargo bench --bench sites): list, and the TUI's background site read"
cargo bench --quiet --bench sites -- "${quick[@]}" 2>/dev/null
echo
echo "== TUI start-up, whole process in a real pty: process start -> first table row (100k store)"
printf '   esa-certs TUI:                 '
python3 scripts/startup_pty.py 10 device- -- target/release/esa-certs --config target/bench-stores/100000/config.toml
printf '   harness floor (bash, same pty): '
python3 scripts/startup_pty.py 10 device- -- bash -c 'printf device-; read -n1'
echo
echo "== whole process vs openssl (alternating runs)"
rounds=40 big=100000
[ "${QUICK:-}" = 1 ] && { rounds=15; big=30000; }
python3 scripts/bench_process.py --esa target/release/esa-certs --rounds "$rounds" --big "$big" \
  --crypto-p256-us "$p256_us" --crypto-rsa-ms "$rsa_us"
echo; echo "== serve vs cfssl serve"; bash scripts/bench_serve.sh
echo; echo "== the desk over a remote serve"; bash scripts/bench_remote.sh
