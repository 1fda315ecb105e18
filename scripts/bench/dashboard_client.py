"""What an open dashboard page asks of the coordinator, without a browser's own CPU cost.

    dashboard_client.py URL_FILE SECONDS

Waits for URL_FILE (the line `dashboard at http://…/` the coordinator logs, written by the
caller), then behaves as the sweep page's script does: follows /api/events, and on each
update fetches the page's live part (/sweeps/ID/body) at most once a second, until the
stream ends or SECONDS pass. Prints how many bodies it fetched and their mean time.
"""
import re
import sys
import threading
import time
import urllib.request


def main():
    log, seconds = sys.argv[1], float(sys.argv[2])
    deadline = time.time() + seconds
    base = None
    while time.time() < deadline and base is None:
        try:
            match = re.search(r"dashboard at (http://[^/\s]+)/", open(log).read())
            base = match.group(1) if match else None
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    if base is None:
        raise SystemExit("no dashboard address in " + log)
    sweep = None
    while sweep is None and time.time() < deadline:
        text = urllib.request.urlopen(base + "/api/sweeps").read().decode()
        match = re.search(r'"sweep":"([^"]+)"', text)
        sweep = match.group(1) if match else None
        time.sleep(0.05)
    fetched, spent, cost = [0], [0.0], [0.0]
    pending = threading.Event()

    def fetcher():
        last = 0.0
        while time.time() < deadline:
            if not pending.wait(timeout=0.5):
                continue
            pending.clear()
            # The page's rule: at most once a second, and at most an eighth of the time.
            time.sleep(max(0.0, max(1.0, 8 * cost[0]) - (time.time() - last)))
            started = time.perf_counter()
            try:
                urllib.request.urlopen("%s/sweeps/%s/body" % (base, sweep)).read()
            except Exception:
                return
            spent[0] += time.perf_counter() - started
            cost[0] = time.perf_counter() - started
            fetched[0] += 1
            last = time.time()

    threading.Thread(target=fetcher, daemon=True).start()
    try:
        stream = urllib.request.urlopen(base + "/api/events", timeout=5)
        for line in stream:
            if line.startswith(b"event: update"):
                pending.set()
            if time.time() > deadline:
                break
    except Exception:
        pass  # the run ended and took the server with it
    print("fetched %d bodies, %.1f ms each" % (fetched[0], 1000 * spent[0] / max(1, fetched[0])))


if __name__ == "__main__":
    main()
