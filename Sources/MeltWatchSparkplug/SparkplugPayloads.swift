#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MeltWatchCore
import SwiftProtobuf

/// The Sparkplug B `DataType` numbers (Eclipse Sparkplug 3.0, "Data Types").
///
/// A metric's `datatype` field is a plain `uint32` on the wire, so a payload may carry a number that
/// is not a case here; the host treats such metrics as unsupported rather than failing the message.
public enum SparkplugDataType: UInt32, Sendable, CaseIterable, Codable {
    case unknown = 0
    case int8 = 1, int16 = 2, int32 = 3, int64 = 4
    case uint8 = 5, uint16 = 6, uint32 = 7, uint64 = 8
    case float = 9, double = 10, boolean = 11, string = 12, dateTime = 13, text = 14
    case uuid = 15, dataSet = 16, bytes = 17, file = 18, template = 19
    case propertySet = 20, propertySetList = 21
    case int8Array = 22, int16Array = 23, int32Array = 24, int64Array = 25
    case uint8Array = 26, uint16Array = 27, uint32Array = 28, uint64Array = 29
    case floatArray = 30, doubleArray = 31, booleanArray = 32, stringArray = 33, dateTimeArray = 34

    /// Whether MeltWatch reads a metric of this type as a reading: the integers, Float, Double,
    /// Boolean and DateTime. The rest (strings, bytes, datasets, templates, arrays) have no place in
    /// a number-or-boolean reading and are counted as `unsupported_metric`.
    public var isReadable: Bool {
        switch self {
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .float, .double, .boolean, .dateTime: true
        default: false
        }
    }
}

/// The Sparkplug message types of one group's topic namespace (`spBv1.0/<group>/<TYPE>/<edge>[/<device>]`).
public enum SparkplugMessageType: String, Sendable, CaseIterable {
    case nodeBirth = "NBIRTH", nodeDeath = "NDEATH", nodeData = "NDATA", nodeCommand = "NCMD"
    case deviceBirth = "DBIRTH", deviceDeath = "DDEATH", deviceData = "DDATA", deviceCommand = "DCMD"

    /// Whether the topic names a device after the edge node.
    public var isDeviceMessage: Bool {
        switch self {
        case .deviceBirth, .deviceDeath, .deviceData, .deviceCommand: true
        default: false
        }
    }

    /// The topic of this message type for an edge node (and device, for the `D…` types).
    public func topic(group: String, edge: String, device: String? = nil) -> String {
        var t = "spBv1.0/" + group + "/" + rawValue + "/" + edge
        if let device { t += "/" + device }
        return t
    }
}

/// One metric of a payload to build (see ``SparkplugPayloads``): what an edge node publishes.
public struct SparkplugMetric: Sendable, Equatable {
    /// Births carry the name; DATA usually leaves it out and names the metric by its alias only.
    public var name: String?
    public var alias: UInt64?
    /// The type: it selects the field the value is written in.
    public var datatype: SparkplugDataType
    /// Whether the `datatype` field is written: births must; DATA may leave it out (the birth's holds).
    public var sendsDatatype: Bool
    /// The value, encoded in the field the datatype calls for; nil sends `is_null`.
    public var value: Value?
    /// For String, Text and UUID metrics (which MeltWatch does not read): the text to send.
    public var text: String?
    /// The sampling time; nil leaves it out (the payload's timestamp then holds).
    public var timestamp: EventTime?
    public var isHistorical: Bool

    public init(
        name: String? = nil, alias: UInt64? = nil, datatype: SparkplugDataType, value: Value?,
        text: String? = nil, timestamp: EventTime? = nil, isHistorical: Bool = false, sendsDatatype: Bool = true
    ) {
        self.name = name
        self.alias = alias
        self.datatype = datatype
        self.sendsDatatype = sendsDatatype
        self.value = value
        self.text = text
        self.timestamp = timestamp
        self.isHistorical = isHistorical
    }
}

/// Builds Sparkplug B payloads: for the simulator (an edge node), the tests, and the host's own
/// rebirth requests.
public enum SparkplugPayloads {
    /// The metric a host sets to true in an NCMD to ask an edge node for its births again.
    public static let rebirthMetric = "Node Control/Rebirth"
    /// The NBIRTH and NDEATH metric that pairs a death certificate with its session.
    public static let bdSeqMetric = "bdSeq"

