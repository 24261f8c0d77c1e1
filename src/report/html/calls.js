(function () {
  // The call table from the rows' data (the calls-data block): pages of D.page rows, sorted by the
  // clicked column, narrowed by the search box. Rows are built with text nodes: the data is never
  // markup. When the first page is up, the document says how long it took (data-rendered, ms).
  var data = document.getElementById('calls-data'), table = document.getElementById('call-table');
  if (!data || !table) return;
  var D = JSON.parse(data.textContent);
  var body = table.tBodies[0], rows = D.rows, view = rows, page = 0, size = D.page;
  var bar = document.getElementById('calls-bar'), search = document.getElementById('call-search');
  var info = document.getElementById('call-info');
  var prev = document.getElementById('call-prev'), next = document.getElementById('call-next');
  bar.hidden = false;
  function ms(v) {
    if (v === null) return '-';
    if (v < 1) return Math.round(v * 1000) + ' \u00b5s';
    if (v < 1000) return Math.round(v) + ' ms';
    if (v < 60000) return (v / 1000).toFixed(1) + ' s';
    var s = Math.round(v / 1000);
    return Math.floor(s / 60) + ' min ' + ('0' + (s % 60)).slice(-2) + ' s';
  }
  function clock(ms) {
    var d = ((ms % 86400000) + 86400000) % 86400000, p = function (v, n) { return ('00' + v).slice(-n); };
    return p(Math.floor(d / 3600000), 2) + ':' + p(Math.floor(d / 60000) % 60, 2) + ':' +
      p(Math.floor(d / 1000) % 60, 2) + '.' + p(d % 1000, 3);
  }
  function status(r) { return r[5] === null ? '' : D.statuses[r[5]]; }
  function text(r) {
    if (r.t === undefined) {
      var code = r[9] === null ? '' : D.codes[r[9]];
      r.t = [r[0], r[2], r[3], D.states[r[4]], status(r), code, r[11], r[12]].join(' ').toLowerCase();
    }
    return r.t;
  }
  function digits(s) { return s.replace(/[-.() ]/g, '').replace(/^\+/, '').replace(/^0+/, ''); }
  function cell(tr, content, cls, href) {
    var td = document.createElement('td');
    if (cls) td.className = cls;
    var into = td;
    if (href) { into = document.createElement('a'); into.href = href; td.appendChild(into); }
    if (typeof content === 'string') into.appendChild(document.createTextNode(content));
    else into.appendChild(content);
    tr.appendChild(td);
  }
  function span(cls, content) {
    var s = document.createElement('span');
    s.className = cls;
    s.appendChild(typeof content === 'string' ? document.createTextNode(content) : content);
    return s;
  }
  function render() {
    var pages = Math.max(1, Math.ceil(view.length / size));
    page = Math.min(page, pages - 1);
    var frag = document.createDocumentFragment(), end = Math.min(view.length, (page + 1) * size);
    for (var i = page * size; i < end; i++) {
      var r = view[i], tr = document.createElement('tr'), sev = D.severities[r[8]];
      tr.className = 'sev-' + sev;
      cell(tr, String(r[0]), 'num', r[13] ? '#call-' + r[0] : null);
      cell(tr, clock(r[1]), 'mono');
      cell(tr, r[2] + ' \u2192 ' + r[3]);
      cell(tr, span('badge st-' + D.states[r[4]], D.states[r[4]].replace('_', ' ')));
      cell(tr, status(r) || '\u2013');
      cell(tr, ms(r[6]), 'num');
      cell(tr, ms(r[7]), 'num');
      if (r[9] === null) cell(tr, '\u2013');
      else {
        var chip = span('chip ' + sev, document.createElement('code'));
        chip.firstChild.appendChild(document.createTextNode(D.codes[r[9]]));
        if (r[10] !== null) chip.title = D.patterns[r[10]];
        cell(tr, chip, null, r[10] !== null ? '#pattern-' + (r[10] + 1) : null);
      }
      frag.appendChild(tr);
    }
    body.textContent = '';
    body.appendChild(frag);
    info.textContent = view.length ? (page * size + 1) + '\u2013' + end + ' of ' + view.length +
      (view.length < rows.length ? ' (of ' + rows.length + ' calls)' : ' calls') : 'no call matches';
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }
  var keys = [
    function (r) { return r[0]; }, function (r) { return r[0]; },
    function (r) { return (r[2] + ' ' + r[3]).toLowerCase(); }, function (r) { return r[4]; },
    function (r) { return parseInt(status(r), 10) || 0; },
    function (r) { return r[6] === null ? -1 : r[6]; }, function (r) { return r[7] === null ? -1 : r[7]; },
    function (r) { return r[8] * 1000 + (r[9] === null ? 999 : r[9]); }
  ];
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    th.addEventListener('click', function () {
      var k = keys[col], d = th.dataset.dir === 'a' ? -1 : 1;
      th.dataset.dir = d > 0 ? 'a' : 'd';
      view = view.slice().sort(function (x, y) {
        var a = k(x), b = k(y);
        return (a < b ? -1 : a > b ? 1 : x[0] - y[0]) * d;
      });
      page = 0;
      render();
    });
  });
  var pending;
  search.addEventListener('input', function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      var q = search.value.trim().toLowerCase(), dq = /^[+0-9() .-]+$/.test(q) ? digits(q) : '';
      view = !q ? rows : rows.filter(function (r) {
        return text(r).indexOf(q) >= 0 ||
          (dq && (digits(r[2]).indexOf(dq) >= 0 || digits(r[3]).indexOf(dq) >= 0));
      });
      page = 0;
      render();
    }, 150);
  });
  prev.addEventListener('click', function () { page--; render(); });
  next.addEventListener('click', function () { page++; render(); });
  render();
  document.documentElement.setAttribute('data-rendered', Math.round(performance.now()));
})();
