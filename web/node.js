/*
 * node.js: the node page: counters (GET /v1/status every 2 s while the tab
 * is visible), peers (again when one comes or goes), and the event stream.
 */
'use strict';
(() => {
  const $ = id => document.getElementById(id);
  const MAX_EVENTS = 200;
  let lastPeers = -1, timer = null, es = null;

  function needToken(msg) {
    $('tokenform').classList.remove('hidden');
    $('tokenerr').textContent = msg || '';
    stop();
  }

  async function refresh() {
    const r = await noded.get('', '/v1/status');
    if (r.status === 401) return needToken(noded.token() ? 'the token was refused' : '');
    if (r.status !== 200 || !r.body) { $('live').textContent = '(no answer)'; return; }
    const b = r.body;
    $('live').textContent = '(every 2 s)';
    $('title').textContent = b.name;
    document.title = 'noded ' + b.name;
    $('ident').textContent = b.network + ' · ' + b.node_id.slice(0, 16) + '… · ' +
      b.version + ' · API ' + b.api;
    $('netlink').href = '/net.html?nodes=' + encodeURIComponent(location.host);
    $('peer-count').textContent = b.peers;
    $('c-mempool').textContent = b.mempool_txs;
    $('c-bytes').textContent = noded.bytes(b.mempool_bytes);
    $('c-verified').textContent = b.verified;
    $('c-queue').textContent = b.validator_queue_depth + ' / ' + b.validator_queue_capacity;
    $('c-uptime').textContent = noded.duration(b.uptime_s);
    if (b.peers !== lastPeers) {
      lastPeers = b.peers;
      refreshPeers();
    }
  }

  async function refreshPeers() {
    const r = await noded.get('', '/v1/peers');
    if (r.status !== 200 || !r.body) return;
    const tb = $('peers').tBodies[0];
    tb.replaceChildren();
    for (const p of r.body.peers) {
      const tr = noded.el('tr', { 'data-id': p.node_id });
      tr.append(noded.el('td', {}, p.name || '?'),
        noded.el('td', { class: 'id', title: p.node_id }, p.node_id.slice(0, 16)),
        noded.el('td', {}, p.addr), noded.el('td', {}, p.direction),
        noded.el('td', {}, noded.bytes(p.bytes_sent)),
        noded.el('td', {}, noded.bytes(p.bytes_received)),
        noded.el('td', {}, p.last_ping_ms + ' ms'));
      tb.append(tr);
    }
  }

  function onEvent(name, d) {
    const t = d.ts_us ? new Date(d.ts_us / 1000).toISOString().slice(11, 23) : '';
    let what;
    if (name.startsWith('tx_')) {
      what = d.id.slice(0, 16) + ' from ' + d.from +
        (d.amount !== undefined ? ' amount=' + d.amount : '') +
        (d.reason ? ': ' + d.reason : '');
    } else if (name.startsWith('peer_')) {
      what = (d.name || '?') + ' ' + (d.addr || '') + ' ' + (d.direction || '') +
        (d.reason ? ': ' + d.reason : '');
      refresh();
      refreshPeers();
    } else {
      what = JSON.stringify(d);
    }
    const li = noded.el('li', { class: name, 'data-tx': d.id || '' }, t + ' ' + name + ' ' + what);
    const ol = $('events');
    ol.prepend(li);
    while (ol.children.length > MAX_EVENTS) ol.lastChild.remove();
  }

  function start() {
    refresh();
    refreshPeers();
    timer = setInterval(() => { if (!document.hidden) refresh(); }, 2000);
    es = noded.stream('', onEvent, st => {
      $('stream').textContent = st;
      if (st === 'unauthorized') needToken('the token was refused');
    });
  }

  function stop() {
    if (timer) clearInterval(timer);
    if (es) es.stop();
    timer = es = null;
  }

  $('tokenform').addEventListener('submit', ev => {
    ev.preventDefault();
    noded.setToken($('token').value.trim());
    $('tokenform').classList.add('hidden');
    stop();
    start();
  });
  start();
})();
