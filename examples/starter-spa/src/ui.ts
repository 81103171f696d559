import { TfaApiError, TfaNetworkError } from '@tfa-service/client';

/** Small DOM helpers: the starter uses no framework, so its flow code stays readable in main.ts. */
export function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing from index.html`);
  return found as T;
}

export function show(id: string, visible = true): void {
  el(id).hidden = !visible;
}

export function setText(id: string, text: string): void {
  el(id).textContent = text;
}

export function input(form: HTMLFormElement, name: string): HTMLInputElement {
  return form.elements.namedItem(name) as HTMLInputElement;
}

const VIEWS = ['signed-out', 'code', 'select', 'key', 'setup', 'recovery-codes', 'signed-in'] as const;
export type View = (typeof VIEWS)[number];

export function view(name: View): void {
  for (const v of VIEWS) show(`view-${v}`, v === name);
}

/** A table cell with text (never HTML: names and user agents come from users). */
export function cell(text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

export function button(
  label: string,
  onClick: () => Promise<void>,
  data: Record<string, string> = {},
): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  Object.assign(b.dataset, data);
  b.addEventListener('click', () => void run(onClick));
  return b;
}

/** The answer of a call, or null when the service has that feature switched off (it answers 404). */
export async function unlessSwitchedOff<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof TfaApiError && err.status === 404) return null;
    throw err;
  }
}

/** Shows the envelope's messages (and its stable key, for tests and styling); anything else as its message. */
function showError(err: unknown): void {
  const li = document.createElement('li');
  if (err instanceof TfaApiError) {
    li.textContent = err.retryAfter ? `${err.message} (try again in ${err.retryAfter} s)` : err.message;
    if (err.code) li.dataset.code = err.code;
  } else if (err instanceof TfaNetworkError) {
    li.textContent = 'The service cannot be reached (or does not allow this page’s origin: CORS_ORIGINS).';
  } else {
    li.textContent = err instanceof Error ? err.message : String(err);
  }
  el('errors').replaceChildren(li);
  show('errors');
}

/** Runs one user action; its failure is shown, never thrown into the void. */
export async function run(action: () => Promise<void>): Promise<void> {
  show('errors', false);
  try {
    await action();
  } catch (err) {
    showError(err);
  }
}

export function onSubmit(id: string, action: (form: HTMLFormElement) => Promise<void>): void {
  const form = el<HTMLFormElement>(id);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void run(() => action(form));
  });
}

export function onClick(id: string, action: () => Promise<void>): void {
  el(id).addEventListener('click', () => void run(action));
}
