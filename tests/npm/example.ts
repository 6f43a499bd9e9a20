// Type-checked by ./build.sh test (tsc --strict --noEmit) against the packed
// npm package installed into a fresh app: every command and every
// configuration field, as a bundler user writes them. Never run.
import { init, goaltag } from 'goaltag';
import type {
  Config, ConsentDefault, ConsentSource, ConsentState, CookieSource, DeliveryPolicy, EventParams, Goal, GoalWhen,
  Goaltag, InitOptions, PageView, Revenue, UserData,
} from 'goaltag';

const delivery: DeliveryPolicy = {
  max_events: 20, max_bytes: 16384, max_delay_ms: 1000, base_ms: 500, max_backoff_ms: 30000,
  retry_after_cap_ms: 300000, max_age_hours: 0.5, max_outbox: 1000, max_outbox_bytes: 524288, beacon_max_bytes: 61440,
};

const whens: GoalWhen[] = [
  { type: 'url', op: 'equals', value: '/checkout/confirmation' },
  { type: 'url', op: 'regex', value: '^/thanks' },
  { type: 'event', action: 'purchase' },
  {
    type: 'event', category: { op: 'begins_with', value: 'shop' }, action: { op: 'contains', value: 'buy' },
    label: 'blanket', value: { op: 'gte', value: 100 },
  },
  { type: 'click', selector: '.buy-button' },
  { type: 'form_submit', selector: '#newsletter' },
  { type: 'duration', min_seconds: 30 },
  { type: 'pages_per_visit', min_pages: 3 },
];

const revenues: Revenue[] = [{ kind: 'none' }, { kind: 'fixed', value: 5 }, { kind: 'variable', default: 10 }, { kind: 'variable' }];

const goals: Goal[] = whens.map((when, i) => ({
  id: `goal-${i}`, name: 'A goal', primary: i === 0, when, revenue: revenues[i % revenues.length], currency: 'USD',
  count: (['all', 'once_per_visit', 'once_per_user'] as const)[i % 3],
}));

const config: Config = {
  site: 'my-shop',
  collector: 'https://collect.example/collect',
  spa: true,
  hash_routing: false,
  auto_page_view: true,
  goals,
  delivery,
  redact_params: ['token', 'email'],
  click_ids: ['sccid'],
  visit_timeout_minutes: 30,
  attribution_window_days: 30,
  mode: 'advanced',
  honor_gpc: true,
  honor_dnt: false,
  url_passthrough: true,
  phone_country_code: '1',
};

const options: InitOptions = { site: 'my-shop', collector: '/collect', consent: 'denied', config };

const state: ConsentState = { analytics_storage: 'granted', ad_storage: 'denied', ad_user_data: 'denied', ad_personalization: 'denied' };
const byDefault: ConsentDefault = { ...state, wait_for_update: 500 };
const cookie: CookieSource = { cookie: 'cc_cookie', categories: { stats: ['analytics_storage'], ads: 'ad_storage' } };
const sources: ConsentSource[] = ['tcf', 'gcm', cookie, {}];
const page: PageView = { url: '/virtual/step-2', title: 'Step 2' };
const params: EventParams = { category: 'shop', label: 'blanket', value: 59, currency: 'USD', transaction_id: 'T-1' };

goaltag('consent', 'default', byDefault);
goaltag('consent', 'source', 'gcm');
goaltag('consent', 'source', 'tcf');
for (const s of sources) goaltag('consent', 'source', s);

async function start(): Promise<void> {
  const running: boolean = await init(options);
  if (!running) return;
  await init({ site: 'my-shop', collector: 'https://collect.example/collect' });
  goaltag('config', config);
  goaltag('config', { goals: [{ id: 'signup', when: { type: 'event', action: 'signup' } }] });
  goaltag('page_view');
  goaltag('page_view', page);
  goaltag('page_view', {});
  goaltag('event', 'add_to_cart');
  const buyer: UserData = { email: 'jane@example.com', phone: '+1 650 555 1212', first_name: 'Jane', last_name: 'Doe' };
  goaltag('user_data', buyer);
  goaltag('user_data', { street: '1 Main St', city: 'Menlo Park', region: 'CA', postal_code: '94025', country: 'US' });
  goaltag('config', { phone_country_code: 44 });
  goaltag('event', 'purchase', params);
  goaltag('event', 'purchase', { revenue: '49.95' });
  goaltag('flush');
  goaltag('consent', 'update', state);
  goaltag('consent', 'update', { analytics_storage: 'denied' });
  goaltag('opt_out');
  goaltag('opt_in');
}

// The command function can be passed around with its type.
const call: Goaltag = goaltag;
call('flush');
void start();
