import type { Command } from 'commander';

export function register(program: Command): void {
  const remote = program.command('remote').description('Remote caches (S3-compatible storage or a directory) that push, pull and run --pull use, saved in .kdconfig.yaml');
  remote
    .command('add')
    .description('Add a remote: s3://bucket/prefix (credentials, region and endpoint from the AWS SDK\'s environment and config files) or a directory path')
    .argument('<name>', 'a name for the remote, e.g. origin')
    .argument('<url>', 's3://bucket/prefix, or a directory (shared disk, NFS)')
    .option('-d, --default', 'make it the default remote (the first remote added is the default anyway)')
    .option('--path-style', 'address the bucket as endpoint/bucket/key (automatic for an IP address or localhost endpoint)')
    .option('-f, --force', 'replace a remote of the same name')
    .action(async (name: string, url: string, opts: { default?: boolean; pathStyle?: boolean; force?: boolean }) => {
      const { addRemote, CONFIG_FILE } = await import('../../pipeline/remote/config.js');
      const root = (await import('../project-root.js')).currentProjectRoot();
      addRemote(root, name, url, { makeDefault: opts.default === true, pathStyle: opts.pathStyle === true, force: opts.force === true });
      process.stderr.write(`added remote '${name}' (${url}) to ${CONFIG_FILE}; commit it\n`);
    });
  remote
    .command('list')
    .description('The remotes of this project')
    .option('--json', 'print {"default":name|null,"remotes":[{name,url,pathStyle}]} on stdout')
    .action(async (opts: { json?: boolean }) => {
      const { readConfig } = await import('../../pipeline/remote/config.js');
      const config = readConfig((await import('../project-root.js')).currentProjectRoot());
      const remotes = Object.entries(config.remotes).map(([name, settings]) => ({ name, url: settings.url, pathStyle: settings.path_style === true }));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ default: config.default_remote ?? null, remotes })}\n`);
        return;
      }
      if (remotes.length === 0) process.stderr.write('no remotes yet: add one with `kd-pipeline remote add NAME s3://bucket/prefix` (or a directory)\n');
      for (const r of remotes) process.stdout.write(`${r.name}\t${r.url}${r.name === config.default_remote ? '\t(default)' : ''}${r.pathStyle ? '\tpath-style' : ''}\n`);
    });
  remote
    .command('remove')
    .description('Remove a remote from .kdconfig.yaml (its data stays where it is)')
    .argument('<name>', 'remote name')
    .action(async (name: string) => {
      const { removeRemote } = await import('../../pipeline/remote/config.js');
      removeRemote((await import('../project-root.js')).currentProjectRoot(), name);
      process.stderr.write(`removed remote '${name}'\n`);
    });
}
