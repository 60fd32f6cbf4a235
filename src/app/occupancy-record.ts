/**
 * The replay and live NDJSON records (SPEC §5): one `occupancy` record per completed occupancy,
 * built from that occupancy's lane events and the alarm pipeline's assessment (SPEC §3: gamma,
 * neutron and the adjudication — category, probabilities, reasons, disposition), one
 * `alarm-decision` record per decisive sample on live lanes, plus lean `fault`, `tamper`,
 * `device-restart` and `replay-summary` records.
 */
import type {
  FaultEvent,
  LaneEvent,
  OccupancyEndEvent,
  OccupancyEndReason,
  SampleEvent,
  TamperEvent,
} from '../domain/lane-events.js';
import type { AlarmDecision, Assessment, OccupancyAssessment } from '../alarm/types.js';

export type { Assessment, AssessmentCategory } from '../alarm/types.js';

export interface OccupancyRecord {
  readonly type: 'occupancy';
  readonly lane: string;
  readonly seq: number;
  /** The device's GX index; null when the occupancy ended without GX. */
  readonly index: number | null;
  readonly continuation: boolean;
  readonly partial: boolean;
  readonly start: string;
  readonly end: string;
  readonly durationS: number;
  readonly endedAbnormally: boolean;
  readonly endReason: OccupancyEndReason;
  readonly speedKph: number | null;
  readonly samples: { readonly gamma: number; readonly neutron: number };
  readonly device: { readonly gammaAlarm: boolean; readonly neutronAlarm: boolean };
  readonly gamma: {
    readonly alarm: boolean;
    readonly maxSigma: number;
    readonly backgroundCps: number | null;
  };
  readonly neutron: { readonly alarm: boolean; readonly maxCounts: number; readonly backgroundCps: number };
  readonly assessment: Assessment;
}

/**
 * Collects one occupancy at a time from a lane's events (start, speed, samples); `finish`
 * turns its end event and the pipeline's assessment into the record.
 */
export class OccupancyAccumulator {
  private seq = -1;
  private start = 0;
  private continuation = false;
  private partial = false;
  private speedKph: number | null = null;
  private gammaSamples = 0;
  private neutronSamples = 0;

  constructor(private readonly lane: string) {}

  /** Same as `handle` for a sample event (a monomorphic entry for hot callers). */
  sample(e: SampleEvent): void {
    if (e.radiation === 'gamma') this.gammaSamples++;
    else this.neutronSamples++;
  }

  /** Feed every lane event; returns nothing — call {@link finish} at the occupancy-end event. */
  handle(e: LaneEvent): void {
    switch (e.kind) {
      case 'occupancy-start':
        this.seq = e.seq;
        this.start = e.time;
        this.continuation = e.continuation;
        this.partial = e.partial;
        this.speedKph = null;
        this.gammaSamples = 0;
        this.neutronSamples = 0;
        return;
      case 'sample':
        if (e.radiation === 'gamma') this.gammaSamples++;
        else this.neutronSamples++;
        return;
      case 'speed':
        this.speedKph = e.speedKph;
        return;
      default:
        return;
    }
  }

  finish(end: OccupancyEndEvent, a: OccupancyAssessment): OccupancyRecord {
    const start = end.seq === this.seq ? this.start : end.time;
    return {
      type: 'occupancy',
      lane: this.lane,
      seq: end.seq,
      index: end.deviceIndex,
      continuation: this.continuation,
      partial: this.partial,
      start: iso(start),
      end: iso(end.time),
      durationS: round(Math.max(0, end.time - start) / 1000, 3),
      endedAbnormally: end.endedAbnormally,
      endReason: end.reason,
      speedKph: this.speedKph,
      samples: { gamma: this.gammaSamples, neutron: this.neutronSamples },
      device: { gammaAlarm: end.deviceGammaAlarm, neutronAlarm: end.deviceNeutronAlarm },
      gamma: { alarm: a.gamma.alarm, maxSigma: a.gamma.maxSigma, backgroundCps: a.gamma.backgroundCps },
      neutron: {
        alarm: a.neutron.alarm,
        maxCounts: a.neutron.maxCounts,
        backgroundCps: round(a.neutron.backgroundCps, 2),
      },
      assessment: a.assessment,
    };
  }
}

/**
 * The record as one NDJSON line (with its newline). Written by hand rather than by
 * `JSON.stringify`, which showed as the largest single cost of replay's output; key order and
 * values are exactly those of `JSON.stringify(record)` (the tests pin that). The line is pure
 * ASCII — non-ASCII characters such as the σ of a reason are written as \u escapes — so the
 * output stays a one-byte string and reaches stdout without a slow UTF-8 conversion.
 */
