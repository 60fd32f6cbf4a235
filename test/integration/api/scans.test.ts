import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiApp } from '../../../src/api/app.js';
import { GatewayError } from '../../../src/core/errors.js';
import type { ScanPort } from '../../../src/api/ports.js';
import type { ReadScan } from '../../../src/drivers/scanner/adapter.js';
import type { ScannerPlcView } from '../../../src/drivers/scanner/plc-driver.js';
import { ScanStore, type StoredScan } from '../../../src/storage/scan-store.js';
import { createTestApi, type TestApi } from './harness.js';

interface Body {
  total: number;
  items: { scanId: string; overlayPath?: string }[];
  code: string;
  message: string;
  priority: string;
  analysis: { shieldingSuspects: unknown[] };
}
const TOKEN = 'scanner-token-0123456789';
let api: TestApi;
let app: FastifyInstance;
let dir: string;
const ingested: ReadScan[] = [];

function multipart(parts: { name: string; value: string | Buffer; filename?: string }[]) {
  const boundary = '----rpmtest';
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`;
    const type = p.filename ? 'Content-Type: image/png\r\n' : '';
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`));
    chunks.push(Buffer.isBuffer(p.value) ? p.value : Buffer.from(p.value));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** lane-1's scanner PLC as the scanner service reports it: faulted, then its link lost. */
const PLC: ScannerPlcView = {
  link: 'disconnected',
  linkDetail: 'connect ECONNREFUSED 127.0.0.1:1502; retrying in 1000 ms',
  problem: null,
  status: {
    state: 'fault',
    stateCode: 3,
    interlockClosed: false,
    radiationOn: false,
    vehiclePresent: false,
    remoteEnabled: true,
    emergencyStop: true,
    scanCounter: 41,
    faultCode: 17,
    energyMode: 2,
    rawStatus: 0x18,
  },
  since: '2024-05-01T10:05:00.000Z',
};

