import MeltWatchCore
import MeltWatchDecode

extension SparkplugHost {
    /// NDATA (`device` nil) or DDATA: metrics by alias, or by name when they carry no alias.
    func data(
        edge: String, device: String?, _ p: SparkplugWirePayload, now: EventTime,
        into out: inout [Reading], effects: inout GatewayEffects
    ) -> Result<DecodeOutcome, DecodeError> {
        let kind = device == nil ? "NDATA" : "DDATA"
        guard let session = nodes[edge]?.session else {
            return noBirth(edge: edge, "\(kind) from edge node \(logQuoted(edge)), which has no current NBIRTH", now: now, effects: &effects)
        }
        session.sequence.observe(p.seq, now: now)
        guard let scope = session.scope(device: device) else {
            return noBirth(edge: edge, "DDATA from device \(logQuoted(edge + "/" + (device ?? ""))), which has no current DBIRTH", now: now, effects: &effects)
        }
        var outcome = DecodeOutcome(readings: 0)
        var unknown = 0
        var resolved = 0
        do throws(DecodeError) {
            let time = try payloadTime(p, now: now)
            for m in p.metrics {
                guard let index = resolve(m, in: scope, device: device, session: session) else {
                    unknown += 1
                    continue
                }
                resolved += 1
                let definition = scope.metrics[index]
                if let datatype = m.datatype, datatype != definition.datatype {
                    // The edge node and the host disagree on what the metric is: its birth as the
                    // host holds it is out of date.
                    requestRebirth(edge: edge, now: now, effects: &effects)
                    throw DecodeError(
                        reason: .wrongType,
                        detail: "\(kind) metric \(logQuoted(definition.name)) has datatype \(datatype), its birth declared \(definition.datatype)"
                    )
                }
                try read(m, as: definition, defaultTime: time, now: now, into: &out, outcome: &outcome)
            }
        } catch {
            return .failure(error)
        }
        if unknown > 0 {
            requestRebirth(edge: edge, now: now, effects: &effects)
            outcome.unknownTags += unknown
            if resolved == 0 {
                return .failure(DecodeError(
                    reason: .unknownAlias,
                    detail: "\(kind) of \(logQuoted(edge + (device.map { "/" + $0 } ?? ""))): none of its \(unknown) metrics is declared by the birth"
                ))
            }
        }
        return .success(outcome)
    }

    /// The index in `scope` of the metric `m` addresses, or nil when its birth did not declare it.
    /// An alias must belong to this scope (not the node's or another device's), and a name given
    /// with it must be the declared one: never read a value as the wrong metric.
    func resolve(_ m: SparkplugWireMetric, in scope: MetricScope, device: String?, session: NodeSession) -> Int? {
        if let alias = m.alias {
            guard let target = session.aliases[alias], target.device == device, target.index < scope.metrics.count else { return nil }
            if let name = m.name, !sameName(name, scope.metrics[target.index].name) { return nil }
            return target.index
        }
        // Rare (DATA names its metrics by alias): a String for the dictionary's lookup.
        return m.name.flatMap { scope.byName[String(decoding: $0, as: UTF8.self)] }
    }

    /// NDEATH: with the session's `bdSeq`, the node and all its devices are gone: every signal
    /// bound under the edge node is lost at once. Another `bdSeq` is the late will of an older
    /// session (`staleDeath`, nothing changes); no session, nothing to end.
    func nodeDeath(edge: String, _ p: SparkplugWirePayload, now: EventTime, effects: inout GatewayEffects) -> Result<DecodeOutcome, DecodeError> {
        guard let session = nodes[edge]?.session else { return .success(DecodeOutcome(readings: 0)) }
        let bdSeq = Self.bdSeq(in: p)
        if let current = session.bdSeq, bdSeq != current {
            return .failure(DecodeError(
                reason: .staleDeath,
                detail: "NDEATH of \(logQuoted(edge)) has bdSeq \(bdSeq.map(String.init) ?? "none"), the current session's is \(current)"
            ))
        }
        dropSession(edge: edge)
        for signal in nodeSignals[edge] ?? [] {
            effects.losses.append(SignalLoss(signal: signal, time: now, cause: .nodeDeath))
        }
        return .success(DecodeOutcome(readings: 0))
    }

    /// DDEATH: the device is gone (its bound signals lost at once); it counts in the node's `seq`.
    func deviceDeath(
        edge: String, device: String, _ p: SparkplugWirePayload, now: EventTime, effects: inout GatewayEffects
    ) -> Result<DecodeOutcome, DecodeError> {
        guard let session = nodes[edge]?.session else { return .success(DecodeOutcome(readings: 0)) }
        session.sequence.observe(p.seq, now: now)
        removeDevice(device, from: session)
        for signal in deviceSignals[DeviceKey(edge: edge, device: device)] ?? [] {
            effects.losses.append(SignalLoss(signal: signal, time: now, cause: .deviceDeath))
        }
        return .success(DecodeOutcome(readings: 0))
    }

