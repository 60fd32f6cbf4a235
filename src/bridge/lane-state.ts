/**
 * The retained lane state of SPEC §4 (`idle`, `occupied`, `alarm`, `fault`, `offline`) as a pure
 * reducer over lane events and alarm facts. Precedence, highest first: offline (the device link
 * is down or silent: nothing else can be known) > alarm > fault (any active fault or tamper) >
 * occupied > idle.
 *
 * An alarm holds from the decisive sample until it is acknowledged or the next occupancy
 * starts, so a central operator who looks a few seconds late still sees it.
 */
import type { LaneEvent } from '../domain/lane-events.js';

export type LaneState = 'idle' | 'occupied' | 'alarm' | 'fault' | 'offline';

export interface LaneFacts {
  readonly linkUp: boolean;
  readonly occupied: boolean;
  readonly alarm: boolean;
  /** Active fault codes, plus `tamper` while the cabinet is open. */
  readonly faults: readonly string[];
}

/** A lane starts offline: no device has spoken yet. */
export const INITIAL_FACTS: LaneFacts = { linkUp: false, occupied: false, alarm: false, faults: [] };

export type LaneFactInput =
  LaneEvent | { readonly kind: 'alarm-raised' } | { readonly kind: 'alarm-acknowledged' };

export function laneStateOf(f: LaneFacts): LaneState {
  if (!f.linkUp) return 'offline';
  if (f.alarm) return 'alarm';
  if (f.faults.length > 0) return 'fault';
  return f.occupied ? 'occupied' : 'idle';
}

export function nextFacts(f: LaneFacts, e: LaneFactInput): LaneFacts {
  switch (e.kind) {
    case 'connection': {
      const linkUp = e.state === 'connected';
      return linkUp === f.linkUp ? f : { ...f, linkUp };
    }
    case 'occupancy-start':
      return { ...f, linkUp: true, occupied: true, alarm: false };
    case 'occupancy-end':
      return f.occupied ? { ...f, occupied: false } : f;
    case 'alarm-raised':
      return f.alarm ? f : { ...f, alarm: true };
    case 'alarm-acknowledged':
      return f.alarm ? { ...f, alarm: false } : f;
    case 'fault':
      return withFault(f, e.code, e.active);
    case 'tamper':
      return withFault(f, 'tamper', e.active);
    case 'sample':
    case 'speed':
    case 'background':
      // Data flowing means the link is up (a driver may not report `connected` in replay).
      return f.linkUp ? f : { ...f, linkUp: true };
    case 'device-config':
    case 'unknown-record':
    case 'bad-input':
      return f;
  }
}

function withFault(f: LaneFacts, code: string, active: boolean): LaneFacts {
  const has = f.faults.includes(code);
  if (active === has) return f;
  return { ...f, faults: active ? [...f.faults, code] : f.faults.filter((c) => c !== code) };
}
