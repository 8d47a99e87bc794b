import path from 'node:path';
import type { Command } from 'commander';
import { KdError } from '../../errors.js';

interface PredictOptions {
  model: string;
  variant?: string;
  runtime: string;
  json?: boolean;
  file?: string;
  textColumn: string;
  format?: string;
  out?: string;
  batchSize: string;
}

/** At most this many failed rows are listed in the closing error; all are in the output. */
const LISTED_FAILURES = 10;

export function register(program: Command): void {
  program
    .command('predict')
    .description('Classify a text, or every row of a file, with an exported model: the label and the probability of every class')
    .argument('[text]', 'the text to classify (or use --file)')
    .option('--model <dir>', 'export directory', 'artifacts/export')
    .option('--variant <name>', 'quantised variant to use: float16 | uint8 (tfjs), int8 (onnx) (default: the float32 model)')
    .option('--runtime <name>', 'tfjs (model.json) | onnx (onnx/model.onnx through onnxruntime-node)', 'tfjs')
    .option('--json', 'print {"label", "probabilities", "model"} as JSON on stdout; with --file, write JSON Lines instead of CSV')
    .option('--file <path>', 'classify every row of a CSV (.csv), JSON Lines (.jsonl) or text file (.txt, one text per line); - reads lines from stdin')
    .option('--text-column <name>', 'with --file: the CSV column or JSON field holding the text', 'text')
    .option('--format <format>', 'with --file: csv | jsonl | lines, when the file name does not tell')
    .option('--out <path>', 'with --file: write the predictions there (complete or not at all) instead of stdout')
    .option('--batch-size <n>', 'with --file: texts per model call', '256')
    .action(async (text: string | undefined, options: PredictOptions) => {
      if ((text === undefined) === (options.file === undefined)) throw new KdError('predict: give either a text or --file PATH (- for stdin), not both or neither');
      // The export reader and model loader are shared with `serve`, so both predict identically.
      const { checkVariant, readExport, RUNTIMES } = await import('../../serve/export-bundle.js');
      const runtime = RUNTIMES.find((name) => name === options.runtime);
      if (!runtime) throw new KdError(`predict: --runtime must be one of ${RUNTIMES.join(', ')}, not "${options.runtime}"`);
      const variant = checkVariant(runtime, options.variant ?? null, 'predict');
      const { INPUT_FORMATS } = await import('../../serve/batch-input.js');
      if (options.format !== undefined && !(INPUT_FORMATS as readonly string[]).includes(options.format)) {
        throw new KdError(`predict: --format must be one of ${INPUT_FORMATS.join(', ')}, not "${options.format}"`);
      }
      const batchSize = Number(options.batchSize);
      if (!Number.isInteger(batchSize) || batchSize < 1) throw new KdError(`predict: --batch-size must be a positive integer, not "${options.batchSize}"`);
      const bundle = await readExport(path.resolve(options.model), variant, runtime);
      const { loadServingModel } = await import('../../serve/serving-model.js');
      const model = await loadServingModel(bundle);
      try {
        if (options.file !== undefined) {
          const { predictFile } = await import('../../serve/batch-predict.js');
          const result = await predictFile(model, {
            file: options.file,
            format: (options.format ?? null) as (typeof INPUT_FORMATS)[number] | null,
            textColumn: options.textColumn,
            out: options.out ?? null,
            json: options.json === true,
            batchSize,
          });
          const where = options.out ? ` → ${options.out}` : '';
          const n = (value: number) => value.toLocaleString('en-US');
          process.stderr.write(`predict: ${n(result.rows)} rows${where}: ${n(result.predicted)} predicted in ${n(result.batches)} batch${result.batches === 1 ? '' : 'es'}, ${n(result.failed.length)} failed\n`);
          if (result.failed.length > 0) {
            const source = options.file === '-' ? 'stdin' : options.file;
            const listed = result.failed.slice(0, LISTED_FAILURES).map((f) => `  ${source}:${f.line}: ${f.error}`);
            if (result.failed.length > LISTED_FAILURES) listed.push(`  … and ${result.failed.length - LISTED_FAILURES} more (the output's error field has every one)`);
            throw new KdError(`predict: ${n(result.failed.length)} of ${n(result.rows)} rows could not be predicted:\n${listed.join('\n')}`);
          }
          return;
        }
        const [prediction] = await model.predict([text!]);
        if (!prediction) throw new KdError('predict: the model returned no prediction');
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ ...prediction, model: model.identity })}\n`);
          return;
        }
        process.stdout.write(`${prediction.label}\n`);
        const ranked = Object.entries(prediction.probabilities).sort(([, a], [, b]) => b - a);
        for (const [label, p] of ranked) process.stdout.write(`  ${label.padEnd(16)} ${p.toFixed(4)}\n`);
      } finally {
        model.dispose();
      }
    });
}
