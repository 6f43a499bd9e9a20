// goaltag's click description, in JS: the click handler runs inside the
// dispatch that INP counts, and reading the element here takes one call from
// the wasm instead of a dozen. It only reads; what is kept is decided in
// Rust (src/core/capture.rs). build.sh puts it in the loader's scope (without
// `export`); the browser tests import it as a module.
//
// Returns null when the target is not an element, else the fields joined by
// NUL: tag, id, class, href (links only), text (of an actionable element
// only: a click on a large container must not read the page's text), then
// name/value pairs of the attributes named `prefix`*, without the prefix.
export function goaltagDescribe(target, actionable, prefix) {
  if (!target || !target.closest) return null;
  var el = target.closest(actionable), own = !!el;
  el = el || target;
  var tag = el.localName, names = el.getAttributeNames(), out = [
    tag, el.id, el.getAttribute('class'), tag === 'a' && typeof el.href === 'string' ? el.href : '',
    own ? el.textContent : ''];
  for (var i = 0; i < names.length; i++) {
    if (names[i].indexOf(prefix) === 0) out.push(names[i].slice(prefix.length), el.getAttribute(names[i]));
  }
  for (i = 0; i < out.length; i++) {
    var v = out[i] == null ? '' : String(out[i]);
    out[i] = v.indexOf('\0') < 0 ? v : v.split('\0').join('');
  }
  return out.join('\0');
}
