import MeltWatchCore
import NIOConcurrencyHelpers
import Prometheus

/// Where an alarm's time goes (issue 16): for every input that caused alarm events, the time it
/// spent in each stage from libmosquitto to the duty room, as Prometheus histograms
/// (`meltwatch_alarm_stage_seconds{stage=…}` in `/metrics`) and in the `statistics` log line.
///
///     receive  libmosquitto handed over the batch's first message → the ingest handler began it
///     journal  the handler began the batch → its journal commit (fdatasync) returned
///     ring     the commit returned → the engine thread took the input from the ring
///     engine   taken → evaluated (rules and alarm book: the events exist)
///     store    evaluated → stored in the outbox and handed to delivery and SSE
///     deliver  stored → a channel confirmed it (webhook 2xx, MQTT PUBACK), per event and channel
///
/// Only alarm-causing inputs are measured (the first of each engine batch), so the figures are the
/// alarm path's, not the bulk stream's.
final class LatencyStages: Sendable {
    enum Stage: Int, CaseIterable {
        case receive, journal, ring, engine, store, deliver

        var label: String { "\(self)" }
    }

    /// Bucket upper bounds in nanoseconds: 10 µs … 10 s, fine where the alarm path's figures lie.
    static let bounds: [UInt64] = [10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1_000, 1_500, 2_000, 2_500, 3_000,
                                   4_000, 5_000, 7_500, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000, 10_000_000].map { $0 * 1_000 }

    private let histograms: [DurationHistogram]
    /// Per stage: counts per bucket (one more for beyond the last bound) since the last summary, and the maximum.
    private let window: NIOLockedValueBox<[(counts: [Int], max: UInt64)]>

    init(registry: PrometheusCollectorRegistry = DaemonMetrics.registry) {
        let descriptor = DaemonMetrics.name("meltwatch_alarm_stage_seconds",
                                            "Time an alarm-causing input spent in each stage, from libmosquitto to a delivery channel")
        let buckets = Self.bounds.map { Duration.nanoseconds(Int64($0)) }
        histograms = Stage.allCases.map { registry.makeDurationHistogram(descriptor: descriptor, labels: [("stage", $0.label)], buckets: buckets) }
        window = NIOLockedValueBox(Array(repeating: (Array(repeating: 0, count: Self.bounds.count + 1), 0), count: Stage.allCases.count))
    }

    func record(_ stage: Stage, from start: UInt64, to end: UInt64) {
        guard start > 0, end >= start else { return }
        let ns = end - start
        histograms[stage.rawValue].recordNanoseconds(Int64(clamping: ns))
        let bucket = Self.bounds.firstIndex { ns <= $0 } ?? Self.bounds.count
        window.withLockedValue { w in
            w[stage.rawValue].counts[bucket] += 1
            w[stage.rawValue].max = max(w[stage.rawValue].max, ns)
        }
    }

    /// An input's stages up to the engine, measured when it caused events.
    func record(_ t: InputTiming, popped: UInt64, evaluated: UInt64, stored: UInt64) {
        record(.receive, from: t.received, to: t.read)
        record(.journal, from: t.read, to: t.committed)
        record(.ring, from: t.committed, to: popped)
        record(.engine, from: popped, to: evaluated)
        record(.store, from: evaluated, to: stored)
    }

    /// Per stage since the last call: `n=… p50≤… p99≤… max=…` (quantiles as bucket bounds), for
    /// the statistics log line; stages without samples are left out.
    func summary() -> [(stage: String, text: String)] {
        let taken = window.withLockedValue { w in
            defer { for i in w.indices { w[i] = (Array(repeating: 0, count: Self.bounds.count + 1), 0) } }
            return w
        }
        return Stage.allCases.compactMap { stage in
            let (counts, maximum) = taken[stage.rawValue]
            let n = counts.reduce(0, +)
            guard n > 0 else { return nil }
            func quantile(_ q: Double) -> String {
                var seen = 0
                for (i, c) in counts.enumerated() {
                    seen += c
                    if Double(seen) >= q * Double(n) { return i < Self.bounds.count ? Self.show(Self.bounds[i]) : ">" + Self.show(Self.bounds.last!) }
                }
                return "?"
            }
            return (stage.label, "n=\(n) p50≤\(quantile(0.5)) p99≤\(quantile(0.99)) max=\(Self.show(maximum))")
        }
    }

    private static func show(_ ns: UInt64) -> String {
        ns >= 1_000_000 ? "\(Double(ns / 10_000) / 100)ms" : "\(ns / 1_000)µs"
    }
}
