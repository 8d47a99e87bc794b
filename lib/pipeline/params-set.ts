import path from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { KdError } from '../errors.js';
import { readTextIfExists } from '../read-file.js';
import { PARAMS_FILE } from './spec.js';
import { loadYaml } from './yaml-memo.js';

/** One value to set: a dotted key, the value, and how to name its origin in an error (e.g. `--set a=1`). */
export interface ParamAssignment {
  key: string;
  value: unknown;
  origin: string;
}

/** The text of the params.yaml of `root`, or an error naming `origin`. */
export function readParamsText(root: string, origin: string): string {
  const text = readTextIfExists(path.join(root, PARAMS_FILE), `${origin}: ${PARAMS_FILE}`);
  if (text === null) throw new KdError(`${origin}: ${PARAMS_FILE} not found in ${root}`);
  return text;
}

/**
 * params.yaml text with the assignments applied, keeping its comments and layout (the yaml
 * Document API). A key must already exist, so a typo is an error, not a new param.
 */
export function setParamValues(text: string, assignments: ParamAssignment[]): string {
  const doc = loadYaml().parseDocument(text);
  if (doc.errors.length > 0) throw new KdError(`${PARAMS_FILE}: malformed YAML: ${doc.errors[0]?.message.split('\n')[0]}`);
  for (const { key, value, origin } of assignments) {
    const keyPath = key.split('.');
    if (!doc.hasIn(keyPath)) throw new KdError(`${origin}: '${key}' is not a key of ${PARAMS_FILE}`);
    doc.setIn(keyPath, value);
  }
  return doc.toString();
}

/**
 * `--set key=value` (like `dvc exp run -S`): writes the values into params.yaml before the
 * pipeline is loaded. Values are read as YAML (`4`, `true`, `[cnn, bilstm]`, `"text"`).
 */
export function applyParamOverrides(root: string, assignments: string[]): void {
  if (assignments.length === 0) return;
  const text = readParamsText(root, '--set');
  const parsed = assignments.map((assignment): ParamAssignment => {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new KdError(`--set ${assignment}: expected key=value, e.g. --set student.temperature=2`);
    return { key: assignment.slice(0, eq).trim(), value: loadYaml().parse(assignment.slice(eq + 1)), origin: `--set ${assignment}` };
  });
  writeFileAtomic(path.join(root, PARAMS_FILE), setParamValues(text, parsed));
}
