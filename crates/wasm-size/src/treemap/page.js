// The treemap page. The layout comes with the data (computed by xtask);
// this places the rectangles, shows the numbers on hover, zooms into a crate
// on click (back with "all crates", Escape or the browser's back), and,
// opened with ?selftest, measures what it rendered for the test to check.
'use strict';
(function () {
  const data = JSON.parse(document.getElementById('treemap-data').textContent);
  const map = document.getElementById('map');
  const tip = document.getElementById('tip');
  const crumbs = document.getElementById('crumbs');
  const legend = document.getElementById('legend');
  map.style.aspectRatio = data.width + ' / ' + data.height;

  const CHANGES = [
    ['grown', 'grown'],
    ['shrunk', 'shrunk'],
    ['new', 'new'],
    ['same', 'unchanged'],
    ['unlisted', 'not in the baseline\u2019s list'],
  ];

  function human(n) {
    if (n < 1024) return n + ' B';
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let value = n / 1024;
    let unit = 0;
    while (value >= 1024 && unit + 1 < units.length) {
      value /= 1024;
      unit += 1;
    }
    return value.toFixed(1) + ' ' + units[unit];
  }

  function share(part, whole) {
    return whole > 0 ? ((part * 100) / whole).toFixed(1) + '%' : '-';
  }

  function delta(now, base) {
    const d = now - base;
    return (d > 0 ? '+' : d < 0 ? '-' : '') + human(Math.abs(d));
  }

  // Crates apart by hue when there is no baseline: the golden angle.
  function hue(i) {
    return ((i * 137.508) % 360).toFixed(1);
  }

  function percent(value, of) {
    return (value * 100) / of + '%';
  }

  function box(into, kind, id, name, rect, change, crateIndex) {
    const el = document.createElement('div');
    el.className = 'node ' + kind + ' ' + (change || 'hue');
    if (!change) el.style.setProperty('--hue', hue(crateIndex));
    el.dataset.id = id;
    el.style.left = percent(rect[0], data.width);
    el.style.top = percent(rect[1], data.height);
    el.style.width = percent(rect[2], data.width);
    el.style.height = percent(rect[3], data.height);
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = name;
    el.appendChild(label);
    into.appendChild(el);
  }

  // The crate zoomed into, by index; null for the whole module.
  let zoomed = null;

  // The whole view's rectangles, made once: going back to it from a crate
  // puts them back instead of making thousands again.
  let whole = null;

  function render(view) {
    zoomed = view;
    map.classList.toggle('zoomed', view !== null);
    if (view === null) {
      if (!whole) {
        whole = document.createDocumentFragment();
        data.crates.forEach((c, i) => {
          if (!c.rect) return;
          box(whole, 'crate', 'c' + i, c.name, c.rect, c.change, i);
          c.items.forEach((it, j) => {
            if (it.rect) box(whole, 'item', 'c' + i + '.' + j, it.name, it.rect, it.change, i);
          });
        });
        whole = Array.from(whole.childNodes);
      }
      map.replaceChildren();
      const frag = document.createDocumentFragment();
      for (const el of whole) frag.appendChild(el);
      map.appendChild(frag);
    } else {
      const frag = document.createDocumentFragment();
      data.crates[view].items.forEach((it, j) => {
        if (it.zoom) box(frag, 'item', 'c' + view + '.' + j, it.name, it.zoom, it.change, view);
      });
      map.replaceChildren(frag);
    }
    renderCrumbs();
    tip.hidden = true;
  }

  function renderCrumbs() {
    crumbs.replaceChildren();
    const all = 'all crates, ' + human(data.total);
    if (zoomed === null) {
      crumbs.textContent = all + ' (click a crate to zoom in)';
      return;
    }
    const back = document.createElement('button');
    back.id = 'back';
    back.textContent = all;
    back.addEventListener('click', () => navigate(null));
    crumbs.appendChild(back);
    const c = data.crates[zoomed];
    crumbs.append(' \u203a ' + c.name + ', ' + human(c.bytes) + ' (' + share(c.bytes, data.total) + ')');
  }

  function renderLegend() {
    legend.replaceChildren();
    if (!data.compared) {
      legend.textContent = 'no baseline: colours tell crates apart';
      return;
    }
    for (const [cls, text] of CHANGES) {
      const entry = document.createElement('span');
      const swatch = document.createElement('span');
      swatch.className = 'swatch ' + cls;
      entry.append(swatch, text);
      legend.appendChild(entry);
    }
    const note = document.createElement('span');
    note.textContent = 'against ' + data.compared;
    legend.appendChild(note);
  }

  function crateIndex(name) {
    return data.crates.findIndex((c) => c.name === name);
  }

  // Zoom state lives in the URL (#crate=NAME), so the back button works.
  function navigate(view) {
    const hash = view === null ? '' : '#crate=' + encodeURIComponent(data.crates[view].name);
    history.pushState(null, '', location.pathname + location.search + hash);
    render(view);
  }

  function fromHash() {
    const m = /^#crate=(.*)$/.exec(location.hash);
    const i = m ? crateIndex(decodeURIComponent(m[1])) : -1;
    render(i >= 0 ? i : null);
  }

  function nodeOf(target) {
    const el = target.closest('.node');
    if (!el) return null;
    const [c, j] = el.dataset.id.slice(1).split('.').map(Number);
    return { crate: data.crates[c], crateIndex: c, item: j === undefined ? null : data.crates[c].items[j] };
  }

  function line(text) {
    const div = document.createElement('div');
    div.textContent = text;
    return div;
  }

  function describe(n) {
    const it = n.item || n.crate;
    const lines = [];
    const title = document.createElement('strong');
    title.textContent = it.name;
    lines.push(title);
    if (n.item) lines.push(line('in ' + n.crate.name));
    let size = human(it.bytes) + (it.bytes >= 1024 ? ' (' + it.bytes + ' B)' : '');
    size += ', ' + share(it.bytes, data.total) + ' of the module';
    if (n.item) size += ', ' + share(it.bytes, n.crate.bytes) + ' of the crate';
    lines.push(line(size));
    if (it.retained != null) {
      lines.push(line('retained ' + human(it.retained) + ', ' + share(it.retained, data.total) + ' of the module'));
    }
    if (n.item && it.count > 1) {
      const noun = it.rest ? 'items' : n.crate.name === '[data]' ? 'segments' : 'bodies';
      lines.push(line(it.count + ' ' + noun));
    }
    if (data.compared) lines.push(line(against(it)));
    return lines;
  }

  function against(it) {
    switch (it.change) {
      case 'grown':
        return it.base != null
          ? 'grown from ' + human(it.base) + ' (' + delta(it.bytes, it.base) + ')'
          : 'grown into the baseline\u2019s list of biggest functions, or new';
      case 'shrunk':
        return 'shrunk from ' + human(it.base) + ' (' + delta(it.bytes, it.base) + ')';
      case 'new':
        return 'new since the baseline';
      case 'same':
        return 'unchanged';
      default:
        return 'not in the baseline\u2019s list: it keeps crates and its biggest functions';
    }
  }

  map.addEventListener('mousemove', (e) => {
    const n = nodeOf(e.target);
    if (!n) {
      tip.hidden = true;
      return;
    }
    tip.replaceChildren(...describe(n));
    tip.hidden = false;
    const x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 4);
    const y = e.clientY + 18 + tip.offsetHeight > window.innerHeight ? e.clientY - tip.offsetHeight - 8 : e.clientY + 18;
    tip.style.left = Math.max(0, x) + 'px';
    tip.style.top = Math.max(0, y) + 'px';
  });
  map.addEventListener('mouseleave', () => {
    tip.hidden = true;
  });
  map.addEventListener('click', (e) => {
    const n = nodeOf(e.target);
    if (n && zoomed === null && n.crate.items.some((it) => it.zoom)) navigate(n.crateIndex);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && zoomed !== null) navigate(null);
  });
  window.addEventListener('popstate', fromHash);

  renderLegend();
  fromHash();

  // ?selftest: go through the page as a user would (hover, click each of
  // the biggest crates, back) and measure every rectangle drawn, from the DOM.
  function measure() {
    const m = map.getBoundingClientRect();
    const nodes = [];
    for (const el of map.querySelectorAll('.node')) {
      const r = el.getBoundingClientRect();
      nodes.push({
        id: el.dataset.id,
        kind: el.classList.contains('crate') ? 'crate' : 'item',
        label: el.querySelector('.label').textContent,
        x: r.left - m.left,
        y: r.top - m.top,
        w: r.width,
        h: r.height,
      });
    }
    return { zoomed: zoomed === null ? null : data.crates[zoomed].name, width: m.width, height: m.height, nodes };
  }

  function hover(el) {
    const r = el.getBoundingClientRect();
    const at = { bubbles: true, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2 };
    el.dispatchEvent(new MouseEvent('mousemove', at));
    return { id: el.dataset.id, text: tip.hidden ? '' : tip.textContent };
  }

  if (new URLSearchParams(location.search).has('selftest')) {
    render(null);
    const views = [measure()];
    const hovers = [];
    let zooms = 0;
    data.crates.forEach((c, i) => {
      const el = map.querySelector('.node.crate[data-id="c' + i + '"]');
      if (!el || zooms >= data.selftest_zooms) return;
      hovers.push(hover(el));
      el.click();
      if (zoomed === null) return;
      zooms += 1;
      views.push(measure());
      const first = map.querySelector('.node');
      if (first) hovers.push(hover(first));
      document.getElementById('back').click();
    });
    window.treemapReport({ views, hovers });
  }
})();
