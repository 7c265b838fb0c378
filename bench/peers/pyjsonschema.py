# Validates INSTANCE against SCHEMA with Python's jsonschema (Debian's
# python3-jsonschema; the peer harness's driver). Exit 0 valid, 1 invalid.
import json
import sys

import jsonschema

schema_path, instance_path = sys.argv[1:3]
with open(schema_path) as f:
    schema = json.load(f)
with open(instance_path) as f:
    instance = json.load(f)
cls = jsonschema.validators.validator_for(schema)
sys.exit(0 if cls(schema).is_valid(instance) else 1)
