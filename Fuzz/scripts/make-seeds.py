#!/usr/bin/env python3
"""Writes the seed corpora of fuzz-payload and fuzz-config from real inputs.

Payloads: the forms of contract section 3 (per-signal and batch, epoch and RFC 3339 `ts`, every
`q`, `seq`, extra fields), plus bare number texts for the decoder's number check. Configs: the
repository's config files, the config test's example and its invalid snippets (each names one
mistake the loader must locate). Journal seeds come from the fuzz-journal binary itself, written
by the real JournalWriter (`scripts/fuzz.sh --seeds`). Re-running this is idempotent: file names
are content hashes.
"""
import hashlib
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parents[2]
corpus = root / "Fuzz" / "corpus"


def put(target: str, data: bytes) -> None:
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)


payloads = [
    '{"ts": 1763884800123, "v": 12.5, "q": "good"}',
    '{"ts": 1763884800123, "v": 12.5}',
    '{"ts":1763884800123,"v":true,"q":"uncertain","seq":42}',
    '{"ts":1763884800123,"v":false,"q":"bad","seq":0}',
    '{"ts": "2025-11-23T08:00:00Z", "v": -3.25e2}',
    '{"ts": "2025-11-23T16:00:00.5+08:00", "v": 0}',
    '{"ts": "2025-11-23t07:59:59.999-00:30", "v": 1E-7, "gateway": "plc-3"}',
    '{"ts":"2025-11-23T08:00:00.123456789Z","v":12345678901234567890}',
    '{"ts":1763884800123,"v":12.5,"meta":{"a":[1,-2.5e3,null,"\\u00e9\\ud83d\\ude00"],"b":{}}}',
    '{"v": 7, "ts": 1763884800123, "q": "good", "seq": 9223372036854775807}',
    '{"ts": 1763884800123, "values": {"inlet_flow": 120.4, "outlet_flow": 119.9, "furnace_operating": true}}',
    '{"ts":"2025-11-23T08:00:00Z","values":{"inlet_flow":1,"温度":1450,"unknown_role":3},"q":"uncertain","seq":7}',
    '{"values":{"furnace_operating":false},"ts":1763884800000,"seq":1}',
    '{"ts":1763884800123,"values":{"inlet_\\u0066low":2.5e1}}',
    '  {\n\t"ts" : 1763884800123 ,\r\n "v" : -0.0 }  ',
    '{}',
    '[1763884800123, 12.5]',
    # Numbers alone: fuzz-payload decodes them as `v` and checks the value against the stdlib's.
    '12.5', '-0', '0.1', '1e308', '2.2250738585072014e-308', '9007199254740993', '123456789012345678901234567890',
    '0.000000000000000000000000000000001', '4.9e-324', '1.7976931348623157e308', '-1E+22', '1e23',
]
for p in payloads:
    put("fuzz-payload", p.encode())

configs = [root / "config" / "demo.yaml", root / "config" / "meltwatch.example.yaml"]
for c in configs:
    put("fuzz-config", c.read_bytes())

tests = (root / "Tests" / "MeltWatchConfigTests" / "ConfigTests.swift").read_text()
valid = re.search(r'private let valid = """\n(.*?)\n"""', tests, re.S)
if not valid:
    sys.exit("ConfigTests.swift: the `valid` example was not found")
put("fuzz-config", (valid.group(1) + "\n").encode())
# The invalid snippets: first element of each ("yaml", "test.yaml:L:C: message") pair.
for m in re.finditer(r'\(\s*"((?:[^"\\]|\\.)*)",\s*\n?\s*"test\.yaml:', tests):
    text = m.group(1).encode().decode("unicode_escape").encode("latin-1").decode("utf-8").encode()
    put("fuzz-config", text)

