/**
 * Issue 5's gap closed: one alarm lifecycle for the console and central. A whole gateway
 * (`createGateway`, console and bridge) on a real Mosquitto, fed by a VM-250 device over TCP:
 * - the alarm id of rpm.alarm.raised is the console's alarm id;
 * - an acknowledgement and an adjudication made in the console's HTTP API reach the broker as
 *   rpm.alarm.acknowledged / rpm.alarm.adjudicated, once each, with the right data;
 * - central's MQTT `adjudicate` command shows in the console's alarm detail and history.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlarmView } from '../../../src/api/ports.js';
import { createGateway, type Gateway } from '../../../src/app/gateway.js';
import { validateConfig } from '../../../src/config/load.js';
import { SystemClock } from '../../../src/core/clock.js';
import { silentLogger } from '../../../src/core/logger.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { startTcpLineServer, type TcpLineServer } from '../../support/tcp-line-server.js';
import { backgroundLines, occupancyLines } from '../../support/vm250-stream.js';
import { sleep, waitFor } from '../../support/wait-for.js';
import { subscriber, type Received } from './harness.js';

const ADMIN_PASSWORD = 'lifecycle-test-admin';
const EVENTS = 'rpm/v1/port-alpha/lane-1/events';

interface Event {
  readonly type: string;
  readonly time: string;
  readonly data: Record<string, unknown>;
}

/** An occupancy the device alarms on (GA lines in the middle of it). */
function alarmingOccupancy(index: number): string[] {
  let gammaSample = 0;
  return occupancyLines({ samples: 10, index, base: 100 * index }).map((line) =>
    line.startsWith('GS,') && ++gammaSample > 8 ? `GA,${line.slice(3)}` : line,
  );
}

