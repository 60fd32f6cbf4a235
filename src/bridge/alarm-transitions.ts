/**
 * Publishes every transition of the gateway's alarm lifecycle — an acknowledgement or an
 * adjudication, made by an operator in the console or by central's MQTT command — once, as
 * rpm.alarm.acknowledged / rpm.alarm.adjudicated through the bridge's durable outbox (SPEC §4).
 *
 * The alarm store commits a transition in its own transaction and the outbox commits the event in
 * another (on its writer thread), so the two cannot be one atomic write. Instead the store keeps
 * each transition marked unpublished until its event is committed here; `catchUp()` publishes
 * what is still marked when the bridge starts — after a crash between the two commits, or
 * transitions made while the bridge was stopped. At least once, like every event: a crash after
 * the outbox commit but before the mark publishes that event again (same alarmId and version).
 */
import type { Logger } from '../core/logger.js';
import type { AlarmStore, Alarm, HistoryEntry } from '../storage/alarm-store.js';
import { alarmTransitionMessage, type BridgeEventMessage } from './event-mapper.js';
import type { CommitResult } from './outbox.js';

export interface AlarmTransitionPublisherOptions {
  readonly store: AlarmStore;
  /** Queue one event in the outbox; resolves once it is committed (or refused). */
  readonly enqueue: (message: BridgeEventMessage) => Promise<CommitResult>;
  /** After each live transition's event is queued (the lane leaves `alarm` on an acknowledgement). */
  readonly onTransition?: (alarm: Alarm, entry: HistoryEntry) => void;
  readonly logger: Logger;
}

export class AlarmTransitionPublisher {
  /** `alarmId#version` of the events queued but not yet committed: never queued twice. */
  private readonly inFlight = new Set<string>();
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly o: AlarmTransitionPublisherOptions) {}

  /** Publish each transition from now on, then what earlier runs left unpublished. */
  start(): void {
    if (this.unsubscribe !== null) return;
    this.unsubscribe = this.o.store.onChange(({ alarm, entries }) => {
      for (const entry of entries) {
        if (entry.action === 'raised') continue;
        this.publish(alarm, entry);
        this.o.onTransition?.(alarm, entry);
      }
    });
    this.catchUp();
  }

  /** Stop listening; later transitions stay marked unpublished until the next start. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Publish every transition the store still lists as unpublished. */
  catchUp(): void {
    let backlog;
    try {
      backlog = this.o.store.unpublished();
    } catch (error) {
      this.o.logger.error('unpublished alarm transitions could not be read', { error: String(error) });
      return;
    }
    if (backlog.length > 0)
      this.o.logger.info('publishing alarm transitions left over from before', { count: backlog.length });
    for (const { alarm, entry } of backlog) this.publish(alarm, entry);
  }

  private publish(alarm: Alarm, entry: HistoryEntry): void {
    const message = alarmTransitionMessage(alarm, entry);
    const key = `${entry.alarmId}#${entry.version}`;
    if (message === null || this.inFlight.has(key)) return;
    this.inFlight.add(key);
    this.o
      .enqueue(message)
      .then((result) => {
        // A message the outbox can never take would be retried on every start: give it up, loudly.
        if (!result.committed && result.reason !== 'too-large') return; // closed: next start
        if (!result.committed)
          this.o.logger.error('alarm transition event refused by the outbox', { alarmId: entry.alarmId });
        this.o.store.markPublished(entry.alarmId, entry.version);
      })
      .catch((error: unknown) => {
        // The database closed under a late commit, or the commit failed: the mark stays, and the
        // next start publishes the transition (again, at worst).
        this.o.logger.warn('alarm transition not marked published', {
          alarmId: entry.alarmId,
          version: entry.version,
          error: String(error),
        });
      })
      .finally(() => this.inFlight.delete(key));
  }
}
