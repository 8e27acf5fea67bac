#!/usr/bin/env python3
"""Totals of a `make test` run, from each test project's TRX file, exit code and console log.

    test-totals.py RESULTS_DIR TOTALS_FILE

RESULTS_DIR holds projects.tsv (one line per test project: name, dotnet test's exit code, its console log) and the
projects' TRX files (NAME.trx). Prints the bad-input corpus counts, the skipped tests with their reasons and last the
failures with their messages; writes "passed failed skipped" to TOTALS_FILE.

Nothing that went wrong can pass as a pass or a skip:
- a project whose results file is missing counts one failure;
- a project whose `dotnet test` exited non-zero while its results show no failure (a crashed or aborted test host)
  counts one failure;
- a test stopped by --blame-hang-timeout counts one failure, named from the blame output;
- a result whose outcome is neither Passed, Failed nor an explicit skip (Aborted, Timeout, Error, InProgress, a
  NotExecuted without a skip reason...) counts as failed.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}


def text(result, name):
    node = result.find(f"t:Output/t:ErrorInfo/t:{name}", NS)
    return (node.text or "").strip() if node is not None else ""


def stopped_tests(log_path):
    """The tests VSTest's blame collector names as running when the host died, and whether it died of a hang."""
    if not log_path or not os.path.exists(log_path):
        return [], False
    with open(log_path, encoding="utf-8", errors="replace") as f:
        lines = [line.strip() for line in f]
    # A host that died on its own says why ("Test host process crashed : Process terminated..."); one that the hang
    # timeout stopped has only the blame collector's inactivity message.
    crashed_itself = any("Test host process crashed :" in line for line in lines)
    hang = not crashed_itself and any("inactivity time of" in line and "has elapsed" in line for line in lines)
    names = []
    for i, line in enumerate(lines):
        if line.startswith("The test running when the crash occurred:"):
            names.extend(n for n in lines[i + 1:i + 20] if n and not n.startswith("This test may"))
            names = names[:next((k for k, n in enumerate(names) if n.startswith("Attachments")), len(names))]
    return names, hang


def main(results_dir, totals_file):
    passed = failed = skipped = 0
    corpus = []
    skips = []
    failures = []  # (title, details)
    listing = os.path.join(results_dir, "projects.tsv")
    projects = []
    if os.path.exists(listing):
        with open(listing, encoding="utf-8") as f:
            projects = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    if not projects:
        failures.append(("no test project ran", ""))
    for name, exit_code, log_path in projects:
        trx = os.path.join(results_dir, name + ".trx")
        project_failed = 0
        if not os.path.exists(trx):
            failures.append((f"{name}: no results file ({name}.trx); dotnet test exited {exit_code}", tail(log_path)))
            failed += 1
            continue
        try:
            root = ET.parse(trx).getroot()
        except ET.ParseError as e:
            failures.append((f"{name}: the results file {name}.trx is unreadable ({e})", tail(log_path)))
            failed += 1
            continue
        for out in root.iterfind(".//t:UnitTestResult/t:Output/t:StdOut", NS):
            for line in (out.text or "").splitlines():
                if line.startswith("bad-input corpus:"):
                    corpus.append(line)
        for result in root.iterfind(".//t:UnitTestResult", NS):
            outcome = result.get("outcome", "")
            test = result.get("testName", "?")
            if outcome == "Passed":
                passed += 1
            elif outcome == "NotExecuted" and text(result, "Message"):
                skipped += 1
                skips.append(f"{test}: {text(result, 'Message')}")
            elif outcome == "Failed":
                failed += 1
                project_failed += 1
                failures.append((f"{test} ({result.get('duration')})", "\n".join(
                    part for part in (text(result, "Message"), text(result, "StackTrace")) if part)))
            else:
                failed += 1
                project_failed += 1
                failures.append((f"{test}: outcome {outcome or 'missing'} (not passed, not an explicit skip)", text(result, "Message")))
        stopped, hang = stopped_tests(log_path)
        for test in stopped:
            failed += 1
            project_failed += 1
            why = "hung, stopped by --blame-hang-timeout" if hang else "crashed the test host"
            failures.append((f"{test}: {why} ({name}, dotnet test exited {exit_code})", tail(log_path)))
        if exit_code != "0" and project_failed == 0:
            failed += 1
            failures.append((f"{name}: dotnet test exited {exit_code} though its results show no failure (a crashed or aborted test host)", tail(log_path)))

    total = 0
    for line in corpus:
        print(line)
        found = re.search(r": (\d+) ", line)
        total += int(found.group(1)) if found else 0
    if total:
        print(f"bad-input corpus: {total} cases in all")
    for line in skips:
        print(f"skipped: {line}")
    for title, details in failures:
        print(f"FAILED: {title}")
        if details:
            print("\n".join("    " + line for line in details.splitlines()[:15]))
    with open(totals_file, "w", encoding="utf-8") as f:
        f.write(f"{passed} {failed} {skipped}\n")


def tail(log_path, lines=15):
    if not log_path or not os.path.exists(log_path):
        return ""
    with open(log_path, encoding="utf-8", errors="replace") as f:
        return "".join(f.readlines()[-lines:])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: test-totals.py RESULTS_DIR TOTALS_FILE")
    main(sys.argv[1], sys.argv[2])
