#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MeltWatchCore
import MeltWatchDecode
import Testing

@testable import MeltWatchSparkplug

/// The hand-written wire reader against swift-protobuf, the decoder it replaced on the host's
/// path: same verdict, same values of every field the host reads, on every payload.
@Suite("Sparkplug wire reader: differential against swift-protobuf")
struct SparkplugWireReaderTests {
    /// A deterministic generator (SplitMix64): a failure names its seed and replays.
    struct Rng: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func varint(_ v: UInt64) -> [UInt8] { SparkplugRobustnessTests.varint(v) }
    static func field(_ n: UInt64, _ wireType: UInt64) -> [UInt8] { varint(n << 3 | wireType) }
    static func len(_ n: UInt64, _ body: [UInt8]) -> [UInt8] { field(n, 2) + varint(UInt64(body.count)) + body }
    static func metric(_ body: [UInt8]) -> [UInt8] { len(2, body) }

    /// Payloads the other tests send, and hand-made ones at the edges of the wire rules.
    static var corpus: [[UInt8]] {
        var out: [[UInt8]] = [
            [], SP.nodeBirth(), SP.deviceBirth(), SP.nodeBirth(bdSeq: .max),
            SP.data(seq: 2, [SP.byAlias(10, .number(1.5)), SP.byAlias(12, .bool(true)), SP.byAlias(11, nil)]),
            SP.wire(seq: 3, [
                SP.wireMetric(alias: 10, datatype: .int8, .intValue(0xFFFF_FFFB)),
                SP.wireMetric(name: "x", alias: 11, datatype: .uint64, .longValue(.max)),
                SP.wireMetric(name: "ünï", .stringValue("wert ✓")), SP.wireMetric(.bytesValue(Data([0, 0xFF]))),
                SP.wireMetric(alias: 1, .floatValue(.nan)), SP.wireMetric(alias: 1, .doubleValue(-.infinity), isNull: true),
            ]),
            SparkplugPayloads.nodeDeath(bdSeq: 3), SparkplugPayloads.rebirthRequest(timestamp: SP.t0),
        ]
        var properties = SparkplugBPayload.PropertySet()
        properties.keys = ["Quality"]
        var quality = SparkplugBPayload.PropertyValue()
        quality.type = 3
        quality.intValue = 192
        properties.values = [quality]
        var withProperties = SP.wireMetric(alias: 10, .floatValue(1))
        withProperties.properties = properties
        var template = SparkplugBPayload.Template()
        template.metrics = [SP.wireMetric(name: "leaf", .doubleValue(1))]
        out.append(SP.wire(seq: 4, [withProperties, SP.wireMetric(name: "t", datatype: .template, .templateValue(template))]))
        let value = field(10, 0) + [0x05]
        out += [
            metric(value + value + field(11, 0) + [0x07]), // oneof: the last wins
            metric(field(2, 0) + [1] + field(2, 0) + [2]) + field(3, 0) + [1] + field(3, 0) + [9], // last scalar wins
            metric(field(2, 0) + Array(repeating: 0xFF, count: 9) + [0x01]), // 10-byte varint
            metric(field(2, 0) + Array(repeating: 0xFF, count: 9) + [0x7F]), // 10th byte's high bits dropped
            metric(field(2, 0) + Array(repeating: 0xFF, count: 10) + [0x01]), // 11 bytes
            metric([0x90, 0x80, 0x00, 0x05]), // alias in a three-byte tag
            metric([0x91, 0x80, 0x80, 0x80, 0x0F] + Array(repeating: 0, count: 8)), // five-byte tag, fifth 15
            metric([0x91, 0x80, 0x80, 0x80, 0x10] + Array(repeating: 0, count: 8)), // fifth over 15
            metric(field(1, 0) + [1]), metric(field(12, 0) + [1]), metric(field(13, 5) + [0, 0, 0, 0]), // wrong wire types
            field(3, 1) + Array(repeating: 0, count: 8), field(2, 0) + [1], // the payload's
            metric(len(1, [0xC3, 0x28])), metric(len(15, [0xED, 0xA0, 0x80])), len(4, [0xFF]), len(4, [0x41]), // UTF-8
            metric(len(1, [0x65, 0xCC, 0x81])), len(5, [0xFF, 0xFE]), // decomposed é; body bytes
            field(6, 0) + [1] + len(7, [1, 2]) + field(8, 5) + [1, 2, 3, 4] + field(9, 1) + Array(repeating: 0, count: 8), // extensions
            metric(field(20, 0) + [1] + len(21, [])), metric(len(8, []) + len(9, []) + len(17, [])), metric(len(9, [0x08])),
            [0], [0x07], [0x0C], [0x08], [0x0A, 0x05, 0x00], [0x12, 0x02, 0x10], field(0, 0) + [1],
        ]
        // Groups: balanced and not, at every depth around the library's budget, in the payload and a metric.
        for depth in [1, 2, 13, 14, 15, 16, 17] {
            let open = Array([[UInt8]](repeating: field(100, 3), count: depth).joined())
            let close = Array([[UInt8]](repeating: field(100, 4), count: depth).joined())
            out += [open + field(1, 0) + [1] + close, metric(open + close) + field(3, 0) + [1], open, open + field(101, 4)]
        }
        out += [field(100, 3) + field(101, 3) + field(101, 4) + field(100, 4), field(100, 3) + field(101, 4), field(100, 4)]
        out += [field(100, 3) + [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x08] + field(100, 4)] // a ten-byte inner tag
        return out
    }

