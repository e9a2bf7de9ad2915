import MeltWatchCore

/// `steel.blast-furnace-top`: blast furnace top working pressure and its bleeder interlock (令10 第四条(五)).
///
/// `top-pressure-high`: top pressure above `top_pressure_max` (strict `>`: the design maximum itself
/// is allowed, the clause says "not above"), held for `on_delay_s`; cleared when the pressure is back
/// at or below the maximum. Its raise trips the interlock check: `bleeder_open` must turn true within
/// `interlock_deadline_s` (a feedback at exactly the deadline is in time). Later than
/// `interlock_warn_s` is `interlock-late`, raised and returned to normal at the feedback's time with
/// the latency; missing or unhealthy (stale, frozen, bad) feedback is `interlock-failed`, latched
/// (never cleared here; the duty room acknowledges it). Every trip's outcome is recorded, good ones
/// included. A bleeder already open at the trip counts as done at the trip (latency 0).
///
/// The trip instant is the start of the excursion (the first reading above the maximum), not the end
/// of the on-delay, so an on-delay neither hides a slow bleeder nor loses a good trip: an excursion
/// the bleeder ends before the on-delay runs out is still recorded as a trip with its latency.
/// `on_delay_s` defaults to 0 all the same: the design maximum is a hard line.
/// No gate role: frozen detection is off by default (`frozen_after_s: 0`), as on every ungated template.
enum BlastFurnaceTop {
    static let basis = "令10 第四条(五)"

    static let spec = TemplateSpec(
        id: .blastFurnaceTop,
        summary: "blast furnace top working pressure, interlocked with the top bleeder valve",
        roles: [
            RoleSpec(name: "top_pressure", kind: .number(unit: "kPa"), isOptional: false, summary: "top working pressure"),
            RoleSpec(name: "bleeder_open", kind: .bool, isOptional: false, summary: "interlock feedback: top bleeder valve open"),
        ],
        params: [
            ParamSpec(name: "top_pressure_max", kind: .number(unit: "kPa", minimum: 0), defaultValue: .number(250),
                      isSitePlaceholder: true, summary: "design maximum top pressure; above it trips the bleeder"),
            ParamSpec(name: "on_delay_s", kind: .number(unit: "s", minimum: 0), defaultValue: .number(0),
                      isSitePlaceholder: false, summary: "how long the pressure must stay above the maximum before it alarms; latency counts from the excursion start"),
            ParamSpec(name: "interlock_warn_s", kind: .number(unit: "s", minimum: 0), defaultValue: .number(2),
                      isSitePlaceholder: true, summary: "bleeder opening slower than this is interlock-late"),
            ParamSpec(name: "interlock_deadline_s", kind: .number(unit: "s", minimum: 0), defaultValue: .number(5),
                      isSitePlaceholder: true, summary: "bleeder not open by this is interlock-failed"),
        ] + TemplateCatalog.healthParams(frozenAfterSeconds: 0),  // ungated: frozen off by default (domain.md)
        rules: [
            RuleSpec(id: "top-pressure-high", alarmClass: .process, priority: .emergency, basis: basis,
                     signals: ["top_pressure"], unit: "kPa",
                     summary: "top pressure > `top_pressure_max` for `on_delay_s` (default 0: latency counts from the excursion). Trips the interlock check on `bleeder_open`"),
            RuleSpec(id: "interlock-late", alarmClass: .interlock, priority: .high, basis: basis,
                     signals: ["bleeder_open"], unit: "s",
                     summary: "after a trip, `bleeder_open` turned true later than `interlock_warn_s` (`latency_ms`); raised and returned at once"),
            RuleSpec(id: "interlock-failed", alarmClass: .interlock, priority: .emergency, basis: basis,
                     signals: ["bleeder_open"], unit: "s",
                     summary: "`bleeder_open` not true at `interlock_deadline_s` after a trip, or unhealthy during the check (`cause`); latched"),
        ],
        makeMonitor: { Monitor(params: $0) }
    )

    private enum Rule: Int {
        case topPressureHigh, interlockLate, interlockFailed
    }

    private static let pressureRole = spec.roles.index("top_pressure")
    private static let bleederRole = spec.roles.index("bleeder_open")
    private static let bleeder = "bleeder_open"

}

