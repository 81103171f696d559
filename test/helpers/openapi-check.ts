/**
 * checkResponse: does one HTTP answer match what openapi.yaml documents for
 * its path, method and status? Fastify's response schemas only serialize
 * (they strip and coerce, never reject), so this is the check that keeps the
 * service and the document in step.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import { asObject, findPath, loadDocument, resolve, escapePointer } from './openapi-document.js';
import type { HttpMethod, JsonObject, ResolvedResponse } from './openapi-document.js';

export interface ResponseSample {
  method: string;
  /** As requested; the query string is ignored. */
  url: string;
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  /**
   * The raw payload (string or Buffer, parsed here when the media type is
   * JSON) or an already parsed value. `undefined` means "not available" (a
   * stream, a HEAD request): the body is then not checked.
   */
  body?: unknown;
}

/** A response that openapi.yaml does not allow. The message says why. */
export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

const DOC_ID = 'openapi.yaml';
const validators = new Map<string, ValidateFunction>();
let ajv: Ajv2020 | undefined;

// ajv-formats is CommonJS: under NodeNext the default import is module.exports,
// whose `.default` is the plugin (both in its types and at run time).
const addFormats = formatsModule.default;

function compile(pointer: string): ValidateFunction {
  let validate = validators.get(pointer);
  if (validate) return validate;
  if (!ajv) {
    // strict:false: the document carries OpenAPI-only keywords (example, discriminator…).
    ajv = new Ajv2020({ strict: false, allErrors: true, formats: { password: true } });
    addFormats(ajv);
    ajv.addSchema(loadDocument().doc, DOC_ID);
  }
  validate = ajv.compile({ $ref: `${DOC_ID}#${pointer}` });
  validators.set(pointer, validate);
  return validate;
}

/** Throws a ContractViolation unless the sample is a documented response. */
export function checkResponse(sample: ResponseSample): void {
  const method = sample.method.toUpperCase() as HttpMethod;
  const where = `${method} ${sample.url} → ${sample.statusCode}`;
  const response = findResponse(method, sample.url, sample.statusCode, where);
  const problems = [
    ...checkHeaders(response, sample.headers),
    ...(method === 'HEAD' || sample.body === undefined ? [] : checkBody(response, sample)),
  ];
  if (problems.length > 0) throw new ContractViolation(`${where}:\n  ${problems.join('\n  ')}`);
}

function findResponse(method: HttpMethod, url: string, status: number, where: string): ResolvedResponse {
  const unmatched = asObject(loadDocument().doc['x-unmatched-responses'], '/x-unmatched-responses');
  const path = findPath(url);
  if (!path) {
    if (status === 404) return resolve('/x-unmatched-responses/unknownPath');
    throw new ContractViolation(`${where}: undocumented path (only a 404 may answer it)`);
  }
  // Automatic HEAD routes answer like their GET without a body.
  const operation = path.methods.get(method) ?? (method === 'HEAD' ? path.methods.get('GET') : undefined);
  if (!operation) {
    if (status === 405 && unmatched.unsupportedMethod) return resolve('/x-unmatched-responses/unsupportedMethod');
    throw new ContractViolation(
      `${where}: ${method} is not documented for ${path.template} (only a 405 may answer it)`,
    );
  }
  const responses = asObject(resolve(operation).object.responses, `${operation}/responses`);
  // `default` is honoured only if the document has one; it deliberately has none.
  const key = String(status) in responses ? String(status) : 'default' in responses ? 'default' : undefined;
  if (!key) {
    const documented = Object.keys(responses).join(', ');
    throw new ContractViolation(
      `${where}: status ${status} is not documented for ${method} ${path.template} (documented: ${documented})`,
    );
  }
  return resolve(`${operation}/responses/${key}`);
}

function checkHeaders(response: ResolvedResponse, headers: ResponseSample['headers']): string[] {
  const problems: string[] = [];
  const documented = response.object.headers === undefined ? {} : asObject(response.object.headers, response.pointer);
  for (const name of Object.keys(documented)) {
    const header = resolve(`${response.pointer}/headers/${escapePointer(name)}`);
    const raw = headerValue(headers, name);
    if (raw === undefined) {
      if (header.object.required === true) problems.push(`missing required header ${name}`);
      continue;
    }
    if (header.object.schema === undefined || name.toLowerCase() === 'set-cookie') continue;
    const schema = asObject(header.object.schema, header.pointer);
    // Headers are text on the wire; an integer schema describes its digits.
    const value = schema.type === 'integer' && /^\d+$/.test(raw) ? Number(raw) : raw;
    const validate = compile(`${header.pointer}/schema`);
    if (!validate(value)) problems.push(`header ${name}: ${JSON.stringify(raw)} ${formatErrors(validate.errors)}`);
  }
  return problems;
}

function checkBody(response: ResolvedResponse, sample: ResponseSample): string[] {
  const content =
    response.object.content === undefined ? undefined : asObject(response.object.content, response.pointer);
  const isEmpty =
    sample.body === '' || sample.body === null || (Buffer.isBuffer(sample.body) && sample.body.length === 0);
  if (!content) return isEmpty ? [] : ['a body was sent but none is documented'];
  const contentType = headerValue(sample.headers, 'content-type');
  const mediaType = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  if (!mediaType || !(mediaType in content)) {
    return [
      `content-type ${JSON.stringify(contentType)} is not documented (documented: ${Object.keys(content).join(', ')})`,
    ];
  }
  if (!isJson(mediaType)) return [];
  let body: unknown = sample.body;
  if (typeof sample.body === 'string' || Buffer.isBuffer(sample.body)) {
    const text = sample.body.toString();
    try {
      body = JSON.parse(text);
    } catch {
      return [`body is not valid JSON: ${truncate(text)}`];
    }
  }
  const problems: string[] = [];
  const meta = typeof body === 'object' && body !== null ? (body as JsonObject).meta : undefined;
  const code = typeof meta === 'object' && meta !== null ? (meta as JsonObject).code : undefined;
  if (code !== undefined && code !== sample.statusCode)
    problems.push(`meta.code ${String(code)} differs from the HTTP status`);
  const validate = compile(`${response.pointer}/content/${escapePointer(mediaType)}/schema`);
  if (!validate(body))
    problems.push(
      `body does not match the schema:\n    ${formatErrors(validate.errors, '\n    ')}\n  body: ${truncate(JSON.stringify(body))}`,
    );
  return problems;
}

function headerValue(headers: ResponseSample['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    return Array.isArray(value) ? value.join(', ') : String(value);
  }
  return undefined;
}

function isJson(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

function formatErrors(errors: ErrorObject[] | null | undefined, separator = '; '): string {
  // The oneOf/anyOf summary first: the branch errors after it explain it.
  const summaryFirst = [...(errors ?? [])].sort((a, b) => Number(isSummary(b)) - Number(isSummary(a)));
  return summaryFirst
    .map((e) => {
      const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
      const allowed = e.keyword === 'enum' || e.keyword === 'const' ? ` ${JSON.stringify(e.params)}` : '';
      return `${e.instancePath || '(root)'} ${e.message ?? e.keyword}${extra}${allowed}`;
    })
    .join(separator);
}

function isSummary(error: ErrorObject): boolean {
  return error.keyword === 'oneOf' || error.keyword === 'anyOf';
}

function truncate(text: string): string {
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
