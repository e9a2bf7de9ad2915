import MeltWatchCore
import MeltWatchDecode
import Testing

@testable import MeltWatchSparkplug

/// The group, edge nodes, bindings and clock the Sparkplug tests share.
enum SP {
    static let group = "Baotou"
    static let edge = "EON-1"
    static let device = "BOF1"
    static let otherDevice = "BOF2"
    /// 2025-11-23T08:00:00.000Z.
    static let t0 = EventTime(milliseconds: 1_763_884_800_000)

    static let voltage = SignalID(1) // node metric "Supply Voltage"
    static let inletFlow = SignalID(2) // BOF1 "inlet_flow"
    static let outletFlow = SignalID(3) // BOF1 "outlet_flow"
    static let running = SignalID(4) // BOF1 "furnace_operating"
    static let otherFlow = SignalID(5) // BOF2 "inlet_flow"
    static let neverBorn = SignalID(6) // BOF3 "inlet_flow": bound, never in a birth
    static let label = SignalID(7) // BOF1 "label", a String metric
    static let otherEdge = SignalID(8) // EON-2 "Supply Voltage"

    static let bindings: [SparkplugBinding] = [
        SparkplugBinding(edge: edge, metric: "Supply Voltage", signal: voltage),
        SparkplugBinding(edge: edge, device: device, metric: "inlet_flow", signal: inletFlow),
        SparkplugBinding(edge: edge, device: device, metric: "outlet_flow", signal: outletFlow),
        SparkplugBinding(edge: edge, device: device, metric: "furnace_operating", signal: running),
        SparkplugBinding(edge: edge, device: otherDevice, metric: "inlet_flow", signal: otherFlow),
        SparkplugBinding(edge: edge, device: "BOF3", metric: "inlet_flow", signal: neverBorn),
        SparkplugBinding(edge: edge, device: device, metric: "label", signal: label),
        SparkplugBinding(edge: "EON-2", metric: "Supply Voltage", signal: otherEdge),
    ]

    static func host(limits: SparkplugLimits = SparkplugLimits()) -> SparkplugHost {
        do {
            return try SparkplugHost(groupID: group, bindings: bindings, limits: limits)
        } catch {
            fatalError("test host: \(error)")
        }
    }

    /// Already in the output before each decode: a reject must leave it, and only it, there.
    static let sentinel = Reading(signal: SignalID(999), value: .number(-1), quality: .bad, time: EventTime(milliseconds: 1))

    /// The node's birth: bdSeq, Node Control/Rebirth, then Supply Voltage (Double, alias 1) and
    /// Uptime (Int64, alias 2, unbound).
    static func nodeBirth(bdSeq: UInt64 = 0, at t: EventTime = t0, voltage: Double = 230.5) -> [UInt8] {
        SparkplugPayloads.nodeBirth(timestamp: t, bdSeq: bdSeq, metrics: [
            SparkplugMetric(name: "Supply Voltage", alias: 1, datatype: .double, value: .number(voltage)),
            SparkplugMetric(name: "Uptime", alias: 2, datatype: .int64, value: .number(7)),
        ])
    }

    /// BOF1's birth: inlet_flow (Float, alias 10), outlet_flow (Double, 11), furnace_operating
    /// (Boolean, 12), label (String, 13).
    static func deviceBirth(seq: UInt64 = 1, at t: EventTime = t0) -> [UInt8] {
        SparkplugPayloads.deviceBirth(timestamp: t, seq: seq, metrics: [
            SparkplugMetric(name: "inlet_flow", alias: 10, datatype: .float, value: .number(120.5)),
            SparkplugMetric(name: "outlet_flow", alias: 11, datatype: .double, value: .number(119.25)),
            SparkplugMetric(name: "furnace_operating", alias: 12, datatype: .boolean, value: .bool(true)),
            SparkplugMetric(name: "label", alias: 13, datatype: .string, value: nil, text: "BOF 1"),
        ])
    }

    /// A metric given by alias only, as DATA carries it.
    static func byAlias(_ alias: UInt64, _ value: Value?, datatype: SparkplugDataType? = nil, at t: EventTime? = nil, historical: Bool = false) -> SparkplugMetric {
        // Without a datatype, the value's kind picks the field (Double or Boolean) and none is sent.
        SparkplugMetric(
            alias: alias, datatype: datatype ?? (value.map { if case .bool = $0 { .boolean } else { .double } } ?? .double),
            value: value, timestamp: t, isHistorical: historical, sendsDatatype: datatype != nil
        )
    }

