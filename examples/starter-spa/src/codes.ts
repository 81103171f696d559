import {
  beginUnifiedSetup,
  confirmUnifiedSetup,
  removeUnifiedMethods,
  sendSignInCode,
  signInWithPasscode,
  unifiedMethods,
  unifiedSignInOptions,
  type SignInResult,
  type TfaClient,
  type UnifiedMethod,
  type UnifiedSetupChallenge,
} from '@tfa-service/client';
import { button, el, input, onSubmit, setText, show, unlessSwitchedOff } from './ui.js';

/**
 * Unified sign-in (the service's SECURITY_UNIFIED_SIGNIN=true): signing in with
 * a one-time code instead of the password, and the account's list of methods
 * that may sign in. Everything here stays hidden when the service has it off.
 */
const LABELS: Record<UnifiedMethod, string> = {
  password: 'Password',
  email: 'E-mail code',
  sms: 'SMS code',
  authenticator: 'Authenticator app',
};
const SEND_LABELS: Partial<Record<UnifiedMethod, string>> = { email: 'E-mail me a code', sms: 'Text me a code' };
const SENT: Partial<Record<UnifiedMethod, string>> = { email: 'We e-mailed you a code', sms: 'We texted you a code' };

let setup: UnifiedSetupChallenge | null = null;

function identity(): string {
  return input(el<HTMLFormElement>('code-sign-in-form'), 'identity').value.trim();
}

/**
 * The "Sign in with a code" form, shown when the service offers unified sign-in.
 * `after` continues as after a password: a code method in SECURITY_US_MFA_REQUIRED
 * (e-mail, by default) still leads to the second factor.
 */
export async function wireCodeSignIn(tfa: TfaClient, after: (result: SignInResult) => Promise<void>): Promise<void> {
  const options = await unlessSwitchedOff(unifiedSignInOptions(tfa));
  if (options === null) return;
  el('send-sign-in-code').replaceChildren(
    ...options.codeMethods.map((m) =>
      button(
        SEND_LABELS[m] ?? m,
        async () => {
          await sendSignInCode(tfa, identity(), m as 'email' | 'sms');
          setText('code-sign-in-hint', `${SENT[m] ?? 'We sent you a code'}: type it below.`);
        },
        { send: m },
      ),
    ),
  );
  setText(
    'code-sign-in-hint',
    `Type a code from one of your sign-in methods (${options.methods
      .filter((m) => m !== 'password')
      .map((m) => LABELS[m])
      .join(', ')}).`,
  );
  onSubmit('code-sign-in-form', async (form) => {
    await after(await signInWithPasscode(tfa, { identity: identity(), passcode: input(form, 'passcode').value }));
    form.reset();
  });
  show('code-sign-in');
}

function renderMethods(tfa: TfaClient, active: UnifiedMethod[], available: UnifiedMethod[]): void {
  el('us-active').replaceChildren(
    ...active.map((m) => {
      const li = document.createElement('li');
      li.dataset.method = m;
      li.textContent = LABELS[m];
      if (m !== 'password')
        li.append(
          ' ',
          button('Remove', () => removeMethod(tfa, m), { remove: m }),
        );
      return li;
    }),
  );
  const addable = available.filter((m): m is Exclude<UnifiedMethod, 'password'> => m !== 'password');
  el('us-add').replaceChildren(
    ...addable
      .filter((m) => !active.includes(m))
      .map((m) =>
        button(
          `Add ${LABELS[m]}`,
          async () => {
            if (m === 'sms') show('us-phone-form');
            else await begin(tfa, m);
          },
          { add: m },
        ),
      ),
  );
}

async function removeMethod(tfa: TfaClient, method: UnifiedMethod): Promise<void> {
  await removeUnifiedMethods(tfa, [method]);
  await showSignInMethods(tfa);
  setText('us-message', `${LABELS[method]} no longer signs you in.`);
}

async function begin(tfa: TfaClient, method: 'email' | 'sms' | 'authenticator', phone?: string): Promise<void> {
  setup = await beginUnifiedSetup(tfa, { method, phone });
  const qr = setup.authenticator;
  if (qr) {
    el<HTMLImageElement>('us-qr').src = qr.qrCode;
    setText('us-manual-key', qr.key);
  }
  show('us-authenticator', qr !== undefined);
  setText('us-setup-hint', qr ? 'Scan it, then type the code the app shows.' : `${SENT[method]}: type it here.`);
  show('us-phone-form', false);
  show('us-setup');
}

/** The account's sign-in methods: the password always; others added with a code, or removed. */
export async function showSignInMethods(tfa: TfaClient): Promise<void> {
  const methods = await unlessSwitchedOff(unifiedMethods(tfa));
  if (methods === null) throw new Error('This service has unified sign-in switched off (SECURITY_UNIFIED_SIGNIN).');
  setup = null;
  renderMethods(tfa, methods.active, methods.available);
  show('us-setup', false);
  show('us-phone-form', false);
  setText('us-message', '');
  show('sign-in-methods');
}

export function wireSignInMethods(tfa: TfaClient): void {
  onSubmit('us-phone-form', (form) => begin(tfa, 'sms', input(form, 'phone').value));
  onSubmit('us-setup-form', async (form) => {
    if (!setup) return;
    const { method } = await confirmUnifiedSetup(tfa, setup, input(form, 'code').value);
    form.reset();
    await showSignInMethods(tfa);
    setText('us-message', `${LABELS[method]} now signs you in.`);
  });
}