    /// Reads one metric as its birth declared it: a reading of its bound signal, or a count of why
    /// there is none (a type MeltWatch does not read: `unsupportedMetrics`; no binding: `unknownTags`).
    /// The value is checked against the type even when unbound: a message is accepted or rejected
    /// whole, whatever the bindings.
    func read(
        _ m: SparkplugWireMetric, as definition: MetricDefinition, defaultTime: EventTime, now: EventTime,
        into out: inout [Reading], outcome: inout DecodeOutcome
    ) throws(DecodeError) {
        let time = if let t = m.timestamp { try eventTime(t, now: now, of: "metric \(logQuoted(definition.name))") } else { defaultTime }
        guard let type = SparkplugDataType(rawValue: definition.datatype), type.isReadable else {
            outcome.unsupportedMetrics += 1
            return
        }
        let (value, quality) = try Self.value(of: m, as: type, name: definition.name)
        guard let signal = definition.signal else {
            outcome.unknownTags += 1
            return
        }
        out.append(Reading(signal: signal, value: value, quality: quality, time: time))
        outcome.readings += 1
    }

    /// A metric's value as `type` (a readable one) declares it: the field must be the one the
    /// specification assigns to the type, and an integer must fit the type's width. Anything
    /// else is `wrongType`: never guess what a mismatched field meant.
    ///
    /// Signed integers come as two's complement in the unsigned fields; both the zero-extended
    /// (`0xFB` for Int8 −5) and the sign-extended form (`0xFFFFFFFB`, as Eclipse Tahu writes it)
    /// are read. The 8–32-bit types are also accepted in `long_value` (some edge nodes put UInt32
    /// there), with the same width check. Null → `bad` with value 0 (false); a non-finite Float or
    /// Double → `bad` with 0.
    static func value(of m: SparkplugWireMetric, as type: SparkplugDataType, name: String) throws(DecodeError) -> (Value, Quality) {
        if m.isNull == true { return (type == .boolean ? .bool(false) : .number(0), .bad) }
        func wrong() -> DecodeError {
            let found = switch m.value {
            case .intValue?: "int_value"
            case .longValue?: "long_value"
            case .floatValue?: "float_value"
            case .doubleValue?: "double_value"
            case .booleanValue?: "boolean_value"
            case .stringValue?: "string_value"
            case .bytesValue?: "bytes_value"
            case .datasetValue?: "dataset_value"
            case .templateValue?: "template_value"
            case .extensionValue?: "extension_value"
            case nil: "no value"
            }
            return DecodeError(reason: .wrongType, detail: "metric \(logQuoted(name)) of datatype \(type) carries \(found)")
        }
        switch (type, m.value) {
        case (.boolean, .booleanValue(let b)?):
            return (.bool(b), .good)
        case (.float, .floatValue(let f)?):
            return finite(Double(f))
        case (.double, .doubleValue(let d)?):
            return finite(d)
        case (.int8, .intValue(let raw)?), (.int16, .intValue(let raw)?), (.int32, .intValue(let raw)?):
            guard let v = signed(UInt64(raw), carrierBits: 32, bits: type.width) else { throw wrong() }
            return (.number(Double(v)), .good)
        case (.int8, .longValue(let raw)?), (.int16, .longValue(let raw)?), (.int32, .longValue(let raw)?), (.int64, .longValue(let raw)?):
            guard let v = signed(raw, carrierBits: 64, bits: type.width) else { throw wrong() }
            return (.number(Double(v)), .good)
        case (.uint8, .intValue(let raw)?), (.uint16, .intValue(let raw)?), (.uint32, .intValue(let raw)?):
            guard UInt64(raw) <= type.unsignedMax else { throw wrong() }
            return (.number(Double(raw)), .good)
        case (.uint8, .longValue(let raw)?), (.uint16, .longValue(let raw)?), (.uint32, .longValue(let raw)?),
             (.uint64, .longValue(let raw)?), (.dateTime, .longValue(let raw)?):
            guard raw <= type.unsignedMax else { throw wrong() }
            return (.number(Double(raw)), .good)
        default:
            throw wrong()
        }
    }

    private static func finite(_ d: Double) -> (Value, Quality) {
        d.isFinite ? (.number(d), .good) : (.number(0), .bad)
    }

    /// A `bits`-wide two's complement integer carried in a `carrierBits`-wide unsigned field, or nil
    /// when the field holds something else: the low `bits` zero-extended, or sign-extended to the
    /// carrier's width (negative values only).
    static func signed(_ raw: UInt64, carrierBits: Int, bits: Int) -> Int64? {
        let shift = UInt64(64 - bits)
        if bits == 64 || raw >> UInt64(bits) == 0 {
            return Int64(bitPattern: raw << shift) >> shift
        }
        let carrierShift = UInt64(64 - carrierBits)
        let v = Int64(bitPattern: raw << carrierShift) >> carrierShift
        return v < 0 && v >= -(Int64(1) << UInt64(bits - 1)) ? v : nil
    }
}

extension SparkplugDataType {
    /// Bits of an integer type.
    var width: Int {
        switch self {
        case .int8, .uint8: 8
        case .int16, .uint16: 16
        case .int32, .uint32: 32
        default: 64
        }
    }

    /// The largest value of an unsigned type (DateTime: any uint64 milliseconds).
    var unsignedMax: UInt64 { width == 64 ? .max : (1 << UInt64(width)) - 1 }
}
