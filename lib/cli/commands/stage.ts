import type { Command } from 'commander';
import { KdError } from '../../errors.js';

/** The stages `kd-pipeline stage` can run; each is stages/<name>.ts exporting `run(root)`. */
export const STAGES = [
  'encoder',
  'preprocess',
  'build-vocab',
  'train-teacher',
  'generate-soft-labels',
  'train-student',
  'train-baseline',
  'evaluate-teacher',
  'evaluate',
  'export',
] as const;

export function register(program: Command): void {
  program
    .command('stage')
    .description(`Run one ML stage in the current directory (${STAGES.join(', ')}); pipeline.yaml commands call this`)
    .argument('<name>', 'stage name')
    .action(async (name: string) => {
      if (!(STAGES as readonly string[]).includes(name)) {
        throw new KdError(`stage: unknown stage "${name}" (known: ${STAGES.join(', ')})`);
      }
      // Ctrl-C (or the runner's SIGTERM) ends the stage through process.exit, so its half-written outputs are removed (atomic-dir.ts).
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      const stage = (await import(`../../../stages/${name}.js`)) as { run(root: string): Promise<void> };
      await stage.run(process.cwd());
    });
}
