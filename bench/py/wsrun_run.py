"""Row 4: the row-3 collection through the Python module, `wsrun.run(...)`.

python wsrun_run.py COLLECTION URL  ->  prints {"seconds": ..., "passed": ...} on stdout.
The time covers the `wsrun.run` call only (not the interpreter start or `import wsrun`).
"""
import json
import resource
import sys
import time

import wsrun


def cpu():
    """User + system CPU seconds of this process, all threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


if __name__ == "__main__":
    path, url = sys.argv[1], sys.argv[2]
    t0, c0 = time.perf_counter(), cpu()
    report = wsrun.run(path, vars={"url": url})
    secs, cpus = time.perf_counter() - t0, cpu() - c0
    print(json.dumps({"seconds": secs, "cpu": cpus, "passed": bool(report.passed)}))
    sys.exit(0 if report.passed else 1)