export function occupancyRecordLine(r: OccupancyRecord): string {
  const a = r.assessment;
  const p = a.probabilities;
  let reasons = '';
  for (let i = 0; i < a.reasons.length; i++) reasons += (i === 0 ? '' : ',') + asciiJson(a.reasons[i]!);
  return (
    `{"type":"occupancy","lane":${asciiJson(r.lane)},"seq":${num(r.seq)},"index":${num(r.index)},` +
    `"continuation":${r.continuation},"partial":${r.partial},"start":"${r.start}","end":"${r.end}",` +
    `"durationS":${num(r.durationS)},"endedAbnormally":${r.endedAbnormally},"endReason":"${r.endReason}",` +
    `"speedKph":${num(r.speedKph)},"samples":{"gamma":${num(r.samples.gamma)},"neutron":${num(r.samples.neutron)}},` +
    `"device":{"gammaAlarm":${r.device.gammaAlarm},"neutronAlarm":${r.device.neutronAlarm}},` +
    `"gamma":{"alarm":${r.gamma.alarm},"maxSigma":${num(r.gamma.maxSigma)},"backgroundCps":${num(r.gamma.backgroundCps)}},` +
    `"neutron":{"alarm":${r.neutron.alarm},"maxCounts":${num(r.neutron.maxCounts)},"backgroundCps":${num(r.neutron.backgroundCps)}},` +
    `"assessment":{"category":"${a.category}","disposition":"${a.disposition}","confidence":${num(a.confidence)},` +
    `"probabilities":{"background":${num(p.background)},"NORM":${num(p.NORM)},"medical":${num(p.medical)},"threat":${num(p.threat)}},` +
    `"reasons":[${reasons}]}}\n`
  );
}

const HAS_NON_ASCII = /[\u007f-\uffff]/;
const NON_ASCII = /[\u007f-\uffff]/g;

/** A JSON string literal in ASCII only (valid JSON; parses to the same string). */
export function asciiJson(text: string): string {
  const json = JSON.stringify(text);
  return HAS_NON_ASCII.test(json)
    ? json.replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : json;
}

/** A number as JSON writes it (non-finite and null → null). */
function num(x: number | null): string {
  return x === null || !Number.isFinite(x) ? 'null' : String(x);
}

/** A decision on the decisive sample (SPEC §3: "decide within milliseconds"), as a record. */
export function alarmDecisionRecord(d: AlarmDecision): Record<string, unknown> {
  return {
    type: 'alarm-decision',
    lane: d.lane,
    seq: d.seq,
    time: iso(d.time),
    radiation: d.radiation,
    sigma: d.sigma,
    test: d.test,
    counts: d.counts,
    pValue: d.pValue,
  };
}

export function faultRecord(e: FaultEvent): Record<string, unknown> {
  return {
    type: 'fault',
    lane: e.lane,
    time: iso(e.time),
    code: e.code,
    active: e.active,
    detail: e.detail ?? null,
  };
}

export function tamperRecord(e: TamperEvent): Record<string, unknown> {
  return { type: 'tamper', lane: e.lane, time: iso(e.time), active: e.active };
}

export function deviceRestartRecord(lane: string, time: number): Record<string, unknown> {
  return { type: 'device-restart', lane, time: iso(time) };
}

/**
 * ISO 8601 in UTC, like `Date#toISOString` (`invalid` for times outside the Date range). The
 * date part is cached per day: replay formats two times per occupancy, most on the same day.
 */
export function iso(ms: number): string {
  const day = Math.floor(ms / 86_400_000);
  if (day !== isoDay) {
    const d = new Date(ms);
    if (Number.isNaN(d.getTime())) return 'invalid';
    const text = d.toISOString();
    // Years beyond 9999 have a longer date part: keep the slow path for them.
    if (text.length !== 24) return text;
    isoDay = day;
    isoPrefix = text.slice(0, 11);
  }
  const t = ms - day * 86_400_000;
  const whole = Math.floor(t);
  const h = Math.floor(whole / 3_600_000);
  const m = Math.floor(whole / 60_000) % 60;
  const sec = Math.floor(whole / 1000) % 60;
  const milli = whole % 1000;
  return `${isoPrefix}${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}:${sec < 10 ? '0' : ''}${sec}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

// A one-entry cache of the formatted date part (pure: only ever holds what `ms` determines).
let isoDay = NaN;
let isoPrefix = '';

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
