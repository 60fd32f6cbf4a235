/** The pure builders: ULIDs, topics, envelopes, lane state, event mapping, command decoding. */
import { describe, expect, it } from 'vitest';
import { decodeCommand, type CommandPolicy } from '../../../src/bridge/command-codec.js';
import { envelopeJson, isCloudEvent } from '../../../src/bridge/envelope.js';
import { LaneEventMapper } from '../../../src/bridge/event-mapper.js';
import { INITIAL_FACTS, laneStateOf, nextFacts } from '../../../src/bridge/lane-state.js';
import { topicTree } from '../../../src/bridge/topics.js';
import type { LaneEvent } from '../../../src/domain/lane-events.js';
import { createUlidGenerator, ULID_PATTERN, ulidTime } from '../../../src/core/ulid.js';
import { occupancyEvents, T0 } from './fixtures.js';

describe('ULID', () => {
  it('is 26 Crockford characters carrying the time, strictly increasing within a millisecond and when time steps back', () => {
    const g = createUlidGenerator();
    const ids = [g.next(T0), g.next(T0), g.next(T0), g.next(T0 - 5), g.next(T0 + 1)];
    for (const id of ids) expect(id).toMatch(ULID_PATTERN);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ulidTime(ids[0]!)).toBe(T0);
    expect(ulidTime(ids[3]!)).toBe(T0); // never goes back
  });

  it('is deterministic with injected randomness', () => {
    const zeros = createUlidGenerator((b) => b.fill(0));
    expect(zeros.next(0)).toBe('00000000000000000000000000');
    expect(zeros.next(0)).toBe('00000000000000000000000001');
  });
});

describe('topics', () => {
  const t = topicTree('port-alpha', '/rpm/v1/');
  it('builds the SPEC §4 tree and parses command topics of its own site only', () => {
    expect(t.event('lane-1', 'rpm.alarm.raised')).toBe('rpm/v1/port-alpha/lane-1/events/rpm.alarm.raised');
    expect(t.state('lane-1')).toBe('rpm/v1/port-alpha/lane-1/state');
    expect(t.status('gw-01')).toBe('rpm/v1/port-alpha/gateway/gw-01/status');
    expect(t.commandFilter).toBe('rpm/v1/port-alpha/+/cmd/+');
    expect(t.parseCommand('rpm/v1/port-alpha/lane-1/cmd/acknowledge')).toEqual({
      lane: 'lane-1',
      name: 'acknowledge',
    });
    expect(t.parseCommand('rpm/v1/port-beta/lane-1/cmd/acknowledge')).toBeNull();
    expect(t.parseCommand('rpm/v1/port-alpha/lane-1/cmd/acknowledge/extra')).toBeNull();
    expect(t.parseCommand('rpm/v1/port-alpha/lane-1/events/x')).toBeNull();
  });
});

describe('envelope', () => {
  it('is CloudEvents 1.0 structured JSON with a decimal-string sequence', () => {
    const text = envelopeJson(
      {
        id: '01HWQ3J8V5K2M9X7P4R6T1Y0ZB',
        source: 'urn:rpm-gateway:s:l',
        type: 'rpm.device.tamper',
        time: T0,
        subject: 'l',
        sequence: 42,
      },
      '{"active":true}',
    );
    const e = JSON.parse(text) as Record<string, unknown>;
    expect(e).toEqual({
      specversion: '1.0',
      id: '01HWQ3J8V5K2M9X7P4R6T1Y0ZB',
      source: 'urn:rpm-gateway:s:l',
      type: 'rpm.device.tamper',
      time: '2024-05-01T10:00:00.000Z',
      subject: 'l',
      sequence: '42',
      datacontenttype: 'application/json',
      data: { active: true },
    });
    expect(isCloudEvent(e)).toBe(true);
    expect(isCloudEvent({ ...e, sequence: '007' })).toBe(false);
  });
});

