"""Watch a live page in headless Chromium through the DevTools protocol.

    watch_page.py CHROMIUM URL SECONDS EXPRESSION

Opens URL in one page session and evaluates the JavaScript EXPRESSION (which returns a
JSON-serialisable value) every half second for up to SECONDS, printing one JSON line per
evaluation: {"t": seconds, "value": …}. Ends early when the value has an "done" member
that is true. Every uncaught JavaScript exception and console error is printed as
{"error": …}. Used by the dashboard tests: the DOM must change as results arrive, in the
page the browser already has, without a reload.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket


def main():
    chromium, url, seconds, expression = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    profile = tempfile.mkdtemp(prefix="sweepd-chromium-")
    browser = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
         "--user-data-dir=" + profile, "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            if time.time() > deadline:
                raise SystemExit("chromium did not open its DevTools port in 30 s")
            time.sleep(0.05)
        port = open(port_file).read().split()[0]
        pages = json.load(urllib.request.urlopen("http://127.0.0.1:%s/json" % port))
        page = next(p for p in pages if p.get("type") == "page")
        socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        counter = [0]

        def call(method, **params):
            counter[0] += 1
            socket.send(json.dumps({"id": counter[0], "method": method, "params": params}))
            while True:
                message = json.loads(socket.recv())
                if message.get("method") == "Runtime.exceptionThrown":
                    details = message["params"]["exceptionDetails"]
                    print(json.dumps({"error": details.get("exception", {}).get("description") or details.get("text")}), flush=True)
                elif message.get("method") == "Runtime.consoleAPICalled" and message["params"]["type"] == "error":
                    print(json.dumps({"error": " ".join(str(a.get("value", a.get("description"))) for a in message["params"]["args"])}), flush=True)
                elif message.get("id") == counter[0]:
                    return message.get("result", {})

        call("Runtime.enable")
        call("Page.enable")
        call("Page.navigate", url=url)
        started = time.time()
        while time.time() - started < seconds:
            result = call("Runtime.evaluate", expression="JSON.stringify(%s)" % expression, returnByValue=True)
            raw = result.get("result", {}).get("value")
            value = json.loads(raw) if isinstance(raw, str) else None
            print(json.dumps({"t": round(time.time() - started, 2), "value": value}), flush=True)
            if isinstance(value, dict) and value.get("done"):
                break
            time.sleep(0.5)
        socket.close()
    finally:
        browser.kill()
        browser.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
