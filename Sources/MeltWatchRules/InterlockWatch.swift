import MeltWatchCore

/// The interlock part of a template: an ``InterlockCheck`` bound to the template's feedback roles and
/// to its `interlock-late` / `interlock-failed` rules, turning every outcome into rule outputs.
///
/// Every trip's outcome is recorded (`.recorded`, good ones included, for the journal, report and
/// metrics). `interlock-late` is momentary: raised and returned at the moment the last feedback
/// arrived, carrying the latency, left for the duty room to acknowledge. `interlock-failed` is
/// latched: raised at the deadline (or when an expected feedback turned unhealthy) and never cleared
/// by the rules; the duty room's acknowledgement ends it.
struct InterlockWatch: Codable {
    /// Rule indexes in the template's ``TemplateSpec/rules``.
    let lateRule: Int
    let failedRule: Int
    private(set) var check: InterlockCheck
    /// Per role index of the template: its index in `check.expected`, or -1 when not an expected feedback
    /// (looked up per reading: an array, not a dictionary by name).
    private let feedbackIndex: [Int]
    /// Per expected feedback (indexed like `check.expected`): its last value and health, nil until seen.
    private var feedbacks: [InterlockCheck.FeedbackState?]
    /// The rule whose raise started the running check.
    private(set) var trigger = 0
    /// When the running (or latest) check started: the raise at the end of the on-delay, which can be
    /// later than its trip time (the excursion start).
    private var openedAt: EventTime?
    /// Overrides the basis of an outcome's alarm (e.g. a platform that did not stop); nil keeps the rule's.
    var basis: (@Sendable (_ outcome: InterlockCheck.Outcome, _ trigger: Int) -> String?)?
    /// Decides, per trip, whether an expected feedback (by its index in `check.expected`) is left out
    /// of that trip's check: counted as done at the trip, its readings and health ignored until the
    /// next trip (a casting station's launder disconnect belongs to cooling trips only, and only where
    /// the station reports it). `seen` says whether the feedback has ever reported.
    var exempt: (@Sendable (_ feedback: Int, _ trigger: Int, _ seen: Bool) -> Bool)?
    /// Per expected feedback: whether the running (or latest) trip left it out.
    private var exempted: [Bool]

    /// A checkpoint holds the state, not the policies: `basis` and `exempt` come from the template's
    /// parameters and are taken from a fresh watch on restore (``TemplateState/keepConfiguration(of:)``).
    private enum CodingKeys: String, CodingKey {
        case lateRule, failedRule, check, feedbackIndex, feedbacks, trigger, openedAt, exempted
    }

    /// Takes the policies (`basis`, `exempt`) of `fresh`, a watch built from the same parameters.
    mutating func keepPolicies(of fresh: InterlockWatch) {
        basis = fresh.basis
        exempt = fresh.exempt
    }

    /// Watches `expected` roles of `roles`; the warn time is capped at the deadline.
    init(expected: [String], roles: [RoleSpec], warnSeconds: Double, deadlineSeconds: Double, lateRule: Int, failedRule: Int) {
        check = InterlockCheck(expected: expected, warnMilliseconds: Int64(warnSeconds * 1000),
                               deadlineMilliseconds: Int64(deadlineSeconds * 1000))
        feedbackIndex = roles.map { [expected = check.expected] role in expected.firstIndex(of: role.name) ?? -1 }
        feedbacks = Array(repeating: nil, count: check.expected.count)
        exempted = Array(repeating: false, count: check.expected.count)
        self.lateRule = lateRule
        self.failedRule = failedRule
    }

    /// When ``advance(to:into:)`` must run if nothing arrives.
    var deadline: EventTime? { check.deadline }

    /// A trip rule raised at `time` for an excursion that began at `excursionStart` (nil: at `time`):
    /// starts a check from the excursion start unless one is running. A deadline that already passed
    /// during the on-delay fails the check at once, at `time` (no event precedes the raise it answers).
    mutating func trip(rule: Int, at time: EventTime, excursionStart: EventTime? = nil, into out: inout [RuleOutput]) {
        guard !check.isRunning else { return }
        trigger = rule
        openedAt = time
        let start = min(excursionStart ?? time, time)
        // Outcomes go to a local first: as an argument of a method on `self` the optimizer copied the
        // whole state before every call.
        let outcome = check.trip(at: start, states: states(forTrip: rule))
        if let outcome { record(outcome, trippedAt: start, into: &out) }
        if start < time, check.isRunning, let overdue = check.advance(to: time) {
            record(overdue, trippedAt: start, into: &out)
        }
    }

    /// An excursion of trip rule `rule` from `start` ended at `end` before its on-delay ran out: no
    /// alarm, but if every expected feedback is true now and one of them turned true during the
    /// excursion, the plant's interlock acted on it, and that trip is recorded with its outcome (ok or
    /// late, latency from `start`) like any other (domain.md).
    mutating func excursionEnded(rule: Int, from start: EventTime, at end: EventTime, into out: inout [RuleOutput]) {
        guard !check.isRunning, !check.expected.isEmpty else { return }
        let states = states(forTrip: rule)
        var acted = false
        for (k, f) in states.enumerated() {
            guard let f, f.healthy, f.value else { return }
            if exempted[k] { continue }
            guard let since = f.since, since <= end else { return }
            if since >= start { acted = true }
        }
        guard acted else { return }
        trigger = rule
        openedAt = end
        let outcome = check.trip(at: start, states: states)
        if let outcome { record(outcome, trippedAt: start, into: &out) }
    }

