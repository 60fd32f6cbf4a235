/**
 * One live lane's path from lane events to output records: the alarm pipeline (SPEC §3), the
 * occupancy accumulator, and the lean fault / tamper / device-restart records. The records are
 * those replay prints for the same lane (SPEC §5), plus one `alarm-decision` record per
 * decisive sample — written in the same call that handles the sample's event, so the decision
 * leaves as soon as the line that made it arrived.
 *
 * The lane's channel counts come from `descriptor`; without one they are learnt from the first
 * count-carrying event (VM-250 lanes report 4 + 4 channels, Modbus lanes 1 + 1), and setup
 * events seen before it are handed to the pipeline once it exists.
 */
import { createAlarmPipeline, type AlarmPipeline, type AlarmPipelineOptions } from '../alarm/pipeline.js';
import type { DeviceConfigEvent, LaneDescriptor, LaneEvent } from '../domain/lane-events.js';
import {
  OccupancyAccumulator,
  alarmDecisionRecord,
  deviceRestartRecord,
  faultRecord,
  tamperRecord,
  type OccupancyRecord,
} from './occupancy-record.js';

export type OutputRecord = OccupancyRecord | Record<string, unknown>;

export interface LaneRecorderOptions {
  readonly lane: string;
  /** The lane's channels; learnt from its first counts when omitted. */
  readonly descriptor?: LaneDescriptor;
  readonly nSigma?: number;
  readonly neutronFalseAlarmP?: number;
  /** Further pipeline options (adjudication, classifier refiner, …). */
  readonly pipeline?: AlarmPipelineOptions;
  /** Also emit fault, tamper and device-restart records (default true). */
  readonly eventRecords?: boolean;
  /** Emit an `alarm-decision` record on each decisive sample (default true). */
  readonly decisionRecords?: boolean;
  /** Called with every output record, in order. */
  readonly write: (record: OutputRecord) => void;
  /** Called with every completed occupancy, after `write` (for counters and persistence). */
  readonly onOccupancy?: (record: OccupancyRecord) => void;
}

export interface LaneRecorder {
  handle(event: LaneEvent): void;
}

const VM250_NAMES = ['masterUpper', 'masterLower', 'slaveLower', 'slaveUpper'];

/** The descriptor of a lane whose count lines carry `channels` channels per radiation. */
export function inferredDescriptor(lane: string, channels: number): LaneDescriptor {
  const n = Math.max(1, channels);
  return {
    id: lane,
    driver: n === 4 ? 'vm250' : 'modbus-rpm',
    channels: { gamma: n, neutron: n },
    gammaChannelNames:
      n === 4 ? VM250_NAMES : n === 1 ? ['sum'] : Array.from({ length: n }, (_, k) => `channel ${k + 1}`),
  };
}

export function createLaneRecorder(options: LaneRecorderOptions): LaneRecorder {
  const { lane, write } = options;
  const eventRecords = options.eventRecords ?? true;
  const decisionRecords = options.decisionRecords ?? true;
  const pipelineOptions: AlarmPipelineOptions = {
    ...options.pipeline,
    ...(options.nSigma === undefined ? {} : { nSigma: options.nSigma }),
    ...(options.neutronFalseAlarmP === undefined
      ? {}
      : { neutronFalseAlarmProbability: options.neutronFalseAlarmP }),
  };
  let pipeline: AlarmPipeline | null =
    options.descriptor === undefined ? null : createAlarmPipeline(options.descriptor, pipelineOptions);
  // Setup dumps arrive before any count: kept (one per section) for a pipeline built later.
  const setup = new Map<string, DeviceConfigEvent>();
  const accumulator = new OccupancyAccumulator(lane);
  // The tracker flags every line of a restart dump; report the restart once per dump.
  let restartDumpOpen = false;

  const pipelineFor = (e: LaneEvent): AlarmPipeline | null => {
    if (pipeline !== null) return pipeline;
    const channels = e.kind === 'sample' ? e.counts.length : e.kind === 'background' ? e.cps.length : 0;
    if (channels === 0) return null;
    pipeline = createAlarmPipeline(inferredDescriptor(lane, channels), pipelineOptions);
    for (const s of setup.values()) pipeline.handle(s);
    setup.clear();
    return pipeline;
  };

  return {
    handle(e: LaneEvent): void {
      const p = pipelineFor(e);
      const out = p === null ? null : p.handle(e);
      if (e.kind !== 'device-config') restartDumpOpen = false;
      switch (e.kind) {
        case 'sample':
          accumulator.sample(e);
          if (out !== null && out.kind === 'decision' && decisionRecords) write(alarmDecisionRecord(out));
          return;
        case 'occupancy-start':
        case 'speed':
          accumulator.handle(e);
          if (out !== null && out.kind === 'decision' && decisionRecords) write(alarmDecisionRecord(out));
          return;
        case 'occupancy-end': {
          // Without a pipeline yet (an end before any count), an empty one assesses it.
          const a = out !== null && out.kind === 'assessment' ? out : pipelineFor(sampleless(e))?.handle(e);
          if (a === undefined || a === null || a.kind !== 'assessment') return;
          const record = accumulator.finish(e, a);
          write(record);
          options.onOccupancy?.(record);
          return;
        }
        case 'fault':
          if (eventRecords) write(faultRecord(e));
          return;
        case 'tamper':
          if (eventRecords) write(tamperRecord(e));
          return;
        case 'device-config':
          if (p === null) setup.set(e.section, e);
          if (eventRecords && e.restarted && !restartDumpOpen) {
            restartDumpOpen = true;
            write(deviceRestartRecord(lane, e.time));
          }
          return;
        case 'background':
        case 'bad-input':
        case 'unknown-record':
        case 'connection':
          return;
      }
    },
  };
}

/** A stand-in count event that makes `pipelineFor` build a default (4-channel) pipeline. */
function sampleless(e: LaneEvent): LaneEvent {
  return {
    kind: 'background',
    lane: e.lane,
    time: e.time,
    radiation: 'gamma',
    cps: [0, 0, 0, 0],
    fault: 'none',
  };
}
