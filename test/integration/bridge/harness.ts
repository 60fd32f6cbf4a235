/** Shared pieces of the bridge's integration suites: a bridge on a temp database, a subscriber. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createEventBridge, type EventBridge, type EventBridgeDeps } from '../../../src/bridge/bridge.js';
import { OUTBOX_DEFAULTS, type BridgeSettings } from '../../../src/bridge/bridge-settings.js';
import { SystemClock } from '../../../src/core/clock.js';
import { silentLogger } from '../../../src/core/logger.js';
import type { LaneDescriptor } from '../../../src/domain/lane-events.js';
import { openDatabase } from '../../../src/storage/database.js';

export function lanes(...ids: string[]): LaneDescriptor[] {
  return ids.map((id) => ({
    id,
    driver: 'vm250',
    channels: { gamma: 4, neutron: 4 },
    gammaChannelNames: ['masterUpper', 'masterLower', 'slaveLower', 'slaveUpper'],
  }));
}

export function settings(
  url: string,
  more: Partial<Omit<BridgeSettings, 'mqtt'>> & { mqtt?: Partial<BridgeSettings['mqtt']> } = {},
): BridgeSettings {
  const { mqtt: mqttMore, ...rest } = more;
  return {
    site: 'port-alpha',
    gatewayId: 'gw-test',
    topicPrefix: 'rpm/v1',
    commands: { senderProperty: 'sender', allowedSenders: ['central-ops'], maxPayloadBytes: 16_384 },
    outbox: OUTBOX_DEFAULTS,
    telemetry: null,
    n42Dir: null,
    drainOnStopMs: 2000,
    ...rest,
    mqtt: {
      url,
      protocol: 'auto',
      clientId: `gw-test-${Math.random().toString(36).slice(2)}`,
      keepaliveS: 10,
      connectTimeoutMs: 3000,
      backoff: { initialMs: 50, maxMs: 500 },
      ...mqttMore,
    },
  };
}

export function makeBridge(
  s: BridgeSettings,
  deps: Partial<EventBridgeDeps> & { dir?: string } = {},
): { bridge: EventBridge; dir: string } {
  const dir = deps.dir ?? mkdtempSync(join(tmpdir(), 'bridge-'));
  const bridge = createEventBridge(s, {
    db: openDatabase(dir),
    clock: new SystemClock(),
    logger: silentLogger,
    lanes: lanes('lane-1', 'lane-2'),
    ...deps,
  });
  return { bridge, dir };
}

export interface Received {
  readonly topic: string;
  readonly text: string;
  readonly retain: boolean;
}

/** A subscriber that keeps everything it receives. */
export async function subscriber(
  url: string,
  filter: string | string[],
  options: IClientOptions = {},
): Promise<{ client: MqttClient; messages: Received[] }> {
  const messages: Received[] = [];
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 100, ...options });
  client.on('message', (topic, payload, packet) =>
    messages.push({ topic, text: payload.toString(), retain: packet.retain }),
  );
  client.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, messages };
}
