// A small single-page app as a bundler user writes it: goaltag from the npm
// package (the packed tarball, installed), bundled by esbuild in
// ./build.sh test and run by tests/e2e/tests/npm_package.rs in real browsers.
import { init, goaltag } from 'goaltag';
import type { InitOptions } from 'goaltag';

// Calls before init() queue, like the script tag's stub, and run in order.
goaltag('event', 'app_loaded', { category: 'app' });

const status = document.getElementById('status')!;
const options: InitOptions = {
  site: 'npm-app',
  collector: '/collect',
  consent: 'granted',
  config: {
    goals: [{
      id: 'purchase', name: 'Purchase', when: { type: 'event', action: 'purchase' },
      revenue: { kind: 'variable', default: 1 }, currency: 'EUR',
    }],
  },
};
const started = init(options);
// init is idempotent (React's StrictMode runs an effect twice): the same
// promise, one tag, one page view.
const again = init({ ...options });
started.then((running) => {
  status.textContent = !running ? 'failed' : again !== started ? 'init is not idempotent' : 'running';
});

document.getElementById('buy')!.addEventListener('click', () => {
  goaltag('event', 'purchase', { category: 'shop', value: 49.95, currency: 'EUR', transaction_id: 'T-npm-1' });
});
