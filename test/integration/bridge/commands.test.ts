/**
 * SPEC §4 commands, issue 5 "done when": a malformed, unknown or unauthorized command gets an
 * error response and changes nothing; an authorized one is carried out on the gateway's alarm
 * store (the console's) and answered on the MQTT 5 response topic with its correlation data;
 * every command is audited, every transition published once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventBridge } from '../../../src/bridge/bridge.js';
import { CommandAuditStore } from '../../../src/storage/command-audit-store.js';
import { AlarmStore, type RaiseInput } from '../../../src/storage/alarm-store.js';
import { openDatabase } from '../../../src/storage/database.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { waitFor } from '../../support/wait-for.js';
import { occupancyEvents } from '../../unit/bridge/fixtures.js';
import { makeBridge, settings, subscriber, type Received } from './harness.js';

const CMD = (lane: string) => `rpm/v1/port-alpha/${lane}/cmd`;

/** The raise the gateway makes when the occupancy's record comes (src/app/occupancy-alarms.ts). */
function raiseOf(seq: number, raisedAt: number): RaiseInput {
  return {
    lane: 'lane-1',
    occupancySeq: seq,
    deviceIndex: seq,
    raisedAt,
    by: 'device',
    snapshot: {
      category: 'NORM',
      disposition: 'RELEASE',
      confidence: 0.9,
      probabilities: { background: 0.05, NORM: 0.9, medical: 0.03, threat: 0.02 },
      reasons: ['excess spread along the cargo'],
      gammaAlarm: true,
      neutronAlarm: false,
    },
  };
}

