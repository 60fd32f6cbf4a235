/**
 * The Modbus RPM occupancy tracker (SPEC §1.2): a pure state machine (STYLE §5) fed one decoded
 * monitor record per poll, with the poll's time, that turns register levels into the lane event
 * model (occupancy start / samples / end, speed, background, faults, tamper). No timers, no I/O:
 * the driver runs it, tests feed it record by record.
 */
import type {
  BackgroundEvent,
  BackgroundFault,
  FaultCode,
  FaultEvent,
  LaneEvent,
  OccupancyEndReason,
  Radiation,
} from '../../domain/lane-events.js';
import type { ChannelBlock, ChannelStatus, MonitorRecord } from './register-map.js';

/** Whether a count register holds counts of the last interval or a running total (SPEC §1.2: not public). */
export type CountMode = 'per-interval' | 'cumulative';

export interface MonitorTrackerOptions {
  readonly lane: string;
  /** Default 'per-interval' (SPEC §1.2). */
  readonly gammaCountMode?: CountMode;
  /** Not asked for by the SPEC; offered for symmetry. Default 'per-interval'. */
  readonly neutronCountMode?: CountMode;
  /** Metres per second per unit of the speed register. Default 0.001 (mm/s, SPEC §1.2). */
  readonly speedUnitToMps?: number;
  /** The counting interval of a per-interval count: the poll interval. Default 200 ms. */
  readonly pollIntervalMs?: number;
  /** First occupancy number this lane hands out (continue after a restart). Default 1. */
  readonly firstSeq?: number;
  /**
   * Minimum spacing of BackgroundEvents while the lane is empty. The Modbus map has no
   * background message of its own (the registers are a running estimate), so this project
   * reports it on the VM-250 cadence: default 5000 ms.
   */
  readonly backgroundIntervalMs?: number;
  /** A start within this long of the previous end is a continuation (as VM-250). Default 1000 ms. */
  readonly continuationWindowMs?: number;
}

interface OpenOccupancy {
  readonly seq: number;
  /** The object counter the occupancy is labelled with (its deviceIndex). */
  readonly deviceIndex: number;
  /**
   * Whether the occupancy is already tied to an object-counter change. An occupancy that started
   * on the occupancy bits alone adopts the first counter change it sees instead of being split,
   * since devices may bump the counter a poll after raising the bit.
   */
  readonly counterBound: boolean;
  readonly gammaAlarm: boolean;
  readonly neutronAlarm: boolean;
  readonly lastSpeed: number;
}

/** Bits reported as transitions: fault codes plus tamper. */
type Condition = FaultCode | 'tamper';

export interface MonitorTrackerState {
  readonly nextSeq: number;
  /** The previous poll since (re)connecting; null at the first poll, so its occupancy is partial. */
  readonly previous: { readonly time: number; readonly record: MonitorRecord } | null;
  readonly occupancy: OpenOccupancy | null;
  readonly lastEndTime: number | null;
  readonly lastBackgroundTime: number | null;
  /** Conditions currently active. Kept across reconnects, so a fault still set is not re-reported. */
  readonly active: ReadonlySet<Condition>;
}

export type MonitorTrackerInput =
  | { readonly kind: 'record'; readonly time: number; readonly record: MonitorRecord }
  /** The link was lost (or the driver stopped): close any occupancy, forget the previous poll. */
  | { readonly kind: 'link-lost'; readonly time: number };

export interface MonitorTrackerStep {
  readonly state: MonitorTrackerState;
  readonly events: readonly LaneEvent[];
}

export function initialMonitorTrackerState(
  options: Pick<MonitorTrackerOptions, 'firstSeq'> = {},
): MonitorTrackerState {
  return {
    nextSeq: options.firstSeq ?? 1,
    previous: null,
    occupancy: null,
    lastEndTime: null,
    lastBackgroundTime: null,
    active: new Set(),
  };
}

/** The fault codes of a channel status word (SPEC §1.2: fault low = LowCount, high = HighCount). */
function channelConditions(radiation: Radiation, status: ChannelStatus): Condition[] {
  const out: Condition[] = [];
  if (status.lowCount) out.push(`${radiation}-low-background`);
  if (status.highCount) out.push(`${radiation}-high-background`);
  if (status.overload) out.push(`${radiation}-overload`);
  return out;
}

