import MeltWatchCore

/// Verifies that an interlock acted after a trip: every expected feedback turns true by a deadline.
///
/// The interlock itself lives in the PLC/SIS; this only watches it (domain.md "interlock"). Every
/// trip yields exactly one ``Outcome``, good ones included, because the audit report's interlock
/// statistics need the ok trips as much as the failed ones.
///
/// Semantics, all on event time:
/// - Exact deadline: a feedback at exactly trip + deadline is in time; the check fails once time
///   passes it, so ``deadline`` is trip + deadline + 1 ms (the engine calls ``advance(to:)`` before
///   applying a reading, and a reading at trip + deadline must still count). The failure carries the
///   deadline itself as its event time.
/// - The trip time is the start of the excursion (domain.md), which can lie before the moment the
///   check starts (the end of the alarm's on-delay): a feedback that turned true in between counts
///   at the event time it turned true (``FeedbackState/since``), and one already true at the trip
///   (or reported true with an event time before it) counts as done at the trip, latency 0.
/// - Latency is the event time of the last expected feedback to turn true minus the trip time;
///   latency ≤ warn is ok, warn < latency ≤ deadline is late.
/// - An expected feedback that is unhealthy (stale, frozen, bad) before it has turned true fails the
///   check at once, with that cause: waiting for the deadline cannot make the check verifiable, and
///   the duty room should know now. A feedback already confirmed true is done; its later health does
///   not undo the action it reported.
/// - A feedback that turns true and back to false still counts from its first true.
/// - A second trip while a check runs does not restart it (the first trip's latency is the one that
///   matters for the stopping action).
public struct InterlockCheck: Sendable, Equatable, Codable {
    /// What one trip's check came to.
    public enum Outcome: Sendable, Equatable, Codable {
        /// Every feedback turned true within the warn time.
        case ok(latencyMilliseconds: Int64)
        /// Every feedback turned true, the last one after the warn time but by the deadline.
        case late(latencyMilliseconds: Int64)
        /// A feedback was missing at the deadline, or unhealthy during the check; `at` is when that
        /// was decided (the deadline, or the unhealthy report's event time).
        case failed(cause: String, at: EventTime)
    }

    /// The state of one feedback signal as the caller knows it at the trip.
    public struct FeedbackState: Sendable, Equatable, Codable {
        /// The feedback's last value.
        public var value: Bool
        /// False while the signal is stale, frozen or bad.
        public var healthy: Bool
        /// Which health fault makes it unhealthy (e.g. `stale`), named in the failure cause.
        public var fault: String?
        /// While `value` is true: the event time it turned true (nil: unknown, taken as the trip).
        public var since: EventTime?

        /// Describes one feedback; `fault` only matters when `healthy` is false.
        public init(value: Bool, healthy: Bool = true, fault: String? = nil, since: EventTime? = nil) {
            self.value = value
            self.healthy = healthy
            self.fault = fault
            self.since = since
        }
    }

    /// One running check: the trip time and, per expected role, when it turned true.
    struct Check: Sendable, Equatable, Codable {
        var trippedAt: EventTime
        var doneAt: [EventTime?]
    }

    enum Phase: Sendable, Equatable, Codable {
        case idle
        case running(Check)
        /// Decided but not yet returned: only when a trip had to return an earlier check's failure.
        case decided(Outcome, at: EventTime)
    }

    /// The feedback roles that must all turn true, in the order failures name them.
    public let expected: [String]
    /// Beyond this latency a complete check is late.
    public let warnMilliseconds: Int64
    /// Beyond this latency a check has failed.
    public let deadlineMilliseconds: Int64

    private(set) var phase: Phase = .idle

    /// Creates an idle check; duplicate roles are dropped, and warn is capped at the deadline.
    public init(expected: [String], warnMilliseconds: Int64, deadlineMilliseconds: Int64) {
        var roles: [String] = []
        for r in expected where !roles.contains(r) { roles.append(r) }
        self.expected = roles
        self.deadlineMilliseconds = max(0, deadlineMilliseconds)
        self.warnMilliseconds = min(max(0, warnMilliseconds), self.deadlineMilliseconds)
    }

    /// True while a trip's outcome is still open.
    public var isRunning: Bool {
        if case .running = phase { return true }
        return false
    }

    /// The trip time of the running check, if any.
    public var trippedAt: EventTime? {
        if case .running(let c) = phase { return c.trippedAt }
        return nil
    }

    /// When ``advance(to:)`` must be called if no feedback arrives: one millisecond past the
    /// deadline, since a feedback at exactly the deadline is still in time.
    public var deadline: EventTime? {
        switch phase {
        case .idle: nil
        case .running(let c): c.trippedAt.adding(milliseconds: deadlineMilliseconds &+ 1)
        case .decided(_, let at): at
        }
    }

