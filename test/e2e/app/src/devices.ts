import type { Api, Devices } from './api.js';
import { el, run, show } from './dom.js';

type Device = Devices['devices'][number];

function cell(text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

function browserName(userAgent: string | null): string {
  if (!userAgent) return 'Unknown browser';
  return /(?:HeadlessChrome|Chrome|Firefox|Edg|Safari)\/\d+/.exec(userAgent)?.[0] ?? userAgent.slice(0, 40);
}

function row(api: Api, d: Device): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.deviceId = d.id;
  const revoke = document.createElement('button');
  revoke.type = 'button';
  revoke.textContent = 'Revoke';
  // Revoking needs a fresh sign-in (SPEC §4.6) and, like every change, the CSRF token.
  revoke.addEventListener(
    'click',
    () => void run(async () => fill(api, await api.delete<Devices>(`/tf-devices/${encodeURIComponent(d.id)}`))),
  );
  const name = `${browserName(d.user_agent)}${d.current ? ' (this device)' : ''}`;
  const actions = document.createElement('td');
  actions.append(revoke);
  tr.append(cell(name), cell(day(d.created_at)), cell(day(d.expires_at)), actions);
  return tr;
}

function fill(api: Api, answer: Devices): void {
  el('device-rows').replaceChildren(...answer.devices.map((d) => row(api, d)));
  show('no-devices', answer.devices.length === 0);
}

/** GET /tf-devices, one row per remembered device, each with a Revoke button. */
export async function renderDevices(api: Api): Promise<void> {
  fill(api, await api.get<Devices>('/tf-devices'));
}
