import { statSync } from 'node:fs';
import path from 'node:path';
import { modelFile, readExport, type Runtime, type Variant } from './export-bundle.js';
import { loadServingModel, type ServingModel } from './serving-model.js';

export type ReloadResult = { ok: true; model: ServingModel } | { ok: false; error: Error };

interface Slot {
  model: ServingModel;
  loadedAt: string;
  users: number;
  retired: boolean;
}

/** Loads the export at `exportDir` (a directory, or a symlink to one) into a ServingModel. */
export async function loadExport(exportDir: string, variant: Variant | null = null, runtime: Runtime = 'tfjs'): Promise<ServingModel> {
  return loadServingModel(await readExport(exportDir, variant, runtime));
}

/**
 * Holds the model being served. A reload loads the new export beside the old one and swaps the
 * reference in one step, so every request is answered by exactly one complete model; a broken
 * export is refused and the old model keeps serving. The old model's tensors are freed once the
 * last batch that was using it has finished.
 */
export class ModelHolder {
  private slot: Slot;
  private reloading: Promise<ReloadResult> | undefined;
  private reloadAgain = false;
  private watchPoll: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  lastReloadError: { message: string; at: string } | null = null;

  constructor(
    readonly exportDir: string,
    readonly variant: Variant | null,
    readonly runtime: Runtime,
    initial: ServingModel,
    private readonly onReload: (result: ReloadResult) => void = () => {},
  ) {
    this.slot = { model: initial, loadedAt: new Date().toISOString(), users: 0, retired: false };
  }

  get current(): ServingModel {
    return this.slot.model;
  }

  /** When the model being served was loaded (ISO time). */
  get loadedAt(): string {
    return this.slot.loadedAt;
  }

  /** Runs `fn` with the current model, which is not freed before `fn` settles. */
  async use<T>(fn: (model: ServingModel) => Promise<T>): Promise<T> {
    const slot = this.slot;
    slot.users += 1;
    try {
      return await fn(slot.model);
    } finally {
      slot.users -= 1;
      if (slot.retired && slot.users === 0) slot.model.dispose();
    }
  }

  /**
   * Loads the export again (its files, or a re-pointed symlink) and swaps it in. Reloads asked
   * for while one runs are coalesced into one more reload after it, which sees the newest files.
   */
  reload(): Promise<ReloadResult> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = this.loadAndSwap().finally(() => {
      this.reloading = undefined;
      if (this.reloadAgain) {
        this.reloadAgain = false;
        void this.reload();
      }
    });
    return this.reloading;
  }

  private async loadAndSwap(): Promise<ReloadResult> {
    let result: ReloadResult;
    try {
      const model = await loadExport(this.exportDir, this.variant, this.runtime);
      const old = this.slot;
      this.slot = { model, loadedAt: new Date().toISOString(), users: 0, retired: false };
      old.retired = true;
      if (old.users === 0) old.model.dispose();
      this.lastReloadError = null;
      result = { ok: true, model };
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.lastReloadError = { message: failure.message, at: new Date().toISOString() };
      result = { ok: false, error: failure };
    }
    this.onReload(result);
    return result;
  }

  /**
   * Reloads when model.json or metadata.json of the export changes (stat polling, so it also
   * notices a directory replaced by rename or a symlink re-pointed). Changes are debounced by
   * `settleMs`, so an export being written file by file is read once it is complete. The first
   * stat is taken here, synchronously: fs.watchFile takes its own later, so an export changed in
   * between (just after the server started) went unnoticed.
   */
  watch(intervalMs: number, settleMs: number): void {
    if (this.watchPoll) return;
    const stamp = () =>
      this.watchedFiles()
        .map((file) => {
          try {
            const stat = statSync(file);
            return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
          } catch {
            return 'absent';
          }
        })
        .join('|');
    let last = stamp();
    this.watchPoll = setInterval(() => {
      const now = stamp();
      if (now === last) return;
      last = now;
      clearTimeout(this.watchTimer);
      this.watchTimer = setTimeout(() => void this.reload(), settleMs);
    }, intervalMs);
    this.watchPoll.unref();
  }

  /** Stops watching and frees the model (after the batches still using it). */
  async close(): Promise<void> {
    clearInterval(this.watchPoll);
    this.watchPoll = undefined;
    clearTimeout(this.watchTimer);
    await this.reloading;
    this.slot.retired = true;
    if (this.slot.users === 0) this.slot.model.dispose();
  }

  private watchedFiles(): string[] {
    return [modelFile(this.runtime, this.variant), 'metadata.json'].map((name) => path.join(this.exportDir, name));
  }
}
