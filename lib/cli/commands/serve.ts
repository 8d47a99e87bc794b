import type { Command } from 'commander';

// Light at import time: zod, tfjs and the server are imported inside the action.
export function register(program: Command): void {
  program
    .command('serve')
    .description('Serve the exported student over HTTP: POST /predict, /health, /metadata, /metrics, /openapi.json and a web page at /')
    .option('--model <dir>', 'export directory (or a symlink to one) to serve', 'artifacts/export')
    .option('--variant <name>', 'serve a quantized model: float16 or uint8 (tfjs: <dir>/<variant>/), int8 (onnx: <dir>/onnx/model.int8.onnx)')
    .option('--runtime <name>', 'tfjs (model.json) or onnx (onnx/model.onnx through onnxruntime-node)', 'tfjs')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', '5000')
    .option('--max-batch <n>', 'most texts in one model call', '64')
    .option('--batch-wait-ms <ms>', 'longest wait for other requests to share a model call (0–5)', '1')
    .option('--max-queue <n>', 'most texts waiting for the model; beyond it requests get 503 + Retry-After', '1024')
    .option('--max-text-chars <n>', 'longest text accepted', '5000')
    .option('--max-batch-texts <n>', 'most texts in one {"texts": […]} request', '64')
    .option('--max-body-bytes <n>', 'largest request body accepted', String(256 * 1024))
    .option('--no-watch', 'do not reload when the export changes on disk (SIGHUP still reloads)')
    .option('--watch-interval-ms <ms>', 'how often the export is polled for changes', '1000')
    .option('--request-timeout <ms>', 'longest time a client may take to send a whole request; then 408 and the connection is closed', '30000')
    .option('--headers-timeout <ms>', 'longest time a client may take to send the request headers (at most --request-timeout)', '10000')
    .option('--max-connections <n>', 'most open connections; one beyond it is closed at once', '512')
    .option('--json', 'print {"url", "model", "pid"} as one JSON document on stdout once listening')
    .action(async (raw: Record<string, unknown>) => {
      const { parseServeFlags } = await import('../../serve/cli-flags.js');
      const flags = parseServeFlags(raw);
      const { startServer, DEFAULT_SERVE_OPTIONS } = await import('../../serve/server.js');
      const log = (line: string): void => void process.stderr.write(`kd-pipeline serve: ${line}\n`);
      const server = await startServer({
        ...DEFAULT_SERVE_OPTIONS,
        modelDir: flags.model,
        variant: flags.variant ?? null,
        runtime: flags.runtime,
        host: flags.host,
        port: flags.port,
        maxBatch: flags.maxBatch,
        batchWaitMs: flags.batchWaitMs,
        maxQueue: flags.maxQueue,
        maxTextChars: flags.maxTextChars,
        maxBatchTexts: flags.maxBatchTexts,
        maxBodyBytes: flags.maxBodyBytes,
        watchIntervalMs: flags.watch ? flags.watchIntervalMs : 0,
        requestTimeoutMs: flags.requestTimeout,
        headersTimeoutMs: flags.headersTimeout,
        maxConnections: flags.maxConnections,
        log,
      });
      const { identity } = server.holder.current;
      log(`serving ${identity.name} ${identity.version} (${identity.fingerprint.slice(0, 12)}) at ${server.url}`);
      if (flags.json) process.stdout.write(`${JSON.stringify({ url: server.url, model: identity, pid: process.pid })}\n`);

      process.on('SIGHUP', () => {
        log('SIGHUP: reloading the export');
        void server.reload();
      });
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          log(`${signal}: finishing the requests in flight, then exiting`);
          void server.close().then(resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      log('stopped');
    });
}