extension BlastFurnaceTop {
    /// The top-pressure limit and the bleeder interlock check it trips.
    struct State: TemplateState {
        /// The template's role indices, copied once: a `static let` is a lazy-initialisation check per use.
        var pressureRole = BlastFurnaceTop.pressureRole, bleederRole = BlastFurnaceTop.bleederRole
        var pressure: LimitMonitor
        var interlock: InterlockWatch

        init(params: [String: ParamValue]) {
            pressure = LimitMonitor(direction: .high, limit: params.number("top_pressure_max"),
                                    onDelayMilliseconds: Int64(params.number("on_delay_s") * 1000))
            interlock = InterlockWatch(
                expected: [BlastFurnaceTop.bleeder], roles: BlastFurnaceTop.spec.roles, warnSeconds: params.number("interlock_warn_s"),
                deadlineSeconds: params.number("interlock_deadline_s"),
                lateRule: Rule.interlockLate.rawValue, failedRule: Rule.interlockFailed.rawValue
            )
        }

        var nextDeadline: EventTime? {
            // Not `earliest([pressure], …)`: that array literal would allocate on every reading.
            guard let p = pressure.deadline else { return interlock.deadline }
            guard let i = interlock.deadline else { return p }
            return min(p, i)
        }

        mutating func advance(to time: EventTime, into out: inout [RuleOutput]) {
            if let t = pressure.advance(to: time) { emit(t, into: &out) }
            interlock.advance(to: time, into: &out)
        }

        mutating func reading(role: Int, value: Value, quality: Quality, at time: EventTime, into out: inout [RuleOutput]) {
            switch role {
            case pressureRole:
                // A bad reading is no evidence: a pending trip must not complete on it.
                guard quality != .bad, value.asDouble.isFinite else {
                    pressure.cancelPending()
                    return
                }
                let wasPending = pressure.isPending
                if let t = pressure.update(value.asDouble, at: time) {
                    emit(t, into: &out)
                } else if wasPending, !pressure.isPending, let start = pressure.excursionStart {
                    interlock.excursionEnded(rule: Rule.topPressureHigh.rawValue, from: start, at: time, into: &out)
                }
            case bleederRole:
                interlock.reading(role: role, value: value, quality: quality, at: time, into: &out)
            default:
                return
            }
        }

        /// The bleeder feedback going unhealthy (stale, frozen, bad) during a check fails it with that cause.
        mutating func health(role: Int, healthy: Bool, fault: String?, at time: EventTime, into out: inout [RuleOutput]) {
            interlock.health(role: role, healthy: healthy, fault: fault, at: time, into: &out)
        }

        /// Appends the pressure transition and, for a raise, starts the interlock check.
        private mutating func emit(_ t: LimitMonitor.Transition, into out: inout [RuleOutput]) {
            let limit = pressure.limit
            switch t {
            case .raised(let at, let v):
                out.append(RuleOutput(ruleIndex: Rule.topPressureHigh.rawValue, transition: .raised, time: at, value: v, limit: limit,
                                      message: "高炉炉顶压力 \(show(v)) kPa > 设计最高值 \(show(limit)) kPa，炉顶放散阀应联锁打开 (top pressure above the design maximum: the bleeder must open)"))
                interlock.trip(rule: Rule.topPressureHigh.rawValue, at: at, excursionStart: pressure.excursionStart, into: &out)
            case .cleared(let at, let v):
                out.append(RuleOutput(ruleIndex: Rule.topPressureHigh.rawValue, transition: .cleared, time: at, value: v, limit: limit,
                                      message: "高炉炉顶压力 \(show(v)) kPa ≤ \(show(limit)) kPa，已恢复 (top pressure back within the design maximum)"))
            }
        }
    }
}

extension BlastFurnaceTop {
    /// The monitor of one equipment (``StateMonitor``: the state and its exclusivity, nothing else).
    final class Monitor: StateMonitor {
        #if DEBUG
        var state: State
        #else
        @exclusivity(unchecked) var state: State
        #endif

        init(params: [String: ParamValue]) { state = State(params: params) }
    }
}
