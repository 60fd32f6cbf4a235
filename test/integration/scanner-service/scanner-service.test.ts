import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createScannerService, type ScannerService } from '../../../src/app/scanner-service.js';
import { validateConfig } from '../../../src/config/load.js';
import { SystemClock } from '../../../src/core/clock.js';
import { Counters } from '../../../src/core/counters.js';
import { silentLogger } from '../../../src/core/logger.js';
import { encodeImage16 } from '../../../src/imaging/decode.js';
import { dropScan } from '../../../simulators/scanner/inbox-writer.js';
import { makePhantom } from '../../../simulators/scanner/phantom.js';
import { startScannerPlcServer, type ScannerPlcServer } from '../../../simulators/scanner/plc-server.js';
import { waitFor } from '../../support/wait-for.js';

let dir: string;
let service: ScannerService | null;
let plc: ScannerPlcServer | null;
let records: Record<string, unknown>[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rpm-scanner-service-'));
  records = [];
  service = null;
  plc = null;
});
afterEach(async () => {
  await service?.stop();
  await plc?.close();
  await rm(dir, { recursive: true, force: true });
});

function build(scanner: Record<string, unknown>, counters = new Counters()): ScannerService {
  const validated = validateConfig({
    site: 'bench',
    storage: { dir: join(dir, 'state') },
    lanes: [
      {
        id: 'lane-1',
        driver: 'vm250',
        address: 'tcp://127.0.0.1:1',
        scanner: { inbox: join(dir, 'inbox'), ...scanner },
      },
      { id: 'lane-2', driver: 'vm250', address: 'tcp://127.0.0.1:2' },
    ],
  });
  if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
  const s = createScannerService(validated.config, {
    clock: new SystemClock(),
    logger: silentLogger,
    counters,
    output: (r) => void records.push(r),
    inboxPollMs: 50,
    inboxSettleMs: 50,
  });
  if (s === null) throw new Error('expected a scanner service');
  return s;
}

function occupancy(seq: number, startMs: number, endMs: number, alarm: boolean) {
  return {
    type: 'occupancy',
    lane: 'lane-1',
    seq,
    start: new Date(startMs).toISOString(),
    end: new Date(endMs).toISOString(),
    device: { gammaAlarm: false, neutronAlarm: false },
    gamma: { alarm },
    neutron: { alarm: false },
  };
}

