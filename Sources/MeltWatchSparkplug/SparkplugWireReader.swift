/// A Sparkplug B payload as the host reads it, straight from the protobuf bytes: no heap
/// allocation per metric, names and strings as byte ranges into the payload.
///
/// It reads the Payload and Metric fields the host uses and checks the whole payload exactly as
/// the host checks swift-protobuf's result (``SparkplugHost/parse(_:limit:)`` before this reader
/// existed): swift-protobuf 1.39's wire rules (tags, varints of at most 10 bytes, lengths,
/// unknown fields and groups skipped with its depth budget, UTF-8 of `string` fields), last one
/// wins for a repeated scalar and within the `value` oneof, and a declared field with another wire
/// type rejected (the check the host added on top of the library).
///
/// The nested messages (metadata, properties, dataset, template, extension) are passed over as
/// lengths, never parsed: no recursion here. swift-protobuf does parse them, and rejects a payload
/// whose nested message is malformed or nested deeper than 16; so a payload that carries a
/// non-empty one is marked ``SparkplugWirePayload/needsReference`` and the host asks swift-protobuf
/// for the verdict. Common DATA (values by alias) never takes that path.
///
/// `bytes` must outlive the result: the payload and its metrics point into it.
struct SparkplugWirePayload {
    let bytes: UnsafeRawBufferPointer
    var timestamp: UInt64?
    var seq: UInt64?
    /// The Metric messages (field 2).
    var metricCount = 0
    /// A metric carries a nested message (fields 8, 9, 17, 18, 19) with content: its validity is
    /// swift-protobuf's to judge.
    var needsReference = false

    var hasTimestamp: Bool { timestamp != nil }
    var hasSeq: Bool { seq != nil }

    /// The metrics in payload order, read again from the (already checked) bytes.
    var metrics: Metrics { Metrics(bytes: bytes) }

    /// The metrics of a checked payload, parsed one at a time as they are iterated.
    struct Metrics: Sequence {
        let bytes: UnsafeRawBufferPointer

        func makeIterator() -> Iterator { Iterator(reader: WireCursor(bytes, 0, bytes.count)) }

        struct Iterator: IteratorProtocol {
            var reader: WireCursor

            mutating func next() -> SparkplugWireMetric? {
                // The bytes were checked when the payload was read: nothing here can fail.
                while reader.position < reader.end {
                    guard let (field, wireType) = try? reader.tag() else { return nil }
                    if field == 2 && wireType == 2 {
                        guard let range = try? reader.lengthDelimited(),
                              let m = try? SparkplugWireMetric.read(reader.bytes, range) else { return nil }
                        return m.metric
                    }
                    guard (try? reader.skip(field: field, wireType: wireType, budget: SparkplugWireReader.payloadBudget)) != nil else { return nil }
                }
                return nil
            }
        }
    }
}

/// The `value` oneof of a metric, as swift-protobuf's `OneOf_Value` holds it (strings and bytes as
/// slices of the payload; the nested messages only as which one it is).
enum SparkplugWireValue {
    case intValue(UInt32)
    case longValue(UInt64)
    case floatValue(Float)
    case doubleValue(Double)
    case booleanValue(Bool)
    case stringValue(UnsafeRawBufferPointer)
    case bytesValue(UnsafeRawBufferPointer)
    case datasetValue
    case templateValue
    case extensionValue
}

/// One metric as the host reads it. A field absent from the wire is nil.
struct SparkplugWireMetric {
    /// The name's bytes in the payload (valid UTF-8).
    var name: UnsafeRawBufferPointer?
    var alias: UInt64?
    var timestamp: UInt64?
    var datatype: UInt32?
    var isHistorical: Bool?
    var isTransient: Bool?
    var isNull: Bool?
    var value: SparkplugWireValue?

