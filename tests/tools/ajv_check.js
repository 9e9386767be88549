// Compile a JSON Schema with ajv in strict mode, and validate JSON documents against it.
// Usage: node ajv_check.js SCHEMA.json [DOCUMENT.json ...]; exit 0 when all is well, 1 otherwise.
// ajv is installed by `make test` into .ci/node (AJV_MODULES names that node_modules folder).
"use strict";
const fs = require("fs");
const path = require("path");
const modules = process.env.AJV_MODULES || path.join(__dirname, "..", "..", ".ci", "node", "node_modules");
const Ajv2020 = require(path.join(modules, "ajv", "dist", "2020")).default;

const [schemaPath, ...documents] = process.argv.slice(2);
const schema = JSON.parse(fs.readFileSync(schemaPath, "utf8"));
const ajv = new Ajv2020({ strict: true, allErrors: true });
let validate;
try {
  validate = ajv.compile(schema);
} catch (error) {
  console.error(`${schemaPath}: not a valid schema in strict mode: ${error.message}`);
  process.exit(1);
}
let failed = false;
for (const document of documents) {
  if (!validate(JSON.parse(fs.readFileSync(document, "utf8")))) {
    failed = true;
    console.error(`${document}: ${ajv.errorsText(validate.errors)}`);
  }
}
console.log(`${schemaPath}: compiled in strict mode; ${documents.length} document(s) checked`);
process.exit(failed ? 1 : 0);
