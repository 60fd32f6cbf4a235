/**
 * SPEC §4 Delivery, issue 5 "done when": the broker is stopped for a while during traffic and
 * restarted — every event arrives, per-lane order is kept, and de-duplication by id leaves
 * exactly the set that was sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../../src/bridge/envelope.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { sleep, waitFor } from '../../support/wait-for.js';
import { makeBridge, settings, subscriber } from './harness.js';

describe('bridge across a broker outage', () => {
  const broker = new Mosquitto({ persistence: true });
  beforeAll(() => broker.start());
  afterAll(() => broker.dispose());

  it('delivers every committed event, in order per lane, after the broker comes back', async () => {
    // Central's subscriber keeps a persistent session (3.1.1 clean session off: no expiry to
    // trip over), so the restarted broker queues for it until it is back.
    const sub = await subscriber(broker.url, 'rpm/v1/port-alpha/+/events/#', {
      clientId: 'central-outage',
      clean: false,
      protocolVersion: 4,
    });
    const { bridge } = makeBridge(settings(broker.url));
    await bridge.start();
    await waitFor(() => bridge.connection.state === 'connected', { what: 'bridge connected' });

    const sent = new Map<string, { lane: string; n: number }>();
    let n = 0;
    const send = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const lane = i % 2 === 0 ? 'lane-1' : 'lane-2';
        n++;
        const r = await bridge.publish({ type: 'rpm.device.fault', lane, time: Date.now(), data: { n } });
        if (r.committed && r.id) sent.set(r.id, { lane, n });
        if (i % 10 === 0) await sleep(2);
      }
    };

    await send(150);
    await broker.stop();
    await waitFor(() => bridge.connection.state !== 'connected', { what: 'bridge noticing the outage' });
    await send(300); // committed to disk while the broker is away
    expect(bridge.outboxStore.depth.rows).toBeGreaterThan(0);
    await broker.start();
    await send(150); // new events keep flowing while the backlog drains

    const diag = setInterval(() => {
      if (process.env.BRIDGE_DEBUG)
        console.log(
          'diag',
          bridge.connection.state,
          bridge.outboxStore.depth,
          sub.messages.length,
          sent.size,
          sub.client.connected,
          JSON.stringify(bridge.counters.snapshot()),
        );
    }, 2000);
    await waitFor(
      () => {
        const ids = new Set(sub.messages.map((m) => (JSON.parse(m.text) as CloudEvent).id));
        return [...sent.keys()].every((id) => ids.has(id));
      },
      { timeoutMs: 30_000, what: 'every committed event at the subscriber' },
    );
    clearInterval(diag);
    await bridge.whenDelivered();
    expect(bridge.outboxStore.depth.rows).toBe(0);

    const seen = new Map<string, CloudEvent<{ n: number }>>();
    for (const m of sub.messages) {
      const e = JSON.parse(m.text) as CloudEvent<{ n: number }>;
      if (!seen.has(e.id)) seen.set(e.id, e);
    }
    expect(new Set(seen.keys())).toEqual(new Set(sent.keys()));
    for (const lane of ['lane-1', 'lane-2']) {
      const order = [...seen.values()].filter((e) => e.subject === lane);
      const ns = order.map((e) => e.data.n);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
      // Sequences per source: 1, 2, 3, … with no gap.
      expect(order.map((e) => Number(e.sequence))).toEqual(order.map((_, i) => i + 1));
    }
    await bridge.stop();
    await sub.client.endAsync();
  }, 60_000);
});
