"""What request models (msgspec Structs) share: patterns that say what they mean, and the
OpenAPI schemas made from the models themselves, so that the document describes exactly what
the gateway accepts (one source; tests/e2e/test_fuzz.py checks that it stays so)."""

from typing import Any

import msgspec

# What each pattern of a model means, in words, for the error that names its field
# (errors.from_invalid_body): "template.name must be lowercase letters, digits and underscores".
PATTERN_DESCRIPTIONS: dict[str, str] = {}


def whole(regex: str, description: str, **constraints: Any) -> msgspec.Meta:
    """A string constraint: the whole value matches `regex`. msgspec matches with Python's
    re.search, whose `$` also matches before a final newline; `(?!\\n)` refuses that newline
    there (JSON Schema's `$` is the end already, and the lookahead is then always true)."""
    pattern = f"^(?:{regex})$(?!\\n)"
    PATTERN_DESCRIPTIONS[pattern] = description
    return msgspec.Meta(
        pattern=pattern, description=f"{description[0].upper()}{description[1:]}", **constraints
    )


# A string without U+0000, which PostgreSQL stores in no text.
WITHOUT_NUL = whole("[^\\x00]*", "text without the character U+0000")
REF_PREFIX = "#/components/schemas/"
REF_TEMPLATE = REF_PREFIX + "{name}"


def openapi_schemas(models: dict[str, Any]) -> dict[str, Any]:
    """The models' schemas and those of their parts, as OpenAPI 3.0 components: a Struct and its
    parts under their class names, another type (a union) under the name given."""
    roots, components = msgspec.json.schema_components(list(models.values()), ref_template=REF_TEMPLATE)
    for name, root in zip(models, roots, strict=True):
        if root != {"$ref": REF_TEMPLATE.format(name=name)}:
            components[name] = root
    return {name: _openapi_3_0(schema) for name, schema in components.items()}


NULL = {"type": "null"}


def _openapi_3_0(schema: Any) -> Any:
    """msgspec writes JSON Schema 2020-12; OpenAPI 3.0 has no type null (`X | None` is X with
    `nullable`), ignores the siblings of a `$ref` (kept under allOf here) and takes no empty
    `required`."""
    if isinstance(schema, list):
        return [_openapi_3_0(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _openapi_3_0(value) for key, value in schema.items() if key != "required" or value}
    variants = converted.get("anyOf", [])
    if NULL in variants:
        others = [variant for variant in variants if variant != NULL]
        del converted["anyOf"]
        converted |= {**(others[0] if len(others) == 1 else {"anyOf": others}), "nullable": True}
    if "$ref" in converted and len(converted) > 1:
        converted["allOf"] = [{"$ref": converted.pop("$ref")}]
    return converted
