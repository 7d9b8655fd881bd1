#!/usr/bin/env python3
"""Whole-process benchmarks of esa-certs against the OpenSSL CLI.

Every comparison is measured alternately in one run (esa-certs, openssl,
esa-certs, openssl, ...) so both sides see the same machine load, and is
reported as medians and a ratio. Used by scripts/bench.sh; run it with
--help for its options.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SITE = 1


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def timed(cmd, cwd=None, stdin=None):
    """Wall time (ms) and peak RSS (KiB) of one process."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=stdin)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{p.stderr.read().decode()}")
    p.stderr.close()
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def med(xs):
    return statistics.median(xs)


class Table:
    def __init__(self):
        self.rows = []

    def add(self, *cells):
        self.rows.append([str(c) for c in cells])

    def show(self):
        widths = [max(len(r[i]) for r in self.rows) for i in range(len(self.rows[0]))]
        for n, r in enumerate(self.rows):
            print("| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) + " |")
            if n == 0:
                print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def write_config(dirpath, ca_key, sites=1):
    cfg = os.path.join(dirpath, "config.toml")
    with open(cfg, "w") as f:
        f.write(f'[store]\npath = "store"\n[ca]\nkey_type = "{ca_key}"\n')
        for s in range(1, sites + 1):
            f.write(f'[[site]]\nid = {s}\nname = "site{s}.example"\n')
    return cfg


EXT = """basicConstraints = critical,CA:FALSE
keyUsage = critical,{ku}
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def openssl_issue_cmds(work, newkey, ku):
    """The OpenSSL CLI doing the same job: a key + CSR, then a signed leaf."""
    req = ["openssl", "req", "-new", "-nodes", *newkey, "-keyout", f"{work}/k.pem",
           "-out", f"{work}/r.csr", "-subj", "/CN=device"]
    sign = ["openssl", "x509", "-req", "-in", f"{work}/r.csr", "-CA", f"{work}/ca.pem",
            "-CAkey", f"{work}/ca.key", "-set_serial", "0x" + os.urandom(16).hex(), "-days", "365",
            "-extfile", f"{work}/ext.cnf", "-out", f"{work}/c.pem"]
    return req, sign


def compare_issue(esa, tmp, label, pkey, ca_key, newkey, ku, prefill, rounds):
    d = os.path.join(tmp, label)
    os.makedirs(d)
    cfg = write_config(d, ca_key)
    print(f"  {label}: pre-filling a store with {prefill} certificates ...", file=sys.stderr)
    run([esa, "--config", cfg, "issue", "--site-id", "1", "--validity-days", "365",
         "--pkey-type", "ECC", "--count", str(prefill), "--json"])
    # The site CA, exported for OpenSSL, so both sign with the same CA key type.
    ca_dir = os.path.join(d, "store", "sites", "1", "ca")
    shutil.copy(os.path.join(ca_dir, "ca.pem"), os.path.join(d, "ca.pem"))
    shutil.copy(os.path.join(ca_dir, "ca.key.pem"), os.path.join(d, "ca.key"))
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write(EXT.format(ku=ku))
    esa_cmd = [esa, "--config", cfg, "issue", "--site-id", "1", "--validity-days", "365",
               "--pkey-type", pkey, "--json"]
    e_times, o_times = [], []
    for _ in range(rounds):
        e_times.append(timed(esa_cmd)[0])
        req, sign = openssl_issue_cmds(d, newkey, ku)
        o_times.append(timed(req)[0] + timed(sign)[0])
    return med(e_times), med(o_times)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--esa", required=True, help="path of the release esa-certs binary")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--prefill", type=int, default=10000)
    ap.add_argument("--big", type=int, default=100000, help="certificates in the listing store")
    ap.add_argument("--crypto-p256-us", type=float, default=None,
                    help="in-process crypto cost of one P-256 issue (from the in-process bench)")
    ap.add_argument("--crypto-rsa-ms", type=float, default=None,
                    help="in-process crypto cost of one RSA-2048 issue (keygen + sign)")
    args = ap.parse_args()
    esa = os.path.abspath(args.esa)
    tmp = tempfile.mkdtemp(prefix="esa-bench-")
    t = Table()
    t.add("measure", "esa-certs (median)", "openssl CLI (median)", "ratio", "crypto alone")
    try:
        e, o = compare_issue(esa, tmp, "p256", "ECC", "ECC_256",
                             ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
                             "digitalSignature", args.prefill, args.rounds)
        crypto = f"{args.crypto_p256_us:.0f} µs" if args.crypto_p256_us else "see in-process table"
        t.add("issue P-256 leaf, P-256 CA, store of 10k (process)", f"{e:.1f} ms", f"{o:.1f} ms",
              f"{o / e:.1f}× faster", crypto)
        e, o = compare_issue(esa, tmp, "rsa", "RSA_2048", "RSA_2048", ["-newkey", "rsa:2048"],
                             "digitalSignature,keyEncipherment", args.prefill,
                             max(10, args.rounds // 2))
        crypto = f"{args.crypto_rsa_ms:.0f} ms" if args.crypto_rsa_ms else "see in-process table"
        t.add("issue RSA-2048 leaf, RSA-2048 CA, store of 10k (process)", f"{e:.1f} ms",
              f"{o:.1f} ms", f"{o / e:.1f}× faster", crypto)

        # Bulk: 10,000 P-256 certificates into a fresh store.
        walls, cpus = [], []
        for i in range(3):
            d = os.path.join(tmp, f"bulk{i}")
            os.makedirs(d)
            cfg = write_config(d, "ECC_256")
            w, _, cpu = timed([esa, "--config", cfg, "issue", "--site-id", "1", "--validity-days",
                               "365", "--pkey-type", "ECC", "--count", "10000", "--json"])
            walls.append(w)
            cpus.append(cpu)
            # Kept until the end: deleting 30,000 files here would make
            # the next run pay for the file system's cleanup of them.
        wall = med(walls)
        t.add("bulk: issue --count 10000 (P-256)", f"{wall / 1000:.2f} s",
              "", f"{med(cpus) / (wall / 1000):.2f} cores busy",
              f"{10000 * (args.crypto_p256_us or 0) / 1e6:.2f} s" if args.crypto_p256_us else "")

        # Listing a big store made by the bulk path, across 3 sites.
        d = os.path.join(tmp, "big")
        os.makedirs(d)
        cfg = write_config(d, "ECC_256", sites=3)
        print(f"  generating a store of {args.big} certificates ...", file=sys.stderr)
        for s in (1, 2, 3):
            n = args.big // 3 + (1 if s <= args.big % 3 else 0)
            run([esa, "--config", cfg, "issue", "--site-id", str(s), "--validity-days", "365",
                 "--pkey-type", "ECC", "--count", str(n), "--name", "device-{n}", "--json"])
        runs = [timed([esa, "--config", cfg, "list", "--json"]) for _ in range(7)]
        t.add(f"list --json > /dev/null, {args.big // 1000}k certificates",
              f"{med([r[0] for r in runs]) / 1000:.2f} s", "", "",
              f"peak RSS {med([r[1] for r in runs]) / 1024:.0f} MiB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t.show()


if __name__ == "__main__":
    main()
