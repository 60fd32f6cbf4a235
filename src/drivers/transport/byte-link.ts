/**
 * The byte stream a driver is handed (STYLE.md §2: drivers never own the port). TCP, serial
 * and in-memory links implement it; the driver neither knows nor cares which one it has.
 *
 * A link owns its reconnection: after `start()` it keeps trying to be connected, with back-off,
 * until `stop()`. It reports every state change with a reason a technician can read.
 */

export type LinkState = 'connecting' | 'connected' | 'disconnected';

export interface LinkStateChange {
  readonly state: LinkState;
  /** Why, in words: "connecting to 10.0.0.5:1601 (attempt 3)", "ECONNREFUSED …; retrying in 1000 ms". */
  readonly detail: string;
  /** For 'disconnected' while running: when the next attempt is due. Absent once stopped. */
  readonly retryInMs?: number;
  /**
   * For 'disconnected' while running: the reason alone, without the retry delay (which varies),
   * e.g. "connect ECONNREFUSED 10.0.0.5:1601" — so a retry failing the same way is recognised.
   */
  readonly cause?: string;
  /** Set on the final 'disconnected' after stop(): no retry follows. */
  readonly stopped?: boolean;
}

export interface ByteLinkEvents {
  data: (chunk: Buffer) => void;
  state: (change: LinkStateChange) => void;
}

export interface ByteLink {
  /** A printable description of the far end (never contains secrets), e.g. `tcp://10.0.0.5:1601`. */
  readonly description: string;
  readonly state: LinkState;
  /** Begin connecting, and keep reconnecting until stop(). Calling it while running does nothing. */
  start(): void;
  /** Close the link and cancel any pending reconnect. Safe to call twice; resolves once closed. */
  stop(): Promise<void>;
  /**
   * Send bytes to the device. Returns false when the bytes were dropped (not connected, or the
   * outgoing buffer is over its bound): links never queue without limit.
   */
  write(data: Buffer | string): boolean;
  /** Subscribe; returns the function that unsubscribes. */
  on<E extends keyof ByteLinkEvents>(event: E, listener: ByteLinkEvents[E]): () => void;
}

/**
 * The listener registry the link implementations share. Listener exceptions are not caught:
 * they are programming bugs and must crash (STYLE.md §9).
 */
export class LinkListeners {
  private readonly listeners: { [E in keyof ByteLinkEvents]: Set<ByteLinkEvents[E]> } = {
    data: new Set(),
    state: new Set(),
  };

  on<E extends keyof ByteLinkEvents>(event: E, listener: ByteLinkEvents[E]): () => void {
    const set = this.listeners[event] as Set<ByteLinkEvents[E]>;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  data(chunk: Buffer): void {
    for (const listener of [...this.listeners.data]) listener(chunk);
  }

  state(change: LinkStateChange): void {
    for (const listener of [...this.listeners.state]) listener(change);
  }
}

/**
 * An in-memory link for tests and in-process simulators: the test plays the device with
 * `deliver()` / `setState()` and reads what the driver wrote from `written`.
 */
export interface MemoryLink extends ByteLink {
  deliver(data: Buffer | string): void;
  setState(state: LinkState, detail?: string, extra?: Pick<LinkStateChange, 'retryInMs' | 'cause'>): void;
  readonly written: Buffer[];
  readonly started: boolean;
}

export function createMemoryLink(description = 'memory://test'): MemoryLink {
  const listeners = new LinkListeners();
  const written: Buffer[] = [];
  let state: LinkState = 'disconnected';
  let started = false;
  const setState = (next: LinkState, detail: string = next, extra: Partial<LinkStateChange> = {}) => {
    state = next;
    listeners.state({ state: next, detail, ...extra });
  };
  return {
    description,
    written,
    get state() {
      return state;
    },
    get started() {
      return started;
    },
    start() {
      if (started) return;
      started = true;
      setState('connecting', `connecting to ${description}`);
    },
    stop() {
      if (started) {
        started = false;
        setState('disconnected', 'stopped', { stopped: true });
      }
      return Promise.resolve();
    },
    write(data) {
      if (state !== 'connected') return false;
      written.push(Buffer.from(data));
      return true;
    },
    on: (event, listener) => listeners.on(event, listener),
    deliver(data) {
      listeners.data(Buffer.from(data));
    },
    setState(next, detail, extra) {
      setState(next, detail, extra);
    },
  };
}
