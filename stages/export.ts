import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeDirAtomic } from '../lib/atomic-dir.js';
import { loadTf } from '../lib/ml/backend/backend.js';
import { pathSha256, sha256Parts } from '../lib/ml/export/content-hash.js';
import { readSplit } from '../lib/ml/data/dataset.js';
import { layersFiles, readFloatModel, writeLayersFiles } from '../lib/ml/models/layers-files.js';
import { readCardMetrics, renderModelCard, type ModelCardInfo } from '../lib/ml/export/model-card.js';
import { loadLayersModel, modelInputEncoder } from '../lib/ml/models/model-io.js';
import { TOKENIZER_CONFIG_FILE, TOKENIZER_FILE } from '../lib/ml/text/student-tokenizer.js';
import { loadMlParams } from '../lib/ml/params.js';
import { loadTestSet, requireInputs } from '../lib/ml/data/test-set.js';
import { checkModelIo, scoreVariants } from '../lib/ml/export/variant-scores.js';
import { reportStageTag } from '../lib/pipeline/stage-tags.js';
import { loadTrackingConfig } from '../lib/tracking/config.js';

const EXPORT_DIR = 'artifacts/export';
const STUDENT_DIR = 'artifacts/student';
const METRICS_FILE = 'artifacts/metrics.json';
/** The stage's declared deps: their content hashes are the export's lineage. */
const LINEAGE = ['artifacts/data', 'artifacts/vocab.json', STUDENT_DIR, METRICS_FILE];

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * The student as the export the server and `kd-pipeline predict` read (lib/serve/export-bundle.ts):
 * float32 model plus quantised variants, vocab, labels, preprocessing, metadata and model card.
 * Every variant is loaded back and scored on the test split before the directory is swapped in.
 */
export async function run(root: string): Promise<void> {
  const params = loadMlParams(root);
  requireInputs(root, 'export', ['artifacts/data/test.jsonl', 'artifacts/data/labels.json', ...LINEAGE]);
  const set = loadTestSet(root, params.text.max_len);
  const metrics = readCardMetrics(path.join(root, METRICS_FILE));
  const { tf, info } = await loadTf();
  reportStageTag('kd.backend', info.backend);

  const studentDir = path.join(root, STUDENT_DIR);
  const student = readFloatModel(studentDir);
  const encoder = modelInputEncoder(studentDir, set);
  // A student over pieces carries its tokenizer: the export's one definition of its input.
  const tokenizerFiles = encoder.kind === 'pieces' ? [TOKENIZER_FILE, TOKENIZER_CONFIG_FILE].map((name) => [name, readFileSync(path.join(studentDir, name))] as const) : [];
  const loaded = await loadLayersModel(studentDir);
  checkModelIo(loaded, set, path.join(STUDENT_DIR, 'model.json'));
  const paramCount = loaded.countParams();
  loaded.dispose();

  const preprocessing = { tokenizer: encoder.kind, lowercase: params.text.lowercase, strip_accents: params.text.strip_accents, max_len: encoder.maxLen };
  const preprocessingJson = json(preprocessing);
  const vocabBytes = readFileSync(path.join(root, 'artifacts/vocab.json'));
  const float32 = layersFiles(student, 'float32');
  const fingerprint = sha256Parts([float32.weights, vocabBytes, Buffer.from(preprocessingJson), ...tokenizerFiles.map(([, bytes]) => bytes)]);
  const exportedAt = new Date().toISOString();
  // Sorts by date; the fingerprint part tells two exports of one day apart.
  const version = `${exportedAt.slice(0, 10).replace(/-/g, '')}.${fingerprint.slice(0, 8)}`;
  const { registeredModel } = await loadTrackingConfig(root);
  const data = path.join(root, 'artifacts/data');
  const splits = { train: readSplit(path.join(data, 'train.jsonl')).length, val: readSplit(path.join(data, 'val.jsonl')).length, test: set.rows };
  const lineage = Object.fromEntries(LINEAGE.map((rel) => [rel, pathSha256(path.join(root, rel))]));

  await writeDirAtomic(path.join(root, EXPORT_DIR), async (tmp) => {
    const written = new Map([['float32', { dir: tmp, sizeBytes: writeLayersFiles(tmp, float32) }]]);
    for (const dtype of new Set(params.export.quantize)) {
      const dir = path.join(tmp, dtype);
      mkdirSync(dir);
      written.set(dtype, { dir, sizeBytes: writeLayersFiles(dir, layersFiles(student, dtype)) });
    }
    // The test split in one batch: evaluate.* is not among this stage's params, and it is small.
    const variants = await scoreVariants(written, set, set.rows, encoder);

    const card: ModelCardInfo = {
      name: registeredModel,
      version,
      fingerprint,
      exportedAt,
      backend: info.backend,
      tfPackage: info.package,
      dataSource: params.data.path,
      splits,
      labels: set.labels,
      preprocessing,
      vocabSize: Object.keys(set.vocab).length,
      metrics,
      variants,
      lineage,
    };
    writeFileSync(path.join(tmp, 'vocab.json'), vocabBytes);
    for (const [name, bytes] of tokenizerFiles) writeFileSync(path.join(tmp, name), bytes);
    writeFileSync(path.join(tmp, 'labels.json'), json(set.labels));
    writeFileSync(path.join(tmp, 'preprocessing.json'), preprocessingJson);
    writeFileSync(
      path.join(tmp, 'metadata.json'),
      json({
        name: card.name,
        version,
        fingerprint,
        exported_at: exportedAt,
        backend: info.backend,
        tfjs_package: info.package,
        format: `tfjs layers-model; input int32 ${encoder.kind === 'pieces' ? 'piece ids from tokenizer.json (no special tokens; pad id 0) [batch, up to max_len]' : 'word ids from vocab.json [batch, max_len]'}; output logits [batch, labels]`,
        labels: set.labels,
        preprocessing,
        vocab_size: card.vocabSize,
        data: { source: card.dataSource, ...splits },
        params: paramCount,
        metrics,
        variants,
        lineage,
      }),
    );
    writeFileSync(path.join(tmp, 'model-card.md'), renderModelCard(card));
  });
  // lib/tracking registers a new model version from this directory's uploaded artifacts.
  reportStageTag('kd.register_model', EXPORT_DIR);
  process.stderr.write(`export: ${EXPORT_DIR} (${[...new Set(['float32', ...params.export.quantize])].join(', ')}), fingerprint ${fingerprint.slice(0, 12)}\n`);
}
