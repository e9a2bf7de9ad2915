import MeltWatchCore
import MeltWatchDecode

/// The topics, decoder and clock every decode test shares.
enum Fixture {
    static let signalTopic = "plants/p1/furnace1/inlet_flow"
    static let equipmentTopic = "plants/p1/furnace1"
    static let signal = SignalID(7)
    static let roles: [String: SignalID] = [
        "inlet_flow": SignalID(1), "outlet_flow": SignalID(2), "furnace_operating": SignalID(3), "温度": SignalID(4),
    ]
    /// 2025-11-23T08:00:00.123Z, the contract's example time.
    static let ts: Int64 = 1_763_884_800_123
    /// The receiver's clock: one second after `ts`.
    static let now = EventTime(milliseconds: ts + 1_000)
    /// Already in the output before each decode: a reject must leave it (and nothing else) there.
    static let sentinel = Reading(signal: SignalID(999), value: .number(-1), quality: .bad, time: EventTime(milliseconds: 1))

    static let table: TopicTable = {
        var t = TopicTable()
        do {
            try t.addSignal(topic: signalTopic, signal: signal)
            try t.addEquipment(topic: equipmentTopic, roles: roles)
        } catch {
            fatalError("fixture topic table: \(error)")
        }
        return t
    }()

    static let decoder = PayloadDecoder(topics: table)
}

/// What one decode produced: its result and the whole output array afterwards.
struct Decoded {
    var result: Result<DecodeOutcome, DecodeError>
    var out: [Reading]

    var outcome: DecodeOutcome? { if case .success(let o) = result { o } else { nil } }
    var error: DecodeError? { if case .failure(let e) = result { e } else { nil } }
    /// The readings this decode appended (after the sentinel).
    var appended: [Reading] { Array(out.dropFirst()) }
}

/// Decodes `payload` with an output that already holds ``Fixture/sentinel``.
func decode(
    _ payload: [UInt8], topic: String = Fixture.signalTopic, decoder: PayloadDecoder = Fixture.decoder,
    now: EventTime = Fixture.now
) -> Decoded {
    var out = [Fixture.sentinel]
    let result = payload.withUnsafeBytes { decoder.decode(topic: topic, payload: $0, now: now, into: &out) }
    return Decoded(result: result, out: out)
}

/// String convenience for ``decode(_:topic:decoder:now:)``.
func decode(
    _ payload: String, topic: String = Fixture.signalTopic, decoder: PayloadDecoder = Fixture.decoder,
    now: EventTime = Fixture.now
) -> Decoded {
    decode(Array(payload.utf8), topic: topic, decoder: decoder, now: now)
}

