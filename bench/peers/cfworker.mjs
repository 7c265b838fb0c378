// Validates INSTANCE against SCHEMA with @cfworker/json-schema (the peer
// harness's driver). usage: node cfworker.mjs DRAFT SCHEMA INSTANCE; exit 0 valid, 1 invalid.
import { readFileSync } from "node:fs";
import { Validator } from "@cfworker/json-schema";

const [draft, schemaPath, instancePath] = process.argv.slice(2);
const schema = JSON.parse(readFileSync(schemaPath, "utf8"));
const instance = JSON.parse(readFileSync(instancePath, "utf8"));
const result = new Validator(schema, draft, false).validate(instance);
process.exit(result.valid ? 0 : 1);
