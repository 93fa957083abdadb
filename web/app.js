/*
 * app.js: what both pages share: the API token (asked for when the node
 * answers 401, kept for this tab only, sent as "Authorization: Bearer"),
 * JSON requests, and the event stream read with fetch (EventSource cannot
 * send the Authorization header), resumed with Last-Event-ID after a break.
 */
'use strict';
const noded = (() => {
  let token = sessionStorage.getItem('noded_token') || '';

  function setToken(t) {
    token = t || '';
    if (token) sessionStorage.setItem('noded_token', token);
    else sessionStorage.removeItem('noded_token');
  }

  function headers(extra) {
    const h = Object.assign({}, extra || {});
    if (token) h.Authorization = 'Bearer ' + token;
    return h;
  }

  /* GET base + path: {status, body} (body: the JSON, or null); status 0: no answer. */
  async function get(base, path) {
    let r;
    try {
      r = await fetch(base + path, { headers: headers(), cache: 'no-store' });
    } catch (e) {
      return { status: 0, body: null, error: String(e) };
    }
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    return { status: r.status, body };
  }

  function parseBlock(block) {
    const ev = { event: 'message', data: '', id: null };
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let v = c < 0 ? '' : line.slice(c + 1);
      if (v.startsWith(' ')) v = v.slice(1);
      if (field === 'event') ev.event = v;
      else if (field === 'data') ev.data += (ev.data ? '\n' : '') + v;
      else if (field === 'id') ev.id = v;
    }
    return ev;
  }

  /*
   * Follows base's /v1/events: onEvent(name, data) per event, onState(state)
   * with 'live', 'reconnecting', 'unauthorized'.  Returns {stop()}.
   */
  function stream(base, onEvent, onState) {
    let stopped = false, backoff = 1000, lastId = '', ctl = null;
    async function run() {
      while (!stopped) {
        try {
          const h = headers({ Accept: 'text/event-stream' });
          if (lastId) h['Last-Event-ID'] = lastId;
          ctl = new AbortController();
          const r = await fetch(base + '/v1/events', { headers: h, cache: 'no-store', signal: ctl.signal });
          if (r.status === 401) { onState('unauthorized'); return; }
          if (!r.ok || !r.body) throw new Error('HTTP ' + r.status);
          onState('live');
          backoff = 1000;
          const reader = r.body.getReader();
          const dec = new TextDecoder();
          let buf = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += dec.decode(value, { stream: true });
            let k;
            while ((k = buf.indexOf('\n\n')) >= 0) {
              const ev = parseBlock(buf.slice(0, k));
              buf = buf.slice(k + 2);
              if (ev.id !== null) lastId = ev.id;
              if (!ev.data) continue;
              let d;
              try { d = JSON.parse(ev.data); } catch (e) { continue; }
              onEvent(ev.event, d);
            }
          }
        } catch (e) {
          if (stopped) return;
        }
        onState('reconnecting');
        await new Promise(res => setTimeout(res, backoff));
        backoff = Math.min(backoff * 2, 30000);
      }
    }
    run();
    return { stop() { stopped = true; if (ctl) ctl.abort(); } };
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function bytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1048576).toFixed(1) + ' MiB';
  }

  function duration(s) {
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
    const m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (d) return d + 'd ' + h + 'h';
    if (h) return h + 'h ' + m + 'm';
    if (m) return m + 'm ' + sec + 's';
    return sec + 's';
  }

  return { get, stream, setToken, el, bytes, duration, token: () => token };
})();
