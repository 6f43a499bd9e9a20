// The types of goaltag's JavaScript API: every command and configuration
// field, with the README's words. build.sh ships them twice: as the npm
// package's module declarations (with module.d.ts) and, inside
// `declare namespace goaltag`, as the script tag's global declarations beside
// goaltag.js (with global.d.ts). Keep them true to src/core (command.rs,
// config.rs, consent.rs, goals.rs, outbox.rs) and to the README.

/** A consent type's state (Google Consent Mode v2 values). */
export type ConsentSignal = 'granted' | 'denied';

/**
 * The four consent types, Google Consent Mode v2 names. A type not named
 * keeps its value; a type never named counts as denied.
 */
export interface ConsentState {
  /** Measurement and its storage (client ID, visit, goals counted, the outbox). Nothing is sent without it in basic mode. */
  analytics_storage?: ConsentSignal;
  /** Advertising storage: the campaign touch and its click IDs. */
  ad_storage?: ConsentSignal;
  /** The permission to send conversions with user data for advertising. */
  ad_user_data?: ConsentSignal;
  /** Ad personalisation. */
  ad_personalization?: ConsentSignal;
}

/** `goaltag('consent', 'default', …)`: the default, optionally waiting for an asynchronous banner. */
export interface ConsentDefault extends ConsentState {
  /**
   * Milliseconds (whole, at most 60000) to hold events in memory so that an
   * asynchronous banner can answer before anything is sent.
   */
  wait_for_update?: number;
}

/** The consent types a cookie banner category stands for. */
export type ConsentType = keyof ConsentState;

/**
 * An [orestbida/cookieconsent](https://github.com/orestbida/cookieconsent) v3
 * banner: the tag reads its cookie (URI-encoded JSON, its `categories` list)
 * at once and follows its `cc:onConsent` / `cc:onChange` window events.
 */
export interface CookieSource {
  /** The banner's cookie name; default `"cc_cookie"`. */
  cookie?: string;
  /**
   * Category → consent types, replacing the default map (`analytics` →
   * `analytics_storage`; `marketing` or `ads` → `ad_storage`, `ad_user_data`,
   * `ad_personalization`). Every type no accepted category maps is denied.
   */
  categories?: Record<string, ConsentType | ConsentType[]>;
}

/**
 * A consent banner to follow:
 * - `'tcf'`: IAB TCF v2.2 through `__tcfapi` (purpose 1 → `analytics_storage`
 *   and `ad_storage`; purpose 7 → `ad_user_data`; purposes 3 and 4 →
 *   `ad_personalization`; only consents count, never legitimate interest).
 * - `'gcm'`: Google Consent Mode: the `gtag('consent', 'default' | 'update', {…})`
 *   commands on `window.dataLayer`, those pushed before the tag started and
 *   later ones; the four types map one to one (what most certified banners
 *   and Google Tag Manager's consent settings emit).
 * - a {@link CookieSource}: a cookieconsent v3 banner's cookie and events.
 */
export type ConsentSource = 'tcf' | 'gcm' | CookieSource;

/** `goaltag('page_view', …)`: a page view now, optionally for a virtual page. */
export interface PageView {
  /** The virtual page's URL (at most 4096 characters); default the page's. */
  url?: string;
  /** The virtual page's title (at most 500 characters); default `document.title`. */
  title?: string;
}

/** `goaltag('event', action, …)`: the custom event's parameters, all optional. */
export interface EventParams {
  /** At most 500 characters. */
  category?: string;
  /** At most 500 characters. */
  label?: string;
  /** A number, or a decimal string like `"49.95"` (at most 10^12 in magnitude). */
  value?: number | string;
  /** A synonym of `value`. */
  revenue?: number | string;
  /** A 3-letter ISO 4217 code like `"USD"`; the event's currency wins over a goal's. */
  currency?: string;
  /**
   * The order ID (at most 200 characters): a goal it triggers converts once
   * per transaction, with an ID derived from (site, goal, transaction_id).
   */
  transaction_id?: string;
}

/**
 * `goaltag('user_data', …)`: the buyer's details for enhanced conversions,
 * all optional. Normalised and SHA-256-hashed in the browser for Google,
 * Microsoft and Meta; only the hashes (and Google's plain city, region,
 * postal code and country) go with this page's conversions, and only while
 * `ad_user_data` is granted. A value of 64 hex digits is taken as a hash
 * already normalised for the platforms and sent as given.
 */
