import PQueue from 'p-queue';

/** `fn` over `items`, at most `limit` at a time, results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const queue = new PQueue({ concurrency: Math.max(1, limit) });
  return Promise.all(items.map((item) => queue.add(() => fn(item)) as Promise<R>));
}
