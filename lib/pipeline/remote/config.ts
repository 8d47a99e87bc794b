import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../atomic-write.js';
import { KdError } from '../../errors.js';
import { readTextIfExists } from '../../read-file.js';
import { parseOrThrow } from '../../validation.js';
import { loadYaml } from '../yaml-memo.js';

/** The project's settings that are committed with it (remotes); credentials never go here. */
export const CONFIG_FILE = '.kdconfig.yaml';

const HEADER = '# kd-pipeline project settings: commit this file. Credentials never go here: the AWS SDK reads them\n# from the environment (AWS_ACCESS_KEY_ID…, AWS_PROFILE) or ~/.aws (see docs/remote.md).\n';

const REMOTE_NAME = /^[A-Za-z0-9_.-]+$/;
const remoteName = z.string().regex(REMOTE_NAME, 'remote names use letters, digits, _ . -');

const remoteSchema = z.strictObject(
  {
    url: z.string().min(1),
    path_style: z.boolean().optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown setting ${issue.keys.map((k) => `'${k}'`).join(', ')} (a remote has url and path_style; credentials belong in the environment or ~/.aws, never in this file)` : undefined) },
);

const configSchema = z.strictObject({
  default_remote: remoteName.optional(),
  remotes: z.record(remoteName, remoteSchema).default({}),
});

export type RemoteSettings = z.infer<typeof remoteSchema>;
export type ProjectConfig = z.infer<typeof configSchema>;

export type RemoteLocation = { kind: 's3'; bucket: string; prefix: string } | { kind: 'directory'; path: string };

export interface Remote {
  name: string;
  url: string;
  pathStyle: boolean;
  location: RemoteLocation;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * `s3://bucket[/prefix]`, `file:///dir`, or a directory path (relative to the project root).
 * Throws a KdError saying what is wrong with a malformed URL.
 */
export function parseRemoteUrl(url: string, root: string): RemoteLocation {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme === 's3') {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    if (bucket.includes('@') || bucket.includes(':')) throw new KdError(`remote URL ${url}: credentials or ports do not belong in an s3:// URL; credentials come from the environment or ~/.aws, the endpoint from AWS_ENDPOINT_URL`);
    if (!BUCKET.test(bucket) || bucket.includes('..')) throw new KdError(`remote URL ${url}: '${bucket}' is not a valid bucket name (3–63 characters: lower-case letters, digits, '.', '-'), expected s3://bucket/prefix`);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1).split('/').filter(Boolean).join('/');
    return { kind: 's3', bucket, prefix };
  }
  if (scheme === 'file') return { kind: 'directory', path: path.resolve(decodeURIComponent(new URL(url).pathname)) };
  if (scheme) throw new KdError(`remote URL ${url}: unsupported scheme '${scheme}://' (use s3://bucket/prefix for S3-compatible storage, or a directory path)`);
  if (url.trim() === '') throw new KdError('remote URL is empty: expected s3://bucket/prefix or a directory path');
  return { kind: 'directory', path: path.resolve(root, url) };
}

function configPath(root: string): string {
  return path.join(root, CONFIG_FILE);
}

/** Null only when absent: reading an unreadable config as empty would let `remote add` overwrite it. */
function readText(root: string): string | null {
  return readTextIfExists(configPath(root), CONFIG_FILE);
}

export function readConfig(root: string): ProjectConfig {
  const text = readText(root);
  if (text === null) return { remotes: {} };
  let raw: unknown;
  try {
    raw = loadYaml().parse(text);
  } catch (error) {
    throw new KdError(`${CONFIG_FILE}: malformed YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const config = parseOrThrow(configSchema, raw ?? {}, CONFIG_FILE);
  for (const [name, settings] of Object.entries(config.remotes)) {
    try {
      parseRemoteUrl(settings.url, root);
    } catch (error) {
      throw new KdError(`${CONFIG_FILE}: remotes.${name}.url: ${(error as Error).message}`);
    }
  }
  if (config.default_remote && !config.remotes[config.default_remote]) throw new KdError(`${CONFIG_FILE}: default_remote: no remote named '${config.default_remote}' in remotes`);
  return config;
}

/** Rewrites the config keeping its comments and layout (like `--set` does for params.yaml). */
function editConfig(root: string, edit: (doc: ReturnType<ReturnType<typeof loadYaml>['parseDocument']>) => void): void {
  readConfig(root); // refuses to edit a file that is already invalid
  const { parseDocument } = loadYaml();
  const doc = parseDocument(readText(root) ?? HEADER);
  edit(doc);
  writeFileAtomic(configPath(root), doc.toString());
}

export function addRemote(root: string, name: string, url: string, options: { makeDefault: boolean; pathStyle: boolean; force: boolean }): void {
  if (!REMOTE_NAME.test(name)) throw new KdError(`remote add: '${name}' is not a valid remote name (letters, digits, _ . -)`);
  parseRemoteUrl(url, root);
  const config = readConfig(root);
  if (config.remotes[name] && !options.force) throw new KdError(`remote add: a remote named '${name}' already exists (${config.remotes[name].url}); pass --force to replace it`);
  const first = Object.keys(config.remotes).length === 0;
  editConfig(root, (doc) => {
    doc.setIn(['remotes', name], doc.createNode({ url, ...(options.pathStyle ? { path_style: true } : {}) }));
    if (options.makeDefault || first) doc.set('default_remote', name);
  });
}

export function removeRemote(root: string, name: string): void {
  const config = readConfig(root);
  if (!config.remotes[name]) throw unknownRemote(name, config);
  editConfig(root, (doc) => {
    doc.deleteIn(['remotes', name]);
    if (config.default_remote === name) doc.delete('default_remote');
  });
}

function unknownRemote(name: string, config: ProjectConfig): KdError {
  const names = Object.keys(config.remotes);
  return new KdError(`unknown remote '${name}' (${names.length > 0 ? `remotes in ${CONFIG_FILE}: ${names.join(', ')}` : `no remotes in ${CONFIG_FILE}; add one with \`kd-pipeline remote add NAME URL\``})`);
}

/** The remote named `name`, or the default one. */
export function resolveRemote(root: string, name?: string): Remote {
  const config = readConfig(root);
  const chosen = name ?? config.default_remote;
  if (!chosen) {
    throw new KdError(
      Object.keys(config.remotes).length === 0
        ? `no remote configured: add one with \`kd-pipeline remote add NAME s3://bucket/prefix\` (it is saved in ${CONFIG_FILE})`
        : `no default remote in ${CONFIG_FILE}: pass --remote NAME or choose one with \`kd-pipeline remote add --default --force NAME URL\``,
    );
  }
  const settings = config.remotes[chosen];
  if (!settings) throw unknownRemote(chosen, config);
  return { name: chosen, url: settings.url, pathStyle: settings.path_style === true, location: parseRemoteUrl(settings.url, root) };
}
