import MeltWatchCore

/// `dust.dry-collector`: a dry dust collector (bag filter, cartridge) in a dust-explosion-prone plant.
///
/// Rules, all strict (`>` / `<`: a value exactly at its limit is in range, and its return to the limit
/// clears), each held for `on_delay_s` unless said otherwise:
/// - `diff-pressure-high` (filter clogging) and `diff-pressure-low` (bag rupture) only while the
///   collector fan runs; the fan stopping cancels a pending raise and clears an active alarm. The
///   on-delay also covers the fan's start, while the pressure builds. Basis `令10 第十一条(十)`: a
///   clogged filter draws too little air, so dust escapes at the pick-up hoods and settles in the
///   room; a torn bag passes dust to the clean side, fan and ducts. Both are accumulation (积尘).
/// - `hopper-temp-high` and `hopper-temp-rate` (rise faster than `hopper_temp_rate_max` K/min over
///   the last minute; 0 = off), not gated: dust left in a hopper smoulders after shutdown too. Basis
///   `令10 第十一条(三)`: a smouldering hopper is an ignition source inside the dry collector that the
///   explosion control (venting, inerting, suppression) of that clause exists for.
/// - `airlock-fault` (`令10 第十一条(六)`), `explosion-protection-fault` (`令10 第十一条(三)`): fault
///   flags watched as 1/0 against 0.5 with the on-delay (a contact must hold, not flicker), raised
///   whether or not the fan runs (a fault found at standstill must be fixed before the restart),
///   cleared when the flag goes false.
/// - `spark-detected` (`令10 第十一条(四)`): raised on the first true reading, without on-delay: a
///   spark detector's output is a short pulse that a debounce would swallow. Cleared when it resets.
/// - `collector-not-running`: `process_running` true while `fan_running` is false, for the on-delay
///   (the start/stop sequence's skew). Common practice: the collector starts before and stops after
///   the equipment it serves. Basis `令10 第十一条(十)`: dust produced without extraction settles.
///   Idle when the optional `process_running` role is absent.
///
/// An unknown fan state (before its first reading) counts as running, as the engine's gate does; a
/// bad-quality fan reading keeps the last known state for gating but is no evidence that the fan is
/// off. Any other bad, NaN or infinite reading is no evidence either: it cancels the pending on-delay
/// of the rules it feeds and leaves an active alarm as it is (sensor-health alarms report the signal).
enum DryCollector {
    static let accumulationBasis = "令10 第十一条(十)"
    static let explosionControlBasis = "令10 第十一条(三)"