export interface UserData {
  email?: string;
  /** With `+` or `00` and the country code, or national with `config.phone_country_code`. */
  phone?: string;
  first_name?: string;
  last_name?: string;
  street?: string;
  city?: string;
  /** State or province, like `"CA"`. */
  region?: string;
  postal_code?: string;
  /** ISO 3166-1 alpha-2, like `"US"`. */
  country?: string;
}

/** A string condition of a goal: case-insensitive. */
export interface TextCondition {
  /** `regex` is the browser's `RegExp`, case-insensitive. */
  op: 'equals' | 'begins_with' | 'contains' | 'regex';
  value: string;
}

/** A number condition on an event's `value`. */
export interface ValueCondition {
  op: 'eq' | 'gt' | 'lt' | 'gte' | 'lte';
  value: number;
}

/**
 * The page URL, case-insensitively, ignoring the scheme and a leading
 * `www.`; `equals`/`begins_with` take a path (`/x`) or host + path
 * (`shop.example/x`).
 */
export interface UrlWhen extends TextCondition {
  type: 'url';
}

/** A custom event; every condition given must hold (at least one is needed). */
export interface EventWhen {
  type: 'event';
  /** A string means `equals`. */
  category?: string | TextCondition;
  /** A string means `equals`. */
  action?: string | TextCondition;
  /** A string means `equals`. */
  label?: string | TextCondition;
  value?: ValueCondition;
}

/** A click whose target or an ancestor matches the CSS selector (`Element.closest`). */
export interface ClickWhen {
  type: 'click';
  selector: string;
}

/** A submitted form matching the CSS selector. */
export interface FormSubmitWhen {
  type: 'form_submit';
  selector: string;
}

/** Engaged (visible) time in the visit, summed across its pages; converts at most once per visit. */
export interface DurationWhen {
  type: 'duration';
  /** More than 0, at most 86400. */
  min_seconds: number;
}

/** Pages seen in the visit; converts at most once per visit. */
export interface PagesPerVisitWhen {
  type: 'pages_per_visit';
  /** A whole number from 1 to 10000. */
  min_pages: number;
}

/** When a goal converts. */
export type GoalWhen = UrlWhen | EventWhen | ClickWhen | FormSubmitWhen | DurationWhen | PagesPerVisitWhen;

/**
 * A goal's revenue: none (default), a fixed amount, or the triggering event's
 * `value` (else the default).
 */
export type Revenue =
  | { kind: 'none' }
  | { kind: 'fixed'; value: number }
  | { kind: 'variable'; default?: number };

/**
 * A conversion goal, evaluated in the browser: a match sends a `conversion`
 * event beside the triggering event. An invalid goal is reported naming it,
 * and that goal alone is disabled.
 */
export interface Goal {
  /** 1–64 letters, digits, `_`, `-`, `.`; unique. */
  id: string;
  /** A display name. */
  name?: string;
  /** Default `true`. */
  primary?: boolean;
  when: GoalWhen;
  /** Default `{kind: 'none'}`. */
  revenue?: Revenue;
  /** ISO 4217, 3 upper-case letters; the event's own currency wins. */
  currency?: string;
  /**
   * `all` (default), `once_per_visit`, or `once_per_user` (remembered in
   * `localStorage` with `analytics_storage` granted; otherwise once per page).
   */
  count?: 'all' | 'once_per_visit' | 'once_per_user';
}

/** Batching, retry and bounds of the outbox (see README "Delivery"). Whole numbers unless said. */
export interface DeliveryPolicy {
  /** A batch closes at this many events (1–1000; default 500, the collector's limit)… */
  max_events?: number;
  /** …or at this many bytes of body before compression (512–1048576; default 262144)… */
  max_bytes?: number;
  /** …or this long after its first event (0–60000; default 1000). */
  max_delay_ms?: number;
  /** Backoff cap of the first retry, doubling on each further failure (10–60000; default 500). */
  base_ms?: number;
  /** Longest backoff (10–3600000; default 30000). */
  max_backoff_ms?: number;
  /** A collector's `Retry-After` is honoured up to this (0–86400000; default 300000). */
  retry_after_cap_ms?: number;
  /** Older events are dropped, counted `expired` (hours, may be fractional: 0.001–168, the collector's default `--max-event-age` of 7 days; default 24). */
  max_age_hours?: number;
  /** Events held at most; past that the oldest non-conversions go first (1–10000; default 2000). */
  max_outbox?: number;
  /** Bytes held at most (4096–4194304; default 1048576). */
  max_outbox_bytes?: number;
  /** Largest body handed to `sendBeacon` on the unload path (1024–65536; default 52428, 0.8 × 64 KiB). */
  beacon_max_bytes?: number;
  /**
   * Bodies of at least this many bytes are sent gzip-compressed where the
   * browser has `CompressionStream` (0–4194304; default 1024); 4194304 never
   * compresses, for a collector that cannot decompress.
   */
  gzip_min_bytes?: number;
}