describe('lane state', () => {
  it('has the SPEC §4 precedence: offline > alarm > fault > occupied > idle', () => {
    let f = INITIAL_FACTS;
    expect(laneStateOf(f)).toBe('offline');
    f = nextFacts(f, { kind: 'connection', lane: 'l', time: 0, state: 'connected' });
    expect(laneStateOf(f)).toBe('idle');
    f = nextFacts(f, {
      kind: 'occupancy-start',
      lane: 'l',
      time: 0,
      seq: 1,
      continuation: false,
      partial: false,
    });
    expect(laneStateOf(f)).toBe('occupied');
    f = nextFacts(f, { kind: 'tamper', lane: 'l', time: 0, active: true });
    expect(laneStateOf(f)).toBe('fault');
    f = nextFacts(f, { kind: 'alarm-raised' });
    expect(laneStateOf(f)).toBe('alarm');
    f = nextFacts(f, { kind: 'connection', lane: 'l', time: 0, state: 'silent' });
    expect(laneStateOf(f)).toBe('offline');
    f = nextFacts(f, { kind: 'connection', lane: 'l', time: 0, state: 'connected' });
    f = nextFacts(f, { kind: 'alarm-acknowledged' });
    f = nextFacts(f, { kind: 'tamper', lane: 'l', time: 0, active: false });
    expect(laneStateOf(f)).toBe('occupied');
  });
});

describe('event mapping', () => {
  it('raises one alarm per occupancy on the first decisive sample, then completes it with the profile', () => {
    const m = new LaneEventMapper('lane-1');
    const out = occupancyEvents('lane-1', 7, { gammaSamples: 10, alarmFrom: 6 }).flatMap((e) =>
      m.laneEvent(e),
    );
    const types = out.map((o) => (o.kind === 'event' ? o.type : `state:${o.payload.state}`));
    expect(types.filter((t) => t === 'rpm.alarm.raised')).toHaveLength(1);
    expect(types).toContain('state:alarm');
    expect(m.alarmDecision({ seq: 7, time: T0, radiation: 'gamma', sigma: 9 })).toEqual([]); // already raised
    const done = m.occupancyCompleted(
      {
        seq: 7,
        gamma: { alarm: true },
        neutron: { alarm: false },
        device: { gammaAlarm: true, neutronAlarm: false },
      },
      null,
      T0,
    );
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({
      kind: 'event',
      type: 'rpm.occupancy.completed',
      class: 'alarm',
      data: { alarmId: 'lane-1:7' },
    });
  });

  it('publishes a device link change with why it went down and the attempts so far', () => {
    const m = new LaneEventMapper('lane-1');
    const connection = (e: object) =>
      m
        .laneEvent({ kind: 'connection', lane: 'lane-1', time: T0, ...e } as LaneEvent)
        .flatMap((o) => (o.kind === 'event' && o.type === 'rpm.device.connection' ? [o.data] : []));
    expect(connection({ state: 'connecting' })).toEqual([
      { lane: 'lane-1', state: 'connecting', detail: null, reason: null, attempts: null },
    ]);
    const refused = 'connect ECONNREFUSED 10.0.0.5:1601; retrying in 250 ms';
    expect(
      connection({
        state: 'disconnected',
        detail: refused,
        reason: 'connect-failed',
        attempts: 1,
        retryInMs: 250,
      }),
    ).toEqual([
      { lane: 'lane-1', state: 'disconnected', detail: refused, reason: 'connect-failed', attempts: 1 },
    ]);
    expect(connection({ state: 'disconnected', detail: 'stopped', reason: 'stopped' })).toEqual([
      { lane: 'lane-1', state: 'disconnected', detail: 'stopped', reason: 'stopped', attempts: null },
    ]);
  });

  it('raises at the end when only the final verdict alarms, without turning an idle lane to alarm', () => {
    const m = new LaneEventMapper('lane-1');
    occupancyEvents('lane-1', 8).forEach((e) => m.laneEvent(e));
    const done = m.occupancyCompleted(
      {
        seq: 8,
        gamma: { alarm: true },
        neutron: { alarm: false },
        device: { gammaAlarm: false, neutronAlarm: false },
      },
      null,
      T0,
    );
    expect(done.map((o) => (o.kind === 'event' ? o.type : o.kind))).toEqual([
      'rpm.alarm.raised',
      'rpm.occupancy.completed',
    ]);
    expect(m.currentState).toBe('idle');
  });

  it('raises a referral — INVESTIGATE with no alarm — at its end, and only an INVESTIGATE', () => {
    const m = new LaneEventMapper('lane-1');
    const record = (seq: number, disposition: string) => ({
      seq,
      gamma: { alarm: false },
      neutron: { alarm: false },
      device: { gammaAlarm: false, neutronAlarm: false },
      assessment: { category: 'threat', disposition },
    });
    occupancyEvents('lane-1', 9).forEach((e) => m.laneEvent(e));
    const referred = m.occupancyCompleted(record(9, 'INVESTIGATE'), null, T0);
    expect(referred.map((o) => (o.kind === 'event' ? o.type : o.kind))).toEqual([
      'rpm.alarm.raised',
      'rpm.occupancy.completed',
    ]);
    expect(referred[0]).toMatchObject({ data: { alarmId: 'lane-1:9', by: 'gateway', radiation: 'gamma' } });
    expect(referred[1]).toMatchObject({ class: 'alarm', data: { alarmId: 'lane-1:9' } });
    occupancyEvents('lane-1', 10).forEach((e) => m.laneEvent(e));
    const released = m.occupancyCompleted(record(10, 'RELEASE'), null, T0);
    expect(released).toHaveLength(1);
    expect(released[0]).toMatchObject({ class: 'event', data: { alarmId: null } });
  });
});

