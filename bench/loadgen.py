"""HTTP load against 127.0.0.1 only: wrk (with a Lua script) when installed, otherwise a
bounded Python loader (threads, keep-alive connections). Both stop by themselves."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.common import percentile

MAX_SECONDS = 120  # hard cap on any one load run

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = %(body)s
wrk.headers["Content-Type"] = "application/json"
%(headers)s

done = function(summary, latency, requests)
  io.write(string.format(
    "WRK_JSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"status_errors\\": %%d, " ..
    "\\"connect\\": %%d, \\"read\\": %%d, \\"write\\": %%d, \\"timeout\\": %%d, " ..
    "\\"p50_us\\": %%d, \\"p99_us\\": %%d, \\"mean_us\\": %%f}\\n",
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def tool_name() -> str:
    return "wrk" if shutil.which("wrk") else "python-threads"


def post_json_load(
    url: str,
    body: dict,
    headers: dict[str, str],
    *,
    seconds: float,
    connections: int,
    scratch: Path,
) -> LoadResult:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("load is only ever sent to this machine")
    seconds = min(seconds, MAX_SECONDS)
    if shutil.which("wrk"):
        return _wrk(url, body, headers, seconds, connections, scratch)
    return _python(url, body, headers, seconds, connections)


def _wrk(url, body, headers, seconds, connections, scratch: Path) -> LoadResult:
    header_lines = "\n".join(
        f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()
    )
    script = scratch / "post.lua"
    script.write_text(WRK_SCRIPT % {"body": _lua_string(json.dumps(body)), "headers": header_lines})
    args = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, int(round(seconds)))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(
        args, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    data = json.loads(line[len("WRK_JSON ") :])
    errors = sum(data[k] for k in ("status_errors", "connect", "read", "write", "timeout"))
    return LoadResult(
        "wrk",
        data["requests"],
        data["duration_us"] / 1e6,
        errors,
        data["p50_us"] / 1000,
        data["p99_us"] / 1000,
    )


def _python(url, body, headers, seconds, connections) -> LoadResult:
    parts = urlsplit(url)
    payload = json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **headers}
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    stop_at = time.monotonic() + seconds

    def loop(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                conn.request("POST", parts.path, payload, all_headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[index] += 1
            except OSError:
                errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                continue
            latencies[index].append(time.perf_counter() - started)
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 30)
    elapsed = time.monotonic() - started
    flat = [x for per in latencies for x in per]
    return LoadResult(
        "python-threads",
        len(flat),
        elapsed,
        sum(errors),
        percentile(flat, 50) * 1000,
        percentile(flat, 99) * 1000,
    )
