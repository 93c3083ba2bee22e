"""kafka-python consumer groups against a real ``flusso server``.

Covers the seed brief's consumer example, several groups sharing a topic,
rebalancing after a member leaves (LeaveGroup) or dies (SIGKILL, session
timeout), resuming from committed offsets across a clean and an unclean
server restart, and the group admin calls.

Records are identified by (partition, offset); "exactly once" means every
produced (partition, offset) arrived exactly once across a group's members.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from json import dumps, loads

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as Errors
from kafka.structs import OffsetAndMetadata

DEADLINE_S = 60.0
FUTURE_TIMEOUT_S = 60.0
PARTITIONS = 4
# Small session timeout so that a killed member is noticed quickly.
GROUP_CFG = dict(session_timeout_ms=6000, heartbeat_interval_ms=1000)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

@contextlib.contextmanager
def admin(bootstrap: str):
    a = KafkaAdminClient(bootstrap_servers=[bootstrap])
    try:
        yield a
    finally:
        a.close()


def create_topic(bootstrap: str, name: str, partitions: int = PARTITIONS) -> None:
    with admin(bootstrap) as a:
        a.create_topics({name: {"num_partitions": partitions, "replication_factor": 1}})
        a.wait_for_topics([name], timeout_ms=30000)


def produce(bootstrap: str, topic: str, n: int, start: int = 0,
            partitions: int = PARTITIONS) -> set[tuple[int, int]]:
    """Produce ``n`` records round-robin over the partitions (value = index);
    returns the acknowledged (partition, offset) pairs."""
    p = KafkaProducer(bootstrap_servers=[bootstrap], acks="all", linger_ms=5)
    try:
        futures = [p.send(topic, value=str(i).encode(), partition=i % partitions)
                   for i in range(start, start + n)]
        p.flush(timeout=FUTURE_TIMEOUT_S)
        metas = [f.get(timeout=FUTURE_TIMEOUT_S) for f in futures]
    finally:
        p.close(timeout=10)
    got = {(m.partition, m.offset) for m in metas}
    assert len(got) == n
    return got


def group_consumer(bootstrap: str, topic: str, group: str, **kwargs) -> KafkaConsumer:
    cfg = dict(group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
               **GROUP_CFG)
    cfg.update(kwargs)
    return KafkaConsumer(topic, bootstrap_servers=[bootstrap], **cfg)


def poll_records(c: KafkaConsumer, expected: int, timeout_s: float = DEADLINE_S,
                 quiet_ms: int = 1000) -> list:
    """Poll until ``expected`` records arrived (or the deadline), then keep
    polling for ``quiet_ms`` so that surplus records are noticed too."""
    records: list = []
    deadline = time.monotonic() + timeout_s
    while len(records) < expected and time.monotonic() < deadline:
        for recs in c.poll(timeout_ms=200).values():
            records.extend(recs)
    quiet_end = time.monotonic() + quiet_ms / 1000
    while time.monotonic() < quiet_end:
        for recs in c.poll(timeout_ms=200).values():
            records.extend(recs)
    return records


def wait_assigned(c: KafkaConsumer, partitions: int = PARTITIONS,
                  timeout_s: float = DEADLINE_S) -> list:
    """Poll (joining the group) until the consumer owns ``partitions``
    partitions; returns the records polled meanwhile."""
    records: list = []
    deadline = time.monotonic() + timeout_s
    while len(c.assignment()) < partitions and time.monotonic() < deadline:
        for recs in c.poll(timeout_ms=200).values():
            records.extend(recs)
    assert len(c.assignment()) == partitions, f"assignment {c.assignment()}"
    return records


def keys(records) -> list[tuple[int, int]]:
    return [(r.partition, r.offset) for r in records]


def wait_for(cond, what: str, timeout_s: float = DEADLINE_S, step: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(step)
    assert cond(), f"timed out after {timeout_s}s waiting for {what}"


class Member(threading.Thread):
    """A group member polling in its own thread; commits synchronously after
    every non-empty batch and remembers what each commit covered."""

    def __init__(self, bootstrap: str, topic: str, group: str, name: str):
        super().__init__(name=name, daemon=True)
        self.bootstrap, self.topic, self.group = bootstrap, topic, group
        self.lock = threading.Lock()
        self.received: list[tuple[int, int]] = []
        self.committed: dict[int, int] = {}
        self.assignment: frozenset[int] = frozenset()
        self.error: BaseException | None = None
        self.started_polling = threading.Event()
        self._stop_ev = threading.Event()
        self._leave_ev = threading.Event()
        self.closed = threading.Event()

    def run(self) -> None:
        c = None
        try:
            c = group_consumer(self.bootstrap, self.topic, self.group, max_poll_records=100)
            self.started_polling.set()
            while not self._stop_ev.is_set() and not self._leave_ev.is_set():
                batch = c.poll(timeout_ms=200)
                recs = [(r.partition, r.offset) for tp in batch for r in batch[tp]]
                with self.lock:
                    self.received.extend(recs)
                if recs:
                    upto = {}
                    for p, o in recs:
                        upto[p] = max(upto.get(p, 0), o + 1)
                    try:
                        c.commit()
                        with self.lock:
                            self.committed.update(upto)
                    except (Errors.CommitFailedError, Errors.RebalanceInProgressError):
                        pass  # a rebalance intervened: these stay uncommitted
                with self.lock:
                    self.assignment = frozenset(tp.partition for tp in c.assignment())
        except BaseException as e:  # surfaced by check()
            self.error = e
        finally:
            if c is not None:
                c.close(autocommit=False)
            self.closed.set()

    def snapshot(self):
        with self.lock:
            return list(self.received), frozenset(self.assignment), dict(self.committed)

    def leave(self, timeout: float = 30) -> None:
        """Close the consumer (sends LeaveGroup) and wait for it."""
        self._leave_ev.set()
        self.join(timeout)
        assert not self.is_alive(), f"{self.name} did not close"

    def stop(self) -> None:
        self._stop_ev.set()
        self.join(30)

    def check(self) -> None:
        if self.error is not None:
            raise AssertionError(f"{self.name} failed: {self.error!r}") from self.error


def wait_balanced(members, what: str, timeout_s: float = DEADLINE_S) -> dict:
    """Wait until the members' assignments are non-empty, disjoint and cover
    all partitions, and stay so for a second. Returns {member name: parts}."""
    stable_since = None
    last = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for m in members:
            m.check()
        now = tuple(m.snapshot()[1] for m in members)
        union = frozenset().union(*now)
        ok = (all(now) and sum(len(a) for a in now) == len(union)
              and union == frozenset(range(PARTITIONS)))
        if ok and now == last:
            if stable_since is None:
                stable_since = time.monotonic()
            elif time.monotonic() - stable_since >= 1.0:
                return {m.name: sorted(a) for m, a in zip(members, now)}
        else:
            stable_since = None
        last = now
        time.sleep(0.1)
    raise AssertionError(f"{what}: group never balanced; assignments "
                         f"{ {m.name: sorted(m.snapshot()[1]) for m in members} }")


def union_counts(*lists) -> Counter:
    c: Counter = Counter()
    for lst in lists:
        c.update(lst)
    return c


# --------------------------------------------------------------------------
# the seed example
# --------------------------------------------------------------------------

def test_seed_consumer_example(flusso_fresh):
    # A server of its own: the session server's 'numtest' is used by
    # test_kafka_python's seed producer test too.
    boot = flusso_fresh.bootstrap
    # The seed producer, verbatim (idempotence on: kafka-python 3 default).
    producer = KafkaProducer(bootstrap_servers=[boot],
                             value_serializer=lambda x: dumps(x).encode('utf-8'))
    try:
        for e in range(1000):
            data = {'number': e}
            producer.send('numtest', value=data)
        producer.flush()
    finally:
        producer.close(timeout=10)

    # The seed consumer, verbatim apart from consumer_timeout_ms (the
    # example's loop never ends) and stopping after 1000 records.
    consumer = KafkaConsumer(
        'numtest',
        bootstrap_servers=[boot],
        auto_offset_reset='earliest',
        enable_auto_commit=True,
        group_id='my-group',
        value_deserializer=lambda x: loads(x.decode('utf-8')),
        consumer_timeout_ms=20000)
    received = []
    try:
        for message in consumer:
            message = message.value
            received.append(message)
            if len(received) == 1000:
                break
    finally:
        consumer.close()  # auto-commit: commits the consumed positions
    assert received == [{'number': e} for e in range(1000)]

    tp = TopicPartition('numtest', 0)
    with admin(boot) as a:
        offsets = a.list_group_offsets({'my-group': None})['my-group']
    assert offsets[tp].offset == 1000, offsets

    # A second consumer in the same group starts at the commit: nothing new.
    second = KafkaConsumer(
        'numtest', bootstrap_servers=[boot], auto_offset_reset='earliest',
        enable_auto_commit=True, group_id='my-group',
        value_deserializer=lambda x: loads(x.decode('utf-8')),
        consumer_timeout_ms=5000)
    try:
        again = [m.value for m in second]
        assert again == [], f"same group re-read {len(again)} records"
        assert second.assignment() == {tp}, "second consumer never joined the group"
        assert second.position(tp) == 1000
        assert second.committed(tp) == 1000

        # ... and it does read what is produced afterwards.
        p = KafkaProducer(bootstrap_servers=[boot],
                          value_serializer=lambda x: dumps(x).encode('utf-8'))
        try:
            for e in range(1000, 1010):
                p.send('numtest', value={'number': e})
            p.flush()
        finally:
            p.close(timeout=10)
        more = []
        deadline = time.monotonic() + DEADLINE_S
        while len(more) < 10 and time.monotonic() < deadline:
            for recs in second.poll(timeout_ms=200).values():
                more.extend(r.value for r in recs)
        assert more == [{'number': e} for e in range(1000, 1010)]
    finally:
        second.close()

    # A consumer in another group reads everything again.
    other = KafkaConsumer(
        'numtest', bootstrap_servers=[boot], auto_offset_reset='earliest',
        enable_auto_commit=True, group_id='my-other-group',
        value_deserializer=lambda x: loads(x.decode('utf-8')),
        consumer_timeout_ms=20000)
    got = []
    try:
        for message in other:
            got.append(message.value)
            if len(got) == 1010:
                break
    finally:
        other.close()
    assert got == [{'number': e} for e in range(1010)]


# --------------------------------------------------------------------------
# several groups, several members
# --------------------------------------------------------------------------

def test_two_groups_each_receive_everything_once(flusso, topic):
    create_topic(flusso.bootstrap, topic)
    group_a = [Member(flusso.bootstrap, topic, f"{topic}-A", f"A{i}") for i in range(2)]
    group_b = [Member(flusso.bootstrap, topic, f"{topic}-B", f"B{i}") for i in range(4)]
    members = group_a + group_b
    try:
        for m in members:
            m.start()
        a_assign = wait_balanced(group_a, "group A")
        b_assign = wait_balanced(group_b, "group B")
        assert sorted(len(p) for p in a_assign.values()) == [2, 2], a_assign
        assert sorted(len(p) for p in b_assign.values()) == [1, 1, 1, 1], b_assign

        expected = produce(flusso.bootstrap, topic, 2000)

        def got(group):
            return union_counts(*(m.snapshot()[0] for m in group))

        wait_for(lambda: set(got(group_a)) >= expected and set(got(group_b)) >= expected,
                 "both groups to receive all 2000 records")
        time.sleep(1.0)  # let surplus deliveries show up
        for m in members:
            m.check()
        for name, group, assign in (("A", group_a, a_assign), ("B", group_b, b_assign)):
            counts = got(group)
            assert set(counts) == expected, f"group {name}: missing or unknown records"
            dups = {k: n for k, n in counts.items() if n > 1}
            assert not dups, f"group {name}: duplicated records {sorted(dups)[:10]}"
            # Each member received exactly its own partitions.
            for m in group:
                parts = {p for p, _ in m.snapshot()[0]}
                assert parts == set(assign[m.name]), (m.name, parts, assign)
    finally:
        for m in members:
            m.stop()


def _assert_nothing_lost(counts: Counter, expected: set, committed_by_gone: dict, what: str):
    missing = expected - set(counts)
    assert not missing, f"{what}: {len(missing)} records never received, e.g. {sorted(missing)[:10]}"
    assert set(counts) == expected, f"{what}: unknown records {sorted(set(counts) - expected)[:10]}"
    # A record may arrive twice only if the member that had it first did not
    # commit it: its offset is at or past that member's last commit.
    bad = sorted(k for k, n in counts.items()
                 if n > 1 and k[1] < committed_by_gone.get(k[0], 0))
    assert not bad, (f"{what}: committed records delivered again, e.g. {bad[:10]} "
                     f"(leaver's commits: {committed_by_gone})")


def test_member_leave_moves_partitions_to_survivors(flusso, topic):
    create_topic(flusso.bootstrap, topic)
    group = f"{topic}-g"
    members = [Member(flusso.bootstrap, topic, group, f"M{i}") for i in range(3)]
    try:
        for m in members:
            m.start()
        wait_balanced(members, "3 members")
        expected = produce(flusso.bootstrap, topic, 400)
        wait_for(lambda: set(union_counts(*(m.snapshot()[0] for m in members))) >= expected,
                 "the first 400 records")

        leaver, survivors = members[0], members[1:]
        leaver.leave()
        leaver.check()
        _, _, leaver_commits = leaver.snapshot()
        after = wait_balanced(survivors, "2 survivors after LeaveGroup")
        assert sorted(len(p) for p in after.values()) == [2, 2], after

        expected |= produce(flusso.bootstrap, topic, 400, start=400)
        wait_for(lambda: set(union_counts(*(m.snapshot()[0] for m in members))) >= expected,
                 "all 800 records after the leave")
        time.sleep(1.0)
        for m in survivors:
            m.check()
        counts = union_counts(*(m.snapshot()[0] for m in members))
        _assert_nothing_lost(counts, expected, leaver_commits, "after LeaveGroup")
        # Records produced after the leave all went to the survivors.
        late = {k for k in expected if k not in set(leaver.snapshot()[0])}
        surv = union_counts(*(m.snapshot()[0] for m in survivors))
        assert late <= set(surv)
    finally:
        for m in members:
            m.stop()


CHILD_MEMBER = r"""
import json, sys
from kafka import KafkaConsumer
from kafka import errors as Errors
boot, topic, group = sys.argv[1:4]
def out(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()
c = KafkaConsumer(topic, bootstrap_servers=[boot], group_id=group,
                  auto_offset_reset="earliest", enable_auto_commit=False,
                  session_timeout_ms=6000, heartbeat_interval_ms=1000,
                  max_poll_records=100)
last = None
while True:
    batch = c.poll(timeout_ms=200)
    recs = [(r.partition, r.offset) for tp in batch for r in batch[tp]]
    if recs:
        out(kind="records", recs=recs)
        upto = {}
        for p, o in recs:
            upto[p] = max(upto.get(p, 0), o + 1)
        try:
            c.commit()
            out(kind="committed", upto=upto)
        except (Errors.CommitFailedError, Errors.RebalanceInProgressError) as e:
            out(kind="commit_failed", error=repr(e))
    a = sorted(tp.partition for tp in c.assignment())
    if a != last:
        out(kind="assignment", partitions=a)
        last = a
"""


class ChildMember:
    """A group member in a subprocess (so that it can be SIGKILLed), reporting
    what it received, committed and owns as JSON lines on stdout."""

    def __init__(self, bootstrap: str, topic: str, group: str, name: str):
        self.name = name
        self.lock = threading.Lock()
        self.received: list[tuple[int, int]] = []
        self.committed: dict[int, int] = {}
        self.assignment: frozenset[int] = frozenset()
        self.error = None
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD_MEMBER, bootstrap, topic, group],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr_lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            msg = json.loads(line)
            with self.lock:
                if msg["kind"] == "records":
                    self.received.extend(tuple(r) for r in msg["recs"])
                elif msg["kind"] == "committed":
                    self.committed.update({int(p): o for p, o in msg["upto"].items()})
                elif msg["kind"] == "assignment":
                    self.assignment = frozenset(msg["partitions"])

    def _read_err(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def snapshot(self):
        with self.lock:
            return list(self.received), frozenset(self.assignment), dict(self.committed)

    def check(self):
        code = self.proc.poll()
        if code is not None and code != -9:
            raise AssertionError(f"{self.name} exited {code}:\n{''.join(self.stderr_lines[-30:])}")

    def kill(self):
        self.proc.kill()
        self.proc.wait(10)
        with self.lock:
            # What it reported before dying is all it got; it owns nothing now.
            self.assignment = frozenset()


def test_killed_member_partitions_move_to_survivors(flusso, topic):
    create_topic(flusso.bootstrap, topic)
    group = f"{topic}-g"
    child = ChildMember(flusso.bootstrap, topic, group, "child")
    survivors = [Member(flusso.bootstrap, topic, group, f"S{i}") for i in range(2)]
    try:
        for m in survivors:
            m.start()
        before = wait_balanced([child, *survivors], "child + 2 survivors")
        assert before["child"], before
        expected = produce(flusso.bootstrap, topic, 400)
        everyone = [child, *survivors]
        wait_for(lambda: set(union_counts(*(m.snapshot()[0] for m in everyone))) >= expected,
                 "the first 400 records")

        child.kill()
        _, _, child_commits = child.snapshot()
        # Produced while the dead member still holds its partitions.
        expected |= produce(flusso.bootstrap, topic, 400, start=400)
        after = wait_balanced(survivors, "survivors after the kill (session timeout 6 s)")
        assert sorted(len(p) for p in after.values()) == [2, 2], after
        expected |= produce(flusso.bootstrap, topic, 200, start=800)
        wait_for(lambda: set(union_counts(*(m.snapshot()[0] for m in everyone))) >= expected,
                 "all 1000 records after the kill")
        time.sleep(1.0)
        for m in survivors:
            m.check()
        counts = union_counts(*(m.snapshot()[0] for m in everyone))
        _assert_nothing_lost(counts, expected, child_commits, "after SIGKILL of a member")
        # Everything the child never saw reached the survivors.
        child_got = set(child.snapshot()[0])
        surv = set(union_counts(*(m.snapshot()[0] for m in survivors)))
        assert expected - child_got <= surv
    finally:
        if child.proc.poll() is None:
            child.kill()
        for m in survivors:
            m.stop()


# --------------------------------------------------------------------------
# committed offsets across server restarts
# --------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_groups_resume_from_committed_offsets_after_restart(flusso_fresh, topic, how):
    boot = flusso_fresh.bootstrap
    create_topic(boot, topic)
    first = produce(boot, topic, 400)  # 100 per partition
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]

    # Group "half" reads everything but commits a chosen offset per
    # partition; group "all" commits everything it read.
    half_at = {p: 20 + 15 * p for p in range(PARTITIONS)}
    groups = {"half": f"{topic}-half", "all": f"{topic}-all"}
    for kind, group in groups.items():
        c = group_consumer(boot, topic, group)
        try:
            recs = wait_assigned(c)
            recs += poll_records(c, 400 - len(recs), quiet_ms=300)
            assert sorted(keys(recs)) == sorted(first), f"{kind}: first read"
            if kind == "half":
                c.commit({tp: OffsetAndMetadata(half_at[tp.partition], "", -1) for tp in tps})
            else:
                c.commit()
            want = half_at if kind == "half" else {p: 100 for p in range(PARTITIONS)}
            assert {tp.partition: c.committed(tp) for tp in tps} == want
        finally:
            c.close(autocommit=False)

    if how == "sigterm":
        assert flusso_fresh.stop() == 0
    else:
        flusso_fresh.crash()
    flusso_fresh.start()

    with admin(boot) as a:
        offs = a.list_group_offsets(list(groups.values()))
    assert {tp.partition: o.offset for tp, o in offs[groups["half"]].items()} == half_at
    assert {tp.partition: o.offset for tp, o in offs[groups["all"]].items()} == \
        {p: 100 for p in range(PARTITIONS)}

    later = produce(boot, topic, 40, start=400)  # offsets 100..109 per partition
    for kind, group in groups.items():
        if kind == "half":
            want = {k for k in first if k[1] >= half_at[k[0]]} | later
        else:
            want = later
        c = group_consumer(boot, topic, group)
        try:
            recs = poll_records(c, len(want))
            got = keys(recs)
            assert len(got) == len(set(got)), f"{kind}: duplicates after restart"
            assert set(got) == want, (
                f"{kind} after {how}: missing {sorted(want - set(got))[:10]}, "
                f"unexpected {sorted(set(got) - want)[:10]}")
        finally:
            c.close(autocommit=False)


# --------------------------------------------------------------------------
# admin
# --------------------------------------------------------------------------

def test_admin_group_calls(flusso, topic):
    boot = flusso.bootstrap
    create_topic(boot, topic)
    produce(boot, topic, 40)
    empty_group, active_group = f"{topic}-empty", f"{topic}-active"

    c = group_consumer(boot, topic, empty_group)
    try:
        recs = wait_assigned(c)
        recs += poll_records(c, 40 - len(recs), quiet_ms=200)
        assert len(recs) == 40
        c.commit()
    finally:
        c.close(autocommit=False)

    active = group_consumer(boot, topic, active_group, client_id="flusso-admin-test")
    try:
        wait_assigned(active)
        with admin(boot) as a:
            listed = {g["group_id"]: g for g in a.list_groups()}
            assert empty_group in listed and active_group in listed, sorted(listed)
            assert listed[empty_group]["protocol_type"] == "consumer"
            assert listed[active_group]["protocol_type"] == "consumer"
            # ListGroups v4+ carries the state (KIP-518), v5+ the type.
            assert listed[active_group]["group_state"] == "Stable", listed[active_group]
            assert listed[empty_group]["group_state"] == "Empty", listed[empty_group]
            assert listed[active_group]["group_type"] == "classic", listed[active_group]
            stable = {g["group_id"] for g in a.list_groups(states_filter=["Stable"])}
            assert active_group in stable and empty_group not in stable

            desc = a.describe_groups([empty_group, active_group])
            e, d = desc[empty_group], desc[active_group]
            assert e["error"] is None and d["error"] is None, desc
            assert e["group_state"] == "Empty" and e["members"] == [], e
            assert d["group_state"] == "Stable", d
            assert d["protocol_type"] == "consumer"
            assert d["protocol_data"] == "range", d  # kafka-python's first assignor
            [member] = d["members"]
            assert member["client_id"] == "flusso-admin-test"
            assert member["member_id"]
            assert member["member_metadata"]["topics"] == [topic], member
            assignment = member["member_assignment"]["assigned_partitions"]
            assert [(t["topic"], sorted(t["partitions"])) for t in assignment] == \
                [(topic, list(range(PARTITIONS)))], member

            offsets = a.list_group_offsets({empty_group: None})[empty_group]
            assert {tp.partition: o.offset for tp, o in offsets.items()} == \
                {p: 10 for p in range(PARTITIONS)}
            # Specific partitions, including one never committed.
            some = a.list_group_offsets(
                {empty_group: [TopicPartition(topic, 1), TopicPartition(topic, 9)]})[empty_group]
            assert some[TopicPartition(topic, 1)].offset == 10
            assert some.get(TopicPartition(topic, 9), OffsetAndMetadata(-1)).offset == -1

            # Deleting: the empty group goes; the active one refuses; an
            # unknown one is reported.
            res = a.delete_groups([empty_group])
            assert res == {empty_group: "OK"}, res
            res = a.delete_groups([active_group])
            assert res == {active_group: "NonEmptyGroupError"}, res
            res = a.delete_groups([f"{topic}-never-existed"])
            assert res == {f"{topic}-never-existed": "GroupIdNotFoundError"}, res

            listed = {g["group_id"] for g in a.list_groups()}
            assert empty_group not in listed and active_group in listed
            gone = a.list_group_offsets({empty_group: None})[empty_group]
            assert gone == {}, gone
    finally:
        active.close(autocommit=False)


def test_group_is_empty_as_soon_as_last_member_left(flusso, topic):
    boot = flusso.bootstrap
    create_topic(boot, topic)
    group = f"{topic}-g"
    with admin(boot) as a:
        # Connect first; the single broker is every group's coordinator.
        [broker] = a.describe_cluster()["brokers"]
        coordinator = broker["broker_id"]
        a.describe_groups([group], group_coordinator_id=coordinator)
        c = group_consumer(boot, topic, group)
        try:
            wait_assigned(c)
        finally:
            c.close(autocommit=False)  # LeaveGroup, answered before close() returns
        state = a.describe_groups([group], group_coordinator_id=coordinator)[group]["group_state"]
    assert state == "Empty"
