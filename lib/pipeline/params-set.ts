import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { KdError } from '../errors.js';
import { PARAMS_FILE } from './spec.js';
import { loadYaml } from './yaml-memo.js';

/**
 * `--set key=value` (like `dvc exp run -S`): writes the values into params.yaml, keeping its
 * comments and layout, before the pipeline is loaded. Values are read as YAML (`4`, `true`,
 * `[cnn, bilstm]`, `"text"`); a key must already exist so a typo is an error, not a new param.
 */
export function applyParamOverrides(root: string, assignments: string[]): void {
  if (assignments.length === 0) return;
  const file = path.join(root, PARAMS_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new KdError(`--set: ${PARAMS_FILE} not found in ${root}`);
  }
  const { parseDocument, parse: parseYaml } = loadYaml();
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new KdError(`${PARAMS_FILE}: malformed YAML: ${doc.errors[0]?.message.split('\n')[0]}`);
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new KdError(`--set ${assignment}: expected key=value, e.g. --set student.temperature=2`);
    const key = assignment.slice(0, eq).trim();
    const keyPath = key.split('.');
    if (!doc.hasIn(keyPath)) throw new KdError(`--set ${assignment}: '${key}' is not a key of ${PARAMS_FILE}`);
    doc.setIn(keyPath, parseYaml(assignment.slice(eq + 1)));
  }
  writeFileAtomic(file, doc.toString());
}
