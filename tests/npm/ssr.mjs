// Server-side rendering: importing the package in Node (no window) does
// nothing, calls are no-ops and init() resolves false. Run by ./build.sh test.
import assert from 'node:assert/strict';
import { init, goaltag } from 'goaltag';

assert.equal(typeof window, 'undefined');
assert.equal(goaltag('event', 'purchase', { value: 1 }), undefined);
goaltag('consent', 'update', { analytics_storage: 'granted' });
assert.equal(await init({ site: 'ssr', collector: '/collect' }), false);
assert.equal(globalThis.goaltag, undefined, 'no global is created');
console.log('npm package: importing and calling it in Node without window is a no-op');
