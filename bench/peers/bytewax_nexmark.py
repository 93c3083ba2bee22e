"""Nexmark q0, q1 and q5 on Bytewax (one worker), over Flusso's JSONL events.

Each dataflow reads bid.jsonl with Bytewax's FileSource, decodes each line with the standard
json module and writes into a sink that drops everything (a blackhole).

- q0: the five columns of every bid.
- q1: q0 with price * 0.908 (a Python float, where Flink and Flusso have a DECIMAL).
- q5: bids counted per auction in hopping windows (10 s, every 2 s) of event time
  (count_window, SlidingWindower, EventClock on date_time); then, per window, the auctions
  whose count is the window's maximum (fold_final: emitted when the input ends, where Flink's
  window join emits when the watermark passes).

Per core = all events (persons + auctions + bids, as Nexmark counts them) / CPU seconds (user +
system) of this process while the dataflow ran (psutil); Python start-up and imports excluded.

Usage: bytewax_nexmark.py EVENTS_DIR TOTAL_EVENTS OUT_JSON [q0,q1,q5]
"""

import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone

import psutil
import bytewax.operators as op
import bytewax.operators.windowing as win
from bytewax.connectors.files import FileSource
from bytewax.dataflow import Dataflow
from bytewax.operators.windowing import EventClock, SlidingWindower
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from bytewax.testing import run_main

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class _Drop(StatelessSinkPartition):
    def __init__(self, counter):
        self.counter = counter

    def write_batch(self, items):
        self.counter[0] += len(items)


class BlackholeSink(DynamicSink):
    def __init__(self):
        self.counter = [0]

    def build(self, step_id, worker_index, worker_count):
        return _Drop(self.counter)


def q0(bid):
    return (bid["auction"], bid["bidder"], bid["price"], bid["date_time"], bid["extra"])


def q1(bid):
    return (bid["auction"], bid["bidder"], bid["price"] * 0.908, bid["date_time"], bid["extra"])


def build(name, events_dir, sink):
    flow = Dataflow(f"nexmark_{name}")
    lines = op.input("bids", flow, FileSource(os.path.join(events_dir, "bid.jsonl")))
    bids = op.map("decode", lines, json.loads)
    if name == "q0":
        out = op.map("project", bids, q0)
    elif name == "q1":
        out = op.map("project", bids, q1)
    elif name == "q5":
        clock = EventClock(
            lambda b: EPOCH + timedelta(milliseconds=b["date_time"]),
            wait_for_system_duration=timedelta(seconds=0),
        )
        windower = SlidingWindower(
            length=timedelta(seconds=10), offset=timedelta(seconds=2), align_to=EPOCH
        )
        counts = win.count_window(
            "count_per_auction", bids, clock, windower, lambda b: str(b["auction"])
        ).down
        # (auction, (window_id, count)) -> keyed by window: (auction, count)
        by_window = op.map(
            "by_window", counts, lambda kv: (str(kv[1][0]), (int(kv[0]), kv[1][1]))
        )

        def fold(acc, item):
            auction, n = item
            if n > acc[0]:
                return (n, [auction])
            if n == acc[0]:
                acc[1].append(auction)
            return acc

        best = op.fold_final("max_per_window", by_window, lambda: (0, []), fold)
        out = op.flat_map("hot_items", best, lambda kv: [(a, kv[1][0]) for a in kv[1][1]])
    else:
        raise SystemExit(f"bytewax: no {name}")
    op.output("blackhole", out, sink)
    return flow


def main():
    events_dir, total, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    names = sys.argv[4].split(",") if len(sys.argv) > 4 else ["q0", "q1", "q5"]
    me = psutil.Process()
    results = {}
    for name in names:
        sink = BlackholeSink()
        flow = build(name, events_dir, sink)
        t0 = me.cpu_times()
        wall0 = time.monotonic()
        run_main(flow)
        wall = time.monotonic() - wall0
        t1 = me.cpu_times()
        cpu = (t1.user + t1.system) - (t0.user + t0.system)
        results[name] = {
            "events": total,
            "outputs": sink.counter[0],
            "wall_s": wall,
            "cpu_s": cpu,
            "events_per_s": total / wall,
            "per_core": total / cpu,
        }
        print(f"bytewax {name}: {wall:.2f} s wall, {cpu:.2f} s CPU, {total / cpu:,.0f} events/s "
              f"per core, {sink.counter[0]} outputs", file=sys.stderr)
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
