import { afterAll, describe, expect, it } from 'vitest';
import { Project, removeProjects } from '../pipeline/harness.js';

afterAll(removeProjects);

function project(): Project {
  return new Project({ 'params.yaml': '', 'pipeline.yaml': 'stages:\n  one:\n    cmd: echo 1 > one.txt\n    outs: [one.txt]\n' });
}

describe('remote add | list | remove and .kdconfig.yaml', () => {
  it('adds remotes to a committed config file (the first is the default), lists and removes them', async () => {
    const p = project();
    expect((await p.kd(['remote', 'list'])).stderr).toContain('no remotes yet: add one with `kd-pipeline remote add NAME s3://bucket/prefix`');
    expect((await p.kd(['remote', 'add', 'origin', 's3://my-bucket/team/cache'])).code).toBe(0);
    expect((await p.kd(['remote', 'add', 'nfs', '../shared/cache'])).code).toBe(0);
    expect((await p.kd(['remote', 'add', 'minio', 's3://ml.artifacts', '--path-style'])).code).toBe(0);
    expect((await p.kd(['remote', 'list', '--json'])).json).toEqual({
      default: 'origin',
      remotes: [
        { name: 'origin', url: 's3://my-bucket/team/cache', pathStyle: false },
        { name: 'nfs', url: '../shared/cache', pathStyle: false },
        { name: 'minio', url: 's3://ml.artifacts', pathStyle: true },
      ],
    });
    expect(p.read('.kdconfig.yaml')).toContain('Credentials never go here');
    expect((await p.kd(['remote', 'add', 'nfs', '/mnt/other', '--default', '--force'])).code).toBe(0);
    expect((await p.kd(['remote', 'list'])).stdout).toBe('origin\ts3://my-bucket/team/cache\nnfs\t/mnt/other\t(default)\nminio\ts3://ml.artifacts\tpath-style');
    expect((await p.kd(['remote', 'remove', 'nfs'])).code).toBe(0);
    expect((await p.kd(['remote', 'list', '--json'])).json.default).toBeNull();
    // Hand edits (comments) survive the commands.
    p.write('.kdconfig.yaml', `${p.read('.kdconfig.yaml')}# our team's buckets\n`);
    expect((await p.kd(['remote', 'add', 'x', '/tmp/x'])).code).toBe(0);
    expect(p.read('.kdconfig.yaml')).toContain("# our team's buckets");
  });

  it.for([
    [['remote', 'add', 'o', 's3://'], "remote URL s3://: '' is not a valid bucket name"],
    [['remote', 'add', 'o', 's3://Bad_Bucket/x'], "'Bad_Bucket' is not a valid bucket name (3–63 characters: lower-case letters, digits, '.', '-'), expected s3://bucket/prefix"],
    [['remote', 'add', 'o', 's3://AKIA123:secret@bucket/x'], 'credentials or ports do not belong in an s3:// URL'],
    [['remote', 'add', 'o', 'gs://bucket/x'], "unsupported scheme 'gs://' (use s3://bucket/prefix for S3-compatible storage, or a directory path)"],
    [['remote', 'add', 'bad name', '/tmp/x'], "remote add: 'bad name' is not a valid remote name"],
    [['remote', 'remove', 'nope'], "unknown remote 'nope' (no remotes in .kdconfig.yaml; add one with `kd-pipeline remote add NAME URL`)"],
    [['push'], 'no remote configured: add one with `kd-pipeline remote add NAME s3://bucket/prefix`'],
    [['pull', '--jobs', '0'], 'kd-pipeline pull: jobs: must be at least 1'],
    [['run', '--remote', 'x'], 'run: --remote names the remote for --pull; pass --pull too'],
    [['push', 'no-such-stage'], "no stage named 'no-such-stage' in pipeline.yaml (stages: one)"],
  ] as const)('%j fails with a clear error', async ([args, message]) => {
    const p = project();
    const r = await p.kd([...args]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
  });

  it('an unknown remote name, a second remote of the same name, and a config file with credentials or a bad URL are refused', async () => {
    const p = project();
    expect((await p.kd(['remote', 'add', 'origin', '/tmp/a'])).code).toBe(0);
    expect((await p.kd(['push', '--remote', 'other'])).stderr).toContain("kd-pipeline: error: unknown remote 'other' (remotes in .kdconfig.yaml: origin)");
    expect((await p.kd(['remote', 'add', 'origin', '/tmp/b'])).stderr).toContain("a remote named 'origin' already exists (/tmp/a); pass --force to replace it");
    p.write('.kdconfig.yaml', 'remotes:\n  origin:\n    url: s3://bucket/x\n    secret_access_key: abc\n');
    expect((await p.kd(['push'])).stderr).toContain(".kdconfig.yaml: remotes.origin: unknown setting 'secret_access_key' (a remote has url and path_style; credentials belong in the environment or ~/.aws, never in this file)");
    p.write('.kdconfig.yaml', 'remotes:\n  origin:\n    url: ftp://host/x\n');
    expect((await p.kd(['remote', 'list'])).stderr).toContain(".kdconfig.yaml: remotes.origin.url: remote URL ftp://host/x: unsupported scheme 'ftp://'");
    p.write('.kdconfig.yaml', 'default_remote: nope\nremotes: {}\n');
    expect((await p.kd(['pull'])).stderr).toContain(".kdconfig.yaml: default_remote: no remote named 'nope' in remotes");
  });
});
