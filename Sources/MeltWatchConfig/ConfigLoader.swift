import Foundation
import MeltWatchCore
import MeltWatchRules
import Yams

/// One problem in a config file, printed as `FILE:LINE:COL: message`.
public struct ConfigDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    /// `FILE:LINE:COL: message` on one line: line breaks and other control characters in the file
    /// name or in the message (which quotes values from the file) are escaped, so `meltwatch check`
    /// prints exactly one line per problem (found by fuzz-config).
    public var description: String { "\(Self.escaped(file)):\(line):\(column): \(Self.escaped(message))" }

    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        for u in text.unicodeScalars {
            switch u {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case _ where needsEscape(u): out += "\\u{\(String(u.value, radix: 16, uppercase: true))}"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// C0 controls but tab, DEL, and the Unicode line and paragraph separators (NEL, LS, PS).
    private static func needsEscape(_ u: Unicode.Scalar) -> Bool {
        (u.value < 0x20 && u != "\t") || u.value == 0x7F || u.value == 0x85 || u.value == 0x2028 || u.value == 0x2029
    }
}

/// Every problem found in a config file; thrown when there is at least one.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Reads, validates and types a config file.
public enum ConfigLoader {
    /// Loads a config file; throws ``ConfigError`` listing every problem, one per line.
    public static func load(path: String) throws(ConfigError) -> (config: MeltWatchConfig, bytes: [UInt8]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(diagnostics: [ConfigDiagnostic(file: path, line: 1, column: 1, message: "cannot read the config file")])
        }
        let bytes = [UInt8](data)
        let baseDirectory = (path as NSString).deletingLastPathComponent
        let config = try parse(bytes: bytes, file: path, baseDirectory: baseDirectory.isEmpty ? "." : baseDirectory)
        return (config, bytes)
    }

    /// Validates config text; `baseDirectory` resolves relative file paths.
    ///
    /// Yams composes (and Swift later destroys) the YAML tree recursively, a few KiB of stack per
    /// level of nesting: 3,000 `{` overflowed the stack (found by fuzz-config). So the parse runs on
    /// a thread whose stack fits the deepest tree the text can hold — every level needs a `[`, `{`,
    /// `-`, `?` or `:` of its own. Brackets nested absurdly deep are refused before libyaml reads
    /// them: its time grows with the square of that depth (10,000 levels took 4 s).
    public static func parse(bytes: [UInt8], file: String, baseDirectory: String) throws(ConfigError) -> MeltWatchConfig {
        let nesting = Nesting(bytes)
        if let at = nesting.tooDeep {
            throw ConfigError(diagnostics: [ConfigDiagnostic(
                file: file, line: at.line, column: at.column,
                message: "brackets nested more than \(Nesting.maxFlowDepth) levels deep"
            )])
        }
        guard nesting.levels <= Nesting.maxLevels else {
            throw ConfigError(diagnostics: [ConfigDiagnostic(
                file: file, line: 1, column: 1,
                message: "the config has \(nesting.levels) of '[', '{', '-', '?' and ':'; at most \(Nesting.maxLevels) are read"
            )])
        }
        let stackBytes = max(16 << 20, nesting.levels * Nesting.stackBytesPerLevel)
        return try DeepStack.run(stackBytes: stackBytes) { () throws(ConfigError) -> MeltWatchConfig in
            try parseOnThisThread(bytes: bytes, file: file, baseDirectory: baseDirectory)
        }
    }

    private static func parseOnThisThread(bytes: [UInt8], file: String, baseDirectory: String) throws(ConfigError) -> MeltWatchConfig {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(diagnostics: [ConfigDiagnostic(file: file, line: 1, column: 1, message: "the config is not valid UTF-8")])
        }
        var v = Validator(file: file, baseDirectory: baseDirectory)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            throw ConfigError(diagnostics: [v.yamlDiagnostic(e)])
        } catch {
            throw ConfigError(diagnostics: [ConfigDiagnostic(file: file, line: 1, column: 1, message: Validator.oneLine("\(error)"))])
        }
        guard let root else {
            throw ConfigError(diagnostics: [ConfigDiagnostic(file: file, line: 1, column: 1, message: "the config is empty")])
        }
        let config = v.config(root)
        if !v.diagnostics.isEmpty || config == nil {
            throw ConfigError(diagnostics: v.diagnostics.sorted { ($0.line, $0.column) < ($1.line, $1.column) })
        }
        return config!
    }
}

/// Walks the YAML node tree, collecting every diagnostic rather than stopping at the first.
struct Validator {
    let file: String
    let baseDirectory: String
    var diagnostics: [ConfigDiagnostic] = []

    init(file: String, baseDirectory: String) {
        self.file = file
        self.baseDirectory = baseDirectory
    }

    mutating func error(_ node: Node?, _ message: String) {
        let mark = node?.mark
        diagnostics.append(ConfigDiagnostic(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, message: message))
    }

