// `node --import ./bench/hide-native.mjs …`: makes the packages named in KD_BENCH_HIDE (comma
// separated, e.g. "@tensorflow/tfjs-node-gpu,@tensorflow/tfjs-node") unresolvable for import(), so
// lib/ml/backend/backend.ts falls through to the next backend exactly as on a machine without them.
import { register } from 'node:module';

const hidden = (process.env.KD_BENCH_HIDE ?? '').split(',').filter(Boolean);
if (hidden.length > 0) {
  const hooks = `
const hidden = new Set(${JSON.stringify(hidden)});
export async function resolve(specifier, context, next) {
  if (hidden.has(specifier)) {
    const error = new Error(\`Cannot find package '\${specifier}' (hidden by bench/hide-native.mjs)\`);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}
