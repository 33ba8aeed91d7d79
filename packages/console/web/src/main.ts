// The console's entry: installs the Buffer subset first, then routes by hash.
import './preamble.js';
import './style.css';
import { renderVerifyPage } from './verify-page.js';
import { renderProofsPage } from './proofs-page.js';
import { renderAttestationPage } from './attestation-page.js';
import { renderKmsPage } from './kms-page.js';
import { renderCpPage } from './cp-page.js';

const main = document.getElementById('main')!;

function route(): void {
  const hash = location.hash.replace(/^#\/?/, '');
  const [name = 'verify', query = ''] = hash.split('?');
  const page = ['verify', 'proofs', 'attestation', 'kms', 'control-plane'].includes(name) ? name : 'verify';
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a[data-route]')) {
    if (a.dataset.route === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `veritee console: ${page}`;
  if (page === 'proofs') void renderProofsPage(main);
  else if (page === 'attestation') void renderAttestationPage(main);
  else if (page === 'kms') void renderKmsPage(main);
  else if (page === 'control-plane') void renderCpPage(main);
  else renderVerifyPage(main, new URLSearchParams(query));
  document.body.dataset.page = page;
}

// The skip link moves focus to the content without touching the hash (the hash is the route).
document.querySelector('a.skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});

window.addEventListener('hashchange', route);
route();
