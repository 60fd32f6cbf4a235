/**
 * SPEC §4 transport options against real brokers: MQTT 5 and 3.1.1 with Mosquitto, the fallback
 * from 5 to 3.1.1 against a broker that refuses MQTT 5 (aedes), TLS with client certificates
 * (made by openssl in the test), username/password (a mosquitto_passwd file), and the retained
 * gateway status.
 */
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeSettings } from '../../../src/bridge/bridge-settings.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { sleep, waitFor } from '../../support/wait-for.js';
import { makeBridge, settings, subscriber } from './harness.js';

async function deliversOne(url: string, s: BridgeSettings, subOptions = {}): Promise<4 | 5 | null> {
  const sub = await subscriber(url, 'rpm/v1/port-alpha/#', subOptions);
  const { bridge } = makeBridge(s);
  await bridge.start();
  await waitFor(() => bridge.connection.state === 'connected', { what: 'connected' });
  const version = bridge.connection.protocolVersion;
  const r = await bridge.publish({
    type: 'rpm.device.tamper',
    lane: 'lane-1',
    time: Date.now(),
    data: { active: true },
  });
  await waitFor(() => sub.messages.some((m) => r.committed && m.text.includes(r.id!)), { what: 'the event' });
  await waitFor(
    () => sub.messages.some((m) => m.topic.endsWith('/gateway/gw-test/status') && m.text.includes('online')),
    {
      what: 'status online',
    },
  );
  await bridge.stop();
  await waitFor(() => sub.messages.some((m) => m.topic.endsWith('/status') && m.text.includes('offline')), {
    what: 'status offline on stop',
  });
  await sub.client.endAsync();
  return version;
}

describe('MQTT versions', () => {
  const broker = new Mosquitto();
  beforeAll(() => broker.start());
  afterAll(() => broker.dispose());

  it('speaks MQTT 5 with Mosquitto', async () => {
    expect(await deliversOne(broker.url, settings(broker.url, { mqtt: { protocol: '5' } }))).toBe(5);
  });

  it('speaks MQTT 3.1.1 with Mosquitto', async () => {
    expect(await deliversOne(broker.url, settings(broker.url, { mqtt: { protocol: '3.1.1' } }))).toBe(4);
  });

  it('under 3.1.1, warns that commands are refused only where senders are allowed to command', async () => {
    for (const [allowedSenders, level] of [
      [['central-ops'], 'warn'],
      [[], 'info'], // no sender allowed: every command is refused whatever the version
    ] as const) {
      const s = settings(broker.url, { mqtt: { protocol: '3.1.1' } });
      const logger = createMemoryLogger();
      const { bridge } = makeBridge({ ...s, commands: { ...s.commands, allowedSenders } }, { logger });
      await bridge.start();
      await waitFor(() => bridge.connection.state === 'connected', { what: 'connected' });
      await bridge.stop();
      const said = logger.records.filter((r) => String(r.msg).startsWith('commands need MQTT 5'));
      expect(said).toEqual([expect.objectContaining({ level })]);
    }
  });
});

describe('fallback to 3.1.1', () => {
  let server: Server;
  let url = '';
  let broker: Aedes;
  beforeAll(async () => {
    broker = await Aedes.createBroker();
    server = createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    url = `mqtt://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => broker.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('connects with 3.1.1 when the broker refuses MQTT 5 (aedes)', async () => {
    expect(await deliversOne(url, settings(url), { protocolVersion: 4 })).toBe(4);
  });
});

describe('TLS with client certificates', () => {
  const broker = new Mosquitto({ tls: true });
  beforeAll(() => broker.start());
  afterAll(() => broker.dispose());

  it('connects with a certificate the broker trusts', async () => {
    const c = broker.certs!;
    const s = settings(broker.url, { mqtt: { tls: { ca: c.ca, cert: c.clientCert, key: c.clientKey } } });
    const tls = {
      ca: [await readFile(c.ca)],
      cert: await readFile(c.clientCert),
      key: await readFile(c.clientKey),
    };
    expect(await deliversOne(broker.url, s, tls)).toBe(5);
  });

  it('is refused with a certificate from another CA, and keeps retrying without crashing', async () => {
    const c = broker.certs!;
    const { bridge } = makeBridge(
      settings(broker.url, { mqtt: { tls: { ca: c.ca, cert: c.rogueCert, key: c.rogueKey } } }),
    );
    await bridge.start();
    await sleep(1500);
    expect(bridge.connection.state).not.toBe('connected');
    // Events are still committed to disk while the link is refused.
    const before = bridge.outboxStore.depth.rows; // the lanes' initial `offline` states
    const r = await bridge.publish({ type: 'rpm.device.fault', lane: 'lane-1', time: Date.now(), data: {} });
    expect(r.committed).toBe(true);
    expect(bridge.outboxStore.depth.rows).toBe(before + 1);
    await bridge.stop();
  });
});

describe('username and password', () => {
  const broker = new Mosquitto({ users: { gateway: 's3cret', central: 'c3ntral' } });
  beforeAll(() => broker.start());
  afterAll(() => broker.dispose());

  it('connects with the right password and not with a wrong one', async () => {
    const auth = { username: 'central', password: 'c3ntral' };
    expect(
      await deliversOne(
        broker.url,
        settings(broker.url, { mqtt: { username: 'gateway', password: 's3cret' } }),
        auth,
      ),
    ).toBe(5);
    const { bridge } = makeBridge(settings(broker.url, { mqtt: { username: 'gateway', password: 'wrong' } }));
    await bridge.start();
    await sleep(1000);
    expect(bridge.connection.state).not.toBe('connected');
    await bridge.stop();
  });
});

async function readFile(path: string): Promise<Buffer> {
  return (await import('node:fs/promises')).readFile(path);
}
