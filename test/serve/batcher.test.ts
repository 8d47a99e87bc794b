import { describe, expect, it } from 'vitest';
import { MicroBatcher, QueueFullError } from '../../lib/serve/batcher.js';

/** A model call that records its batches and answers each item with its own transformation. */
function recorder(delayMs = 0) {
  const batches: number[][] = [];
  const run = async (items: number[]) => {
    batches.push(items);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    return items.map((x) => x * 10);
  };
  return { batches, run };
}

describe('MicroBatcher', () => {
  it('gathers concurrent callers into one model call and gives each its own answers', async () => {
    const { batches, run } = recorder();
    const batcher = new MicroBatcher(run, { maxBatch: 64, maxWaitMs: 5, maxQueue: 100 });
    const answers = await Promise.all([batcher.submit([1]), batcher.submit([2, 3]), batcher.submit([4])]);
    expect(answers).toEqual([[10], [20, 30], [40]]);
    expect(batches).toEqual([[1, 2, 3, 4]]);
  });

  it('never puts more than maxBatch items in one call and never splits a caller', async () => {
    const { batches, run } = recorder();
    const batcher = new MicroBatcher(run, { maxBatch: 4, maxWaitMs: 5, maxQueue: 100 });
    const answers = await Promise.all([batcher.submit([1, 2, 3]), batcher.submit([4, 5]), batcher.submit([6]), batcher.submit([7, 8])]);
    expect(answers).toEqual([[10, 20, 30], [40, 50], [60], [70, 80]]);
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7, 8]]);
  });

  it('runs a lone request after at most maxWaitMs', async () => {
    const { run } = recorder();
    const batcher = new MicroBatcher(run, { maxBatch: 64, maxWaitMs: 5, maxQueue: 100 });
    const start = performance.now();
    await batcher.submit([1]);
    expect(performance.now() - start).toBeLessThan(50);
  });

  it('refuses submissions beyond maxQueue while the model is busy, and recovers', async () => {
    const { run } = recorder(30);
    const batcher = new MicroBatcher(run, { maxBatch: 2, maxWaitMs: 0, maxQueue: 3 });
    const first = batcher.submit([1, 2]);
    await new Promise((resolve) => setTimeout(resolve, 5)); // the first batch is now running
    const queued = batcher.submit([3, 4, 5]);
    await expect(batcher.submit([6])).rejects.toBeInstanceOf(QueueFullError);
    expect(batcher.depth).toBe(3);
    expect(await first).toEqual([10, 20]);
    expect(await queued).toEqual([30, 40, 50]);
    expect(await batcher.submit([6])).toEqual([60]);
  });

  it('rejects every caller of a batch whose model call fails, then keeps serving', async () => {
    let fail = true;
    const batcher = new MicroBatcher(
      async (items: number[]) => {
        if (fail) throw new Error('model exploded');
        return items;
      },
      { maxBatch: 8, maxWaitMs: 1, maxQueue: 8 },
    );
    const results = await Promise.allSettled([batcher.submit([1]), batcher.submit([2])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await batcher.submit([3])).toEqual([3]);
    await batcher.drained();
  });
});