function conditionsOf(record: MonitorRecord): Set<Condition> {
  const set = new Set<Condition>([
    ...channelConditions('gamma', record.gamma.status),
    ...channelConditions('neutron', record.neutron.status),
  ]);
  if (record.input.powerFail) set.add('power-fail');
  if (record.input.lowBattery) set.add('low-battery');
  if (record.input.error) set.add('device-error');
  // SPEC §1.2: tamper = cabinet open (this project's mapping).
  if (record.input.cabinetOpen) set.add('tamper');
  return set;
}

/** Stable report order, so events come out the same way every time. */
const CONDITION_ORDER: readonly Condition[] = [
  'tamper',
  'gamma-low-background',
  'gamma-high-background',
  'gamma-overload',
  'neutron-low-background',
  'neutron-high-background',
  'neutron-overload',
  'power-fail',
  'low-battery',
  'device-error',
];

/** SPEC §1.2 precedence alarm > low > high; an alarm is not a background fault. */
function backgroundFault(status: ChannelStatus): BackgroundFault {
  if (status.lowCount) return 'low';
  if (status.highCount) return 'high';
  return 'none';
}

/**
 * Counts in this interval from a count register. Cumulative counters are differenced; the
 * difference is taken modulo 2³² so an int32 wrap counts forward, and a "difference" of 2³¹ or
 * more is read as a counter reset (the device restarted): the new value is the count since then.
 * Returns null when there is nothing to difference against (first poll after connecting).
 */
function intervalCount(mode: CountMode, current: number, previous: number | null): number | null {
  if (mode === 'per-interval') return current;
  if (previous === null) return null;
  const forward = (current - previous) >>> 0;
  return forward < 2 ** 31 ? forward : Math.max(0, current);
}

