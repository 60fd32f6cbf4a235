import { connect, type Socket } from 'node:net';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeLine } from '../../../src/drivers/vm250/codec.js';
import { Vm250SerialSim } from '../../../simulators/vm250/serial-sim.js';
import { Vm250TcpServer } from '../../../simulators/vm250/tcp-server.js';
import type { Vm250OccupancyTruth } from '../../../simulators/vm250/stream.js';

/** Collects CR LF lines from a byte source until `until` says stop. */
function collectLines(
  source: { on(event: 'data', listener: (chunk: Buffer) => void): unknown },
  until: (lines: string[]) => boolean,
): Promise<string[]> {
  return new Promise((resolve) => {
    const lines: string[] = [];
    let pending = '';
    let done = false;
    source.on('data', (chunk: Buffer) => {
      if (done) return;
      pending += chunk.toString('latin1');
      let i: number;
      while ((i = pending.indexOf('\r\n')) >= 0) {
        lines.push(pending.slice(0, i));
        pending = pending.slice(i + 2);
      }
      if (until(lines)) {
        done = true;
        resolve(lines);
      }
    });
  });
}

const hasGx = (lines: string[]): boolean => lines.some((l) => l.startsWith('GX,'));

const fast = { seed: 'transport', gapS: [1, 2] as const, speed: 25 };

describe('Vm250TcpServer', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  function client(port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
      cleanups.push(() => void s.destroy());
    });
  }

  it('pushes the same paced lines to every client, with the truth as each occupancy ends', async () => {
    const server = new Vm250TcpServer({ ...fast, port: 0 });
    cleanups.push(() => server.stop());
    const truths: Vm250OccupancyTruth[] = [];
    server.on('occupancy', (t) => truths.push(t));
    const { port } = await server.start();
    expect(port).toBeGreaterThan(0);
    expect(server.port).toBe(port);
    expect((await server.start()).port).toBe(port); // idempotent

    const [a, b] = await Promise.all([client(port), client(port)]);
    const [la, lb] = await Promise.all([collectLines(a, hasGx), collectLines(b, hasGx)]);
    const gxA = la.find((l) => l.startsWith('GX,'))!;
    expect(lb).toContain(gxA);
    for (const l of la) expect(decodeLine(l).type, l).not.toBe('malformed');
    const gx = decodeLine(gxA);
    expect(gx.type === 'occupancy-end' && gx.index).toBe(1);
    expect(la.filter((l) => l.startsWith('GS,') || l.startsWith('GA,')).length).toBeGreaterThan(10);
    await new Promise((r) => setTimeout(r, 50));
    expect(truths[0]?.index).toBe(1);

    await server.stop();
    await server.stop(); // idempotent
    expect(server.clientCount).toBe(0);
  });

  it('gives a late client only the rest of the stream', async () => {
    const server = new Vm250TcpServer({ ...fast, port: 0 });
    cleanups.push(() => server.stop());
    const { port } = await server.start();
    await new Promise<void>((resolve) => server.once('occupancy', () => resolve()));
    const late = await client(port);
    const lines = await collectLines(late, hasGx);
    expect(lines.some((l) => l.startsWith('SG1,'))).toBe(false);
    const gx = decodeLine(lines.find((l) => l.startsWith('GX,'))!);
    expect(gx.type === 'occupancy-end' && gx.index).toBeGreaterThanOrEqual(2);
  });
});

describe('Vm250SerialSim', () => {
  it('writes the paced stream to a pty pair that a serialport client reads', async () => {
    const sim = new Vm250SerialSim({ ...fast });
    const started = await sim.start();
    expect(started.path).toBe(sim.path);
    expect(started.devicePath).not.toBe(started.path);
    const port = new SerialPort({ path: sim.path, baudRate: 9600, autoOpen: false });
    try {
      await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
      const truth = new Promise<Vm250OccupancyTruth>((resolve) => sim.once('occupancy', resolve));
      const lines = await collectLines(port, hasGx);
      for (const l of lines) expect(decodeLine(l).type, l).not.toBe('malformed');
      const gx = decodeLine(lines.find((l) => l.startsWith('GX,'))!);
      expect(gx.type === 'occupancy-end' && gx.index).toBe((await truth).index);
    } finally {
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
      await sim.stop();
      await sim.stop();
    }
  });
});
