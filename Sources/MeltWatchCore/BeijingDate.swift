/// A calendar day in Beijing time (UTC+8, no daylight saving): the regulator's forms are cut at
/// Friday 24:00 Beijing time, hazard ids count per year there, and a rectification's 时限 is a day.
public struct BeijingDate: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    /// Beijing's offset from UTC.
    public static let offsetMilliseconds: Int64 = 8 * 3_600_000

    /// The day `time` falls on in Beijing.
    public init(_ time: EventTime) {
        let local = time.milliseconds + Self.offsetMilliseconds
        var days = local / 86_400_000
        if local % 86_400_000 < 0 { days -= 1 }
        let (y, m, d) = CivilDate.fromDays(days)
        (year, month, day) = (Int(y), Int(m), Int(d))
    }

    /// A valid calendar day; nil for 2026-02-30 and the like.
    public init?(year: Int, month: Int, day: Int) {
        guard (1970...9999).contains(year), (1...12).contains(month),
              day >= 1, day <= Int(CivilDate.daysInMonth(year: Int64(year), month: Int64(month))) else { return nil }
        (self.year, self.month, self.day) = (year, month, day)
    }

    /// Parses `YYYY-MM-DD`.
    public init?(parsing text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    private var dayNumber: Int64 { CivilDate.toDays(year: Int64(year), month: Int64(month), day: Int64(day)) }

    /// 00:00 of this day in Beijing.
    public var start: EventTime { EventTime(milliseconds: dayNumber * 86_400_000 - Self.offsetMilliseconds) }
    /// 24:00 of this day in Beijing (the next day's start): the end of a 时限 or of a weekly cut.
    public var end: EventTime { start.adding(milliseconds: 86_400_000) }

    /// The day `n` days later (earlier for negative `n`).
    public func adding(days n: Int) -> BeijingDate { BeijingDate(start.adding(milliseconds: Int64(n) * 86_400_000)) }

    /// Monday 1 … Sunday 7.
    public var isoWeekday: Int {
        let d = Int((dayNumber % 7 + 7) % 7)  // 1970-01-01 was a Thursday (day 0)
        return (d + 3) % 7 + 1
    }

    /// The ISO 8601 week (`2026-W49`): its year and number.
    public var isoWeek: (year: Int, week: Int) {
        let thursday = adding(days: 4 - isoWeekday)
        let jan1 = BeijingDate(year: thursday.year, month: 1, day: 1)!
        return (thursday.year, Int((thursday.dayNumber - jan1.dayNumber) / 7) + 1)
    }

    /// The Monday of ISO week `week` of `year`; nil when the year has no such week.
    public static func monday(isoYear year: Int, week: Int) -> BeijingDate? {
        guard let jan4 = BeijingDate(year: year, month: 1, day: 4), week >= 1 else { return nil }
        let monday = jan4.adding(days: 1 - jan4.isoWeekday + 7 * (week - 1))
        return monday.isoWeek == (year, week) ? monday : nil
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        func pad(_ v: Int, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// `2026年12月6日`.
    public var chinese: String { "\(year)年\(month)月\(day)日" }

    public static func < (a: BeijingDate, b: BeijingDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
}

extension EventTime {
    /// `2026-12-06 14:05` in Beijing time, for forms and messages a person reads.
    public var beijingMinute: String {
        let local = milliseconds + BeijingDate.offsetMilliseconds
        var rem = local % 86_400_000
        if rem < 0 { rem += 86_400_000 }
        let h = rem / 3_600_000, m = (rem / 60_000) % 60
        return "\(BeijingDate(self)) \(h < 10 ? "0" : "")\(h):\(m < 10 ? "0" : "")\(m)"
    }
}
