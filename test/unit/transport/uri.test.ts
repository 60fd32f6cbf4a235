import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/core/errors.js';
import {
  DEFAULT_MODBUS_RTU_SETTINGS,
  DEFAULT_SERIAL_SETTINGS,
  formatDeviceAddress,
  parseDeviceAddress,
} from '../../../src/drivers/transport/uri.js';

function problemsOf(uri: string): string[] {
  try {
    parseDeviceAddress(uri);
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    const gatewayError = error as GatewayError;
    expect(gatewayError.code).toBe('TRANSPORT_URI_INVALID');
    expect(gatewayError.message).toContain(uri);
    return gatewayError.context.problems as string[];
  }
  throw new Error(`expected '${uri}' to be rejected`);
}

describe('parseDeviceAddress: good addresses', () => {
  it('reads tcp host and port', () => {
    expect(parseDeviceAddress('tcp://10.0.0.5:1601')).toEqual({ kind: 'tcp', host: '10.0.0.5', port: 1601 });
    expect(parseDeviceAddress('TCP://rpm-lane-2.local:1602/')).toEqual({
      kind: 'tcp',
      host: 'rpm-lane-2.local',
      port: 1602,
    });
    expect(parseDeviceAddress('  tcp://[fe80::1]:1600 ')).toEqual({
      kind: 'tcp',
      host: 'fe80::1',
      port: 1600,
    });
  });

  it('defaults serial settings to 9600 8N1 without flow control (SPEC §1.1)', () => {
    expect(parseDeviceAddress('serial:///dev/ttyS0')).toEqual({
      kind: 'serial',
      path: '/dev/ttyS0',
      serial: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false },
    });
    expect(DEFAULT_SERIAL_SETTINGS).toEqual({
      baudRate: 9600,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
      rtscts: false,
    });
  });

  it('reads every serial setting, keys case-insensitively', () => {
    expect(
      parseDeviceAddress(
        'serial:///dev/ttyUSB1?baudRate=19200&dataBits=7&parity=Even&stopBits=2&rtscts=true',
      ),
    ).toEqual({
      kind: 'serial',
      path: '/dev/ttyUSB1',
      serial: { baudRate: 19200, dataBits: 7, parity: 'even', stopBits: 2, rtscts: true },
    });
    const address = parseDeviceAddress('serial:///dev/ttyS1?BAUDRATE=4800&stopbits=1.5&parity=mark');
    expect(address).toMatchObject({ serial: { baudRate: 4800, stopBits: 1.5, parity: 'mark', dataBits: 8 } });
  });

  it('accepts by-id paths with escapes and Windows COM ports', () => {
    expect(parseDeviceAddress('serial:///dev/serial/by-id/usb-FTDI%20FT232R-if00-port0')).toMatchObject({
      path: '/dev/serial/by-id/usb-FTDI FT232R-if00-port0',
    });
    expect(parseDeviceAddress('serial://COM3?baudRate=38400')).toMatchObject({ path: 'COM3' });
    expect(parseDeviceAddress('serial:///com12')).toMatchObject({ path: 'COM12' });
  });

  it('reads modbus-tcp with default port 502 and unit id 1', () => {
    expect(parseDeviceAddress('modbus-tcp://10.0.0.9')).toEqual({
      kind: 'modbus-tcp',
      host: '10.0.0.9',
      port: 502,
      unitId: 1,
    });
    expect(parseDeviceAddress('modbus-tcp://plc:5020?unitId=0')).toEqual({
      kind: 'modbus-tcp',
      host: 'plc',
      port: 5020,
      unitId: 0,
    });
  });

  it('reads modbus-rtu with Modbus serial-line defaults (19200 8E1)', () => {
    expect(parseDeviceAddress('modbus-rtu:///dev/ttyUSB0')).toEqual({
      kind: 'modbus-rtu',
      path: '/dev/ttyUSB0',
      serial: DEFAULT_MODBUS_RTU_SETTINGS,
      unitId: 1,
    });
    expect(parseDeviceAddress('modbus-rtu:///dev/ttyUSB0?baudRate=9600&parity=none&unitId=17')).toMatchObject(
      {
        serial: { baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1 },
        unitId: 17,
      },
    );
  });

  it('formats back to a canonical address that parses to the same value', () => {
    for (const uri of [
      'tcp://10.0.0.5:1601',
      'tcp://[::1]:1601',
      'serial:///dev/serial/by-id/usb-FTDI%20x?baudRate=19200&parity=odd',
      'serial://COM4',
      'modbus-tcp://plc?unitId=3',
      'modbus-rtu:///dev/ttyUSB0?stopBits=2&unitId=247',
    ]) {
      const address = parseDeviceAddress(uri);
      expect(parseDeviceAddress(formatDeviceAddress(address))).toEqual(address);
    }
    expect(formatDeviceAddress(parseDeviceAddress('serial:///dev/ttyS0'))).toBe(
      'serial:///dev/ttyS0?baudRate=9600&dataBits=8&parity=none&stopBits=1&rtscts=false',
    );
  });
});

