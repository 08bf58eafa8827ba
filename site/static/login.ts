// The login page's script: runs the SCRAM-SHA-256 exchange in the browser with WebCrypto (the
// same shared/scram-client.ts the Node client uses; the site serves it type-stripped), then opens
// /secret with the session cookie the successful exchange set. The password never leaves the page.
import { ScramLoginError, scramLogin } from '../../shared/scram-client.ts';
import { webCryptoScram } from '../../shared/scram-crypto.ts';

// The few DOM shapes this page touches, declared here: the project compiles without the DOM
// library so that shared/ cannot use it by accident.
interface Input {
  value: string;
}
interface Form {
  elements: { namedItem(name: string): Input | null };
  addEventListener(type: 'submit', listener: (event: { preventDefault(): void }) => void): void;
  querySelector(selector: 'button'): { disabled: boolean } | null;
}
interface Status {
  textContent: string | null;
  className: string;
}
declare const document: { getElementById(id: string): unknown };
declare const location: { origin: string; assign(url: string): void };

const form = document.getElementById('login') as Form;
const status = document.getElementById('status') as Status;
const button = form.querySelector('button');

function show(message: string, isError: boolean): void {
  status.textContent = message;
  status.className = isError ? 'error' : '';
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  // Browsers expose WebCrypto only to secure contexts: HTTPS, or a loopback address.
  if ((crypto as { subtle?: unknown }).subtle === undefined) {
    show('This page needs HTTPS (or a loopback address): the browser withholds WebCrypto here.', true);
    return;
  }
  const user = form.elements.namedItem('user')?.value ?? '';
  const password = form.elements.namedItem('password')?.value ?? '';
  if (button) button.disabled = true;
  show('Proving that you know the password…', false);
  scramLogin({ fetch: (url, init) => fetch(url, init), siteUrl: location.origin, user, password, crypto: webCryptoScram(crypto) })
    .then(() => location.assign('/secret'))
    .catch((err: unknown) => {
      const message =
        err instanceof ScramLoginError && err.code === 'REJECTED'
          ? 'Wrong user name or password.'
          : err instanceof Error
            ? err.message
            : String(err);
      show(message, true);
      if (button) button.disabled = false;
    });
});
