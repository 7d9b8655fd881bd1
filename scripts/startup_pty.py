#!/usr/bin/env python3
"""Time from process start to a text on screen, in a real pseudo-terminal.

What a user waits for when starting the TUI: process start, config read,
store open, the first site read and the first draw, up to the moment the
terminal receives a table row. The command runs on a fresh 120x40 pty; the
clock starts just before the spawn and stops when NEEDLE first appears in
what the program wrote (escape sequences and all: ratatui writes a row's
text as one run). Then `q` is sent and the program must exit.

Usage: startup_pty.py RUNS NEEDLE -- COMMAND [ARGS...]
Prints one line: min/median/max in milliseconds over RUNS runs.
"""

import os
import select
import signal
import statistics
import struct
import subprocess
import sys
import time

import fcntl
import termios

TIMEOUT = 30.0


def once(argv, needle):
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = dict(os.environ, TERM="xterm-256color")
    start = time.monotonic()
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    seen = b""
    took = None
    try:
        while time.monotonic() - start < TIMEOUT:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if needle in seen:
                took = time.monotonic() - start
                break
        if took is None:
            tail = seen[-400:].decode("utf-8", "replace")
            raise SystemExit(f"{needle!r} never appeared; the program wrote: {tail!r}")
        os.write(master, b"q")
        deadline = time.monotonic() + TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    os.read(master, 65536)
                except OSError:
                    pass
        if proc.poll() is None:
            raise SystemExit("the program did not exit after q")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    return took


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        raise SystemExit(__doc__)
    runs, needle, argv = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[4:]
    once(argv, needle)  # warm the page cache
    times = sorted(once(argv, needle) * 1000 for _ in range(runs))
    print(
        f"min {times[0]:.0f} ms  median {statistics.median(times):.0f} ms  max {times[-1]:.0f} ms"
    )


if __name__ == "__main__":
    main()
