#!/usr/bin/env python3
"""A Steller webhook receiver in the Python standard library alone.

It verifies every delivery's signature (Standard Webhooks: HMAC-SHA256 of
"<webhook-id>.<webhook-timestamp>.<body>" with the endpoint's secret), refuses stale
timestamps, and handles each event once, however often it is delivered.

    STELLER_WEBHOOK_SECRET=whsec_... python3 docs/examples/webhook_receiver.py 4000

Run it, then register http://127.0.0.1:4000/ as an endpoint of the local server.
A library does the same in one call: `pip install standardwebhooks`, then
`Webhook(secret).verify(body, headers)`.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import sys
import time

# During a rotation a delivery carries one signature per secret: either may verify.
SECRETS = [
    base64.b64decode(secret.removeprefix("whsec_"))
    for secret in os.environ["STELLER_WEBHOOK_SECRET"].split()
]
TOLERANCE_SECONDS = 5 * 60
handled = set()  # in production: a table keyed by webhook-id


def verified(headers, body: bytes) -> bool:
    event_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "").split()
    if not event_id or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False  # a replay of an old delivery
    signed = f"{event_id}.{timestamp}.".encode() + body
    for secret in SECRETS:
        expected = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
        for signature in signatures:
            version, _, value = signature.partition(",")
            if version == "v1" and hmac.compare_digest(expected, value):
                return True
    return False


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if not verified(self.headers, body):
            print("refused: the signature does not verify", flush=True)
            self.send_response(400)
            self.end_headers()
            return
        event_id = self.headers["webhook-id"]
        if event_id in handled:
            print(f"{event_id}: already handled", flush=True)
        else:
            event = json.loads(body)
            handled.add(event_id)
            print(f"{event_id}: {event['type']} {event['data'].get('id')} (verified)", flush=True)
        # Answer 2xx at once, and do slow work later: 15 s without an answer is a failure.
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    http.server.HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
