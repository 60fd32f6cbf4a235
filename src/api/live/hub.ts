/**
 * The live feed's fan-out: the gateway publishes lane states, samples, occupancies, alarms and
 * audit entries; each connected console subscribes. Publishing never blocks or throws: a slow
 * subscriber is the subscriber's problem (the SSE route drops clients that stop reading).
 */
export type LiveEventType =
  'lane' | 'sample' | 'occupancy' | 'alarm' | 'config' | 'audit' | 'scan' | 'scanner';

export interface LiveEvent {
  readonly type: LiveEventType;
  readonly data: unknown;
}

export type LiveListener = (event: LiveEvent) => void;

export class LiveHub {
  private readonly listeners = new Set<LiveListener>();
  private published = 0;

  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(type: LiveEventType, data: unknown): void {
    this.published++;
    for (const listener of this.listeners) {
      try {
        listener({ type, data });
      } catch {
        // One broken subscriber must not stop the others (STYLE.md §9); it unsubscribes itself.
      }
    }
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  get publishedCount(): number {
    return this.published;
  }
}
