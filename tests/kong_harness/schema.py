"""Kong field-definition validation and default filling (kong/db/schema/init.lua).

Why: Kong validates every entity and plugin config of the declarative file
and sends plugins their config *with defaults filled*; invalid files must fail
with Kong's error tables ("expected a string", "unknown field", "required
field missing", ...).  Field definitions come either from
/work/shared/kong/schemas-3.6.1.json (``{"name": ..., "type": ...}``) or from an
external plugin dump in Kong's Lua shape (``[{"field": {"type": ...}}]``);
``normalize_fields`` turns the latter into the former.

Implemented: types string/number/integer/boolean/array/set/map/record/foreign/
any, ``required``, ``default``, ``eq``/``ne``, ``one_of``/``not_one_of``, ``gt``,
``is_regex`` (Python's re for PCRE), ``between``, ``len_eq``/``len_min``/``len_max`` (strings default to len_min 1),
``starts_with``, ``match``/``not_match``/``match_none``/``match_all``/``match_any``
(Lua patterns), ``uuid``, ``err`` overrides, records required by default in
entities (kong/db/schema/entity.lua make_records_required), entity checks
``at_least_one_of``, ``only_one_of``, ``conditional``, ``mutually_required``,
``mutually_exclusive``.  Custom Lua validator functions cannot run (skipped).
"""
from __future__ import annotations

import copy
import re
from typing import Any

from .lua_pattern import lua_match
from .luatypes import NULL

ENTITY = "@entity"
_UUID_RX = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_MISSING = object()


def normalize_field(name: str, fdef: dict) -> dict:
    """Kong Lua field shape -> the schemas-3.6.1.json shape (recursively)."""
    out = {k: v for k, v in fdef.items() if k not in ("fields", "elements", "keys", "values")}
    out["name"] = name
    if isinstance(fdef.get("fields"), list):
        out["fields"] = normalize_fields(fdef["fields"])
    for sub in ("elements", "keys", "values"):
        if isinstance(fdef.get(sub), dict):
            out[sub] = normalize_field("(%s)" % sub.rstrip("s"), fdef[sub])
    return out


def normalize_fields(fields: list) -> list[dict]:
    result = []
    for f in fields:
        if isinstance(f, dict) and "name" in f and "type" in f:
            result.append(f)
            continue
        if isinstance(f, dict) and len(f) == 1:
            (name, fdef), = f.items()
            if isinstance(fdef, dict):
                result.append(normalize_field(name, fdef))
    return result


def make_records_required(fields: list[dict]) -> list[dict]:
    """entity.lua make_records_required (on a deep copy)."""
    fields = copy.deepcopy(fields)

    def walk(fs: list[dict]) -> None:
        for f in fs:
            if f.get("type") == "record":
                if "required" not in f or f["required"] is None:
                    f["required"] = True
                walk(f.get("fields") or [])

    walk(fields)
    return fields


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_sequence(v: Any) -> bool:
    return isinstance(v, list) or (isinstance(v, dict) and not v)


def _is_table(v: Any) -> bool:
    return isinstance(v, (list, dict))


