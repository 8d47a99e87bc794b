import { formatBytes } from './format.js';

/**
 * `↑ push origin: 120/300 objects · 45.2 MB/120.0 MB · 38.1 MB/s` on a terminal, redrawn at most
 * ten times a second on stderr and cleared at the end; nothing when stderr is not a terminal.
 */
export class TransferProgress {
  private objects = 0;
  private doneObjects = 0;
  private totalBytes = 0;
  private doneBytes = 0;
  private readonly began = performance.now();
  private lastDraw = 0;
  private shown = false;

  constructor(
    private readonly label: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  private get live(): boolean {
    return this.out.isTTY === true;
  }

  /** More objects to move (and how many were already there, which count as done). */
  add(objects: number, bytes: number, alreadyThere = 0): void {
    this.objects += objects + alreadyThere;
    this.doneObjects += alreadyThere;
    this.totalBytes += bytes;
    this.draw();
  }

  bytes(n: number): void {
    this.doneBytes += n;
    this.draw();
  }

  done(): void {
    this.doneObjects += 1;
    this.draw();
  }

  private draw(force = false): void {
    if (!this.live) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const seconds = (now - this.began) / 1000;
    const rate = seconds > 0 ? this.doneBytes / seconds : 0;
    this.out.write(`\r\x1b[K${this.label}: ${this.doneObjects}/${this.objects} objects · ${formatBytes(this.doneBytes)}/${formatBytes(this.totalBytes)} · ${formatBytes(rate)}/s`);
    this.shown = true;
  }

  /** Prints a line above the progress line. */
  note(line: string): void {
    if (this.shown) this.out.write('\r\x1b[K');
    this.shown = false;
    this.out.write(`${line}\n`);
  }

  close(): void {
    if (this.shown) this.out.write('\r\x1b[K');
    this.shown = false;
  }
}
