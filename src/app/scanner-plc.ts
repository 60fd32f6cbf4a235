/**
 * A lane's scanner PLC in the running gateway (SPEC §1.3; docs/imaging.md "Scanner status"): the
 * driver on the site's register map, and what it reports made visible. Whenever the scanner's
 * status (state, status bits, fault code, scan counter) or its link changes, an
 * `imaging.scanner.status` record goes through the gateway's output — to the console's lane tile
 * and live feed, and as an event to central command — so a scanner fault, an emergency stop or
 * a PLC that stopped answering is seen by the people who have to act on it, not only logged.
 */
import type { ScannerConfig } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { Counters } from '../core/counters.js';
import { describeError, GatewayError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { ScannerPlcDriver, type ScannerEvent, type ScannerPlcView } from '../drivers/scanner/plc-driver.js';
import { createPlcLink } from '../drivers/scanner/plc-link.js';
import { plcMap, type PlcMap, type ScannerCommand, type ScannerStatus } from '../drivers/scanner/plc-map.js';
import { parseDeviceAddress } from '../drivers/transport/uri.js';

/** The output record of a change (the bridge publishes it as the `imaging.scanner.status` event). */
export interface ScannerStatusRecord extends ScannerPlcView {
  readonly type: 'imaging.scanner.status';
  readonly lane: string;
  /** ISO time of the change (= `since`). */
  readonly time: string;
}

interface LanePlcDeps {
  readonly clock: Clock;
  readonly counters: Counters;
  readonly output: (record: Record<string, unknown>) => void;
}

export function buildLanePlc(
  plc: NonNullable<ScannerConfig['plc']>,
  lane: string,
  logger: Logger,
  deps: LanePlcDeps,
): ScannerPlcDriver {
  const address = parseDeviceAddress(plc.address);
  if (address.kind !== 'modbus-tcp' && address.kind !== 'modbus-rtu')
    throw new Error(`scanner PLC of ${lane} needs a modbus address`);
  const { unitId, ...endpoint } = address;
  const changed = (): void => {
    const view = driver.view();
    const record: ScannerStatusRecord = { type: 'imaging.scanner.status', lane, time: view.since, ...view };
    deps.output(record as unknown as Record<string, unknown>);
  };
  const driver: ScannerPlcDriver = new ScannerPlcDriver({
    link: createPlcLink(endpoint),
    map: mapFrom(plc.map),
    unitId,
    pollMs: plc.pollMs,
    clock: deps.clock,
    logger,
    counters: deps.counters,
    onEvent: (e: ScannerEvent) => {
      if (e.kind === 'status') {
        const s = e.status;
        const news =
          e.previous === null || e.previous.state !== s.state || e.previous.faultCode !== s.faultCode;
        // A fault or an emergency stop is a warning for whoever reads the log; other changes info.
        const level = s.state === 'fault' || s.emergencyStop ? 'warn' : 'info';
        if (news || s.emergencyStop !== e.previous?.emergencyStop)
          logger[level]('scanner status', {
            state: s.state,
            faultCode: s.faultCode,
            emergencyStop: s.emergencyStop,
          });
        changed();
      } else if (e.kind === 'connection') {
        logger.info(`scanner PLC ${e.state}`, { detail: e.detail });
        changed();
      } else if (e.kind === 'bad-input') {
        logger.warn('scanner PLC status block not understood: check the register map', { reason: e.detail });
        changed();
      } else if (e.kind === 'scan-completed') deps.counters.increment('scanner.plc.scans');
    },
  });
  return driver;
}

/** The scanner state each command starts from; `stop` from any state but `fault`. */
const COMMAND_FROM: Readonly<Record<ScannerCommand, readonly string[]>> = {
  arm: ['idle'],
  start: ['ready'],
  stop: ['idle', 'ready', 'scanning', 'unknown'],
  reset: ['fault'],
};

/**
 * Why the gateway will not send `command` to a scanner in this state, or null. X-ray equipment:
 * nothing is written to a PLC whose state is not known now (link down, nothing read yet, a block
 * it cannot decode), that its site has not put under remote control (the `remoteEnabled` bit), or
 * that is in emergency stop (only `stop`); and a command its state does not take is refused in
 * words here rather than written and silently ignored by the PLC.
 */
export function commandRefusal(view: ScannerPlcView, command: ScannerCommand): string | null {
  const s = view.status;
  if (view.link !== 'connected')
    return `the scanner's PLC is not connected (${view.linkDetail ?? view.link})`;
  if (view.problem !== null) return `the scanner's PLC status block is not understood (${view.problem})`;
  if (s === null) return "no status has been read from the scanner's PLC yet";
  if (!s.remoteEnabled) return 'the scanner is under local control: its PLC does not enable remote commands';
  if (s.emergencyStop && command !== 'stop') return 'the scanner is in emergency stop';
  if (!COMMAND_FROM[command].includes(s.state))
    return `the scanner is ${stateWords(s)}: '${command}' does not apply`;
  return null;
}

function stateWords(s: ScannerStatus): string {
  if (s.state === 'fault') return `in fault (code ${s.faultCode})`;
  if (s.state === 'unknown') return `in an unknown state (code ${s.stateCode})`;
  return s.state;
}

/**
 * Write `command` to the lane's PLC unless {@link commandRefusal} says no. Resolves once the PLC
 * took the write, with the view as it stands (the new state comes with the next poll, as an
 * `imaging.scanner.status` record).
 */
export async function commandPlc(
  driver: ScannerPlcDriver,
  lane: string,
  command: ScannerCommand,
): Promise<ScannerPlcView> {
  const refusal = commandRefusal(driver.view(), command);
  if (refusal !== null)
    throw new GatewayError('SCANNER_COMMAND_REFUSED', `${lane}: ${refusal}`, { lane, command });
  try {
    await driver.command(command);
  } catch (error) {
    throw new GatewayError(
      'SCANNER_COMMAND_FAILED',
      `${lane}: the scanner's PLC did not take '${command}': ${describeError(error)}`,
      { lane, command },
      { cause: error },
    );
  }
  return driver.view();
}

/** The site's register map: the configuration's overrides on the project's map. */
export function mapFrom(o: NonNullable<ScannerConfig['plc']>['map']): PlcMap {
  if (o === undefined) return plcMap();
  const states =
    o.states === undefined
      ? undefined
      : Object.fromEntries(Object.entries(o.states).map(([k, v]) => [Number(k), v]));
  const base = plcMap({
    ...(o.base === undefined ? {} : { base: o.base }),
    ...(o.offsets === undefined ? {} : { offsets: o.offsets }),
    ...(o.bits === undefined ? {} : { bits: o.bits }),
    ...(states === undefined ? {} : { states }),
    ...(o.signature === undefined ? {} : { signature: o.signature }),
  });
  const commands = { ...base.commands, ...o.commands };
  // The block read covers every register the map names.
  const length = Math.max(...Object.values(base.offsets).map((v) => v + 1), base.offsets.scanCounter + 2);
  return { ...base, commands, length };
}
