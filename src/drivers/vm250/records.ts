/**
 * Typed records of the VM-250 ASCII stream (SPEC §1.1). The codec turns one line into one of
 * these and back; it is pure (no I/O, no clock), shared by the driver, replay and simulators.
 */

/** The count-line tags: four comma-separated counts. */
export type CountTag = 'GB' | 'GH' | 'GL' | 'NB' | 'NH' | 'GS' | 'GA' | 'NS' | 'NA';

export type SetupTag = 'SG1' | 'SG2' | 'SG3' | 'SN1' | 'SN2';

/**
 * A time carried by a daily-file line. Time-of-day formats wrap at midnight, so they carry only
 * milliseconds since midnight; full date-times carry an absolute epoch.
 */
export type LineTime =
  | { readonly kind: 'time-of-day'; readonly msOfDay: number }
  | { readonly kind: 'absolute'; readonly epochMs: number };

interface RecordBase {
  /** The line's own time (daily files); null for a raw stream or an unreadable time. */
  readonly time: LineTime | null;
}

export interface CountRecord extends RecordBase {
  readonly type: 'count';
  readonly tag: CountTag;
  /** Four counts in wire order (before any lane channelOrder mapping). */
  readonly counts: readonly number[];
}

export interface SpeedRecord extends RecordBase {
  readonly type: 'speed';
  readonly secondsPerFoot: number;
  readonly mph: number;
  readonly kph: number;
  readonly carCounter: number;
}

export interface OccupancyEndRecord extends RecordBase {
  readonly type: 'occupancy-end';
  /** GX f1: the device's occupancy index. */
  readonly index: number;
  /** GX f2: neutron background × 1000, summed over the tubes. */
  readonly neutronBackgroundX1000: number;
  /** GX f3. */
  readonly railCarIndex: number;
}

export interface TamperRecord extends RecordBase {
  readonly type: 'tamper';
  /** TT = active, TC = cleared. */
  readonly active: boolean;
}

export interface SetupRecord extends RecordBase {
  readonly type: 'setup';
  readonly tag: SetupTag;
  /** Named values; `***` and missing fields are null, non-numeric fields kept as strings. */
  readonly values: Readonly<Record<string, number | string | null>>;
  /** The raw fields, as sent. */
  readonly fields: readonly string[];
}

export interface UnknownTagRecord extends RecordBase {
  readonly type: 'unknown';
  readonly tag: string;
  readonly fields: readonly string[];
}

export interface MalformedRecord {
  readonly type: 'malformed';
  readonly reason: string;
  readonly raw: string;
}

export type Vm250Record =
  CountRecord | SpeedRecord | OccupancyEndRecord | TamperRecord | SetupRecord | UnknownTagRecord;

export type DecodeResult = Vm250Record | MalformedRecord;
