import Foundation
import MeltWatchAlarms
import MeltWatchCore
import MeltWatchDecode
import MeltWatchRing
import NIOConcurrencyHelpers
import Prometheus

/// The daemon's version, shown by `--version` and `GET /api/status`.
public enum MeltWatchVersion {
    public static let string = "0.1.0"
}

/// `GET /metrics` (Prometheus text): the contract's metrics and what an operator of this daemon graphs.
///
/// The hot path counts with relaxed atomics (``IngestCounters``); a scrape brings the Prometheus
/// counters up to them, so ingest never takes a metrics lock per message. Events counted through
/// swift-metrics (alarm events by class and kind) land in the same registry, which `main` bootstraps.
final class DaemonMetrics: Sendable {
    static let registry = PrometheusCollectorRegistry()

    private let counters: IngestCounters
    private let ring: SPSCRing<EngineInput>
    private let delivery: AlarmDelivery
    private let journalDirectory: String
    private let received: Prometheus.Counter
    private let readings: Prometheus.Counter
    private let rejected: [(reason: RejectReason, counter: Prometheus.Counter)]
    private let journalBytes: Prometheus.Counter
    private let duplicates: Prometheus.Counter
    private let outOfOrder: Prometheus.Counter
    private let delivered: Prometheus.Counter
    private let deliveryFailures: Prometheus.Counter
    private let occupancy: Prometheus.Gauge
    private let ringCapacity: Prometheus.Gauge
    private let pending: Prometheus.Gauge
    private let brokerConnected: Prometheus.Gauge
    private let journalWritable: Prometheus.Gauge
    private let synced = NIOLockedValueBox<[String: Int]>([:])

    init(counters: IngestCounters, ring: SPSCRing<EngineInput>, delivery: AlarmDelivery, journalDirectory: String) {
        let r = Self.registry
        self.counters = counters
        self.ring = ring
        self.delivery = delivery
        self.journalDirectory = journalDirectory
        received = r.makeCounter(descriptor: Self.name("meltwatch_messages_received_total", "MQTT messages read from the broker"))
        readings = r.makeCounter(descriptor: Self.name("meltwatch_readings_total", "Readings accepted and handed to the engine"))
        rejected = RejectReason.allCases.map { reason in
            (reason, r.makeCounter(descriptor: Self.name("meltwatch_messages_rejected_total", "Gateway messages rejected (journaled as received), by reason"), labels: [("reason", reason.rawValue)]))
        }
        journalBytes = r.makeCounter(descriptor: Self.name("meltwatch_journal_bytes_total", "Bytes made durable in the journal"))
        let ignored = Self.name("meltwatch_readings_ignored_total", "Readings journaled but not evaluated: redelivered (same seq and time) or older than the signal's last")
        duplicates = r.makeCounter(descriptor: ignored, labels: [("reason", "duplicate")])
        outOfOrder = r.makeCounter(descriptor: ignored, labels: [("reason", "out_of_order")])
        delivered = r.makeCounter(descriptor: Self.name("meltwatch_alarm_deliveries_total", "Alarm events delivered (2xx) over all channels"))
        deliveryFailures = r.makeCounter(descriptor: Self.name("meltwatch_alarm_delivery_failures_total", "Failed delivery attempts (retried)"))
        occupancy = r.makeGauge(descriptor: Self.name("meltwatch_ring_occupancy", "Inputs waiting in the ingest-to-engine ring"))
        ringCapacity = r.makeGauge(descriptor: Self.name("meltwatch_ring_capacity", "Capacity of the ingest-to-engine ring"))
        pending = r.makeGauge(descriptor: Self.name("meltwatch_webhook_pending", "Alarm events stored but not yet delivered, summed over channels"))
        brokerConnected = r.makeGauge(descriptor: Self.name("meltwatch_broker_connected", "1 while connected to the MQTT broker"))
        journalWritable = r.makeGauge(descriptor: Self.name("meltwatch_journal_writable", "1 while the journal accepts writes"))
    }

    /// The exposition name is `<metricName>_<unitName>`: split the full name at its last underscore.
    static func name(_ full: String, _ help: String) -> MetricNameDescriptor {
        let cut = full.lastIndex(of: "_")!
        return MetricNameDescriptor(metricName: String(full[..<cut]), unitName: String(full[full.index(after: cut)...]), helpText: help)
    }

    /// The registry's text after bringing every metric up to date.
    func render() -> String {
        synced.withLockedValue { last in
            func advance(_ key: String, _ counter: Prometheus.Counter, to value: Int) {
                let delta = value - (last[key] ?? 0)
                if delta > 0 { counter.increment(by: Int64(delta)) }
                last[key] = value
            }
            advance("received", received, to: counters.messagesReceived.load(ordering: .relaxed))
            advance("readings", readings, to: counters.readingsAccepted.load(ordering: .relaxed))
            for (reason, counter) in rejected { advance("rejected.\(reason.rawValue)", counter, to: counters.rejections(reason)) }
            advance("journal", journalBytes, to: counters.journalBytes.load(ordering: .relaxed))
            advance("duplicates", duplicates, to: counters.readingsDuplicate.load(ordering: .relaxed))
            advance("out_of_order", outOfOrder, to: counters.readingsOutOfOrder.load(ordering: .relaxed))
            advance("delivered", delivered, to: delivery.delivered)
            advance("failures", deliveryFailures, to: delivery.failures)
        }
        occupancy.set(Double(ring.occupancy))
        ringCapacity.set(Double(ring.capacity))
        pending.set(Double(delivery.pending))
        brokerConnected.set(to: counters.brokerConnected.load(ordering: .relaxed) ? 1.0 : 0.0)
        journalWritable.set(to: counters.journalWritable.load(ordering: .relaxed) ? 1.0 : 0.0)
        var buffer: [UInt8] = []
        Self.registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

import Metrics

extension Daemon {
    /// Routes swift-metrics into the registry `/metrics` serves. Once per process, from `main`.
    public static func bootstrapMetrics() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: DaemonMetrics.registry))
    }
}
