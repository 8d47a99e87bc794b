import type { PipelineObserver } from '../pipeline/events.js';

// PLACEHOLDER — the tracking module replaces this with the journal + MLflow observer.
export async function createTracker(_root: string): Promise<PipelineObserver> {
  return {
    runStarted() {},
    stageStarted() {},
    stageFinished() {},
    runFinished() {},
    async close() {},
  };
}
