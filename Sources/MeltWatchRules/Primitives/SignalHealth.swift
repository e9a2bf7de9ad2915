import MeltWatchCore

/// One raise or clear of a sensor-health condition.
public struct HealthTransition: Sendable, Equatable {
    /// Which condition changed.
    public var condition: SignalHealth.Condition
    /// True for a raise, false for a clear.
    public var raised: Bool
    /// Event time of the change (see ``SignalHealth`` for how each is chosen).
    public var at: EventTime
    /// A human-readable reason for the alarm message.
    public var detail: String
    /// What the gateway said caused it (the alarm's `cause`), when it said so: a Sparkplug death.
    public var cause: String?

    /// Creates a transition.
    public init(condition: SignalHealth.Condition, raised: Bool, at: EventTime, detail: String, cause: String? = nil) {
        self.condition = condition
        self.raised = raised
        self.at = at
        self.detail = detail
        self.cause = cause
    }
}

/// The health of one signal (domain.md "Sensor health", basis 令10 第十四条): stale, frozen and
/// bad-quality, each raised and cleared on its own.
///
/// Two clocks: event time (the gateway's timestamps) judges frozen and bad quality; the daemon's
/// clock (arrival and ``tick(daemonTime:operating:)``) judges stale, so stale fires when a gateway
/// dies and nothing arrives at all.
///
/// - `stale`: no reading has arrived for more than `staleAfter` of daemon time; a reading arriving
///   exactly `staleAfter` after the previous one is in time (as for an interlock deadline). The raise
///   carries the last reading's event time + `staleAfter`; the next reading clears it at its own event
///   time, never before the raise (a backfilled reading can be older than the raise time). A reading
///   that arrives after a gap no tick reported raises and clears in the same call, so the gap is
///   still recorded.
/// - Never-seen signals: with `requiredFromStart` a signal with no reading goes stale `staleAfter`
///   after the first tick (at that daemon time; there is no event time yet). Without it (optional
///   roles) staleness is only judged after the first reading.
/// - `frozen`: the value stays within `epsilon` of where the run began for `frozenAfter` of event time
///   while operating (`frozenAfter` 0 turns it off). A value at the bottom of `range` never counts:
///   a detector in clean air reads its range floor for days. The run needs continuous evidence: it restarts
///   when operating begins and after a stale or bad-quality spell, so an idle furnace's constant
///   temperature never counts. Raised at run start + `frozenAfter` by the first reading at or after
///   that time — only a reading shows the value unchanged: a gateway that falls silent is stale, not
///   frozen; cleared only when the value changes, since going idle is no evidence the sensor works again. Boolean values are exempt: a switch legitimately holds.
/// - `bad-quality`: quality `bad`, a number outside `range`, NaN or infinite. Raised at that
///   reading's event time, cleared at the next good one. `uncertain` quality is not bad.
///
/// Readings with an event time before the last reading's are ignored, as the engine ignores them.
public struct SignalHealth: Sendable, Equatable, Codable {
    /// A sensor-health condition; raw values are the rule names.
    public enum Condition: String, Sendable, Equatable, CaseIterable, Codable {
        case stale
        case frozen
        case badQuality = "bad-quality"
    }

    /// No reading for longer than this (daemon clock) is stale.
    public let staleAfterMilliseconds: Int64
    /// An unchanged value for this long while operating is frozen; 0 turns the check off.
    public let frozenAfterMilliseconds: Int64
    /// The instrument range; numbers outside it are bad.
    public let range: ClosedRange<Double>?
    /// Changes up to this size do not count as changes.
    public let epsilon: Double
    /// Whether a signal that never reports goes stale (mandatory roles) or not (optional roles).
    public let requiredFromStart: Bool

    private var lastEventTime: EventTime?
    /// Daemon time at which the last reading arrived.
    private var lastArrival: EventTime?
    private var firstTick: EventTime?
    private var latestTick: EventTime?
    private var operating = false
    /// The value the current unchanged run is compared with.
    private var anchor: Double?
    /// Event time the current frozen-evidence run began; nil while there is no run.
    private var runStart: EventTime?

    /// Stored flags, readable in place: a computed property of an array element copies the whole state.
    private(set) var stale = false
    private var staleRaisedAt: EventTime?
    private(set) var frozen = false
    private(set) var bad = false
    /// True while the latest reading is bad (quality bad, out of range, NaN or infinite): the rules
    /// must not use it as evidence.
    public var latestIsBad: Bool { bad }

    /// Creates a tracker with every condition clear.
    public init(staleAfterMilliseconds: Int64, frozenAfterMilliseconds: Int64, range: ClosedRange<Double>?,
                epsilon: Double = 1e-9, requiredFromStart: Bool = false) {
        self.staleAfterMilliseconds = max(1, staleAfterMilliseconds)
        self.frozenAfterMilliseconds = max(0, frozenAfterMilliseconds)
        self.range = range
        self.epsilon = abs(epsilon)
        self.requiredFromStart = requiredFromStart
    }

