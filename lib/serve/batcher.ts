/** Thrown by `MicroBatcher.submit` when the queue is full: the HTTP layer answers 503 + Retry-After. */
export class QueueFullError extends Error {
  constructor(readonly limit: number) {
    super(`the prediction queue is full (${limit} texts waiting)`);
    this.name = 'QueueFullError';
  }
}

export interface BatcherOptions {
  /** Most items handed to one model call. */
  maxBatch: number;
  /** How long the first waiting item may wait for company before its batch runs. */
  maxWaitMs: number;
  /** Most items waiting (not yet running); a submit beyond it is refused instead of growing memory. */
  maxQueue: number;
  /** Called with the size of every batch run (metrics). */
  onBatch?: (size: number) => void;
}

interface Pending<I, O> {
  items: readonly I[];
  resolve: (out: O[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers items submitted by concurrent callers into single calls of `run` (one model call for
 * many requests), one batch at a time, and hands every caller back its own outputs in order.
 * A caller's items always travel in one batch, so a multi-text request is never split.
 */
export class MicroBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private queued = 0;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
  ) {}

  /** Items waiting for a model call. */
  get depth(): number {
    return this.queued;
  }

  submit(items: readonly I[]): Promise<O[]> {
    if (items.length === 0) return Promise.resolve([]);
    if (this.queued + items.length > this.options.maxQueue) {
      return Promise.reject(new QueueFullError(this.options.maxQueue));
    }
    return new Promise<O[]>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.queued += items.length;
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or running (graceful shutdown). */
  drained(): Promise<void> {
    if (!this.running && this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.running) return; // the running batch schedules the next one when it ends
    if (this.queued >= this.options.maxBatch) {
      this.flush();
    } else if (this.timer === undefined) {
      // After the wait, flush from the check phase, so that requests whose bytes arrived while the
      // event loop was busy (e.g. in the previous model call) are read in first and join the batch.
      this.timer = setTimeout(() => setImmediate(() => this.flush()), this.options.maxWaitMs);
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.takeBatch();
    if (batch.length === 0) {
      this.notifyIdle();
      return;
    }
    this.running = true;
    void this.runBatch(batch).finally(() => {
      this.running = false;
      // Whatever arrived while the model was busy has already waited: run it right away.
      if (this.queued > 0) this.flush();
      else this.notifyIdle();
    });
  }

  private takeBatch(): Pending<I, O>[] {
    const batch: Pending<I, O>[] = [];
    let size = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (batch.length > 0 && size + next.items.length > this.options.maxBatch) break;
      this.queue.shift();
      batch.push(next);
      size += next.items.length;
    }
    this.queued -= size;
    return batch;
  }

  private async runBatch(batch: Pending<I, O>[]): Promise<void> {
    const items = batch.flatMap((pending) => pending.items);
    this.options.onBatch?.(items.length);
    try {
      const outputs = await this.run(items);
      if (outputs.length !== items.length) {
        throw new Error(`model returned ${outputs.length} outputs for ${items.length} inputs`);
      }
      let offset = 0;
      for (const pending of batch) {
        pending.resolve(outputs.slice(offset, offset + pending.items.length));
        offset += pending.items.length;
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
