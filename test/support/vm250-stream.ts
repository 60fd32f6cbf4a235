/**
 * Hand-written VM-250 lines (SPEC §1.1) for driver tests, and a recorder of the lane events a
 * driver emits with small query helpers.
 */
import type { LaneEvent, LaneEventKind } from '../../src/domain/lane-events.js';

const pad = (n: number) => String(n).padStart(6, '0');

/** One empty-lane report: NB then GB. */
export function backgroundLines(gamma = [822, 750, 770, 757]): string[] {
  return ['NB,000001,000002,000001,000000', `GB,${gamma.map(pad).join(',')}`];
}

/**
 * A whole occupancy: SP, the 5 pre-trigger GS lines, `samples` GS lines (one NS per 5 GS) and
 * GX with the device index. `base` shifts the counts so occupancies can be told apart.
 */
export function occupancyLines(
  options: { samples?: number; index?: number; base?: number; end?: boolean } = {},
): string[] {
  const { samples = 10, index = 1, base = 100, end = true } = options;
  const lines = ['SP,0.2249,03.032,004.88,000000'];
  for (let i = 0; i < 5; i++) lines.push(`GS,${[0, 1, 2, 3].map((c) => pad(base + c)).join(',')}`);
  for (let i = 0; i < samples; i++) {
    lines.push(`GS,${[0, 1, 2, 3].map((c) => pad(base + 10 * (i + 1) + c)).join(',')}`);
    if (i % 5 === 4) lines.push('NS,000002,000003,000001,000002');
  }
  if (end) lines.push(`GX,${pad(index)},002345,000000,000000`);
  return lines;
}

export interface EventLog {
  readonly events: LaneEvent[];
  emit(event: LaneEvent): void;
  ofKind<K extends LaneEventKind>(kind: K): Array<Extract<LaneEvent, { kind: K }>>;
  /** Connection states in order. */
  states(): string[];
}

export function createEventLog(): EventLog {
  const events: LaneEvent[] = [];
  const ofKind = <K extends LaneEventKind>(kind: K) =>
    events.filter((e): e is Extract<LaneEvent, { kind: K }> => e.kind === kind);
  return {
    events,
    emit: (event) => events.push(event),
    ofKind,
    states: () => ofKind('connection').map((e) => e.state),
  };
}
