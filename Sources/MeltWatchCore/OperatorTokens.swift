import Glibc

/// Who an operator token belongs to (contract §5, "Who may write").
public struct DutyOperator: Sendable, Equatable {
    /// What a token may do: every operator acknowledges, shelves and switches equipment out of
    /// service; only a manager may override (close a hazard without evidence from the data).
    public enum Role: String, Sendable, Equatable, CaseIterable {
        case `operator`, manager
    }

    /// The name every write with this token is recorded under.
    public var name: String
    public var role: Role

    public init(name: String, role: Role) {
        self.name = name
        self.role = role
    }
}

/// A `duty.tokens_file` that cannot be used, with the line at fault.
public struct OperatorTokensError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var line: Int?
    public var message: String

    public var description: String { line.map { "\(path):\($0): \(message)" } ?? "\(path): \(message)" }
}

/// The operator tokens of `duty.tokens_file`: one line per operator, `<token> <operator name>
/// [operator|manager]` (role `operator` when left out), `#` comments and blank lines ignored.
///
/// A token is a bearer secret, so: at least ``minimumTokenLength`` characters, no two operators with
/// the same token or the same name (a write must name exactly one person), and compared in constant
/// time — every configured token is compared in full on every request, so neither the position of
/// the first wrong byte nor which line matched shows in the answer's timing.
public struct OperatorTokens: Sendable {
    public static let minimumTokenLength = 16

    private var entries: [(token: [UInt8], who: DutyOperator)]

    /// The operators, in file order.
    public var operators: [DutyOperator] { entries.map(\.who) }

    /// Parses a tokens file's text; `path` names it in errors.
    public static func parse(_ text: String, path: String) throws(OperatorTokensError) -> OperatorTokens {
        var entries: [(token: [UInt8], who: DutyOperator)] = []
        var names: [String: Int] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = Self.trimmed(raw)
            if line.isEmpty || line.hasPrefix("#") { continue }
            var fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            let token = fields.removeFirst()
            guard token.utf8.count >= minimumTokenLength else {
                throw OperatorTokensError(path: path, line: number, message: "the token is \(token.utf8.count) characters; at least \(minimumTokenLength) (e.g. `openssl rand -hex 24`)")
            }
            guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw OperatorTokensError(path: path, line: number, message: "the token must be printable ASCII (it travels in an HTTP header)")
            }
            var role = DutyOperator.Role.operator
            if fields.count >= 2, let r = DutyOperator.Role(rawValue: fields.last!) {
                role = r
                fields.removeLast()
            }
            guard !fields.isEmpty, !(fields.count == 1 && DutyOperator.Role(rawValue: fields[0]) != nil) else {
                throw OperatorTokensError(path: path, line: number, message: "the operator's name is missing: `<token> <operator name> [operator|manager]`")
            }
            let name = fields.joined(separator: " ")
            guard name.count <= 200 else { throw OperatorTokensError(path: path, line: number, message: "the operator's name is longer than 200 characters") }
            if let first = names[name] {
                throw OperatorTokensError(path: path, line: number, message: "operator '\(name)' already has a token on line \(first); one token per operator")
            }
            if entries.contains(where: { $0.token == Array(token.utf8) }) {
                throw OperatorTokensError(path: path, line: number, message: "this token is already given to another operator")
            }
            names[name] = number
            entries.append((Array(token.utf8), DutyOperator(name: name, role: role)))
        }
        guard !entries.isEmpty else { throw OperatorTokensError(path: path, line: nil, message: "no operator token: add a line `<token> <operator name> [operator|manager]`") }
        return OperatorTokens(entries: entries)
    }

    /// Reads and parses a tokens file (at most 1 MiB).
    public static func load(_ path: String) throws(OperatorTokensError) -> OperatorTokens {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OperatorTokensError(path: path, line: nil, message: "cannot be read (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw OperatorTokensError(path: path, line: nil, message: "cannot be read (\(String(cString: strerror(errno))))")
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
            guard bytes.count <= 1 << 20 else { throw OperatorTokensError(path: path, line: nil, message: "is larger than 1 MiB") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw OperatorTokensError(path: path, line: nil, message: "is not UTF-8") }
        return try parse(text, path: path)
    }

    private static func trimmed(_ s: Substring) -> Substring {
        var t = s.drop { $0.isWhitespace }
        while let last = t.last, last.isWhitespace { t = t.dropLast() }
        return t
    }

    /// The operator holding `presented`, nil for no such token. Constant time in the token: every
    /// entry is compared over its full length whatever matched.
    public func authenticate(_ presented: some StringProtocol) -> DutyOperator? {
        let bytes = Array(presented.utf8)
        var found: DutyOperator?
        for entry in entries where Self.constantTimeEqual(entry.token, bytes) { found = entry.who }
        return found
    }

    /// Equal contents, in time that depends only on the lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt(bitPattern: a.count ^ b.count)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= UInt(x ^ y)
        }
        return difference == 0
    }
}

