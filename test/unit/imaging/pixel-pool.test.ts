import { describe, expect, it } from 'vitest';
import { recycleScanPixels, takePixels } from '../../../src/imaging/pixel-pool.js';
import type { Image16, Scan, ScanDecoding } from '../../../src/imaging/types.js';

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function scanOf(images: Image16[], done: Promise<number> | null): Scan {
  const [high, low] = images;
  const decoding: ScanDecoding | undefined =
    done === null
      ? undefined
      : {
          high: {
            height: high!.height,
            rows: high!.height,
            whenRows: () => Promise.resolve(),
            done: Promise.resolve(),
          },
          done,
        };
  return {
    meta: { scanId: 's', polarity: 'transmission' },
    high: high!,
    ...(low !== undefined ? { low } : {}),
    sources: ['s'],
    ...(decoding !== undefined ? { decoding } : {}),
  };
}

const image = (data: Uint16Array): Image16 => ({ width: data.length, height: 1, data });

describe('pixel pool', () => {
  it('hands a recycled buffer of the same length to the next decode, and only once', async () => {
    const a = takePixels(1000);
    recycleScanPixels(scanOf([image(a)], Promise.resolve(1)));
    await settled();
    expect(takePixels(999) === a).toBe(false);
    expect(takePixels(1000) === a).toBe(true);
    expect(takePixels(1000) === a).toBe(false);
  });

  it('takes buffers back only once the decode is done, never after a failed one', async () => {
    const a = takePixels(2000);
    let finish!: (ms: number) => void;
    recycleScanPixels(scanOf([image(a)], new Promise<number>((resolve) => (finish = resolve))));
    await settled();
    expect(takePixels(2000) === a).toBe(false); // still being written
    finish(1);
    await settled();
    expect(takePixels(2000) === a).toBe(true);

    const b = takePixels(2000);
    const failed = Promise.reject(new Error('corrupt'));
    recycleScanPixels(scanOf([image(b)], failed));
    await settled();
    expect(takePixels(2000) === b).toBe(false);
  });

  it("keeps a dual-energy scan's two buffers, ignores buffers it did not make and scans decoded in one piece", async () => {
    const high = takePixels(3000);
    const low = takePixels(3000);
    recycleScanPixels(scanOf([image(high), image(low)], Promise.resolve(1)));
    const foreign = new Uint16Array(3000);
    recycleScanPixels(scanOf([image(foreign)], Promise.resolve(1)));
    const whole = takePixels(3000);
    recycleScanPixels(scanOf([image(whole)], null));
    await settled();
    const again = [takePixels(3000), takePixels(3000), takePixels(3000)];
    expect(again[0] === high || again[1] === high).toBe(true);
    expect(again[0] === low || again[1] === low).toBe(true);
    expect(again.some((b) => b === foreign)).toBe(false);
    expect(again[2] === whole).toBe(false);
  });

  it('keeps at most two spares, and none of a very large image', async () => {
    const bufs = [takePixels(4000), takePixels(4000), takePixels(4000)];
    for (const b of bufs) recycleScanPixels(scanOf([image(b)], Promise.resolve(1)));
    await settled();
    const again = [takePixels(4000), takePixels(4000), takePixels(4000)];
    expect(again.filter((b) => bufs.includes(b))).toHaveLength(2);

    const big = takePixels(4096 * 2048 + 1);
    recycleScanPixels(scanOf([image(big)], Promise.resolve(1)));
    await settled();
    expect(takePixels(4096 * 2048 + 1) === big).toBe(false);
  });
});
