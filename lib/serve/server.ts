import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { KdError } from '../errors.js';
import type { RequestLimits } from './api-schema.js';
import { MicroBatcher } from './batcher.js';
import type { Runtime, Variant } from './export-bundle.js';
import { HttpError, requestTimedOut, sendError } from './http-io.js';
import { ServeMetrics } from './metrics.js';
import { loadExport, ModelHolder, type ReloadResult } from './model-holder.js';
import { createRouter, type Scored } from './routes.js';
import type { ModelIdentity } from './serving-model.js';

export interface ServeOptions extends RequestLimits {
  modelDir: string;
  /** Serve a quantized variant of the export instead of its float32 model. */
  variant: Variant | null;
  /** Run the model with tfjs or onnxruntime-node. */
  runtime: Runtime;
  host: string;
  port: number;
  /** Most texts in one model call. */
  maxBatch: number;
  /** Longest wait of a request for others to share its model call. */
  batchWaitMs: number;
  /** Most texts waiting for the model before requests get 503. */
  maxQueue: number;
  /** Poll the export for changes and reload (0 = no watching). */
  watchIntervalMs: number;
  /** How long the export must stay unchanged before a watched change is loaded. */
  watchSettleMs: number;
  /** Longest wait for requests in flight on shutdown before connections are cut. */
  shutdownGraceMs: number;
  /** Longest time a client may take to send a whole request (headers and body); then 408 and the connection is closed. */
  requestTimeoutMs: number;
  /** Longest time a client may take to send a request's headers (at most requestTimeoutMs). */
  headersTimeoutMs: number;
  /** Most open connections; a connection beyond it is closed at once, so a flood cannot exhaust file descriptors. */
  maxConnections: number;
  log: (line: string) => void;
}

export const DEFAULT_SERVE_OPTIONS: Omit<ServeOptions, 'log'> = {
  modelDir: 'artifacts/export',
  variant: null,
  runtime: 'tfjs',
  host: '127.0.0.1',
  port: 5000,
  maxBatch: 64,
  batchWaitMs: 1,
  maxQueue: 1024,
  maxTextChars: 5000,
  maxBatchTexts: 64,
  maxBodyBytes: 256 * 1024,
  watchIntervalMs: 1000,
  watchSettleMs: 500,
  shutdownGraceMs: 10_000,
  // Node's defaults (300 s for a request, 60 s for its headers) let a slow client hold a
  // connection and up to --max-body-bytes of memory for minutes; our requests are small JSON.
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  // Below the usual soft limit of 1024 file descriptors (ulimit -n), with room for the model's
  // files and the process's own: a flood is refused connection by connection instead of EMFILE.
  maxConnections: 512,
};

export interface RunningServer {
  url: string;
  /** The node:http server (its timeouts and connection cap are set from the options). */
  http: Server;
  holder: ModelHolder;
  metrics: ServeMetrics;
  reload(): Promise<ReloadResult>;
  /** Stops accepting, answers the requests in flight, then frees the model. */
  close(): Promise<void>;
}