    static let spec = TemplateSpec(
        id: .dryCollector,
        summary: "a dry dust collector (bag filter, cartridge) with its hopper, air-lock, explosion protection and fan",
        roles: [
            RoleSpec(name: "diff_pressure", kind: .number(unit: "Pa"), isOptional: false, summary: "filter differential pressure"),
            RoleSpec(name: "hopper_temp", kind: .number(unit: "°C"), isOptional: false, summary: "ash hopper temperature"),
            RoleSpec(name: "airlock_fault", kind: .bool, isOptional: true, summary: "air-lock discharge valve (锁气卸灰) fault; required by 第十一条(六) for Al/Mg and wood dust"),
            RoleSpec(name: "spark_detected", kind: .bool, isOptional: true, summary: "spark detection (火花探测) output; required by 第十一条(四) for positive-pressure conveying"),
            RoleSpec(name: "explosion_protection_fault", kind: .bool, isOptional: false,
                     summary: "explosion venting / inerting / suppression fault"),
            RoleSpec(name: "fan_running", kind: .bool, isOptional: false, summary: "collector fan running (gate)"),
            RoleSpec(name: "process_running", kind: .bool, isOptional: true, summary: "the dust-producing process is running"),
        ],
        params: [
            ParamSpec(name: "diff_pressure_high", kind: .number(unit: "Pa", minimum: 0), defaultValue: .number(1500),
                      isSitePlaceholder: true, summary: "differential pressure above this while the fan runs is clogging"),
            ParamSpec(name: "diff_pressure_low", kind: .number(unit: "Pa", minimum: 0), defaultValue: .number(300),
                      isSitePlaceholder: true, summary: "differential pressure below this while the fan runs is a bag rupture"),
            ParamSpec(name: "hopper_temp_high", kind: .number(unit: "°C", minimum: -50), defaultValue: .number(70),
                      isSitePlaceholder: true, summary: "hopper temperature above this is smouldering"),
            ParamSpec(name: "hopper_temp_rate_max", kind: .number(unit: "K/min", minimum: 0), defaultValue: .number(5),
                      isSitePlaceholder: true, summary: "hopper temperature rising faster than this over a minute; 0 = off"),
            ParamSpec(name: "on_delay_s", kind: .number(unit: "s", minimum: 0), defaultValue: .number(30),
                      isSitePlaceholder: true, summary: "how long a condition must hold before it alarms (not spark-detected)"),
        ] + TemplateCatalog.healthParams,
        rules: [
            RuleSpec(id: "diff-pressure-high", alarmClass: .process, priority: .medium, basis: accumulationBasis,
                     signals: ["diff_pressure", "fan_running"], unit: "Pa",
                     summary: "filter differential pressure > `diff_pressure_high` for `on_delay_s` while the fan runs (clogging); the fan stopping clears it"),
            RuleSpec(id: "diff-pressure-low", alarmClass: .process, priority: .medium, basis: accumulationBasis,
                     signals: ["diff_pressure", "fan_running"], unit: "Pa",
                     summary: "filter differential pressure < `diff_pressure_low` for `on_delay_s` while the fan runs (bag rupture); the fan stopping clears it"),
            RuleSpec(id: "hopper-temp-high", alarmClass: .process, priority: .high, basis: explosionControlBasis,
                     signals: ["hopper_temp"], unit: "°C",
                     summary: "hopper temperature > `hopper_temp_high` for `on_delay_s`, fan running or not (smouldering)"),
            RuleSpec(id: "airlock-fault", alarmClass: .process, priority: .high, basis: "令10 第十一条(六)",
                     signals: ["airlock_fault"], unit: nil,
                     summary: "`airlock_fault` true for `on_delay_s`"),
            RuleSpec(id: "explosion-protection-fault", alarmClass: .process, priority: .high, basis: explosionControlBasis,
                     signals: ["explosion_protection_fault"], unit: nil,
                     summary: "`explosion_protection_fault` (venting, inerting or suppression) true for `on_delay_s`"),
            RuleSpec(id: "spark-detected", alarmClass: .process, priority: .emergency, basis: "令10 第十一条(四)",
                     signals: ["spark_detected"], unit: nil,
                     summary: "`spark_detected` true: raised on the first true reading, no on-delay (a spark pulse is short)"),
            RuleSpec(id: "collector-not-running", alarmClass: .process, priority: .high, basis: accumulationBasis,
                     signals: ["process_running", "fan_running"], unit: nil,
                     summary: "`process_running` true and `fan_running` false for `on_delay_s`"),
            RuleSpec(id: "hopper-temp-rate", alarmClass: .process, priority: .medium, basis: explosionControlBasis,
                     signals: ["hopper_temp"], unit: "K/min",
                     summary: "hopper temperature rose faster than `hopper_temp_rate_max` K/min over the last 60 s (0 = off)"),
        ],
        makeMonitor: { Monitor(params: $0) },
        gateRole: "fan_running"
    )

    /// Rules in spec order. Every rule up to `collectorNotRunning` has a ``LimitMonitor`` at its raw
    /// value in `limits`; `hopperTempRate` comes last because a ``RateMonitor`` evaluates it.
    private enum Rule: Int {
        case diffPressureHigh, diffPressureLow, hopperTempHigh, airlockFault, explosionProtectionFault
        case sparkDetected, collectorNotRunning, hopperTempRate
    }

    private static let diffPressureRole = spec.roles.index("diff_pressure")
    private static let hopperTempRole = spec.roles.index("hopper_temp")
    private static let fanRole = spec.roles.index("fan_running")
    private static let processRole = spec.roles.index("process_running")
    /// The fault flags, each driving its own rule (`airlock-fault`, `explosion-protection-fault`, `spark-detected`).
    private static let airlockRole = spec.roles.index("airlock_fault")
    private static let explosionProtectionRole = spec.roles.index("explosion_protection_fault")
    private static let sparkRole = spec.roles.index("spark_detected")

}

extension DryCollector {
    /// The collector's limits, the hopper rate check and the gate inputs they read.
    struct State: TemplateState {
        /// The template's role indices, copied once: a `static let` is a lazy-initialisation check per
        /// use (and the fault flags were a dictionary lookup per reading).
        var diffPressureRole = DryCollector.diffPressureRole, hopperTempRole = DryCollector.hopperTempRole
        var fanRole = DryCollector.fanRole, processRole = DryCollector.processRole
        var airlockRole = DryCollector.airlockRole, explosionProtectionRole = DryCollector.explosionProtectionRole
        var sparkRole = DryCollector.sparkRole
        var diffPressure: Double?
        /// The fan gate's last good value; nil while unknown (never reported, bad, stale). An unknown
        /// gate is open (domain.md): the pressure rules are evaluated; `collector-not-running` needs a
        /// known fan state (the fan signal's own device alarm reports the rest).
        var fan: Bool?
        var fanRunning: Bool { fan ?? true }
        var processRunning: Bool?
        var limits: [LimitMonitor]
        /// `hopper-temp-rate`; nil when `hopper_temp_rate_max` is 0.
        var rate: RateMonitor?
        let rateMaxPerMinute: Double

