#!/usr/bin/env node
// The second judge of request bodies: Ajv (JSON Schema 2020-12, the dialect of
// OpenAPI 3.1) over Adobe's document, sharing no code with firefly/schema.lua
// or firefly/validate.lua. spec/validation_oracle_spec.lua asks it about every
// body of its corpus and fails where its verdict and the client's differ.
//
//   node judge.js <document.json> <cases.json>
//
// cases.json: [{path, method, body: JSON text, headers: {name: value}}]; a
// header is judged only when given (the client fills in a default itself).
// Prints one JSON array, one entry per case: {ok, errors: [{at, keyword, message}]},
// `at` being the dotted location as firefly writes it ("body.seeds.1",
// "header.x-model-version"), a missing property named in full.
'use strict';
const fs = require('fs');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats');

// Formats the document names that JSON Schema does not define. uuid4 is RFC
// 4122's textual form (as the standard "uuid" format) with version 4 and the
// RFC variant, which is what "a version 4 UUID" means; float and int32/int64
// are OpenAPI's numeric formats, which ajv-formats knows.
const UUID4 = /^(?:urn:uuid:)?[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

function makeAjv(doc) {
  // strict: false because OpenAPI adds keywords JSON Schema does not have
  // (example, discriminator, x-*): they carry no assertion.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addFormat('uuid4', UUID4);
  ajv.addFormat('binary', true);
  ajv.addSchema(doc, 'doc');
  return ajv;
}

const pointer = s => s.replace(/~/g, '~0').replace(/\//g, '~1');

function dotted(prefix, instancePath, err) {
  const parts = instancePath.split('/').slice(1).map(p => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (err && err.keyword === 'required') parts.push(err.params.missingProperty);
  return [prefix, ...parts].join('.');
}

function main() {
  const [docPath, casesPath] = process.argv.slice(2);
  const doc = JSON.parse(fs.readFileSync(docPath, 'utf8'));
  const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
  const ajv = makeAjv(doc);
  const compiled = new Map();
  const validator = ref => {
    if (!compiled.has(ref)) compiled.set(ref, ajv.getSchema('doc' + ref) || ajv.compile({ $ref: 'doc' + ref }));
    return compiled.get(ref);
  };
  const out = cases.map(c => {
    const method = (c.method || 'post').toLowerCase();
    const op = doc.paths[c.path] && doc.paths[c.path][method];
    if (!op) return { ok: false, errors: [{ at: 'path', keyword: 'path', message: `no ${method} ${c.path} in the document` }] };
    const errors = [];
    for (const [i, p] of (op.parameters || []).entries()) {
      if (p.in !== 'header') continue;
      const given = Object.keys(c.headers || {}).find(k => k.toLowerCase() === p.name.toLowerCase());
      if (given === undefined) continue;
      const v = validator(`#/paths/${pointer(c.path)}/${method}/parameters/${i}/schema`);
      if (!v(c.headers[given])) {
        for (const e of v.errors) errors.push({ at: 'header.' + p.name.toLowerCase(), keyword: e.keyword, message: e.message });
      }
    }
    const content = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
    if (!content) {
      errors.push({ at: 'body', keyword: 'content', message: 'the operation takes no JSON body' });
    } else if (c.body === undefined || c.body === null) {
      if (op.requestBody.required) errors.push({ at: 'body', keyword: 'required', message: 'a body is required' });
    } else {
      const v = validator(`#/paths/${pointer(c.path)}/${method}/requestBody/content/application~1json/schema`);
      if (!v(JSON.parse(c.body))) {
        for (const e of v.errors) errors.push({ at: dotted('body', e.instancePath, e), keyword: e.keyword, message: e.message });
      }
    }
    return { ok: errors.length === 0, errors };
  });
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();