/** Feed one input; get the new state and the lane events it implies (in emission order). */
export function stepMonitorTracker(
  state: MonitorTrackerState,
  input: MonitorTrackerInput,
  options: MonitorTrackerOptions,
): MonitorTrackerStep {
  const lane = options.lane;
  const events: LaneEvent[] = [];

  const end = (
    s: MonitorTrackerState,
    time: number,
    reason: OccupancyEndReason,
    abnormal: boolean,
    neutronBackground: number | null,
  ): MonitorTrackerState => {
    const occ = s.occupancy;
    if (occ === null) return s;
    events.push({
      kind: 'occupancy-end',
      lane,
      time,
      seq: occ.seq,
      reason,
      endedAbnormally: abnormal,
      deviceIndex: occ.deviceIndex,
      deviceNeutronBackgroundCps:
        neutronBackground !== null && Number.isFinite(neutronBackground) ? neutronBackground : null,
      deviceGammaAlarm: occ.gammaAlarm,
      deviceNeutronAlarm: occ.neutronAlarm,
    });
    return { ...s, occupancy: null, lastEndTime: time };
  };

  if (input.kind === 'link-lost') {
    const last = state.previous?.record.neutron.background ?? null;
    const next = end(state, input.time, 'link-lost', true, last);
    return { state: { ...next, previous: null }, events };
  }

  const { time, record } = input;
  const previous = state.previous;
  const firstPoll = previous === null;
  let s = state;

  // Health first: tamper and faults are transitions, reported once each way.
  const now = conditionsOf(record);
  for (const condition of CONDITION_ORDER) {
    const was = s.active.has(condition);
    const is = now.has(condition);
    if (was === is) continue;
    if (condition === 'tamper') events.push({ kind: 'tamper', lane, time, active: is });
    else events.push({ kind: 'fault', lane, time, code: condition, active: is } satisfies FaultEvent);
  }
  s = { ...s, active: now };

  // Occupancy (SPEC §1.2): occupied = any occupancy bit; a counter change starts a new one.
  const occupied = record.input.occupied;
  const counterChanged = previous !== null && previous.record.objectCounter !== record.objectCounter;
  const open = (partial: boolean, continuation: boolean, bound: boolean): void => {
    const seq = s.nextSeq;
    events.push({ kind: 'occupancy-start', lane, time, seq, continuation, partial });
    s = {
      ...s,
      nextSeq: seq + 1,
      occupancy: {
        seq,
        deviceIndex: record.objectCounter,
        counterBound: bound,
        gammaAlarm: false,
        neutronAlarm: false,
        lastSpeed: 0,
      },
    };
  };

  if (s.occupancy !== null && !occupied) {
    s = end(s, time, 'unoccupied', false, record.neutron.background);
  } else if (s.occupancy !== null && counterChanged) {
    if (s.occupancy.counterBound) {
      // Back-to-back objects with no gap in the occupancy bits: the counter is the device's own
      // end-of-object signal, so the previous occupancy ends as 'device-end'.
      s = end(s, time, 'device-end', false, record.neutron.background);
      open(false, true, true);
    } else {
      s = { ...s, occupancy: { ...s.occupancy, deviceIndex: record.objectCounter, counterBound: true } };
    }
  } else if (s.occupancy === null && occupied) {
    const windowMs = options.continuationWindowMs ?? 1000;
    const continuation = s.lastEndTime !== null && time - s.lastEndTime <= windowMs;
    open(firstPoll, continuation, firstPoll || counterChanged);
  }

  // Inside an occupancy: speed, then one sample per radiation.
  const occ = s.occupancy;
  if (occ !== null) {
    if (record.objectSpeed !== 0 && record.objectSpeed !== occ.lastSpeed) {
      const mps = record.objectSpeed * (options.speedUnitToMps ?? 0.001);
      events.push({ kind: 'speed', lane, time, seq: occ.seq, speedKph: mps * 3.6 });
    }
    const pollMs = options.pollIntervalMs ?? 200;
    const sample = (radiation: Radiation, block: ChannelBlock, prevBlock: ChannelBlock | undefined): void => {
      const mode =
        (radiation === 'gamma' ? options.gammaCountMode : options.neutronCountMode) ?? 'per-interval';
      const count = intervalCount(mode, block.count, prevBlock?.count ?? null);
      if (count === null) return;
      const intervalMs = mode === 'cumulative' && previous !== null ? time - previous.time : pollMs;
      events.push({
        kind: 'sample',
        lane,
        time,
        seq: occ.seq,
        radiation,
        counts: [count],
        intervalMs,
        deviceAlarm: block.status.alarm,
        preTrigger: false,
      });
    };
    sample('gamma', record.gamma, previous?.record.gamma);
    sample('neutron', record.neutron, previous?.record.neutron);
    s = {
      ...s,
      occupancy: {
        ...occ,
        gammaAlarm: occ.gammaAlarm || record.gamma.status.alarm,
        neutronAlarm: occ.neutronAlarm || record.neutron.status.alarm,
        lastSpeed: record.objectSpeed !== 0 ? record.objectSpeed : occ.lastSpeed,
      },
    };
  } else {
    // Empty lane: the device's background estimate, at most every backgroundIntervalMs.
    const every = options.backgroundIntervalMs ?? 5000;
    if (s.lastBackgroundTime === null || time - s.lastBackgroundTime >= every) {
      const bg = (radiation: Radiation, block: ChannelBlock): void => {
        if (!Number.isFinite(block.background)) {
          events.push({
            kind: 'bad-input',
            lane,
            time,
            reason: 'modbus-invalid-block',
            detail: `${radiation} background register is not a finite number`,
          });
          return;
        }
        events.push({
          kind: 'background',
          lane,
          time,
          radiation,
          cps: [block.background],
          fault: backgroundFault(block.status),
        } satisfies BackgroundEvent);
      };
      bg('gamma', record.gamma);
      bg('neutron', record.neutron);
      s = { ...s, lastBackgroundTime: time };
    }
  }

  return { state: { ...s, previous: { time, record } }, events };
}

/**
 * A small stateful wrapper around {@link stepMonitorTracker} for runners that hold one tracker
 * per lane. The pure function stays the unit under test.
 */
export function createMonitorTracker(options: MonitorTrackerOptions): {
  record(time: number, record: MonitorRecord): readonly LaneEvent[];
  linkLost(time: number): readonly LaneEvent[];
  readonly state: MonitorTrackerState;
} {
  let state = initialMonitorTrackerState(options);
  const run = (input: MonitorTrackerInput): readonly LaneEvent[] => {
    const step = stepMonitorTracker(state, input, options);
    state = step.state;
    return step.events;
  };
  return {
    record: (time, record) => run({ kind: 'record', time, record }),
    linkLost: (time) => run({ kind: 'link-lost', time }),
    get state() {
      return state;
    },
  };
}
