/**
 * One MQTT session to the broker, kept up (SPEC §4, STYLE.md §13): MQTT 5 first, falling back to
 * 3.1.1 when the broker refuses the protocol version (CONNACK 1 / 0x84) and the configuration
 * says `auto`; TLS with client certificates (mqtts://) and username/password; a retained
 * `online` on the gateway's status topic and the last will `offline` there.
 *
 * Each connection attempt uses a fresh mqtt.js client with its own reconnect switched off; this
 * module reconnects with capped exponential back-off. Nothing is left queued inside mqtt.js
 * across a reconnect: the outbox publisher re-reads what was not acknowledged from disk, so
 * order and memory stay under the bridge's control.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../core/logger.js';

export type MqttProtocolSetting = 'auto' | '5' | '3.1.1';

/**
 * mqtt.js logs through `debug` a dozen times per publish and per PUBACK, and `debug` allocates
 * its arguments even when off: 18% of all allocation in the 32-lane alarm bench, and young-GC
 * pauses land in the alarm path. A no-op logger instead, unless DEBUG asks for mqtt.js output.
 */
export const MQTT_LOG: Pick<IClientOptions, 'log'> = /mqttjs/.test(process.env.DEBUG ?? '')
  ? {}
  : { log: () => undefined };

export interface MqttTlsFiles {
  /** CA certificate(s) to trust for the broker (PEM file). */
  readonly ca?: string;
  /** Client certificate (PEM file) for mutual TLS. */
  readonly cert?: string;
  /** Client private key (PEM file). */
  readonly key?: string;
  readonly rejectUnauthorized?: boolean;
}

export interface MqttConnectionOptions {
  readonly url: string;
  readonly protocol: MqttProtocolSetting;
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: MqttTlsFiles;
  readonly keepaliveS: number;
  readonly connectTimeoutMs: number;
  /** Retained status: `onlinePayload` on connect, `offlinePayload` as last will and on stop. */
  readonly status: {
    readonly topic: string;
    readonly onlinePayload: string;
    readonly offlinePayload: string;
  };
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly logger: Logger;
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'stopped';

export interface IncomingMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly responseTopic?: string;
  readonly correlationData?: Buffer;
  readonly userProperties: Readonly<Record<string, string | string[]>>;
}

interface Events {
  connected: [protocolVersion: 4 | 5];
  disconnected: [reason: string];
  message: [message: IncomingMessage];
}

export interface PublishOptions {
  readonly retain?: boolean;
  readonly qos?: 0 | 1;
  readonly properties?: IClientPublishOptions['properties'];
}

export class MqttConnection extends EventEmitter<Events> {
  private client: MqttClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private fallbackPending = false;
  private version: 4 | 5;
  private current: ConnectionState = 'idle';
  private readonly subscriptions = new Set<string>();

