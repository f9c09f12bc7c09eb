"""A form generated from a configuration JSON Schema, and the configuration read back from it.

Top-level properties of simple types become inputs (text, number, checkbox, select, list of
strings one per line); anything else (nested objects, arrays of objects) gets a JSON box of its
own, and the raw JSON tab takes the whole configuration.
"""

import json
from dataclasses import dataclass, field

import jsonschema

PREFIX = "cfg."
SECRET_HINTS = ("password", "secret", "token", "apikey", "api_key")


@dataclass
class Field:
    name: str
    kind: str  # text, password, number, integer, checkbox, select, lines, json
    label: str
    required: bool
    description: str = ""
    default: object = None
    example: object = None
    options: list = field(default_factory=list)
    minimum: object = None
    maximum: object = None
    pattern: str | None = None

    @property
    def input_name(self) -> str:
        return PREFIX + self.name

    def shown(self, value) -> str:
        """The value as the input shows it."""
        if value is None:
            return ""
        if self.kind == "lines":
            return "\n".join(str(item) for item in value) if isinstance(value, list) else str(value)
        if self.kind == "json":
            return json.dumps(value, indent=2)
        return str(value)


def _kind(name: str, spec: dict) -> str:
    kind = spec.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if "enum" in spec and all(isinstance(option, (str, int, float)) for option in spec["enum"]):
        return "select"
    if kind == "string":
        secret = spec.get("format") == "password" or spec.get("writeOnly") or any(
            hint in name.lower() for hint in SECRET_HINTS)
        return "password" if secret else "text"
    if kind in ("number", "integer"):
        return kind
    if kind == "boolean":
        return "checkbox"
    if kind == "array" and (spec.get("items") or {}).get("type") in ("string", None) and not (
            spec.get("items") or {}).get("properties"):
        return "lines"
    return "json"


def fields_of(schema: dict | None, examples: list | None = None) -> list[Field]:
    schema = schema if isinstance(schema, dict) else {}
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = set(schema.get("required") or [])
    example = (examples or [None])[0] if examples else None
    result = []
    for name, spec in properties.items():
        spec = spec if isinstance(spec, dict) else {}
        spec_examples = spec.get("examples")
        sample = spec_examples[0] if isinstance(spec_examples, list) and spec_examples else None
        if sample is None and isinstance(example, dict):
            sample = example.get(name)
        result.append(Field(name=name, kind=_kind(name, spec), label=str(spec.get("title") or name),
                            required=name in required, description=str(spec.get("description") or ""),
                            default=spec.get("default"), example=sample, options=list(spec.get("enum") or []),
                            minimum=spec.get("minimum"), maximum=spec.get("maximum"), pattern=spec.get("pattern")))
    return result


class FormError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def read_form(fields: list[Field], form) -> dict:
    """The configuration the form's inputs describe; FormError names each input it cannot read."""
    config, errors = {}, {}
    for item in fields:
        raw = form.get(item.input_name)
        if item.kind == "checkbox":
            config[item.name] = raw is not None
            continue
        if raw is None or raw.strip() == "":
            continue
        raw = raw.strip()
        try:
            if item.kind == "integer":
                config[item.name] = int(raw)
            elif item.kind == "number":
                config[item.name] = float(raw) if any(c in raw for c in ".eE") else int(raw)
            elif item.kind == "lines":
                config[item.name] = [line.strip() for line in raw.splitlines() if line.strip()]
            elif item.kind == "json":
                config[item.name] = json.loads(raw)
            elif item.kind == "select":
                config[item.name] = next((option for option in item.options if str(option) == raw), raw)
            else:
                config[item.name] = raw
        except ValueError:
            errors[item.name] = {"integer": "Not a whole number.", "number": "Not a number.",
                                 "json": "Not valid JSON."}.get(item.kind, "Not valid.")
    if errors:
        raise FormError(errors)
    return config


def read_json(text: str) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError as exc:
        raise FormError({"_json": f"Not valid JSON: {exc}"}) from exc
    if not isinstance(value, dict):
        raise FormError({"_json": "The configuration must be a JSON object."})
    return value


def validate(schema: dict | None, config: dict) -> dict[str, str]:
    """Problems of `config` against the schema, by top-level field ('' for the whole document)."""
    if not isinstance(schema, dict) or not schema:
        return {}
    try:
        validator = jsonschema.validators.validator_for(schema)(schema)
        found = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    except jsonschema.exceptions.SchemaError:
        return {}
    problems: dict[str, str] = {}
    for error in found:
        path = list(error.absolute_path)
        key = str(path[0]) if path else ""
        if not path and error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            key = missing
        problems.setdefault(key, error.message)
    return problems


def pointer_errors(details: dict) -> dict[str, str]:
    """The API's VALIDATION_ERROR details mapped to top-level configuration fields."""
    result = {}
    fields_block = details.get("fields") if isinstance(details, dict) else None
    if not isinstance(fields_block, dict):
        return result
    for key, messages in fields_block.items():
        text = "; ".join(messages) if isinstance(messages, list) else str(messages)
        key = str(key)
        if key.startswith("configuration"):
            rest = key[len("configuration"):].lstrip("/.")
            result[rest.split("/")[0].split(".")[0]] = text
        else:
            result[key] = text
    return result
