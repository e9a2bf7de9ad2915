#!/usr/bin/env python3
"""A stand-in for the duty room's webhook endpoint, for the demo.

Listens on 127.0.0.1, verifies X-MeltWatch-Signature (HMAC-SHA256 over "<t>.<body>") with the
secret file, deduplicates on Idempotency-Key, and prints each alarm event (and each hazard record's
event, meltwatch.hazard/1) as it arrives.
Usage: duty-receiver.py PORT SECRET_FILE
"""
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

PORT = int(sys.argv[1])
SECRET = open(sys.argv[2], "rb").read().rstrip(b"\r\n")
seen = set()

COLOURS = {"emergency": "\033[1;41;97m", "high": "\033[1;31m", "medium": "\033[1;33m", "low": "\033[36m"}
RESET = "\033[0m"


def verify(header, body):
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t, v1 = parts.get("t"), parts.get("v1")
    if not t or not v1 or abs(time.time() - int(t)) > 300:
        return False
    expected = hmac.new(SECRET, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, v1)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ok = verify(self.headers.get("X-MeltWatch-Signature", ""), body)
        if not ok:
            self.send_response(401)
            self.end_headers()
            print("  duty room | REJECTED: bad or missing signature", flush=True)
            return
        self.send_response(204)
        self.end_headers()
        key = self.headers.get("Idempotency-Key")
        if key in seen:
            return
        seen.add(key)
        e = json.loads(body)
        if e.get("schema") == "meltwatch.hazard/1":
            # A hazard record's event (contract §7): what happened to which record.
            h = e["hazard"]
            kind = "重大事故隐患" if h["class"] == "major" else "一般隐患"
            print(f"  duty room | [HAZARD {e['event'].upper():8}] {kind} {h['id']} {h['status']}  {h['plant']}/{h['equipment']}  "
                  f"{h['description']}\n"
                  f"  duty room |            basis: {h['basis']}  event_time: {e['event_time']}  by: {e['by']}  id: {e['event_id']}  (signature ok)",
                  flush=True)
            return
        colour = COLOURS.get(e.get("priority"), "") if sys.stdout.isatty() else ""
        reset = RESET if colour else ""
        print(f"  duty room | {colour}[{e['event'].upper():8}] {e['priority']:9}{reset} {e['plant']}/{e['equipment']} "
              f"{e['rule']}  {e['message']}\n"
              f"  duty room |            basis: {e['basis']}  event_time: {e['event_time']}  id: {e['event_id']}  (signature ok)",
              flush=True)

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
