"""Nexmark q0, q1, q2 as batch queries on DataFusion (Python bindings), over bid.jsonl.

A ceiling, not a streaming peer: one query over the whole file, one partition
(target_partitions = 1), the result counted and dropped. Per core = all events / CPU seconds of
this process (psutil, every thread) while the query ran, registering the file included.

Usage: datafusion_nexmark.py EVENTS_DIR TOTAL_EVENTS OUT_JSON [q0,q1,q2]
"""

import json
import os
import sys
import time

import psutil
from datafusion import SessionConfig, SessionContext

QUERIES = {
    "q0": "SELECT auction, bidder, price, date_time, extra FROM bid",
    "q1": "SELECT auction, bidder, 0.908 * price AS price, date_time, extra FROM bid",
    "q2": "SELECT auction, price FROM bid WHERE auction % 123 = 0",
}


def main():
    events_dir, total, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    names = sys.argv[4].split(",") if len(sys.argv) > 4 else list(QUERIES)
    me = psutil.Process()
    results = {}
    for name in names:
        t0, wall0 = me.cpu_times(), time.monotonic()
        ctx = SessionContext(SessionConfig().with_target_partitions(1))
        ctx.register_json("bid", os.path.join(events_dir, "bid.jsonl"), file_extension=".jsonl")
        rows = sum(b.num_rows for b in ctx.sql(QUERIES[name]).collect())
        wall, t1 = time.monotonic() - wall0, me.cpu_times()
        cpu = (t1.user + t1.system) - (t0.user + t0.system)
        results[name] = {"events": total, "outputs": rows, "wall_s": wall, "cpu_s": cpu,
                         "events_per_s": total / wall, "per_core": total / cpu}
        print(f"datafusion {name}: {wall:.2f} s wall, {cpu:.2f} s CPU, {total / cpu:,.0f} "
              f"events/s per core, {rows} rows", file=sys.stderr)
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
