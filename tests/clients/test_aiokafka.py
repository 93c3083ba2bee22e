"""aiokafka (asyncio) against a real ``flusso server``: the idempotent
producer, a consumer group of two members (each record once), synchronous
commits, and reading back from the committed offsets (also across a restart).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

aiokafka = pytest.importorskip("aiokafka")
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402
from aiokafka.structs import OffsetAndMetadata  # noqa: E402

DEADLINE_S = 60.0
PARTITIONS = 4


def run(coro, timeout: float = 120.0):
    """Run a coroutine with an overall bound."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def create_topic(bootstrap: str, name: str, partitions: int = PARTITIONS) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions,
                                            replication_factor=1)])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, n: int, start: int = 0) -> set[tuple[int, int]]:
    """Idempotent producer, acks=all; ``n`` records round-robin over the
    partitions; returns the acknowledged (partition, offset) pairs."""
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all",
                         linger_ms=5)
    await p.start()
    try:
        futs = [await p.send(topic, value=str(i).encode(), key=str(i).encode(),
                             partition=i % PARTITIONS)
                for i in range(start, start + n)]
        metas = await asyncio.gather(*futs)
    finally:
        await p.stop()
    acked = {(m.partition, m.offset) for m in metas}
    assert len(acked) == n
    return acked


def group_consumer(bootstrap: str, topic: str, group: str, **kw) -> AIOKafkaConsumer:
    cfg = dict(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
               auto_offset_reset="earliest", session_timeout_ms=6000,
               heartbeat_interval_ms=1000, fetch_max_wait_ms=100)
    cfg.update(kw)
    return AIOKafkaConsumer(topic, **cfg)


async def drain(c: AIOKafkaConsumer, out: list, expected: int,
                timeout_s: float = DEADLINE_S, quiet_s: float = 1.0) -> None:
    """getmany() until ``len(out) >= expected`` (or the deadline), then a
    quiet period to catch surplus records."""
    deadline = time.monotonic() + timeout_s
    while len(out) < expected and time.monotonic() < deadline:
        batch = await c.getmany(timeout_ms=200)
        for recs in batch.values():
            out.extend((r.partition, r.offset) for r in recs)
    quiet_end = time.monotonic() + quiet_s
    while time.monotonic() < quiet_end:
        batch = await c.getmany(timeout_ms=200)
        for recs in batch.values():
            out.extend((r.partition, r.offset) for r in recs)


async def wait_balanced(members, timeout_s: float = DEADLINE_S) -> list[set[int]]:
    """Let every member poll until their assignments split the partitions."""
    received: list[list] = [[] for _ in members]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for c, out in zip(members, received):
            batch = await c.getmany(timeout_ms=100)
            for recs in batch.values():
                out.extend((r.partition, r.offset) for r in recs)
        parts = [{tp.partition for tp in c.assignment()} for c in members]
        union = set().union(*parts)
        if all(parts) and union == set(range(PARTITIONS)) and \
                sum(map(len, parts)) == PARTITIONS:
            assert not any(received), f"records before anything was produced: {received}"
            return parts
    raise AssertionError(f"never balanced: {[c.assignment() for c in members]}")


