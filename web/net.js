/*
 * net.js: the network page.  Given API addresses (?nodes=a,b,... or the
 * form), asks each for /v1/status and /v1/peers, draws the peer graph in
 * SVG (a small force layout, computed once: nothing runs while idle), and
 * for a transaction asks each for /v1/tx/ID/trace and replays its wave:
 * each node lights up when it got its copy, along the edge it came by.
 * The APIs of other nodes are other origins: they answer with CORS headers
 * to loopback pages, or to any page when they have a token (docs/API.md).
 */
'use strict';
(() => {
  const $ = id => document.getElementById(id);
  const SVGNS = 'http://www.w3.org/2000/svg';
  const W = 800, H = 560;
  let nodes = new Map();   /* node id -> {id, name, api, x, y, traced} */
  let edges = new Map();   /* "a|b" (sorted) -> {a, b} */
  let es = null, anim = null;

  function base(addr) {
    return /^https?:\/\//.test(addr) ? addr.replace(/\/$/, '') : 'http://' + addr;
  }

  function addrs() {
    return $('addrs').value.split(/[\s,]+/).map(s => s.trim()).filter(s => s);
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function edgeKey(a, b) { return a < b ? a + '|' + b : b + '|' + a; }

  async function load() {
    const list = addrs();
    noded.setToken($('token').value.trim());
    history.replaceState(null, '', '?nodes=' + encodeURIComponent(list.join(',')));
    $('netmsg').textContent = 'asking ' + list.length + ' nodes…';
    nodes = new Map();
    edges = new Map();
    const answers = await Promise.all(list.map(async a => {
      const [s, p] = await Promise.all([noded.get(base(a), '/v1/status'),
        noded.get(base(a), '/v1/peers')]);
      return { a, s, p };
    }));
    const problems = [];
    for (const { a, s } of answers) {
      if (s.status !== 200 || !s.body) {
        problems.push(a + ': ' + (s.status === 401 ? 'needs the token' :
          s.status === 0 ? 'no answer (down, or no CORS for this page)' : 'HTTP ' + s.status));
        continue;
      }
      nodes.set(s.body.node_id, { id: s.body.node_id, name: s.body.name, api: a, traced: true });
    }
    for (const { s, p } of answers) {
      if (s.status !== 200 || p.status !== 200 || !p.body) continue;
      for (const peer of p.body.peers) {
        if (!nodes.has(peer.node_id))
          nodes.set(peer.node_id, { id: peer.node_id, name: peer.name || '?', api: null, traced: false });
        edges.set(edgeKey(s.body.node_id, peer.node_id), { a: s.body.node_id, b: peer.node_id });
      }
    }
    layout();
    draw();
    $('netmsg').textContent = nodes.size + ' nodes, ' + edges.size + ' links' +
      (problems.length ? ' · ' + problems.join('; ') : '');
    $('netmsg').className = problems.length ? 'err' : 'dim';
    follow(answers.find(x => x.s.status === 200));
  }

  /* Fruchterman-Reingold, a fixed number of rounds, seeded on a circle. */
  function layout() {
    const vs = [...nodes.values()], n = vs.length;
    if (!n) return;
    const k = Math.sqrt(W * H / n) * 0.5;
    vs.forEach((v, i) => {
      v.x = W / 2 + (W / 3) * Math.cos(2 * Math.PI * i / n);
      v.y = H / 2 + (H / 3) * Math.sin(2 * Math.PI * i / n);
    });
    let temp = W / 8;
    for (let round = 0; round < 300; round++) {
      for (const v of vs) { v.dx = 0; v.dy = 0; }
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          const a = vs[i], b = vs[j];
          let dx = a.x - b.x, dy = a.y - b.y;
          const d = Math.max(Math.hypot(dx, dy), 0.01), f = k * k / d;
          dx /= d; dy /= d;
          a.dx += dx * f; a.dy += dy * f; b.dx -= dx * f; b.dy -= dy * f;
        }
      }
      for (const e of edges.values()) {
        const a = nodes.get(e.a), b = nodes.get(e.b);
        let dx = a.x - b.x, dy = a.y - b.y;
        const d = Math.max(Math.hypot(dx, dy), 0.01), f = d * d / k;
        dx /= d; dy /= d;
        a.dx -= dx * f; a.dy -= dy * f; b.dx += dx * f; b.dy += dy * f;
      }
      for (const v of vs) {
        v.dx += (W / 2 - v.x) * 0.05 * k / 50;
        v.dy += (H / 2 - v.y) * 0.05 * k / 50;
        const d = Math.max(Math.hypot(v.dx, v.dy), 0.01);
        v.x += v.dx / d * Math.min(d, temp);
        v.y += v.dy / d * Math.min(d, temp);
      }
      temp = Math.max(temp * 0.98, 0.5);
    }
    /* Fit the drawing in the box, room left for the labels. */
    const xs = vs.map(v => v.x), ys = vs.map(v => v.y);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
    for (const v of vs) {
      v.x = x1 > x0 ? 40 + (v.x - x0) / (x1 - x0) * (W - 120) : W / 2;
      v.y = y1 > y0 ? 30 + (v.y - y0) / (y1 - y0) * (H - 60) : H / 2;
    }
  }

  function draw() {
    const g = $('graph');
    g.replaceChildren();
    for (const e of edges.values()) {
      const a = nodes.get(e.a), b = nodes.get(e.b);
      g.append(svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, 'data-a': a.name, 'data-b': b.name }));
    }
    for (const v of nodes.values()) {
      const c = svg('circle', { cx: v.x, cy: v.y, r: 11, class: 'node' + (v.traced ? '' : ' outside'),
        'data-name': v.name, 'data-id': v.id });
      c.append(svg('title', {}, v.name + ' ' + v.id.slice(0, 16) + (v.api ? ' API ' + v.api : '')));
      v.el = c;
      g.append(c);
      g.append(svg('text', { x: v.x + 13, y: v.y - 9 }, v.name));
    }
  }

  /* The first node's event stream fills the list of recent transactions. */
  function follow(first) {
    if (es) es.stop();
    es = null;
    if (!first) return;
    es = noded.stream(base(first.a), (name, d) => {
      if (name !== 'tx_accepted') return;
      const dl = $('recent');
      dl.prepend(noded.el('option', { value: d.id }));
      while (dl.children.length > 20) dl.lastChild.remove();
      if (!$('txid').value) $('txid').value = d.id;
    }, () => {});
  }

  async function trace() {
    const id = $('txid').value.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(id)) {
      $('wave-status').textContent = 'a transaction id is 64 hex digits';
      $('wave-status').className = 'err';
      return;
    }
    if (anim) cancelAnimationFrame(anim);
    const traced = [...nodes.values()].filter(v => v.api);
    $('wave-status').className = 'dim';
    $('wave-status').textContent = 'asking ' + traced.length + ' nodes…';
    const res = await Promise.all(traced.map(async v =>
      ({ v, r: await noded.get(base(v.api), '/v1/tx/' + id + '/trace') })));
    let t0 = 0;
    const seen = [];
    for (const { v, r } of res) {
      v.trace = r.status === 200 ? r.body : null;
      if (!v.trace) continue;
      seen.push(v);
      if (v.trace.from === 'api' && v.trace.received_us && (!t0 || v.trace.received_us < t0))
        t0 = v.trace.received_us;
    }
    if (!t0)
      for (const v of seen) if (!t0 || v.trace.first_seen_us < t0) t0 = v.trace.first_seen_us;
    for (const v of seen) {
      v.ms = ((v.trace.received_us || v.trace.first_seen_us) - t0) / 1000;
      const from = v.trace.from;
      v.parent = from && from.id && nodes.has(from.id) ? nodes.get(from.id) : null;
    }
    seen.sort((a, b) => a.ms - b.ms);
    const maxMs = seen.length ? Math.max(seen[seen.length - 1].ms, 1) : 1;
    const tb = $('wave').tBodies[0];
    tb.replaceChildren();
    for (const v of seen) {
      const tr = noded.el('tr', { 'data-name': v.name });
      tr.append(noded.el('td', {}, v.name),
        noded.el('td', {}, v.trace.from === 'api' ? 'api' : v.trace.from ? v.trace.from.name : '-'),
        noded.el('td', {}, String(hop(v, 0))), noded.el('td', {}, v.ms.toFixed(3)),
        noded.el('td', {}, v.trace.verify_us == null ? '-' : (v.trace.verify_us / 1000).toFixed(3)));
      tb.append(tr);
    }
    replay(id, seen, traced, maxMs);
  }

  function hop(v, depth) {
    if (v.trace.from === 'api') return 0;
    if (!v.parent || !v.parent.trace || depth > nodes.size) return '?';
    const h = hop(v.parent, depth + 1);
    return h === '?' ? '?' : h + 1;
  }

  /* Replays the wave over about 2 s whatever its real length, then stops. */
  function replay(id, seen, traced, maxMs) {
    const g = $('graph');
    g.querySelectorAll('line.wave').forEach(l => l.remove());
    for (const v of traced) {
      v.el.setAttribute('class', 'node' + (v.trace ? '' : ' missed'));
      v.el.style.fill = '';
      v.el.removeAttribute('data-ms');
    }
    const span = 2000, start = performance.now();
    let next = 0;
    const step = now => {
      const at = (now - start) / span * maxMs;
      while (next < seen.length && seen[next].ms <= at) {
        const v = seen[next++];
        const f = Math.min(v.ms / maxMs, 1);
        v.el.setAttribute('class', 'node reached' + (v.trace.from === 'api' ? ' entry' : ''));
        if (v.trace.from !== 'api') v.el.style.fill = 'hsl(150, 45%, ' + (70 - 40 * f) + '%)';
        v.el.setAttribute('data-ms', v.ms.toFixed(3));
        if (v.parent) {
          const l = svg('line', { x1: v.parent.x, y1: v.parent.y, x2: v.x, y2: v.y, class: 'wave',
            'data-a': v.parent.name, 'data-b': v.name });
          g.insertBefore(l, g.querySelector('circle'));
        }
      }
      if (next < seen.length) { anim = requestAnimationFrame(step); return; }
      anim = null;
      const missed = traced.filter(v => !v.trace).map(v => v.name);
      $('wave-status').textContent = 'tx ' + id.slice(0, 16) + ': reached ' + seen.length + ' of ' +
        traced.length + ' nodes, the last after ' + (seen.length ? seen[seen.length - 1].ms.toFixed(3) : 0) +
        ' ms' + (missed.length ? '; never saw it: ' + missed.join(', ') : '');
      g.setAttribute('data-reached', String(seen.length));
    };
    anim = requestAnimationFrame(step);
  }

  const q = new URLSearchParams(location.search);
  $('addrs').value = (q.get('nodes') || location.host).split(',').join('\n');
  $('token').value = noded.token();
  if (q.get('tx')) $('txid').value = q.get('tx');
  $('netform').addEventListener('submit', ev => { ev.preventDefault(); load(); });
  $('traceform').addEventListener('submit', ev => { ev.preventDefault(); trace(); });
  load().then(() => { if (q.get('tx')) trace(); });
})();
