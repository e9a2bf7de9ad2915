import Foundation
import Testing

@testable import MeltWatchConfig

/// The inputs fuzz-config (Fuzz/, issue 8) found mishandled, kept so the fixes stay fixed.
@Suite("Config: inputs found by fuzzing")
struct ConfigFuzzRegressionTests {
    private func diagnostics(_ bytes: [UInt8]) -> [String] {
        do {
            _ = try ConfigLoader.parse(bytes: bytes, file: "test.yaml", baseDirectory: "/nonexistent")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test("a control character is a YAML error at its line and column, on one line")
    func controlCharacter() {
        let text = "broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment:\n      - id: e\n"
            + "        template: aluminium.dc-casting\n        params: {level_low: \u{7F}200}\n"
        #expect(diagnostics(Array(text.utf8)) == ["test.yaml:7:29: YAML syntax: control characters are not allowed (character 0x7F)"])
    }

    @Test("a value with a line break is quoted on the diagnostic's one line")
    func valueWithLineBreak() {
        let text = "broker:\n  url: \"http://h\\nplants: []\\r\"\n  client_id: a\nplants: []\n"
        #expect(diagnostics(Array(text.utf8)) == [#"test.yaml:2:8: broker.url 'http://h\nplants: []\r' is not mqtt://host:port or mqtts://host:port"#])
    }

    @Test("brackets nested thousands deep are refused at the bracket, before libyaml reads them")
    func deepBrackets() {
        // 2,878 of these overflowed the stack in Yams' recursive composer.
        let text = "broker: " + String(repeating: "{", count: 3_000)
        #expect(diagnostics(Array(text.utf8)) == ["test.yaml:1:1009: brackets nested more than 1000 levels deep"])
    }

    @Test("block nesting thousands deep is parsed on a stack that fits it")
    func deepBlockNesting() {
        let text = String(repeating: "- ", count: 20_000) + "x\n"
        let d = diagnostics(Array(text.utf8))
        #expect(d.count == 1 && d[0].hasPrefix("test.yaml:1:1: "), "got: \(d)")
    }

    @Test("line and column of a character offset count line breaks as YAML does")
    func characterPosition() {
        #expect(Validator.position(ofCharacter: 0, in: "abc") == (1, 1))
        #expect(Validator.position(ofCharacter: 4, in: "ab\r\ncd") == (2, 2))   // CR LF is one Character
        #expect(Validator.position(ofCharacter: 3, in: "é\u{2028}xy") == (2, 2))
        #expect(Validator.position(ofCharacter: 1, in: "e\u{301}\u{301}x") == (1, 4))  // columns in scalars
    }

    /// Every input in Fuzz/regressions/fuzz-config gives a config or located, one-line diagnostics.
    @Test("every committed fuzz-config regression input is handled")
    func committedInputs() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("Fuzz/regressions/fuzz-config")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(!names.isEmpty)
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
            // Line breaks as YAML counts them (LF, CR LF, lone CR, NEL, LS, PS), plus a last line and one past the end.
            let text = String(decoding: bytes, as: UTF8.self)
            let lines = text.filter(\.isNewline).count + 2
            for d in diagnostics(bytes) {
                let parts = d.split(separator: ":", maxSplits: 3)
                #expect(parts.count == 4 && parts[0] == "test.yaml", "\(name): \(d)")
                let line = parts.count == 4 ? Int(parts[1]) ?? 0 : 0
                #expect(line >= 1 && line <= lines, "\(name): line \(line) of \(lines - 2): \(d)")
                #expect((Int(parts[2]) ?? 0) >= 1, "\(name): \(d)")
                let oneLine = !d.contains { $0.isNewline }
                #expect(oneLine, "\(name): \(d)")
            }
        }
    }
}
