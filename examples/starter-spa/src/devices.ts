import { forgetDevice, listDevices, type Device, type TfaClient } from '@tfa-service/client';
import { button, cell, el, show } from './ui.js';

function row(tfa: TfaClient, device: Device): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.id = device.id;
  const name = (device.user_agent ?? 'Unknown browser').slice(0, 60) + (device.current ? ' (this device)' : '');
  const action = document.createElement('td');
  action.append(button('Forget', async () => render(tfa, await forgetDevice(tfa, device.id)), { forget: device.id }));
  tr.append(
    cell(name),
    cell(new Date(device.created_at).toLocaleString()),
    cell(new Date(device.expires_at).toLocaleDateString()),
    action,
  );
  return tr;
}

function render(tfa: TfaClient, devices: Device[]): void {
  el('device-rows').replaceChildren(...devices.map((d) => row(tfa, d)));
  show('no-devices', devices.length === 0);
}

/** The remembered devices (those that skip the second factor), each with a Forget button. */
export async function showDevices(tfa: TfaClient): Promise<void> {
  render(tfa, await listDevices(tfa));
  show('devices');
}
