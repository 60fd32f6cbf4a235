/**
 * The lanes' cargo scanners in the running gateway (SPEC §1.3, §3 item 6; docs/imaging.md
 * "Wiring"). Per lane with a `scanner` section: the watched inbox and, when configured, the PLC
 * driver. Every scan — from the inbox or an upload — is analyzed (inference and every per-pixel
 * step, the pictures included, in the model's worker thread; one scan at a time so memory stays
 * bounded), linked to the lane's occupancy by lane and
 * time window, fused (the case's priority), stored with its overlay and an 8-bit preview, and
 * written as an `imaging.scan.analyzed` record through the gateway's output.
 *
 * A scan usually arrives while its vehicle is still in the portal, before the occupancy record
 * exists: such a scan is kept as "waiting" for the window's length, and when the occupancy record
 * arrives the link and the new priority follow as an `imaging.scan.linked` record.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GatewayConfig, ScannerConfig } from '../config/schema.js';
import type { LaneEvent } from '../domain/lane-events.js';
import type { Clock } from '../core/clock.js';
import type { Counters } from '../core/counters.js';
import { describeError, GatewayError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ReadScan } from '../drivers/scanner/adapter.js';
import { ScanInbox } from '../drivers/scanner/inbox.js';
import type { ScannerPlcDriver, ScannerPlcView } from '../drivers/scanner/plc-driver.js';
import type { ScannerCommand } from '../drivers/scanner/plc-map.js';
import { createAnalyzer, overlayPng, previewPng, type Analyzer } from '../imaging/analyzer.js';
import {
  fuse,
  linkScan,
  type FusionOptions,
  type FusionResult,
  type OccupancyWindow,
} from '../imaging/fusion.js';
import { loadModel } from '../imaging/model-store.js';
import { createWorkerRunner, type ScoreRunner } from '../imaging/onnx-runtime.js';
import { recycleScanPixels } from '../imaging/pixel-pool.js';
import type { ScanAnalyzedData } from '../imaging/types.js';
import { buildLanePlc, commandPlc } from './scanner-plc.js';
import { openDatabase, type Db } from '../storage/database.js';
import { duplicateScanError, ScanStore, type StoredScan } from '../storage/scan-store.js';

export interface ScannerServiceDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly counters: Counters;
  /** Where `imaging.scan.analyzed` and `imaging.scan.linked` records go (the gateway's output). */
  readonly output: (record: Record<string, unknown>) => void;
  /** Inbox poll interval and settle time; defaults 500 / 1000 ms (tests shorten them). */
  readonly inboxPollMs?: number;
  readonly inboxSettleMs?: number;
}

export interface ScannerLaneInfo {
  readonly lane: string;
  readonly uploadTokens: readonly string[];
  /** The scanner's PLC, when the lane has one configured. */
  readonly plc: ScannerPlcView | null;
}