describe('one alarm lifecycle for the console and central', () => {
  const broker = new Mosquitto();
  let device: TcpLineServer;
  let gateway: Gateway;
  let central: { client: MqttClient; messages: Received[] };
  let api: <T>(path: string, body?: unknown) => Promise<T>;
  const replies = new Map<string, string>();
  let raisedIds: string[] = [];

  const events = (type: string, alarmId?: string): Event[] =>
    central.messages
      .filter((m) => m.topic === `${EVENTS}/${type}`)
      .map((m) => JSON.parse(m.text) as Event)
      .filter((e) => alarmId === undefined || e.data.alarmId === alarmId);

  beforeAll(async () => {
    await broker.start();
    device = await startTcpLineServer();
    const dir = mkdtempSync(join(tmpdir(), 'alarm-lifecycle-'));
    const validated = validateConfig({
      site: 'port-alpha',
      gatewayId: 'gw-test',
      storage: { dir },
      lanes: [{ id: 'lane-1', name: 'Lane one', driver: 'vm250', address: `tcp://127.0.0.1:${device.port}` }],
      http: { host: '127.0.0.1', port: 0, admin: { password: ADMIN_PASSWORD } },
      mqtt: { url: broker.url, protocol: '5', commands: { allowedSenders: ['central-ops'] } },
    });
    if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
    gateway = createGateway(validated.config, {
      clock: new SystemClock(),
      logger: silentLogger,
      output: () => {},
    });
    central = await subscriber(broker.url, [`${EVENTS}/#`, 'central/replies/#']);
    central.client.on('message', (topic, payload, packet) => {
      const c = packet.properties?.correlationData;
      if (topic.startsWith('central/replies/') && c) replies.set(c.toString('hex'), payload.toString());
    });
    await gateway.start();
    api = await login(gateway.consoleUrl!);

    await waitFor(() => device.clients.size > 0, { what: 'the gateway connected to the device' });
    device.sendLines([...backgroundLines(), ...alarmingOccupancy(1), ...backgroundLines()]);
    device.sendLines([...alarmingOccupancy(2), ...backgroundLines()]);
    const raised = await waitFor(
      () => events('rpm.alarm.raised').length === 2 && events('rpm.alarm.raised'),
      {
        what: 'two rpm.alarm.raised events',
      },
    );
    raisedIds = raised.map((e) => String(e.data.alarmId));
    // The console has them once their occupancies are complete.
    for (let tries = 0; ; tries++) {
      const open = await api<{ items: AlarmView[] }>('api/v1/alarms?open=true');
      if (open.items.length === 2) break;
      if (tries > 500) throw new Error(`the console shows ${open.items.length} alarms, not 2`);
      await sleep(20);
    }
  }, 60_000);

  afterAll(async () => {
    await central?.client.endAsync();
    await gateway?.stop();
    await device?.close();
    await broker.dispose();
  });

  it('gives the console the alarm ids central knows from rpm.alarm.raised', async () => {
    const open = await api<{ items: AlarmView[] }>('api/v1/alarms?open=true');
    expect(raisedIds).toEqual(['lane-1:1', 'lane-1:2']);
    expect(open.items.map((a) => a.id).sort()).toEqual(raisedIds);
  });

  it('publishes an acknowledgement and an adjudication made in the console, once each', async () => {
    const id = raisedIds[0]!;
    const acknowledged = await api<AlarmView>(`api/v1/alarms/${id}/acknowledge`, {});
    expect(acknowledged).toMatchObject({ id, status: 'acknowledged', version: 2 });
    const adjudicated = await api<AlarmView>(`api/v1/alarms/${id}/adjudication`, {
      code: 4,
      secondaryInspection: 'REQUESTED',
      notes: 'granite',
      expectedVersion: 2,
    });
    expect(adjudicated).toMatchObject({ status: 'adjudicated', version: 3 });

    const [adj] = await waitFor(
      () => events('rpm.alarm.adjudicated', id).length > 0 && events('rpm.alarm.adjudicated', id),
      {
        what: 'rpm.alarm.adjudicated on the broker',
      },
    );
    const ack = events('rpm.alarm.acknowledged', id);
    expect(ack).toHaveLength(1);
    expect(ack[0]!.time).toBe(acknowledged.acknowledged!.at);
    expect(ack[0]!.data).toMatchObject({
      lane: 'lane-1',
      alarmId: id,
      occupancySeq: 1,
      state: 'acknowledged',
      version: 2,
      acknowledgedBy: 'admin',
      acknowledgedAt: acknowledged.acknowledged!.at,
      adjudicationCode: null,
      implicit: false,
    });
    expect(adj!.time).toBe(adjudicated.adjudication!.at);
    expect(adj!.data).toMatchObject({
      lane: 'lane-1',
      alarmId: id,
      state: 'adjudicated',
      version: 3,
      acknowledgedBy: 'admin',
      adjudicatedBy: 'admin',
      adjudicatedAt: adjudicated.adjudication!.at,
      adjudicationCode: 4,
      adjudicationLabel: 'NORM',
      adjudicationGroup: 'innocent',
      secondaryInspection: 'REQUESTED',
      notes: 'granite',
      implicit: false,
    });
    expect(events('rpm.alarm.adjudicated', id)).toHaveLength(1);
    // The console's adjudication closed the alarm for central too.
    const again = await command('adjudicate', { alarmId: id, code: 1 });
    expect(again).toMatchObject({ ok: false, error: { code: 'ALARM_STATE_CONFLICT' } });
  });

  it("shows central's MQTT adjudication in the console's alarm detail and history", async () => {
    const id = raisedIds[1]!;
    const reply = await command('adjudicate', {
      alarmId: id,
      code: 7,
      secondaryInspection: 'COMPLETED',
      note: 'RIID: background only',
    });
    expect(reply).toMatchObject({ ok: true, result: { alarm: { alarmId: id, state: 'adjudicated' } } });

    const alarm = await api<AlarmView>(`api/v1/alarms/${id}`);
    expect(alarm).toMatchObject({
      id,
      status: 'adjudicated',
      version: 3,
      acknowledged: { by: 'central-ops' },
      adjudication: {
        code: 7,
        label: 'RIID/ASP indicates background only',
        secondaryInspection: 'COMPLETED',
        notes: 'RIID: background only',
        by: 'central-ops',
      },
    });
    const history = await api<Array<{ action: string; by: string; implicit: boolean }>>(
      `api/v1/alarms/${id}/history`,
    );
    expect(history.map((h) => [h.action, h.by, h.implicit])).toEqual([
      ['raised', expect.stringMatching(/^(gateway|device)$/), false],
      ['acknowledged', 'central-ops', true],
      ['adjudicated', 'central-ops', false],
    ]);
    expect((await api<{ items: AlarmView[] }>('api/v1/alarms?open=true')).items).toEqual([]);
    // And central hears of it like of any transition: the implied acknowledgement, then the verdict.
    await waitFor(() => events('rpm.alarm.adjudicated', id).length > 0, { what: 'its adjudicated event' });
    expect(events('rpm.alarm.acknowledged', id).map((e) => e.data.implicit)).toEqual([true]);
    expect(events('rpm.alarm.adjudicated', id)[0]!.data).toMatchObject({
      adjudicationCode: 7,
      adjudicatedBy: 'central-ops',
    });
  });

  /** Central's command with an MQTT 5 response topic; resolves with the parsed answer. */
  async function command(name: string, payload: unknown): Promise<Record<string, unknown>> {
    const correlationData = randomBytes(8);
    await central.client.publishAsync(`rpm/v1/port-alpha/lane-1/cmd/${name}`, JSON.stringify(payload), {
      qos: 1,
      properties: {
        responseTopic: 'central/replies/ops',
        correlationData,
        userProperties: { sender: 'central-ops' },
      },
    });
    const hex = correlationData.toString('hex');
    return JSON.parse(await waitFor(() => replies.get(hex), { what: `the reply to ${name}` })) as Record<
      string,
      unknown
    >;
  }
});

/** The console's API as the admin: GET without a body, POST with one. */
async function login(base: string): Promise<<T>(path: string, body?: unknown) => Promise<T>> {
  const res = await fetch(`${base}api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  if (!res.ok) throw new Error(`login: ${res.status} ${await res.text()}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  return async <T>(path: string, body?: unknown): Promise<T> => {
    const r = await fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
}