    /// True while no condition is raised.
    public var isHealthy: Bool { !stale && !frozen && !bad }

    /// The raised conditions, in the order stale, frozen, bad-quality.
    public var faults: [Condition] {
        var f: [Condition] = []
        if stale { f.append(.stale) }
        if frozen { f.append(.frozen) }
        if bad { f.append(.badQuality) }
        return f
    }

    /// The daemon-clock time at which ``tick(daemonTime:operating:)`` has a stale check to make.
    ///
    /// Stored, and recomputed when ``reading(_:quality:at:arrivedAt:operating:)`` or ``tick(daemonTime:operating:)``
    /// returns: the engine reads it after every reading, and a computed property of an array element
    /// made it copy the whole state machine (163 bytes) to evaluate it.
    public private(set) var deadline: EventTime?

    private func computeDeadline() -> EventTime? {
        var d: EventTime?
        if !stale {
            if let a = lastArrival {
                d = a.adding(milliseconds: staleAfterMilliseconds &+ 1)
            } else if requiredFromStart, let f = firstTick {
                d = f.adding(milliseconds: staleAfterMilliseconds &+ 1)
            }
        }
        return d
    }

    /// Applies a reading stamped `eventTime` that arrived at daemon time `daemonTime`.
    ///
    /// A silence longer than `staleAfter` before it is stale in retrospect — judged at `judgedAt`
    /// (the engine's last tick: how far the daemon knew it had read everything), not at the arrival:
    /// readings read in a burst after the daemon itself stalled arrived late through no fault of
    /// the signal's. Without `judgedAt`, at the arrival; with `judgeStale` false, not at all (the
    /// broker link is down: the silence has a cause of its own, already alarmed).
    public mutating func reading(_ value: Value, quality: Quality, at eventTime: EventTime,
                                 arrivedAt daemonTime: EventTime, judgedAt: EventTime? = nil, judgeStale: Bool = true,
                                 operating: Bool) -> [HealthTransition] {
        if let last = lastEventTime, eventTime < last { return [] }
        defer { deadline = computeDeadline() }
        var out: [HealthTransition] = []
        if judgeStale { checkStale(at: judgedAt.map { min($0, daemonTime) } ?? daemonTime, into: &out) }
        lastEventTime = eventTime
        lastArrival = daemonTime
        if operating != self.operating { runStart = nil }
        self.operating = operating
        if stale {
            stale = false
            out.append(.init(condition: .stale, raised: false, at: max(eventTime, staleRaisedAt ?? eventTime),
                             detail: "数据恢复 (readings resumed)"))
        }

        if let reason = Self.badReason(value, quality, range: range) {
            runStart = nil
            if !bad {
                bad = true
                out.append(.init(condition: .badQuality, raised: true, at: eventTime, detail: reason))
            }
            return out
        }
        if bad {
            bad = false
            out.append(.init(condition: .badQuality, raised: false, at: eventTime, detail: "读数恢复正常 (reading good again)"))
        }

        guard case .number(let v) = value, frozenAfterMilliseconds > 0 else {
            anchor = nil
            runStart = nil
            return out
        }
        if let r = range, v <= r.lowerBound + epsilon {
            // At the bottom of the instrument's range (a CO detector in clean air, an empty sump) a
            // flat line is the normal state, not a stuck transmitter: no frozen run there.
            anchor = v
            runStart = nil
            if frozen {
                frozen = false
                out.append(.init(condition: .frozen, raised: false, at: eventTime, detail: "数值变化 (value changed to \(show(v)))"))
            }
            return out
        }
        if let a = anchor, abs(v - a) <= epsilon {
            if operating, runStart == nil { runStart = eventTime }
        } else {
            anchor = v
            runStart = operating ? eventTime : nil
            if frozen {
                frozen = false
                out.append(.init(condition: .frozen, raised: false, at: eventTime, detail: "数值变化 (value changed to \(show(v)))"))
            }
        }
        checkFrozen(at: eventTime, into: &out)
        return out
    }

    /// Advances the daemon clock with no reading: raises stale — unless `judgeStale` is false (the
    /// signal's silence may have a cause of its own: the engine asks again later).
    public mutating func tick(daemonTime: EventTime, operating: Bool, judgeStale: Bool = true) -> [HealthTransition] {
        if let latest = latestTick, daemonTime < latest { return [] }  // the clock stepped back: wait
        defer { deadline = computeDeadline() }
        if firstTick == nil { firstTick = daemonTime }
        latestTick = daemonTime
        var out: [HealthTransition] = []
        if judgeStale { checkStale(at: daemonTime, into: &out) }
        if operating != self.operating { runStart = nil }
        self.operating = operating
        // Frozen is not judged here: with no reading arriving, nothing shows the value unchanged (a
        // silent gateway is stale, not frozen). The next reading judges it.
        return out
    }