    /// Starts a check at `time` given the feedbacks' current states; returns an outcome decided at
    /// once (all already true, or one unhealthy) or one an overdue earlier check reached first.
    public mutating func trip(at time: EventTime, feedbacks: [String: FeedbackState]) -> Outcome? {
        trip(at: time, states: expected.map { feedbacks[$0] })
    }

    /// ``trip(at:feedbacks:)`` with the feedbacks' states in ``expected`` order (nil: never seen), so a
    /// monitor can keep them in an array indexed like ``expected`` instead of a dictionary by name.
    mutating func trip(at time: EventTime, states feedbacks: [FeedbackState?]) -> Outcome? {
        // Settle an earlier check whose deadline passed without an advance(to:) call.
        let earlier = advance(to: time)
        guard case .idle = phase else { return earlier }  // a running check is not restarted

        var check = Check(trippedAt: time, doneAt: Array(repeating: nil, count: expected.count))
        var unhealthy: [String] = []
        for (i, role) in expected.enumerated() {
            guard let s = feedbacks[i] else { continue }  // never seen: wait for it
            if !s.healthy {
                unhealthy.append(Self.unhealthyCause(role, s.fault))
            } else if s.value {
                check.doneAt[i] = max(time, s.since ?? time)
            }
        }
        let now: Outcome?
        if !unhealthy.isEmpty {
            now = .failed(cause: unhealthy.joined(separator: "; "), at: time)
        } else {
            now = grade(check)
        }
        switch (now, earlier) {
        case (nil, _):
            phase = .running(check)
            return earlier
        case (let o?, nil):
            return o
        case (let o?, let e?):
            // Two outcomes at once: return the earlier check's, keep this one for the next call.
            phase = .decided(o, at: time)
            return e
        }
    }

    /// Applies a feedback reading; `fault` names the health problem when `healthy` is false.
    public mutating func feedback(_ role: String, value: Bool, healthy: Bool, fault: String? = nil,
                                  at time: EventTime) -> Outcome? {
        feedback(at: expected.firstIndex(of: role), value: value, healthy: healthy, fault: fault, time: time)
    }

    /// ``feedback(_:value:healthy:fault:at:)`` for the role at `index` in ``expected`` (nil: not expected),
    /// without looking the role up by name.
    mutating func feedback(at index: Int?, value: Bool, healthy: Bool, fault: String?, time: EventTime) -> Outcome? {
        if let settled = advance(to: time) { return settled }
        guard case .running(var check) = phase,
              let i = index, check.doneAt[i] == nil
        else { return nil }
        // Evidence stamped before the trip describes the state at the trip.
        let at = max(time, check.trippedAt)
        if !healthy {
            phase = .idle
            return .failed(cause: Self.unhealthyCause(expected[i], fault), at: at)
        }
        guard value else { return nil }
        check.doneAt[i] = at
        if let o = grade(check) {
            phase = .idle
            return o
        }
        phase = .running(check)
        return nil
    }

    /// Fails a check whose deadline is before `time` (no feedback came); returns a deferred outcome.
    public mutating func advance(to time: EventTime) -> Outcome? {
        switch phase {
        case .idle:
            return nil
        case .decided(let o, _):
            phase = .idle
            return o
        case .running(let check):
            guard time.milliseconds(since: check.trippedAt) > deadlineMilliseconds else { return nil }
            phase = .idle
            let missing = zip(expected, check.doneAt).filter { $0.1 == nil }.map(\.0)
            let cause = "\(missing.joined(separator: ", ")) 未动作 (no feedback by deadline \(durationText(deadlineMilliseconds)))"
            return .failed(cause: cause, at: check.trippedAt.adding(milliseconds: deadlineMilliseconds))
        }
    }

    /// Ok or late once every feedback is done; nil while one is still missing.
    private func grade(_ check: Check) -> Outcome? {
        var last = check.trippedAt
        for d in check.doneAt {
            guard let d else { return nil }
            last = max(last, d)
        }
        let latency = last.milliseconds(since: check.trippedAt)
        return latency > warnMilliseconds ? .late(latencyMilliseconds: latency) : .ok(latencyMilliseconds: latency)
    }

    private static func unhealthyCause(_ role: String, _ fault: String?) -> String {
        "\(role) 信号失效 (\(fault ?? "unhealthy"))"
    }
}

/// A duration for a message: whole seconds as `5 s`, otherwise up to milliseconds (`2.5 s`).
func durationText(_ milliseconds: Int64) -> String {
    let sign = milliseconds < 0 ? "-" : ""
    let m = milliseconds.magnitude
    let whole = m / 1000, frac = m % 1000
    guard frac != 0 else { return "\(sign)\(whole) s" }
    var digits = String(frac)
    digits = String(repeating: "0", count: 3 - digits.count) + digits
    while digits.hasSuffix("0") { digits.removeLast() }
    return "\(sign)\(whole).\(digits) s"
}