def test_group_of_two_commit_and_read_back(flusso, topic):
    boot = flusso.bootstrap
    group = f"{topic}-g"

    async def main():
        await create_topic(boot, topic)
        c1 = group_consumer(boot, topic, group)
        c2 = group_consumer(boot, topic, group)
        await c1.start()
        await c2.start()
        try:
            parts = await wait_balanced([c1, c2])
            assert sorted(map(len, parts)) == [2, 2], parts

            expected = await produce(boot, topic, 800)
            got1: list = []
            got2: list = []
            # Both members consume concurrently until the group has it all.
            deadline = time.monotonic() + DEADLINE_S
            while len(got1) + len(got2) < 800 and time.monotonic() < deadline:
                await asyncio.gather(drain(c1, got1, 0, quiet_s=0.2),
                                     drain(c2, got2, 0, quiet_s=0.2))
            await asyncio.gather(drain(c1, got1, 0), drain(c2, got2, 0))
            counts = Counter(got1 + got2)
            assert set(counts) == expected, f"missing {len(expected - set(counts))}"
            assert max(counts.values()) == 1, "a record was delivered twice"
            assert {p for p, _ in got1} == parts[0] and {p for p, _ in got2} == parts[1]

            await c1.commit()
            await c2.commit()
            for c, ps in ((c1, parts[0]), (c2, parts[1])):
                for p in ps:
                    assert await c.committed(TopicPartition(topic, p)) == 200
        finally:
            await c1.stop()
            await c2.stop()

        # Explicit offsets: partition 3 rewinds to 150.
        c = group_consumer(boot, topic, group)
        await c.start()
        try:
            await wait_balanced([c])
            await c.commit({TopicPartition(topic, 3): OffsetAndMetadata(150, "")})
            assert await c.committed(TopicPartition(topic, 3)) == 150
        finally:
            await c.stop()

        admin = AIOKafkaAdminClient(bootstrap_servers=boot)
        await admin.start()
        try:
            offs = await admin.list_consumer_group_offsets(group)
            assert {tp.partition: o.offset for tp, o in offs.items()} == \
                {0: 200, 1: 200, 2: 200, 3: 150}
            groups = await admin.list_consumer_groups()
            assert (group, "consumer") in [tuple(g[:2]) for g in groups], groups
            # Nobody is left in the group. (Kafka reports Empty as soon as the
            # last LeaveGroup is answered; flusso may show PreparingRebalance
            # for a moment, see test_groups_kafka_python's xfail test.)
            deadline = time.monotonic() + DEADLINE_S
            while True:
                [resp] = await admin.describe_consumer_groups([group])
                [g] = resp.groups
                assert g[0] == 0, g          # error code
                assert g[1] == group
                if g[2] == "Empty" or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            assert g[2] == "Empty", g
            assert g[5] == [], g         # no members
        finally:
            await admin.close()

        # Read back: a new member of the group gets just the uncommitted part.
        more = await produce(boot, topic, 40, start=800)
        c = group_consumer(boot, topic, group)
        await c.start()
        try:
            got: list = []
            want = {(3, o) for o in range(150, 200)} | more
            await drain(c, got, len(want))
            assert len(got) == len(set(got)), "duplicates"
            assert set(got) == want, (sorted(want - set(got))[:10], sorted(set(got) - want)[:10])
        finally:
            await c.stop()

    run(main())


def test_committed_offsets_survive_restart(flusso_fresh, topic):
    boot = flusso_fresh.bootstrap
    group = f"{topic}-g"

    async def first():
        await create_topic(boot, topic)
        expected = await produce(boot, topic, 200)
        c = group_consumer(boot, topic, group)
        await c.start()
        try:
            got: list = []
            await drain(c, got, 200, quiet_s=0.3)
            assert set(got) == expected and len(got) == 200
            # Commit everything on 0 and 1, half of 2, nothing of 3.
            await c.commit({TopicPartition(topic, 0): 50, TopicPartition(topic, 1): 50,
                            TopicPartition(topic, 2): 25})
        finally:
            await c.stop()

    async def second():
        more = await produce(boot, topic, 20, start=200)  # offsets 50..54
        c = group_consumer(boot, topic, group)
        await c.start()
        try:
            want = {(2, o) for o in range(25, 50)} | {(3, o) for o in range(50)} | more
            got: list = []
            await drain(c, got, len(want))
            assert len(got) == len(set(got)), "duplicates"
            assert set(got) == want, (sorted(want - set(got))[:10], sorted(set(got) - want)[:10])
            for p, o in ((0, 50), (1, 50), (2, 25)):
                assert await c.committed(TopicPartition(topic, p)) == o
            assert await c.committed(TopicPartition(topic, 3)) is None
        finally:
            await c.stop()

    run(first())
    assert flusso_fresh.stop() == 0
    flusso_fresh.start()
    run(second())
