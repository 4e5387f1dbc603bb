"""QA check that the emulator at STELLER_TEST_AWS_ENDPOINT applies transactions exactly.

16 threads each run 20 TransactWriteItems (a conditional `ADD n :one` on one counter item
plus a conditional Put of a ledger item, like the app's money commands), with no retries.
Every call must succeed and the counter must end at exactly 320. moto's bare server fails
this (HTTP 500s and lost updates); behind serialised_moto.py it passes. Run:

    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 \
        infra/emulator/run-with-emulator.sh .venv/bin/python infra/emulator/check_serialised.py
"""

import os
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

THREADS, INCREMENTS = 16, 20

client = boto3.client(
    "dynamodb",
    endpoint_url=os.environ["STELLER_TEST_AWS_ENDPOINT"],
    config=Config(max_pool_connections=THREADS, retries={"mode": "standard", "max_attempts": 1}),
)
table = f"check-serialised-{uuid.uuid4().hex[:8]}"
client.create_table(
    TableName=table,
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    BillingMode="PAY_PER_REQUEST",
)
client.put_item(TableName=table, Item={"pk": {"S": "counter"}, "n": {"N": "0"}})


def increment(thread):
    failures = 0
    for i in range(INCREMENTS):
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"pk": {"S": "counter"}},
                            "UpdateExpression": "ADD n :one",
                            "ConditionExpression": "n >= :zero",
                            "ExpressionAttributeValues": {":one": {"N": "1"}, ":zero": {"N": "0"}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {"pk": {"S": f"ledger-{thread}-{i}"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except Exception as error:  # noqa: BLE001 - counted and reported below
            failures += 1
            print(f"thread {thread}: {error}", file=sys.stderr)
    return failures


with ThreadPoolExecutor(THREADS) as pool:
    failures = sum(pool.map(increment, range(THREADS)))

item = client.get_item(TableName=table, Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"]
client.delete_table(TableName=table)
count, want = int(item["n"]["N"]), THREADS * INCREMENTS
ok = count == want and failures == 0
print(f"count {count}, expected {want}, failed calls {failures}: {'ok' if ok else 'NOT EXACT'}")
sys.exit(0 if ok else 1)
