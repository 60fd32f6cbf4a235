import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway } from '../../app/gateway.js';
import { startEmbeddedBroker } from '../../bridge/embedded-broker.js';
import type { OutputRecord } from '../../app/lane-recorder.js';
import type { OccupancyRecord } from '../../app/occupancy-record.js';
import { SystemClock } from '../../core/clock.js';
import { GatewayError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { validateConfig } from '../../config/load.js';
import type { LaneEvent } from '../../domain/lane-events.js';
import { summedPortal } from '../../../simulators/physics/portal.js';
import { generateScenario } from '../../../simulators/physics/scenario.js';
import { startModbusRpmTcpServer } from '../../../simulators/modbus-rpm/tcp-server.js';
import { Vm250SerialSim } from '../../../simulators/vm250/serial-sim.js';
import { Vm250TcpServer } from '../../../simulators/vm250/tcp-server.js';
import { startScannerPlcServer } from '../../../simulators/scanner/plc-server.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../context.js';

export const demoUsage = `Usage: rpm-gateway demo [options]

Starts three simulated RPMs — a VM-250 over TCP, a VM-250 on a serial pseudo-terminal, an
Aspect-style Modbus RPM over Modbus TCP — a simulated cargo scanner on lane-1 (PLC over Modbus
TCP, a synthetic X-ray image per vehicle), and the gateway connected to them, on embedded
defaults, and prints one line per vehicle: the device's verdict beside the gateway's.
Runs until Ctrl-C.

Options:
  --seed <n>        traffic seed (default 1)
  --speed <x>       play the VM-250 traffic x times faster than real time (default 1)
  --duration <s>    stop by itself after s seconds
  --json            print the NDJSON records instead of one line per vehicle
  --port <n>        the web console's port (default 8080, or a free one when 8080 is taken)
  --mqtt <url>      publish events to this MQTT broker (default: an embedded broker on a free
                    loopback port; its URL is printed)

The web console opens on http://127.0.0.1:<port>/ as user admin, with the password from
RPM_GATEWAY_ADMIN_PASSWORD or, when that is not set, a random one printed once at start.`;

/** The demo's traffic: short gaps and a generous share of alarms, so there is something to see. */
const DEMO_MIX = { background: 5, norm: 2, medical: 1, threat: 1, 'threat-in-norm': 0.5, neutron: 0.5 };
const DEMO_GAP_S: readonly [number, number] = [2, 8];

export async function demoCommand(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    {
      args: [...args],
      options: {
        seed: { type: 'string' },
        speed: { type: 'string' },
        duration: { type: 'string' },
        json: { type: 'boolean' },
        port: { type: 'string' },
        mqtt: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    demoUsage,
    ctx,
    'demo: ',
  );
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const seed = Number(values.seed ?? '1');
  const speed = Number(values.speed ?? '1');
  const durationS = values.duration === undefined ? undefined : Number(values.duration);
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    ctx.stderr.write('demo: --port must be a port number (0 for any free port)\n');
    return 2;
  }
  if (!Number.isSafeInteger(seed) || !(speed > 0) || (durationS !== undefined && !(durationS > 0))) {
    ctx.stderr.write(`demo: --seed must be a whole number, --speed and --duration positive numbers\n`);
    return 2;
  }

  const stateDir = await mkdtemp(join(tmpdir(), 'rpm-gateway-demo-'));
  const traffic = { mix: DEMO_MIX, gapS: DEMO_GAP_S };
  const tcpSim = new Vm250TcpServer({ seed, speed, ...traffic });
  const serialSim = new Vm250SerialSim({ seed: seed + 1, speed, ...traffic });
  const cleanups: Array<() => Promise<unknown>> = [() => rm(stateDir, { recursive: true, force: true })];
  try {
    const tcp = await tcpSim.start();
    cleanups.unshift(() => tcpSim.stop());
    // The serial lane needs socat for its pseudo-terminal pair; without it the demo runs on.
    let serial: { path: string } | null = null;
    try {
      serial = await serialSim.start();
      cleanups.unshift(() => serialSim.stop());
    } catch (error) {
      if (!(error instanceof GatewayError && error.code === 'PTY_UNAVAILABLE')) throw error;
      ctx.stderr.write(
        'demo: lane-2 (VM-250 on serial) skipped: socat is not installed ' +
          '(scripts/install-test-deps.sh installs it)\n',
      );
    }
    const modbus = await startModbusRpmTcpServer({
      seed: seed + 2,
      scenario: generateScenario({ seed: seed + 2, portal: summedPortal(), ...traffic }),
    });
    cleanups.unshift(() => modbus.close());

    // Lane 1's cargo scanner: a simulated PLC whose scans drop phantoms into the lane's inbox.
    const inbox = join(stateDir, 'scanner-inbox');
    const scanner = await startScannerPlcServer({
      inbox,
      lane: 'lane-1',
      seed: `demo-${seed}`,
      scanMs: 1000,
    });
    cleanups.unshift(() => scanner.close());
    const scanVehicle = (event: LaneEvent): void => {
      if (event.kind !== 'occupancy-start' || event.lane !== 'lane-1') return;
      scanner.model.write(scanner.model.map.commands.arm);
      scanner.model.write(scanner.model.map.commands.start);
    };

    const lanes = [
      {
        id: 'lane-1',
        name: 'VM-250 over TCP',
        driver: 'vm250',
        address: `tcp://${tcp.host}:${tcp.port}`,
        scanner: { inbox, plc: { address: `modbus-tcp://${scanner.host}:${scanner.port}?unitId=1` } },
      },
      ...(serial === null
        ? []
        : [{ id: 'lane-2', name: 'VM-250 on serial', driver: 'vm250', address: `serial://${serial.path}` }]),
      {
        id: 'lane-3',
        name: 'Modbus RPM over TCP',
        driver: 'modbus-rpm',
        address: `modbus-tcp://${modbus.host}:${modbus.port}?unitId=1`,
      },
    ];
    // The console's first admin: the operator's own password, or a random one shown once.
    const envPassword = ctx.env.RPM_GATEWAY_ADMIN_PASSWORD;
    const password =
      envPassword !== undefined && envPassword.length >= 12
        ? envPassword
        : randomBytes(12).toString('base64url');
    // Events over MQTT (SPEC §4): the broker given, else an embedded one (no services needed).
    let mqttUrl = values.mqtt;
    if (mqttUrl === undefined) {
      const broker = await startEmbeddedBroker();
      cleanups.unshift(() => broker.close());
      mqttUrl = broker.url;
    }
    const validated = validateConfig({
      site: 'demo',
      gatewayId: 'demo',
      // The embedded broker (aedes) speaks MQTT 3.1.1: say so rather than probe for 5.
      mqtt: values.mqtt === undefined ? { url: mqttUrl, protocol: '3.1.1' } : { url: mqttUrl },
      storage: { dir: stateDir },
      log: { level: 'warn' },
      lanes,
      http: {
        host: '127.0.0.1',
        port: port ?? ((await portIsFree(8080)) ? 8080 : 0),
        admin: { username: 'admin', password },
      },
    });
    if (!validated.ok) throw new Error(`demo configuration invalid: ${JSON.stringify(validated.problems)}`);

    const print = values.json
      ? (record: OutputRecord) => ctx.stdout.write(JSON.stringify(record) + '\n')
      : (record: OutputRecord) => {
          if (record.type === 'occupancy')
            ctx.stdout.write(formatOccupancy(record as OccupancyRecord) + '\n');
          else if (record.type === 'imaging.scan.analyzed' || record.type === 'imaging.scan.linked')
            ctx.stdout.write(formatScan(record as Record<string, unknown>) + '\n');
        };
    const gateway = createGateway(validated.config, {
      clock: new SystemClock(),
      logger: createLogger({ level: 'warn', sink: ctx.stderr }),
      output: print,
      onLaneEvent: (event) => {
        scanVehicle(event);
        if (!values.json) printConnection(event, ctx);
      },
      env: ctx.env,
    });
    // Stopped before the broker (cleanups run first to last): it publishes `offline` on the way out.
    cleanups.unshift(() => gateway.stop());

    ctx.stdout.write(
      'rpm-gateway demo — simulated lanes:\n' +
        lanes.map((l) => `  ${l.id}  ${l.name.padEnd(20)} ${l.address}\n`).join('') +
        `Events over MQTT: ${mqttUrl}${values.mqtt === undefined ? ' (embedded broker)' : ''}, topics rpm/v1/demo/#\n` +
        'One line per vehicle: the RPM’s own verdict, then the gateway’s. Ctrl-C to stop.\n\n',
    );
    await gateway.start();
    // stdout stays pure NDJSON with --json: the console's address goes to stderr then.
    (values.json ? ctx.stderr : ctx.stdout).write(
      `Console: ${gateway.consoleUrl ?? '(not started)'}  user admin, password ` +
        `${envPassword !== undefined && envPassword === password ? '(from RPM_GATEWAY_ADMIN_PASSWORD)' : password}\n\n`,
    );
    await new Promise<void>((resolve) => {
      if (ctx.stopSignal.aborted) return resolve();
      ctx.stopSignal.addEventListener('abort', () => resolve(), { once: true });
      if (durationS !== undefined) setTimeout(resolve, durationS * 1000);
    });
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
  return 0;
}

/** Whether a loopback port can be listened on now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function printConnection(event: LaneEvent, ctx: CommandContext): void {
  if (event.kind !== 'connection') return;
  ctx.stdout.write(
    `${clockTime(event.time)}  ${event.lane}  link ${event.state}${event.detail ? ` (${event.detail})` : ''}\n`,
  );
}

/** `14:03:50  lane-1  scan SCAN-000002  2 region(s), 1 shielding  → #12 priority critical` */
export function formatScan(r: Readonly<Record<string, unknown>>): string {
  const fusion = r.fusion as { occupancySeq: number | null; priority: string } | undefined;
  const regions = Array.isArray(r.regions) ? `${r.regions.length} region(s), ` : '';
  const shielding = Array.isArray(r.shieldingSuspects) ? `${r.shieldingSuspects.length} shielding, ` : '';
  const link = fusion?.occupancySeq == null ? 'no occupancy yet' : `#${fusion.occupancySeq}`;
  return `${clockTime(Date.now())}  ${String(r.lane)}  scan ${String(r.scanId)}  ${regions}${shielding}→ ${link}, priority ${fusion?.priority ?? '?'}`;
}

/** `14:03:44  lane-1  #12 (GX 12)  14.2 s  8.1 km/h  RPM: ALARM γ  gateway: γ 9.3σ → INVESTIGATE threat` */
export function formatOccupancy(r: OccupancyRecord): string {
  const device =
    r.device.gammaAlarm || r.device.neutronAlarm
      ? `ALARM ${[r.device.gammaAlarm ? 'γ' : '', r.device.neutronAlarm ? 'n' : ''].join('')}`
      : 'clear';
  const gateway = [
    r.gamma.alarm ? `γ ${r.gamma.maxSigma.toFixed(1)}σ` : '',
    r.neutron.alarm ? `n ${r.neutron.maxCounts} counts` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return [
    clockTime(Date.parse(r.end)),
    r.lane,
    `#${r.seq}${r.index === null ? '' : ` (device ${r.index})`}`.padEnd(18),
    `${r.durationS.toFixed(1)} s`.padStart(7),
    r.speedKph === null ? '      ' : `${r.speedKph.toFixed(1)} km/h`.padStart(10),
    `RPM: ${device}`.padEnd(14),
    `gateway: ${gateway ? gateway + ' → ' : ''}${r.assessment.disposition} ${r.assessment.category}`,
    // An INVESTIGATE without an alarm of the gateway's own (in doubt: no background yet, a
    // faulty channel, …): the operator needs the why on the same line.
    !gateway && r.assessment.disposition === 'INVESTIGATE' ? investigateReason(r.assessment.reasons) : '',
    // A patient too weak to alarm (adjudicate-quiet.ts): named, and said to be below the alarm.
    !gateway && r.assessment.category === 'medical'
      ? `(γ ${r.gamma.maxSigma.toFixed(1)}σ, below the alarm)`
      : '',
    r.endedAbnormally ? `(ended: ${r.endReason})` : '',
  ]
    .filter((part) => part !== '')
    .join('  ')
    .trimEnd();
}

/** The reason that says why INVESTIGATE (the adjudication writes it last), in parentheses. */
function investigateReason(reasons: readonly string[]): string {
  const why = reasons.find((r) => r.startsWith('INVESTIGATE')) ?? reasons.at(-1);
  return why === undefined ? '' : `(${why.replace(/^INVESTIGATE: /, '')})`;
}

function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}
