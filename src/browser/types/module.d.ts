
/** `init`'s options: the script tag's `data-*` attributes, and configuration. */
export interface InitOptions {
  /** The site key sent with every batch (like `data-site`). */
  site: string;
  /** Where batches are POSTed (like `data-collector`): an absolute `http(s)://` URL or a path on the page's origin. */
  collector: string;
  /**
   * The consent default for all four types (like `data-consent`). Without it,
   * or a `goaltag('consent', …)` call, nothing is sent. Per-type defaults:
   * `goaltag('consent', 'default', {…})` before or after `init`.
   */
  consent?: ConsentSignal;
  /** Configuration applied before the first page view (goals, mostly), like `data-config`'s file. */
  config?: Config;
}

/**
 * Starts the tag in this page: loads `goaltag_bg.wasm` (resolved beside this
 * module with `new URL('./goaltag_bg.wasm', import.meta.url)`), applies the
 * options, runs the calls queued by {@link goaltag} in order, and records the
 * page view. Idempotent: later calls return the first call's promise, and
 * their options are ignored (change configuration with `goaltag('config', …)`).
 *
 * Never rejects: resolves `true` once the tag is running, `false` when it
 * could not start (the reason is on the console), and `false` at once where
 * there is no `window` (server-side rendering), doing nothing there.
 */
export declare function init(options: InitOptions): Promise<boolean>;

/**
 * The tag's commands. Before {@link init} has started the tag, calls queue
 * (the script tag's stub queue, `window.goaltag.q`) and run in order when it
 * starts; where there is no `window` (server-side rendering) a call does nothing.
 */
export declare const goaltag: Goaltag;