    /// An NBIRTH payload: seq 0, then the `bdSeq` and `Node Control/Rebirth` (false) metrics the
    /// specification requires, then `metrics`.
    public static func nodeBirth(timestamp: EventTime, bdSeq: UInt64, metrics: [SparkplugMetric], seq: UInt64 = 0) -> [UInt8] {
        let rebirth = encode(SparkplugMetric(name: rebirthMetric, datatype: .boolean, value: .bool(false)))
        return payload(timestamp: timestamp, seq: seq, wire: [bdSeqWire(bdSeq), rebirth] + metrics.map(encode))
    }

    /// A DBIRTH payload.
    public static func deviceBirth(timestamp: EventTime, seq: UInt64, metrics: [SparkplugMetric]) -> [UInt8] {
        payload(timestamp: timestamp, seq: seq, metrics: metrics)
    }

    /// An NDATA or DDATA payload.
    public static func data(timestamp: EventTime, seq: UInt64, metrics: [SparkplugMetric]) -> [UInt8] {
        payload(timestamp: timestamp, seq: seq, metrics: metrics)
    }

    /// An NDEATH payload (the edge node's MQTT will): only the `bdSeq` metric, no seq.
    public static func nodeDeath(bdSeq: UInt64, timestamp: EventTime? = nil) -> [UInt8] {
        payload(timestamp: timestamp, seq: nil, wire: [bdSeqWire(bdSeq)])
    }

    /// A DDEATH payload: no metrics, the edge node's next seq.
    public static func deviceDeath(timestamp: EventTime, seq: UInt64) -> [UInt8] {
        payload(timestamp: timestamp, seq: seq, metrics: [])
    }

    /// The host's rebirth request, published as NCMD: `Node Control/Rebirth` = true.
    public static func rebirthRequest(timestamp: EventTime) -> [UInt8] {
        payload(timestamp: timestamp, seq: nil, metrics: [SparkplugMetric(name: rebirthMetric, datatype: .boolean, value: .bool(true))])
    }

    /// Whether `bytes` is a rebirth request (an NCMD payload with `Node Control/Rebirth` = true):
    /// what an edge node checks before publishing its births again.
    public static func isRebirthRequest(_ bytes: [UInt8]) -> Bool {
        guard let p = try? SparkplugBPayload(serializedBytes: bytes, options: SparkplugWire.decodingOptions) else { return false }
        return p.metrics.contains { m in
            guard m.name == rebirthMetric, case .booleanValue(true) = m.value else { return false }
            return !m.hasDatatype || m.datatype == SparkplugDataType.boolean.rawValue
        }
    }

    /// A payload with these fields; `seq` nil leaves it out (NDEATH, NCMD).
    public static func payload(timestamp: EventTime?, seq: UInt64?, metrics: [SparkplugMetric]) -> [UInt8] {
        payload(timestamp: timestamp, seq: seq, wire: metrics.map(encode))
    }

    static func payload(timestamp: EventTime?, seq: UInt64?, wire: [SparkplugBPayload.Metric]) -> [UInt8] {
        var p = SparkplugBPayload()
        if let timestamp { p.timestamp = UInt64(clamping: timestamp.milliseconds) }
        if let seq { p.seq = seq }
        p.metrics = wire
        return p.wireBytes
    }

    /// The `bdSeq` metric (UInt64) with its exact value: a `Value` (a Double) would round above 2^53.
    static func bdSeqWire(_ bdSeq: UInt64) -> SparkplugBPayload.Metric {
        var w = SparkplugBPayload.Metric()
        w.name = bdSeqMetric
        w.datatype = SparkplugDataType.uint64.rawValue
        w.value = .longValue(bdSeq)
        return w
    }

