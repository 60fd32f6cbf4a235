import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Counters } from '../../../src/core/counters.js';
import { silentLogger } from '../../../src/core/logger.js';
import type { ReadScan } from '../../../src/drivers/scanner/adapter.js';
import { ScanInbox, type Rejection } from '../../../src/drivers/scanner/inbox.js';
import { encodeImage16 } from '../../../src/imaging/decode.js';
import { dropScan } from '../../../simulators/scanner/inbox-writer.js';
import { makePhantom } from '../../../simulators/scanner/phantom.js';

let dir: string;
let clock: number;
let scans: ReadScan[];
let rejected: Rejection[];
let inbox: ScanInbox;
const counters = new Counters();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rpm-inbox-'));
  clock = 1_000_000;
  scans = [];
  rejected = [];
  // Stepped by hand (poll()) with an injected clock: no sleeps, robust under load.
  inbox = new ScanInbox({
    dir,
    settleMs: 500,
    incompleteAfterMs: 5_000,
    logger: silentLogger,
    counters,
    now: () => clock,
    onScan: (s) => void scans.push(s),
    onRejected: (r) => void rejected.push(r),
  });
  await inbox.start();
  await inbox.stop(); // folders made; the test drives poll() itself
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Two polls `settleMs` apart: the first sees the files, the second finds them settled. */
async function settle(): Promise<void> {
  await inbox.poll();
  clock += 600;
  await inbox.poll();
}

const phantom = (seed: string, energies: 1 | 2 = 1) =>
  makePhantom({ seed, width: 128, height: 64, energies, anomalies: 1 });

describe('scanner inbox', () => {
  it('takes PNG, TIFF (two energies) and DICOS scans and moves them to processed/', async () => {
    await dropScan(dir, phantom('a', 2), { scanId: 'A', lane: 'lane-1', format: 'png' });
    await dropScan(dir, phantom('b'), { scanId: 'B', format: 'tiff' });
    await dropScan(dir, phantom('c'), { scanId: 'C', format: 'dicos' });
    await settle();
    expect(scans.map((s) => s.scan.sources[0]).sort()).toEqual(['A.json', 'B.json', 'C.dcm']);
    const a = scans.find((s) => s.scan.meta.scanId === 'A')!;
    expect(a.scan.low).toBeDefined();
    expect(a.scan.meta.lane).toBe('lane-1');
    expect(await readdir(join(dir, 'processed'))).toEqual(
      expect.arrayContaining(['A.json', 'A-high.png', 'A-low.png', 'B.json', 'C.dcm']),
    );
    expect(rejected).toEqual([]);
  });

  it('waits for a file still being written, then takes it', async () => {
    const p = phantom('w');
    const png = await encodeImage16(p.high, 'png');
    await writeFile(join(dir, 'W-high.png'), png.subarray(0, png.length >> 1));
    await writeFile(join(dir, 'W.json'), JSON.stringify({ scanId: 'W', files: { high: 'W-high.png' } }));
    await inbox.poll(); // sees a half file
    clock += 300;
    await writeFile(join(dir, 'W-high.png'), png.subarray(0, png.length - 100)); // still growing
    await inbox.poll();
    clock += 300;
    await inbox.poll(); // the sidecar has settled, the image has not: wait
    expect(scans).toHaveLength(0);
    expect(rejected).toHaveLength(0);
    await writeFile(join(dir, 'W-high.png'), png); // the writer finishes
    await inbox.poll();
    expect(scans).toHaveLength(0);
    clock += 600;
    await inbox.poll();
    expect(scans.map((s) => s.scan.meta.scanId)).toEqual(['W']);
  });

  it('rejects bad input with a clear record and keeps flowing', async () => {
    const p = phantom('bad');
    const png = await encodeImage16(p.high, 'png');
    // Truncated image whose writer died (stable but short).
    await writeFile(join(dir, 'T-high.png'), png.subarray(0, 300));
    await writeFile(join(dir, 'T.json'), JSON.stringify({ scanId: 'T', files: { high: 'T-high.png' } }));
    // Malformed sidecar.
    await writeFile(join(dir, 'M.json'), '{"scanId": "M", "files": ');
    // Sidecar naming a file that never arrives.
    await writeFile(join(dir, 'N.json'), JSON.stringify({ scanId: 'N', files: { high: 'never.png' } }));
    // Sidecar naming a directory and a link: refused at once, never read.
    await mkdir(join(dir, 'D-high.png'));
    await writeFile(join(dir, 'D.json'), JSON.stringify({ scanId: 'D', files: { high: 'D-high.png' } }));
    await symlink('/etc/hostname', join(dir, 'L-high.png'));
    await writeFile(join(dir, 'L.json'), JSON.stringify({ scanId: 'L', files: { high: 'L-high.png' } }));
    // An image with no sidecar.
    await writeFile(join(dir, 'orphan.png'), png);
    // Temp files of atomic writers are ignored.
    await writeFile(join(dir, '.X-high.png.123.tmp'), 'partial');
    // And one good scan among them.
    await dropScan(dir, p, { scanId: 'G' });
    await settle();
    expect(scans.map((s) => s.scan.meta.scanId)).toEqual(['G']);
    expect(rejected.map((r) => [r.files[0], r.code]).sort()).toEqual([
      ['D.json', 'SIDECAR_INVALID'],
      ['L.json', 'SIDECAR_INVALID'],
      ['M.json', 'SIDECAR_INVALID'],
      ['T.json', 'IMAGE_CORRUPT'],
    ]);
    expect(rejected.find((r) => r.files[0] === 'D.json')!.message).toMatch(/not a regular file/);
    clock += 6_000;
    await inbox.poll();
    expect(rejected.map((r) => [r.files[0], r.code]).sort()).toEqual([
      ['D.json', 'SIDECAR_INVALID'],
      ['L.json', 'SIDECAR_INVALID'],
      ['M.json', 'SIDECAR_INVALID'],
      ['N.json', 'SIDECAR_INVALID'],
      ['T.json', 'IMAGE_CORRUPT'],
      ['orphan.png', 'SIDECAR_INVALID'],
    ]);
    const record = JSON.parse(
      await readFile(join(dir, 'rejected', 'T.json.rejected.json'), 'utf8'),
    ) as Rejection;
    expect(record).toMatchObject({ code: 'IMAGE_CORRUPT', files: ['T.json', 'T-high.png'] });
    expect(record.message).toMatch(/T-high\.png/);
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['.X-high.png.123.tmp']));
    // Still flowing.
    await dropScan(dir, phantom('after'), { scanId: 'AFTER' });
    await settle();
    expect(scans.map((s) => s.scan.meta.scanId)).toEqual(['G', 'AFTER']);
  });
});
