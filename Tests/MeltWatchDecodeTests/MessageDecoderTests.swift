import MeltWatchCore
import Testing

@testable import MeltWatchDecode

@Suite("Topic filters and the message decoder's routing (contract §3, plants[].gateways)")
struct MessageDecoderTests {
    @Test("filters match as a broker matches them", arguments: [
        ("a/#", "a", true), ("a/#", "a/b/c", true), ("a/#", "b", false), ("#", "a/b", true), ("#", "$SYS/x", false),
        ("a/+", "a/b", true), ("a/+", "a/", true), ("a/+", "a", false), ("a/+", "a/b/c", false), ("+/b", "$x/b", false),
        ("a/+/c", "a/b/c", true), ("a/+/c", "a/b/d", false), ("a/b", "a/b", true), ("a/b", "a/b/", false), ("a/b", "a/bc", false),
        ("spBv1.0/G/#", "spBv1.0/G/NDATA/E", true), ("spBv1.0/G/#", "spBv1.0/GG/NDATA/E", false),
    ])
    func matching(filter: String, topic: String, expected: Bool) throws {
        let f = try #require(TopicFilter(filter))
        #expect(f.matches(topic) == expected)
    }

    @Test("filters MQTT refuses are not filters", arguments: ["", "a/#/b", "a#", "a/b+", "$SYS/#", "a\u{0}b"])
    func invalid(filter: String) {
        #expect(TopicFilter(filter) == nil)
    }

    @Test("overlap: some topic matches both", arguments: [
        ("a/#", "a/+/c", true), ("a/#", "a", true), ("a/+", "a", false), ("a/b", "a/c", false), ("+/b", "a/+", true),
        ("a/b/c", "a/b", false), ("x/#", "y/#", false), ("#", "q", true),
    ])
    func overlap(a: String, b: String, expected: Bool) throws {
        let fa = try #require(TopicFilter(a)), fb = try #require(TopicFilter(b))
        #expect(fa.overlaps(fb) == expected)
        #expect(fb.overlaps(fa) == expected)
    }

    /// A format that records what it was given and answers with one reading per message.
    private final class Probe: GatewayFormat {
        let formatName = "probe"
        let maxPayloadBytes = 8
        var seen: [String] = []
        var state: [UInt8] = [1, 2, 3]

        func decode(topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, now: EventTime,
                    into out: inout [Reading], effects: inout GatewayEffects) -> Result<DecodeOutcome, DecodeError> {
            seen.append(String(decoding: topic, as: UTF8.self))
            out.append(Reading(signal: SignalID(42), value: .number(Double(payload.count)), time: now))
            if payload.first == UInt8(ascii: "x") { return .failure(DecodeError(reason: .wrongType, detail: "x")) }
            effects.losses.append(SignalLoss(signal: SignalID(42), time: now, cause: .deviceDeath))
            return .success(DecodeOutcome(readings: 1))
        }

        func encodeState() -> [UInt8]? { state }
        func restoreState(_ bytes: [UInt8]) throws(DecodeError) { state = bytes }
    }

    private func decoder(_ probe: Probe) throws -> MessageDecoder {
        var topics = TopicTable()
        try topics.addSignal(topic: "plants/p/co/co_ppm", signal: SignalID(1))
        return MessageDecoder(native: PayloadDecoder(topics: topics), routes: [.init(filter: try #require(TopicFilter("gw/#")), format: probe)])
    }

    @Test("own topics first, then the format whose filter matches; unknown topics rejected; a rejected message adds nothing")
    func routing() throws {
        let probe = Probe()
        let d = try decoder(probe)
        let now = EventTime(milliseconds: 1_763_884_801_000)
        var out: [Reading] = [], effects = GatewayEffects()
        let native = Array(#"{"ts":1763884800000,"v":7}"#.utf8)
        let r1 = native.withUnsafeBytes { d.decode(topic: "plants/p/co/co_ppm", payload: $0, now: now, into: &out, effects: &effects) }
        #expect(try r1.get().readings == 1 && out.map(\.signal) == [SignalID(1)] && probe.seen.isEmpty)
        let r2 = Array("abc".utf8).withUnsafeBytes { d.decode(topic: "gw/a/b", payload: $0, now: now, into: &out, effects: &effects) }
        #expect(try r2.get().readings == 1 && out.map(\.signal) == [SignalID(1), SignalID(42)] && probe.seen == ["gw/a/b"])
        #expect(effects.losses == [SignalLoss(signal: SignalID(42), time: now, cause: .deviceDeath)])
        let r3 = Array("xyz".utf8).withUnsafeBytes { d.decode(topic: "gw/c", payload: $0, now: now, into: &out, effects: &effects) }
        #expect(r3.failureReason == .wrongType && out.count == 2)
        let r4 = Array("123456789".utf8).withUnsafeBytes { d.decode(topic: "gw/c", payload: $0, now: now, into: &out, effects: &effects) }
        #expect(r4.failureReason == .oversize && probe.seen.count == 2)
        let r5 = native.withUnsafeBytes { d.decode(topic: "other/topic", payload: $0, now: now, into: &out, effects: &effects) }
        #expect(r5.failureReason == .unknownTopic && out.count == 2)
    }

    @Test("state: encoded per format and filter, restored into a decoder of the same gateway, ignored by others")
    func state() throws {
        let a = Probe()
        let from = try decoder(a)
        a.state = [9, 8, 7, 6]
        let b = Probe()
        try decoder(b).adoptState(from: from)
        #expect(b.state == [9, 8, 7, 6])
        let c = Probe()
        let elsewhere = MessageDecoder(native: PayloadDecoder(topics: TopicTable()), routes: [.init(filter: try #require(TopicFilter("other/#")), format: c)])
        try elsewhere.adoptState(from: from)
        #expect(c.state == [1, 2, 3])
        let truncated = try #require(from.encodeState()).dropLast()
        #expect(throws: DecodeError.self) { try from.restoreState(bytes: Array(truncated)) }
    }
}

extension Result where Failure == DecodeError {
    fileprivate var failureReason: RejectReason? {
        if case .failure(let e) = self { return e.reason }
        return nil
    }
}
