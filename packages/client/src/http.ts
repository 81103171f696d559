/**
 * The slice of the Fetch API the client uses, typed here so the package needs
 * neither the DOM nor Node's type definitions: browsers and Node 18+ both
 * provide a `fetch` that satisfies it.
 */
export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  credentials?: 'include' | 'same-origin' | 'omit';
}

export interface FetchResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: {
    get(name: string): string | null;
    /** Node (undici) has it; browsers hide Set-Cookie from scripts. */
    getSetCookie?(): string[];
  };
  text(): Promise<string>;
}

export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponse>;

export function defaultFetch(): FetchLike {
  const f = (globalThis as { fetch?: FetchLike }).fetch;
  if (typeof f !== 'function')
    throw new TypeError('No global fetch: pass options.fetch (Node 18+ and browsers have one).');
  return f.bind(globalThis);
}

/** True in a page (the browser keeps the cookies); false in Node, Deno, workers without a document. */
export function inBrowser(): boolean {
  return typeof (globalThis as { document?: unknown }).document !== 'undefined';
}
