import { browserKeys, deleteKey, listKeys, registerKey, type SecurityKey, type TfaClient } from '@tfa-service/client';
import { button, cell, el, input, onSubmit, setText, show, unlessSwitchedOff } from './ui.js';

function row(tfa: TfaClient, key: SecurityKey): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.name = key.name;
  const action = document.createElement('td');
  action.append(
    button(
      'Remove',
      async () => {
        render(tfa, await deleteKey(tfa, key.name));
        setText('key-message', `Security key "${key.name}" removed.`);
      },
      { remove: key.name },
    ),
  );
  tr.append(
    cell(key.name),
    cell(new Date(key.created).toLocaleString()),
    cell(key.lastuse === key.created ? 'never' : new Date(key.lastuse).toLocaleString()),
    action,
  );
  return tr;
}

function render(tfa: TfaClient, keys: SecurityKey[]): void {
  el('key-rows').replaceChildren(...keys.map((k) => row(tfa, k)));
  show('no-keys', keys.length === 0);
}

/**
 * The user's security keys, each with a Remove button, and a form that adds one
 * through the browser (navigator.credentials). Listing, adding and removing need
 * a fresh session, which a sign-in just made is.
 */
export async function showKeys(tfa: TfaClient): Promise<void> {
  const keys = await unlessSwitchedOff(listKeys(tfa));
  if (keys === null) throw new Error('This service has security keys switched off (SECURITY_WEBAUTHN).');
  render(tfa, keys);
  setText('key-message', '');
  show('keys');
}

export function wireKeyForm(tfa: TfaClient): void {
  onSubmit('key-form', async (form) => {
    const name = input(form, 'name').value.trim();
    await registerKey(tfa, name, browserKeys());
    form.reset();
    render(tfa, await listKeys(tfa));
    setText('key-message', `Security key "${name}" added.`);
  });
}
