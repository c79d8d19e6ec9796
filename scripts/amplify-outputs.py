"""Writes the config file Amplify's libraries read (amplify_outputs.json, Amplify Gen 2's format)
for a deployed stack with its own user pool: region, pool, app client, the pool's sign-in
settings, and this API's URL under `custom`.

  python3 scripts/amplify-outputs.py --stack-name NAME [--out amplify_outputs.json]
  aws cloudformation describe-stacks --stack-name NAME > stack.json
  python3 scripts/amplify-outputs.py --describe stack.json [--out amplify_outputs.json]

--stack-name asks CloudFormation itself (boto3: .venv/bin/python3 has it, after scripts/setup.sh);
--describe reads what the AWS CLI printed. Put the file where your app's Amplify setup expects it
(docs/sign-in.md).
"""
import argparse
import json
import sys

MFA = {"OFF": "NONE", "OPTIONAL": "OPTIONAL", "ON": "REQUIRED"}


def outputs_for(stack):
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    params = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    missing = [k for k in ("Region", "UserPoolId", "UserPoolClientId", "ApiUrl") if k not in outputs]
    if missing:
        sys.exit(f"the stack has no {', '.join(missing)} output: it names its own JwtIssuer (no user pool), or "
                 "predates sign-in in the template")
    mfa = params.get("MfaConfiguration", "OPTIONAL")
    return {
        "version": "1",
        "auth": {
            "aws_region": outputs["Region"],
            "user_pool_id": outputs["UserPoolId"],
            "user_pool_client_id": outputs["UserPoolClientId"],
            # As template.yaml's UserPool: sign-in by email, verified by email.
            "username_attributes": ["email"],
            "standard_required_attributes": ["email"],
            "user_verification_types": ["email"],
            "password_policy": {"min_length": 12, "require_lowercase": True, "require_numbers": True,
                                "require_symbols": False, "require_uppercase": True},
            "mfa_configuration": MFA[mfa],
            "mfa_methods": [] if mfa == "OFF" else ["TOTP"],
            "unauthenticated_identities_enabled": False,
        },
        "custom": {"api_url": outputs["ApiUrl"], "sign_up_enabled": params.get("SignUpEnabled", "false") == "true"},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack-name")
    source.add_argument("--describe", help="the JSON `aws cloudformation describe-stacks` printed")
    parser.add_argument("--out", default="amplify_outputs.json")
    args = parser.parse_args()
    if args.describe:
        with open(args.describe) as f:
            stacks = json.load(f)["Stacks"]
    else:
        import boto3
        stacks = boto3.client("cloudformation").describe_stacks(StackName=args.stack_name)["Stacks"]
    with open(args.out, "w") as f:
        json.dump(outputs_for(stacks[0]), f, indent=2)
        f.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
