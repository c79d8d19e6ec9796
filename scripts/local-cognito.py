"""Makes scripts/run.sh --jwt's user pool in moto's Cognito, as template.yaml makes the deployed one:
sign-in by email, invitations only, the password policy, optional TOTP MFA, groups `admins` and
`teachers`, a public app client. Then the users of a class: an admin, a teacher and two students,
with one password made for this run. Writes what signing in needs to OUT (mode 0600).

  .venv/bin/python3 scripts/local-cognito.py MOTO_ENDPOINT OUT

One difference from the template, on purpose: the local client also allows USER_PASSWORD_AUTH,
so scripts/local-token.py can sign in with the standard library (the template's client allows SRP
only, as Amplify and Cognito's SDKs sign in). The tokens are the same either way.
"""
import json
import os
import secrets
import sys

import boto3

USERS = {
    "admin@class.test": ["admins"],
    "teacher@class.test": ["teachers"],
    "student1@class.test": [],
    "student2@class.test": [],
}
REGION = "us-east-1"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    endpoint, out = sys.argv[1], sys.argv[2]
    idp = boto3.client("cognito-idp", endpoint_url=endpoint, region_name=REGION,
                       aws_access_key_id="local", aws_secret_access_key="local")
    pool = idp.create_user_pool(
        PoolName="hms-local-users",
        UsernameAttributes=["email"],
        UsernameConfiguration={"CaseSensitive": False},
        AutoVerifiedAttributes=["email"],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireLowercase": True, "RequireUppercase": True,
                                     "RequireNumbers": True, "RequireSymbols": False,
                                     "TemporaryPasswordValidityDays": 7}},
    )["UserPool"]
    pool_id = pool["Id"]
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True},
                                 MfaConfiguration="OPTIONAL")
    client = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="mobile-app", GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"],
        PreventUserExistenceErrors="ENABLED", EnableTokenRevocation=True,
    )["UserPoolClient"]
    for precedence, group in enumerate(["admins", "teachers"]):
        idp.create_group(UserPoolId=pool_id, GroupName=group, Precedence=precedence)
    # Meets the policy: upper and lower case, digits, 12 or more.
    password = "Local-" + secrets.token_hex(8) + "-Aa1"
    users = {}
    for email, groups in USERS.items():
        made = idp.admin_create_user(UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS",
                                     UserAttributes=[{"Name": "email", "Value": email},
                                                     {"Name": "email_verified", "Value": "true"}])["User"]
        idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
        for group in groups:
            idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)
        sub = next(a["Value"] for a in made["Attributes"] if a["Name"] == "sub")
        users[email] = {"groups": groups, "sub": sub}
    config = {
        "endpoint": endpoint,
        "region": REGION,
        "user_pool_id": pool_id,
        "client_id": client["ClientId"],
        # The tokens' iss: the pool's AWS URL, as Cognito names it; moto serves its discovery.
        "issuer": f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}",
        "discovery": f"{endpoint}/{pool_id}/.well-known/openid-configuration",
        "password": password,
        "users": users,
    }
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(config, f, indent=2)


if __name__ == "__main__":
    main()