    /// The wire form of one metric: the value goes in the field the specification assigns to the
    /// datatype (for a type a `Value` cannot fill, such as DataSet or Bytes, none), signed integers as two's complement sign-extended to the field's width (as the
    /// Eclipse Tahu reference implementation writes them).
    static func encode(_ m: SparkplugMetric) -> SparkplugBPayload.Metric {
        var w = SparkplugBPayload.Metric()
        if let name = m.name { w.name = name }
        if let alias = m.alias { w.alias = alias }
        if let t = m.timestamp { w.timestamp = UInt64(clamping: t.milliseconds) }
        if m.sendsDatatype { w.datatype = m.datatype.rawValue }
        if m.isHistorical { w.isHistorical = true }
        if let text = m.text, m.value == nil {
            w.value = .stringValue(text)
            return w
        }
        guard let v = m.value else {
            w.isNull = true
            return w
        }
        switch m.datatype {
        case .int8: w.value = .intValue(UInt32(truncatingIfNeeded: Int8(clamping: v.clampedInt64)))
        case .int16: w.value = .intValue(UInt32(truncatingIfNeeded: Int16(clamping: v.clampedInt64)))
        case .int32: w.value = .intValue(UInt32(truncatingIfNeeded: Int32(clamping: v.clampedInt64)))
        case .uint8: w.value = .intValue(UInt32(UInt8(clamping: v.clampedInt64)))
        case .uint16: w.value = .intValue(UInt32(UInt16(clamping: v.clampedInt64)))
        case .uint32: w.value = .intValue(UInt32(clamping: v.clampedInt64))
        case .uint64: w.value = .longValue(v.clampedUInt64)
        case .int64: w.value = .longValue(UInt64(bitPattern: v.clampedInt64))
        case .dateTime: w.value = .longValue(UInt64(clamping: v.clampedInt64))
        case .float: w.value = .floatValue(Float(v.asDouble))
        case .boolean: w.value = .booleanValue(v.asBool)
        case .double: w.value = .doubleValue(v.asDouble)
        case .string, .text, .uuid: w.value = .stringValue(v.isBool ? String(v.asBool) : String(v.asDouble))
        default: break // datasets, bytes, templates, arrays: nothing a `Value` can fill
        }
        return w
    }
}

extension Value {
    var isBool: Bool { if case .bool = self { true } else { false } }

    /// The value as an integer, clamped to Int64's range (NaN → 0): a simulator's number never traps.
    var clampedInt64: Int64 {
        let d = asDouble.rounded()
        guard !d.isNaN else { return 0 }
        // Int64(exactly:) is nil outside the range (and for ±infinity): clamp by sign.
        return Int64(exactly: d) ?? (d > 0 ? .max : .min)
    }

    /// The value as an unsigned integer, clamped to UInt64's range (NaN → 0).
    var clampedUInt64: UInt64 {
        let d = asDouble.rounded()
        guard !d.isNaN else { return 0 }
        return UInt64(exactly: d) ?? (d > 0 ? .max : 0)
    }
}

extension SparkplugBPayload {
    /// The protobuf encoding. It cannot fail for this message (no required fields, no `Any`).
    var wireBytes: [UInt8] { (try? serializedBytes()) ?? [] }
}

/// The decoding options every Sparkplug payload is read with.
enum SparkplugWire {
    /// A real payload nests at most Payload → Metric → Template → Metric → DataSet → Row → Value
    /// (and PropertySet → PropertyValue → PropertySet); 16 levels leave room for templates of
    /// templates while bounding the recursion hostile bytes can cause (the library's default is 100).
    static let decodingOptions: BinaryDecodingOptions = {
        var o = BinaryDecodingOptions()
        o.messageDepthLimit = 16
        return o
    }()

    /// A field the schema declares but that came with another wire type (e.g. `seq` as fixed32).
    /// The protobuf library keeps such a field as unknown, as the protobuf rules say, and the
    /// message would read as if it were absent; the host rejects the payload instead, as it would
    /// any other value that does not match its declaration. Other unknown fields (Sparkplug's
    /// extension ranges) pass. Returns the first misplaced field number and its wire type.
    static func misplacedField(in unknown: Data, declared: ClosedRange<UInt64>) -> (field: UInt64, wireType: UInt64)? {
        guard !unknown.isEmpty else { return nil }
        return unknown.withUnsafeBytes { (b: UnsafeRawBufferPointer) -> (field: UInt64, wireType: UInt64)? in
            var i = 0
            var groupDepth = 0
            func varint() -> UInt64? {
                var v: UInt64 = 0
                var shift: UInt64 = 0
                while i < b.count, shift < 64 {
                    let byte = b[i]
                    i += 1
                    v |= UInt64(byte & 0x7F) << shift
                    if byte & 0x80 == 0 { return v }
                    shift += 7
                }
                return nil
            }
            // The library wrote these bytes after parsing them, so they are well formed; a scan
            // that meets anything else simply stops.
            while i < b.count {
                guard let tag = varint() else { return nil }
                let field = tag >> 3
                let wireType = tag & 7
                if groupDepth == 0, declared.contains(field) { return (field, wireType) }
                switch wireType {
                case 0: guard varint() != nil else { return nil }
                case 1: i += 8
                case 2:
                    guard let n = varint(), n <= UInt64(b.count - i) else { return nil }
                    i += Int(n)
                case 3: groupDepth += 1
                case 4:
                    guard groupDepth > 0 else { return nil }
                    groupDepth -= 1
                case 5: i += 4
                default: return nil
                }
            }
            return nil
        }
    }
}