  constructor(private readonly o: MqttConnectionOptions) {
    super();
    this.version = o.protocol === '3.1.1' ? 4 : 5;
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** Protocol of the live session (4 = 3.1.1, 5 = MQTT 5); null when not connected. */
  get protocolVersion(): 4 | 5 | null {
    return this.current === 'connected' ? this.version : null;
  }

  start(): void {
    if (this.current !== 'idle') return;
    this.connect();
  }

  /** Publish `offline` (retained), then disconnect cleanly. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.current === 'stopped') return;
    const wasConnected = this.current === 'connected';
    this.current = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    if (!client) return;
    if (wasConnected) {
      await this.publishOn(client, this.o.status.topic, this.o.status.offlinePayload, {
        retain: true,
        qos: 1,
      }).catch(() => undefined);
    }
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  }

  /** Subscribe now (if connected) and again after every reconnect. */
  subscribe(filter: string): void {
    this.subscriptions.add(filter);
    if (this.client && this.current === 'connected') this.client.subscribe(filter, { qos: 1 });
  }

  /** QoS 1 publish; resolves on PUBACK. Rejects at once when not connected. */
  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<void> {
    if (!this.client || this.current !== 'connected') return Promise.reject(new Error('not connected'));
    return this.publishOn(this.client, topic, payload, options);
  }

  /**
   * The outbox publisher's hot path: `options` as mqtt.js takes them (shared, not copied; MQTT 5
   * properties are ignored by mqtt.js on a 3.1.1 session) and a callback, no promise. `done`
   * gets the PUBACK (no error) or the failure. False, without calling `done`, when not connected.
   */
  send(
    topic: string,
    payload: string,
    options: Readonly<IClientPublishOptions>,
    done: (error?: (Error & { code?: number }) | null) => void,
  ): boolean {
    if (!this.client || this.current !== 'connected') return false;
    this.client.publish(topic, payload, options, done);
    return true;
  }

  private publishOn(
    client: MqttClient,
    topic: string,
    payload: string | Buffer,
    o: PublishOptions,
  ): Promise<void> {
    const opts: IClientPublishOptions = { qos: o.qos ?? 1, retain: o.retain ?? false };
    if (this.version === 5 && o.properties) opts.properties = o.properties;
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, opts, (error) => (error ? reject(error) : resolve()));
    });
  }

  private connect(): void {
    this.current = 'connecting';
    let options: IClientOptions;
    try {
      options = this.clientOptions();
    } catch (error) {
      // A missing or unreadable certificate file: say which, and keep trying (it may be mounted late).
      this.o.logger.error('mqtt TLS files could not be read', { error: String(error) });
      this.current = 'disconnected';
      this.timer = setTimeout(() => this.connect(), this.delay());
      return;
    }
    const client = mqtt.connect(this.o.url, options);
    this.client = client;
    let connected = false;
    client.on('connect', () => {
      if (this.client !== client) return;
      connected = true;
      this.attempt = 0;
      this.current = 'connected';
      // Alarms are small packets that must leave at once: no Nagle coalescing on our side.
      const socket = client.stream as { setNoDelay?: (noDelay: boolean) => unknown };
      socket.setNoDelay?.(true);
      this.o.logger.info('mqtt connected', { url: this.o.url, protocol: this.version === 5 ? '5' : '3.1.1' });
      for (const filter of this.subscriptions) client.subscribe(filter, { qos: 1 });
      this.publishOn(client, this.o.status.topic, this.o.status.onlinePayload, { retain: true }).catch(
        () => undefined,
      );
      this.emit('connected', this.version);
    });
    client.on('message', (topic, payload, packet) => {
      const p = packet.properties;
      this.emit('message', {
        topic,
        payload,
        ...(p?.responseTopic === undefined ? {} : { responseTopic: p.responseTopic }),
        ...(p?.correlationData === undefined ? {} : { correlationData: p.correlationData }),
        userProperties: p?.userProperties ?? {},
      });
    });
    client.on('error', (error: Error & { code?: number | string }) => {
      if (this.client !== client) return;
      // CONNACK 1 (3.1.1 "unacceptable protocol version") or 0x84 (MQTT 5 "unsupported").
      if (
        !connected &&
        this.version === 5 &&
        this.o.protocol === 'auto' &&
        (error.code === 1 || error.code === 132)
      ) {
        this.o.logger.warn('broker refused MQTT 5: falling back to MQTT 3.1.1 (commands need MQTT 5)', {
          url: this.o.url,
        });
        this.version = 4;
        this.fallbackPending = true;
        return; // the close that follows reconnects at once
      }
      this.o.logger.warn('mqtt error', { url: this.o.url, error: error.message, code: error.code });
    });
    client.on('close', () => {
      if (this.client !== client) return;
      this.client = null;
      client.end(true);
      if (this.current === 'stopped') return;
      const was = this.current;
      this.current = 'disconnected';
      if (was === 'connected') this.emit('disconnected', 'connection closed');
      const delay = this.fallbackPending ? 0 : this.delay();
      this.fallbackPending = false;
      this.timer = setTimeout(() => this.connect(), delay);
    });
  }

  private delay(): number {
    const n = this.attempt++;
    const base = Math.min(this.o.backoff.maxMs, this.o.backoff.initialMs * 2 ** Math.min(n, 30));
    return Math.round(base * (1 - 0.2 * Math.random()));
  }

  private clientOptions(): IClientOptions {
    const o = this.o;
    const options: IClientOptions = {
      ...MQTT_LOG,
      protocolVersion: this.version,
      clientId: o.clientId,
      clean: true,
      reconnectPeriod: 0,
      keepalive: o.keepaliveS,
      connectTimeout: o.connectTimeoutMs,
      resubscribe: false,
      will: { topic: o.status.topic, payload: Buffer.from(o.status.offlinePayload), qos: 1, retain: true },
      // Otherwise mqtt-packet builds, on the first packet, a cache of 65,536 two-byte Buffers (one
      // per message id): ≈ 7 MB of the gateway's heap for good, for a few bytes saved per packet.
      writeCache: false,
    };
    if (o.username !== undefined) options.username = o.username;
    if (o.password !== undefined) options.password = o.password;
    if (this.version === 5) options.properties = { sessionExpiryInterval: 0 };
    const tls = o.tls;
    if (tls) {
      // Read on every attempt, so renewed certificates are picked up without a restart.
      if (tls.ca) options.ca = readFileSync(tls.ca);
      if (tls.cert) options.cert = readFileSync(tls.cert);
      if (tls.key) options.key = readFileSync(tls.key);
      options.rejectUnauthorized = tls.rejectUnauthorized ?? true;
    }
    return options;
  }
}
