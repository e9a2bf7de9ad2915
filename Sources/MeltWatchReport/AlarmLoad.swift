import MeltWatchCore

/// Duty-room alarm load (EEMUA 191 / ISA-18.2, domain.md "Alarm management").
///
/// An alarm is a `raised` event (any class). Only raises inside the period `[from, to)` count here.
/// The period is cut into fixed 10-minute windows starting at `from` (the last one shorter when the
/// period is not a multiple of 10 minutes); a window with more than 10 raises is a flood. EEMUA 191's
/// steady-state target is at most one alarm per 10 minutes per operator: met when the average over
/// the whole period (raises × 10 min / period length) is ≤ 1.
public struct AlarmLoad: Sendable, Equatable {
    /// 10 minutes.
    public static let windowMilliseconds: Int64 = 600_000
    /// More than this many raises in one window is a flood.
    public static let floodThreshold = 10
    /// EEMUA 191: at most this many alarms per 10 minutes in steady state.
    public static let eemuaTargetPerWindow = 1.0
    /// Chattering: this many raises of one rule on one equipment within ``chatterWindowMilliseconds``.
    public static let chatterThreshold = 3
    /// The chattering window, inclusive at both ends as in the engine's detector.
    public static let chatterWindowMilliseconds: Int64 = 60_000
    /// How many rules the top list keeps.
    public static let topCount = 10

    /// One 10-minute window.
    public struct Window: Sendable, Equatable {
        public var start: EventTime
        /// Exclusive.
        public var end: EventTime
        /// Raises in `[start, end)`.
        public var raised: Int
        /// More than ``AlarmLoad/floodThreshold`` raises.
        public var isFlood: Bool { raised > AlarmLoad.floodThreshold }
    }

    /// The windows of the period, in time order.
    public var windows: [Window]
    /// Raises in the period.
    public var totalRaised: Int
    /// The window with the most raises (the earliest of equals); nil when nothing was raised.
    public var peak: Window?
    /// Windows with more than 10 raises.
    public var floodWindows: Int
    /// Windows with more than one raise (above the EEMUA target).
    public var windowsAboveTarget: Int
    /// Raises per 10 minutes over the whole period.
    public var averagePerWindow: Double
    /// True when ``averagePerWindow`` ≤ 1.
    public var meetsEEMUATarget: Bool
    /// Chattering alarms, by equipment then rule.
    public var chattering: [ChatteringAlarm]
    /// The most frequent alarms, at most 10.
    public var topRules: [RuleCount]
}

/// A rule that chattered on one equipment: reported by the engine as `chattering`, or found here
/// with at least 3 raises within 60 s (the same inclusive window and episode rule as the engine).
public struct ChatteringAlarm: Sendable, Equatable {
    public var equipment: String
    /// The chattering rule (not `chattering` itself, unless the engine reported an episode whose
    /// rule could not be told from the period's raises).
    public var rule: String
    /// Raises of the rule in the period.
    public var raises: Int
    /// The most raises within any 60 s.
    public var maxRaisesPerMinute: Int
    /// Episodes found: an episode starts at the raise that makes 3 within 60 s and ends once 60 s
    /// pass without a raise.
    public var episodes: Int
    /// When the first episode started.
    public var firstChatterAt: EventTime?
    /// `chattering` alarms the engine raised for it.
    public var reportedAlarms: Int
}

/// How often one rule raised on one equipment.
public struct RuleCount: Sendable, Equatable {
    /// 1-based position: by raises, most first; equal counts by equipment, then rule, alphabetically.
    public var rank: Int
    public var equipment: String
    public var rule: String
    public var alarmClass: AlarmEvent.AlarmClass
    public var priority: AlarmEvent.Priority
    public var raises: Int
}

extension AlarmLoad {
    /// The load figures of `events` over `[from, to)`.
    public static func compute(_ events: [AlarmEvent], from: EventTime, to: EventTime) -> AlarmLoad {
        let raises = events.filter { $0.kind == .raised && $0.eventTime >= from && $0.eventTime < to }
        let span = max(0, to.milliseconds(since: from))
        let count = Int((span + windowMilliseconds - 1) / windowMilliseconds)
        var windows = (0..<count).map { i in
            let start = from.adding(milliseconds: Int64(i) * windowMilliseconds)
            return Window(start: start, end: min(to, start.adding(milliseconds: windowMilliseconds)), raised: 0)
        }
        for r in raises { windows[Int(r.eventTime.milliseconds(since: from) / windowMilliseconds)].raised += 1 }
        var peak: Window?
        for w in windows where w.raised > (peak?.raised ?? 0) { peak = w }
        let average = span > 0 ? Double(raises.count) * Double(windowMilliseconds) / Double(span) : 0
        return AlarmLoad(
            windows: windows, totalRaised: raises.count, peak: peak,
            floodWindows: windows.count { $0.isFlood },
            windowsAboveTarget: windows.count { Double($0.raised) > eemuaTargetPerWindow },
            averagePerWindow: average, meetsEEMUATarget: average <= eemuaTargetPerWindow,
            chattering: chatteringAlarms(raises), topRules: topRules(raises)
        )
    }

