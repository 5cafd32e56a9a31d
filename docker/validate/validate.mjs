#!/usr/bin/env node
// Offline validation of docker/ (no API server, no network once `npm ci` has run):
//   node validate.mjs MANIFESTS.yaml [Dockerfile]
// MANIFESTS.yaml is `kubectl kustomize docker/` output. Every object is checked twice against the Kubernetes
// OpenAPI schema as packaged by kubernetes-models:
//   1. schema: its compiled JSON-schema validator (types, enums, required fields, formats);
//   2. fields: a TypeScript type check of the object as a literal of the model's interface. The JSON schemas allow
//      unknown properties, so this is what rejects a misspelt field (what `kubectl apply --validate=strict` does
//      against a server).
// Both checkers first run on deliberately broken objects, so a checker that silently accepts everything fails.
// The Dockerfile, if given, is linted with dockerfilelint. Exit 0 when clean, 1 otherwise.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import YAML from "yaml";
import ts from "typescript";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function idOf(obj) {
  const ns = obj?.metadata?.namespace ? `${obj.metadata.namespace}/` : "";
  return `${obj?.apiVersion}/${obj?.kind} ${ns}${obj?.metadata?.name}`;
}

// kubernetes-models lays out one module per kind: kubernetes-models/<apiVersion>/<Kind>
// ("v1" for the core group, "apps/v1", "rbac.authorization.k8s.io/v1", ...).
function modelPath(obj) {
  return `kubernetes-models/${obj.apiVersion}/${obj.kind}`;
}

async function schemaErrors(obj) {
  let mod;
  try {
    mod = await import(modelPath(obj));
  } catch (e) {
    return [`no schema for ${obj.apiVersion} ${obj.kind} (${e.code ?? e.message})`];
  }
  const Model = mod[obj.kind];
  if (typeof Model !== "function") return [`no model class ${obj.kind} in ${modelPath(obj)}`];
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    return [String(e.message ?? e)];
  }
}

// One TypeScript program for all objects: `const o<i>: I<Kind> = <object literal>;` per object.
function fieldErrors(objs) {
  const lines = [];
  const starts = [];
  objs.forEach((obj, i) => {
    lines.push(`import type { I${obj.kind} as T${i} } from "${modelPath(obj)}";`);
  });
  objs.forEach((obj, i) => {
    starts.push(lines.length);
    const body = JSON.stringify(obj, null, 2).split("\n");
    lines.push(`export const o${i}: T${i} = ${body[0]}`, ...body.slice(1, -1), `${body.at(-1)};`);
  });
  const file = path.join(here, `.manifests-check-${process.pid}.ts`);
  fs.writeFileSync(file, lines.join("\n") + "\n");
  try {
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: [],
    });
    const errors = objs.map(() => []);
    const general = [];
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const msg = ts.flattenDiagnosticMessageText(d.messageText, "\n  ");
      if (!d.file || path.resolve(d.file.fileName) !== path.resolve(file)) {
        general.push(msg);
        continue;
      }
      const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
      let i = starts.length - 1;
      while (i > 0 && starts[i] > line) i--;
      if (line < starts[0]) {
        general.push(`${idOf(objs[line])}: ${msg}`);  // an import line: the kind itself is unknown
        continue;
      }
      errors[i].push(`${msg}\n    at: ${lines[line].trim()}`);
    }
    return { errors, general };
  } finally {
    fs.rmSync(file, { force: true });
  }
}

async function selfTest() {
  const bad = [
    // unknown field (what TypeScript must catch; the JSON schema allows it)
    { apiVersion: "v1", kind: "Service", metadata: { name: "t" },
      spec: { ports: [{ port: 53, protocol: "UDP", targtPort: 53 }] } },
    // wrong type and bad enum (what the JSON schema must catch)
    { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "t" },
      spec: { replicas: "2", selector: {}, template: { spec: { containers: [
        { name: "c", ports: [{ containerPort: 53, protocol: "UDPX" }] }] } } } },
  ];
  const problems = [];
  if ((await schemaErrors(bad[1])).length === 0) problems.push("schema check accepted a string replicas / bad protocol");
  const { errors } = fieldErrors(bad);
  if (errors[0].length === 0) problems.push("field check accepted an unknown field (targtPort)");
  if (errors[1].length === 0) problems.push("field check accepted a string replicas");
  return problems;
}

async function main() {
  const [manifests, dockerfile] = process.argv.slice(2);
  if (!manifests) {
    console.error("usage: node validate.mjs MANIFESTS.yaml [Dockerfile]");
    process.exit(2);
  }
  let failed = 0;

  const broken = await selfTest();
  for (const p of broken) console.log(`FAIL self-test: ${p}`);
  failed += broken.length;

  const docs = YAML.parseAllDocuments(fs.readFileSync(manifests, "utf8"));
  const objs = [];
  for (const doc of docs) {
    if (doc.errors.length) {
      console.log(`FAIL yaml: ${doc.errors.map((e) => e.message).join("; ")}`);
      failed++;
      continue;
    }
    const obj = doc.toJS();
    if (obj == null) continue;
    if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
      console.log(`FAIL ${idOf(obj)}: no apiVersion/kind`);
      failed++;
      continue;
    }
    objs.push(obj);
  }
  if (objs.length === 0) {
    console.log("FAIL no objects in " + manifests);
    failed++;
  }

  const { errors: fieldErrs, general } = fieldErrors(objs);
  for (const g of general) {
    console.log(`FAIL typescript: ${g}`);
    failed++;
  }
  for (const [i, obj] of objs.entries()) {
    const errs = [...(await schemaErrors(obj)).map((e) => `schema: ${e}`), ...fieldErrs[i].map((e) => `fields: ${e}`)];
    if (errs.length) {
      failed++;
      console.log(`FAIL ${idOf(obj)}`);
      for (const e of errs) console.log(`  ${e}`);
    } else {
      console.log(`ok   ${idOf(obj)}`);
    }
  }

  if (dockerfile) {
    const lint = require("dockerfilelint");
    const issues = lint.run(path.dirname(dockerfile), fs.readFileSync(dockerfile, "utf8"));
    for (const it of issues) console.log(`FAIL dockerfilelint ${dockerfile}:${it.line}: ${it.title} (${it.rule})`);
    if (issues.length) failed++;
    else console.log(`ok   dockerfilelint ${dockerfile}`);
  }

  const kmVersion = JSON.parse(
    fs.readFileSync(path.join(here, "node_modules", "kubernetes-models", "package.json"), "utf8")).version;
  console.log(`${objs.length} objects checked against kubernetes-models ${kmVersion} (typescript ${ts.version}): ` +
              (failed ? `${failed} failed` : "all valid"));
  process.exit(failed ? 1 : 0);
}

await main();
