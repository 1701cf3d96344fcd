#!/usr/bin/env bash
# test/scripts/meta_json.sh: META.json is valid PGXN metadata (meta spec 1.0,
# test/pgxn/meta-spec-1.0.schema.json, checked with Debian's python3-jsonschema),
# the schema refuses documents that break the spec, the files it names exist,
# and the version it gives is the one of segext.control, of CHANGELOG.md's top
# heading and of debian/changelog.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
fail() { echo "meta_json: $*" >&2; exit 1; }

[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import jsonschema' 2>/dev/null ||
    fail "python3-jsonschema is not installed (scripts/lib.sh install_prerequisites installs it)"

/usr/bin/python3 - META.json test/pgxn/meta-spec-1.0.schema.json <<'PY'
import copy, json, sys
import jsonschema

meta = json.load(open(sys.argv[1]))
schema = json.load(open(sys.argv[2]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)

errors = sorted(validator.iter_errors(meta), key=lambda e: list(e.absolute_path))
for e in errors:
    print("META.json: %s: %s" % ("/".join(map(str, e.absolute_path)) or "(root)", e.message), file=sys.stderr)
if errors:
    sys.exit(1)

# Each of these breaks one rule of the spec; the schema must refuse every one.
def without(key):
    return lambda m: m.pop(key)
def put(path, value):
    def change(m):
        for k in path[:-1]:
            m = m[k]
        m[path[-1]] = value
    return change
broken = {
    "no name": without("name"),
    "no abstract": without("abstract"),
    "no maintainer": without("maintainer"),
    "no license": without("license"),
    "no provides": without("provides"),
    "no meta-spec": without("meta-spec"),
    "no version": without("version"),
    "empty abstract": put(["abstract"], ""),
    "empty maintainer list": put(["maintainer"], []),
    "license not in the list": put(["license"], "postgres"),
    "license map value not a URI": put(["license"], {"PostgreSQL": "the PostgreSQL licence"}),
    "version not semantic": put(["version"], "0.2"),
    "version with a leading zero": put(["version"], "0.02.0"),
    "name with a space": put(["name"], "seg ext"),
    "name of one character": put(["name"], "s"),
    "provides without file": lambda m: m["provides"]["segext"].pop("file"),
    "provides without version": lambda m: m["provides"]["segext"].pop("version"),
    "provides file absolute": put(["provides", "segext", "file"], "/segext.control"),
    "provides key with a slash": lambda m: m["provides"].update({"seg/ext": m["provides"]["segext"]}),
    "empty provides": put(["provides"], {}),
    "meta-spec 2.0.0": put(["meta-spec", "version"], "2.0.0"),
    "custom key without x_": put(["homepage"], "https://example.org"),
    "release status unknown": put(["release_status"], "beta"),
    "unknown prereq phase": put(["prereqs", "install"], {"requires": {"PostgreSQL": "15.0.0"}}),
    "unknown prereq relationship": put(["prereqs", "runtime", "needs"], {"PostgreSQL": "15.0.0"}),
    "bad version range": put(["prereqs", "runtime", "requires", "PostgreSQL"], "15"),
    "bad range operator": put(["prereqs", "runtime", "requires", "PostgreSQL"], "=> 15.0.0"),
    "tag with a slash": put(["tags"], ["a/b"]),
    "tag of 256 characters": put(["tags"], ["t" * 256]),
    "repository type upper case": put(["resources"], {"repository": {"url": "https://example.org/r.git", "type": "Git"}}),
    "homepage not a URI": put(["resources"], {"homepage": "segext home"}),
}
accepted = []
for name, change in broken.items():
    m = copy.deepcopy(meta)
    change(m)
    if validator.is_valid(m):
        accepted.append(name)
if accepted:
    print("the schema accepts documents that break the spec: " + ", ".join(accepted), file=sys.stderr)
    sys.exit(1)

# And accepts the spec's own forms of what META.json writes one way.
allowed = {
    "maintainer as a string": put(["maintainer"], "The segext authors"),
    "license as a list": put(["license"], ["postgresql"]),
    "license as a map": put(["license"], {"PostgreSQL": "https://www.postgresql.org/about/licence"}),
    "any version": put(["prereqs", "runtime", "requires", "PostgreSQL"], 0),
    "a pre-release": put(["version"], "0.2.0-beta1"),
    "a custom key": put(["X_ci"], {"anything": True}),
}
refused = []
for name, change in allowed.items():
    m = copy.deepcopy(meta)
    change(m)
    if not validator.is_valid(m):
        refused.append(name)
if refused:
    print("the schema refuses forms the spec allows: " + ", ".join(refused), file=sys.stderr)
    sys.exit(1)
print("META.json is valid PGXN metadata; %d broken documents refused, %d allowed forms accepted" % (len(broken), len(allowed)))
PY

# The files META.json names exist.
for f in $(jq -r '.provides[] | .file, .docfile // empty' META.json); do
    [ -f "$f" ] || fail "META.json names $f, which does not exist"
done

# One version everywhere.
meta_version=$(jq -r .version META.json)
provides_version=$(jq -r .provides.segext.version META.json)
control_version=$(sed -n "s/^default_version = '\(.*\)'$/\1/p" segext.control)
changelog_version=$(sed -n 's/^## \([0-9][0-9.]*\)\b.*/\1/p' CHANGELOG.md | head -n 1)
debian_version=$(sed -n '1s/^segext (\([^-)]*\)-[^)]*).*/\1/p' debian/changelog)
echo "versions: META.json $meta_version, provides.segext $provides_version, segext.control $control_version, CHANGELOG.md $changelog_version, debian/changelog $debian_version"
for v in "$provides_version" "$control_version" "$changelog_version" "$debian_version"; do
    [ "$v" = "$meta_version" ] || fail "versions differ (see above)"
done
[ "$(jq -r '.prereqs.runtime.requires.PostgreSQL' META.json)" = ">= 15.0.0, < 16.0.0" ] ||
    fail "META.json should require PostgreSQL 15"
echo "meta_json: ok"
