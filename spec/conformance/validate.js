#!/usr/bin/env node
// Validates recorded HTTP exchanges against an OpenAPI document with Prism's
// own validator (@stoplight/prism-http, the code `prism proxy --errors` runs):
// route, security, request (method, path, query, headers, body media type and
// length) and response (status, media type, headers, JSON body). For exchanges
// Prism's proxy cannot carry faithfully (binary request bodies, which it
// re-encodes as UTF-8), the exchange is recorded beside the client instead.
//
//   node validate.js <document.json> <exchanges.json>
//
// exchanges.json: [{method, path, headers: {lowercase: value}, body: latin-1
// string, response: {status, headers, body}}]. Prints one JSON array, one
// entry per exchange: {routed, input: [diag], output: [diag]}, diag =
// {severity: "error"|"warning"|..., message, code, path}.
'use strict';
const fs = require('fs');
const prismHttp = require('@stoplight/prism-http');
const route = require('@stoplight/prism-http/dist/router').default;
const { validateInput, validateOutput, validateSecurity } = require('@stoplight/prism-http/dist/validator');
const E = require('fp-ts/Either');

const SEVERITY = ['error', 'warning', 'information', 'hint'];
const diags = list => (list || []).map(d => ({
  severity: SEVERITY[d.severity] || String(d.severity),
  message: d.message,
  code: d.code === undefined ? null : d.code,
  path: d.path || [],
}));
const left = e => (E.isLeft(e) ? e.left : []);

function parseUrl(target) {
  const u = new URL(target, 'http://recorded.invalid');
  const query = {};
  for (const [k, v] of u.searchParams) (query[k] = query[k] || []).push(v);
  return { path: decodeURIComponent(u.pathname), query };
}

function responseBody(res) {
  const ct = (res.headers['content-type'] || '').toLowerCase();
  if (/[/+]json\b/.test(ct)) {
    try { return JSON.parse(res.body); } catch (e) { return res.body; }
  }
  return res.body;
}

async function main() {
  const [docPath, exPath] = process.argv.slice(2);
  const operations = await prismHttp.getHttpOperationsFromSpec(docPath);
  const exchanges = JSON.parse(fs.readFileSync(exPath, 'utf8'));
  const out = exchanges.map(x => {
    const request = {
      method: x.method.toLowerCase(),
      url: parseUrl(x.path),
      headers: x.headers,
      body: x.body === '' ? undefined : x.body,
    };
    const routed = route({ resources: operations, input: request });
    if (E.isLeft(routed)) {
      return { routed: false, input: [{ severity: 'error', message: String(routed.left.message || routed.left), code: null, path: [] }], output: [] };
    }
    const resource = routed.right;
    const input = diags([...left(validateSecurity({ resource, element: request })),
                         ...left(validateInput({ resource, element: request }))]);
    const response = { statusCode: x.response.status, headers: x.response.headers, body: responseBody(x.response) };
    const output = diags(left(validateOutput({ resource, element: response })));
    return { routed: true, operation: resource.iid || resource.id, input, output };
  });
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch(e => { console.error(e && e.stack || e); process.exit(2); });