/**
 * `goaltag('config', {…})` (merged into what is set) and `init({config})`.
 * A bad field is reported once on the console and ignored; the rest applies.
 */
export interface Config {
  /** The site key sent with every batch (letters, digits, `.`, `_`, `-`; at most 100). Not a secret. Required. */
  site?: string;
  /** Where batches are POSTed: an absolute `http(s)://` URL or a path on the page's origin (`/collect`). Required. */
  collector?: string;
  /** Page views for `history.pushState` / `replaceState` / `popstate` navigations (default `true`). */
  spa?: boolean;
  /** Also count `#fragment` changes (and `hashchange`) as page views (default `false`). */
  hash_routing?: boolean;
  /** Send a page view when the tag starts (default `true`). */
  auto_page_view?: boolean;
  /** Conversion goals (see README "Goals"). */
  goals?: Goal[];
  /** Batching, retry and bounds of the outbox. */
  delivery?: DeliveryPolicy;
  /** Query parameters removed from every URL and referrer before anything is queued. */
  redact_params?: string[];
  /** Click-ID parameters captured besides `gclid`, `gbraid`, `wbraid`, `dclid`, `msclkid`, `fbclid`, `ttclid`, `li_fat_id`; like them, never sent while `ad_storage` is not granted. */
  click_ids?: string[];
  /** Inactivity that ends a visit, in minutes (1–1440; default 30). */
  visit_timeout_minutes?: number;
  /** How long a campaign touch is credited with conversions, in whole days (1–365; default 30). */
  attribution_window_days?: number;
  /**
   * Consent mode (default `"basic"`): basic sends nothing while
   * `analytics_storage` is denied; advanced sends cookieless pings.
   */
  mode?: 'basic' | 'advanced';
  /** Global Privacy Control denies `ad_storage`, `ad_user_data`, `ad_personalization` (default `true`). */
  honor_gpc?: boolean;
  /** `navigator.doNotTrack == "1"` denies everything (default `false`). */
  honor_dnt?: boolean;
  /**
   * While `ad_storage` is denied or not yet answered, same-origin links and
   * GET forms the visitor follows carry the landing URL's click IDs and
   * `utm_*` parameters (visible in the next page's URL), so the campaign is
   * kept once consent is granted there. Nothing is stored or sent while
   * denied (default `false`).
   */
  url_passthrough?: boolean;
  /**
   * The country calling code (1 to 3 digits, like `"1"` or `"44"`) of
   * `goaltag('user_data', {phone})` numbers written without `+` or `00`;
   * without it such a number is dropped with a console message.
   */
  phone_country_code?: string | number;
}

/**
 * `goaltag(command, …)`: every call of the tag. A call never throws into the
 * page: a bad command or parameter is reported once with `console.error`,
 * and the valid parts still run.
 */
export interface Goaltag {
  /** Merges configuration. */
  (command: 'config', config: Config): void;
  /** Records a page view now, optionally for a virtual page. */
  (command: 'page_view', page?: PageView): void;
  /** Records a custom event; `action` is a non-empty string of at most 500 characters. */
  (command: 'event', action: string, params?: EventParams): void;
  /** Sends what is batched now instead of after the batch delay. */
  (command: 'flush'): void;
  /** Sets the consent default; `wait_for_update` holds events for an asynchronous banner. */
  (command: 'consent', which: 'default', state: ConsentDefault): void;
  /** The visitor's choice; types not named keep their value. */
  (command: 'consent', which: 'update', state: ConsentState): void;
  /** Follows a consent banner: `'tcf'`, `'gcm'` or a cookieconsent cookie. */
  (command: 'consent', which: 'source', source: ConsentSource): void;
  /** The visitor's hard opt-out of this site: nothing more is sent or stored, on this page or later ones. */
  (command: 'opt_out'): void;
  /** Undoes `opt_out`: consent is again what the default and the banner say. */
  (command: 'opt_in'): void;
  /**
   * Enhanced conversions: the buyer's details, hashed at once, carried by the
   * conversions this page records after the call (memory only, never stored).
   */
  (command: 'user_data', data: UserData): void;
}
