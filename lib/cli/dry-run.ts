import { KdError } from '../errors.js';
import { selectStages } from '../pipeline/engine.js';
import { planRun, projectStatus } from '../pipeline/status.js';

/** `kd-pipeline run --dry-run`: the plan, without taking the run lock or touching any file. */
export async function dryRun(
  targets: string[],
  flags: { force: boolean; downstream: boolean; singleStage: boolean; json: boolean; set: string[] },
): Promise<void> {
  if (flags.set.length > 0) throw new KdError('run: --set writes params.yaml, so it cannot be combined with --dry-run');
  const status = await projectStatus(process.cwd());
  const plan = planRun(status, selectStages(status.graph, targets, flags), flags.force);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ dryRun: true, stages: plan })}\n`);
    return;
  }
  for (const stage of plan) {
    process.stdout.write(stage.wouldRun ? `would run ${stage.name}: ${stage.reasons.join('; ')}\n` : `up to date ${stage.name}\n`);
  }
}
