/**
 * The outbox publisher without a broker (SPEC §4, §7): a fake connection records what is sent
 * and holds each PUBACK until the test gives it. Alarms go first; other messages wait behind
 * the alarms in flight, in commit order; a backlog is refilled by half windows.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MqttConnection } from '../../../src/bridge/mqtt-connection.js';
import { Outbox } from '../../../src/bridge/outbox.js';
import { MqttPublisher } from '../../../src/bridge/publisher.js';
import { topicTree } from '../../../src/bridge/topics.js';
import { ManualClock } from '../../../src/core/clock.js';
import { Counters } from '../../../src/core/counters.js';
import { silentLogger } from '../../../src/core/logger.js';
import { createUlidGenerator } from '../../../src/core/ulid.js';
import { openDatabase } from '../../../src/storage/database.js';
import { OutboxStore } from '../../../src/storage/outbox-store.js';

class FakeConnection extends EventEmitter {
  state: 'connected' | 'disconnected' = 'connected';
  /** Sent, not yet acknowledged, in send order. */
  readonly sent: Array<{ topic: string; payload: string; ack: () => void }> = [];
  /** Payloads acknowledged, in order. */
  readonly acked: string[] = [];
  send(topic: string, payload: string, _options: unknown, done: (error?: Error) => void): boolean {
    this.sent.push({ topic, payload, ack: () => done() });
    return true;
  }
  /** PUBACK the first `n` sends not yet acknowledged, in order. */
  ackNext(n: number): void {
    for (const s of this.sent.splice(0, n)) {
      this.acked.push(s.payload);
      s.ack();
    }
  }
}

function rig(window?: number) {
  const store = new OutboxStore(openDatabase(mkdtempSync(join(tmpdir(), 'publisher-'))));
  const connection = new FakeConnection();
  const clock = new ManualClock(1_714_557_600_000);
  const counters = new Counters();
  const publisher = new MqttPublisher({
    store,
    connection: connection as unknown as MqttConnection,
    clock,
    logger: silentLogger,
    counters,
    ...(window === undefined ? {} : { window }),
  });
  const outbox = new Outbox({
    store,
    site: 'port-alpha',
    topics: topicTree('port-alpha'),
    ulid: createUlidGenerator(),
    clock,
    logger: silentLogger,
    counters,
    maxBytes: 10_000_000,
    maxMessageBytes: 65_536,
    onCommitted: () => publisher.pump(),
    onInserted: (rows) => publisher.publishEarly(rows),
  });
  const tail = (topic: string) => topic.split('/').slice(3).join('/');
  const sentTopics = () => connection.sent.map((s) => tail(s.topic));
  return { store, connection, publisher, outbox, sentTopics };
}

const event = (lane: string, type: string, cls: 'alarm' | 'event') => ({
  type,
  lane,
  time: 0,
  data: { lane },
  class: cls,
});

describe('outbox publisher', () => {
  it("sends a turn's alarms first and holds other messages until the alarms are PUBACKed", async () => {
    const { connection, outbox, publisher, store, sentTopics } = rig();
    const all = Promise.all([
      outbox.enqueueEvent(event('lane-1', 'rpm.alarm.raised', 'alarm')),
      outbox.enqueueEvent(event('lane-1', 'lane.state.changed', 'alarm')), // alarm class, not urgent
      outbox.enqueueEvent(event('lane-2', 'rpm.alarm.raised', 'alarm')),
      outbox.enqueueEvent(event('lane-3', 'rpm.device.fault', 'event')),
    ]);
    await all; // both batches committed
    expect(sentTopics()).toEqual(['lane-1/events/rpm.alarm.raised', 'lane-2/events/rpm.alarm.raised']);
    connection.ackNext(1);
    expect(sentTopics()).toEqual(['lane-2/events/rpm.alarm.raised']); // one alarm still in flight
    connection.ackNext(1);
    expect(sentTopics()).toEqual(['lane-1/events/lane.state.changed', 'lane-3/events/rpm.device.fault']);
    connection.ackNext(2);
    await publisher.whenIdle(); // the deletes are flushed shortly after the last PUBACK
    expect(store.depth.rows).toBe(0);
    store.markClosed();
  });

  it('drains a backlog in commit order, refilling by half windows', async () => {
    const { connection, outbox, store, sentTopics } = rig(8);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        outbox.enqueueEvent(event(`lane-${i % 2}`, 'rpm.device.fault', 'event')),
      ),
    );
    expect(results.every((r) => r.committed)).toBe(true);
    expect(sentTopics()).toHaveLength(8);
    connection.ackNext(3); // 5 in flight: above half the window, nothing new yet
    expect(connection.sent).toHaveLength(5);
    connection.ackNext(1); // 4 in flight: refilled to 8
    expect(connection.sent).toHaveLength(8);
    while (connection.sent.length > 0) connection.ackNext(1);
    const delivered = connection.acked.map((p) => JSON.parse(p) as { subject: string; sequence: string });
    // Every event exactly once, each lane's in sequence order.
    expect(delivered).toHaveLength(20);
    for (const lane of ['lane-0', 'lane-1']) {
      const seqs = delivered.filter((e) => e.subject === lane).map((e) => Number(e.sequence));
      expect(seqs).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    }
    store.markClosed();
  });

  it('drains a backlog with alarms in it without pausing at each (order decides there)', async () => {
    const { connection, outbox, store } = rig(8);
    connection.state = 'disconnected';
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        outbox.enqueueEvent(
          i % 3 === 1
            ? event('lane-1', 'rpm.alarm.raised', 'alarm')
            : event('lane-1', 'rpm.device.fault', 'event'),
        ),
      ),
    );
    connection.state = 'connected';
    connection.emit('connected', 5); // the publisher rewinds and drains from disk
    expect(connection.sent).toHaveLength(8); // a full window, alarms and faults alike
    while (connection.sent.length > 0) connection.ackNext(connection.sent.length);
    const sequences = connection.acked.map((p) => Number((JSON.parse(p) as { sequence: string }).sequence));
    expect(sequences).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    store.markClosed();
  });
});
