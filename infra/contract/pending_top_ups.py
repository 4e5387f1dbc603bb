"""Gives the contract run's ops pass real pending top-up requests to decide, and checks
afterwards that it decided some and that the money followed.

    pending_top_ups.py prepare BASE_URL SERVER_LOG EMAIL COUNT STATE_FILE
    pending_top_ups.py check BASE_URL OPS_KEY STATE_FILE

Live top-up requests need a live key, and live keys come only from the portal, made by the
partner signed in with a code emailed to them. `prepare`, as the partner EMAIL (signed up
already): asks the portal for a code, reads it from the local server's printing outbox in
SERVER_LOG, signs in, creates a live key and requests COUNT live top-ups with it
(payment references CONTRACT-0, CONTRACT-1, ...); the key and the count go to STATE_FILE.
Without this the ops pass's approve and reject only ever meet unknown ids (404), and the
document's links (list the pending requests, then approve or reject the first) are never
followed to a real decision.

`check`, after the ops pass: at least one of those requests was approved or rejected, and
the live wallet, which nothing else credits or spends, holds exactly the approved amounts.

Either exits non-zero, saying which step failed, on any answer but the one expected.
Standard library only.
"""

import http.cookiejar
import json
import pathlib
import re
import sys
import time
import typing
import urllib.error
import urllib.parse
import urllib.request


# The payment reference of every request made here, numbered.
REFERENCE = "CONTRACT-"
# The API's client: no cookies, and no proxy from the environment (the server is local).
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fail(step: str, detail: str) -> typing.NoReturn:
    print(f"contract: pending top-ups: {step}: {detail}", file=sys.stderr)
    sys.exit(1)


class Portal:
    """A browser without JavaScript: a cookie jar, forms posted as urlencoded."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            urllib.request.ProxyHandler({}),
        )

    def get(self, path: str) -> str:
        return self.send(urllib.request.Request(self.base + path))

    def post(self, path: str, fields: dict[str, str]) -> str:
        body = urllib.parse.urlencode(fields).encode()
        headers = {"content-type": "application/x-www-form-urlencoded"}
        return self.send(urllib.request.Request(self.base + path, data=body, headers=headers))

    def send(self, request: urllib.request.Request) -> str:
        return send(self.opener, request)


def send(opener: urllib.request.OpenerDirector, request: urllib.request.Request) -> str:
    """The body of a 2xx answer; any other ends the run, naming the request."""
    try:
        with opener.open(request, timeout=30) as response:
            return response.read().decode()
    except urllib.error.HTTPError as error:
        fail(f"{request.get_method()} {request.full_url}", f"{error.code} {error.read().decode()[:500]}")


def hidden(page: str, name: str, step: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    if not found:
        fail(step, f"the page has no {name} field")
    return found.group(1)


def sign_in_code(log: pathlib.Path, email: str, after: int) -> str:
    """The newest code the printing outbox wrote to EMAIL past byte `after` of the log."""
    pattern = re.compile(rf"To:\s+{re.escape(email)}\s*\nSubject: Your Steller sign-in code: (\d{{6}})")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        codes = pattern.findall(log.read_bytes()[after:].decode(errors="replace"))
        if codes:
            return codes[-1]
        time.sleep(0.1)
    fail("reading the sign-in code", f"no code for {email} in {log} within 10 s")


def prepare(base: str, log_path: pathlib.Path, email: str, count: int, state: pathlib.Path) -> None:
    portal = Portal(base)
    token = hidden(portal.get("/signin"), "form_token", "opening /signin")
    logged = log_path.stat().st_size
    portal.post("/signin", {"form_token": token, "email": email})
    code = sign_in_code(log_path, email, logged)
    portal.post("/signin/code", {"form_token": token, "email": email, "code": code})

    csrf = hidden(portal.get("/dashboard/live/keys"), "csrf", "opening the live keys page")
    created = portal.post("/dashboard/live/keys", {"csrf": csrf, "name": "contract run"})
    found = re.search(r"stl_live_[A-Za-z0-9]{20,}", created)
    if not found:
        fail("creating a live key", "the page shows no new stl_live_ key")
    key = found.group(0)

    for n in range(count):
        body = {"amount": f"{100 + n}.00", "currency": "USD", "payment_reference": f"{REFERENCE}{n}"}
        answer = api(base, "POST", "/api/wallet/top-up-requests", key, body)
        if answer.get("status") != "pending" or answer.get("mode") != "live":
            fail("requesting a live top-up", f"expected a pending live request, got {answer}")
    state.write_text(json.dumps({"live_key": key, "requested": count}))
    print(f"contract: {count} pending live top-up requests for the ops pass to decide", file=sys.stderr)


def check(base: str, ops_key: str, state_path: pathlib.Path) -> None:
    state = json.loads(state_path.read_text())
    decided: dict[str, list[dict]] = {}
    for status in ("approved", "rejected"):
        listing = api(base, "GET", f"/api/admin/top-up-requests?status={status}&limit=100", ops_key)
        decided[status] = [r for r in listing["items"] if (r.get("payment_reference") or "").startswith(REFERENCE)]
    approved, rejected = decided["approved"], decided["rejected"]
    print(
        f"contract: the ops pass decided {len(approved) + len(rejected)} of {state['requested']} real top-up requests"
        f" ({len(approved)} approved, {len(rejected)} rejected)",
        file=sys.stderr,
    )
    if not approved and not rejected:
        fail("checking the ops pass", "it approved and rejected none of the pending requests")
    # Cents, so the sum is exact: the amounts are canonical two-decimal strings.
    cents = sum(int(r["amount"].replace(".", "")) for r in approved)
    balance = api(base, "GET", "/api/wallet", state["live_key"])["balance"]
    if int(balance.replace(".", "")) != cents:
        fail("checking the live wallet", f"it holds {balance}, but the approved requests add up to {cents / 100:.2f}")


def api(base: str, method: str, path: str, key: str, body: dict | None = None) -> dict:
    headers = {"authorization": f"Bearer {key}"}
    data = None
    if body is not None:
        headers["content-type"] = "application/json"
        data = json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    return json.loads(send(DIRECT, request))


def main() -> None:
    match sys.argv[1:]:
        case ["prepare", base, log, email, count, state]:
            prepare(base, pathlib.Path(log), email, int(count), pathlib.Path(state))
        case ["check", base, ops_key, state]:
            check(base, ops_key, pathlib.Path(state))
        case _:
            print(__doc__.split("\n\n")[1], file=sys.stderr)
            sys.exit(2)


if __name__ == "__main__":
    main()
