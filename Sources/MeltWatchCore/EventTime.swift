/// A point in time as milliseconds since the Unix epoch (UTC).
///
/// Event time is the only time rules see; it is a plain integer so that evaluation is exact and
/// replay gives identical results.
public struct EventTime: Hashable, Comparable, Sendable, BitwiseCopyable, CustomStringConvertible, Codable {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64

    /// Wraps epoch milliseconds.
    @inlinable public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// Time plus a duration in milliseconds.
    @inlinable public func adding(milliseconds delta: Int64) -> EventTime {
        EventTime(milliseconds: milliseconds &+ delta)
    }

    /// Milliseconds from `other` to `self`.
    @inlinable public func milliseconds(since other: EventTime) -> Int64 { milliseconds &- other.milliseconds }

    public static func < (lhs: EventTime, rhs: EventTime) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-23T08:00:02.000Z`.
    public var description: String { rfc3339 }
}

extension EventTime {
    /// RFC 3339 in UTC with exactly three fractional digits, e.g. `2026-11-23T08:00:02.000Z`.
    public var rfc3339: String {
        let ms = milliseconds
        var days = ms / 86_400_000
        var rem = ms % 86_400_000
        if rem < 0 { rem += 86_400_000; days -= 1 }
        let (y, m, d) = CivilDate.fromDays(days)
        let hour = rem / 3_600_000
        let minute = (rem / 60_000) % 60
        let second = (rem / 1000) % 60
        let milli = rem % 1000
        var s = ""
        s.reserveCapacity(24)
        s += pad(y, 4); s += "-"; s += pad(m, 2); s += "-"; s += pad(d, 2)
        s += "T"; s += pad(hour, 2); s += ":"; s += pad(minute, 2); s += ":"; s += pad(second, 2)
        s += "."; s += pad(milli, 3); s += "Z"
        return s
    }

    /// Parses RFC 3339 (`2026-11-23T08:00:00+08:00`, `…T00:00:00.5Z`) or plain epoch milliseconds.
    ///
    /// Returns nil for anything else; fractional seconds beyond milliseconds are truncated.
    public init?(parsing text: String) {
        let utf8 = Array(text.utf8)
        if let ms = utf8.withUnsafeBufferPointer({ EventTime.parseEpochMilliseconds($0) }) {
            self.init(milliseconds: ms)
            return
        }
        guard let t = utf8.withUnsafeBufferPointer({ EventTime.parseRFC3339(UnsafeRawBufferPointer($0)) }) else {
            return nil
        }
        self = t
    }

    private static func parseEpochMilliseconds(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 16 else { return nil }
        var v: Int64 = 0
        for b in bytes {
            guard b >= 0x30, b <= 0x39 else { return nil }
            v = v * 10 + Int64(b - 0x30)
        }
        return v
    }

    /// Parses an RFC 3339 date-time from raw bytes; the fast path used by the payload decoder.
    public static func parseRFC3339(_ b: UnsafeRawBufferPointer) -> EventTime? {
        // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
        guard b.count >= 20 else { return nil }
        @inline(__always) func digit(_ i: Int) -> Int64? {
            let c = b[i]
            return c >= 0x30 && c <= 0x39 ? Int64(c - 0x30) : nil
        }
        @inline(__always) func number(_ i: Int, _ n: Int) -> Int64? {
            var v: Int64 = 0
            for k in 0..<n {
                guard let d = digit(i + k) else { return nil }
                v = v * 10 + d
            }
            return v
        }
        guard let year = number(0, 4), b[4] == UInt8(ascii: "-"),
              let month = number(5, 2), b[7] == UInt8(ascii: "-"),
              let day = number(8, 2),
              b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
              let hour = number(11, 2), b[13] == UInt8(ascii: ":"),
              let minute = number(14, 2), b[16] == UInt8(ascii: ":"),
              let second = number(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= CivilDate.daysInMonth(year: year, month: month),
              hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var i = 19
        var millis: Int64 = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, let d = digit(i) {
                if digits < 3 { millis = millis * 10 + d }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        guard i < b.count else { return nil }
        var offsetMinutes: Int64 = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
            guard i + 6 == b.count, let oh = number(i + 1, 2), b[i + 3] == UInt8(ascii: ":"),
                  let om = number(i + 4, 2), oh <= 23, om <= 59
            else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
            i += 6
        default:
            return nil
        }
        guard i == b.count else { return nil }
        let days = CivilDate.toDays(year: year, month: month, day: day)
        let secs = min(second, 59) // a leap second counts as :59.999 would be a lie; clamp to :59
        let total = ((days * 24 + hour) * 60 + minute - offsetMinutes) * 60 + secs
        return EventTime(milliseconds: total * 1000 + millis)
    }

    private func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

/// Proleptic Gregorian calendar arithmetic (Howard Hinnant's days-from-civil algorithms).
enum CivilDate {
    static func toDays(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func fromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
