/**
 * Lane events and alarm facts → the bridge's messages (SPEC §4 event types, retained lane state).
 * Pure and per lane: the bridge feeds it and commits what it returns to the outbox, in order.
 *
 * - `rpm.alarm.raised` once per occupancy, on the first decisive sample: a device-flagged sample
 *   (GA/NA, Modbus Alarm1|2) or a gateway decision (the alarm pipeline's `decision`), whichever
 *   comes first. Its `alarmId` is `<lane>:<occupancy seq>` — the gateway's occupancy number
 *   never repeats within a lane, so neither does the alarm id; the alarm store records the
 *   alarm under the same id when the occupancy completes (src/storage/alarm-store.ts).
 * - `rpm.alarm.acknowledged` / `rpm.alarm.adjudicated` for each transition of the alarm store
 *   (`alarmTransitionMessage`, stateless: console and command transitions alike).
 * - `rpm.occupancy.completed` when the occupancy's record is ready (after its end event), with
 *   the record's fields, the alarm id if it alarmed, and the count profile.
 * - `rpm.device.connection` / `.fault` / `.tamper` as they happen.
 * - Every change of the lane state: `lane.state.changed` and the retained `state` message.
 * - `imaging.scan.analyzed` / `imaging.scan.linked` from the scanner service's output records
 *   (`scanMessage`, stateless: a scan changes no lane state).
 */
import type { LaneEvent } from '../domain/lane-events.js';
import type { Alarm, HistoryEntry } from '../storage/alarm-store.js';
import { alarmIdOf, raiserOf } from '../storage/alarm-types.js';
import { alarmView } from './alarm-commands.js';
import type { DeliveryClass, EventType } from './envelope.js';
import {
  INITIAL_FACTS,
  laneStateOf,
  nextFacts,
  type LaneFactInput,
  type LaneFacts,
  type LaneState,
} from './lane-state.js';
import { countProfile, type CapturedOccupancy } from './occupancy-capture.js';

export type BridgeMessage =
  | {
      readonly kind: 'event';
      readonly type: EventType;
      readonly lane: string;
      readonly time: number;
      readonly class: DeliveryClass;
      readonly data: Record<string, unknown>;
    }
  | { readonly kind: 'state'; readonly lane: string; readonly payload: LaneStatePayload };

export type BridgeEventMessage = Extract<BridgeMessage, { kind: 'event' }>;

export interface LaneStatePayload {
  readonly lane: string;
  readonly state: LaneState;
  readonly time: string;
}

/** What the gateway's decision says when it first finds an alarm (a subset of the pipeline's `decision`). */
export interface AlarmDecisionInput {
  readonly seq: number;
  readonly time: number;
  readonly radiation: 'gamma' | 'neutron';
  readonly sigma?: number | null;
  readonly counts?: number | null;
}

/** The occupancy record fields the completed event needs (the replay record of SPEC §5 fits). */
export interface OccupancyRecordInput {
  readonly seq: number;
  readonly gamma: { readonly alarm: boolean };
  readonly neutron: { readonly alarm: boolean };
  readonly device: { readonly gammaAlarm: boolean; readonly neutronAlarm: boolean };
  readonly [key: string]: unknown;
}

/**
 * The scanner service's output records (src/app/scanner-service.ts, scanner-plc.ts): a scan
 * analyzed or linked, or a change of the scanner PLC's status or link. The fields the mapping reads.
 */
export interface ScanRecordInput {
  readonly type: 'imaging.scan.analyzed' | 'imaging.scan.linked' | 'imaging.scanner.status';
  /** The scan's id (not on `imaging.scanner.status`). */
  readonly scanId?: string;
  readonly lane: string | null;
  readonly time: string | null;
  readonly fusion?: {
    readonly priority?: string;
    readonly raised?: boolean;
    readonly [key: string]: unknown;
  } | null;
  readonly [key: string]: unknown;
}

export function isScanRecord(record: { readonly type?: unknown }): record is ScanRecordInput {
  return (
    record.type === 'imaging.scan.analyzed' ||
    record.type === 'imaging.scan.linked' ||
    record.type === 'imaging.scanner.status'
  );
}

/**
 * A scan record → its CloudEvent message: same type, the record's fields as `data` (without
 * `type`), on the scan's lane, at the scan's time (`now` when it has none or it does not parse).
 * A scan whose case priority is above `normal` (radiation alarm and/or shielding) goes as the
 * `alarm` delivery class, so the outbox never evicts it. No lane: nothing to publish (null).
 */
export function scanMessage(record: ScanRecordInput, now: number): BridgeMessage | null {
  if (typeof record.lane !== 'string' || record.lane === '') return null;
  const parsed = typeof record.time === 'string' ? Date.parse(record.time) : Number.NaN;
  const { type, ...fields } = record;
  const priority = record.fusion?.priority ?? 'normal';
  return {
    kind: 'event',
    type,
    lane: record.lane,
    time: Number.isFinite(parsed) ? parsed : now,
    class: priority === 'normal' ? 'event' : 'alarm',
    data: { ...fields, lane: record.lane },
  };
}

export { alarmIdOf };

/**
 * One transition of an alarm (a history entry of the alarm store) → its event, at the
 * transition's time, with the alarm as it was right after it: an adjudication of a raised alarm
 * is two events, the implicit acknowledgement (`implicit: true`) and the adjudication. Alarm
 * class (never evicted). The raise itself is not one: `rpm.alarm.raised` comes from the lane's
 * events, earlier.
 */
