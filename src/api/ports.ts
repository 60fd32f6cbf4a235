/**
 * What the HTTP API needs from the rest of the gateway, as interfaces: the app layer implements
 * them (src/app/gateway.ts), tests hand in fakes. The API never reaches into drivers or the alarm
 * pipeline directly (STYLE.md: imports point down; the API is fed, it does not pull).
 */
import type { GatewayConfig, LaneConfig } from '../config/schema.js';
import type { AlarmState, SecondaryInspection } from '../alarm/lifecycle.js';
import type { ConnectionState, FaultCode, LaneDescriptor } from '../domain/lane-events.js';
import type { ReadScan } from '../drivers/scanner/adapter.js';
import type { ScannerPlcView } from '../drivers/scanner/plc-driver.js';
import type { ScannerCommand } from '../drivers/scanner/plc-map.js';
import type { ScanStore, StoredScan } from '../storage/scan-store.js';

export const ROLES = ['viewer', 'operator', 'technician', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** SPEC §4 lane states. */
export type LaneStateName = 'offline' | 'idle' | 'occupied' | 'alarm' | 'fault';

/** What the console shows on a lane tile and the technician's health page. */
export interface LaneSnapshot {
  readonly id: string;
  readonly name: string;
  readonly driver: LaneDescriptor['driver'];
  readonly channels: LaneDescriptor['channels'];
  readonly gammaChannelNames: readonly string[];
  readonly state: LaneStateName;
  /** ISO time the state last changed. */
  readonly since: string;
  readonly connection: ConnectionState;
  readonly connectionDetail: string | null;
  /** The occupancy in progress, if any. */
  readonly occupancySeq: number | null;
  readonly deviceAlarm: boolean;
  readonly activeFaults: readonly FaultCode[];
  readonly tamper: boolean;
  readonly background: {
    readonly gammaCps: readonly number[] | null;
    readonly neutronCps: readonly number[] | null;
    readonly gammaFault: 'none' | 'high' | 'low';
    readonly neutronFault: 'none' | 'high' | 'low';
    /** ISO time of the last background report. */
    readonly at: string | null;
  };
  readonly lastOccupancy: {
    readonly seq: number;
    readonly end: string;
    readonly alarm: boolean;
    readonly disposition: string;
  } | null;
  /** Device setup blocks as last reported (VM-250 SG1…SN2, Modbus description block). */
  readonly deviceSetup: Readonly<Record<string, Readonly<Record<string, number | string | null>>>>;
  /** Lines or polls that could not be used, by reason. */
  readonly badInput: Readonly<Record<string, number>>;
  readonly unknownRecords: number;
}

/** How a configuration change took effect. */
export interface ConfigApplyResult {
  /** Fields now in effect (from the lane's next occupancy at the latest). */
  readonly live: readonly string[];
  /** Fields stored but in effect only after the gateway restarts. */
  readonly restartRequired: readonly string[];
}

/** The gateway's lanes as the API sees them. */
export interface LaneRuntime {
  snapshots(): LaneSnapshot[];
  snapshot(id: string): LaneSnapshot | null;
  /** The configuration in effect (the file plus changes made through the API). */
  config(): GatewayConfig;
  /** Apply an already validated lane configuration. */
  updateLane(next: LaneConfig): ConfigApplyResult;
}

export type { SecondaryInspection } from '../alarm/lifecycle.js';
export type AlarmStatus = AlarmState;

/** An alarm as the console shows it: lifecycle plus what the pipeline said when it was raised. */
export interface AlarmView {
  readonly id: string;
  readonly lane: string;
  readonly seq: number;
  readonly deviceIndex: number | null;
  /** ISO time the alarm was raised. */
  readonly raisedAt: string;
  readonly status: AlarmState;
  /** Pass back as expectedVersion to refuse a change when someone else changed the alarm meanwhile. */
  readonly version: number;
  readonly gammaAlarm: boolean;
  readonly neutronAlarm: boolean;
  readonly category: string;
  readonly disposition: string;
  readonly confidence: number;
  readonly reasons: readonly string[];
  readonly acknowledged: { readonly by: string; readonly at: string } | null;
  readonly adjudication: {
    readonly code: number;
    readonly label: string;
    readonly group: string;
    readonly secondaryInspection: SecondaryInspection;
    readonly notes: string;
    readonly by: string;
    readonly at: string;
  } | null;
}

export interface AlarmHistoryEntry {
  readonly version: number;
  readonly at: string;
  readonly action: string;
  readonly by: string;
  readonly implicit: boolean;
  readonly before: unknown;
  readonly after: unknown;
}

export interface AdjudicationInput {
  readonly code: number;
  readonly secondaryInspection?: SecondaryInspection;
  readonly notes?: string;
}

/** An alarm before and after one change. */
export interface AlarmChangeView {
  readonly before: AlarmView;
  readonly after: AlarmView;
}

/**
 * Called inside a transition's transaction (the audit entry): it commits with the change or the
 * change does not happen.
 */
export type AlongsideChange = (change: AlarmChangeView) => void;

/** The alarm lifecycle (SPEC §3 step 5) as the API needs it. Errors are GatewayErrors (ALARM_*). */
export interface AlarmService {
  list(query: { lane?: string; status?: AlarmState; limit: number; cursor?: string }): {
    items: AlarmView[];
    nextCursor: string | null;
  };
  get(id: string): AlarmView | null;
  /** The alarm an occupancy raised, if any. */
  byOccupancy(lane: string, seq: number): AlarmView | null;
  history(id: string): AlarmHistoryEntry[];
  acknowledge(id: string, by: string, expectedVersion?: number, alongside?: AlongsideChange): AlarmChangeView;
  adjudicate(
    id: string,
    input: AdjudicationInput,
    by: string,
    expectedVersion?: number,
    alongside?: AlongsideChange,
  ): AlarmChangeView;
  /** Alarms not yet adjudicated, per lane (for tiles and /metrics). */
  openCounts(): Record<string, number>;
}

/** Builds an ANSI N42.42 document for a stored occupancy; null when it is unknown. */
export type N42Builder = (lane: string, seq: number) => string | null;

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, boolean>>;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** The lanes' cargo scanners as the API needs them (src/app/scanner-service.ts implements it). */
export interface ScanPort {
  readonly store: ScanStore;
  readonly lanes: readonly {
    readonly lane: string;
    readonly uploadTokens: readonly string[];
    /** The scanner's PLC as last polled; null when the lane's scanner has none configured. */
    readonly plc: ScannerPlcView | null;
  }[];
  /** Analyze, link, store and report an uploaded scan of `lane`. */
  ingest(lane: string, read: ReadScan): Promise<StoredScan>;
  /**
   * Write a command to `lane`'s scanner PLC; GatewayError SCANNER_NOT_FOUND (no PLC),
   * SCANNER_COMMAND_REFUSED (its state does not allow it), SCANNER_COMMAND_FAILED (the write).
   */
  command(lane: string, command: ScannerCommand): Promise<ScannerPlcView>;
}
