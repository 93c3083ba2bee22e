"""Nexmark q0, q1, q2, q5, q7, q8, q11 on Apache Flink (PyFlink), over Flusso's JSONL events.

Adapted from the Flink SQL of the nexmark/nexmark suite
(nexmark-flink/src/main/resources/queries/qN.sql): the suite's single `datagen` source with
`person`, `auction` and `bid` views becomes three `filesystem` tables in JSON format, one per
file, with `dateTime` computed from `date_time` (epoch ms) and the suite's watermark
(`dateTime - 4 s`). Each query writes into a `blackhole` sink, at parallelism 1, in streaming
mode. The JVM is started once (PyFlink's gateway) and runs one unmeasured warm-up job (every bid
into a blackhole) before any query, so its start-up is *not* counted; each query's job
(planning, job submission, reading, the operators) is.

Per core = all events (persons + auctions + bids, as Nexmark counts them) / CPU seconds
(user + system) of this Python process and its children (the Flink JVM), measured with psutil
around the query's job.

Usage: flink_nexmark.py EVENTS_DIR TOTAL_EVENTS OUT_JSON [q0,q1,...]
"""

import json
import os
import re
import sys
import time

import psutil
from pyflink.table import EnvironmentSettings, TableEnvironment

SOURCES = {
    "person": """
        CREATE TABLE person (
            id BIGINT, name STRING, email_address STRING, credit_card STRING,
            city STRING, state STRING, date_time BIGINT, extra STRING,
            dateTime AS TO_TIMESTAMP_LTZ(date_time, 3),
            WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
        ) WITH ('connector' = 'filesystem', 'path' = '{dir}/person.jsonl', 'format' = 'json')""",
    "auction": """
        CREATE TABLE auction (
            id BIGINT, item_name STRING, description STRING, initial_bid BIGINT,
            reserve BIGINT, date_time BIGINT, expires BIGINT, seller BIGINT,
            category BIGINT, extra STRING,
            dateTime AS TO_TIMESTAMP_LTZ(date_time, 3),
            WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
        ) WITH ('connector' = 'filesystem', 'path' = '{dir}/auction.jsonl', 'format' = 'json')""",
    "bid": """
        CREATE TABLE bid (
            auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
            date_time BIGINT, extra STRING,
            dateTime AS TO_TIMESTAMP_LTZ(date_time, 3),
            WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
        ) WITH ('connector' = 'filesystem', 'path' = '{dir}/bid.jsonl', 'format' = 'json')""",
}

# (sink columns, query) per query; the queries are the suite's, with its names.
QUERIES = {
    "q0": (
        "auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP_LTZ(3), extra STRING",
        "SELECT auction, bidder, price, dateTime, extra FROM bid",
    ),
    "q1": (
        "auction BIGINT, bidder BIGINT, price DECIMAL(23, 3), dateTime TIMESTAMP_LTZ(3), extra STRING",
        "SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid",
    ),
    "q2": (
        "auction BIGINT, price BIGINT",
        "SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0",
    ),
    "q5": (
        "auction BIGINT, num BIGINT",
        """
        SELECT AuctionBids.auction, AuctionBids.num
        FROM (
            SELECT auction, count(*) AS num, window_start AS starttime, window_end AS endtime
            FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
            GROUP BY auction, window_start, window_end
        ) AS AuctionBids
        JOIN (
            SELECT max(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
            FROM (
                SELECT count(*) AS num, window_start AS starttime, window_end AS endtime
                FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
                GROUP BY auction, window_start, window_end
            ) AS CountBids
            GROUP BY CountBids.starttime, CountBids.endtime
        ) AS MaxBids
        ON AuctionBids.starttime = MaxBids.starttime
            AND AuctionBids.endtime = MaxBids.endtime
            AND AuctionBids.num >= MaxBids.maxn""",
    ),
    "q7": (
        "auction BIGINT, price BIGINT, bidder BIGINT, dateTime TIMESTAMP_LTZ(3), extra STRING",
        """
        SELECT B.auction, B.price, B.bidder, B.dateTime, B.extra
        FROM bid B
        JOIN (
            SELECT MAX(price) AS maxprice, window_end AS dateTime
            FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
            GROUP BY window_start, window_end
        ) B1
        ON B.price = B1.maxprice
        WHERE B.dateTime BETWEEN B1.dateTime - INTERVAL '10' SECOND AND B1.dateTime""",
    ),
    "q8": (
        "id BIGINT, name STRING, stime TIMESTAMP(3)",
        """
        SELECT P.id, P.name, P.starttime
        FROM (
            SELECT id, name, window_start AS starttime, window_end AS endtime
            FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
            GROUP BY id, name, window_start, window_end
        ) P
        JOIN (
            SELECT seller, window_start AS starttime, window_end AS endtime
            FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
            GROUP BY seller, window_start, window_end
        ) A
        ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime""",
    ),
    "q11": (
        "bidder BIGINT, bid_count BIGINT, starttime TIMESTAMP(3), endtime TIMESTAMP(3)",
        """
        SELECT B.bidder, count(*) AS bid_count,
            window_start AS starttime, window_end AS endtime
        FROM TABLE(SESSION(TABLE bid PARTITION BY bidder, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) B
        GROUP BY B.bidder, window_start, window_end""",
    ),
}


def quote(sql):
    """`dateTime` is a keyword of Flink 2's parser: quote it as an identifier."""
    return re.sub(r"\bdateTime\b", "`dateTime`", sql)


def cpu_seconds():
    """User + system CPU seconds of this process and all its live descendants."""
    me = psutil.Process()
    total = 0.0
    for p in [me] + me.children(recursive=True):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def main():
    events_dir, total, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    names = sys.argv[4].split(",") if len(sys.argv) > 4 else list(QUERIES)
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    conf = env.get_config()
    conf.set("parallelism.default", "1")
    conf.set("table.exec.resource.default-parallelism", "1")
    conf.set("table.local-time-zone", "UTC")
    for ddl in SOURCES.values():
        env.execute_sql(quote(ddl.format(dir=os.path.abspath(events_dir))))
    # One unmeasured job first (every bid into a blackhole), so that the first measured query
    # does not pay alone for class loading and JIT warm-up in the fresh JVM.
    env.execute_sql("CREATE TEMPORARY TABLE warmup (auction BIGINT) WITH ('connector' = 'blackhole')")
    env.execute_sql("INSERT INTO warmup SELECT auction FROM bid").wait()
    results = {}
    for name in names:
        columns, query = QUERIES[name]
        env.execute_sql(quote(f"CREATE TEMPORARY TABLE sink_{name} ({columns}) WITH ('connector' = 'blackhole')"))
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        try:
            env.execute_sql(quote(f"INSERT INTO sink_{name} {query}")).wait()
        except Exception as e:  # report and go on with the next query
            print(f"flink {name}: failed: {e}", file=sys.stderr)
            results[name] = {"error": str(e).splitlines()[0][:200]}
            continue
        wall, cpu = time.monotonic() - wall0, cpu_seconds() - cpu0
        results[name] = {
            "events": total,
            "wall_s": wall,
            "cpu_s": cpu,
            "events_per_s": total / wall,
            "per_core": total / cpu,
        }
        print(f"flink {name}: {wall:.2f} s wall, {cpu:.2f} s CPU, {total / cpu:,.0f} events/s per core",
              file=sys.stderr)
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