export function alarmTransitionMessage(
  alarm: Pick<Alarm, 'lane' | 'occupancySeq' | 'raisedAt'>,
  entry: Pick<HistoryEntry, 'action' | 'at' | 'after' | 'implicit'>,
): BridgeEventMessage | null {
  if (entry.action === 'raised') return null;
  return {
    kind: 'event',
    type: entry.action === 'acknowledged' ? 'rpm.alarm.acknowledged' : 'rpm.alarm.adjudicated',
    lane: alarm.lane,
    time: entry.at,
    class: 'alarm',
    data: { ...alarmView(alarm, entry.after), implicit: entry.implicit },
  };
}

export class LaneEventMapper {
  private facts: LaneFacts = INITIAL_FACTS;
  private state: LaneState = laneStateOf(INITIAL_FACTS);
  private alarmedSeq: number | null = null;
  private openSeq: number | null = null;

  constructor(readonly lane: string) {}

  get currentState(): LaneState {
    return this.state;
  }

  /** The alarm id of the occupancy `seq`, if it raised one. */
  alarmIdFor(seq: number): string | null {
    return this.alarmedSeq === seq ? alarmIdOf(this.lane, seq) : null;
  }

  laneEvent(e: LaneEvent): BridgeMessage[] {
    const out: BridgeMessage[] = [];
    switch (e.kind) {
      case 'connection':
        out.push(
          this.event('rpm.device.connection', e.time, 'event', {
            state: e.state,
            detail: e.detail ?? null,
            reason: e.reason ?? null,
            attempts: e.attempts ?? null,
          }),
        );
        break;
      case 'fault':
        out.push(
          this.event('rpm.device.fault', e.time, 'event', {
            code: e.code,
            active: e.active,
            detail: e.detail ?? null,
          }),
        );
        break;
      case 'tamper':
        out.push(this.event('rpm.device.tamper', e.time, 'alarm', { active: e.active }));
        break;
      case 'occupancy-start':
        this.openSeq = e.seq;
        break;
      case 'sample':
        if (this.openSeq === null) this.openSeq = e.seq;
        if (e.deviceAlarm) {
          this.changeState(e, out);
          out.push(...this.raise({ seq: e.seq, time: e.time, radiation: e.radiation }, 'device'));
          return out;
        }
        break;
      case 'occupancy-end':
        this.openSeq = null;
        break;
      default:
        break;
    }
    this.changeState(e, out);
    return out;
  }

  /** The gateway's own decision found an alarm (the alarm pipeline's early `decision`). */
  alarmDecision(d: AlarmDecisionInput): BridgeMessage[] {
    return this.raise(d, 'gateway');
  }

  /** An alarm of this lane was acknowledged: the lane leaves the `alarm` state. */
  alarmAcknowledged(time: number): BridgeMessage[] {
    const out: BridgeMessage[] = [];
    this.changeState({ kind: 'alarm-acknowledged' }, out, time);
    return out;
  }

  /** The occupancy's record is ready: the completed event (and a raised event if the alarm came only at the end). */
  occupancyCompleted(
    record: OccupancyRecordInput,
    captured: CapturedOccupancy | null,
    time: number,
  ): BridgeMessage[] {
    const out: BridgeMessage[] = [];
    // A referral (INVESTIGATE with no alarm) is raised here, at its end, like an alarm: `raiserOf`.
    const by = raiserOf(record);
    const alarmed = by !== null;
    if (by !== null && this.alarmedSeq !== record.seq) {
      const radiation = record.neutron.alarm || record.device.neutronAlarm ? 'neutron' : 'gamma';
      out.push(...this.raise({ seq: record.seq, time, radiation }, by));
    }
    const { type: _type, lane: _lane, ...fields } = record as Record<string, unknown>;
    const profile =
      captured !== null && captured.seq === record.seq
        ? {
            gamma: countProfile(captured.gamma, 200),
            neutron: countProfile(captured.neutron, 1000),
            truncatedSamples: captured.truncated,
          }
        : null;
    out.push(
      this.event('rpm.occupancy.completed', time, alarmed ? 'alarm' : 'event', {
        ...fields,
        alarmId: alarmed ? alarmIdOf(this.lane, record.seq) : null,
        profile,
      }),
    );
    return out;
  }

  private raise(d: AlarmDecisionInput, by: 'device' | 'gateway'): BridgeMessage[] {
    if (this.alarmedSeq === d.seq) return [];
    this.alarmedSeq = d.seq;
    const out: BridgeMessage[] = [
      this.event('rpm.alarm.raised', d.time, 'alarm', {
        alarmId: alarmIdOf(this.lane, d.seq),
        occupancySeq: d.seq,
        radiation: d.radiation,
        by,
        sigma: d.sigma ?? null,
        counts: d.counts ?? null,
      }),
    ];
    // Only an occupancy still in progress turns the lane to `alarm`; a late verdict does not.
    if (this.openSeq === d.seq) this.changeState({ kind: 'alarm-raised' }, out, d.time);
    return out;
  }

  private changeState(input: LaneFactInput, out: BridgeMessage[], time?: number): void {
    this.facts = nextFacts(this.facts, input);
    const next = laneStateOf(this.facts);
    if (next === this.state) return;
    const previous = this.state;
    this.state = next;
    const at = time ?? ('time' in input ? input.time : 0);
    out.push(
      this.event('lane.state.changed', at, next === 'alarm' ? 'alarm' : 'event', { state: next, previous }),
    );
    out.push({
      kind: 'state',
      lane: this.lane,
      payload: { lane: this.lane, state: next, time: new Date(at).toISOString() },
    });
  }

  private event(
    type: EventType,
    time: number,
    cls: DeliveryClass,
    data: Record<string, unknown>,
  ): BridgeMessage {
    return { kind: 'event', type, lane: this.lane, time, class: cls, data: { lane: this.lane, ...data } };
  }
}
