#!/usr/bin/env python3
"""End-to-end benchmark: MeltWatch against the broker itself, on one machine, in one run.

    python3 scripts/bench-e2e.py --bin DIR [--messages N] [--runs R] [--out FILE]

(scripts/bench-e2e.sh builds the release binaries and calls this.) Measures, each the median of R runs:

  (a) ingest ceiling: a QoS 1 backlog of N single-reading messages queued by the broker for a
      persistent session, drained by `mosquitto_sub` (the reference: libmosquitto's read path and
      nothing else) and by `meltwatch run` (journal with fdatasync, decode, ring, rules): both rates
      and their ratio, with CPU seconds per message;
  (b) the same with per-scan batches (one message per equipment scan, all its roles): readings/s;
  (c) alarm latency, publish -> webhook receipt (p50 / p99 / max), with background load at 50 % of
      the ingest ceiling measured in (a): probes raise and clear co-level-1, stamped as published;
  (d) RSS and CPU with 10 000 configured signals: idle (health timers only) and after a batched load.

Every process is on 127.0.0.1 with ports chosen free; everything is removed afterwards.
"""

import argparse
import http.server
import json
import threading
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of a live process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def metric(port, name):
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def wait_ready(port, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"meltwatch exited with {proc.returncode}")
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("meltwatch did not become ready")


class Rig:
    """A broker and a work directory for one benchmark."""

    ROLES = ["inlet_flow", "outlet_flow", "outlet_temp", "inlet_temp", "furnace_operating", "tilt_locked", "lance_raised",
             "power_off", "electrodes_raised", "interlock_bypassed"]

    def __init__(self, bins, equipment, webhook_port=None, sparkplug=False):
        self.bins = bins
        # Sparkplug B: one edge node, five elements per device, so each DDATA carries 50 metrics.
        self.sparkplug = sparkplug
        self.topic = "spBv1.0/#" if sparkplug else "plants/#"
        self.dir = tempfile.mkdtemp(prefix="meltwatch-bench-")
        self.port = free_port()
        self.duty = free_port()
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            # A backlog of N messages must wait for the offline persistent session: no queue limit,
            # no Nagle (latency), a window of 1 024 in flight.
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 1024\nset_tcp_nodelay true\n")
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.broker = subprocess.Popen([mosquitto, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        self.config = os.path.join(self.dir, "meltwatch.yaml")
        with open(self.config, "w") as f:
            f.write(f"broker:\n  url: mqtt://127.0.0.1:{self.port}\n  client_id: meltwatch-bench\n  qos: 1\n"
                    f"journal:\n  dir: journal\n  fsync_interval_ms: 50\nduty:\n  listen: 127.0.0.1:{self.duty}\n"
                    "  heartbeat_s: 3600\n")
            if webhook_port:
                f.write(f"  webhooks:\n    - url: http://127.0.0.1:{webhook_port}/alarms\n")
            f.write("plants:\n  - id: bench\n    name: bench\n")
            if sparkplug:
                f.write("    gateways:\n      - { format: sparkplug-b, group_id: Bench }\n")
            f.write("    equipment:\n")
            if webhook_port:
                f.write("      - id: co-probe\n        template: steel.co-detector\n        params: { preset: gb6222, frozen_after_s: 0 }\n")
            for i in range(equipment):
                f.write(f"      - id: eq-{i}\n        template: steel.water-cooled-element\n"
                        "        params: { furnace_type: bof, flow_difference_max: 3.0 }\n")
                if sparkplug:
                    f.write(f"        sparkplug: {{ edge: EON-1, device: DEV-{i // 5} }}\n        signals:\n")
                    for role in self.ROLES:
                        f.write(f"          {role}: {{ tag: \"eq-{i}/{role}\" }}\n")

    def url(self):
        return f"mqtt://127.0.0.1:{self.port}"

    def load(self, messages, batch):
        args = [os.path.join(self.bins, "meltwatch-sim"), "--broker", self.url(), "--config", self.config, "--load", str(messages)]
        if batch:
            args.append("--batch")
        if self.sparkplug:
            args += ["--format", "sparkplug-b"]
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    def daemon(self, env=None, log_level="warning"):
        log = open(os.path.join(self.dir, "meltwatch.log"), "ab")
        return subprocess.Popen([os.path.join(self.bins, "meltwatch"), "run", "--config", self.config, "--log-level", log_level],
                                stdout=log, stderr=log, env=dict(os.environ, **(env or {})))

    def close(self):
        self.broker.terminate()
        self.broker.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def sub_args(rig, extra):
    return ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(rig.port), "-i", "bench-reference", "-c", "-q", "1", "-t", rig.topic] + extra


def drain_reference(rig, messages, batch):
    """mosquitto_sub draining a backlog of `messages` queued for its persistent session."""
    subprocess.run(sub_args(rig, ["-E"]), check=True)  # create the session, then leave
    published = rig.load(messages, batch)
    before = os.times()
    start = time.monotonic()
    subprocess.run(sub_args(rig, ["-C", str(messages + published.get("births", 0))]), check=True, stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(rig.port), "-i", "bench-reference", "-t", rig.topic, "-E"],
                   check=True)  # a clean session ends the persistent one
    return {"seconds": seconds, "messages_per_s": messages / seconds, "readings": published["readings"],
            "readings_per_s": published["readings"] / seconds, "cpu_s_per_message": cpu / messages, "publish": published}


