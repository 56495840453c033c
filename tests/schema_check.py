"""Check real responses against the generated OpenAPI schema (used by several test modules)."""

import re

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator


def _jsonschema(node):
    """OpenAPI 3.0 `nullable` → JSON Schema null, recursively."""
    if isinstance(node, list):
        return [_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _jsonschema(v) for k, v in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture(scope="module")
def openapi():
    """The generated OpenAPI document, with 3.0 `nullable` turned into JSON Schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return _jsonschema(schema)


def _operation(openapi, method: str, path: str) -> dict:
    # literal paths (freelancers/me/) before templated ones (freelancers/{id}/)
    for template, operations in sorted(openapi["paths"].items(), key=lambda item: item[0].count("{")):
        pattern = "^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$"
        if re.match(pattern, path):
            return operations[method.lower()]
    raise AssertionError(f"{path} is not in the schema")


def check_response(openapi, response, method: str, path: str) -> None:
    """The response's status is documented for the operation and its body matches the schema."""
    operation = _operation(openapi, method, path)
    documented = operation["responses"].get(str(response.status_code))
    assert documented, f"{method} {path}: status {response.status_code} not documented"
    if response.status_code == 204:
        return
    schema = documented["content"]["application/json"]["schema"]
    root = {**schema, "components": openapi["components"]}
    jsonschema.validate(response.json(), root)
