/// A minimal, allocation-light JSON writer for the few documents MeltWatch emits.
///
/// Output is deterministic (no dictionary ordering) and always valid JSON: non-finite numbers are
/// written as `null`, strings are escaped per RFC 8259.
public struct JSONWriter: Sendable {
    /// The document written so far.
    public private(set) var output = ""
    private var needsComma = false

    /// Creates an empty writer.
    public init() { output.reserveCapacity(512) }

    public mutating func beginObject() { separator(); output += "{"; needsComma = false }
    public mutating func endObject() { output += "}"; needsComma = true }
    public mutating func beginArray() { separator(); output += "["; needsComma = false }
    public mutating func endArray() { output += "]"; needsComma = true }

    /// Writes an object key; the next value call writes its value.
    public mutating func key(_ k: String) {
        separator()
        appendEscaped(k)
        output += ":"
        needsComma = false
    }

    public mutating func string(_ s: String?) {
        separator()
        if let s { appendEscaped(s) } else { output += "null" }
        needsComma = true
    }

    public mutating func number(_ d: Double?) {
        separator()
        if let d, d.isFinite { output += Self.format(d) } else { output += "null" }
        needsComma = true
    }

    public mutating func integer(_ i: Int64?) {
        separator()
        if let i { output += String(i) } else { output += "null" }
        needsComma = true
    }

    public mutating func bool(_ b: Bool?) {
        separator()
        if let b { output += b ? "true" : "false" } else { output += "null" }
        needsComma = true
    }

    /// Shortest round-tripping decimal; integral values keep one decimal (`3.0`) like the contract.
    public static func format(_ d: Double) -> String {
        if d == 0 { return "0.0" }
        return d.description  // Swift prints the shortest representation that round-trips
    }

    private mutating func separator() {
        if needsComma { output += "," }
    }

    private mutating func appendEscaped(_ s: String) {
        output += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                output.unicodeScalars.append(u)
            }
        }
        output += "\""
    }
}
