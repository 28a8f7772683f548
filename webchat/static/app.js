/* The chat page. Text from the bot arrives as a tree of allow-listed nodes (webchat/
   telegram_html.py) and is built with createElement/textContent only: no innerHTML anywhere.
   Resume: `seq` is the last event applied; a reload asks /api/start for the current state,
   a dropped connection polls again from the same `seq`. Messages are upserted by id, so an
   event seen twice changes nothing. Sends carry a client id; the server drops a retried one. */
'use strict';
(function () {
  var T = {
    zh: {
      title: '在线办理', menu: '菜单', send: '发送', placeholder: '在这里输入…', attach: '添加照片或文件',
      phone_label: '您的手机号码', phone_send: '发送号码', offline: '网络已断开，正在重新连接…',
      too_big: '文件太大（最大 {mb} MB）。', uploading: '正在上传', edited: '已修改',
      download: '下载文件', no_commands: '暂无命令', failed: '发送失败，请稍后再试。',
      bad_phone: '请填写正确的手机号码。', lang_other: 'English', menu_close: '关闭菜单'
    },
    en: {
      title: 'Online services', menu: 'Menu', send: 'Send', placeholder: 'Type here…', attach: 'Add a photo or file',
      phone_label: 'Your mobile number', phone_send: 'Send number', offline: 'Connection lost, reconnecting…',
      too_big: 'The file is too large (at most {mb} MB).', uploading: 'Uploading', edited: 'edited',
      download: 'Download file', no_commands: 'No commands yet', failed: 'Could not send; please try again later.',
      bad_phone: 'Please enter a valid mobile number.', lang_other: '中文', menu_close: 'Close menu'
    }
  };
  var TAGS = { b: 'b', i: 'i', u: 'u', s: 's', code: 'code', pre: 'pre', blockquote: 'blockquote', a: 'a', span: 'span', spoiler: 'span' };
  var locale = 'zh';
  var seq = 0;
  var maxUpload = 20 * 1024 * 1024;
  var shown = {};
  var $ = function (id) { return document.getElementById(id); };
  var log = $('log');

  function t(key) { return (T[locale] || T.zh)[key] || key; }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function clientId() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function applyLocale() {
    document.documentElement.lang = locale === 'en' ? 'en' : 'zh-CN';
    document.querySelectorAll('[data-t]').forEach(function (node) {
      if (node.id === 'file') return;
      if (node.classList.contains('attach')) { node.title = t(node.dataset.t); node.setAttribute('aria-label', t(node.dataset.t)); return; }
      node.textContent = t(node.dataset.t);
    });
    $('text').placeholder = t('placeholder');
    $('lang-btn').textContent = t('lang_other');
    $('lang-btn').lang = locale === 'en' ? 'zh-CN' : 'en';
  }

  /* ---------------------------------------------------------------- rendering */

  function build(nodes, parent, depth) {
    if (!Array.isArray(nodes) || depth > 20) return;
    nodes.forEach(function (node) {
      if (typeof node === 'string') { parent.appendChild(document.createTextNode(node)); return; }
      if (!node || typeof node !== 'object') return;
      var tag = TAGS[node.t];
      if (!tag) { build(node.c, parent, depth + 1); return; }
      var el = document.createElement(tag);
      if (node.t === 'spoiler') {
        el.className = 'spoiler';
        el.addEventListener('click', function () { el.classList.add('shown'); });
      }
      if (tag === 'a') {
        var href = typeof node.href === 'string' ? node.href : '';
        if (/^https?:\/\//i.test(href)) {
          el.href = href; el.rel = 'noopener noreferrer nofollow'; el.target = '_blank';
        } else { el = document.createElement('span'); }
      }
      build(node.c, el, depth + 1);
      parent.appendChild(el);
    });
  }

  function fileLink(view) {
    var url = '/api/file/' + encodeURIComponent(view.id);
    if (view.kind === 'photo') {
      var img = document.createElement('img');
      img.src = url + '?inline=1';
      img.alt = '';
      return img;
    }
    var a = document.createElement('a');
    a.className = 'file';
    a.href = url;
    a.setAttribute('download', '');
    a.textContent = '📄 ' + ((view.file && view.file.name) || t('download'));
    return a;
  }

  function renderMessage(view) {
    var box = document.createElement('div');
    box.className = 'msg ' + (view.mine ? 'mine' : 'bot');
    box.dataset.id = view.id;
    if (view.file) {
      box.appendChild(fileLink(view));
      if (view.rich && view.rich.length) box.appendChild(document.createElement('br'));
    }
    if (view.kind === 'contact') box.appendChild(document.createTextNode('📱 '));
    build(view.rich || [], box, 0);
    if (view.edited && !view.mine) {
      var mark = document.createElement('div');
      mark.className = 'edited';
      mark.textContent = t('edited');
      box.appendChild(mark);
    }
    if (view.buttons && view.buttons.length) {
      var wrap = document.createElement('div');
      wrap.className = 'buttons';
      view.buttons.forEach(function (row) {
        var line = document.createElement('div');
        line.className = 'row';
        row.forEach(function (button) {
          if (button.url) {
            var link = document.createElement('a');
            link.className = 'inline-btn';
            link.href = /^https?:\/\//i.test(button.url) ? button.url : '#';
            link.rel = 'noopener noreferrer nofollow';
            link.target = '_blank';
            link.textContent = button.text;
            line.appendChild(link);
            return;
          }
          var b = document.createElement('button');
          b.type = 'button';
          b.className = 'inline-btn';
          b.textContent = button.text;
          b.addEventListener('click', function () { press(view.id, button.data, b); });
          line.appendChild(b);
        });
        wrap.appendChild(line);
      });
      box.appendChild(wrap);
    }
    return box;
  }

  function upsert(view) {
    var old = shown[view.id];
    var box = renderMessage(view);
    if (old && old.parentNode) {
      old.parentNode.replaceChild(box, old);
    } else {
      var next = null;
      Object.keys(shown).forEach(function (id) {
        if (Number(id) > view.id && (!next || Number(next.dataset.id) > Number(id))) next = shown[id];
      });
      log.insertBefore(box, next);
      box.scrollIntoView({ block: 'end' });
    }
    shown[view.id] = box;
  }

  function remove(id) {
    var old = shown[id];
    if (old && old.parentNode) old.parentNode.removeChild(old);
    delete shown[id];
  }

  function setKeyboard(keyboard) {
    var box = $('keyboard');
    while (box.firstChild) box.removeChild(box.firstChild);
    var wantsPhone = false;
    if (keyboard && keyboard.rows) {
      keyboard.rows.forEach(function (row) {
        var line = document.createElement('div');
        line.className = 'row';
        row.forEach(function (button) {
          var b = document.createElement('button');
          b.type = 'button';
          b.className = 'kb-btn';
          b.textContent = button.text;
          if (button.contact) {
            wantsPhone = true;
            b.addEventListener('click', function () { $('phone-form').hidden = false; $('phone').focus(); });
          } else {
            b.addEventListener('click', function () { queue({ kind: 'text', text: button.text }); });
          }
          line.appendChild(b);
        });
        box.appendChild(line);
      });
    }
    box.hidden = !box.firstChild;
    $('phone-form').hidden = !wantsPhone;
  }

  var toastTimer = null;
  function toast(text, alert) {
    var box = $('toast');
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, alert ? 6000 : 2500);
  }
  $('toast').addEventListener('click', function () { $('toast').hidden = true; });

  function setOnline(online) {
    var status = $('status');
    status.hidden = online;
    if (!online) status.textContent = t('offline');
  }

  function apply(event) {
    if (event.type === 'message') upsert(event.message);
    else if (event.type === 'delete') remove(event.id);
    else if (event.type === 'keyboard') setKeyboard(event.keyboard);
    else if (event.type === 'toast') toast(event.text, event.alert);
    if (event.seq > seq) seq = event.seq;
  }

  /* ---------------------------------------------------------------- server */

  function request(method, path, body) {
    var init = { method: method, credentials: 'same-origin', headers: { 'X-WebChat': '1' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init);
  }

  async function start() {
    for (var attempt = 0; ; attempt++) {
      try {
        var response = await request('POST', '/api/start', { locale: localStorage.getItem('wc_locale') || 'zh' });
        if (response.status === 429) { await sleep(1000 * (Number(response.headers.get('Retry-After')) || 2)); continue; }
        var state = await response.json();
        locale = state.locale === 'en' ? 'en' : 'zh';
        maxUpload = state.max_upload_bytes || maxUpload;
        applyLocale();
        Object.keys(shown).forEach(remove);
        state.messages.forEach(upsert);
        setKeyboard(state.keyboard);
        seq = state.seq;
        setOnline(true);
        return;
      } catch (e) {
        setOnline(false);
        await sleep(Math.min(10000, 500 * Math.pow(2, attempt)));
      }
    }
  }

  async function poll() {
    var failures = 0;
    for (;;) {
      try {
        var response = await request('GET', '/api/events?after=' + seq);
        if (response.status === 401) { await start(); continue; }
        if (response.status === 429) { await sleep(1000 * (Number(response.headers.get('Retry-After')) || 2)); continue; }
        if (!response.ok) throw new Error('status ' + response.status);
        var body = await response.json();
        body.events.forEach(apply);
        failures = 0;
        setOnline(true);
        window.dispatchEvent(new Event('wc-idle'));
      } catch (e) {
        failures++;
        setOnline(false);
        await sleep(Math.min(10000, 500 * Math.pow(2, failures)));
      }
    }
  }

  /* Sends wait in sessionStorage until the server confirms them: a reload or a network drop
     sends them again with the same client id, and the server keeps only one. */
  function outbox() {
    try { return JSON.parse(sessionStorage.getItem('wc_outbox') || '[]'); } catch (e) { return []; }
  }
  function saveOutbox(items) { sessionStorage.setItem('wc_outbox', JSON.stringify(items)); }
  var flushing = false;

  function queue(item) {
    item.client_id = clientId();
    var items = outbox();
    items.push(item);
    saveOutbox(items);
    flush();
  }

  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      for (var items = outbox(); items.length; items = outbox()) {
        var item = items[0];
        var path = item.kind === 'contact' ? '/api/contact' : '/api/message';
        var body = item.kind === 'contact' ? { phone: item.phone, client_id: item.client_id } : { text: item.text, client_id: item.client_id };
        var response;
        try {
          response = await request('POST', path, body);
        } catch (e) {
          setOnline(false);
          await sleep(2000);
          continue;
        }
        if (response.status === 429) { await sleep(1000 * (Number(response.headers.get('Retry-After')) || 2)); continue; }
        if (response.status === 401) { await start(); continue; }
        if (!response.ok) {
          toast(item.kind === 'contact' ? t('bad_phone') : t('failed'), true);
          if (item.kind === 'contact') $('phone-form').hidden = false;
        }
        saveOutbox(outbox().slice(1));
      }
    } finally {
      flushing = false;
    }
  }

  async function press(messageId, data, button) {
    button.disabled = true;
    try {
      for (var attempt = 0; attempt < 5; attempt++) {
        try {
          var response = await request('POST', '/api/press', { message_id: messageId, data: data });
          if (response.status === 429) { await sleep(1000 * (Number(response.headers.get('Retry-After')) || 2)); continue; }
          return;
        } catch (e) { await sleep(1000); }
      }
    } finally {
      setTimeout(function () { button.disabled = false; }, 800);
    }
  }

  function upload(file) {
    if (file.size > maxUpload) { toast(t('too_big').replace('{mb}', Math.floor(maxUpload / 1048576)), true); return; }
    var photo = /^image\/(jpeg|png)$/.test(file.type) ? '1' : '0';
    var url = '/api/upload?client_id=' + clientId() + '&photo=' + photo + '&name=' + encodeURIComponent(file.name);
    var xhr = new XMLHttpRequest();
    var box = $('upload');
    $('upload-label').textContent = t('uploading');
    $('upload-progress').value = 0;
    box.hidden = false;
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) $('upload-progress').value = Math.round(100 * e.loaded / e.total); };
    xhr.onloadend = function () {
      box.hidden = true;
      if (xhr.status === 413) toast(t('too_big').replace('{mb}', Math.floor(maxUpload / 1048576)), true);
      else if (xhr.status !== 200) toast(t('failed'), true);
    };
    xhr.open('POST', url);
    xhr.setRequestHeader('X-WebChat', '1');
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.send(file);
  }

  async function showMenu() {
    var menu = $('menu');
    if (!menu.hidden) { menu.hidden = true; $('menu-btn').setAttribute('aria-expanded', 'false'); return; }
    while (menu.firstChild) menu.removeChild(menu.firstChild);
    var commands = [];
    try { commands = (await (await request('GET', '/api/commands')).json()).commands || []; } catch (e) { commands = []; }
    if (!commands.length) { var none = document.createElement('p'); none.textContent = t('no_commands'); menu.appendChild(none); }
    commands.forEach(function (c) {
      var b = document.createElement('button');
      b.type = 'button';
      var name = document.createElement('span');
      name.className = 'cmd';
      name.textContent = '/' + c.command;
      b.appendChild(name);
      b.appendChild(document.createTextNode(c.description));
      b.addEventListener('click', function () {
        menu.hidden = true;
        $('menu-btn').setAttribute('aria-expanded', 'false');
        queue({ kind: 'text', text: '/' + c.command });
      });
      menu.appendChild(b);
    });
    menu.hidden = false;
    $('menu-btn').setAttribute('aria-expanded', 'true');
  }

  /* ---------------------------------------------------------------- wiring */

  $('composer').addEventListener('submit', function (e) {
    e.preventDefault();
    var text = $('text').value.trim();
    if (!text) return;
    $('text').value = '';
    queue({ kind: 'text', text: text });
  });
  $('text').addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); $('composer').requestSubmit ? $('composer').requestSubmit() : $('send').click(); }
  });
  $('phone-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var phone = $('phone').value.trim();
    if (!/^\+?[0-9][0-9 \-]{4,22}$/.test(phone)) { toast(t('bad_phone'), true); return; }
    $('phone').value = '';
    $('phone-form').hidden = true;
    queue({ kind: 'contact', phone: phone });
  });
  $('file').addEventListener('change', function () {
    var file = $('file').files[0];
    $('file').value = '';
    if (file) upload(file);
  });
  $('menu-btn').addEventListener('click', showMenu);
  $('lang-btn').addEventListener('click', async function () {
    var next = locale === 'en' ? 'zh' : 'en';
    try {
      var response = await request('POST', '/api/locale', { locale: next });
      if (response.ok) { locale = next; localStorage.setItem('wc_locale', next); applyLocale(); }
    } catch (e) { setOnline(false); }
  });
  window.addEventListener('online', function () { flush(); });

  applyLocale();
  start().then(function () { flush(); poll(); });
})();
