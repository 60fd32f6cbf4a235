/**
 * The bridge's settings, resolved from the gateway configuration's `mqtt`, `outbox`,
 * `telemetry` and `n42` sections with their defaults (src/config/schema.ts describes each).
 */
import { hostname } from 'node:os';
import type { GatewayConfig } from '../config/schema.js';
import type { MqttConnectionOptions } from './mqtt-connection.js';
import { DEFAULT_TOPIC_PREFIX } from './topics.js';

export interface BridgeSettings {
  readonly site: string;
  readonly gatewayId: string;
  readonly topicPrefix: string;
  readonly mqtt: Omit<MqttConnectionOptions, 'status' | 'logger'>;
  readonly commands: {
    readonly senderProperty: string;
    readonly allowedSenders: readonly string[];
    readonly maxPayloadBytes: number;
  };
  readonly outbox: { readonly maxBytes: number; readonly maxMessageBytes: number; readonly inflight: number };
  readonly telemetry: {
    readonly url: string;
    readonly token?: string;
    readonly org: string;
    readonly bucket: string;
    readonly intervalS: number;
  } | null;
  readonly n42Dir: string | null;
  /** How long `stop()` waits for committed events to be PUBACKed. */
  readonly drainOnStopMs: number;
}

export const OUTBOX_DEFAULTS = { maxBytes: 268_435_456, maxMessageBytes: 262_144, inflight: 128 } as const;

/** Null when the configuration has no `mqtt` section (the bridge is off). */
export function bridgeSettingsFrom(config: GatewayConfig): BridgeSettings | null {
  const m = config.mqtt;
  if (!m) return null;
  const gatewayId = config.gatewayId ?? safeId(hostname());
  const t = config.telemetry;
  return {
    site: config.site,
    gatewayId,
    topicPrefix: m.topicPrefix ?? DEFAULT_TOPIC_PREFIX,
    mqtt: {
      url: m.url,
      protocol: m.protocol ?? 'auto',
      clientId: m.clientId ?? `rpm-gateway-${config.site}-${gatewayId}`,
      ...(m.username === undefined ? {} : { username: m.username }),
      ...(m.password === undefined ? {} : { password: m.password }),
      ...(m.tls === undefined ? {} : { tls: m.tls }),
      keepaliveS: m.keepaliveS ?? 30,
      connectTimeoutMs: 10_000,
      backoff: { initialMs: 250, maxMs: 10_000 },
    },
    commands: {
      senderProperty: m.commands?.senderProperty ?? 'sender',
      allowedSenders: m.commands?.allowedSenders ?? [],
      maxPayloadBytes: m.commands?.maxPayloadBytes ?? 16_384,
    },
    outbox: { ...OUTBOX_DEFAULTS, ...config.outbox },
    telemetry: t
      ? {
          url: t.url,
          ...(t.token === undefined ? {} : { token: t.token }),
          org: t.org ?? 'rpm',
          bucket: t.bucket ?? 'rpm',
          intervalS: t.intervalS ?? 10,
        }
      : null,
    n42Dir: config.n42?.dir ?? null,
    drainOnStopMs: 2000,
  };
}

/** A host name as a configuration identifier (letters, digits, - and _). */
function safeId(name: string): string {
  const id = name
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  return id === '' ? 'gateway' : id;
}