    /// Reads the Metric message in `range` of `bytes`; `needsReference` when a nested message
    /// has content.
    static func read(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws(WireFault) -> (metric: SparkplugWireMetric, needsReference: Bool) {
        var m = SparkplugWireMetric()
        var nested = false
        var r = WireCursor(bytes, range.lowerBound, range.upperBound)
        while r.position < r.end {
            let (field, wireType) = try r.tag()
            switch field {
            case 1...19:
                let expected: UInt8 = switch field {
                case 1, 8, 9, 15...19: 2
                case 12: 5
                case 13: 1
                default: 0
                }
                guard wireType == expected else { throw WireFault("metric field \(field) has wire type \(wireType), not its declared one") }
                switch field {
                case 1:
                    let s = try r.lengthDelimited()
                    try r.checkUTF8(s, what: "metric name")
                    m.name = r.slice(s)
                case 2: m.alias = try r.varint()
                case 3: m.timestamp = try r.varint()
                case 4: m.datatype = UInt32(truncatingIfNeeded: try r.varint())
                case 5: m.isHistorical = try r.varint() != 0
                case 6: m.isTransient = try r.varint() != 0
                case 7: m.isNull = try r.varint() != 0
                case 8, 9:
                    if !(try r.lengthDelimited()).isEmpty { nested = true }
                case 10: m.value = .intValue(UInt32(truncatingIfNeeded: try r.varint()))
                case 11: m.value = .longValue(try r.varint())
                case 12: m.value = .floatValue(Float(bitPattern: try r.fixed32()))
                case 13: m.value = .doubleValue(Double(bitPattern: try r.fixed64()))
                case 14: m.value = .booleanValue(try r.varint() != 0)
                case 15:
                    let s = try r.lengthDelimited()
                    try r.checkUTF8(s, what: "metric string_value")
                    m.value = .stringValue(r.slice(s))
                case 16: m.value = .bytesValue(r.slice(try r.lengthDelimited()))
                default: // 17, 18, 19
                    if !(try r.lengthDelimited()).isEmpty { nested = true }
                    m.value = field == 17 ? .datasetValue : field == 18 ? .templateValue : .extensionValue
                }
            default:
                try r.skip(field: field, wireType: wireType, budget: SparkplugWireReader.metricBudget)
            }
        }
        return (m, nested)
    }
}

/// Why bytes are not a Sparkplug payload.
struct WireFault: Error {
    var detail: String
    init(_ detail: String) { self.detail = detail }
}

/// Reads a ``SparkplugWirePayload``.
enum SparkplugWireReader {
    /// swift-protobuf's depth budget (``SparkplugWire/decodingOptions``, 16) less the levels above
    /// an unknown group: the Payload takes one, a Metric another.
    static let payloadBudget = 15
    static let metricBudget = 14

    /// Reads and checks the whole payload; every metric is checked here, so iterating
    /// ``SparkplugWirePayload/metrics`` afterwards cannot fail.
    static func read(_ bytes: UnsafeRawBufferPointer) -> Result<SparkplugWirePayload, WireFault> {
        var p = SparkplugWirePayload(bytes: bytes)
        var r = WireCursor(bytes, 0, bytes.count)
        do throws(WireFault) {
            while r.position < r.end {
                let (field, wireType) = try r.tag()
                switch field {
                case 1...5:
                    let expected: UInt8 = field == 1 || field == 3 ? 0 : 2
                    guard wireType == expected else { throw WireFault("payload field \(field) has wire type \(wireType), not its declared one") }
                    switch field {
                    case 1: p.timestamp = try r.varint()
                    case 2:
                        let (_, nested) = try SparkplugWireMetric.read(bytes, try r.lengthDelimited())
                        if nested { p.needsReference = true }
                        p.metricCount += 1
                    case 3: p.seq = try r.varint()
                    case 4: try r.checkUTF8(try r.lengthDelimited(), what: "payload uuid")
                    default: _ = try r.lengthDelimited()
                    }
                default:
                    try r.skip(field: field, wireType: wireType, budget: payloadBudget)
                }
            }
        } catch {
            return .failure(error)
        }
        return .success(p)
    }
}

/// A position in a message's bytes `[position, end)`, reading protobuf wire primitives as
/// swift-protobuf's `BinaryDecoder` does (the same accept and reject, error for error class).
struct WireCursor {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    let end: Int

    init(_ bytes: UnsafeRawBufferPointer, _ position: Int, _ end: Int) {
        self.bytes = bytes
        self.position = position
        self.end = end
    }

    /// A field's tag as a message reads it (`BinaryDecoder.nextFieldNumber`): at most five bytes,
    /// the fifth at most 15; wire types 0–5; field number not 0; an end-group outside a group is
    /// malformed.
    @inline(__always)
    mutating func tag() throws(WireFault) -> (field: UInt32, wireType: UInt8) {
        let c0 = bytes[position]
        let wireType = c0 & 7
        guard wireType <= 5 else { throw WireFault("wire type \(wireType)") }
        var field = UInt32(c0 & 0x7F) >> 3
        if c0 & 0x80 == 0 {
            position += 1
        } else {
            var shift: UInt32 = 4
            var i = 1
            while true {
                guard position + i < end else { throw WireFault("truncated tag") }
                let c = bytes[position + i]
                if i == 4 {
                    guard c <= 15 else { throw WireFault("tag over 32 bits") }
                    field |= UInt32(c) << shift
                    i += 1
                    break
                }
                field |= UInt32(c & 0x7F) << shift
                i += 1
                if c & 0x80 == 0 { break }
                shift += 7
            }
            position += i
        }
        guard field != 0 else { throw WireFault("field number 0") }
        guard wireType != 4 else { throw WireFault("end-group tag outside a group") }
        return (field, wireType)
    }

