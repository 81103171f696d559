import {
  Api,
  type LoginInfo,
  type LoginResult,
  type Me,
  type RecoveryCodes,
  type Rescue,
  type SetupResult,
  type UserResult,
  type UsSetupResult,
} from './api.js';
import { renderDevices } from './devices.js';
import { el, field, onClick, onSubmit, run, setText, show } from './dom.js';
import { registerKey, signInWithKey } from './keys.js';

/**
 * A sample single-page app on its own origin that talks to tfa-service only
 * through its JSON API. Each handler is one user action: call the API, then
 * show the state the answer puts the user in.
 */
const apiOrigin = document.querySelector<HTMLMetaElement>('meta[name="tfa-api"]')?.content ?? '';
const api = new Api(apiOrigin);

const RESCUE_LABELS: Record<string, string> = {
  recovery_code: 'Use a recovery code',
  email: 'E-mail me a code',
  help: 'Ask the help desk',
};

function view(name: 'signed-out' | 'second-factor' | 'signed-in'): void {
  for (const id of ['signed-out', 'second-factor', 'signed-in']) show(id, id === name);
}

function hidePanels(): void {
  for (const id of ['setup', 'recovery-codes', 'devices', 'rescue', 'recovery-form', 'key-message']) show(id, false);
}

async function signedOut(): Promise<void> {
  hidePanels();
  const info = await api.get<LoginInfo>('/login');
  if (info.user) return signedIn();
  setText('status', 'Signed out');
  view('signed-out');
}

async function signedIn(): Promise<void> {
  hidePanels();
  setText('notice', '');
  const me = await api.get<Me>('/me');
  const method = me.tf_primary_method ?? 'none';
  setText('status', `Signed in as ${me.user.email} (${me.authn_methods.join(' + ')}); second factor: ${method}`);
  view('signed-in');
}

async function afterFirstFactor(answer: LoginResult): Promise<void> {
  if (!answer.tf_required) return signedIn();
  hidePanels();
  // Two second factors (a code method and a key): this sample prefers the key.
  const result = 'tf_select' in answer ? await api.post<LoginResult>('/tf-select', { which: 'webauthn' }) : answer;
  if (!('tf_state' in result) || result.tf_state === 'setup_from_login')
    throw new Error('This account must set up a second factor first; this sample does not cover that.');
  setText('status', 'First factor accepted; second factor needed');
  const key = result.tf_method === 'webauthn';
  keySigninUrl = result.tf_signin_url ?? '/wan-signin';
  setText(
    'second-factor-hint',
    key
      ? 'Use your security key.'
      : result.tf_method === 'authenticator'
        ? 'Enter the code your authenticator app shows.'
        : `We sent a code by ${result.tf_method}.`,
  );
  show('use-key', key);
  show('code-form', !key);
  field(el<HTMLFormElement>('code-form'), 'code').value = '';
  view('second-factor');
}

/** Where the key's sign-in starts (`tf_signin_url` of the /login answer). */
let keySigninUrl = '/wan-signin';

onClick('use-key', async () => {
  await signInWithKey(api, keySigninUrl);
  await signedIn();
});

onSubmit('key-form', async (form) => {
  await registerKey(api, field(form, 'name').value);
  setText('key-message', `Security key "${field(form, 'name').value.trim()}" added.`);
  show('key-message');
});

function credentials(form: HTMLFormElement): { email: string; password: string } {
  return { email: field(form, 'email').value, password: field(form, 'password').value };
}

onSubmit('register-form', async (form) =>
  afterFirstFactor(await api.post<LoginResult>('/register', credentials(form))),
);

onSubmit('login-form', async (form) => {
  const remember = field(form, 'remember').checked;
  await afterFirstFactor(await api.post<LoginResult>('/login', { ...credentials(form), remember }));
});

// Unified sign-in (README "Unified sign-in"): an e-mailed code instead of the password. The same
// session must send the code and sign in with it; the answer is /login's (maybe a second factor).
onClick('us-send-code', async () => {
  const identity = field(el<HTMLFormElement>('us-form'), 'identity').value;
  await api.post('/us-signin/send-code', { identity, chosen_method: 'email' });
  setText('us-hint', 'We sent a code to your e-mail address.');
});

