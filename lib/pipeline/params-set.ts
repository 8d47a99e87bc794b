import path from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { KdError } from '../errors.js';
import { readTextIfExists } from '../read-file.js';
import { PARAMS_FILE } from './spec.js';
import { isMap } from 'yaml';
import { loadYaml } from './yaml-memo.js';

/** One value to set: a dotted key, the value, and how to name its origin in an error (e.g. `--set a=1`). */
export interface ParamAssignment {
  key: string;
  value: unknown;
  origin: string;
  /** The key may be new, under a mapping that exists (`+key=value`, Hydra's and DVC's grammar). */
  add?: boolean;
}

/** `+a.b` → { key: 'a.b', add: true }; `a.b` → { key: 'a.b', add: false }. */
export function parseAddPrefix(raw: string): { key: string; add: boolean } {
  return raw.startsWith('+') ? { key: raw.slice(1), add: true } : { key: raw, add: false };
}

/** The text of the params.yaml of `root`, or an error naming `origin`. */
export function readParamsText(root: string, origin: string): string {
  const text = readTextIfExists(path.join(root, PARAMS_FILE), `${origin}: ${PARAMS_FILE}`);
  if (text === null) throw new KdError(`${origin}: ${PARAMS_FILE} not found in ${root}`);
  return text;
}

/**
 * params.yaml text with the assignments applied, keeping its comments and layout (the yaml
 * Document API). A key must already exist, so a typo is an error, not a new param — unless the
 * assignment adds it (`+key`), and then the mapping it goes under must exist.
 */
export function setParamValues(text: string, assignments: ParamAssignment[]): string {
  const doc = loadYaml().parseDocument(text);
  if (doc.errors.length > 0) throw new KdError(`${PARAMS_FILE}: malformed YAML: ${doc.errors[0]?.message.split('\n')[0]}`);
  for (const { key, value, origin, add } of assignments) {
    const keyPath = key.split('.');
    if (!doc.hasIn(keyPath)) {
      const parent = keyPath.slice(0, -1);
      const parentNode = parent.length === 0 ? doc.contents : doc.getIn(parent, true);
      if (!add || !isMap(parentNode)) {
        const hint = isMap(parentNode) && parent.length > 0 ? ` (to add it under ${parent.join('.')}, write +${key}=…)` : '';
        throw new KdError(`${origin}: '${key}' is not a key of ${PARAMS_FILE}${hint}`);
      }
      // A flow mapping such as `model: {}` would otherwise stay on one line with the new key in it.
      parentNode.flow = false;
    }
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
    return { ...parseAddPrefix(assignment.slice(0, eq).trim()), value: loadYaml().parse(assignment.slice(eq + 1)), origin: `--set ${assignment}` };
  });
  writeFileAtomic(path.join(root, PARAMS_FILE), setParamValues(text, parsed));
}
