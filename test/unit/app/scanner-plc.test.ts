/** When the gateway refuses to write a command to a scanner PLC (src/app/scanner-plc.ts). */
import { describe, expect, it } from 'vitest';
import { commandRefusal } from '../../../src/app/scanner-plc.js';
import type { ScannerPlcView } from '../../../src/drivers/scanner/plc-driver.js';
import type { ScannerStatus } from '../../../src/drivers/scanner/plc-map.js';

const status = (s: Partial<ScannerStatus>): ScannerStatus => ({
  state: 'idle',
  stateCode: 0,
  interlockClosed: false,
  radiationOn: false,
  vehiclePresent: false,
  remoteEnabled: true,
  emergencyStop: false,
  scanCounter: 0,
  faultCode: 0,
  energyMode: 1,
  rawStatus: 8,
  ...s,
});
const view = (
  s: Partial<ScannerStatus> | null,
  link: ScannerPlcView['link'] = 'connected',
): ScannerPlcView => ({
  link,
  linkDetail: link === 'disconnected' ? 'connect ECONNREFUSED 127.0.0.1:502; retrying in 1000 ms' : null,
  problem: null,
  status: s === null ? null : status(s),
  since: '2024-05-01T10:00:00.000Z',
});

describe('scanner command refusals', () => {
  it('sends a command only from the state that takes it', () => {
    expect(commandRefusal(view({ state: 'idle' }), 'arm')).toBeNull();
    expect(commandRefusal(view({ state: 'ready' }), 'start')).toBeNull();
    expect(commandRefusal(view({ state: 'scanning' }), 'stop')).toBeNull();
    expect(commandRefusal(view({ state: 'fault' }), 'reset')).toBeNull();
    expect(commandRefusal(view({ state: 'scanning' }), 'arm')).toBe(
      "the scanner is scanning: 'arm' does not apply",
    );
    expect(commandRefusal(view({ state: 'fault', faultCode: 17 }), 'stop')).toBe(
      "the scanner is in fault (code 17): 'stop' does not apply",
    );
    expect(commandRefusal(view({ state: 'idle' }), 'reset')).toBe(
      "the scanner is idle: 'reset' does not apply",
    );
  });

  it('writes nothing to a PLC whose state is not known now, not remote-enabled, or in emergency stop', () => {
    expect(commandRefusal(view({ state: 'idle' }, 'disconnected'), 'stop')).toBe(
      "the scanner's PLC is not connected (connect ECONNREFUSED 127.0.0.1:502; retrying in 1000 ms)",
    );
    expect(commandRefusal(view(null, 'connecting'), 'arm')).toBe(
      "the scanner's PLC is not connected (connecting)",
    );
    expect(commandRefusal(view(null), 'arm')).toBe("no status has been read from the scanner's PLC yet");
    expect(
      commandRefusal({ ...view({ state: 'idle' }), problem: 'signature 0x1 is not 0x5343' }, 'arm'),
    ).toBe("the scanner's PLC status block is not understood (signature 0x1 is not 0x5343)");
    expect(commandRefusal(view({ state: 'idle', remoteEnabled: false }), 'arm')).toBe(
      'the scanner is under local control: its PLC does not enable remote commands',
    );
    expect(commandRefusal(view({ state: 'ready', emergencyStop: true }), 'start')).toBe(
      'the scanner is in emergency stop',
    );
    // Stopping stays possible in an emergency stop.
    expect(commandRefusal(view({ state: 'ready', emergencyStop: true }), 'stop')).toBeNull();
  });
});
