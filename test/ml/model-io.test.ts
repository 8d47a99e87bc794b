import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBackend, loadTf } from '../../lib/ml/backend/backend.js';
import { loadClassifier, loadLayersModel, saveLayersModel } from '../../lib/ml/models/model-io.js';

const work = mkdtempSync(path.join(tmpdir(), 'kd-model-io-'));
const context = { root: work, vocab: { '<pad>': 0, '<unk>': 1, a: 2, b: 3, c: 4 }, maxLen: 5 };
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function tinyModel(seed: number) {
  const { tf } = await loadTf();
  const model = tf.sequential();
  model.add(tf.layers.embedding({ inputDim: 10, outputDim: 4, inputLength: 5, embeddingsInitializer: tf.initializers.randomUniform({ seed }) }));
  model.add(tf.layers.globalAveragePooling1d());
  model.add(tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  return model;
}

describe('backend', () => {
  it('falls back to pure JS and records why the native packages did not load', async () => {
    const info = await loadBackend();
    expect(info.backend).toBe(info.package === '@tensorflow/tfjs' ? 'cpu' : 'tensorflow');
    expect(info.attempts.at(-1)).toMatchObject({ package: info.package, loaded: true });
    for (const failed of info.attempts.slice(0, -1)) expect(failed.error).toBeTruthy();
  });
});

describe('model-io', () => {
  it('round-trips a model in the standard layers format with identical logits', async () => {
    const { tf } = await loadTf();
    const model = await tinyModel(1);
    const dir = path.join(work, 'single');
    await saveLayersModel(model, dir);
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.weightsManifest[0].paths).toEqual(['./weights.bin']);
    const ids = tf.tensor2d([[2, 3, 4, 0, 0], [5, 1, 0, 0, 0]], undefined, 'int32');
    const loaded = await loadLayersModel(dir);
    expect(Array.from(await (loaded.predict(ids) as import('@tensorflow/tfjs').Tensor).data())).toEqual(
      Array.from(await (model.predict(ids) as import('@tensorflow/tfjs').Tensor).data()),
    );
    const classifier = await loadClassifier(dir, context);
    expect(classifier.paramCount).toBe(model.countParams());
    expect(classifier.sizeBytes).toBeGreaterThan(model.countParams() * 4);
    await classifier.dispose();
  });

  it('averages the logits of an ensemble directory', async () => {
    const { tf } = await loadTf();
    const members = [await tinyModel(1), await tinyModel(2)];
    const dir = path.join(work, 'ensemble');
    await saveLayersModel(members[0]!, path.join(dir, 'member-0'));
    await saveLayersModel(members[1]!, path.join(dir, 'member-1'));
    const ids = tf.tensor2d([[2, 3, 4, 0, 0]], undefined, 'int32');
    const expected = tf.addN(members.map((m) => m.predict(ids) as import('@tensorflow/tfjs').Tensor)).div(2);
    const classifier = await loadClassifier(dir, context);
    // Tokens a, b, c are ids 2, 3, 4 of the context's vocab; the classifier encodes them itself.
    const got = (await classifier.predictLogits([{ text: 'a b c', tokens: ['a', 'b', 'c'] }]))[0]!;
    Array.from(await expected.data()).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));
    expect(classifier.paramCount).toBe(members[0]!.countParams() * 2);
  });

  it('names the directory when there is no model', async () => {
    await expect(loadClassifier(path.join(work, 'missing'), context)).rejects.toThrow(/missing: no model.json/);
  });
});
