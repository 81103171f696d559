import {
  beginSetup,
  browserKeys,
  confirmSetup,
  createClient,
  currentUser,
  generateRecoveryCodes,
  me,
  recoveryCodesRemaining,
  register,
  rescue,
  rescueOptions,
  selectMethod,
  resendSetupCode,
  resendSignInCode,
  setupInfo,
  signIn,
  signInWithKey,
  signOut,
  submitCode,
  useRecoveryCode,
  type Credentials,
  type RescueOption,
  type SecondFactorChoice,
  type SecondFactorMethod,
  type SetupChallenge,
  type SignInResult,
} from '@tfa-service/client';
import { showSignInMethods, wireCodeSignIn, wireSignInMethods } from './codes.js';
import { showDevices } from './devices.js';
import { showKeys, wireKeyForm } from './keys.js';
import { button, el, input, onClick, onSubmit, run, setText, show, unlessSwitchedOff, view } from './ui.js';

/**
 * A starter single-page app for tfa-service: every screen is one state of the
 * sign-in, and every handler one call of @tfa-service/client. The service
 * lives on another origin (VITE_TFA_API), which must be in its CORS_ORIGINS.
 */
const tfa = createClient({ baseUrl: import.meta.env.VITE_TFA_API ?? 'http://127.0.0.1:3000' });

/** The sign-in waiting for its code: kept only to send a new code (the service sends one per password step). */
let pendingSignIn: Credentials | null = null;
let challenge: SetupChallenge | null = null;

const METHOD_LABELS: Record<SecondFactorChoice, string> = {
  authenticator: 'Authenticator app',
  email: 'E-mail',
  sms: 'SMS',
  webauthn: 'Security key',
};
const RESCUE_LABELS: Record<RescueOption, string> = {
  recovery_code: 'Use a recovery code',
  email: 'E-mail me a code',
  help: 'Ask the help desk',
};

async function showSignedIn(): Promise<void> {
  pendingSignIn = null;
  challenge = null;
  const who = await me(tfa);
  const method = who.tf_primary_method ?? 'none';
  setText('status', `Signed in as ${who.user.email} (${who.authn_methods.join(' + ')}); second factor: ${method}`);
  show('devices', false);
  show('keys', false);
  show('sign-in-methods', false);
  view('signed-in');
}

function showSignedOut(): void {
  pendingSignIn = null;
  challenge = null;
  setText('status', 'Signed out');
  view('signed-out');
}

function showCodeEntry(method: SecondFactorMethod): void {
  setText('status', 'Password accepted; second factor needed');
  setText(
    'code-hint',
    method === 'authenticator'
      ? 'Enter the code your authenticator app shows.'
      : `We sent a code by ${METHOD_LABELS[method]}.`,
  );
  // A new code is sent by repeating the password step: not after a sign-in by code.
  show('resend-sign-in-code', method !== 'authenticator' && pendingSignIn !== null);
  placeRescue('view-code');
  input(el<HTMLFormElement>('code-form'), 'code').value = '';
  view('code');
}

function showKeyEntry(): void {
  setText('status', 'Password accepted; second factor needed');
  placeRescue('view-key');
  view('key');
}

/** The user holds a code method and a security key: one button each (POST /tf-select). */
function showSelect(methods: SecondFactorChoice[], credentials: Credentials | null): void {
  setText('status', 'Password accepted; choose a second factor');
  el('select-methods').replaceChildren(
    ...methods.map((m) =>
      button(METHOD_LABELS[m], async () => afterPassword(await selectMethod(tfa, m), credentials), { which: m }),
    ),
  );
  view('select');
}

/** One rescue block ("Can't use this method?"), moved under the code or the key view, closed. */
function placeRescue(viewId: 'view-code' | 'view-key'): void {
  el(viewId).append(el('rescue-block'));
  show('rescue', false);
}

function showSetup(methods: SecondFactorMethod[], intro: string): void {
  challenge = null;
  setText('setup-intro', intro);
  el('setup-methods').replaceChildren(
    ...methods.map((m) =>
      button(METHOD_LABELS[m], async () => (m === 'sms' ? show('phone-form') : startSetup(m)), { method: m }),
    ),
  );
  show('phone-form', false);
  show('setup-challenge', false);
  view('setup');
}

/** After the first factor: the password, or a code of unified sign-in (`credentials` null). */
async function afterPassword(result: SignInResult, credentials: Credentials | null): Promise<void> {
  if (result.status === 'signed-in') return showSignedIn();
  if (result.status === 'code-required') {
    pendingSignIn = credentials;
    return showCodeEntry(result.method);
  }
  if (result.status === 'select-required') return showSelect(result.methods, credentials);
  if (result.status === 'key-required') return showKeyEntry();
  setText('status', 'Password accepted; a second factor must be set up');
  showSetup(result.methods, 'Your account needs a second factor before you can continue. Choose one:');
}

