"""moto's server (DynamoDB, SQS, SES, ... on one port), one request at a time.

moto's own server runs each request on its own thread, and its backends are not
atomic under parallel requests: concurrent DynamoDB TransactWriteItems lose updates
and sometimes answer HTTP 500. This wrapper keeps a threaded HTTP server (so clients
with keep-alive pools never wait for a connection to be accepted) but puts moto's WSGI
app behind one global lock, held across the app call and the reading and closing of
its response body. With it, moto behaves as an exact, if slow, DynamoDB. SQS receives
do not long-poll under the lock (`without_long_polling`).

Usage: python serialised_moto.py --port N [--host 127.0.0.1]
Started by run-with-emulator.sh; /moto-api/data.json and /moto-api/reset work as usual.
"""

import argparse
import io
import json
import os
import signal
import sys
import threading


def without_long_polling(environ):
    """An SQS ReceiveMessage asks to wait no time for messages.

    A long poll on an empty queue (the drains ask for 1 s) would hold the global lock for
    the whole wait, and every other client's call (a request-log send with its 2 s limit,
    an email) would wait behind it. One moto process answers exactly, so an immediate
    empty answer is the true one.
    """
    if environ.get("HTTP_X_AMZ_TARGET") != "AmazonSQS.ReceiveMessage":
        return
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    body["WaitTimeSeconds"] = 0
    raw = json.dumps(body).encode()
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))


def serialised(app):
    lock = threading.Lock()

    def wrapped(environ, start_response):
        without_long_polling(environ)
        with lock:
            result = app(environ, start_response)
            try:
                body = list(result)  # run moto's generator to the end under the lock
            finally:
                if hasattr(result, "close"):
                    result.close()
        return body  # sent to the client after the lock is released

    return wrapped


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))  # moto builds some URLs from it

    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    app = serialised(DomainDispatcherApplication(create_backend_app))
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)

    def stop(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"serialised moto ready on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        print("serialised moto stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