def drain_daemon(rig, messages, batch):
    """meltwatch run draining the same kind of backlog: journal + fdatasync, decode, ring, rules."""
    d = rig.daemon()
    wait_ready(rig.duty, d)
    d.send_signal(signal.SIGTERM)  # the persistent session stays, subscribed
    d.wait(timeout=30)
    published = rig.load(messages, batch)
    received0 = 0
    d = rig.daemon()
    pid = d.pid
    first = None
    last = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        n = metric(rig.duty, "meltwatch_messages_received_total")
        now = time.monotonic()
        if n is not None and n > received0 and first is None:
            first = (now, n, cpu_seconds(pid))
        if n is not None and n >= messages:
            last = (now, n, cpu_seconds(pid))
            break
        time.sleep(0.01)
    readings = metric(rig.duty, "meltwatch_readings_total") or 0
    peak = rss_kib(pid, "VmHWM")
    d.send_signal(signal.SIGTERM)
    d.wait(timeout=30)
    if last is None:
        raise RuntimeError("meltwatch did not receive the whole backlog within 600 s")
    # From the first message counted to the last: connection and start-up are not ingest.
    seconds = last[0] - first[0]
    counted = last[1] - first[1]
    return {"seconds": seconds, "messages_per_s": counted / seconds, "readings": readings,
            "readings_per_s": readings * (counted / last[1]) / seconds,
            "cpu_s_per_message": (last[2] - first[2]) / counted, "peak_rss_kib": peak, "publish": published}