    /// The feedback states a trip of `rule` starts from; a feedback the trip leaves out (``exempt``)
    /// stands as already done.
    private mutating func states(forTrip rule: Int) -> [InterlockCheck.FeedbackState?] {
        guard let exempt else { return feedbacks }
        var states = feedbacks
        for k in states.indices {
            exempted[k] = exempt(k, rule, feedbacks[k] != nil)
            if exempted[k] { states[k] = InterlockCheck.FeedbackState(value: true) }
        }
        return states
    }

    /// Fails a check whose deadline passed.
    mutating func advance(to time: EventTime, into out: inout [RuleOutput]) {
        guard check.deadline != nil else { return }
        let trippedAt = check.trippedAt
        let outcome = check.advance(to: time)
        if let outcome { record(outcome, trippedAt: trippedAt, into: &out) }
    }

    /// Applies a reading of an expected feedback role (others are ignored).
    mutating func reading(role: Int, value: Value, quality: Quality, at time: EventTime, into out: inout [RuleOutput]) {
        let k = feedbackIndex[role]
        guard k >= 0 else { return }
        let healthy = quality != .bad && value.asDouble.isFinite
        let fault: String? = healthy ? nil : "bad-quality"
        let on = value.asBool
        // When it turned true: kept while it stays true, so a check that starts later (at the end of
        // an on-delay) can count from the excursion start.
        let previous = feedbacks[k]
        let since: EventTime? = on ? (previous?.value == true ? previous?.since ?? time : time) : nil
        feedbacks[k] = InterlockCheck.FeedbackState(value: on, healthy: healthy, fault: fault, since: since)
        guard !(check.isRunning && exempted[k]) else { return }  // not part of the running trip
        let trippedAt = check.trippedAt
        let outcome = check.feedback(at: k, value: on, healthy: healthy, fault: fault, time: time)
        if let outcome { record(outcome, trippedAt: trippedAt, into: &out) }
    }

    /// An expected feedback going unhealthy (stale, frozen, bad) during a check fails it with that cause.
    mutating func health(role: Int, healthy: Bool, fault: String?, at time: EventTime, into out: inout [RuleOutput]) {
        let k = feedbackIndex[role]
        guard k >= 0 else { return }
        let value = feedbacks[k]?.value ?? false
        feedbacks[k] = InterlockCheck.FeedbackState(value: value, healthy: healthy, fault: fault, since: feedbacks[k]?.since)
        guard !healthy, !(check.isRunning && exempted[k]) else { return }
        let trippedAt = check.trippedAt
        let outcome = check.feedback(at: k, value: value, healthy: false, fault: fault, time: time)
        if let outcome { record(outcome, trippedAt: trippedAt, into: &out) }
    }

    /// Reports an outcome; a failure decided at a deadline that passed before the raise that started
    /// the check (an on-delay longer than the deadline) is reported at that raise.
    private func record(_ outcome: InterlockCheck.Outcome, trippedAt: EventTime?, into out: inout [RuleOutput]) {
        guard let trippedAt else { return }
        let warn = Double(check.warnMilliseconds) / 1000
        let deadline = Double(check.deadlineMilliseconds) / 1000
        // The feedbacks this trip expected (those left out of it are not named).
        let expected = zip(check.expected, exempted).filter { !$0.1 }.map(\.0)
        let actions = expected.joined(separator: ", ")
        let basis = self.basis?(outcome, trigger)
        switch outcome {
        case .ok(let latency):
            out.append(RuleOutput(ruleIndex: lateRule, transition: .recorded, time: trippedAt.adding(milliseconds: latency),
                                  message: "", latencyMilliseconds: latency,
                                  interlock: .init(kind: .ok, trippedAt: trippedAt, triggerRuleIndex: trigger)))
        case .late(let latency):
            let at = trippedAt.adding(milliseconds: latency)
            out.append(RuleOutput(ruleIndex: lateRule, transition: .recorded, time: at, message: "", latencyMilliseconds: latency,
                                  interlock: .init(kind: .late, trippedAt: trippedAt, triggerRuleIndex: trigger)))
            let message = "联锁动作延迟 \(show(Double(latency) / 1000)) s > \(show(warn)) s（\(actions)）(interlock late)"
            for transition in [RuleOutput.Transition.raised, .cleared] {
                out.append(RuleOutput(ruleIndex: lateRule, transition: transition, time: at, value: Double(latency) / 1000,
                                      limit: warn, message: message, latencyMilliseconds: latency, basis: basis,
                                      signals: expected))
            }
        case .failed(let cause, let decided):
            let at = max(decided, openedAt ?? decided)
            out.append(RuleOutput(ruleIndex: failedRule, transition: .recorded, time: at, message: "", cause: cause,
                                  interlock: .init(kind: .failed, trippedAt: trippedAt, triggerRuleIndex: trigger)))
            out.append(RuleOutput(ruleIndex: failedRule, transition: .raised, time: at, value: nil, limit: deadline,
                                  message: "联锁未在 \(show(deadline)) s 内动作：\(cause) (interlock failed)", cause: cause, basis: basis,
                                  signals: expected))
        }
    }
}
