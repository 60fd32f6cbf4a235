/**
 * Each lane's live state for the console tiles and the health page, kept from its lane events:
 * SPEC §4 states (offline, idle, occupied, alarm, fault) with precedence offline > fault >
 * alarm > occupied > idle. "alarm" covers an occupancy the device flags (GA/NA) and the last
 * completed occupancy when it alarmed, until the next vehicle. Tamper counts as a fault.
 *
 * Pure bookkeeping: fed events with their own times, no clock, no I/O.
 */
import type { FaultCode, LaneDescriptor, LaneEvent } from '../../domain/lane-events.js';
import type { LaneSnapshot, LaneStateName } from '../ports.js';

interface Mutable {
  state: LaneStateName;
  since: number;
  connection: LaneSnapshot['connection'];
  connectionDetail: string | null;
  occupancySeq: number | null;
  deviceAlarm: boolean;
  lastAlarmed: boolean;
  faults: Set<FaultCode>;
  tamper: boolean;
  gammaCps: readonly number[] | null;
  neutronCps: readonly number[] | null;
  gammaFault: 'none' | 'high' | 'low';
  neutronFault: 'none' | 'high' | 'low';
  backgroundAt: number | null;
  lastOccupancy: LaneSnapshot['lastOccupancy'];
  deviceSetup: Record<string, Readonly<Record<string, number | string | null>>>;
  badInput: Record<string, number>;
  unknownRecords: number;
}

/** The fields of a completed occupancy record the tracker needs. */
export interface CompletedOccupancy {
  readonly lane: string;
  readonly seq: number;
  readonly end: string;
  readonly gamma: { readonly alarm: boolean };
  readonly neutron: { readonly alarm: boolean };
  readonly device: { readonly gammaAlarm: boolean; readonly neutronAlarm: boolean };
  readonly assessment: { readonly disposition: string };
}

export class LaneStateTracker {
  private readonly lanes = new Map<string, { descriptor: LaneDescriptor; name: string; m: Mutable }>();

  constructor(lanes: ReadonlyArray<{ descriptor: LaneDescriptor; name?: string | undefined }>, start = 0) {
    for (const { descriptor, name } of lanes) {
      this.lanes.set(descriptor.id, {
        descriptor,
        name: name ?? descriptor.id,
        m: {
          state: 'offline',
          since: start,
          connection: 'connecting',
          connectionDetail: null,
          occupancySeq: null,
          deviceAlarm: false,
          lastAlarmed: false,
          faults: new Set(),
          tamper: false,
          gammaCps: null,
          neutronCps: null,
          gammaFault: 'none',
          neutronFault: 'none',
          backgroundAt: null,
          lastOccupancy: null,
          deviceSetup: {},
          badInput: {},
          unknownRecords: 0,
        },
      });
    }
  }

  rename(id: string, name: string): void {
    const lane = this.lanes.get(id);
    if (lane) lane.name = name;
  }

  /** Feed a lane event; returns the lane's new state name when it changed. */
  handle(e: LaneEvent): LaneStateName | null {
    const lane = this.lanes.get(e.lane);
    if (!lane) return null;
    const m = lane.m;
    switch (e.kind) {
      case 'connection':
        m.connection = e.state;
        m.connectionDetail = e.detail ?? null;
        break;
      case 'background':
        if (e.radiation === 'gamma') {
          m.gammaCps = e.cps;
          m.gammaFault = e.fault;
        } else {
          m.neutronCps = e.cps;
          m.neutronFault = e.fault;
        }
        m.backgroundAt = e.time;
        break;
      case 'occupancy-start':
        m.occupancySeq = e.seq;
        m.deviceAlarm = false;
        m.lastAlarmed = false;
        break;
      case 'sample':
        if (e.deviceAlarm) m.deviceAlarm = true;
        break;
      case 'occupancy-end':
        m.occupancySeq = null;
        m.deviceAlarm = false;
        break;
      case 'fault':
        if (e.active) m.faults.add(e.code);
        else m.faults.delete(e.code);
        break;
      case 'tamper':
        m.tamper = e.active;
        break;
      case 'device-config':
        m.deviceSetup[e.section] = e.values;
        break;
      case 'bad-input':
        m.badInput[e.reason] = (m.badInput[e.reason] ?? 0) + 1;
        break;
      case 'unknown-record':
        m.unknownRecords++;
        break;
      case 'speed':
        break;
    }
    return this.settle(m, e.time);
  }

  /** Feed a completed occupancy record (it carries the gateway's verdict). */
  occupancy(r: CompletedOccupancy, time: number): LaneStateName | null {
    const lane = this.lanes.get(r.lane);
    if (!lane) return null;
    const alarm = r.gamma.alarm || r.neutron.alarm || r.device.gammaAlarm || r.device.neutronAlarm;
    lane.m.lastAlarmed = alarm;
    lane.m.lastOccupancy = { seq: r.seq, end: r.end, alarm, disposition: r.assessment.disposition };
    return this.settle(lane.m, time);
  }

  snapshot(id: string): LaneSnapshot | null {
    const lane = this.lanes.get(id);
    if (!lane) return null;
    const { descriptor, m } = lane;
    return {
      id,
      name: lane.name,
      driver: descriptor.driver,
      channels: descriptor.channels,
      gammaChannelNames: descriptor.gammaChannelNames,
      state: m.state,
      since: new Date(m.since).toISOString(),
      connection: m.connection,
      connectionDetail: m.connectionDetail,
      occupancySeq: m.occupancySeq,
      deviceAlarm: m.deviceAlarm,
      activeFaults: [...m.faults].sort(),
      tamper: m.tamper,
      background: {
        gammaCps: m.gammaCps,
        neutronCps: m.neutronCps,
        gammaFault: m.gammaFault,
        neutronFault: m.neutronFault,
        at: m.backgroundAt === null ? null : new Date(m.backgroundAt).toISOString(),
      },
      lastOccupancy: m.lastOccupancy,
      deviceSetup: { ...m.deviceSetup },
      badInput: { ...m.badInput },
      unknownRecords: m.unknownRecords,
    };
  }

  snapshots(): LaneSnapshot[] {
    return [...this.lanes.keys()].map((id) => this.snapshot(id)!);
  }

  private settle(m: Mutable, time: number): LaneStateName | null {
    const next = stateOf(m);
    if (next === m.state) return null;
    m.state = next;
    m.since = time;
    return next;
  }
}

function stateOf(m: Mutable): LaneStateName {
  if (m.connection !== 'connected') return 'offline';
  if (m.tamper || m.faults.size > 0 || m.gammaFault !== 'none' || m.neutronFault !== 'none') return 'fault';
  if (m.deviceAlarm || (m.occupancySeq === null && m.lastAlarmed)) return 'alarm';
  if (m.occupancySeq !== null) return 'occupied';
  return 'idle';
}
