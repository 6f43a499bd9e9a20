
/**
 * `goaltag(command, …)`, the script tag's global: first the stub (which
 * queues calls in `goaltag.q`), then the running tag.
 */
declare var goaltag: goaltag.Goaltag & {
  /** The stub's queue of calls made before the tag started; gone once it runs. */
  q?: IArguments[];
};
