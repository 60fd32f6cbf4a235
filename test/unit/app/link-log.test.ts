import { describe, expect, it } from 'vitest';
import { FLAP_UP_MS, LinkLog } from '../../../src/app/link-log.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import type { ConnectionEvent } from '../../../src/domain/lane-events.js';

const up = (time: number): ConnectionEvent => ({ kind: 'connection', lane: 'l', time, state: 'connected' });
const lost = (time: number, cause = 'link closed by peer'): ConnectionEvent => ({
  kind: 'connection',
  lane: 'l',
  time,
  state: 'disconnected',
  reason: 'lost',
  detail: `${cause}; retrying in ${250 + (time % 7)} ms`,
  retryInMs: 250,
});

/** The messages a technician sees at the default level (info and above), in order. */
function seen(events: ConnectionEvent[]): string[] {
  const logger = createMemoryLogger();
  const log = new LinkLog(logger);
  for (const e of events) log.handle(e);
  return logger.records.filter((r) => r.level !== 'debug').map((r) => `${String(r.level)} ${String(r.msg)}`);
}

describe('LinkLog: a link that keeps dropping', () => {
  it('logs a drop after a long session as lost, every time', () => {
    const long = FLAP_UP_MS + 1;
    expect(seen([up(0), lost(long), up(long + 1), lost(2 * long + 1)])).toEqual([
      'info device link up',
      'warn device link lost',
      'info device link up',
      'warn device link lost',
    ]);
  });

  it('says so at the second short session, then stays quiet until the reminder', () => {
    const events = [up(0), lost(1000), up(2000), lost(3000), up(4000), lost(5000), up(6000), lost(7000)];
    expect(seen(events)).toEqual([
      'info device link up',
      'warn device link lost',
      'info device link up',
      'warn device link keeps dropping',
    ]);
  });

  it('a drop for another reason, or after a long session, is news again', () => {
    const events = [up(0), lost(1000), up(2000), lost(3000), up(4000), lost(5000, 'link error: EIO')];
    expect(seen(events).at(-1)).toBe('warn device link lost');
    const healed = [up(0), lost(1000), up(2000), lost(3000), up(4000), lost(4000 + FLAP_UP_MS)];
    // The reconnect while it was dropping is quiet; the session that then lasts ends the loop.
    expect(seen(healed).slice(-2)).toEqual(['warn device link keeps dropping', 'warn device link lost']);
  });
});
