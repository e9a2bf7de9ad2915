/// A JSON string's place in the payload; its content is only copied when it has escapes.
struct StringToken {
    /// Offset of the opening quote (what error messages point at).
    var quote: Int
    /// Content between the quotes, still escaped when `escaped`.
    var start: Int
    var end: Int
    /// The content has backslash escapes and must be unescaped before it is compared.
    var escaped: Bool
}

/// Strings: validation (escapes, UTF-8, control characters) and unescaping.
///
/// Split from the cursor because string rules are the bulk of RFC 8259's strictness.
extension JSONCursor {
    /// Scans a string whose opening quote is at `index`: escapes, UTF-8 and control characters are validated.
    mutating func scanString() throws(DecodeError) -> StringToken {
        let quote = index
        let start = index + 1
        // Fast path: plain printable ASCII up to the closing quote, the shape of nearly every key.
        var i = start
        let n = bytes.count
        // Eight bytes at a time while none of them is a quote, a backslash, a control character or
        // non-ASCII (the loop below re-checks the word that has one, byte by byte): keys and role
        // names are 8-30 bytes, and scanning them was 5 % of replay's time byte by byte.
        if let base = bytes.baseAddress {
            while i &+ 8 <= n {
                let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if swarSpecial(w) { break }
                i &+= 8
            }
        }
        while i < n {
            let b = bytes[i]
            guard b &- 0x20 < 0x60, b != 0x22, b != 0x5C else { break }
            i &+= 1
        }
        if i < n && bytes[i] == 0x22 {
            index = i + 1
            return StringToken(quote: quote, start: start, end: i, escaped: false)
        }
        index = i
        var escaped = false
        while index < bytes.count {
            let b = bytes[index]
            if b == 0x22 {
                let token = StringToken(quote: quote, start: start, end: index, escaped: escaped)
                index += 1
                return token
            }
            if b == 0x5C {
                escaped = true
                try scanEscape()
            } else if b < 0x20 {
                throw malformed("unescaped control character \(describeByte(bytes, at: index)) in a string")
            } else if b < 0x80 {
                index += 1
            } else {
                try scanMultibyte(lead: b)
            }
        }
        throw malformed("unterminated string", at: quote)
    }

    /// Validates one escape at `index` (the backslash). Lone surrogates are rejected: they cannot
    /// be turned into UTF-8, and a strict decoder must not guess.
    private mutating func scanEscape() throws(DecodeError) {
        let at = index
        switch peek(at: at + 1) {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 2
        case UInt8(ascii: "u"):
            guard let unit = hex4(at: at + 2) else { throw malformed("\\u must be followed by 4 hex digits", at: at) }
            index += 6
            if unit >= 0xD800 && unit <= 0xDBFF {
                guard peek(at: index) == 0x5C, peek(at: index + 1) == UInt8(ascii: "u"),
                      let low = hex4(at: index + 2), low >= 0xDC00 && low <= 0xDFFF
                else { throw malformed("high surrogate escape without a low surrogate", at: at) }
                index += 6
            } else if unit >= 0xDC00 && unit <= 0xDFFF {
                throw malformed("low surrogate escape without a high surrogate", at: at)
            }
        default:
            throw malformed("invalid escape \\\(describeByte(bytes, at: at + 1))", at: at)
        }
    }

    private func hex4(at offset: Int) -> UInt32? {
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = peek(at: offset + k)
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// Validates one multi-byte UTF-8 sequence (Unicode Table 3-7: no overlongs, no surrogates, ≤ U+10FFFF).
    private mutating func scanMultibyte(lead: UInt8) throws(DecodeError) {
        let at = index
        var length = 2
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw malformed("invalid UTF-8 lead \(describeByte(bytes, at: at)) in a string")
        }
        let second = peek(at: at + 1)
        var valid = second >= low && second <= high
        var k = 2
        while valid && k < length {
            valid = peek(at: at + k) & 0xC0 == 0x80
            k += 1
        }
        guard valid else { throw malformed("invalid UTF-8 sequence in a string", at: at) }
        index += length
    }

    /// Appends a validated string's content to `out` with escapes resolved (as UTF-8).
    func unescape(_ token: StringToken, into out: inout [UInt8]) {
        var i = token.start
        while i < token.end {
            let b = bytes[i]
            guard b == 0x5C else {
                out.append(b)
                i += 1
                continue
            }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(at: i) ?? 0xFFFD
                i += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    let low = hex4(at: i + 2) ?? 0xDC00
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                appendUTF8(scalar, to: &out)
            default: out.append(e)  // '"', '\\', '/'
            }
        }
    }

    /// A string's content, quoted and escaped for a log message.
    func quoted(_ token: StringToken) -> String {
        guard token.escaped else { return quotedForLog(slice(token.start, token.end)) }
        var content: [UInt8] = []
        unescape(token, into: &content)
        return content.withUnsafeBytes { quotedForLog($0) }
    }

    private func appendUTF8(_ s: UInt32, to out: inout [UInt8]) {
        switch s {
        case ..<0x80:
            out.append(UInt8(s))
        case ..<0x800:
            out.append(UInt8(0xC0 | s >> 6)); out.append(UInt8(0x80 | s & 0x3F))
        case ..<0x10000:
            out.append(UInt8(0xE0 | s >> 12)); out.append(UInt8(0x80 | s >> 6 & 0x3F))
            out.append(UInt8(0x80 | s & 0x3F))
        default:
            out.append(UInt8(0xF0 | s >> 18)); out.append(UInt8(0x80 | s >> 12 & 0x3F))
            out.append(UInt8(0x80 | s >> 6 & 0x3F)); out.append(UInt8(0x80 | s & 0x3F))
        }
    }
}

/// True when some byte of `w` is `"`, `\\`, below 0x20 or above 0x7F (exact: never false when
/// one is; the caller re-reads such a word byte by byte anyway).
@inline(__always)
func swarSpecial(_ w: UInt64) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    @inline(__always) func hasZero(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }
    let quote = hasZero(w ^ (ones &* 0x22))
    let backslash = hasZero(w ^ (ones &* 0x5C))
    let control = (w &- ones &* 0x20) & ~w & highs  // some byte < 0x20 (exact for limits <= 0x80)
    return (quote | backslash | control | (w & highs)) != 0
}