def _lua_str(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _default_copy(field: dict) -> Any:
    d = copy.deepcopy(field["default"])
    return NULL if d is None else d


def process_auto_fields(fields: list[dict], data: dict) -> dict:
    """Schema:process_auto_fields(data, "insert"): fill defaults, recurse records."""
    out: dict = {}
    for f in fields:
        name = f["name"]
        value = data.get(name, _MISSING)
        if value is not _MISSING:
            out[name] = value
        if f.get("auto"):
            continue
        if f.get("type") == "record":
            if value is _MISSING and f.get("required") is True and "default" not in f:
                value = {}
            if isinstance(value, list) and not value:
                value = {}
            if isinstance(value, dict):
                out[name] = process_auto_fields(f.get("fields") or [], value)
                continue
        elif f.get("type") in ("array", "set", "map") and isinstance(value, (list, dict)):
            sub = f.get("elements") if f.get("type") != "map" else f.get("values")
            if sub and sub.get("type") == "record":
                sub_fields = sub.get("fields") or []
                if isinstance(value, list):
                    value = [process_auto_fields(sub_fields, v) if isinstance(v, dict) else v for v in value]
                else:
                    value = {k: process_auto_fields(sub_fields, v) if isinstance(v, dict) else v
                             for k, v in value.items()}
            if f.get("type") == "set" and isinstance(value, list):
                seen: list = []
                for v in value:
                    if v not in seen:
                        seen.append(v)
                value = seen
            out[name] = value
            continue
        if value is _MISSING:
            if "default" in f and f["default"] is not None:
                out[name] = _default_copy(f)
            elif f.get("required") is not True:
                out[name] = NULL
    for k, v in data.items():  # unknown keys stay (validation reports them)
        if k not in out:
            out[k] = v
    return out


def _is_regex(value: str) -> bool:
    """kong/db/schema/init.lua `is_regex`: ngx.re.match (PCRE) compiles it without error. Python's re stands in
    for PCRE: both refuse what is unbalanced or malformed; each accepts a few constructs the other does not."""
    try:
        re.compile(value)
    except re.error:
        return False
    return True


def _length(v: Any) -> int:
    return len(v) if isinstance(v, (str, list, dict)) else 0


def _run_validators(field: dict, value: Any) -> str | None:
    if "eq" in field and field["eq"] is not None and value != field["eq"]:
        return "value must be %s" % _lua_str(field["eq"])
    if "ne" in field and field["ne"] is not None and value == field["ne"]:
        return "value must not be %s" % _lua_str(value)
    if field.get("not_one_of") and value in field["not_one_of"]:
        return "must not be one of: %s" % ", ".join(_lua_str(o) for o in field["not_one_of"])
    if field.get("one_of") is not None and value not in field["one_of"]:
        return "expected one of: %s" % ", ".join(_lua_str(o) for o in field["one_of"])
    if field.get("gt") is not None and _is_number(value) and not value > field["gt"]:
        return "value must be greater than %s" % _lua_str(field["gt"])
    if field.get("uuid") and isinstance(value, str) and not _UUID_RX.match(value):
        return "expected a valid UUID"
    if field.get("is_regex") and isinstance(value, str) and not _is_regex(value):
        return "not a valid regex: %s" % value
    if field.get("between") and _is_number(value):
        lo, hi = field["between"]
        if value < lo or value > hi:
            return "value should be between %d and %d" % (lo, hi)
    len_min = field.get("len_min")
    if len_min is None and field.get("type") == "string":
        len_min = 1  # "empty strings are not accepted by default"
    if field.get("len_eq") is not None and _length(value) != field["len_eq"]:
        return "length must be %d" % field["len_eq"]
    if len_min is not None and _length(value) < len_min:
        return "length must be at least %d" % len_min
    if field.get("len_max") is not None and _length(value) > field["len_max"]:
        return "length must be at most %d" % field["len_max"]
    if isinstance(value, str):
        if field.get("starts_with") and not value.startswith(field["starts_with"]):
            return "should start with: %s" % field["starts_with"]
        if field.get("not_match") and lua_match(value, field["not_match"]):
            return "invalid value: %s" % value
        for item in field.get("match_none") or []:
            if lua_match(value, item["pattern"]):
                return item.get("err") or "invalid value: %s" % value
        if field.get("match") and not lua_match(value, field["match"]):
            return "invalid value: %s" % value
        for item in field.get("match_all") or []:
            if not lua_match(value, item["pattern"]):
                return item.get("err") or "invalid value: %s" % value
        if field.get("match_any"):
            arg = field["match_any"]
            if not any(lua_match(value, p) for p in arg.get("patterns", [])):
                return arg.get("err") or "invalid value: %s" % value
    return None


def validate_field(field: dict, value: Any) -> Any:
    """Schema:validate_field -> None or an error (string or nested table)."""
    if value is NULL or value is None:
        if "ne" in field and field["ne"] is None:
            return field.get("err") or "value must not be null"
        if field.get("eq") is not None:   # schema/init.lua:868: a null fails a non-null eq (no field.err here)
            return "value must be %s" % _lua_str(field["eq"])
        if field.get("required"):
            return "required field missing"
        return None
    if "eq" in field and field["eq"] is None:
        return field.get("err") or "value must be null"
    ftype = field.get("type")
    if ftype in ("array", "set"):
        if not _is_sequence(value):
            return "expected an array" if ftype == "array" else "expected a set"
        elem = dict(field.get("elements") or {"type": "any"}, required=True)
        errs = {}
        for i, v in enumerate(value if isinstance(value, list) else []):
            e = validate_field(elem, v)
            if e is not None:
                errs[i + 1] = e
        if errs:
            return errs
    elif ftype == "map":
        if not _is_table(value):
            return "expected a map"
        keys = dict(field.get("keys") or {"type": "any"}, required=True)
        vals = dict(field.get("values") or {"type": "any"}, required=True)
        for k, v in (value.items() if isinstance(value, dict) else []):
            e = validate_field(keys, k) or validate_field(vals, v)
            if e is not None:
                return e
    elif ftype == "record":
        if not _is_table(value):
            return "expected a record"
        sub = field.get("fields") or []
        data = process_auto_fields(sub, value if isinstance(value, dict) else {})
        errs = validate_record(sub, data, field.get("entity_checks"))
        if errs:
            return errs
    elif ftype == "integer":
        if not (_is_number(value) and float(value).is_integer()):
            return "expected an integer"
    elif ftype == "number":
        if not _is_number(value):
            return "expected a number"
    elif ftype == "string":
        if not isinstance(value, str):
            return "expected a string"
        if field.get("referenceable") and value.startswith("{vault://"):
            return None
    elif ftype == "boolean":
        if not isinstance(value, bool):
            return "expected a boolean"
    elif ftype == "foreign":
        return None
    elif ftype not in ("any", None):
        return "invalid type: %s" % ftype
    err = _run_validators(field, value)
    if err is not None:
        return field.get("err") or err
    return None


def _get_path(data: dict, path: str) -> Any:
    cur: Any = data
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _set_path(errors: dict, path: str, err: Any) -> None:
    parts = path.split(".")
    cur = errors
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[part] = nxt
        cur = nxt
    cur[parts[-1]] = err


def _nonempty(v: Any) -> bool:
    if v is None or v is NULL:
        return False
    if isinstance(v, (list, dict, str)) and not v:
        return False
    return True


def _quoted(names: list[str]) -> str:
    return ", ".join("'%s'" % n for n in names)


def _field_at(fields: list[dict], path: str) -> dict:
    cur_fields = fields
    found: dict = {}
    for part in path.split("."):
        found = next((f for f in cur_fields if f["name"] == part), {})
        cur_fields = found.get("fields") or []
    return found


def run_entity_checks(fields: list[dict], data: dict, checks: list | None, errors: dict) -> None:
    """Schema.entity_checkers (the subset used by OSS schemas)."""
    entity_errs: list[str] = []
    for check in checks or []:
        if not isinstance(check, dict) or len(check) != 1:
            continue
        (kind, arg), = check.items()
        if kind == "at_least_one_of":
            if not any(_nonempty(_get_path(data, n)) for n in arg):
                entity_errs.append("at least one of these fields must be non-empty: " + _quoted(arg))
        elif kind == "only_one_of":
            count = sum(1 for n in arg if _nonempty(_get_path(data, n)))
            if count != 1 and all(_get_path(data, n) is not None for n in arg):
                entity_errs.append("exactly one of these fields must be non-empty: " + _quoted(arg))
        elif kind == "mutually_required":
            present = [n for n in arg if _nonempty(_get_path(data, n))]
            if present and len(present) != len(arg):
                entity_errs.append("all or none of these fields must be set: " + _quoted(arg))
        elif kind == "mutually_exclusive":
            present = [n for n in arg if _nonempty(_get_path(data, n))]
            if len(present) > 1:
                entity_errs.append("only one or none of these fields must be set: " + _quoted(arg))
        elif kind == "conditional":
            if_value = _get_path(data, arg["if_field"])
            if if_value is None:
                continue
            if_match = dict(_field_at(fields, arg["if_field"]), **arg.get("if_match", {}))
            if_match.pop("required", None)
            if validate_field(if_match, if_value) is not None:
                continue
            then_value = _get_path(data, arg["then_field"])
            then_match = arg.get("then_match", {})
            if then_match.get("required") is True and (then_value is None or then_value is NULL):
                _set_path(errors, arg["then_field"], "required field missing")
                entity_errs.append("failed conditional validation given value of field '%s'" % arg["if_field"])
                continue
            tm = dict(_field_at(fields, arg["then_field"]), **then_match)
            err = validate_field(tm, then_value)
            if err is not None:
                _set_path(errors, arg["then_field"], err)
                entity_errs.append((arg.get("then_err") or "failed conditional validation given value of field '%s'")
                                   % arg["if_field"])
    if entity_errs:
        errors.setdefault(ENTITY, [])
        errors[ENTITY].extend(entity_errs)


def validate_record(fields: list[dict], data: dict, entity_checks: list | None = None,
                    extra_allowed: tuple[str, ...] = ()) -> dict:
    """Schema:validate(data) for a record (full_check): returns the error table."""
    errors: dict = {}
    by_name = {f["name"]: f for f in fields}
    for k, v in data.items():
        f = by_name.get(str(k))
        if f is None:
            if k in extra_allowed:
                continue
            errors[k] = "unknown field"
            continue
        err = validate_field(f, v)
        if err is not None:
            errors[k] = err
    for f in fields:
        if f.get("required") and not f.get("auto") and data.get(f["name"]) in (None, NULL) \
                and f["name"] not in errors:
            errors[f["name"]] = "required field missing"
    run_entity_checks(fields, data, entity_checks, errors)
    return errors


def strip_nulls(value: Any) -> Any:
    """DAO select without ``nulls``: drop ngx.null fields recursively (dao/init.lua remove_nulls)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not NULL and v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value
