/**
 * The bridge's MQTT client publishes without mqtt-packet's number cache (65,536 two-byte Buffers,
 * ≈ 7 MB of heap kept for good once built). In a file of its own: no other MQTT client in this
 * module registry may build the cache first.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxRow } from '../../../src/storage/outbox-rows.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { waitFor } from '../../support/wait-for.js';
import { makeBridge, settings } from './harness.js';

const numbers = createRequire(import.meta.url)('mqtt-packet/numbers.js') as { cache: Record<number, Buffer> };

describe('the MQTT client keeps no message-id cache', () => {
  const broker = new Mosquitto();
  beforeAll(() => broker.start());
  afterAll(() => broker.dispose());

  it('publishes with QoS 1 to a real broker and mqtt-packet builds no number cache', async () => {
    const delivered: OutboxRow[] = [];
    const { bridge } = makeBridge(settings(broker.url), { onDelivered: (row) => delivered.push(row) });
    await bridge.start();
    await waitFor(() => bridge.connection.state === 'connected', { what: 'connected' });
    const r = await bridge.publish({
      type: 'rpm.device.tamper',
      lane: 'lane-1',
      time: Date.now(),
      data: { active: true },
    });
    if (!r.committed) throw new Error(`not committed: ${r.reason}`);
    const id = r.id ?? '';
    await waitFor(() => delivered.some((row) => row.payload.includes(id) && id !== ''), {
      what: 'the PUBACK',
    });
    await bridge.stop();
    expect(Object.keys(numbers.cache)).toHaveLength(0);
  });
});