function credentialsOf(form: HTMLFormElement): Credentials {
  const remember = input(form, 'remember')?.checked ?? false;
  return { email: input(form, 'email').value, password: input(form, 'password').value, remember };
}

onSubmit('sign-in-form', async (form) => {
  const credentials = credentialsOf(form);
  await afterPassword(await signIn(tfa, credentials), credentials);
});

onSubmit('register-form', async (form) => {
  const credentials = credentialsOf(form);
  await afterPassword(await register(tfa, credentials), credentials);
});

onSubmit('code-form', async (form) => {
  await submitCode(tfa, input(form, 'code').value);
  await showSignedIn();
});

onClick('use-key', async () => {
  await signInWithKey(tfa, browserKeys());
  await showSignedIn();
});

onClick('resend-sign-in-code', async () => {
  if (!pendingSignIn) return showSignedOut();
  await resendSignInCode(tfa, pendingSignIn);
  setText('code-hint', 'We sent a new code.');
});

onClick('rescue-start', async () => {
  const options = await rescueOptions(tfa);
  el('rescue-options').replaceChildren(
    ...options.map((o) => button(RESCUE_LABELS[o], () => chooseRescue(o), { option: o })),
  );
  setText('rescue-message', '');
  show('recovery-form', false);
  show('rescue');
});

async function chooseRescue(option: RescueOption): Promise<void> {
  const next = await rescue(tfa, option);
  show('recovery-form', next === 'enter-recovery-code');
  const messages = {
    'enter-recovery-code': 'Type one of your recovery codes.',
    'enter-emailed-code': 'We e-mailed you a code: enter it above.',
    'help-desk-notified': 'The help desk has been told and will contact you.',
  };
  setText('rescue-message', messages[next]);
}

onSubmit('recovery-form', async (form) => {
  await useRecoveryCode(tfa, input(form, 'code').value);
  await showSignedIn();
});

async function startSetup(method: SecondFactorMethod, phone?: string): Promise<void> {
  showChallenge(await beginSetup(tfa, { method, phone }));
}

function showChallenge(next: SetupChallenge): void {
  challenge = next;
  const qr = next.authenticator;
  if (qr) {
    el<HTMLImageElement>('qr').src = qr.qrCode;
    setText('manual-key', qr.key);
  }
  show('authenticator', qr !== undefined);
  setText(
    'setup-hint',
    qr ? 'Then type the code the app shows.' : `We sent a code by ${METHOD_LABELS[next.method]}: type it here.`,
  );
  show('resend-setup-code', !qr);
  input(el<HTMLFormElement>('setup-form'), 'code').value = '';
  show('phone-form', false);
  show('setup-challenge');
}

onSubmit('phone-form', (form) => startSetup('sms', input(form, 'phone').value));

onClick('resend-setup-code', async () => {
  if (challenge) showChallenge(await resendSetupCode(tfa, challenge));
});

onSubmit('setup-form', async (form) => {
  if (!challenge) return;
  await confirmSetup(tfa, challenge, input(form, 'code').value);
  challenge = null;
  // Right after a first setup the user has no recovery codes: make and show them now.
  if ((await countRecoveryCodes()) === 0) return showRecoveryCodes();
  await showSignedIn();
});

/** How many unused recovery codes are left; null when the service has them switched off (404). */
function countRecoveryCodes(): Promise<number | null> {
  return unlessSwitchedOff(recoveryCodesRemaining(tfa));
}

async function showRecoveryCodes(): Promise<void> {
  const codes = await generateRecoveryCodes(tfa);
  el('recovery-code-list').replaceChildren(
    ...codes.map((code) => {
      const li = document.createElement('li');
      li.textContent = code;
      return li;
    }),
  );
  setText('status', 'Second factor set up');
  view('recovery-codes');
}

onClick('recovery-codes-saved', showSignedIn);
onClick('new-recovery-codes', showRecoveryCodes);
onClick('show-devices', () => showDevices(tfa));
onClick('show-keys', () => showKeys(tfa));
wireKeyForm(tfa);
onClick('show-sign-in-methods', () => showSignInMethods(tfa));
wireSignInMethods(tfa);

onClick('change-setup', async () => {
  const info = await setupInfo(tfa);
  const methods = info.tf_available_methods.filter((m): m is SecondFactorMethod => m !== 'disable');
  showSetup(methods, `Your second factor is ${info.tf_primary_method ?? 'not set up'}. Choose a new one:`);
});

onClick('sign-out', async () => {
  await signOut(tfa);
  showSignedOut();
});

void run(async () => {
  await ((await currentUser(tfa)) ? showSignedIn() : showSignedOut());
  await wireCodeSignIn(tfa, (result) => afterPassword(result, null));
});
