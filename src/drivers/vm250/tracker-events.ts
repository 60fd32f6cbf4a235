/**
 * The lane events the VM-250 occupancy tracker (occupancy-tracker.ts) builds from a decoded
 * record and its own state: samples, occupancy starts and ends, occupancy-gap faults, bad input —
 * the events with more than a line of fields or a composed detail — and the lane's channel order, which puts each record's counts in
 * canonical order before they leave. The tracker decides *when* an event is due and what it
 * says; this module only says what each event carries, so the state machine reads as decisions.
 *
 * On the replay hot path (one sample per occupancy line): plain functions, each returning one
 * object literal with its fields always in the same order — one shape per event kind whatever
 * the call site — called directly by the tracker; no closures, no copies but the reordered counts.
 */
import type {
  BadInputEvent,
  BadInputReason,
  FaultEvent,
  OccupancyEndEvent,
  OccupancyStartEvent,
  Radiation,
  SampleEvent,
} from '../../domain/lane-events.js';
import { GatewayError } from '../../core/errors.js';
import { printable } from './count-lines.js';

/** The VM-250's counting intervals: GS/GA every 200 ms, NS/NA every second. */
export const GAMMA_INTERVAL_MS = 200;
export const NEUTRON_INTERVAL_MS = 1000;

/** Why the gateway, not the device, closed an occupancy (no GX). */
export type AbnormalEndReason = 'background-resumed' | 'link-lost' | 'device-restart' | 'input-ended';

/** A GX's occupancy end, held until the next line in case late samples follow it. */
export interface HeldEnd {
  readonly seq: number;
  readonly time: number;
  readonly index: number;
  readonly neutronCps: number;
  gammaAlarm: boolean;
  neutronAlarm: boolean;
}

/** `counts` are already in canonical order ({@link mapCounts}). */
export function sampleEvent(
  lane: string,
  time: number,
  seq: number,
  radiation: Radiation,
  counts: readonly number[],
  deviceAlarm: boolean,
  preTrigger: boolean,
): SampleEvent {
  return {
    kind: 'sample',
    lane,
    time,
    seq,
    radiation,
    counts,
    intervalMs: radiation === 'gamma' ? GAMMA_INTERVAL_MS : NEUTRON_INTERVAL_MS,
    deviceAlarm,
    preTrigger,
  };
}

export function occupancyStartEvent(
  lane: string,
  time: number,
  seq: number,
  continuation: boolean,
  partial: boolean,
): OccupancyStartEvent {
  return { kind: 'occupancy-start', lane, time, seq, continuation, partial };
}

/** The device ended the occupancy (GX): its index and neutron background come with the end. */
export function deviceEndEvent(lane: string, h: HeldEnd): OccupancyEndEvent {
  return {
    kind: 'occupancy-end',
    lane,
    time: h.time,
    seq: h.seq,
    reason: 'device-end',
    endedAbnormally: false,
    deviceIndex: h.index,
    deviceNeutronBackgroundCps: h.neutronCps,
    deviceGammaAlarm: h.gammaAlarm,
    deviceNeutronAlarm: h.neutronAlarm,
  };
}

/** The gateway closed the occupancy without a GX: nothing from the device but its alarm flags. */
export function abnormalEndEvent(
  lane: string,
  time: number,
  seq: number,
  reason: AbnormalEndReason,
  gammaAlarm: boolean,
  neutronAlarm: boolean,
): OccupancyEndEvent {
  return {
    kind: 'occupancy-end',
    lane,
    time,
    seq,
    reason,
    endedAbnormally: true,
    deviceIndex: null,
    deviceNeutronBackgroundCps: null,
    deviceGammaAlarm: gammaAlarm,
    deviceNeutronAlarm: neutronAlarm,
  };
}

/**
 * The `occupancy-gap` fault: raised with how long the occupancy lines have been silent, cleared
 * with how long they were.
 */
export function gapFaultEvent(lane: string, time: number, active: boolean, silentMs: number): FaultEvent {
  const s = (silentMs / 1000).toFixed(1);
  const detail = active ? `no occupancy lines for ${s} s` : `occupancy lines resumed after ${s} s`;
  return { kind: 'fault', lane, time, code: 'occupancy-gap', active, detail };
}

/** A line the logger wrote twice (same bytes, same time): reported, then skipped. */
export function duplicateLineEvent(lane: string, time: number, raw: string): BadInputEvent {
  const detail = 'line repeated by the logger (same bytes, same time); skipped';
  return badInputEvent(lane, time, 'duplicate-line', detail, raw);
}

/** `raw` is cut to a printable prefix of 64 characters. */
export function badInputEvent(
  lane: string,
  time: number,
  reason: BadInputReason,
  detail: string,
  raw: string,
): BadInputEvent {
  return { kind: 'bad-input', lane, time, reason, detail, raw: printable(raw, 64) };
}

// ---- channel order ---------------------------------------------------------------------------
// channelOrder[k] is the wire position (0-based) of canonical channel k of
// [masterUpper, masterLower, slaveLower, slaveUpper].

/** null for the identity; throws on anything but a permutation of 0..3 (a configuration error). */
export function normaliseOrder(order: readonly number[] | undefined): readonly number[] | null {
  if (order === undefined) return null;
  const sorted = [...order].sort((a, b) => a - b);
  if (sorted.length !== 4 || sorted.some((v, i) => v !== i)) {
    throw new GatewayError(
      'CONFIG_INVALID',
      `channelOrder must list the wire positions 0, 1, 2, 3 once each (got ${order.join(', ')})`,
      { channelOrder: order },
    );
  }
  return order.every((v, i) => v === i) ? null : [...order];
}

/** Wire order → canonical order; `order` from {@link normaliseOrder} (null: as they are). */
export function mapCounts(order: readonly number[] | null, counts: readonly number[]): readonly number[] {
  if (order === null) return counts;
  return [counts[order[0]!]!, counts[order[1]!]!, counts[order[2]!]!, counts[order[3]!]!];
}
