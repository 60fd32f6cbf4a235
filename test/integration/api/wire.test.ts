/**
 * The API over a real socket: what Node's HTTP parser refuses before fastify sees a request, and
 * how request bodies of the wrong media type are answered. `inject()` skips the parser, so these
 * tests listen on a port and speak HTTP themselves.
 */
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiApp } from '../../../src/api/app.js';
import { ScanStore } from '../../../src/storage/scan-store.js';
import { createTestApi, PASSWORD, type TestApi } from './harness.js';

const UPLOAD_TOKEN = 'scanner-token-0123456789';
let api: TestApi;
/** The harness's API with a scanner on lane-1, listening on a free port. */
let app: FastifyInstance;
let base: string;
let port: number;

beforeAll(async () => {
  api = await createTestApi();
  app = await buildApiApp({
    ...api.ctx,
    scans: {
      store: new ScanStore(api.db),
      lanes: [{ lane: 'lane-1', uploadTokens: [UPLOAD_TOKEN], plc: null }],
      ingest: () => Promise.reject(new Error('no scan is accepted in these tests')),
      command: () => Promise.reject(new Error('no scanner command in these tests')),
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await app?.close();
  await api?.close();
});

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Everything the server wrote before it closed the connection. */
  text: string;
}

/** Writes `request` as is and reads until the server closes the connection. */
function raw(request: string | Buffer, onData?: (text: string, write: (s: string) => void) => void) {
  return new Promise<RawAnswer>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection; it wrote: ${text.slice(0, 300)}`));
    }, 5000);
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      onData?.(text, (s) => socket.write(s));
    });
    socket.on('error', () => undefined); // a reset after the answer is fine: the text is what counts
    socket.on('close', () => {
      clearTimeout(timer);
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n'), text });
    });
    socket.write(request);
  });
}

describe('requests the HTTP parser refuses', () => {
  it('answers headers over the limit with 431 HEADERS_TOO_LARGE in the API error shape', async () => {
    const big = 'x'.repeat(20 * 1024);
    const res = await raw(`GET /api/v1/lanes HTTP/1.1\r\nHost: gateway\r\nX-Big: ${big}\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['connection']).toBe('close');
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
    expect(JSON.parse(res.body)).toEqual({
      statusCode: 431,
      code: 'HEADERS_TOO_LARGE',
      error: 'Request Header Fields Too Large',
      message: expect.stringMatching(/16 KiB/) as unknown,
    });

    // The same through an HTTP client: a cookie jar grown too large is the usual way to get here.
    const viaFetch = await fetch(`${base}/api/v1/lanes`, { headers: { cookie: `a=${big}` } });
    expect(viaFetch.status).toBe(431);
    expect(await viaFetch.json()).toMatchObject({ code: 'HEADERS_TOO_LARGE' });
  });

  it('answers a malformed request with 400 MALFORMED_REQUEST', async () => {
    for (const request of [
      'GARBAGE\r\n\r\n',
      'GET /api/v1/lanes HTTP/1.1\r\nHost gateway\r\n\r\n',
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: gateway\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
    ]) {
      const res = await raw(request);
      expect(res.status, request).toBe(400);
      expect(res.headers['connection'], request).toBe('close');
      expect(JSON.parse(res.body), request).toEqual({
        statusCode: 400,
        code: 'MALFORMED_REQUEST',
        error: 'Bad Request',
        message: expect.any(String) as unknown,
      });
    }
  });

  it('answers chunk extensions over the limit as a body too large, like Node itself', async () => {
    const res = await raw(
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n' +
        `Transfer-Encoding: chunked\r\n\r\n2;ext=${'x'.repeat(20 * 1024)}\r\n{}\r\n0\r\n\r\n`,
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('writes nothing into a response already under way on the connection, and closes it', async () => {
    const cookie = await api.cookie('viewer');
    let pipelined = false;
    // The live feed's response has started when the second request, with too large headers, arrives.
    const res = await raw(
      `GET /api/v1/live HTTP/1.1\r\nHost: gateway\r\nCookie: ${cookie}\r\n\r\n`,
      (text, write) => {
        if (pipelined || !text.includes('event: hello')) return;
        pipelined = true;
        write(`GET /api/v1/lanes HTTP/1.1\r\nHost: gateway\r\nX-Big: ${'x'.repeat(20 * 1024)}\r\n\r\n`);
      },
    );
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/event: hello/);
    expect(res.text).not.toMatch(/HEADERS_TOO_LARGE|HTTP\/1\.1 431/);
  });
  it('lists these answers in the OpenAPI document', async () => {
    const res = await fetch(`${base}/api/docs/json`, { headers: { cookie: await api.cookie('viewer') } });
    const spec = (await res.json()) as {
      info: { description: string };
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    expect(spec.info.description).toMatch(/431 HEADERS_TOO_LARGE/);
    expect(spec.info.description).toMatch(/400 MALFORMED_REQUEST/);
    // The ApiError schema's `code` lists every code with what it means.
    const refusal = spec.paths['/api/v1/auth/login']!['post']!.responses['400'] as {
      content: Record<string, { schema: { properties: { code: { description: string } } } }>;
    };
    const codes = refusal.content['application/json']!.schema.properties.code.description;
    expect(codes).toMatch(/^HEADERS_TOO_LARGE: The request headers are larger than the 16 KiB/m);
    expect(codes).toMatch(/^MALFORMED_REQUEST: /m);
  });
});

describe('request bodies that are not JSON', () => {
  const JSON_BODY = '{"username":"admin","password":"not the password"}';

  it('refuses text/plain with 415 UNSUPPORTED_MEDIA_TYPE on every JSON route, as any other type', async () => {
    const cookie = await api.cookie('admin');
    const routes: Array<[string, string]> = [
      ['POST', '/api/v1/auth/login'],
      ['POST', '/api/v1/auth/password'],
      ['POST', '/api/v1/auth/tokens'],
      ['DELETE', '/api/v1/auth/tokens/999'],
      ['POST', '/api/v1/users'],
      ['PATCH', '/api/v1/users/viewer'],
      ['PUT', '/api/v1/devices/lane-1/config'],
      ['PATCH', '/api/v1/devices/lane-1/config'],
      ['POST', '/api/v1/alarms/1/acknowledge'],
      ['POST', '/api/v1/alarms/1/adjudication'],
    ];
    for (const type of ['text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded']) {
      for (const [method, path] of routes) {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: { cookie, 'content-type': type },
          body: JSON_BODY,
        });
        expect(res.status, `${type} ${method} ${path}`).toBe(415);
        expect(await res.json(), `${type} ${method} ${path}`).toEqual({
          statusCode: 415,
          code: 'UNSUPPORTED_MEDIA_TYPE',
          error: 'Unsupported Media Type',
          message: 'Send JSON (Content-Type: application/json).',
        });
      }
    }
  });

  it('refuses a body without a content type with 415, and still takes JSON with a charset', async () => {
    const noType = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      body: new TextEncoder().encode(JSON_BODY), // fetch gives bytes no content type
    });
    expect(noType.status).toBe(415);
    expect(await noType.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    const json = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ username: 'viewer', password: PASSWORD }),
    });
    expect(json.status).toBe(200);
  });

  it('does not log out on a text/plain body, as on any other type that is not JSON', async () => {
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'operator', password: PASSWORD }),
    });
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const logout = await fetch(`${base}/api/v1/auth/logout`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'text/plain' },
      body: 'bye',
    });
    expect(logout.status).toBe(415);
    expect((await fetch(`${base}/api/v1/auth/me`, { headers: { cookie } })).status).toBe(200);
  });

  it('refuses a scan upload that is not multipart with 415 UPLOAD_INVALID whatever its type', async () => {
    for (const type of ['text/plain', 'application/json', 'application/xml', 'application/octet-stream']) {
      const res = await fetch(`${base}/api/v1/scanners/lane-1/scans`, {
        method: 'POST',
        headers: { authorization: `Bearer ${UPLOAD_TOKEN}`, 'content-type': type },
        body: '{"scanId":"U-1"}',
      });
      expect(res.status, type).toBe(415);
      expect(res.headers.get('connection'), type).toBe('close');
      expect(await res.json(), type).toEqual({
        statusCode: 415,
        code: 'UPLOAD_INVALID',
        error: 'Unsupported Media Type',
        message: 'send multipart/form-data with meta and high (and low) parts',
      });
    }
    // Refused before the body is read: the answer comes while the client has sent only the headers.
    const early = await raw(
      'POST /api/v1/scanners/lane-1/scans HTTP/1.1\r\nHost: gateway\r\n' +
        `Authorization: Bearer ${UPLOAD_TOKEN}\r\nContent-Type: application/json\r\n` +
        'Content-Length: 100000000\r\n\r\n',
    );
    expect(early.status).toBe(415);
    expect(JSON.parse(early.body)).toMatchObject({ code: 'UPLOAD_INVALID' });
  });
});
