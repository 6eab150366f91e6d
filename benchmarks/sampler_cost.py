"""The level-4 input sampler's own cost, run in a level-4 project's environment.

    .venv/bin/python benchmarks/sampler_cost.py <package> <body.json> <rounds>

Prints JSON: the median time of one `offer()` (a request's whole part in sampling) at
the rates 0, 0.1 and 1, with the writer thread running; and the median time the writer
takes to append one second's worth of samples at the cap (ROWS_PER_SECOND rows, in
bodies like the one given).
"""

import functools
import importlib
import json
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

CALLS = 100_000


def main() -> None:
    package, body_path, rounds = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    sampling = importlib.import_module(f"{package}.serving.sampling")
    body = body_path.read_bytes()
    rows = len(json.loads(body)["instances"])
    with tempfile.TemporaryDirectory() as folder:
        offer_ns = {}
        for rate in (0.0, 0.1, 1.0):
            sampler = sampling.InputSampler(Path(folder) / f"rate-{rate}", rate)
            offer = functools.partial(sampler.offer, body, rows)
            times = timeit.repeat(offer, number=CALLS, repeat=rounds)
            sampler.stop()
            offer_ns[str(rate)] = statistics.median(times) / CALLS * 1e9
        writer = sampling.InputSampler(Path(folder) / "writer", 0.0)  # no thread: called here
        second = [(body, rows)] * max(int(sampling.ROWS_PER_SECOND) // rows, 1)
        write_s = []
        for _ in range(rounds):
            started = time.perf_counter()
            writer._append(second)
            write_s.append(time.perf_counter() - started)
    print(json.dumps({"offer_ns": offer_ns, "write_s": write_s, "rows": len(second) * rows}))


if __name__ == "__main__":
    main()
