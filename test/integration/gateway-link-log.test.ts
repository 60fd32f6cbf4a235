/**
 * What the gateway's log says about a device link — technicians read it to find a mis-wired or
 * unreachable device. A whole gateway (`createGateway`, default log level) on real transports.
 *
 * - stopping the gateway is a clean close (an explicit `reason: 'stopped'`), not a lost link.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/app/gateway.js';
import { validateConfig } from '../../src/config/load.js';
import { SystemClock, type Clock } from '../../src/core/clock.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import type { ConnectionEvent, LaneEvent } from '../../src/domain/lane-events.js';
import { startTcpLineServer } from '../support/tcp-line-server.js';
import { waitFor } from '../support/wait-for.js';

const LANE = 'lane-1';
type LogRecord = Record<string, unknown>;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Running {
  readonly gateway: Gateway;
  readonly logger: ReturnType<typeof createMemoryLogger>;
  readonly events: LaneEvent[];
  /** The lane's records at `info` and above: what a technician sees at the default level. */
  visible(): LogRecord[];
  named(msg: string): LogRecord[];
  connections(): ConnectionEvent[];
}

async function startGateway(
  driver: 'vm250' | 'modbus-rpm',
  address: string,
  clock: Clock = new SystemClock(),
): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-link-log-'));
  const validated = validateConfig({
    site: 'test',
    storage: { dir },
    lanes: [{ id: LANE, driver, address }],
  });
  if (!validated.ok) throw new Error(JSON.stringify(validated.problems));
  const logger = createMemoryLogger();
  const events: LaneEvent[] = [];
  const gateway = createGateway(validated.config, {
    clock,
    logger,
    output: () => {},
    onLaneEvent: (e) => events.push(e),
  });
  cleanups.push(async () => {
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await gateway.start();
  const visible = () => logger.records.filter((r) => r.lane === LANE && r.level !== 'debug');
  return {
    gateway,
    logger,
    events,
    visible,
    named: (msg) => visible().filter((r) => r.msg === msg),
    connections: () => events.filter((e): e is ConnectionEvent => e.kind === 'connection'),
  };
}

describe("the gateway's log of a device link", () => {
  it('logs a link that drops as lost, and stopping the gateway as a clean close', async () => {
    const device = await startTcpLineServer();
    cleanups.push(() => device.close());
    const g = await startGateway('vm250', `tcp://127.0.0.1:${device.port}`);
    await waitFor(() => device.clients.size === 1 && g.named('device link up').length === 1, {
      what: 'device link up',
    });
    device.dropClients();
    await waitFor(() => g.named('device link up').length === 2, { what: 'up again' });
    expect(g.named('device link lost')).toEqual([expect.objectContaining({ level: 'warn' })]);
    expect(g.connections().find((e) => e.state === 'disconnected')).toMatchObject({ reason: 'lost' });

    await g.gateway.stop();
    expect(g.connections().at(-1)).toMatchObject({ state: 'disconnected', reason: 'stopped' });
    expect(g.named('device link closed')).toEqual([expect.objectContaining({ level: 'info' })]);
    expect(g.named('device link lost')).toHaveLength(1);
  });
});
