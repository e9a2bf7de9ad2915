import MeltWatchCore

/// Text formats of the report: China Standard Time and numbers, without Foundation.
///
/// Times are shown in China Standard Time (UTC+8, no daylight saving since 1991), the time the
/// duty room and the regulator read; the JSON and CSV carry the same strings as the HTML.
enum ReportFormat {
    /// UTC+8 in milliseconds.
    static let chinaOffsetMilliseconds: Int64 = 8 * 3_600_000

    /// `2026-11-23 16:00:02`: China Standard Time, to the second (milliseconds truncated, as a clock shows).
    static func chinaTime(_ t: EventTime) -> String {
        let (date, h, m, s) = civil(t)
        return "\(date) \(pad(h, 2)):\(pad(m, 2)):\(pad(s, 2))"
    }

    /// `16:00:02`, China Standard Time.
    static func chinaClock(_ t: EventTime) -> String {
        let (_, h, m, s) = civil(t)
        return "\(pad(h, 2)):\(pad(m, 2)):\(pad(s, 2))"
    }

    /// `16:00`, China Standard Time.
    static func chinaMinute(_ t: EventTime) -> String {
        let (_, h, m, _) = civil(t)
        return "\(pad(h, 2)):\(pad(m, 2))"
    }

    /// A time range in China Standard Time, the end's date left out when it is the start's.
    static func chinaRange(_ a: EventTime, _ b: EventTime) -> String {
        let (da, _, _, _) = civil(a)
        let (db, _, _, _) = civil(b)
        return da == db ? "\(chinaTime(a)) 至 \(chinaClock(b))" : "\(chinaTime(a)) 至 \(chinaTime(b))"
    }

    /// `YYYY-MM-DD`, hour, minute, second in UTC+8.
    private static func civil(_ t: EventTime) -> (String, Int64, Int64, Int64) {
        let local = t.milliseconds + chinaOffsetMilliseconds
        var days = local / 86_400_000
        var rem = local % 86_400_000
        if rem < 0 { rem += 86_400_000; days -= 1 }
        let (y, mo, d) = civilFromDays(days)
        let seconds = rem / 1000
        return ("\(pad(y, 4))-\(pad(mo, 2))-\(pad(d, 2))", seconds / 3600, (seconds / 60) % 60, seconds % 60)
    }

    /// Howard Hinnant's civil-from-days, as in MeltWatchCore's `EventTime.rfc3339` (internal there).
    private static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
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

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// A duration as `h:mm:ss` (hours unbounded), rounded down to the second.
    static func duration(milliseconds ms: Int64) -> String {
        let s = max(0, ms) / 1000
        return "\(s / 3600):\(pad((s / 60) % 60, 2)):\(pad(s % 60, 2))"
    }

    /// A number with exactly `decimals` digits after the point, rounded half away from zero.
    static func fixed(_ x: Double, decimals: Int) -> String {
        guard x.isFinite else { return "—" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(x) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9.0e15 else { return x.description }
        let r = Int64(scaled)
        let factor = Int64(scale)
        let sign = x < 0 && r != 0 ? "-" : ""
        guard decimals > 0 else { return sign + String(r) }
        return "\(sign)\(r / factor).\(pad(r % factor, decimals))"
    }

    /// A number with at most `maxDecimals` digits after the point and no trailing zeros (`3`, `4.1`, `82.5`).
    static func number(_ x: Double, maxDecimals: Int = 2) -> String {
        var s = fixed(x, decimals: maxDecimals)
        guard s.contains(".") else { return s }
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
}
