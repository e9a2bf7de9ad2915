import MeltWatchCore

/// An alarm event as received (webhook JSON) or emitted (engine), reduced to what scenarios check.
public struct ObservedAlarm: Sendable, Equatable, CustomStringConvertible {
    public var event: String
    public var rule: String
    public var plant: String
    public var equipment: String
    public var signals: [String]
    public var alarmClass: String
    public var priority: String
    public var basis: String
    /// `event_time` in epoch milliseconds (nil if it did not parse).
    public var eventTime: Int64?
    public var latencyMilliseconds: Int64?
    public var cause: String?
    /// Epoch milliseconds of scenario time 0, for showing `event_time` as scenario time.
    public var origin: Int64 = 0

    /// Creates an observation from decoded fields.
    public init(event: String, rule: String, plant: String, equipment: String, signals: [String], alarmClass: String,
                priority: String, basis: String, eventTime: Int64?, latencyMilliseconds: Int64?, cause: String?) {
        self.event = event
        self.rule = rule
        self.plant = plant
        self.equipment = equipment
        self.signals = signals
        self.alarmClass = alarmClass
        self.priority = priority
        self.basis = basis
        self.eventTime = eventTime
        self.latencyMilliseconds = latencyMilliseconds
        self.cause = cause
    }

    /// The observation of an engine event.
    public init(_ e: AlarmEvent) {
        self.init(event: e.kind.rawValue, rule: e.rule, plant: e.plant, equipment: e.equipment, signals: e.signals,
                  alarmClass: e.alarmClass.rawValue, priority: e.priority.rawValue, basis: e.basis,
                  eventTime: e.eventTime.milliseconds, latencyMilliseconds: e.latencyMilliseconds, cause: e.cause)
    }

    /// One line: `raised flow-difference bof1-lance [inlet_flow, outlet_flow] t=12s (process, emergency, 令10 第四条(四))`.
    public var description: String {
        var s = "\(event) \(rule) \(equipment) [\(signals.joined(separator: ", "))]"
        s += eventTime.map { " \(SimTime(milliseconds: $0 - origin))" } ?? " event_time=?"
        if let latencyMilliseconds { s += " latency_ms=\(latencyMilliseconds)" }
        if let cause { s += " cause='\(cause)'" }
        return s + " (\(alarmClass), \(priority), \(basis))"
    }
}

/// What a monitor produced for a scenario, compared with what the scenario expects.
public struct ScenarioVerdict: Sendable, CustomStringConvertible {
    /// Expected events that did not occur (one line each).
    public var missing: [String] = []
    /// Events that occurred but were not expected (or tolerated).
    public var unexpected: [String] = []
    /// Expected events that occurred with a wrong field (time, latency, class, priority, basis, cause).
    public var wrong: [String] = []

    /// Events matched to an expectation.
    public var matched = 0
    /// The largest |event_time − expected| among matched events with an expected time, in ms.
    public var largestTimeError: Int64 = 0

    /// True when the monitor did exactly what the scenario expects.
    public var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && wrong.isEmpty }

    /// Every difference, one per line.
    public var description: String {
        (missing.map { "missing: \($0)" } + unexpected.map { "unexpected: \($0)" } + wrong.map { "wrong: \($0)" })
            .joined(separator: "\n")
    }

    /// Compares `observed` with the scenario's expectations for a run at `rate` scans per second
    /// whose scenario time 0 is `origin` (epoch milliseconds). Times and latencies may differ by
    /// `toleranceMilliseconds`. Each expectation is matched once per rig equipment of its template (or once, for its equipment),
    /// to the observation closest in time; observations left over are unexpected unless tolerated.
    public init(scenario: Scenario, rate: Double, observed: [ObservedAlarm], origin: Int64, toleranceMilliseconds: Int64) {
        var remaining = observed.filter { $0.event != "heartbeat" }
        for x in scenario.expectedAlarms(rate: rate) {
            for eq in scenario.rig.equipment where eq.template == x.template && (x.equipment ?? eq.id) == eq.id {
                let want = x.at.map { origin + $0.milliseconds }
                let candidates = remaining.indices.filter { i in
                    let o = remaining[i]
                    return o.rule == x.rule && o.event == x.event.rawValue && o.plant == scenario.rig.plant && o.equipment == eq.id
                        && (x.signal.map { o.signals == [$0] } ?? true)
                }
                guard let best = candidates.min(by: { Self.distance(remaining[$0], want) < Self.distance(remaining[$1], want) }) else {
                    missing.append("\(eq.id) \(x)")
                    continue
                }
                let o = remaining.remove(at: best)
                matched += 1
                if let want, let t = o.eventTime { largestTimeError = max(largestTimeError, abs(t - want)) }
                wrong += Self.differences(o, x, want: want, tolerance: toleranceMilliseconds).map { "\(eq.id) \(x): \($0)" }
            }
        }
        for o in remaining {
            let template = scenario.rig.equipment.first { $0.id == o.equipment }?.template
            if scenario.tolerated.contains(where: { $0.rule == o.rule && $0.template == template }) { continue }
            var shown = o
            shown.origin = origin
            unexpected.append("\(shown)")
        }
    }

    private static func distance(_ o: ObservedAlarm, _ want: Int64?) -> Int64 {
        guard let want, let t = o.eventTime else { return 0 }
        return abs(t - want)
    }

    private static func differences(_ o: ObservedAlarm, _ x: ExpectedAlarm, want: Int64?, tolerance: Int64) -> [String] {
        var d: [String] = []
        if o.alarmClass != x.alarmClass.rawValue { d.append("class \(o.alarmClass), expected \(x.alarmClass.rawValue)") }
        if o.priority != x.priority.rawValue { d.append("priority \(o.priority), expected \(x.priority.rawValue)") }
        if o.basis != x.basis { d.append("basis \(o.basis), expected \(x.basis)") }
        if let want {
            if let t = o.eventTime {
                if abs(t - want) > tolerance { d.append("event_time off by \(t - want) ms (tolerance ±\(tolerance) ms)") }
            } else {
                d.append("event_time missing or unreadable")
            }
        }
        switch (x.latencyMilliseconds, o.latencyMilliseconds) {
        case (nil, nil): break
        case (nil, let got?): d.append("latency_ms \(got), expected null")
        case (let want?, nil): d.append("latency_ms null, expected \(want)")
        case (let want?, let got?): if abs(got - want) > tolerance { d.append("latency_ms \(got), expected \(want) ±\(tolerance)") }
        }
        if x.causeContains.isEmpty {
            if let c = o.cause { d.append("cause '\(c)', expected null") }
        } else {
            let cause = o.cause ?? ""
            for fragment in x.causeContains where !cause.contains(fragment) { d.append("cause '\(cause)' lacks '\(fragment)'") }
        }
        return d
    }
}
