"""Strict OCSF validation, used by the tests (tests/it/report.rs).

Each line of an NDJSON file must validate with pydantic-ocsf's model of the OCSF version it
declares (metadata.version) and class (class_uid), and hold no attribute that version does not
define: pydantic-ocsf's models accept extra attributes, so they are looked up here, recursively,
in the model's fields. The base event's classification and occurrence attributes (class_uid,
time, count, ...), which the models leave to their own handling, are the fixed list BASE.

    python tests/ocsf_strict.py FILE [VERSION]   # exit 1 and one line per invalid event
"""
import importlib
import json
import sys
import typing

from pydantic import BaseModel, ValidationError

CLASSES = {2003: "ComplianceFinding", 2004: "DetectionFinding", 2005: "IncidentFinding"}

# OCSF base_event's includes (classification, occurrence), the same in every 1.x version.
BASE = {
    "activity_id", "activity_name", "category_name", "category_uid", "class_name", "class_uid",
    "count", "duration", "end_time", "start_time", "time", "timezone_offset", "type_name",
    "type_uid",
}


def models_in(annotation):
    """The pydantic models an annotation holds (through Optional, list, unions)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out = []
    for a in typing.get_args(annotation):
        out += models_in(a)
    return out


def unknown(model, value, path, found, top=False):
    if isinstance(value, list):
        for i, v in enumerate(value):
            unknown(model, v, f"{path}[{i}]", found)
        return
    if not isinstance(value, dict):
        return
    fields = {}
    for name, f in model.model_fields.items():
        fields[name] = f
        if f.alias:
            fields[f.alias] = f
    for k, v in value.items():
        f = fields.get(k)
        if f is None:
            if not (top and k in BASE):
                found.append(f"{path}.{k}".lstrip("."))
            continue
        if k == "unmapped":
            continue
        for m in models_in(f.annotation)[:1]:
            unknown(m, v, f"{path}.{k}", found)


def check(event, want_version=None):
    version = event["metadata"]["version"]
    if want_version and version != want_version:
        return [f"declares {version}, not {want_version}"]
    events = importlib.import_module("ocsf.v" + version.replace(".", "_") + ".events")
    cls = getattr(events, CLASSES[event["class_uid"]])
    errors = []
    try:
        cls.model_validate(event)
    except ValidationError as e:
        errors += [f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()]
    found = []
    unknown(cls, event, "", found, top=True)
    errors += [f"{p}: not an attribute of OCSF {version}" for p in found]
    return errors


if __name__ == "__main__":
    want = sys.argv[2] if len(sys.argv) > 2 else None
    n = bad = 0
    for i, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
        n += 1
        errs = check(json.loads(line), want)
        if errs:
            bad += 1
            print(f"line {i}: " + "; ".join(errs[:6]), file=sys.stderr)
    print(n, bad)
    sys.exit(1 if bad else 0)