export interface ScannerService {
  readonly store: ScanStore;
  readonly lanes: readonly ScannerLaneInfo[];
  /** Every output record of the gateway: occupancy records feed fusion. */
  record(record: { readonly type?: unknown }): void;
  /** Every lane event: an occupancy's start tells fusion a vehicle is in the portal. */
  laneEvent(event: LaneEvent): void;
  /** Analyze, link, store and report one scan of `lane` (the inbox and the upload route call this). */
  ingest(lane: string, read: ReadScan): Promise<StoredScan>;
  /** Send a command to a lane's scanner PLC (scanner-plc.ts says when it is refused). */
  command(lane: string, command: ScannerCommand): Promise<ScannerPlcView>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** How many of a lane's recent occupancies are kept for linking. */
const RECENT_OCCUPANCIES = 64;

interface LaneScanner {
  readonly lane: string;
  readonly config: ScannerConfig;
  readonly fusion: FusionOptions;
  readonly inbox: ScanInbox;
  readonly plc: ScannerPlcDriver | null;
  readonly recent: OccupancyWindow[];
  /** Stored scans with no occupancy yet, until their window has passed. */
  readonly waiting: Map<string, { scan: StoredScan; data: ScanAnalyzedData; until: number }>;
  /** The occupancy in progress (started, record not yet come): its seq and start, epoch ms. */
  open: { readonly seq: number; readonly start: number } | null;
}

/** The scanner service, or null when no enabled lane has a scanner. */
export function createScannerService(config: GatewayConfig, deps: ScannerServiceDeps): ScannerService | null {
  const configured = config.lanes.filter((l) => l.enabled && l.scanner !== undefined);
  if (configured.length === 0) return null;
  const db: Db = openDatabase(config.storage.dir);
  const store = new ScanStore(db);
  const pictures = join(config.storage.dir, 'scans');
  const analyzers = new Map<string, Promise<{ runner: ScoreRunner; analyzer: Analyzer }>>();
  let queue: Promise<unknown> = Promise.resolve();
  let state: 'idle' | 'running' | 'stopped' = 'idle';

  const lanes = new Map<string, LaneScanner>();
  for (const lane of configured) {
    const sc = lane.scanner!;
    const logger = deps.logger.child({ lane: lane.id, device: 'scanner' });
    lanes.set(lane.id, {
      lane: lane.id,
      config: sc,
      fusion: { beforeMs: sc.fusion.beforeS * 1000, afterMs: sc.fusion.afterS * 1000 },
      inbox: new ScanInbox({
        dir: sc.inbox,
        logger,
        counters: deps.counters,
        now: () => deps.clock.now(),
        ...(deps.inboxPollMs === undefined ? {} : { pollMs: deps.inboxPollMs }),
        ...(deps.inboxSettleMs === undefined ? {} : { settleMs: deps.inboxSettleMs }),
        onScan: async (read) => {
          await service.ingest(lane.id, read);
        },
      }),
      plc: sc.plc === undefined ? null : buildLanePlc(sc.plc, lane.id, logger, deps),
      recent: [],
      waiting: new Map(),
      open: null,
    });
  }

  const analyzerFor = (model: string | undefined) => {
    const key = model ?? '';
    let entry = analyzers.get(key);
    if (entry === undefined) {
      entry = (async () => {
        const runner = await createWorkerRunner(await loadModel(model));
        return { runner, analyzer: createAnalyzer({ runner, preview: true }) };
      })();
      analyzers.set(key, entry);
    }
    return entry;
  };

  /** A scan id already stored would replace that scan's record and pictures: refused. */
  const refuseDuplicate = (scanId: string): void => {
    if (store.get(scanId) !== null) throw duplicateScanError(scanId);
  };

  const analyzeOne = async (lane: LaneScanner, read: ReadScan): Promise<StoredScan> => {
    refuseDuplicate(read.scan.meta.scanId); // again here: two copies may have been queued together
    const { analyzer } = await analyzerFor(lane.config.model);
    const now = deps.clock.now();
    const meta = read.scan.meta;
    if (meta.lane !== undefined && meta.lane !== lane.lane) {
      deps.counters.increment('scanner.lane-mismatch');
      deps.logger.warn('scan names another lane than its scanner; using the scanner’s lane', {
        scanId: meta.scanId,
        named: meta.lane,
        lane: lane.lane,
      });
    }
    // The inbox belongs to the lane; a scan without a time is taken as started when received.
    const scan = {
      ...read.scan,
      meta: {
        ...meta,
        lane: lane.lane,
        time: meta.time ?? now,
        ...(lane.config.polarity === undefined ? {} : { polarity: lane.config.polarity }),
      },
    };
    const analysis = await analyzer.analyze(scan, Math.round(read.decodeMs * 100) / 100);
    recycleScanPixels(scan); // nothing reads the scan's images after its analysis
    const data = analysis.data;
    const occupancy = linkScan(data, lane.recent, lane.fusion, lane.open?.start ?? null);
    const fusion = fuse(data, occupancy, lane.fusion);
    const safeId = data.scanId.replace(/[^A-Za-z0-9._-]/g, '_');
    await mkdir(pictures, { recursive: true });
    const overlayPath = join(pictures, `${lane.lane}-${safeId}-overlay.png`);
    const previewPath = join(pictures, `${lane.lane}-${safeId}-preview.png`);
    await writeFile(overlayPath, await overlayPng(analysis));
    await writeFile(previewPath, await previewPng(analysis));
    const stored = toStored(data, fusion, now, overlayPath, previewPath);
    store.put(stored);
    deps.counters.increment('scanner.scans.analyzed');
    deps.output({ type: 'imaging.scan.analyzed', ...data, fusion });
    if (occupancy === null) {
      const t = Date.parse(data.time ?? new Date(now).toISOString());
      lane.waiting.set(data.scanId, {
        scan: stored,
        data,
        until: t + (lane.fusion.beforeMs ?? 30_000) + (lane.fusion.afterMs ?? 120_000),
      });
    }
    return stored;
  };

  const service: ScannerService = {
    store,
    get lanes() {
      return [...lanes.values()].map((l) => ({
        lane: l.lane,
        uploadTokens: l.config.uploadTokens,
        plc: l.plc?.view() ?? null,
      }));
    },
    record(record) {
      if (record.type !== 'occupancy') return;
      const r = record as unknown as OccupancyLike;
      const lane = lanes.get(r.lane);
      if (lane === undefined) return;
      const window: OccupancyWindow = {
        lane: r.lane,
        seq: r.seq,
        start: Date.parse(r.start),
        end: Date.parse(r.end),
        // Either the gateway's decision or the RPM's own verdict is a radiation alarm for the case.
        gammaAlarm: r.gamma.alarm || r.device.gammaAlarm,
        neutronAlarm: r.neutron.alarm || r.device.neutronAlarm,
      };
      lane.recent.push(window);
      if (lane.recent.length > RECENT_OCCUPANCIES) lane.recent.shift();
      if (lane.open !== null && lane.open.seq <= r.seq) lane.open = null;
      const now = deps.clock.now();
      for (const [id, w] of lane.waiting) {
        if (w.until < now - 60_000) {
          lane.waiting.delete(id);
          continue;
        }
        if (linkScan(w.data, [window], lane.fusion) === null) continue;
        lane.waiting.delete(id);
        const fusion = fuse(w.data, window, lane.fusion);
        const linked = toStored(
          w.data,
          fusion,
          Date.parse(w.scan.receivedAt),
          w.scan.overlayPath,
          w.scan.previewPath,
        );
        store.put(linked);
        deps.output({
          type: 'imaging.scan.linked',
          scanId: w.data.scanId,
          lane: w.data.lane,
          time: w.data.time,
          fusion,
        });
      }
    },
    laneEvent(event) {
      if (event.kind !== 'occupancy-start') return;
      const lane = lanes.get(event.lane);
      if (lane !== undefined) lane.open = { seq: event.seq, start: event.time };
    },
    command(laneId, command) {
      const plc = lanes.get(laneId)?.plc;
      if (!plc) {
        const error = new GatewayError('SCANNER_NOT_FOUND', `lane ${laneId} has no scanner PLC`, {
          lane: laneId,
        });
        return Promise.reject(error);
      }
      return commandPlc(plc, laneId, command);
    },
    ingest(laneId, read) {
      const lane = lanes.get(laneId);
      if (lane === undefined) return Promise.reject(new Error(`lane ${laneId} has no scanner`));
      if (store.get(read.scan.meta.scanId) !== null) {
        deps.counters.increment('scanner.scans.duplicate');
        return Promise.reject(duplicateScanError(read.scan.meta.scanId));
      }
      // One scan at a time: inference already has its own thread; this bounds memory (SPEC §7).
      const next = queue.then(() => analyzeOne(lane, read));
      queue = next.catch(() => undefined);
      return next.catch(async (error: unknown) => {
        // A corrupt image found part-way through a streamed decode is the input's fault, not the
        // analysis's: the inbox or the upload route refuses it, as one found before the analysis.
        if (
          await read.scan.decoding?.done.then(
            () => false,
            () => true,
          )
        )
          throw error;
        deps.counters.increment('scanner.scans.failed');
        deps.logger.error('scan analysis failed', {
          lane: laneId,
          scanId: read.scan.meta.scanId,
          error: describeError(error),
        });
        throw error;
      });
    },
    async start() {
      if (state !== 'idle') return;
      state = 'running';
      // Load the models before the first scan arrives: a missing or invalid model shows at start.
      await Promise.all([...lanes.values()].map((l) => analyzerFor(l.config.model)));
      for (const l of lanes.values()) {
        await l.inbox.start();
        await l.plc?.start();
      }
    },
    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      for (const l of lanes.values()) {
        await l.inbox.stop();
        await l.plc?.stop();
      }
      await queue;
      for (const entry of analyzers.values()) {
        await entry.then(({ runner }) => runner.close()).catch(() => undefined);
      }
      db.close();
    },
  };
  return service;
}

interface OccupancyLike {
  readonly lane: string;
  readonly seq: number;
  readonly start: string;
  readonly end: string;
  readonly device: { readonly gammaAlarm: boolean; readonly neutronAlarm: boolean };
  readonly gamma: { readonly alarm: boolean };
  readonly neutron: { readonly alarm: boolean };
}

function toStored(
  data: ScanAnalyzedData,
  fusion: FusionResult,
  receivedAt: number,
  overlayPath: string | null,
  previewPath: string | null,
): StoredScan {
  return {
    scanId: data.scanId,
    lane: data.lane ?? '',
    time: data.time ?? new Date(receivedAt).toISOString(),
    receivedAt: new Date(receivedAt).toISOString(),
    occupancySeq: fusion.occupancySeq,
    priority: fusion.priority,
    raised: fusion.raised,
    reasons: fusion.reasons,
    regions: data.regions.length,
    shieldingSuspects: data.shieldingSuspects.length,
    maxScore: data.maxScore,
    analysis: data as unknown as Record<string, unknown>,
    overlayPath,
    previewPath,
  };
}
