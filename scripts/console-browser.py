#!/usr/bin/env python3
"""Drive the MeltWatch duty console in headless Chromium and acknowledge one alarm.

Speaks chromedriver's W3C WebDriver HTTP protocol with the standard library only, so the
end-to-end test needs no pip packages:

    python3 scripts/console-browser.py --url http://127.0.0.1:PORT/ --alarm-id ID \
        --operator 张三 [--note TEXT] --screenshot-dir DIR [--timeout 60] [--check-banner]

Steps: open the console, wait for the row [data-alarm-id=ID], check it shows a message and a
basis, screenshot (console-alarm.png), type the operator (and note), click the row's ack button,
wait until the row is acknowledged (active-acked / normal) or gone, screenshot
(console-acked.png) and print one JSON summary line on stdout.

With --check-banner the browser reaches the console through a loopback TCP relay run by this
script; after the acknowledgement the relay drops every connection and refuses new ones, the
"connection lost" banner must appear (console-banner.png), then the relay is restored and the
banner must clear. The summary gains "banner_shown" and "banner_cleared". (Chromium's offline
emulation is no use here: it does not cut an event stream that is already open.)

With --hazard-id ID (instead of --alarm-id and --operator) it only looks: open the console, wait
for the hazards view's row [data-hazard-id=ID] to be visible with a non-empty description, scroll
it into view, screenshot (console-hazards.png) and print {"hazard_id", "row_text", "screenshot"}.
The row must be one the view shows by default (a hazard that is not closed).

Exit status: 0 all checks passed, 1 a check failed (stderr says what was not seen),
2 chromium or chromedriver is missing or cannot start.
"""

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"  # the W3C name of a web element reference


class CheckFailed(Exception):
    """A console check did not hold (exit 1)."""


class BrowserMissing(Exception):
    """Chromium or chromedriver is not installed or would not start (exit 2)."""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_binary(names, env_var):
    explicit = os.environ.get(env_var)
    if explicit:
        return explicit if os.path.exists(explicit) else None
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


