// Wrong calls the types must reject: tsc fails on each line below that is NOT
// an error (an unused @ts-expect-error is itself an error), and on any error
// not marked. Checked by ./build.sh test with tsc --strict --noEmit.
import { init, goaltag } from 'goaltag';
import type { Config, Goal } from 'goaltag';

// An unknown command.
// @ts-expect-error
goaltag('pageview');
// @ts-expect-error
goaltag('track', 'purchase');
// A wrong consent value.
// @ts-expect-error
goaltag('consent', 'update', { analytics_storage: 'yes' });
// @ts-expect-error
goaltag('consent', 'default', { ad_storage: true });
// @ts-expect-error
goaltag('consent', 'revoke', { analytics_storage: 'denied' });
// @ts-expect-error
goaltag('consent', 'source', 'onetrust');
// @ts-expect-error
goaltag('consent', 'update', { analytics_storage: 'granted', wait_for_update: 500 });
// @ts-expect-error
void init({ site: 'my-shop', collector: '/collect', consent: 'yes' });
// A misspelt configuration field.
// @ts-expect-error
goaltag('config', { colector: '/collect' });
// @ts-expect-error
goaltag('config', { delivery: { max_event: 10 } });
// @ts-expect-error
void init({ site: 'my-shop', collector: '/collect', config: { hash_routeing: true } });
// @ts-expect-error
const misspelt: Config = { url_pasthrough: true };
// Wrong types and missing arguments.
// @ts-expect-error
goaltag('event');
// @ts-expect-error
goaltag('event', 'purchase', { value: true });
// @ts-expect-error
goaltag('config');
// user_data: an unknown field, a misspelt one, no object.
// @ts-expect-error
goaltag('user_data', { mail: 'jane@example.com' });
// @ts-expect-error
goaltag('user_data', { email: 'jane@example.com', zip: '94025' });
// @ts-expect-error
goaltag('user_data');
// @ts-expect-error
goaltag('config', { phone_country_code: true });
// @ts-expect-error
goaltag('config', { mode: 'strict' });
// @ts-expect-error
void init({ collector: '/collect' });
// A goal with the wrong shape for its type.
// @ts-expect-error
const click: Goal = { id: 'buy', when: { type: 'click', min_pages: 3 } };
// @ts-expect-error
const count: Goal = { id: 'buy', when: { type: 'url', op: 'equals', value: '/x' }, count: 'once' };

void misspelt;
void click;
void count;
