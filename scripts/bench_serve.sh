#!/usr/bin/env bash
# serve vs cfssl (scripts/bench.sh runs this; alone: bash scripts/bench_serve.sh).
# CreateClientCertificate P-256 over HTTP, ACS3-signed, 8 keep-alive clients,
# against `cfssl serve`'s /api/v1/cfssl/newcert (P-256 key + certificate), in
# alternating rounds of the same run; then Get and List (PageSize 100) on a
# store of BIG certificates. The esa-certs store is on disk (durable creates:
# two syncs per group), cfssl stores nothing. BEFORE=path/to/esa-certs adds
# another build's serve (its own store) to the alternating create rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECS:-10} rounds=${ROUNDS:-3} big=${BIG:-100000} clients=8
command -v cfssl >/dev/null || { echo "needs cfssl (apt-get install golang-cfssl)"; exit 1; }
cargo build --release --quiet --bench serve --bin esa-certs
load=$PWD/$(ls -t target/release/deps/serve-* | grep -v "\.d$" | head -1)
work=$(mktemp -d -p "${TMPDIR:-/tmp}" esa-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
printf '[store]\npath = "store"\n[[site]]\nid = 1\nname = "example.com"\n[[site]]\nid = 2\nname = "big.example"\n[[access_key]]\nid = "bench"\nsecret_file = "secret"\n' > config.toml
printf 'bench-secret\n' > secret && chmod 600 secret
esa="$OLDPWD/target/release/esa-certs --config config.toml"
echo '{"CN":"bench CA","key":{"algo":"ecdsa","size":256}}' | cfssl gencert -initca - 2>/dev/null | cfssljson -bare ca
echo '{"signing":{"default":{"expiry":"720h","usages":["digital signature","client auth"]}}}' > cfssl.json
cfssl serve -address 127.0.0.1 -port 18888 -ca ca.pem -ca-key ca-key.pem -config cfssl.json 2>cfssl.log &
cfssl_pid=$!
$esa serve --listen 127.0.0.1:0 > serve.out 2> serve.err &
serve_pid=$!
if [ -n "${BEFORE:-}" ]; then
  mkdir before && cp -p config.toml secret before/
  "$BEFORE" --config before/config.toml serve --listen 127.0.0.1:0 > before/serve.out 2> before/serve.err &
  before_pid=$!
fi
sleep 2
url=$(sed 's/listening on //' serve.out)
# CPU time (user + system) a server spent per answered request during one
# load run: its /proc ticks before and after, over the run's ok count.
measured() { # pid, then the load generator's arguments
  local pid=$1; shift
  local a b out
  a=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  out=$("$load" "$@")
  b=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  echo "$out" | awk -v t="$((b - a))" -v hz="$(getconf CLK_TCK)" \
    '{ for (i = 1; i <= NF; i++) if ($i ~ /^ok=/) ok = substr($i, 4);
       printf "%s server_cpu_per_request=%.0fus\n", $0, (ok > 0 ? t / hz * 1e6 / ok : 0) }'
}
echo "== CreateClientCertificate P-256 vs cfssl newcert ($clients clients, ${secs}s rounds, alternating)"
for r in $(seq "$rounds"); do
  measured "$serve_pid" create "$url" "$secs" "$clients" 1 bench bench-secret
  measured "$cfssl_pid" cfssl http://127.0.0.1:18888 "$secs" "$clients"
  if [ -n "${BEFORE:-}" ]; then
    echo -n "before: "
    measured "$before_pid" create "$(sed 's/listening on //' before/serve.out)" "$secs" "$clients" 1 bench bench-secret
  fi
done
echo "== Get / List (PageSize 100) on a site of $big certificates"
$esa issue --site-id 2 --validity-days 30 --pkey-type ECC_256 --count "$big" > /dev/null
"$load" list "$url" 2 1 2 bench bench-secret > /dev/null   # first read fills the page cache
measured "$serve_pid" get "$url" "$secs" "$clients" 2 bench bench-secret
measured "$serve_pid" list "$url" "$secs" "$clients" 2 bench bench-secret
