import type { Api } from '../api.js';
import type { View } from '../app.js';
import { h } from '../dom.js';
import { describeError } from '../lib/errors.js';
import { LOGIN, REGISTER, type AuthPayload } from '../queries.js';
import type { Session } from '../session.js';

export interface SignInDeps {
  api: Api;
  /** A message to show above the form (e.g. the session expired). */
  notice: string | null;
  onSignedIn: (s: Session) => void;
}

/** Sign in, or create an account, in one form with two modes. */
export function signInView(deps: SignInDeps): View {
  let mode: 'signin' | 'signup' = 'signin';
  let busy = false;

  const username = h('input', {
    id: 'username',
    name: 'username',
    required: true,
    autocomplete: 'username',
    maxLength: 32,
    spellcheck: false,
    attrs: { autocapitalize: 'none' },
  });
  const displayName = h('input', { id: 'displayName', name: 'displayName', maxLength: 64 });
  const password = h('input', {
    id: 'password',
    name: 'password',
    type: 'password',
    required: true,
    autocomplete: 'current-password',
    maxLength: 256,
  });
  const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const submit = h('button', { type: 'submit', class: 'btn primary wide' }, 'Sign in');
  const nameField = h(
    'div',
    { class: 'field', hidden: true },
    h(
      'label',
      { htmlFor: 'displayName' },
      'Display name ',
      h('span', { class: 'optional' }, '(optional)'),
    ),
    displayName,
  );
  const passwordHint = h(
    'p',
    { class: 'field-hint', id: 'password-hint', hidden: true },
    'At least 8 characters.',
  );
  const usernameHint = h(
    'p',
    { class: 'field-hint', id: 'username-hint', hidden: true },
    '3–32 characters: a–z, 0–9, _ . -',
  );
  const signinTab = h(
    'button',
    { type: 'button', class: 'tab', on: { click: () => setMode('signin') } },
    'Sign in',
  );
  const signupTab = h(
    'button',
    { type: 'button', class: 'tab', on: { click: () => setMode('signup') } },
    'Create account',
  );

  const setMode = (m: typeof mode) => {
    mode = m;
    const up = m === 'signup';
    signinTab.setAttribute('aria-pressed', String(!up));
    signupTab.setAttribute('aria-pressed', String(up));
    nameField.hidden = !up;
    passwordHint.hidden = !up;
    usernameHint.hidden = !up;
    password.autocomplete = up ? 'new-password' : 'current-password';
    password.minLength = up ? 8 : 0;
    if (up) {
      password.setAttribute('aria-describedby', 'password-hint');
      username.setAttribute('aria-describedby', 'username-hint');
    } else {
      password.removeAttribute('aria-describedby');
      username.removeAttribute('aria-describedby');
    }
    submit.textContent = up ? 'Create account' : 'Sign in';
    error.textContent = '';
  };
  setMode('signin');

  const form = h(
    'form',
    {
      class: 'auth-form',
      noValidate: false,
      on: {
        submit: (ev) => {
          ev.preventDefault();
          void go();
        },
      },
    },
    h(
      'div',
      { class: 'field' },
      h('label', { htmlFor: 'username' }, 'Username'),
      username,
      usernameHint,
    ),
    nameField,
    h(
      'div',
      { class: 'field' },
      h('label', { htmlFor: 'password' }, 'Password'),
      password,
      passwordHint,
    ),
    error,
    submit,
  );

  const go = async () => {
    if (busy) return;
    busy = true;
    submit.disabled = true;
    error.textContent = '';
    try {
      let payload: AuthPayload;
      if (mode === 'signup') {
        const name = displayName.value.trim();
        payload = (
          await deps.api.request<{ register: AuthPayload }>(REGISTER, {
            username: username.value.trim(),
            password: password.value,
            displayName: name === '' ? null : name,
          })
        ).register;
      } else {
        payload = (
          await deps.api.request<{ login: AuthPayload }>(LOGIN, {
            username: username.value.trim(),
            password: password.value,
          })
        ).login;
      }
      deps.onSignedIn({ token: payload.token, expiresAt: payload.expiresAt, user: payload.user });
    } catch (e) {
      error.textContent = describeError(e);
      password.select();
      password.focus();
    } finally {
      busy = false;
      submit.disabled = false;
    }
  };

  const el = h(
    'main',
    { class: 'auth', id: 'main' },
    h(
      'div',
      { class: 'auth-card' },
      h(
        'p',
        { class: 'brand big' },
        h('span', { class: 'brand-mark', attrs: { 'aria-hidden': 'true' } }, 'c'),
        'conversa',
      ),
      h('h1', { tabIndex: -1 }, 'Welcome'),
      h(
        'p',
        { class: 'tagline' },
        'Sign in to chat in real time, or create an account in seconds.',
      ),
      deps.notice ? h('p', { class: 'notice', attrs: { role: 'status' } }, deps.notice) : null,
      h(
        'div',
        { class: 'tabs', attrs: { role: 'group', 'aria-label': 'Sign in or create an account' } },
        signinTab,
        signupTab,
      ),
      form,
      h(
        'p',
        { class: 'auth-foot' },
        'Developers: the ',
        h('a', { href: '/graphql' }, 'GraphQL IDE'),
        ' explores the API.',
      ),
    ),
  );

  return { el, title: 'Sign in', focus: () => username.focus(), destroy: () => undefined };
}