describe('command decoding (bad input)', () => {
  const policy: CommandPolicy = {
    senderProperty: 'sender',
    allowedSenders: ['central-ops'],
    maxPayloadBytes: 1024,
    lanes: new Set(['lane-1']),
  };
  const decode = (
    name: string,
    payload: string | Buffer,
    sender: string | string[] | null = 'central-ops',
    lane = 'lane-1',
  ) =>
    decodeCommand(
      {
        lane,
        name,
        payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
        userProperties: sender === null ? {} : { sender },
      },
      policy,
    );
  const code = (d: ReturnType<typeof decode>) => (d.ok ? 'ok' : d.code);

  it('checks size, then sender, lane, name, JSON and schema', () => {
    expect(code(decode('acknowledge', Buffer.alloc(5000, '{')))).toBe('PAYLOAD_TOO_LARGE');
    expect(code(decode('acknowledge', '{not json', 'mallory'))).toBe('UNAUTHORIZED'); // never parsed
    expect(code(decode('acknowledge', '{}', null))).toBe('UNAUTHORIZED');
    expect(code(decode('acknowledge', '{}', ['central-ops', 'mallory']))).toBe('UNAUTHORIZED');
    const twice = decode('acknowledge', '{}', ['central-ops', 'central-ops']);
    expect(!twice.ok && twice.message).toMatch(/several 'sender' user properties; exactly one/);
    expect(code(decode('acknowledge', '{}', 'central-ops', 'lane-9'))).toBe('UNKNOWN_LANE');
    expect(code(decode('reboot', '{}'))).toBe('UNKNOWN_COMMAND');
    expect(code(decode('acknowledge', '{"alarmId":'))).toBe('MALFORMED_JSON');
    expect(code(decode('acknowledge', '[]'))).toBe('INVALID_PAYLOAD');
    expect(code(decode('acknowledge', '{"alarmId":"a","extra":1}'))).toBe('INVALID_PAYLOAD');
    expect(code(decode('adjudicate', '{"alarmId":"a","code":12}'))).toBe('INVALID_PAYLOAD');
    expect(code(decode('adjudicate', '{"alarmId":"a","code":4,"secondaryInspection":"REQUESTED"}'))).toBe(
      'ok',
    );
    expect(code(decode('request-config', ''))).toBe('ok');
  });

  it("takes a note as long as the console's (4,000 characters), no longer", () => {
    const note = (n: number) =>
      decodeCommand(
        {
          lane: 'lane-1',
          name: 'adjudicate',
          payload: Buffer.from(JSON.stringify({ alarmId: 'a', code: 4, note: 'n'.repeat(n) })),
          userProperties: { sender: 'central-ops' },
        },
        { ...policy, maxPayloadBytes: 16_384 },
      );
    expect(code(note(4000))).toBe('ok');
    expect(code(note(4001))).toBe('INVALID_PAYLOAD');
  });
});