class Receiver(http.server.ThreadingHTTPServer):
    """The duty endpoint: records when each alarm event arrived (wall clock, ms)."""

    def __init__(self):
        self.arrivals = []
        self.lock = threading.Lock()
        rx = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                now = time.time() * 1000
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(204)
                self.end_headers()
                with rx.lock:
                    rx.arrivals.append((now, json.loads(body)))

        super().__init__(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def percentile(sorted_values, p):
    """Nearest rank."""
    k = max(0, min(len(sorted_values) - 1, int(-(-p * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


def stage_quantiles(port):
    """The daemon's per-stage latency histograms (meltwatch_alarm_stage_seconds) as p50/p99 bucket bounds in ms."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    buckets = {}
    for line in text.splitlines():
        if line.startswith("meltwatch_alarm_stage_seconds_bucket{"):
            labels, value = line.rsplit(" ", 1)
            fields = dict(kv.split("=", 1) for kv in labels[labels.index("{") + 1:-1].split(","))
            stage, le = fields["stage"].strip('"'), fields["le"].strip('"')
            buckets.setdefault(stage, []).append((float("inf") if le == "+Inf" else float(le), float(value)))
    out = {}
    for stage, bs in buckets.items():
        bs.sort()
        n = bs[-1][1]
        if n == 0:
            continue
        def q(p):
            return next((le * 1000 for le, c in bs if c >= p * n), float("inf"))
        out[stage] = {"n": int(n), "p50_ms_le": q(0.5), "p99_ms_le": q(0.99)}
    return out


def alarm_latency(bins, rate, probes, equipment, env=None):
    """Probes through the daemon while a paced background load runs at `rate` messages/s (0: idle)."""
    rx = Receiver()
    rig = Rig(bins, equipment, webhook_port=rx.server_address[1])
    try:
        d = rig.daemon(env)
        wait_ready(rig.duty, d)
        seconds = probes * 0.05 + 3
        background = None
        if rate > 0:
            background = subprocess.Popen([os.path.join(bins, "meltwatch-sim"), "--broker", rig.url(), "--config", rig.config,
                                           "--load", str(int(rate * seconds)), "--load-rate", str(rate)],
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            time.sleep(1)  # the load is running
        subprocess.run([os.path.join(bins, "meltwatch-sim"), "--broker", rig.url(), "--config", rig.config,
                        "--probe", str(probes), "--probe-interval-ms", "50"], check=True, capture_output=True)
        load = json.loads(background.communicate(timeout=600)[0].strip().splitlines()[-1]) if background else {"messages_per_s": 0}
        time.sleep(1)
        stages = stage_quantiles(rig.duty)
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=30)
        with rx.lock:
            events = [(t, e) for t, e in rx.arrivals if e.get("rule") in ("co-level-1",) and e.get("event") in ("raised", "cleared")]
        latencies = sorted(t - epoch_ms(e["event_time"]) for t, e in events)
        if not latencies:
            raise RuntimeError("no probe alarm reached the webhook")
        return {"background_msg_per_s": load["messages_per_s"], "probes": probes, "events": len(latencies),
                "p50_ms": percentile(latencies, 50), "p90_ms": percentile(latencies, 90), "p99_ms": percentile(latencies, 99),
                "max_ms": latencies[-1], "stages": stages}
    finally:
        rig.close()
        rx.shutdown()


def epoch_ms(rfc3339):
    from datetime import datetime
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000


def memory_with_signals(bins, signals_wanted):
    """RSS and CPU of a daemon configured with ~`signals_wanted` signals (water-cooled elements)."""
    per_equipment = 10  # roles of steel.water-cooled-element
    rig = Rig(bins, max(1, signals_wanted // per_equipment))
    try:
        d = rig.daemon()
        wait_ready(rig.duty, d)
        time.sleep(2)
        idle_rss = rss_kib(d.pid)
        c0, t0 = cpu_seconds(d.pid), time.monotonic()
        time.sleep(10)
        idle_cpu = (cpu_seconds(d.pid) - c0) / (time.monotonic() - t0)
        published = rig.load(20 * (signals_wanted // per_equipment), batch=True)
        deadline = time.monotonic() + 120
        while (metric(rig.duty, "meltwatch_messages_received_total") or 0) < published["messages"] and time.monotonic() < deadline:
            time.sleep(0.05)
        loaded_rss = rss_kib(d.pid)
        peak = rss_kib(d.pid, "VmHWM")
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=30)
        return {"signals": (signals_wanted // per_equipment) * per_equipment, "idle_rss_mib": idle_rss / 1024,
                "idle_cpu_cores": idle_cpu, "rss_after_load_mib": loaded_rss / 1024, "peak_rss_mib": peak / 1024,
                "load_messages": published["messages"], "load_readings": published["readings"]}
    finally:
        rig.close()


def recovery_time(bins, equipment, readings_per_s, seconds):
    """SIGKILL after `seconds` of batched load at `readings_per_s` (the last checkpoint up to a minute
    behind), then start again: the daemon's own `recovered from the journal` line, and start to ready."""
    per_equipment = 10  # roles of steel.water-cooled-element, one per-scan message each
    rig = Rig(bins, equipment)
    try:
        d = rig.daemon(log_level="info")
        wait_ready(rig.duty, d)
        rate = readings_per_s / per_equipment
        subprocess.run([os.path.join(bins, "meltwatch-sim"), "--broker", rig.url(), "--config", rig.config,
                        "--load", str(int(rate * seconds)), "--batch", "--load-rate", str(rate)], check=True, capture_output=True)
        time.sleep(0.5)
        d.send_signal(signal.SIGKILL)
        d.wait(timeout=30)
        journal = os.path.join(rig.dir, "journal")
        journal_bytes = sum(os.path.getsize(os.path.join(journal, f)) for f in os.listdir(journal) if f.endswith(".mwj"))
        started = time.monotonic()
        d = rig.daemon(log_level="info")
        wait_ready(rig.duty, d)
        ready = time.monotonic() - started
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=60)
        with open(os.path.join(rig.dir, "meltwatch.log")) as f:
            lines = f.read().splitlines()
        recovered = [l for l in lines if "recovered from the journal" in l][-1]
        # The periodic checkpoints of the first daemon (the statistics line every 60 s names the latest).
        stats = [l for l in lines if "checkpoint.capture_us=" in l and "checkpoint.capture_us=0 " not in l]
        def field(line, name):
            m = [p for p in line.replace(",", " ").split() if p.startswith(name + "=")]
            return m[0].split("=", 1)[1].strip("'\"") if m else "?"
        return {"equipment": equipment, "readings_per_s": readings_per_s, "load_seconds": seconds, "journal_mib": journal_bytes / 2**20,
                "records_replayed": field(recovered, "recovery.records"), "recovery_ms": field(recovered, "recovery.ms"),
                "restore_ms": field(recovered, "recovery.restore_ms"), "replay_ms": field(recovered, "recovery.replay_ms"),
                "start_to_ready_s": ready,
                "checkpoint_bytes": field(stats[-1], "checkpoint.bytes") if stats else "?",
                "checkpoint_capture_us": field(stats[-1], "checkpoint.capture_us") if stats else "?",
                "checkpoint_encode_ms": field(stats[-1], "checkpoint.encode_ms") if stats else "?"}
    finally:
        rig.close()


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="directory with release-built meltwatch and meltwatch-sim")
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--equipment", type=int, default=20)
    ap.add_argument("--signals", type=int, default=10_000)
    ap.add_argument("--probes", type=int, default=400)
    ap.add_argument("--out", default="bench-results/e2e.json")
    ap.add_argument("--latency-only", action="store_true",
                    help="only (c): idle and at each --background rate, with the daemon's per-stage figures")
    ap.add_argument("--recovery-only", action="store_true",
                    help="only the recovery time: 1 000 equipment at 10 000 readings/s for 115 s, SIGKILL, start again")
    ap.add_argument("--sparkplug-only", action="store_true",
                    help="only (b'): a Sparkplug B DDATA backlog, 50 metrics per message, against mosquitto_sub")
    ap.add_argument("--background", default="0,10000", help="background loads for --latency-only, msg/s (0: idle)")
    ap.add_argument("--sync-delay-ms", type=float, default=0,
                    help="slow every fdatasync of the daemon by this much (a slow disk; MELTWATCH_TEST_SYNC_DELAY_US)")
    ap.add_argument("--outbox-sync", action="store_true",
                    help="make the outbox fdatasync too, as before issue 16 (MELTWATCH_TEST_OUTBOX_SYNC=1): two syncs per alarm")
    args = ap.parse_args()
    env = {}
    if args.sync_delay_ms:
        env["MELTWATCH_TEST_SYNC_DELAY_US"] = str(int(args.sync_delay_ms * 1000))
    if args.outbox_sync:
        env["MELTWATCH_TEST_OUTBOX_SYNC"] = "1"
    if args.recovery_only:
        r = recovery_time(args.bin, 1000, 10_000, 115)
        print(f"\nrecovery after SIGKILL: {r['equipment']} equipment, {r['readings_per_s']:,} readings/s for {r['load_seconds']} s "
              f"({r['journal_mib']:.0f} MiB of journal): replayed {r['records_replayed']} records: recovery {r['recovery_ms']} ms "
              f"(restoring the checkpoint {r['restore_ms']} ms, replay {r['replay_ms']} ms); "
              f"start to ready {r['start_to_ready_s']:.2f} s; checkpoint {r['checkpoint_bytes']} bytes, "
              f"engine thread {r['checkpoint_capture_us']} µs, encoded in {r['checkpoint_encode_ms']} ms")
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"recovery": r}, f, indent=2)
        return
    if args.latency_only:
        runs = []
        for rate in [float(r) for r in args.background.split(",")]:
            for _ in range(args.runs):
                runs.append(dict(alarm_latency(args.bin, rate, args.probes, args.equipment, env), rate_asked=rate))
        print(f"\nalarm latency, publish -> webhook ({args.probes} probes per run, sync delay {args.sync_delay_ms} ms, "
              f"outbox sync {'on' if args.outbox_sync else 'off'})")
        for r in runs:
            stages = "  ".join(f"{k} {v['p50_ms_le']:g}/{v['p99_ms_le']:g}" for k, v in r["stages"].items())
            print(f"  load {r['background_msg_per_s']:>8,.0f} msg/s: p50 {r['p50_ms']:.1f}  p90 {r['p90_ms']:.1f}  p99 {r['p99_ms']:.1f}  "
                  f"max {r['max_ms']:.1f} ms   stages p50/p99 ≤ ms: {stages}")
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"latency_runs": runs, "sync_delay_ms": args.sync_delay_ms, "outbox_sync": args.outbox_sync}, f, indent=2)
        return

    results = {"machine": {"cpus": os.cpu_count(), "kernel": os.uname().release,
                           "mosquitto": subprocess.run(["mosquitto", "-h"], capture_output=True, text=True).stdout.splitlines()[0]
                           if shutil.which("mosquitto") else "?"},
               "messages": args.messages, "runs": args.runs}
    cases = (("single", False, False), ("batched", True, False), ("sparkplug", False, True))
    if args.sparkplug_only:
        cases = cases[2:]
    for name, batch, sparkplug in cases:
        ref, daemon = [], []
        for _ in range(args.runs):
            rig = Rig(args.bin, args.equipment, sparkplug=sparkplug)
            try:
                ref.append(drain_reference(rig, args.messages, batch))
                daemon.append(drain_daemon(rig, args.messages, batch))
            finally:
                rig.close()
        results[name] = {
            "reference_messages_per_s": median_of(ref, "messages_per_s"),
            "meltwatch_messages_per_s": median_of(daemon, "messages_per_s"),
            "ratio": median_of(daemon, "messages_per_s") / median_of(ref, "messages_per_s"),
            "reference_readings_per_s": median_of(ref, "readings_per_s"),
            "meltwatch_readings_per_s": median_of(daemon, "readings_per_s"),
            "reference_cpu_us_per_message": median_of(ref, "cpu_s_per_message") * 1e6,
            "meltwatch_cpu_us_per_message": median_of(daemon, "cpu_s_per_message") * 1e6,
            "meltwatch_peak_rss_mib": max(r["peak_rss_kib"] for r in daemon) / 1024,
            "runs": {"reference": ref, "meltwatch": daemon},
        }
    if args.sparkplug_only:
        sp = results["sparkplug"]
        print(f"\nSparkplug B DDATA backlog, 50 metrics per message, {args.messages:,} messages, median of {args.runs} runs:")
        print(f"  mosquitto_sub {sp['reference_messages_per_s']:,.0f} msg/s ({sp['reference_readings_per_s']:,.0f} metrics/s), "
              f"{sp['reference_cpu_us_per_message']:.1f} µs CPU/msg")
        print(f"  meltwatch     {sp['meltwatch_messages_per_s']:,.0f} msg/s ({sp['meltwatch_readings_per_s']:,.0f} readings/s), "
              f"{sp['meltwatch_cpu_us_per_message']:.1f} µs CPU/msg, ratio {sp['ratio']:.2f}, peak RSS {sp['meltwatch_peak_rss_mib']:.0f} MiB")
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
        return
    results["alarm_latency"] = alarm_latency(args.bin, results["single"]["meltwatch_messages_per_s"] / 2, args.probes, args.equipment, env)
    results["signals_10k"] = memory_with_signals(args.bin, args.signals)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)

    s, b, m, lat = results["single"], results["batched"], results["signals_10k"], results["alarm_latency"]
    sp = results["sparkplug"]
    rows = [
        ("(a) ingest, 1 reading/message", f"{s['reference_messages_per_s']:,.0f} msg/s", f"{s['meltwatch_messages_per_s']:,.0f} msg/s",
         f"{s['ratio']:.2f}", "≥ 0.9"),
        ("    CPU per message", f"{s['reference_cpu_us_per_message']:.1f} µs", f"{s['meltwatch_cpu_us_per_message']:.1f} µs", "", ""),
        ("(b) ingest, per-scan batches", f"{b['reference_readings_per_s']:,.0f} rdg/s", f"{b['meltwatch_readings_per_s']:,.0f} rdg/s",
         f"{b['ratio']:.2f}", "≥ 1 M rdg/s"),
        ("(b') Sparkplug B DDATA, 50 metrics", f"{sp['reference_messages_per_s']:,.0f} msg/s", f"{sp['meltwatch_messages_per_s']:,.0f} msg/s",
         f"{sp['ratio']:.2f}", ""),
        ("", f"{sp['reference_readings_per_s']:,.0f} rdg/s", f"{sp['meltwatch_readings_per_s']:,.0f} rdg/s", "", ""),
        (f"(c) alarm latency p50 / p99 / max", "", f"{lat['p50_ms']:.1f} / {lat['p99_ms']:.1f} / {lat['max_ms']:.1f} ms", "",
         "p99 ≤ 5 ms"),
        (f"    at background load", "", f"{lat['background_msg_per_s']:,.0f} msg/s", "", "50 % of (a)"),
        (f"(d) {m['signals']:,} signals: RSS idle / peak", "", f"{m['idle_rss_mib']:.1f} / {m['peak_rss_mib']:.1f} MiB", "", "≤ 100 MiB"),
        ("    idle CPU (health timers)", "", f"{m['idle_cpu_cores'] * 100:.1f} % of a core", "", ""),
    ]
    print(f"\nmeltwatch end-to-end benchmark: {args.messages:,} messages, median of {args.runs} runs, {os.cpu_count()} CPUs")
    print(f"{'':34} {'mosquitto_sub':>18} {'meltwatch':>22} {'ratio':>6}  target")
    for r in rows:
        print(f"{r[0]:34} {r[1]:>18} {r[2]:>22} {r[3]:>6}  {r[4]}")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    sys.exit(main())