describe('commands from central', () => {
  const broker = new Mosquitto();
  let bridge: EventBridge;
  let alarms: AlarmStore;
  let audit: CommandAuditStore;
  let central: { client: MqttClient; messages: Received[] };

  beforeAll(async () => {
    await broker.start();
    const dir = mkdtempSync(join(tmpdir(), 'bridge-cmd-'));
    const db = openDatabase(dir);
    alarms = new AlarmStore(db);
    audit = new CommandAuditStore(db);
    ({ bridge } = makeBridge(settings(broker.url, { mqtt: { protocol: '5' } }), { db, alarms }));
    await bridge.start();
    await waitFor(() => bridge.connection.state === 'connected', { what: 'connected' });
    central = await subscriber(broker.url, ['central/replies/#', 'rpm/v1/port-alpha/lane-1/events/#']);
    // A vehicle that the device alarms on: rpm.alarm.raised lane-1:7, then the alarm in the store.
    const events = occupancyEvents('lane-1', 7, { gammaSamples: 10, alarmFrom: 6 });
    for (const e of events) bridge.laneEvent(e);
    alarms.raise(raiseOf(7, events.at(-1)!.time));
    await waitFor(() => central.messages.some((m) => m.topic.endsWith('/rpm.alarm.raised')), {
      what: 'rpm.alarm.raised',
    });
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
    lane = 'lane-1',
  ): Promise<Record<string, unknown>> {
    const correlationData = randomBytes(8);
    await central.client.publishAsync(`${CMD(lane)}/${name}`, payload, {
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
  const eventsOf = (type: string) =>
    central.messages
      .filter((m) => m.topic.endsWith(`/${type}`))
      .map((m) => JSON.parse(m.text) as { type: string; time: string; data: Record<string, unknown> });
  const acknowledgedEvents = () => eventsOf('rpm.alarm.acknowledged').length;

  it('refuses bad commands with an error, changes nothing, and audits each', async () => {
    const before = audit.recent(1000).length;
    const cases: Array<[string, string | Buffer, string | null, string, string?]> = [
      ['acknowledge', '{"alarmId": "lane-1:7"', 'central-ops', 'MALFORMED_JSON'],
      ['acknowledge', '{"alarmId": 7}', 'central-ops', 'INVALID_PAYLOAD'],
      ['adjudicate', '{"alarmId":"lane-1:7","code":99}', 'central-ops', 'INVALID_PAYLOAD'],
      ['self-destruct', '{}', 'central-ops', 'UNKNOWN_COMMAND'],
      ['acknowledge', '{"alarmId":"lane-1:7"}', 'intruder', 'UNAUTHORIZED'],
      ['acknowledge', '{"alarmId":"lane-1:7"}', null, 'UNAUTHORIZED'],
      ['acknowledge', Buffer.alloc(200_000, 'x'), 'central-ops', 'PAYLOAD_TOO_LARGE'],
      ['acknowledge', '{"alarmId":"lane-1:999"}', 'central-ops', 'ALARM_NOT_FOUND'],
      // lane-1's alarm, commanded on lane-2's topic: not that lane's alarm.
      ['acknowledge', '{"alarmId":"lane-1:7"}', 'central-ops', 'ALARM_NOT_FOUND', 'lane-2'],
    ];
    for (const [name, payload, sender, code, lane] of cases) {
      const r = await command(name, payload, sender, lane);
      expect({ name, ok: r.ok, code: errorCode(r) }).toEqual({ name, ok: false, code });
    }
    expect(alarms.get('lane-1:7')).toMatchObject({ state: 'raised', version: 1 });
    expect(alarms.history('lane-1:7')).toHaveLength(1);
    expect(acknowledgedEvents()).toBe(0);
    const rows = audit.recent(1000).slice(0, cases.length).reverse();
    expect(audit.recent(1000).length - before).toBe(cases.length);
    expect(rows.map((r) => r.errorCode)).toEqual(cases.map((c) => c[3]));
    expect(rows.find((r) => r.errorCode === 'PAYLOAD_TOO_LARGE')!.payloadExcerpt.length).toBeLessThanOrEqual(
      1024,
    );
  });

  it('does nothing and answers nothing on a response topic it may not publish on, and keeps its session', async () => {
    const before = audit.recent(1000).length;
    let drops = 0;
    const onDrop = () => drops++;
    bridge.connection.on('disconnected', onDrop);
    try {
      // A wildcard would be a protocol error that costs the session; the own tree would be overwritten.
      for (const responseTopic of ['central/+/replies', 'rpm/v1/port-alpha/lane-1/state']) {
        await central.client.publishAsync(`${CMD('lane-1')}/acknowledge`, '{"alarmId":"lane-1:7"}', {
          qos: 1,
          properties: { responseTopic, userProperties: { sender: 'central-ops' } },
        });
      }
      await waitFor(() => audit.recent(1000).length - before === 2, { what: 'two audited commands' });
      expect(audit.recent(2).map((r) => r.errorCode)).toEqual([
        'RESPONSE_TOPIC_INVALID',
        'RESPONSE_TOPIC_INVALID',
      ]);
      expect(alarms.get('lane-1:7')).toMatchObject({ state: 'raised', version: 1 });
      // The next command still gets its answer, over the same session.
      const r = await command('acknowledge', '{"alarmId":"lane-1:999"}', 'central-ops');
      expect(errorCode(r)).toBe('ALARM_NOT_FOUND');
      expect(drops).toBe(0);
    } finally {
      bridge.connection.off('disconnected', onDrop);
    }
  });

  it('carries out an authorized acknowledge and adjudicate, answers with the correlation data, publishes events', async () => {
    const ack = await command('acknowledge', '{"alarmId":"lane-1:7","note":"seen"}', 'central-ops');
    expect(ack).toMatchObject({
      ok: true,
      result: { alarm: { alarmId: 'lane-1:7', state: 'acknowledged', acknowledgedBy: 'central-ops' } },
    });
    expect(alarms.get('lane-1:7')).toMatchObject({
      state: 'acknowledged',
      acknowledged: { by: 'central-ops' },
    });
    // The lifecycle's rules hold for commands as for the console: no second acknowledgement.
    const twice = await command('acknowledge', '{"alarmId":"lane-1:7"}', 'central-ops');
    expect(errorCode(twice)).toBe('ALARM_STATE_CONFLICT');
    expect((twice.error as { message: string }).message).toMatch(/ALARM_ALREADY_ACKNOWLEDGED/);
    const adj = await command(
      'adjudicate',
      '{"alarmId":"lane-1:7","code":4,"secondaryInspection":"COMPLETED","note":"granite slabs"}',
      'central-ops',
    );
    expect(adj.ok).toBe(true);
    expect(alarms.get('lane-1:7')!.adjudicated).toMatchObject({
      by: 'central-ops',
      code: 4,
      codeName: 'NORM',
      secondaryInspection: 'COMPLETED',
      notes: 'granite slabs',
    });
    await waitFor(() => eventsOf('rpm.alarm.adjudicated').length > 0, { what: 'adjudicated event' });
    expect(acknowledgedEvents()).toBe(1);
    expect(eventsOf('rpm.alarm.acknowledged')[0]!.data).toMatchObject({
      alarmId: 'lane-1:7',
      state: 'acknowledged',
      version: 2,
      acknowledgedBy: 'central-ops',
      implicit: false,
    });
    expect(eventsOf('rpm.alarm.adjudicated')[0]!.data).toMatchObject({
      lane: 'lane-1',
      alarmId: 'lane-1:7',
      occupancySeq: 7,
      state: 'adjudicated',
      version: 3,
      adjudicatedBy: 'central-ops',
      adjudicationCode: 4,
      adjudicationLabel: 'NORM',
      secondaryInspection: 'COMPLETED',
      notes: 'granite slabs',
    });
    // Closed: a second adjudication is a conflict and changes nothing.
    const again = await command('adjudicate', '{"alarmId":"lane-1:7","code":1}', 'central-ops');
    expect(errorCode(again)).toBe('ALARM_STATE_CONFLICT');
    expect(alarms.get('lane-1:7')!.adjudicated?.code).toBe(4);
    expect(alarms.history('lane-1:7').map((e) => e.action)).toEqual([
      'raised',
      'acknowledged',
      'adjudicated',
    ]);
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
