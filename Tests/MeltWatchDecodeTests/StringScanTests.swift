import MeltWatchCore
import Testing

@testable import MeltWatchDecode

/// The string scanner reads eight bytes at a time; these put every kind of special byte at every
/// position of a key (in the first word, the second, the tail) and expect the byte-wise verdict.
@Suite("String scanning: special bytes at every position of a key")
struct StringScanTests {
    static let role = Array("furnace_operating".utf8)  // 17 bytes: two whole words and a tail

    private func batch(key: [UInt8]) -> Decoded {
        decode(Array(#"{"ts":1763884800123,"values":{"inlet_flow":1,""#.utf8) + key + Array(#"":true}}"#.utf8),
               topic: Fixture.equipmentTopic)
    }

    @Test("an escaped character anywhere still names the role", arguments: 0..<17)
    func escaped(_ position: Int) {
        var key = Array(Self.role[0..<position])
        let hex = Array("0123456789abcdef".utf8), b = Self.role[position]
        key += Array(#"\u00"#.utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)]]
        key += Self.role[(position + 1)...]
        let d = batch(key: key)
        #expect(d.appended.map(\.signal) == [SignalID(1), SignalID(3)], "\(String(decoding: key, as: UTF8.self))")
    }

    @Test("a control character or invalid UTF-8 anywhere is malformed JSON; DEL and valid UTF-8 are a (unknown) key",
          arguments: 0..<18)
    func special(_ position: Int) {
        func with(_ bytes: [UInt8]) -> [UInt8] { Array(Self.role[0..<position]) + bytes + Self.role[position...] }
        for byte: UInt8 in [0x00, 0x01, 0x1F] {
            #expect(batch(key: with([byte])).error?.reason == .malformedJSON, "control \(byte) at \(position)")
        }
        for bytes: [UInt8] in [[0xFF], [0x80], [0xC3], [0xED, 0xA0, 0x80]] {
            #expect(batch(key: with(bytes)).error?.reason == .malformedJSON, "\(bytes) at \(position)")
        }
        for bytes: [UInt8] in [[0x7F], [0xC3, 0xA9], [0xE6, 0xB8, 0xA9], [0x20]] {
            let d = batch(key: with(bytes))
            #expect(d.outcome?.unknownRoles == 1 && d.appended.map(\.signal) == [SignalID(1)], "\(bytes) at \(position)")
        }
    }
}
