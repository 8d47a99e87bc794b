import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../atomic-write.js';
import { KdError } from '../errors.js';
import { readDataSource } from '../ml/data/data-source.js';
import { unlabeledSentences, type UnlabeledFileStats } from '../ml/data/unlabeled-text.js';
import { PARAMS_FILE, PIPELINE_FILE } from '../pipeline/spec.js';
import { Composer, CST, type Document, Parser, parse } from 'yaml';

/** This installation's root (dist/lib/cli → ../../..): its pipeline.yaml, params.yaml and data/ are the defaults. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface InitOptions {
  /** The project folder (created if missing). */
  dir: string;
  /** The user's data set, relative to the current directory; null = the embedded example. */
  data: string | null;
  textColumn?: string;
  labelColumn?: string;
  /** Unlabelled text for the transfer set (soft_labels.unlabeled.path), relative to the current directory. */
  unlabeled?: string;
  force: boolean;
}

export interface InitResult {
  dir: string;
  files: string[];
  data: { path: string; copiedFrom: string | null; textColumn: string; labelColumn: string; rows: number; emptyRows: number; classes: Record<string, number> };
  unlabeled: { path: string; copiedFrom: string | null; rows: number; sentences: number; emptyRows: number; duplicates: number } | null;
  warnings: string[];
  next: string[];
}

/** Classes with fewer rows than this may end up missing from the validation or test split. */
const FEW_ROWS = 10;
/** A smallest class under this share of the largest one makes accuracy a poor guide. */
const IMBALANCE = 0.2;