# The JSON gateway formats (contract section 3): the contract's examples, the variations the
# formats accept (key order, unknown tags with any value, escapes) and a few rejects (a missing
# field, a string on a bound tag, NaN, a duplicate name, a future time). The fuzz targets bind the
# tags used here (Fuzz/Sources/fuzz-kepware, fuzz-neuron, fuzz-json).
kepware = [
    '{"timestamp":1763884800123,"values":[{"id":"Channel1.Device1.FT101","v":12.5,"q":true,"t":1763884800123}]}',
    '{"values":[{"t":1763884800100,"q":false,"v":-3e1,"id":"Channel1.Device1.FT102","r":""},'
    '{"id":"Channel1.Device1.Name","v":"Lance \\"A\\"","q":true,"t":1763884800123},'
    '{"id":"Channel1.Device1.Arr","v":[1,2,{"x":null}],"q":true,"t":1763884800123},'
    '{"id":"Channel1.Device1.RUN","v":true,"q":true,"t":1763884800120},'
    '{"id":"Channel1.Device1.FT101","v":12.75,"q":true,"t":1763884800124}],"timestamp":1763884800130}',
    '{"values":[{"\\u0069d":"\\u6e29\\u5ea6","v":1450,"q":true,"t":1763884800123}]}',
    '{"values":[{"id":"Channel1.Device1.FT101","q":true,"t":1763884800123}]}',
    '{"values":[{"id":"Channel1.Device1.FT101","v":"12.5","q":true,"t":1763884800123}]}',
    '{"values":[{"id":"Channel1.Device1.FT101","v":NaN,"q":true,"t":1763884800123}]}',
    '{"values":[{"id":"Channel1.Device1.FT101","v":1,"q":true,"t":1763889999999}]}',
    '{"values":[]}',
]
for p in kepware:
    put("fuzz-kepware", p.encode())

neuron = [
    '{"timestamp":1763884800123,"node":"n","group":"g","values":{"FT101":12.5},"errors":{"FT102":3}}',
    '{"timestamp":1763884800123,"node":"n","group":"g","tags":[{"name":"FT101","value":12.5},{"name":"FT102","error":3}]}',
    '{"values":{"FT101":12.5,"NAME":"lance","ARR":[1,2],"RUN":true},"errors":{"GONE":3011},"group":"g","node":"n","timestamp":1763884800123}',
    '{"tags":[{"error":3,"name":"FT102"},{"value":false,"name":"RUN"},{"name":"X","value":"s"}],"node":"n","timestamp":1763884800123,"group":"g"}',
    '{"timestamp":1763884800123,"node":"\\u8282\\u70b9","group":"组","values":{"温\\u5ea6":1450}}',
    '{"timestamp":1763884800123,"node":"","group":"","values":{"":1}}',
    '{"timestamp":1763884800123,"node":"n","group":"g","values":{"FT102":1},"errors":{"FT102":3}}',
    '{"timestamp":1763884800123,"node":"n","group":"g","values":{"FT101":"on"}}',
    '{"node":"n","group":"g","values":{"FT101":1}}',
]
for p in neuron:
    put("fuzz-neuron", p.encode())

# fuzz-json decodes each input through four mappings (readings at data.points, one reading per
# topic with RFC 3339 time, the payload as the array with epoch seconds, overlapping paths).
mapped = [
    '{"site":"x","data":{"count":2,"points":[{"meta":{"tag":"FT101","unit":"m3/h"},"v":12.5,"ts":1763884800123,"q":{"code":192}},'
    '{"ts":1763884800124,"q":{"code":"good"},"v":true,"meta":{"tag":"FT102"}},{"meta":{"tag":"X"},"v":"s","ts":1763884800125}]}}',
    '{"value":3.5,"time":"2025-11-23T16:00:00.123+08:00","extra":{"a":[1,null]}}',
    '{"value":true,"time":"2025-11-23T08:00:00Z"}',
    '[{"id":17,"val":2,"t":1763884800.123},{"id":"17","val":false,"t":1763884800},{"id":"FT101","val":1,"t":1.763884800123e9}]',
    '{"r":[{"a":{"b":"FT101","t":1763884800123}},{"a":1}]}',
    '{"data":{"points":[{"meta":{"tag":"FT101","tag":"FT102"},"v":1,"ts":1763884800123}]}}',
    '{"data":{"points":[]}}',
    '[{"id":17,"val":1,"t":-1}]',
]
for p in mapped:
    put("fuzz-json", p.encode())
print("seeds:", {d.name: len(list(d.iterdir())) for d in corpus.iterdir() if d.is_dir()})
