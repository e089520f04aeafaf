// Runs before the page's script, in a script of its own: records every
// error and console warning, so the self-test reports them even when the
// main script fails to parse or throws before it reports.
'use strict';
window.treemapErrors = [];
window.addEventListener('error', (e) => {
  window.treemapErrors.push('error: ' + (e.message || e.type) + ' (line ' + e.lineno + ')');
});
window.addEventListener('unhandledrejection', (e) => {
  window.treemapErrors.push('unhandled rejection: ' + String(e.reason));
});
for (const level of ['error', 'warn']) {
  const original = console[level];
  console[level] = function (...args) {
    window.treemapErrors.push('console.' + level + ': ' + args.map(String).join(' '));
    original.apply(console, args);
  };
}
// The self-test's result, in <pre id="selftest">: JSON in plain ASCII with
// no <, > or &, so the dumped DOM holds it verbatim.
window.treemapReport = function (result) {
  result.errors = window.treemapErrors.slice();
  const pre = document.createElement('pre');
  pre.id = 'selftest';
  pre.hidden = true;
  pre.textContent = JSON.stringify(result).replace(
    /[^\x20-\x7e]|[<>&]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
  document.body.appendChild(pre);
};
window.addEventListener('load', () => {
  const selftest = new URLSearchParams(location.search).has('selftest');
  if (selftest && !document.getElementById('selftest')) {
    window.treemapReport({ views: [] });
  }
});
