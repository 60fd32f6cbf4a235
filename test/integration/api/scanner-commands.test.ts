/**
 * Scanner commands through the API (src/api/routes/scanner.ts) to a real scanner service polling
 * the simulated PLC over Modbus TCP: roles, the refusals the PLC's state calls for, the audit
 * record, and the state that follows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiApp } from '../../../src/api/app.js';
import { createScannerService, type ScannerService } from '../../../src/app/scanner-service.js';
import { validateConfig } from '../../../src/config/load.js';
import { SystemClock } from '../../../src/core/clock.js';
import { Counters } from '../../../src/core/counters.js';
import { silentLogger } from '../../../src/core/logger.js';
import { startScannerPlcServer, type ScannerPlcServer } from '../../../simulators/scanner/plc-server.js';
import { waitFor } from '../../support/wait-for.js';
import { createTestApi, type TestApi } from './harness.js';

let api: TestApi;
let app: FastifyInstance;
let dir: string;
let plc: ScannerPlcServer;
let service: ScannerService;

beforeAll(async () => {
  api = await createTestApi();
  dir = await mkdtemp(join(tmpdir(), 'rpm-scanner-commands-'));
  plc = await startScannerPlcServer({});
  const validated = validateConfig({
    site: 'test',
    storage: { dir: join(dir, 'state') },
    lanes: [
      {
        id: 'lane-1',
        driver: 'vm250',
        address: 'tcp://127.0.0.1:1',
        scanner: {
          inbox: join(dir, 'inbox'),
          plc: { address: `modbus-tcp://127.0.0.1:${plc.port}?unitId=1`, pollMs: 100 },
        },
      },
    ],
  });
  if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
  service = createScannerService(validated.config, {
    clock: new SystemClock(),
    logger: silentLogger,
    counters: new Counters(),
    output: () => {},
  })!;
  await service.start();
  app = await buildApiApp({ ...api.ctx, scans: service });
  await waitFor(() => service.lanes[0]!.plc?.status?.state === 'idle', { what: 'the PLC idle' });
}, 30_000);
afterAll(async () => {
  await app?.close();
  await service?.stop();
  await plc?.close();
  await api?.close();
  await rm(dir, { recursive: true, force: true });
});

const state = () => service.lanes[0]!.plc?.status?.state;

async function send(role: 'viewer' | 'operator' | 'technician', command: string, lane = 'lane-1') {
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/lanes/${lane}/scanner/command`,
    headers: { cookie: await api.cookie(role) },
    payload: { command },
  });
  return { status: res.statusCode, body: res.json<{ code?: string; message?: string; command?: string }>() };
}

describe('scanner commands', () => {
  it('lets the lane crew arm and start a scan, refusing what the state does not take', async () => {
    expect((await send('viewer', 'arm')).status).toBe(403);
    const early = await send('operator', 'start');
    expect(early).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
    expect(early.body.message).toBe("lane-1: the scanner is idle: 'start' does not apply");
    expect(plc.model.state).toBe('idle'); // nothing was written

    expect(await send('operator', 'arm')).toMatchObject({ status: 202, body: { command: 'arm' } });
    await waitFor(() => state() === 'ready', { what: 'ready' });
    expect((await send('operator', 'start')).status).toBe(202);
    await waitFor(() => plc.model.counter === 1, { what: 'the scan taken', timeoutMs: 15_000 });

    const audit = (
      await app.inject({
        url: '/api/v1/audit?action=scanner.command',
        headers: { cookie: await api.cookie('technician') },
      })
    ).json<{ items: Array<{ actor: string; target: string; before: unknown; after: unknown }> }>();
    expect(audit.items.map((e) => [e.target, e.after])).toEqual(
      expect.arrayContaining([
        ['lane/lane-1/scanner', { command: 'arm' }],
        ['lane/lane-1/scanner', { command: 'start' }],
      ]),
    );
    expect(audit.items.find((e) => (e.after as { command: string }).command === 'arm')?.before).toEqual({
      state: 'idle',
      faultCode: 0,
    });
  }, 30_000);

  it('keeps a fault reset for technicians', async () => {
    plc.model.fault(42);
    await waitFor(() => state() === 'fault', { what: 'fault' });
    expect(await send('operator', 'reset')).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect((await send('operator', 'arm')).status).toBe(409);
    expect((await send('technician', 'reset')).status).toBe(202);
    await waitFor(() => state() === 'idle', { what: 'reset to idle' });
  });

  it('refuses unknown commands and lanes without a scanner PLC, and a PLC that is not connected', async () => {
    expect((await send('technician', 'explode')).status).toBe(400);
    expect(await send('technician', 'arm', 'lane-9')).toMatchObject({
      status: 404,
      body: { code: 'NOT_FOUND' },
    });
    const port = plc.port;
    await plc.close();
    await waitFor(() => service.lanes[0]!.plc?.link === 'disconnected', {
      what: 'link down',
      timeoutMs: 15_000,
    });
    const down = await send('technician', 'stop');
    expect(down).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
    expect(down.body.message).toMatch(
      /^lane-1: the scanner's PLC is not connected \(.*retrying in \d+ ms\)$/,
    );
    plc = await startScannerPlcServer({ port });
  }, 30_000);
});