describe('parseDeviceAddress: bad addresses a technician must be able to fix', () => {
  it.each([
    ['', /must start with a kind and ':\/\/'/],
    ['10.0.0.5:1601', /must start with a kind and ':\/\/'/],
    ['udp://10.0.0.5:1601', /unknown kind 'udp'; use one of tcp, serial, modbus-tcp, modbus-rtu/],
    ['tcp://10.0.0.5', /the port is missing; a tcp address needs one, e\.g\. tcp:\/\//],
    ['tcp://10.0.0.5:', /the port is missing/],
    ['tcp://:1601', /the host is missing/],
    ['tcp://10.0.0.5:99999', /port must be a whole number from 1 to 65535; got '99999'/],
    ['tcp://10.0.0.5:0', /port must be a whole number from 1 to 65535; got '0'/],
    ['tcp://10.0.0.5:16o1', /got '16o1'/],
    ['tcp://10.0.0.5:1601/stream', /a tcp address has no path/],
    ['tcp://admin:pw@10.0.0.5:1601', /takes no user name or password/],
    ['tcp://fe80::1:1601', /IPv6 hosts must be written in brackets/],
    ['tcp://[fe80::1:1601', /missing its closing '\]'/],
    ['tcp://[fe80::1]1601', /unexpected '1601' after the IPv6 host/],
    ['tcp://rpm lane:1601', /host 'rpm lane' contains characters/],
    ['tcp://10.0.0.5:1601?baudRate=9600', /a tcp address takes no settings; got 'baudRate'/],
    ['tcp://10.0.0.5:1601#x', /'#' is not allowed/],
    ['serial://', /the device path is missing/],
    ['serial://dev/ttyS0', /device path must be absolute — note the three slashes .* got 'dev\/ttyS0'/],
    ['serial:///dev/tty%ZZ', /broken %-escape/],
    ['serial:///dev/ttyS0?parity=x', /serial parity must be one of none, even, odd, mark, space; got 'x'/],
    [
      'serial:///dev/ttyS0?baudRate=fast',
      /serial baudRate must be a whole number from 50 to 4000000; got 'fast'/,
    ],
    ['serial:///dev/ttyS0?baudRate=9600.5', /got '9600.5'/],
    ['serial:///dev/ttyS0?baudRate=0', /got '0'/],
    ['serial:///dev/ttyS0?dataBits=9', /serial dataBits must be one of 5, 6, 7, 8; got '9'/],
    ['serial:///dev/ttyS0?stopBits=3', /serial stopBits must be one of 1, 1.5, 2; got '3'/],
    ['serial:///dev/ttyS0?rtscts=yes', /serial rtscts must be one of true, false; got 'yes'/],
    ['serial:///dev/ttyS0?baud=9600', /unknown serial setting 'baud'; known settings are baudRate, dataBits/],
    ['serial:///dev/ttyS0?unitId=1', /unknown serial setting 'unitId'/],
    ['serial:///dev/ttyS0?baudRate=9600&baudrate=19200', /setting 'baudRate' is given more than once/],
    ['serial:///dev/ttyS0?parity', /setting 'parity' has no value/],
    ['serial:///dev/ttyS0?parity=', /setting 'parity' has no value/],
    ['modbus-tcp://plc:502?unitId=256', /modbus-tcp unitId must be a whole number from 0 to 255; got '256'/],
    ['modbus-tcp://plc:502?slave=1', /unknown modbus-tcp setting 'slave'; known settings are unitId/],
    ['modbus-rtu:///dev/ttyUSB0?unitId=0', /modbus-rtu unitId must be a whole number from 1 to 247; got '0'/],
    ['modbus-rtu:///dev/ttyUSB0?unitId=248', /got '248'/],
    ['modbus-rtu:///dev/ttyUSB0?parity=evn', /modbus-rtu parity must be one of none, even/],
  ])('rejects %j', (uri, expected) => {
    expect(problemsOf(uri).join('; ')).toMatch(expected);
  });

  it('reports every problem of one address at once', () => {
    const problems = problemsOf('serial:///dev/ttyS0?baudRate=fast&parity=x&dataBits=9&colour=blue');
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/colour/);
    expect(problems.join('\n')).toMatch(/baudRate/);
    expect(problems.join('\n')).toMatch(/parity/);
    expect(problems.join('\n')).toMatch(/dataBits/);
  });
});
