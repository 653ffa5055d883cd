// Validates spec and project files against specs/schema/ with ajv (draft 2020-12), parsing
// YAML with the `yaml` package: an implementation independent of the C++ loader, so that the
// schema-agreement test compares two readings of the rules.
//
//   node check.mjs SCHEMA_DIR FILE...
//
// Prints one JSON line per file: {"file": F, "valid": true|false, "errors": [...]}.
// reconciler.yaml is checked against project.schema.json, every other file's documents
// against resource.schema.json, each found by its $id. A file with no document is invalid, as
// it is to the loader.

import { readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import YAML from "yaml";

const [schemaDir, ...files] = process.argv.slice(2);
const ajv = new Ajv2020({ allErrors: true, strict: false });
// Each schema is registered under its own $id, as an editor that fetched it would know it, so
// the relative $refs between them resolve against that URL and not against a file name.
const ids = new Map();  // file name -> $id
for (const name of readdirSync(schemaDir).filter((n) => n.endsWith(".schema.json"))) {
  const schema = JSON.parse(readFileSync(join(schemaDir, name), "utf8"));
  if (typeof schema.$id !== "string" || !schema.$id.endsWith("/" + name)) {
    throw new Error(`${name}: its $id must be a URL ending in /${name}, got ${JSON.stringify(schema.$id)}`);
  }
  ajv.addSchema(schema);
  ids.set(name, schema.$id);
}
const project = ajv.getSchema(ids.get("project.schema.json"));
const resource = ajv.getSchema(ids.get("resource.schema.json"));

function check(file) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    return [`cannot read: ${e.message}`];
  }
  let docs;
  try {
    docs = YAML.parseAllDocuments(text, { merge: true, uniqueKeys: true, maxAliasCount: 1000 });
  } catch (e) {
    return [`YAML: ${e.message}`];
  }
  if (!Array.isArray(docs)) docs = [docs];  // an empty stream parses to one empty document
  const errors = [];
  const values = [];
  for (const doc of docs) {
    if (doc.errors.length) {
      errors.push(...doc.errors.map((e) => `YAML: ${e.message.split("\n")[0]}`));
      continue;
    }
    let value;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      errors.push(`YAML: ${e.message}`);
      continue;
    }
    if (value !== null && value !== undefined) values.push(value);
  }
  if (errors.length) return errors;
  if (values.length === 0) return ["the file holds no YAML documents"];
  const validate = basename(file) === "reconciler.yaml" ? project : resource;
  for (const value of values) {
    if (!validate(value)) errors.push(...validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`));
  }
  return errors;
}

for (const file of files) {
  const errors = check(file);
  process.stdout.write(JSON.stringify({ file, valid: errors.length === 0, errors }) + "\n");
}
