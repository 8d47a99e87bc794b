import type { Command } from 'commander';
import { KdError } from '../../errors.js';

// PLACEHOLDER — to be replaced by the module that owns this command.
export function register(program: Command): void {
  program.command('dag').description('(not implemented yet)').action(() => {
    throw new KdError('dag: not implemented yet');
  });
}
