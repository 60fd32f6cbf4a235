/**
 * The live VM-250 driver on a serial link (SPEC §1.1, §2): a socat pty pair stands in for the
 * RS-232 cable. The test plays the RPM on one end with serialport; the driver reads the other
 * through the serial link, opened with settings parsed from a `serial://` address. Killing
 * socat makes the port vanish like a pulled USB adapter; a new socat on the same link paths
 * brings it back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../src/core/clock.js';
import { Counters } from '../../src/core/counters.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import { createPtyPair, type PtyPair } from '../../src/drivers/transport/pty-pair.js';
import { createSerialLink } from '../../src/drivers/transport/serial-link.js';
import { parseDeviceAddress } from '../../src/drivers/transport/uri.js';
import { createVm250Driver } from '../../src/drivers/vm250/driver.js';
import { backgroundLines, createEventLog, occupancyLines } from '../support/vm250-stream.js';
import { sleep, waitFor } from '../support/wait-for.js';

let dir: string;
const pairs: PtyPair[] = [];
const ports: SerialPort[] = [];
const cleanups: Array<() => Promise<void>> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rpm-vm250-serial-'));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const port of ports.splice(0)) {
    if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }
  for (const pair of pairs.splice(0)) await pair.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A pty pair with stable names, and the RPM's end opened like a device's serial port. */
async function plugIn(): Promise<{ pair: PtyPair; rpm: SerialPort; sendLines: (lines: string[]) => void }> {
  const pair = await createPtyPair({ linkA: join(dir, 'rpm'), linkB: join(dir, 'gateway') });
  pairs.push(pair);
  const rpm = new SerialPort({ path: pair.a, baudRate: 19200, parity: 'even', autoOpen: false });
  await new Promise<void>((resolve, reject) => rpm.open((e) => (e ? reject(e) : resolve())));
  rpm.on('error', () => undefined);
  ports.push(rpm);
  return { pair, rpm, sendLines: (lines) => rpm.write(lines.map((l) => `${l}\r\n`).join('')) };
}

describe('vm250 driver over a serial pty', () => {
  it('delivers occupancies, survives the port vanishing, and reopens it when it comes back', async () => {
    const device = await plugIn();
    const address = parseDeviceAddress(`serial://${join(dir, 'gateway')}?baudRate=19200&parity=even`);
    if (address.kind !== 'serial') throw new Error('expected a serial address');
    const log = createEventLog();
    const counters = new Counters();
    const logger = createMemoryLogger();
    const link = createSerialLink({
      path: address.path,
      serial: address.serial,
      backoff: { initialMs: 50, maxMs: 300 },
    });
    expect(link.description).toMatch(/\(19200 8E1\)$/);
    const driver = createVm250Driver({
      lane: 'lane-s',
      link,
      clock: new SystemClock(),
      logger,
      counters,
      emit: log.emit,
    });
    cleanups.push(() => driver.stop());
    await driver.start();
    await waitFor(() => log.states().at(-1) === 'connected', { what: 'serial port opened' });

    device.sendLines([...backgroundLines(), ...occupancyLines({ index: 5 }), ...backgroundLines()]);
    await waitFor(() => log.ofKind('occupancy-end').length === 1, { what: 'first occupancy' });
    expect(log.ofKind('occupancy-start')[0]).toMatchObject({ seq: 1, partial: false });
    expect(log.ofKind('sample')).toHaveLength(17);
    expect(log.ofKind('occupancy-end')[0]).toMatchObject({ reason: 'device-end', deviceIndex: 5 });

    // A vehicle is in the lane when the adapter disappears.
    device.sendLines(occupancyLines({ samples: 2, end: false, base: 300 }));
    await waitFor(() => log.ofKind('occupancy-start').length === 2 && log.ofKind('sample').length === 24);
    await device.pair.close();
    await waitFor(() => log.ofKind('occupancy-end').length === 2, { what: 'link-lost end' });
    expect(log.ofKind('occupancy-end')[1]).toMatchObject({
      seq: 2,
      reason: 'link-lost',
      endedAbnormally: true,
    });
    expect(
      log
        .ofKind('connection')
        .slice(0, 3)
        .map((e) => [e.state, e.reason]),
    ).toEqual([
      ['connecting', undefined],
      ['connected', undefined],
      ['disconnected', 'lost'],
    ]);
    await waitFor(() => logger.records.filter((r) => r.msg === 'link still down').length >= 2, {
      what: 'reopen attempts while the port is gone',
    });
    // The port is gone, not just closed: that is news once, and not again on every reopen attempt.
    expect(log.states()).toEqual(['connecting', 'connected', 'disconnected', 'disconnected']);
    expect(log.ofKind('connection')[3]).toMatchObject({ reason: 'connect-failed', attempts: 1 });
    expect(log.ofKind('connection')[3]!.detail).toMatch(
      /^cannot open: .*No such file.*; retrying in \d+ ms$/,
    );

    // Plugged back in: same path, new pty behind it.
    const again = await plugIn();
    await waitFor(() => log.states().at(-1) === 'connected', { what: 'reopened', timeoutMs: 15_000 });
    again.sendLines([...backgroundLines(), ...occupancyLines({ index: 6, base: 700 })]);
    await waitFor(() => log.ofKind('occupancy-end').length === 3, { what: 'occupancy after reopen' });
    expect(log.ofKind('occupancy-start')[2]).toMatchObject({ seq: 3, partial: false });
    expect(log.ofKind('occupancy-end')[2]).toMatchObject({ seq: 3, reason: 'device-end', deviceIndex: 6 });
    expect(log.states()).toEqual(['connecting', 'connected', 'disconnected', 'disconnected', 'connected']);
    expect(log.ofKind('connection').at(-1)!.detail).toMatch(/^opened serial:.* after \d+ attempts$/);
    expect(counters.get('lane.lane-s.link.disconnects')).toBe(1);
    expect(log.ofKind('bad-input')).toEqual([]);

    await Promise.all([driver.stop(), driver.stop()]);
    expect(log.ofKind('connection').at(-1)).toMatchObject({
      state: 'disconnected',
      detail: 'stopped',
      reason: 'stopped',
    });
    const count = log.events.length;
    again.sendLines(backgroundLines());
    await sleep(200);
    expect(log.events).toHaveLength(count);
  });
});
