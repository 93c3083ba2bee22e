"""confluent-kafka (librdkafka, bundled in the wheel) consumer groups against a
real ``flusso server``: the idempotent producer, manual synchronous commits,
rebalance callbacks with the eager (range, roundrobin) and the cooperative
(cooperative-sticky) protocols, and the group admin calls.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter

import pytest

ck = pytest.importorskip("confluent_kafka")
from confluent_kafka import (  # noqa: E402
    ConsumerGroupState, ConsumerGroupTopicPartitions, Consumer, KafkaError, KafkaException,
    Producer, TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

DEADLINE_S = 60.0
PARTITIONS = 4
REQUEST_TIMEOUT_S = 30.0


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def base_conf(bootstrap: str) -> dict:
    return {"bootstrap.servers": bootstrap, "broker.address.family": "v4"}


def create_topic(bootstrap: str, name: str, partitions: int = PARTITIONS) -> None:
    a = AdminClient(base_conf(bootstrap))
    futures = a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)],
                              request_timeout=REQUEST_TIMEOUT_S)
    futures[name].result(timeout=REQUEST_TIMEOUT_S)
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        md = a.list_topics(name, timeout=10)
        t = md.topics.get(name)
        if t is not None and t.error is None and len(t.partitions) == partitions:
            return
        time.sleep(0.1)
    raise AssertionError(f"topic {name} not visible with {partitions} partitions")


def produce(bootstrap: str, topic: str, n: int, start: int = 0) -> set[tuple[int, int]]:
    """Idempotent producer (acks=all); ``n`` records round-robin over the
    partitions; returns the acknowledged (partition, offset) pairs."""
    p = Producer({**base_conf(bootstrap), "enable.idempotence": True, "acks": "all",
                  "linger.ms": 5, "message.timeout.ms": 30000})
    acked: list[tuple[int, int]] = []
    errors: list = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            acked.append((msg.partition(), msg.offset()))

    for i in range(start, start + n):
        while True:
            try:
                p.produce(topic, value=str(i).encode(), key=str(i).encode(),
                          partition=i % PARTITIONS, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    remaining = p.flush(DEADLINE_S)
    assert remaining == 0, f"{remaining} records not delivered"
    assert not errors, f"delivery errors: {errors[:5]}"
    assert len(acked) == n and len(set(acked)) == n
    return set(acked)


def consumer(bootstrap: str, group: str, **extra) -> Consumer:
    conf = {**base_conf(bootstrap), "group.id": group, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000, "fetch.wait.max.ms": 100}
    conf.update(extra)
    return Consumer(conf)


def poll_into(c: Consumer, out: list, timeout: float = 0.1) -> None:
    msg = c.poll(timeout)
    if msg is None:
        return
    if msg.error():
        if msg.error().code() == KafkaError._PARTITION_EOF:
            return
        raise KafkaException(msg.error())
    out.append((msg.partition(), msg.offset()))


def consume(c: Consumer, expected: int, timeout_s: float = DEADLINE_S,
            quiet_s: float = 1.0) -> list[tuple[int, int]]:
    out: list = []
    deadline = time.monotonic() + timeout_s
    while len(out) < expected and time.monotonic() < deadline:
        poll_into(c, out)
    quiet_end = time.monotonic() + quiet_s
    while time.monotonic() < quiet_end:
        poll_into(c, out)
    return out


def wait_assignment(c: Consumer, n: int, timeout_s: float = DEADLINE_S) -> list:
    out: list = []
    deadline = time.monotonic() + timeout_s
    while len(c.assignment()) != n and time.monotonic() < deadline:
        poll_into(c, out)
    assert len(c.assignment()) == n, f"assignment {c.assignment()}"
    return out


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------

def test_idempotent_producer_manual_sync_commit(flusso, topic):
    boot = flusso.bootstrap
    create_topic(boot, topic)
    expected = produce(boot, topic, 1000)
    # Dense offsets per partition: nothing duplicated, nothing lost.
    for p in range(PARTITIONS):
        assert sorted(o for q, o in expected if q == p) == list(range(250))

    group = f"{topic}-g"
    c = consumer(boot, group)
    try:
        c.subscribe([topic])
        got = consume(c, 1000)
        assert len(got) == 1000 and set(got) == expected
        committed = c.commit(asynchronous=False)
        assert sorted((tp.topic, tp.partition, tp.offset) for tp in committed) == \
            [(topic, p, 250) for p in range(PARTITIONS)]
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        back = c.committed(tps, timeout=REQUEST_TIMEOUT_S)
        assert [(tp.partition, tp.offset, tp.error) for tp in back] == \
            [(p, 250, None) for p in range(PARTITIONS)]
        # Explicit offsets: partition 0 goes back to 100.
        c.commit(offsets=[TopicPartition(topic, 0, 100)], asynchronous=False)
        back = c.committed([TopicPartition(topic, 0)], timeout=REQUEST_TIMEOUT_S)
        assert back[0].offset == 100
    finally:
        c.close()

    # A new member of the same group resumes from the commits.
    c = consumer(boot, group)
    try:
        c.subscribe([topic])
        more = produce(boot, topic, 40, start=1000)
        want = {k for k in expected if k[0] == 0 and k[1] >= 100} | more
        got = consume(c, len(want))
        assert len(got) == len(set(got)), "duplicates"
        assert set(got) == want, (sorted(want - set(got))[:10], sorted(set(got) - want)[:10])
        c.commit(asynchronous=False)
        back = c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)],
                           timeout=REQUEST_TIMEOUT_S)
        assert [tp.offset for tp in back] == [260] * PARTITIONS
    finally:
        c.close()


class Tracker:
    """Records rebalance callbacks of one consumer."""

    def __init__(self, name: str):
        self.name = name
        self.events: list[tuple[str, list[int]]] = []

    def on_assign(self, c, partitions):
        self.events.append(("assign", sorted(tp.partition for tp in partitions)))

    def on_revoke(self, c, partitions):
        self.events.append(("revoke", sorted(tp.partition for tp in partitions)))

    def on_lost(self, c, partitions):
        self.events.append(("lost", sorted(tp.partition for tp in partitions)))

    def owned(self) -> set[int]:
        """Ownership implied by the callbacks (incremental for cooperative,
        whole-assignment for eager, where a revoke always drops everything)."""
        owned: set[int] = set()
        for kind, parts in self.events:
            if kind == "assign":
                owned |= set(parts)
            else:
                owned -= set(parts)
        return owned


@pytest.mark.parametrize("strategy", ["cooperative-sticky", "range", "roundrobin"])
def test_rebalance_callbacks(flusso, topic, strategy):
    boot = flusso.bootstrap
    create_topic(boot, topic)
    group = f"{topic}-g"
    t1, t2 = Tracker("c1"), Tracker("c2")
    c1 = consumer(boot, group, **{"partition.assignment.strategy": strategy})
    c2 = consumer(boot, group, **{"partition.assignment.strategy": strategy})
    closed2 = False
    received: dict[str, list] = {"c1": [], "c2": []}
    try:
        c1.subscribe([topic], on_assign=t1.on_assign, on_revoke=t1.on_revoke,
                     on_lost=t1.on_lost)
        wait_assignment(c1, PARTITIONS)
        assert t1.events == [("assign", [0, 1, 2, 3])], t1.events

        c2.subscribe([topic], on_assign=t2.on_assign, on_revoke=t2.on_revoke,
                     on_lost=t2.on_lost)
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            poll_into(c1, received["c1"])
            poll_into(c2, received["c2"])
            a1 = {tp.partition for tp in c1.assignment()}
            a2 = {tp.partition for tp in c2.assignment()}
            if len(a1) == 2 and len(a2) == 2 and not a1 & a2:
                break
        a1 = {tp.partition for tp in c1.assignment()}
        a2 = {tp.partition for tp in c2.assignment()}
        assert len(a1) == 2 and len(a2) == 2 and not a1 & a2, (a1, a2, t1.events, t2.events)
        assert t1.owned() == a1 and t2.owned() == a2, (t1.events, t2.events)
        assert not [e for e in t1.events + t2.events if e[0] == "lost"]
        if strategy == "cooperative-sticky":
            # Incremental: c1 gives up exactly two partitions and keeps two;
            # nothing is revoked from it wholesale.
            assert t1.events[1] == ("revoke", sorted(set(range(PARTITIONS)) - a1)), t1.events
            assert ("revoke", [0, 1, 2, 3]) not in t1.events
        else:
            # Eager: c1 revokes everything, then is assigned its share.
            assert t1.events[1] == ("revoke", [0, 1, 2, 3]), t1.events
            assert t1.events[-1] == ("assign", sorted(a1)), t1.events
        if strategy == "range":
            assert sorted([sorted(a1), sorted(a2)]) == [[0, 1], [2, 3]]
        elif strategy == "roundrobin":
            assert sorted([sorted(a1), sorted(a2)]) == [[0, 2], [1, 3]]

        # Records produced now arrive once, each at the owner of its partition.
        expected = produce(boot, topic, 400)
        deadline = time.monotonic() + DEADLINE_S
        while (len(received["c1"]) + len(received["c2"]) < 400
               and time.monotonic() < deadline):
            poll_into(c1, received["c1"])
            poll_into(c2, received["c2"])
        for _ in range(10):
            poll_into(c1, received["c1"])
            poll_into(c2, received["c2"])
        counts = Counter(received["c1"] + received["c2"])
        assert set(counts) == expected, f"missing {len(expected - set(counts))} records"
        assert max(counts.values()) == 1, "duplicates"
        assert {p for p, _ in received["c1"]} <= a1
        assert {p for p, _ in received["c2"]} <= a2
        c1.commit(asynchronous=False)
        c2.commit(asynchronous=False)

        # c2 leaves: c1 gets all four partitions back (c2 sees its revoke).
        c2.close()
        closed2 = True
        assert t2.events[-1] == ("revoke", sorted(a2)), t2.events
        wait_assignment(c1, PARTITIONS)
        assert t1.owned() == set(range(PARTITIONS)), t1.events
        if strategy == "cooperative-sticky":
            assert t1.events[-1] == ("assign", sorted(a2)), t1.events
        else:
            assert t1.events[-1] == ("assign", [0, 1, 2, 3]), t1.events
        # Nothing is delivered again (all was committed) and new records come.
        more = produce(boot, topic, 40, start=400)
        late = consume(c1, 40)
        assert sorted(late) == sorted(more)
    finally:
        c1.close()
        if not closed2:
            c2.close()


def test_admin_list_describe_groups(flusso, topic):
    boot = flusso.bootstrap
    create_topic(boot, topic)
    produce(boot, topic, 20)
    empty_group, active_group = f"{topic}-empty", f"{topic}-active"

    c = consumer(boot, empty_group)
    try:
        c.subscribe([topic])
        assert len(consume(c, 20)) == 20
        c.commit(asynchronous=False)
    finally:
        c.close()

    active = consumer(boot, active_group, **{"client.id": "ck-admin-test",
                                             "partition.assignment.strategy": "roundrobin"})
    a = AdminClient(base_conf(boot))
    try:
        active.subscribe([topic])
        wait_assignment(active, PARTITIONS)

        listing = a.list_consumer_groups(request_timeout=REQUEST_TIMEOUT_S).result(
            timeout=REQUEST_TIMEOUT_S)
        assert not listing.errors, listing.errors
        groups = {g.group_id: g for g in listing.valid}
        assert empty_group in groups and active_group in groups, sorted(groups)
        assert groups[empty_group].state == ConsumerGroupState.EMPTY
        assert groups[active_group].state == ConsumerGroupState.STABLE
        assert groups[active_group].is_simple_consumer_group is False

        stable = a.list_consumer_groups(
            states={ConsumerGroupState.STABLE},
            request_timeout=REQUEST_TIMEOUT_S).result(timeout=REQUEST_TIMEOUT_S)
        names = {g.group_id for g in stable.valid}
        assert active_group in names and empty_group not in names

        desc = a.describe_consumer_groups([empty_group, active_group],
                                          request_timeout=REQUEST_TIMEOUT_S)
        e = desc[empty_group].result(timeout=REQUEST_TIMEOUT_S)
        d = desc[active_group].result(timeout=REQUEST_TIMEOUT_S)
        assert e.state == ConsumerGroupState.EMPTY and e.members == []
        assert d.state == ConsumerGroupState.STABLE
        assert d.partition_assignor == "roundrobin"
        assert d.coordinator is not None and d.coordinator.port == flusso.kafka_port
        [m] = d.members
        assert m.client_id == "ck-admin-test"
        assert sorted((tp.topic, tp.partition) for tp in m.assignment.topic_partitions) == \
            [(topic, p) for p in range(PARTITIONS)]

        offs = a.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(empty_group)],
            request_timeout=REQUEST_TIMEOUT_S)[empty_group].result(timeout=REQUEST_TIMEOUT_S)
        assert sorted((tp.partition, tp.offset) for tp in offs.topic_partitions) == \
            [(p, 5) for p in range(PARTITIONS)]

        a.delete_consumer_groups([empty_group], request_timeout=REQUEST_TIMEOUT_S)[
            empty_group].result(timeout=REQUEST_TIMEOUT_S)
        with pytest.raises(KafkaException) as err:
            a.delete_consumer_groups([active_group], request_timeout=REQUEST_TIMEOUT_S)[
                active_group].result(timeout=REQUEST_TIMEOUT_S)
        assert err.value.args[0].code() == KafkaError.NON_EMPTY_GROUP, err.value
        listing = a.list_consumer_groups(request_timeout=REQUEST_TIMEOUT_S).result(
            timeout=REQUEST_TIMEOUT_S)
        names = {g.group_id for g in listing.valid}
        assert empty_group not in names and active_group in names
    finally:
        active.close()