    /// A payload as an edge node might send it: random names (some non-ASCII), aliases, types,
    /// values, timestamps, nulls.
    static func randomPayload(_ rng: inout Rng) -> [UInt8] {
        let names = ["a", "Supply Voltage", "inlet_flow", "température", "bdSeq", "Node Control/Rebirth", "x/y/z", ""]
        let types = SparkplugDataType.allCases
        let metrics = (0..<Int.random(in: 0...24, using: &rng)).map { _ -> SparkplugMetric in
            let type = types.randomElement(using: &rng)!
            let value: Value? = switch Int.random(in: 0..<6, using: &rng) {
            case 0: nil
            case 1: .bool(Bool.random(using: &rng))
            case 2: .number(Double(Int64.random(in: -300...300, using: &rng)))
            default: .number(Double(bitPattern: rng.next()))
            }
            return SparkplugMetric(
                name: Bool.random(using: &rng) ? names.randomElement(using: &rng) : nil,
                alias: Bool.random(using: &rng) ? UInt64.random(in: 0...1 << UInt64.random(in: 1...63, using: &rng), using: &rng) : nil,
                datatype: type, value: value, text: Bool.random(using: &rng) ? "t€xt" : nil,
                timestamp: Bool.random(using: &rng) ? EventTime(milliseconds: Int64.random(in: 0...Int64.max, using: &rng)) : nil,
                isHistorical: Bool.random(using: &rng), sendsDatatype: Bool.random(using: &rng)
            )
        }
        let time = EventTime(milliseconds: Int64.random(in: 0...Int64.max, using: &rng))
        return SparkplugPayloads.payload(timestamp: Bool.random(using: &rng) ? time : nil, seq: Bool.random(using: &rng) ? rng.next() % 300 : nil, metrics: metrics)
    }

    /// One random edit: flip a byte, cut the tail, insert bytes, delete a run, or splice a tag.
    static func mutate(_ bytes: [UInt8], _ rng: inout Rng) -> [UInt8] {
        var b = bytes
        let interesting: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x0A, 0x12, 0x1B, 0x1C, 0x63, 0x64, 0xC3, 0xED]
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let at = b.isEmpty ? 0 : Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !b.isEmpty: b[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
            case 1 where !b.isEmpty: b[at] = interesting.randomElement(using: &rng)!
            case 2: b.removeSubrange(at...)
            case 3: b.insert(contentsOf: (0..<Int.random(in: 1...4, using: &rng)).map { _ in interesting.randomElement(using: &rng)! }, at: at)
            case 4 where !b.isEmpty: b.removeSubrange(at..<min(b.count, at + Int.random(in: 1...8, using: &rng)))
            default: b.insert(contentsOf: field(UInt64.random(in: 1...25, using: &rng), UInt64.random(in: 0...5, using: &rng)), at: at)
            }
        }
        return b
    }

    static func expectAgreement(_ bytes: [UInt8], _ what: @autoclosure () -> String) {
        let d = bytes.withUnsafeBytes { SparkplugWireCheck.disagreement($0) }
        #expect(d == nil, "\(what()): \(d ?? "") on \(bytes.map { String($0, radix: 16) })")
    }

    @Test("the corpus and its every truncation: the same verdict and values as swift-protobuf")
    func corpusAndTruncations() {
        for (i, bytes) in Self.corpus.enumerated() {
            for n in 0...bytes.count { Self.expectAgreement(Array(bytes[..<n]), "corpus #\(i) cut at \(n)") }
        }
    }

    @Test("per seed: the corpus, 500 random payloads and 30 mutations of each: the same verdict and values", arguments: [1, 2, 3, 4] as [UInt64])
    func randomized(seed: UInt64) {
        var rng = Rng(state: seed)
        var accepted = 0
        var rejected = 0
        let seeds = Self.corpus + (0..<500).map { _ in Self.randomPayload(&rng) }
        for (i, base) in seeds.enumerated() {
            Self.expectAgreement(base, "seed \(seed) payload #\(i)")
            for k in 0..<30 {
                let mutated = Self.mutate(base, &rng)
                Self.expectAgreement(mutated, "seed \(seed) payload #\(i) mutation \(k)")
                if mutated.withUnsafeBytes({ SparkplugWireCheck.accepts($0) }) { accepted += 1 } else { rejected += 1 }
            }
        }
        // Both verdicts well exercised, or the test proves little.
        #expect(accepted > 1000 && rejected > 1000, "accepted \(accepted), rejected \(rejected)")
    }

    @Test("the topic's byte path agrees with the String path", arguments: [
        "spBv1.0/Baotou/DDATA/EON-1/BOF1", "spBv1.0/Baotou/NDATA/EON-1", "spBv1.0/Baotou/NDATA/EON-1/BOF1",
        "spBv1.0/Baotou/DDATA/EON-1", "spBv1.0/Baotou/DDATA/EON-1/", "spBv1.0/Baotou/NDATA/", "spBv1.0/STATE/host",
        "spBv1.0/Other/NDATA/E", "spBv1.0/Baotou/XDATA/E", "spBv1.0/Baotou/NDATA/E/D/X", "spAv1.0/Baotou/NDATA/E",
        "spBv1.0/Baotou", "spBv1.0/Baotou/NDATA/E\u{301}", "spBv1.0/Baotou/NDATA//\u{301}E", "spBv1.0/Baotou/DCMD/E/D",
    ])
    func topics(_ topic: String) {
        let bytes = Array(topic.utf8)
        bytes.withUnsafeBytes { b in
            let fast = SparkplugTopic.parse(b, group: SP.group)
            let slow = SparkplugTopic.parseText(b, group: SP.group)
            switch (fast, slow) {
            case (.success(let a), .success(let c)): #expect(a == c)
            case (.failure(let a), .failure(let c)): #expect(a.reason == c.reason && a.detail == c.detail)
            default: Issue.record("\(topic): \(fast) ≠ \(slow)")
            }
        }
    }
}
