import MeltWatchCore

/// A limit check with deadband, on-delay and off-delay: the pure state machine behind every
/// threshold-like rule (high, high-high, low, low-low, difference of two signals).
///
/// No clock is read here: the caller passes event time in, and asks ``deadline`` when a timer
/// should call ``advance(to:)`` if no reading arrives.
public struct LimitMonitor: Sendable, Equatable, Codable {
    /// Which side of the limit is the bad one.
    public enum Direction: Sendable, Equatable, Codable {
        /// Alarm when value > limit (or ≥ with `inclusive`); clear when value < limit − deadband.
        case high
        /// Alarm when value < limit (or ≤ with `inclusive`); clear when value > limit + deadband.
        case low
    }

    /// What changed, at which event time.
    public enum Transition: Sendable, Equatable {
        case raised(at: EventTime, value: Double)
        case cleared(at: EventTime, value: Double)
    }

    enum Phase: Sendable, Equatable, Codable {
        case normal
        /// Condition true since `since`; raises at `since + onDelay` if it holds.
        case pending(since: EventTime)
        case active
        /// Clear condition true since `since`; clears at `since + offDelay` if it holds.
        case clearing(since: EventTime)
    }

    public var direction: Direction
    public var limit: Double
    public var deadband: Double
    public var onDelayMilliseconds: Int64
    public var offDelayMilliseconds: Int64
    /// `≥` / `≤` instead of `>` / `<` (alarm levels are usually "reaches", differences "exceeds").
    public var inclusive: Bool

    private(set) var phase: Phase = .normal
    /// The last value seen, reported when a timer (not a reading) completes a transition.
    public private(set) var lastValue: Double = .nan
    /// Event time of the first reading beyond the limit in the current (or latest) excursion: kept
    /// through the on-delay and while active. An interlock check counts from here, not from the raise
    /// (domain.md: the PLC sees the same excursion, and the on-delay only spares the duty room).
    public private(set) var excursionStart: EventTime?

    /// Creates a monitor in the normal state.
    public init(direction: Direction, limit: Double, deadband: Double = 0, onDelayMilliseconds: Int64 = 0,
                offDelayMilliseconds: Int64 = 0, inclusive: Bool = false) {
        self.direction = direction
        self.limit = limit
        self.deadband = max(0, deadband)
        self.onDelayMilliseconds = max(0, onDelayMilliseconds)
        self.offDelayMilliseconds = max(0, offDelayMilliseconds)
        self.inclusive = inclusive
    }

    /// True while the alarm is raised (including its off-delay).
    public var isActive: Bool {
        switch phase {
        case .active, .clearing: true
        case .normal, .pending: false
        }
    }

    /// True while a violation waits out its on-delay. A pending excursion that ends here without
    /// raising was shorter than the on-delay (``excursionStart`` says when it began).
    public var isPending: Bool {
        if case .pending = phase { return true }
        return false
    }

    /// When ``advance(to:)`` must be called if nothing arrives before then.
    public var deadline: EventTime? {
        switch phase {
        case .pending(let since): since.adding(milliseconds: onDelayMilliseconds)
        case .clearing(let since): since.adding(milliseconds: offDelayMilliseconds)
        case .normal, .active: nil
        }
    }

    private func violates(_ v: Double) -> Bool {
        switch direction {
        case .high: inclusive ? v >= limit : v > limit
        case .low: inclusive ? v <= limit : v < limit
        }
    }

    private func recovered(_ v: Double) -> Bool {
        switch direction {
        case .high: deadband > 0 ? v < limit - deadband : !violates(v)
        case .low: deadband > 0 ? v > limit + deadband : !violates(v)
        }
    }

    /// Fires a pending on-/off-delay whose deadline is at or before `time`.
    public mutating func advance(to time: EventTime) -> Transition? {
        switch phase {
        case .pending(let since) where time.milliseconds(since: since) >= onDelayMilliseconds:
            phase = .active
            return .raised(at: since.adding(milliseconds: onDelayMilliseconds), value: lastValue)
        case .clearing(let since) where time.milliseconds(since: since) >= offDelayMilliseconds:
            phase = .normal
            return .cleared(at: since.adding(milliseconds: offDelayMilliseconds), value: lastValue)
        default:
            return nil
        }
    }

    /// Applies a value observed at `time`. Call ``advance(to:)`` with the same time first, so a delay
    /// that expired before this reading completes at its own deadline.
    public mutating func update(_ value: Double, at time: EventTime) -> Transition? {
        lastValue = value
        switch phase {
        case .normal:
            guard violates(value) else { return nil }
            phase = .pending(since: time)
            excursionStart = time
            return advance(to: time)  // a zero on-delay raises at once
        case .pending:
            if !violates(value) { phase = .normal }
            return nil
        case .active:
            guard recovered(value) else { return nil }
            phase = .clearing(since: time)
            return advance(to: time)
        case .clearing:
            if !recovered(value) { phase = .active }
            return nil
        }
    }

    /// Forgets a pending raise (the input became unusable); an active alarm stays active.
    public mutating func cancelPending() {
        if case .pending = phase { phase = .normal }
    }

    /// The rule's gate closed at `time`: back to normal at once, clearing an active alarm (no off-delay:
    /// the condition it watched no longer applies).
    public mutating func gateClosed(at time: EventTime) -> Transition? {
        let wasActive = isActive
        phase = .normal
        return wasActive ? .cleared(at: time, value: lastValue) : nil
    }
}
