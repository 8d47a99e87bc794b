import { z } from 'zod';
import { formatZodError } from '../validation.js';
import { RUNTIMES, VARIANTS } from './export-bundle.js';

/** Bounds on what one request may ask for; beyond them the answer is a 4xx, never a crash. */
export interface RequestLimits {
  maxTextChars: number;
  maxBatchTexts: number;
  maxBodyBytes: number;
}

function textSchema(limits: RequestLimits) {
  return z
    .string()
    .max(limits.maxTextChars, `must be at most ${limits.maxTextChars} characters`)
    .refine((text) => text.trim() !== '', 'must not be empty');
}

export function predictRequestSchemas(limits: RequestLimits) {
  const single = z.strictObject({ text: textSchema(limits).describe('One text to classify') });
  const batch = z.strictObject({
    texts: z
      .array(textSchema(limits))
      .min(1, 'must hold at least one text')
      .max(limits.maxBatchTexts, `must hold at most ${limits.maxBatchTexts} texts`)
      .describe('Several texts, answered in the same order'),
  });
  return { single, batch, either: z.union([single, batch]) };
}

export type PredictRequest = { text: string } | { texts: string[] };

/**
 * Validates a parsed JSON body as a predict request. Returns the request or one message naming
 * the key at fault (`body: texts[2]: must not be empty`). A body holding `texts` is judged as a
 * batch, anything else as a single text, so the message is about the form the caller meant.
 */
export function parsePredictRequest(
  schemas: ReturnType<typeof predictRequestSchemas>,
  body: unknown,
): { ok: true; request: PredictRequest } | { ok: false; message: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, message: 'body: expected a JSON object such as {"text": "…"} or {"texts": ["…"]}' };
  }
  const schema = 'texts' in body ? schemas.batch : schemas.single;
  const result = schema.safeParse(body);
  return result.success ? { ok: true, request: result.data } : { ok: false, message: formatZodError(result.error, 'body') };
}

const identitySchema = z.object({ name: z.string(), version: z.string(), fingerprint: z.string() });
const probabilitiesSchema = z.record(z.string(), z.number()).describe('Label → probability (softmax of the logits)');
const predictionSchema = z.object({ text: z.string(), label: z.string(), probabilities: probabilitiesSchema });
const singleResponseSchema = predictionSchema.extend({ model: identitySchema });
const batchResponseSchema = z.object({ predictions: z.array(predictionSchema), model: identitySchema });
const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
const healthSchema = z.object({
  status: z.literal('ok'),
  model: identitySchema,
  queue_depth: z.number().int(),
  uptime_s: z.number(),
  last_reload_error: z.object({ message: z.string(), at: z.string() }).nullable(),
});
const metadataResponseSchema = z.object({
  model: identitySchema,
  labels: z.array(z.string()),
  preprocessing: z.object({ tokenizer: z.enum(['words', 'pieces']), lowercase: z.boolean(), strip_accents: z.boolean(), max_len: z.number().int() }),
  metadata: z.record(z.string(), z.unknown()).describe('metadata.json of the export: export time, metrics, …'),
  model_card: z.string().nullable().describe('model-card.md of the export (Markdown)'),
  export_dir: z.string(),
  runtime: z.enum(RUNTIMES).describe('what runs the model: tfjs, or onnx (onnxruntime-node)'),
  variant: z.enum(VARIANTS).nullable().describe('the quantized variant served (tfjs: float16, uint8; onnx: int8), or null for float32'),
  loaded_at: z.string(),
  limits: z.object({ max_text_chars: z.number(), max_batch_texts: z.number(), max_body_bytes: z.number() }),
});

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

const json = (schema: z.ZodType) => ({ 'application/json': { schema: jsonSchema(schema) } });
const errorResponse = (description: string) => ({ description, content: json(errorSchema) });

/** The OpenAPI 3.1 document served at /openapi.json, generated from the schemas the server uses. */
export function openApiDocument(limits: RequestLimits, serverUrl: string): Record<string, unknown> {
  const { either } = predictRequestSchemas(limits);
  return {
    openapi: '3.1.0',
    info: {
      title: 'kd-pipeline serve',
      version: '1',
      description: 'Text classification with the distilled student exported by kd-pipeline.',
    },
    servers: [{ url: serverUrl }],
    paths: {
      '/predict': {
        post: {
          summary: 'Classify one text or a batch of texts',
          requestBody: { required: true, content: json(either) },
          responses: {
            '200': {
              description: 'Label and probabilities: one object for "text", "predictions" for "texts"',
              content: json(z.union([singleResponseSchema, batchResponseSchema])),
            },
            '400': errorResponse('Malformed JSON, wrong types, empty or too long text, too many texts'),
            '413': errorResponse(`Body over ${limits.maxBodyBytes} bytes`),
            '415': errorResponse('Content-Type is not application/json'),
            '503': {
              ...errorResponse('The prediction queue is full or the server is shutting down; retry after Retry-After seconds'),
              headers: { 'Retry-After': { schema: { type: 'integer' } } },
            },
          },
        },
      },
      '/health': { get: { summary: 'Liveness and the model being served', responses: { '200': { description: 'OK', content: json(healthSchema) } } } },
      '/metadata': { get: { summary: 'Model card, metrics, labels and export time of the model being served', responses: { '200': { description: 'OK', content: json(metadataResponseSchema) } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
      '/': { get: { summary: 'Web page: type a text, see the prediction from the server or from the model running in the browser', responses: { '200': { description: 'HTML' } } } },
    },
  };
}
