"""moto's server (DynamoDB, SQS, SES, ... on one port), one request at a time.

moto's own server runs each request on its own thread, and its backends are not
atomic under parallel requests: concurrent DynamoDB TransactWriteItems lose updates
and sometimes answer HTTP 500. This wrapper keeps a threaded HTTP server (so clients
with keep-alive pools never wait for a connection to be accepted) but puts moto's WSGI
app behind one global lock, held across the app call and the reading and closing of
its response body. With it, moto behaves as an exact, if slow, DynamoDB.

Usage: python serialised_moto.py --port N [--host 127.0.0.1]
Started by run-with-emulator.sh; /moto-api/data.json and /moto-api/reset work as usual.
"""

import argparse
import os
import signal
import sys
import threading


def serialised(app):
    lock = threading.Lock()

    def wrapped(environ, start_response):
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
