import MeltWatchCore

/// `steel.co-detector`: a fixed carbon-monoxide detector (令10 第四条(六)), two alarm levels with deadband.
///
/// Presets: `gb6222` — 24 / 160 ppm (GB 6222 common steel practice); `gb50493` — 100 % / 200 % of the
/// occupational exposure limit, 20 / 40 mg/m³ CO, which is 17.2 / 34.4 ppm at 20 °C and 101.325 kPa
/// (ppm = mg/m³ × 24.06 / 28.01). `level_1`/`level_2` override the preset. Values stay in the
/// detector's native ppm: nothing is converted silently. `co-rate` warns early when the concentration
/// rises faster than `rate_max` ppm/min over the last minute (0 = off). `detector-fault` reports the
/// detector's own fault output: while it is true the detector is not measuring (令10 第十四条).
///
/// `frozen` is off by default (`frozen_after_s: 0`): in clean air a detector reads a flat 0 ppm for
/// days, which is its normal state. The basis is the steel clause 第四条(六), or 第五条(十一) in a
/// nonferrous (aluminium) plant (``RuleSpec/basisByIndustry``).
enum CODetector {
    static let basis = "令10 第四条(六)"
    static let nonferrousBasis = "令10 第五条(十一)"
    static let byIndustry: [Industry: String] = [.aluminium: nonferrousBasis]

    static let presets: [String: (level1: Double, level2: Double, source: String)] = [
        "gb6222": (24, 160, "GB 6222"),
        "gb50493": (17.2, 34.4, "GB 50493"),
    ]

    static let spec = TemplateSpec(
        id: .coDetector,
        summary: "a fixed CO concentration detector where gas may leak or accumulate",
        roles: [
            RoleSpec(name: "co", kind: .number(unit: "ppm"), isOptional: false, summary: "CO concentration"),
            RoleSpec(name: "fault", kind: .bool, isOptional: true, summary: "detector fault output"),
        ],
        params: [
            ParamSpec(name: "preset", kind: .choice(["gb6222", "gb50493"]), defaultValue: .choice("gb6222"),
                      isSitePlaceholder: false, summary: "alarm levels from a standard"),
            ParamSpec(name: "level_1", kind: .number(unit: "ppm", minimum: 0), defaultValue: nil,
                      isSitePlaceholder: false, summary: "first alarm level; default from preset"),
            ParamSpec(name: "level_2", kind: .number(unit: "ppm", minimum: 0), defaultValue: nil,
                      isSitePlaceholder: false, summary: "second alarm level; default from preset"),
            ParamSpec(name: "deadband", kind: .number(unit: "ppm", minimum: 0), defaultValue: .number(2),
                      isSitePlaceholder: true, summary: "an alarm clears below level − deadband"),
            ParamSpec(name: "rate_max", kind: .number(unit: "ppm/min", minimum: 0), defaultValue: .number(0),
                      isSitePlaceholder: true, summary: "rise faster than this is co-rate; 0 = off"),
            ParamSpec(name: "on_delay_s", kind: .number(unit: "s", minimum: 0), defaultValue: .number(0),
                      isSitePlaceholder: false, summary: "how long a level must hold before it alarms"),
        ] + TemplateCatalog.healthParams(frozenAfterSeconds: 0),
        rules: [
            RuleSpec(id: "co-level-1", alarmClass: .process, priority: .high, basis: basis, signals: ["co"], unit: "ppm",
                     summary: "CO ≥ level 1 (preset or `level_1`) for `on_delay_s`; clears below level − `deadband`",
                     basisByIndustry: byIndustry),
            RuleSpec(id: "co-level-2", alarmClass: .process, priority: .emergency, basis: basis, signals: ["co"], unit: "ppm",
                     summary: "CO ≥ level 2 (preset or `level_2`) for `on_delay_s`; clears below level − `deadband`",
                     basisByIndustry: byIndustry),
            RuleSpec(id: "co-rate", alarmClass: .process, priority: .medium, basis: basis, signals: ["co"], unit: "ppm/min",
                     summary: "CO rose faster than `rate_max` ppm/min over the last 60 s (0 = off): early warning",
                     basisByIndustry: byIndustry),
            RuleSpec(id: "detector-fault", alarmClass: .device, priority: .high, basis: "令10 第十四条", signals: ["fault"], unit: nil,
                     summary: "the detector's `fault` output is true: it is not measuring; clears when the output returns to false"),
        ],
        makeMonitor: { Monitor(params: $0) }
    )

    private static let coRole = spec.roles.index("co")
    private static let faultRole = spec.roles.index("fault")

}