class WebDriver:
    """Just enough of the W3C WebDriver protocol for this test."""

    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.session = None

    def call(self, method, path, body=None, timeout=60):
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read().decode() or "{}").get("value")
        except urllib.error.HTTPError as e:
            # WebDriver errors come back as JSON {"value": {"error": ..., "message": ...}}.
            try:
                value = json.loads(e.read().decode()).get("value") or {}
            except ValueError:
                value = {}
            raise WebDriverError(value.get("error", f"HTTP {e.code}"), value.get("message", "")) from None

    def s(self, method, path, body=None, timeout=60):
        return self.call(method, f"/session/{self.session}{path}", body, timeout)

    def wait_ready(self, proc, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                raise BrowserMissing(f"chromedriver exited with status {proc.returncode}")
            try:
                if (self.call("GET", "/status", timeout=2) or {}).get("ready"):
                    return
            except (OSError, WebDriverError):
                pass
            time.sleep(0.1)
        raise BrowserMissing("chromedriver did not become ready")

    def start(self, chromium, profile_dir):
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000",
                f"--user-data-dir={profile_dir}", "--no-first-run", "--no-default-browser-check",
                "--lang=zh-CN",
            ]},
        }}}
        try:
            value = self.call("POST", "/session", caps, timeout=90)
        except WebDriverError as e:
            raise BrowserMissing(f"cannot start Chromium: {e}") from None
        self.session = value["sessionId"]

    def quit(self):
        if self.session:
            try:
                self.s("DELETE", "", timeout=15)
            except (OSError, WebDriverError):
                pass
            self.session = None

    def script(self, source, *args):
        return self.s("POST", "/execute/sync", {"script": source, "args": list(args)})

    def find(self, css):
        try:
            return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT_KEY]
        except WebDriverError as e:
            if e.error == "no such element":
                return None
            raise

    def screenshot(self, path):
        png = base64.b64decode(self.s("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)


class WebDriverError(Exception):
    def __init__(self, error, message):
        super().__init__(f"{error}: {message.splitlines()[0] if message else ''}")
        self.error = error


# Reads one row by alarm id without building a CSS selector from the id (ids contain ':' and
# could contain quotes). Returns null when the row is absent.
ROW_INFO = """
const row = [...document.querySelectorAll('tr[data-alarm-id]')].find(r => r.dataset.alarmId === arguments[0]);
if (!row) return null;
const text = (sel) => { const e = row.querySelector(sel); return e ? e.innerText.trim() : ''; };
const ack = row.querySelector('.ack');
return {state: row.dataset.state, text: row.innerText.replace(/\\s+/g, ' ').trim(),
        message: text('td.message'), basis: text('td.basis'),
        ack_visible: !!(ack && ack.offsetParent !== null)};
"""

# What the page showed instead, for a useful failure message.
PAGE_STATE = """
const b = document.getElementById('connection-banner');
return {title: document.title, url: location.href,
        rows: [...document.querySelectorAll('tr[data-alarm-id]')].map(r => r.dataset.alarmId + ' ' + r.dataset.state),
        banner: b && !b.hidden ? b.innerText : null,
        status: (document.getElementById('status') || {}).innerText || null};
"""

# One hazard row by id (found without building a CSS selector from the id, as for alarms).
HAZARD_ROW = """
const row = [...document.querySelectorAll('tr[data-hazard-id]')].find(r => r.dataset.hazardId === arguments[0]);
if (!row) return null;
const d = row.querySelector('td.description');
return {status: row.dataset.status, visible: row.getClientRects().length > 0 && getComputedStyle(row).visibility !== 'hidden',
        description: d ? d.innerText.trim() : '', text: row.innerText.replace(/\\s+/g, ' ').trim()};
"""

HAZARD_PAGE_STATE = """
const e = (id) => { const x = document.getElementById(id); return x ? x.innerText.trim() : null; };
return {url: location.href, count: e('hazard-count'), error: e('hazard-error'), status: e('status'),
        rows: [...document.querySelectorAll('tr[data-hazard-id]')].map(r => r.dataset.hazardId + ' ' + r.dataset.status)};
"""

BANNER_SHOWN = """
const b = document.getElementById('connection-banner');
return !!(b && !b.hidden && b.offsetParent !== null);
"""


def wait_for(what, probe, timeout, interval=0.2):
    """Polls probe() until it returns a truthy value; CheckFailed naming `what` on timeout."""
    deadline = time.time() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.time() >= deadline:
            raise CheckFailed(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def type_into(wd, css, text):
    el = wd.find(css)
    if el is None:
        raise CheckFailed(f"input {css} not found on the page")
    wd.s("POST", f"/element/{el}/clear")
    if text:
        wd.s("POST", f"/element/{el}/value", {"text": text})
    if wd.script("return document.querySelector(arguments[0]).value", css) != text:
        raise CheckFailed(f"input {css} does not hold the typed text {text!r}")


class Relay:
    """A loopback TCP relay to the daemon that can be cut, to simulate a lost connection."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.down = False
        self.closed = False
        self.lock = threading.Lock()
        self.conns = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                client.close()  # the browser sees an empty response / connection reset
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            self._close(s)

    def _close(self, s):
        with self.lock:
            self.conns.discard(s)
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def cut(self):
        self.down = True
        with self.lock:
            conns = list(self.conns)
        for s in conns:
            self._close(s)

    def restore(self):
        self.down = False

    def close(self):
        self.closed = True
        self.cut()
        self.listener.close()


# True once the alarm list has been fetched and drawn: rows, or the "no active alarms" notice.
LIST_LOADED = """
return document.querySelectorAll('tr[data-alarm-id]').length > 0
    || !document.getElementById('empty').hidden;"""


def run(wd, args, summary, relay):
    url = args.url
    if relay:
        u = urllib.parse.urlparse(url)
        url = urllib.parse.urlunparse(u._replace(netloc=f"127.0.0.1:{relay.port}"))
    wd.s("POST", "/url", {"url": url})

    if args.screenshot_only:
        # Just the console as the duty room sees it, once the alarm list has loaded.
        wait_for("the alarm list to load (rows or the empty notice)", lambda: wd.script(LIST_LOADED), args.timeout)
        time.sleep(1.5)   # status, signals and fonts settle
        wd.screenshot(args.screenshot_only)
        summary["screenshot"] = args.screenshot_only
        return

    try:
        info = wait_for(f'a row [data-alarm-id="{args.alarm_id}"] in the alarms table',
                        lambda: wd.script(ROW_INFO, args.alarm_id), args.timeout)
    except CheckFailed as e:
        seen = wd.script(PAGE_STATE)
        raise CheckFailed(f"{e}; page: {json.dumps(seen, ensure_ascii=False)}") from None
    summary["found"] = True
    summary["state_before"] = info["state"]
    if not info["message"]:
        raise CheckFailed(f"row {args.alarm_id} shows no message (td.message is empty)")
    if not info["basis"] or info["basis"] == "—":
        raise CheckFailed(f"row {args.alarm_id} shows no basis (td.basis is empty)")
    if info["state"] not in ("active-unacked", "rtn-unacked"):
        raise CheckFailed(f"row {args.alarm_id} is {info['state']!r}, expected an unacknowledged state")
    if not info["ack_visible"]:
        raise CheckFailed(f"row {args.alarm_id} has no visible .ack button")
    # Let the page settle (status, signals, fonts) so the screenshot shows the whole console.
    time.sleep(1.0)
    wd.screenshot(os.path.join(args.screenshot_dir, "console-alarm.png"))

    type_into(wd, "#operator", args.operator)
    if args.note is not None:
        type_into(wd, "#note", args.note)

    button = wd.script("""
        const row = [...document.querySelectorAll('tr[data-alarm-id]')].find(r => r.dataset.alarmId === arguments[0]);
        return row ? row.querySelector('.ack') : null;""", args.alarm_id)
    if not button:
        raise CheckFailed(f"row {args.alarm_id} lost its .ack button before it could be clicked")
    wd.s("POST", f"/element/{button[ELEMENT_KEY]}/click")

    def acked():
        row = wd.script(ROW_INFO, args.alarm_id)
        if row is None:
            return {"state": "gone", "text": ""}
        return row if row["state"] in ("active-acked", "normal") else None
    try:
        after = wait_for(f"row {args.alarm_id} to become active-acked/normal after clicking ack", acked, args.timeout)
    except CheckFailed as e:
        status = wd.script("return document.getElementById('status').innerText")
        raise CheckFailed(f"{e} (status line: {status!r})") from None
    summary["state_after"] = after["state"]
    summary["row_text"] = after["text"]
    time.sleep(0.5)
    wd.screenshot(os.path.join(args.screenshot_dir, "console-acked.png"))

    if args.check_banner:
        if wd.script(BANNER_SHOWN):
            raise CheckFailed("connection banner is shown while the daemon is reachable")
        relay.cut()
        # A dropped stream shows at once; 15 s covers a browser slow to notice.
        wait_for("#connection-banner to appear after the connection was cut",
                 lambda: wd.script(BANNER_SHOWN), min(args.timeout, 15))
        summary["banner_shown"] = True
        time.sleep(0.3)
        wd.screenshot(os.path.join(args.screenshot_dir, "console-banner.png"))
        relay.restore()
        # EventSource retries by itself after a few seconds, then the page re-fetches and clears.
        wait_for("#connection-banner to clear after the connection came back",
                 lambda: not wd.script(BANNER_SHOWN), args.timeout)
        summary["banner_cleared"] = True


ROW_BUTTONS = """
const row = [...document.querySelectorAll('tr[data-alarm-id]')].find(r => r.dataset.alarmId === arguments[0]);
if (!row) return null;
const visible = (sel) => { const e = row.querySelector(sel); return !!(e && e.offsetParent !== null); };
return {state: row.dataset.state, ack: visible('.ack'), shelve: visible('.shelve')};
"""

MAINTENANCE_ROWS = """
return [...document.querySelectorAll('#maintenance-list tbody tr')].map(r => [...r.cells].map(c => c.innerText.trim()));
"""

TOKEN_ASKED = """
const l = document.getElementById('token-label');
return !!(l && !l.hidden && l.offsetParent !== null);
"""


def click(wd, alarm_id, css):
    button = wd.script("""
        const row = [...document.querySelectorAll('tr[data-alarm-id]')].find(r => r.dataset.alarmId === arguments[0]);
        return row ? row.querySelector(arguments[1]) : null;""", alarm_id, css)
    if not button:
        raise CheckFailed(f"row {alarm_id} has no {css} button to click")
    wd.s("POST", f"/element/{button[ELEMENT_KEY]}/click")


def duty_room(wd, args, summary):
    """The duty room's rules in the browser (issue 19, part 8): an emergency alarm offers no shelve,
    equipment out of service is listed with who, why and until when, and the operator's token is
    asked for once — on the first write the daemon refuses (401) — then kept."""
    wd.s("POST", "/url", {"url": args.url})
    emergency = wait_for(f"the emergency alarm {args.alarm_id}", lambda: wd.script(ROW_BUTTONS, args.alarm_id), args.timeout)
    other = wait_for(f"the alarm {args.shelve_alarm_id}", lambda: wd.script(ROW_BUTTONS, args.shelve_alarm_id), args.timeout)
    if emergency["shelve"]:
        raise CheckFailed(f"the emergency alarm {args.alarm_id} offers a shelve button")
    if not other["shelve"]:
        raise CheckFailed(f"the alarm {args.shelve_alarm_id} ({other['state']}) offers no shelve button")
    summary["emergency_shelvable"] = False

    plant, equipment = args.oos.split("/", 1)
    def listed():
        for cells in wd.script(MAINTENANCE_ROWS):
            if len(cells) == 6 and equipment in cells[1] and cells[2] == args.oos_operator and cells[3] == args.oos_reason \
                    and cells[5] not in ("", "—"):
                return cells
        return None
    row = wait_for(f"{args.oos} in the out-of-service list with operator, reason and until", listed, args.timeout)
    summary["out_of_service_row"] = row

    # The first write: no token yet, the daemon answers 401, the console asks for it.
    if wd.script("return localStorage.getItem('meltwatch.token')"):
        raise CheckFailed("a token is stored before the operator gave one")
    type_into(wd, "#operator", args.operator)
    click(wd, args.alarm_id, ".ack")
    wait_for("the console to ask for the operator's token after the 401", lambda: wd.script(TOKEN_ASKED), args.timeout)
    wd.screenshot(os.path.join(args.screenshot_dir, "console-token.png"))
    token_input = wd.find("#token")
    wd.s("POST", f"/element/{token_input}/value", {"text": args.token + "\ue007"})  # and Enter: the ack is retried
    wait_for(f"{args.alarm_id} acknowledged once the token was entered",
             lambda: (wd.script(ROW_BUTTONS, args.alarm_id) or {}).get("state") in ("active-acked", "normal"), args.timeout)
    summary["token_asked"] = 1

    # Asked once: after a reload the next write goes through without asking.
    wd.s("POST", "/url", {"url": args.url})
    wait_for(f"the alarm {args.shelve_alarm_id} after the reload", lambda: wd.script(ROW_BUTTONS, args.shelve_alarm_id), args.timeout)
    click(wd, args.shelve_alarm_id, ".shelve")
    type_into(wd, "tr.shelve-form input[name=reason]", "浏览器测试 搁置")
    submit = wd.find("tr.shelve-form .shelve-submit")
    if submit is None:
        raise CheckFailed("the shelve form has no submit button")
    wd.s("POST", f"/element/{submit}/click")
    wait_for(f"{args.shelve_alarm_id} shelved", lambda: (wd.script(ROW_BUTTONS, args.shelve_alarm_id) or {}).get("state") == "shelved",
             args.timeout)
    if wd.script(TOKEN_ASKED):
        raise CheckFailed("the console asked for the token a second time")
    summary["token_asked_again"] = False
    time.sleep(0.5)
    wd.screenshot(os.path.join(args.screenshot_dir, "console-duty-room.png"))


def hazards(wd, args, summary):
    """The hazards view: the row for --hazard-id shows, with its description, and is screenshot."""
    wd.s("POST", "/url", {"url": args.url})

    def shown():
        row = wd.script(HAZARD_ROW, args.hazard_id)
        return row if row and row["visible"] and row["description"] not in ("", "—") else None
    try:
        row = wait_for(f'a visible row [data-hazard-id="{args.hazard_id}"] with a description in the hazards view', shown, args.timeout)
    except CheckFailed as e:
        seen = wd.script(HAZARD_PAGE_STATE)
        raise CheckFailed(f"{e}; page: {json.dumps(seen, ensure_ascii=False)}") from None
    wd.script("""
        const row = [...document.querySelectorAll('tr[data-hazard-id]')].find(r => r.dataset.hazardId === arguments[0]);
        if (row) row.scrollIntoView({block: 'center'});""", args.hazard_id)
    time.sleep(1.0)   # status, names and fonts settle; the scroll is done
    row = wd.script(HAZARD_ROW, args.hazard_id) or row
    summary["row_text"] = row["text"]
    path = os.path.join(args.screenshot_dir, "console-hazards.png")
    wd.screenshot(path)
    summary["screenshot"] = path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--alarm-id")
    ap.add_argument("--operator")
    ap.add_argument("--note")
    ap.add_argument("--screenshot-dir")
    ap.add_argument("--screenshot-only", metavar="PNG", help="only save a screenshot of the loaded console to PNG")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--check-banner", action="store_true")
    ap.add_argument("--token", help="duty-room checks: the operator's token (asked for once); with --shelve-alarm-id, --oos, "
                                    "--oos-operator, --oos-reason; --alarm-id is then an emergency alarm")
    ap.add_argument("--shelve-alarm-id")
    ap.add_argument("--oos", metavar="PLANT/EQUIPMENT")
    ap.add_argument("--oos-operator")
    ap.add_argument("--oos-reason")
    ap.add_argument("--hazard-id", help="instead of acknowledging an alarm: screenshot the hazards view's row for this hazard "
                                        "(console-hazards.png in --screenshot-dir)")
    args = ap.parse_args()
    if args.hazard_id:
        if args.screenshot_only or args.token or args.check_banner:
            ap.error("--hazard-id does not combine with --screenshot-only, --token or --check-banner")
        if not args.screenshot_dir:
            ap.error("--screenshot-dir is required with --hazard-id")
    elif not args.screenshot_only and not (args.alarm_id and args.operator and args.screenshot_dir):
        ap.error("--alarm-id, --operator and --screenshot-dir are required (unless --screenshot-only or --hazard-id)")
    if args.screenshot_only:
        args.screenshot_dir = os.path.dirname(os.path.abspath(args.screenshot_only))

    host = urllib.parse.urlparse(args.url).hostname
    if host not in ("127.0.0.1", "localhost"):
        print(f"console-browser: only 127.0.0.1 URLs are allowed, not {host!r}", file=sys.stderr)
        return 1
    os.makedirs(args.screenshot_dir, exist_ok=True)

    chromium = find_binary(["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"], "CHROMIUM")
    driver = find_binary(["chromedriver"], "CHROMEDRIVER")
    if not chromium or not driver:
        missing = " and ".join(n for n, p in (("chromium", chromium), ("chromedriver", driver)) if not p)
        print(f"console-browser: {missing} not found (apt-get install -y chromium chromium-driver)", file=sys.stderr)
        return 2

    if args.hazard_id:
        summary = {"hazard_id": args.hazard_id, "row_text": None, "screenshot": None}
    else:
        summary = {"found": False, "state_before": None, "state_after": None, "row_text": None}
    profile = tempfile.mkdtemp(prefix="meltwatch-console-")
    port = free_port()
    log = open(os.path.join(profile, "chromedriver.log"), "wb")
    proc = subprocess.Popen([driver, f"--port={port}", "--allowed-ips=127.0.0.1"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    wd = WebDriver(port)
    relay = None
    code = 0
    try:
        if args.check_banner:
            relay = Relay(urllib.parse.urlparse(args.url).port or 80)
        wd.wait_ready(proc)
        wd.start(chromium, os.path.join(profile, "profile"))
        if args.hazard_id:
            hazards(wd, args, summary)
        elif args.token:
            duty_room(wd, args, summary)
        else:
            run(wd, args, summary, relay)
    except BrowserMissing as e:
        print(f"console-browser: {e}", file=sys.stderr)
        code = 2
    except CheckFailed as e:
        print(f"console-browser: FAILED: {e}", file=sys.stderr)
        code = 1
    except (WebDriverError, OSError, KeyError) as e:
        print(f"console-browser: FAILED: webdriver: {e}", file=sys.stderr)
        code = 1
    finally:
        if wd.session and code == 1:
            try:  # the state at the moment of failure is the most useful picture
                wd.screenshot(os.path.join(args.screenshot_dir, "console-failure.png"))
            except (WebDriverError, OSError):
                pass
        wd.quit()
        if relay:
            relay.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
