import MeltWatchCore
import Testing

@testable import MeltWatchDecode

/// A per-signal payload and the one reading it must produce.
struct SignalCase: Sendable, CustomTestStringConvertible {
    var payload: String
    var value: Value
    var quality: Quality = .good
    var time: Int64 = Fixture.ts
    var sequence: Int64?
    var testDescription: String { payload }
}

@Suite("Per-signal payloads that are accepted")
struct SignalPayloadTests {
    static let cases: [SignalCase] = [
        // The contract's example.
        SignalCase(payload: #"{"ts": 1763884800123, "v": 12.5, "q": "good", "seq": 42}"#, value: .number(12.5), sequence: 42),
        SignalCase(payload: #"{"ts":1763884800123,"v":true}"#, value: .bool(true)),
        SignalCase(payload: #"{"v":false,"ts":1763884800123}"#, value: .bool(false)),
        SignalCase(payload: #"{"ts":0,"v":1}"#, value: .number(1), time: 0),
        SignalCase(payload: #"{"ts":1763884800123,"v":-3,"q":"uncertain"}"#, value: .number(-3), quality: .uncertain),
        SignalCase(payload: #"{"ts":1763884800123,"v":0.5,"q":"bad","seq":0}"#, value: .number(0.5), quality: .bad, sequence: 0),
        SignalCase(payload: #"{"ts":1763884800123,"v":1,"seq":9223372036854775807}"#, value: .number(1), sequence: .max),
        // RFC 3339: Z, offsets, fractions (truncated to milliseconds), lower-case separators.
        SignalCase(payload: #"{"ts":"2025-11-23T08:00:00Z","v":1}"#, value: .number(1), time: 1_763_884_800_000),
        SignalCase(payload: #"{"ts":"2025-11-23T16:00:00+08:00","v":1}"#, value: .number(1), time: 1_763_884_800_000),
        SignalCase(payload: #"{"ts":"2025-11-23T03:30:00-04:30","v":1}"#, value: .number(1), time: 1_763_884_800_000),
        SignalCase(payload: #"{"ts":"2025-11-23T08:00:00.123Z","v":1}"#, value: .number(1), time: 1_763_884_800_123),
        SignalCase(payload: #"{"ts":"2025-11-23T16:00:00.5+08:00","v":1}"#, value: .number(1), time: 1_763_884_800_500),
        SignalCase(payload: #"{"ts":"2025-11-23T08:00:00.123456789Z","v":1}"#, value: .number(1), time: 1_763_884_800_123),
        SignalCase(payload: #"{"ts":"2025-11-23t08:00:00z","v":1}"#, value: .number(1), time: 1_763_884_800_000),
        SignalCase(payload: #"{"ts":"2024-02-29T12:30:15Z","v":1}"#, value: .number(1), time: 1_709_209_815_000),
        // Escapes decode before comparison, in keys and in values.
        SignalCase(payload: #"{"\u0074s":1763884800123,"\u0076":2,"q":"b\u0061d"}"#, value: .number(2), quality: .bad),
        SignalCase(payload: #"{"ts":"2025-11-23T08:00:00\u005A","v":1}"#, value: .number(1), time: 1_763_884_800_000),
        // Number forms.
        SignalCase(payload: #"{"ts":1763884800123,"v":1e2}"#, value: .number(100)),
        SignalCase(payload: #"{"ts":1763884800123,"v":1.5E-3}"#, value: .number(0.0015)),
        SignalCase(payload: #"{"ts":1763884800123,"v":-0.25e+1}"#, value: .number(-2.5)),
        SignalCase(payload: #"{"ts":1763884800123,"v":0}"#, value: .number(0)),
        SignalCase(payload: #"{"ts":1763884800123,"v":1e-999}"#, value: .number(0)),  // underflow is finite
        SignalCase(payload: #"{"ts":1763884800123,"v":1.7976931348623157e308}"#, value: .number(.greatestFiniteMagnitude)),
        // Other fields are ignored, however nested, but still validated.
        SignalCase(
            payload: #"{"ts":1763884800123,"unit":"m³/h","meta":{"a":[1,2,{"b":null}],"c":"x","d":[]},"v":7,"ok":true,"e":{}}"#,
            value: .number(7)
        ),
        SignalCase(payload: #"{"ts":1763884800123,"v":7,"note":"\ud83d\ude00 \u00e9 é \"q\" \\ \/ \b\f\n\r\t"}"#, value: .number(7)),
        // `values` means nothing on a per-signal topic: ignored like any other field.
        SignalCase(payload: #"{"ts":1763884800123,"v":7,"values":{"x":"not a number"}}"#, value: .number(7)),
        // Whitespace wherever JSON allows it.
        SignalCase(payload: " \n\t{ \"ts\" :\r\n1763884800123 , \"v\"\t: 8 }\n ", value: .number(8)),
        // Exactly at the future-skew limit is still accepted.
        SignalCase(payload: #"{"ts":1763885101123,"v":1}"#, value: .number(1), time: 1_763_885_101_123),
    ]

    @Test("decodes to exactly one reading", arguments: cases)
    func decodesOneReading(_ c: SignalCase) throws {
        let d = decode(c.payload)
        let outcome = try #require(d.outcome, "rejected: \(String(describing: d.error))")
        #expect(outcome == DecodeOutcome(readings: 1, unknownRoles: 0))
        #expect(d.out.first == Fixture.sentinel)
        #expect(d.appended == [
            Reading(signal: Fixture.signal, value: c.value, quality: c.quality, time: EventTime(milliseconds: c.time), sequence: c.sequence)
        ])
    }

    @Test("negative zero keeps its sign")
    func negativeZero() throws {
        let d = decode(#"{"ts":1763884800123,"v":-0.0}"#)
        let value = try #require(d.appended.first?.value)
        guard case .number(let x) = value else { Issue.record("not a number: \(value)"); return }
        #expect(x == 0 && x.sign == .minus)
    }

    @Test("forty distinct extra keys are not mistaken for duplicates")
    func manyExtraKeys() {
        let extra = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let d = decode("{\"ts\":1763884800123,\(extra),\"v\":1}")
        #expect(d.outcome == DecodeOutcome(readings: 1))
    }

    @Test("the raw-bytes topic entry point routes like the String one")
    func topicBytes() {
        var out: [Reading] = []
        let payload = Array(#"{"ts":1763884800123,"v":3}"#.utf8)
        let topic = Array(Fixture.signalTopic.utf8)
        let result = topic.withUnsafeBytes { t in
            payload.withUnsafeBytes { Fixture.decoder.decode(topicBytes: t, payload: $0, now: Fixture.now, into: &out) }
        }
        #expect(result == .success(DecodeOutcome(readings: 1)))
        #expect(out.map(\.signal) == [Fixture.signal])
    }

    @Test("payload exactly at the size limit is parsed, one byte over is not")
    func sizeLimit() {
        let payload = #"{"ts":1763884800123,"v":3}"#
        let exact = PayloadDecoder(topics: Fixture.table, maxPayloadBytes: payload.utf8.count)
        #expect(decode(payload, decoder: exact).outcome == DecodeOutcome(readings: 1))
        let tight = PayloadDecoder(topics: Fixture.table, maxPayloadBytes: payload.utf8.count - 1)
        #expect(decode(payload, decoder: tight).error?.reason == .oversize)
    }
}

@Suite("Per-equipment batches that are accepted")
struct BatchPayloadTests {
    @Test("the contract's batch, in document order, with message-wide q and seq",
          arguments: [
              #"{"ts":1763884800123,"values":{"inlet_flow":120.4,"outlet_flow":119.9,"furnace_operating":true},"q":"uncertain","seq":9}"#,
              #"{"q":"uncertain","seq":9,"values":{"inlet_flow":120.4,"outlet_flow":119.9,"furnace_operating":true},"ts":1763884800123}"#,
              #"{"seq":9,"ts":"2025-11-23T16:00:00.123+08:00","q":"uncertain","values":{"inlet_flow":120.4,"outlet_flow":119.9,"furnace_operating":true}}"#,
          ])
    func contractBatch(_ payload: String) throws {
        let d = decode(payload, topic: Fixture.equipmentTopic)
        let outcome = try #require(d.outcome, "rejected: \(String(describing: d.error))")
        #expect(outcome == DecodeOutcome(readings: 3, unknownRoles: 0))
        let t = EventTime(milliseconds: Fixture.ts)
        #expect(d.out == [
            Fixture.sentinel,
            Reading(signal: SignalID(1), value: .number(120.4), quality: .uncertain, time: t, sequence: 9),
            Reading(signal: SignalID(2), value: .number(119.9), quality: .uncertain, time: t, sequence: 9),
            Reading(signal: SignalID(3), value: .bool(true), quality: .uncertain, time: t, sequence: 9),
        ])
    }

    @Test("unknown roles are dropped and counted; known ones are kept")
    func unknownRoles() throws {
        let d = decode(#"{"ts":1763884800123,"values":{"mystery":1,"inlet_flow":2,"other":false}}"#,
                       topic: Fixture.equipmentTopic)
        #expect(d.outcome == DecodeOutcome(readings: 1, unknownRoles: 2))
        #expect(d.appended.map(\.signal) == [SignalID(1)])
        #expect(d.appended.first?.value == .number(2))
    }

    @Test("a batch of only unknown roles is accepted with no readings")
    func onlyUnknownRoles() {
        let d = decode(#"{"ts":1763884800123,"values":{"mystery":1}}"#, topic: Fixture.equipmentTopic)
        #expect(d.outcome == DecodeOutcome(readings: 0, unknownRoles: 1))
        #expect(d.out == [Fixture.sentinel])
    }

    @Test("non-ASCII and escaped role names match byte for byte after unescaping",
          arguments: [#""温度""#, #""\u6e29\u5ea6""#, #""\u6e29度""#])
    func unicodeRole(_ key: String) {
        let d = decode("{\"ts\":1763884800123,\"values\":{\(key):1450}}", topic: Fixture.equipmentTopic)
        #expect(d.outcome == DecodeOutcome(readings: 1))
        #expect(d.appended.map(\.signal) == [SignalID(4)])
    }

    @Test("`v` means nothing on an equipment topic and is ignored")
    func vIgnoredOnEquipment() {
        let d = decode(#"{"ts":1763884800123,"v":"text","values":{"inlet_flow":1}}"#, topic: Fixture.equipmentTopic)
        #expect(d.outcome == DecodeOutcome(readings: 1))
    }

    @Test("equipment with more than 64 roles: every role decodes, a repeated high role is a duplicate")
    func manyRoles() throws {
        var table = TopicTable()
        try table.addEquipment(
            topic: "big", roles: Dictionary(uniqueKeysWithValues: (0..<100).map { ("r\($0)", SignalID(Int32($0))) })
        )
        let decoder = PayloadDecoder(topics: table)
        let all = (0..<100).map { "\"r\($0)\":\($0)" }.joined(separator: ",")
        let d = decode("{\"ts\":1763884800123,\"values\":{\(all)}}", topic: "big", decoder: decoder)
        #expect(d.outcome == DecodeOutcome(readings: 100))
        #expect(Set(d.appended.map(\.signal.rawValue)) == Set(0..<100))
        #expect(d.appended.allSatisfy { $0.value == .number(Double($0.signal.rawValue)) })
        let dup = decode(#"{"ts":1763884800123,"values":{"r70":1,"r6":2,"r70":3}}"#, topic: "big", decoder: decoder)
        #expect(dup.error?.reason == .duplicateKey)
        #expect(dup.out == [Fixture.sentinel])
    }
}
