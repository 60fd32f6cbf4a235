/**
 * The lane event model: the one vocabulary every RPM driver speaks (SPEC §1.1, §1.2), so no
 * later stage (alarm pipeline, bridge, console) knows which driver fed it.
 *
 * Times are epoch milliseconds (fractional allowed). For a live stream they are receipt times
 * from a monotonic-based clock; for a daily file they are the file's own times.
 * Count arrays have one entry per channel, in the lane's canonical channel order; their length
 * is the lane's channel count for that radiation (4 for VM-250 lanes, 1 for Modbus lanes).
 */
export type Radiation = 'gamma' | 'neutron';

/** How many channels each radiation has on a lane. No stage may assume four. */
export interface ChannelCounts {
  readonly gamma: number;
  readonly neutron: number;
}

export type DriverKind = 'vm250' | 'modbus-rpm';

export interface LaneDescriptor {
  readonly id: string;
  readonly driver: DriverKind;
  readonly channels: ChannelCounts;
  /** Names of the gamma channels in canonical order, e.g. masterUpper, masterLower, … */
  readonly gammaChannelNames: readonly string[];
}

interface LaneEventBase {
  readonly lane: string;
  readonly time: number;
}

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'silent';

/**
 * Why a link is 'disconnected': stopped with the gateway (a clean close, no fault); lost after it
 * was up; or an attempt to connect (or to open the port) failed — the device was never reached.
 */
export type DisconnectReason = 'stopped' | 'lost' | 'connect-failed';

/**
 * A change of the device link. A device that stays unreachable is not reported on every retry:
 * its first failed attempt is, then again when the reason changes, otherwise every few minutes
 * (each with `attempts`).
 */
export interface ConnectionEvent extends LaneEventBase {
  readonly kind: 'connection';
  readonly state: ConnectionState;
  readonly detail?: string;
  /** Set on every 'disconnected'. */
  readonly reason?: DisconnectReason;
  /** On 'disconnected' other than a stop: when the next attempt is due. */
  readonly retryInMs?: number;
  /**
   * Attempts to connect since the link was last up (or started), this one included: on a
   * 'connect-failed' disconnection, and on the 'connected' that ends a run of failed ones (then > 1).
   */
  readonly attempts?: number;
}

export type BackgroundFault = 'none' | 'high' | 'low';

/** A background report while the lane is empty (VM-250 GB/GH/GL/NB/NH, Modbus background registers). */
export interface BackgroundEvent extends LaneEventBase {
  readonly kind: 'background';
  readonly radiation: Radiation;
  /** Counts per second, per channel. */
  readonly cps: readonly number[];
  readonly fault: BackgroundFault;
}

export interface OccupancyStartEvent extends LaneEventBase {
  readonly kind: 'occupancy-start';
  /** The gateway's own occupancy number: a per-lane sequence that never repeats. */
  readonly seq: number;
  /** Started within 1 s of the previous GX (back-to-back vehicles). */
  readonly continuation: boolean;
  /** Already in progress when the gateway connected: only the rest of it was seen. */
  readonly partial: boolean;
}

export interface SampleEvent extends LaneEventBase {
  readonly kind: 'sample';
  readonly seq: number;
  readonly radiation: Radiation;
  /** Counts in this interval, per channel. */
  readonly counts: readonly number[];
  /** Length of the counting interval: 200 ms for gamma, 1000 ms for neutron on VM-250. */
  readonly intervalMs: number;
  /** The device flagged this sample as in alarm (GA/NA, Modbus Alarm1|Alarm2). */
  readonly deviceAlarm: boolean;
  /** One of the pre-trigger look-back samples that open a VM-250 occupancy. */
  readonly preTrigger: boolean;
}

export interface SpeedEvent extends LaneEventBase {
  readonly kind: 'speed';
  readonly seq: number;
  readonly speedKph: number;
}

export type OccupancyEndReason =
  /** The device's end-of-occupancy message (VM-250 GX). */
  | 'device-end'
  /** Modbus: no occupancy bit set any more. */
  | 'unoccupied'
  /** No GX, and background lines resumed for 10 s after the last occupancy line. */
  | 'background-resumed'
  | 'link-lost'
  /** A setup dump arrived mid-occupancy: the device restarted. */
  | 'device-restart'
  /** A replayed file ended inside an occupancy. */
  | 'input-ended';

export interface OccupancyEndEvent extends LaneEventBase {
  readonly kind: 'occupancy-end';
  readonly seq: number;
  readonly reason: OccupancyEndReason;
  readonly endedAbnormally: boolean;
  /** The device's own occupancy label (VM-250 GX f1, Modbus object counter); can repeat. */
  readonly deviceIndex: number | null;
  /** The device's running neutron background estimate, summed over tubes, in cps (GX f2 / 1000). */
  readonly deviceNeutronBackgroundCps: number | null;
  readonly deviceGammaAlarm: boolean;
  readonly deviceNeutronAlarm: boolean;
}

export type FaultCode =
  | 'gamma-high-background'
  | 'gamma-low-background'
  | 'neutron-high-background'
  | 'neutron-low-background'
  | 'gamma-overload'
  | 'neutron-overload'
  /** A silent gap inside an occupancy (SPEC §1.1: a health event, not an end). */
  | 'occupancy-gap'
  | 'power-fail'
  | 'low-battery'
  | 'device-error';

export interface FaultEvent extends LaneEventBase {
  readonly kind: 'fault';
  readonly code: FaultCode;
  readonly active: boolean;
  readonly detail?: string;
}

export interface TamperEvent extends LaneEventBase {
  readonly kind: 'tamper';
  readonly active: boolean;
}

/** A device configuration block (VM-250 SG1–SN2 setup dumps, Modbus description block). */
export interface DeviceConfigEvent extends LaneEventBase {
  readonly kind: 'device-config';
  readonly section: string;
  readonly values: Readonly<Record<string, number | string | null>>;
  /** A setup dump seen after data had flowed: the device most likely restarted. */
  readonly restarted: boolean;
}

/** A well-formed record the gateway does not interpret (VM-250 RW, AB, NC, …): kept and counted. */
export interface UnknownRecordEvent extends LaneEventBase {
  readonly kind: 'unknown-record';
  readonly tag: string;
  readonly fields: readonly string[];
}

export type BadInputReason =
  | 'line-too-long'
  | 'malformed-line'
  | 'garbage'
  | 'duplicate-line'
  | 'modbus-exception'
  | 'modbus-timeout'
  | 'modbus-invalid-block';

/** Input that could not be used. Counted and logged; the lane keeps working. */
export interface BadInputEvent extends LaneEventBase {
  readonly kind: 'bad-input';
  readonly reason: BadInputReason;
  readonly detail: string;
  /** The offending input, truncated to a printable prefix. */
  readonly raw?: string;
}

export type LaneEvent =
  | ConnectionEvent
  | BackgroundEvent
  | OccupancyStartEvent
  | SampleEvent
  | SpeedEvent
  | OccupancyEndEvent
  | FaultEvent
  | TamperEvent
  | DeviceConfigEvent
  | UnknownRecordEvent
  | BadInputEvent;

export type LaneEventKind = LaneEvent['kind'];

/** Something that emits lane events: every driver implements this. */
export interface LaneEventSink {
  (event: LaneEvent): void;
}

/** A running device driver. start/stop are safe to call twice. */
export interface LaneDriver {
  readonly descriptor: LaneDescriptor;
  start(): Promise<void>;
  stop(): Promise<void>;
}