beforeAll(async () => {
  api = await createTestApi();
  dir = await mkdtemp(join(tmpdir(), 'rpm-scans-api-'));
  const overlay = join(dir, 'overlay.png');
  await writeFile(
    overlay,
    await sharp({ create: { width: 4, height: 2, channels: 3, background: '#f00' } })
      .png()
      .toBuffer(),
  );
  const store = new ScanStore(api.db);
  const scan: StoredScan = {
    scanId: 'S-1',
    lane: 'lane-1',
    time: '2024-05-01T10:00:00.000Z',
    receivedAt: '2024-05-01T10:00:02.000Z',
    occupancySeq: 3,
    priority: 'critical',
    raised: true,
    reasons: ['radiation alarm with 1 region(s) the X-ray could not penetrate'],
    regions: 0,
    shieldingSuspects: 1,
    maxScore: 2.5,
    analysis: { scanId: 'S-1', regions: [], shieldingSuspects: [{ x: 1, y: 1, width: 2, height: 1 }] },
    overlayPath: overlay,
    previewPath: join(dir, 'missing.png'),
  };
  store.put(scan);
  store.put({
    ...scan,
    scanId: 'S-2',
    occupancySeq: null,
    priority: 'normal',
    raised: false,
    time: '2024-05-01T11:00:00.000Z',
  });
  const scans: ScanPort = {
    store,
    lanes: [{ lane: 'lane-1', uploadTokens: [TOKEN], plc: PLC }],
    ingest: (_lane, read) => {
      ingested.push(read);
      return Promise.resolve(scan);
    },
    // As the scanner service answers a write the PLC did not take (tested over TCP in
    // test/integration/imaging/scanner-plc.test.ts).
    command: (lane, command) =>
      Promise.reject(
        new GatewayError('SCANNER_COMMAND_FAILED', `${lane}: the scanner's PLC did not take '${command}'`),
      ),
  };
  app = await buildApiApp({ ...api.ctx, scans });
});
afterAll(async () => {
  await app.close();
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

describe('scan routes', () => {
  it("shows each lane's scanner PLC on the lane and its findings on the health page; a refused write is 502", async () => {
    const cookie = await api.cookie('viewer');
    const lanes = (await app.inject({ url: '/api/v1/lanes', headers: { cookie } })).json<
      Array<{ id: string; scannerPlc: unknown }>
    >();
    expect(lanes.map((l) => [l.id, l.scannerPlc])).toEqual([['lane-1', PLC]]);
    const one = (await app.inject({ url: '/api/v1/lanes/lane-1', headers: { cookie } })).json<{
      scannerPlc: unknown;
    }>();
    expect(one.scannerPlc).toEqual(PLC);
    // A command the PLC did not take: 502 DEVICE_ERROR, in the API's error shape.
    const failed = await app.inject({
      method: 'POST',
      url: '/api/v1/lanes/lane-1/scanner/command',
      headers: { cookie: await api.cookie('operator') },
      payload: { command: 'stop' },
    });
    expect(failed.statusCode).toBe(502);
    expect(failed.json()).toMatchObject({
      code: 'DEVICE_ERROR',
      message: "lane-1: the scanner's PLC did not take 'stop'",
    });
    // The technicians' health page names what needs attention.
    const health = (await app.inject({ url: '/api/v1/detector-health', headers: { cookie } })).json<{
      lanes: Array<{ lane: string; findings: string[] }>;
    }>();
    expect(health.lanes.find((l) => l.lane === 'lane-1')!.findings).toEqual(
      expect.arrayContaining([
        'X-ray scanner PLC link down since 2024-05-01T10:05:00.000Z: connect ECONNREFUSED 127.0.0.1:1502; retrying in 1000 ms',
        'X-ray scanner fault, code 17',
        'X-ray scanner in emergency stop',
      ]),
    );
  });

  it('refuses every scan route without a session', async () => {
    for (const url of [
      '/api/v1/scans',
      '/api/v1/scans/S-1',
      '/api/v1/scans/S-1/overlay.png',
      '/api/v1/occupancies/lane-1/3/scans',
    ]) {
      expect((await app.inject({ url })).statusCode, url).toBe(401);
    }
  });

  it('lists, filters and pages scans, newest first', async () => {
    const cookie = await api.cookie('viewer');
    const all = (await app.inject({ url: '/api/v1/scans', headers: { cookie } })).json<Body>();
    expect(all.total).toBe(2);
    expect(all.items.map((s) => s.scanId)).toEqual(['S-2', 'S-1']);
    expect(all.items[0]!.overlayPath).toBeUndefined();
    const urgent = (
      await app.inject({ url: '/api/v1/scans?priority=high&limit=1', headers: { cookie } })
    ).json<Body>();
    expect(urgent.items.map((s) => s.scanId)).toEqual(['S-1']);
    const linked = (
      await app.inject({ url: '/api/v1/occupancies/lane-1/3/scans', headers: { cookie } })
    ).json<{ scanId: string }[]>();
    expect(linked.map((s) => s.scanId)).toEqual(['S-1']);
  });

  it('answers malformed queries with 400 and unknown scans with 404', async () => {
    const cookie = await api.cookie('viewer');
    const bad = await app.inject({ url: '/api/v1/scans?priority=urgent&limit=0', headers: { cookie } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<Body>().code).toBe('VALIDATION_FAILED');
    expect((await app.inject({ url: '/api/v1/scans/nope', headers: { cookie } })).statusCode).toBe(404);
  });

  it('serves one scan with its analysis and its overlay as PNG', async () => {
    const cookie = await api.cookie('operator');
    const one = (await app.inject({ url: '/api/v1/scans/S-1', headers: { cookie } })).json<Body>();
    expect(one.priority).toBe('critical');
    expect(one.analysis.shieldingSuspects).toHaveLength(1);
    const png = await app.inject({ url: '/api/v1/scans/S-1/overlay.png', headers: { cookie } });
    expect(png.statusCode).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.rawPayload.subarray(1, 4).toString()).toBe('PNG');
    expect((await app.inject({ url: '/api/v1/scans/S-1/image.png', headers: { cookie } })).statusCode).toBe(
      404,
    );
  });
});

/** A small flat 16-bit greyscale PNG, as a scanner would upload. */
function grey16Png(): Promise<Buffer> {
  return sharp(Buffer.alloc(64 * 32 * 2, 0x80), { raw: { width: 64, height: 32, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toBuffer();
}

describe('scan upload', () => {
  const url = '/api/v1/scanners/lane-1/scans';
  const metaOnly = multipart([{ name: 'meta', value: JSON.stringify({ scanId: 'U-1' }) }]);
  /** A 16-bit PNG scan under `scanId`, uploaded with the lane's token. */
  const uploadWithToken = async (scanId: string) => {
    const { payload, contentType } = multipart([
      { name: 'meta', value: JSON.stringify({ scanId }) },
      { name: 'high', value: await grey16Png(), filename: 'high.png' },
    ]);
    return app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': contentType, authorization: `Bearer ${TOKEN}` },
      payload,
    });
  };

  it('refuses an upload without a session or token, with a wrong token, and from a wrong role', async () => {
    const headers = { 'content-type': metaOnly.contentType };
    expect((await app.inject({ method: 'POST', url, headers, payload: metaOnly.payload })).statusCode).toBe(
      401,
    );
    const wrong = await app.inject({
      method: 'POST',
      url,
      headers: { ...headers, authorization: 'Bearer not-the-token-at-all' },
      payload: metaOnly.payload,
    });
    expect(wrong.statusCode).toBe(401);
    const operator = await app.inject({
      method: 'POST',
      url,
      headers: { ...headers, cookie: await api.cookie('operator') },
      payload: metaOnly.payload,
    });
    expect(operator.statusCode).toBe(403);
    expect(ingested).toHaveLength(0);
  });

  it('answers a malformed upload with 400 and a message', async () => {
    const res = await app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': metaOnly.contentType, cookie: await api.cookie('technician') },
      payload: metaOnly.payload,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<Body>().message).toMatch(/high/);
  });

  it('accepts a scan with the lane token', async () => {
    const res = await uploadWithToken('U-2');
    expect([202, 422]).toContain(res.statusCode);
    if (res.statusCode === 202) expect(ingested.map((r) => r.scan.meta.scanId)).toEqual(['U-2']);
  });

  it('is described in the OpenAPI document, with its parts and its refusals', async () => {
    const spec = (
      await app.inject({ url: '/api/docs/json', headers: { cookie: await api.cookie('viewer') } })
    ).json<{ paths: Record<string, Record<string, Record<string, unknown>>> }>();
    const op = spec.paths['/api/v1/scanners/lane-1/scans']?.post;
    expect(op).toMatchObject({ tags: ['scans'], responses: { 202: expect.anything() as unknown } });
    for (const word of ['meta', 'high', 'dicos', 'UPLOAD_UNAUTHORIZED', 'SCAN_DUPLICATE', 'UPLOAD_BUSY'])
      expect(String(op?.description)).toContain(word);
  });

  it('refuses a scan under an id it already has with 409, before accepting it', async () => {
    const before = ingested.length;
    const res = await uploadWithToken('S-1'); // stored above
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'SCAN_DUPLICATE' });
    expect(ingested).toHaveLength(before);
  });
});