onSubmit('us-form', async (form) => {
  const body = { identity: field(form, 'identity').value, passcode: field(form, 'passcode').value.trim() };
  await afterFirstFactor(await api.post<LoginResult>('/us-signin', body));
});

onSubmit('code-form', async (form) => {
  await api.post<UserResult>('/tf-validate', { code: field(form, 'code').value.trim() });
  await signedIn();
});

onClick('rescue-button', async () => {
  const rescue = await api.get<Rescue>('/tf-rescue');
  const buttons = Object.keys(rescue.recovery_options).map((option) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.option = option;
    b.textContent = RESCUE_LABELS[option] ?? option;
    b.addEventListener('click', () => void run(() => chooseRescue(option)));
    return b;
  });
  el('rescue-options').replaceChildren(...buttons);
  setText('rescue-message', '');
  show('rescue');
});

async function chooseRescue(option: string): Promise<void> {
  const answer = await api.post<Rescue>('/tf-rescue', { help_setup: option });
  if (answer.tf_rescue_next) {
    await api.get(answer.tf_rescue_next);
    show('recovery-form');
    setText('rescue-message', 'Type one of your recovery codes.');
  } else {
    setText(
      'rescue-message',
      option === 'email' ? 'We e-mailed you a code: enter it above.' : 'The help desk has been told.',
    );
  }
}

onSubmit('recovery-form', async (form) => {
  await api.post<UserResult>('/mf-recovery', { code: field(form, 'code').value });
  await signedIn();
});

/** Where the setup form's code goes: the second factor's setup, or a unified sign-in method's (its state token). */
let usSetupState: string | null = null;

async function beginSetup(setup: 'authenticator' | 'email'): Promise<void> {
  hidePanels();
  usSetupState = null;
  const answer = await api.post<SetupResult>('/tf-setup', { setup });
  const authenticator = answer.tf_method === 'authenticator' && 'tf_authr_qrcode' in answer;
  if (authenticator) {
    el<HTMLImageElement>('qr').src = answer.tf_authr_qrcode;
    setText('manual-key', answer.tf_authr_key);
  }
  show('authenticator', authenticator);
  setText('setup-title', authenticator ? 'Set up an authenticator app' : 'Use e-mail codes');
  setText(
    'setup-hint',
    authenticator ? 'Scan the code, then type the code the app shows.' : 'We sent a code to your e-mail address.',
  );
  field(el<HTMLFormElement>('setup-form'), 'code').value = '';
  show('setup');
}

onClick('setup-authenticator', () => beginSetup('authenticator'));
onClick('setup-email', () => beginSetup('email'));

onClick('us-setup-email', async () => {
  hidePanels();
  const answer = await api.post<UsSetupResult>('/us-setup', { chosen_method: 'email' });
  usSetupState = answer.state ?? null;
  show('authenticator', false);
  setText('setup-title', 'Sign in with e-mailed codes');
  setText('setup-hint', 'We sent a code to your e-mail address.');
  field(el<HTMLFormElement>('setup-form'), 'code').value = '';
  show('setup');
});

onSubmit('setup-form', async (form) => {
  const code = field(form, 'code').value.trim();
  if (usSetupState) {
    await api.post(`/us-setup/${encodeURIComponent(usSetupState)}`, { passcode: code });
    usSetupState = null;
    await signedIn();
    setText('notice', 'You can now sign in with a code sent by e-mail.');
    return;
  }
  await api.post<UserResult>('/tf-validate', { code });
  await signedIn();
});

onClick('generate-codes', async () => {
  hidePanels();
  const { recovery_codes } = await api.post<RecoveryCodes>('/mf-recovery-codes');
  el('recovery-code-list').replaceChildren(
    ...recovery_codes.map((code) => {
      const li = document.createElement('li');
      li.textContent = code;
      return li;
    }),
  );
  show('recovery-codes');
});

onClick('show-devices', async () => {
  hidePanels();
  await renderDevices(api);
  show('devices');
});

onClick('sign-out', async () => {
  await api.post('/logout');
  await signedOut();
});

void run(signedOut);
