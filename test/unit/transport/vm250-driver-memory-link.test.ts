/**
 * The VM-250 driver's live-link duties, sample by sample on an in-memory link and a manual
 * clock (STYLE.md §7): silence timing, connection-event collapsing, no gluing of a partial line
 * across a reconnect.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { Counters } from '../../../src/core/counters.js';
import { silentLogger } from '../../../src/core/logger.js';
import { createMemoryLink } from '../../../src/drivers/transport/byte-link.js';
import { createVm250Driver } from '../../../src/drivers/vm250/driver.js';
import { backgroundLines, createEventLog, occupancyLines } from '../../support/vm250-stream.js';

function setup() {
  const clock = new ManualClock(1_000_000);
  const link = createMemoryLink();
  const log = createEventLog();
  const counters = new Counters();
  const driver = createVm250Driver({
    lane: 'L',
    link,
    clock,
    logger: silentLogger,
    counters,
    emit: log.emit,
  });
  const lines = (ls: string[]) => link.deliver(ls.map((l) => `${l}\r\n`).join(''));
  return { clock, link, log, counters, driver, lines };
}

describe('vm250 driver on a memory link', () => {
  it('reports silence 600 ms after the last line while occupied, not before', async () => {
    const t = setup();
    await t.driver.start();
    t.link.setState('connected');
    t.lines([...backgroundLines(), ...occupancyLines({ samples: 2, end: false })]);
    t.clock.advance(599);
    expect(t.log.states()).toEqual(['connecting', 'connected']);
    t.clock.advance(2);
    expect(t.log.states()).toEqual(['connecting', 'connected', 'silent']);
    expect(t.log.ofKind('connection').at(-1)!.time - 1_000_000).toBeLessThanOrEqual(601);
    t.clock.advance(5000);
    expect(t.log.states().filter((s) => s === 'silent')).toHaveLength(1);
    t.lines(['GS,000001,000002,000003,000004']);
    expect(t.log.states().at(-1)).toBe('connected');
    await t.driver.stop();
  });

  it('honours silenceIntervals and does not report silence while disconnected', async () => {
    const t = setup();
    const driver = createVm250Driver({
      lane: 'L',
      link: t.link,
      clock: t.clock,
      logger: silentLogger,
      counters: t.counters,
      emit: t.log.emit,
      silenceIntervals: 5,
    });
    await driver.start();
    t.clock.advance(60_000);
    expect(t.log.states()).toEqual(['connecting']);
    t.link.setState('connected');
    t.clock.advance(24_999);
    expect(t.log.states()).not.toContain('silent');
    t.clock.advance(2);
    expect(t.log.states().at(-1)).toBe('silent');
    t.link.setState('disconnected', 'gone');
    t.clock.advance(60_000);
    expect(t.log.states()).toEqual(['connecting', 'connected', 'silent', 'disconnected']);
    await driver.stop();
  });

  it('emits one disconnected for a run of failed retries, and counts them when it connects', async () => {
    const t = setup();
    await t.driver.start();
    for (let i = 0; i < 5; i++) {
      t.link.setState('disconnected', `ECONNREFUSED; retrying in ${i} ms`, {
        cause: 'ECONNREFUSED',
        retryInMs: i,
      });
      t.link.setState('connecting', `retry ${i}`);
    }
    t.link.setState('connected', 'connected to memory://test');
    expect(t.log.states()).toEqual(['connecting', 'disconnected', 'connected']);
    expect(t.log.ofKind('connection')[1]).toMatchObject({
      detail: 'ECONNREFUSED; retrying in 0 ms',
      reason: 'connect-failed',
      attempts: 1,
      retryInMs: 0,
    });
    expect(t.log.ofKind('connection')[2]).toMatchObject({
      attempts: 6,
      detail: 'connected to memory://test after 6 attempts',
    });
    await t.driver.stop();
    expect(t.log.ofKind('connection').at(-1)).toMatchObject({ state: 'disconnected', reason: 'stopped' });
  });

  it('reports a failed retry again when its reason changes, or 5 minutes after the last report', async () => {
    const t = setup();
    await t.driver.start();
    const fail = (cause: string) =>
      t.link.setState('disconnected', `${cause}; retrying in 100 ms`, { cause, retryInMs: 100 });
    fail('ECONNREFUSED');
    fail('ECONNREFUSED');
    fail('no connection within 5000 ms');
    t.clock.advance(299_000);
    fail('no connection within 5000 ms');
    t.clock.advance(1000);
    fail('no connection within 5000 ms');
    expect(t.log.states()).toEqual(['connecting', 'disconnected', 'disconnected', 'disconnected']);
    expect(
      t.log
        .ofKind('connection')
        .slice(1)
        .map((e) => [e.reason, e.attempts, e.detail]),
    ).toEqual([
      ['connect-failed', 1, 'ECONNREFUSED; retrying in 100 ms'],
      ['connect-failed', 3, 'no connection within 5000 ms; retrying in 100 ms'],
      ['connect-failed', 5, 'no connection within 5000 ms; retrying in 100 ms'],
    ]);

    // A link that was up and went is lost; the first failed attempt after it is news again.
    t.link.setState('connected');
    t.link.setState('disconnected', 'the device closed the connection; retrying in 100 ms', {
      cause: 'the device closed the connection',
      retryInMs: 100,
    });
    fail('ECONNREFUSED');
    fail('ECONNREFUSED');
    expect(t.log.ofKind('connection').slice(-3)).toEqual([
      expect.objectContaining({ state: 'connected', attempts: 6 }),
      expect.objectContaining({ state: 'disconnected', reason: 'lost', retryInMs: 100 }),
      expect.objectContaining({ state: 'disconnected', reason: 'connect-failed', attempts: 1 }),
    ]);
    expect(t.log.ofKind('connection').at(-2)).not.toHaveProperty('attempts');
    await t.driver.stop();
  });

  it('says why the link went down where it happened, whatever the detail says', async () => {
    const t = setup();
    await t.driver.start();
    t.link.setState('disconnected', 'ECONNREFUSED; retrying in 250 ms');
    t.link.setState('connected');
    t.link.setState('disconnected', 'the device stopped answering; retrying in 250 ms');
    t.link.setState('connected');
    await t.driver.stop();
    expect(t.log.ofKind('connection').map((e) => [e.state, e.reason])).toEqual([
      ['connecting', undefined],
      ['disconnected', 'connect-failed'],
      ['connected', undefined],
      ['disconnected', 'lost'],
      ['connected', undefined],
      ['disconnected', 'stopped'],
    ]);
  });

  it('drops a partial line at link loss instead of gluing it to the next connection', async () => {
    const t = setup();
    await t.driver.start();
    t.link.setState('connected');
    t.lines(backgroundLines());
    t.link.deliver('GS,00012');
    t.link.setState('disconnected', 'reset');
    t.link.setState('connected');
    t.link.deliver('3,000001,000002,000003\r\n');
    expect(t.log.ofKind('occupancy-start')).toEqual([]);
    expect(t.log.ofKind('bad-input')).toEqual([
      expect.objectContaining({ reason: 'malformed-line', raw: '3,000001,000002,000003' }),
    ]);
    expect(t.counters.get('lane.L.bad-input.malformed-line')).toBe(1);
    await t.driver.stop();
  });

  it('ticks the tracker so an occupancy without GX closes 10 s after background resumes', async () => {
    const t = setup();
    await t.driver.start();
    t.link.setState('connected');
    t.lines([...backgroundLines(), ...occupancyLines({ samples: 2, end: false })]);
    t.clock.advance(1000);
    t.lines(backgroundLines());
    t.clock.advance(9_900);
    expect(t.log.ofKind('occupancy-end')).toEqual([]);
    t.clock.advance(600);
    expect(t.log.ofKind('occupancy-end')).toEqual([
      expect.objectContaining({ reason: 'background-resumed', endedAbnormally: true }),
    ]);
    await t.driver.stop();
  });
});