/** Loads the export (refusing a broken one with a KdError) and starts answering on host:port. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const metrics = new ServeMetrics();
  const started = performance.now();
  const holder = new ModelHolder(options.modelDir, options.variant, options.runtime, await loadExport(options.modelDir, options.variant, options.runtime), (result) => {
    if (result.ok) {
      metrics.reloads.inc({ result: 'ok' });
      metrics.setModel(result.model.identity);
      options.log(`reloaded ${describe(result.model.identity)} from ${result.model.bundle.dir}`);
    } else {
      metrics.reloads.inc({ result: 'refused' });
      options.log(`reload refused, still serving ${describe(holder.current.identity)}: ${result.error.message}`);
    }
  });
  metrics.setModel(holder.current.identity);

  // Every text of one batch is scored by the same model, which the answer names.
  const batcher = new MicroBatcher<string, Scored>(
    (texts) => holder.use(async (model) => (await model.predict(texts)).map((p) => ({ ...p, model: model.identity }))),
    { maxBatch: options.maxBatch, maxWaitMs: options.batchWaitMs, maxQueue: options.maxQueue, onBatch: (size) => metrics.batchSize.observe(size) },
  );
  metrics.queueDepthSource = () => batcher.depth;

  let shuttingDown = false;
  let url = '';
  const router = createRouter({
    limits: options,
    holder,
    batcher,
    metrics,
    startedAt: started,
    isShuttingDown: () => shuttingDown,
    url: () => url,
  });

  let inFlight = 0;
  let onIdle: (() => void) | undefined;

  const handler: RequestListener = async (req, res) => {
    const start = performance.now();
    inFlight += 1;
    if (shuttingDown) res.setHeader('connection', 'close');
    let routeName = 'unknown';
    // 'close' also fires when the client went away before the answer was complete.
    res.on('close', () => {
      // A request cut off by --request-timeout got Node's own 408, not our (unsent) answer.
      const status = !res.headersSent && requestTimedOut(req) ? 408 : res.statusCode;
      metrics.requests.inc({ route: routeName, status: String(status) });
      metrics.latency.observe({ route: routeName }, (performance.now() - start) / 1000);
      inFlight -= 1;
      if (inFlight === 0) onIdle?.();
    });
    try {
      const { route, name } = router(requestPath(req.url), req.method ?? 'GET');
      routeName = name;
      await route(req, res);
    } catch (error) {
      const failure = error instanceof HttpError ? error : new HttpError(500, 'internal', 'internal error');
      if (!(error instanceof HttpError)) options.log(`internal error on ${req.method} ${req.url}: ${(error as Error).stack ?? String(error)}`);
      metrics.errors.inc({ route: routeName, code: failure.code });
      if (!res.headersSent) sendError(res, failure);
      else res.destroy();
    }
  };
  const server = createServer(
    {
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: options.headersTimeoutMs,
      // Node looks for expired requests every 30 s by default, which would let a slow client
      // outlive a short timeout by that much; a tenth of the shorter timeout, 50 ms to 1 s, is cheap.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(options.headersTimeoutMs / 10))),
    },
    handler,
  );
  server.keepAliveTimeout = 5_000;
  server.maxConnections = options.maxConnections;
  let lastDropLog = 0;
  server.on('drop', () => {
    metrics.refusedConnections.inc();
    // One line a second at most: a flood must not turn into a flood of log lines.
    if (performance.now() - lastDropLog < 1000) return;
    lastDropLog = performance.now();
    options.log(`refused a connection: ${options.maxConnections} connections are open (--max-connections)`);
  });

  await new Promise<void>((resolveListen, reject) => {
    const refuse = (error: NodeJS.ErrnoException): void => {
      void holder.close();
      reject(new KdError(`serve: cannot listen on ${options.host}:${options.port}: ${error.code === 'EADDRINUSE' ? 'the port is in use (pick another with --port)' : error.message}`));
    };
    server.once('error', refuse);
    server.listen(options.port, options.host, () => {
      // This listener is about listen() only: left attached, a later error (EMFILE when a
      // connection cannot be accepted) would free the model and every /predict would fail.
      server.off('error', refuse);
      resolveListen();
    });
  });
  // Node keeps listening after such an error; without a listener it would crash the process.
  server.on('error', (error: NodeJS.ErrnoException) => options.log(`server error (still serving): ${error.message}`));
  const address = server.address() as AddressInfo;
  url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  if (options.watchIntervalMs > 0) holder.watch(options.watchIntervalMs, options.watchSettleMs);

  const close = async (): Promise<void> => {
    shuttingDown = true;
    const closed = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    server.closeIdleConnections();
    const idle = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolveIdle) => (onIdle = resolveIdle));
    const grace = new Promise<void>((resolveGrace) => setTimeout(resolveGrace, options.shutdownGraceMs).unref());
    await Promise.race([Promise.all([idle, batcher.drained()]), grace]);
    server.closeAllConnections();
    await closed;
    await holder.close();
  };

  return { url, http: server, holder, metrics, reload: () => holder.reload(), close };
}

/** The path of a request target; a target that is no URL path (`//`, `//a b`) is a 400, not a crash. */
function requestPath(target: string | undefined): string {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    throw new HttpError(400, 'invalid_path', `${JSON.stringify(target)} is not a valid request path`);
  }
}

function describe(identity: ModelIdentity): string {
  return `${identity.name} ${identity.version} (${identity.fingerprint.slice(0, 12)})`;
}
