#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SwiftProtobuf

/// The differential check of ``SparkplugWireReader`` against swift-protobuf, the decoder it
/// replaces on the host's path: the tests run it on mutated payloads, and `fuzz-sparkplug` (a
/// package of its own, which sees only public API) on every input.
public enum SparkplugWireCheck {
    /// nil when the reader and swift-protobuf (with the host's check of declared fields) give
    /// `payload` the same verdict and, when accepted, the same values of every field the host
    /// reads; otherwise what differs.
    public static func disagreement(_ payload: UnsafeRawBufferPointer) -> String? {
        let reference = SparkplugHost.referenceParse(payload)
        let wire = SparkplugWireReader.read(payload)
        switch (wire, reference) {
        case (.failure, .failure):
            return nil
        case (.failure(let fault), .success):
            return "the reader rejects (\(fault.detail)), swift-protobuf accepts"
        case (.success(let p), .failure(let error)):
            // Nested messages are swift-protobuf's to judge: the host asks it for those payloads.
            return p.needsReference ? nil : "the reader accepts, swift-protobuf rejects (\(error.detail))"
        case (.success(let p), .success(let r)):
            return difference(p, r)
        }
    }

    /// Whether the reader accepts `payload` (swift-protobuf deciding for nested messages), as the host does.
    public static func accepts(_ payload: UnsafeRawBufferPointer) -> Bool {
        if case .success = SparkplugHost.parse(payload, limit: .max) { true } else { false }
    }

    static func difference(_ p: SparkplugWirePayload, _ r: SparkplugBPayload) -> String? {
        if p.timestamp != (r.hasTimestamp ? r.timestamp : nil) { return "payload timestamp \(String(describing: p.timestamp)) ≠ \(r.timestamp)" }
        if p.seq != (r.hasSeq ? r.seq : nil) { return "payload seq \(String(describing: p.seq)) ≠ \(r.seq)" }
        if p.metricCount != r.metrics.count { return "\(p.metricCount) metrics ≠ \(r.metrics.count)" }
        var count = 0
        for (i, (m, rm)) in zip(p.metrics, r.metrics).enumerated() {
            count += 1
            if let d = difference(m, rm) { return "metric #\(i): \(d)" }
        }
        return count == r.metrics.count ? nil : "iterated \(count) metrics of \(r.metrics.count)"
    }

    static func difference(_ m: SparkplugWireMetric, _ r: SparkplugBPayload.Metric) -> String? {
        func same(_ a: UnsafeRawBufferPointer?, _ b: [UInt8]?) -> Bool {
            switch (a, b) {
            case (nil, nil): true
            case (let a?, let b?): a.elementsEqual(b)
            default: false
            }
        }
        if !same(m.name, r.hasName ? Array(r.name.utf8) : nil) { return "name" }
        if m.alias != (r.hasAlias ? r.alias : nil) { return "alias" }
        if m.timestamp != (r.hasTimestamp ? r.timestamp : nil) { return "timestamp" }
        if m.datatype != (r.hasDatatype ? r.datatype : nil) { return "datatype" }
        if m.isHistorical != (r.hasIsHistorical ? r.isHistorical : nil) { return "is_historical" }
        if m.isTransient != (r.hasIsTransient ? r.isTransient : nil) { return "is_transient" }
        if m.isNull != (r.hasIsNull ? r.isNull : nil) { return "is_null" }
        let agrees: Bool = switch (m.value, r.value) {
        case (nil, nil): true
        case (.intValue(let a)?, .intValue(let b)?): a == b
        case (.longValue(let a)?, .longValue(let b)?): a == b
        case (.floatValue(let a)?, .floatValue(let b)?): a.bitPattern == b.bitPattern
        case (.doubleValue(let a)?, .doubleValue(let b)?): a.bitPattern == b.bitPattern
        case (.booleanValue(let a)?, .booleanValue(let b)?): a == b
        case (.stringValue(let a)?, .stringValue(let b)?): same(a, Array(b.utf8))
        case (.bytesValue(let a)?, .bytesValue(let b)?): same(a, Array(b))
        case (.datasetValue?, .datasetValue?), (.templateValue?, .templateValue?), (.extensionValue?, .extensionValue?): true
        default: false
        }
        return agrees ? nil : "value \(String(describing: m.value)) ≠ \(String(describing: r.value))"
    }
}
