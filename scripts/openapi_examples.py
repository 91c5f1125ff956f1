"""Every request and response example in the OpenAPI document is valid against the schema beside it (JSON Schema
2020-12, which OpenAPI 3.1 uses; `$ref`s resolved in the document). Run by scripts/schemathesis with the
jsonschema_rs that Schemathesis brings: `python scripts/openapi_examples.py components/api/openapi.json`. Form
bodies (`application/x-www-form-urlencoded`) are text examples, not checked here; Schemathesis sends every request
example to the served app.
"""

import json, sys
from urllib.parse import quote

import jsonschema_rs

document = json.load(open(sys.argv[1]))
def pointer(*parts):
    return "#/" + "/".join(quote(str(p).replace("~", "~0").replace("/", "~1"), safe="~") for p in parts)
failures, checked = [], 0
for path, item in document["paths"].items():
    for method, operation in item.items():
        places = [("requestBody", media, body) for media, body in operation.get("requestBody", {}).get("content", {}).items()]
        for status, response in operation["responses"].items():
            places += [(f"responses/{status}", media, body) for media, body in response.get("content", {}).items()]
        for where, media, body in places:
            if "example" not in body or "schema" not in body:
                continue
            if media == "application/x-www-form-urlencoded":
                continue
            parts = ["paths", path, method] + where.split("/") + ["content", media, "schema"]
            schema = dict(document, **{"$ref": pointer(*parts)})
            checked += 1
            try:
                jsonschema_rs.validate(schema, body["example"])
            except jsonschema_rs.ValidationError as error:
                failures.append(f"{method.upper()} {path} {where} {media}: {error}")
print(f"{checked} examples checked", file=sys.stderr)
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
