import { Command, CommanderError } from 'commander';
import { KdError } from '../errors.js';
import { register as registerRun } from './commands/run.js';
import { register as registerStatus } from './commands/status.js';
import { register as registerDag } from './commands/dag.js';
import { register as registerParams } from './commands/params.js';
import { register as registerMetrics } from './commands/metrics.js';
import { register as registerGc } from './commands/gc.js';
import { register as registerStage } from './commands/stage.js';
import { register as registerPredict } from './commands/predict.js';
import { register as registerDoctor } from './commands/doctor.js';
import { register as registerMlflow } from './commands/mlflow.js';
import { register as registerRuns } from './commands/runs.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerRemote } from './commands/remote.js';
import { register as registerPush } from './commands/push.js';
import { register as registerPull } from './commands/pull.js';
import { register as registerInit } from './commands/init.js';
import { register as registerExp } from './commands/exp.js';
import { register as registerCache } from './commands/cache.js';
import { register as registerWorker } from './commands/worker.js';

// Command modules must stay light at import time (commander options only): heavy code such as
// tfjs or execa is imported inside each action, so that `kd-pipeline run` on an up-to-date
// pipeline starts fast.
export function buildProgram(): Command {
  const program = new Command('kd-pipeline')
    .description('Hash-cached knowledge-distillation pipelines: teacher → soft labels → student → evaluate → export')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  for (const register of [
    registerInit,
    registerRun,
    registerStatus,
    registerDag,
    registerParams,
    registerMetrics,
    registerGc,
    registerCache,
    registerStage,
    registerPredict,
    registerDoctor,
    registerMlflow,
    registerRuns,
    registerServe,
    registerRemote,
    registerPush,
    registerPull,
    registerExp,
    registerWorker,
  ]) {
    register(program);
  }
  return program;
}

/** Runs the CLI and returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and --version exit with 0; commander already printed its message.
      return error.exitCode;
    }
    if (error instanceof KdError) {
      process.stderr.write(`kd-pipeline: error: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`kd-pipeline: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 70;
  }
}
