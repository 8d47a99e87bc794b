import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where the engine keeps its own state inside a project (git-ignored): `.kd/`. */
export interface ProjectPaths {
  root: string;
  kdDir: string;
  /** Content-addressed store of outputs: `<cache>/<first 2 hex>/<rest>`. */
  cache: string;
  /** Run-cache: one JSON entry per stage fingerprint that ever completed. */
  runs: string;
  /** (path, size, mtime, inode) → hash, so unchanged files are not re-read. */
  state: string;
  logs: string;
  tmp: string;
  runLock: string;
  /** Claims on stage fingerprints being executed (shared by experiment trials, see run-lock.ts). */
  claims: string;
  /** Experiment sweeps and their trial workspaces. */
  exp: string;
  lockFile: string;
}

export const LOCK_FILE = 'pipeline.lock';

export function projectPaths(root: string): ProjectPaths {
  const kdDir = path.join(root, '.kd');
  return {
    root,
    kdDir,
    cache: path.join(kdDir, 'cache'),
    runs: path.join(kdDir, 'runs'),
    state: path.join(kdDir, 'state.json'),
    logs: path.join(kdDir, 'logs'),
    tmp: path.join(kdDir, 'tmp'),
    runLock: path.join(kdDir, 'run.lock'),
    claims: path.join(kdDir, 'claims'),
    exp: path.join(kdDir, 'exp'),
    lockFile: path.join(root, LOCK_FILE),
  };
}

/** A project-relative path with forward slashes (the form used in pipeline.yaml and the lock). */
export function relPath(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

/** Creates `.kd/` with its own `.gitignore`: the engine's folder is never meant for git, whatever the project's .gitignore says. */
export function makeKdDir(paths: ProjectPaths): void {
  mkdirSync(paths.kdDir, { recursive: true });
  writeFileSync(path.join(paths.kdDir, '.gitignore'), '*\n');
}