        init(params: [String: ParamValue]) {
            let delay = Int64(params.number("on_delay_s") * 1000)
            limits = [
                LimitMonitor(direction: .high, limit: params.number("diff_pressure_high"), onDelayMilliseconds: delay),
                LimitMonitor(direction: .low, limit: params.number("diff_pressure_low"), onDelayMilliseconds: delay),
                LimitMonitor(direction: .high, limit: params.number("hopper_temp_high"), onDelayMilliseconds: delay),
                LimitMonitor(direction: .high, limit: 0.5, onDelayMilliseconds: delay),
                LimitMonitor(direction: .high, limit: 0.5, onDelayMilliseconds: delay),
                LimitMonitor(direction: .high, limit: 0.5),  // spark-detected: a pulse, no on-delay
                LimitMonitor(direction: .high, limit: 0.5, onDelayMilliseconds: delay),
            ]
            rateMaxPerMinute = params.number("hopper_temp_rate_max")
            if rateMaxPerMinute > 0 {
                rate = RateMonitor(maxPerSecond: rateMaxPerMinute / 60, windowMilliseconds: 60_000, direction: .rise)
            }
        }

        var nextDeadline: EventTime? { earliest(limits) }

        mutating func advance(to time: EventTime, into out: inout [RuleOutput]) {
            for i in limits.indices {
                if let t = limits[i].advance(to: time) { out.append(output(Rule(rawValue: i)!, t)) }
            }
        }

        mutating func reading(role: Int, value: Value, quality: Quality, at time: EventTime, into out: inout [RuleOutput]) {
            let usable = quality != .bad && value.asDouble.isFinite
            switch role {
            case diffPressureRole:
                diffPressure = usable ? value.asDouble : nil
                evaluateDiffPressure(at: time, into: &out)
            case hopperTempRole:
                guard usable else {
                    limits[Rule.hopperTempHigh.rawValue].cancelPending()
                    return
                }
                update(.hopperTempHigh, value.asDouble, at: time, into: &out)
                if let t = rate?.update(value.asDouble, at: time) { out.append(rateOutput(t)) }
            case fanRole:
                fan = usable ? value.asBool : nil
                evaluateDiffPressure(at: time, into: &out)
                evaluateNotRunning(at: time, into: &out)
            case processRole:
                processRunning = usable ? value.asBool : nil
                evaluateNotRunning(at: time, into: &out)
            case airlockRole: flag(.airlockFault, value, usable: usable, at: time, into: &out)
            case explosionProtectionRole: flag(.explosionProtectionFault, value, usable: usable, at: time, into: &out)
            case sparkRole: flag(.sparkDetected, value, usable: usable, at: time, into: &out)
            default: return
            }
        }

        /// A fault flag, watched as 1/0 against 0.5; an unusable reading only cancels a pending raise.
        private mutating func flag(_ rule: Rule, _ value: Value, usable: Bool, at time: EventTime, into out: inout [RuleOutput]) {
            guard usable else {
                limits[rule.rawValue].cancelPending()
                return
            }
            update(rule, value.asBool ? 1 : 0, at: time, into: &out)
        }

        /// Both pressure rules apply only while the fan runs; a stopped fan feeds each limit itself (not a
        /// violation of `>` or `<`), which cancels a pending raise and clears an active alarm at once.
        /// High, then low: two calls, not a loop over an array literal (an allocation per reading).
        private mutating func evaluateDiffPressure(at time: EventTime, into out: inout [RuleOutput]) {
            evaluateDiffPressure(.diffPressureHigh, at: time, into: &out)
            evaluateDiffPressure(.diffPressureLow, at: time, into: &out)
        }

        private mutating func evaluateDiffPressure(_ rule: Rule, at time: EventTime, into out: inout [RuleOutput]) {
            if !fanRunning {
                update(rule, limits[rule.rawValue].limit, at: time, into: &out)
            } else if let dp = diffPressure {
                update(rule, dp, at: time, into: &out)
            } else {
                limits[rule.rawValue].cancelPending()
            }
        }

        /// The fan gate going unhealthy (stale) makes it unknown, so open.
        mutating func health(role: Int, healthy: Bool, fault: String?, at time: EventTime, into out: inout [RuleOutput]) {
            guard role == fanRole, !healthy, fan != nil else { return }
            fan = nil
            evaluateDiffPressure(at: time, into: &out)
            evaluateNotRunning(at: time, into: &out)
        }

