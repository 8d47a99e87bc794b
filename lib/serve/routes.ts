import type { IncomingMessage, ServerResponse } from 'node:http';
import { openApiDocument, parsePredictRequest, predictRequestSchemas, type RequestLimits } from './api-schema.js';
import { QueueFullError, type MicroBatcher } from './batcher.js';
import { HttpError, parseJsonBody, readBody, requireJson, sendBody, sendJson } from './http-io.js';
import type { ServeMetrics } from './metrics.js';
import type { ModelHolder } from './model-holder.js';
import type { ModelIdentity, Prediction } from './serving-model.js';
import { indexHtml } from './web/page.js';
import { compiledModule, tfjsBundle, tokenizersBundle, type Asset } from './web-assets.js';

export type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** A prediction with the model that computed it. */
export interface Scored extends Prediction {
  model: ModelIdentity;
}

export interface RouteContext {
  limits: RequestLimits;
  holder: ModelHolder;
  batcher: MicroBatcher<string, Scored>;
  metrics: ServeMetrics;
  startedAt: number;
  isShuttingDown: () => boolean;
  url: () => string;
}

/** A matched route, with the name it is counted under in the metrics. */
export interface Resolved {
  name: string;
  route: Route;
}

function sendAsset(res: ServerResponse, asset: Asset): void {
  sendBody(res, 200, asset.contentType, asset.body, { 'cache-control': 'no-cache' });
}

function predictRoute(context: RouteContext): Route {
  const schemas = predictRequestSchemas(context.limits);
  return async (req, res) => {
    if (context.isShuttingDown()) {
      throw new HttpError(503, 'shutting_down', 'the server is shutting down', { 'retry-after': '1', connection: 'close' });
    }
    requireJson(req);
    const parsed = parsePredictRequest(schemas, parseJsonBody(await readBody(req, context.limits.maxBodyBytes)));
    if (!parsed.ok) throw new HttpError(400, 'invalid_request', parsed.message);
    const request = parsed.request;
    const texts = 'text' in request ? [request.text] : request.texts;
    let scored: Scored[];
    try {
      scored = await context.batcher.submit(texts);
    } catch (error) {
      if (error instanceof QueueFullError) throw new HttpError(503, 'queue_full', `${error.message}; retry shortly`, { 'retry-after': '1' });
      throw error;
    }
    const model = scored[0]!.model;
    const predictions = scored.map(({ label, probabilities }, i) => ({ text: texts[i]!, label, probabilities }));
    sendJson(res, 200, 'text' in request ? { ...predictions[0]!, model } : { predictions, model });
  };
}

/** The rest of a path after `from`, percent-decoded; malformed encoding (`%E0%A4%A`) is the client's error. */
function decodePathPart(pathname: string, from: number): string {
  try {
    return decodeURIComponent(pathname.slice(from));
  } catch {
    throw new HttpError(400, 'invalid_path', `${pathname} is not valid percent-encoded UTF-8`);
  }
}

/** The route table: fixed paths by method, plus /model/<file> and /static/lib/<module>. */
export function createRouter(context: RouteContext): (pathname: string, method: string) => Resolved {
  const { holder, batcher, metrics, limits } = context;
  const routes: Record<string, Partial<Record<string, Route>>> = {
    '/predict': { POST: predictRoute(context) },
    '/health': {
      GET: (_req, res) =>
        sendJson(res, 200, {
          status: 'ok',
          model: holder.current.identity,
          queue_depth: batcher.depth,
          uptime_s: Math.round((performance.now() - context.startedAt) / 1000),
          last_reload_error: holder.lastReloadError,
        }),
    },
    '/metadata': {
      GET: (_req, res) => {
        const { bundle, identity } = holder.current;
        sendJson(res, 200, {
          model: identity,
          labels: bundle.labels,
          preprocessing: bundle.preprocessing,
          metadata: bundle.metadata,
          model_card: bundle.modelCard,
          export_dir: bundle.dir,
          runtime: bundle.runtime,
          variant: bundle.variant,
          loaded_at: holder.loadedAt,
          limits: { max_text_chars: limits.maxTextChars, max_batch_texts: limits.maxBatchTexts, max_body_bytes: limits.maxBodyBytes },
        });
      },
    },
    '/metrics': { GET: async (_req, res) => sendBody(res, 200, metrics.registry.contentType, await metrics.registry.metrics()) },
    '/openapi.json': { GET: (_req, res) => sendJson(res, 200, openApiDocument(limits, context.url())) },
    '/': { GET: (_req, res) => sendBody(res, 200, 'text/html; charset=utf-8', indexHtml) },
    '/vendor/tf.min.js': { GET: async (_req, res) => sendAsset(res, await tfjsBundle()) },
    '/vendor/tokenizers.mjs': { GET: async (_req, res) => sendAsset(res, await tokenizersBundle()) },
  };

  // The files of the model being served, from memory, for the in-browser prediction.
  const modelFile = (name: string): Route => (_req, res) => {
    const bytes = holder.current.bundle.files.get(name);
    if (!bytes) throw new HttpError(404, 'not_found', `/model/${name} is not part of the export`);
    const type = name.endsWith('.json') ? 'application/json; charset=utf-8' : 'application/octet-stream';
    sendBody(res, 200, type, bytes, { 'cache-control': 'no-cache' });
  };

  return (pathname, method) => {
    if (method === 'GET' && pathname.startsWith('/static/lib/')) {
      const relative = pathname.slice('/static/lib/'.length);
      return { name: '/static', route: async (_req, res) => sendAsset(res, await compiledModule(relative)) };
    }
    if (method === 'GET' && pathname.startsWith('/model/')) {
      return { name: '/model', route: modelFile(decodePathPart(pathname, '/model/'.length)) };
    }
    const byMethod = routes[pathname];
    if (!byMethod) throw new HttpError(404, 'not_found', `no route ${pathname}`);
    const route = byMethod[method];
    if (!route) {
      const allowed = Object.keys(byMethod).join(', ');
      throw new HttpError(405, 'method_not_allowed', `${pathname} accepts ${allowed}`, { allow: allowed });
    }
    return { name: pathname, route };
  };
}