describe('scanner service', () => {
  it('is not built when no lane has a scanner', () => {
    const validated = validateConfig({
      site: 'bench',
      lanes: [{ id: 'lane-1', driver: 'vm250', address: 'tcp://127.0.0.1:1' }],
    });
    if (!validated.ok) throw new Error('invalid');
    const s = createScannerService(validated.config, {
      clock: new SystemClock(),
      logger: silentLogger,
      counters: new Counters(),
      output: () => undefined,
    });
    expect(s).toBeNull();
  });

  it('analyzes an inbox scan, links it to the alarming occupancy and raises the priority to critical', async () => {
    service = build({});
    await service.start();
    const now = Date.now();
    service.record(occupancy(7, now - 20_000, now - 5_000, true));
    await dropScan(join(dir, 'inbox'), makePhantom({ seed: 'svc-dense', anomalies: ['dense'] }), {
      scanId: 'S-1',
      lane: 'lane-1',
      time: now - 3_000,
    });
    const record = await waitFor(() => records.find((r) => r.type === 'imaging.scan.analyzed'), {
      timeoutMs: 30_000,
      what: 'the analyzed record',
    });
    expect(record.scanId).toBe('S-1');
    expect(record.lane).toBe('lane-1');
    const fusion = record.fusion as { occupancySeq: number; priority: string; raised: boolean };
    expect(fusion.occupancySeq).toBe(7);
    expect(fusion.priority).toBe('critical');
    expect(fusion.raised).toBe(true);
    const stored = service.store.get('S-1')!;
    expect(stored.occupancySeq).toBe(7);
    expect(stored.shieldingSuspects).toBeGreaterThan(0);
    expect(existsSync(stored.overlayPath!)).toBe(true);
    expect(existsSync(stored.previewPath!)).toBe(true);
    expect(service.store.byOccupancy('lane-1', 7).map((s) => s.scanId)).toEqual(['S-1']);
  }, 60_000);

  it('refuses a second scan under an id it already has, keeping the first', async () => {
    service = build({});
    await service.start();
    const now = Date.now();
    await dropScan(join(dir, 'inbox'), makePhantom({ seed: 'svc-dense', anomalies: ['dense'] }), {
      scanId: 'S-9',
      time: now,
    });
    await waitFor(() => records.find((r) => r.type === 'imaging.scan.analyzed'), { timeoutMs: 30_000 });
    const first = service.store.get('S-9')!;
    await dropScan(join(dir, 'inbox'), makePhantom({ seed: 'svc-clean' }), { scanId: 'S-9', time: now + 1 });
    const rejectedDir = join(dir, 'inbox', 'rejected');
    const rejected = await waitFor(
      () => {
        const record = existsSync(rejectedDir)
          ? readdirSync(rejectedDir).find((n) => n.endsWith('.rejected.json')) // not .tmp: complete
          : undefined;
        return record === undefined
          ? undefined
          : (JSON.parse(readFileSync(join(rejectedDir, record), 'utf8')) as { code: string });
      },
      { timeoutMs: 30_000, what: 'the rejection record' },
    );
    expect(rejected.code).toBe('SCAN_DUPLICATE');
    expect(records.filter((r) => r.type === 'imaging.scan.analyzed')).toHaveLength(1);
    expect(service.store.get('S-9')).toEqual(first);
  }, 60_000);

  it('rejects a PNG found cut part-way through its streamed decode as corrupt input, and goes on', async () => {
    const counters = new Counters();
    service = build({}, counters);
    await service.start();
    const inbox = join(dir, 'inbox');
    const png = await encodeImage16(makePhantom({ seed: 'svc-cut', width: 2048, height: 1024 }).high, 'png');
    // Headers and the first rows are fine: the analysis starts, then the decode fails.
    await writeFile(join(inbox, 'C-high.png'), png.subarray(0, Math.floor(png.length * 0.7)));
    await writeFile(join(inbox, 'C.json'), JSON.stringify({ scanId: 'C', files: { high: 'C-high.png' } }));
    const rejectedDir = join(inbox, 'rejected');
    const rejected = await waitFor(
      () =>
        existsSync(join(rejectedDir, 'C.json.rejected.json'))
          ? (JSON.parse(readFileSync(join(rejectedDir, 'C.json.rejected.json'), 'utf8')) as {
              code: string;
              message: string;
              files: string[];
            })
          : undefined,
      { timeoutMs: 30_000, what: 'the rejection record' },
    );
    expect(rejected.code).toBe('IMAGE_CORRUPT');
    expect(rejected.message).toMatch(/^C-high\.png: png could not be decoded \(truncated or corrupt\)/);
    expect(rejected.files).toEqual(['C.json', 'C-high.png']);
    expect(readdirSync(rejectedDir).sort()).toEqual(['C-high.png', 'C.json', 'C.json.rejected.json']);
    // Counted as rejected input, not as a failed analysis.
    expect(counters.get('scanner.inbox.rejected.IMAGE_CORRUPT')).toBe(1);
    expect(counters.get('scanner.scans.failed')).toBe(0);
    await dropScan(inbox, makePhantom({ seed: 'svc-clean' }), { scanId: 'S-after', time: Date.now() });
    const next = await waitFor(() => records.find((r) => r.type === 'imaging.scan.analyzed'), {
      timeoutMs: 30_000,
    });
    expect(next.scanId).toBe('S-after');
    expect(service.store.get('C')).toBeNull();
  }, 60_000);

  it('links a scan that arrived before its occupancy ended when the occupancy record comes', async () => {
    service = build({});
    await service.start();
    const now = Date.now();
    await dropScan(join(dir, 'inbox'), makePhantom({ seed: 'svc-clean' }), { scanId: 'S-2', time: now });
    const first = await waitFor(() => records.find((r) => r.type === 'imaging.scan.analyzed'), {
      timeoutMs: 30_000,
    });
    expect((first.fusion as { occupancySeq: number | null }).occupancySeq).toBeNull();
    service.record(occupancy(8, now - 4_000, now + 2_000, false));
    const linked = records.find((r) => r.type === 'imaging.scan.linked');
    expect(linked?.scanId).toBe('S-2');
    expect(service.store.get('S-2')!.occupancySeq).toBe(8);
  }, 60_000);

  it('waits for the vehicle in the portal instead of joining the previous, alarming one', async () => {
    service = build({});
    await service.start();
    const now = Date.now();
    // Vehicle 8 alarmed and left 10 s ago; vehicle 9 entered 3 s ago; its scan arrives now.
    service.record(occupancy(8, now - 16_000, now - 10_000, true));
    service.laneEvent({
      kind: 'occupancy-start',
      lane: 'lane-1',
      time: now - 3_000,
      seq: 9,
      continuation: false,
      partial: false,
    });
    await dropScan(join(dir, 'inbox'), makePhantom({ seed: 'svc-clean' }), { scanId: 'S-3', time: now });
    const first = await waitFor(() => records.find((r) => r.type === 'imaging.scan.analyzed'), {
      timeoutMs: 30_000,
    });
    expect((first.fusion as { occupancySeq: number | null }).occupancySeq).toBeNull();
    service.record(occupancy(9, now - 3_000, now + 2_000, false));
    const linked = records.find((r) => r.type === 'imaging.scan.linked');
    expect(linked?.scanId).toBe('S-3');
    expect(service.store.get('S-3')!.occupancySeq).toBe(9);
    expect((linked!.fusion as { priority: string }).priority).toBe('normal');
  }, 60_000);

  it("reports a PLC whose status block does not match the site's register map", async () => {
    plc = await startScannerPlcServer({});
    service = build({
      plc: {
        address: `modbus-tcp://127.0.0.1:${plc.port}?unitId=1`,
        pollMs: 100,
        map: { signature: 0x1234 },
      },
    });
    await service.start();
    const record = await waitFor(
      () => records.find((r) => r.type === 'imaging.scanner.status' && r.problem !== null),
      { timeoutMs: 10_000, what: 'problem record' },
    );
    expect(record).toMatchObject({
      link: 'connected',
      problem: 'signature 0x5343 is not 0x1234',
      status: null,
    });
  }, 30_000);

  it('polls the scanner PLC and reports its status and link as they change', async () => {
    plc = await startScannerPlcServer({});
    service = build({ plc: { address: `modbus-tcp://127.0.0.1:${plc.port}?unitId=1`, pollMs: 100 } });
    await service.start();
    const view = await waitFor(() => service!.lanes[0]!.plc?.status && service!.lanes[0]!.plc, {
      timeoutMs: 10_000,
      what: 'PLC status',
    });
    expect(view).toMatchObject({ link: 'connected', linkDetail: 'first attempt', status: { state: 'idle' } });
    const statusRecords = () => records.filter((r) => r.type === 'imaging.scanner.status');
    // The link came up and the first status was read: one record each, on the lane.
    expect(
      statusRecords().map((r) => [r.lane, r.link, (r.status as { state?: string } | null)?.state]),
    ).toEqual([
      ['lane-1', 'connected', undefined],
      ['lane-1', 'connected', 'idle'],
    ]);

    plc.model.fault(17);
    const fault = await waitFor(
      () => statusRecords().find((r) => (r.status as { state: string } | null)?.state === 'fault'),
      { timeoutMs: 10_000, what: 'fault record' },
    );
    expect(fault).toMatchObject({ lane: 'lane-1', link: 'connected', status: { faultCode: 17 } });
    expect(fault.time).toBe(fault.since);

    // The PLC goes away: one record for the link, the last status kept; no record per retry.
    const port = plc.port;
    await plc.close();
    plc = null;
    const down = await waitFor(() => statusRecords().find((r) => r.link === 'disconnected'), {
      timeoutMs: 15_000,
      what: 'link down record',
    });
    expect(down).toMatchObject({ status: { state: 'fault', faultCode: 17 } });
    expect(down.linkDetail).toMatch(/retrying in \d+ ms$/);
    const count = statusRecords().length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(statusRecords().length).toBe(count);
    expect(service.lanes[0]!.plc).toMatchObject({ link: 'disconnected', status: { state: 'fault' } });

    plc = await startScannerPlcServer({ port });
    const up = await waitFor(() => statusRecords().find((r, i) => i >= count && r.link === 'connected'), {
      timeoutMs: 20_000,
      what: 'link up record',
    });
    expect(up.linkDetail).toMatch(/^after \d+ attempts$/);
  }, 60_000);
});
