import path from 'node:path';
import type { Command } from 'commander';
import { KdError } from '../../errors.js';

interface PredictOptions {
  model: string;
  variant?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('predict')
    .description('Classify a text with an exported model: prints the label and the probability of every class')
    .argument('<text>', 'the text to classify')
    .option('--model <dir>', 'export directory', 'artifacts/export')
    .option('--variant <name>', 'quantised variant to use: float16 | uint8 (default: the float32 model)')
    .option('--json', 'print {"label", "probabilities", "model"} as JSON on stdout')
    .action(async (text: string, options: PredictOptions) => {
      // The export reader and model loader are shared with `serve`, so both predict identically.
      const { readExport, VARIANTS } = await import('../../serve/export-bundle.js');
      const variant = options.variant ?? null;
      if (variant !== null && !(VARIANTS as readonly string[]).includes(variant)) {
        throw new KdError(`predict: --variant must be one of ${VARIANTS.join(', ')}, not "${variant}"`);
      }
      const bundle = await readExport(path.resolve(options.model), variant as (typeof VARIANTS)[number] | null);
      const { loadServingModel } = await import('../../serve/serving-model.js');
      const model = await loadServingModel(bundle);
      const [prediction] = await model.predict([text]);
      model.dispose();
      if (!prediction) throw new KdError('predict: the model returned no prediction');
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ ...prediction, model: model.identity })}\n`);
        return;
      }
      process.stdout.write(`${prediction.label}\n`);
      const ranked = Object.entries(prediction.probabilities).sort(([, a], [, b]) => b - a);
      for (const [label, p] of ranked) process.stdout.write(`  ${label.padEnd(16)} ${p.toFixed(4)}\n`);
    });
}