        private mutating func evaluateNotRunning(at time: EventTime, into out: inout [RuleOutput]) {
            guard let process = processRunning, let fan else {
                limits[Rule.collectorNotRunning.rawValue].cancelPending()
                return
            }
            update(.collectorNotRunning, process && !fan ? 1 : 0, at: time, into: &out)
        }

        private mutating func update(_ rule: Rule, _ value: Double, at time: EventTime, into out: inout [RuleOutput]) {
            if let t = limits[rule.rawValue].update(value, at: time) { out.append(output(rule, t)) }
        }

        private func rateOutput(_ t: LimitMonitor.Transition) -> RuleOutput {
            let limit = rateMaxPerMinute
            let rule = Rule.hopperTempRate.rawValue
            switch t {
            case .raised(let at, let perSecond):
                let v = tidy(perSecond * 60)
                return RuleOutput(ruleIndex: rule, transition: .raised, time: at, value: v, limit: limit,
                                  message: "灰斗温升速率 \(show(v)) K/min > \(show(limit)) K/min，疑似积灰阴燃 (hopper temperature rising fast: smouldering suspected)")
            case .cleared(let at, let perSecond):
                let v = tidy(perSecond * 60)
                return RuleOutput(ruleIndex: rule, transition: .cleared, time: at, value: v, limit: limit,
                                  message: "灰斗温升速率 \(show(v)) K/min ≤ \(show(limit)) K/min，已恢复 (hopper temperature rise back within limit)")
            }
        }

        private func output(_ rule: Rule, _ t: LimitMonitor.Transition) -> RuleOutput {
            let limit = limits[rule.rawValue].limit
            let raised: Bool
            let at: EventTime
            let v: Double
            switch t {
            case .raised(let time, let value): (raised, at, v) = (true, time, value)
            case .cleared(let time, let value): (raised, at, v) = (false, time, value)
            }
            var reportedValue: Double? = v
            var reportedLimit: Double? = limit
            let message: String
            switch (rule, raised) {
            case (.diffPressureHigh, true):
                message = "除尘器压差 \(show(v)) Pa > \(show(limit)) Pa，滤袋/滤筒疑似堵塞 (filter differential pressure high: clogging)"
            case (.diffPressureLow, true):
                message = "除尘器压差 \(show(v)) Pa < \(show(limit)) Pa，疑似滤袋破损 (filter differential pressure low: bag rupture suspected)"
            case (.diffPressureHigh, false), (.diffPressureLow, false):
                if fanRunning {
                    let side = rule == .diffPressureHigh ? "≤" : "≥"
                    message = "除尘器压差 \(show(v)) Pa \(side) \(show(limit)) Pa，已恢复 (differential pressure back within limit)"
                } else {
                    message = "除尘风机停止，压差报警解除 (collector fan stopped)"
                    reportedValue = diffPressure
                }
            case (.hopperTempHigh, true):
                message = "灰斗温度 \(show(v)) °C > \(show(limit)) °C，疑似积灰阴燃 (hopper temperature high: smouldering suspected)"
            case (.hopperTempHigh, false):
                message = "灰斗温度 \(show(v)) °C ≤ \(show(limit)) °C，已恢复 (hopper temperature back within limit)"
            case (.airlockFault, true):
                message = "锁气卸灰阀故障 (air-lock discharge valve fault)"
            case (.airlockFault, false):
                message = "锁气卸灰阀故障已消除 (air-lock fault cleared)"
            case (.explosionProtectionFault, true):
                message = "防爆装置（泄爆/惰化/抑爆）故障 (explosion protection fault)"
            case (.explosionProtectionFault, false):
                message = "防爆装置故障已消除 (explosion protection fault cleared)"
            case (.sparkDetected, true):
                message = "探测到火花 (spark detected)"
            case (.sparkDetected, false):
                message = "火花信号已复位 (spark signal reset)"
            case (.collectorNotRunning, true):
                message = "生产设备运行中除尘风机未运行 (process running while the collector fan is off)"
            case (.collectorNotRunning, false):
                message = fanRunning ? "除尘风机已运行，已恢复 (collector fan running)" : "生产设备已停止，报警解除 (process stopped)"
            case (.hopperTempRate, _):
                preconditionFailure("hopper-temp-rate is reported by rateOutput(_:)")
            }
            switch rule {
            case .airlockFault, .explosionProtectionFault, .sparkDetected, .collectorNotRunning:
                (reportedValue, reportedLimit) = (nil, nil)
            case .diffPressureHigh, .diffPressureLow, .hopperTempHigh, .hopperTempRate:
                break
            }
            return RuleOutput(ruleIndex: rule.rawValue, transition: raised ? .raised : .cleared, time: at,
                              value: reportedValue, limit: reportedLimit, message: message)
        }
    }
}

extension DryCollector {
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
