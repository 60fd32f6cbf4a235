/**
 * The Modbus RPM driver against its simulator as a Modbus RTU slave on a socat pty pair
 * (SPEC §1.2: RTU is this project's addition; §2: the real serial path without hardware).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MODBUS_RTU_SETTINGS } from '../../src/drivers/transport/uri.js';
import { createPtyPair } from '../../src/drivers/transport/pty-pair.js';
import { startModbusRpmRtuSlave } from '../../simulators/modbus-rpm/rtu-slave.js';
import { modbusLane } from '../support/modbus-rpm-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('Modbus RPM driver ↔ simulator as an RTU slave on a pty pair', () => {
  it('reports occupancies with samples and the device alarm, one request at a time', async () => {
    const pty = await createPtyPair();
    cleanups.push(() => pty.close());
    const sim = await startModbusRpmRtuSlave({ path: pty.a, seed: 'modbus-rtu-test', unitId: 3 });
    cleanups.push(() => sim.close());

    const lane = modbusLane(
      { kind: 'modbus-rtu', path: pty.b, serial: DEFAULT_MODBUS_RTU_SETTINGS, unitId: 3 },
      { timeoutMs: 1000 },
    );
    await lane.driver.start();
    cleanups.push(() => lane.driver.stop());
    await lane.waitForPolls(2);
    expect(lane.of('device-config')[0]?.values).toMatchObject({
      unitId: 3,
      monitorBase: 100,
      source: 'description',
    });

    sim.model.passVehicle({ type: 'car', source: 'medical', strengthFactor: 20, speedMps: 3 });
    sim.model.passVehicle({ type: 'car', source: 'none', speedMps: 3 });
    const ends = await lane.waitForEvents('occupancy-end', { count: 2, timeoutMs: 30_000 });

    expect(lane.of('occupancy-start').map((s) => [s.seq, s.partial])).toEqual([
      [1, false],
      [2, false],
    ]);
    expect(ends[0]).toMatchObject({ seq: 1, reason: 'unoccupied', deviceIndex: 1, deviceGammaAlarm: true });
    expect(ends[1]).toMatchObject({ seq: 2, deviceIndex: 2, deviceGammaAlarm: false });
    const gamma = lane.of('sample').filter((s) => s.seq === 1 && s.radiation === 'gamma');
    expect(gamma.length).toBeGreaterThanOrEqual(5);
    expect(gamma.some((s) => s.deviceAlarm)).toBe(true);
    // A clean serial line: no timeouts, garbage or exceptions.
    expect(lane.of('bad-input')).toEqual([]);
    expect(lane.of('connection').map((e) => e.state)).toEqual(['connecting', 'connected']);
  });
});
