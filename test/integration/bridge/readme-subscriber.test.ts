/**
 * Issue 5 "done when": a subscriber written only from the README section "Events over MQTT"
 * (docs/events.md) can follow a lane. Everything below uses only what that section says: the
 * topic tree, the retained state payload, the CloudEvents envelope, de-duplication by `id` and
 * gap detection by `sequence`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mosquitto } from '../../support/mosquitto.js';
import { waitFor } from '../../support/wait-for.js';
import { occupancyEvents } from '../../unit/bridge/fixtures.js';
import { makeBridge, settings, subscriber } from './harness.js';

interface Envelope {
  id: string;
  source: string;
  type: string;
  sequence: string;
  subject: string;
  time: string;
  data: Record<string, unknown>;
}

/** The README's consumer: one lane, de-duplicated, gap-checked. */
class LaneFollower {
  state: string | null = null;
  readonly events: Envelope[] = [];
  readonly gaps: string[] = [];
  private readonly seen = new Set<string>();
  private readonly last = new Map<string, number>();

  onMessage(topic: string, text: string): void {
    const parts = topic.split('/'); // rpm/v1/<site>/<lane>/...
    if (parts[4] === 'state') {
      this.state = (JSON.parse(text) as { state: string }).state;
      return;
    }
    if (parts[4] !== 'events') return;
    const e = JSON.parse(text) as Envelope;
    if (this.seen.has(e.id)) return; // de-duplicate by id
    this.seen.add(e.id);
    const seq = Number(e.sequence);
    const prev = this.last.get(e.source) ?? 0;
    if (seq !== prev + 1) this.gaps.push(`${e.source}: ${prev} → ${seq}`);
    this.last.set(e.source, Math.max(prev, seq));
    this.events.push(e);
  }
}

describe('a subscriber written from docs/events.md', () => {
  const broker = new Mosquitto();
  beforeAll(() => broker.start());
  afterAll(() => broker.dispose());

  it('follows a lane through an alarming vehicle', async () => {
    const follower = new LaneFollower();
    const sub = await subscriber(broker.url, 'rpm/v1/port-alpha/lane-1/#');
    sub.client.on('message', (topic, payload) => follower.onMessage(topic, payload.toString()));
    const { bridge } = makeBridge(settings(broker.url));
    await bridge.start();

    const events = occupancyEvents('lane-1', 7, { gammaSamples: 12, alarmFrom: 6 });
    const states: string[] = [];
    for (const e of events) {
      bridge.laneEvent(e);
      if (e.kind === 'occupancy-end') {
        const record = {
          type: 'occupancy',
          lane: 'lane-1',
          seq: 7,
          index: 123,
          speedKph: 8.1,
          device: { gammaAlarm: true, neutronAlarm: false },
          gamma: { alarm: true, maxSigma: 9.3, backgroundCps: 3205 },
          neutron: { alarm: false, maxCounts: 3, backgroundCps: 4.1 },
        };
        bridge.occupancy('lane-1', record);
      }
      await bridge.whenDelivered();
      await waitFor(() => follower.state !== null);
      if (states.at(-1) !== follower.state) states.push(follower.state!);
    }
    await waitFor(() => follower.events.some((e) => e.type === 'rpm.occupancy.completed'), {
      what: 'completed',
    });
    // The scanner service's output records (src/app/scanner-service.ts) on the same lane.
    const fusion = {
      scanId: 's-1',
      lane: 'lane-1',
      occupancySeq: 7,
      priority: 'high',
      raised: true,
      reasons: [],
    };
    bridge.scan({
      type: 'imaging.scan.analyzed',
      scanId: 's-1',
      lane: 'lane-1',
      time: null,
      regions: [],
      fusion,
    });
    bridge.scan({ type: 'imaging.scan.linked', scanId: 's-1', lane: 'lane-1', time: null, fusion });
    // The lane's scanner PLC faulted (src/app/scanner-plc.ts).
    bridge.scan({
      type: 'imaging.scanner.status',
      lane: 'lane-1',
      time: null,
      link: 'connected',
      linkDetail: 'first attempt',
      status: { state: 'fault', faultCode: 42, emergencyStop: false },
    });
    await bridge.whenDelivered();
    await waitFor(() => follower.events.some((e) => e.type === 'imaging.scan.linked'), {
      what: 'scan linked',
    });
    expect(sub.messages.map((m) => m.topic)).toEqual(
      expect.arrayContaining([
        'rpm/v1/port-alpha/lane-1/events/imaging.scan.analyzed',
        'rpm/v1/port-alpha/lane-1/events/imaging.scan.linked',
        'rpm/v1/port-alpha/lane-1/events/imaging.scanner.status',
      ]),
    );
    await waitFor(() => follower.events.some((e) => e.type === 'imaging.scanner.status'), {
      what: 'scanner status',
    });
    expect(follower.events.find((e) => e.type === 'imaging.scanner.status')!.data).toMatchObject({
      lane: 'lane-1',
      link: 'connected',
      status: { state: 'fault', faultCode: 42 },
    });
    const analyzedEvent = follower.events.find((e) => e.type === 'imaging.scan.analyzed')!;
    expect(analyzedEvent.data).toMatchObject({ scanId: 's-1', lane: 'lane-1', fusion: { priority: 'high' } });
    // The same event delivered twice (at least once) is dropped by id.
    const dup = follower.events[0]!;
    follower.onMessage(`rpm/v1/port-alpha/lane-1/events/${dup.type}`, JSON.stringify(dup));

    expect(follower.gaps).toEqual([]);
    // The gateway announces `offline` at start; the device's connection turns it `idle` at once.
    expect(states.filter((s, i) => !(i === 0 && s === 'offline'))).toEqual(['idle', 'occupied', 'alarm']);
    const types = follower.events.map((e) => e.type);
    expect(types.filter((t) => t === 'rpm.alarm.raised')).toHaveLength(1);
    const raised = follower.events.find((e) => e.type === 'rpm.alarm.raised')!;
    const completed = follower.events.find((e) => e.type === 'rpm.occupancy.completed')!;
    expect(raised.data.alarmId).toBe('lane-1:7');
    expect(completed.data.alarmId).toBe('lane-1:7');
    expect(completed.source).toBe('urn:rpm-gateway:port-alpha:lane-1');
    const profile = completed.data.profile as { gamma: { counts: number[][]; deviceAlarmSamples: number[] } };
    expect(profile.gamma.counts).toHaveLength(12);
    expect(profile.gamma.deviceAlarmSamples[0]).toBe(6);
    expect(new Set(follower.events.map((e) => e.id)).size).toBe(follower.events.length);
    await bridge.stop();
    await sub.client.endAsync();
  });
});
