/** A terminal (stderr) or any sink of text, e.g. an experiment trial's log. */
export interface ProgressOut {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * What a person watching `kd-pipeline run` sees, on stderr: one line per stage event and every
 * line a stage prints, prefixed with its name. On a TTY a status line at the bottom shows the
 * running stages with their elapsed time; it is cleared before any other line is written.
 */
export class Progress {
  private readonly running = new Map<string, number>();
  private ticker: NodeJS.Timeout | undefined;
  private statusShown = false;

  constructor(private readonly out: ProgressOut = process.stderr) {}

  private get live(): boolean {
    return this.out.isTTY === true;
  }

  private write(text: string): void {
    if (this.statusShown) this.out.write('\r\x1b[K');
    this.statusShown = false;
    this.out.write(`${text}\n`);
    this.drawStatus();
  }

  private drawStatus(): void {
    if (!this.live || this.running.size === 0) return;
    const now = Date.now();
    const parts = [...this.running].map(([name, since]) => `${name} ${Math.round((now - since) / 1000)}s`);
    this.out.write(`\r\x1b[K… running ${parts.join(' · ')}`);
    this.statusShown = true;
  }

  stageOutput(stage: string, line: string): void {
    this.write(`[${stage}] ${line}`);
  }

  started(stage: string): void {
    this.running.set(stage, Date.now());
    this.write(`▶ ${stage}: running`);
    if (this.live && !this.ticker) {
      this.ticker = setInterval(() => {
        if (this.statusShown) this.out.write('\r\x1b[K');
        this.statusShown = false;
        this.drawStatus();
      }, 1000);
      this.ticker.unref();
    }
  }

  finished(stage: string, line: string): void {
    this.running.delete(stage);
    this.write(line);
  }

  note(line: string): void {
    this.write(line);
  }

  close(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    if (this.statusShown) this.out.write('\r\x1b[K');
    this.statusShown = false;
  }
}

export function formatSeconds(seconds: number): string {
  return seconds < 10 ? `${seconds.toFixed(2)} s` : seconds < 120 ? `${seconds.toFixed(1)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}
