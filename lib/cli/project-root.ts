import { findProjectRoot } from '../pipeline/spec.js';

/** The project the command acts on: the nearest directory at or above the current one with a pipeline.yaml. */
export function currentProjectRoot(): string {
  return findProjectRoot(process.cwd());
}
