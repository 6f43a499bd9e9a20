// The script tag's declarations (www/goaltag/goaltag.d.ts, shipped beside
// goaltag.js): the global goaltag and window.goaltag, and the goaltag.*
// types. A script, not a module. Checked by ./build.sh test.
/// <reference path="goaltag.d.ts" />

window.goaltag = window.goaltag || function () { (goaltag.q = goaltag.q || []).push(arguments); };
const goals: goaltag.Goal[] = [{ id: 'purchase', when: { type: 'event', action: 'purchase' }, revenue: { kind: 'variable', default: 10 } }];
const settings: goaltag.Config = { goals, url_passthrough: true };
goaltag('consent', 'default', { analytics_storage: 'denied', wait_for_update: 500 });
goaltag('consent', 'source', 'gcm');
window.goaltag('config', settings);
window.goaltag('user_data', { email: 'jane@example.com', phone: '+16505551212' } satisfies goaltag.UserData);
window.goaltag('event', 'purchase', { value: 49.95, currency: 'EUR', transaction_id: 'T-1' });
// @ts-expect-error
window.goaltag('consent', 'source', 'onetrust');
// @ts-expect-error
goaltag('config', { colector: '/collect' });
