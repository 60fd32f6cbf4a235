/**
 * The alarm path's own figures (issue 4 "Speed", SPEC §7), for `bench/run.ts`:
 * - CPU cost per sample of the alarm pipeline: the same pre-generated VM-250 lines through
 *   codec + occupancy tracker with and without the pipeline behind it; the difference in CPU
 *   time (process.cpuUsage, so a busy machine does not inflate it) divided by the sample events
 *   (gamma and neutron) the pipeline saw. Best of `rounds`. Background lines and occupancy ends
 *   are charged to the samples too: it is the pipeline's whole cost per sample.
 * - Line-in → decision-out latency at `lanes` lanes: the lanes' lines interleaved in stream
 *   time order (as a gateway serving that many lanes sees them), each line timed from before its
 *   decode to after the pipeline's answer; the figure is over the lines whose answer was a
 *   decision (the decisive sample). In-process and synchronous: the cost the gateway adds
 *   between a socket read and the decision event, without the socket or the MQTT hop.
 */
import { createAlarmPipeline, type AlarmPipeline } from '../src/alarm/pipeline.js';
import type { LaneDescriptor, LaneEvent } from '../src/domain/lane-events.js';
import { decodeLine } from '../src/drivers/vm250/codec.js';
import { createVm250Tracker } from '../src/drivers/vm250/occupancy-tracker.js';
import { vm250Stream } from '../simulators/vm250/stream.js';

export interface AlarmBenchOptions {
  /** Lanes fed together for the latency figure. Default 32. */
  readonly lanes?: number;
  /** Simulated occupancies per lane. Default 150 (≈ 10,000 lines per lane). */
  readonly occupanciesPerLane?: number;
  /** Seed prefix of the lanes' traffic. Default `alarm-bench`. */
  readonly seed?: string;
  /** Timed passes for the per-sample cost (best taken). Default 3. */
  readonly rounds?: number;
}

export interface AlarmBenchResult {
  readonly lanes: number;
  readonly lines: number;
  /** Sample events (gamma + neutron) handled by the pipelines in one pass. */
  readonly samples: number;
  /** Pipeline CPU per sample event (ns): (codec + tracker + pipeline) − (codec + tracker), CPU time. */
  readonly pipelineNsPerSample: number;
  /** Codec + tracker alone, per line (ns): the floor the pipeline adds to. */
  readonly floorNsPerLine: number;
  /** Codec + tracker + pipeline, per line (ns). */
  readonly fullNsPerLine: number;
  /** Decisions returned (one per radiation per alarming occupancy). */
  readonly decisions: number;
  /** Line-in → decision-out over the decisive lines (µs). */
  readonly latencyP50Us: number;
  readonly latencyP99Us: number;
  readonly latencyMaxUs: number;
}

interface Line {
  readonly lane: number;
  readonly atMs: number;
  readonly text: string;
}

const CHANNELS = ['masterUpper', 'masterLower', 'slaveLower', 'slaveUpper'];

/** Run the alarm-path bench (synchronous; ≈ 1–3 s at the defaults). */
export function benchAlarmPath(options: AlarmBenchOptions = {}): AlarmBenchResult {
  const lanes = options.lanes ?? 32;
  const perLane = options.occupanciesPerLane ?? 150;
  const seed = options.seed ?? 'alarm-bench';
  const rounds = Math.max(1, options.rounds ?? 3);
  const lines = generate(lanes, perLane, seed);

  let samples = 0;
  let floorBest = Infinity;
  let fullBest = Infinity;
  for (let r = 0; r < rounds; r++) {
    floorBest = Math.min(floorBest, pass(lines, lanes, false).ms);
    const full = pass(lines, lanes, true);
    fullBest = Math.min(fullBest, full.ms);
    samples = full.samples;
  }

  // Latency: every line timed; the decisive ones kept.
  const descriptors = laneDescriptors(lanes);
  const pipelines = descriptors.map((d) => createAlarmPipeline(d));
  const answer = { decision: false };
  const trackers = descriptors.map((d, k) =>
    createVm250Tracker({
      lane: d.id,
      emit: (e: LaneEvent) => {
        const out = pipelines[k]!.handle(e);
        if (out !== null && out.kind === 'decision') answer.decision = true;
      },
    }),
  );
  const latencies: number[] = [];
  for (const l of lines) {
    answer.decision = false;
    const t0 = performance.now();
    trackers[l.lane]!.line(decodeLine(l.text), l.atMs, l.text);
    const t1 = performance.now();
    if (answer.decision) latencies.push((t1 - t0) * 1000);
  }
  latencies.sort((a, b) => a - b);
  const q = (p: number): number =>
    latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return {
    lanes,
    lines: lines.length,
    samples,
    pipelineNsPerSample: samples === 0 ? 0 : (Math.max(0, fullBest - floorBest) * 1e6) / samples,
    floorNsPerLine: (floorBest * 1e6) / lines.length,
    fullNsPerLine: (fullBest * 1e6) / lines.length,
    decisions: latencies.length,
    latencyP50Us: q(0.5),
    latencyP99Us: q(0.99),
    latencyMaxUs: latencies.length === 0 ? 0 : latencies[latencies.length - 1]!,
  };
}

function laneDescriptors(lanes: number): LaneDescriptor[] {
  return Array.from({ length: lanes }, (_, k) => ({
    id: `lane-${k + 1}`,
    driver: 'vm250' as const,
    channels: { gamma: 4, neutron: 4 },
    gammaChannelNames: CHANNELS,
  }));
}

/** The lanes' lines, merged in stream-time order. */
function generate(lanes: number, perLane: number, seed: string): Line[] {
  const all: Line[] = [];
  for (let k = 0; k < lanes; k++) {
    for (const item of vm250Stream({ seed: `${seed}-${k}`, occupancies: perLane })) {
      if (item.kind === 'line') all.push({ lane: k, atMs: item.atMs, text: item.line });
    }
  }
  return all.sort((a, b) => a.atMs - b.atMs || a.lane - b.lane);
}

function pass(lines: readonly Line[], lanes: number, withPipeline: boolean): { ms: number; samples: number } {
  const descriptors = laneDescriptors(lanes);
  let samples = 0;
  let sink = 0;
  const pipelines: AlarmPipeline[] = descriptors.map((d) => createAlarmPipeline(d));
  const trackers = descriptors.map((d, k) =>
    createVm250Tracker({
      lane: d.id,
      emit: withPipeline
        ? (e: LaneEvent) => {
            if (e.kind === 'sample') samples++;
            if (pipelines[k]!.handle(e) !== null) sink++;
          }
        : (e: LaneEvent) => {
            if (e.kind === 'sample') samples++;
          },
    }),
  );
  // CPU time, not wall time: the figure is a cost, and must not count other processes' turns.
  const c0 = process.cpuUsage();
  for (const l of lines) trackers[l.lane]!.line(decodeLine(l.text), l.atMs, l.text);
  const cpu = process.cpuUsage(c0);
  const ms = (cpu.user + cpu.system) / 1000;
  if (sink < 0) throw new Error('unreachable');
  return { ms, samples };
}
