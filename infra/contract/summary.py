"""Prints the contract run's summary from schemathesis' NDJSON reports, one line per pass
and a total, and exits non-zero when a pass failed, found nothing to run, or fell short
of the case count.

    summary.py OUT_DIR MIN_CASES

OUT_DIR holds `passes` (name, schemathesis' exit code and seconds, one pass a line, as
schemathesis.sh writes them) and a directory per pass with its `ndjson-*.ndjson`.
"""

import json
import pathlib
import sys


def tally(report: pathlib.Path) -> tuple[int, int, set[str]]:
    """(test cases, requests, ids of cases that failed a check) in one NDJSON report."""
    cases = requests = 0
    failed: set[str] = set()
    for line in report.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder") or {}
        cases += len(recorder.get("cases") or {})
        requests += len(recorder.get("interactions") or {})
        for case_id, checks in (recorder.get("checks") or {}).items():
            if any(check.get("status") == "failure" for check in checks):
                failed.add(case_id)
    return cases, requests, failed


def main() -> int:
    out, min_cases = pathlib.Path(sys.argv[1]), int(sys.argv[2])
    ok = True
    total_cases = total_failed = 0
    print("contract summary (schemathesis, every check, phases examples, coverage, fuzzing, stateful)")
    print(f"  {'pass':<8} {'cases':>6} {'requests':>8} {'failures':>8} {'seconds':>7}  exit")
    for line in (out / "passes").read_text().splitlines():
        name, status, seconds = line.split()
        reports = sorted((out / name).glob("ndjson-*.ndjson"), key=lambda p: p.stat().st_mtime)
        cases, requests, failed = tally(reports[-1]) if reports else (0, 0, set())
        print(f"  {name:<8} {cases:>6} {requests:>8} {len(failed):>8} {seconds:>7}  {status}")
        total_cases += cases
        total_failed += len(failed)
        ok &= status == "0" and cases > 0 and not failed
    print(f"  {'total':<8} {total_cases:>6} {'':>8} {total_failed:>8}")
    if total_cases < min_cases:
        print(f"contract: {total_cases} cases is fewer than the {min_cases} the run must make", file=sys.stderr)
        ok = False
    print("contract: passed" if ok else "contract: FAILED (schemathesis' report is above; reports in target/contract/)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
