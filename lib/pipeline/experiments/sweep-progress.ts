import { formatSeconds, type ProgressOut } from '../progress.js';
import type { TrialRecord } from './store.js';
import { defaultOrder, sortRows, trialRow, type SortOrder } from './table.js';

export const describeParams = (params: Record<string, unknown>) => Object.entries(params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');

/** The sweep's progress lines, the same for local trials and queued ones: started, ended, counts, best so far. */
export class SweepProgress {
  readonly done: TrialRecord[] = [];
  running = 0;

  constructor(
    private readonly out: ProgressOut,
    private readonly total: number,
    private readonly sort: { sortBy?: string; sortOrder?: SortOrder },
  ) {}

  private counts(): string {
    return `${this.done.length} done, ${this.running} running, ${this.total - this.done.length - this.running} left`;
  }

  private best(): string {
    const key = this.sort.sortBy;
    if (!key) return '';
    const top = sortRows(this.done.filter((t) => t.status === 'ok').map(trialRow), key, this.sort.sortOrder ?? defaultOrder(key))[0];
    const value = top ? (top.metrics[key] ?? top.params[key]) : undefined;
    return top && value !== undefined ? ` · best ${top.id} ${key}=${typeof value === 'number' ? Number(value.toPrecision(4)) : JSON.stringify(value)}` : '';
  }

  started(id: string, params: Record<string, unknown>, where = ''): void {
    this.running += 1;
    this.out.write(`▶ ${id} ${describeParams(params)}${where} · ${this.counts()}\n`);
  }

  /** `log`: where the trial's stage output is, named on failure. */
  ended(record: TrialRecord, log: string): void {
    this.running = Math.max(0, this.running - 1);
    this.done.push(record);
    const ran = Object.values(record.stages).filter((r) => r === 'ran').length;
    const outcome =
      record.status === 'ok'
        ? `✔ ${record.id} done in ${formatSeconds(record.seconds ?? 0)} (${ran} of ${Object.keys(record.stages).length} stages ran)`
        : `✖ ${record.id} failed: ${record.error ?? ''} (log: ${log})`;
    this.out.write(`${outcome} · ${this.counts()}${this.best()}\n`);
  }
}