    private struct RuleKey: Hashable, Comparable {
        var equipment: String
        var rule: String
        static func < (a: RuleKey, b: RuleKey) -> Bool { (a.equipment, a.rule) < (b.equipment, b.rule) }
    }

    static func topRules(_ raises: [AlarmEvent]) -> [RuleCount] {
        var counts: [RuleKey: (Int, AlarmEvent)] = [:]
        for r in raises {
            let key = RuleKey(equipment: r.equipment, rule: r.rule)
            counts[key] = ((counts[key]?.0 ?? 0) + 1, counts[key]?.1 ?? r)
        }
        let ordered = counts.sorted { a, b in a.value.0 != b.value.0 ? a.value.0 > b.value.0 : a.key < b.key }
        return ordered.prefix(topCount).enumerated().map { i, entry in
            RuleCount(rank: i + 1, equipment: entry.key.equipment, rule: entry.key.rule,
                      alarmClass: entry.value.1.alarmClass, priority: entry.value.1.priority, raises: entry.value.0)
        }
    }

    static func chatteringAlarms(_ raises: [AlarmEvent]) -> [ChatteringAlarm] {
        var times: [RuleKey: [EventTime]] = [:]
        var reported: [AlarmEvent] = []
        for r in raises {
            if r.rule == "chattering" { reported.append(r); continue }
            times[RuleKey(equipment: r.equipment, rule: r.rule), default: []].append(r.eventTime)
        }
        var found: [RuleKey: ChatteringAlarm] = [:]
        var episodeStarts: [RuleKey: [EventTime]] = [:]
        for (key, list) in times {
            let sorted = list.sorted()
            let starts = episodes(sorted)
            let peak = maxWithinWindow(sorted)
            guard !starts.isEmpty else { continue }
            episodeStarts[key] = starts
            found[key] = ChatteringAlarm(equipment: key.equipment, rule: key.rule, raises: sorted.count,
                                         maxRaisesPerMinute: peak, episodes: starts.count,
                                         firstChatterAt: starts.first, reportedAlarms: 0)
        }
        // The engine raises `chattering` at the raise that starts an episode; match it by time.
        for c in reported {
            let match = episodeStarts.first { $0.key.equipment == c.equipment && $0.value.contains(c.eventTime) }
            let key = match?.key ?? RuleKey(equipment: c.equipment, rule: c.cause ?? ruleNamed(in: c.message) ?? c.rule)
            var row = found[key] ?? ChatteringAlarm(
                equipment: key.equipment, rule: key.rule, raises: times[key]?.count ?? 0,
                maxRaisesPerMinute: maxWithinWindow((times[key] ?? []).sorted()), episodes: 0,
                firstChatterAt: c.eventTime, reportedAlarms: 0)
            row.reportedAlarms += 1
            found[key] = row
        }
        return found.keys.sorted().map { found[$0]! }
    }

    /// Episode start times, with the engine's rule (``chatterThreshold`` raises within the inclusive
    /// window start one; it ends once a whole window passes without a raise).
    static func episodes(_ sorted: [EventTime]) -> [EventTime] {
        var recent: [EventTime] = []
        var chattering = false
        var starts: [EventTime] = []
        for t in sorted {
            if chattering, let last = recent.last, t.milliseconds(since: last) > chatterWindowMilliseconds {
                chattering = false
                recent.removeAll()
            }
            let windowStart = t.adding(milliseconds: -chatterWindowMilliseconds)
            recent.removeAll { $0 < windowStart }
            recent.append(t)
            if !chattering, recent.count >= chatterThreshold {
                chattering = true
                starts.append(t)
            }
        }
        return starts
    }

    /// The most raises within any inclusive 60 s window.
    static func maxWithinWindow(_ sorted: [EventTime]) -> Int {
        var best = 0
        var i = 0
        for j in sorted.indices {
            while sorted[j].milliseconds(since: sorted[i]) > chatterWindowMilliseconds { i += 1 }
            best = max(best, j - i + 1)
        }
        return best
    }

    /// The rule named by the engine's chattering message (`报警 <rule> 在 …`), for an episode whose
    /// raises are not all in the period.
    private static func ruleNamed(in message: String) -> String? {
        guard message.hasPrefix("报警 ") else { return nil }
        let rest = message.dropFirst(3)
        let name = rest.prefix { $0 != " " }
        return name.isEmpty ? nil : String(name)
    }
}