extension CODetector {
    /// The detector's levels, rate check and the source named in their messages.
    struct State: TemplateState {
        /// Copied once: a `static let` is a lazy-initialisation check per use.
        var coRole = CODetector.coRole, faultRole = CODetector.faultRole
        var levels: [LimitMonitor]
        /// True while `detector-fault` is raised.
        var faulted = false
        let source: String
        /// `co-rate`: rise over a one-minute window faster than `rate_max` ppm/min; nil when off (0).
        var rate: RateMonitor?
        let rateMaxPerMinute: Double

        init(params: [String: ParamValue]) {
            let presetName = params.choice("preset") ?? "gb6222"
            let preset = CODetector.presets[presetName] ?? CODetector.presets["gb6222"]!
            var source = preset.source
            var l1 = preset.level1
            var l2 = preset.level2
            if case .number(let v)? = params["level_1"] { l1 = v; source = "现场设定 site setting" }
            if case .number(let v)? = params["level_2"] { l2 = v; source = "现场设定 site setting" }
            let deadband = params.number("deadband")
            let delay = Int64(params.number("on_delay_s") * 1000)
            levels = [l1, l2].map {
                LimitMonitor(direction: .high, limit: $0, deadband: deadband, onDelayMilliseconds: delay, inclusive: true)
            }
            self.source = source
            rateMaxPerMinute = params.number("rate_max")
            if rateMaxPerMinute > 0 {
                rate = RateMonitor(maxPerSecond: rateMaxPerMinute / 60, windowMilliseconds: 60_000, direction: .rise)
            }
        }

        var nextDeadline: EventTime? { earliest(levels) }

        mutating func advance(to time: EventTime, into out: inout [RuleOutput]) {
            for i in levels.indices {
                if let t = levels[i].advance(to: time) { out.append(output(i, t)) }
            }
        }

        mutating func reading(role: Int, value: Value, quality: Quality, at time: EventTime, into out: inout [RuleOutput]) {
            if role == faultRole {
                // A bad fault output says nothing either way: sensor health reports it.
                guard quality != .bad, value.asDouble.isFinite, value.asBool != faulted else { return }
                faulted = value.asBool
                out.append(RuleOutput(
                    ruleIndex: 3, transition: faulted ? .raised : .cleared, time: time, value: nil, limit: nil,
                    message: faulted ? "一氧化碳检测报警器故障输出，检测失效 (detector fault: not measuring)"
                        : "一氧化碳检测报警器故障已消除 (detector fault cleared)"))
                return
            }
            guard role == coRole else { return }
            guard quality != .bad, value.asDouble.isFinite else {
                for i in levels.indices { levels[i].cancelPending() }
                return
            }
            for i in levels.indices {
                if let t = levels[i].update(value.asDouble, at: time) { out.append(output(i, t)) }
            }
            if let t = rate?.update(value.asDouble, at: time) { out.append(rateOutput(t)) }
        }

        private func rateOutput(_ t: LimitMonitor.Transition) -> RuleOutput {
            let limit = rateMaxPerMinute
            switch t {
            case .raised(let at, let perSecond):
                let v = tidy(perSecond * 60)
                return RuleOutput(ruleIndex: 2, transition: .raised, time: at, value: v, limit: limit,
                                  message: "一氧化碳浓度上升速率 \(show(v)) ppm/min > \(show(limit)) ppm/min，疑似煤气泄漏 (CO rising fast)")
            case .cleared(let at, let perSecond):
                let v = tidy(perSecond * 60)
                return RuleOutput(ruleIndex: 2, transition: .cleared, time: at, value: v, limit: limit,
                                  message: "一氧化碳浓度上升速率 \(show(v)) ppm/min ≤ \(show(limit)) ppm/min，已恢复 (CO rise back within limit)")
            }
        }

        private func output(_ level: Int, _ t: LimitMonitor.Transition) -> RuleOutput {
            let limit = levels[level].limit
            let name = level == 0 ? "一级报警值" : "二级报警值"
            switch t {
            case .raised(let at, let v):
                return RuleOutput(ruleIndex: level, transition: .raised, time: at, value: v, limit: limit,
                                  message: "一氧化碳浓度 \(show(v)) ppm ≥ \(name) \(show(limit)) ppm (\(source))")
            case .cleared(let at, let v):
                return RuleOutput(ruleIndex: level, transition: .cleared, time: at, value: v, limit: limit,
                                  message: "一氧化碳浓度 \(show(v)) ppm 回落至\(name) \(show(limit)) ppm 以下，已恢复 (\(source))")
            }
        }
    }
}

extension CODetector {
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
