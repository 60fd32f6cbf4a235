import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commandPlc } from '../../../src/app/scanner-plc.js';
import { SystemClock } from '../../../src/core/clock.js';
import { GatewayError } from '../../../src/core/errors.js';
import { Counters } from '../../../src/core/counters.js';
import { createMemoryLogger, silentLogger } from '../../../src/core/logger.js';
import { createPlcLink } from '../../../src/drivers/scanner/plc-link.js';
import { ScannerPlcDriver, type ScannerEvent } from '../../../src/drivers/scanner/plc-driver.js';
import { DEFAULT_PLC_MAP } from '../../../src/drivers/scanner/plc-map.js';
import { createPtyPair } from '../../../src/drivers/transport/pty-pair.js';
import { DEFAULT_MODBUS_RTU_SETTINGS } from '../../../src/drivers/transport/uri.js';
import { startScannerPlcServer, type ScannerPlcServer } from '../../../simulators/scanner/plc-server.js';
import { startScannerPlcRtuSlave } from '../../../simulators/scanner/plc-rtu-slave.js';
import { waitFor } from '../../support/wait-for.js';

let server: ScannerPlcServer | undefined;
let driver: ScannerPlcDriver | undefined;
let dir: string | undefined;
afterEach(async () => {
  await driver?.stop();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  driver = server = dir = undefined;
});

describe('scanner PLC over Modbus RTU on a pty pair, against the simulator', () => {
  it('reads the status and writes commands on the one serial link', async () => {
    const pty = await createPtyPair();
    const rtu = await startScannerPlcRtuSlave({ path: pty.a });
    const events: ScannerEvent[] = [];
    driver = new ScannerPlcDriver({
      link: createPlcLink({ kind: 'modbus-rtu', path: pty.b, serial: DEFAULT_MODBUS_RTU_SETTINGS }),
      map: DEFAULT_PLC_MAP,
      pollMs: 100,
      clock: new SystemClock(),
      logger: silentLogger,
      counters: new Counters(),
      onEvent: (e) => void events.push(e),
    });
    try {
      await driver.start();
      await waitFor(() => driver!.status?.state === 'idle', { what: 'idle over RTU' });
      await driver.command('arm');
      await waitFor(() => driver!.status?.state === 'ready', { what: 'ready over RTU' });
      rtu.model.fault(7);
      await waitFor(() => driver!.status?.state === 'fault', { what: 'fault over RTU' });
      await driver.command('reset');
      await waitFor(() => driver!.status?.state === 'idle', { what: 'reset over RTU' });
      // Commands went through the polling link: it never dropped.
      expect(
        events.filter((e) => e.kind === 'connection').map((e) => e.kind === 'connection' && e.state),
      ).toEqual(['connected']);
    } finally {
      await driver.stop();
      driver = undefined;
      await rtu.close();
      await pty.close();
    }
  }, 30_000);
});

