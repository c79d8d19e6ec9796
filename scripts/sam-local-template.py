"""Writes the template scripts/sam-local.sh runs: template.yaml itself, changed only where a
machine without internet or arm64 needs it, so it cannot drift from what deploys.

  python sam-local-template.py TEMPLATE OUT_DIR BIN_DIR

- Architectures x86_64 (arm64 cannot run in a container here), and each function's code is its
  native release binary (BIN_DIR/<Binary>) as OUT_DIR/<LogicalId>/bootstrap: no `sam build`.
- APP_ACCESS_KEY, APP_SECRET, WEBHOOK_SECRET, HMS_API_BASE_URL and AWS_ENDPOINT_URL_DYNAMODB are
  declared, empty: `--env-vars` only sets variables the template declares.
- The API's resources come first: SAM reads routes the way the first API resource suggests.
"""
import os
from collections import OrderedDict
import shutil
import sys

from samcli.yamlhelper import yaml_dump, yaml_parse

template_path, out_dir, bin_dir = sys.argv[1:4]
with open(template_path) as f:
    t = yaml_parse(f.read())

fn_globals = t["Globals"]["Function"]
fn_globals["Architectures"] = ["x86_64"]
env = fn_globals["Environment"]["Variables"]
for name in ("APP_ACCESS_KEY", "APP_SECRET", "WEBHOOK_SECRET", "HMS_API_BASE_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
    env.setdefault(name, "")

resources = t["Resources"]
for logical_id, res in resources.items():
    if res["Type"] != "AWS::Serverless::Function":
        continue
    binary = res["Metadata"]["BuildProperties"]["Binary"]
    code = os.path.join(out_dir, logical_id)
    os.makedirs(code, exist_ok=True)
    shutil.copy2(os.path.join(bin_dir, binary), os.path.join(code, "bootstrap"))
    del res["Metadata"]
    res["Properties"]["CodeUri"] = code

api_first = sorted(resources.items(), key=lambda kv: not kv[1]["Type"].startswith("AWS::ApiGatewayV2::"))
t["Resources"] = OrderedDict(api_first)

with open(os.path.join(out_dir, "template.yaml"), "w") as f:
    f.write(yaml_dump(t))