    /// A varint of at most 10 bytes (the tenth's bits beyond 64 dropped, as the library does).
    @inline(__always)
    mutating func varint() throws(WireFault) -> UInt64 {
        guard position < end else { throw WireFault("truncated varint") }
        var c = bytes[position]
        position += 1
        if c & 0x80 == 0 { return UInt64(c) }
        var value = UInt64(c & 0x7F)
        var shift: UInt64 = 7
        while true {
            guard position < end, shift <= 63 else { throw WireFault("truncated or overlong varint") }
            c = bytes[position]
            position += 1
            value |= UInt64(c & 0x7F) &<< shift
            if c & 0x80 == 0 { return value }
            shift &+= 7
        }
    }

    /// The bytes of `range`.
    func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[range]) }

    mutating func fixed32() throws(WireFault) -> UInt32 {
        guard end - position >= 4 else { throw WireFault("truncated fixed32") }
        defer { position += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    mutating func fixed64() throws(WireFault) -> UInt64 {
        guard end - position >= 8 else { throw WireFault("truncated fixed64") }
        defer { position += 8 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    /// A declared length-delimited field's body (`getFieldBodyBytes`: under 2 GiB, within the message).
    @inline(__always)
    mutating func lengthDelimited() throws(WireFault) -> Range<Int> {
        let n = try varint()
        guard n < 0x7FFF_FFFF else { throw WireFault("length \(n) of 2 GiB or more") }
        guard n <= UInt64(end - position) else { throw WireFault("length \(n) beyond the message") }
        let start = position
        position += Int(n)
        return start..<position
    }

    /// Whether `range` is valid UTF-8, as swift-protobuf checks a `string` field.
    func checkUTF8(_ range: Range<Int>, what: @autoclosure () -> String) throws(WireFault) {
        var ascii = true
        for i in range where bytes[i] >= 0x80 {
            ascii = false
            break
        }
        if ascii { return }
        var parser = Unicode.UTF8.ForwardParser()
        var it = UnsafeRawBufferPointer(rebasing: bytes[range]).makeIterator()
        while true {
            switch parser.parseScalar(from: &it) {
            case .valid: continue
            case .emptyInput: return
            case .error: throw WireFault("\(what()) is not valid UTF-8")
            }
        }
    }

    /// Passes over an unknown field (`BinaryDecoder.skipOver`). A group is walked without
    /// recursion: its open groups' field numbers on a small stack, at most `budget` deep (the
    /// library's recursion budget at this level), each closed by an end-group of its own number.
    mutating func skip(field: UInt32, wireType: UInt8, budget: Int) throws(WireFault) {
        switch wireType {
        case 0: _ = try varint()
        case 1:
            guard end - position >= 8 else { throw WireFault("truncated fixed64") }
            position += 8
        case 2:
            let n = try varint()
            guard n <= UInt64(end - position) else { throw WireFault("length \(n) beyond the message") }
            position += Int(n)
        case 5:
            guard end - position >= 4 else { throw WireFault("truncated fixed32") }
            position += 4
        case 3:
            // Rare (groups are deprecated and Sparkplug has none): the stack may allocate.
            var open: [UInt32] = [field]
            guard budget >= 1 else { throw WireFault("groups nested too deep") }
            while let current = open.last {
                // Inside a group the library reads tags as plain varints (`getTagWithoutUpdatingFieldStart`).
                guard position < end else { throw WireFault("truncated group") }
                let t = try varint()
                guard t < UInt64(UInt32.max) else { throw WireFault("tag over 32 bits") }
                let innerField = UInt32(t >> 3)
                let innerWire = UInt8(t & 7)
                guard innerField != 0, innerWire <= 5 else { throw WireFault("invalid tag in a group") }
                switch innerWire {
                case 4:
                    guard innerField == current else { throw WireFault("end-group of field \(innerField) inside group \(current)") }
                    open.removeLast()
                case 3:
                    guard open.count < budget else { throw WireFault("groups nested too deep") }
                    open.append(innerField)
                default:
                    try skip(field: innerField, wireType: innerWire, budget: 0)
                }
            }
        default:
            throw WireFault("end-group tag outside a group")
        }
    }
}

/// Whether a name from the wire (valid UTF-8) is `s` as Swift compares Strings: byte for byte,
/// or, when either has non-ASCII bytes, by canonical equivalence as `==` on Strings (what the
/// host compared when it held names as Strings).
func sameName(_ wire: UnsafeRawBufferPointer, _ s: String) -> Bool {
    let bytewise = s.utf8.withContiguousStorageIfAvailable { u in
        u.count == wire.count && zip(u, wire).allSatisfy { $0 == $1 }
    }
    switch bytewise {
    case true?: return true
    case nil: return String(decoding: wire, as: UTF8.self) == s
    case false?: break
    }
    let ascii = wire.allSatisfy { $0 < 0x80 } && s.utf8.allSatisfy { $0 < 0x80 }
    return ascii ? false : String(decoding: wire, as: UTF8.self) == s
}
