const REPORT_EVERY_MS = 1000;

/** Counts finished items and calls `report` at most once a second (and once at the end) with the running rate. */
export class Throughput {
  private done = 0;
  private readonly started = performance.now();
  private lastReport = this.started;

  constructor(
    private readonly total: number,
    private readonly report?: (done: number, total: number, rate: number) => void,
  ) {}

  add(count: number): void {
    this.done += count;
    const now = performance.now();
    if (!this.report || (now - this.lastReport < REPORT_EVERY_MS && this.done < this.total)) return;
    this.lastReport = now;
    this.report(this.done, this.total, this.done / Math.max((now - this.started) / 1000, 1e-9));
  }
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * A progress reporter for long encoding work, on stderr: on a terminal one line rewritten in
 * place; elsewhere (a log, or a stage under `kd-pipeline run`, whose output is a pipe) a line
 * every `pipeEveryMs` and at the end, so logs stay short.
 */
export function progressLine(label: string, out: NodeJS.WriteStream = process.stderr, pipeEveryMs = 10_000): (done: number, total: number, rate: number) => void {
  let lastLine = 0;
  return (done, total, rate) => {
    const text = `${label}: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} sentences, ${Math.round(rate)}/s, ETA ${duration((total - done) / rate)}`;
    if (out.isTTY) {
      out.write(`\r\x1b[K${text}${done >= total ? '\n' : ''}`);
      return;
    }
    const now = Date.now();
    if (done < total && now - lastLine < pipeEveryMs) return;
    lastLine = now;
    out.write(`${text}\n`);
  };
}