    /// The signal's gateway declared it dead at daemon time `time` (a Sparkplug NDEATH or DDEATH):
    /// `stale` at once with that cause, rather than after `staleAfter`. A reading clears it as usual.
    public mutating func lose(at time: EventTime, cause: String, detail: String) -> [HealthTransition] {
        defer { deadline = computeDeadline() }
        // An optional role that never reported is not expected, so its gateway's death loses nothing.
        guard !stale, lastArrival != nil || requiredFromStart else { return [] }
        var out: [HealthTransition] = []
        raiseStale(at: time, detail: detail, into: &out)
        out[out.count - 1].cause = cause
        return out
    }

    /// True when a tick at daemon time `now` would raise `stale` (the engine asks before ticking a
    /// signal whose gateway may be silent as a whole).
    public func staleDue(at now: EventTime) -> Bool {
        guard !stale, let d = deadline else { return false }
        return d <= now
    }

    /// The silence so far does not count: the broker link or the signal's gateway came back at daemon
    /// time `time`, and the signal gets its whole `staleAfter` from then before it may go stale.
    /// A signal already stale stays stale until a reading arrives.
    public mutating func restartStaleWindow(at time: EventTime) {
        defer { deadline = computeDeadline() }
        if let a = lastArrival, a < time { lastArrival = time }
        if let f = firstTick, f < time { firstTick = time }
        if let l = latestTick, l < time { latestTick = time }
    }

    /// The daemon clock was rebased by `milliseconds` (the wall clock stepped): every daemon-clock
    /// instant moves with it, so the time left before stale stays what it was.
    public mutating func shift(by milliseconds: Int64) {
        defer { deadline = computeDeadline() }
        lastArrival = lastArrival?.adding(milliseconds: milliseconds)
        firstTick = firstTick?.adding(milliseconds: milliseconds)
        latestTick = latestTick?.adding(milliseconds: milliseconds)
    }

    /// Whether a frozen raise is possible at all right now.
    private var frozenArmed: Bool {
        frozenAfterMilliseconds > 0 && !frozen && !stale && !bad && operating && anchor != nil
    }

    private mutating func checkStale(at daemonTime: EventTime, into out: inout [HealthTransition]) {
        guard !stale else { return }
        if let a = lastArrival, let e = lastEventTime {
            guard daemonTime.milliseconds(since: a) > staleAfterMilliseconds else { return }
            let limit = durationText(staleAfterMilliseconds)  // formatted only for a raise: this runs per reading
            raiseStale(at: e.adding(milliseconds: staleAfterMilliseconds),
                       detail: "超过 \(limit) 无数据 (no reading for more than \(limit); last reading \(e))", into: &out)
        } else if requiredFromStart, let f = firstTick {
            guard daemonTime.milliseconds(since: f) > staleAfterMilliseconds else { return }
            let limit = durationText(staleAfterMilliseconds)
            raiseStale(at: f.adding(milliseconds: staleAfterMilliseconds),
                       detail: "启动后 \(limit) 内无数据 (no reading within \(limit) of start)", into: &out)
        }
    }

    private mutating func raiseStale(at time: EventTime, detail: String, into out: inout [HealthTransition]) {
        stale = true
        staleRaisedAt = time
        runStart = nil  // no evidence of the value during the gap
        out.append(.init(condition: .stale, raised: true, at: time, detail: detail))
    }

    private mutating func checkFrozen(at eventTime: EventTime, into out: inout [HealthTransition]) {
        guard frozenArmed, let start = runStart, let a = anchor,
              eventTime.milliseconds(since: start) >= frozenAfterMilliseconds
        else { return }
        frozen = true
        let limit = durationText(frozenAfterMilliseconds)
        out.append(.init(condition: .frozen, raised: true, at: start.adding(milliseconds: frozenAfterMilliseconds),
                         detail: "数值 \(show(a)) 持续 \(limit) 未变化 (value unchanged for \(limit) while operating)"))
    }

    /// Static, not a method: called from a mutating method, a method on `self` made the optimizer
    /// copy the whole state (177 bytes) for every reading.
    private static func badReason(_ value: Value, _ quality: Quality, range: ClosedRange<Double>?) -> String? {
        if quality == .bad { return "网关质量标记 bad (gateway quality bad)" }
        guard case .number(let v) = value else { return nil }
        if v.isNaN { return "数值非法 (value is NaN)" }
        if v.isInfinite { return "数值非法 (value is \(v < 0 ? "-inf" : "inf"))" }
        if let r = range, !r.contains(v) {
            return "超出量程 (value \(show(v)) outside range [\(show(r.lowerBound)), \(show(r.upperBound))])"
        }
        return nil
    }
}
