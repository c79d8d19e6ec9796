"""Adds to each `name==version` line of a pip lock file the sha256 of every file PyPI has for that
version (from the Simple API's JSON form, PEP 691), so that `pip install --require-hashes`
refuses anything else. Used by scripts/setup.sh --relock.

    python3 tools/lock_hashes.py IN OUT [--only NAME ...]
"""
import json
import re
import sys
import urllib.request


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def files_of(name, version):
    req = urllib.request.Request(
        f"https://pypi.org/simple/{canonical(name)}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        files = json.load(resp)["files"]
    stem = re.sub(r"[-_.]+", "_", name).lower()
    hashes = []
    for f in files:
        fname = f["filename"].lower()
        base = re.sub(r"[-_.]+", "_", fname.split("-")[0])
        parts = fname.split("-")
        if fname.endswith(".whl"):
            ver = parts[1] if len(parts) > 1 else ""
        else:
            ver = fname[len(parts[0]) + 1:].rsplit(".tar.gz", 1)[0].rsplit(".zip", 1)[0]
        if base == stem and ver == version.lower() and "sha256" in f["hashes"]:
            hashes.append(f["hashes"]["sha256"])
    if not hashes:
        raise SystemExit(f"lock_hashes: PyPI lists no file of {name}=={version}")
    return sorted(set(hashes))


def main():
    src, dst, *rest = sys.argv[1:]
    only = {canonical(n) for n in rest[1:]} if rest[:1] == ["--only"] else None
    out = []
    for line in open(src).read().splitlines():
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;]+)", line.strip())
        if not m:
            if line.startswith("#"):
                out.append(line)
            continue
        name, version = m.groups()
        if only is not None and canonical(name) not in only:
            continue
        hashes = files_of(name, version)
        out.append(f"{name}=={version} \\")
        out.extend(f"    --hash=sha256:{h}" + (" \\" if i < len(hashes) - 1 else "") for i, h in enumerate(hashes))
    open(dst, "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
