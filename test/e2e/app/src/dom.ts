import { ApiError } from './api.js';

/** Small DOM helpers: the page is static HTML; these show, hide and fill its parts. */
export function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing from index.html`);
  return found as T;
}

export function show(id: string, visible = true): void {
  el(id).hidden = !visible;
}

export function field(form: HTMLFormElement, name: string): HTMLInputElement {
  const input = form.elements.namedItem(name);
  if (!(input instanceof HTMLInputElement)) throw new Error(`${form.id} has no input ${name}`);
  return input;
}

export function setText(id: string, text: string): void {
  el(id).textContent = text;
}

/** The envelope's messages (response.errors), with the stable key kept for tests and styling. */
export function showErrors(err: unknown): void {
  const list = el('errors');
  const messages = err instanceof ApiError ? err.messages : [String(err)];
  list.replaceChildren(
    ...messages.map((m) => {
      const li = document.createElement('li');
      li.textContent = m;
      if (err instanceof ApiError && err.code) li.dataset.code = err.code;
      return li;
    }),
  );
  list.hidden = false;
}

export function clearErrors(): void {
  el('errors').replaceChildren();
  show('errors', false);
}

/** Runs one user action: clears old errors first, shows the new ones, and marks the page busy meanwhile. */
export async function run(action: () => Promise<void>): Promise<void> {
  clearErrors();
  document.body.dataset.busy = 'true';
  try {
    await action();
  } catch (err) {
    showErrors(err);
  } finally {
    delete document.body.dataset.busy;
  }
}

export function onSubmit(id: string, action: (form: HTMLFormElement) => Promise<void>): void {
  const form = el<HTMLFormElement>(id);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void run(() => action(form));
  });
}

export function onClick(id: string, action: () => Promise<void>): void {
  el(id).addEventListener('click', () => void run(action));
}
