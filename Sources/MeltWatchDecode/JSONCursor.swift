/// What ``JSONCursor/scanValue(depth:)`` found; containers come back already skipped.
enum ScannedValue {
    case number(NumberToken)
    case string(StringToken)
    case bool(Bool)
    case null
    case object
    case array
    /// A `NaN`/`Infinity` spelling; already noted as a pending `non_finite` error.
    case nonFinite

    /// For messages: "a string", "null", …
    var name: String {
        switch self {
        case .number: "a number"
        case .string: "a string"
        case .bool: "a boolean"
        case .null: "null"
        case .object: "an object"
        case .array: "an array"
        case .nonFinite: "a non-finite literal"
        }
    }
}

/// Strict RFC 8259 scanning over one payload's bytes, without recursion and without allocation.
///
/// Syntax errors are thrown at once: nothing after them can be trusted. Content errors (JSON that
/// is valid but not what the contract allows) are `note`d and scanning goes on, so that a message
/// which is *also* malformed further on is counted as malformed: a truncated message must count
/// as `malformed_json` whatever field it happened to be cut in.
struct JSONCursor {
    let bytes: UnsafeRawBufferPointer
    var index = 0
    /// Deepest container nesting allowed; at most 64 (the skip stack is one `UInt64`).
    let maxDepth: Int
    /// The first content error met so far.
    var pending: DecodeError?

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = min(maxDepth, 64)
    }

    /// The current byte, or 0 at the end (0 is invalid everywhere in JSON, so it fails every check).
    @inline(__always) func peek() -> UInt8 { index < bytes.count ? bytes[index] : 0 }

    /// The byte at `offset`, or 0 past the end.
    @inline(__always) func peek(at offset: Int) -> UInt8 { offset < bytes.count ? bytes[offset] : 0 }

    @inline(__always) mutating func skipWhitespace() {
        while index < bytes.count {
            let b = bytes[index]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            index += 1
        }
    }

    /// Remembers a content error unless an earlier one is already pending.
    mutating func note(_ error: DecodeError) {
        if pending == nil { pending = error }
    }

    /// A `malformed_json` error at `offset` (default: here).
    func malformed(_ what: String, at offset: Int? = nil) -> DecodeError {
        DecodeError(reason: .malformedJSON, detail: "malformed JSON at byte \(offset ?? index): \(what)")
    }

    /// A `malformed_json` error naming what was expected and what is here.
    /// After an object member: consumes `,` (returns false: another member follows) or `}`
    /// (returns true: the object is closed); anything else is malformed.
    @inline(__always) mutating func endOfMember(_ context: String) throws(DecodeError) -> Bool {
        skipWhitespace()
        let b = peek()
        if b == UInt8(ascii: ",") {
            index += 1
            skipWhitespace()
            return false
        }
        if b == UInt8(ascii: "}") {
            index += 1
            return true
        }
        throw unexpected(context)
    }

    func unexpected(_ expected: String) -> DecodeError {
        malformed("expected \(expected), found \(describeByte(bytes, at: index))")
    }

    /// Consumes `byte` or throws.
    @inline(__always) mutating func consume(_ byte: UInt8, _ expected: @autoclosure () -> String) throws(DecodeError) {
        guard peek() == byte else { throw unexpected(expected()) }
        index += 1
    }

    /// The payload bytes `start..<end`.
    @inline(__always) func slice(_ start: Int, _ end: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }

    /// Raw text of a (validated, hence ASCII) token for messages, cut at `limit` bytes.
    func text(_ start: Int, _ end: Int, limit: Int = 40) -> String {
        let cut = min(end, start + limit)
        return String(decoding: slice(start, cut), as: UTF8.self) + (cut < end ? "…" : "")
    }

    /// Scans one value at `index`; objects and arrays are validated and skipped.
    ///
    /// `depth` is the nesting depth of the container holding the value (the top-level object is 1).
    @inline(__always) mutating func scanValue(depth: Int) throws(DecodeError) -> ScannedValue {
        let b = peek()
        switch b {
        case UInt8(ascii: "\""):
            return .string(try scanString())
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try scanNumber())
        case UInt8(ascii: "-"):
            if isLetter(peek(at: index + 1)) { break }  // `-Infinity`, `-nan`: classified below
            return .number(try scanNumber())
        case UInt8(ascii: "t"):
            if scanWord("true") { return .bool(true) }
        case UInt8(ascii: "f"):
            if scanWord("false") { return .bool(false) }
        case UInt8(ascii: "n"):
            if scanWord("null") { return .null }
        case UInt8(ascii: "{"):
            try skipContainer(depth: depth)
            return .object
        case UInt8(ascii: "["):
            try skipContainer(depth: depth)
            return .array
        default:
            break
        }
        let at = index
        if scanNonFiniteLiteral() {
            note(DecodeError(
                reason: .nonFinite,
                detail: "literal \(text(at, index)) at byte \(at): NaN and Infinity are not JSON numbers"
            ))
            return .nonFinite
        }
        throw unexpected("a JSON value")
    }

    /// Matches a literal word followed by a delimiter and advances past it.
    @inline(__always) private mutating func scanWord(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        for k in 0..<n where peek(at: index + k) != word.utf8Start[k] { return false }
        guard isDelimiter(peek(at: index + n)) else { return false }
        index += n
        return true
    }

    /// Recognises `NaN`/`Infinity`/`inf` spellings (any case, optional sign) so that they are
    /// counted as `non_finite` rather than generic syntax errors; gateways written in Python or C
    /// print exactly these. A word that merely starts like one (`Infinite`) stays malformed.
    private mutating func scanNonFiniteLiteral() -> Bool {
        var i = index
        let first = peek()
        if first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { i += 1 }
        for word: StaticString in ["infinity", "inf", "nan"] {
            let n = word.utf8CodeUnitCount
            var k = 0
            while k < n && peek(at: i + k) | 0x20 == word.utf8Start[k] { k += 1 }
            if k == n && isDelimiter(peek(at: i + n)) {
                index = i + n
                return true
            }
        }
        return false
    }

    @inline(__always) private func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }

    /// What may follow a value: whitespace, `,`, `}`, `]` or the end (0).
    @inline(__always) private func isDelimiter(_ b: UInt8) -> Bool {
        b == 0 || b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09
            || b == UInt8(ascii: ",") || b == UInt8(ascii: "}") || b == UInt8(ascii: "]")
    }

    /// Validates and skips the object or array at `index` iteratively: a hostile `[[[[…` costs a
    /// bounded loop and a `too_deep`, never stack. Bit k of `kinds` says whether level k is an object.
    private mutating func skipContainer(depth parentDepth: Int) throws(DecodeError) {
        var level = 0
        var kinds: UInt64 = 0
        var opening = true  // `index` is at `{` or `[`
        while true {
            if opening {
                guard parentDepth + level + 1 <= maxDepth else {
                    throw DecodeError(
                        reason: .tooDeep,
                        detail: "nesting deeper than \(maxDepth) levels at byte \(index)"
                    )
                }
                let isObject = bytes[index] == UInt8(ascii: "{")
                if isObject { kinds |= 1 << UInt64(level) } else { kinds &= ~(1 << UInt64(level)) }
                level += 1
                index += 1
                skipWhitespace()
                opening = false
                if peek() == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    index += 1
                    level -= 1
                } else if try beginElement(isObject: isObject, depth: parentDepth + level) {
                    opening = true
                    continue
                }
            }
            // A value (or a whole container) just ended at `level`.
            if level == 0 { return }
            skipWhitespace()
            let isObject = kinds & (1 << UInt64(level - 1)) != 0
            let b = peek()
            if b == UInt8(ascii: ",") {
                index += 1
                skipWhitespace()
                opening = try beginElement(isObject: isObject, depth: parentDepth + level)
            } else if b == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                index += 1
                level -= 1
            } else {
                throw unexpected(isObject ? "',' or '}' in an object" : "',' or ']' in an array")
            }
        }
    }

    /// Scans an element's key (in objects) and, unless it is a container, its value.
    /// Returns true when a container starts at `index` and the caller must open it.
    private mutating func beginElement(isObject: Bool, depth: Int) throws(DecodeError) -> Bool {
        if isObject {
            guard peek() == UInt8(ascii: "\"") else { throw unexpected("a string key") }
            _ = try scanString()
            skipWhitespace()
            try consume(UInt8(ascii: ":"), "':' after a key")
            skipWhitespace()
        }
        let b = peek()
        if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") { return true }
        _ = try scanValue(depth: depth)
        return false
    }
}
