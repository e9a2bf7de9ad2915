/// Scenario time: milliseconds since the simulator's time origin (its `t = 0`).
///
/// Integer milliseconds, not `Double` seconds, so that "the lance rises 0.8 s after the trip at
/// 12 s" lands exactly on the 12.8 s scan instead of on whichever side float rounding picks.
/// Comparisons with plain numbers read as seconds: `t >= 12.8`, `t.within(10..<25)`.
public struct SimTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Milliseconds since the time origin.
    public var milliseconds: Int64

    /// Wraps milliseconds since the origin.
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// Seconds since the origin, rounded to the millisecond.
    public init(seconds: Double) { milliseconds = Self.ms(seconds) }

    /// Seconds since the origin.
    public var seconds: Double { Double(milliseconds) / 1000 }

    /// This time plus `seconds`, rounded to the millisecond.
    public func adding(seconds: Double) -> SimTime { SimTime(milliseconds: milliseconds + Self.ms(seconds)) }

    /// True when `start <= self < end` (seconds).
    public func within(_ range: Range<Double>) -> Bool { self >= range.lowerBound && self < range.upperBound }

    public static func < (a: SimTime, b: SimTime) -> Bool { a.milliseconds < b.milliseconds }
    public static func >= (t: SimTime, seconds: Double) -> Bool { t.milliseconds >= ms(seconds) }
    public static func < (t: SimTime, seconds: Double) -> Bool { t.milliseconds < ms(seconds) }
    public static func > (t: SimTime, seconds: Double) -> Bool { t.milliseconds > ms(seconds) }
    public static func + (t: SimTime, seconds: Double) -> SimTime { t.adding(seconds: seconds) }

    /// `t=12.8s`: the form scenario listings and test failures use.
    public var description: String { "t=\(Self.text(milliseconds))s" }

    static func ms(_ seconds: Double) -> Int64 { Int64((seconds * 1000).rounded()) }

    /// Milliseconds as seconds with no trailing zeros: 12000 → `12`, 12800 → `12.8`, 15125 → `15.125`.
    static func text(_ milliseconds: Int64) -> String {
        let sign = milliseconds < 0 ? "-" : ""
        let m = milliseconds.magnitude
        var frac = String(m % 1000)
        guard frac != "0" else { return "\(sign)\(m / 1000)" }
        frac = String(repeating: "0", count: 3 - frac.count) + frac
        while frac.hasSuffix("0") { frac.removeLast() }
        return "\(sign)\(m / 1000).\(frac)"
    }
}

/// When a simulator publishing `rate` scans per second samples: scan `k` is at `k / rate` seconds,
/// rounded to the millisecond (the contract's `ts` resolution).
///
/// A fault that starts at 10 s is first seen at the first scan at or after 10 s, so the alarms it
/// causes are timed from that scan; expectations use the same grid, which keeps them exact at any
/// `--rate` (whole-second faults land on a scan whenever the rate is a whole number).
public struct ScanGrid: Sendable, Equatable {
    /// Scans per second.
    public let rate: Double

    /// A grid of `rate` scans per second (must be positive).
    public init(rate: Double) {
        precondition(rate > 0 && rate.isFinite, "scan rate must be positive")
        self.rate = rate
    }

    /// The time of scan `k`.
    public func time(ofScan k: Int) -> SimTime {
        SimTime(milliseconds: Int64((Double(k) * 1000 / rate).rounded()))
    }

    /// The first scan at or after `t`: when a change scheduled for `t` is first published.
    public func scan(atOrAfter t: SimTime) -> SimTime {
        var k = max(0, Int((t.seconds * rate).rounded(.down)) - 1)
        while time(ofScan: k) < t { k += 1 }
        return time(ofScan: k)
    }

    /// The first scan strictly after `t`: when a strict `>` condition first holds for a value that
    /// reaches its limit exactly at `t`.
    public func scan(after t: SimTime) -> SimTime {
        scan(atOrAfter: SimTime(milliseconds: t.milliseconds + 1))
    }

    /// The last scan at or before `t`.
    public func scan(atOrBefore t: SimTime) -> SimTime {
        var k = max(0, Int((t.seconds * rate).rounded(.up)) + 1)
        while k > 0, time(ofScan: k) > t { k -= 1 }
        return time(ofScan: k)
    }

    /// The number of scans from 0 to `duration` inclusive.
    public func scanCount(through duration: SimTime) -> Int {
        var k = Int((duration.seconds * rate).rounded(.down))
        while k > 0, time(ofScan: k) > duration { k -= 1 }
        while time(ofScan: k + 1) <= duration { k += 1 }
        return k + 1
    }
}
