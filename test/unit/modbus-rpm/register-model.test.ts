/**
 * The Modbus RPM simulator's device model, tick by tick: seeded physics, occupancy bits and
 * counter, alarm bits, faults, and the injected replies the servers put on the wire.
 */
import { describe, expect, it } from 'vitest';
import { decodeMonitorBlock, type MonitorRecord } from '../../../src/drivers/modbus-rpm/register-map.js';
import { RpmRegisterModel } from '../../../simulators/modbus-rpm/register-model.js';
import { summedPortal } from '../../../simulators/physics/portal.js';
import { generateScenario } from '../../../simulators/physics/scenario.js';

function ticks(model: RpmRegisterModel, n: number): MonitorRecord[] {
  const out: MonitorRecord[] = [];
  for (let i = 0; i < n; i++) {
    model.tick();
    const regs = model.readRegisters(100, 21)!;
    const decoded = decodeMonitorBlock(regs);
    if (!decoded.ok) throw new Error(decoded.problem);
    out.push(decoded.value);
  }
  return out;
}

describe('Modbus RPM simulator model', () => {
  it('is reproducible from its seed', () => {
    const a = ticks(new RpmRegisterModel({ seed: 7 }), 20).map((r) => r.gamma.count);
    const b = ticks(new RpmRegisterModel({ seed: 7 }), 20).map((r) => r.gamma.count);
    const c = ticks(new RpmRegisterModel({ seed: 8 }), 20).map((r) => r.gamma.count);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('draws Poisson background around the configured rate', () => {
    const records = ticks(new RpmRegisterModel({ seed: 1, gammaBackgroundCps: 1000 }), 500);
    const mean = records.reduce((s, r) => s + r.gamma.count, 0) / records.length;
    expect(mean).toBeGreaterThan(190);
    expect(mean).toBeLessThan(210);
    expect(records.at(-1)!.gamma.background).toBeGreaterThan(900);
    expect(records.at(-1)!.gamma.background).toBeLessThan(1100);
  });

  it('passes a vehicle: occupancy bits, counter, speed in mm/s, then clear', () => {
    const model = new RpmRegisterModel({ seed: 2 });
    model.passVehicle({ type: 'car', speedMps: 2.5 });
    const records = ticks(model, 30);
    const occupied = records.filter((r) => r.input.occupied);
    // (4–5 m + 1 m) / 2.5 m/s ≈ 2.0–2.4 s plus two hold-in intervals.
    expect(occupied.length).toBeGreaterThanOrEqual(11);
    expect(occupied.length).toBeLessThanOrEqual(15);
    expect(occupied.every((r) => r.objectCounter === 1 && r.objectSpeed === 2500)).toBe(true);
    expect(records.at(-1)).toMatchObject({ objectCounter: 1, objectSpeed: 0 });
    expect(records.at(-1)!.input.occupied).toBe(false);
    expect(model.passes).toMatchObject([{ objectCounter: 1, vehicleType: 'car', gammaAlarm: false }]);
  });

  it('raises the alarm bits for a strong source and not for a clean vehicle', () => {
    const model = new RpmRegisterModel({ seed: 3 });
    model.passVehicle({ type: 'car', source: 'medical', strengthFactor: 20, speedMps: 3 });
    model.passVehicle({ type: 'car', speedMps: 3 });
    const records = ticks(model, 60);
    expect(records.some((r) => r.objectCounter === 1 && r.gamma.status.alarm && r.output.alarm)).toBe(true);
    expect(records.some((r) => r.objectCounter === 2 && r.gamma.status.alarm)).toBe(false);
    expect(model.passes.map((p) => p.gammaAlarm)).toEqual([true, false]);
  });

  it('serves cumulative counts when asked', () => {
    const records = ticks(new RpmRegisterModel({ seed: 4, countMode: 'cumulative' }), 10);
    const counts = records.map((r) => r.gamma.count);
    expect(counts).toEqual([...counts].sort((x, y) => x - y));
    expect(counts.at(-1)).toBeGreaterThan(1500);
  });

  it('sets fault and tamper bits on request', () => {
    const model = new RpmRegisterModel({ seed: 5 });
    model.setChannelFault('gamma', 'high');
    model.setChannelFault('neutron', 'overload');
    model.setTamper(true);
    model.setInputFaults({ powerFail: true });
    const [r] = ticks(model, 1);
    expect(r!.gamma.status.highCount).toBe(true);
    expect(r!.neutron.status.overload).toBe(true);
    expect(r!.input.cabinetOpen).toBe(true);
    expect(r!.input.powerFail).toBe(true);
  });

  it('answers with registers, exceptions or silence', () => {
    const model = new RpmRegisterModel({ seed: 6 });
    expect(model.respond(0, 8)).toEqual({ kind: 'registers', values: [0x4153, 29, 1, 100, 21, 0, 0, 0] });
    expect(model.respond(50, 2)).toEqual({ kind: 'exception', code: 2 });
    model.injectExceptions(2, 6);
    expect(model.respond(0, 8)).toEqual({ kind: 'exception', code: 6 });
    expect(model.respond(0, 8)).toEqual({ kind: 'exception', code: 6 });
    expect(model.respond(0, 8).kind).toBe('registers');
    model.silenceFor(400);
    expect(model.respond(100, 21).kind).toBe('silent');
    model.tick();
    model.tick();
    expect(model.respond(100, 21).kind).toBe('registers');
    model.silenceRequests(1);
    expect(model.respond(100, 21).kind).toBe('silent');
    expect(model.respond(100, 21).kind).toBe('registers');
  });

  it('can serve a zeroed description block (a device without one)', () => {
    const model = new RpmRegisterModel({ omitDescription: true });
    expect(model.readRegisters(0, 8)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('Modbus RPM simulator model fed by the physics scenario', () => {
  it('passes the scenario vehicles one after another, each with its own object counter', () => {
    const scenario = generateScenario({ seed: 'modbus-demo', portal: summedPortal(), occupancies: 3 });
    const model = new RpmRegisterModel({ seed: 9, scenario });
    for (let i = 0; i < 3000 && (model.passes.length < 3 || model.occupied); i++) model.tick();
    expect(model.passes.map((p) => p.objectCounter)).toEqual([1, 2, 3]);
    expect(model.passes.every((p) => p.endMs !== null && p.endMs > p.startMs)).toBe(true);
  });
});
