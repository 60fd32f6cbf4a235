/**
 * A gateway process for the crash test: the bridge on a storage dir, fed by a simulated event
 * source (a fault event every `intervalMs` per lane). After each durable commit it prints
 * `committed <id>` on stdout, so the parent knows exactly what was committed before it sends
 * SIGKILL. Run: node --import ./test/support/ts-loader.js bridge-child.ts <dir> <url> <count> <intervalMs>
 */
import { createEventBridge } from '../../../src/bridge/bridge.js';
import { OUTBOX_DEFAULTS } from '../../../src/bridge/bridge-settings.js';
import { SystemClock } from '../../../src/core/clock.js';
import { silentLogger } from '../../../src/core/logger.js';
import { openDatabase } from '../../../src/storage/database.js';

const [dir, url, countText, intervalText] = process.argv.slice(2);
const count = Number(countText);
const intervalMs = Number(intervalText);

const bridge = createEventBridge(
  {
    site: 'port-alpha',
    gatewayId: 'gw-crash',
    topicPrefix: 'rpm/v1',
    commands: { senderProperty: 'sender', allowedSenders: [], maxPayloadBytes: 16_384 },
    outbox: OUTBOX_DEFAULTS,
    telemetry: null,
    n42Dir: null,
    drainOnStopMs: 5000,
    mqtt: {
      url: url!,
      protocol: 'auto',
      clientId: `gw-crash-${process.pid}`,
      keepaliveS: 10,
      connectTimeoutMs: 2000,
      backoff: { initialMs: 50, maxMs: 300 },
    },
  },
  {
    db: openDatabase(dir!),
    clock: new SystemClock(),
    logger: silentLogger,
    lanes: [
      { id: 'lane-1', driver: 'vm250', channels: { gamma: 4, neutron: 4 }, gammaChannelNames: [] },
      { id: 'lane-2', driver: 'vm250', channels: { gamma: 4, neutron: 4 }, gammaChannelNames: [] },
    ],
  },
);
await bridge.start();
process.stdout.write('started\n');
for (let i = 0; i < count; i++) {
  const lane = i % 2 === 0 ? 'lane-1' : 'lane-2';
  void bridge
    .publish({ type: 'rpm.device.fault', lane, time: Date.now(), data: { pid: process.pid, i } })
    .then((r) => {
      if (r.committed) process.stdout.write(`committed ${r.id}\n`);
    });
  await new Promise((r) => setTimeout(r, intervalMs));
}
await bridge.whenDelivered();
process.stdout.write('delivered\n');
await bridge.stop();
