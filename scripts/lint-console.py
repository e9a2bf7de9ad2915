#!/usr/bin/env python3
"""Lints the duty console's files (Sources/MeltWatchDuty/Console/), as the test command runs it.

- console.js parses (`node --check`), and has no `eval`, `new Function`, `innerHTML` or
  `document.write` (the page builds its DOM with createElement and text nodes: an alarm message
  from a gateway can never become markup);
- console.html parses, loads exactly console.css and console.js from its own origin, and has no
  inline <script>/<style> body, no style="" and no on…="" attribute: the page's Content-Security-Policy
  (default-src 'self') would refuse them, so the lint catches them before a browser does;
- every id the script looks up with $("…") exists in the page.
Exit 0 when clean, 1 with one line per finding.
"""
import html.parser
import os
import re
import subprocess
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "MeltWatchDuty", "Console")
findings = []

js_path = os.path.join(root, "console.js")
js = open(js_path, encoding="utf-8").read()
check = subprocess.run(["node", "--check", js_path], capture_output=True, text=True)
if check.returncode != 0:
    findings.append(f"console.js does not parse: {check.stderr.strip()}")
for pattern, why in [(r"\beval\s*\(", "eval"), (r"new\s+Function\s*\(", "new Function"), (r"\.innerHTML\b", "innerHTML"),
                     (r"document\.write\s*\(", "document.write")]:
    for m in re.finditer(pattern, js):
        line = js.count("\n", 0, m.start()) + 1
        findings.append(f"console.js:{line}: {why} (build the DOM with el(), text as text)")


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.scripts, self.styles, self.inline = set(), [], [], []
        self.open_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for name, _ in attrs:
            if name.startswith("on") or name == "style":
                self.inline.append(f"<{tag} {name}=…> at line {self.getpos()[0]}")
        if tag == "script":
            self.scripts.append(a.get("src"))
            self.open_script = True
        if tag == "link" and a.get("rel") == "stylesheet":
            self.styles.append(a.get("href"))
        if tag == "style":
            self.inline.append(f"<style> at line {self.getpos()[0]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self.open_script = False

    def handle_data(self, data):
        if self.open_script and data.strip():
            self.inline.append(f"inline script body at line {self.getpos()[0]}")


page = Page()
page.feed(open(os.path.join(root, "console.html"), encoding="utf-8").read())
page.close()
if page.scripts != ["console.js"]:
    findings.append(f"console.html must load exactly console.js, not {page.scripts}")
if page.styles != ["console.css"]:
    findings.append(f"console.html must load exactly console.css, not {page.styles}")
findings += [f"console.html: {i} (the CSP allows no inline script, style or handler)" for i in page.inline]
for ident in sorted(set(re.findall(r'\$\("([A-Za-z0-9_-]+)"\)', js))):
    if ident not in page.ids:
        findings.append(f'console.js looks up $("{ident}") but console.html has no such id')

for f in findings:
    print(f"lint-console: {f}")
sys.exit(1 if findings else 0)
