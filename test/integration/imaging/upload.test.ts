import Fastify, { type FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReadScan } from '../../../src/drivers/scanner/adapter.js';
import { scanUploadPlugin } from '../../../src/drivers/scanner/upload-plugin.js';
import { encodeImage16 } from '../../../src/imaging/decode.js';
import { makePhantom } from '../../../simulators/scanner/phantom.js';

const TOKEN = 'scanner-secret-token';
let app: FastifyInstance;
let received: ReadScan[];

beforeEach(async () => {
  received = [];
  app = Fastify();
  await app.register(scanUploadPlugin, {
    tokens: [TOKEN],
    maxFileBytes: 200_000,
    // As the scanner service does, the handler reads the pixels once decoded (a streamed decode
    // may fail part-way: the handler fails with it, and the upload is refused).
    onScan: async (s) => {
      await s.scan.decoding?.done;
      received.push(s);
    },
  });
  await app.ready();
});
afterEach(async () => {
  await app.close();
});

/** A multipart body by hand (fastify.inject takes a Buffer payload). */
function multipart(parts: Array<{ name: string; value: string | Buffer; filename?: string }>): {
  body: Buffer;
  type: string;
} {
  const boundary = '----rpmtest' + Math.random().toString(16).slice(2);
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disp = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`;
    const head = `--${boundary}\r\nContent-Disposition: ${disp}\r\n${p.filename ? 'Content-Type: application/octet-stream\r\n' : ''}\r\n`;
    chunks.push(
      Buffer.from(head),
      Buffer.isBuffer(p.value) ? p.value : Buffer.from(p.value),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

function post(parts: Parameters<typeof multipart>[0], token: string | null) {
  const { body, type } = multipart(parts);
  return app.inject({
    method: 'POST',
    url: '/scans',
    payload: body,
    headers: { 'content-type': type, ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
  });
}

describe('scan upload route', () => {
  it('accepts an authenticated 16-bit upload and hands it on', async () => {
    const p = makePhantom({ seed: 'up', width: 128, height: 64, energies: 2 });
    const res = await post(
      [
        {
          name: 'meta',
          value: JSON.stringify({
            scanId: 'U1',
            lane: 'lane-2',
            airValue: p.airValue,
            darkValue: p.darkValue,
          }),
        },
        { name: 'high', value: await encodeImage16(p.high, 'png'), filename: 'h.png' },
        { name: 'low', value: await encodeImage16(p.low!, 'tiff'), filename: 'l.tif' },
      ],
      TOKEN,
    );
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: true, scanId: 'U1' });
    expect(received[0]!.scan.meta).toMatchObject({ scanId: 'U1', lane: 'lane-2' });
    expect(received[0]!.scan.low?.width).toBe(128);
  });

  it('rejects uploads without rights, before reading them', async () => {
    const img = await encodeImage16(makePhantom({ seed: 'up2', width: 64, height: 32 }).high, 'png');
    for (const token of [null, 'wrong-token', '']) {
      const res = await post([{ name: 'high', value: img, filename: 'h.png' }], token);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({
        statusCode: 401,
        code: 'UPLOAD_UNAUTHORIZED',
        error: 'Unauthorized',
        message: 'a valid bearer token is required to upload scans',
      });
    }
    expect(received).toHaveLength(0);
  });

  it('rejects oversized, wrong-depth, corrupt and malformed uploads with clear records', async () => {
    const big = Buffer.alloc(300_000, 1);
    expect((await post([{ name: 'high', value: big, filename: 'big.png' }], TOKEN)).statusCode).toBe(413);
    const png8 = await sharp(Buffer.alloc(64 * 32, 9), { raw: { width: 64, height: 32, channels: 1 } })
      .png()
      .toBuffer();
    const wrong = await post([{ name: 'high', value: png8, filename: 'eight.png' }], TOKEN);
    expect(wrong.statusCode).toBe(422);
    expect(wrong.json()).toMatchObject({ code: 'IMAGE_UNSUPPORTED' });
    const good = await encodeImage16(makePhantom({ seed: 'up3', width: 64, height: 32 }).high, 'png');
    const cut = await post([{ name: 'high', value: good.subarray(0, 120), filename: 'cut.png' }], TOKEN);
    expect(cut.json()).toMatchObject({ code: 'IMAGE_CORRUPT' });
    // Cut inside its image data: the header passes, the streamed decode fails part-way.
    const larger = await encodeImage16(makePhantom({ seed: 'up4', width: 300, height: 200 }).high, 'png');
    const part = larger.subarray(0, Math.floor(larger.length * 0.7));
    const late = await post([{ name: 'high', value: part, filename: 'late.png' }], TOKEN);
    expect(late.statusCode).toBe(422);
    expect(late.json()).toMatchObject({ code: 'IMAGE_CORRUPT' });
    expect(late.json<{ message: string }>().message).toMatch(
      /^high:late\.png: png could not be decoded \(truncated or corrupt\)/,
    );
    const meta = await post(
      [
        { name: 'meta', value: '{"scanId": 5' },
        { name: 'high', value: good, filename: 'h.png' },
      ],
      TOKEN,
    );
    expect(meta.statusCode).toBe(400);
    expect(meta.json()).toMatchObject({ code: 'SIDECAR_INVALID' });
    const huge = await post(
      [
        { name: 'meta', value: JSON.stringify({ scanId: 'H', note: 'x'.repeat(70_000) }) },
        { name: 'high', value: good, filename: 'h.png' },
      ],
      TOKEN,
    );
    expect(huge.statusCode).toBe(413);
    expect(huge.json<{ message: string }>().message).toMatch(/meta is larger than 64 KiB/);
    const none = await post([{ name: 'meta', value: '{}' }], TOKEN);
    expect(none.json()).toMatchObject({ code: 'UPLOAD_INVALID' });
    const json = await app.inject({
      method: 'POST',
      url: '/scans',
      payload: { scanId: 'X' },
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(json.statusCode).toBe(415);
    expect(json.headers['connection']).toBe('close'); // a refused body is never read: drop the socket
    const noBoundary = await app.inject({
      method: 'POST',
      url: '/scans',
      payload: Buffer.from('--x\r\n'),
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'multipart/form-data' },
    });
    expect(noBoundary.statusCode).toBe(400);
    expect(noBoundary.json()).toMatchObject({ code: 'UPLOAD_INVALID' });
    expect(json.json()).toMatchObject({
      statusCode: 415,
      code: 'UPLOAD_INVALID',
      error: 'Unsupported Media Type',
    });
    expect(received).toHaveLength(0);
  });
});

describe('scan upload route under load', () => {
  it('answers 503 UPLOAD_BUSY beyond its concurrent uploads, and takes the next one after', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const busy = Fastify();
    await busy.register(scanUploadPlugin, { tokens: [TOKEN], maxConcurrent: 1, onScan: () => gate });
    await busy.ready();
    try {
      const img = await encodeImage16(makePhantom({ seed: 'busy', width: 64, height: 32 }).high, 'png');
      const send = () => {
        const { body, type } = multipart([{ name: 'high', value: img, filename: 'h.png' }]);
        return busy.inject({
          method: 'POST',
          url: '/scans',
          payload: body,
          headers: { 'content-type': type, authorization: `Bearer ${TOKEN}` },
        });
      };
      const first = send();
      await new Promise((r) => setTimeout(r, 200)); // the first is in onScan, holding the slot
      const second = await send();
      expect(second.statusCode).toBe(503);
      expect(second.json()).toMatchObject({ code: 'UPLOAD_BUSY' });
      expect(second.headers['retry-after']).toBe('5');
      release();
      expect((await first).statusCode).toBe(202);
      expect((await send()).statusCode).toBe(202);
    } finally {
      await busy.close();
    }
  });
});
