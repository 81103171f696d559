/**
 * Loads openapi.yaml once and answers "which documented response covers this
 * request?". Kept apart from the checks so that route-drift tests can use the
 * operation list without compiling any schema.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const DOCUMENT_PATH = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

export type JsonObject = { [key: string]: unknown };

/** A response object with its `$ref`s followed, and where it lives in the document. */
export interface ResolvedResponse {
  pointer: string;
  object: JsonObject;
}

export interface DocumentedOperation {
  method: HttpMethod;
  /** The path template as written in the document, e.g. `/tf-setup/{tf_state_token}`. */
  path: string;
  /** Which listener serves it: the path item's `x-listener` (`operator`), else `api`. */
  listener: string;
}

interface IndexedPath {
  template: string;
  pattern: RegExp;
  /** Literal paths win over templates that also match (`/docs` before `/{x}`). */
  templated: boolean;
  methods: Map<HttpMethod, string>; // method → JSON pointer of the operation
  listener: string;
}

export interface LoadedDocument {
  doc: JsonObject;
  paths: IndexedPath[];
}

let cached: LoadedDocument | undefined;

export function loadDocument(): LoadedDocument {
  if (cached) return cached;
  const doc = parse(readFileSync(DOCUMENT_PATH, 'utf8')) as JsonObject;
  const paths: IndexedPath[] = [];
  for (const [template, item] of Object.entries(asObject(doc.paths, '/paths'))) {
    const methods = new Map<HttpMethod, string>();
    for (const method of METHODS) {
      if (asObject(item, template)[method.toLowerCase()] !== undefined) {
        methods.set(method, `/paths/${escapePointer(template)}/${method.toLowerCase()}`);
      }
    }
    const listener = asObject(item, template)['x-listener'];
    paths.push({
      template,
      pattern: templateToRegExp(template),
      templated: template.includes('{'),
      methods,
      listener: typeof listener === 'string' ? listener : 'api',
    });
  }
  paths.sort((a, b) => Number(a.templated) - Number(b.templated));
  cached = { doc, paths };
  return cached;
}

export function documentedOperations(): DocumentedOperation[] {
  return loadDocument().paths.flatMap((p) =>
    [...p.methods.keys()].map((method) => ({ method, path: p.template, listener: p.listener })),
  );
}

/** `/tf-devices/{id}` → `/tf-devices/:id`, the spelling Fastify routes use. */
export function toFastifyPath(template: string): string {
  return template.replace(/\{([^}]+)\}/g, ':$1');
}

/** The path item matching a request URL (query string and fragment ignored). */
export function findPath(url: string): IndexedPath | undefined {
  const path = url.split(/[?#]/, 1)[0] ?? '';
  return loadDocument().paths.find((p) => p.pattern.test(path));
}

/** Follows local `$ref`s (`#/components/...`) until a concrete object. */
export function resolve(pointer: string): ResolvedResponse {
  const { doc } = loadDocument();
  let current = pointer;
  for (let hops = 0; hops < 10; hops++) {
    const object = asObject(getPointer(doc, current), current);
    const ref = object.$ref;
    if (typeof ref !== 'string') return { pointer: current, object };
    if (!ref.startsWith('#/')) throw new Error(`openapi.yaml: only local $refs are supported, got ${ref}`);
    current = ref.slice(1);
  }
  throw new Error(`openapi.yaml: $ref chain too long at ${pointer}`);
}

export function getPointer(doc: unknown, pointer: string): unknown {
  let node: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = typeof node === 'object' && node !== null ? (node as JsonObject)[key] : undefined;
  }
  return node;
}

export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function asObject(value: unknown, where: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`openapi.yaml: expected an object at ${where}`);
  }
  return value as JsonObject;
}

function templateToRegExp(template: string): RegExp {
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}