    static func data(seq: UInt64, at t: EventTime = t0, _ metrics: [SparkplugMetric]) -> [UInt8] {
        SparkplugPayloads.data(timestamp: t, seq: seq, metrics: metrics)
    }

    /// A payload built field by field, for what `SparkplugPayloads` would never write.
    static func wire(timestamp: UInt64? = t0.milliseconds.magnitude, seq: UInt64? = nil, _ metrics: [SparkplugBPayload.Metric]) -> [UInt8] {
        var p = SparkplugBPayload()
        if let timestamp { p.timestamp = timestamp }
        if let seq { p.seq = seq }
        p.metrics = metrics
        return p.wireBytes
    }

    static func wireMetric(
        name: String? = nil, alias: UInt64? = nil, datatype: SparkplugDataType? = nil,
        _ value: SparkplugBPayload.Metric.OneOf_Value?, isNull: Bool = false
    ) -> SparkplugBPayload.Metric {
        var m = SparkplugBPayload.Metric()
        if let name { m.name = name }
        if let alias { m.alias = alias }
        if let datatype { m.datatype = datatype.rawValue }
        if isNull { m.isNull = true }
        m.value = value
        return m
    }
}

/// What one message did: its result, the readings it appended, and its effects.
struct Sent {
    var result: Result<DecodeOutcome, DecodeError>
    var readings: [Reading]
    var effects: GatewayEffects

    var outcome: DecodeOutcome? { if case .success(let o) = result { o } else { nil } }
    var reason: RejectReason? { if case .failure(let e) = result { e.reason } else { nil } }
    /// The edge nodes asked for a rebirth.
    var rebirthRequests: [String] { effects.commands.map(\.topic) }
    var values: [Value] { readings.map(\.value) }
}

extension SparkplugHost {
    /// Decodes one message on `spBv1.0/<group>/<type>/<edge>[/<device>]` (or `topic`) and checks
    /// what must hold for every message: the output's earlier contents untouched, nothing appended
    /// on failure, as many readings as the outcome says, and only bound signals read.
    func send(
        _ type: SparkplugMessageType, edge: String = SP.edge, device: String? = nil, _ payload: [UInt8],
        at now: EventTime = SP.t0, topic: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Sent {
        let topic = topic ?? type.topic(group: SP.group, edge: edge, device: device)
        var out = [SP.sentinel]
        var effects = GatewayEffects()
        let result = Array(topic.utf8).withUnsafeBytes { t in
            payload.withUnsafeBytes { p in decode(topic: t, payload: p, now: now, into: &out, effects: &effects) }
        }
        #expect(out.first == SP.sentinel, "the earlier output was changed", sourceLocation: sourceLocation)
        let appended = Array(out.dropFirst())
        switch result {
        case .success(let o):
            #expect(o.readings == appended.count, "outcome says \(o.readings) readings, \(appended.count) appended", sourceLocation: sourceLocation)
        case .failure(let e):
            #expect(appended.isEmpty, "a rejected message (\(e)) left readings", sourceLocation: sourceLocation)
            #expect(!e.detail.isEmpty, sourceLocation: sourceLocation)
        }
        let bound = Set(bindings.values)
        #expect(appended.allSatisfy { bound.contains($0.signal) }, sourceLocation: sourceLocation)
        return Sent(result: result, readings: appended, effects: effects)
    }

    /// Runs the timers at `now` and returns the rebirth requests' topics.
    func tickCommands(at now: EventTime) -> [String] {
        var effects = GatewayEffects()
        tick(now: now, effects: &effects)
        #expect(effects.losses.isEmpty)
        return effects.commands.map(\.topic)
    }

    /// A host born with the node birth (seq 0) and BOF1's birth (seq 1).
    static func born(limits: SparkplugLimits = SparkplugLimits()) -> SparkplugHost {
        let host = SP.host(limits: limits)
        _ = host.send(.nodeBirth, SP.nodeBirth())
        _ = host.send(.deviceBirth, device: SP.device, SP.deviceBirth())
        return host
    }
}

/// The NCMD topic of a rebirth request to `edge`.
func rebirthTopic(_ edge: String = SP.edge) -> String { "spBv1.0/\(SP.group)/NCMD/\(edge)" }