const posix = (rel: string) => rel.split(path.sep).join('/');
/** A word as a shell reads it back: quoted when it holds anything but letters, digits and ./_- . */
const shellWord = (word: string) => (/^[\w./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/**
 * YAML text with some scalar values replaced in place (through the yaml library's CST): every
 * other byte (comments, their alignment, quoting, blank lines) stays as written.
 */
function editYaml(file: string, text: string, edit: (doc: Document, set: (keyPath: string[], value: string) => void) => void): string {
  const tokens = [...new Parser().parse(text)];
  const [doc] = [...new Composer({ keepSourceTokens: true }).compose(tokens)];
  if (!doc || doc.errors.length > 0) throw new KdError(`init: ${file}: malformed YAML${doc ? ` (${doc.errors[0]!.message.split('\n')[0]})` : ''}`);
  edit(doc, (keyPath, value) => {
    const node = doc.getIn(keyPath, true) as { srcToken?: CST.Token } | undefined;
    if (!node?.srcToken) throw new KdError(`init: ${file} has no ${keyPath.join('.')} to set`);
    // A value that would read back as another type (true, 12, null) is quoted.
    CST.setScalarValue(node.srcToken, value, parse(value) === value ? {} : { type: 'QUOTE_DOUBLE' });
  });
  return tokens.map((token) => CST.stringify(token)).join('');
}

/** The top folders of the pipeline's outs (artifacts, models…): what the cache restores and git should not hold. */
function outFolders(spec: { stages?: Record<string, { outs?: unknown[]; metrics?: unknown[]; plots?: unknown[] }> }): string[] {
  const paths = Object.values(spec.stages ?? {}).flatMap((stage) =>
    [...(stage.outs ?? []), ...(stage.metrics ?? []), ...(stage.plots ?? [])].map((out) => (typeof out === 'string' ? out : Object.keys(out as object)[0] ?? '')),
  );
  // A top-level file or an interpolated path (${…}) is left to the user.
  return [...new Set(paths.filter((p) => p.includes('/') && !p.includes('$')).map((p) => p.split('/')[0]!))].sort();
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new KdError(`init: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); is this installation complete?`);
  }
}

/** Copies `from` to `to` unless an identical file is there; a different one is kept unless `force`. */
function copyInto(from: string, to: string, force: boolean, shown: string): boolean {
  if (existsSync(to)) {
    if (readFileSync(to).equals(readFileSync(from))) return false;
    if (!force) throw new KdError(`init: ${shown} already exists and differs from ${from}; pass --force to overwrite it`);
  }
  mkdirSync(path.dirname(to), { recursive: true });
  copyFileSync(from, to);
  return true;
}

/**
 * Where the project reads its data from: a file inside the project is used where it is; one
 * outside is copied to data/ (pipeline deps must lie inside the project); the embedded example
 * (the default params' data.path and the attribution beside it) is copied from this installation.
 */
function placeData(dir: string, options: InitOptions, defaultPath: string, copied: string[]): { rel: string; from: string | null } {
  if (options.data === null) {
    const from = path.join(PACKAGE_ROOT, defaultPath);
    const attribution = path.join(path.dirname(from), 'README.md');
    if (copyInto(from, path.join(dir, defaultPath), options.force, defaultPath)) copied.push(defaultPath);
    const attributionRel = posix(path.join(path.dirname(defaultPath), 'README.md'));
    if (existsSync(attribution) && copyInto(attribution, path.join(dir, attributionRel), options.force, attributionRel)) copied.push(attributionRel);
    return { rel: defaultPath, from: null };
  }
  return placeFile(dir, options.data, options.force, copied);
}

/** A file of the user's: used where it is inside the project, copied to data/ from outside (pipeline deps must lie inside the project). */
function placeFile(dir: string, file: string, force: boolean, copied: string[]): { rel: string; from: string | null } {
  const source = path.resolve(file);
  const inside = path.relative(dir, source);
  if (!inside.startsWith('..') && !path.isAbsolute(inside)) return { rel: posix(inside), from: null };
  const rel = `data/${path.basename(source)}`;
  if (copyInto(source, path.join(dir, rel), force, rel)) copied.push(rel);
  return { rel, from: file };
}

/** Reads the unlabelled file whole, as generate-soft-labels will: any bad row fails init before anything is written. */
async function checkUnlabeled(file: string, column: string): Promise<{ rows: number; sentences: number; emptyRows: number; duplicates: number }> {
  const stats: UnlabeledFileStats[] = [];
  const source = { file, column, columnHint: 'pass --text-column' };
  for await (const _ of unlabeledSentences(process.cwd(), [source], { lowercase: true, strip_accents: false }, new Set(), new Set(), stats)) {
    // Counted in stats.
  }
  const [entry] = stats;
  return { rows: entry!.rows, sentences: entry!.kept, emptyRows: entry!.emptyLines.length, duplicates: entry!.duplicates };
}

/**
 * `kd-pipeline init`: pipeline.yaml and params.yaml for the user's data, derived from this
 * installation's defaults (only data.path and the column names change, comments kept), after
 * checking the data: the columns exist and there are at least two classes.
 */
export async function initProject(options: InitOptions): Promise<InitResult> {
  const dir = path.resolve(options.dir);
  const existing = [PIPELINE_FILE, PARAMS_FILE].filter((name) => existsSync(path.join(dir, name)));
  if (existing.length > 0 && !options.force) {
    throw new KdError(`init: ${existing.map((name) => path.join(options.dir, name)).join(' and ')} already exist${existing.length === 1 ? 's' : ''}; pass --force to overwrite`);
  }
  const paramsFile = path.join(PACKAGE_ROOT, PARAMS_FILE);
  const pipelineFile = path.join(PACKAGE_ROOT, PIPELINE_FILE);
  const paramsText = readText(paramsFile);
  const defaults = parse(paramsText) as { data?: { path?: string; format?: string; text_column?: string; label_column?: string } };
  const textColumn = options.textColumn ?? defaults.data?.text_column ?? 'text';
  const labelColumn = options.labelColumn ?? defaults.data?.label_column ?? 'label';
  const format = (defaults.data?.format ?? 'auto') as 'auto' | 'csv' | 'jsonl';

  // Checked where it lies, before anything is written: a wrong column name costs nothing but a rerun.
  const defaultPath = defaults.data?.path;
  if (!defaultPath) throw new KdError(`init: ${paramsFile} has no data.path`);
  const [checkRoot, checkPath] = options.data === null ? [PACKAGE_ROOT, defaultPath] : [process.cwd(), options.data];
  if (options.data !== null && !statSync(path.resolve(options.data), { throwIfNoEntry: false })?.isFile()) throw new KdError(`init: --data ${options.data}: no such file`);
  const checked = readDataSource(checkRoot, { path: checkPath, format, text_column: textColumn, label_column: labelColumn }, 'pass --text-column/--label-column');
  const unlabeledCheck = options.unlabeled === undefined ? null : await checkUnlabeled(options.unlabeled, textColumn);
  mkdirSync(dir, { recursive: true });
  const copied: string[] = [];
  const data = placeData(dir, options, defaultPath, copied);
  const unlabeled = options.unlabeled === undefined ? null : placeFile(dir, options.unlabeled, options.force, copied);

  const params = editYaml(paramsFile, paramsText, (_, set) => {
    set(['data', 'path'], data.rel);
    set(['data', 'text_column'], textColumn);
    set(['data', 'label_column'], labelColumn);
    if (unlabeled) {
      set(['soft_labels', 'unlabeled', 'path'], unlabeled.rel);
      set(['soft_labels', 'unlabeled', 'text_column'], textColumn);
    }
  });
  // Each project its own MLflow experiment, named after its folder.
  const pipeline = editYaml(pipelineFile, readText(pipelineFile), (doc, set) => {
    if (doc.hasIn(['tracking', 'experiment'])) set(['tracking', 'experiment'], path.basename(dir));
  });
  writeFileAtomic(path.join(dir, PIPELINE_FILE), pipeline);
  writeFileAtomic(path.join(dir, PARAMS_FILE), params);
  const files = [PIPELINE_FILE, PARAMS_FILE, ...copied];
  if (!existsSync(path.join(dir, '.gitignore'))) {
    writeFileAtomic(path.join(dir, '.gitignore'), outFolders(parse(pipeline)).map((folder) => `${folder}/\n`).join(''));
    files.push('.gitignore');
  }

  const counts = new Map<string, number>();
  for (const row of checked.rows) counts.set(row.label.trim(), (counts.get(row.label.trim()) ?? 0) + 1);
  // Sorted as preprocess numbers the classes.
  const classes = Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const warnings = Object.entries(classes)
    .filter(([, n]) => n < FEW_ROWS)
    .map(([label, n]) => `class "${label}" has only ${n} row${n === 1 ? '' : 's'}: the validation and test splits may miss it`);
  const [fewest, most] = [Math.min(...counts.values()), Math.max(...counts.values())];
  if (fewest < IMBALANCE * most) {
    warnings.push(`the classes are imbalanced (the smallest has ${fewest} rows, the largest ${most}): judge the models by macro F1 in the report, not accuracy alone`);
  }
  const flags = textColumn === 'text' ? '' : ` --text-column ${shellWord(textColumn)}`;
  // Only a global install (<prefix>/lib/node_modules/kd-pipeline) puts kd-pipeline on the PATH;
  // a project's own install or a clone of the repository runs it through npx.
  const global = path.basename(path.dirname(PACKAGE_ROOT)) === 'node_modules' && path.basename(path.dirname(path.dirname(PACKAGE_ROOT))) === 'lib';
  const cli = global ? 'kd-pipeline' : 'npx kd-pipeline';
  return {
    dir,
    files,
    data: { path: data.rel, copiedFrom: data.from, textColumn, labelColumn, rows: checked.rows.length, emptyRows: checked.emptyLines.length, classes },
    unlabeled: unlabeled && unlabeledCheck ? { path: unlabeled.rel, copiedFrom: unlabeled.from, ...unlabeledCheck } : null,
    warnings,
    next: [
      ...(path.resolve(process.cwd()) === dir ? [] : [`cd ${shellWord(options.dir)}`]),
      `${cli} run`,
      'open artifacts/report/index.html',
      `${cli} predict --file ${shellWord(data.rel)}${flags} --out predictions.csv`,
    ],
  };
}
