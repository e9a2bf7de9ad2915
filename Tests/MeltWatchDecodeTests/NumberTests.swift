import MeltWatchCore
import Testing

@testable import MeltWatchDecode

/// The value `"v"` decodes to, or nil when the message is rejected.
private func decodedNumber(_ literal: String) -> Double? {
    let d = decode("{\"ts\":1763884800123,\"v\":\(literal)}")
    guard case .number(let x)? = d.appended.first?.value else { return nil }
    return x
}

@Suite("Number conversion is correctly rounded")
struct NumberTests {
    /// Literals around the fast path's edges: 2^53, 10^22, subnormals, 19+ digits, halfway cases.
    static let edges = [
        "0", "-0", "1", "-1", "0.1", "0.2", "0.3", "1.1", "123.456", "120.4", "119.9", "3.14159265358979",
        "9007199254740992", "9007199254740993", "9007199254740994", "9007199254740995",
        "18446744073709551615", "18446744073709551616", "1234567890123456789", "12345678901234567890",
        "1e22", "1e23", "1e-22", "1e-23", "9007199254740993e22", "4503599627370497e-22",
        "2.2250738585072014e-308", "2.2250738585072011e-308", "4.9e-324", "5e-324", "2e-324",
        "1.7976931348623157e308", "1.7976931348623158e308", "0.000001", "1e-7", "123456789e-30",
        "0.30000000000000004", "2.225073858507201136057409796709131975934819546351645648e-308",
        "0.0000000000000000000000000000000000001", "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124", "7.1e-10", "1E+2", "1e0", "1e-0",
        "100000000000000000000000000000000000000000000000000", "0.00000000000000000000000000000000000000e5",
    ]

    @Test("edge literals decode bit-identically to the stdlib parser", arguments: edges)
    func edge(_ literal: String) throws {
        let expected = try #require(Double(literal))
        let got = try #require(decodedNumber(literal), "rejected \(literal)")
        #expect(got.bitPattern == expected.bitPattern, "\(literal): \(got) vs \(expected)")
    }

    @Test("random literals decode bit-identically to the stdlib parser")
    func random() throws {
        var rng = SplitMix64(seed: 0x6D65_6C74)
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            let literal = Self.randomLiteral(&rng)
            guard let expected = Double(literal), expected.isFinite else { continue }
            guard let got = decodedNumber(literal) else { mismatches.append("\(literal): rejected"); continue }
            if got.bitPattern != expected.bitPattern { mismatches.append("\(literal): \(got) vs \(expected)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    /// A JSON number with 1–25 significant digits, an optional fraction and an optional exponent.
    static func randomLiteral(_ rng: inout SplitMix64) -> String {
        var s = Bool.random(using: &rng) ? "-" : ""
        let intDigits = Int.random(in: 1...20, using: &rng)
        s += String(Int.random(in: 1...9, using: &rng))
        for _ in 1..<intDigits { s += String(Int.random(in: 0...9, using: &rng)) }
        if Bool.random(using: &rng) {
            s += "."
            for _ in 0..<Int.random(in: 1...12, using: &rng) { s += String(Int.random(in: 0...9, using: &rng)) }
        }
        if Int.random(in: 0..<3, using: &rng) == 0 {
            s += ["e", "E", "e-", "e+"][Int.random(in: 0..<4, using: &rng)]
            s += String(Int.random(in: 0...40, using: &rng))
        }
        return s
    }

    @Test("round-tripping the shortest representation of random doubles gives the same bits")
    func roundTrip() {
        var rng = SplitMix64(seed: 42)
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            let x = Double(bitPattern: rng.next())
            guard x.isFinite else { continue }
            let literal = x.description  // e.g. 1.2345e-300, valid JSON for finite doubles
            if decodedNumber(literal)?.bitPattern != x.bitPattern { mismatches.append(literal) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }
}
