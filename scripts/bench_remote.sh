#!/usr/bin/env bash
# The desk over a remote (scripts/bench.sh runs this; alone:
# bash scripts/bench_remote.sh, BIG=100000 by default).
# One site of BIG certificates behind `esa-certs serve` on loopback; a
# second config names it as [[remote]] team. Measured in the same run,
# each against the same store read locally (the peer):
#   - TUI start-up, process start -> first table row in a real pty, with
#     --remote team (ListSites, then ListClientCertificates pages as they
#     arrive) vs the local TUI on the server's own config;
#   - the whole list, `list --site-id 2 --json` with --remote team (BIG/100
#     signed pages) vs the local `list`.
set -euo pipefail
cd "$(dirname "$0")/.."
big=${BIG:-100000} runs=${RUNS:-5}
cargo build --release --quiet --bin esa-certs
bin=$PWD/target/release/esa-certs
pty=$PWD/scripts/startup_pty.py
work=$(mktemp -d -p "${TMPDIR:-/tmp}" esa-bench-remote.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
printf '[store]\npath = "store"\n[[site]]\nid = 2\nname = "big.example"\n[[access_key]]\nid = "bench"\nsecret_file = "secret"\n' > server.toml
printf 'bench-secret\n' > secret && chmod 600 secret
"$bin" --config server.toml issue --site-id 2 --validity-days 30 --pkey-type ECC_256 \
  --name 'device-{n}' --count "$big" --json > /dev/null
"$bin" --config server.toml serve --listen 127.0.0.1:0 > serve.out 2> serve.err &
for _ in $(seq 50); do [ -s serve.out ] && break; sleep 0.1; done
url=$(sed 's/listening on //' serve.out)
printf '[store]\npath = "cstore"\n[[site]]\nid = 9\nname = "local.example"\n[[remote]]\nname = "team"\nendpoint = "%s"\naccess_key_id = "bench"\naccess_key_secret_file = "secret"\n' "$url" > client.toml
"$bin" --config server.toml list --site-id 2 --json > /dev/null   # warm the page cache

echo "== TUI start-up to the first table row, $big certificates ($runs runs each, alternating)"
for _ in 1 2; do
  printf '   remote (serve on loopback): '
  python3 "$pty" "$runs" device- -- "$bin" --config client.toml --remote team
  printf '   local store (peer):         '
  python3 "$pty" "$runs" device- -- "$bin" --config server.toml
done

echo "== the whole list of $big certificates, list --json ($runs runs each, alternating)"
python3 - "$bin" "$runs" <<'EOF'
import statistics, subprocess, sys, time
bin, runs = sys.argv[1], int(sys.argv[2])
cmds = {
    "remote (PageSize 100 pages)": [bin, "--config", "client.toml", "--remote", "team", "list", "--site-id", "2", "--json"],
    "local store (peer)": [bin, "--config", "server.toml", "list", "--site-id", "2", "--json"],
}
times = {k: [] for k in cmds}
for _ in range(runs):
    for k, argv in cmds.items():
        t = time.monotonic()
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
        times[k].append(time.monotonic() - t)
        assert out.count(b'"Id"') > 0
for k, v in times.items():
    print(f"   {k:<28} min {min(v)*1000:.0f} ms  median {statistics.median(v)*1000:.0f} ms  max {max(v)*1000:.0f} ms")
r, l = (statistics.median(times[k]) for k in cmds)
print(f"   ratio remote/local (medians): {r/l:.1f}x")
EOF
