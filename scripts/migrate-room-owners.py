#!/usr/bin/env python3
"""Moves room owners to the key they have since issue 30 (docs/deploy.md, "Upgrading").

Before, a room's owner was kept at pk ROOM#<room id> / sk OWNER, in the partition of the room's
reports, which the webhooks function writes. Since, it is kept at pk OWNER#<room id> / sk OWNER,
which only the functions that decide who runs and who joins a room may touch. This copies each
old item to the new key (unless the new key already holds one: a room claimed since wins), then
deletes the old item. Run it once, right after deploying; running it again changes nothing.

Usage: migrate-room-owners.py TABLE [--endpoint-url URL] [--region REGION] [--dry-run]
AWS credentials come from the environment, as for the AWS CLI.
"""

import argparse
import sys

import boto3
from botocore.exceptions import ClientError


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table")
    ap.add_argument("--endpoint-url")
    ap.add_argument("--region")
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    ddb = boto3.client("dynamodb", endpoint_url=args.endpoint_url, region_name=args.region)
    moved = kept = 0
    pages = ddb.get_paginator("scan").paginate(
        TableName=args.table,
        FilterExpression="sk = :owner AND begins_with(pk, :room)",
        ExpressionAttributeValues={":owner": {"S": "OWNER"}, ":room": {"S": "ROOM#"}},
        ConsistentRead=True,
    )
    for page in pages:
        for old in page["Items"]:
            room = old["pk"]["S"][len("ROOM#"):]
            new = dict(old, pk={"S": f"OWNER#{room}"})
            if args.dry_run:
                print(f"would move the owner of room {room}")
                continue
            try:
                ddb.put_item(TableName=args.table, Item=new, ConditionExpression="attribute_not_exists(pk)")
                moved += 1
            except ClientError as e:
                if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                kept += 1
            ddb.delete_item(TableName=args.table, Key={"pk": old["pk"], "sk": old["sk"]})
    print(f"owners moved: {moved}; rooms already claimed under the new key (kept): {kept}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
