import MeltWatchCore
import Testing

@testable import MeltWatchDecode

/// Valid messages the mutations start from, with the topic they are valid on.
private let seeds: [(topic: String, payload: [UInt8])] = [
    (Fixture.signalTopic, Array(#"{"ts": 1763884800123, "v": 12.5, "q": "good", "seq": 42}"#.utf8)),
    (Fixture.signalTopic, Array(#"{"ts":"2025-11-23T16:00:00.5+08:00","v":true,"meta":{"a":[1,-2.5e3,null,"\u00e9\ud83d\ude00"]}}"#.utf8)),
    (Fixture.equipmentTopic, Array(#"{"ts":1763884800123,"values":{"inlet_flow":120.4,"outlet_flow":119.9,"furnace_operating":true,"温度":1450,"x":0},"q":"bad","seq":7}"#.utf8)),
]

/// The properties every decode must have, whatever the input: no crash (the test process survives),
/// atomicity, agreement between the outcome and the output, and only sane readings.
private func checkInvariants(_ payload: [UInt8], topic: String) -> Result<DecodeOutcome, DecodeError> {
    let d = decode(payload, topic: topic)
    switch d.result {
    case .success(let outcome):
        #expect(d.out.first == Fixture.sentinel)
        #expect(d.appended.count == outcome.readings)
        for r in d.appended {
            if case .number(let x) = r.value { #expect(x.isFinite) }
            #expect(r.time.milliseconds >= 0)
            #expect(r.time.milliseconds <= Fixture.now.milliseconds + Fixture.decoder.maxFutureSkewMilliseconds)
        }
    case .failure(let error):
        #expect(d.out == [Fixture.sentinel])
        #expect(!error.detail.isEmpty)
    }
    // Decoding is a pure function of its inputs.
    #expect(decode(payload, topic: topic).result == d.result)
    return d.result
}

@Suite("Mutated payloads never crash the decoder")
struct FuzzTests {
    @Test("the seeds themselves are accepted")
    func seedsAreValid() {
        for seed in seeds {
            #expect(checkInvariants(seed.payload, topic: seed.topic).isSuccess)
        }
    }

    @Test("every truncation of a valid message is malformed JSON")
    func truncations() {
        for seed in seeds {
            for length in 0..<seed.payload.count {
                let result = checkInvariants(Array(seed.payload.prefix(length)), topic: seed.topic)
                #expect(result.reason == .malformedJSON, "prefix of \(length) bytes: \(result)")
            }
        }
    }

    @Test("random byte edits are either accepted or rejected, never a crash")
    func mutations() {
        var rng = SplitMix64(seed: 0x4D57_4445_434F_4445)
        // Bytes that steer the parser into interesting places more often than uniform noise would.
        let interesting = Array("{}[]\",:\\-+.eE0123456789tfnNaIu \n".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC3, 0xE2, 0xED, 0xF0, 0xF4, 0xFF]
        var accepted = 0
        var reasons: Set<RejectReason> = []
        for round in 0..<6_000 {
            let seed = seeds[round % seeds.count]
            var bytes = seed.payload
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<max(bytes.count, 1), using: &rng)
                let byte = Bool.random(using: &rng) ? interesting.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0 where !bytes.isEmpty: bytes[at] ^= 1 << UInt8.random(in: 0...7, using: &rng)
                case 1 where !bytes.isEmpty: bytes[at] = byte
                case 2: bytes.insert(byte, at: min(at, bytes.count))
                case 3 where !bytes.isEmpty: bytes.remove(at: at)
                default:  // duplicate a slice: repeats keys, nests containers, doubles values
                    let end = min(bytes.count, at + Int.random(in: 1...12, using: &rng))
                    bytes.insert(contentsOf: bytes[at..<end], at: end)
                }
            }
            switch checkInvariants(bytes, topic: seed.topic) {
            case .success: accepted += 1
            case .failure(let e): reasons.insert(e.reason)
            }
        }
        // The mutations must actually exercise both sides and several reject paths, or the test proves nothing.
        #expect(accepted > 100)
        #expect(reasons.isSuperset(of: [.malformedJSON, .wrongType, .duplicateKey, .badTimestamp]))
    }

    @Test("random noise is rejected without crashing")
    func noise() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(!checkInvariants([UInt8(ascii: "{")] + bytes, topic: Fixture.signalTopic).isSuccess)
        }
    }
}

extension Result where Success == DecodeOutcome, Failure == DecodeError {
    var isSuccess: Bool { if case .success = self { true } else { false } }
    var reason: RejectReason? { if case .failure(let e) = self { e.reason } else { nil } }
}