describe('scanner PLC over Modbus TCP, against the simulator', () => {
  it('reports status changes, takes commands, and the simulator drops the scan into the inbox', async () => {
    dir = await mkdtemp(join(tmpdir(), 'rpm-plc-'));
    server = await startScannerPlcServer({
      inbox: dir,
      lane: 'lane-1',
      scanMs: 50,
      phantom: { width: 128, height: 64 },
    });
    const events: ScannerEvent[] = [];
    driver = new ScannerPlcDriver({
      link: createPlcLink({ kind: 'modbus-tcp', host: server.host, port: server.port }),
      map: DEFAULT_PLC_MAP,
      pollMs: 50,
      clock: new SystemClock(),
      logger: silentLogger,
      counters: new Counters(),
      onEvent: (e) => void events.push(e),
    });
    await driver.start();
    await waitFor(() => driver!.status?.state === 'idle', { what: 'idle status' });
    await driver.command('arm');
    await waitFor(() => driver!.status?.state === 'ready', { what: 'ready' });
    expect(driver.status).toMatchObject({ interlockClosed: true, radiationOn: false, scanCounter: 0 });
    await driver.command('start');
    await waitFor(() => events.some((e) => e.kind === 'scan-completed'), {
      what: 'scan completed',
      timeoutMs: 15_000,
    });
    const states = events.flatMap((e) => (e.kind === 'status' ? [e.status.state] : []));
    expect(states).toContain('ready');
    expect(driver.status?.scanCounter).toBe(1);
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['SCAN-000001.json', 'SCAN-000001-high.png']));
    server.model.fault(42);
    await waitFor(() => driver!.status?.state === 'fault', { what: 'fault' });
    expect(driver.status?.faultCode).toBe(42);
    await driver.command('reset');
    await waitFor(() => driver!.status?.state === 'idle', { what: 'reset to idle' });
  });

  it('reports a status block it cannot decode once, counts every one, and keeps polling', async () => {
    server = await startScannerPlcServer();
    const events: ScannerEvent[] = [];
    const counters = new Counters();
    driver = new ScannerPlcDriver({
      link: createPlcLink({ kind: 'modbus-tcp', host: server.host, port: server.port }),
      // A site map that does not match this PLC: another signature.
      map: { ...DEFAULT_PLC_MAP, signature: 0x1234 },
      pollMs: 50,
      clock: new SystemClock(),
      logger: silentLogger,
      counters,
      onEvent: (e) => void events.push(e),
    });
    await driver.start();
    await waitFor(() => counters.get('scanner.plc.bad-block') >= 4, { what: 'four bad blocks' });
    expect(events.filter((e) => e.kind === 'bad-input')).toEqual([
      expect.objectContaining({ detail: 'signature 0x5343 is not 0x1234' }),
    ]);
    expect(driver.view()).toMatchObject({
      link: 'connected',
      problem: 'signature 0x5343 is not 0x1234',
      status: null,
    });
  });

  it('answers a command the PLC does not take in time with SCANNER_COMMAND_FAILED', async () => {
    server = await startScannerPlcServer();
    driver = new ScannerPlcDriver({
      link: createPlcLink({ kind: 'modbus-tcp', host: server.host, port: server.port }, { timeoutMs: 300 }),
      map: DEFAULT_PLC_MAP,
      pollMs: 60_000, // one poll: the link still looks up when the PLC is gone
      clock: new SystemClock(),
      logger: silentLogger,
      counters: new Counters(),
      onEvent: () => undefined,
    });
    await driver.start();
    await waitFor(() => driver!.status?.state === 'idle', { what: 'idle' });
    await server.close();
    const failed = await commandPlc(driver, 'lane-1', 'arm').catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(GatewayError);
    expect(failed).toMatchObject({
      code: 'SCANNER_COMMAND_FAILED',
      context: { lane: 'lane-1', command: 'arm' },
    });
    expect((failed as Error).message).toMatch(
      /^lane-1: the scanner's PLC did not take 'arm': .*within 300 ms/,
    );
  });

  it('survives a PLC that goes away and comes back, reporting the link once each way', async () => {
    server = await startScannerPlcServer();
    const port = server.port;
    const events: ScannerEvent[] = [];
    const logger = createMemoryLogger();
    driver = new ScannerPlcDriver({
      link: createPlcLink({ kind: 'modbus-tcp', host: server.host, port }, { timeoutMs: 300 }),
      map: DEFAULT_PLC_MAP,
      pollMs: 50,
      clock: new SystemClock(),
      logger,
      counters: new Counters(),
      onEvent: (e) => void events.push(e),
    });
    await driver.start();
    await waitFor(() => driver!.status !== null, { what: 'first status' });
    await server.close();
    await waitFor(() => events.some((e) => e.kind === 'connection' && e.state === 'disconnected'), {
      what: 'disconnect',
      timeoutMs: 15_000,
    });
    // Several failed polls (50 ms, doubling to a 1.6 s cap), one warning: the rest within the reminder period.
    await waitFor(() => driver!['failures'] >= 4, { what: 'four failed polls', timeoutMs: 15_000 });
    const warnings = logger.records.filter((r) => r.level === 'warn');
    expect(warnings.map((r) => r.msg)).toEqual(['scanner PLC poll failed']);
    expect(warnings[0]).toMatchObject({ attempts: 1 });
    server = await startScannerPlcServer({ port });
    await waitFor(() => driver!.link === 'connected', { what: 'reconnect', timeoutMs: 20_000 });
    const links = events.flatMap((e) => (e.kind === 'connection' ? [`${e.state}: ${e.detail}`] : []));
    expect(links).toEqual([
      'connected: first attempt',
      expect.stringMatching(/^disconnected: .*; retrying in \d+ ms$/),
      expect.stringMatching(/^connected: after \d+ attempts$/),
    ]);
  }, 40_000);
});
