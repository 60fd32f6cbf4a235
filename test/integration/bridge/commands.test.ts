/**
 * SPEC §4 commands, issue 5 "done when": a malformed, unknown or unauthorized command gets an
 * error response and changes nothing; an authorized one is carried out and answered on the MQTT 5
 * response topic with its correlation data; every command is audited.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventBridge } from '../../../src/bridge/bridge.js';
import { CommandAuditStore } from '../../../src/storage/command-audit-store.js';
import { SqliteAlarmLifecycle } from '../../../src/storage/alarm-lifecycle-store.js';
import { openDatabase } from '../../../src/storage/database.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { waitFor } from '../../support/wait-for.js';
import { occupancyEvents } from '../../unit/bridge/fixtures.js';
import { makeBridge, settings, subscriber, type Received } from './harness.js';

const CMD = 'rpm/v1/port-alpha/lane-1/cmd';

describe('commands from central', () => {
  const broker = new Mosquitto();
  let bridge: EventBridge;
  let alarms: SqliteAlarmLifecycle;
  let audit: CommandAuditStore;
  let central: { client: MqttClient; messages: Received[] };

  beforeAll(async () => {
    await broker.start();
    const dir = mkdtempSync(join(tmpdir(), 'bridge-cmd-'));
    const db = openDatabase(dir);
    alarms = new SqliteAlarmLifecycle(db);
    audit = new CommandAuditStore(db);
    ({ bridge } = makeBridge(settings(broker.url, { mqtt: { protocol: '5' } }), { db, alarms }));
    await bridge.start();
    await waitFor(() => bridge.connection.state === 'connected', { what: 'connected' });
    central = await subscriber(broker.url, ['central/replies/#', 'rpm/v1/port-alpha/lane-1/events/#']);
    // A vehicle that the device alarms on: raises lane-1:7.
    for (const e of occupancyEvents('lane-1', 7, { gammaSamples: 10, alarmFrom: 6 })) bridge.laneEvent(e);
    await waitFor(() => alarms.get('lane-1:7'), { what: 'the raised alarm' });
  });
  afterAll(async () => {
    await central.client.endAsync();
    await bridge.stop();
    await broker.dispose();
  });

  /** Send a command and wait for the response that carries its correlation data. */
  async function command(
    name: string,
    payload: string | Buffer,
    sender: string | null,
  ): Promise<Record<string, unknown>> {
    const correlationData = randomBytes(8);
    await central.client.publishAsync(`${CMD}/${name}`, payload, {
      qos: 1,
      properties: {
        responseTopic: 'central/replies/ops',
        correlationData,
        ...(sender === null ? {} : { userProperties: { sender } }),
      },
    });
    const hex = correlationData.toString('hex');
    const reply = await waitFor(() => replies.get(hex), { what: `the reply to ${name}` });
    return JSON.parse(reply) as Record<string, unknown>;
  }
  const replies = new Map<string, string>();
  beforeAll(() => {
    central.client.on('message', (topic, payload, packet) => {
      const c = packet.properties?.correlationData;
      if (topic.startsWith('central/replies/') && c) replies.set(c.toString('hex'), payload.toString());
    });
  });

  const errorCode = (r: Record<string, unknown>) => (r.error as { code: string } | undefined)?.code;
  const acknowledgedEvents = () =>
    central.messages.filter((m) => m.topic.endsWith('/rpm.alarm.acknowledged')).length;

  it('refuses bad commands with an error, changes nothing, and audits each', async () => {
    const before = audit.recent(1000).length;
    const cases: Array<[string, string | Buffer, string | null, string]> = [
      ['acknowledge', '{"alarmId": "lane-1:7"', 'central-ops', 'MALFORMED_JSON'],
      ['acknowledge', '{"alarmId": 7}', 'central-ops', 'INVALID_PAYLOAD'],
      ['adjudicate', '{"alarmId":"lane-1:7","code":99}', 'central-ops', 'INVALID_PAYLOAD'],
      ['self-destruct', '{}', 'central-ops', 'UNKNOWN_COMMAND'],
      ['acknowledge', '{"alarmId":"lane-1:7"}', 'intruder', 'UNAUTHORIZED'],
      ['acknowledge', '{"alarmId":"lane-1:7"}', null, 'UNAUTHORIZED'],
      ['acknowledge', Buffer.alloc(200_000, 'x'), 'central-ops', 'PAYLOAD_TOO_LARGE'],
      ['acknowledge', '{"alarmId":"lane-1:999"}', 'central-ops', 'ALARM_NOT_FOUND'],
    ];
    for (const [name, payload, sender, code] of cases) {
      const r = await command(name, payload, sender);
      expect({ name, ok: r.ok, code: errorCode(r) }).toEqual({ name, ok: false, code });
    }
    expect(alarms.get('lane-1:7')!.state).toBe('raised');
    expect(acknowledgedEvents()).toBe(0);
    const rows = audit.recent(1000).slice(0, cases.length).reverse();
    expect(audit.recent(1000).length - before).toBe(cases.length);
    expect(rows.map((r) => r.errorCode)).toEqual(cases.map((c) => c[3]));
    expect(rows.find((r) => r.errorCode === 'PAYLOAD_TOO_LARGE')!.payloadExcerpt.length).toBeLessThanOrEqual(
      1024,
    );
  });

  it('carries out an authorized acknowledge and adjudicate, answers with the correlation data, publishes events', async () => {
    const ack = await command('acknowledge', '{"alarmId":"lane-1:7","note":"seen"}', 'central-ops');
    expect(ack.ok).toBe(true);
    expect(alarms.get('lane-1:7')).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'central-ops' });
    const adj = await command(
      'adjudicate',
      '{"alarmId":"lane-1:7","code":4,"secondaryInspection":"COMPLETED"}',
      'central-ops',
    );
    expect(adj.ok).toBe(true);
    expect(alarms.get('lane-1:7')).toMatchObject({ state: 'adjudicated', adjudicationCode: 4 });
    await waitFor(() => central.messages.some((m) => m.topic.endsWith('/rpm.alarm.adjudicated')), {
      what: 'adjudicated event',
    });
    expect(acknowledgedEvents()).toBe(1);
    // Closed: a second adjudication is a conflict and changes nothing.
    const again = await command('adjudicate', '{"alarmId":"lane-1:7","code":1}', 'central-ops');
    expect(errorCode(again)).toBe('ALARM_STATE_CONFLICT');
    expect(alarms.get('lane-1:7')!.adjudicationCode).toBe(4);
    expect(audit.recent(1)[0]).toMatchObject({
      sender: 'central-ops',
      command: 'adjudicate',
      outcome: 'error',
    });
  });

  it('answers request-config with the lane', async () => {
    const r = await command('request-config', '', 'central-ops');
    expect(r).toMatchObject({ ok: true, lane: 'lane-1', result: { id: 'lane-1' } });
  });
});
