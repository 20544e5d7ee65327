/* latchkey API reference: renders /openapi.json (OpenAPI 3.1), no libraries.
 * Document text reaches the DOM only via createElement / text nodes. */
(() => {
'use strict';

const SPEC_URL = '/openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const IN_ORDER = { path: 0, query: 1, header: 2, cookie: 3 };
const EAGER_DEPTH = 3; // schema tree levels rendered open; deeper ones render when expanded
const MAX_DEPTH = 40;
const SCHEMA_PREFIX = '#/components/schemas/';

let doc = {};
const used = new Set(['sidebar', 'brand', 'filter', 'filter-count', 'toc', 'content', 'loading', 'schemas']);
const schemaIds = new Map();

const $ = (id) => document.getElementById(id);
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const entries = (v) => (isObj(v) ? Object.entries(v) : []);
const nonEmpty = (o) => isObj(o) && Object.keys(o).length > 0;
const str = (v) => (typeof v === 'string' ? v : '');

// strings become text nodes; null/false/'' skipped; arrays flattened
function add(n, kids) {
  for (const k of kids.flat(Infinity)) {
    if (k != null && k !== false && k !== '') n.append(k instanceof Node ? k : String(k));
  }
  return n;
}

function el(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') n.className = v;
    else n.setAttribute(k, String(v));
  }
  return add(n, kids);
}

const pill = (t) => el('span', { class: 'pill' }, t);
const depPill = () => el('span', { class: 'pill warn' }, 'deprecated');
const muted = (...k) => el('div', { class: 'muted' }, k);

const safeUrl = (u) => (typeof u === 'string' && /^https?:\/\//i.test(u) ? u : null);

// plain text + `code` spans + [text](https://…) links; never parsed as HTML
function richText(text, cls = 'desc') {
  if (typeof text !== 'string' || !text.trim()) return null;
  const out = el('div', { class: cls });
  for (const part of text.split(/(`[^`\n]+`|\[[^\]\n]+\]\(https?:\/\/[^\s)]+\))/)) {
    const m = /^\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)$/.exec(part);
    if (/^`.+`$/.test(part)) out.append(el('code', null, part.slice(1, -1)));
    else if (m) out.append(el('a', { href: m[2], rel: 'noopener noreferrer' }, m[1]));
    else if (part) out.append(part);
  }
  return out;
}

function fmtVal(v, max = 160) {
  let s;
  try { s = JSON.stringify(v); } catch (_) { /* below */ }
  s = s === undefined ? String(v) : s;
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

const slug = (s) => String(s).replace(/[^A-Za-z0-9_.:-]+/g, '-').replace(/-{2,}/g, '-').replace(/^-|-$/g, '') || 'item';

function uniqueId(base) {
  let id = base;
  for (let i = 2; used.has(id); i++) id = `${base}-${i}`;
  used.add(id);
  return id;
}

/* ---------- $ref resolution ---------- */

function unescapeToken(p) {
  try { p = decodeURIComponent(p); } catch (_) { /* keep raw */ }
  return p.replace(/~1/g, '/').replace(/~0/g, '~');
}

function resolvePointer(ref) {
  if (typeof ref !== 'string' || ref[0] !== '#') return undefined; // only local refs
  let cur = doc;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const p = unescapeToken(raw);
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, p)) return undefined;
    cur = cur[p];
  }
  return cur;
}

const refName = (ref) => unescapeToken(String(ref).split('/').pop());

// Follows $ref chains (siblings of $ref override the target, as in 3.1).
// `seen`: refs already expanded on the current tree path, for cycle protection.
function deref(x, seen = new Set()) {
  let ref = null;
  let extra = null;
  for (let hops = 0; isObj(x) && typeof x.$ref === 'string' && hops < 32; hops++) {
    const r = x.$ref;
    if (seen.has(r)) return { v: x, ref: r, cyclic: true, seen };
    const { $ref, ...rest } = x;
    if (Object.keys(rest).length) extra = { ...rest, ...extra };
    seen = new Set(seen).add(r);
    ref = ref || r;
    x = resolvePointer(r);
    if (x === undefined) return { v: extra || {}, ref: r, missing: true, seen };
  }
  if (extra && isObj(x)) x = { ...x, ...extra };
  return { v: x, ref, seen };
}

function refLink(ref) {
  const name = refName(ref);
  return ref.startsWith(SCHEMA_PREFIX) && schemaIds.has(name)
    ? el('a', { class: 'ref', href: '#' + schemaIds.get(name) }, name)
    : el('span', { class: 'ref', title: ref }, name);
}

/* ---------- schema tree ---------- */

const jsonType = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array'
  : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v);

function typesOf(s) {
  if (s === true) return ['any'];
  if (s === false) return ['never'];
  if (!isObj(s)) return [];
  let t = Array.isArray(s.type) ? s.type.map(String) : s.type ? [String(s.type)] : [];
  if (!t.length) {
    if (s.properties || s.additionalProperties || s.patternProperties) t = ['object'];
    else if (s.items || s.prefixItems) t = ['array'];
    else if ('const' in s) t = [jsonType(s.const)];
    else if (Array.isArray(s.enum) && s.enum.length) t = [...new Set(s.enum.map(jsonType))];
  }
  if (s.nullable === true && !t.includes('null')) t.push('null'); // OpenAPI 3.0 style
  return t;
}

function itemLabel(items, depth) {
  if (isObj(items) && typeof items.$ref === 'string') return refName(items.$ref);
  const l = typeLabel(items, depth);
  if (l) return l;
  const k = isObj(items) && ['oneOf', 'anyOf', 'allOf'].find((c) => Array.isArray(items[c]));
  return k ? k + '[…]' : 'any';
}

function typeLabel(s, depth = 0) {
  return typesOf(s).map((t) => (t === 'array' && isObj(s) && s.items !== undefined && depth < 3
    ? `array<${itemLabel(s.items, depth + 1)}>` : t)).join(' | ');
}

function range(lo, hi) {
  if (lo != null && hi != null) return lo === hi ? `${lo}` : `${lo}..${hi}`;
  return lo != null ? `≥ ${lo}` : `≤ ${hi}`;
}

function constraints(s) {
  const c = [];
  if (!isObj(s)) return c;
  if (s.minimum != null) c.push(`${s.exclusiveMinimum === true ? '>' : '≥'} ${s.minimum}`);
  if (typeof s.exclusiveMinimum === 'number') c.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum != null) c.push(`${s.exclusiveMaximum === true ? '<' : '≤'} ${s.maximum}`);
  if (typeof s.exclusiveMaximum === 'number') c.push(`< ${s.exclusiveMaximum}`);
  if (s.multipleOf != null) c.push(`multiple of ${s.multipleOf}`);
  if (s.minLength != null || s.maxLength != null) c.push(`length ${range(s.minLength, s.maxLength)}`);
  if (typeof s.pattern === 'string') c.push(`pattern ${s.pattern}`);
  if (s.minItems != null || s.maxItems != null) c.push(`items ${range(s.minItems, s.maxItems)}`);
  if (s.uniqueItems) c.push('unique items');
  if ('const' in s) c.push(`const ${fmtVal(s.const)}`);
  if ('default' in s) c.push(`default ${fmtVal(s.default)}`);
  if (s.readOnly) c.push('read-only');
  if (s.writeOnly) c.push('write-only');
  return c;
}

const complexItems = (it) => isObj(it) && ['$ref', 'properties', 'items', 'prefixItems', 'oneOf', 'anyOf', 'allOf',
  'not', 'description', 'additionalProperties', 'patternProperties'].some((k) => it[k] !== undefined);

const COMBOS = { allOf: 'all of', oneOf: 'one of', anyOf: 'any of' };

function hasChildren(s) {
  return isObj(s) && (nonEmpty(s.properties) || nonEmpty(s.patternProperties) || nonEmpty(s.additionalProperties) ||
    Array.isArray(s.prefixItems) || complexItems(s.items) || s.not !== undefined ||
    Object.keys(COMBOS).some((k) => Array.isArray(s[k]) && s[k].length > 0));
}

function children(s, seen, depth) {
  const out = [];
  const o = { seen, depth };
  const req = Array.isArray(s.required) ? s.required : [];
  for (const [k, v] of entries(s.properties)) out.push(node(k, v, { ...o, required: req.includes(k) }));
  for (const [k, v] of entries(s.patternProperties)) out.push(node(`/${k}/`, v, o));
  if (nonEmpty(s.additionalProperties)) out.push(node('[key: string]', s.additionalProperties, o));
  if (Array.isArray(s.prefixItems)) s.prefixItems.forEach((v, i) => out.push(node(`[${i}]`, v, o)));
  if (complexItems(s.items)) out.push(node('[ ]', s.items, o));
  for (const [k, word] of Object.entries(COMBOS)) {
    if (!Array.isArray(s[k]) || !s[k].length) continue;
    const disc = k !== 'allOf' && isObj(s.discriminator) && s.discriminator.propertyName
      ? ` (discriminator: ${s.discriminator.propertyName})` : '';
    out.push(el('li', { class: 'leaf' }, el('span', { class: 'combo' }, `${word}${disc}:`),
      el('ul', null, s[k].map((v) => node(null, v, o)))));
  }
  if (s.not !== undefined) {
    out.push(el('li', { class: 'leaf' }, el('span', { class: 'combo' }, 'not:'), el('ul', null, node(null, s.not, o))));
  }
  return out;
}

const enumLine = (label, vals) => el('div', { class: 'enum' }, label + vals.map((v) => fmtVal(v, 80)).join(', '));

// One tree line (name, type, constraints, notes) with collapsible children.
function node(label, raw, { required = false, seen = new Set(), depth = 0 } = {}) {
  const d = deref(raw, seen);
  const s = d.v;
  const S = isObj(s) ? s : {};
  const line = el('span', { class: 'line' }, label != null && [el('span', { class: 'pname' }, label),
    required && el('span', { class: 'req', title: 'required' }, '*'), ': '], d.ref && [refLink(d.ref), ' ']);
  if (d.cyclic) return el('li', { class: 'leaf' }, add(line, [el('span', { class: 'cycle' }, '↻ circular reference')]));
  const tl = typeLabel(s) || (!d.ref && !hasChildren(s) ? 'any' : '');
  const itemFmt = isObj(S.items) && !complexItems(S.items) && S.items;
  add(line, [
    d.missing && el('span', { class: 'cycle' }, '(unresolved reference)'),
    tl && el('span', { class: 'type' }, tl),
    typeof S.format === 'string' ? [' ', el('span', { class: 'fmt' }, `(${S.format})`)]
      : itemFmt && typeof itemFmt.format === 'string' && [' ', el('span', { class: 'fmt' }, `(items: ${itemFmt.format})`)],
    constraints(S).map((c) => [' ', pill(c)]),
    S.deprecated && [' ', depPill()],
  ]);
  const ex = Array.isArray(S.examples) ? S.examples : 'example' in S ? [S.example] : [];
  const info = [
    typeof S.title === 'string' && !d.ref && el('div', { class: 'sdesc' }, S.title),
    richText(S.description, 'sdesc'),
    Array.isArray(S.enum) && enumLine('enum: ', S.enum),
    itemFmt && Array.isArray(itemFmt.enum) && enumLine('item enum: ', itemFmt.enum),
    ex.length > 0 && el('div', { class: 'fmt' }, (ex.length > 1 ? 'examples: ' : 'example: ') + ex.map((v) => fmtVal(v)).join(', ')),
  ];
  if (!hasChildren(s)) return el('li', { class: 'leaf' }, line, info);
  if (depth >= MAX_DEPTH) return el('li', { class: 'leaf' }, line, info, el('div', { class: 'cycle' }, '… nesting too deep'));
  const det = el('details', null, el('summary', null, line, info));
  const fill = () => det.append(el('ul', null, children(s, d.seen, depth + 1)));
  if (depth < EAGER_DEPTH) {
    det.open = true;
    fill();
  } else {
    det.addEventListener('toggle', function once() {
      if (!det.open) return;
      det.removeEventListener('toggle', once);
      fill();
    });
  }
  return el('li', null, det);
}

const schemaBox = (schema, seen) => el('div', { class: 'schema' }, el('ul', null, node(null, schema, { seen })));

/* ---------- operation parts ---------- */

function exampleEl(label, value, desc) {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return el('div', null, el('div', { class: 'example-label' }, label), richText(desc, 'sdesc'),
    el('pre', { class: 'example' }, text === undefined ? String(value) : text));
}

function examplesOf(media) {
  const out = ['example' in media && exampleEl('Example', media.example)];
  for (const [name, raw] of entries(media.examples)) {
    const ex = deref(raw).v;
    if (!isObj(ex)) continue;
    const label = `Example: ${ex.summary || name}`;
    if ('value' in ex) out.push(exampleEl(label, ex.value, ex.description));
    else if (typeof ex.externalValue === 'string') out.push(el('div', { class: 'example-label' }, `${label} (external: ${ex.externalValue})`));
  }
  return out;
}

const contentBlock = (content) => entries(content).map(([ct, media]) => {
  const m = isObj(media) ? media : {};
  return el('div', { class: 'media' }, el('span', { class: 'ctype' }, ct), m.schema !== undefined && schemaBox(m.schema), examplesOf(m));
});

function typeCell(holder) {
  if (isObj(holder.content)) return el('td', { class: 'mono' }, Object.keys(holder.content).join(', '));
  const d = deref(holder.schema);
  const fmt = isObj(d.v) && typeof d.v.format === 'string' ? ` (${d.v.format})` : '';
  return el('td', { class: 'mono' }, d.ref && [refLink(d.ref), ' '], typeLabel(d.v) + fmt);
}

function table(heads, rows) {
  return el('table', null, el('thead', null, el('tr', null, heads.map((h) => el('th', { scope: 'col' }, h)))), el('tbody', null, rows));
}

function paramsTable(params) {
  return table(['Name', 'In', 'Type', 'Description'], params.map((p) => {
    const s = isObj(deref(p.schema).v) ? deref(p.schema).v : {};
    const cons = constraints(s);
    const exs = entries(p.examples).map(([n, raw]) => [n, deref(raw).v]).filter(([, ex]) => isObj(ex) && 'value' in ex);
    return el('tr', null,
      el('td', { class: 'name' }, String(p.name), p.required && el('span', { class: 'req', title: 'required' }, ' *'),
        p.deprecated && [' ', depPill()]),
      el('td', null, String(p.in)), typeCell(p),
      el('td', null, richText(p.description),
        Array.isArray(s.enum) && enumLine('enum: ', s.enum),
        cons.length > 0 && el('div', { class: 'muted mono' }, cons.join(' · ')),
        'example' in p && muted('Example: ', el('code', null, fmtVal(p.example))),
        exs.map(([n, ex]) => muted(`Example (${ex.summary || n}): `, el('code', null, fmtVal(ex.value)))),
        hasChildren(s) && schemaBox(p.schema)));
  }));
}

function collectParams(pathItem, op) {
  const map = new Map();
  for (const raw of [].concat(pathItem.parameters || [], op.parameters || [])) {
    const p = deref(raw).v;
    if (isObj(p) && p.name != null) map.set(`${p.in}:${p.name}`, p); // operation level overrides path level
  }
  return [...map.values()].sort((a, b) => (IN_ORDER[a.in] ?? 9) - (IN_ORDER[b.in] ?? 9));
}

function headersTable(headers) {
  const rows = entries(headers).map(([name, raw]) => [name, deref(raw).v]).filter(([, h]) => isObj(h))
    .map(([name, h]) => el('tr', null, el('td', { class: 'name' }, name, h.required && el('span', { class: 'req' }, ' *')),
      typeCell(h), el('td', null, richText(h.description))));
  return rows.length > 0 && table(['Header', 'Type', 'Description'], rows);
}

const codeRank = (c) => (c === 'default' ? 1000 : parseInt(c.replace(/X/gi, '0'), 10) || 999);

function responsesBlock(responses) {
  return Object.keys(isObj(responses) ? responses : {}).sort((a, b) => codeRank(a) - codeRank(b)).map((code) => {
    const r = deref(responses[code]).v;
    const ro = isObj(r) ? r : {};
    return el('div', { class: 'resp' },
      el('div', null, el('span', { class: 'status' + (/^[1-5]/.test(code) ? ` s${code[0]}` : '') }, code), ' ',
        el('span', { class: 'desc' }, str(ro.description))),
      headersTable(ro.headers), contentBlock(ro.content));
  });
}

function schemeText(name) {
  const c = isObj(doc.components) && isObj(doc.components.securitySchemes) ? doc.components.securitySchemes : {};
  const s = deref(c[name]).v;
  if (!isObj(s)) return '';
  if (s.type === 'http') return `HTTP ${str(s.scheme)}${s.bearerFormat ? ` (${s.bearerFormat})` : ''}`;
  if (s.type === 'apiKey') return `API key in ${s.in} "${s.name}"`;
  return { oauth2: 'OAuth 2.0', openIdConnect: 'OpenID Connect', mutualTLS: 'mutual TLS' }[s.type] || str(s.type);
}

function securityBlock(reqs) {
  if (!Array.isArray(reqs)) return null;
  const h = el('h4', null, 'Security');
  if (!reqs.length) return [h, muted('No authentication required.')];
  const items = reqs.map((req) => {
    const keys = Object.keys(isObj(req) ? req : {});
    if (!keys.length) return el('li', { class: 'muted' }, 'anonymous (no credentials)');
    return el('li', null, keys.map((k, i) => {
      const scopes = Array.isArray(req[k]) ? req[k] : [];
      const t = schemeText(k);
      return [i > 0 && ' and ', el('code', null, k), t && el('span', { class: 'muted' }, ` (${t})`),
        scopes.length > 0 && [' scopes: ', scopes.map((sc, j) => [j > 0 && ', ', el('code', null, String(sc))])]];
    }));
  });
  return [h, reqs.length > 1 && muted('Any one of:'), el('ul', null, items)];
}

const methodBadge = (m) => el('span', { class: `badge m-${m}` }, m.toUpperCase());

function renderOp({ method, path, op, pathItem, id }) {
  const ext = isObj(op.externalDocs) && safeUrl(op.externalDocs.url);
  const rb = op.requestBody !== undefined && deref(op.requestBody).v;
  const body = el('div', { class: 'op-body' },
    richText(op.description || pathItem.description),
    op.operationId && muted('operationId: ', el('code', null, String(op.operationId))),
    ext && el('div', null, el('a', { href: ext, rel: 'noopener noreferrer' }, str(op.externalDocs.description) || 'External documentation')));
  const params = collectParams(pathItem, op);
  if (params.length) add(body, [el('h4', null, 'Parameters'), paramsTable(params)]);
  if (isObj(rb)) {
    add(body, [el('h4', null, 'Request body ', pill(rb.required ? 'required' : 'optional')),
      richText(rb.description), contentBlock(rb.content)]);
  }
  if (op.responses !== undefined) add(body, [el('h4', null, 'Responses'), responsesBlock(op.responses)]);
  add(body, [securityBlock(op.security !== undefined ? op.security : doc.security)]);
  return el('section', { class: 'op' + (op.deprecated ? ' deprecated' : ''), id },
    el('div', { class: 'op-head' }, methodBadge(method), el('span', { class: 'path' }, path),
      op.summary && el('span', { class: 'summary' }, String(op.summary)),
      op.deprecated && depPill(),
      el('a', { class: 'anchor', href: '#' + id, title: 'Link to this operation' }, '#')),
    body);
}

/* ---------- page ---------- */

function collectOps() {
  const ops = [];
  for (const [path, raw] of entries(doc.paths)) {
    const pathItem = deref(raw).v;
    if (!isObj(pathItem)) continue;
    for (const method of METHODS) {
      const op = pathItem[method];
      if (!isObj(op)) continue;
      const tags = Array.isArray(op.tags) && op.tags.length ? op.tags.map(String) : ['default'];
      const id = uniqueId(op.operationId ? slug(op.operationId) : slug(`${method} ${path}`).toLowerCase());
      const hay = [method, path, op.summary, op.operationId, ...tags].filter(Boolean).join(' ').toLowerCase();
      ops.push({ method, path, op, pathItem, tags, id, hay, nodes: [] });
    }
  }
  return ops;
}

function render(spec) {
  doc = spec;
  const info = isObj(doc.info) ? doc.info : {};
  const title = str(info.title) || 'API reference';
  document.title = `${title} · API reference`;
  $('brand').textContent = title;

  const schemas = isObj(doc.components) && isObj(doc.components.schemas) ? doc.components.schemas : {};
  for (const name of Object.keys(schemas)) schemaIds.set(name, uniqueId('schema-' + slug(name)));

  const ops = collectOps();
  const tagInfo = new Map();
  for (const t of Array.isArray(doc.tags) ? doc.tags : []) if (isObj(t) && t.name != null) tagInfo.set(String(t.name), t);
  const groups = new Map([...tagInfo.keys()].map((k) => [k, []]));
  for (const o of ops) for (const t of o.tags) (groups.get(t) || groups.set(t, []).get(t)).push(o);

  const main = $('content');
  const toc = $('toc');
  const loading = $('loading');
  if (loading) loading.remove();

  const servers = Array.isArray(doc.servers) ? doc.servers.filter((s) => isObj(s) && s.url) : [];
  main.append(el('header', { class: 'info' },
    el('h1', null, title, ' ', info.version != null && el('span', { class: 'version' }, String(info.version))),
    info.summary && el('p', { class: 'muted' }, String(info.summary)),
    richText(info.description),
    servers.length > 0 && el('p', null, 'Servers: ', servers.map((s, i) => [i > 0 && ', ', el('code', null, String(s.url)),
      s.description && el('span', { class: 'muted' }, ` (${s.description})`)])),
    el('p', { class: 'muted' }, `OpenAPI ${doc.openapi || '?'} · raw document: `, el('a', { href: SPEC_URL }, SPEC_URL))));

  const boxes = []; // [element, ops] pairs hidden by the filter when none of their ops match
  for (const [tag, list] of groups) {
    if (!list.length) continue;
    const ul = el('ul', null, list.map((o) => {
      const li = el('li', null, el('a', { href: '#' + o.id, title: o.op.summary ? String(o.op.summary) : null },
        methodBadge(o.method), el('span', { class: 'path' }, o.path)));
      o.nodes.push(li);
      return li;
    }));
    const tocBox = el('div', null, el('h2', null, tag), ul);
    const sec = el('section', { class: 'tag-section' }, el('h2', null, tag), richText((tagInfo.get(tag) || {}).description));
    for (const o of list) {
      // An operation is rendered once, under its first tag; other tags link to it.
      const n = o.tags[0] === tag ? renderOp(o)
        : el('p', { class: 'muted' }, 'See ', el('a', { href: '#' + o.id }, `${o.method.toUpperCase()} ${o.path}`), ` (listed under ${o.tags[0]}).`);
      o.nodes.push(n);
      sec.append(n);
    }
    toc.append(tocBox);
    main.append(sec);
    boxes.push([tocBox, list], [sec, list]);
  }
  if (!ops.length) main.append(el('p', { class: 'muted' }, 'This document defines no operations.'));

  const schemaEntries = [];
  let schemaBoxes = [];
  if (schemaIds.size) {
    const tul = el('ul');
    const sec = el('section', { id: 'schemas', class: 'tag-section' }, el('h2', null, 'Schemas'));
    for (const [name, id] of schemaIds) {
      const tli = el('li', null, el('a', { href: '#' + id }, el('span', { class: 'path' }, name)));
      const self = SCHEMA_PREFIX + name.replace(/~/g, '~0').replace(/\//g, '~1');
      const item = el('div', { class: 'schema-item', id }, el('h3', null, name), schemaBox(schemas[name], new Set([self])));
      tul.append(tli);
      sec.append(item);
      schemaEntries.push({ hay: name.toLowerCase(), nodes: [tli, item] });
    }
    schemaBoxes = [el('div', null, el('h2', null, 'Schemas'), tul), sec];
    toc.append(schemaBoxes[0]);
    main.append(sec);
  }

  setupFilter(ops, boxes, schemaEntries, schemaBoxes);

  if (location.hash.length > 1) {
    const target = $(unescapeToken(location.hash.slice(1)));
    if (target) target.scrollIntoView();
  }
}

function setupFilter(ops, boxes, schemaEntries, schemaBoxes) {
  const input = $('filter');
  const count = $('filter-count');
  const apply = () => {
    const terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    const show = (item) => {
      const ok = terms.every((t) => item.hay.includes(t));
      for (const n of item.nodes) n.classList.toggle('hidden', !ok);
      return ok;
    };
    const visible = new Set(ops.filter(show));
    for (const [box, list] of boxes) box.classList.toggle('hidden', !list.some((o) => visible.has(o)));
    const nSchemas = schemaEntries.filter(show).length;
    for (const b of schemaBoxes) b.classList.toggle('hidden', nSchemas === 0);
    count.textContent = terms.length ? `${visible.size} of ${ops.length} operations`
      + (schemaEntries.length ? `, ${nSchemas} of ${schemaEntries.length} schemas` : '') : '';
  };
  input.addEventListener('input', apply);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && input.value) {
      input.value = '';
      apply();
    }
  });
  if (input.value) apply(); // value restored by the browser on reload
}

function showError(err) {
  const loading = $('loading');
  if (loading) loading.remove();
  $('content').append(el('div', { class: 'error', role: 'alert' },
    el('strong', null, 'Could not load the API description.'),
    el('div', null, String((err && err.message) || err)),
    el('p', null, 'The raw OpenAPI document may still be available at ', el('a', { href: SPEC_URL }, SPEC_URL), '.')));
}

async function start() {
  let spec;
  try {
    const res = await fetch(SPEC_URL, { headers: { Accept: 'application/json' }, cache: 'no-cache' });
    if (!res.ok) throw new Error(`The server answered ${res.status} ${res.statusText || ''}`.trim());
    const text = await res.text();
    try { spec = JSON.parse(text); } catch (e) { throw new Error(`The document is not valid JSON: ${e.message}`); }
    if (!isObj(spec)) throw new Error('The document is not a JSON object.');
  } catch (e) {
    showError(e);
    return;
  }
  try {
    render(spec);
  } catch (e) {
    console.error(e);
    showError(new Error(`Failed to render the document: ${e.message}`));
  }
}

start();
})();