    func yamlDiagnostic(_ e: YamlError) -> ConfigDiagnostic {
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return ConfigDiagnostic(file: file, line: mark.line, column: mark.column, message: "YAML syntax: \(problem)")
        case .reader(let problem, let offset, let value, let yaml):
            // Characters YAML does not allow in a file (control characters, bad UTF-8). Yams gives
            // a Character offset and a multi-line description; the contract wants FILE:LINE:COL and
            // one line (found by fuzz-config).
            let (line, column) = offset.map { Self.position(ofCharacter: $0, in: yaml) } ?? (1, 1)
            let code = value >= 0 ? " (character 0x\(String(value, radix: 16, uppercase: true)))" : ""
            return ConfigDiagnostic(file: file, line: line, column: column, message: "YAML syntax: \(problem)\(code)")
        default:
            return ConfigDiagnostic(file: file, line: 1, column: 1, message: "YAML: \(Self.oneLine("\(e)"))")
        }
    }

    /// Line and column (1-based; the column in Unicode scalars, as libyaml counts) of the
    /// `offset`-th Character of `text`.
    static func position(ofCharacter offset: Int, in text: String) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for c in text.prefix(offset) {
            if c.isNewline {
                line += 1
                column = 1
            } else {
                column += c.unicodeScalars.count
            }
        }
        return (line, column)
    }

    /// `text` with its line breaks as spaces: a diagnostic is one line of `meltwatch check`'s output.
    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }

    // MARK: Typed accessors

    /// The pairs of a mapping, reporting unknown and duplicate keys against `allowed`.
    mutating func mapping(_ node: Node, at path: String, allowed: [String]) -> [String: Node]? {
        guard case .mapping(let m) = node else {
            error(node, "\(path) must be a mapping with keys \(allowed.joined(separator: ", "))")
            return nil
        }
        var out: [String: Node] = [:]
        for (k, value) in m {
            guard let key = k.scalar?.string else {
                error(k, "\(path): keys must be plain words")
                continue
            }
            if out[key] != nil {
                error(k, "\(path).\(key) is given twice")
                continue
            }
            if !allowed.contains(key) {
                error(k, "\(path).\(key) is not a known key; allowed: \(allowed.joined(separator: ", "))")
                continue
            }
            out[key] = value
        }
        return out
    }

    mutating func string(_ node: Node?, at path: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let s) = node, node.null == nil || s.style != .plain else {
            error(node, "\(path) must be a text value")
            return nil
        }
        return s.string
    }

    mutating func requiredString(_ map: [String: Node], _ key: String, at path: String, parent: Node) -> String? {
        guard let n = map[key] else {
            error(parent, "\(path).\(key) is required")
            return nil
        }
        return string(n, at: "\(path).\(key)")
    }

    mutating func number(_ node: Node, at path: String, unit: String, minimum: Double, maximum: Double = .infinity) -> Double? {
        guard case .scalar(let s) = node, s.style == .plain, let d = node.float ?? node.int.map(Double.init), d.isFinite else {
            error(node, "\(path) must be a number in \(unit)")
            return nil
        }
        guard d >= minimum, d <= maximum else {
            let range = maximum.isFinite ? "between \(plain(minimum)) and \(plain(maximum))" : "at least \(plain(minimum))"
            error(node, "\(path) is \(s.string) \(unit); it must be \(range) \(unit)")
            return nil
        }
        return d
    }

    mutating func integer(_ node: Node?, at path: String, default def: Int, range: ClosedRange<Int>, unit: String = "") -> Int {
        guard let node else { return def }
        guard case .scalar(let s) = node, s.style == .plain, let i = node.int else {
            error(node, "\(path) must be a whole number\(unit.isEmpty ? "" : " in \(unit)")")
            return def
        }
        guard range.contains(i) else {
            error(node, "\(path) is \(i); allowed: \(range.lowerBound)…\(range.upperBound)\(unit.isEmpty ? "" : " \(unit)")")
            return def
        }
        return i
    }

    /// A path to a file that must be readable now; relative paths are taken from the config's folder.
    mutating func readableFile(_ node: Node?, at path: String) -> String? {
        guard let raw = string(node, at: path) else { return nil }
        let resolved = raw.hasPrefix("/") ? raw : baseDirectory + "/" + raw
        if !FileManager.default.isReadableFile(atPath: resolved) {
            error(node, "\(path): cannot read \(resolved)")
        }
        return resolved
    }

    /// A number as people write it: `0`, `2.5`.
    func plain(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }

    static func isIdentifier(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }

    /// A setpoint name: `[a-z0-9_-]+` (role names use `_`, and a setpoint sits beside them).
    static func isSetpointName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F }
    }

    /// An MQTT topic we can subscribe to literally: no wildcards, no empty levels at the ends, no NUL.
    static func isLiteralTopic(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 65_535 && !s.contains("+") && !s.contains("#") && !s.contains("\0")
            && !s.hasPrefix("$")
    }
}
