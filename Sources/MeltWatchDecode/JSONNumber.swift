/// A validated JSON number: its place in the payload plus a decimal decomposition for the fast paths.
struct NumberToken {
    var start: Int
    var end: Int
    var negative: Bool
    /// No fraction and no exponent.
    var isInteger: Bool
    /// The first (up to 19) significant decimal digits.
    var mantissa: UInt64
    /// More significant digits than `mantissa` holds: only the stdlib path is exact.
    var truncated: Bool
    /// The value is `mantissa × 10^exponent` when not truncated.
    var exponent: Int
}

/// 10^0 … 10^22: every one is exactly representable as a double, which is what makes the fast path exact.
private let powersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]

extension JSONCursor {
    /// Scans `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` at `index`.
    ///
    /// Works on a local index (the hot loop of the decoder: every `ts`, `v` and batch value).
    mutating func scanNumber() throws(DecodeError) -> NumberToken {
        let start = index
        let n = bytes.count
        var i = index
        @inline(__always) func digit(_ at: Int) -> UInt8 { at < n ? bytes[at] &- 0x30 : 0xFF }
        var negative = false
        if i < n && bytes[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var truncated = false
        var exponent = 0
        let first = digit(i)
        if first == 0 {
            i += 1
            if digit(i) < 10 { throw malformed("number with a leading zero", at: start) }
        } else if first < 10 {
            while true {
                let d = digit(i)
                guard d < 10 else { break }
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    digits += 1
                } else {
                    truncated = true
                    exponent += 1
                }
                i += 1
            }
        } else {
            index = i
            throw unexpected("a digit after '-'")
        }
        var isInteger = true
        if i < n && bytes[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            guard digit(i) < 10 else {
                index = i
                throw unexpected("a digit after '.'")
            }
            while true {
                let d = digit(i)
                guard d < 10 else { break }
                if mantissa == 0 && d == 0 {
                    exponent -= 1  // leading zeros of 0.00123 are not significant digits
                } else if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    digits += 1
                    exponent -= 1
                } else if d != 0 {
                    truncated = true
                }
                i += 1
            }
        }
        if i < n && bytes[i] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            i += 1
            var exponentNegative = false
            if i < n && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) {
                exponentNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            guard digit(i) < 10 else {
                index = i
                throw unexpected("a digit in the exponent")
            }
            var written = 0
            while true {
                let d = digit(i)
                guard d < 10 else { break }
                // Saturate: 1e100000 is already infinite; the stdlib path gets the exact text anyway.
                if written < 100_000 { written = written * 10 + Int(d) }
                i += 1
            }
            exponent += exponentNegative ? -written : written
        }
        index = i
        return NumberToken(
            start: start, end: i, negative: negative, isInteger: isInteger,
            mantissa: mantissa, truncated: truncated, exponent: exponent
        )
    }

    /// The number as the nearest double (correctly rounded), possibly ±infinity on overflow.
    ///
    /// Fast path (Clinger): a mantissa ≤ 2^53 and a power of ten ≤ 10^22 are both exact doubles, so
    /// one IEEE multiplication or division rounds correctly. Everything else goes to the stdlib
    /// parser, which is correctly rounded; numbers of ≤ 15 bytes fit in a small String, so even
    /// that path does not allocate for typical sensor values.
    func doubleValue(_ t: NumberToken) -> Double? {
        if !t.truncated && t.mantissa <= 1 << 53 {
            var d = Double(t.mantissa)
            if t.mantissa == 0 || t.exponent == 0 {
                // exact already (0 × 10^anything is 0)
            } else if t.exponent < 0 && t.exponent >= -22 {
                d /= powersOfTen[-t.exponent]
            } else if t.exponent > 0 && t.exponent <= 22 {
                d *= powersOfTen[t.exponent]
            } else {
                return Double(String(decoding: slice(t.start, t.end), as: UTF8.self))
            }
            return t.negative ? -d : d
        }
        return Double(String(decoding: slice(t.start, t.end), as: UTF8.self))
    }

    /// The number as a non-negative Int64 when it is written as a plain integer in range, else nil.
    func nonNegativeInteger(_ t: NumberToken) -> Int64? {
        guard t.isInteger, !t.negative, !t.truncated, t.exponent == 0, t.mantissa <= UInt64(Int64.max) else {
            return nil
        }
        return Int64(t.mantissa)
    }
}
