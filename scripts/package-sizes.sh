#!/usr/bin/env bash
# Prints the size of each function's deployment package after `sam build`: the bootstrap binary
# and the zip SAM uploads (deflate, as `sam deploy` packs it), for every function template.yaml
# declares. Fails if a package is missing or not an arm64 executable, or if the template names
# none.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import io, os, re, sys, zipfile
# Every resource of type AWS::Serverless::Function, in the template's order.
template = open("template.yaml").read()
functions = re.findall(r"^  (\w+):\n    Type: AWS::Serverless::Function$", template, re.M)
fail = not functions
print(f"{'function':<28} {'arch':<8} {'bootstrap':>12} {'zip':>12}")
for fn in functions:
    path = f".aws-sam/build/{fn}/bootstrap"
    if not os.path.exists(path):
        print(f"{fn:<28} MISSING {path}"); fail = True; continue
    with open(path, "rb") as f:
        data = f.read()
    machine = int.from_bytes(data[18:20], "little") if data[:4] == b"\x7fELF" else None
    arch = {0xB7: "arm64", 0x3E: "x86_64"}.get(machine, "unknown")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("bootstrap"); info.external_attr = 0o755 << 16; info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, data)
    print(f"{fn:<28} {arch:<8} {len(data):>12,} {len(buf.getvalue()):>12,}")
    fail |= arch != "arm64"
sys.exit(1 if fail else 0)
PY
