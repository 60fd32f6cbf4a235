/**
 * The Modbus RPM driver against its simulator over real Modbus TCP on loopback (SPEC §1.2, §2, §8).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ModbusRpmAddress } from '../../src/drivers/modbus-rpm/driver.js';
import { startModbusRpmTcpServer, type ModbusRpmTcpServer } from '../../simulators/modbus-rpm/tcp-server.js';
import {
  kindsOf,
  modbusLane,
  MODBUS_TEST_LANE,
  type ModbusLaneUnderTest,
} from '../support/modbus-rpm-harness.js';
import { waitFor } from '../support/wait-for.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function server(
  options: Parameters<typeof startModbusRpmTcpServer>[0] = {},
): Promise<ModbusRpmTcpServer> {
  const s = await startModbusRpmTcpServer({ seed: 'modbus-tcp-test', ...options });
  cleanups.push(() => s.close());
  return s;
}

function tcp(s: ModbusRpmTcpServer, unitId?: number): ModbusRpmAddress {
  return { kind: 'modbus-tcp', host: s.host, port: s.port, ...(unitId === undefined ? {} : { unitId }) };
}

async function started(lane: ModbusLaneUnderTest): Promise<ModbusLaneUnderTest> {
  await lane.driver.start();
  cleanups.push(() => lane.driver.stop());
  return lane;
}

describe('Modbus RPM driver ↔ simulator over Modbus TCP', () => {
  it('reports occupancies with samples, speed and the device alarm', async () => {
    const sim = await server();
    const lane = await started(modbusLane(tcp(sim)));
    await lane.waitForPolls(2);
    expect(lane.of('device-config')[0]).toMatchObject({
      section: 'modbus-description',
      values: { monitorBase: 100, monitorLength: 21, source: 'description', signature: 0x4153 },
    });

    sim.model.passVehicle({ type: 'car', source: 'medical', strengthFactor: 20, speedMps: 3 });
    sim.model.passVehicle({ type: 'car', source: 'none', speedMps: 3 });
    const ends = await lane.waitForEvents('occupancy-end', { count: 2 });

    const starts = lane.of('occupancy-start');
    expect(starts.map((s) => [s.seq, s.partial])).toEqual([
      [1, false],
      [2, false],
    ]);
    expect(ends[0]).toMatchObject({
      seq: 1,
      reason: 'unoccupied',
      endedAbnormally: false,
      deviceIndex: 1,
      deviceGammaAlarm: true,
    });
    expect(ends[1]).toMatchObject({
      seq: 2,
      deviceIndex: 2,
      deviceGammaAlarm: false,
      deviceNeutronAlarm: false,
    });
    expect(sim.model.passes.map((p) => p.gammaAlarm)).toEqual([true, false]);

    const samples = lane.of('sample').filter((s) => s.seq === 1);
    const gamma = samples.filter((s) => s.radiation === 'gamma');
    // A car of 4–5 m at 3 m/s occupies the lane ≈ 2 s: about ten 200 ms polls.
    expect(gamma.length).toBeGreaterThanOrEqual(5);
    expect(samples.filter((s) => s.radiation === 'neutron').length).toBe(gamma.length);
    expect(gamma.every((s) => s.counts.length === 1 && s.intervalMs === 200)).toBe(true);
    expect(gamma.some((s) => s.deviceAlarm)).toBe(true);
    const speed = lane.of('speed').find((s) => s.seq === 1);
    expect(speed?.speedKph).toBeCloseTo(3 * 3.6, 1);
    expect(lane.driver.descriptor.channels).toEqual({ gamma: 1, neutron: 1 });
  });

  it('finds the simulator at unit 7 by scanning unit ids', async () => {
    const sim = await server({ unitId: 7 });
    const lane = await started(modbusLane(tcp(sim), { scanUnitIds: true, timeoutMs: 200 }));
    const [config] = await lane.waitForEvents('device-config');
    expect(config!.values).toMatchObject({ unitId: 7, source: 'description' });
    await lane.waitForPolls(2);
    expect(lane.of('connection').map((e) => e.state)).toEqual(['connecting', 'connected']);
  });

  it('counts exception responses as bad input and keeps polling', async () => {
    const sim = await server();
    const lane = await started(modbusLane(tcp(sim)));
    await lane.waitForPolls(1);
    sim.model.injectExceptions(4, 2);
    const bad = await lane.waitForEvents('bad-input', {
      count: 4,
      where: (e) => e.reason === 'modbus-exception',
    });
    expect(bad[0]!.detail).toMatch(/exception 2/);
    await lane.waitForPolls(3);
    expect(lane.counters.get(`${MODBUS_TEST_LANE}.bad-input.modbus-exception`)).toBe(4);
    expect(lane.of('connection').map((e) => e.state)).toEqual(['connecting', 'connected']);
    // Logged, but rate-limited: one line for the burst.
    expect(lane.logger.records.filter((r) => r.reason === 'modbus-exception')).toHaveLength(1);
  });

  it('treats a silent device as a lost link: closes the occupancy, reconnects when it answers again', async () => {
    const sim = await server();
    const lane = await started(modbusLane(tcp(sim), { timeoutMs: 300 }));
    await lane.waitForPolls(1);
    // A truck at 2 m/s occupies the lane 7–11 s: long enough to go silent in the middle of it.
    sim.model.passVehicle({ type: 'truck', source: 'none', speedMps: 2 });
    await lane.waitForEvents('occupancy-start');
    sim.model.silenceFor(2000);

    const [lost] = await lane.waitForEvents('occupancy-end');
    expect(lost).toMatchObject({ seq: 1, reason: 'link-lost', endedAbnormally: true, deviceIndex: 1 });
    expect(lane.of('bad-input').filter((e) => e.reason === 'modbus-timeout').length).toBeGreaterThanOrEqual(
      3,
    );
    const states = lane.of('connection').map((e) => e.state);
    expect(states.slice(0, 4)).toEqual(['connecting', 'connected', 'silent', 'disconnected']);

    // Back again: the vehicle is still in the lane, so the rest of it is a partial occupancy.
    const [resumed] = await lane.waitForEvents('occupancy-start', { where: (e) => e.seq === 2 });
    expect(resumed).toMatchObject({ partial: true });
    await lane.waitForEvents('occupancy-end', { where: (e) => e.seq === 2, timeoutMs: 30_000 });
    expect(lane.of('occupancy-end').at(-1)).toMatchObject({ reason: 'unoccupied', deviceIndex: 1 });
    expect(lane.of('connection').at(-1)?.state, kindsOf(lane.events).join(' ')).toBe('connected');
  });

  it('reconnects after the server stops and starts again', async () => {
    const first = await server({ seed: 'restart' });
    const lane = await started(modbusLane(tcp(first)));
    await lane.waitForPolls(2);
    await first.close();
    await lane.waitForEvents('connection', { where: (e) => e.state === 'disconnected' });
    // Refused while it is down: the driver keeps trying with back-off, and says so once.
    const reconnects = () => lane.counters.get(`${MODBUS_TEST_LANE}.modbus.reconnects`);
    await waitFor(() => reconnects() >= 4, { what: 'refused reconnect attempts' });
    expect(lane.of('connection').map((e) => [e.state, e.reason])).toEqual([
      ['connecting', undefined],
      ['connected', undefined],
      ['disconnected', 'lost'],
      ['connecting', undefined],
      ['disconnected', 'connect-failed'],
    ]);
    expect(lane.of('connection').at(-1)!.detail).toMatch(/ECONNREFUSED.*; retrying in \d+ ms$/);

    const second = await server({ port: first.port, model: first.model });
    const [, again] = await lane.waitForEvents('connection', {
      count: 2,
      where: (e) => e.state === 'connected',
    });
    expect(again!.attempts).toBeGreaterThanOrEqual(3);
    expect(again!.detail).toBe(`connected after ${again!.attempts} attempts`);
    await lane.waitForPolls(2);
    second.model.passVehicle({ type: 'car', speedMps: 4 });
    await lane.waitForEvents('occupancy-end');
    expect(lane.counters.get(`${MODBUS_TEST_LANE}.modbus.reconnects`)).toBeGreaterThanOrEqual(2);
  });
});
