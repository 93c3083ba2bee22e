// kafkajs consumer groups against a running flusso server.
// Run: FLUSSO_BOOTSTRAP=127.0.0.1:9092 node --test groups.test.mjs
// (tests/clients/test_kafkajs.py starts a server and runs this.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel } from 'kafkajs';

const BOOTSTRAP = process.env.FLUSSO_BOOTSTRAP;
const DEADLINE_MS = 60_000;
const PARTITIONS = 4;

const kafka = new Kafka({
  clientId: 'flusso-kafkajs-test',
  brokers: [BOOTSTRAP],
  logLevel: logLevel.WARN,
  retry: { retries: 10, initialRetryTime: 100 },
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond, what, timeoutMs = DEADLINE_MS) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return;
    await sleep(50);
  }
  assert.ok(cond(), `timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Idempotent producer, acks all; n records spread over the partitions. Returns the
 * acknowledged "partition:offset" keys (kafkajs reports each batch's base offset). */
async function produce(topic, n, start = 0) {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    const perPartition = new Map();
    for (let i = start; i < start + n; i++) {
      const p = i % PARTITIONS;
      if (!perPartition.has(p)) perPartition.set(p, []);
      perPartition.get(p).push({ key: String(i), value: String(i), partition: p });
    }
    const keys = new Set();
    for (const [p, messages] of perPartition) {
      const [meta] = await producer.send({ topic, acks: -1, messages });
      assert.equal(meta.errorCode, 0);
      assert.equal(meta.partition, p);
      const base = Number(meta.baseOffset);
      for (let k = 0; k < messages.length; k++) keys.add(`${p}:${base + k}`);
    }
    assert.equal(keys.size, n);
    return keys;
  } finally {
    await producer.disconnect();
  }
}

/** A group member that records every (partition, offset) it is handed. */
function member(groupId, topic, name) {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 6000,
    heartbeatInterval: 1000,
    rebalanceTimeout: 10000,
    maxWaitTimeInMs: 100,
  });
  const m = { name, consumer, received: [], assignment: [], crashed: null };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    m.assignment = [...(e.payload.memberAssignment[topic] || [])].sort();
  });
  consumer.on(consumer.events.CRASH, (e) => {
    m.crashed = e.payload.error;
  });
  m.start = async () => {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        m.received.push(`${partition}:${message.offset}`);
      },
    });
  };
  return m;
}

function counts(...lists) {
  const c = new Map();
  for (const l of lists) for (const k of l) c.set(k, (c.get(k) || 0) + 1);
  return c;
}

test('two kafkajs members split a 4-partition topic; every record arrives once',
  { timeout: 120_000 }, async () => {
    assert.ok(BOOTSTRAP, 'FLUSSO_BOOTSTRAP is not set');
    const topic = `kafkajs-groups-${randomUUID().slice(0, 8)}`;
    const groupId = `${topic}-g`;
    const admin = kafka.admin();
    await admin.connect();
    const members = [];
    try {
      assert.equal(await admin.createTopics({
        topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
        waitForLeaders: true,
      }), true);

      members.push(member(groupId, topic, 'm1'), member(groupId, topic, 'm2'));
      for (const m of members) await m.start();
      await waitFor(() => {
        const [a, b] = members.map((m) => m.assignment);
        return a.length === 2 && b.length === 2 &&
          new Set([...a, ...b]).size === PARTITIONS;
      }, 'both members to own two partitions each');

      const expected = await produce(topic, 1000);
      const all = () => counts(...members.map((m) => m.received));
      await waitFor(() => all().size >= expected.size, 'all 1000 records');
      await sleep(1000); // surplus deliveries would show up now
      for (const m of members) assert.equal(m.crashed, null, `${m.name} crashed`);
      const got = all();
      assert.deepEqual([...got.keys()].sort(), [...expected].sort());
      const dups = [...got].filter(([, n]) => n > 1);
      assert.deepEqual(dups, [], 'records delivered more than once');
      for (const m of members) {
        const parts = new Set(m.received.map((k) => Number(k.split(':')[0])));
        assert.deepEqual([...parts].sort(), m.assignment, `${m.name} got foreign partitions`);
      }

      // Describe while both are members.
      const { groups: [desc] } = await admin.describeGroups([groupId]);
      assert.equal(desc.errorCode, 0);
      assert.equal(desc.state, 'Stable');
      assert.equal(desc.protocolType, 'consumer');
      assert.equal(desc.members.length, 2);
      const { groups: listed } = await admin.listGroups();
      assert.ok(listed.some((g) => g.groupId === groupId && g.protocolType === 'consumer'),
        JSON.stringify(listed));

      // Disconnecting commits what was processed.
      for (const m of members) await m.consumer.disconnect();
      members.length = 0;
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      assert.deepEqual(
        offsets.partitions.map((p) => [p.partition, p.offset]).sort(),
        [[0, '250'], [1, '250'], [2, '250'], [3, '250']]);

      // A new member of the group resumes there: it gets only new records.
      const late = member(groupId, topic, 'm3');
      members.push(late);
      await late.start();
      await waitFor(() => late.assignment.length === PARTITIONS, 'm3 to own everything');
      const more = await produce(topic, 20, 1000);
      await waitFor(() => late.received.length >= 20, 'the 20 new records');
      await sleep(500);
      assert.deepEqual([...late.received].sort(), [...more].sort());
    } finally {
      for (const m of members) await m.consumer.disconnect().catch(() => {});
      await admin.disconnect();
    }
  });

test('two groups on one topic each read every record once',
  { timeout: 120_000 }, async () => {
    const topic = `kafkajs-groups2-${randomUUID().slice(0, 8)}`;
    const admin = kafka.admin();
    await admin.connect();
    const members = [];
    try {
      await admin.createTopics({
        topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      const expected = await produce(topic, 400);
      for (const g of ['a', 'b']) {
        const m = member(`${topic}-${g}`, topic, g);
        members.push(m);
        await m.start();
      }
      await waitFor(() => members.every((m) => m.received.length >= 400), 'both groups');
      await sleep(500);
      for (const m of members) {
        assert.equal(m.received.length, 400, `${m.name}: duplicates`);
        assert.deepEqual([...m.received].sort(), [...expected].sort());
      }
    } finally {
      for (const m of members) await m.consumer.disconnect().catch(() => {});
      await admin.disconnect();
    }
  });
